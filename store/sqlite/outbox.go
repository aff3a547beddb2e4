package sqlite

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/sigra-go/sigra/store"
)

const messageCols = `id, recipient, sealed, attempts, next_attempt_at, last_error, created_at, sent_at, given_up_at`

func messageDest(m *store.Message) []any {
	return []any{&m.ID, &m.To, &m.Sealed, intDest{&m.Attempts}, timeDest{&m.NextAttemptAt}, &m.LastError,
		timeDest{&m.CreatedAt}, timeDest{&m.SentAt}, timeDest{&m.GivenUpAt}}
}

// Enqueue queues m, filling an empty ID and zero CreatedAt; a zero
// NextAttemptAt makes it due at CreatedAt.
func (db *DB) Enqueue(ctx context.Context, m *store.Message) error {
	if m.ID == "" {
		m.ID = store.NewID()
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = clock()
	}
	next := m.NextAttemptAt
	if next.IsZero() {
		next = m.CreatedAt
	}
	_, err := db.exec(ctx, `INSERT INTO sigra_outbox (`+messageCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.To, m.Sealed, m.Attempts, ms(next), m.LastError, ms(m.CreatedAt), ms(m.SentAt), ms(m.GivenUpAt))
	return wrap("Enqueue", err)
}

// The outbox's recurring statements. Their plans are checked in the tests:
// each reads a partial index of the outbox, never the whole table.
const (
	claimMessagesSQL = `UPDATE sigra_outbox SET lease_until = ?1
		WHERE id IN (SELECT id FROM sigra_outbox
			WHERE sent_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= ?2 AND (lease_until IS NULL OR lease_until <= ?2)
			ORDER BY next_attempt_at, id LIMIT ?3)
		RETURNING ` + messageCols
	pendingMessagesSQL = `SELECT count(*) FROM sigra_outbox WHERE sent_at IS NULL AND given_up_at IS NULL`
	purgeMessagesSQL   = `DELETE FROM sigra_outbox WHERE sent_at < ?1 OR given_up_at < ?1`
)

// ClaimMessages leases up to limit due, queued (neither sent nor given
// up), unleased messages until now+lease, in one statement, and returns
// them oldest due first. See [store.Outbox].
func (db *DB) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*store.Message
	err := db.write(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, claimMessagesSQL, ms(now.Add(lease)), ms(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m := new(store.Message)
			if err := rows.Scan(messageDest(m)...); err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap("ClaimMessages", err)
	}
	slices.SortFunc(out, func(a, b *store.Message) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// MarkSent records delivery, erases the sealed body and ends the lease.
func (db *DB) MarkSent(ctx context.Context, id string, now time.Time) error {
	return op("MarkSent").one(db.exec(ctx,
		`UPDATE sigra_outbox SET sent_at = ?, sealed = NULL, lease_until = NULL WHERE id = ?`, ms(now), id))
}

// MarkFailed records a failed attempt and when to try next, ending the
// lease.
func (db *DB) MarkFailed(ctx context.Context, id string, errText string, next time.Time) error {
	return op("MarkFailed").one(db.exec(ctx, `UPDATE sigra_outbox
		SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, lease_until = NULL WHERE id = ?`, errText, ms(next), id))
}

// GiveUp records the final failure of a queued message, erases its body
// and ends its lease. ErrNotFound if the message is missing, sent or
// already given up. See [store.Outbox].
func (db *DB) GiveUp(ctx context.Context, id string, errText string, now time.Time) error {
	return op("GiveUp").one(db.exec(ctx, `UPDATE sigra_outbox
		SET attempts = attempts + 1, last_error = ?, given_up_at = ?, sealed = NULL, lease_until = NULL
		WHERE id = ? AND sent_at IS NULL AND given_up_at IS NULL`, errText, ms(now), id))
}

// PendingMessages counts queued messages (neither sent nor given up),
// leased or not.
func (db *DB) PendingMessages(ctx context.Context) (int, error) {
	var n int
	err := db.r(ctx).QueryRowContext(ctx, pendingMessagesSQL).Scan(intDest{&n})
	return n, wrap("PendingMessages", err)
}

// PurgeMessages deletes messages sent or given up before before, in one
// statement, and returns how many. Queued messages stay.
func (db *DB) PurgeMessages(ctx context.Context, before time.Time) (int, error) {
	return op("PurgeMessages").count(db.exec(ctx, purgeMessagesSQL, ms(before)))
}

// MessageByID returns the message with id, sent or not, or an error
// wrapping store.ErrNotFound. It is not part of [store.Outbox]; the
// conformance suite (storetest.MessageReader) uses it to check that MarkSent
// and GiveUp erase the body.
func (db *DB) MessageByID(ctx context.Context, id string) (*store.Message, error) {
	m := new(store.Message)
	if err := db.r(ctx).QueryRowContext(ctx, `SELECT `+messageCols+` FROM sigra_outbox WHERE id = ?`, id).Scan(messageDest(m)...); err != nil {
		return nil, wrap("MessageByID", err)
	}
	return m, nil
}

// RetryMessages makes due at now the queued messages whose next attempt
// is after notBefore and that no worker holds (lease_until); see
// [store.OutboxRetrier].
func (db *DB) RetryMessages(ctx context.Context, now, notBefore time.Time) (int, error) {
	return op("RetryMessages").count(db.exec(ctx, `UPDATE sigra_outbox SET next_attempt_at = ?1
		WHERE sent_at IS NULL AND given_up_at IS NULL AND next_attempt_at > ?2
			AND (lease_until IS NULL OR lease_until <= ?1)`, ms(now), ms(notBefore)))
}
