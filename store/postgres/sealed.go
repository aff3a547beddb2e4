package postgres

import (
	"context"

	"github.com/sigra-go/sigra/store"
)

var _ store.SealedSecrets = (*DB)(nil)

// sealedSQL returns the statements of a kind of sealed secret: the
// listing ($1 after, $2 limit) and the compare-and-swap update ($1 new,
// $2 row, $3 old). The column names are constants of this file, never
// input.
func sealedSQL(kind store.SealedKind) (list, replace string, ok bool) {
	switch kind {
	case store.SealedTOTP:
		return `SELECT user_id, user_id, '', '', sealed FROM sigra_totp_secrets
				WHERE user_id > $1 ORDER BY user_id LIMIT $2`,
			`UPDATE sigra_totp_secrets SET sealed = $1 WHERE user_id = $2 AND sealed = $3`, true
	case store.SealedOAuthAccess, store.SealedOAuthRefresh:
		col := "access_token"
		if kind == store.SealedOAuthRefresh {
			col = "refresh_token"
		}
		return `SELECT id, user_id, provider, subject, ` + col + ` FROM sigra_identities
				WHERE id > $1 AND ` + col + ` IS NOT NULL ORDER BY id LIMIT $2`,
			`UPDATE sigra_identities SET ` + col + ` = $1 WHERE id = $2 AND ` + col + ` = $3`, true
	}
	return "", "", false
}

// SealedAfter implements [store.SealedSecrets].
func (db *DB) SealedAfter(ctx context.Context, kind store.SealedKind, after string, limit int) ([]store.SealedValue, error) {
	const op = "sealed after"
	list, _, ok := sealedSQL(kind)
	if !ok {
		return nil, invalid(op, "unknown kind %q", kind)
	}
	if limit <= 0 {
		return nil, invalid(op, "limit %d", limit)
	}
	rows, err := db.q(ctx).Query(ctx, list, after, limit)
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

// ReplaceSealed implements [store.SealedSecrets] in one conditional
// UPDATE.
func (db *DB) ReplaceSealed(ctx context.Context, kind store.SealedKind, row string, old, sealed []byte) (bool, error) {
	const op = "replace sealed"
	_, replace, ok := sealedSQL(kind)
	if !ok {
		return false, invalid(op, "unknown kind %q", kind)
	}
	if len(sealed) == 0 {
		return false, invalid(op, "empty sealed value")
	}
	tag, err := db.q(ctx).Exec(ctx, replace, sealed, row, old)
	if err != nil {
		return false, wrap(op, err)
	}
	return tag.RowsAffected() == 1, nil
}
