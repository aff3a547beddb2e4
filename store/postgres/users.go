package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sigra-go/sigra/store"
)

// userCols are the columns scanned by scanUser, in order.
const userCols = `id, email, password_hash, email_confirmed_at, failed_logins, locked_until,
	failed_mfa, mfa_locked_until, disabled_at, deletion_due_at, created_at, updated_at`

// userDest appends the scan destinations of userCols for u to dest.
func userDest(dest []any, u *store.User) []any {
	return append(dest, &u.ID, &u.Email, &u.PasswordHash, ts(&u.EmailConfirmedAt), &u.FailedLogins,
		ts(&u.LockedUntil), &u.FailedMFA, ts(&u.MFALockedUntil), ts(&u.DisabledAt),
		ts(&u.DeletionDueAt), ts(&u.CreatedAt), ts(&u.UpdatedAt))
}

// userRow holds a user and its scan destinations in one allocation.
type userRow struct {
	u    store.User
	dest [12]any
}

func scanUser(row pgx.Row) (*store.User, error) {
	r := new(userRow)
	if err := row.Scan(userDest(r.dest[:0], &r.u)...); err != nil {
		return nil, err
	}
	return &r.u, nil
}

// lockEmailSQL takes a transaction-scoped advisory lock on one normalized
// address. CreateUser, ReserveEmail and ChangeEmail take it before they
// check the other table (users against reservations and back), so that no
// two of them decide on one address at the same time: a user cannot be
// created with an address another user has just reserved, nor the
// reverse. Distinct addresses that share a lock key merely wait. The text
// hashed into the key ('sigra/store/postgres email ') is part of the lock's
// identity, shared by every instance: it must not change, or instances of
// two releases running side by side would take different locks.
const lockEmailSQL = `SELECT pg_advisory_xact_lock(hashtextextended('sigra/store/postgres email ' || $1::text, 0))`

// CreateUser implements [store.Users]. It takes the address's advisory
// lock, then inserts the row unless the address is reserved by an
// unexpired reservation (as of u.CreatedAt) or held by another user. Both
// statements go in one round trip and one transaction. A conflict fails no
// statement, so a surrounding transaction stays usable.
func (db *DB) CreateUser(ctx context.Context, u *store.User) error {
	id := u.ID
	if id == "" {
		id = store.NewID()
	}
	created := u.CreatedAt
	if created.IsZero() {
		created = nowUTC()
	}
	updated := u.UpdatedAt
	if updated.IsZero() {
		updated = created
	}
	norm := store.NormalizeEmail(u.Email)

	var inserted bool
	b := new(pgx.Batch)
	b.Queue(lockEmailSQL, norm)
	b.Queue(`INSERT INTO sigra_users (id, email, email_norm, password_hash, email_confirmed_at,
			failed_logins, locked_until, failed_mfa, mfa_locked_until, disabled_at, deletion_due_at,
			created_at, updated_at)
		SELECT $1::text, $2::text, $3::text, $4::text, $5::timestamptz, $6::integer, $7::timestamptz,
			$8::integer, $9::timestamptz, $10::timestamptz, $11::timestamptz, $12::timestamptz, $13::timestamptz
		WHERE NOT EXISTS (
			SELECT 1 FROM sigra_email_reservations WHERE email_norm = $3 AND expires_at > $12)
		ON CONFLICT DO NOTHING`,
		id, u.Email, norm, u.PasswordHash, tsArg(u.EmailConfirmedAt),
		u.FailedLogins, tsArg(u.LockedUntil), u.FailedMFA, tsArg(u.MFALockedUntil),
		tsArg(u.DisabledAt), tsArg(u.DeletionDueAt), created, updated,
	).Exec(func(ct pgconn.CommandTag) error {
		inserted = ct.RowsAffected() == 1
		return nil
	})
	if err := db.sendBatch(ctx, b); err != nil {
		return wrap("create user", err)
	}
	if !inserted {
		return conflict("create user")
	}
	u.ID, u.CreatedAt, u.UpdatedAt = id, created, updated
	return nil
}

