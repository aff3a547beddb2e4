package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sigra-go/sigra/store"
)

// SavePendingTOTP stores s as the user's pending secret, replacing a pending
// one, in one upsert that leaves a confirmed secret alone (then
// store.ErrConflict). A zero CreatedAt is filled.
func (db *DB) SavePendingTOTP(ctx context.Context, s *store.TOTPSecret) error {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = clock()
	}
	n, err := op("SavePendingTOTP").count(db.exec(ctx, `INSERT INTO sigra_totp_secrets (user_id, sealed, confirmed_at, last_step, created_at)
		VALUES (?, ?, NULL, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET sealed = excluded.sealed, last_step = excluded.last_step, created_at = excluded.created_at
		WHERE sigra_totp_secrets.confirmed_at IS NULL`, s.UserID, blob(s.Sealed), s.LastStep, ms(s.CreatedAt)))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sigra/sqlite: SavePendingTOTP: the user has a confirmed secret: %w", store.ErrConflict)
	}
	return nil
}

// qTOTPByUser reads a user's TOTP secret; it runs prepared (see
// signInReads): every password sign-in reads it.
const qTOTPByUser = `SELECT sealed, confirmed_at, last_step, created_at FROM sigra_totp_secrets WHERE user_id = ?`

// TOTPByUser returns the user's secret, pending or confirmed.
func (db *DB) TOTPByUser(ctx context.Context, userID string) (*store.TOTPSecret, error) {
	s := &store.TOTPSecret{UserID: userID}
	err := db.queryRow(ctx, qTOTPByUser, userID).
		Scan(&s.Sealed, timeDest{&s.ConfirmedAt}, &s.LastStep, timeDest{&s.CreatedAt})
	if err != nil {
		return nil, wrap("TOTPByUser", err)
	}
	return s, nil
}

// UseTOTPStep advances the user's last accepted step to step in one
// conditional update (WHERE last_step < step); when it changes nothing, a
// second read tells store.ErrReplay (a usable secret at or past step) from
// store.ErrNotFound (no secret, or a pending one without confirm).
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64, confirm bool, now time.Time) error {
	n, err := op("UseTOTPStep").count(db.exec(ctx, `UPDATE sigra_totp_secrets SET last_step = ?1,
			confirmed_at = CASE WHEN confirmed_at IS NULL THEN ?2 ELSE confirmed_at END
		WHERE user_id = ?3 AND last_step < ?1 AND (confirmed_at IS NOT NULL OR ?4)`, step, ms(now), userID, confirm))
	if err != nil || n == 1 {
		return err
	}
	var confirmed sql.NullInt64
	err = db.scanRow(ctx, `SELECT confirmed_at FROM sigra_totp_secrets WHERE user_id = ?`, []any{userID}, &confirmed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return notFound("UseTOTPStep")
	case err != nil:
		return wrap("UseTOTPStep", err)
	case !confirmed.Valid && !confirm:
		return fmt.Errorf("sigra/sqlite: UseTOTPStep: secret not confirmed: %w", store.ErrNotFound)
	}
	return fmt.Errorf("sigra/sqlite: UseTOTPStep: step %d: %w", step, store.ErrReplay)
}

// DeleteTOTP removes the user's secret, if any.
func (db *DB) DeleteTOTP(ctx context.Context, userID string) error {
	_, err := db.exec(ctx, `DELETE FROM sigra_totp_secrets WHERE user_id = ?`, userID)
	return wrap("DeleteTOTP", err)
}

// ReplaceRecoveryCodes replaces the user's codes with digests in one
// transaction. Duplicate digests are stored once.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, digests [][]byte, now time.Time) error {
	return db.inTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM sigra_recovery_codes WHERE user_id = ?`, userID); err != nil {
			return wrap("ReplaceRecoveryCodes", err)
		}
		if len(digests) == 0 {
			return nil
		}
		args := make([]any, 0, 3*len(digests))
		for _, d := range digests {
			args = append(args, userID, d, ms(now))
		}
		_, err := q.ExecContext(ctx, `INSERT OR IGNORE INTO sigra_recovery_codes (user_id, digest, created_at) VALUES (?, ?, ?)`+
			strings.Repeat(`, (?, ?, ?)`, len(digests)-1), args...)
		return wrap("ReplaceRecoveryCodes", err)
	})
}

// UseRecoveryCode marks the user's unused code with digest used and counts
// the unused codes left, in one transaction.
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, digest []byte, now time.Time) (int, error) {
	var remaining int
	err := db.inTx(ctx, func(q querier) error {
		if err := op("UseRecoveryCode").one(q.ExecContext(ctx, `UPDATE sigra_recovery_codes SET used_at = ?
			WHERE user_id = ? AND digest = ? AND used_at IS NULL`, ms(now), userID, digest)); err != nil {
			return err
		}
		return wrap("UseRecoveryCode", q.QueryRowContext(ctx, `SELECT count(*) FROM sigra_recovery_codes WHERE user_id = ? AND used_at IS NULL`,
			userID).Scan(intDest{&remaining}))
	})
	if err != nil {
		return 0, err
	}
	return remaining, nil
}

// CountRecoveryCodes returns how many unused codes the user has.
func (db *DB) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := db.r(ctx).QueryRowContext(ctx, `SELECT count(*) FROM sigra_recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(intDest{&n})
	return n, wrap("CountRecoveryCodes", err)
}

