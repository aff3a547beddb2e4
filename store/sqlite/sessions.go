package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sigra-go/sigra/store"
)

// sessionCols are the columns of a session row but the digest, which the
// caller already has, and revoked_at: every query that reads sessions
// selects live rows only, whose revoked_at is NULL. Each column is a cost
// on every request (the driver reads its name and type and converts its
// value), so none is read for nothing.
const sessionCols = `s.id, s.data, s.user_id, s.state, s.aal, s.methods, s.auth_time, s.sudo_time,
	s.active_org, s.impersonator, s.remember, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent`

// liveSession selects the live row with a digest: ?1 digest, ?2 now,
// ?3 1 when idle is off, ?4 the idle cutoff.
const liveSession = `s.digest = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2 AND (?3 OR s.last_seen_at > ?4)`

const (
	qSessionByDigest = `SELECT ` + sessionCols + ` FROM sigra_sessions s WHERE ` + liveSession
	// qSessionWithUser is the lookup of every authenticated request: one
	// indexed read of the session and its user.
	qSessionWithUser = `SELECT ` + sessionCols + `,
		u.id, u.email, u.password_hash, u.email_confirmed_at, u.failed_logins, u.locked_until,
		u.failed_mfa, u.mfa_locked_until, u.disabled_at, u.deletion_due_at, u.created_at, u.updated_at
		FROM sigra_sessions s LEFT JOIN sigra_users u ON u.id = s.user_id WHERE ` + liveSession
)

// sessionScan receives one session row.
type sessionScan struct {
	s       store.Session
	methods string
}

func (x *sessionScan) dest() []any {
	s := &x.s
	return []any{
		strDest{&s.ID}, &s.Data, strDest{&s.UserID}, (*string)(&s.State), intDest{&s.AAL}, strDest{&x.methods},
		timeDest{&s.AuthTime}, timeDest{&s.SudoTime}, strDest{&s.ActiveOrg}, strDest{&s.Impersonator},
		boolDest{&s.Remember}, timeDest{&s.CreatedAt}, timeDest{&s.LastSeenAt}, timeDest{&s.ExpiresAt},
		strDest{&s.IP}, strDest{&s.UserAgent},
	}
}

func (x *sessionScan) finish(digest []byte) *store.Session {
	x.s.Digest = bytes.Clone(digest)
	if x.methods != "" {
		x.s.Methods = strings.Split(x.methods, ",")
	}
	return &x.s
}

// liveArgs are the arguments of liveSession.
func liveArgs(digest []byte, now time.Time, idle time.Duration) []any {
	noIdle := idle <= 0
	var cutoff int64
	if !noIdle {
		cutoff = now.Add(-idle).UnixMilli()
	}
	return []any{digest, now.UnixMilli(), noIdle, cutoff}
}

// SessionByDigest returns the live session with digest; see
// [store.Sessions]. Outside a transaction it runs a statement prepared at
// open.
func (db *DB) SessionByDigest(ctx context.Context, digest []byte, now time.Time, idle time.Duration) (*store.Session, error) {
	var row *sql.Row
	if tx := db.tx(ctx); tx != nil {
		row = tx.QueryRowContext(ctx, qSessionByDigest, liveArgs(digest, now, idle)...)
	} else {
		h, err := db.hotStmts(ctx)
		if err != nil {
			return nil, err
		}
		row = h.sessionByDigest.QueryRowContext(ctx, liveArgs(digest, now, idle)...)
	}
	x := new(sessionScan)
	if err := row.Scan(x.dest()...); err != nil {
		return nil, wrap("SessionByDigest", err)
	}
	return x.finish(digest), nil
}

// sessionUser holds a session and its user in one allocation, with room
// for the session's digest and its first methods.
type sessionUser struct {
	sessionScan
	u        store.User
	digest   [32]byte
	methods2 [2]string
}

// result returns the session and its user (nil when the row has none),
// the session's digest a copy of digest.
func (x *sessionUser) result(digest []byte) (*store.Session, *store.User) {
	if len(digest) <= len(x.digest) {
		x.s.Digest = x.digest[:copy(x.digest[:], digest):len(digest)]
	} else {
		x.s.Digest = bytes.Clone(digest)
	}
	return x.records()
}

// records returns the session and its user (nil when the row has none).
func (x *sessionUser) records() (*store.Session, *store.User) {
	if x.u.ID == "" {
		return &x.s, nil
	}
	return &x.s, &x.u
}

