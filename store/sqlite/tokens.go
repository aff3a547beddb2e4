package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/sigra-go/sigra/store"
)

const tokenCols = `purpose, digest, user_id, sent_to, data, attempts, created_at, expires_at`

func tokenDest(t *store.Token) []any {
	return []any{&t.Purpose, &t.Digest, strDest{&t.UserID}, &t.SentTo, &t.Data, intDest{&t.Attempts}, timeDest{&t.CreatedAt}, timeDest{&t.ExpiresAt}}
}

func scanToken(op string, row *sql.Row) (*store.Token, error) {
	t := new(store.Token)
	if err := row.Scan(tokenDest(t)...); err != nil {
		return nil, wrap(op, err)
	}
	return t, nil
}

// CreateToken stores t, filling a zero CreatedAt; see [store.Tokens].
func (db *DB) CreateToken(ctx context.Context, t *store.Token) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = clock()
	}
	_, err := db.exec(ctx, `INSERT INTO sigra_tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Purpose, t.Digest, nullStr(t.UserID), t.SentTo, t.Data, t.Attempts, ms(t.CreatedAt), ms(t.ExpiresAt))
	return wrap("CreateToken", err)
}

// PeekToken returns the unexpired token with purpose and digest without
// consuming it.
func (db *DB) PeekToken(ctx context.Context, purpose string, digest []byte, now time.Time) (*store.Token, error) {
	return scanToken("PeekToken", db.r(ctx).QueryRowContext(ctx, `SELECT `+tokenCols+` FROM sigra_tokens
		WHERE purpose = ? AND digest = ? AND expires_at > ?`, purpose, digest, ms(now)))
}

// ConsumeToken deletes and returns the unexpired token with purpose and
// digest in one statement (DELETE ... RETURNING): of concurrent consumers,
// exactly one gets it.
func (db *DB) ConsumeToken(ctx context.Context, purpose string, digest []byte, now time.Time) (*store.Token, error) {
	t := new(store.Token)
	if err := db.scanRow(ctx, `DELETE FROM sigra_tokens
		WHERE purpose = ? AND digest = ? AND expires_at > ? RETURNING `+tokenCols, []any{purpose, digest, ms(now)}, tokenDest(t)...); err != nil {
		return nil, wrap("ConsumeToken", err)
	}
	return t, nil
}

// ConsumeCode deletes and returns the user's unexpired code with purpose and
// digest if it has had fewer than maxAttempts failed attempts, in one
// statement; when none matches, it counts a failed attempt on every
// unexpired code of the user and purpose. See [store.Tokens].
func (db *DB) ConsumeCode(ctx context.Context, userID, purpose string, digest []byte, maxAttempts int, now time.Time) (*store.Token, error) {
	t := new(store.Token)
	err := wrap("ConsumeCode", db.scanRow(ctx, `DELETE FROM sigra_tokens
		WHERE purpose = ? AND digest = ? AND user_id = ? AND expires_at > ? AND attempts < ? RETURNING `+tokenCols,
		[]any{purpose, digest, userID, ms(now), maxAttempts}, tokenDest(t)...))
	switch {
	case err == nil:
		return t, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	if _, uerr := db.exec(ctx, `UPDATE sigra_tokens SET attempts = attempts + 1
		WHERE user_id = ? AND purpose = ? AND expires_at > ?`, userID, purpose, ms(now)); uerr != nil {
		return nil, wrap("ConsumeCode", uerr)
	}
	return nil, err
}

// DeleteUserTokens deletes the user's tokens with the given purposes (all
// when none are given) and returns how many.
func (db *DB) DeleteUserTokens(ctx context.Context, userID string, purposes ...string) (int, error) {
	q := `DELETE FROM sigra_tokens WHERE user_id = ?`
	args := []any{userID}
	if len(purposes) > 0 {
		q += ` AND purpose IN (?` + strings.Repeat(`, ?`, len(purposes)-1) + `)`
		for _, p := range purposes {
			args = append(args, p)
		}
	}
	return op("DeleteUserTokens").count(db.exec(ctx, q, args...))
}

// PurgeTokens deletes tokens that expired before before.
func (db *DB) PurgeTokens(ctx context.Context, before time.Time) (int, error) {
	return op("PurgeTokens").count(db.exec(ctx,
		`DELETE FROM sigra_tokens WHERE expires_at IS NULL OR expires_at < ?`, ms(before)))
}
