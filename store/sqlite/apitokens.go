package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"time"

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

const apiTokenCols = `t.id, t.digest, t.user_id, t.service_account_id, t.name, t.scopes, t.created_at, t.expires_at, t.last_used_at, t.revoked_at`

// apiTokenScan receives one token row.
type apiTokenScan struct {
	t      store.APIToken
	scopes string
}

func (x *apiTokenScan) dest() []any {
	t := &x.t
	return []any{&t.ID, &t.Digest, strDest{&t.UserID}, strDest{&t.ServiceAccountID}, &t.Name, &x.scopes,
		timeDest{&t.CreatedAt}, timeDest{&t.ExpiresAt}, timeDest{&t.LastUsedAt}, timeDest{&t.RevokedAt}}
}

func (x *apiTokenScan) finish() *store.APIToken {
	x.t.Scopes = splitScopes(x.scopes)
	return &x.t
}

const serviceAccountCols = `a.id, a.org_id, a.name, a.scopes, a.created_by, a.created_at`

// serviceAccountScan receives one service account row, or the NULLs of a
// LEFT JOIN that found none.
type serviceAccountScan struct {
	a      store.ServiceAccount
	scopes string
}

func (x *serviceAccountScan) dest() []any {
	a := &x.a
	return []any{strDest{&a.ID}, strDest{&a.OrgID}, strDest{&a.Name}, strDest{&x.scopes}, strDest{&a.CreatedBy}, timeDest{&a.CreatedAt}}
}

func (x *serviceAccountScan) finish() *store.ServiceAccount {
	x.a.Scopes = splitScopes(x.scopes)
	return &x.a
}

// liveToken is the condition of a live token at ?2 whose owner can use it.
const liveToken = `t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2)`

// qAPITokenByDigest reads a live token and its owner in one statement:
// ?1 the digest, ?2 now. Outside a transaction it runs prepared (see
// hotStmts).
const qAPITokenByDigest = `SELECT ` + apiTokenCols + `,
	u.id, u.email, u.password_hash, u.email_confirmed_at, u.failed_logins, u.locked_until,
	u.failed_mfa, u.mfa_locked_until, u.disabled_at, u.deletion_due_at, u.created_at, u.updated_at,
	` + serviceAccountCols + `
	FROM sigra_api_tokens t
	LEFT JOIN sigra_users u ON u.id = t.user_id
	LEFT JOIN sigra_service_accounts a ON a.id = t.service_account_id
	WHERE t.digest = ?1 AND ` + liveToken + `
		AND ((u.id IS NOT NULL AND u.disabled_at IS NULL) OR a.id IS NOT NULL)`

