package session_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
)

// records is a slog.Handler that keeps every record.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }

func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

func (h *records) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *records) WithGroup(string) slog.Handler      { return h }

// at returns the messages of the records logged at level, and above
// those logged above it.
func (h *records) at(level slog.Level) (at, above []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		switch {
		case r.Level == level:
			at = append(at, r.Message)
		case r.Level > level:
			above = append(above, r.Message)
		}
	}
	return at, above
}

// reset forgets the records so far.
func (h *records) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = nil
}

// outageApp is a session manager over st with a recording logger and
// these routes: POST /signin signs the user in and answers "signed in"
// with headers that describe that answer; GET /whoami answers the signed-in
// user's id.
type outageApp struct {
	st   testStore
	m    *session.Manager
	log  *records
	user *store.User
	h    http.Handler
	// writeErr is the error of the last write of POST /signin.
	writeErr error
	// during, when set, runs in POST /signin before it answers.
	during func(r *http.Request)
}

func newOutageApp(t *testing.T, st testStore) *outageApp {
	t.Helper()
	a := &outageApp{st: st, log: &records{}}
	s, err := site.New(site.Config{BaseURL: "http://localhost", Logger: slog.New(a.log)})
	if err != nil {
		t.Fatal(err)
	}
	if a.m, err = session.New(s, st, session.Config{}); err != nil {
		t.Fatal(err)
	}
	a.user = &store.User{Email: "outage-" + store.NewID() + "@example.com", CreatedAt: time.Now()}
	if err := st.CreateUser(context.Background(), a.user); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /signin", func(w http.ResponseWriter, r *http.Request) {
		if err := a.m.SignIn(r.Context(), public(a.user), []sigra.Method{sigra.MethodPassword}, sigra.AAL1, false); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		if a.during != nil {
			a.during(r)
		}
		w.Header().Set("Location", "/home")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", "9")
		w.WriteHeader(http.StatusOK)
		_, a.writeErr = io.WriteString(w, "signed in")
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		if u := sigra.UserFrom(r.Context()); u != nil {
			_, _ = io.WriteString(w, u.ID)
		}
	})
	a.h = a.m.LoadAndSave(mux)
	return a
}

// serve runs one request through the application and returns the answer.
func (a *outageApp) serve(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, r)
	return rec
}

// signIn signs the user in and returns the session cookie.
func (a *outageApp) signIn(t *testing.T) *http.Cookie {
	t.Helper()
	rec := a.serve(httptest.NewRequest("POST", "/signin", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("sign in: got %d %s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == a.m.CookieName() {
			return c
		}
	}
	t.Fatal("sign in: no session cookie")
	return nil
}

// whoami asks who is signed in with cookie c.
func (a *outageApp) whoami(c *http.Cookie, asJSON bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/whoami", nil)
	r.AddCookie(c)
	if asJSON {
		r.Header.Set("Accept", "application/json")
	}
	return a.serve(r)
}

// want503 fails t unless rec is a 503 with Retry-After, as JSON with the
// code "busy" or as an HTML page.
func want503(t *testing.T, what string, rec *httptest.ResponseRecorder, asJSON bool) {
	t.Helper()
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%s: got %d with Retry-After %q: %s; want 503 with Retry-After", what, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if asJSON {
		var body struct{ Error struct{ Code string } }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "busy" {
			t.Errorf("%s: body got %s, want JSON with the code busy", what, rec.Body)
		}
	} else if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("%s: got Content-Type %q, want an HTML page", what, rec.Header().Get("Content-Type"))
	}
}

// wantWarnedOnly fails t unless "session error" was logged at WARN and
// nothing above it.
func wantWarnedOnly(t *testing.T, log *records) {
	t.Helper()
	at, above := log.at(slog.LevelWarn)
	if len(above) != 0 || len(at) == 0 || at[0] != "session error" {
		t.Errorf("log: got %q at WARN and %q above, want session error at WARN only", at, above)
	}
}

