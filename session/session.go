package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/scs/v2"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// Errors returned by the transitions.
var (
	// ErrNotPending: CompleteSecondFactor was called on a session that is
	// not waiting for a second factor (or whose pending state expired).
	ErrNotPending = errors.New("sigra/session: no sign-in is pending")
	// ErrNotSignedIn: the transition needs a signed-in user.
	ErrNotSignedIn = errors.New("sigra/session: not signed in")
	// ErrNoSession: the context does not come from Manager.LoadAndSave.
	ErrNoSession = errors.New("sigra/session: request did not pass through Manager.LoadAndSave")
	// ErrImpersonating: the transition is not open to an impersonated
	// session (Sudo, RaiseAAL, StartImpersonation).
	ErrImpersonating = errors.New("sigra/session: not allowed while impersonating a user")
	// ErrNotImpersonating: StopImpersonation was called on a session that
	// is not impersonating anyone.
	ErrNotImpersonating = errors.New("sigra/session: not impersonating")
)

// Store is what the session manager needs from storage.
type Store interface {
	store.Sessions
}

// Config configures a [Manager]. The zero value is valid and uses the
// default timeouts; cookie attributes, the clock, the logger and the
// client address come from the [site.Site].
type Config struct {
	// CookieName is the session cookie's base name. Default
	// "sigra_session"; the site adds the __Host- prefix where it can (see
	// site.Site.CookieName).
	CookieName string

	// IdleTimeout ends a session after this long without a request. Default
	// 30 minutes; negative disables it. It is accurate to TouchInterval.
	IdleTimeout time.Duration
	// Lifetime is the absolute lifetime of a session from sign-in. Default
	// 24 hours.
	Lifetime time.Duration
	// RememberLifetime is the absolute lifetime of a "remember me" session,
	// whose cookie persists across browser restarts. Default 30 days.
	RememberLifetime time.Duration
	// PendingLifetime is how long a sign-in may wait for its second factor.
	// Default 5 minutes.
	PendingLifetime time.Duration
	// TouchInterval is how often at most a session's last-seen time, IP and
	// user agent are written. Default 1 minute.
	TouchInterval time.Duration

	// ImpersonationIdle ends an impersonation after this long without a
	// request. Default 15 minutes. It is accurate to TouchInterval.
	ImpersonationIdle time.Duration
	// ImpersonationLifetime is the absolute lifetime of an impersonation
	// from its start. Default 30 minutes; it never outlasts the admin's own
	// session.
	ImpersonationLifetime time.Duration

	// ErrorHandler answers when loading or saving the session fails. It is
	// called before the handler's answer is written, and the handler's
	// answer is then dropped. Default: the error is logged ("session
	// error") and answered, as JSON or a minimal HTML page, with 503 and
	// Retry-After when the store is unreachable or too slow (the error
	// wraps store.ErrUnavailable or sigra.ErrBusy, or a deadline passed);
	// when the client went away (the request's context was cancelled) it
	// is logged at Debug only and answered with the status 499 alone,
	// which no client reads; anything else is logged at Error and answered
	// with 500.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Manager manages browser sessions: it loads the session named by the
// cookie, runs the auth state machine, and saves the session row. Create it
// with [New]; it is safe for concurrent use.
type Manager struct {
	cfg  Config
	site *site.Site
	st   Store
	scs  *scs.SessionManager
	now  func() time.Time
	log  *slog.Logger

	// adminCookie names the cookie that keeps an impersonating admin's
	// own session token (see impersonate.go).
	adminCookie string

	// valuesKey is scs's context key of a session's data, nil when it
	// could not be learned (see values.go): then every request loads its
	// values through scs.Load.
	valuesKey any

	listen listeners
}

// New returns a Manager over st for the site s. It fills defaults and
// validates cfg; errors wrap [sigra.ErrConfig].
func New(s *site.Site, st Store, cfg Config) (*Manager, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: session: nil site", sigra.ErrConfig)
	}
	if st == nil {
		return nil, fmt.Errorf("%w: session: nil store", sigra.ErrConfig)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.IdleTimeout, 30*time.Minute)
	def(&cfg.Lifetime, 24*time.Hour)
	def(&cfg.RememberLifetime, 30*24*time.Hour)
	def(&cfg.PendingLifetime, 5*time.Minute)
	def(&cfg.TouchInterval, time.Minute)
	def(&cfg.ImpersonationIdle, 15*time.Minute)
	def(&cfg.ImpersonationLifetime, 30*time.Minute)
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"Lifetime", cfg.Lifetime}, {"RememberLifetime", cfg.RememberLifetime},
		{"PendingLifetime", cfg.PendingLifetime}, {"TouchInterval", cfg.TouchInterval},
		{"ImpersonationIdle", cfg.ImpersonationIdle}, {"ImpersonationLifetime", cfg.ImpersonationLifetime},
	} {
		if d.v < 0 {
			return nil, fmt.Errorf("%w: session: %s is negative", sigra.ErrConfig, d.name)
		}
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "sigra_session"
	}
	if !validCookieName(cfg.CookieName) {
		return nil, fmt.Errorf("%w: session: invalid cookie name %q", sigra.ErrConfig, cfg.CookieName)
	}
	adminCookie := s.CookieName(cfg.CookieName + impersonatorSuffix)
	cfg.CookieName = s.CookieName(cfg.CookieName)
	logger := s.Logger()
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			f := web.Classify(r, err)
			logger.Log(r.Context(), f.Level, "session error", "status", f.Status, "err", err)
			f.Write(w, r)
		}
	}

	m := &Manager{cfg: cfg, site: s, st: st, now: s.Clock(), log: logger, adminCookie: adminCookie}
	sm := scs.New()
	// Idle expiry is enforced by the store from the last-seen time, so scs
	// must not re-commit every request (which would also resurrect revoked
	// sessions with a plain upsert).
	sm.IdleTimeout = 0
	sm.Lifetime = max(cfg.Lifetime, cfg.RememberLifetime)
	sm.Store = &scsStore{m: m}
	sm.Codec = Codec{}
	sm.ErrorFunc = cfg.ErrorHandler
	sm.HashTokenInStore = false
	sm.Cookie = scs.SessionCookie{
		Name:     cfg.CookieName,
		Domain:   s.CookieDomain(),
		HttpOnly: true,
		Path:     "/",
		SameSite: http.SameSiteLaxMode,
		Secure:   s.Secure(),
		Persist:  false,
	}
	m.scs = sm
	m.valuesKey = probeValuesKey(sm)
	return m, nil
}

