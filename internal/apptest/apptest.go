// Package apptest runs an in-process application for end-to-end tests of
// the feature packages: a real store (SQLite, or PostgreSQL when asked and
// SIGRA_TEST_POSTGRES is set), one site, sessions, the UI with the packs a
// test names, the guard, CSRF, and a durable outbox delivering into a
// development mailbox. Time is a controllable clock, and hashing uses cheap
// parameters.
//
// It imports no feature package: a feature's tests build the feature
// themselves in the mount function given to [New], so they compile and run
// only the packages they use. Every helper takes the *testing.T of the
// (sub)test that calls it, so a failure is reported on the right test.
package apptest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/ui"
)

// Store is everything both adapters implement.
type Store interface {
	store.Users
	store.Sessions
	store.Tokens
	store.Limiter
	store.Outbox
	store.AuditLog
	store.TOTP
	store.RecoveryCodes
	store.TrustedBrowsers
	store.SignIns
	store.Orgs
	store.Memberships
	store.Invitations
	store.Passkeys
	store.Transactor
}

// Clock is a controllable clock, starting at the real time (scs computes
// cookie lifetimes from the real clock).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set sets the clock.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Options select the application's variant.
type Options struct {
	// Backend is "sqlite" (default) or "postgres" (skips without
	// SIGRA_TEST_POSTGRES).
	Backend string
	// Prefix is the site's mount prefix (default "/auth").
	Prefix string
	// Packs are the UI packs of the features the test mounts.
	Packs []ui.Pack
	// Passwords, when set, replaces the test hasher (Argon2id with cheap
	// parameters), for example to bound its pool.
	Passwords *password.Hasher
	// Logger receives the site's log records. Default: discarded.
	Logger *slog.Logger
	// SudoWindow is the guard's; zero keeps its default.
	SudoWindow time.Duration
	// DBPath, when set, opens this SQLite database file instead of a
	// fresh one (Backend must be SQLite): an App on the file of another
	// App is the same application after a restart.
	DBPath string
	// CSRF, when set, returns the CSRF middleware's configuration, once
	// the features are mounted (so it may use theirs, such as an
	// exemption). Default: the zero configuration.
	CSRF func(a *App) middleware.CSRFConfig
	// CSRFExempt, when set, is the CSRF middleware's Exempt; nil keeps
	// middleware.TokenExempt.
	CSRFExempt func(r *http.Request) bool
}

// App is a running test application. Its fields are set by New before the
// mount function runs.
type App struct {
	Store    Store
	Clock    *Clock
	Site     *site.Site
	Sessions *session.Manager
	UI       *ui.UI
	Guard    *middleware.Guard
	Limiter  *middleware.RateLimiter
	Mailbox  *mail.Mailbox
	Outbox   *mail.Outbox
	Hasher   *password.Hasher
	// Keys is a sealing keyring spec ("id:base64") for features that seal
	// secrets (TOTP).
	Keys string
	// Mux is the application's router: the mount function adds the
	// features' routes to it.
	Mux    *http.ServeMux
	Server *httptest.Server
	// URL is the site's base URL (http://localhost:<port>).
	URL string
	// DBPath is the SQLite database file; empty on PostgreSQL.
	DBPath string
	// Backend is "sqlite" or "postgres".
	Backend string

	rawOnce sync.Once
	raw     *sql.DB
	rawErr  error
	// writes counts the PostgreSQL store's writes (see Writes).
	writes *writeCounter
	// transport is the app's clients' own: httptest.Server.Close closes
	// the idle connections of http.DefaultTransport, which would break a
	// request of another test running in parallel that was about to
	// reuse one ("CloseIdleConnections called").
	transport *http.Transport
}

// newTransport gives a its clients' transport, closed when t ends.
func (a *App) newTransport(t testing.TB) {
	a.transport = http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(a.transport.CloseIdleConnections)
}

// Backends lists the backends a test should run on: SQLite always,
// PostgreSQL too (it skips itself without SIGRA_TEST_POSTGRES).
var Backends = []string{"sqlite", "postgres"}

