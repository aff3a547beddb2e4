package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// impersonatorSuffix is added to the session cookie's base name to name the
// cookie that keeps an impersonating admin's own session token.
const impersonatorSuffix = "_impersonator"

// ImpersonatorCookieName returns the name of the cookie that keeps an
// impersonating admin's own session token (see "Impersonation" in the
// package documentation).
func (m *Manager) ImpersonatorCookieName() string { return m.adminCookie }

// StartImpersonation turns the request's session, which must be a signed-in
// admin's own (not pending, not already impersonating), into an
// impersonation of target. It renews the token into a new session row of
// target: authenticated, at the admin session's AAL (never higher), with
// the single method sigra.MethodImpersonation, no sudo time, and the
// admin's user ID as its impersonator. The impersonation ends after
// Config.ImpersonationIdle without a request or Config.ImpersonationLifetime
// after it started, and never outlasts the admin's session.
//
// The admin's own session is not revoked: its token moves to the cookie
// named by [Manager.ImpersonatorCookieName] (HttpOnly, and Secure,
// SameSite and domain as the session cookie's), which [Manager.StopImpersonation]
// and the end of the time box use to return to it. The values of the
// admin's session (see [Manager.Values]) stay with it; the impersonation
// starts with none.
//
// The session layer does not decide who may impersonate whom: the caller
// checks that the request's user is an admin, that target is not one, and
// that the admin re-authenticated (the route is behind the guard's
// RequireSudo), and records the audit row. Errors: ErrNotSignedIn,
// ErrImpersonating, or an error for a nil target or the admin themself.
func (m *Manager) StartImpersonation(ctx context.Context, target *sigra.User) error {
	if target == nil || target.ID == "" {
		return errors.New("sigra/session: StartImpersonation without a user")
	}
	return m.transition(ctx, func(h *holder) error {
		if h.state != store.SessionAuthenticated || h.userID == "" {
			return ErrNotSignedIn
		}
		if h.impersonator != "" {
			return ErrImpersonating
		}
		if target.ID == h.userID {
			return errors.New("sigra/session: an admin cannot impersonate themself")
		}
		tok := m.scs.Token(ctx)
		if !token.Valid(tok) {
			return ErrNotSignedIn
		}
		now := m.now()
		admin, adminEnds := h.userID, h.expiresAt
		h.adminTok, h.keep = tok, tok
		h.adminSet, h.adminDrop = true, false
		h.user, h.userID = record(target), target.ID
		h.state = store.SessionAuthenticated
		// h.aal stays the admin session's: the impersonation never holds
		// more assurance than the admin proved.
		h.methods = []string{string(sigra.MethodImpersonation)}
		h.authTime, h.sudoTime = now, time.Time{}
		h.activeOrg, h.impersonator = "", admin
		h.remember = false
		h.expiresAt = now.Add(m.cfg.ImpersonationLifetime)
		if adminEnds.Before(h.expiresAt) {
			h.expiresAt = adminEnds
		}
		return m.scs.Clear(ctx)
	})
}

// StopImpersonation ends the request's impersonation: its row is revoked
// and the browser returns to the admin's own session, under a renewed
// token, without a new sign-in. The admin's session must still be live and
// belong to the impersonator; if it does not (it was revoked, expired, or
// the admin cookie is missing or names another user's session), the
// browser is signed out instead and the request continues anonymous. Either
// way the impersonation is over; the request's [sigra.Auth] tells which
// (signed in as the admin, or anonymous). ErrNotImpersonating if the
// session is not an impersonation, or if a concurrent request ended it
// first (then nothing changes: that request's answer carries the admin's
// session).
func (m *Manager) StopImpersonation(ctx context.Context) error {
	h := holderFrom(ctx)
	if h == nil {
		return ErrNoSession
	}
	h.mu.Lock()
	admin, tok := h.impersonator, h.adminTok
	h.mu.Unlock()
	if admin == "" {
		return ErrNotImpersonating
	}
	if err := m.restore(ctx, tok, admin, EndStopped); errors.Is(err, errRestored) {
		return ErrNotImpersonating
	} else if err != nil {
		return err
	}
	return nil
}

