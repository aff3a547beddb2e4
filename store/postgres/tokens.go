package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/store"
)

// tokenCols are the columns scanned by scanToken, in order.
const tokenCols = `digest, purpose, coalesce(user_id, ''), sent_to, data, attempts, created_at, expires_at`

func scanToken(row pgx.Row) (*store.Token, error) {
	t := new(store.Token)
	err := row.Scan(&t.Digest, &t.Purpose, &t.UserID, &t.SentTo, &t.Data, &t.Attempts,
		ts(&t.CreatedAt), ts(&t.ExpiresAt))
	if err != nil {
		return nil, err
	}
	return t, nil
}

// CreateToken implements [store.Tokens]. A zero CreatedAt is filled in. A
// token of a user that does not exist is refused with ErrNotFound; a
// token without a user (empty UserID) is allowed. Neither outcome fails a
// statement.
func (db *DB) CreateToken(ctx context.Context, t *store.Token) error {
	created := t.CreatedAt
	if created.IsZero() {
		created = nowUTC()
	}
	var found bool
	var inserted int
	err := db.q(ctx).QueryRow(ctx, `WITH chk AS (
			SELECT $3::text IS NULL OR EXISTS (SELECT 1 FROM sigra_users WHERE id = $3::text) AS found
		), ins AS (
			INSERT INTO sigra_tokens (digest, purpose, user_id, sent_to, data, attempts, created_at, expires_at)
			SELECT $1::bytea, $2::text, $3::text, $4::text, $5::text, $6::integer, $7::timestamptz, $8::timestamptz
			FROM chk WHERE found
			ON CONFLICT DO NOTHING
			RETURNING 1
		)
		SELECT found, (SELECT count(*) FROM ins) FROM chk`,
		bytesArg(t.Digest), t.Purpose, textArg(t.UserID), t.SentTo, t.Data, t.Attempts, created, t.ExpiresAt,
	).Scan(&found, &inserted)
	switch {
	case err != nil:
		return wrap("create token", err)
	case !found:
		return notFound("create token")
	case inserted == 0:
		return conflict("create token")
	}
	t.CreatedAt = created
	return nil
}

// PeekToken implements [store.Tokens].
func (db *DB) PeekToken(ctx context.Context, purpose string, digest []byte, now time.Time) (*store.Token, error) {
	t, err := scanToken(db.q(ctx).QueryRow(ctx, `SELECT `+tokenCols+` FROM sigra_tokens
		WHERE purpose = $1 AND digest = $2 AND expires_at > $3`, purpose, digest, now))
	return t, wrap("peek token", err)
}

// ConsumeToken implements [store.Tokens] with one DELETE ... RETURNING:
// the row lock makes concurrent consumers wait, and all but the first find
// nothing left to delete.
func (db *DB) ConsumeToken(ctx context.Context, purpose string, digest []byte, now time.Time) (*store.Token, error) {
	t, err := scanToken(db.q(ctx).QueryRow(ctx, `DELETE FROM sigra_tokens
		WHERE purpose = $1 AND digest = $2 AND expires_at > $3
		RETURNING `+tokenCols, purpose, digest, now))
	return t, wrap("consume token", err)
}

// ConsumeCode implements [store.Tokens] in one statement. The first CTE
// deletes the matching code if it has attempts left; the second, only
// when the first deleted nothing (it reads the first's result, which
// orders them), counts one failed attempt on every unexpired code of the
// user and purpose. Under READ COMMITTED a statement blocked on a row
// another transaction changed re-checks that row's new version, so
// concurrent attempts are all counted and a code is consumed at most once.
func (db *DB) ConsumeCode(ctx context.Context, userID, purpose string, digest []byte, maxAttempts int, now time.Time) (*store.Token, error) {
	t, err := scanToken(db.q(ctx).QueryRow(ctx, `WITH hit AS (
			DELETE FROM sigra_tokens
			WHERE purpose = $2 AND digest = $3 AND user_id = $1 AND expires_at > $5 AND attempts < $4
			RETURNING `+tokenCols+`
		), miss AS (
			UPDATE sigra_tokens SET attempts = attempts + 1
			WHERE user_id = $1 AND purpose = $2 AND expires_at > $5 AND NOT EXISTS (SELECT 1 FROM hit)
		)
		SELECT * FROM hit`, userID, purpose, digest, maxAttempts, now))
	return t, wrap("consume code", err)
}

// DeleteUserTokens implements [store.Tokens].
func (db *DB) DeleteUserTokens(ctx context.Context, userID string, purposes ...string) (int, error) {
	if purposes == nil {
		purposes = []string{}
	}
	ct, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_tokens
		WHERE user_id = $1 AND (cardinality($2::text[]) = 0 OR purpose = ANY ($2::text[]))`, userID, purposes)
	if err != nil {
		return 0, wrap("delete user tokens", err)
	}
	return int(ct.RowsAffected()), nil
}

// PurgeTokens implements [store.Tokens].
func (db *DB) PurgeTokens(ctx context.Context, before time.Time) (int, error) {
	ct, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_tokens WHERE expires_at < $1`, before)
	if err != nil {
		return 0, wrap("purge tokens", err)
	}
	return int(ct.RowsAffected()), nil
}
