package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sigra-go/sigra/store"
)

const userCols = `id, email, password_hash, email_confirmed_at, failed_logins, locked_until,
	failed_mfa, mfa_locked_until, disabled_at, deletion_due_at, created_at, updated_at`

const qUserByID = `SELECT ` + userCols + ` FROM sigra_users WHERE id = ?`

// qUserByEmail reads the user with an address key; it runs prepared (see
// signInReads).
const qUserByEmail = `SELECT ` + userCols + ` FROM sigra_users WHERE email_norm = ?`

// userDest returns the scan destinations of userCols (or of the same
// columns through a LEFT JOIN, where all may be NULL).
func userDest(u *store.User) []any {
	return []any{
		strDest{&u.ID}, strDest{&u.Email}, strDest{&u.PasswordHash}, timeDest{&u.EmailConfirmedAt},
		intDest{&u.FailedLogins}, timeDest{&u.LockedUntil}, intDest{&u.FailedMFA}, timeDest{&u.MFALockedUntil},
		timeDest{&u.DisabledAt}, timeDest{&u.DeletionDueAt}, timeDest{&u.CreatedAt}, timeDest{&u.UpdatedAt},
	}
}

func scanUser(op string, row *sql.Row) (*store.User, error) {
	u := new(store.User)
	if err := row.Scan(userDest(u)...); err != nil {
		return nil, wrap(op, err)
	}
	return u, nil
}

// CreateUser inserts u, filling an empty ID and zero CreatedAt and
// UpdatedAt; see [store.Users]. The check against other users' address
// reservations and the insert are one statement.
func (db *DB) CreateUser(ctx context.Context, u *store.User) error {
	if u.ID == "" {
		u.ID = store.NewID()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = clock()
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	norm := store.NormalizeEmail(u.Email)
	n, err := op("CreateUser").count(db.exec(ctx, `INSERT INTO sigra_users (`+userCols+`, email_norm)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
		WHERE NOT EXISTS (SELECT 1 FROM sigra_email_reservations WHERE email_norm = ? AND expires_at > ?)`,
		u.ID, u.Email, u.PasswordHash, ms(u.EmailConfirmedAt), u.FailedLogins, ms(u.LockedUntil),
		u.FailedMFA, ms(u.MFALockedUntil), ms(u.DisabledAt), ms(u.DeletionDueAt), ms(u.CreatedAt), ms(u.UpdatedAt), norm,
		norm, ms(u.CreatedAt)))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sigra/sqlite: CreateUser: address reserved by another user: %w", store.ErrConflict)
	}
	return nil
}

// UserByID returns the user with id, or an error wrapping store.ErrNotFound.
// Outside a transaction it runs a statement prepared at open.
func (db *DB) UserByID(ctx context.Context, id string) (*store.User, error) {
	if tx := db.tx(ctx); tx != nil {
		return scanUser("UserByID", tx.QueryRowContext(ctx, qUserByID, id))
	}
	h, err := db.hotStmts(ctx)
	if err != nil {
		return nil, err
	}
	return scanUser("UserByID", h.userByID.QueryRowContext(ctx, id))
}

// UserByEmail returns the user whose address has the key of email
// ([store.NormalizeEmail]), or an error wrapping store.ErrNotFound. A user
// whose key could not be recomputed because of a collision (see
// [DB.RekeyEmails]) still holds the key of version 1
// ([store.LegacyEmailKey]); such a user is found by their own address, and
// preferred to the user holding the new key.
func (db *DB) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	key, legacy := store.NormalizeEmail(email), store.LegacyEmailKey(email)
	if key == legacy {
		return scanUser("UserByEmail", db.queryRow(ctx, qUserByEmail, key))
	}
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+userCols+`, email_norm FROM sigra_users WHERE email_norm IN (?, ?)`, key, legacy)
	if err != nil {
		return nil, wrap("UserByEmail", err)
	}
	defer rows.Close()
	var byKey, byLegacy *store.User
	for rows.Next() {
		u := new(store.User)
		var stored string
		if err := rows.Scan(append(userDest(u), &stored)...); err != nil {
			return nil, wrap("UserByEmail", err)
		}
		switch {
		case stored == key:
			byKey = u
		case store.NormalizeEmail(u.Email) != stored: // kept its version 1 key
			byLegacy = u
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("UserByEmail", err)
	}
	switch {
	case byLegacy != nil:
		return byLegacy, nil
	case byKey != nil:
		return byKey, nil
	}
	return nil, notFound("UserByEmail")
}

