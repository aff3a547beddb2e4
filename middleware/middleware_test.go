package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
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
			t.Errorf("SafeReturnTo(%q): got %q, %v; want %q, true", s, got, ok, s)
		}
	}
	for _, s := range bad {
		if got, ok := middleware.SafeReturnTo(s); ok {
			t.Errorf("SafeReturnTo(%q): got %q, true; want refused", s, got)
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
			t.Fatalf("SafeReturnTo(%q): got %q accepted, want refused", s, got)
		}
		// A browser resolving it against a page stays on the same origin.
		base, _ := url.Parse("https://app.example.com/page")
		if r := base.ResolveReference(u); r.Host != "app.example.com" {
			t.Fatalf("SafeReturnTo(%q): resolves to host %q, want app.example.com", got, r.Host)
		}
	})
}

// routes is the tests' own middleware.Routes: route names to local paths.
type routes map[string]string

func (r routes) Route(name string) (string, bool) {
	p, ok := r[name]
	return p, ok
}

// allRoutes returns every well-known route the guards use, under the
// site's prefix, leaving out the names in without.
func allRoutes(s *site.Site, without ...string) routes {
	r := routes{
		"sign_in":        s.Path("/login"),
		"second_factor":  s.Path("/mfa/challenge"),
		"sudo":           s.Path("/sudo"),
		"step_up":        s.Path("/mfa/setup"),
		"confirm":        s.Path("/confirm"),
		"password_renew": s.Path("/password/renew"),
	}
	for _, n := range without {
		delete(r, n)
	}
	return r
}

// testClock is a clock the tests move.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openSQLite(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// env is an app with a session manager over SQLite, a guard over the
// test's routes and a few guarded routes, served over HTTP.
type env struct {
	t      *testing.T
	st     *sqlite.DB
	clock  *testClock
	site   *site.Site
	routes routes
	m      *session.Manager
	g      *middleware.Guard
	srv    *httptest.Server
	user   *store.User
}

// envOptions vary the environment.
type envOptions struct {
	prefix  string
	without []string // well-known routes the test's Routes lack
}