// SessionWithUser returns the live session with digest and its user (nil
// for an anonymous session) from one query; see [store.Sessions]. Inside a
// transaction it runs there; otherwise on the lookup connections (see
// lookup.go), a pool of its own beside the reader pool.
//
// Outside a transaction the records may come from the session cache
// (cache.go), shared with the cache and with every other call it answers:
// the store's contract makes them read-only to the caller.
func (db *DB) SessionWithUser(ctx context.Context, digest []byte, now time.Time, idle time.Duration) (*store.Session, *store.User, error) {
	if tx := db.tx(ctx); tx != nil {
		x := new(sessionUser)
		u := &x.u
		err := tx.QueryRowContext(ctx, qSessionWithUser, liveArgs(digest, now, idle)...).Scan(
			strDest{&x.s.ID}, &x.s.Data, strDest{&x.s.UserID}, (*string)(&x.s.State), intDest{&x.s.AAL}, strDest{&x.methods},
			timeDest{&x.s.AuthTime}, timeDest{&x.s.SudoTime}, strDest{&x.s.ActiveOrg}, strDest{&x.s.Impersonator},
			boolDest{&x.s.Remember}, timeDest{&x.s.CreatedAt}, timeDest{&x.s.LastSeenAt}, timeDest{&x.s.ExpiresAt},
			strDest{&x.s.IP}, strDest{&x.s.UserAgent},
			strDest{&u.ID}, strDest{&u.Email}, strDest{&u.PasswordHash}, timeDest{&u.EmailConfirmedAt},
			intDest{&u.FailedLogins}, timeDest{&u.LockedUntil}, intDest{&u.FailedMFA}, timeDest{&u.MFALockedUntil},
			timeDest{&u.DisabledAt}, timeDest{&u.DeletionDueAt}, timeDest{&u.CreatedAt}, timeDest{&u.UpdatedAt},
		)
		if err != nil {
			return nil, nil, wrap("SessionWithUser", err)
		}
		if x.methods != "" {
			x.s.Methods = strings.Split(x.methods, ",")
		}
		s, u := x.result(digest)
		return s, u, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, wrap("SessionWithUser", err)
	}
	var (
		key [sha256.Size]byte
		v   walVersion
		r   *cachedRow // the row to cache, read at version v; nil when it may not be cached
	)
	if db.cache != nil && len(digest) == sha256.Size {
		key = [sha256.Size]byte(digest)
		hit, ver, ok := db.cache.get(&key)
		if hit != nil {
			if !hit.live(now, idle) {
				return nil, nil, notFound("SessionWithUser")
			}
			s, u := hit.x.records()
			return s, u, nil
		}
		if ok {
			r, v = &cachedRow{v: ver}, ver
		}
	}
	var x *sessionUser
	if r != nil {
		x = &r.x
	} else {
		x = new(sessionUser)
	}
	c, err := db.lookup.get(ctx)
	if err != nil {
		return nil, nil, wrap("SessionWithUser", err)
	}
	found, err := c.sessionWithUser(ctx, x, digest, now, idle)
	db.lookup.put(c)
	switch {
	case err != nil:
		return nil, nil, wrap("SessionWithUser", err)
	case !found:
		return nil, nil, notFound("SessionWithUser")
	}
	s, u := x.result(digest)
	if r != nil {
		db.cache.put(&key, v, r)
	}
	return s, u, nil
}

// joinMethods encodes methods as comma-separated text.
func joinMethods(methods []string) (string, error) {
	for _, m := range methods {
		if m == "" || strings.ContainsRune(m, ',') {
			return "", fmt.Errorf("sigra/sqlite: SaveSession: invalid method %q", m)
		}
	}
	return strings.Join(methods, ","), nil
}

// saveSession is the upsert of SaveSession. The active organization is
// kept only if the session's user is a member of it when the row is
// written: the membership is checked in the statement itself (a lookup by
// the primary key of sigra_org_members), so a request that loaded the
// session before the user was removed from the organization stores none.
const saveSession = `INSERT INTO sigra_sessions (digest, id, data, user_id, state, aal, methods,
		auth_time, sudo_time, active_org, impersonator, remember, created_at, last_seen_at, expires_at, revoked_at, ip, user_agent)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
		CASE WHEN ?10 <> '' AND EXISTS (SELECT 1 FROM sigra_org_members WHERE org_id = ?10 AND user_id = ?4) THEN ?10 ELSE '' END,
		?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
	ON CONFLICT (digest) DO UPDATE SET
		data = excluded.data, user_id = excluded.user_id, state = excluded.state, aal = excluded.aal,
		methods = excluded.methods, auth_time = excluded.auth_time, sudo_time = excluded.sudo_time,
		active_org = excluded.active_org, impersonator = excluded.impersonator, remember = excluded.remember,
		last_seen_at = excluded.last_seen_at, expires_at = excluded.expires_at, ip = excluded.ip, user_agent = excluded.user_agent
	WHERE sigra_sessions.revoked_at IS NULL
	RETURNING id, created_at`