// Site returns the site the manager was built for.
func (m *Manager) Site() *site.Site { return m.site }

// CookieName returns the session cookie's name.
func (m *Manager) CookieName() string { return m.cfg.CookieName }

// Now returns the site clock's reading.
func (m *Manager) Now() time.Time { return m.now() }

// Values returns the underlying scs session manager, for application
// values (Put, GetString, PopString, ...). Do not call its RenewToken,
// Destroy or Commit: use the transitions of Manager, which keep the session
// row and the auth state in step.
func (m *Manager) Values() *scs.SessionManager { return m.scs }

type holderKey struct{}

// holder is the per-request session state: the row as loaded, the auth
// state the next commit writes, and the *sigra.Auth handed to handlers.
//
// It is also the request's context below LoadAndSave: the parent context
// with the holder as the value of holderKey, which spares the request an
// allocation. Its context methods only read the parent.
type holder struct {
	context.Context // the request's context as LoadAndSave received it

	mu   sync.Mutex
	now  time.Time
	ip   string
	ua   string
	auth *sigra.Auth

	loaded *store.Session // row found for the cookie, nil if none
	user   *store.User    // its user, nil if anonymous

	// What the next commit writes.
	id           string
	userID       string
	state        store.SessionState
	aal          int
	methods      []string
	authTime     time.Time
	sudoTime     time.Time
	activeOrg    string
	impersonator string
	remember     bool
	createdAt    time.Time
	expiresAt    time.Time
	digest       []byte // digest of the token the row was loaded with

	// Impersonation (see impersonate.go): the admin's own session token
	// from the admin cookie, the token RenewToken must not revoke (the
	// admin's, when an impersonation starts), and what the commit does
	// with the admin cookie.
	adminTok  string
	keep      string
	adminSet  bool
	adminDrop bool

	// Storage for what every request needs, so that LoadAndSave allocates
	// one value instead of one for each: the request's Auth and response
	// writer, the digest of the cookie's token, the Vary header's value,
	// and the user and methods of the Auth as loaded (later transitions
	// allocate their own: a handler may hold the ones it was given).
	authv    sigra.Auth
	client   sigra.Client // the request's client, in the context with the Auth
	sw       responseWriter
	digestv  [sha256.Size]byte
	vary     [1]string
	userv    sigra.User
	methodsv [2]sigra.Method
	synced   bool // syncAuth used userv and methodsv

	// The session's values (see values.go): the cookie's token, the row
	// LoadAndSave found for it (kept through reset, for loading the values
	// later), and scs's data once loaded.
	tok   string
	found *store.Session
	sd    atomic.Value
}

