package postgres

import (
	"context"
	"fmt"
	"strings"
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

// HitSequence implements [store.SequenceLimiter] with one statement: a
// chain of Hit's upserts in data-modifying WITH clauses, each inserting
// from the row its predecessor returned, and only when that row's count
// is within its limit. A refused hit returns no row for the next, so the
// hits after it count nothing. The statement is one round trip and, out
// of a transaction, one commit; concurrent sequences serialize on each
// key's row as hits one by one do.
func (db *DB) HitSequence(ctx context.Context, hits []store.LimitHit, now time.Time) ([]store.LimitResult, error) {
	if err := store.CheckLimitHits(hits); err != nil {
		return nil, err
	}
	if len(hits) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 1+3*len(hits))
	args = append(args, now)
	for i, h := range hits {
		args = append(args, h.Key, now.Add(h.Window))
		if i < len(hits)-1 {
			args = append(args, int64(h.Limit)) // the last hit's limit guards nothing after it
		}
	}
	rows, err := db.q(ctx).Query(ctx, hitSequenceSQL(len(hits)), args...)
	if err != nil {
		return nil, wrap("hit sequence", err)
	}
	defer rows.Close()
	results := make([]store.LimitResult, len(hits))
	n, got := 0, 0
	for rows.Next() {
		var i int
		var count int64
		var reset time.Time
		if err := rows.Scan(&i, &count, ts(&reset)); err != nil {
			return nil, wrap("hit sequence", err)
		}
		if i < 0 || i >= len(hits) {
			return nil, fmt.Errorf("sigra/postgres: hit sequence: row for hit %d of %d", i, len(hits))
		}
		results[i] = store.LimitResult{Allowed: count <= int64(hits[i].Limit), Count: int(count), Reset: reset}
		n = max(n, i+1)
		got++
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("hit sequence", err)
	}
	if got != n {
		// Each hit's row comes from the one before: a gap is a bug.
		return nil, fmt.Errorf("sigra/postgres: hit sequence: %d rows for the first %d hits", got, n)
	}
	return results[:n], nil
}

// hitSequences holds the statements of sequences of 1 to 4 hits, built
// once; longer ones are built at each call.
var hitSequences = func() (s [5]string) {
	for n := 1; n < len(s); n++ {
		s[n] = buildHitSequence(n)
	}
	return s
}()

// hitSequenceSQL returns HitSequence's statement for n hits.
func hitSequenceSQL(n int) string {
	if n < len(hitSequences) {
		return hitSequences[n]
	}
	return buildHitSequence(n)
}

// buildHitSequence builds HitSequence's statement for n hits. $1 is the
// time of the hits; hit i's key, reset time (now plus its window) and
// limit are $3i+2, $3i+3 and $3i+4, the last hit's limit left out (a
// parameter no clause uses has no type). Hit i > 0 inserts from hit i-1's row
// when that row's count is within hit i-1's limit.
func buildHitSequence(n int) string {
	var b strings.Builder
	b.WriteString("WITH ")
	for i := range n {
		key, reset := 3*i+2, 3*i+3
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "h%d AS (INSERT INTO sigra_rate_limits AS l (key, count, reset_at)\n", i)
		if i == 0 {
			fmt.Fprintf(&b, "\tVALUES ($%d::text, 1, $%d::timestamptz)\n", key, reset)
		} else {
			fmt.Fprintf(&b, "\tSELECT $%d::text, 1, $%d::timestamptz FROM h%d WHERE h%d.count <= $%d::bigint\n", key, reset, i-1, i-1, 3*(i-1)+4)
		}
		b.WriteString("\tON CONFLICT (key) DO UPDATE\n" +
			"\tSET count = CASE WHEN l.reset_at <= $1::timestamptz THEN 1 ELSE l.count + 1 END,\n" +
			"\t\treset_at = CASE WHEN l.reset_at <= $1::timestamptz THEN EXCLUDED.reset_at ELSE l.reset_at END\n" +
			"\tRETURNING count, reset_at)")
	}
	for i := range n {
		if i == 0 {
			b.WriteString("\nSELECT 0, count, reset_at FROM h0")
		} else {
			fmt.Fprintf(&b, "\nUNION ALL SELECT %d, count, reset_at FROM h%d", i, i)
		}
	}
	return b.String()
}
