package postgres

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/store"
)

var (
	_ store.Admins        = (*DB)(nil)
	_ store.UserDirectory = (*DB)(nil)
	_ store.AuditExplorer = (*DB)(nil)
)

// ErrBadUserCursor: UserQuery.After is not a cursor this adapter returned.
// It wraps store.ErrNotFound.
var ErrBadUserCursor = fmt.Errorf("sigra/postgres: malformed users cursor: %w", store.ErrNotFound)

// maxUsersPage is the default and largest page of ListUsers.
const maxUsersPage = 100

// GrantAdmin implements [store.Admins] in one statement; when it inserts
// nothing, a second read tells a missing user from an administrator.
func (db *DB) GrantAdmin(ctx context.Context, userID, grantedBy string, now time.Time) error {
	const op = "grant admin"
	var got string
	err := db.q(ctx).QueryRow(ctx, `INSERT INTO sigra_admins (user_id, granted_by, granted_at)
		SELECT id, (SELECT g.id FROM sigra_users g WHERE g.id = $2), $3 FROM sigra_users WHERE id = $1
		ON CONFLICT (user_id) DO NOTHING RETURNING user_id`, userID, grantedBy, now).Scan(&got)
	if err == nil {
		return nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return wrap(op, err)
	}
	var exists bool
	if err := db.q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sigra_users WHERE id = $1)`, userID).Scan(&exists); err != nil {
		return wrap(op, err)
	}
	if !exists {
		return notFound(op)
	}
	return conflict(op)
}

// RevokeAdmin implements [store.Admins].
//
// It locks every administrator's row (FOR UPDATE) before it counts them,
// so concurrent revocations take turns and the last one left is refused.
func (db *DB) RevokeAdmin(ctx context.Context, userID string) error {
	const op = "revoke admin"
	return db.atomic(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT user_id FROM sigra_admins ORDER BY user_id FOR UPDATE`)
		if err != nil {
			return wrap(op, err)
		}
		var admins []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return wrap(op, err)
			}
			admins = append(admins, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrap(op, err)
		}
		if !slices.Contains(admins, userID) {
			return notFound(op)
		}
		if len(admins) < 2 {
			return fmt.Errorf("sigra/postgres: %s: %w", op, store.ErrLastAdmin)
		}
		_, err = tx.Exec(ctx, `DELETE FROM sigra_admins WHERE user_id = $1`, userID)
		return wrap(op, err)
	})
}

// IsAdmin implements [store.Admins].
func (db *DB) IsAdmin(ctx context.Context, userID string) (bool, error) {
	var ok bool
	err := db.q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sigra_admins WHERE user_id = $1)`, userID).Scan(&ok)
	return ok, wrap("is admin", err)
}

// HoldAdmin implements [store.Admins]: it locks the user's row (FOR
// UPDATE, which the foreign-key check of a GrantAdmin's insert waits
// for), then reads the role in a statement of its own, whose snapshot
// sees a grant that committed while it waited.
func (db *DB) HoldAdmin(ctx context.Context, userID string) (bool, error) {
	const op = "hold admin"
	var one int
	if err := db.q(ctx).QueryRow(ctx, `SELECT 1 FROM sigra_users WHERE id = $1 FOR UPDATE`, userID).Scan(&one); err != nil {
		return false, wrap(op, err)
	}
	var ok bool
	err := db.q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sigra_admins WHERE user_id = $1)`, userID).Scan(&ok)
	return ok, wrap(op, err)
}

// ListAdmins implements [store.Admins].
func (db *DB) ListAdmins(ctx context.Context) ([]*store.Admin, error) {
	rows, err := db.q(ctx).Query(ctx, `SELECT a.user_id, u.email, coalesce(a.granted_by, ''), a.granted_at
		FROM sigra_admins a JOIN sigra_users u ON u.id = a.user_id ORDER BY a.granted_at, a.user_id`)
	if err != nil {
		return nil, wrap("list admins", err)
	}
	defer rows.Close()
	var out []*store.Admin
	for rows.Next() {
		a := new(store.Admin)
		if err := rows.Scan(&a.UserID, &a.Email, &a.GrantedBy, ts(&a.GrantedAt)); err != nil {
			return nil, wrap("list admins", err)
		}
		out = append(out, a)
	}
	return out, wrap("list admins", rows.Err())
}

// userStateSQL are the conditions of the user states. Each repeats the
// predicate of its partial index (migration 0013) literally; $now is
// replaced by the query's placeholder of Now.
var userStateSQL = map[store.UserState]string{
	store.UserUnconfirmed:     `u.email_confirmed_at IS NULL`,
	store.UserDisabled:        `u.disabled_at IS NOT NULL`,
	store.UserDeletionPending: `u.deletion_due_at IS NOT NULL`,
	store.UserLocked: `(u.locked_until IS NOT NULL OR u.mfa_locked_until IS NOT NULL)
		AND (u.locked_until > $now OR u.mfa_locked_until > $now)`,
}

