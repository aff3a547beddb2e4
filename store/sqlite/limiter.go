package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/sigra-go/sigra/store"
)

// Hit counts one hit on key in one upsert statement with RETURNING: a window
// whose reset time has come restarts at this hit; otherwise the count goes
// up by one. See [store.Limiter].
func (c *conn) Hit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (store.Limit, error) {
	if window <= 0 {
		return store.Limit{}, fmt.Errorf("sigra/sqlite: Hit: window %v is not positive", window)
	}
	nowMS := now.UnixMilli()
	var count int
	var reset time.Time
	err := c.w().QueryRowContext(ctx, `INSERT INTO sigra_rate_limits (key, count, reset_at) VALUES (?1, 1, ?2 + ?3)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN sigra_rate_limits.reset_at <= ?2 THEN 1 ELSE sigra_rate_limits.count + 1 END,
			reset_at = CASE WHEN sigra_rate_limits.reset_at <= ?2 THEN excluded.reset_at ELSE sigra_rate_limits.reset_at END
		RETURNING count, reset_at`, key, nowMS, window.Milliseconds()).Scan(intDest{&count}, timeDest{&reset})
	if err != nil {
		return store.Limit{}, wrap("Hit", err)
	}
	return store.Limit{Allowed: count <= limit, Count: count, Reset: reset}, nil
}

// ResetLimit forgets key's counter.
func (c *conn) ResetLimit(ctx context.Context, key string) error {
	_, err := c.w().ExecContext(ctx, `DELETE FROM sigra_rate_limits WHERE key = ?`, key)
	return wrap("ResetLimit", err)
}

// PurgeLimits deletes counters whose window ended before before.
func (c *conn) PurgeLimits(ctx context.Context, before time.Time) (int, error) {
	return op("PurgeLimits").count(c.w().ExecContext(ctx, `DELETE FROM sigra_rate_limits WHERE reset_at < ?`, ms(before)))
}