// migrated is a new SQLite file's content after its migrations, made once
// per test process: OpenStore starts each store from a copy, since
// running every migration on every test's file is most of what opening
// a store costs.
var migrated struct {
	once sync.Once
	data []byte
	err  error
}

// migratedSQLite returns the content of a migrated, empty SQLite file.
// Opening a copy runs no migration (the file says it has them all) and
// gives the same schema as migrating a new file.
func migratedSQLite(t testing.TB) []byte {
	t.Helper()
	migrated.once.Do(func() {
		dir, err := os.MkdirTemp("", "sigra-apptest-")
		if err != nil {
			migrated.err = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "migrated.db")
		db, err := sqlite.Open(context.Background(), path)
		if err != nil {
			migrated.err = err
			return
		}
		if err := db.Close(); err != nil {
			migrated.err = err
			return
		}
		// The last connection to close folds the WAL into the file and
		// deletes it, so the file alone holds the schema.
		if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
			migrated.err = fmt.Errorf("%s-wal after closing: got %v, want no file", path, err)
			return
		}
		migrated.data, migrated.err = os.ReadFile(path)
	})
	if migrated.err != nil {
		t.Fatalf("apptest: migrated SQLite file: %v", migrated.err)
	}
	return migrated.data
}

// OpenStore opens a fresh store on backend for t: on SQLite, a new file
// with every migration applied.
func OpenStore(t testing.TB, backend string) (Store, string) {
	t.Helper()
	ctx := context.Background()
	switch backend {
	case "", "sqlite":
		path := filepath.Join(t.TempDir(), "app.db")
		if err := os.WriteFile(path, migratedSQLite(t), 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, path
	case "postgres":
		db, err := postgres.Open(ctx, pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db, ""
	}
	t.Fatalf("unknown backend %q", backend)
	return nil, ""
}

// New starts an application. mount builds the features under test from
// the App's fields and mounts them on a.Mux; it may also wrap the store
// the features see. The handler chain is SecureHeaders, LimitBody, CSRF
// and the session middleware around a.Mux, which also serves "/" (the
// signed-in user's address), "/private" (RequireUser), "/billing"
// (RequireSudo, when a pack declares the sudo route) and "/secure"
// (RequireAAL2, when a pack declares the step-up route).
func New(t testing.TB, opt Options, mount func(a *App)) *App {
	t.Helper()
	a := &App{Clock: &Clock{t: time.Now().UTC().Truncate(time.Millisecond)}, Mux: http.NewServeMux()}
	a.Backend = opt.Backend
	if a.Backend == "" {
		a.Backend = "sqlite"
	}
	if opt.DBPath != "" {
		if a.Backend != "sqlite" {
			t.Fatalf("apptest: DBPath needs the SQLite backend, not %q", a.Backend)
		}
		db, err := sqlite.Open(context.Background(), opt.DBPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		a.Store, a.DBPath = db, opt.DBPath
	} else if a.Backend == "postgres" {
		a.Store, a.writes = openCountedPostgres(t)
	} else {
		a.Store, a.DBPath = OpenStore(t, a.Backend)
	}

	// The server's URL is the base URL, so it must exist first; the
	// handler is set once everything is built.
	var handler http.Handler
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(a.Server.Close)
	t.Cleanup(a.close)
	a.newTransport(t)
	// Cookies are not Secure on a local base URL; "localhost" makes the
	// site treat it as local development.
	u, _ := url.Parse(a.Server.URL)
	a.URL = "http://localhost:" + u.Port()

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var err error
	a.Site, err = site.New(site.Config{BaseURL: a.URL, Prefix: opt.Prefix, Now: a.Clock.Now, Logger: logger})
	must(err)
	a.Sessions, err = session.New(a.Site, a.Store, session.Config{})
	must(err)
	a.UI, err = ui.New(a.Site, ui.Config{Brand: ui.Brand{ProductName: "Sigra Test"}, Packs: opt.Packs})
	must(err)
	a.Guard, err = middleware.New(a.Sessions, middleware.Config{Routes: a.UI, SudoWindow: opt.SudoWindow})
	must(err)
	a.Limiter, err = middleware.NewRateLimiter(a.Site, middleware.RateLimiterConfig{Limiter: a.Store})
	must(err)
	a.Hasher = opt.Passwords
	if a.Hasher == nil {
		a.Hasher, err = password.New(password.Config{
			Params:                  password.Params{Memory: 64, Time: 1, Threads: 1},
			InsecureAllowWeakParams: true,
		})
		must(err)
	}
	a.Mailbox = mail.NewMailbox(mail.MailboxConfig{Now: a.Clock.Now})
	a.Outbox, err = mail.NewOutbox(mail.OutboxConfig{Store: a.Store, Keys: NewKey("k1"), Sender: a.Mailbox, Now: a.Clock.Now})
	must(err)
	a.Keys = NewKey("t1")

	if mount != nil {
		mount(a)
	}
	a.UI.Mount(a.Mux)
	a.Mux.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := sigra.UserFrom(r.Context()); u != nil {
			fmt.Fprintf(w, "home of %s", u.Email)
			return
		}
		io.WriteString(w, "home")
	}))
	a.Mux.Handle("GET /private", a.Guard.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "private of %s", sigra.UserFrom(r.Context()).Email)
	})))
	if _, ok := a.UI.Route(ui.RouteSudo); ok {
		a.Mux.Handle("GET /billing", a.Guard.RequireSudo(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "billing")
		})))
	}
	if _, ok := a.UI.Route(ui.RouteStepUp); ok {
		a.Mux.Handle("GET /secure", a.Guard.RequireAAL2(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "aal2 area")
		})))
	}
	csrfCfg := middleware.CSRFConfig{Exempt: opt.CSRFExempt}
	if opt.CSRF != nil {
		csrfCfg = opt.CSRF(a)
	}
	csrf, err := middleware.CSRF(a.Site, csrfCfg)
	must(err)
	handler = middleware.SecureHeaders(a.Site, middleware.HeadersConfig{})(middleware.LimitBody(0)(csrf(a.Sessions.LoadAndSave(a.Mux))))
	return a
}