// ImpersonationEnds returns when the request's impersonation ends at the
// latest (its absolute end), or zero when the session is not an
// impersonation. Idle for Config.ImpersonationIdle, it ends sooner.
func (m *Manager) ImpersonationEnds(ctx context.Context) time.Time {
	h := holderFrom(ctx)
	if h == nil {
		return time.Time{}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.impersonator == "" {
		return time.Time{}
	}
	return h.expiresAt
}

// impersonationBox runs on every request whose session is an impersonation
// or was not found. A live impersonation keeps the admin's token for
// StopImpersonation and keeps the admin's own session from going idle. An
// impersonation that ended (idle too long, its user barred, or expired, so
// not found) returns to the admin's session when the browser holds the
// admin cookie: an ended impersonation never goes on as the user's session.
//
// It reports whether it ended an impersonation in this request: then
// LoadAndSave answers a state-changing request itself (409
// "impersonation_ended") instead of letting a form of the impersonation
// act on the admin's account.
func (m *Manager) impersonationBox(ctx context.Context, r *http.Request) (ended bool, err error) {
	h := holderFrom(ctx)
	tok := web.CookieValue(r.Header, m.adminCookie)
	h.mu.Lock()
	admin := h.impersonator
	idle := admin != "" && h.loaded != nil && h.now.Sub(h.loaded.LastSeenAt) >= m.cfg.ImpersonationIdle
	barred := admin != "" && h.barred()
	live := admin != "" && h.loaded != nil && !idle && !barred
	touch := live && h.now.Sub(h.loaded.LastSeenAt) >= m.cfg.TouchInterval
	reason := EndExpired
	switch {
	case barred:
		reason = EndUserBarred
	case idle:
		reason = EndIdle
	}
	if live {
		h.adminTok = tok
	}
	h.mu.Unlock()
	if live {
		// The impersonation lasts only while the admin's own session
		// would: signed out, revoked (a sign-out everywhere, a disabled
		// account) or idle, or its user disabled or deleted, ends it now.
		ok, err := m.adminLive(ctx, tok, admin, h.now)
		if err != nil {
			return false, err
		}
		if !ok {
			live, reason = false, EndAdminGone
		} else if ok, err = m.impersonatorAllowed(ctx, admin); err != nil {
			return false, err
		} else if !ok {
			live, reason = false, EndAdminRevoked
		}
	}
	switch {
	case live:
		if touch && token.Valid(tok) {
			// The admin's session is not used while the impersonation
			// lasts: keep it from going idle, once per TouchInterval.
			if err := m.st.TouchSession(ctx, token.Digest(tok), h.now, h.ip, h.ua); err != nil && !errors.Is(err, store.ErrNotFound) {
				m.log.WarnContext(ctx, "session touch failed", "err", err)
			}
		}
		return false, nil
	case admin == "" && tok == "":
		return false, nil // no session, and no impersonation to come back from
	}
	if err := m.restore(ctx, tok, admin, reason); !errors.Is(err, errRestored) {
		return err == nil, err
	}
	// Another request returned to the admin's session first, and its
	// answer sets the cookie: this one goes on anonymous and writes none.
	h.mu.Lock()
	h.reset(h.now)
	h.syncAuth()
	h.mu.Unlock()
	return true, nil
}

// adminLive reports whether tok, from the admin cookie, is admin's own
// live session, authenticated and not itself an impersonation, and admin
// is still allowed to sign in (not disabled, no deletion scheduled): what
// restore needs to return to it. One store read, the session lookup's,
// on every request of an impersonation.
func (m *Manager) adminLive(ctx context.Context, tok, admin string, now time.Time) (bool, error) {
	if !token.Valid(tok) {
		return false, nil
	}
	row, u, err := m.st.SessionWithUser(ctx, token.Digest(tok), now, max(m.cfg.IdleTimeout, 0))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sigra/session: find the impersonator's session: %w", err)
	}
	return adminRow(row, u, admin), nil
}

// adminRow reports whether row, read with its user u, is an admin's own
// session that an impersonation may return to: authenticated, not itself
// an impersonation, of admin (of any user when admin is ""), and u may
// still sign in (not disabled, no deletion scheduled).
func adminRow(row *store.Session, u *store.User, admin string) bool {
	return row != nil && u != nil && row.State == store.SessionAuthenticated && row.Impersonator == "" &&
		row.UserID != "" && (admin == "" || row.UserID == admin) &&
		u.DisabledAt.IsZero() && u.DeletionDueAt.IsZero()
}

// impersonationEndedMessage answers a state-changing request that arrived
// after its impersonation ended and the admin's session came back;
// impersonationEndedOutMessage, one whose browser was signed out instead
// (see restore).
const (
	impersonationEndedMessage    = "The impersonation has ended, so nothing was done. You are back in your own session."
	impersonationEndedOutMessage = "The impersonation has ended, so nothing was done. Your own session has ended too: sign in again."
)

// safeMethod reports whether method changes nothing by HTTP's rules.
func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// digestOf returns the digest of the token the request's row was loaded
// with.
func digestOf(h *holder) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.digest
}