// SaveSession inserts s or updates the row with its digest in one
// statement; see [store.Sessions]. A revoked row is left as it is. After an
// insert or update, s.ID and s.CreatedAt hold the row's values. The active
// organization is stored only while the user is a member of it.
func (db *DB) SaveSession(ctx context.Context, s *store.Session) error {
	methods, err := joinMethods(s.Methods)
	if err != nil {
		return err
	}
	id, created := s.ID, s.CreatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = clock()
	}
	err = db.scanRow(ctx, saveSession,
		[]any{s.Digest, id, blob(s.Data), nullStr(s.UserID), string(s.State), s.AAL, methods,
			ms(s.AuthTime), ms(s.SudoTime), s.ActiveOrg, s.Impersonator, s.Remember, ms(created), ms(s.LastSeenAt), ms(s.ExpiresAt), ms(s.RevokedAt),
			s.IP, s.UserAgent},
		&id, timeDest{&created})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil // revoked: the tombstone stays as it is
	case err != nil:
		return wrap("SaveSession", err)
	}
	s.ID, s.CreatedAt = id, created
	return nil
}

// TouchSession records activity on a live session; see [store.Sessions].
func (db *DB) TouchSession(ctx context.Context, digest []byte, seen time.Time, ip, userAgent string) error {
	_, err := db.exec(ctx, `UPDATE sigra_sessions SET last_seen_at = ?, ip = ?, user_agent = ? WHERE digest = ? AND revoked_at IS NULL`,
		ms(seen), ip, userAgent, digest)
	return wrap("TouchSession", err)
}

// RevokeSession sets RevokedAt on the session with digest unless it is
// already revoked; see [store.Sessions].
func (db *DB) RevokeSession(ctx context.Context, digest []byte, now time.Time) error {
	_, err := db.exec(ctx, `UPDATE sigra_sessions SET revoked_at = ? WHERE digest = ? AND revoked_at IS NULL`, ms(now), digest)
	return wrap("RevokeSession", err)
}

// RevokeSessionByID revokes userID's live session with the public id; see
// [store.Sessions].
func (db *DB) RevokeSessionByID(ctx context.Context, userID, id string, now time.Time) error {
	return op("RevokeSessionByID").one(db.exec(ctx, `UPDATE sigra_sessions SET revoked_at = ?1
		WHERE id = ?2 AND user_id = ?3 AND revoked_at IS NULL AND expires_at > ?1`, ms(now), id, userID))
}

// RevokeUserSessions revokes userID's live sessions but the one with digest
// except; see [store.Sessions].
func (db *DB) RevokeUserSessions(ctx context.Context, userID string, except []byte, now time.Time) (int, error) {
	var keep any
	if len(except) > 0 {
		keep = except
	}
	return op("RevokeUserSessions").count(db.exec(ctx, `UPDATE sigra_sessions SET revoked_at = ?1
		WHERE user_id = ?2 AND revoked_at IS NULL AND expires_at > ?1 AND digest IS NOT ?3`, ms(now), userID, keep))
}

// UserSessions lists userID's live sessions, most recently seen first.
func (db *DB) UserSessions(ctx context.Context, userID string, now time.Time) ([]*store.Session, error) {
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT s.digest, `+sessionCols+` FROM sigra_sessions s
		WHERE s.user_id = ? AND s.revoked_at IS NULL AND s.expires_at > ?
		ORDER BY s.last_seen_at DESC, s.id DESC`, userID, ms(now))
	if err != nil {
		return nil, wrap("UserSessions", err)
	}
	defer rows.Close()
	var list []*store.Session
	for rows.Next() {
		x := new(sessionScan)
		var digest []byte
		if err := rows.Scan(append([]any{&digest}, x.dest()...)...); err != nil {
			return nil, wrap("UserSessions", err)
		}
		list = append(list, x.finish(digest))
	}
	return list, wrap("UserSessions", rows.Err())
}

// PurgeSessions deletes rows that expired, or were revoked, before before.
func (db *DB) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	return op("PurgeSessions").count(db.exec(ctx,
		`DELETE FROM sigra_sessions WHERE expires_at < ?1 OR revoked_at < ?1`, ms(before)))
}
