package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
)

// AuditHead is the end of the audit chain: the sequence number and hash of
// the last sealed row. The zero AuditHead (Seq 0, empty Hash) is the head
// of a chain with no sealed row.
type AuditHead struct {
	Seq  int64
	Hash []byte
	// SealedAt is when the head last moved; zero for an empty chain.
	// SealAudit does not compare it.
	SealedAt time.Time
}

// AuditSeal is the seal of one audit row: its place in the chain, the hash
// of the row before it and its own hash.
type AuditSeal struct {
	ID       string
	Seq      int64
	PrevHash []byte
	Hash     []byte
}

// ErrSealOrder: the seals given to [AuditChain.SealAudit] do not continue
// the head they were computed from (the first must have Seq head.Seq+1 and
// PrevHash head.Hash, each next one Seq one more and PrevHash the hash of
// the one before). It is a caller's mistake, never a race.
var ErrSealOrder = errors.New("sigra/store: audit seals do not continue the chain head")

// CheckAuditSeals returns an error wrapping ErrSealOrder unless seals
// continue from (see [AuditChain.SealAudit]). Adapters call it before
// writing.
func CheckAuditSeals(from AuditHead, seals []AuditSeal) error {
	seq, prev := from.Seq, from.Hash
	for i, s := range seals {
		if s.ID == "" || s.Seq != seq+1 || !bytes.Equal(s.PrevHash, prev) || len(s.Hash) == 0 {
			return fmt.Errorf("%w: seal %d (row %q, seq %d)", ErrSealOrder, i, s.ID, s.Seq)
		}
		seq, prev = s.Seq, s.Hash
	}
	return nil
}

// AuditChain seals audit rows into a hash chain and reads them back in
// chain order (package audit computes the hashes and verifies them). Rows
// are written unsealed by [AuditLog.AppendAudit], in the transaction of the
// change they describe; a sealer later gives each its place in the chain.
// SealAudit is conditioned on the head it was computed from, so that
// sealers on several instances can never fork the chain or leave a gap in
// it: the one that loses a race gets ErrConflict and starts again from the
// new head.
type AuditChain interface {
	// UnsealedAudit returns at most limit rows that are not sealed yet,
	// oldest first (by At, then ID), with Seq 0.
	UnsealedAudit(ctx context.Context, limit int) ([]*AuditEvent, error)
	// SealAudit, in one transaction, moves the head from from to the last
	// of seals and writes each seal on its row. ErrConflict, and nothing
	// written, if the head is no longer from (another sealer moved it) or
	// a row of seals is sealed already or missing. An error wrapping
	// ErrSealOrder if seals do not continue from (see [CheckAuditSeals]).
	// No seals is a no-op.
	SealAudit(ctx context.Context, from AuditHead, seals []AuditSeal) error
	// AuditChainHead returns the current head (the zero AuditHead when
	// nothing is sealed).
	AuditChainHead(ctx context.Context) (AuditHead, error)
	// SealedAudit returns at most limit sealed rows with first <= Seq <=
	// last, in Seq order.
	SealedAudit(ctx context.Context, first, last int64, limit int) ([]*AuditEvent, error)
	// CountUnsealedAudit counts the rows not sealed yet whose At is before
	// before.
	CountUnsealedAudit(ctx context.Context, before time.Time) (int, error)
}
