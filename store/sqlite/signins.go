package sqlite

import (
	"context"
	"time"

	"github.com/sigra-go/sigra/store"
)

var _ store.SignIns = (*DB)(nil)

// The statements of SeenDevice (prepared on the writer: see
// signInWrites): what was known of the device and of the user's devices,
// the device seen now, and the other devices not seen since the window.
const (
	qDeviceBefore = `SELECT
		(SELECT last_seen_at FROM sigra_signins WHERE user_id = ?1 AND fingerprint = ?2),
		EXISTS (SELECT 1 FROM sigra_signins WHERE user_id = ?1)`
	qDeviceSeen = `INSERT INTO sigra_signins (user_id, fingerprint, last_seen_at) VALUES (?1, ?2, ?3)
		ON CONFLICT (user_id, fingerprint) DO UPDATE SET last_seen_at =
			CASE WHEN last_seen_at IS NULL OR last_seen_at < excluded.last_seen_at THEN excluded.last_seen_at ELSE last_seen_at END`
	qDeviceForget = `DELETE FROM sigra_signins
		WHERE user_id = ?1 AND fingerprint <> ?2 AND (last_seen_at IS NULL OR last_seen_at < ?3)`
)

// SeenDevice records a sign-in from a device and returns what was known of
// it before; see [store.SignIns]. It runs in one transaction on the writer
// connection (the context's, or its own): every write of the process goes
// through that one connection, so concurrent calls are serialized and each
// sees what the previous one stored. An unknown user fails the insert on
// its foreign key (store.ErrNotFound) and rolls back.
func (db *DB) SeenDevice(ctx context.Context, userID, fingerprint string, now, forgetBefore time.Time) (bool, time.Time, error) {
	var seen bool
	var last time.Time
	err := db.inTx(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, qDeviceBefore, userID, fingerprint).Scan(timeDest{&last}, boolDest{&seen}); err != nil {
			return wrap("SeenDevice", err)
		}
		if _, err := q.ExecContext(ctx, qDeviceSeen, userID, fingerprint, ms(now)); err != nil {
			return wrap("SeenDevice", err)
		}
		_, err := q.ExecContext(ctx, qDeviceForget, userID, fingerprint, ms(forgetBefore))
		return wrap("SeenDevice", err)
	})
	if err != nil {
		return false, time.Time{}, err
	}
	return !seen, last, nil
}

// ForgetDevice makes the user's device unseen, keeping its row (with no
// last-seen time) so that the user still counts as having signed in; see
// [store.SignIns].
func (db *DB) ForgetDevice(ctx context.Context, userID, fingerprint string) error {
	_, err := db.exec(ctx, `UPDATE sigra_signins SET last_seen_at = NULL WHERE user_id = ? AND fingerprint = ?`, userID, fingerprint)
	return wrap("ForgetDevice", err)
}