// Path returns a path under the site's prefix ("/login" → "/auth/login").
func (a *App) Path(p string) string { return a.Site.Path(p) }

// NewKey returns a fresh sealing key spec "id:base64".
func NewKey(id string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return id + ":" + base64.StdEncoding.EncodeToString(b)
}

// Flush delivers every due queued email into the mailbox.
func (a *App) Flush(t testing.TB) {
	t.Helper()
	for range 10 {
		sent, failed, err := a.Outbox.DeliverDue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if failed > 0 {
			t.Fatalf("%d emails failed to deliver", failed)
		}
		if sent == 0 {
			return
		}
	}
}

// Mails flushes the outbox and returns the messages sent to addr, newest
// first.
func (a *App) Mails(t testing.TB, addr string) []mail.Captured {
	t.Helper()
	a.Flush(t)
	return a.Mailbox.Messages(addr)
}

// LastMail returns the newest message to addr, failing if there is none.
func (a *App) LastMail(t testing.TB, addr string) mail.Captured {
	t.Helper()
	ms := a.Mails(t, addr)
	if len(ms) == 0 {
		t.Fatalf("no email to %s", addr)
	}
	return ms[0]
}

var linkRE = regexp.MustCompile(`https?://[^\s"'<>]+`)

// Link returns the first link in m's text part whose path contains path.
func Link(t testing.TB, m mail.Captured, path string) string {
	t.Helper()
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if strings.Contains(l, path) {
			return l
		}
	}
	t.Fatalf("no link with %q in email %q:\n%s", path, m.Subject, m.Text)
	return ""
}

// TokenOf returns the token query parameter of a link.
func TokenOf(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.Query().Get("token")
}

var codeRE = regexp.MustCompile(`\b\d{6}\b`)

// Code returns the first 6-digit code in m's text part, outside its links.
func Code(t testing.TB, m mail.Captured) string {
	t.Helper()
	c := codeRE.FindString(linkRE.ReplaceAllString(m.Text, " "))
	if c == "" {
		t.Fatalf("no code in email %q", m.Subject)
	}
	return c
}