// SetPasswordHash replaces the user's password hash; see [store.Users].
func (db *DB) SetPasswordHash(ctx context.Context, id, hash string, now time.Time) error {
	return op("SetPasswordHash").one(db.exec(ctx,
		`UPDATE sigra_users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, ms(now), id))
}

// ConfirmEmail marks the user's address confirmed if it still has the key
// of email; see [store.Users]. A user who kept a version 1 key in a
// collision is matched by that key, as by [DB.UserByEmail].
func (db *DB) ConfirmEmail(ctx context.Context, id, email string, now time.Time) error {
	const q = `UPDATE sigra_users SET
			email_confirmed_at = COALESCE(email_confirmed_at, ?1),
			updated_at = CASE WHEN email_confirmed_at IS NULL THEN ?1 ELSE updated_at END
		WHERE id = ?2 AND email_norm = ?3`
	key, legacy := store.NormalizeEmail(email), store.LegacyEmailKey(email)
	err := op("ConfirmEmail").one(db.exec(ctx, q, ms(now), id, key))
	if key == legacy || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var addr, stored string
	if err := db.r(ctx).QueryRowContext(ctx, `SELECT email, email_norm FROM sigra_users WHERE id = ?`, id).Scan(&addr, &stored); err != nil {
		return wrap("ConfirmEmail", err)
	}
	if stored != legacy || store.NormalizeEmail(addr) == stored {
		return notFound("ConfirmEmail")
	}
	return op("ConfirmEmail").one(db.exec(ctx, q, ms(now), id, legacy))
}

// Lockout counter updates, one statement each: the count and the lock time
// are computed from the row's old values, so concurrent failures neither
// lose counts nor lock twice. A returned count of zero means this failure
// locked the account.
const (
	qFailPassword = `UPDATE sigra_users SET
			failed_logins = CASE WHEN failed_logins + 1 >= ?1 THEN 0 ELSE failed_logins + 1 END,
			locked_until = CASE WHEN failed_logins + 1 >= ?1 THEN ?2 ELSE locked_until END
		WHERE id = ?3 RETURNING failed_logins`
	qFailMFA = `UPDATE sigra_users SET
			failed_mfa = CASE WHEN failed_mfa + 1 >= ?1 THEN 0 ELSE failed_mfa + 1 END,
			mfa_locked_until = CASE WHEN failed_mfa + 1 >= ?1 THEN ?2 ELSE mfa_locked_until END
		WHERE id = ?3 RETURNING failed_mfa`
	qClearPassword = `UPDATE sigra_users SET failed_logins = 0, locked_until = NULL WHERE id = ?`
	qClearMFA      = `UPDATE sigra_users SET failed_mfa = 0, mfa_locked_until = NULL WHERE id = ?`
)

// RecordFailure atomically counts one failure on the given lock; see
// [store.Users].
func (db *DB) RecordFailure(ctx context.Context, id string, lock store.Lock, limit int, lockFor time.Duration, now time.Time) (time.Time, error) {
	var q string
	switch lock {
	case store.LockPassword:
		q = qFailPassword
	case store.LockMFA:
		q = qFailMFA
	default:
		return time.Time{}, fmt.Errorf("sigra/sqlite: RecordFailure: unknown lock %d", lock)
	}
	until := now.Add(lockFor).UTC().Truncate(time.Millisecond)
	var count int64
	if err := db.scanRow(ctx, q, []any{limit, until.UnixMilli(), id}, &count); err != nil {
		return time.Time{}, wrap("RecordFailure", err)
	}
	if count == 0 {
		return until, nil
	}
	return time.Time{}, nil
}

// ClearFailures resets the counter and lock time of the given lock; see
// [store.Users]. It returns an error wrapping store.ErrNotFound if there is
// no such user.
func (db *DB) ClearFailures(ctx context.Context, id string, lock store.Lock, _ time.Time) error {
	var q string
	switch lock {
	case store.LockPassword:
		q = qClearPassword
	case store.LockMFA:
		q = qClearMFA
	default:
		return fmt.Errorf("sigra/sqlite: ClearFailures: unknown lock %d", lock)
	}
	return op("ClearFailures").one(db.exec(ctx, q, id))
}

// SetDisabled disables the user at at, or enables it when at is zero; see
// [store.Users]. Disabling also revokes the user's live sessions, in the
// same transaction, as [DB.RevokeUserSessions] does (tombstones, so that a
// request in flight cannot bring one back).
func (db *DB) SetDisabled(ctx context.Context, id string, at, now time.Time) error {
	return db.inTx(ctx, func(q querier) error {
		if err := op("SetDisabled").one(q.ExecContext(ctx,
			`UPDATE sigra_users SET disabled_at = ?, updated_at = ? WHERE id = ?`, ms(at), ms(now), id)); err != nil {
			return err
		}
		if at.IsZero() {
			return nil
		}
		_, err := q.ExecContext(ctx, `UPDATE sigra_sessions SET revoked_at = ?1
			WHERE user_id = ?2 AND revoked_at IS NULL AND expires_at > ?1`, ms(now), id)
		return wrap("SetDisabled", err)
	})
}

// ScheduleDeletion sets or cancels the user's scheduled deletion; see
// [store.Users].
func (db *DB) ScheduleDeletion(ctx context.Context, id string, due, now time.Time) error {
	return op("ScheduleDeletion").one(db.exec(ctx,
		`UPDATE sigra_users SET deletion_due_at = ?, updated_at = ? WHERE id = ?`, ms(due), ms(now), id))
}

// UsersDueForDeletion returns up to limit users whose deletion is due at or
// before now, oldest due first.
func (db *DB) UsersDueForDeletion(ctx context.Context, now time.Time, limit int) ([]*store.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+userCols+` FROM sigra_users
		WHERE deletion_due_at <= ? ORDER BY deletion_due_at, id LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, wrap("UsersDueForDeletion", err)
	}
	defer rows.Close()
	var us []*store.User
	for rows.Next() {
		u := new(store.User)
		if err := rows.Scan(userDest(u)...); err != nil {
			return nil, wrap("UsersDueForDeletion", err)
		}
		us = append(us, u)
	}
	return us, wrap("UsersDueForDeletion", rows.Err())
}

// DeleteUser removes the user; foreign keys remove its sessions, tokens,
// factors, trusted browsers and reservation. Audit rows stay.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	return op("DeleteUser").one(db.exec(ctx, `DELETE FROM sigra_users WHERE id = ?`, id))
}

