package postgres

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/store"
)

// Compile-time proof that DB implements the API token interfaces.
var (
	_ store.APITokens       = (*DB)(nil)
	_ store.ServiceAccounts = (*DB)(nil)
)

// checkScopes refuses a scope that is empty or holds a space, and returns
// the scopes as stored: one space-separated string.
func checkScopes(op string, scopes []string) (string, error) {
	for _, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return "", invalid(op, "invalid scope %q", s)
		}
	}
	return strings.Join(scopes, " "), nil
}

// splitScopes is the reverse of checkScopes.
func splitScopes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

const apiTokenCols = `t.id, t.digest, coalesce(t.user_id, ''), coalesce(t.service_account_id, ''), t.name, t.scopes,
	t.created_at, t.expires_at, t.last_used_at, t.revoked_at`

// apiTokenScan receives one token row.
type apiTokenScan struct {
	t      store.APIToken
	scopes string
}

func (x *apiTokenScan) dest() []any {
	t := &x.t
	return []any{&t.ID, &t.Digest, &t.UserID, &t.ServiceAccountID, &t.Name, &x.scopes,
		ts(&t.CreatedAt), ts(&t.ExpiresAt), ts(&t.LastUsedAt), ts(&t.RevokedAt)}
}

func (x *apiTokenScan) finish() *store.APIToken {
	x.t.Scopes = splitScopes(x.scopes)
	return &x.t
}

// serviceAccountCols are the columns of a service account (alias a),
// NULLs of a LEFT JOIN that found none becoming empty values.
const serviceAccountCols = `coalesce(a.id, ''), coalesce(a.org_id, ''), coalesce(a.name, ''), coalesce(a.scopes, ''),
	coalesce(a.created_by, ''), a.created_at`

// serviceAccountScan receives one service account row.
type serviceAccountScan struct {
	a      store.ServiceAccount
	scopes string
}

func (x *serviceAccountScan) dest() []any {
	a := &x.a
	return []any{&a.ID, &a.OrgID, &a.Name, &x.scopes, &a.CreatedBy, ts(&a.CreatedAt)}
}

func (x *serviceAccountScan) finish() *store.ServiceAccount {
	x.a.Scopes = splitScopes(x.scopes)
	return &x.a
}

// liveToken is the condition of an unrevoked, unexpired token at $2.
const liveToken = `t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)`

// apiTokenByDigestSQL reads a live token and its owner in one statement.
const apiTokenByDigestSQL = `SELECT ` + apiTokenCols + `, ` + joinedUserCols + `, ` + serviceAccountCols + `
	FROM sigra_api_tokens t
	LEFT JOIN sigra_users u ON u.id = t.user_id
	LEFT JOIN sigra_service_accounts a ON a.id = t.service_account_id
	WHERE t.digest = $1 AND ` + liveToken + `
		AND ((u.id IS NOT NULL AND u.disabled_at IS NULL) OR a.id IS NOT NULL)`

// CreateAPIToken implements [store.APITokens].
func (db *DB) CreateAPIToken(ctx context.Context, t *store.APIToken) error {
	const op = "create api token"
	scopes, err := checkScopes(op, t.Scopes)
	switch {
	case err != nil:
		return err
	case len(t.Digest) == 0:
		return invalid(op, "empty digest")
	case strings.TrimSpace(t.Name) == "":
		return invalid(op, "empty name")
	case (t.UserID == "") == (t.ServiceAccountID == ""):
		return invalid(op, "want exactly one of user and service account")
	}
	id, created := t.ID, t.CreatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = nowUTC()
	}
	// In a savepoint when ctx carries a transaction, so that a conflict
	// leaves it usable.
	err = db.atomic(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sigra_api_tokens (id, digest, user_id, service_account_id, name, scopes, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, bytes.Clone(t.Digest), textArg(t.UserID), textArg(t.ServiceAccountID), t.Name, scopes, created, tsArg(t.ExpiresAt))
		return wrap(op, err)
	})
	if err != nil {
		return err
	}
	t.ID, t.CreatedAt, t.LastUsedAt, t.RevokedAt = id, created, time.Time{}, time.Time{}
	return nil
}

