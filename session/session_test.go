package session_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/token"
)

// testStore is what the tests need of a store: the sessions the manager
// uses and the users the tests create and bar.
type testStore interface {
	store.Sessions
	store.Users
}

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// newClock starts at the real time: scs computes cookie Max-Age from the
// real clock, so a clock far from it would make persistent cookies expire.
func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openSQLite opens a fresh SQLite store and returns it with its file.
func openSQLite(t *testing.T) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func openPostgres(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// backends are the real stores the store-dependent tests run on;
// PostgreSQL skips without SIGRA_TEST_POSTGRES.
var backends = []struct {
	name string
	open func(t *testing.T) testStore
}{
	{"sqlite", func(t *testing.T) testStore { db, _ := openSQLite(t); return db }},
	{"postgres", func(t *testing.T) testStore { return openPostgres(t) }},
}

// counting counts the calls the manager makes to a real store: each is
// one round trip. It also keeps a copy of every record SessionWithUser
// returned, which the store's contract makes read-only to the manager
// (the SQLite adapter's cache shares them between requests): unchanged
// reports those the manager changed.
type counting struct {
	store.Sessions
	n atomic.Int64

	mu       sync.Mutex
	returned []returned
}

// returned is a record SessionWithUser returned, with a copy made then.
type returned struct {
	s, sCopy *store.Session
	u, uCopy *store.User
}

// unchanged fails t if the manager changed a record SessionWithUser
// returned to it.
func (c *counting) unchanged(t *testing.T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.returned {
		if !reflect.DeepEqual(r.s, r.sCopy) || !reflect.DeepEqual(r.u, r.uCopy) {
			t.Errorf("a record SessionWithUser returned was changed:\n%+v %+v\nwas\n%+v %+v", r.s, r.u, r.sCopy, r.uCopy)
		}
	}
}

func (c *counting) SessionByDigest(ctx context.Context, d []byte, now time.Time, idle time.Duration) (*store.Session, error) {
	c.n.Add(1)
	return c.Sessions.SessionByDigest(ctx, d, now, idle)
}

func (c *counting) SessionWithUser(ctx context.Context, d []byte, now time.Time, idle time.Duration) (*store.Session, *store.User, error) {
	c.n.Add(1)
	s, u, err := c.Sessions.SessionWithUser(ctx, d, now, idle)
	if err == nil {
		r := returned{s: s, u: u, sCopy: new(store.Session)}
		*r.sCopy = *s
		r.sCopy.Data, r.sCopy.Digest, r.sCopy.Methods = slices.Clone(s.Data), slices.Clone(s.Digest), slices.Clone(s.Methods)
		if u != nil {
			r.uCopy = new(store.User)
			*r.uCopy = *u
		}
		c.mu.Lock()
		c.returned = append(c.returned, r)
		c.mu.Unlock()
	}
	return s, u, err
}

func (c *counting) SaveSession(ctx context.Context, s *store.Session) error {
	c.n.Add(1)
	return c.Sessions.SaveSession(ctx, s)
}

func (c *counting) TouchSession(ctx context.Context, d []byte, seen time.Time, ip, ua string) error {
	c.n.Add(1)
	return c.Sessions.TouchSession(ctx, d, seen, ip, ua)
}

func (c *counting) RevokeSession(ctx context.Context, d []byte, now time.Time) error {
	c.n.Add(1)
	return c.Sessions.RevokeSession(ctx, d, now)
}

func (c *counting) RevokeSessionByID(ctx context.Context, userID, id string, now time.Time) error {
	c.n.Add(1)
	return c.Sessions.RevokeSessionByID(ctx, userID, id, now)
}

func (c *counting) RevokeUserSessions(ctx context.Context, userID string, except []byte, now time.Time) (int, error) {
	c.n.Add(1)
	return c.Sessions.RevokeUserSessions(ctx, userID, except, now)
}

func (c *counting) UserSessions(ctx context.Context, userID string, now time.Time) ([]*store.Session, error) {
	c.n.Add(1)
	return c.Sessions.UserSessions(ctx, userID, now)
}

func (c *counting) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	c.n.Add(1)
	return c.Sessions.PurgeSessions(ctx, before)
}

// options vary the test application.
type options struct {
	cfg  session.Config
	site site.Config // BaseURL defaults to http://localhost
}

// app is a test application: a manager over a real store, with routes that
// drive each transition, served over HTTP with a cookie jar per client.
type app struct {
	t     *testing.T
	st    testStore
	calls *counting
	site  *site.Site
	m     *session.Manager
	clock *clock
	srv   *httptest.Server
	user  *store.User
	// inFlight, when set, runs in the middle of /put.
	inFlight func()
}