// restore ends the request's impersonation (or what is left of one) and
// returns to the admin session of tok, which must be live and, when admin
// is not empty, belong to admin. Otherwise the browser is signed out.
//
// Several requests of one browser may end the same impersonation at once
// (a double-clicked stop button, the first requests after the time box).
// One claim decides which request ends it: revoking the admin's old token
// by ID (after the impersonation's row). The others get errRestored and
// change nothing (they write no cookie), so the winner's answer is the one
// the browser keeps.
func (m *Manager) restore(ctx context.Context, tok, admin string, reason EndReason) (err error) {
	h := holderFrom(ctx)
	h.mu.Lock()
	loaded := h.loaded != nil && h.impersonator != ""
	userID := h.userID
	h.mu.Unlock()
	end := ImpersonationEnd{AdminID: admin, Reason: reason}
	if loaded {
		end.UserID = userID
	}
	now := m.now()
	var (
		row *store.Session
		u   *store.User
	)
	if token.Valid(tok) {
		idle := max(m.cfg.IdleTimeout, 0)
		var err error
		row, u, err = m.st.SessionWithUser(ctx, token.Digest(tok), now, idle)
		if errors.Is(err, store.ErrNotFound) {
			row = nil
		} else if err != nil {
			return fmt.Errorf("sigra/session: find the impersonator's session: %w", err)
		}
	}
	if !adminRow(row, u, admin) {
		h.mu.Lock()
		h.adminTok = "" // nothing of it to revoke: it is not a live admin session
		h.adminDrop = true
		h.mu.Unlock()
		if !loaded {
			// Only the admin cookie is deleted: the session cookie may
			// already be the one a concurrent request restored.
			return nil
		}
		// The admin's session is gone, or a concurrent request restored
		// it: that one revoked the impersonation first.
		if _, err := m.st.SessionByDigest(ctx, digestOf(h), now, 0); errors.Is(err, store.ErrNotFound) {
			return errRestored
		} else if err != nil {
			return fmt.Errorf("sigra/session: find the impersonation: %w", err)
		}
		if err := m.SignOut(ctx); err != nil {
			return err
		}
		m.impersonationEnded(ctx, end)
		return nil
	}
	_, values, err := Codec{}.Decode(row.Data)
	if err != nil {
		return fmt.Errorf("sigra/session: decode the impersonator's session: %w", err)
	}
	// The impersonation's row is revoked first, then the admin's old
	// token (the session goes on under a new one, a privilege change):
	// revoking that one by ID is the claim. A concurrent request that
	// finds the admin's session gone thus finds the impersonation revoked
	// too, and knows it lost.
	if loaded {
		if err := m.st.RevokeSession(ctx, digestOf(h), now); err != nil {
			return fmt.Errorf("sigra/session: end the impersonation: %w", err)
		}
	}
	if err := m.st.RevokeSessionByID(ctx, row.UserID, row.ID, now); errors.Is(err, store.ErrNotFound) {
		return errRestored
	} else if err != nil {
		return fmt.Errorf("sigra/session: revoke the impersonator's old token: %w", err)
	}
	end.AdminID, end.Restored = row.UserID, true
	defer func() {
		if err == nil {
			m.impersonationEnded(ctx, end)
		}
	}()
	return m.transition(ctx, func(h *holder) error {
		// The impersonation's token is revoked (again) by the renewal.
		h.loaded, h.user = nil, u
		h.userID, h.state, h.aal = row.UserID, row.State, row.AAL
		h.methods = row.Methods
		h.authTime, h.sudoTime = row.AuthTime, row.SudoTime
		h.activeOrg, h.impersonator, h.remember = row.ActiveOrg, "", row.Remember
		h.expiresAt = row.ExpiresAt
		h.adminTok, h.keep = "", ""
		h.adminSet, h.adminDrop = false, true
		if err := m.scs.Clear(ctx); err != nil {
			return err
		}
		for k, v := range values {
			m.scs.Put(ctx, k, v)
		}
		return nil
	})
}

// errRestored: another request ended the impersonation first.
var errRestored = errors.New("sigra/session: the impersonation was ended by another request")

// endAdmin, called under h.mu by the transitions that replace a session
// (SignIn, BeginSecondFactor, SignOut), ends the admin's own session kept
// by an impersonation, and has the commit delete the admin cookie.
func (m *Manager) endAdmin(ctx context.Context, h *holder) error {
	if h.impersonator == "" && h.adminTok == "" {
		return nil
	}
	if token.Valid(h.adminTok) {
		if err := m.st.RevokeSession(ctx, token.Digest(h.adminTok), m.now()); err != nil {
			return fmt.Errorf("sigra/session: revoke the impersonator's session: %w", err)
		}
	}
	h.adminTok, h.keep = "", ""
	h.adminSet, h.adminDrop = false, true
	return nil
}

