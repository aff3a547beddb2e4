package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/store"
)

var _ store.RefreshTokens = (*DB)(nil)

// familyCols are the columns scanned by scanFamily, in order, of the
// table aliased f.
const familyCols = `f.id, f.user_id, f.session_id, f.scopes, f.aal, f.methods, f.auth_time, f.client_name,
	f.created_at, f.expires_at, f.revoked_at, f.revoke_reason`

// familySessionLive is the condition that the family f's session is live
// at the time given as the parameter $now (a placeholder replaced by the
// caller's parameter number).
const familySessionLive = `EXISTS (SELECT 1 FROM sigra_sessions s WHERE s.id = f.session_id AND s.user_id = f.user_id
	AND s.state = 'authenticated' AND s.revoked_at IS NULL AND s.expires_at > $now::timestamptz)`

// sessionLiveAt returns familySessionLive with the time as parameter n.
func sessionLiveAt(n int) string {
	return strings.ReplaceAll(familySessionLive, "$now", fmt.Sprintf("$%d", n))
}

func familyDest(f *store.RefreshFamily) []any {
	return []any{&f.ID, &f.UserID, &f.SessionID, &f.Scopes, &f.AAL, &f.Methods, ts(&f.AuthTime), &f.ClientName,
		ts(&f.CreatedAt), ts(&f.ExpiresAt), ts(&f.RevokedAt), &f.RevokeReason}
}

// words checks values that must not be empty or hold white space, and
// returns a non-nil slice for a NOT NULL array column.
func words(op, what string, vs []string) ([]string, error) {
	for _, v := range vs {
		if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' }) {
			return nil, invalid(op, "invalid %s %q", what, v)
		}
	}
	if vs == nil {
		return []string{}, nil
	}
	return vs, nil
}

// CreateRefreshFamily implements [store.RefreshTokens]: the family and
// its first token are inserted in one statement, only if the session is
// live.
func (db *DB) CreateRefreshFamily(ctx context.Context, f *store.RefreshFamily, t *store.RefreshToken, now time.Time) error {
	const op = "create refresh family"
	scopes, err := words(op, "scope", f.Scopes)
	if err != nil {
		return err
	}
	methods, err := words(op, "method", f.Methods)
	if err != nil {
		return err
	}
	id, created, tcreated := f.ID, f.CreatedAt, t.CreatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = nowUTC()
	}
	if tcreated.IsZero() {
		tcreated = created
	}
	var inserted int
	err = db.q(ctx).QueryRow(ctx, `WITH fam AS (
			INSERT INTO sigra_refresh_families
				(id, user_id, session_id, scopes, aal, methods, auth_time, client_name, created_at, expires_at)
			SELECT $1::text, $2::text, $3::text, $4::text[], $5::integer, $6::text[], $7::timestamptz, $8::text,
				$9::timestamptz, $10::timestamptz
			WHERE EXISTS (SELECT 1 FROM sigra_sessions s WHERE s.id = $3::text AND s.user_id = $2::text
				AND s.state = 'authenticated' AND s.revoked_at IS NULL AND s.expires_at > $11::timestamptz)
			RETURNING id
		), tok AS (
			INSERT INTO sigra_refresh_tokens (digest, family_id, created_at, expires_at)
			SELECT $12::bytea, id, $13::timestamptz, $14::timestamptz FROM fam
			RETURNING 1
		)
		SELECT count(*) FROM tok`,
		id, f.UserID, f.SessionID, scopes, f.AAL, methods, tsArg(f.AuthTime), f.ClientName, created, f.ExpiresAt, now,
		bytesArg(t.Digest), tcreated, t.ExpiresAt).Scan(&inserted)
	switch {
	case err != nil:
		return wrap(op, err)
	case inserted == 0:
		return notFound(op)
	}
	f.ID, f.CreatedAt = id, created
	t.FamilyID, t.CreatedAt = id, tcreated
	return nil
}

