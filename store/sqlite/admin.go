package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sigra-go/sigra/store"
)

var (
	_ store.Admins        = (*DB)(nil)
	_ store.UserDirectory = (*DB)(nil)
	_ store.AuditExplorer = (*DB)(nil)
)

// maxUsersPage is the default and largest page of ListUsers.
const maxUsersPage = 100

// GrantAdmin makes the user an administrator; see [store.Admins]. The
// check that the user exists and the insert run in one atomic step.
func (db *DB) GrantAdmin(ctx context.Context, userID, grantedBy string, now time.Time) error {
	const op = "GrantAdmin"
	return db.atomic(ctx, func(q querier) error {
		var exists, admin bool
		err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sigra_users WHERE id = ?1),
			EXISTS (SELECT 1 FROM sigra_admins WHERE user_id = ?1)`, userID).Scan(boolDest{&exists}, boolDest{&admin})
		switch {
		case err != nil:
			return wrap(op, err)
		case !exists:
			return notFound(op)
		case admin:
			return fmt.Errorf("sigra/sqlite: %s: already an administrator: %w", op, store.ErrConflict)
		}
		// A grantor that does not exist (an operator, a deleted account)
		// is stored as NULL.
		_, err = q.ExecContext(ctx, `INSERT INTO sigra_admins (user_id, granted_by, granted_at)
			VALUES (?1, (SELECT id FROM sigra_users WHERE id = ?2), ?3)`, userID, grantedBy, ms(now))
		return wrap(op, err)
	})
}

// RevokeAdmin removes the user's administrator role; see [store.Admins].
func (db *DB) RevokeAdmin(ctx context.Context, userID string) error {
	// One statement on the single writer: the count and the deletion
	// cannot be separated by another revocation.
	err := op("RevokeAdmin").one(db.exec(ctx,
		`DELETE FROM sigra_admins WHERE user_id = ?1 AND (SELECT count(*) FROM sigra_admins) > 1`, userID))
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if ok, ierr := db.IsAdmin(ctx, userID); ierr == nil && ok {
		return fmt.Errorf("sigra/sqlite: RevokeAdmin: %w", store.ErrLastAdmin)
	}
	return err
}

// IsAdmin reports whether the user is an administrator; see [store.Admins].
func (db *DB) IsAdmin(ctx context.Context, userID string) (bool, error) {
	var ok bool
	err := db.r(ctx).QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sigra_admins WHERE user_id = ?)`, userID).Scan(boolDest{&ok})
	return ok, wrap("IsAdmin", err)
}

// HoldAdmin reports whether the user is an administrator; see
// [store.Admins]. In a transaction the single writer holds the answer:
// every transaction takes the writer when it begins, so a GrantAdmin
// waits for it.
func (db *DB) HoldAdmin(ctx context.Context, userID string) (bool, error) {
	var exists, ok bool
	err := db.r(ctx).QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sigra_users WHERE id = ?1),
		EXISTS (SELECT 1 FROM sigra_admins WHERE user_id = ?1)`, userID).Scan(boolDest{&exists}, boolDest{&ok})
	if err != nil {
		return false, wrap("HoldAdmin", err)
	}
	if !exists {
		return false, notFound("HoldAdmin")
	}
	return ok, nil
}

// ListAdmins returns every administrator; see [store.Admins].
func (db *DB) ListAdmins(ctx context.Context) ([]*store.Admin, error) {
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT a.user_id, u.email, a.granted_by, a.granted_at
		FROM sigra_admins a JOIN sigra_users u ON u.id = a.user_id ORDER BY a.granted_at, a.user_id`)
	if err != nil {
		return nil, wrap("ListAdmins", err)
	}
	defer rows.Close()
	var out []*store.Admin
	for rows.Next() {
		a := new(store.Admin)
		if err := rows.Scan(&a.UserID, &a.Email, strDest{&a.GrantedBy}, timeDest{&a.GrantedAt}); err != nil {
			return nil, wrap("ListAdmins", err)
		}
		out = append(out, a)
	}
	return out, wrap("ListAdmins", rows.Err())
}

// userStateSQL are the conditions of the user states. Each repeats the
// predicate of its partial index (migration 0013) literally.
var userStateSQL = map[store.UserState]string{
	store.UserUnconfirmed:     `u.email_confirmed_at IS NULL`,
	store.UserDisabled:        `u.disabled_at IS NOT NULL`,
	store.UserDeletionPending: `u.deletion_due_at IS NOT NULL`,
	store.UserLocked: `(u.locked_until IS NOT NULL OR u.mfa_locked_until IS NOT NULL)
		AND (u.locked_until > :now OR u.mfa_locked_until > :now)`,
}