func newApp(t *testing.T, st testStore, opt options) *app {
	t.Helper()
	a := &app{t: t, st: st, clock: newClock(), calls: &counting{Sessions: st}}
	t.Cleanup(func() { a.calls.unchanged(t) })
	sc := opt.site
	if sc.BaseURL == "" {
		sc.BaseURL = "http://localhost"
	}
	if sc.Now == nil {
		sc.Now = a.clock.Now
	}
	if sc.Logger == nil {
		sc.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := site.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	a.site = s
	m, err := session.New(s, a.calls, opt.cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.m = m
	a.user = &store.User{Email: "user-" + store.NewID() + "@example.com", PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5", CreatedAt: a.clock.Now()}
	if err := st.CreateUser(context.Background(), a.user); err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(m.LoadAndSave(a.routes()))
	t.Cleanup(a.srv.Close)
	return a
}

// public is the user as a flow hands it to the manager.
func public(u *store.User) *sigra.User {
	return &sigra.User{ID: u.ID, Email: u.Email, EmailConfirmedAt: u.EmailConfirmedAt, CreatedAt: u.CreatedAt}
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	must := func(w http.ResponseWriter, err error) bool {
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return false
		}
		return true
	}
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		au := sigra.AuthFrom(r.Context())
		out := map[string]any{"state": au.State, "aal": au.AAL, "methods": au.Methods, "session": au.SessionID}
		if u := sigra.UserFrom(r.Context()); u != nil {
			out["user"] = u.ID
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(a.m.User(r.Context()))
	})
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		if a.inFlight != nil {
			a.inFlight()
		}
		a.m.Values().Put(r.Context(), "k", r.URL.Query().Get("v"))
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, a.m.Values().GetString(r.Context(), "k"))
	})
	mux.HandleFunc("POST /signin", func(w http.ResponseWriter, r *http.Request) {
		must(w, a.m.SignIn(r.Context(), public(a.user), []sigra.Method{sigra.MethodPassword}, sigra.AAL1, r.URL.Query().Get("remember") == "1"))
	})
	mux.HandleFunc("POST /pending", func(w http.ResponseWriter, r *http.Request) {
		must(w, a.m.BeginSecondFactor(r.Context(), public(a.user), sigra.MethodPassword, false))
	})
	mux.HandleFunc("POST /second", func(w http.ResponseWriter, r *http.Request) {
		must(w, a.m.CompleteSecondFactor(r.Context(), sigra.MethodTOTP))
	})
	mux.HandleFunc("POST /sudo", func(w http.ResponseWriter, r *http.Request) {
		must(w, a.m.Sudo(r.Context(), sigra.MethodPassword))
	})
	mux.HandleFunc("POST /raise", func(w http.ResponseWriter, r *http.Request) {
		must(w, a.m.RaiseAAL(r.Context(), sigra.MethodTOTP))
	})
	mux.HandleFunc("POST /signout", func(w http.ResponseWriter, r *http.Request) {
		must(w, a.m.SignOut(r.Context()))
	})
	mux.HandleFunc("GET /devices", func(w http.ResponseWriter, r *http.Request) {
		ds, err := a.m.Devices(r.Context())
		if must(w, err) {
			_ = json.NewEncoder(w).Encode(ds)
		}
	})
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		must(w, a.m.RevokeDevice(r.Context(), r.URL.Query().Get("id")))
	})
	mux.HandleFunc("POST /revoke-others", func(w http.ResponseWriter, r *http.Request) {
		_, err := a.m.RevokeOtherDevices(r.Context())
		must(w, err)
	})
	return mux
}

// client is one browser.
type client struct {
	a   *app
	c   *http.Client
	jar *cookiejar.Jar
	ua  string
	hdr http.Header
}

// client returns a new browser with a transport of its own: closing any
// test's server closes the idle connections of http.DefaultTransport,
// which breaks a parallel test's request about to reuse one.
func (a *app) client(ua string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{a: a, c: &http.Client{Jar: jar, Transport: http.DefaultTransport.(*http.Transport).Clone()}, jar: jar, ua: ua}
}

// send sends a request and returns the response, whatever its status.
func (c *client) send(method, path string) *http.Response {
	c.a.t.Helper()
	req, _ := http.NewRequest(method, c.a.srv.URL+path, nil)
	for k, v := range c.hdr {
		req.Header[k] = v
	}
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.a.t.Fatal(err)
	}
	c.a.t.Cleanup(func() { res.Body.Close() })
	return res
}

