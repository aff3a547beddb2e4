package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sigra-go/sigra/store"
)

// SavePendingTOTP implements [store.TOTP] in one statement: an upsert
// whose update branch only replaces a pending secret. A zero CreatedAt is
// filled in; ConfirmedAt is ignored (the secret is stored pending).
// ErrNotFound if the user does not exist.
func (db *DB) SavePendingTOTP(ctx context.Context, s *store.TOTPSecret) error {
	created := s.CreatedAt
	if created.IsZero() {
		created = nowUTC()
	}
	var found bool
	var saved int
	err := db.q(ctx).QueryRow(ctx, `WITH chk AS (
			SELECT EXISTS (SELECT 1 FROM sigra_users WHERE id = $1::text) AS found
		), up AS (
			INSERT INTO sigra_totp_secrets AS t (user_id, sealed, confirmed_at, last_step, created_at)
			SELECT $1::text, $2::bytea, NULL, $3::bigint, $4::timestamptz FROM chk WHERE found
			ON CONFLICT (user_id) DO UPDATE
			SET sealed = EXCLUDED.sealed, last_step = EXCLUDED.last_step, created_at = EXCLUDED.created_at
			WHERE t.confirmed_at IS NULL
			RETURNING 1
		)
		SELECT found, (SELECT count(*) FROM up) FROM chk`,
		s.UserID, bytesArg(s.Sealed), s.LastStep, created,
	).Scan(&found, &saved)
	switch {
	case err != nil:
		return wrap("save pending totp", err)
	case !found:
		return notFound("save pending totp")
	case saved == 0:
		return conflict("save pending totp")
	}
	s.CreatedAt = created
	return nil
}

// TOTPByUser implements [store.TOTP].
func (db *DB) TOTPByUser(ctx context.Context, userID string) (*store.TOTPSecret, error) {
	s := new(store.TOTPSecret)
	err := db.q(ctx).QueryRow(ctx, `SELECT user_id, sealed, confirmed_at, last_step, created_at
		FROM sigra_totp_secrets WHERE user_id = $1`, userID,
	).Scan(&s.UserID, &s.Sealed, ts(&s.ConfirmedAt), &s.LastStep, ts(&s.CreatedAt))
	if err != nil {
		return nil, wrap("totp by user", err)
	}
	return s, nil
}

// UseTOTPStep implements [store.TOTP]. The step is taken by one UPDATE
// with WHERE last_step < step: the row lock serializes concurrent calls
// and the loser re-checks the winner's step, so one step is accepted once.
// Only when nothing was updated does a second statement tell a replay
// from a missing or pending secret.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64, confirm bool, now time.Time) error {
	ct, err := db.q(ctx).Exec(ctx, `UPDATE sigra_totp_secrets
		SET last_step = $2, confirmed_at = coalesce(confirmed_at, $4)
		WHERE user_id = $1 AND last_step < $2 AND (confirmed_at IS NOT NULL OR $3::boolean)`,
		userID, step, confirm, now)
	if err != nil {
		return wrap("use totp step", err)
	}
	if ct.RowsAffected() == 1 {
		return nil
	}
	var last int64
	var confirmed time.Time
	err = db.q(ctx).QueryRow(ctx, `SELECT last_step, confirmed_at FROM sigra_totp_secrets WHERE user_id = $1`,
		userID).Scan(&last, ts(&confirmed))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return notFound("use totp step")
	case err != nil:
		return wrap("use totp step", err)
	case !confirm && confirmed.IsZero():
		return notFound("use totp step")
	case step <= last:
		return replayed("use totp step")
	default:
		// The secret was pending when the update ran and has been
		// confirmed since, with an older step.
		return notFound("use totp step")
	}
}

// DeleteTOTP implements [store.TOTP].
func (db *DB) DeleteTOTP(ctx context.Context, userID string) error {
	_, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_totp_secrets WHERE user_id = $1`, userID)
	return wrap("delete totp", err)
}

// ReplaceRecoveryCodes implements [store.RecoveryCodes]. One batch, in one
// transaction and one round trip, locks the user row (so concurrent
// replacements of one user's codes run one after the other and the user
// ends with exactly one set), deletes the old codes and inserts the new
// ones; duplicate digests are stored once. ErrNotFound if the user does
// not exist.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, digests [][]byte, now time.Time) error {
	if digests == nil {
		digests = [][]byte{}
	}
	found := false
	b := new(pgx.Batch)
	b.Queue(`SELECT true FROM sigra_users WHERE id = $1 FOR NO KEY UPDATE`, userID).
		QueryRow(func(row pgx.Row) error {
			err := row.Scan(&found)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
	b.Queue(`DELETE FROM sigra_recovery_codes WHERE user_id = $1`, userID)
	b.Queue(`INSERT INTO sigra_recovery_codes (user_id, digest, created_at)
		SELECT $1::text, d, $3::timestamptz FROM unnest($2::bytea[]) AS d
		WHERE EXISTS (SELECT 1 FROM sigra_users WHERE id = $1::text)
		ON CONFLICT DO NOTHING`, userID, digests, now)
	if err := db.sendBatch(ctx, b); err != nil {
		return wrap("replace recovery codes", err)
	}
	if !found {
		return notFound("replace recovery codes")
	}
	return nil
}

// UseRecoveryCode implements [store.RecoveryCodes]. The UPDATE ... WHERE
// used_at IS NULL lets one of concurrent uses of a code win; the count
// runs in the same batch (one round trip, one transaction) after it, so
// it sees the code just used.
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, digest []byte, now time.Time) (int, error) {
	var used bool
	var remaining int
	b := new(pgx.Batch)
	b.Queue(`UPDATE sigra_recovery_codes SET used_at = $3
		WHERE user_id = $1 AND digest = $2 AND used_at IS NULL`, userID, digest, now).
		Exec(func(ct pgconn.CommandTag) error {
			used = ct.RowsAffected() == 1
			return nil
		})
	b.Queue(`SELECT count(*) FROM sigra_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).
		QueryRow(func(row pgx.Row) error { return row.Scan(&remaining) })
	if err := db.sendBatch(ctx, b); err != nil {
		return 0, wrap("use recovery code", err)
	}
	if !used {
		return 0, notFound("use recovery code")
	}
	return remaining, nil
}

