package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/store"
)

// messageCols are the columns scanned by scanMessage, in order.
const messageCols = `id, to_addr, sealed, attempts, next_attempt_at, last_error, created_at, sent_at, given_up_at`

func scanMessage(row pgx.Row) (*store.Message, error) {
	m := new(store.Message)
	err := row.Scan(&m.ID, &m.To, &m.Sealed, &m.Attempts, ts(&m.NextAttemptAt), &m.LastError,
		ts(&m.CreatedAt), ts(&m.SentAt), ts(&m.GivenUpAt))
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Enqueue implements [store.Outbox]. A zero CreatedAt is filled with the
// current time, and a zero NextAttemptAt with CreatedAt.
func (db *DB) Enqueue(ctx context.Context, m *store.Message) error {
	id := m.ID
	if id == "" {
		id = store.NewID()
	}
	created := m.CreatedAt
	if created.IsZero() {
		created = nowUTC()
	}
	next := m.NextAttemptAt
	if next.IsZero() {
		next = created
	}
	_, err := db.q(ctx).Exec(ctx, `INSERT INTO sigra_outbox
		(id, to_addr, sealed, attempts, next_attempt_at, last_error, created_at, sent_at, given_up_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		id, m.To, bytesArg(m.Sealed), m.Attempts, next, m.LastError, created, tsArg(m.SentAt), tsArg(m.GivenUpAt))
	if err != nil {
		return wrap("enqueue", err)
	}
	m.ID, m.CreatedAt, m.NextAttemptAt = id, created, next
	return nil
}

// The outbox's recurring statements. Their plans are checked in the tests:
// each can read a partial index of the outbox instead of the whole table.
const (
	claimMessagesSQL = `WITH due AS (
			SELECT id, next_attempt_at AS due_at FROM sigra_outbox
			WHERE sent_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= $1
			ORDER BY next_attempt_at, created_at, id
			LIMIT $3
			FOR UPDATE SKIP LOCKED
		), claimed AS (
			UPDATE sigra_outbox o SET next_attempt_at = $2
			FROM due WHERE o.id = due.id
			RETURNING o.id, o.to_addr, o.sealed, o.attempts, o.next_attempt_at, o.last_error,
				o.created_at, o.sent_at, o.given_up_at, due.due_at
		)
		SELECT ` + messageCols + ` FROM claimed ORDER BY due_at, created_at, id`
	pendingMessagesSQL = `SELECT count(*) FROM sigra_outbox WHERE sent_at IS NULL AND given_up_at IS NULL`
	purgeMessagesSQL   = `DELETE FROM sigra_outbox WHERE sent_at < $1 OR given_up_at < $1`
)

// ClaimMessages implements [store.Outbox]. One statement selects the due
// queued messages (neither sent nor given up) with FOR UPDATE SKIP LOCKED
// (workers never wait for each other nor take the same row) and moves
// their NextAttemptAt to the lease end: that is the lease, and the
// returned messages carry it. A message that is not marked sent, failed
// or given up becomes due again when the lease ends. Messages come oldest
// due first.
func (db *DB) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.q(ctx).Query(ctx, claimMessagesSQL, now, now.Add(lease), limit)
	if err != nil {
		return nil, wrap("claim messages", err)
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Message, error) { return scanMessage(r) })
	return msgs, wrap("claim messages", err)
}

// MarkSent implements [store.Outbox]. The sealed body is replaced by an
// empty one; marking a sent message again keeps the first time.
// ErrNotFound if there is no such message.
func (db *DB) MarkSent(ctx context.Context, id string, now time.Time) error {
	return db.execOne(ctx, "mark sent", `UPDATE sigra_outbox
		SET sent_at = coalesce(sent_at, $2), sealed = ''::bytea WHERE id = $1`, id, now)
}

// MarkFailed implements [store.Outbox]. ErrNotFound if there is no such
// message.
func (db *DB) MarkFailed(ctx context.Context, id string, errText string, next time.Time) error {
	return db.execOne(ctx, "mark failed", `UPDATE sigra_outbox
		SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1`, id, errText, next)
}

// GiveUp implements [store.Outbox]: the sealed body is replaced by an
// empty one. ErrNotFound if the message is missing, sent or already given
// up.
func (db *DB) GiveUp(ctx context.Context, id string, errText string, now time.Time) error {
	return db.execOne(ctx, "give up", `UPDATE sigra_outbox
		SET attempts = attempts + 1, last_error = $2, given_up_at = $3, sealed = ''::bytea
		WHERE id = $1 AND sent_at IS NULL AND given_up_at IS NULL`, id, errText, tsArg(now))
}

// PurgeMessages implements [store.Outbox] in one statement.
func (db *DB) PurgeMessages(ctx context.Context, before time.Time) (int, error) {
	ct, err := db.q(ctx).Exec(ctx, purgeMessagesSQL, before)
	if err != nil {
		return 0, wrap("purge messages", err)
	}
	return int(ct.RowsAffected()), nil
}

// MessageByID returns the message with id, sent or not, or ErrNotFound.
// It is not part of [store.Outbox]; admin pages and the conformance suite
// (storetest.MessageReader) use it.
func (db *DB) MessageByID(ctx context.Context, id string) (*store.Message, error) {
	m, err := scanMessage(db.q(ctx).QueryRow(ctx, `SELECT `+messageCols+` FROM sigra_outbox WHERE id = $1`, id))
	return m, wrap("message by id", err)
}

// PendingMessages implements [store.Outbox]: it counts the messages
// neither sent nor given up.
func (db *DB) PendingMessages(ctx context.Context) (int, error) {
	var n int
	err := db.q(ctx).QueryRow(ctx, pendingMessagesSQL).Scan(&n)
	return n, wrap("pending messages", err)
}

// RetryMessages makes due at now the queued messages whose next attempt
// is after notBefore (a claimed message's next attempt is the end of its
// lease); see [store.OutboxRetrier].
func (db *DB) RetryMessages(ctx context.Context, now, notBefore time.Time) (int, error) {
	ct, err := db.q(ctx).Exec(ctx, `UPDATE sigra_outbox SET next_attempt_at = $1
		WHERE sent_at IS NULL AND given_up_at IS NULL AND next_attempt_at > $2`, now, notBefore)
	if err != nil {
		return 0, wrap("retry messages", err)
	}
	return int(ct.RowsAffected()), nil
}