// TestPoolFullAnswers503 holds the only connection of a PostgreSQL pool:
// loading the session waits the pool's AcquireTimeout, then the request
// gets 503 with Retry-After, as HTML and JSON; once the connection is
// back, the same session works again.
func TestPoolFullAnswers503(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	openPostgresDSN(t, dsn, postgres.Config{}) // migrated
	db := openPostgresDSN(t, dsn, postgres.Config{MaxConns: 1, AcquireTimeout: 250 * time.Millisecond, SkipMigrate: true})
	a := newOutageApp(t, db)
	c := a.signIn(t)

	held, err := db.Pool().Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(held.Release) // before the pool closes, should the test fail
	for _, asJSON := range []bool{false, true} {
		want503(t, fmt.Sprintf("whoami with the pool full (JSON %v)", asJSON), a.whoami(c, asJSON), asJSON)
	}
	wantWarnedOnly(t, a.log)
	held.Release()
	if rec := a.whoami(c, false); rec.Code != http.StatusOK || rec.Body.String() != a.user.ID {
		t.Fatalf("whoami once the connection is back: got %d %q, want 200 with the user", rec.Code, rec.Body)
	}
}

// TestOutageAnswers503AndRecovers cuts PostgreSQL off under the
// application: it terminates the pool's connections and refuses new ones.
// Every request then gets 503 with Retry-After, logged at WARN; once the
// database is back, the same session works again without anything being
// restarted.
func TestOutageAnswers503AndRecovers(t *testing.T) {
	t.Parallel()
	o := newOutage(t)
	// One connection: after the outage no connection that died in it is
	// left in the pool, so the first request after it is served.
	db := openPostgresDSN(t, o.dsn, postgres.Config{MaxConns: 1, SkipMigrate: true})
	a := newOutageApp(t, db)
	c := a.signIn(t)
	if rec := a.whoami(c, false); rec.Body.String() != a.user.ID {
		t.Fatalf("whoami before the outage: got %d %q", rec.Code, rec.Body)
	}

	o.down()
	for i, asJSON := range []bool{false, true, false} {
		want503(t, fmt.Sprintf("whoami #%d during the outage", i), a.whoami(c, asJSON), asJSON)
	}
	want503(t, "sign in during the outage", a.serve(httptest.NewRequest("POST", "/signin", nil)), false)
	wantWarnedOnly(t, a.log)

	o.up()
	if rec := a.whoami(c, false); rec.Code != http.StatusOK || rec.Body.String() != a.user.ID {
		t.Fatalf("whoami after the outage: got %d %q, want 200 with the user", rec.Code, rec.Body)
	}
	if rec := a.serve(httptest.NewRequest("POST", "/signin", nil)); rec.Code != http.StatusOK {
		t.Fatalf("sign in after the outage: got %d %s", rec.Code, rec.Body)
	}
}

// TestSaveFailureReplacesAnswer holds SQLite's write lock from another
// connection (as another process would): the session cannot be saved, so
// the request gets 503 with Retry-After in place of the handler's answer,
// none of whose headers, body or session cookie is sent; the handler's
// write fails. Once the lock is gone, the same request succeeds.
func TestSaveFailureReplacesAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := sqlite.New(ctx, sqlite.Config{Path: path, BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := newOutageApp(t, db)

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	for _, asJSON := range []bool{false, true} {
		r := httptest.NewRequest("POST", "/signin", nil)
		if asJSON {
			r.Header.Set("Accept", "application/json")
		}
		rec := a.serve(r)
		what := fmt.Sprintf("sign in while the file is locked (JSON %v)", asJSON)
		want503(t, what, rec, asJSON)
		if strings.Contains(rec.Body.String(), "signed in") || rec.Header().Get("Location") != "" || len(rec.Result().Cookies()) != 0 {
			t.Errorf("%s: got the handler's answer (%q, Location %q, cookies %v), want the error alone", what, rec.Body, rec.Header().Get("Location"), rec.Result().Cookies())
		}
		if got := rec.Header().Get("Content-Length"); got == "9" {
			t.Errorf("%s: got the handler's Content-Length", what)
		}
		if a.writeErr == nil {
			t.Errorf("%s: the handler's write succeeded, want it to fail", what)
		}
	}
	wantWarnedOnly(t, a.log)

	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	rec := a.serve(httptest.NewRequest("POST", "/signin", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "signed in" || a.writeErr != nil {
		t.Fatalf("sign in once the lock is gone: got %d %q (write error %v)", rec.Code, rec.Body, a.writeErr)
	}
}

// TestClientGone sends requests whose client went away, before the
// session is loaded and while the handler runs (then saving the session
// fails): neither is answered with 500 (only the status 499, which no
// client reads), and nothing is logged above DEBUG.
func TestClientGone(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			a := newOutageApp(t, b.open(t))
			c := a.signIn(t)
			a.log.reset()

			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			r := httptest.NewRequest("GET", "/whoami", nil).WithContext(ctx)
			r.AddCookie(c)
			if rec := a.serve(r); rec.Code != 499 || rec.Body.Len() != 0 {
				t.Errorf("whoami, client gone before: got %d %q, want 499 and nothing", rec.Code, rec.Body)
			}

			ctx, cancel = context.WithCancel(context.Background())
			a.during = func(*http.Request) { cancel() }
			r = httptest.NewRequest("POST", "/signin", nil).WithContext(ctx)
			rec := a.serve(r)
			if rec.Code != 499 || strings.Contains(rec.Body.String(), "signed in") {
				t.Errorf("sign in, client gone during it: got %d %q, want 499 and nothing", rec.Code, rec.Body)
			}
			at, above := a.log.at(slog.LevelDebug)
			if len(above) != 0 || len(at) != 2 {
				t.Errorf("log: got %q at DEBUG and %q above, want two session errors at DEBUG only", at, above)
			}
		})
	}
}