// Value returns the holder for holderKey, the request's Auth and Client
// (as sigra.WithAuthClient's context would: the holder carries them
// itself), scs's data of the session for scs's key (see values.go), and
// asks the parent context otherwise.
func (h *holder) Value(key any) any {
	if _, ok := key.(holderKey); ok {
		return h
	}
	if v, ok := sigra.AuthClientValue(key, h.auth, &h.client); ok {
		return v
	}
	if m := h.sw.m; m != nil && m.valuesKey != nil && key == m.valuesKey {
		sd, err := h.values()
		if err != nil {
			// Unreachable: a session whose values could fail to load
			// has them loaded by LoadAndSave, which answers the error.
			panic(err)
		}
		return sd
	}
	return h.Context.Value(key)
}

// reset forgets the loaded row and the auth state, keeping the request's
// address, user agent and Auth pointer.
func (h *holder) reset(now time.Time) {
	h.now = now
	h.loaded, h.user = nil, nil
	h.id, h.userID, h.state, h.aal, h.methods = "", "", "", 0, nil
	h.authTime, h.sudoTime = time.Time{}, time.Time{}
	h.activeOrg, h.impersonator, h.remember = "", "", false
	h.createdAt, h.expiresAt, h.digest = time.Time{}, time.Time{}, nil
	h.adminTok, h.keep = "", ""
}

func holderFrom(ctx context.Context) *holder {
	h, _ := ctx.Value(holderKey{}).(*holder)
	return h
}

func (h *holder) load(s *store.Session, u *store.User) {
	h.loaded, h.user = s, u
	h.id, h.userID, h.state, h.aal = s.ID, s.UserID, s.State, s.AAL
	h.methods = s.Methods
	h.authTime, h.sudoTime = s.AuthTime, s.SudoTime
	h.activeOrg, h.impersonator, h.remember = s.ActiveOrg, s.Impersonator, s.Remember
	h.createdAt, h.expiresAt = s.CreatedAt, s.ExpiresAt
	h.digest = s.Digest
}

// addVaryCookie adds "Vary: Cookie" unless the response already varies on
// cookies (the CSRF middleware, outside this one, adds it too). A response
// without a Vary header gets buf, set to "Cookie", as its value: its
// capacity is its length, so a later append copies it.
func addVaryCookie(h http.Header, buf *[1]string) {
	vs := h["Vary"]
	for _, v := range vs {
		for v != "" {
			var f string
			f, v, _ = strings.Cut(v, ",")
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Cookie") {
				return
			}
		}
	}
	if len(vs) == 0 {
		buf[0] = "Cookie"
		h["Vary"] = buf[:1:1]
		return
	}
	h["Vary"] = append(vs, "Cookie")
}

// barred reports whether the loaded session belongs to a user who may no
// longer be signed in: missing, disabled, or signed in with a deletion
// scheduled. A pending session of a user whose deletion is scheduled is
// not barred: completing that sign-in is how the owner cancels the
// deletion.
func (h *holder) barred() bool {
	if h.loaded == nil || h.userID == "" {
		return false
	}
	u := h.user
	return u == nil || !u.DisabledAt.IsZero() || (!u.DeletionDueAt.IsZero() && h.state != store.SessionPending)
}

