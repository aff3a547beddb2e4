package session_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/token"
)

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

func openSQLite(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// app is a test application: a manager over a real store, with routes that
// drive each transition, served over HTTP with a cookie jar per client.
type app struct {
	t     *testing.T
	st    store.Store
	m     *session.Manager
	clock *clock
	srv   *httptest.Server
	user  *store.User
	// inFlight, when set, runs in the middle of /put.
	inFlight func()
}

func newApp(t *testing.T, st store.Store, cfg session.Config) *app {
	t.Helper()
	a := &app{t: t, st: st, clock: newClock()}
	if cfg.Now == nil {
		cfg.Now = a.clock.Now
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://localhost"
	}
	m, err := session.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.m = m
	a.user = &store.User{Email: "user-" + store.NewID() + "@example.com", CreatedAt: a.clock.Now()}
	if err := st.CreateUser(context.Background(), a.user); err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(m.LoadAndSave(a.routes()))
	t.Cleanup(a.srv.Close)
	return a
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
		must(w, a.m.SignIn(r.Context(), a.user, []sigra.Method{sigra.MethodPassword}, sigra.AAL1, r.URL.Query().Get("remember") == "1"))
	})
	mux.HandleFunc("POST /pending", func(w http.ResponseWriter, r *http.Request) {
		must(w, a.m.BeginSecondFactor(r.Context(), a.user, sigra.MethodPassword, false))
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
}

func (a *app) client(ua string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{a: a, c: &http.Client{Jar: jar}, jar: jar, ua: ua}
}

func (c *client) do(method, path string) *http.Response {
	c.a.t.Helper()
	req, _ := http.NewRequest(method, c.a.srv.URL+path, nil)
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.a.t.Fatal(err)
	}
	c.a.t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode >= 300 {
		b, _ := io.ReadAll(res.Body)
		c.a.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
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

// row reads the session row for a token, revoked or not, through a lookup
// at a time before its expiry.
func (a *app) live(tok string) bool {
	a.t.Helper()
	_, err := a.st.SessionByDigest(context.Background(), token.Digest(tok), a.clock.Now(), 30*time.Minute)
	return err == nil
}

func TestTransitionsRenewToken(t *testing.T) {
	t.Parallel()
	a := newApp(t, openSQLite(t), session.Config{})
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
			t.Fatalf("%s: token not renewed", s.path)
		}
		if a.live(prev) {
			t.Fatalf("%s: old token still live", s.path)
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
			t.Fatalf("%s: value %q lost", s.path, got)
		}
		prev = tok
	}

	c.do("POST", "/signout")
	if c.token() != "" {
		t.Fatal("sign-out left the cookie")
	}
	if a.live(prev) {
		t.Fatal("sign-out left the session live")
	}
	if w := c.whoami(); w.State != "anonymous" {
		t.Fatalf("after sign-out got %+v", w)
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
	a := newApp(t, openSQLite(t), session.Config{})
	c := a.client("")
	c.do("POST", "/signin")
	req, _ := http.NewRequest("POST", a.srv.URL+"/second", nil)
	res, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("second factor without pending: got %d, want 409", res.StatusCode)
	}
	if w := c.whoami(); w.AAL != 1 {
		t.Fatalf("AAL rose to %d without a pending sign-in", w.AAL)
	}
}

// TestRevokedDuringRequestStaysRevoked is scs's trap: a request is in
// flight while its session is revoked; it then changes the session, and
// scs saves it at the end. The session must stay revoked.
func TestRevokedDuringRequestStaysRevoked(t *testing.T) {
	t.Parallel()
	a := newApp(t, openSQLite(t), session.Config{})
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
		t.Fatalf("revoked session still signed in: %+v", w)
	}
}