// APITokenByDigest implements [store.APITokens] with one statement.
func (db *DB) APITokenByDigest(ctx context.Context, digest []byte, now time.Time) (*store.APIToken, *store.User, *store.ServiceAccount, error) {
	r := new(struct {
		x  apiTokenScan
		u  store.User
		sa serviceAccountScan
	})
	dest := append(r.x.dest(), userDest(nil, &r.u)...)
	dest = append(dest, r.sa.dest()...)
	if err := db.q(ctx).QueryRow(ctx, apiTokenByDigestSQL, digest, now).Scan(dest...); err != nil {
		return nil, nil, nil, wrap("api token by digest", err)
	}
	t := r.x.finish()
	if t.UserID != "" {
		return t, &r.u, nil, nil
	}
	return t, nil, r.sa.finish(), nil
}

// UserAPITokens implements [store.APITokens].
func (db *DB) UserAPITokens(ctx context.Context, userID string, now time.Time) ([]*store.APIToken, error) {
	const op = "user api tokens"
	rows, err := db.q(ctx).Query(ctx, `SELECT `+apiTokenCols+` FROM sigra_api_tokens t
		WHERE t.user_id = $1 AND `+liveToken+` ORDER BY t.created_at DESC, t.id DESC`, userID, now)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []*store.APIToken
	for rows.Next() {
		x := new(apiTokenScan)
		if err := rows.Scan(x.dest()...); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, x.finish())
	}
	return out, wrap(op, rows.Err())
}

// RevokeAPIToken implements [store.APITokens].
func (db *DB) RevokeAPIToken(ctx context.Context, userID, id string, now time.Time) error {
	return db.execOne(ctx, "revoke api token", `UPDATE sigra_api_tokens SET revoked_at = $1
		WHERE user_id = $2 AND id = $3 AND revoked_at IS NULL`, now, userID, id)
}

// RevokeUserAPITokens implements [store.APITokens].
func (db *DB) RevokeUserAPITokens(ctx context.Context, userID string, now time.Time) (int, error) {
	ct, err := db.q(ctx).Exec(ctx, `UPDATE sigra_api_tokens SET revoked_at = $1
		WHERE user_id = $2 AND revoked_at IS NULL`, now, userID)
	if err != nil {
		return 0, wrap("revoke user api tokens", err)
	}
	return int(ct.RowsAffected()), nil
}

// TouchAPIToken implements [store.APITokens]: one conditional update.
func (db *DB) TouchAPIToken(ctx context.Context, id string, now time.Time, every time.Duration) (bool, error) {
	ct, err := db.q(ctx).Exec(ctx, `UPDATE sigra_api_tokens SET last_used_at = $1
		WHERE id = $2 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= $3)`, now, id, now.Add(-every))
	if err != nil {
		return false, wrap("touch api token", err)
	}
	return ct.RowsAffected() > 0, nil
}

// PurgeAPITokens implements [store.APITokens].
func (db *DB) PurgeAPITokens(ctx context.Context, before time.Time) (int, error) {
	ct, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_api_tokens WHERE expires_at < $1 OR revoked_at < $1`, before)
	if err != nil {
		return 0, wrap("purge api tokens", err)
	}
	return int(ct.RowsAffected()), nil
}

// CreateServiceAccount implements [store.ServiceAccounts].
func (db *DB) CreateServiceAccount(ctx context.Context, sa *store.ServiceAccount, secret *store.ServiceAccountSecret) error {
	const op = "create service account"
	scopes, err := checkScopes(op, sa.Scopes)
	switch {
	case err != nil:
		return err
	case strings.TrimSpace(sa.Name) == "":
		return invalid(op, "empty name")
	case secret == nil || len(secret.Digest) == 0:
		return invalid(op, "empty secret digest")
	}
	id, created, secretCreated := sa.ID, sa.CreatedAt, secret.CreatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = nowUTC()
	}
	if secretCreated.IsZero() {
		secretCreated = created
	}
	err = db.atomic(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sigra_service_accounts (id, org_id, name, scopes, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, textArg(sa.OrgID), sa.Name, scopes, textArg(sa.CreatedBy), created); err != nil {
			return wrap(op, err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO sigra_service_account_secrets (digest, service_account_id, created_at)
			VALUES ($1, $2, $3)`, bytes.Clone(secret.Digest), id, secretCreated)
		return wrap(op, err)
	})
	if err != nil {
		return err
	}
	sa.ID, sa.CreatedAt = id, created
	secret.CreatedAt, secret.ExpiresAt = secretCreated, time.Time{}
	return nil
}

