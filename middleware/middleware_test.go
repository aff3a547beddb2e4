package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
)

func TestSafeReturnTo(t *testing.T) {
	t.Parallel()
	good := []string{"/", "/dashboard", "/a/b?c=d&e=f", "/x#frag", "/caf%C3%A9", "/search?q=a%2Fb"}
	bad := []string{
		"", "//evil.com", "//evil.com/path", "/\\evil.com", "\\\\evil.com", "https://evil.com", "http:evil.com",
		"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "evil.com", "./relative", "../up",
		"/%2Fevil.com", "/%2fevil.com", "%2F%2Fevil.com", "/%5Cevil.com", "/%252Fevil.com", "/%25252F%25252Fevil",
		"/\tevil", "/a\nb", "/a\x00b", " /lead", "/\u2215evil", "/\uff0fevil", "/%", "/%zz",
		"/" + strings.Repeat("a", 3000), "/\xff",
	}
	for _, s := range good {
		if got, ok := middleware.SafeReturnTo(s); !ok || got != s {
			t.Errorf("SafeReturnTo(%q) = %q, %v; want accepted", s, got, ok)
		}
	}
	for _, s := range bad {
		if got, ok := middleware.SafeReturnTo(s); ok {
			t.Errorf("SafeReturnTo(%q) = %q, accepted; want refused", s, got)
		}
	}
}

func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/", "//x", "/%2F/x", "/\\x", "https://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := middleware.SafeReturnTo(s)
		if !ok {
			return
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n\t") {
			t.Fatalf("accepted %q", got)
		}
		// A browser resolving it against a page stays on the same origin.
		base, _ := url.Parse("https://app.example.com/page")
		if r := base.ResolveReference(u); r.Host != "app.example.com" {
			t.Fatalf("%q resolves to host %q", got, r.Host)
		}
	})
}

