package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/sigra-go/sigra/store"
)

// qHit is Hit's upsert; qResetLimit and qRefund are the statements of
// ResetLimit and Refund (prepared on the writer: see signInWrites).
const (
	qHit = `INSERT INTO sigra_rate_limits (key, count, reset_at) VALUES (?1, 1, ?2 + ?3)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN sigra_rate_limits.reset_at <= ?2 THEN 1 ELSE sigra_rate_limits.count + 1 END,
			reset_at = CASE WHEN sigra_rate_limits.reset_at <= ?2 THEN excluded.reset_at ELSE sigra_rate_limits.reset_at END
		RETURNING count, reset_at`
	qResetLimit = `DELETE FROM sigra_rate_limits WHERE key = ?`
	qRefund     = `UPDATE sigra_rate_limits SET count = count - 1 WHERE key = ? AND reset_at = ? AND count > 0`
)

// Hit counts one hit on key in one upsert statement with RETURNING: a window
// whose reset time has come restarts at this hit; otherwise the count goes
// up by one. See [store.Limiter].
func (db *DB) Hit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (store.LimitResult, error) {
	if window <= 0 {
		return store.LimitResult{}, fmt.Errorf("sigra/sqlite: Hit: window %v is not positive", window)
	}
	nowMS := now.UnixMilli()
	var count int
	var reset time.Time
	err := db.scanRow(ctx, qHit, []any{key, nowMS, window.Milliseconds()}, intDest{&count}, timeDest{&reset})
	if err != nil {
		return store.LimitResult{}, wrap("Hit", err)
	}
	return store.LimitResult{Allowed: count <= limit, Count: count, Reset: reset}, nil
}

// ResetLimit forgets key's counter.
func (db *DB) ResetLimit(ctx context.Context, key string) error {
	_, err := db.exec(ctx, qResetLimit, key)
	return wrap("ResetLimit", err)
}

// Refund gives back one hit of key's window that ends at reset.
func (db *DB) Refund(ctx context.Context, key string, reset time.Time) error {
	_, err := db.exec(ctx, qRefund, key, ms(reset))
	return wrap("Refund", err)
}

// PurgeLimits deletes counters whose window ended before before.
func (db *DB) PurgeLimits(ctx context.Context, before time.Time) (int, error) {
	return op("PurgeLimits").count(db.exec(ctx, `DELETE FROM sigra_rate_limits WHERE reset_at < ?`, ms(before)))
}

// HitSequence implements [store.SequenceLimiter]: Hit's upserts one after
// the other in one transaction on the writer (SQLite has no writing WITH
// clauses, and its statements cost no round trip), stopping after the
// first refused hit.
func (db *DB) HitSequence(ctx context.Context, hits []store.LimitHit, now time.Time) ([]store.LimitResult, error) {
	if err := store.CheckLimitHits(hits); err != nil {
		return nil, err
	}
	if len(hits) == 0 {
		return nil, nil
	}
	results := make([]store.LimitResult, 0, len(hits))
	err := db.InTx(ctx, func(ctx context.Context) error {
		for _, h := range hits {
			res, err := db.Hit(ctx, h.Key, h.Limit, h.Window, now)
			if err != nil {
				return err
			}
			results = append(results, res)
			if !res.Allowed {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}
