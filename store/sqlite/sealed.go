package sqlite

import (
	"context"

	"github.com/sigra-go/sigra/store"
)

var _ store.SealedSecrets = (*DB)(nil)

// sealedSQL returns the statements of a kind of sealed secret: the
// listing (after, limit) and the compare-and-swap update (new, row, old).
// The column names are constants of this file, never input.
func sealedSQL(kind store.SealedKind) (list, replace string, ok bool) {
	switch kind {
	case store.SealedTOTP:
		return `SELECT user_id, user_id, '', '', sealed FROM sigra_totp_secrets
				WHERE user_id > ? ORDER BY user_id LIMIT ?`,
			`UPDATE sigra_totp_secrets SET sealed = ? WHERE user_id = ? AND sealed = ?`, true
	case store.SealedOAuthAccess, store.SealedOAuthRefresh:
		col := "access_token"
		if kind == store.SealedOAuthRefresh {
			col = "refresh_token"
		}
		return `SELECT id, user_id, provider, subject, ` + col + ` FROM sigra_identities
				WHERE id > ? AND ` + col + ` IS NOT NULL ORDER BY id LIMIT ?`,
			`UPDATE sigra_identities SET ` + col + ` = ? WHERE id = ? AND ` + col + ` = ?`, true
	}
	return "", "", false
}

// SealedAfter lists stored sealed secrets of kind; see
// [store.SealedSecrets].
func (db *DB) SealedAfter(ctx context.Context, kind store.SealedKind, after string, limit int) ([]store.SealedValue, error) {
	const op = "SealedAfter"
	list, _, ok := sealedSQL(kind)
	if !ok {
		return nil, invalid(op, "unknown kind %q", kind)
	}
	if limit <= 0 {
		return nil, invalid(op, "limit %d", limit)
	}
	rows, err := db.r(ctx).QueryContext(ctx, list, after, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []store.SealedValue
	for rows.Next() {
		var v store.SealedValue
		if err := rows.Scan(&v.Row, &v.UserID, &v.Provider, &v.Subject, &v.Sealed); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, v)
	}
	return out, wrap(op, rows.Err())
}

// ReplaceSealed replaces one sealed secret if it is unchanged; see
// [store.SealedSecrets].
func (db *DB) ReplaceSealed(ctx context.Context, kind store.SealedKind, row string, old, sealed []byte) (bool, error) {
	const op = "ReplaceSealed"
	_, replace, ok := sealedSQL(kind)
	if !ok {
		return false, invalid(op, "unknown kind %q", kind)
	}
	if len(sealed) == 0 {
		return false, invalid(op, "empty sealed value")
	}
	res, err := db.exec(ctx, replace, sealed, row, old)
	if err != nil {
		return false, wrap(op, err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap(op, err)
}
