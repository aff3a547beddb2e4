package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/store"
)

var _ store.SignIns = (*DB)(nil)

// lockSignInsSQL takes a transaction-scoped advisory lock on one user's
// devices: SeenDevice holds it from reading what is known to writing the
// sign-in, so concurrent sign-ins of one user (on any instance) take turns.
const lockSignInsSQL = `SELECT pg_advisory_xact_lock(hashtextextended('sigra/store/postgres signins ' || $1::text, 0))`

// asyncCommitSQL makes the transaction it runs in commit without waiting
// for the WAL to reach the disk (synchronous_commit off, for that
// transaction only). It is for writes that a crash of the database may
// lose without harm, run in their own implicit transaction: a commit is
// visible to every other connection at once all the same, and is on disk
// within three times wal_writer_delay (600 ms by default), or with the
// next synchronous commit of any connection, whichever comes first.
const asyncCommitSQL = `SELECT set_config('synchronous_commit', 'off', true)`

// SeenDevice implements [store.SignIns] in one round trip: a batch that
// takes the user's advisory lock, then one statement that reads the
// device's last-seen time and whether the user has any device, upserts the
// device and deletes the stale ones. Outside a transaction the batch is
// one implicit transaction, so the lock is held until the writes commit;
// under READ COMMITTED the statement after the lock sees what the
// previous holder committed. An unknown user writes nothing and is
// store.ErrNotFound.
//
// Outside a transaction the batch also commits asynchronously (see
// asyncCommitSQL): a device record lost to a crash of the database costs
// at most one new-device alert too many. In the sign-in that records it,
// the new session's commit comes later and waits for the WAL, which then
// holds the device record too. Inside the caller's transaction, the
// caller's commit decides.
func (db *DB) SeenDevice(ctx context.Context, userID, fingerprint string, now, forgetBefore time.Time) (bool, time.Time, error) {
	var found, seen bool
	var last time.Time
	b := new(pgx.Batch)
	if _, inTx := db.tx(ctx); !inTx {
		b.Queue(asyncCommitSQL)
	}
	b.Queue(lockSignInsSQL, userID)
	b.Queue(`WITH u AS (
			SELECT EXISTS (SELECT 1 FROM sigra_users WHERE id = $1::text) AS found
		), prev AS (
			SELECT (SELECT last_seen_at FROM sigra_signins WHERE user_id = $1::text AND fingerprint = $2::text) AS last_seen,
				EXISTS (SELECT 1 FROM sigra_signins WHERE user_id = $1::text) AS seen
		), up AS (
			INSERT INTO sigra_signins AS s (user_id, fingerprint, last_seen_at)
			SELECT $1::text, $2::text, $3::timestamptz FROM u WHERE found
			ON CONFLICT (user_id, fingerprint) DO UPDATE
			SET last_seen_at = greatest(s.last_seen_at, EXCLUDED.last_seen_at)
		), del AS (
			DELETE FROM sigra_signins
			WHERE user_id = $1::text AND fingerprint <> $2::text
				AND (last_seen_at IS NULL OR last_seen_at < $4::timestamptz)
				AND (SELECT found FROM u)
		)
		SELECT u.found, prev.seen, prev.last_seen FROM u, prev`,
		userID, fingerprint, now, tsArg(forgetBefore),
	).QueryRow(func(row pgx.Row) error { return row.Scan(&found, &seen, ts(&last)) })
	if err := db.sendBatch(ctx, b); err != nil {
		return false, time.Time{}, wrap("seen device", err)
	}
	if !found {
		return false, time.Time{}, notFound("seen device")
	}
	return !seen, last, nil
}

// ForgetDevice implements [store.SignIns]: the row stays, without a
// last-seen time, so that the user still counts as having signed in.
func (db *DB) ForgetDevice(ctx context.Context, userID, fingerprint string) error {
	_, err := db.q(ctx).Exec(ctx, `UPDATE sigra_signins SET last_seen_at = NULL WHERE user_id = $1 AND fingerprint = $2`, userID, fingerprint)
	return wrap("forget device", err)
}
