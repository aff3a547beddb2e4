// Package testapp wires every Sigra package into an in-process application
// for end-to-end tests: a real store (SQLite, or PostgreSQL when asked and
// SIGRA_TEST_POSTGRES is set), sessions, guards, CSRF, the account and MFA
// flows, and a durable outbox delivering into a development mailbox. Time
// is a controllable clock, and hashing uses cheap parameters.
package testapp

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
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
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/ui"
)

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
	// RequireConfirmation refuses sign-in before the address is confirmed.
	RequireConfirmation bool
	// DeletionMode is passed to the account config.
	DeletionMode account.DeletionMode
	// Hooks are passed to the account config.
	Hooks account.Hooks
	// Limits are passed to the account config.
	Limits account.Limits
	// Logger receives the account flows' log records. Default: the
	// account package's default (slog.Default()).
	Logger *slog.Logger
	// AccountStore, when set, wraps the store the account flows use (for
	// example to inject failures); the rest of the application and
	// App.Store keep the plain store.
	AccountStore func(store.Store) store.Store
	// Passwords, when set, replaces the test hasher (Argon2id with cheap
	// parameters), for example to bound its pool.
	Passwords *password.Hasher
	// MFA, when set, adjusts the MFA config before mfa.New.
	MFA func(*mfa.Config)
}

// App is a running test application.
type App struct {
	T        testing.TB
	Store    store.Store
	Clock    *Clock
	Sessions *session.Manager
	Guard    *middleware.Guard
	Account  *account.Handler
	MFA      *mfa.MFA
	Mailbox  *mail.Mailbox
	Outbox   *mail.Outbox
	Hasher   *password.Hasher
	// MFAKeys is the keyring spec the MFA flows seal TOTP secrets with.
	MFAKeys string
	Server  *httptest.Server
	// URL is the server's base URL.
	URL string
	// DBPath is the SQLite database file; empty on PostgreSQL.
	DBPath string
	// Backend is "sqlite" or "postgres".
	Backend string

	rawOnce sync.Once
	raw     *sql.DB
}

// Backends lists the backends a test should run on: SQLite always,
// PostgreSQL too (it skips itself without SIGRA_TEST_POSTGRES).
var Backends = []string{"sqlite", "postgres"}

// New starts an application.
func New(t testing.TB, opt Options) *App {
	t.Helper()
	ctx := context.Background()
	a := &App{T: t, Clock: &Clock{t: time.Now().UTC().Truncate(time.Millisecond)}}
	switch opt.Backend {
	case "", "sqlite":
		a.Backend, a.DBPath = "sqlite", filepath.Join(t.TempDir(), "app.db")
		db, err := sqlite.Open(ctx, a.DBPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		a.Store = db
	case "postgres":
		a.Backend = "postgres"
		db, err := postgres.Open(ctx, pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		a.Store = db
	default:
		t.Fatalf("unknown backend %q", opt.Backend)
	}

	// The server's URL is the base URL, so it must exist first; the
	// handler is set once everything is built.
	var handler http.Handler
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(a.Server.Close)
	// Cookies are not Secure on a loopback base URL; use "localhost" so
	// the session package treats it as local development.
	u, _ := url.Parse(a.Server.URL)
	a.URL = "http://localhost:" + u.Port()

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	a.Sessions, err = session.New(a.Store, session.Config{BaseURL: a.URL, Now: a.Clock.Now})
	must(err)
	a.Guard, err = middleware.New(a.Sessions, middleware.Config{})
	must(err)
	a.Hasher = opt.Passwords
	if a.Hasher == nil {
		a.Hasher, err = password.New(password.Config{
			Params:                  password.Params{Memory: 64, Time: 1, Threads: 1},
			InsecureAllowWeakParams: true,
		})
		must(err)
	}
	views, err := ui.New(ui.Config{Brand: ui.Brand{ProductName: "Sigra Test"}})
	must(err)
	a.Mailbox = mail.NewMailbox(mail.MailboxConfig{Now: a.Clock.Now})
	a.Outbox, err = mail.NewOutbox(mail.OutboxConfig{Store: a.Store, Keys: NewKey("k1"), Mailer: a.Mailbox, Now: a.Clock.Now})
	must(err)
	a.MFAKeys = NewKey("t1")
	mfaConfig := mfa.Config{
		Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: views, Mailer: a.Outbox, Keys: a.MFAKeys,
	}
	if opt.MFA != nil {
		opt.MFA(&mfaConfig)
	}
	a.MFA, err = mfa.New(mfaConfig)
	must(err)
	accountStore := a.Store
	if opt.AccountStore != nil {
		accountStore = opt.AccountStore(a.Store)
	}
	a.Account, err = account.New(account.Config{
		Store: accountStore, Sessions: a.Sessions, Guard: a.Guard, Passwords: a.Hasher, Mailer: a.Outbox, UI: views,
		BaseURL: a.URL, SecondFactor: a.MFA, RequireConfirmation: opt.RequireConfirmation,
		DeletionMode: opt.DeletionMode, Hooks: opt.Hooks, Limits: opt.Limits, Logger: opt.Logger,
	})
	must(err)

	mux := http.NewServeMux()
	a.Account.Mount(mux, "/auth")
	a.MFA.Mount(mux, "/auth")
	mux.Handle("GET /auth/assets/", views.Assets())
	mux.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := sigra.UserFrom(r.Context()); u != nil {
			fmt.Fprintf(w, "home of %s", u.Email)
			return
		}
		io.WriteString(w, "home")
	}))
	mux.Handle("GET /private", a.Guard.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "private of %s", sigra.UserFrom(r.Context()).Email)
	})))
	mux.Handle("GET /secure", a.Guard.RequireAAL2(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "aal2 area")
	})))
	mux.Handle("GET /billing", a.Guard.RequireSudo(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "billing")
	})))
	csrf, err := middleware.CSRF(middleware.CSRFConfig{BaseURL: a.URL})
	must(err)
	handler = middleware.SecureHeaders(middleware.HeadersConfig{})(middleware.LimitBody(0)(csrf(a.Sessions.LoadAndSave(a.Guard.Load(mux)))))
	return a
}