func newEnv(t *testing.T, opt envOptions) *env {
	t.Helper()
	e := &env{t: t, clock: &testClock{t: time.Now().UTC().Truncate(time.Second)}, st: openSQLite(t)}
	var err error
	e.site, err = site.New(site.Config{BaseURL: "http://localhost", Prefix: opt.prefix, Now: e.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.m, err = session.New(e.site, e.st, session.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e.routes = allRoutes(e.site, opt.without...)
	e.g, err = middleware.New(e.m, middleware.Config{Routes: e.routes})
	if err != nil {
		t.Fatal(err)
	}
	e.user = &store.User{Email: "guard@example.com", CreatedAt: e.clock.Now()}
	if err := e.st.CreateUser(context.Background(), e.user); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.Handle("GET /private", e.g.RequireUser(ok))
	mux.Handle("POST /private", e.g.RequireUser(ok))
	mux.Handle("GET /sudo-only", e.g.RequireSudo(ok))
	mux.Handle("POST /sudo-only", e.g.RequireSudo(ok))
	if _, has := e.routes["step_up"]; has {
		mux.Handle("GET /aal2", e.g.RequireAAL2(ok))
	}
	if _, has := e.routes["confirm"]; has {
		mux.Handle("GET /confirmed", e.g.RequireConfirmed(ok))
	}
	mux.Handle("GET /guest", e.g.RedirectIfSignedIn(ok))
	mux.Handle("POST /guest", e.g.RedirectIfSignedIn(ok))
	mux.HandleFunc("POST /test/signin", func(w http.ResponseWriter, r *http.Request) {
		aal := sigra.AAL1
		if r.URL.Query().Get("aal") == "2" {
			aal = sigra.AAL2
		}
		u := &sigra.User{ID: e.user.ID, Email: e.user.Email, EmailConfirmedAt: e.user.EmailConfirmedAt}
		if err := e.m.SignIn(r.Context(), u, []sigra.Method{sigra.MethodPassword}, aal, false); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("POST /test/mark", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("user")
		if id == "" {
			id = e.user.ID
		}
		if err := e.m.RequirePasswordChange(r.Context(), id); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("POST /test/clear", func(w http.ResponseWriter, r *http.Request) {
		e.m.ClearPasswordChange(r.Context())
	})
	mux.HandleFunc("POST /test/pending", func(w http.ResponseWriter, r *http.Request) {
		u := &sigra.User{ID: e.user.ID, Email: e.user.Email}
		if err := e.m.BeginSecondFactor(r.Context(), u, sigra.MethodPassword, false); err != nil {
			t.Error(err)
		}
	})
	e.srv = httptest.NewServer(e.m.LoadAndSave(mux))
	t.Cleanup(e.srv.Close)
	return e
}

// client returns a new browser with a transport of its own (see the
// session package's test client: another test's server closing would
// close the idle connections of http.DefaultTransport).
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: http.DefaultTransport.(*http.Transport).Clone(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) do(c *http.Client, method, path string, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

// errorCode decodes a JSON error body's code.
func errorCode(t *testing.T, res *http.Response) string {
	t.Helper()
	var body struct{ Error struct{ Code string } }
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("JSON error body: %v", err)
	}
	return body.Error.Code
}

var jsonHdr = map[string]string{"Accept": "application/json"}

// TestGuards runs each guard against each kind of user, under several
// prefixes: redirects go to the routes the Routes give, with a local
// return_to; JSON answers are the documented codes.
func TestGuards(t *testing.T) {
	t.Parallel()
	type step struct {
		name     string
		method   string
		path     string
		hdr      map[string]string
		status   int
		location string // with "{p}" for the prefix
		code     string // JSON error code
		wwwAuth  bool
	}
	tests := []struct {
		name  string
		setup []string // POSTs before the checks
		sudo  time.Duration
		steps []step
	}{
		{"anonymous", nil, 0, []step{
			{"RequireUser HTML", "GET", "/private?x=1", nil, http.StatusSeeOther, "{p}/login?return_to=%2Fprivate%3Fx%3D1", "", false},
			{"RequireUser JSON", "GET", "/private", jsonHdr, http.StatusUnauthorized, "", "unauthenticated", true},
			{"RequireUser bearer", "GET", "/private", map[string]string{"Authorization": "Bearer abc"}, http.StatusUnauthorized, "", "unauthenticated", true},
			{"RequireUser POST with a same-origin Referer", "POST", "/private", map[string]string{"Referer": "{srv}/page?a=b"}, http.StatusSeeOther, "{p}/login?return_to=%2Fpage%3Fa%3Db", "", false},
			{"RequireUser POST with a foreign Referer", "POST", "/private", map[string]string{"Referer": "https://evil.example/page"}, http.StatusSeeOther, "{p}/login", "", false},
			{"RequireSudo HTML", "GET", "/sudo-only", nil, http.StatusSeeOther, "{p}/login?return_to=%2Fsudo-only", "", false},
			{"RequireSudo JSON", "GET", "/sudo-only", jsonHdr, http.StatusUnauthorized, "", "unauthenticated", true},
			{"RequireAAL2", "GET", "/aal2", nil, http.StatusSeeOther, "{p}/login?return_to=%2Faal2", "", false},
			{"RequireConfirmed", "GET", "/confirmed", nil, http.StatusSeeOther, "{p}/login?return_to=%2Fconfirmed", "", false},
			{"RedirectIfSignedIn", "GET", "/guest", nil, http.StatusOK, "", "", false},
		}},
		{"pending", []string{"/test/pending"}, 0, []step{
			{"RequireUser HTML", "GET", "/private", nil, http.StatusSeeOther, "{p}/mfa/challenge?return_to=%2Fprivate", "", false},
			{"RequireUser JSON", "GET", "/private", jsonHdr, http.StatusUnauthorized, "", "unauthenticated", true},
			{"RequireSudo", "GET", "/sudo-only", nil, http.StatusSeeOther, "{p}/mfa/challenge?return_to=%2Fsudo-only", "", false},
			{"RequireAAL2", "GET", "/aal2", nil, http.StatusSeeOther, "{p}/mfa/challenge?return_to=%2Faal2", "", false},
			{"RedirectIfSignedIn", "GET", "/guest", nil, http.StatusOK, "", "", false},
		}},
		{"signed in, AAL1, unconfirmed", []string{"/test/signin"}, 0, []step{
			{"RequireUser", "GET", "/private", nil, http.StatusOK, "", "", false},
			{"RequireSudo right after sign-in", "GET", "/sudo-only", nil, http.StatusOK, "", "", false},
			{"RequireAAL2 HTML", "GET", "/aal2?a=b", nil, http.StatusSeeOther, "{p}/mfa/setup?return_to=%2Faal2%3Fa%3Db", "", false},
			{"RequireAAL2 JSON", "GET", "/aal2", jsonHdr, http.StatusForbidden, "", "aal2_required", false},
			{"RequireConfirmed HTML", "GET", "/confirmed", nil, http.StatusSeeOther, "{p}/confirm?return_to=%2Fconfirmed", "", false},
			{"RequireConfirmed JSON", "GET", "/confirmed", jsonHdr, http.StatusForbidden, "", "email_unconfirmed", false},
			{"RedirectIfSignedIn without return_to", "GET", "/guest", nil, http.StatusSeeOther, "/", "", false},
			{"RedirectIfSignedIn with return_to", "GET", "/guest?return_to=/private", nil, http.StatusSeeOther, "/private", "", false},
			{"RedirectIfSignedIn with an unsafe return_to", "GET", "/guest?return_to=//evil.example", nil, http.StatusSeeOther, "/", "", false},
			{"RedirectIfSignedIn JSON passes", "GET", "/guest", jsonHdr, http.StatusOK, "", "", false},
			{"RedirectIfSignedIn POST passes", "POST", "/guest", nil, http.StatusOK, "", "", false},
		}},
		{"signed in, sudo expired", []string{"/test/signin"}, 11 * time.Minute, []step{
			{"RequireUser", "GET", "/private", nil, http.StatusOK, "", "", false},
			{"RequireSudo HTML", "GET", "/sudo-only?a=b", nil, http.StatusSeeOther, "{p}/sudo?return_to=%2Fsudo-only%3Fa%3Db", "", false},
			{"RequireSudo JSON", "GET", "/sudo-only", jsonHdr, http.StatusForbidden, "", "sudo_required", false},
			{"RequireSudo POST back to the form", "POST", "/sudo-only", map[string]string{"Referer": "{srv}/billing"}, http.StatusSeeOther, "{p}/sudo?return_to=%2Fbilling", "", false},
		}},
		{"signed in, AAL2", []string{"/test/signin?aal=2"}, 0, []step{
			{"RequireAAL2", "GET", "/aal2", nil, http.StatusOK, "", "", false},
		}},
	}
	for _, prefix := range []string{"", "/auth", "/account"} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("prefix %q/%s", prefix, tt.name), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, envOptions{prefix: prefix})
				c := e.client()
				for _, p := range tt.setup {
					e.do(c, "POST", p, nil)
				}
				e.clock.Advance(tt.sudo)
				for _, s := range tt.steps {
					hdr := map[string]string{}
					for k, v := range s.hdr {
						hdr[k] = strings.ReplaceAll(v, "{srv}", e.srv.URL)
					}
					res := e.do(c, s.method, s.path, hdr)
					if res.StatusCode != s.status {
						t.Errorf("%s: status got %d, want %d", s.name, res.StatusCode, s.status)
						continue
					}
					want := strings.ReplaceAll(s.location, "{p}", e.site.Prefix())
					if got := res.Header.Get("Location"); got != want {
						t.Errorf("%s: Location got %q, want %q", s.name, got, want)
					}
					if s.code != "" {
						if got := errorCode(t, res); got != s.code {
							t.Errorf("%s: error code got %q, want %q", s.name, got, s.code)
						}
					}
					if got := res.Header.Get("WWW-Authenticate") != ""; got != s.wwwAuth {
						t.Errorf("%s: WWW-Authenticate set got %v, want %v", s.name, got, s.wwwAuth)
					}
				}
			})
		}
	}
}

// TestPendingWithoutSecondFactorRoute: without a second-factor page, a
// pending user is sent to sign in.
func TestPendingWithoutSecondFactorRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{without: []string{"second_factor"}})
	c := e.client()
	e.do(c, "POST", "/test/pending", nil)
	res := e.do(c, "GET", "/private", nil)
	if got, want := res.Header.Get("Location"), "/auth/login?return_to=%2Fprivate"; res.StatusCode != http.StatusSeeOther || got != want {
		t.Fatalf("pending user: got %d %q, want 303 %q", res.StatusCode, got, want)
	}
}