// do sends a request that must succeed.
func (c *client) do(method, path string) *http.Response {
	c.a.t.Helper()
	res := c.send(method, path)
	if res.StatusCode >= 300 {
		b, _ := io.ReadAll(res.Body)
		c.a.t.Fatalf("%s %s: got %d %s, want a success", method, path, res.StatusCode, b)
	}
	return res
}

func (c *client) token() string {
	u, _ := url.Parse(c.a.srv.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == c.a.m.CookieName() {
			return ck.Value
		}
	}
	return ""
}

type who struct {
	State   string
	AAL     int
	Methods []string
	User    string
	Session string
}

func (c *client) whoami() who {
	c.a.t.Helper()
	var w who
	if err := json.NewDecoder(c.do("GET", "/whoami").Body).Decode(&w); err != nil {
		c.a.t.Fatal(err)
	}
	return w
}

// live reports whether the session row of a token is live now.
func (a *app) live(tok string) bool {
	a.t.Helper()
	_, err := a.st.SessionByDigest(context.Background(), token.Digest(tok), a.clock.Now(), 30*time.Minute)
	return err == nil
}

func TestTransitionsRenewToken(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t)
	a := newApp(t, db, options{})
	c := a.client("")

	c.do("POST", "/put?v=x")
	t0 := c.token()
	if t0 == "" || !a.live(t0) {
		t.Fatal("anonymous session not stored")
	}
	if w := c.whoami(); w.State != "anonymous" || w.User != "" {
		t.Fatalf("got %+v, want anonymous", w)
	}

	steps := []struct {
		path  string
		state string
		aal   int
		user  bool
	}{
		{"/pending", "pending", 1, false},
		{"/second", "authenticated", 2, true},
		{"/sudo", "authenticated", 2, true},
		{"/signin", "authenticated", 1, true},
		{"/raise", "authenticated", 2, true},
	}
	prev := t0
	for _, s := range steps {
		c.do("POST", s.path)
		tok := c.token()
		if tok == prev || tok == "" {
			t.Fatalf("%s: got the same token, want a renewed one", s.path)
		}
		if a.live(prev) {
			t.Fatalf("%s: old token still live, want it revoked", s.path)
		}
		if !a.live(tok) {
			t.Fatalf("%s: new token not stored", s.path)
		}
		w := c.whoami()
		if w.State != s.state || w.AAL != s.aal || (w.User != "") != s.user {
			t.Fatalf("%s: got %+v, want state %s aal %d user %v", s.path, w, s.state, s.aal, s.user)
		}
		// Application values survive every transition.
		if got := readBody(t, c.do("GET", "/get")); got != "x" {
			t.Fatalf("%s: value got %q, want %q", s.path, got, "x")
		}
		prev = tok
	}

	c.do("POST", "/signout")
	if got := c.token(); got != "" {
		t.Fatalf("after sign-out the cookie is %q, want it deleted", got)
	}
	if a.live(prev) {
		t.Fatal("sign-out left the session live")
	}
	if w := c.whoami(); w.State != "anonymous" {
		t.Fatalf("after sign-out got %+v, want anonymous", w)
	}
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCompleteSecondFactorNeedsPending(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t)
	a := newApp(t, db, options{})
	c := a.client("")
	c.do("POST", "/signin")
	if res := c.send("POST", "/second"); res.StatusCode != http.StatusConflict {
		t.Fatalf("second factor without pending: got %d, want 409", res.StatusCode)
	}
	if w := c.whoami(); w.AAL != 1 {
		t.Fatalf("AAL got %d, want 1 (no pending sign-in to complete)", w.AAL)
	}
}

// TestRevokedDuringRequestStaysRevoked is scs's trap: a request is in
// flight while its session is revoked; it then changes the session, and
// scs saves it at the end. The session must stay revoked.
func TestRevokedDuringRequestStaysRevoked(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t)
	a := newApp(t, db, options{})
	c := a.client("")
	c.do("POST", "/signin")
	tok := c.token()
	a.inFlight = func() {
		if _, err := a.m.RevokeAll(context.Background(), a.user.ID); err != nil {
			t.Error(err)
		}
	}
	c.do("POST", "/put?v=after")
	a.inFlight = nil
	if a.live(tok) {
		t.Fatal("revoked session came back when the in-flight request saved it")
	}
	if w := c.whoami(); w.State != "anonymous" {
		t.Fatalf("revoked session: got %+v, want anonymous", w)
	}
}