// syncAuth rewrites h.auth in place from the holder's fields. The first
// call keeps the user and the methods in the holder; later ones, after a
// handler may have taken them, allocate new ones.
func (h *holder) syncAuth() {
	a := h.auth
	*a = sigra.Auth{State: sigra.StateAnonymous}
	if h.userID == "" || h.user == nil || h.state == "" || h.state == store.SessionAnonymous {
		return
	}
	var (
		u       *sigra.User
		methods []sigra.Method
	)
	if !h.synced {
		u = &h.userv
		if len(h.methods) <= len(h.methodsv) {
			methods = h.methodsv[:len(h.methods):len(h.methods)]
		}
	} else {
		u = new(sigra.User)
	}
	h.synced = true
	if methods == nil {
		methods = make([]sigra.Method, len(h.methods))
	}
	*u = sigra.User{
		ID:               h.user.ID,
		Email:            h.user.Email,
		EmailConfirmedAt: h.user.EmailConfirmedAt,
		CreatedAt:        h.user.CreatedAt,
	}
	a.User = u
	a.SessionID = h.id
	a.State = sigra.State(h.state)
	a.AAL = sigra.AAL(h.aal)
	for i, m := range h.methods {
		methods[i] = sigra.Method(m)
	}
	a.Methods = methods
	a.AuthTime, a.SudoTime = h.authTime, h.sudoTime
	a.ActiveOrg, a.Impersonator = h.activeOrg, h.impersonator
	if h.impersonator != "" {
		a.ImpersonationEnds = h.expiresAt
	}
}

// LoadAndSave is the session middleware. It loads the session named by the
// cookie (one store round trip, which also reads the user), puts the
// request's [sigra.Auth] and [sigra.Client] in the context (in the one
// value that also holds the request's session state; audit rows read the
// client's address, user agent and impersonator from it), updates the
// last-seen time at most once per TouchInterval, and saves the session
// when the handler changed it, before the first byte of the response is
// written.
//
// When loading or saving fails, Config.ErrorHandler answers instead of the
// handler: a failed load never reaches the handler, and after a failed
// save the handler's status and body are dropped (its writes return an
// error). A failed update of the last-seen time is only logged.
func (m *Manager) LoadAndSave(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := &holder{Context: r.Context(), now: m.now()}
		h.sw.m = m
		addVaryCookie(w.Header(), &h.vary)
		h.authv.State = sigra.StateAnonymous
		h.auth = &h.authv
		var ctx context.Context = h
		err := m.find(h, web.CookieValue(r.Header, m.cfg.CookieName))
		switch {
		case err != nil:
		case m.valuesKey == nil:
			ctx, err = m.scs.Load(h, h.tok)
		case h.found != nil && !noValues(h.found.Data):
			// Values to decode: at once, so that a corrupt blob fails
			// here.
			_, err = h.values()
		}
		if err != nil {
			m.cfg.ErrorHandler(w, r, err)
			return
		}
		h.syncAuth()
		ip := m.site.ClientIP(r)
		h.client.IP, h.client.UserAgent = ip, r.UserAgent()
		r = r.WithContext(ctx)
		if h.barred() && h.impersonator == "" {
			// A user who was disabled, whose deletion is scheduled, or who
			// no longer exists is signed out on their next request, by
			// every instance: the row read with the session says so.
			if err := m.SignOut(ctx); err != nil {
				m.cfg.ErrorHandler(w, r, err)
				return
			}
		}
		h.ip, h.ua = clean(ip, 64), clean(h.client.UserAgent, 512)
		if s := h.loaded; s != nil && (h.now.Sub(s.LastSeenAt) >= m.cfg.TouchInterval || s.IP != h.ip || s.UserAgent != h.ua) {
			if err := m.st.TouchSession(ctx, s.Digest, h.now, h.ip, h.ua); err != nil {
				m.log.Log(ctx, min(web.Classify(r, err).Level, slog.LevelWarn), "session touch failed", "err", err)
			}
		}
		ended := false
		if h.impersonator != "" || h.loaded == nil {
			if ended, err = m.impersonationBox(ctx, r); err != nil {
				m.cfg.ErrorHandler(w, r, err)
				return
			}
		}
		h.client.Impersonator = h.auth.Impersonator
		sw := &h.sw
		*sw = responseWriter{ResponseWriter: w, r: r, m: m}
		if ended && !safeMethod(r.Method) {
			// A form of the impersonation, sent after its time box
			// closed, must not act on the admin's own account.
			msg := impersonationEndedMessage
			if h.auth.User == nil {
				msg = impersonationEndedOutMessage
			}
			web.PlainError(sw, r, http.StatusConflict, "impersonation_ended", msg)
		} else {
			next.ServeHTTP(sw, r)
		}
		if !sw.written {
			m.commit(w, r)
		}
	})
}

