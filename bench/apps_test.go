package bench

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the baseline's database/sql driver

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
)

const (
	// population is how many users, each with one session, every
	// database holds.
	population = 1000
	// userAgent is sent with every request, the sign-in included, so the
	// steady state has nothing new to record.
	userAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
	// passwordHash is a well-formed hash the requests never verify.
	passwordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
)

// app is an application under measurement: its handler chain and the
// cookie of a signed-in session.
type app struct {
	h      http.Handler
	cookie *http.Cookie
	email  string // the signed-in user's address, the expected body
}

// serve sends one authenticated GET /dashboard through the chain, as the
// server would hand it over, and checks the answer.
//
// The request and the response writer are made as net/http's server
// makes them: a new Request, URL and header map, and a new response value
// with a header map of its own. Neither httptest.NewRequest's new 4 KiB
// reader (a server keeps one per connection) nor httptest's recorder,
// which copies the header map when the status is written and grows a
// buffer for the body, is used: their garbage would weigh on every
// figure, and on how each application scales across cores.
func (a *app) serve() error {
	r := &http.Request{
		Method: http.MethodGet, URL: &url.URL{Path: "/dashboard"}, RequestURI: "/dashboard",
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: "example.com", RemoteAddr: "192.0.2.1:1234",
		Header: http.Header{"User-Agent": {userAgent}, "Cookie": {a.cookie.String()}},
	}
	w := &answer{header: make(http.Header)}
	a.h.ServeHTTP(w, r)
	if w.status != http.StatusOK || w.n != len(a.email) || string(w.body[:min(w.n, len(w.body))]) != a.email {
		return fmt.Errorf("GET /dashboard: got %d %q (%d bytes), want 200 %q", w.status, w.body[:min(w.n, len(w.body))], w.n, a.email)
	}
	return nil
}

// answer is the response writer of serve: the status, the size of the
// body and its first bytes, which are all the check needs. Like net/http's
// server, it sends the body on and keeps none of it.
type answer struct {
	header http.Header
	status int
	n      int
	body   [64]byte
}

func (w *answer) Header() http.Header { return w.header }

func (w *answer) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *answer) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.n < len(w.body) {
		copy(w.body[w.n:], p)
	}
	w.n += len(p)
	return len(p), nil
}

// signedInCookie sends a request through h, which signs in, and returns
// the cookie named name that the response sets.
func signedInCookie(tb testing.TB, h http.Handler, name string) *http.Cookie {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	r.Header.Set("User-Agent", userAgent)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNoContent {
		tb.Fatalf("sign in: got status %d %q, want 204", w.Code, w.Body.String())
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == name && c.Value != "" {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	tb.Fatalf("sign in: no %s cookie in %q", name, w.Header().Values("Set-Cookie"))
	return nil
}

// writeEmail is the handler body shared by every application: 200 and
// the user's address.
func writeEmail(w http.ResponseWriter, email string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, email)
}

// newBareApp is the control: the same request and answer with nothing
// between them, the handler writing a fixed address. What it costs is the
// benchmark's own share of every figure (making the request and the
// response writer), and how it scales across cores is the ceiling of
// every application's scaling on the machine.
func newBareApp() *app {
	const email = "user0@example.com"
	return &app{
		h:      http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeEmail(w, email) }),
		cookie: &http.Cookie{Name: "session", Value: "0123456789abcdef0123456789abcdef0123456789a"},
		email:  email,
	}
}