// ServiceAccount implements [store.ServiceAccounts].
func (db *DB) ServiceAccount(ctx context.Context, orgID, id string) (*store.ServiceAccount, error) {
	x := new(serviceAccountScan)
	err := db.q(ctx).QueryRow(ctx, `SELECT `+serviceAccountCols+` FROM sigra_service_accounts a
		WHERE a.id = $1 AND a.org_id IS NOT DISTINCT FROM $2`, id, textArg(orgID)).Scan(x.dest()...)
	if err != nil {
		return nil, wrap("service account", err)
	}
	return x.finish(), nil
}

// ServiceAccounts implements [store.ServiceAccounts].
func (db *DB) ServiceAccounts(ctx context.Context, orgID string) ([]*store.ServiceAccount, error) {
	const op = "service accounts"
	rows, err := db.q(ctx).Query(ctx, `SELECT `+serviceAccountCols+` FROM sigra_service_accounts a
		WHERE a.org_id IS NOT DISTINCT FROM $1 ORDER BY a.created_at, a.id`, textArg(orgID))
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []*store.ServiceAccount
	for rows.Next() {
		x := new(serviceAccountScan)
		if err := rows.Scan(x.dest()...); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, x.finish())
	}
	return out, wrap(op, rows.Err())
}

// ServiceAccountSecrets implements [store.ServiceAccounts].
func (db *DB) ServiceAccountSecrets(ctx context.Context, orgID, id string, now time.Time) ([]*store.ServiceAccountSecret, error) {
	const op = "service account secrets"
	if _, err := db.ServiceAccount(ctx, orgID, id); err != nil {
		return nil, err
	}
	rows, err := db.q(ctx).Query(ctx, `SELECT digest, created_at, expires_at FROM sigra_service_account_secrets
		WHERE service_account_id = $1 AND (expires_at IS NULL OR expires_at > $2)
		ORDER BY created_at DESC, expires_at IS NULL DESC`, id, now)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []*store.ServiceAccountSecret
	for rows.Next() {
		s := new(store.ServiceAccountSecret)
		if err := rows.Scan(&s.Digest, ts(&s.CreatedAt), ts(&s.ExpiresAt)); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, s)
	}
	return out, wrap(op, rows.Err())
}

// RotateServiceAccountSecret implements [store.ServiceAccounts]. It locks
// the account's row first, so concurrent rotations run one after the
// other.
func (db *DB) RotateServiceAccountSecret(ctx context.Context, orgID, id string, secret *store.ServiceAccountSecret, overlapUntil time.Time) error {
	const op = "rotate service account secret"
	if secret == nil || len(secret.Digest) == 0 {
		return invalid(op, "empty secret digest")
	}
	created := secret.CreatedAt
	if created.IsZero() {
		created = nowUTC()
	}
	err := db.atomic(ctx, func(tx pgx.Tx) error {
		var found int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM sigra_service_accounts WHERE id = $1 AND org_id IS NOT DISTINCT FROM $2 FOR UPDATE`,
			id, textArg(orgID)).Scan(&found); err != nil {
			return wrap(op, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE sigra_service_account_secrets SET expires_at = $1
			WHERE service_account_id = $2 AND (expires_at IS NULL OR expires_at > $1)`, overlapUntil, id); err != nil {
			return wrap(op, err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO sigra_service_account_secrets (digest, service_account_id, created_at)
			VALUES ($1, $2, $3)`, bytes.Clone(secret.Digest), id, created)
		return wrap(op, err)
	})
	if err != nil {
		return err
	}
	secret.CreatedAt, secret.ExpiresAt = created, time.Time{}
	return nil
}

// ServiceAccountBySecret implements [store.ServiceAccounts].
func (db *DB) ServiceAccountBySecret(ctx context.Context, id string, digest []byte, now time.Time) (*store.ServiceAccount, error) {
	x := new(serviceAccountScan)
	err := db.q(ctx).QueryRow(ctx, `SELECT `+serviceAccountCols+` FROM sigra_service_account_secrets s
		JOIN sigra_service_accounts a ON a.id = s.service_account_id
		WHERE s.digest = $1 AND a.id = $2 AND (s.expires_at IS NULL OR s.expires_at > $3)`,
		digest, id, now).Scan(x.dest()...)
	if err != nil {
		return nil, wrap("service account by secret", err)
	}
	return x.finish(), nil
}

// DeleteServiceAccount implements [store.ServiceAccounts]; foreign keys
// remove its secrets and tokens.
func (db *DB) DeleteServiceAccount(ctx context.Context, orgID, id string) error {
	return db.execOne(ctx, "delete service account", `DELETE FROM sigra_service_accounts
		WHERE id = $1 AND org_id IS NOT DISTINCT FROM $2`, id, textArg(orgID))
}
