package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/store"
)

// sessionCols are the session columns scanned by sessionDest, in order,
// qualified with the alias s.
const sessionCols = `s.digest, s.id, s.data, coalesce(s.user_id, ''), s.state, s.aal, s.methods,
	s.auth_time, s.sudo_time, s.active_org, s.impersonator, s.remember, s.created_at,
	s.last_seen_at, s.expires_at, s.revoked_at, s.ip, s.user_agent`

// joinedUserCols are userCols from a LEFT JOIN (alias u): NULL for an
// anonymous session, which the scan turns into zero values.
const joinedUserCols = `coalesce(u.id, ''), coalesce(u.email, ''), coalesce(u.password_hash, ''),
	u.email_confirmed_at, coalesce(u.failed_logins, 0), u.locked_until, coalesce(u.failed_mfa, 0),
	u.mfa_locked_until, u.disabled_at, u.deletion_due_at, u.created_at, u.updated_at`

// liveSessionWhere selects the live session with digest $1 at time $2,
// seen after $3 when $3 is not NULL.
const liveSessionWhere = ` WHERE s.digest = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
	AND ($3::timestamptz IS NULL OR s.last_seen_at > $3)`

const (
	sessionByDigestSQL = `SELECT ` + sessionCols + ` FROM sigra_sessions s` + liveSessionWhere
	sessionWithUserSQL = `SELECT ` + sessionCols + `, ` + joinedUserCols + `
		FROM sigra_sessions s LEFT JOIN sigra_users u ON u.id = s.user_id` + liveSessionWhere
)

// sessionDest appends the scan destinations of sessionCols for s to dest;
// the state lands in *state.
func sessionDest(dest []any, s *store.Session, state *string) []any {
	return append(dest, &s.Digest, &s.ID, &s.Data, &s.UserID, state, &s.AAL, &s.Methods,
		ts(&s.AuthTime), ts(&s.SudoTime), &s.ActiveOrg, &s.Impersonator, &s.Remember, ts(&s.CreatedAt),
		ts(&s.LastSeenAt), ts(&s.ExpiresAt), ts(&s.RevokedAt), &s.IP, &s.UserAgent)
}

func scanSession(row pgx.Row) (*store.Session, error) {
	r := new(struct {
		s     store.Session
		state string
		dest  [18]any
	})
	if err := row.Scan(sessionDest(r.dest[:0], &r.s, &r.state)...); err != nil {
		return nil, err
	}
	r.s.State = store.SessionState(r.state)
	return &r.s, nil
}

// idleCutoff is the $3 of liveSessionWhere: NULL when idle is not positive.
func idleCutoff(now time.Time, idle time.Duration) any {
	if idle <= 0 {
		return nil
	}
	return now.Add(-idle)
}

// SessionByDigest implements [store.Sessions].
func (db *DB) SessionByDigest(ctx context.Context, digest []byte, now time.Time, idle time.Duration) (*store.Session, error) {
	s, err := scanSession(db.q(ctx).QueryRow(ctx, sessionByDigestSQL, digest, now, idleCutoff(now, idle)))
	return s, wrap("session by digest", err)
}

// SessionWithUser implements [store.Sessions]. It runs on every
// authenticated request: one prepared statement (pgx caches it per
// connection), a primary-key lookup with a LEFT JOIN on the user's
// primary key, one round trip.
func (db *DB) SessionWithUser(ctx context.Context, digest []byte, now time.Time, idle time.Duration) (*store.Session, *store.User, error) {
	// One allocation for both records and the scan destinations.
	r := new(struct {
		s     store.Session
		u     store.User
		state string
		dest  [30]any
	})
	dest := userDest(sessionDest(r.dest[:0], &r.s, &r.state), &r.u)
	err := db.q(ctx).QueryRow(ctx, sessionWithUserSQL, digest, now, idleCutoff(now, idle)).Scan(dest...)
	if err != nil {
		return nil, nil, wrap("session with user", err)
	}
	r.s.State = store.SessionState(r.state)
	if r.u.ID == "" {
		return &r.s, nil, nil
	}
	return &r.s, &r.u, nil
}