func TestPendingExpires(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t)
	a := newApp(t, db, options{})
	c := a.client("")
	c.do("POST", "/pending")
	a.clock.Add(5*time.Minute + time.Second)
	if w := c.whoami(); w.State != "anonymous" {
		t.Fatalf("pending session after 5 minutes: got %+v, want anonymous", w)
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		db, _ := openSQLite(t)
		a := newApp(t, db, options{})
		c := a.client("")
		c.do("POST", "/signin")
		// Activity every 10 minutes keeps it alive past the idle timeout.
		for range 6 {
			a.clock.Add(10 * time.Minute)
			if w := c.whoami(); w.State != "authenticated" {
				t.Fatalf("active session: got %+v, want authenticated", w)
			}
		}
		a.clock.Add(31 * time.Minute)
		if w := c.whoami(); w.State != "anonymous" {
			t.Fatalf("idle for 31 minutes: got %+v, want anonymous", w)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		t.Parallel()
		db, _ := openSQLite(t)
		a := newApp(t, db, options{cfg: session.Config{IdleTimeout: -1}})
		c := a.client("")
		c.do("POST", "/signin")
		a.clock.Add(23 * time.Hour)
		if w := c.whoami(); w.State != "authenticated" {
			t.Fatalf("after 23 h: got %+v, want authenticated", w)
		}
		a.clock.Add(time.Hour)
		if w := c.whoami(); w.State != "anonymous" {
			t.Fatalf("after 24 h: got %+v, want anonymous", w)
		}
	})
	t.Run("remember", func(t *testing.T) {
		t.Parallel()
		db, _ := openSQLite(t)
		a := newApp(t, db, options{cfg: session.Config{IdleTimeout: -1}})
		c := a.client("")
		res := c.do("POST", "/signin?remember=1")
		ck := findCookie(res, a.m.CookieName())
		if ck == nil || ck.MaxAge <= 0 {
			t.Fatalf("remember-me cookie: got %+v, want a positive Max-Age", ck)
		}
		a.clock.Add(29 * 24 * time.Hour)
		if w := c.whoami(); w.State != "authenticated" {
			t.Fatalf("remembered session after 29 days: got %+v, want authenticated", w)
		}
		a.clock.Add(24*time.Hour + time.Second)
		if w := c.whoami(); w.State != "anonymous" {
			t.Fatalf("remembered session after 30 days: got %+v, want anonymous", w)
		}
		plain := a.client("")
		res = plain.do("POST", "/signin")
		if ck := findCookie(res, a.m.CookieName()); ck == nil || ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Fatalf("cookie without remember-me: got %+v, want a session cookie", ck)
		}
	})
}

func findCookie(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestLastSeenWrittenAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t)
	a := newApp(t, db, options{})
	c := a.client("agent/1")
	c.do("POST", "/signin")
	tok := c.token()
	seen := func() time.Time {
		s, err := a.st.SessionByDigest(context.Background(), token.Digest(tok), a.clock.Now(), 0)
		if err != nil {
			t.Fatal(err)
		}
		return s.LastSeenAt
	}
	first := seen()
	a.clock.Add(30 * time.Second)
	before := a.calls.n.Load()
	c.whoami()
	if got := seen(); !got.Equal(first) {
		t.Fatalf("last seen after 30 s: got %v, want %v (unchanged)", got, first)
	}
	if got := a.calls.n.Load() - before; got != 1 {
		t.Fatalf("store calls of a request within the touch interval: got %d, want 1", got)
	}
	a.clock.Add(31 * time.Second)
	c.whoami()
	if got := seen(); !got.Equal(a.clock.Now()) {
		t.Fatalf("last seen after 61 s: got %v, want %v", got, a.clock.Now())
	}
}