// CreateUser registers a confirmed user with a password directly in the
// store.
func (a *App) CreateUser(t testing.TB, email, pw string) *store.User {
	t.Helper()
	ctx := context.Background()
	h, err := a.Hasher.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	u := &store.User{Email: email, PasswordHash: h, EmailConfirmedAt: a.Clock.Now(), CreatedAt: a.Clock.Now()}
	if err := a.Store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	return u
}

// User reads a user by address.
func (a *App) User(t testing.TB, email string) *store.User {
	t.Helper()
	u, err := a.Store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

// Client is one browser: a cookie jar, redirects not followed, and the
// headers a browser sends on same-origin form posts. Its failures are
// reported on the test that created it.
type Client struct {
	t    testing.TB
	a    *App
	HTTP *http.Client
	Jar  *cookiejar.Jar
	// UserAgent is sent with every request.
	UserAgent string
	csrf      string
}

// Client returns a new browser whose failures are reported on t.
func (a *App) Client(t testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, a: a, Jar: jar, UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
		HTTP: &http.Client{Transport: a.transport, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// For returns a copy of the client (same cookies and form token) whose
// failures are reported on t, for use inside a subtest.
func (c *Client) For(t testing.TB) *Client {
	d := *c
	d.t = t
	return &d
}

// Response is a read response.
type Response struct {
	*http.Response
	Body string
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// Do sends a request (path relative to the app, or an absolute URL on the
// site) and reads the response. HTML form tokens are remembered for the
// next POST.
func (c *Client) Do(method, path string, hdr http.Header, body io.Reader) *Response {
	c.t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = c.a.Server.URL + path
	} else if strings.HasPrefix(path, c.a.URL) {
		target = c.a.Server.URL + strings.TrimPrefix(path, c.a.URL)
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			// The Host header is sent from req.Host.
			req.Host = v[0]
			continue
		}
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.UserAgent)
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if m := csrfRE.FindSubmatch(b); m != nil {
		c.csrf = htmlUnescape(string(m[1]))
	}
	return &Response{Response: res, Body: string(b)}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#43;", "+", "&#x2b;", "+", "&amp;", "&", "&#x2f;", "/", "&#47;", "/", "&#61;", "=", "&#x3d;", "=").Replace(s)
}

// Get fetches a page.
func (c *Client) Get(path string) *Response {
	c.t.Helper()
	return c.Do("GET", path, nil, nil)
}

// CSRF returns a form token, fetching the sign-in page (or the home page)
// for one if none was seen.
func (c *Client) CSRF() string {
	c.t.Helper()
	if c.csrf == "" {
		if p, ok := c.a.UI.Route(ui.RouteSignIn); ok {
			c.Get(p)
		}
		if c.csrf == "" {
			c.t.Fatal("no CSRF token on the sign-in page")
		}
	}
	return c.csrf
}

// Post submits a same-origin form with the CSRF token.
func (c *Client) Post(path string, form url.Values) *Response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf_token") == "" {
		form.Set("csrf_token", c.CSRF())
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("Origin", c.a.Server.URL)
	h.Set("Sec-Fetch-Site", "same-origin")
	return c.Do("POST", path, h, strings.NewReader(form.Encode()))
}

// JSON sends a JSON request (no CSRF token: JSON bodies are exempt) and
// returns the response.
func (c *Client) JSON(method, path, body string) *Response {
	c.t.Helper()
	h := http.Header{}
	h.Set("Accept", "application/json")
	var rd io.Reader
	if body != "" {
		h.Set("Content-Type", "application/json")
		rd = strings.NewReader(body)
	}
	return c.Do(method, path, h, rd)
}

// SignIn signs in with a password at the sign-in route and expects a
// redirect (to the landing page, or to the second step of the sign-in).
func (c *Client) SignIn(email, pw string) *Response {
	c.t.Helper()
	p, ok := c.a.UI.Route(ui.RouteSignIn)
	if !ok {
		c.t.Fatal("no sign-in route: mount a feature that provides one")
	}
	res := c.Post(p, url.Values{"email": {email}, "password": {pw}})
	if res.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign in as %s: got %d\n%s", email, res.StatusCode, res.Body)
	}
	return res
}