// SaveSession implements [store.Sessions] with one upsert whose update
// branch skips revoked rows, so a request that was in flight when its
// session was revoked cannot bring the session back. The row's ID and
// CreatedAt are written back to s. A session whose user does not exist is
// refused with ErrNotFound. The active organization is kept only if the
// user is a member of it, checked in the same statement (a lookup by the
// primary key of sigra_org_members): a request that loaded the session
// before the user was removed from the organization stores none. The check
// reads the statement's snapshot, so a save that starts while the removal
// is committing may still write the organization (RemoveMember clears only
// the rows it sees); access is decided by the membership, checked on each
// request, not by the active organization.
func (db *DB) SaveSession(ctx context.Context, s *store.Session) error {
	id := s.ID
	if id == "" {
		id = store.NewID()
	}
	created := s.CreatedAt
	if created.IsZero() {
		created = nowUTC()
	}
	methods := s.Methods
	if methods == nil {
		methods = []string{}
	}
	var gotID string
	var gotCreated time.Time
	err := db.q(ctx).QueryRow(ctx, `INSERT INTO sigra_sessions (digest, id, data, user_id, state, aal, methods,
			auth_time, sudo_time, active_org, impersonator, remember, created_at, last_seen_at,
			expires_at, revoked_at, ip, user_agent)
		SELECT $1::bytea, $2::text, $3::bytea, $4::text, $5::text, $6::integer, $7::text[],
			$8::timestamptz, $9::timestamptz,
			CASE WHEN $10::text <> '' AND EXISTS (SELECT 1 FROM sigra_org_members
				WHERE org_id = $10::text AND user_id = $4::text) THEN $10::text ELSE '' END,
			$11::text, $12::boolean, $13::timestamptz,
			$14::timestamptz, $15::timestamptz, $16::timestamptz, $17::text, $18::text
		WHERE $4::text IS NULL OR EXISTS (SELECT 1 FROM sigra_users WHERE id = $4::text)
		ON CONFLICT (digest) DO UPDATE
		SET data = EXCLUDED.data, user_id = EXCLUDED.user_id, state = EXCLUDED.state,
			aal = EXCLUDED.aal, methods = EXCLUDED.methods, auth_time = EXCLUDED.auth_time,
			sudo_time = EXCLUDED.sudo_time, active_org = EXCLUDED.active_org,
			impersonator = EXCLUDED.impersonator, remember = EXCLUDED.remember,
			last_seen_at = EXCLUDED.last_seen_at, expires_at = EXCLUDED.expires_at,
			ip = EXCLUDED.ip, user_agent = EXCLUDED.user_agent
		WHERE sigra_sessions.revoked_at IS NULL
		RETURNING id, created_at`,
		s.Digest, id, bytesArg(s.Data), textArg(s.UserID), string(s.State), s.AAL, methods,
		tsArg(s.AuthTime), tsArg(s.SudoTime), s.ActiveOrg, s.Impersonator, s.Remember, created,
		tsArg(s.LastSeenAt), s.ExpiresAt, tsArg(s.RevokedAt), s.IP, s.UserAgent,
	).Scan(&gotID, ts(&gotCreated))
	if err == nil {
		s.ID, s.CreatedAt = gotID, gotCreated
		return nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return wrap("save session", err)
	}
	// Nothing written: the row is revoked (not an error), or the user
	// does not exist.
	if s.UserID != "" {
		var exists bool
		if err := db.q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sigra_users WHERE id = $1)`,
			s.UserID).Scan(&exists); err != nil {
			return wrap("save session", err)
		}
		if !exists {
			return notFound("save session")
		}
	}
	return nil
}

// TouchSession implements [store.Sessions]. The columns it writes are not
// indexed, so the update can stay on the row's page (a HOT update).
func (db *DB) TouchSession(ctx context.Context, digest []byte, seen time.Time, ip, userAgent string) error {
	_, err := db.q(ctx).Exec(ctx, `UPDATE sigra_sessions SET last_seen_at = $2, ip = $3, user_agent = $4
		WHERE digest = $1 AND revoked_at IS NULL AND expires_at > $2`, digest, seen, ip, userAgent)
	return wrap("touch session", err)
}

// RevokeSession implements [store.Sessions].
func (db *DB) RevokeSession(ctx context.Context, digest []byte, now time.Time) error {
	_, err := db.q(ctx).Exec(ctx, `UPDATE sigra_sessions SET revoked_at = $2
		WHERE digest = $1 AND revoked_at IS NULL`, digest, now)
	return wrap("revoke session", err)
}

// RevokeSessionByID implements [store.Sessions].
func (db *DB) RevokeSessionByID(ctx context.Context, userID, id string, now time.Time) error {
	return db.execOne(ctx, "revoke session by id", `UPDATE sigra_sessions SET revoked_at = $3
		WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL AND expires_at > $3`, userID, id, now)
}

// RevokeUserSessions implements [store.Sessions].
func (db *DB) RevokeUserSessions(ctx context.Context, userID string, except []byte, now time.Time) (int, error) {
	if except != nil && len(except) == 0 {
		except = nil
	}
	ct, err := db.q(ctx).Exec(ctx, `UPDATE sigra_sessions SET revoked_at = $3
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $3
			AND ($2::bytea IS NULL OR digest <> $2::bytea)`, userID, except, now)
	if err != nil {
		return 0, wrap("revoke user sessions", err)
	}
	return int(ct.RowsAffected()), nil
}

// UserSessions implements [store.Sessions]. Sessions never seen sort
// last; ties go to the newest.
func (db *DB) UserSessions(ctx context.Context, userID string, now time.Time) ([]*store.Session, error) {
	rows, err := db.q(ctx).Query(ctx, `SELECT `+sessionCols+` FROM sigra_sessions s
		WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
		ORDER BY s.last_seen_at DESC NULLS LAST, s.created_at DESC, s.id DESC`, userID, now)
	if err != nil {
		return nil, wrap("user sessions", err)
	}
	sessions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Session, error) { return scanSession(r) })
	return sessions, wrap("user sessions", err)
}

// PurgeSessions implements [store.Sessions].
func (db *DB) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	ct, err := db.q(ctx).Exec(ctx, `DELETE FROM sigra_sessions WHERE expires_at < $1 OR revoked_at < $1`, before)
	if err != nil {
		return 0, wrap("purge sessions", err)
	}
	return int(ct.RowsAffected()), nil
}