func TestNewFromSite(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t)
	u := &store.User{Email: "cookie@example.com"}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		site   site.Config
		cfg    session.Config
		cookie string
		secure bool
		domain string
	}{
		{"https", site.Config{BaseURL: "https://app.example.com"}, session.Config{}, "__Host-sigra_session", true, ""},
		{"local http", site.Config{BaseURL: "http://localhost:8080"}, session.Config{}, "sigra_session", false, ""},
		{"loopback IPv4", site.Config{BaseURL: "http://127.0.0.1:8080"}, session.Config{}, "sigra_session", false, ""},
		{"loopback IPv6", site.Config{BaseURL: "http://[::1]:8080"}, session.Config{}, "sigra_session", false, ""},
		{"cookie domain", site.Config{BaseURL: "https://app.example.com", CookieDomain: "example.com"}, session.Config{}, "sigra_session", true, "example.com"},
		{"own cookie name", site.Config{BaseURL: "https://app.example.com"}, session.Config{CookieName: "app_session"}, "__Host-app_session", true, ""},
		{"own cookie name on local http", site.Config{BaseURL: "http://localhost"}, session.Config{CookieName: "app_session"}, "app_session", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := site.New(tt.site)
			if err != nil {
				t.Fatal(err)
			}
			m, err := session.New(s, db, tt.cfg)
			if err != nil {
				t.Fatalf("New: got %v, want no error", err)
			}
			if m.Site() != s {
				t.Errorf("Site: got %p, want the site given to New (%p)", m.Site(), s)
			}
			if got := m.CookieName(); got != tt.cookie {
				t.Errorf("CookieName: got %q, want %q", got, tt.cookie)
			}
			h := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := m.SignIn(r.Context(), public(u), []sigra.Method{sigra.MethodPassword}, sigra.AAL1, false); err != nil {
					t.Error(err)
				}
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
			ck := findCookie(rec.Result(), tt.cookie)
			if ck == nil {
				t.Fatalf("Set-Cookie: got %q, want a cookie named %s", rec.Result().Header["Set-Cookie"], tt.cookie)
			}
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != tt.secure || ck.Path != "/" || ck.Domain != tt.domain {
				t.Errorf("cookie: got %+v, want HttpOnly, SameSite=Lax, Path=/, Domain=%q, Secure=%v", ck, tt.domain, tt.secure)
			}
			if !token.Valid(ck.Value) {
				t.Errorf("cookie value %q: got an invalid token, want a session token", ck.Value)
			}
		})
	}
}