// ListUsers returns one page of the users q selects, in the order of
// their address key; see [store.UserDirectory]. The cursor is the last
// key of the page, encoded.
func (db *DB) ListUsers(ctx context.Context, q store.UserQuery) ([]*store.UserRow, string, error) {
	const op = "ListUsers"
	limit := q.Limit
	if limit <= 0 || limit > maxUsersPage {
		limit = maxUsersPage
	}
	where := []string{"1"}
	args := []any{}
	named := func(name string, v any) string {
		args = append(args, sql.Named(name, v))
		return ":" + name
	}
	if q.State != store.UserAny {
		cond, ok := userStateSQL[q.State]
		if !ok {
			return nil, "", invalid(op, "unknown state %q", q.State)
		}
		if q.State == store.UserLocked {
			named("now", ms(q.Now))
		}
		where = append(where, cond)
	}
	if q.EmailPrefix != "" {
		p := store.NormalizeEmail(q.EmailPrefix)
		where = append(where, `u.email_norm >= `+named("lo", p)+` AND u.email_norm < `+named("hi", p+"\U0010FFFF"))
	}
	if q.After != "" {
		key, err := decodeUserCursor(q.After)
		if err != nil {
			return nil, "", fmt.Errorf("sigra/sqlite: %s: %w", op, err)
		}
		where = append(where, `u.email_norm > `+named("after", key))
	}
	if q.TwoFactor {
		where = append(where, `EXISTS (SELECT 1 FROM sigra_totp_secrets t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)`)
	}
	if q.Passkeys {
		where = append(where, `EXISTS (SELECT 1 FROM sigra_passkeys p WHERE p.user_id = u.id)`)
	}
	if q.OrgID != "" {
		where = append(where, `EXISTS (SELECT 1 FROM sigra_org_members m WHERE m.org_id = `+named("org", q.OrgID)+` AND m.user_id = u.id)`)
	}
	// Only named parameters are concatenated into the statement, never
	// input.
	query := `SELECT ` + prefixed("u.", userCols) + `, u.email_norm,
			EXISTS (SELECT 1 FROM sigra_admins a WHERE a.user_id = u.id),
			EXISTS (SELECT 1 FROM sigra_totp_secrets t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL),
			EXISTS (SELECT 1 FROM sigra_passkeys p WHERE p.user_id = u.id)
		FROM sigra_users u WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY u.email_norm LIMIT ` + named("limit", limit+1)
	rows, err := db.r(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", wrap(op, err)
	}
	defer rows.Close()
	var out []*store.UserRow
	var keys []string
	for rows.Next() {
		r := new(store.UserRow)
		var key string
		dest := append(userDest(&r.User), &key, boolDest{&r.Admin}, boolDest{&r.TwoFactor}, boolDest{&r.Passkeys})
		if err := rows.Scan(dest...); err != nil {
			return nil, "", wrap(op, err)
		}
		out = append(out, r)
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap(op, err)
	}
	if len(out) <= limit {
		return out, "", nil
	}
	return out[:limit], encodeUserCursor(keys[limit-1]), nil
}

// prefixed qualifies each of a comma-separated list of columns.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// encodeUserCursor encodes the position after the user with key as an
// opaque, URL-safe string.
func encodeUserCursor(key string) string {
	return "u" + base64.RawURLEncoding.EncodeToString([]byte(key))
}

// decodeUserCursor reverses encodeUserCursor. Cursors come back from
// clients: anything encodeUserCursor cannot have produced is an error
// wrapping store.ErrNotFound.
func decodeUserCursor(s string) (string, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(s, "u"))
	// The encoding must be this cursor's own (the decoder skips line
	// breaks and would take other spellings of the same bytes).
	if err != nil || !strings.HasPrefix(s, "u") || len(b) == 0 || encodeUserCursor(string(b)) != s {
		return "", fmt.Errorf("invalid cursor: %w", store.ErrNotFound)
	}
	return string(b), nil
}

// SearchAudit returns one page of the events q selects, newest first;
// see [store.AuditExplorer]. Its cursors are those of QueryAudit.
func (db *DB) SearchAudit(ctx context.Context, q store.AuditSearch) ([]*store.AuditEvent, string, error) {
	return db.searchAudit(ctx, "SearchAudit", q)
}

// AuditEventByID returns one event with its seal; see
// [store.AuditExplorer].
func (db *DB) AuditEventByID(ctx context.Context, id string) (*store.AuditEvent, error) {
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+auditColumns+` FROM sigra_audit_log WHERE id = ?`, id)
	events, err := scanAudit("AuditEventByID", rows, err)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, notFound("AuditEventByID")
	}
	return events[0], nil
}