// newSCSApp builds the baseline: scs with its default settings and the
// official sqlite3store on modernc.org/sqlite, the users in a table of
// the same database.
func newSCSApp(tb testing.TB) *app {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "scs.db")
	// The pragmas a production application sets; reads do not depend on
	// them.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	// The sessions table as sqlite3store documents it, and a plain users
	// table.
	if _, err := db.ExecContext(ctx, `
		CREATE TABLE sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL);
		CREATE INDEX sessions_expiry_idx ON sessions(expiry);
		CREATE TABLE users (
			id TEXT PRIMARY KEY,
			email TEXT NOT NULL UNIQUE,
			password_hash TEXT NOT NULL,
			email_confirmed_at INTEGER,
			created_at INTEGER NOT NULL
		);`); err != nil {
		tb.Fatalf("schema: %v", err)
	}

	sm := scs.New()
	sqlStore := sqlite3store.New(db)
	tb.Cleanup(sqlStore.StopCleanup)
	sm.Store = sqlStore

	// Every user has a session, so the lookups run on tables of realistic
	// shape.
	var id, email string
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	for i := range population {
		uid, addr := store.NewID(), fmt.Sprintf("user%d@example.com", i)
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, email_confirmed_at, created_at) VALUES (?, ?, ?, ?, ?)`,
			uid, addr, passwordHash, now.Unix(), now.Unix()); err != nil {
			tb.Fatalf("insert user: %v", err)
		}
		data, err := sm.Codec.Encode(now.Add(sm.Lifetime), map[string]any{"userID": uid})
		if err != nil {
			tb.Fatal(err)
		}
		// sqlite3store's own statement, inside the seeding transaction.
		if _, err := tx.ExecContext(ctx, `REPLACE INTO sessions (token, data, expiry) VALUES ($1, $2, julianday($3))`,
			fmt.Sprintf("seed-token-%d", i), data, now.Add(sm.Lifetime).UTC().Format("2006-01-02T15:04:05.999")); err != nil {
			tb.Fatalf("insert session: %v", err)
		}
		if i == population/2 {
			id, email = uid, addr
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}

	signIn := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "userID", id)
		w.WriteHeader(http.StatusNoContent)
	}))

	type userKey struct{}
	type user struct {
		ID, Email        string
		EmailConfirmedAt time.Time
		CreatedAt        time.Time
	}
	// authenticate is what an scs application writes: read the user ID
	// from the session, load the user, put it in the request's context.
	authenticate := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := sm.GetString(r.Context(), "userID")
			if id == "" {
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			}
			var (
				u         user
				confirmed sql.NullInt64
				created   int64
			)
			err := db.QueryRowContext(r.Context(), `SELECT id, email, email_confirmed_at, created_at FROM users WHERE id = ?`, id).
				Scan(&u.ID, &u.Email, &confirmed, &created)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			case err != nil:
				http.Error(w, "Internal Server Error", http.StatusInternalServerError)
				return
			}
			if confirmed.Valid {
				u.EmailConfirmedAt = time.Unix(confirmed.Int64, 0)
			}
			u.CreatedAt = time.Unix(created, 0)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, &u)))
		})
	}
	dashboard := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeEmail(w, r.Context().Value(userKey{}).(*user).Email)
	})
	return &app{
		h:      sm.LoadAndSave(authenticate(dashboard)),
		cookie: signedInCookie(tb, signIn, sm.Cookie.Name),
		email:  email,
	}
}

// openSQLite opens a store/sqlite database in a temporary directory.
func openSQLite(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "sigra.db"))
	if err != nil {
		tb.Fatalf("sqlite.Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// openPostgres opens a store/postgres database as cfg says, on a fresh
// schema of the server named by SIGRA_TEST_POSTGRES (cfg.DSN is replaced),
// or skips tb when that variable is unset.
func openPostgres(tb testing.TB, cfg postgres.Config) *postgres.DB {
	tb.Helper()
	cfg.DSN = pgtest.DSN(tb)
	db, err := postgres.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("postgres.New: %v", err)
	}
	tb.Cleanup(db.Close)
	return db
}

// benchStore is what the Sigra applications need of a store: users and
// sessions to seed, in one transaction.
type benchStore interface {
	store.Users
	store.Sessions
	store.Transactor
}

// seed creates population users, each with an authenticated session of
// its own, and returns the one in the middle.
func seed(tb testing.TB, st benchStore, now time.Time) *store.User {
	tb.Helper()
	var mid *store.User
	err := st.InTx(context.Background(), func(ctx context.Context) error {
		for i := range population {
			u := &store.User{Email: fmt.Sprintf("user%d@example.com", i), PasswordHash: passwordHash, EmailConfirmedAt: now, CreatedAt: now}
			if err := st.CreateUser(ctx, u); err != nil {
				return err
			}
			tok := sha256.Sum256(fmt.Appendf(nil, "seed-token-%d", i))
			s := &store.Session{
				Digest: tok[:], Data: []byte{1, 0, 0}, UserID: u.ID, State: store.SessionAuthenticated,
				AAL: 1, Methods: []string{"password"}, AuthTime: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour),
				IP: "192.0.2.1", UserAgent: userAgent,
			}
			if err := st.SaveSession(ctx, s); err != nil {
				return err
			}
			if i == population/2 {
				mid = u
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("seed: %v", err)
	}
	return mid
}

// newSigraApp builds the Sigra chain over st: one site, the session
// manager's LoadAndSave, the guard's RequireUser (its sign-in page found
// in a UI built with the account pack, as an application builds it) and
// the dashboard, with a session signed in for a user of a seeded database.
// sessions is the store the manager uses (st itself, or a wrapper around
// it); now is the site's clock (nil: time.Now).
func newSigraApp(tb testing.TB, st benchStore, sessions session.Store, now func() time.Time) *app {
	tb.Helper()
	start := time.Now()
	if now != nil {
		start = now()
	}
	u := seed(tb, st, start)
	s, err := site.New(site.Config{BaseURL: "https://example.com", Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("site.New: %v", err)
	}
	mgr, err := session.New(s, sessions, session.Config{})
	if err != nil {
		tb.Fatalf("session.New: %v", err)
	}
	// The guard needs only the sign-in page's path (RequireUser redirects
	// a browser there); a table of routes gives it without a UI, as the
	// baseline has no templates either.
	guard, err := middleware.New(mgr, middleware.Config{Routes: routes{"sign_in": "/auth/login"}})
	if err != nil {
		tb.Fatalf("middleware.New: %v", err)
	}
	user := &sigra.User{ID: u.ID, Email: u.Email, EmailConfirmedAt: u.EmailConfirmedAt, CreatedAt: u.CreatedAt}
	signIn := mgr.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := mgr.SignIn(r.Context(), user, []sigra.Method{sigra.MethodPassword}, sigra.AAL1, false); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	dashboard := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeEmail(w, sigra.UserFrom(r.Context()).Email)
	})
	return &app{
		h:      mgr.LoadAndSave(guard.RequireUser(dashboard)),
		cookie: signedInCookie(tb, signIn, mgr.CookieName()),
		email:  u.Email,
	}
}

// roundTrips is a pgx tracer counting the round trips a pool makes:
// statements executed, batches sent and statements prepared (a statement
// the connection had prepared already costs nothing and is not counted).
// It keeps the SQL of the statements for error messages.
type roundTrips struct {
	n   atomic.Int64
	mu  sync.Mutex
	log []string // statements and preparations since the last take, when keep is set
	// keep records the SQL; the benchmarks only count.
	keep bool
}

func (c *roundTrips) record(kind, sql string) {
	c.n.Add(1)
	if c.keep {
		c.mu.Lock()
		c.log = append(c.log, kind+" "+sql)
		c.mu.Unlock()
	}
}

// TraceQueryStart implements pgx.QueryTracer.
func (c *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.record("query", d.SQL)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (c *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart implements pgx.BatchTracer.
func (c *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	sql := fmt.Sprintf("of %d statements", d.Batch.Len())
	if c.keep {
		for _, q := range d.Batch.QueuedQueries {
			sql += "\n\t" + q.SQL
		}
	}
	c.record("batch", sql)
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (c *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd implements pgx.BatchTracer.
func (c *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TracePrepareStart implements pgx.PrepareTracer; the preparation is
// counted when it ends, once pgx says whether it needed the server.
func (c *roundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, d pgx.TracePrepareStartData) context.Context {
	return context.WithValue(ctx, prepareKey{}, d.SQL)
}

// TracePrepareEnd implements pgx.PrepareTracer.
func (c *roundTrips) TracePrepareEnd(ctx context.Context, _ *pgx.Conn, d pgx.TracePrepareEndData) {
	if !d.AlreadyPrepared {
		sql, _ := ctx.Value(prepareKey{}).(string)
		c.record("prepare", sql)
	}
}

type prepareKey struct{}

// take returns the count and the log since the last take, and resets both.
func (c *roundTrips) take() (int64, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	log := c.log
	c.log = nil
	return c.n.Swap(0), log
}

// routes is the guard's route table of the benchmark applications.
type routes map[string]string

func (m routes) Route(name string) (string, bool) {
	p, ok := m[name]
	return p, ok
}