func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t)
	s, err := site.New(site.Config{BaseURL: "https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		site *site.Site
		st   session.Store
		cfg  session.Config
		want string // in the message
	}{
		{"nil site", nil, db, session.Config{}, "site"},
		{"nil store", s, nil, session.Config{}, "store"},
		{"negative lifetime", s, db, session.Config{Lifetime: -time.Hour}, "Lifetime"},
		{"negative remember lifetime", s, db, session.Config{RememberLifetime: -time.Hour}, "RememberLifetime"},
		{"negative pending lifetime", s, db, session.Config{PendingLifetime: -time.Minute}, "PendingLifetime"},
		{"negative touch interval", s, db, session.Config{TouchInterval: -time.Second}, "TouchInterval"},
		{"cookie name with a space", s, db, session.Config{CookieName: "my session"}, "cookie name"},
		{"cookie name with a semicolon", s, db, session.Config{CookieName: "a;b"}, "cookie name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := session.New(tt.site, tt.st, tt.cfg)
			if !errors.Is(err, sigra.ErrConfig) {
				t.Fatalf("New: got %v, want an error wrapping sigra.ErrConfig", err)
			}
			if m != nil {
				t.Errorf("New: got a manager with the error, want nil")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestMalformedCookieIsAnonymous(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t)
	a := newApp(t, db, options{})
	hc := a.client("").c
	for _, v := range []string{"x", strings.Repeat("A", 43) + "=", "../../etc", strings.Repeat("é", 22)} {
		req, _ := http.NewRequest("GET", a.srv.URL+"/whoami", nil)
		req.AddCookie(&http.Cookie{Name: a.m.CookieName(), Value: url.QueryEscape(v)})
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var w who
		_ = json.NewDecoder(res.Body).Decode(&w)
		res.Body.Close()
		if res.StatusCode != 200 || w.State != "anonymous" {
			t.Fatalf("cookie %q: got %d %+v, want 200 anonymous", v, res.StatusCode, w)
		}
	}
}

// TestBarredUserSignedOut: a user who was disabled, whose deletion is
// scheduled (unless the sign-in is pending: completing it cancels the
// deletion) or who no longer exists is signed out on the next request:
// it continues anonymous, the row is revoked and the cookie deleted, at
// the cost of the revocation write only (the user comes with the session
// in one round trip). A healthy user is untouched.
func TestBarredUserSignedOut(t *testing.T) {
	t.Parallel()
	type barFunc func(t *testing.T, st testStore, path string, u *store.User, now time.Time)
	// disable marks the user disabled below the store's SetDisabled (which
	// also revokes the sessions), as a host's own store or an operator's
	// SQL might: the session manager must still sign the user out.
	disable := func(t *testing.T, st testStore, path string, u *store.User, now time.Time) {
		var err error
		switch db := st.(type) {
		case *postgres.DB:
			_, err = db.Pool().Exec(context.Background(), `UPDATE sigra_users SET disabled_at = $1 WHERE id = $2`, now, u.ID)
		default:
			var raw *sql.DB
			if raw, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)"); err == nil {
				defer raw.Close()
				_, err = raw.Exec(`UPDATE sigra_users SET disabled_at = ? WHERE id = ?`, now.UnixMilli(), u.ID)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	scheduleDeletion := func(t *testing.T, st testStore, _ string, u *store.User, now time.Time) {
		if err := st.ScheduleDeletion(context.Background(), u.ID, now.Add(time.Hour), now); err != nil {
			t.Fatal(err)
		}
	}
	// deleteKeepingSessions removes the user row but not its sessions, as a
	// host's store without cascading deletes would.
	deleteKeepingSessions := func(t *testing.T, _ testStore, path string, u *store.User, _ time.Time) {
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(0)&_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if _, err := raw.Exec(`DELETE FROM sigra_users WHERE id = ?`, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		backend string
		start   string // the route that signs in
		bar     barFunc
		barred  bool
	}{
		{"healthy", "sqlite", "/signin", nil, false},
		{"disabled", "sqlite", "/signin", disable, true},
		{"deletion scheduled", "sqlite", "/signin", scheduleDeletion, true},
		{"deleted", "sqlite", "/signin", deleteKeepingSessions, true},
		{"pending and disabled", "sqlite", "/pending", disable, true},
		// Completing the sign-in is how the owner cancels the deletion.
		{"pending, deletion scheduled", "sqlite", "/pending", scheduleDeletion, false},
		{"pending, deletion scheduled on postgres", "postgres", "/pending", scheduleDeletion, false},
		{"healthy on postgres", "postgres", "/signin", nil, false},
		{"disabled on postgres", "postgres", "/signin", disable, true},
		{"deletion scheduled on postgres", "postgres", "/signin", scheduleDeletion, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var st testStore
			var path string
			if tt.backend == "postgres" {
				st = openPostgres(t)
			} else {
				st, path = openSQLite(t)
			}
			a := newApp(t, st, options{})
			c := a.client("")
			c.do("POST", tt.start)
			tok := c.token()
			if tt.bar != nil {
				tt.bar(t, st, path, a.user, a.clock.Now())
			}

			before := a.calls.n.Load()
			res := c.do("GET", "/whoami")
			calls := a.calls.n.Load() - before
			var w who
			if err := json.NewDecoder(res.Body).Decode(&w); err != nil {
				t.Fatal(err)
			}
			ck := findCookie(res, a.m.CookieName())
			if !tt.barred {
				want := "authenticated"
				if tt.start == "/pending" {
					want = "pending"
				}
				if w.State != want || (want == "authenticated" && w.User != a.user.ID) {
					t.Errorf("request: got %+v, want the user still signed in", w)
				}
				if ck != nil {
					t.Errorf("Set-Cookie: got %+v, want none", ck)
				}
				if !a.live(tok) {
					t.Error("healthy user's session: got revoked, want live")
				}
				if calls != 1 {
					t.Errorf("store calls: got %d, want 1 (the session with its user)", calls)
				}
				return
			}
			if w.State != "anonymous" || w.User != "" {
				t.Errorf("request: got %+v, want it to continue anonymous", w)
			}
			if ck == nil || ck.MaxAge >= 0 {
				t.Errorf("Set-Cookie: got %+v, want the session cookie deleted", ck)
			}
			if got := c.token(); got != "" {
				t.Errorf("browser cookie after the request: got %q, want none", got)
			}
			if calls != 2 {
				t.Errorf("store calls: got %d, want 2 (the session with its user, and its revocation)", calls)
			}
			if a.live(tok) {
				t.Error("barred user's session: got live, want revoked")
			}
			if path != "" {
				raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
				var revoked bool
				if err := raw.QueryRow(`SELECT revoked_at IS NOT NULL FROM sigra_sessions WHERE digest = ?`, token.Digest(tok)).Scan(&revoked); err != nil {
					t.Fatalf("session row: %v", err)
				}
				if !revoked {
					t.Error("session row: got revoked_at NULL, want the row revoked (a tombstone)")
				}
			}
			// The next request of that browser is anonymous too.
			if w := c.whoami(); w.State != "anonymous" {
				t.Errorf("next request: got %+v, want anonymous", w)
			}
		})
	}
}

// TestDeletedUserSessionsGo: deleting a user with the store's DeleteUser
// removes its sessions, so its browser is anonymous at once.
func TestDeletedUserSessionsGo(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, b.open(t), options{})
			c := a.client("")
			c.do("POST", "/signin")
			if err := a.st.DeleteUser(context.Background(), a.user.ID); err != nil {
				t.Fatal(err)
			}
			if w := c.whoami(); w.State != "anonymous" || w.User != "" {
				t.Fatalf("after DeleteUser: got %+v, want anonymous", w)
			}
		})
	}
}