// Whoami returns the request's auth state from the session-info route.
func (c *Client) Whoami() (state string, email string, aal int) {
	c.t.Helper()
	p, ok := c.a.UI.Route("session_info")
	if !ok {
		c.t.Fatal("no session_info route: mount the account feature")
	}
	res := c.JSON("GET", p, "")
	var body struct {
		State string
		AAL   int
		User  struct{ Email string }
	}
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
		c.t.Fatalf("session info: %v: %s", err, res.Body)
	}
	return body.State, body.User.Email, body.AAL
}

// Cookie returns the value of the named cookie for the app, or "".
func (c *Client) Cookie(name string) string {
	u, _ := url.Parse(c.a.Server.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

var tableRE = regexp.MustCompile(`^sigra_[a-z_]+$`)

// Count returns the number of rows of a table (such as "sigra_tokens")
// matching where, a SQL condition with ? placeholders for args (empty
// counts every row). It reads the database directly, below the store
// interfaces, so tests can check what a flow wrote.
func (a *App) Count(t testing.TB, table, where string, args ...any) int {
	t.Helper()
	if !tableRE.MatchString(table) {
		t.Fatalf("Count: bad table name %q", table)
	}
	q := "SELECT count(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	a.QueryRow(t, q, args, &n)
	return n
}

// QueryRow runs a one-row query on the database, below the store, with ?
// placeholders on both backends.
func (a *App) QueryRow(t testing.TB, q string, args []any, dest ...any) {
	t.Helper()
	ctx := context.Background()
	switch db := a.Store.(type) {
	case *postgres.DB:
		var b strings.Builder
		n := 0
		for _, r := range q {
			if r == '?' {
				n++
				fmt.Fprintf(&b, "$%d", n)
				continue
			}
			b.WriteRune(r)
		}
		if err := db.Pool().QueryRow(ctx, b.String(), args...).Scan(dest...); err != nil {
			t.Fatalf("query %q: %v", q, err)
		}
	default:
		raw := a.rawSQLite(t)
		if err := raw.QueryRowContext(ctx, q, args...).Scan(dest...); err != nil {
			t.Fatalf("query %q: %v", q, err)
		}
	}
}

// rawSQLite opens (once) a read-only connection pool on the SQLite file.
func (a *App) rawSQLite(t testing.TB) *sql.DB {
	t.Helper()
	a.rawOnce.Do(func() {
		a.raw, a.rawErr = sql.Open("sqlite", "file:"+a.DBPath+"?mode=ro&_pragma=busy_timeout(5000)")
	})
	if a.rawErr != nil {
		t.Fatalf("open %s: %v", a.DBPath, a.rawErr)
	}
	return a.raw
}

// close releases the raw connection pool at the end of the test that
// created the App (the store and the server close themselves then too).
func (a *App) close() {
	a.rawOnce.Do(func() {}) // no later open
	if a.raw != nil {
		a.raw.Close()
	}
}

// Contents returns everything the database holds, for scanning for
// secrets that must never be stored: on SQLite the bytes of the database
// file and its write-ahead log; on PostgreSQL the text form of every row of
// every table of the test schema.
func (a *App) Contents(t testing.TB) []byte {
	t.Helper()
	if a.Backend != "postgres" {
		var out []byte
		for _, p := range []string{a.DBPath, a.DBPath + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			out = append(out, b...)
		}
		return out
	}
	db := a.Store.(*postgres.DB)
	ctx := context.Background()
	rows, err := db.Pool().Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, tb := range tables {
		var text string
		q := fmt.Sprintf("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM %q t", tb)
		if err := db.Pool().QueryRow(ctx, q).Scan(&text); err != nil {
			t.Fatalf("dump %s: %v", tb, err)
		}
		out = append(out, text...)
		out = append(out, '\n')
	}
	return out
}
