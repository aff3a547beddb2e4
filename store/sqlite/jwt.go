package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sigra-go/sigra/store"
)

var _ store.RefreshTokens = (*DB)(nil)

// familyCols are the columns scanned by familyDest, in order, of the
// table aliased f.
const familyCols = `f.id, f.user_id, f.session_id, f.scopes, f.aal, f.methods, f.auth_time, f.client_name,
	f.created_at, f.expires_at, f.revoked_at, f.revoke_reason`

// familySessionLive is the condition that the family f's session is live at the
// time bound to the named parameter :now.
const familySessionLive = `EXISTS (SELECT 1 FROM sigra_sessions s WHERE s.id = f.session_id AND s.user_id = f.user_id
	AND s.state = 'authenticated' AND s.revoked_at IS NULL AND s.expires_at > :now)`

// familyRow scans a family; scopes and methods are space-separated.
type familyRow struct {
	f       store.RefreshFamily
	scopes  string
	methods string
}

func (x *familyRow) dest() []any {
	f := &x.f
	return []any{&f.ID, &f.UserID, &f.SessionID, &x.scopes, intDest{&f.AAL}, &x.methods, timeDest{&f.AuthTime}, &f.ClientName,
		timeDest{&f.CreatedAt}, timeDest{&f.ExpiresAt}, timeDest{&f.RevokedAt}, &f.RevokeReason}
}

func (x *familyRow) family() *store.RefreshFamily {
	f := x.f
	f.Scopes = strings.Fields(x.scopes)
	f.Methods = strings.Fields(x.methods)
	return &f
}

// joinWords joins values that must not be empty or hold white space.
func joinWords(name, what string, vs []string) (string, error) {
	for _, v := range vs {
		if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' }) {
			return "", fmt.Errorf("sigra/sqlite: %s: invalid %s %q", name, what, v)
		}
	}
	return strings.Join(vs, " "), nil
}

// CreateRefreshFamily inserts a family and its first token, if the
// session is live; see [store.RefreshTokens].
func (db *DB) CreateRefreshFamily(ctx context.Context, f *store.RefreshFamily, t *store.RefreshToken, now time.Time) error {
	const name = "CreateRefreshFamily"
	scopes, err := joinWords(name, "scope", f.Scopes)
	if err != nil {
		return err
	}
	methods, err := joinWords(name, "method", f.Methods)
	if err != nil {
		return err
	}
	id, created, tcreated := f.ID, f.CreatedAt, t.CreatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = clock()
	}
	if tcreated.IsZero() {
		tcreated = created
	}
	err = db.inTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `INSERT INTO sigra_refresh_families
			(id, user_id, session_id, scopes, aal, methods, auth_time, client_name, created_at, expires_at)
			SELECT :id, :user, :sid, :scopes, :aal, :methods, :auth, :client, :created, :expires
			WHERE EXISTS (SELECT 1 FROM sigra_sessions s WHERE s.id = :sid AND s.user_id = :user
				AND s.state = 'authenticated' AND s.revoked_at IS NULL AND s.expires_at > :now)`,
			sql.Named("id", id), sql.Named("user", f.UserID), sql.Named("sid", f.SessionID), sql.Named("scopes", scopes),
			sql.Named("aal", f.AAL), sql.Named("methods", methods), sql.Named("auth", ms(f.AuthTime)), sql.Named("client", f.ClientName),
			sql.Named("created", ms(created)), sql.Named("expires", ms(f.ExpiresAt)), sql.Named("now", ms(now)))
		if err := op(name).one(res, err); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `INSERT INTO sigra_refresh_tokens (digest, family_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			t.Digest, id, ms(tcreated), ms(t.ExpiresAt))
		return wrap(name, err)
	})
	if err != nil {
		return err
	}
	f.ID, f.CreatedAt = id, created
	t.FamilyID, t.CreatedAt = id, tcreated
	return nil
}

// RotateRefreshToken exchanges a refresh token for the next one, or
// detects its reuse; see [store.RefreshTokens]. It runs on the single
// writer connection, so of concurrent rotations of one token exactly one
// finds it unused.
func (db *DB) RotateRefreshToken(ctx context.Context, digest []byte, next *store.RefreshToken, now time.Time) (*store.RefreshFamily, error) {
	const name = "RotateRefreshToken"
	created := next.CreatedAt
	if created.IsZero() {
		created = now
	}
	var (
		fam     *store.RefreshFamily
		outcome error
	)
	err := db.inTx(ctx, func(q querier) error {
		var x familyRow
		var tokExpires, used time.Time
		var live bool
		err := q.QueryRowContext(ctx, `SELECT `+familyCols+`, t.expires_at, t.used_at, `+familySessionLive+`
			FROM sigra_refresh_tokens t JOIN sigra_refresh_families f ON f.id = t.family_id
			WHERE t.digest = :digest`, sql.Named("digest", digest), sql.Named("now", ms(now))).
			Scan(append(x.dest(), timeDest{&tokExpires}, timeDest{&used}, &live)...)
		if err != nil {
			return wrap(name, err)
		}
		fam = x.family()
		switch {
		case !used.IsZero():
			outcome = fmt.Errorf("sigra/sqlite: %s: refresh token reused: %w", name, store.ErrReplay)
			return db.revokeFamily(ctx, q, fam, store.RevokeReasonReuse, now)
		case !fam.RevokedAt.IsZero() || !fam.ExpiresAt.After(now) || !tokExpires.After(now):
			fam, outcome = nil, notFound(name)
			return nil
		case !live:
			outcome = fmt.Errorf("sigra/sqlite: %s: session ended: %w", name, store.ErrNotFound)
			return db.revokeFamily(ctx, q, fam, store.RevokeReasonSession, now)
		}
		if _, err := q.ExecContext(ctx, `UPDATE sigra_refresh_tokens SET used_at = ? WHERE digest = ? AND used_at IS NULL`,
			ms(now), digest); err != nil {
			return wrap(name, err)
		}
		_, err = q.ExecContext(ctx, `INSERT INTO sigra_refresh_tokens (digest, family_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			next.Digest, fam.ID, ms(created), ms(next.ExpiresAt))
		return wrap(name, err)
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