// openPostgresDSN opens a store on dsn with cfg, closed when t ends.
func openPostgresDSN(t *testing.T, dsn string, cfg postgres.Config) *postgres.DB {
	t.Helper()
	cfg.DSN = dsn
	var db *postgres.DB
	var err error
	for range 50 { // with a short AcquireTimeout, the first connection may take longer to open
		if db, err = postgres.New(context.Background(), cfg); !errors.Is(err, store.ErrUnavailable) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// outage is a login role of the test's own whose connections the test
// cuts off: down forbids it to log in and terminates its backends (as a
// restart or a network cut would: the pool's connections die, new ones
// are refused), up lets it in again. Tests beside it are not touched.
type outage struct {
	t     *testing.T
	admin string
	role  string
	dsn   string // the schema's DSN, for the role
}

// newOutage creates the role for a fresh, migrated schema, and drops it
// when t ends. It skips t when the server's user may not create roles.
func newOutage(t *testing.T) *outage {
	t.Helper()
	dsn := pgtest.DSN(t)
	openPostgresDSN(t, dsn, postgres.Config{}).Close() // migrated by the schema's owner
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	o := &outage{t: t, admin: pgtest.BaseDSN(t), role: "sigra_outage_" + hex.EncodeToString(b)}
	pw := hex.EncodeToString(b) + "-pw"
	if err := o.exec(fmt.Sprintf("CREATE ROLE %s LOGIN SUPERUSER PASSWORD '%s'", o.role, pw)); err != nil {
		t.Skipf("the test server's user cannot create a role: %v", err)
	}
	t.Cleanup(func() {
		o.terminate()
		if err := o.exec("DROP ROLE IF EXISTS " + o.role); err != nil {
			t.Errorf("drop role %s: %v", o.role, err)
		}
	})
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(o.role, pw)
		o.dsn = u.String()
	} else {
		o.dsn = dsn + " user=" + o.role + " password=" + pw
	}
	return o
}

func (o *outage) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, o.admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

func (o *outage) terminate() {
	o.t.Helper()
	if err := o.exec("SELECT pg_terminate_backend(pid, 30000) FROM pg_stat_activity WHERE usename = '" + o.role + "' AND pid <> pg_backend_pid()"); err != nil {
		o.t.Fatal(err)
	}
}

func (o *outage) down() {
	o.t.Helper()
	if err := o.exec("ALTER ROLE " + o.role + " NOLOGIN"); err != nil {
		o.t.Fatal(err)
	}
	o.terminate()
}

func (o *outage) up() {
	o.t.Helper()
	if err := o.exec("ALTER ROLE " + o.role + " LOGIN"); err != nil {
		o.t.Fatal(err)
	}
}
