package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/sigra-go/sigra/store"
)

var _ store.Identities = (*DB)(nil)

const identityCols = `id, user_id, provider, subject, email, email_verified, access_token, refresh_token,
	token_expires_at, created_at, updated_at, last_used_at`

func identityDest(i *store.Identity) []any {
	return []any{&i.ID, &i.UserID, &i.Provider, &i.Subject, &i.Email, boolDest{&i.EmailVerified},
		&i.AccessToken, &i.RefreshToken, timeDest{&i.TokenExpiresAt}, timeDest{&i.CreatedAt},
		timeDest{&i.UpdatedAt}, timeDest{&i.LastUsedAt}}
}

// CreateIdentity links an identity to its user; see [store.Identities].
// The unique keys refuse a (provider, subject) linked already and a second
// identity of one provider for a user (store.ErrConflict); the foreign key
// refuses an unknown user (store.ErrNotFound).
func (db *DB) CreateIdentity(ctx context.Context, i *store.Identity) error {
	const op = "CreateIdentity"
	if i.UserID == "" || i.Provider == "" || i.Subject == "" {
		return invalid(op, "empty user, provider or subject")
	}
	id, created, updated := i.ID, i.CreatedAt, i.UpdatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = clock()
	}
	if updated.IsZero() {
		updated = created
	}
	_, err := db.exec(ctx, `INSERT INTO sigra_identities (id, user_id, provider, subject, email, email_verified,
			access_token, refresh_token, token_expires_at, created_at, updated_at, last_used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, i.UserID, i.Provider, i.Subject, i.Email, i.EmailVerified, i.AccessToken, i.RefreshToken,
		ms(i.TokenExpiresAt), ms(created), ms(updated), ms(i.LastUsedAt))
	if err != nil {
		return wrap(op, err)
	}
	i.ID, i.CreatedAt, i.UpdatedAt = id, created, updated
	return nil
}

// IdentityBySubject returns the identity (provider, subject); see
// [store.Identities].
func (db *DB) IdentityBySubject(ctx context.Context, provider, subject string) (*store.Identity, error) {
	i := new(store.Identity)
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+identityCols+` FROM sigra_identities WHERE provider = ? AND subject = ?`,
		provider, subject).Scan(identityDest(i)...)
	if err != nil {
		return nil, wrap("IdentityBySubject", err)
	}
	return i, nil
}

// UserIdentities returns the user's identities, oldest first; see
// [store.Identities].
func (db *DB) UserIdentities(ctx context.Context, userID string) ([]*store.Identity, error) {
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+identityCols+` FROM sigra_identities WHERE user_id = ?
		ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, wrap("UserIdentities", err)
	}
	defer rows.Close()
	var out []*store.Identity
	for rows.Next() {
		i := new(store.Identity)
		if err := rows.Scan(identityDest(i)...); err != nil {
			return nil, wrap("UserIdentities", err)
		}
		out = append(out, i)
	}
	return out, wrap("UserIdentities", rows.Err())
}

// SetIdentityTokens replaces the identity's sealed tokens; see
// [store.Identities].
func (db *DB) SetIdentityTokens(ctx context.Context, id string, access, refresh []byte, expires, now time.Time) error {
	return op("SetIdentityTokens").one(db.exec(ctx, `UPDATE sigra_identities
		SET access_token = ?, refresh_token = ?, token_expires_at = ?, updated_at = ? WHERE id = ?`,
		access, refresh, ms(expires), ms(now), id))
}

// TouchIdentity records a sign-in with the identity; see
// [store.Identities].
func (db *DB) TouchIdentity(ctx context.Context, id, email string, verified bool, now time.Time) error {
	return op("TouchIdentity").one(db.exec(ctx, `UPDATE sigra_identities
		SET email = ?, email_verified = ?, last_used_at = ?, updated_at = ? WHERE id = ?`,
		email, verified, ms(now), ms(now), id))
}

// DeleteIdentity unlinks the user's identity unless it is the user's last
// way to sign in; see [store.Identities]. It reads the identity, counts the
// user's methods (signInMethodsSQL) and deletes in one transaction on the
// single writer connection, which serializes it with every other write of
// the process (and BEGIN IMMEDIATE with other processes'), so the count
// cannot change between the check and the delete.
func (db *DB) DeleteIdentity(ctx context.Context, userID, id string) (*store.Identity, error) {
	const op = "DeleteIdentity"
	i := new(store.Identity)
	err := db.atomic(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, `SELECT `+identityCols+` FROM sigra_identities WHERE id = ? AND user_id = ?`,
			id, userID).Scan(identityDest(i)...); err != nil {
			return wrap(op, err)
		}
		var n int
		if err := q.QueryRowContext(ctx, signInMethodsSQL, userID).Scan(&n); err != nil {
			return wrap(op, err)
		}
		if n < 2 {
			return fmt.Errorf("sigra/sqlite: %s: %w", op, store.ErrLastSignInMethod)
		}
		_, err := q.ExecContext(ctx, `DELETE FROM sigra_identities WHERE id = ?`, id)
		return wrap(op, err)
	})
	if err != nil {
		return nil, err
	}
	return i, nil
}