// UserByID implements [store.Users]. With pgx's default statement cache
// it runs as a prepared statement.
func (db *DB) UserByID(ctx context.Context, id string) (*store.User, error) {
	u, err := scanUser(db.q(ctx).QueryRow(ctx, `SELECT `+userCols+` FROM sigra_users WHERE id = $1`, id))
	return u, wrap("user by id", err)
}

// UserByEmail implements [store.Users]: the user whose stored key is the
// key of email ([store.NormalizeEmail]). A user whose key could not be
// recomputed because of a collision (see [DB.RekeyEmails]) still holds the
// key of version 1 ([store.LegacyEmailKey]); such a user is found by their
// own address, and preferred to the user holding the new key.
func (db *DB) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	key, legacy := store.NormalizeEmail(email), store.LegacyEmailKey(email)
	if key == legacy {
		u, err := scanUser(db.q(ctx).QueryRow(ctx,
			`SELECT `+userCols+` FROM sigra_users WHERE email_norm = $1`, key))
		return u, wrap("user by email", err)
	}
	type keyedUser struct {
		u      *store.User
		stored string
	}
	rows, _ := db.q(ctx).Query(ctx, `SELECT `+userCols+`, email_norm FROM sigra_users WHERE email_norm IN ($1, $2)`, key, legacy)
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (keyedUser, error) {
		k := keyedUser{u: new(store.User)}
		err := r.Scan(append(userDest(make([]any, 0, 13), k.u), &k.stored)...)
		return k, err
	})
	if err != nil {
		return nil, wrap("user by email", err)
	}
	var byKey, byLegacy *store.User
	for _, k := range found {
		switch {
		case k.stored == key:
			byKey = k.u
		case store.NormalizeEmail(k.u.Email) != k.stored: // kept its version 1 key
			byLegacy = k.u
		}
	}
	switch {
	case byLegacy != nil:
		return byLegacy, nil
	case byKey != nil:
		return byKey, nil
	}
	return nil, notFound("user by email")
}

// execOne runs a single-row write and reports ErrNotFound when it touched
// no row.
func (db *DB) execOne(ctx context.Context, op, sql string, args ...any) error {
	ct, err := db.q(ctx).Exec(ctx, sql, args...)
	if err != nil {
		return wrap(op, err)
	}
	if ct.RowsAffected() == 0 {
		return notFound(op)
	}
	return nil
}

// SetPasswordHash implements [store.Users].
func (db *DB) SetPasswordHash(ctx context.Context, id, hash string, now time.Time) error {
	return db.execOne(ctx, "set password hash",
		`UPDATE sigra_users SET password_hash = $2, updated_at = $3 WHERE id = $1`, id, hash, now)
}

// ConfirmEmail implements [store.Users]. A user who kept a version 1 key
// in a collision is matched by that key, as by [DB.UserByEmail].
func (db *DB) ConfirmEmail(ctx context.Context, id, email string, now time.Time) error {
	const sql = `UPDATE sigra_users
		SET email_confirmed_at = coalesce(email_confirmed_at, $3),
			updated_at = CASE WHEN email_confirmed_at IS NULL THEN $3 ELSE updated_at END
		WHERE id = $1 AND email_norm = $2`
	key, legacy := store.NormalizeEmail(email), store.LegacyEmailKey(email)
	err := db.execOne(ctx, "confirm email", sql, id, key, now)
	if key == legacy || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var addr, stored string
	if err := db.q(ctx).QueryRow(ctx, `SELECT email, email_norm FROM sigra_users WHERE id = $1`, id).Scan(&addr, &stored); err != nil {
		return wrap("confirm email", err)
	}
	if stored != legacy || store.NormalizeEmail(addr) == stored {
		return notFound("confirm email")
	}
	return db.execOne(ctx, "confirm email", sql, id, legacy, now)
}

