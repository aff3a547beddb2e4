package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/store"
)

var _ store.Identities = (*DB)(nil)

const identityCols = `id, user_id, provider, subject, email, email_verified, access_token, refresh_token,
	token_expires_at, created_at, updated_at, last_used_at`

func scanIdentity(row pgx.Row) (*store.Identity, error) {
	i := new(store.Identity)
	err := row.Scan(&i.ID, &i.UserID, &i.Provider, &i.Subject, &i.Email, &i.EmailVerified,
		&i.AccessToken, &i.RefreshToken, ts(&i.TokenExpiresAt), ts(&i.CreatedAt), ts(&i.UpdatedAt), ts(&i.LastUsedAt))
	if err != nil {
		return nil, err
	}
	return i, nil
}

// CreateIdentity implements [store.Identities] in one statement that
// checks the user exists and inserts with ON CONFLICT DO NOTHING, so a
// conflict is reported without failing a statement (the caller's
// transaction stays usable).
func (db *DB) CreateIdentity(ctx context.Context, i *store.Identity) error {
	const op = "create identity"
	if i.UserID == "" || i.Provider == "" || i.Subject == "" {
		return invalid(op, "empty user, provider or subject")
	}
	id, created, updated := i.ID, i.CreatedAt, i.UpdatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = nowUTC()
	}
	if updated.IsZero() {
		updated = created
	}
	var found bool
	var inserted int
	err := db.q(ctx).QueryRow(ctx, `WITH chk AS (
			SELECT EXISTS (SELECT 1 FROM sigra_users WHERE id = $2::text) AS found
		), ins AS (
			INSERT INTO sigra_identities (id, user_id, provider, subject, email, email_verified,
				access_token, refresh_token, token_expires_at, created_at, updated_at, last_used_at)
			SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::boolean, $7::bytea, $8::bytea,
				$9::timestamptz, $10::timestamptz, $11::timestamptz, $12::timestamptz
			FROM chk WHERE found
			ON CONFLICT DO NOTHING
			RETURNING 1
		)
		SELECT found, (SELECT count(*) FROM ins) FROM chk`,
		id, i.UserID, i.Provider, i.Subject, i.Email, i.EmailVerified, i.AccessToken, i.RefreshToken,
		tsArg(i.TokenExpiresAt), created, updated, tsArg(i.LastUsedAt),
	).Scan(&found, &inserted)
	switch {
	case err != nil:
		return wrap(op, err)
	case !found:
		return notFound(op)
	case inserted == 0:
		return conflict(op)
	}
	i.ID, i.CreatedAt, i.UpdatedAt = id, created, updated
	return nil
}

// IdentityBySubject implements [store.Identities].
func (db *DB) IdentityBySubject(ctx context.Context, provider, subject string) (*store.Identity, error) {
	i, err := scanIdentity(db.q(ctx).QueryRow(ctx, `SELECT `+identityCols+` FROM sigra_identities
		WHERE provider = $1 AND subject = $2`, provider, subject))
	return i, wrap("identity by subject", err)
}

// UserIdentities implements [store.Identities].
func (db *DB) UserIdentities(ctx context.Context, userID string) ([]*store.Identity, error) {
	rows, err := db.q(ctx).Query(ctx, `SELECT `+identityCols+` FROM sigra_identities WHERE user_id = $1
		ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, wrap("user identities", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Identity, error) { return scanIdentity(r) })
	return out, wrap("user identities", err)
}

// SetIdentityTokens implements [store.Identities].
func (db *DB) SetIdentityTokens(ctx context.Context, id string, access, refresh []byte, expires, now time.Time) error {
	return db.execOne(ctx, "set identity tokens", `UPDATE sigra_identities
		SET access_token = $1, refresh_token = $2, token_expires_at = $3, updated_at = $4 WHERE id = $5`,
		access, refresh, tsArg(expires), now, id)
}

// TouchIdentity implements [store.Identities].
func (db *DB) TouchIdentity(ctx context.Context, id, email string, verified bool, now time.Time) error {
	return db.execOne(ctx, "touch identity", `UPDATE sigra_identities
		SET email = $1, email_verified = $2, last_used_at = $3, updated_at = $3 WHERE id = $4`,
		email, verified, now, id)
}

// DeleteIdentity implements [store.Identities]. In one transaction (a
// savepoint of the caller's) it locks the user's row (SELECT ... FOR
// UPDATE), so that removals of one user's sign-in methods, on any
// instance, run one at a time; then reads the identity, counts the user's
// methods (signInMethodsSQL, which under READ COMMITTED sees what the
// removals before it committed) and deletes.
func (db *DB) DeleteIdentity(ctx context.Context, userID, id string) (*store.Identity, error) {
	const op = "delete identity"
	var out *store.Identity
	err := db.atomic(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, lockUserSQL, userID).Scan(&one); err != nil {
			return wrap(op, err)
		}
		i, err := scanIdentity(tx.QueryRow(ctx, `SELECT `+identityCols+` FROM sigra_identities
			WHERE id = $1 AND user_id = $2`, id, userID))
		if err != nil {
			return wrap(op, err)
		}
		var n int
		if err := tx.QueryRow(ctx, signInMethodsSQL, userID).Scan(&n); err != nil {
			return wrap(op, err)
		}
		if n < 2 {
			return fmt.Errorf("sigra/postgres: %s: %w", op, store.ErrLastSignInMethod)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sigra_identities WHERE id = $1`, id); err != nil {
			return wrap(op, err)
		}
		out = i
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