// TestGuardBehindProxy: a form POST refused by a guard comes back to its
// page when its Referer is on the site's origin, even when a proxy
// rewrote the Host header.
func TestGuardBehindProxy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	res := e.do(e.client(), "POST", "/private", map[string]string{"Host": "backend.internal:8080", "Referer": "http://localhost/settings?tab=1"})
	if got, want := res.Header.Get("Location"), "/auth/login?return_to=%2Fsettings%3Ftab%3D1"; got != want {
		t.Fatalf("Location: got %q, want %q", got, want)
	}
}

// TestGuardPanicsWithoutRoute: each guard checks, when it wraps a handler,
// that the routes give the page it sends browsers to, and panics with a
// message naming itself and the route.
func TestGuardPanicsWithoutRoute(t *testing.T) {
	t.Parallel()
	s, err := site.New(site.Config{BaseURL: "http://localhost"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(s, openSQLite(t), session.Config{})
	if err != nil {
		t.Fatal(err)
	}
	next := http.NotFoundHandler()
	tests := []struct {
		guard   string
		missing string
		wrap    func(g *middleware.Guard)
	}{
		{"RequireUser", "sign_in", func(g *middleware.Guard) { g.RequireUser(next) }},
		{"RequireSudo", "sign_in", func(g *middleware.Guard) { g.RequireSudo(next) }},
		{"RequireSudo", "sudo", func(g *middleware.Guard) { g.RequireSudo(next) }},
		{"RequireSudo", "sudo", func(g *middleware.Guard) { g.RequireSudoWithin(time.Minute)(next) }},
		{"RequireAAL2", "sign_in", func(g *middleware.Guard) { g.RequireAAL2(next) }},
		{"RequireAAL2", "step_up", func(g *middleware.Guard) { g.RequireAAL2(next) }},
		{"RequireConfirmed", "sign_in", func(g *middleware.Guard) { g.RequireConfirmed(next) }},
		{"RequireConfirmed", "confirm", func(g *middleware.Guard) { g.RequireConfirmed(next) }},
	}
	for _, tt := range tests {
		t.Run(tt.guard+" without "+tt.missing, func(t *testing.T) {
			t.Parallel()
			g, err := middleware.New(m, middleware.Config{Routes: allRoutes(s, tt.missing)})
			if err != nil {
				t.Fatal(err)
			}
			msg := func() (msg string) {
				defer func() {
					if r := recover(); r != nil {
						msg = fmt.Sprint(r)
					}
				}()
				tt.wrap(g)
				return ""
			}()
			if msg == "" {
				t.Fatalf("%s without the route %q: got no panic, want one at wrap time", tt.guard, tt.missing)
			}
			for _, want := range []string{tt.guard, `"` + tt.missing + `"`} {
				if !strings.Contains(msg, want) {
					t.Errorf("panic message %q: want it to name %s", msg, want)
				}
			}
		})
	}
	// With every route, no guard panics; RedirectIfSignedIn needs none.
	g, err := middleware.New(m, middleware.Config{Routes: allRoutes(s)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		tt.wrap(g)
	}
	bare, err := middleware.New(m, middleware.Config{Routes: routes{}})
	if err != nil {
		t.Fatal(err)
	}
	bare.RedirectIfSignedIn(next)
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	s, err := site.New(site.Config{BaseURL: "http://localhost"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(s, openSQLite(t), session.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		sessions *session.Manager
		cfg      middleware.Config
		want     string // in the error; "" for success
		window   time.Duration
	}{
		{"defaults", m, middleware.Config{Routes: routes{}}, "", 10 * time.Minute},
		{"own sudo window", m, middleware.Config{Routes: routes{}, SudoWindow: time.Minute}, "", time.Minute},
		{"nil sessions", nil, middleware.Config{Routes: routes{}}, "session", 0},
		{"nil routes", m, middleware.Config{}, "Routes", 0},
		{"negative sudo window", m, middleware.Config{Routes: routes{}, SudoWindow: -time.Second}, "SudoWindow", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := middleware.New(tt.sessions, tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: got %v, want no error", err)
				}
				if got := g.SudoWindow(); got != tt.window {
					t.Errorf("SudoWindow: got %v, want %v", got, tt.window)
				}
				return
			}
			if !errors.Is(err, sigra.ErrConfig) || g != nil {
				t.Fatalf("New: got %v, %v; want nil and an error wrapping sigra.ErrConfig", g, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to mention %s", err, tt.want)
			}
		})
	}
}

func TestLimitBody(t *testing.T) {
	t.Parallel()
	var readErr error
	h := middleware.LimitBody(16)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, readErr = io.ReadAll(r.Body)
	}))
	tests := []struct {
		name     string
		body     string
		declared bool
		status   int
		tooLarge bool
	}{
		{"within the limit", strings.Repeat("x", 16), true, http.StatusOK, false},
		{"declared oversize", strings.Repeat("x", 17), true, http.StatusRequestEntityTooLarge, false},
		{"undeclared oversize", strings.Repeat("x", 40), false, http.StatusOK, true},
	}
	for _, tt := range tests {
		readErr = nil
		req := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
		if !tt.declared {
			req.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("%s: status got %d, want %d", tt.name, rec.Code, tt.status)
		}
		var mbe *http.MaxBytesError
		if got := errors.As(readErr, &mbe); got != tt.tooLarge {
			t.Errorf("%s: read error got %v, want a *http.MaxBytesError: %v", tt.name, readErr, tt.tooLarge)
		}
	}
	// A request without a body keeps http.NoBody: nothing to limit.
	var body io.ReadCloser
	middleware.LimitBody(16)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { body = r.Body })).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if body != http.NoBody {
		t.Errorf("no body: the handler got %T, want http.NoBody", body)
	}
	// The default limit.
	rec := httptest.NewRecorder()
	middleware.LimitBody(0)(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", middleware.DefaultBodyLimit+1))))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("default limit: status got %d, want 413", rec.Code)
	}
}