// commit saves the session if the request changed it and sets the
// cookie. When saving fails it answers with Config.ErrorHandler and
// returns false.
func (m *Manager) commit(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	if h := holderFrom(ctx); h != nil && h.valuesUnread() {
		// Nothing read the values, so nothing changed them.
		m.writeAdminCookie(w, h)
		return true
	}
	switch m.scs.Status(ctx) {
	case scs.Modified:
		tok, expiry, err := m.scs.Commit(ctx)
		if err != nil {
			// The handler may have described its own answer already.
			h := w.Header()
			for _, k := range answerHeaders {
				h.Del(k)
			}
			m.cfg.ErrorHandler(w, r, err)
			return false
		}
		m.scs.WriteSessionCookie(ctx, w, tok, expiry)
		m.writeAdminCookie(w, holderFrom(ctx))
	case scs.Destroyed:
		m.scs.WriteSessionCookie(ctx, w, "", time.Time{})
		m.writeAdminCookie(w, holderFrom(ctx))
	default:
		m.writeAdminCookie(w, holderFrom(ctx))
	}
	return true
}

// answerHeaders are the headers that describe a handler's answer, which
// commit removes before answering an error in its place.
var answerHeaders = []string{
	"Content-Length", "Content-Type", "Content-Encoding", "Content-Disposition", "Content-Range",
	"Location", "Refresh", "ETag", "Last-Modified", "Retry-After",
}

// errNotSaved is what the handler's writes return once saving the session
// failed and the error was answered in place of the handler's answer.
var errNotSaved = errors.New("sigra/session: the session was not saved; the error was answered instead")

// responseWriter saves the session before the first byte of the answer.
type responseWriter struct {
	http.ResponseWriter
	r       *http.Request
	m       *Manager
	written bool // the session was saved, or saving failed
	failed  bool // saving failed: the error was answered, the handler's answer is dropped
}

// begin saves the session on the answer's first write and reports whether
// the handler's answer may be written.
func (w *responseWriter) begin() bool {
	if !w.written {
		w.written = true
		w.failed = !w.m.commit(w.ResponseWriter, w.r)
	}
	return !w.failed
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.begin() {
		return 0, errNotSaved
	}
	return w.ResponseWriter.Write(b)
}