// revokeFamily revokes fam at now with reason, unless it is revoked, and
// updates fam.
func (db *DB) revokeFamily(ctx context.Context, q querier, fam *store.RefreshFamily, reason string, now time.Time) error {
	if !fam.RevokedAt.IsZero() {
		return nil
	}
	if _, err := q.ExecContext(ctx, `UPDATE sigra_refresh_families SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`,
		ms(now), reason, fam.ID); err != nil {
		return wrap("revoke refresh family", err)
	}
	fam.RevokedAt, fam.RevokeReason = now.UTC().Truncate(time.Millisecond), reason
	return nil
}

// RevokeRefreshFamily revokes one family; see [store.RefreshTokens].
func (db *DB) RevokeRefreshFamily(ctx context.Context, userID, id, reason string, now time.Time) (*store.RefreshFamily, error) {
	const name = "RevokeRefreshFamily"
	var fam *store.RefreshFamily
	err := db.inTx(ctx, func(q querier) error {
		var x familyRow
		if err := q.QueryRowContext(ctx, `SELECT `+familyCols+` FROM sigra_refresh_families f
			WHERE f.id = ? AND (? = '' OR f.user_id = ?)`, id, userID, userID).Scan(x.dest()...); err != nil {
			return wrap(name, err)
		}
		fam = x.family()
		return db.revokeFamily(ctx, q, fam, reason, now)
	})
	if err != nil {
		return nil, err
	}
	return fam, nil
}

// RefreshFamilyByToken returns the family of a refresh token; see
// [store.RefreshTokens].
func (db *DB) RefreshFamilyByToken(ctx context.Context, digest []byte) (*store.RefreshFamily, error) {
	var x familyRow
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+familyCols+` FROM sigra_refresh_tokens t
		JOIN sigra_refresh_families f ON f.id = t.family_id WHERE t.digest = ?`, digest).Scan(x.dest()...)
	if err != nil {
		return nil, wrap("RefreshFamilyByToken", err)
	}
	return x.family(), nil
}

// LiveRefreshFamily returns a live family; see [store.RefreshTokens].
func (db *DB) LiveRefreshFamily(ctx context.Context, id string, now time.Time) (*store.RefreshFamily, error) {
	var x familyRow
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+familyCols+` FROM sigra_refresh_families f
		WHERE f.id = :id AND f.revoked_at IS NULL AND f.expires_at > :now AND `+familySessionLive,
		sql.Named("id", id), sql.Named("now", ms(now))).Scan(x.dest()...)
	if err != nil {
		return nil, wrap("LiveRefreshFamily", err)
	}
	return x.family(), nil
}

// UserRefreshFamilies lists a user's live families, newest first; see
// [store.RefreshTokens].
func (db *DB) UserRefreshFamilies(ctx context.Context, userID string, now time.Time) ([]*store.RefreshFamily, error) {
	const name = "UserRefreshFamilies"
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+familyCols+` FROM sigra_refresh_families f
		WHERE f.user_id = :user AND f.revoked_at IS NULL AND f.expires_at > :now AND `+familySessionLive+`
		ORDER BY f.created_at DESC, f.id DESC`, sql.Named("user", userID), sql.Named("now", ms(now)))
	if err != nil {
		return nil, wrap(name, err)
	}
	defer rows.Close()
	var out []*store.RefreshFamily
	for rows.Next() {
		var x familyRow
		if err := rows.Scan(x.dest()...); err != nil {
			return nil, wrap(name, err)
		}
		out = append(out, x.family())
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(name, err)
	}
	return out, nil
}

// PurgeRefreshFamilies deletes families that ended before before, with
// their tokens; see [store.RefreshTokens].
func (db *DB) PurgeRefreshFamilies(ctx context.Context, before time.Time) (int, error) {
	return op("PurgeRefreshFamilies").count(db.exec(ctx, `DELETE FROM sigra_refresh_families
		WHERE expires_at < ? OR revoked_at < ?`, ms(before), ms(before)))
}