// TestPasswordChangeRequired: a session marked for a password change
// reaches no guarded route (redirect to the renewal page, or 403) until
// the mark is cleared; a mark for another user does not count; the mark
// survives the token renewal of a new sign-in.
func TestPasswordChangeRequired(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "/auth"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{prefix: prefix})
			c := e.client()
			e.do(c, "POST", "/test/signin?aal=2", nil)
			e.do(c, "POST", "/test/mark", nil)
			renew := e.site.Path("/password/renew")
			for _, path := range []string{"/private", "/sudo-only", "/aal2", "/confirmed"} {
				res := e.do(c, "GET", path, nil)
				want := renew + "?return_to=" + url.QueryEscape(path)
				if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
					t.Errorf("GET %s: got %d %q, want 303 %q", path, res.StatusCode, res.Header.Get("Location"), want)
				}
				res = e.do(c, "GET", path, jsonHdr)
				if res.StatusCode != http.StatusForbidden || errorCode(t, res) != "password_change_required" {
					t.Errorf("JSON GET %s: got %d, want 403 password_change_required", path, res.StatusCode)
				}
			}
			// RedirectIfSignedIn is not a guard of signed-in pages.
			if res := e.do(c, "GET", "/guest", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != e.site.Home() {
				t.Errorf("GET /guest: got %d %q, want 303 to home", res.StatusCode, res.Header.Get("Location"))
			}
			// A new sign-in renews the token; the mark stays.
			e.do(c, "POST", "/test/signin", nil)
			if res := e.do(c, "GET", "/private", nil); res.StatusCode != http.StatusSeeOther {
				t.Errorf("GET /private after a renewal: got %d, want 303", res.StatusCode)
			}
			e.do(c, "POST", "/test/clear", nil)
			if res := e.do(c, "GET", "/private", nil); res.StatusCode != http.StatusOK {
				t.Errorf("GET /private after clearing: got %d, want 200", res.StatusCode)
			}
			// A mark for someone else is not this user's.
			e.do(c, "POST", "/test/mark?user=someone-else", nil)
			if res := e.do(c, "GET", "/private", nil); res.StatusCode != http.StatusOK {
				t.Errorf("GET /private with another user's mark: got %d, want 200", res.StatusCode)
			}
		})
	}
	t.Run("without a renewal page", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{without: []string{"password_renew"}})
		c := e.client()
		e.do(c, "POST", "/test/signin", nil)
		e.do(c, "POST", "/test/mark", nil)
		res := e.do(c, "GET", "/private", nil)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "new password") {
			t.Errorf("GET /private: got %d %q, want 403 asking for a new password", res.StatusCode, body)
		}
	})
}