// The statements of RecordFailure and ClearFailures, one per lock. SET
// expressions read the row's old values.
const (
	recordPasswordFailureSQL = `UPDATE sigra_users
		SET failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END,
			locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END
		WHERE id = $1
		RETURNING failed_logins, locked_until`
	recordMFAFailureSQL = `UPDATE sigra_users
		SET failed_mfa = CASE WHEN failed_mfa + 1 >= $2 THEN 0 ELSE failed_mfa + 1 END,
			mfa_locked_until = CASE WHEN failed_mfa + 1 >= $2 THEN $3 ELSE mfa_locked_until END
		WHERE id = $1
		RETURNING failed_mfa, mfa_locked_until`
	clearPasswordFailuresSQL = `UPDATE sigra_users
		SET failed_logins = 0, locked_until = NULL
		WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)`
	clearMFAFailuresSQL = `UPDATE sigra_users
		SET failed_mfa = 0, mfa_locked_until = NULL
		WHERE id = $1 AND (failed_mfa <> 0 OR mfa_locked_until IS NOT NULL)`
)

// RecordFailure implements [store.Users] with one UPDATE, so concurrent
// failures are all counted and exactly one of them reaches the limit. A
// limit below 1 counts as 1. Lockout counters are not account changes:
// UpdatedAt stays.
func (db *DB) RecordFailure(ctx context.Context, id string, lock store.Lock, limit int, lockFor time.Duration, now time.Time) (time.Time, error) {
	var sql string
	switch lock {
	case store.LockPassword:
		sql = recordPasswordFailureSQL
	case store.LockMFA:
		sql = recordMFAFailureSQL
	default:
		return time.Time{}, fmt.Errorf("sigra/postgres: record failure: unknown lock %d", lock)
	}
	limit = max(limit, 1)
	var count int
	var lockedUntil time.Time
	if err := db.q(ctx).QueryRow(ctx, sql, id, limit, now.Add(lockFor)).Scan(&count, ts(&lockedUntil)); err != nil {
		return time.Time{}, wrap("record failure", err)
	}
	if count != 0 {
		// Below the limit: no new lock from this failure.
		return time.Time{}, nil
	}
	return lockedUntil, nil
}

// ClearFailures implements [store.Users]. A user without failures is not
// written to, so clearing on every successful sign-in costs no write; a
// missing user is not an error. UpdatedAt stays.
func (db *DB) ClearFailures(ctx context.Context, id string, lock store.Lock, now time.Time) error {
	var sql string
	switch lock {
	case store.LockPassword:
		sql = clearPasswordFailuresSQL
	case store.LockMFA:
		sql = clearMFAFailuresSQL
	default:
		return fmt.Errorf("sigra/postgres: clear failures: unknown lock %d", lock)
	}
	_, err := db.q(ctx).Exec(ctx, sql, id)
	return wrap("clear failures", err)
}

// SetDisabled implements [store.Users] in one statement: disabling also
// revokes the user's live sessions at now, as RevokeUserSessions does
// (tombstones, so that a request in flight cannot bring one back).
func (db *DB) SetDisabled(ctx context.Context, id string, at, now time.Time) error {
	var n int
	err := db.q(ctx).QueryRow(ctx, `WITH u AS (
			UPDATE sigra_users SET disabled_at = $2, updated_at = $3 WHERE id = $1
			RETURNING id
		), s AS (
			UPDATE sigra_sessions SET revoked_at = $3
			WHERE $2::timestamptz IS NOT NULL AND user_id IN (SELECT id FROM u)
				AND revoked_at IS NULL AND expires_at > $3
		)
		SELECT count(*) FROM u`, id, tsArg(at), now).Scan(&n)
	if err != nil {
		return wrap("set disabled", err)
	}
	if n == 0 {
		return notFound("set disabled")
	}
	return nil
}

// ScheduleDeletion implements [store.Users].
func (db *DB) ScheduleDeletion(ctx context.Context, id string, due, now time.Time) error {
	return db.execOne(ctx, "schedule deletion",
		`UPDATE sigra_users SET deletion_due_at = $2, updated_at = $3 WHERE id = $1`, id, tsArg(due), now)
}