// apiTokenStmt returns qAPITokenByDigest prepared on the reader pool,
// preparing it on first use.
func (db *DB) apiTokenStmt(ctx context.Context) (*sql.Stmt, error) {
	if s := db.apiToken.Load(); s != nil {
		return s, nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if s := db.apiToken.Load(); s != nil {
		return s, nil
	}
	s, err := db.reader.PrepareContext(ctx, qAPITokenByDigest)
	if err != nil {
		return nil, wrap("prepare APITokenByDigest", err)
	}
	db.apiToken.Store(s)
	return s, nil
}

// CreateAPIToken inserts t; see [store.APITokens].
func (db *DB) CreateAPIToken(ctx context.Context, t *store.APIToken) error {
	const name = "CreateAPIToken"
	scopes, err := checkScopes(name, t.Scopes)
	switch {
	case err != nil:
		return err
	case len(t.Digest) == 0:
		return invalid(name, "empty digest")
	case strings.TrimSpace(t.Name) == "":
		return invalid(name, "empty name")
	case (t.UserID == "") == (t.ServiceAccountID == ""):
		return invalid(name, "want exactly one of user and service account")
	}
	id, created := t.ID, t.CreatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = clock()
	}
	if _, err := db.exec(ctx, `INSERT INTO sigra_api_tokens (id, digest, user_id, service_account_id, name, scopes, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id, bytes.Clone(t.Digest), nullStr(t.UserID), nullStr(t.ServiceAccountID), t.Name, scopes, ms(created), ms(t.ExpiresAt)); err != nil {
		return wrap(name, err)
	}
	t.ID, t.CreatedAt, t.LastUsedAt, t.RevokedAt = id, created, time.Time{}, time.Time{}
	return nil
}

// APITokenByDigest returns the live token with digest and its owner from
// one query; see [store.APITokens].
func (db *DB) APITokenByDigest(ctx context.Context, digest []byte, now time.Time) (*store.APIToken, *store.User, *store.ServiceAccount, error) {
	var (
		x  apiTokenScan
		u  store.User
		sa serviceAccountScan
	)
	dest := append(x.dest(), userDest(&u)...)
	dest = append(dest, sa.dest()...)
	var row *sql.Row
	if tx := db.tx(ctx); tx != nil {
		row = tx.QueryRowContext(ctx, qAPITokenByDigest, digest, ms(now))
	} else {
		stmt, err := db.apiTokenStmt(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		row = stmt.QueryRowContext(ctx, digest, ms(now))
	}
	err := row.Scan(dest...)
	if err != nil {
		return nil, nil, nil, wrap("APITokenByDigest", err)
	}
	t := x.finish()
	if t.UserID != "" {
		return t, &u, nil, nil
	}
	return t, nil, sa.finish(), nil
}

// UserAPITokens returns the user's live personal tokens, newest first;
// see [store.APITokens].
func (db *DB) UserAPITokens(ctx context.Context, userID string, now time.Time) ([]*store.APIToken, error) {
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+apiTokenCols+` FROM sigra_api_tokens t
		WHERE t.user_id = ?1 AND `+liveToken+` ORDER BY t.created_at DESC, t.id DESC`, userID, ms(now))
	if err != nil {
		return nil, wrap("UserAPITokens", err)
	}
	defer rows.Close()
	var ts []*store.APIToken
	for rows.Next() {
		x := new(apiTokenScan)
		if err := rows.Scan(x.dest()...); err != nil {
			return nil, wrap("UserAPITokens", err)
		}
		ts = append(ts, x.finish())
	}
	return ts, wrap("UserAPITokens", rows.Err())
}

// RevokeAPIToken revokes the user's token with id; see [store.APITokens].
func (db *DB) RevokeAPIToken(ctx context.Context, userID, id string, now time.Time) error {
	return op("RevokeAPIToken").one(db.exec(ctx, `UPDATE sigra_api_tokens SET revoked_at = ?
		WHERE user_id = ? AND id = ? AND revoked_at IS NULL`, ms(now), userID, id))
}

// RevokeUserAPITokens revokes all the user's tokens; see [store.APITokens].
func (db *DB) RevokeUserAPITokens(ctx context.Context, userID string, now time.Time) (int, error) {
	return op("RevokeUserAPITokens").count(db.exec(ctx, `UPDATE sigra_api_tokens SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL`, ms(now), userID))
}

// TouchAPIToken writes the token's last use at most once per every; see
// [store.APITokens].
func (db *DB) TouchAPIToken(ctx context.Context, id string, now time.Time, every time.Duration) (bool, error) {
	n, err := op("TouchAPIToken").count(db.exec(ctx, `UPDATE sigra_api_tokens SET last_used_at = ?1
		WHERE id = ?2 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= ?3)`,
		ms(now), id, now.Add(-every).UnixMilli()))
	return n > 0, err
}

// PurgeAPITokens deletes tokens expired or revoked before before; see
// [store.APITokens].
func (db *DB) PurgeAPITokens(ctx context.Context, before time.Time) (int, error) {
	return op("PurgeAPITokens").count(db.exec(ctx, `DELETE FROM sigra_api_tokens
		WHERE expires_at < ?1 OR revoked_at < ?1`, ms(before)))
}

// CreateServiceAccount inserts sa and its first secret; see
// [store.ServiceAccounts].
func (db *DB) CreateServiceAccount(ctx context.Context, sa *store.ServiceAccount, secret *store.ServiceAccountSecret) error {
	const name = "CreateServiceAccount"
	scopes, err := checkScopes(name, sa.Scopes)
	switch {
	case err != nil:
		return err
	case strings.TrimSpace(sa.Name) == "":
		return invalid(name, "empty name")
	case secret == nil || len(secret.Digest) == 0:
		return invalid(name, "empty secret digest")
	}
	id, created, secretCreated := sa.ID, sa.CreatedAt, secret.CreatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = clock()
	}
	if secretCreated.IsZero() {
		secretCreated = created
	}
	err = db.atomic(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO sigra_service_accounts (id, org_id, name, scopes, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, id, nullStr(sa.OrgID), sa.Name, scopes, nullStr(sa.CreatedBy), ms(created)); err != nil {
			return wrap(name, err)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO sigra_service_account_secrets (digest, service_account_id, created_at, expires_at)
			VALUES (?, ?, ?, NULL)`, bytes.Clone(secret.Digest), id, ms(secretCreated))
		return wrap(name, err)
	})
	if err != nil {
		return err
	}
	sa.ID, sa.CreatedAt = id, created
	secret.CreatedAt, secret.ExpiresAt = secretCreated, time.Time{}
	return nil
}

// ServiceAccount returns the account with id owned by orgID; see
// [store.ServiceAccounts].
func (db *DB) ServiceAccount(ctx context.Context, orgID, id string) (*store.ServiceAccount, error) {
	x := new(serviceAccountScan)
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+serviceAccountCols+` FROM sigra_service_accounts a
		WHERE a.id = ? AND a.org_id IS ?`, id, nullStr(orgID)).Scan(x.dest()...)
	if err != nil {
		return nil, wrap("ServiceAccount", err)
	}
	return x.finish(), nil
}

