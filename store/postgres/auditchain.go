package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/store"
)

var _ store.AuditChain = (*DB)(nil)

// auditColumns are the columns collectAudit reads, in its order.
const auditColumns = `id, at, action, actor_id, subject_id, impersonator_id, ip, user_agent, outcome, metadata, org_id,
	COALESCE(seq, 0), prev_hash, hash`

// collectAudit reads the rows of a query selecting auditColumns.
func collectAudit(op string, rows pgx.Rows, err error) ([]*store.AuditEvent, error) {
	if err != nil {
		return nil, wrap(op, err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.AuditEvent, error) {
		e := new(store.AuditEvent)
		err := r.Scan(&e.ID, ts(&e.At), &e.Action, &e.ActorID, &e.SubjectID, &e.ImpersonatorID,
			&e.IP, &e.UserAgent, &e.Outcome, &e.Metadata, &e.OrgID, &e.Seq, &e.PrevHash, &e.Hash)
		return e, err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return events, nil
}

// UnsealedAudit implements [store.AuditChain].
func (db *DB) UnsealedAudit(ctx context.Context, limit int) ([]*store.AuditEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.q(ctx).Query(ctx, `SELECT `+auditColumns+` FROM sigra_audit_log
		WHERE seq IS NULL ORDER BY at, id LIMIT $1`, limit)
	return collectAudit("unsealed audit", rows, err)
}

// SealAudit implements [store.AuditChain]. The head row is updated first,
// only if it still holds from: a concurrent sealer waits for its lock and
// then, the head having moved, updates nothing and gets ErrConflict. The
// rows are then sealed in one statement, each only if still unsealed.
// Writers of audit rows never lock the head, so they never wait for a
// sealer.
func (db *DB) SealAudit(ctx context.Context, from store.AuditHead, seals []store.AuditSeal) error {
	if err := store.CheckAuditSeals(from, seals); err != nil {
		return wrap("seal audit", err)
	}
	if len(seals) == 0 {
		return nil
	}
	last := seals[len(seals)-1]
	ids := make([]string, len(seals))
	seqs := make([]int64, len(seals))
	prevs := make([][]byte, len(seals))
	hashes := make([][]byte, len(seals))
	for i, s := range seals {
		ids[i], seqs[i], prevs[i], hashes[i] = s.ID, s.Seq, bytesArg(s.PrevHash), s.Hash
	}
	return db.InTx(ctx, func(ctx context.Context) error {
		tag, err := db.q(ctx).Exec(ctx, `UPDATE sigra_audit_chain_head SET seq = $1, hash = $2, sealed_at = $3
			WHERE id = 1 AND seq = $4 AND hash = $5`, last.Seq, last.Hash, nowUTC(), from.Seq, bytesArg(from.Hash))
		if err != nil {
			return wrap("seal audit", err)
		}
		if tag.RowsAffected() != 1 {
			return conflict("seal audit: the chain moved")
		}
		tag, err = db.q(ctx).Exec(ctx, `UPDATE sigra_audit_log AS a SET seq = s.seq, prev_hash = s.prev, hash = s.hash
			FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bytea[]) AS s (id, seq, prev, hash)
			WHERE a.id = s.id AND a.seq IS NULL`, ids, seqs, prevs, hashes)
		if err != nil {
			return wrap("seal audit", err)
		}
		if tag.RowsAffected() != int64(len(seals)) {
			return conflict("seal audit: a row is sealed already or missing")
		}
		return nil
	})
}

// AuditChainHead implements [store.AuditChain].
func (db *DB) AuditChainHead(ctx context.Context) (store.AuditHead, error) {
	var h store.AuditHead
	err := db.q(ctx).QueryRow(ctx, `SELECT seq, hash, sealed_at FROM sigra_audit_chain_head WHERE id = 1`).
		Scan(&h.Seq, &h.Hash, ts(&h.SealedAt))
	if err != nil {
		return store.AuditHead{}, wrap("audit chain head", err)
	}
	if h.Seq == 0 {
		h = store.AuditHead{}
	}
	return h, nil
}

// SealedAudit implements [store.AuditChain].
func (db *DB) SealedAudit(ctx context.Context, first, last int64, limit int) ([]*store.AuditEvent, error) {
	if limit <= 0 || last < first {
		return nil, nil
	}
	rows, err := db.q(ctx).Query(ctx, `SELECT `+auditColumns+` FROM sigra_audit_log
		WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3`, first, last, limit)
	return collectAudit("sealed audit", rows, err)
}

// CountUnsealedAudit implements [store.AuditChain].
func (db *DB) CountUnsealedAudit(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := db.q(ctx).QueryRow(ctx, `SELECT count(*) FROM sigra_audit_log WHERE seq IS NULL AND at < $1`, before).Scan(&n)
	return n, wrap("count unsealed audit", err)
}