// UsersDueForDeletion implements [store.Users].
func (db *DB) UsersDueForDeletion(ctx context.Context, now time.Time, limit int) ([]*store.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.q(ctx).Query(ctx, `SELECT `+userCols+` FROM sigra_users
		WHERE deletion_due_at <= $1 ORDER BY deletion_due_at, id LIMIT $2`, now, limit)
	if err != nil {
		return nil, wrap("users due for deletion", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.User, error) { return scanUser(r) })
	return users, wrap("users due for deletion", err)
}

// DeleteUser implements [store.Users]. Foreign keys with ON DELETE
// CASCADE remove the user's sessions, tokens, factors, trusted browsers
// and reservation in the same statement; audit rows do not reference the
// user and stay. A request in flight cannot re-create a deleted user's
// session: the foreign key refuses it.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	return db.execOne(ctx, "delete user", `DELETE FROM sigra_users WHERE id = $1`, id)
}

// AnonymizeUser implements [store.Users] in one statement. The address
// becomes deleted-<id>@anonymized.invalid (the .invalid domain never
// resolves). Tokens, factors, trusted browsers and the reservation are
// deleted. Sessions are revoked and emptied (data, IP, user agent) rather
// than deleted: the user row still exists, so a deleted session row could
// be re-created by a request in flight, while a revoked one cannot; the
// tombstones go with PurgeSessions.
func (db *DB) AnonymizeUser(ctx context.Context, id string, now time.Time) error {
	placeholder := "deleted-" + id + "@anonymized.invalid"
	var n int
	err := db.q(ctx).QueryRow(ctx, `WITH u AS (
			UPDATE sigra_users
			SET email = $2, email_norm = $3, password_hash = '', email_confirmed_at = NULL,
				failed_logins = 0, locked_until = NULL, failed_mfa = 0, mfa_locked_until = NULL,
				disabled_at = coalesce(disabled_at, $4), deletion_due_at = NULL, updated_at = $4
			WHERE id = $1
			RETURNING id
		), s AS (
			UPDATE sigra_sessions
			SET revoked_at = coalesce(revoked_at, $4), data = '', ip = '', user_agent = ''
			WHERE user_id IN (SELECT id FROM u)
		), t AS (
			DELETE FROM sigra_tokens WHERE user_id IN (SELECT id FROM u)
		), f AS (
			DELETE FROM sigra_totp_secrets WHERE user_id IN (SELECT id FROM u)
		), r AS (
			DELETE FROM sigra_recovery_codes WHERE user_id IN (SELECT id FROM u)
		), b AS (
			DELETE FROM sigra_trusted_browsers WHERE user_id IN (SELECT id FROM u)
		), e AS (
			DELETE FROM sigra_email_reservations WHERE user_id IN (SELECT id FROM u)
		), d AS (
			DELETE FROM sigra_signins WHERE user_id IN (SELECT id FROM u)
		), i AS (
			DELETE FROM sigra_identities WHERE user_id IN (SELECT id FROM u)
		), pk AS (
			DELETE FROM sigra_passkeys WHERE user_id IN (SELECT id FROM u)
		), ph AS (
			DELETE FROM sigra_passkey_users WHERE user_id IN (SELECT id FROM u)
		), ad AS (
			DELETE FROM sigra_admins WHERE user_id IN (SELECT id FROM u)
		), m AS (
			-- The migration's trigger passes on the orgs they owned alone.
			DELETE FROM sigra_org_members WHERE user_id IN (SELECT id FROM u)
		)
		SELECT count(*) FROM u`,
		id, placeholder, store.NormalizeEmail(placeholder), now,
	).Scan(&n)
	if err != nil {
		return wrap("anonymize user", err)
	}
	if n == 0 {
		return notFound("anonymize user")
	}
	return nil
}