// ServiceAccounts returns the accounts owned by orgID; see
// [store.ServiceAccounts].
func (db *DB) ServiceAccounts(ctx context.Context, orgID string) ([]*store.ServiceAccount, error) {
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+serviceAccountCols+` FROM sigra_service_accounts a
		WHERE a.org_id IS ? ORDER BY a.created_at, a.id`, nullStr(orgID))
	if err != nil {
		return nil, wrap("ServiceAccounts", err)
	}
	defer rows.Close()
	var as []*store.ServiceAccount
	for rows.Next() {
		x := new(serviceAccountScan)
		if err := rows.Scan(x.dest()...); err != nil {
			return nil, wrap("ServiceAccounts", err)
		}
		as = append(as, x.finish())
	}
	return as, wrap("ServiceAccounts", rows.Err())
}

// ServiceAccountSecrets returns the account's working secrets; see
// [store.ServiceAccounts].
func (db *DB) ServiceAccountSecrets(ctx context.Context, orgID, id string, now time.Time) ([]*store.ServiceAccountSecret, error) {
	const name = "ServiceAccountSecrets"
	if _, err := db.ServiceAccount(ctx, orgID, id); err != nil {
		return nil, err
	}
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT digest, created_at, expires_at FROM sigra_service_account_secrets
		WHERE service_account_id = ? AND (expires_at IS NULL OR expires_at > ?)
		ORDER BY created_at DESC, expires_at IS NULL DESC`, id, ms(now))
	if err != nil {
		return nil, wrap(name, err)
	}
	defer rows.Close()
	var ss []*store.ServiceAccountSecret
	for rows.Next() {
		s := new(store.ServiceAccountSecret)
		if err := rows.Scan(&s.Digest, timeDest{&s.CreatedAt}, timeDest{&s.ExpiresAt}); err != nil {
			return nil, wrap(name, err)
		}
		ss = append(ss, s)
	}
	return ss, wrap(name, rows.Err())
}

// RotateServiceAccountSecret makes secret the account's current secret and
// ends the earlier ones at overlapUntil; see [store.ServiceAccounts].
func (db *DB) RotateServiceAccountSecret(ctx context.Context, orgID, id string, secret *store.ServiceAccountSecret, overlapUntil time.Time) error {
	const name = "RotateServiceAccountSecret"
	if secret == nil || len(secret.Digest) == 0 {
		return invalid(name, "empty secret digest")
	}
	created := secret.CreatedAt
	if created.IsZero() {
		created = clock()
	}
	err := db.atomic(ctx, func(q querier) error {
		var found int
		if err := q.QueryRowContext(ctx, `SELECT 1 FROM sigra_service_accounts WHERE id = ? AND org_id IS ?`,
			id, nullStr(orgID)).Scan(&found); err != nil {
			return wrap(name, err)
		}
		if _, err := q.ExecContext(ctx, `UPDATE sigra_service_account_secrets SET expires_at = ?1
			WHERE service_account_id = ?2 AND (expires_at IS NULL OR expires_at > ?1)`, ms(overlapUntil), id); err != nil {
			return wrap(name, err)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO sigra_service_account_secrets (digest, service_account_id, created_at, expires_at)
			VALUES (?, ?, ?, NULL)`, bytes.Clone(secret.Digest), id, ms(created))
		return wrap(name, err)
	})
	if err != nil {
		return err
	}
	secret.CreatedAt, secret.ExpiresAt = created, time.Time{}
	return nil
}

// ServiceAccountBySecret returns the account whose working secret has
// digest; see [store.ServiceAccounts].
func (db *DB) ServiceAccountBySecret(ctx context.Context, id string, digest []byte, now time.Time) (*store.ServiceAccount, error) {
	x := new(serviceAccountScan)
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+serviceAccountCols+` FROM sigra_service_account_secrets s
		JOIN sigra_service_accounts a ON a.id = s.service_account_id
		WHERE s.digest = ? AND a.id = ? AND (s.expires_at IS NULL OR s.expires_at > ?)`,
		digest, id, ms(now)).Scan(x.dest()...)
	if err != nil {
		return nil, wrap("ServiceAccountBySecret", err)
	}
	return x.finish(), nil
}

// DeleteServiceAccount removes the account owned by orgID; foreign keys
// remove its secrets and tokens. See [store.ServiceAccounts].
func (db *DB) DeleteServiceAccount(ctx context.Context, orgID, id string) error {
	return op("DeleteServiceAccount").one(db.exec(ctx, `DELETE FROM sigra_service_accounts WHERE id = ? AND org_id IS ?`,
		id, nullStr(orgID)))
}
