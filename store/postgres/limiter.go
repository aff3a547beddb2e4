package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sigra-go/sigra/store"
)

// Hit implements [store.Limiter] with one INSERT ... ON CONFLICT DO
// UPDATE ... RETURNING. Concurrent hits on one key serialize on the row
// (the first inserts, the others take the update branch in turn), so the
// counts are exact across every instance sharing the database. limit must
// not be negative and window must be positive.
func (db *DB) Hit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (store.LimitResult, error) {
	if window <= 0 || limit < 0 {
		return store.LimitResult{}, fmt.Errorf("sigra/postgres: hit: invalid limit %d or window %v", limit, window)
	}
	var count int64
	var reset time.Time
	err := db.q(ctx).QueryRow(ctx, `INSERT INTO sigra_rate_limits AS l (key, count, reset_at)
		VALUES ($1, 1, $3)
		ON CONFLICT (key) DO UPDATE
		SET count = CASE WHEN l.reset_at <= $2 THEN 1 ELSE l.count + 1 END,
			reset_at = CASE WHEN l.reset_at <= $2 THEN EXCLUDED.reset_at ELSE l.reset_at END
		RETURNING count, reset_at`,
		key, now, now.Add(window),
	).Scan(&count, ts(&reset))
	if err != nil {
		return store.LimitResult{}, wrap("hit", err)
	}
	return store.LimitResult{Allowed: count <= int64(limit), Count: int(count), Reset: reset}, nil
}

// Refund implements [store.Limiter].
func (db *DB) Refund(ctx context.Context, key string, reset time.Time) error {
	_, err := db.q(ctx).Exec(ctx, `UPDATE sigra_rate_limits SET count = count - 1 WHERE key = $1 AND reset_at = $2 AND count > 0`, key, reset)
	return wrap("refund", err)
}

// ResetLimit implements [store.Limiter].
func (db *DB) ResetLimit(ctx context.Context, key string) error {
	_, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_rate_limits WHERE key = $1`, key)
	return wrap("reset limit", err)
}

// PurgeLimits implements [store.Limiter].
func (db *DB) PurgeLimits(ctx context.Context, before time.Time) (int, error) {
	ct, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_rate_limits WHERE reset_at < $1`, before)
	if err != nil {
		return 0, wrap("purge limits", err)
	}
	return int(ct.RowsAffected()), nil
}