// writeAdminCookie sets or deletes the admin cookie as the request's
// transitions decided.
func (m *Manager) writeAdminCookie(w http.ResponseWriter, h *holder) {
	if h == nil {
		return
	}
	h.mu.Lock()
	set, drop, tok := h.adminSet, h.adminDrop, h.adminTok
	h.adminSet, h.adminDrop = false, false
	h.mu.Unlock()
	if !set && !drop {
		return
	}
	c := &http.Cookie{
		Name:     m.adminCookie,
		Path:     "/",
		Domain:   m.site.CookieDomain(),
		HttpOnly: true,
		Secure:   m.site.Secure(),
		SameSite: http.SameSiteLaxMode,
	}
	if set {
		c.Value = tok
	} else {
		c.MaxAge = -1
		c.Expires = time.Unix(1, 0)
	}
	w.Header().Add("Set-Cookie", c.String())
}

// EndReason says why an impersonation ended.
type EndReason string

// Reasons an impersonation ends.
const (
	// EndStopped: Manager.StopImpersonation.
	EndStopped EndReason = "stopped"
	// EndIdle: no request for Config.ImpersonationIdle.
	EndIdle EndReason = "idle"
	// EndExpired: Config.ImpersonationLifetime passed, or the row is gone
	// (revoked, for example from the user's device list).
	EndExpired EndReason = "expired"
	// EndAdminGone: the admin's own session, kept by the admin cookie,
	// ended (signed out, revoked, expired or idle), the cookie is gone,
	// or the admin was disabled or deleted or has a deletion scheduled.
	// The browser is signed out.
	EndAdminGone EndReason = "admin_gone"
	// EndAdminRevoked: a function registered with
	// Manager.RequireImpersonator said the admin may impersonate no
	// longer (the admin feature's: the admin role was revoked). The
	// admin's own session comes back.
	EndAdminRevoked EndReason = "admin_revoked"
	// EndUserBarred: the impersonated user was disabled, deleted, or
	// scheduled for deletion.
	EndUserBarred EndReason = "user_barred"
)

// ImpersonationEnd describes an impersonation that ended, for the
// functions registered with [Manager.OnImpersonationEnd].
type ImpersonationEnd struct {
	// AdminID is the impersonator's user ID.
	AdminID string
	// UserID is the impersonated user's ID; empty when the impersonation's
	// row had expired already (only the admin's session tells of it then).
	UserID string
	// Reason says why it ended.
	Reason EndReason
	// Restored reports that the browser is back in the admin's own
	// session; false when it was signed out (the admin's session was no
	// longer live, or not the impersonator's).
	Restored bool
}

// ImpersonationEndFunc is told of an impersonation that ended, in the
// request that ended it, after the session changed: the request's
// sigra.Auth is the admin's restored session, or anonymous.
type ImpersonationEndFunc func(ctx context.Context, e ImpersonationEnd)

// OnImpersonationEnd registers f, called whenever an impersonation ends
// through this manager: explicitly (StopImpersonation) or on the first
// request after its time box closed. The admin feature registers here to
// record the end in the audit log; the time box's end has no route of its
// own to do it. Listeners run in the order registered.
func (m *Manager) OnImpersonationEnd(f ImpersonationEndFunc) {
	if f == nil {
		return
	}
	m.listen.mu.Lock()
	defer m.listen.mu.Unlock()
	m.listen.ends = append(m.listen.ends, f)
}

// ImpersonatorFunc reports whether the admin adminID may go on
// impersonating; see [Manager.RequireImpersonator].
type ImpersonatorFunc func(ctx context.Context, adminID string) (bool, error)

// RequireImpersonator registers f, asked on every request of an
// impersonation, after the admin's own session was found live, whether
// the admin may go on. When any says no, the impersonation ends on that
// request and the admin's session comes back ([EndAdminRevoked]); an error
// answers the request with Config.ErrorHandler, as a failed session load
// does. The admin feature registers its check of the admin role here, so
// revoking the role ends the impersonations the admin is running. Each
// function costs what it reads, on impersonated requests only.
func (m *Manager) RequireImpersonator(f ImpersonatorFunc) {
	if f == nil {
		return
	}
	m.listen.mu.Lock()
	defer m.listen.mu.Unlock()
	m.listen.allowed = append(m.listen.allowed, f)
}

// impersonatorAllowed asks the functions registered with
// RequireImpersonator whether admin may go on impersonating.
func (m *Manager) impersonatorAllowed(ctx context.Context, admin string) (bool, error) {
	m.listen.mu.RLock()
	fns := m.listen.allowed
	m.listen.mu.RUnlock()
	for _, f := range fns {
		ok, err := f(ctx, admin)
		if err != nil {
			return false, fmt.Errorf("sigra/session: check the impersonator: %w", err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// impersonationEnded tells the listeners of e.
func (m *Manager) impersonationEnded(ctx context.Context, e ImpersonationEnd) {
	m.listen.mu.RLock()
	fns := m.listen.ends
	m.listen.mu.RUnlock()
	for _, f := range fns {
		f(ctx, e)
	}
}