func TestPendingExpires(t *testing.T) {
	t.Parallel()
	a := newApp(t, openSQLite(t), session.Config{})
	c := a.client("")
	c.do("POST", "/pending")
	a.clock.Add(5*time.Minute + time.Second)
	if w := c.whoami(); w.State != "anonymous" {
		t.Fatalf("pending session alive after 5 minutes: %+v", w)
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		a := newApp(t, openSQLite(t), session.Config{})
		c := a.client("")
		c.do("POST", "/signin")
		// Activity every 10 minutes keeps it alive past the idle timeout.
		for range 6 {
			a.clock.Add(10 * time.Minute)
			if w := c.whoami(); w.State != "authenticated" {
				t.Fatalf("active session ended: %+v", w)
			}
		}
		a.clock.Add(31 * time.Minute)
		if w := c.whoami(); w.State != "anonymous" {
			t.Fatalf("idle session alive after 31 minutes: %+v", w)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		t.Parallel()
		a := newApp(t, openSQLite(t), session.Config{IdleTimeout: -1})
		c := a.client("")
		c.do("POST", "/signin")
		a.clock.Add(23 * time.Hour)
		if w := c.whoami(); w.State != "authenticated" {
			t.Fatalf("session ended before 24 h: %+v", w)
		}
		a.clock.Add(time.Hour)
		if w := c.whoami(); w.State != "anonymous" {
			t.Fatalf("session alive after 24 h: %+v", w)
		}
	})
	t.Run("remember", func(t *testing.T) {
		t.Parallel()
		a := newApp(t, openSQLite(t), session.Config{IdleTimeout: -1})
		c := a.client("")
		res := c.do("POST", "/signin?remember=1")
		ck := findCookie(res, a.m.CookieName())
		if ck == nil || ck.MaxAge <= 0 {
			t.Fatalf("remember-me cookie is not persistent: %+v", ck)
		}
		a.clock.Add(29 * 24 * time.Hour)
		if w := c.whoami(); w.State != "authenticated" {
			t.Fatalf("remembered session ended before 30 days: %+v", w)
		}
		a.clock.Add(24*time.Hour + time.Second)
		if w := c.whoami(); w.State != "anonymous" {
			t.Fatalf("remembered session alive after 30 days: %+v", w)
		}
		plain := a.client("")
		res = plain.do("POST", "/signin")
		if ck := findCookie(res, a.m.CookieName()); ck == nil || ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Fatalf("a session without remember-me got a persistent cookie: %+v", ck)
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
	a := newApp(t, openSQLite(t), session.Config{})
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
	c.whoami()
	if got := seen(); !got.Equal(first) {
		t.Fatalf("last seen written after 30 s: %v → %v", first, got)
	}
	a.clock.Add(31 * time.Second)
	c.whoami()
	if got := seen(); !got.Equal(a.clock.Now()) {
		t.Fatalf("last seen after 61 s: got %v, want %v", got, a.clock.Now())
	}
}

func TestCookieAttributes(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	u := &store.User{Email: "cookie@example.com"}
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		base   string
		name   string
		secure bool
	}{
		{"https://app.example.com", "__Host-sigra_session", true},
		{"", "__Host-sigra_session", true},
		{"http://localhost:8080", "sigra_session", false},
		{"http://127.0.0.1:8080", "sigra_session", false},
		{"http://[::1]:8080", "sigra_session", false},
	}
	for _, tc := range cases {
		m, err := session.New(st, session.Config{BaseURL: tc.base})
		if err != nil {
			t.Fatalf("%q: %v", tc.base, err)
		}
		h := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := m.SignIn(r.Context(), u, []sigra.Method{sigra.MethodPassword}, sigra.AAL1, false); err != nil {
				t.Error(err)
			}
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
		ck := findCookie(rec.Result(), tc.name)
		if ck == nil {
			t.Fatalf("%q: no cookie %s in %v", tc.base, tc.name, rec.Result().Header["Set-Cookie"])
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != tc.secure || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("%q: got %+v, want HttpOnly, SameSite=Lax, Path=/, no Domain, Secure=%v", tc.base, ck, tc.secure)
		}
		if !token.Valid(ck.Value) {
			t.Errorf("%q: cookie value is not a token", tc.base)
		}
	}
	if _, err := session.New(st, session.Config{BaseURL: "http://app.example.com"}); err == nil {
		t.Error("plain HTTP base URL on a public host accepted")
	}
	if _, err := session.New(st, session.Config{BaseURL: "ftp://x"}); err == nil {
		t.Error("non-HTTP base URL accepted")
	}
}

func TestMalformedCookieIsAnonymous(t *testing.T) {
	t.Parallel()
	a := newApp(t, openSQLite(t), session.Config{})
	for _, v := range []string{"x", strings.Repeat("A", 43) + "=", "../../etc", strings.Repeat("é", 22)} {
		req, _ := http.NewRequest("GET", a.srv.URL+"/whoami", nil)
		req.AddCookie(&http.Cookie{Name: a.m.CookieName(), Value: url.QueryEscape(v)})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var w who
		_ = json.NewDecoder(res.Body).Decode(&w)
		res.Body.Close()
		if res.StatusCode != 200 || w.State != "anonymous" {
			t.Fatalf("cookie %q: got %d %+v", v, res.StatusCode, w)
		}
	}
}

func TestDevices(t *testing.T) {
	t.Parallel()
	a := newApp(t, openSQLite(t), session.Config{})
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
	if ff.ID == "" || ff.OS != "Linux" || ff.IP == "" {
		t.Fatalf("firefox device: got %+v", ff)
	}

	chrome.do("POST", "/revoke?id="+ff.ID)
	if w := firefox.whoami(); w.State != "anonymous" {
		t.Fatalf("revoked device still signed in: %+v", w)
	}
	chrome.do("POST", "/revoke-others")
	if w := third.whoami(); w.State != "anonymous" {
		t.Fatalf("other device still signed in: %+v", w)
	}
	if w := chrome.whoami(); w.State != "authenticated" {
		t.Fatalf("revoking others signed out this device: %+v", w)
	}

	// Another user's session id is not found, and nothing is revoked.
	other := newApp(t, a.st, session.Config{})
	oc := other.client("")
	oc.do("POST", "/signin")
	var ods []session.Device
	_ = json.NewDecoder(oc.do("GET", "/devices").Body).Decode(&ods)
	req, _ := http.NewRequest("POST", a.srv.URL+"/revoke?id="+ods[0].ID, nil)
	res, err := chrome.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == 200 {
		t.Fatal("revoking another user's session succeeded")
	}
	if w := oc.whoami(); w.State != "authenticated" {
		t.Fatalf("another user's session was revoked: %+v", w)
	}
}

// TestTwoInstancesPostgres: two managers (two app instances) over one
// PostgreSQL database; a session revoked through one is refused by the
// other on its next request.
func TestTwoInstancesPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	open := func() *postgres.DB {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	one := newApp(t, open(), session.Config{})
	two := newApp(t, open(), session.Config{})
	two.user = one.user

	c := one.client("")
	c.do("POST", "/signin")
	tok := c.token()
	// The same cookie presented to the second instance is signed in there.
	req, _ := http.NewRequest("GET", two.srv.URL+"/whoami", nil)
	req.AddCookie(&http.Cookie{Name: two.m.CookieName(), Value: tok})
	ask := func() who {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var w who
		_ = json.NewDecoder(res.Body).Decode(&w)
		return w
	}
	if w := ask(); w.State != "authenticated" {
		t.Fatalf("second instance: got %+v", w)
	}
	if _, err := one.m.RevokeAll(ctx, one.user.ID); err != nil {
		t.Fatal(err)
	}
	if w := ask(); w.State != "anonymous" {
		t.Fatalf("second instance still accepts a session revoked through the first: %+v", w)
	}
}
