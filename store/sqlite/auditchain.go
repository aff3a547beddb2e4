package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sigra-go/sigra/store"
)

var _ store.AuditChain = (*DB)(nil)

// auditColumns are the columns scanAudit reads, in its order.
const auditColumns = `id, at, action, actor_id, subject_id, impersonator_id, ip, user_agent, outcome, metadata, org_id,
	COALESCE(seq, 0), prev_hash, hash`

// scanAudit reads the rows of a query selecting auditColumns.
func scanAudit(op string, rows *sql.Rows, err error) ([]*store.AuditEvent, error) {
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var events []*store.AuditEvent
	for rows.Next() {
		e := new(store.AuditEvent)
		var meta string
		if err := rows.Scan(&e.ID, timeDest{&e.At}, &e.Action, &e.ActorID, &e.SubjectID, &e.ImpersonatorID, &e.IP, &e.UserAgent,
			&e.Outcome, &meta, &e.OrgID, &e.Seq, &e.PrevHash, &e.Hash); err != nil {
			return nil, wrap(op, err)
		}
		if meta != "" {
			if err := json.Unmarshal([]byte(meta), &e.Metadata); err != nil {
				return nil, fmt.Errorf("sigra/sqlite: %s: metadata of %s: %w", op, e.ID, err)
			}
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	return events, nil
}

// UnsealedAudit implements [store.AuditChain].
func (db *DB) UnsealedAudit(ctx context.Context, limit int) ([]*store.AuditEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+auditColumns+` FROM sigra_audit_log
		WHERE seq IS NULL ORDER BY at, id LIMIT ?`, limit)
	return scanAudit("UnsealedAudit", rows, err)
}

// SealAudit implements [store.AuditChain]: one transaction on the writer
// that moves the head only if it still holds from, then seals each row
// only if it is still unsealed.
func (db *DB) SealAudit(ctx context.Context, from store.AuditHead, seals []store.AuditSeal) error {
	if err := store.CheckAuditSeals(from, seals); err != nil {
		return fmt.Errorf("sigra/sqlite: SealAudit: %w", err)
	}
	if len(seals) == 0 {
		return nil
	}
	last := seals[len(seals)-1]
	run := func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sigra_audit_chain_head SET seq = ?, hash = ?, sealed_at = ?
			WHERE id = 1 AND seq = ? AND hash = ?`, last.Seq, last.Hash, clock().UnixMilli(), from.Seq, blob(from.Hash))
		if err := sealed(res, err); err != nil {
			return err
		}
		// One statement prepared for the batch's rows.
		stmt, err := tx.PrepareContext(ctx, `UPDATE sigra_audit_log SET seq = ?, prev_hash = ?, hash = ? WHERE id = ? AND seq IS NULL`)
		if err != nil {
			return wrap("SealAudit", err)
		}
		defer stmt.Close()
		for _, s := range seals {
			res, err := stmt.ExecContext(ctx, s.Seq, blob(s.PrevHash), s.Hash, s.ID)
			if err := sealed(res, err); err != nil {
				return err
			}
		}
		return nil
	}
	if tx := db.tx(ctx); tx != nil {
		return run(tx)
	}
	return db.begin(ctx, run)
}

// sealed turns the result of a conditional update of SealAudit into
// ErrConflict when it changed no row.
func sealed(res sql.Result, err error) error {
	if err != nil {
		return wrap("SealAudit", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("SealAudit", err)
	}
	if n != 1 {
		return fmt.Errorf("sigra/sqlite: SealAudit: the chain moved: %w", store.ErrConflict)
	}
	return nil
}

// AuditChainHead implements [store.AuditChain].
func (db *DB) AuditChainHead(ctx context.Context) (store.AuditHead, error) {
	var h store.AuditHead
	err := db.r(ctx).QueryRowContext(ctx, `SELECT seq, hash, sealed_at FROM sigra_audit_chain_head WHERE id = 1`).
		Scan(&h.Seq, &h.Hash, timeDest{&h.SealedAt})
	if err != nil {
		return store.AuditHead{}, wrap("AuditChainHead", err)
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
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+auditColumns+` FROM sigra_audit_log
		WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`, first, last, limit)
	return scanAudit("SealedAudit", rows, err)
}

// CountUnsealedAudit implements [store.AuditChain].
func (db *DB) CountUnsealedAudit(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := db.r(ctx).QueryRowContext(ctx, `SELECT count(*) FROM sigra_audit_log WHERE seq IS NULL AND at < ?`, before.UnixMilli()).Scan(&n)
	return n, wrap("CountUnsealedAudit", err)
}