// env is an app with a session manager over SQLite, a guard and a few
// routes, served over HTTP.
type env struct {
	t     *testing.T
	st    *sqlite.DB
	m     *session.Manager
	g     *middleware.Guard
	now   atomic.Pointer[time.Time]
	srv   *httptest.Server
	user  *store.User
	csrf  func(http.Handler) http.Handler
	reach atomic.Int32
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t}
	now := time.Now().UTC().Truncate(time.Second)
	e.now.Store(&now)
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.st = db
	e.m, err = session.New(db, session.Config{BaseURL: "http://localhost", Now: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	e.g, err = middleware.New(e.m, middleware.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e.user = &store.User{Email: "guard@example.com", CreatedAt: now}
	if err := db.CreateUser(context.Background(), e.user); err != nil {
		t.Fatal(err)
	}
	e.csrf, err = middleware.CSRF(middleware.CSRFConfig{BaseURL: "http://localhost"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.reach.Add(1)
		_, _ = io.WriteString(w, "ok")
	})
	mux.Handle("GET /private", e.g.RequireUser(ok))
	mux.Handle("GET /sudo-only", e.g.RequireSudo(ok))
	mux.Handle("POST /sudo-only", e.g.RequireSudo(ok))
	mux.Handle("GET /aal2", e.g.RequireAAL2(ok))
	mux.Handle("GET /confirmed", e.g.RequireConfirmed(ok))
	mux.Handle("GET /login", e.g.RedirectIfSignedIn(ok))
	mux.Handle("POST /form", ok)
	mux.Handle("POST /api/thing", ok)
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<form method="post"><input name="%s" value="%s"></form>`, middleware.CSRFFieldName, middleware.CSRFToken(r))
	})
	mux.HandleFunc("POST /test/signin", func(w http.ResponseWriter, r *http.Request) {
		aal := sigra.AAL1
		if r.URL.Query().Get("aal") == "2" {
			aal = sigra.AAL2
		}
		if err := e.m.SignIn(r.Context(), e.user, []sigra.Method{sigra.MethodPassword}, aal, false); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("POST /test/pending", func(w http.ResponseWriter, r *http.Request) {
		if err := e.m.BeginSecondFactor(r.Context(), e.user, sigra.MethodPassword, false); err != nil {
			t.Error(err)
		}
	})
	// Test-only sign-in routes skip CSRF; everything else goes through it.
	app := e.csrf(mux)
	e.srv = httptest.NewServer(e.m.LoadAndSave(e.g.Load(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/test/") {
			mux.ServeHTTP(w, r)
			return
		}
		app.ServeHTTP(w, r)
	}))))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) clock() time.Time { return *e.now.Load() }

func (e *env) advance(d time.Duration) {
	n := e.clock().Add(d)
	e.now.Store(&n)
}

func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) do(c *http.Client, method, path string, hdr map[string]string, body string) *http.Response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestRequireUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	res := e.do(c, "GET", "/private?x=1", nil, "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/auth/login?return_to=%2Fprivate%3Fx%3D1" {
		t.Fatalf("anonymous HTML: got %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res = e.do(c, "GET", "/private", map[string]string{"Accept": "application/json"}, "")
	var body struct{ Error struct{ Code string } }
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusUnauthorized || body.Error.Code != "unauthenticated" {
		t.Fatalf("anonymous JSON: got %d %+v", res.StatusCode, body)
	}
	res = e.do(c, "GET", "/private", map[string]string{"Authorization": "Bearer abc"}, "")
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bearer: got %d, want 401", res.StatusCode)
	}
	e.do(c, "POST", "/test/pending", nil, "")
	res = e.do(c, "GET", "/private", nil, "")
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/auth/mfa/challenge") {
		t.Fatalf("pending user: got %d %q, want the second-factor page", res.StatusCode, loc)
	}
	e.do(c, "POST", "/test/signin", nil, "")
	if res := e.do(c, "GET", "/private", nil, ""); res.StatusCode != 200 {
		t.Fatalf("signed in: got %d", res.StatusCode)
	}
	if res := e.do(c, "GET", "/login?return_to=/private", nil, ""); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/private" {
		t.Fatalf("RedirectIfSignedIn: got %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := e.do(c, "GET", "/login?return_to=//evil.com", nil, ""); res.Header.Get("Location") != "/" {
		t.Fatalf("RedirectIfSignedIn followed an unsafe return_to: %q", res.Header.Get("Location"))
	}
}

func TestRequireSudo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	e.do(c, "POST", "/test/signin", nil, "")
	if res := e.do(c, "GET", "/sudo-only", nil, ""); res.StatusCode != 200 {
		t.Fatalf("fresh sign-in counts as sudo: got %d", res.StatusCode)
	}
	e.advance(11 * time.Minute)
	res := e.do(c, "GET", "/sudo-only?a=b", nil, "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/auth/sudo?return_to=%2Fsudo-only%3Fa%3Db" {
		t.Fatalf("stale sudo HTML: got %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res = e.do(c, "GET", "/sudo-only", map[string]string{"Accept": "application/json"}, "")
	var body struct{ Error struct{ Code string } }
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusForbidden || body.Error.Code != "sudo_required" {
		t.Fatalf("stale sudo JSON: got %d %+v", res.StatusCode, body)
	}
}

func TestRequireAAL2AndConfirmed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	e.do(c, "POST", "/test/signin", nil, "")
	if res := e.do(c, "GET", "/aal2", nil, ""); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/auth/mfa/setup?return_to=") {
		t.Fatalf("AAL1 on an AAL2 route: got %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := e.do(c, "GET", "/aal2", map[string]string{"Accept": "application/json"}, ""); res.StatusCode != http.StatusForbidden {
		t.Fatalf("AAL1 JSON: got %d", res.StatusCode)
	}
	if res := e.do(c, "GET", "/confirmed", nil, ""); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/auth/confirm") {
		t.Fatalf("unconfirmed: got %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	e.do(c, "POST", "/test/signin?aal=2", nil, "")
	if res := e.do(c, "GET", "/aal2", nil, ""); res.StatusCode != 200 {
		t.Fatalf("AAL2: got %d", res.StatusCode)
	}
	if err := e.st.ConfirmEmail(context.Background(), e.user.ID, e.user.Email, e.clock()); err != nil {
		t.Fatal(err)
	}
	if res := e.do(c, "GET", "/confirmed", nil, ""); res.StatusCode != 200 {
		t.Fatalf("confirmed: got %d", res.StatusCode)
	}
}

func TestLoadSignsOutBarredUsers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bar  func(st store.Store, id string, now time.Time) error
	}{
		{"disabled", func(st store.Store, id string, now time.Time) error {
			return st.SetDisabled(context.Background(), id, now, now)
		}},
		{"deletion scheduled", func(st store.Store, id string, now time.Time) error {
			return st.ScheduleDeletion(context.Background(), id, now.Add(time.Hour), now)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			c := e.client()
			e.do(c, "POST", "/test/signin", nil, "")
			if err := tc.bar(e.st, e.user.ID, e.clock()); err != nil {
				t.Fatal(err)
			}
			if res := e.do(c, "GET", "/private", nil, ""); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("barred user reached a private page: %d", res.StatusCode)
			}
			sessions, err := e.st.UserSessions(context.Background(), e.user.ID, e.clock())
			if err != nil {
				t.Fatal(err)
			}
			if len(sessions) != 0 {
				t.Fatalf("barred user still has %d live sessions", len(sessions))
			}
		})
	}
}

// TestCSRFMatrix: same-origin form with token passes; without token 403;
// cross-site 403; bearer from a non-browser client passes on an API route.
func TestCSRFMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	page := e.do(c, "GET", "/form", nil, "")
	b, _ := io.ReadAll(page.Body)
	m := regexp.MustCompile(`value="([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no token in form: %s", b)
	}
	tok := url.QueryEscape(string(m[1]))
	origin := e.srv.URL
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{}
		for k, v := range form {
			h[k] = v
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	cases := []struct {
		name   string
		path   string
		hdr    map[string]string
		body   string
		client *http.Client
		want   int
	}{
		{"same-origin form with token", "/form", with(map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin"}), "csrf_token=" + tok, c, 200},
		{"same-origin form, Referer only", "/form", with(map[string]string{"Referer": origin + "/form"}), "csrf_token=" + tok, c, 200},
		{"same-origin form without token", "/form", with(map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin"}), "x=1", c, 403},
		{"same-origin form with a wrong token", "/form", with(map[string]string{"Origin": origin}), "csrf_token=" + url.QueryEscape(strings.Repeat("A", 88)), c, 403},
		{"cross-site form with token", "/form", with(map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}), "csrf_token=" + tok, c, 403},
		{"cross-site without fetch metadata", "/form", with(map[string]string{"Origin": "https://evil.example"}), "csrf_token=" + tok, c, 403},
		{"same-site sibling", "/form", with(map[string]string{"Origin": "http://other.localhost", "Sec-Fetch-Site": "same-site"}), "csrf_token=" + tok, c, 403},
		{"bearer API call from a non-browser client", "/api/thing", map[string]string{"Authorization": "Bearer k", "Content-Type": "application/json"}, `{}`, e.client(), 200},
		{"bearer API call from a cross-site browser", "/api/thing", map[string]string{"Authorization": "Bearer k", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, `{}`, e.client(), 403},
		{"form from curl without token", "/form", form, "x=1", e.client(), 403},
	}
	for _, tc := range cases {
		before := e.reach.Load()
		res := e.do(tc.client, "POST", tc.path, tc.hdr, tc.body)
		if res.StatusCode != tc.want {
			b, _ := io.ReadAll(res.Body)
			t.Errorf("%s: got %d, want %d (%s)", tc.name, res.StatusCode, tc.want, b)
		}
		if reached := e.reach.Load() != before; reached != (tc.want == 200) {
			t.Errorf("%s: handler reached = %v", tc.name, reached)
		}
	}
	// JSON clients get a JSON refusal.
	res := e.do(c, "POST", "/form", with(map[string]string{"Accept": "application/json", "Origin": "https://evil.example"}), "x=1")
	var body struct{ Error struct{ Code string } }
	_ = json.NewDecoder(res.Body).Decode(&body)
	if body.Error.Code != "csrf_failed" {
		t.Errorf("JSON refusal: got %+v", body)
	}
	// The token cookie is HttpOnly and SameSite=Lax.
	for _, ck := range page.Cookies() {
		if ck.Name == "sigra_csrf" && (!ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/") {
			t.Errorf("csrf cookie: %+v", ck)
		}
	}
}

func TestCSRFSecureCookie(t *testing.T) {
	t.Parallel()
	mw, err := middleware.CSRF(middleware.CSRFConfig{BaseURL: "https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mw(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "https://app.example.com/", nil))
	var found bool
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "__Host-sigra_csrf" {
			found = ck.Secure && ck.HttpOnly && ck.Path == "/"
		}
	}
	if !found {
		t.Fatalf("no secure __Host- CSRF cookie: %v", rec.Result().Header["Set-Cookie"])
	}
	if _, err := middleware.CSRF(middleware.CSRFConfig{BaseURL: "http://app.example.com"}); err == nil {
		t.Fatal("plain HTTP on a public host accepted")
	}
}

func TestIPResolver(t *testing.T) {
	t.Parallel()
	proxies, err := middleware.ParsePrefixes("10.0.0.0/8", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	r := &middleware.IPResolver{TrustedProxies: proxies}
	cases := []struct {
		remote, xff, want string
	}{
		{"203.0.113.5:1234", "", "203.0.113.5"},
		{"203.0.113.5:1234", "1.2.3.4", "203.0.113.5"},                     // untrusted peer: header ignored
		{"10.1.1.1:80", "198.51.100.7", "198.51.100.7"},                    // trusted proxy
		{"10.1.1.1:80", "6.6.6.6, 198.51.100.7, 10.2.2.2", "198.51.100.7"}, // spoofed left part ignored
		{"192.0.2.1:80", "garbage, 198.51.100.7", "198.51.100.7"},
		{"10.1.1.1:80", "not-an-ip", "10.1.1.1"},
		{"[2001:db8::1]:443", "", "2001:db8::1"},
	}
	for _, tc := range cases {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.remote
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := r.ClientIP(req); got != tc.want {
			t.Errorf("remote %s xff %q: got %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
	if _, err := middleware.ParsePrefixes("nope"); err == nil {
		t.Error("bad prefix accepted")
	}
}

func TestIPKey(t *testing.T) {
	t.Parallel()
	if a, b := middleware.IPKey("2001:db8:1:2:aaaa::1"), middleware.IPKey("2001:db8:1:2:bbbb::9"); a != b {
		t.Errorf("same /64 got different keys %s %s", a, b)
	}
	if a, b := middleware.IPKey("2001:db8:1:2::1"), middleware.IPKey("2001:db8:1:3::1"); a == b {
		t.Errorf("different /64 got the same key %s", a)
	}
	if got := middleware.IPKey("::ffff:192.0.2.1"); got != "ip:192.0.2.1" {
		t.Errorf("mapped IPv4: got %s", got)
	}
}

func TestRateLimitMiddleware(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "rl.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, lim := range []middleware.Limiter{db, middleware.NewMemoryLimiter(0)} {
		rl, err := middleware.NewRateLimiter(middleware.RateLimiterConfig{Limiter: lim, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		h := rl.Limit(middleware.Rule{Name: fmt.Sprintf("t%T", lim), Limit: 3, Window: time.Minute})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		hit := func(ip string) *httptest.ResponseRecorder {
			req := httptest.NewRequest("POST", "/", nil)
			req.RemoteAddr = ip + ":1"
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		for i := range 3 {
			if rec := hit("192.0.2.1"); rec.Code != 200 {
				t.Fatalf("%T hit %d: got %d", lim, i, rec.Code)
			}
		}
		rec := hit("192.0.2.1")
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "60" {
			t.Fatalf("%T: over the limit got %d Retry-After %q", lim, rec.Code, rec.Header().Get("Retry-After"))
		}
		if rec := hit("192.0.2.2"); rec.Code != 200 {
			t.Fatalf("%T: another address was limited", lim)
		}
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		if rec := hit("192.0.2.1"); rec.Code != 200 {
			t.Fatalf("%T: limit did not reset after the window", lim)
		}
	}
}

type failingLimiter struct{}

func (failingLimiter) Hit(context.Context, string, int, time.Duration, time.Time) (store.Limit, error) {
	return store.Limit{}, errors.New("down")
}

func TestRateLimitFailure(t *testing.T) {
	t.Parallel()
	for _, open := range []bool{false, true} {
		rl, _ := middleware.NewRateLimiter(middleware.RateLimiterConfig{Limiter: failingLimiter{}, FailOpen: open})
		rec := httptest.NewRecorder()
		rl.Limit(middleware.Rule{Name: "x", Limit: 1, Window: time.Second})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		want := http.StatusServiceUnavailable
		if open {
			want = 200
		}
		if rec.Code != want {
			t.Errorf("FailOpen=%v: got %d, want %d", open, rec.Code, want)
		}
	}
}

func TestMemoryLimiterBounded(t *testing.T) {
	t.Parallel()
	m := middleware.NewMemoryLimiter(1000)
	now := time.Now()
	for i := range 50_000 {
		if _, err := m.Hit(context.Background(), fmt.Sprint("k", i), 5, time.Hour, now); err != nil {
			t.Fatal(err)
		}
		if m.Len() > 1000 {
			t.Fatalf("after %d keys the limiter holds %d counters, over its bound of 1000", i+1, m.Len())
		}
	}
	// A key under attack keeps its count while others churn below the bound.
	for range 5 {
		_, _ = m.Hit(context.Background(), "victim", 5, time.Hour, now)
	}
	res, _ := m.Hit(context.Background(), "victim", 5, time.Hour, now)
	if res.Allowed {
		t.Fatal("sixth hit allowed")
	}
}

func TestMemoryLimiterExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	m := middleware.NewMemoryLimiter(0)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	now := time.Now()
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res, _ := m.Hit(context.Background(), "k", 37, time.Minute, now); res.Allowed {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 37 {
		t.Fatalf("got %d allowed of 200, want 37", allowed.Load())
	}
}

func TestSecureHeaders(t *testing.T) {
	t.Parallel()
	h := middleware.SecureHeaders(middleware.HeadersConfig{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Referrer-Policy", "no-referrer")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://x/", nil))
	hd := rec.Header()
	if csp := hd.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP: %q", csp)
	}
	if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers: %v", hd)
	}
	if hd.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("a handler's stricter Referrer-Policy was overwritten: %q", hd.Get("Referrer-Policy"))
	}
	if hd.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://x/", nil))
	if !strings.HasPrefix(rec.Header().Get("Strict-Transport-Security"), "max-age=63072000") {
		t.Errorf("HSTS over HTTPS: %q", rec.Header().Get("Strict-Transport-Security"))
	}
}

func TestLimitBody(t *testing.T) {
	t.Parallel()
	var readErr error
	h := middleware.LimitBody(16)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, readErr = io.ReadAll(r.Body)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 17))))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared oversize body: got %d", rec.Code)
	}
	req := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader(strings.Repeat("x", 40))))
	req.ContentLength = -1
	h.ServeHTTP(httptest.NewRecorder(), req)
	var mbe *http.MaxBytesError
	if !errors.As(readErr, &mbe) {
		t.Fatalf("undeclared oversize body: read error %v", readErr)
	}
}