// CountRecoveryCodes implements [store.RecoveryCodes].
func (db *DB) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := db.q(ctx).QueryRow(ctx, `SELECT count(*) FROM sigra_recovery_codes
		WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, wrap("count recovery codes", err)
}

// DeleteRecoveryCodes implements [store.RecoveryCodes].
func (db *DB) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	_, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_recovery_codes WHERE user_id = $1`, userID)
	return wrap("delete recovery codes", err)
}

// trustedCols are the columns scanned by scanTrusted, in order.
const trustedCols = `id, user_id, digest, user_agent, ip, created_at, expires_at`

func scanTrusted(row pgx.Row) (*store.TrustedBrowser, error) {
	b := new(store.TrustedBrowser)
	err := row.Scan(&b.ID, &b.UserID, &b.Digest, &b.UserAgent, &b.IP, ts(&b.CreatedAt), ts(&b.ExpiresAt))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// CreateTrustedBrowser implements [store.TrustedBrowsers]. ErrConflict if
// the user already has a grant with the digest (or the ID is taken);
// ErrNotFound if the user does not exist. Neither fails a statement. The
// interface has no purge for grants, so the same statement deletes the
// user's grants that expired before CreatedAt.
func (db *DB) CreateTrustedBrowser(ctx context.Context, b *store.TrustedBrowser) error {
	id := b.ID
	if id == "" {
		id = store.NewID()
	}
	created := b.CreatedAt
	if created.IsZero() {
		created = nowUTC()
	}
	var found bool
	var inserted int
	err := db.q(ctx).QueryRow(ctx, `WITH chk AS (
			SELECT EXISTS (SELECT 1 FROM sigra_users WHERE id = $2::text) AS found
		), gc AS (
			DELETE FROM sigra_trusted_browsers WHERE user_id = $2::text AND expires_at <= $6::timestamptz
		), ins AS (
			INSERT INTO sigra_trusted_browsers (id, user_id, digest, user_agent, ip, created_at, expires_at)
			SELECT $1::text, $2::text, $3::bytea, $4::text, $5::text, $6::timestamptz, $7::timestamptz
			FROM chk WHERE found
			ON CONFLICT DO NOTHING
			RETURNING 1
		)
		SELECT found, (SELECT count(*) FROM ins) FROM chk`,
		id, b.UserID, bytesArg(b.Digest), b.UserAgent, b.IP, created, b.ExpiresAt,
	).Scan(&found, &inserted)
	switch {
	case err != nil:
		return wrap("create trusted browser", err)
	case !found:
		return notFound("create trusted browser")
	case inserted == 0:
		return conflict("create trusted browser")
	}
	b.ID, b.CreatedAt = id, created
	return nil
}

// TrustedBrowserByDigest implements [store.TrustedBrowsers].
func (db *DB) TrustedBrowserByDigest(ctx context.Context, userID string, digest []byte, now time.Time) (*store.TrustedBrowser, error) {
	b, err := scanTrusted(db.q(ctx).QueryRow(ctx, `SELECT `+trustedCols+` FROM sigra_trusted_browsers
		WHERE user_id = $1 AND digest = $2 AND expires_at > $3`, userID, digest, now))
	return b, wrap("trusted browser by digest", err)
}

// TrustedBrowsersByUser implements [store.TrustedBrowsers].
func (db *DB) TrustedBrowsersByUser(ctx context.Context, userID string, now time.Time) ([]*store.TrustedBrowser, error) {
	rows, err := db.q(ctx).Query(ctx, `SELECT `+trustedCols+` FROM sigra_trusted_browsers
		WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, id DESC`, userID, now)
	if err != nil {
		return nil, wrap("trusted browsers by user", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.TrustedBrowser, error) { return scanTrusted(r) })
	return list, wrap("trusted browsers by user", err)
}

// RevokeTrustedBrowser implements [store.TrustedBrowsers].
func (db *DB) RevokeTrustedBrowser(ctx context.Context, userID, id string) error {
	return db.execOne(ctx, "revoke trusted browser",
		`DELETE FROM sigra_trusted_browsers WHERE user_id = $1 AND id = $2`, userID, id)
}

// RevokeTrustedBrowsers implements [store.TrustedBrowsers].
func (db *DB) RevokeTrustedBrowsers(ctx context.Context, userID string) (int, error) {
	ct, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_trusted_browsers WHERE user_id = $1`, userID)
	if err != nil {
		return 0, wrap("revoke trusted browsers", err)
	}
	return int(ct.RowsAffected()), nil
}