// ListUsers implements [store.UserDirectory]. Users are ordered by their
// address key in byte order (COLLATE "C"), so that a prefix is one range
// of the index sigra_users_list_idx whatever the database's collation.
func (db *DB) ListUsers(ctx context.Context, q store.UserQuery) ([]*store.UserRow, string, error) {
	const op = "list users"
	limit := q.Limit
	if limit <= 0 || limit > maxUsersPage {
		limit = maxUsersPage
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.State != store.UserAny {
		cond, ok := userStateSQL[q.State]
		if !ok {
			return nil, "", invalid(op, "unknown state %q", q.State)
		}
		if q.State == store.UserLocked {
			cond = strings.ReplaceAll(cond, "$now", arg(q.Now)+"::timestamptz")
		}
		where = append(where, cond)
	}
	const key = `u.email_norm COLLATE "C"`
	if q.EmailPrefix != "" {
		p := store.NormalizeEmail(q.EmailPrefix)
		where = append(where, key+` >= `+arg(p)+`::text AND `+key+` < `+arg(p+"\U0010FFFF")+`::text`)
	}
	if q.After != "" {
		k, err := decodeUserCursor(q.After)
		if err != nil {
			return nil, "", err
		}
		where = append(where, key+` > `+arg(k)+`::text`)
	}
	if q.TwoFactor {
		where = append(where, `EXISTS (SELECT 1 FROM sigra_totp_secrets t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)`)
	}
	if q.Passkeys {
		where = append(where, `EXISTS (SELECT 1 FROM sigra_passkeys p WHERE p.user_id = u.id)`)
	}
	if q.OrgID != "" {
		where = append(where, `EXISTS (SELECT 1 FROM sigra_org_members m WHERE m.org_id = `+arg(q.OrgID)+` AND m.user_id = u.id)`)
	}
	// Only placeholders are concatenated into the statement, never input.
	var sb strings.Builder
	sb.WriteString(`SELECT ` + prefixed("u.", userCols) + `, u.email_norm,
			EXISTS (SELECT 1 FROM sigra_admins a WHERE a.user_id = u.id),
			EXISTS (SELECT 1 FROM sigra_totp_secrets t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL),
			EXISTS (SELECT 1 FROM sigra_passkeys p WHERE p.user_id = u.id)
		FROM sigra_users u`)
	if len(where) > 0 {
		sb.WriteString(" WHERE ")
		sb.WriteString(strings.Join(where, " AND "))
	}
	sb.WriteString(" ORDER BY " + key + " LIMIT " + arg(limit+1))
	rows, err := db.q(ctx).Query(ctx, sb.String(), args...)
	if err != nil {
		return nil, "", wrap(op, err)
	}
	defer rows.Close()
	var out []*store.UserRow
	var keys []string
	for rows.Next() {
		r := new(store.UserRow)
		var k string
		dest := append(userDest(nil, &r.User), &k, &r.Admin, &r.TwoFactor, &r.Passkeys)
		if err := rows.Scan(dest...); err != nil {
			return nil, "", wrap(op, err)
		}
		out = append(out, r)
		keys = append(keys, k)
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

// decodeUserCursor reverses encodeUserCursor; anything else is
// ErrBadUserCursor.
func decodeUserCursor(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, "u")
	if !ok || len(s) > 1024 {
		return "", ErrBadUserCursor
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	// The encoding must be this cursor's own (the decoder skips line
	// breaks and would take other spellings of the same bytes).
	if err != nil || len(b) == 0 || strings.ContainsRune(string(b), 0) || encodeUserCursor(string(b)) != s {
		return "", ErrBadUserCursor
	}
	return string(b), nil
}

// SearchAudit implements [store.AuditExplorer]. Its cursors are those of
// QueryAudit; only the filters in use appear in the statement.
func (db *DB) SearchAudit(ctx context.Context, q store.AuditSearch) ([]*store.AuditEvent, string, error) {
	return db.searchAudit(ctx, "search audit", q)
}

// AuditEventByID implements [store.AuditExplorer].
func (db *DB) AuditEventByID(ctx context.Context, id string) (*store.AuditEvent, error) {
	rows, err := db.q(ctx).Query(ctx, `SELECT `+auditColumns+` FROM sigra_audit_log WHERE id = $1`, id)
	events, err := collectAudit("audit event", rows, err)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, notFound("audit event")
	}
	return events[0], nil
}