// NewKey returns a fresh sealing key spec "id:base64".
func NewKey(id string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return id + ":" + base64.StdEncoding.EncodeToString(b)
}

// Flush delivers every due queued email into the mailbox.
func (a *App) Flush() {
	a.T.Helper()
	for range 10 {
		sent, failed, err := a.Outbox.DeliverDue(context.Background())
		if err != nil {
			a.T.Fatal(err)
		}
		if failed > 0 {
			a.T.Fatalf("%d emails failed to deliver", failed)
		}
		if sent == 0 {
			return
		}
	}
}

// Mails flushes the outbox and returns the messages sent to addr, newest
// first.
func (a *App) Mails(addr string) []mail.Captured {
	a.T.Helper()
	a.Flush()
	return a.Mailbox.Messages(addr)
}

// LastMail returns the newest message to addr, failing if there is none.
func (a *App) LastMail(addr string) mail.Captured {
	a.T.Helper()
	ms := a.Mails(addr)
	if len(ms) == 0 {
		a.T.Fatalf("no email to %s", addr)
	}
	return ms[0]
}

var linkRE = regexp.MustCompile(`https?://[^\s"'<>]+`)

// Link returns the first link in m's text part whose path contains path.
func (a *App) Link(m mail.Captured, path string) string {
	a.T.Helper()
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if strings.Contains(l, path) {
			return l
		}
	}
	a.T.Fatalf("no link with %q in email %q:\n%s", path, m.Subject, m.Text)
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
func (a *App) Code(m mail.Captured) string {
	a.T.Helper()
	c := codeRE.FindString(linkRE.ReplaceAllString(m.Text, " "))
	if c == "" {
		a.T.Fatalf("no code in email %q", m.Subject)
	}
	return c
}

// CreateUser registers a confirmed user with a password directly in the
// store.
func (a *App) CreateUser(email, pw string) *store.User {
	a.T.Helper()
	ctx := context.Background()
	h, err := a.Hasher.Hash(ctx, pw)
	if err != nil {
		a.T.Fatal(err)
	}
	u := &store.User{Email: email, PasswordHash: h, EmailConfirmedAt: a.Clock.Now(), CreatedAt: a.Clock.Now()}
	if err := a.Store.CreateUser(ctx, u); err != nil {
		a.T.Fatal(err)
	}
	return u
}

// User reads a user by address.
func (a *App) User(email string) *store.User {
	a.T.Helper()
	u, err := a.Store.UserByEmail(context.Background(), email)
	if err != nil {
		a.T.Fatalf("user %s: %v", email, err)
	}
	return u
}

// Client is one browser: a cookie jar, redirects not followed, and the
// headers a browser sends on same-origin form posts.
type Client struct {
	a    *App
	HTTP *http.Client
	Jar  *cookiejar.Jar
	// UserAgent is sent with every request.
	UserAgent string
	csrf      string
}