// TestUserHasNoSecrets: User returns the public user of a signed-in or
// pending session, never the stored record.
func TestUserHasNoSecrets(t *testing.T) {
	t.Parallel()
	// The type itself carries nothing secret.
	typ := reflect.TypeFor[sigra.User]()
	for i := range typ.NumField() {
		name := strings.ToLower(typ.Field(i).Name)
		for _, w := range []string{"password", "hash", "secret", "token", "failed", "locked"} {
			if strings.Contains(name, w) {
				t.Errorf("sigra.User field %s: got a secret-looking field, want none", typ.Field(i).Name)
			}
		}
	}

	db, _ := openSQLite(t)
	a := newApp(t, db, options{})
	tests := []struct {
		name  string
		start string
		want  bool
	}{
		{"anonymous", "", false},
		{"pending", "/pending", true},
		{"signed in", "/signin", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := a.client("")
			if tt.start != "" {
				c.do("POST", tt.start)
			}
			body := readBody(t, c.do("GET", "/user"))
			if !tt.want {
				if strings.TrimSpace(body) != "null" {
					t.Fatalf("User: got %s, want null", body)
				}
				return
			}
			var got sigra.User
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if got.ID != a.user.ID || got.Email != a.user.Email || !got.CreatedAt.Equal(a.user.CreatedAt) {
				t.Errorf("User: got %+v, want ID %s and email %s", got, a.user.ID, a.user.Email)
			}
			if strings.Contains(body, "argon2") || strings.Contains(strings.ToLower(body), "password") {
				t.Errorf("User: got %s, want no password hash", body)
			}
		})
	}
}

// TestClientAddress: the session row records the client address as the
// site resolves it: the peer, or behind a trusted proxy the forwarded
// address.
func TestClientAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		proxies []string
		xff     string
		want    string
	}{
		{"direct", nil, "", "127.0.0.1"},
		{"forwarding header ignored without a trusted proxy", nil, "198.51.100.7", "127.0.0.1"},
		{"trusted proxy", []string{"127.0.0.1"}, "198.51.100.7", "198.51.100.7"},
		{"trusted proxy, spoofed left part", []string{"127.0.0.0/8"}, "203.0.113.9, 198.51.100.7", "198.51.100.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, _ := openSQLite(t)
			a := newApp(t, db, options{site: site.Config{TrustedProxies: tt.proxies}})
			c := a.client("agent/1")
			if tt.xff != "" {
				c.hdr = http.Header{"X-Forwarded-For": {tt.xff}}
			}
			c.do("POST", "/signin")
			s, err := a.st.SessionByDigest(context.Background(), token.Digest(c.token()), a.clock.Now(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if s.IP != tt.want || s.UserAgent != "agent/1" {
				t.Errorf("row: got IP %q, user agent %q; want %q, %q", s.IP, s.UserAgent, tt.want, "agent/1")
			}
		})
	}
}

func TestDevices(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t)
	a := newApp(t, db, options{})
	chrome := a.client("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36")
	firefox := a.client("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0")
	third := a.client("curl/8.0")
	for _, c := range []*client{chrome, firefox, third} {
		c.do("POST", "/signin")
	}
	var ds []session.Device
	if err := json.NewDecoder(chrome.do("GET", "/devices").Body).Decode(&ds); err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 {
		t.Fatalf("got %d devices, want 3", len(ds))
	}
	if !ds[0].Current {
		t.Errorf("first device: got %+v, want the current one first", ds[0])
	}
	var current, ff session.Device
	for _, d := range ds {
		if d.Current {
			current = d
		}
		if d.Browser == "Firefox" {
			ff = d
		}
	}
	if current.Browser != "Chrome" || current.OS != "Windows" {
		t.Fatalf("current device: got %+v, want Chrome on Windows", current)
	}
	if ff.ID == "" || ff.OS != "Linux" || ff.IP != "127.0.0.1" {
		t.Fatalf("firefox device: got %+v, want Firefox on Linux from 127.0.0.1", ff)
	}

	chrome.do("POST", "/revoke?id="+ff.ID)
	if w := firefox.whoami(); w.State != "anonymous" {
		t.Fatalf("revoked device: got %+v, want anonymous", w)
	}
	chrome.do("POST", "/revoke-others")
	if w := third.whoami(); w.State != "anonymous" {
		t.Fatalf("other device: got %+v, want anonymous", w)
	}
	if w := chrome.whoami(); w.State != "authenticated" {
		t.Fatalf("this device after revoking the others: got %+v, want authenticated", w)
	}

	// Another user's session id is not found, and nothing is revoked.
	other := newApp(t, a.st, options{})
	oc := other.client("")
	oc.do("POST", "/signin")
	var ods []session.Device
	if err := json.NewDecoder(oc.do("GET", "/devices").Body).Decode(&ods); err != nil {
		t.Fatal(err)
	}
	if res := chrome.send("POST", "/revoke?id="+ods[0].ID); res.StatusCode == 200 {
		t.Fatal("revoking another user's session: got 200, want a refusal")
	}
	if w := oc.whoami(); w.State != "authenticated" {
		t.Fatalf("another user's session: got %+v, want authenticated", w)
	}

	// Revoking the current device signs this browser out.
	chrome.do("POST", "/revoke?id="+current.ID)
	if w := chrome.whoami(); w.State != "anonymous" {
		t.Fatalf("after revoking its own device: got %+v, want anonymous", w)
	}
}