// ReserveEmail implements [store.Users]. It takes the address's advisory
// lock, then in one statement checks that the user exists and that no
// other user holds the address or an unexpired reservation of it, and
// upserts the user's reservation. Both statements go in one round trip.
func (db *DB) ReserveEmail(ctx context.Context, id, email string, expires, now time.Time) error {
	norm := store.NormalizeEmail(email)
	var found, taken bool
	b := new(pgx.Batch)
	b.Queue(lockEmailSQL, norm)
	b.Queue(`WITH chk AS (
			SELECT EXISTS (SELECT 1 FROM sigra_users WHERE id = $1) AS found,
				EXISTS (SELECT 1 FROM sigra_users WHERE email_norm = $3 AND id <> $1)
				OR EXISTS (SELECT 1 FROM sigra_email_reservations
					WHERE email_norm = $3 AND user_id <> $1 AND expires_at > $5) AS taken
		), ins AS (
			INSERT INTO sigra_email_reservations (user_id, email, email_norm, expires_at)
			SELECT $1::text, $2::text, $3::text, $4::timestamptz FROM chk WHERE found AND NOT taken
			ON CONFLICT (user_id) DO UPDATE
			SET email = EXCLUDED.email, email_norm = EXCLUDED.email_norm, expires_at = EXCLUDED.expires_at
		)
		SELECT found, taken FROM chk`,
		id, email, norm, expires, now,
	).QueryRow(func(row pgx.Row) error { return row.Scan(&found, &taken) })
	if err := db.sendBatch(ctx, b); err != nil {
		return wrap("reserve email", err)
	}
	switch {
	case !found:
		return notFound("reserve email")
	case taken:
		return conflict("reserve email")
	}
	return nil
}

// EmailReservation implements [store.Users].
func (db *DB) EmailReservation(ctx context.Context, id string, now time.Time) (string, time.Time, error) {
	var email string
	var expires time.Time
	err := db.q(ctx).QueryRow(ctx, `SELECT email, expires_at FROM sigra_email_reservations
		WHERE user_id = $1 AND expires_at > $2`, id, now).Scan(&email, ts(&expires))
	if err != nil {
		return "", time.Time{}, wrap("email reservation", err)
	}
	return email, expires, nil
}

// CancelEmailReservation implements [store.Users].
func (db *DB) CancelEmailReservation(ctx context.Context, id string) error {
	_, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_email_reservations WHERE user_id = $1`, id)
	return wrap("cancel email reservation", err)
}

// ChangeEmail implements [store.Users]. Under the address's advisory lock,
// one statement moves the reservation into the user row, unless another
// user holds the address; then it leaves both rows alone and returns
// ErrConflict. The unique index on the normalized address backs this up:
// a write that slipped past the check fails with ErrConflict as well.
func (db *DB) ChangeEmail(ctx context.Context, id, email string, now time.Time) error {
	norm := store.NormalizeEmail(email)
	var taken, reserved bool
	var changed int
	b := new(pgx.Batch)
	b.Queue(lockEmailSQL, norm)
	b.Queue(`WITH chk AS (
			SELECT EXISTS (SELECT 1 FROM sigra_users WHERE email_norm = $2 AND id <> $1) AS taken,
				EXISTS (SELECT 1 FROM sigra_email_reservations
					WHERE user_id = $1 AND email_norm = $2 AND expires_at > $3) AS reserved
		), r AS (
			DELETE FROM sigra_email_reservations
			WHERE user_id = $1 AND email_norm = $2 AND expires_at > $3
				AND NOT (SELECT taken FROM chk)
			RETURNING email, email_norm
		), u AS (
			UPDATE sigra_users
			SET email = r.email, email_norm = r.email_norm, email_confirmed_at = $3, updated_at = $3
			FROM r WHERE sigra_users.id = $1
			RETURNING 1
		)
		SELECT chk.taken, chk.reserved, (SELECT count(*) FROM u) FROM chk`,
		id, norm, now,
	).QueryRow(func(row pgx.Row) error { return row.Scan(&taken, &reserved, &changed) })
	if err := db.sendBatch(ctx, b); err != nil {
		return wrap("change email", err)
	}
	switch {
	case changed == 1:
		return nil
	case !reserved:
		return notFound("change email")
	default:
		return conflict("change email")
	}
}
