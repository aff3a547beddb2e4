package account_test

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
)

// logRecords is a slog.Handler that keeps every record.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecords) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecords) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecords) WithGroup(string) slog.Handler      { return h }

// above returns the messages (with their errors) of the records logged
// above level.
func (h *logRecords) above(level slog.Level) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		if r.Level > level {
			msg := r.Level.String() + " " + r.Message
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "err" || a.Key == "error" {
					msg += ": " + a.Value.String()
				}
				return true
			})
			out = append(out, msg)
		}
	}
	return out
}

// cutOff makes the application's store unable to answer, as an outage
// would, and returns what ends it. On PostgreSQL every connection of the
// pool is held: calls wait the pool's acquire timeout and fail. On SQLite
// another connection holds the file's write lock, as another process
// would: writes wait the busy timeout and fail (reads go on).
func cutOff(t *testing.T, a *app) (restore func()) {
	t.Helper()
	ctx := context.Background()
	switch db := a.Store.(type) {
	case *postgres.DB:
		var held []*pgxpool.Conn
		release := func() {
			for _, c := range held {
				c.Release() // releasing twice is harmless
			}
		}
		t.Cleanup(release) // before the pool closes, should the test fail
		for range db.Pool().Config().MaxConns {
			c, err := db.Pool().Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
		}
		return release
	default:
		other, err := sql.Open("sqlite", a.DBPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		lock, err := other.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lock.Close() })
		if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		return func() {
			if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// want503 fails t unless res is a 503 with Retry-After: as JSON with the
// code "busy", or as an HTML page.
func want503(t *testing.T, what string, res *apptest.Response, asJSON bool) {
	t.Helper()
	if res.Header.Get("Retry-After") == "" {
		t.Errorf("%s: got no Retry-After, want one", what)
	}
	if asJSON {
		wantError(t, what, res, http.StatusServiceUnavailable, "busy")
		return
	}
	wantStatus(t, what, res, http.StatusServiceUnavailable)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(res.Body, "<html") {
		t.Errorf("%s: got %s %q, want an HTML page", what, res.Header.Get("Content-Type"), res.Body)
	}
}

// TestOutageOnFeatureRoutes cuts the store off under a running
// application: signing in (whose first step, the rate limit, writes) and,
// on PostgreSQL, every signed-in page (whose session cannot be loaded)
// answer 503 with Retry-After, as HTML and JSON, logged below ERROR. Once
// the store is back the same clients are served as before.
func TestOutageOnFeatureRoutes(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			log := &logRecords{}
			a := newApp(t, opts{Backend: b, Logger: slog.New(log)})
			newUser(t, a, "outage@example.com")
			c := signedIn(t, a, "outage@example.com")
			anon := a.Client(t)
			anon.CSRF()
			login := a.Path("/login")
			creds := map[string]string{"email": "outage@example.com", "password": pw}

			restore := cutOff(t, a)
			want503(t, "sign in (HTML)", anon.Post(login, form("email", creds["email"], "password", pw)), false)
			want503(t, "sign in (JSON)", anon.JSON("POST", login, jsonOf(creds)), true)
			if b == "postgres" {
				want503(t, "settings (HTML)", c.Get(a.Path("/settings")), false)
				want503(t, "settings (JSON)", c.JSON("GET", a.Path("/settings"), ""), true)
			}
			restore()
			if got := log.above(slog.LevelWarn); len(got) != 0 {
				t.Errorf("log: got %q, want nothing above WARN during the outage", got)
			}

			wantStatus(t, "settings after the outage", c.Get(a.Path("/settings")), http.StatusOK)
			if d := decode(t, anon.JSON("POST", login, jsonOf(creds))); !d.OK {
				t.Errorf("sign in (JSON) after the outage: got %+v, want ok", d)
			}
			wantStatus(t, "sign in (HTML) after the outage", a.Client(t).Post(login, form("email", creds["email"], "password", pw)), http.StatusSeeOther)
		})
	}
}

// cancelOnAudit is the application's real store, which cancels the
// request that is being served once an audit event has been written: as
// when the client goes away at that point.
type cancelOnAudit struct {
	account.Store
	mu     sync.Mutex
	cancel context.CancelFunc
}

func (s *cancelOnAudit) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	err := s.Store.AppendAudit(ctx, e)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	return err
}

// arm makes the next audit event cancel the request of ctx, returned.
func (s *cancelOnAudit) arm() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancel = cancel
	return ctx
}

// TestClientGoneWhileChangingPassword sends a wrong current password to
// POST /password and lets the client go away once the failure is
// recorded, while the settings page is about to be shown again with the
// error: the page cannot be built with the request's cancelled context,
// and that is not a server error. The request is not answered with 500,
// and nothing is logged above DEBUG.
func TestClientGoneWhileChangingPassword(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			log := &logRecords{}
			var st *cancelOnAudit
			a := newApp(t, opts{Backend: b, Logger: slog.New(log), Config: func(_ *apptest.App, cfg *account.Config) {
				st = &cancelOnAudit{Store: cfg.Store}
				cfg.Store = st
			}})
			newUser(t, a, "gone@example.com")
			c := signedIn(t, a, "gone@example.com")
			c.Get(a.Path("/settings")) // the form's token
			base, _ := url.Parse(a.Server.URL)

			for _, asJSON := range []bool{false, true} {
				var r *http.Request
				if asJSON {
					r = httptest.NewRequest("POST", a.Server.URL+a.Path("/password"), strings.NewReader(jsonOf(map[string]string{"current_password": "wrong password", "password": "a brand new passphrase"})))
					r.Header.Set("Content-Type", "application/json")
					r.Header.Set("Accept", "application/json")
				} else {
					body := form("current_password", "wrong password", "password", "a brand new passphrase", "csrf_token", c.CSRF())
					r = httptest.NewRequest("POST", a.Server.URL+a.Path("/password"), strings.NewReader(body.Encode()))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					r.Header.Set("Origin", a.Server.URL)
					r.Header.Set("Sec-Fetch-Site", "same-origin")
				}
				for _, ck := range c.Jar.Cookies(base) {
					r.AddCookie(ck)
				}
				r = r.WithContext(st.arm())
				rec := httptest.NewRecorder()
				a.Server.Config.Handler.ServeHTTP(rec, r)
				if rec.Code == http.StatusInternalServerError || rec.Code == http.StatusServiceUnavailable {
					t.Errorf("JSON %v: got %d %s, want no error answer: the client went away", asJSON, rec.Code, rec.Body)
				}
				if !asJSON && rec.Code != 499 {
					t.Errorf("HTML: got %d, want 499 (the page could not be built for a client that went away)", rec.Code)
				}
			}
			if got := log.above(slog.LevelDebug); len(got) != 0 {
				t.Errorf("log: got %q, want nothing above DEBUG", got)
			}
		})
	}
}