// TestTwoInstances: two managers (two app instances) over one database
// (one PostgreSQL database; one SQLite file, each instance with its own
// session cache, warm before each change); a session revoked through one
// is refused by the other on its next request, and so is the session of a
// user disabled through one.
func TestTwoInstances(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		twoInstances(t, func() testStore {
			db, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(db.Close)
			return db
		})
	})
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "s.db")
		twoInstances(t, func() testStore {
			db, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
}

func twoInstances(t *testing.T, open func() testStore) {
	ctx := context.Background()
	one := newApp(t, open(), options{})
	two := newApp(t, open(), options{})
	two.user = one.user

	hc := two.client("").c
	ask := func(tok string) who {
		req, _ := http.NewRequest("GET", two.srv.URL+"/whoami", nil)
		req.AddCookie(&http.Cookie{Name: two.m.CookieName(), Value: tok})
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var w who
		_ = json.NewDecoder(res.Body).Decode(&w)
		return w
	}

	c := one.client("")
	c.do("POST", "/signin")
	tok := c.token()
	// The same cookie presented to the second instance is signed in there
	// (asked twice, so a cache has the row).
	for range 2 {
		if w := ask(tok); w.State != "authenticated" {
			t.Fatalf("second instance: got %+v, want authenticated", w)
		}
	}
	if _, err := one.m.RevokeAll(ctx, one.user.ID); err != nil {
		t.Fatal(err)
	}
	if w := ask(tok); w.State != "anonymous" {
		t.Fatalf("second instance after revocation through the first: got %+v, want anonymous", w)
	}

	c.do("POST", "/signin")
	tok = c.token()
	for range 2 {
		if w := ask(tok); w.State != "authenticated" {
			t.Fatalf("second instance, signed in again: got %+v, want authenticated", w)
		}
	}
	if err := one.st.SetDisabled(ctx, one.user.ID, one.clock.Now(), one.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if w := ask(tok); w.State != "anonymous" {
		t.Fatalf("second instance after the user was disabled: got %+v, want anonymous", w)
	}
	if one.live(tok) {
		t.Fatal("disabled user's session: got live, want revoked by the instance that saw it")
	}
}

// TestVaryCookieOnce: the session middleware says the response varies on
// cookies once, even below a middleware (CSRF) that said so already.
func TestVaryCookieOnce(t *testing.T) {
	s, err := site.New(site.Config{BaseURL: "http://localhost", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(s, mustSQLite(t), session.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, tc := range []struct {
		name  string
		outer func(http.Handler) http.Handler
	}{
		{"alone", func(h http.Handler) http.Handler { return h }},
		{"below another", func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Vary", "Cookie")
				h.ServeHTTP(w, r)
			})
		}},
		{"below a list", func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Vary", "Accept-Encoding, cookie")
				h.ServeHTTP(w, r)
			})
		}},
	} {
		w := httptest.NewRecorder()
		tc.outer(m.LoadAndSave(ok)).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		n := 0
		for _, v := range w.Header().Values("Vary") {
			for _, f := range strings.Split(v, ",") {
				if strings.EqualFold(strings.TrimSpace(f), "cookie") {
					n++
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: got %d mentions of Cookie in Vary %q, want 1", tc.name, n, w.Header().Values("Vary"))
		}
	}
}

func mustSQLite(t *testing.T) *sqlite.DB {
	db, _ := openSQLite(t)
	return db
}