func (w *responseWriter) WriteHeader(code int) {
	if w.begin() {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Auth returns the request's auth state; the same value as
// sigra.AuthFrom(ctx) below LoadAndSave.
func (m *Manager) Auth(ctx context.Context) *sigra.Auth { return sigra.AuthFrom(ctx) }

// User returns the session's user, signed in or pending a second factor,
// or nil. Unlike [sigra.UserFrom] it also returns the user of a pending
// sign-in. It carries no secrets: a flow that needs the stored record
// (password hash, lockout counters) reads it from the store.
func (m *Manager) User(ctx context.Context) *sigra.User {
	h := holderFrom(ctx)
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.userID == "" {
		return nil
	}
	return h.auth.User
}

// Remembered reports whether the session was started with "remember me".
func (m *Manager) Remembered(ctx context.Context) bool {
	h := holderFrom(ctx)
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.remember
}

// PendingUntil returns when the pending sign-in expires; zero if the
// session is not pending.
func (m *Manager) PendingUntil(ctx context.Context) time.Time {
	h := holderFrom(ctx)
	if h == nil {
		return time.Time{}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != store.SessionPending {
		return time.Time{}
	}
	return h.expiresAt
}

// transition renews the token and applies change to the holder under its
// lock, then refreshes the request's Auth. Every privilege change goes
// through here: the old token is revoked (tombstoned) and a new one issued.
func (m *Manager) transition(ctx context.Context, change func(h *holder) error) error {
	h := holderFrom(ctx)
	if h == nil {
		return ErrNoSession
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := change(h); err != nil {
		return err
	}
	now := m.now()
	h.now = now
	h.id = store.NewID()
	h.createdAt = now
	if err := m.scs.RenewToken(ctx); err != nil {
		return fmt.Errorf("sigra/session: renew token: %w", err)
	}
	h.digest = token.Digest(m.scs.Token(ctx))
	// scs keeps "remember me" as a session value. A session that never had
	// it needs no false one (its cookie is a browser-session cookie either
	// way), which leaves a value fewer to decode on every request.
	if h.remember || m.scs.Exists(ctx, rememberKey) {
		m.scs.RememberMe(ctx, h.remember)
	}
	m.scs.SetDeadline(ctx, h.expiresAt)
	h.syncAuth()
	return nil
}

func (m *Manager) lifetime(remember bool) time.Duration {
	if remember {
		return m.cfg.RememberLifetime
	}
	return m.cfg.Lifetime
}

// record is the stored form of u that the holder keeps: the public fields
// only (the session never needs the user's secrets).
func record(u *sigra.User) *store.User {
	return &store.User{ID: u.ID, Email: u.Email, EmailConfirmedAt: u.EmailConfirmedAt, CreatedAt: u.CreatedAt}
}

func methodStrings(ms []sigra.Method) []string {
	out := make([]string, len(ms))
	for i, v := range ms {
		out[i] = string(v)
	}
	return out
}

// SignIn signs u in with the given methods and assurance level, from any
// state (a different user's session is replaced). The token is renewed;
// auth time and sudo time are set to now. remember selects the long
// lifetime and a persistent cookie. The functions registered with
// [Manager.OnSignIn] are then told.
func (m *Manager) SignIn(ctx context.Context, u *sigra.User, methods []sigra.Method, aal sigra.AAL, remember bool) error {
	if u == nil || u.ID == "" {
		return errors.New("sigra/session: SignIn without a user")
	}
	if aal < sigra.AAL1 || aal > sigra.AAL2 || len(methods) == 0 {
		return fmt.Errorf("sigra/session: SignIn with AAL %d and %d methods", aal, len(methods))
	}
	err := m.transition(ctx, func(h *holder) error {
		now := m.now()
		h.user, h.userID = record(u), u.ID
		h.state = store.SessionAuthenticated
		h.aal = int(aal)
		h.methods = methodStrings(methods)
		if err := m.endAdmin(ctx, h); err != nil {
			return err
		}
		h.authTime, h.sudoTime = now, now
		h.activeOrg, h.impersonator = "", ""
		h.remember = remember
		h.expiresAt = now.Add(m.lifetime(remember))
		return nil
	})
	if err != nil {
		return err
	}
	m.signedIn(ctx)
	return nil
}

// BeginSecondFactor records that u passed the first factor (method) and
// must present a second one. The session becomes pending for
// PendingLifetime; it has a user but is not signed in. The token is renewed.
func (m *Manager) BeginSecondFactor(ctx context.Context, u *sigra.User, method sigra.Method, remember bool) error {
	if u == nil || u.ID == "" {
		return errors.New("sigra/session: BeginSecondFactor without a user")
	}
	return m.transition(ctx, func(h *holder) error {
		now := m.now()
		h.user, h.userID = record(u), u.ID
		h.state = store.SessionPending
		h.aal = int(sigra.AAL1)
		h.methods = []string{string(method)}
		if err := m.endAdmin(ctx, h); err != nil {
			return err
		}
		h.authTime, h.sudoTime = time.Time{}, time.Time{}
		h.activeOrg, h.impersonator = "", ""
		h.remember = remember
		h.expiresAt = now.Add(m.cfg.PendingLifetime)
		return nil
	})
}

// CompleteSecondFactor finishes a pending sign-in with the second factor
// method: the session becomes authenticated at AAL2 and the token is
// renewed. ErrNotPending if the session is not pending (an expired pending
// session is not found, so it is anonymous by then). The functions
// registered with [Manager.OnSignIn] are then told.
func (m *Manager) CompleteSecondFactor(ctx context.Context, method sigra.Method) error {
	err := m.transition(ctx, func(h *holder) error {
		now := m.now()
		if h.state != store.SessionPending || h.userID == "" || !now.Before(h.expiresAt) {
			return ErrNotPending
		}
		h.state = store.SessionAuthenticated
		h.aal = int(sigra.AAL2)
		h.methods = append(slices.Clip(h.methods), string(method))
		h.authTime, h.sudoTime = now, now
		h.expiresAt = now.Add(m.lifetime(h.remember))
		return nil
	})
	if err != nil {
		return err
	}
	m.signedIn(ctx)
	return nil
}

// Sudo records that the signed-in user re-entered a credential (method):
// the sudo time becomes now and the token is renewed. ErrNotSignedIn if no
// user is signed in; ErrImpersonating in an impersonated session (an
// admin cannot re-authenticate as the user).
func (m *Manager) Sudo(ctx context.Context, method sigra.Method) error {
	return m.transition(ctx, func(h *holder) error {
		if h.state != store.SessionAuthenticated || h.userID == "" {
			return ErrNotSignedIn
		}
		if h.impersonator != "" {
			return ErrImpersonating
		}
		h.sudoTime = m.now()
		if !slices.Contains(h.methods, string(method)) {
			h.methods = append(slices.Clip(h.methods), string(method))
		}
		return nil
	})
}

// RaiseAAL records that a signed-in user at AAL1 presented a second factor
// (method), raising the session to AAL2; used when a route requires AAL2
// of a user who enrolled a factor after signing in. Sudo time is set too.
// The token is renewed. ErrNotSignedIn if no user is signed in;
// ErrImpersonating in an impersonated session.
func (m *Manager) RaiseAAL(ctx context.Context, method sigra.Method) error {
	return m.transition(ctx, func(h *holder) error {
		if h.state != store.SessionAuthenticated || h.userID == "" {
			return ErrNotSignedIn
		}
		if h.impersonator != "" {
			return ErrImpersonating
		}
		h.aal = int(sigra.AAL2)
		h.sudoTime = m.now()
		if !slices.Contains(h.methods, string(method)) {
			h.methods = append(slices.Clip(h.methods), string(method))
		}
		return nil
	})
}

// SignOut ends the session: the row is revoked, the values are cleared and
// the cookie is deleted (a later write to the session starts a new one with
// a fresh token). Signing out of an impersonation ends the admin's own
// session too: nobody stays signed in on that browser.
func (m *Manager) SignOut(ctx context.Context) error {
	h := holderFrom(ctx)
	if h == nil {
		return ErrNoSession
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := m.endAdmin(ctx, h); err != nil {
		return err
	}
	if err := m.scs.Destroy(ctx); err != nil {
		return fmt.Errorf("sigra/session: sign out: %w", err)
	}
	h.reset(m.now())
	h.syncAuth()
	return nil
}

// clean makes a request header fit a text column: at most n bytes of valid
// UTF-8 without NUL bytes (PostgreSQL refuses both).
func clean(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\x00", "")
}

func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '=' || c == ';' || c == ',' || c == '"' || c == '\\' || c == ':' || c == '(' || c == ')' || c == '<' || c == '>' || c == '@' || c == '/' || c == '[' || c == ']' || c == '?' || c == '{' || c == '}' {
			return false
		}
	}
	return true
}