// DeleteRecoveryCodes removes all of the user's codes.
func (db *DB) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	_, err := db.exec(ctx, `DELETE FROM sigra_recovery_codes WHERE user_id = ?`, userID)
	return wrap("DeleteRecoveryCodes", err)
}

const browserCols = `id, user_id, digest, user_agent, ip, created_at, expires_at`

func browserDest(b *store.TrustedBrowser) []any {
	return []any{&b.ID, &b.UserID, &b.Digest, &b.UserAgent, &b.IP, timeDest{&b.CreatedAt}, timeDest{&b.ExpiresAt}}
}

// CreateTrustedBrowser stores b, filling an empty ID and zero CreatedAt.
func (db *DB) CreateTrustedBrowser(ctx context.Context, b *store.TrustedBrowser) error {
	if b.ID == "" {
		b.ID = store.NewID()
	}
	if b.CreatedAt.IsZero() {
		b.CreatedAt = clock()
	}
	_, err := db.exec(ctx, `INSERT INTO sigra_trusted_browsers (`+browserCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.UserID, b.Digest, b.UserAgent, b.IP, ms(b.CreatedAt), ms(b.ExpiresAt))
	return wrap("CreateTrustedBrowser", err)
}

// qTrustedBrowserByDigest reads a user's unexpired grant by digest; it
// runs prepared (see signInReads).
const qTrustedBrowserByDigest = `SELECT ` + browserCols + ` FROM sigra_trusted_browsers
	WHERE user_id = ? AND digest = ? AND expires_at > ? ORDER BY expires_at DESC LIMIT 1`

// TrustedBrowserByDigest returns the user's unexpired grant with digest.
func (db *DB) TrustedBrowserByDigest(ctx context.Context, userID string, digest []byte, now time.Time) (*store.TrustedBrowser, error) {
	b := new(store.TrustedBrowser)
	err := db.queryRow(ctx, qTrustedBrowserByDigest, userID, digest, ms(now)).Scan(browserDest(b)...)
	if err != nil {
		return nil, wrap("TrustedBrowserByDigest", err)
	}
	return b, nil
}

// TrustedBrowsersByUser lists the user's unexpired grants, newest first.
func (db *DB) TrustedBrowsersByUser(ctx context.Context, userID string, now time.Time) ([]*store.TrustedBrowser, error) {
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+browserCols+` FROM sigra_trusted_browsers
		WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC, id DESC`, userID, ms(now))
	if err != nil {
		return nil, wrap("TrustedBrowsersByUser", err)
	}
	defer rows.Close()
	var list []*store.TrustedBrowser
	for rows.Next() {
		b := new(store.TrustedBrowser)
		if err := rows.Scan(browserDest(b)...); err != nil {
			return nil, wrap("TrustedBrowsersByUser", err)
		}
		list = append(list, b)
	}
	return list, wrap("TrustedBrowsersByUser", rows.Err())
}

// RevokeTrustedBrowser deletes the user's grant with id; another user's id
// is store.ErrNotFound.
func (db *DB) RevokeTrustedBrowser(ctx context.Context, userID, id string) error {
	return op("RevokeTrustedBrowser").one(db.exec(ctx, `DELETE FROM sigra_trusted_browsers WHERE id = ? AND user_id = ?`, id, userID))
}

// RevokeTrustedBrowsers deletes all of the user's grants.
func (db *DB) RevokeTrustedBrowsers(ctx context.Context, userID string) (int, error) {
	return op("RevokeTrustedBrowsers").count(db.exec(ctx, `DELETE FROM sigra_trusted_browsers WHERE user_id = ?`, userID))
}