// AnonymizeUser replaces the user's address with the placeholder
// "<id>@anonymized.invalid" and removes what belongs to the user, keeping
// the row; see [store.Users]. Sessions are revoked rather than deleted: a
// revoked row is a tombstone that a request still in flight cannot bring
// back by saving its session, whereas a deleted one would be re-created
// for a user row that still exists. It returns an error wrapping
// store.ErrNotFound if there is no such user.
func (db *DB) AnonymizeUser(ctx context.Context, id string, now time.Time) error {
	placeholder := id + "@anonymized.invalid"
	return db.inTx(ctx, func(q querier) error {
		if err := op("AnonymizeUser").one(q.ExecContext(ctx, `UPDATE sigra_users SET
				email = ?1, email_norm = ?2, password_hash = '', email_confirmed_at = NULL,
				failed_logins = 0, locked_until = NULL, failed_mfa = 0, mfa_locked_until = NULL,
				deletion_due_at = NULL, disabled_at = COALESCE(disabled_at, ?3), updated_at = ?3
			WHERE id = ?4`, placeholder, store.NormalizeEmail(placeholder), ms(now), id)); err != nil {
			return err
		}
		// Session tombstones stay until purged, without the address, user
		// agent and values that identified the person.
		if _, err := q.ExecContext(ctx, `UPDATE sigra_sessions SET revoked_at = COALESCE(revoked_at, ?), data = x'', ip = '', user_agent = ''
			WHERE user_id = ?`, ms(now), id); err != nil {
			return wrap("AnonymizeUser", err)
		}
		for _, stmt := range []string{
			`DELETE FROM sigra_tokens WHERE user_id = ?`,
			`DELETE FROM sigra_totp_secrets WHERE user_id = ?`,
			`DELETE FROM sigra_recovery_codes WHERE user_id = ?`,
			`DELETE FROM sigra_trusted_browsers WHERE user_id = ?`,
			`DELETE FROM sigra_email_reservations WHERE user_id = ?`,
			`DELETE FROM sigra_signins WHERE user_id = ?`,
			`DELETE FROM sigra_identities WHERE user_id = ?`,
			`DELETE FROM sigra_passkeys WHERE user_id = ?`,
			`DELETE FROM sigra_passkey_users WHERE user_id = ?`,
			`DELETE FROM sigra_admins WHERE user_id = ?`,
			// The migration's trigger passes on the orgs they owned alone.
			`DELETE FROM sigra_org_members WHERE user_id = ?`,
		} {
			if _, err := q.ExecContext(ctx, stmt, id); err != nil {
				return wrap("AnonymizeUser", err)
			}
		}
		return nil
	})
}