// RotateRefreshToken implements [store.RefreshTokens]. The token is marked
// used by a conditional update, which PostgreSQL serialises on the row:
// of concurrent rotations of one token exactly one marks it, and the
// others find it used and revoke the family.
func (db *DB) RotateRefreshToken(ctx context.Context, digest []byte, next *store.RefreshToken, now time.Time) (*store.RefreshFamily, error) {
	const op = "rotate refresh token"
	created := next.CreatedAt
	if created.IsZero() {
		created = now
	}
	var (
		fam     *store.RefreshFamily
		outcome error
	)
	err := db.atomic(ctx, func(tx pgx.Tx) error {
		f := new(store.RefreshFamily)
		var tokExpires, used time.Time
		var live bool
		err := tx.QueryRow(ctx, `SELECT `+familyCols+`, t.expires_at, t.used_at, `+sessionLiveAt(2)+`
			FROM sigra_refresh_tokens t JOIN sigra_refresh_families f ON f.id = t.family_id
			WHERE t.digest = $1::bytea`, bytesArg(digest), now).
			Scan(append(familyDest(f), ts(&tokExpires), ts(&used), &live)...)
		if err != nil {
			return wrap(op, err)
		}
		fam = f
		switch {
		case !used.IsZero():
			outcome = fmt.Errorf("sigra/postgres: %s: refresh token reused: %w", op, store.ErrReplay)
			return revokeFamily(ctx, tx, f, store.RevokeReasonReuse, now)
		case !f.RevokedAt.IsZero() || !f.ExpiresAt.After(now) || !tokExpires.After(now):
			fam, outcome = nil, notFound(op)
			return nil
		case !live:
			outcome = fmt.Errorf("sigra/postgres: %s: session ended: %w", op, store.ErrNotFound)
			return revokeFamily(ctx, tx, f, store.RevokeReasonSession, now)
		}
		tag, err := tx.Exec(ctx, `UPDATE sigra_refresh_tokens SET used_at = $2 WHERE digest = $1 AND used_at IS NULL`,
			bytesArg(digest), now)
		if err != nil {
			return wrap(op, err)
		}
		if tag.RowsAffected() == 0 {
			// A concurrent rotation of the same token won: a reuse.
			outcome = fmt.Errorf("sigra/postgres: %s: refresh token reused: %w", op, store.ErrReplay)
			return revokeFamily(ctx, tx, f, store.RevokeReasonReuse, now)
		}
		_, err = tx.Exec(ctx, `INSERT INTO sigra_refresh_tokens (digest, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			bytesArg(next.Digest), f.ID, created, next.ExpiresAt)
		return wrap(op, err)
	})
	if err != nil {
		return nil, err
	}
	if outcome != nil {
		return fam, outcome
	}
	next.FamilyID, next.CreatedAt = fam.ID, created
	return fam, nil
}

// revokeFamily revokes f at now with reason, unless it is revoked, and
// updates f.
func revokeFamily(ctx context.Context, tx pgx.Tx, f *store.RefreshFamily, reason string, now time.Time) error {
	if !f.RevokedAt.IsZero() {
		return nil
	}
	var at time.Time
	err := tx.QueryRow(ctx, `UPDATE sigra_refresh_families SET revoked_at = coalesce(revoked_at, $2), revoke_reason =
			CASE WHEN revoked_at IS NULL THEN $3 ELSE revoke_reason END
		WHERE id = $1 RETURNING revoked_at, revoke_reason`, f.ID, now, reason).Scan(ts(&at), &f.RevokeReason)
	if err != nil {
		return wrap("revoke refresh family", err)
	}
	f.RevokedAt = at
	return nil
}

// RevokeRefreshFamily implements [store.RefreshTokens].
func (db *DB) RevokeRefreshFamily(ctx context.Context, userID, id, reason string, now time.Time) (*store.RefreshFamily, error) {
	const op = "revoke refresh family"
	f := new(store.RefreshFamily)
	err := db.atomic(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT `+familyCols+` FROM sigra_refresh_families f
			WHERE f.id = $1 AND ($2 = '' OR f.user_id = $2) FOR UPDATE`, id, userID).Scan(familyDest(f)...); err != nil {
			return wrap(op, err)
		}
		return revokeFamily(ctx, tx, f, reason, now)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// RefreshFamilyByToken implements [store.RefreshTokens].
func (db *DB) RefreshFamilyByToken(ctx context.Context, digest []byte) (*store.RefreshFamily, error) {
	f := new(store.RefreshFamily)
	err := db.q(ctx).QueryRow(ctx, `SELECT `+familyCols+` FROM sigra_refresh_tokens t
		JOIN sigra_refresh_families f ON f.id = t.family_id WHERE t.digest = $1`, bytesArg(digest)).Scan(familyDest(f)...)
	if err != nil {
		return nil, wrap("refresh family by token", err)
	}
	return f, nil
}

// LiveRefreshFamily implements [store.RefreshTokens] in one round trip.
func (db *DB) LiveRefreshFamily(ctx context.Context, id string, now time.Time) (*store.RefreshFamily, error) {
	f := new(store.RefreshFamily)
	err := db.q(ctx).QueryRow(ctx, `SELECT `+familyCols+` FROM sigra_refresh_families f
		WHERE f.id = $1 AND f.revoked_at IS NULL AND f.expires_at > $2 AND `+sessionLiveAt(2), id, now).Scan(familyDest(f)...)
	if err != nil {
		return nil, wrap("live refresh family", err)
	}
	return f, nil
}

// UserRefreshFamilies implements [store.RefreshTokens].
func (db *DB) UserRefreshFamilies(ctx context.Context, userID string, now time.Time) ([]*store.RefreshFamily, error) {
	const op = "user refresh families"
	rows, err := db.q(ctx).Query(ctx, `SELECT `+familyCols+` FROM sigra_refresh_families f
		WHERE f.user_id = $1 AND f.revoked_at IS NULL AND f.expires_at > $2 AND `+sessionLiveAt(2)+`
		ORDER BY f.created_at DESC, f.id DESC`, userID, now)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []*store.RefreshFamily
	for rows.Next() {
		f := new(store.RefreshFamily)
		if err := rows.Scan(familyDest(f)...); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// PurgeRefreshFamilies implements [store.RefreshTokens].
func (db *DB) PurgeRefreshFamilies(ctx context.Context, before time.Time) (int, error) {
	tag, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_refresh_families WHERE expires_at < $1 OR revoked_at < $1`, before)
	if err != nil {
		return 0, wrap("purge refresh families", err)
	}
	return int(tag.RowsAffected()), nil
}