// Client returns a new browser.
func (a *App) Client() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{a: a, Jar: jar, UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
		HTTP: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Response is a read response.
type Response struct {
	*http.Response
	Body string
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// Do sends a request (path relative to the app) and reads the response.
// HTML form tokens are remembered for the next POST.
func (c *Client) Do(method, path string, hdr http.Header, body io.Reader) *Response {
	c.a.T.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = c.a.Server.URL + path
	} else if strings.HasPrefix(path, c.a.URL) {
		target = c.a.Server.URL + strings.TrimPrefix(path, c.a.URL)
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		c.a.T.Fatal(err)
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
		c.a.T.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.a.T.Fatal(err)
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
	c.a.T.Helper()
	return c.Do("GET", path, nil, nil)
}

// CSRF returns a form token, fetching a page for one if none was seen.
func (c *Client) CSRF() string {
	c.a.T.Helper()
	if c.csrf == "" {
		c.Get("/auth/login")
		if c.csrf == "" {
			c.a.T.Fatal("no CSRF token on the sign-in page")
		}
	}
	return c.csrf
}

// Post submits a same-origin form with the CSRF token.
func (c *Client) Post(path string, form url.Values) *Response {
	c.a.T.Helper()
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
	c.a.T.Helper()
	h := http.Header{}
	h.Set("Accept", "application/json")
	var rd io.Reader
	if body != "" {
		h.Set("Content-Type", "application/json")
		rd = strings.NewReader(body)
	}
	return c.Do(method, path, h, rd)
}

// SignIn signs in with a password and expects to land signed in (or at
// the second-factor page when expectMFA).
func (c *Client) SignIn(email, pw string) *Response {
	c.a.T.Helper()
	res := c.Post("/auth/login", url.Values{"email": {email}, "password": {pw}})
	if res.StatusCode != http.StatusSeeOther {
		c.a.T.Fatalf("sign in as %s: got %d\n%s", email, res.StatusCode, res.Body)
	}
	return res
}

// Whoami returns the request's auth state from GET /auth/session.
func (c *Client) Whoami() (state string, email string, aal int) {
	c.a.T.Helper()
	res := c.JSON("GET", "/auth/session", "")
	var body struct {
		State string
		AAL   int
		User  struct{ Email string }
	}
	if err := jsonUnmarshal(res.Body, &body); err != nil {
		c.a.T.Fatalf("session info: %v: %s", err, res.Body)
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

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

var tableRE = regexp.MustCompile(`^sigra_[a-z_]+$`)

// Count returns the number of rows of a table (such as "sigra_tokens")
// matching where, a SQL condition with ? placeholders for args (empty
// counts every row). It reads the database directly, below the store
// interfaces, so tests can check what a flow wrote.
func (a *App) Count(table, where string, args ...any) int {
	a.T.Helper()
	if !tableRE.MatchString(table) {
		a.T.Fatalf("Count: bad table name %q", table)
	}
	q := "SELECT count(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	a.queryRow(q, args, &n)
	return n
}

// queryRow runs a one-row query on the database, below the store.
func (a *App) queryRow(q string, args []any, dest ...any) {
	a.T.Helper()
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
			a.T.Fatalf("query %q: %v", q, err)
		}
	default:
		raw := a.rawSQLite()
		if err := raw.QueryRowContext(ctx, q, args...).Scan(dest...); err != nil {
			a.T.Fatalf("query %q: %v", q, err)
		}
	}
}

// rawSQLite opens (once) a read-only connection pool on the SQLite file.
func (a *App) rawSQLite() *sql.DB {
	a.T.Helper()
	a.rawOnce.Do(func() {
		db, err := sql.Open("sqlite", "file:"+a.DBPath+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			a.T.Fatalf("open %s: %v", a.DBPath, err)
		}
		a.T.Cleanup(func() { db.Close() })
		a.raw = db
	})
	return a.raw
}

// Contents returns everything the database holds, for scanning for
// secrets that must never be stored: on SQLite the bytes of the database
// file and its write-ahead log; on PostgreSQL the text form of every row of
// every table of the test schema.
func (a *App) Contents() []byte {
	a.T.Helper()
	if a.Backend != "postgres" {
		var out []byte
		for _, p := range []string{a.DBPath, a.DBPath + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				a.T.Fatal(err)
			}
			out = append(out, b...)
		}
		return out
	}
	db := a.Store.(*postgres.DB)
	ctx := context.Background()
	rows, err := db.Pool().Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
	if err != nil {
		a.T.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			a.T.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		a.T.Fatal(err)
	}
	var out []byte
	for _, tb := range tables {
		var text string
		q := fmt.Sprintf("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM %q t", tb)
		if err := db.Pool().QueryRow(ctx, q).Scan(&text); err != nil {
			a.T.Fatalf("dump %s: %v", tb, err)
		}
		out = append(out, text...)
		out = append(out, '\n')
	}
	return out
}