// ReserveEmail records a pending change of the user's address; see
// [store.Users]. Addresses are compared by their keys
// ([store.NormalizeEmail]). Another user's expired reservation of the
// address is dropped; an unexpired one, or another user holding the
// address, is store.ErrConflict.
func (db *DB) ReserveEmail(ctx context.Context, id, email string, expires, now time.Time) error {
	norm := store.NormalizeEmail(email)
	return db.inTx(ctx, func(q querier) error {
		var one int
		err := q.QueryRowContext(ctx, `SELECT 1 FROM sigra_users WHERE email_norm = ? AND id <> ?`, norm, id).Scan(&one)
		switch {
		case err == nil:
			return fmt.Errorf("sigra/sqlite: ReserveEmail: address held by another user: %w", store.ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return wrap("ReserveEmail", err)
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM sigra_email_reservations WHERE email_norm = ? AND user_id <> ? AND expires_at <= ?`,
			norm, id, ms(now)); err != nil {
			return wrap("ReserveEmail", err)
		}
		_, err = q.ExecContext(ctx, `INSERT INTO sigra_email_reservations (user_id, email, email_norm, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, email_norm = excluded.email_norm, expires_at = excluded.expires_at`,
			id, email, norm, ms(expires))
		return wrap("ReserveEmail", err)
	})
}

// EmailReservation returns the user's unexpired reserved address and its
// expiry, or an error wrapping store.ErrNotFound.
func (db *DB) EmailReservation(ctx context.Context, id string, now time.Time) (string, time.Time, error) {
	var email string
	var expires time.Time
	err := db.r(ctx).QueryRowContext(ctx, `SELECT email, expires_at FROM sigra_email_reservations WHERE user_id = ? AND expires_at > ?`,
		id, ms(now)).Scan(&email, timeDest{&expires})
	if err != nil {
		return "", time.Time{}, wrap("EmailReservation", err)
	}
	return email, expires, nil
}

// CancelEmailReservation removes the user's reservation, if any.
func (db *DB) CancelEmailReservation(ctx context.Context, id string) error {
	_, err := db.exec(ctx, `DELETE FROM sigra_email_reservations WHERE user_id = ?`, id)
	return wrap("CancelEmailReservation", err)
}

// ChangeEmail makes the user's unexpired reservation of email (compared
// by key, [store.NormalizeEmail]) the user's confirmed address, as it was entered when
// reserved; see [store.Users].
func (db *DB) ChangeEmail(ctx context.Context, id, email string, now time.Time) error {
	norm := store.NormalizeEmail(email)
	return db.inTx(ctx, func(q querier) error {
		var reserved string
		if err := q.QueryRowContext(ctx, `SELECT email FROM sigra_email_reservations WHERE user_id = ? AND email_norm = ? AND expires_at > ?`,
			id, norm, ms(now)).Scan(&reserved); err != nil {
			return wrap("ChangeEmail", err)
		}
		if err := op("ChangeEmail").one(q.ExecContext(ctx, `UPDATE sigra_users SET email = ?1, email_norm = ?2, email_confirmed_at = ?3, updated_at = ?3 WHERE id = ?4`,
			reserved, norm, ms(now), id)); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `DELETE FROM sigra_email_reservations WHERE user_id = ?`, id)
		return wrap("ChangeEmail", err)
	})
}
