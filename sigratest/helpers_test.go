package sigratest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/sigratest"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/ui"
)

// pw is the test users' password.
const pw = "correct horse battery staple"

// bothStores is what both adapters implement: the kit's store and the
// helpers'.
type bothStores interface {
	kit.Store
	mfa.Store
	sigratest.Store
}

// openStore opens a fresh store on backend ("sqlite" or "postgres").
func openStore(t *testing.T, backend string) bothStores {
	t.Helper()
	if backend == "postgres" {
		return sigratest.Postgres(t, os.Getenv("SIGRA_TEST_POSTGRES"))
	}
	return sigratest.SQLite(t)
}

// composition starts an application on a store with a clock.
type composition func(t *testing.T, st bothStores, clock *sigratest.Clock) *sigratest.App

// privateRoutes adds the routes the tests visit: /private (RequireUser),
// /billing (RequireSudo) and /vault (RequireAAL2).
func privateRoutes(mux *http.ServeMux, g *middleware.Guard) {
	hello := func(what string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s of %s", what, sigra.UserFrom(r.Context()).Email)
		})
	}
	mux.Handle("GET /private", g.RequireUser(hello("private")))
	mux.Handle("GET /billing", g.RequireSudo(hello("billing")))
	mux.Handle("GET /vault", g.RequireAAL2(hello("vault")))
}

// withKit composes the application in one call to kit.New.
func withKit(t *testing.T, st bothStores, clock *sigratest.Clock) *sigratest.App {
	keys := sigratest.NewKeys(t)
	return sigratest.Start(t, func(baseURL string) sigratest.Host {
		k, err := kit.New(kit.Config{
			Store: st, Keys: keys, Passwords: sigratest.PasswordConfig(),
			Site: site.Config{BaseURL: baseURL, Now: clock.Now},
		})
		if err != nil {
			t.Fatalf("kit.New: %v", err)
		}
		privateRoutes(k.Mux, k.Guard)
		return sigratest.Kit(k, st, keys)
	})
}

// byHand composes the application package by package, as
// examples/manual does, with two-factor authentication added.
func byHand(t *testing.T, st bothStores, clock *sigratest.Clock) *sigratest.App {
	keys := sigratest.NewKeys(t)
	return sigratest.Start(t, func(baseURL string) sigratest.Host {
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		s, err := site.New(site.Config{BaseURL: baseURL, Prefix: "/account", Now: clock.Now})
		must(err)
		sessions, err := session.New(s, st, session.Config{})
		must(err)
		views, err := ui.New(s, ui.Config{Packs: []ui.Pack{account.Pages(), mfa.Pages()}})
		must(err)
		guard, err := middleware.New(sessions, middleware.Config{Routes: views})
		must(err)
		mailbox := mail.NewMailbox(mail.MailboxConfig{Now: clock.Now})
		outbox, err := mail.NewOutbox(mail.OutboxConfig{Store: st, Keys: keys, Sender: mailbox, Now: clock.Now})
		must(err)
		hasher := sigratest.Hasher(t)
		m, err := mfa.New(mfa.Config{Store: st, Sessions: sessions, Guard: guard, UI: views, Mail: outbox, Keys: keys})
		must(err)
		accounts, err := account.New(account.Config{
			Store: st, Sessions: sessions, Guard: guard, UI: views, Mail: outbox, Passwords: hasher,
			SecondFactor: m, Sections: []ui.Section{m.Section()},
		})
		must(err)
		mux := http.NewServeMux()
		accounts.Mount(mux)
		m.Mount(mux)
		views.Mount(mux)
		privateRoutes(mux, guard)
		csrf, err := middleware.CSRF(s, middleware.CSRFConfig{})
		must(err)
		handler := middleware.SecureHeaders(s, middleware.HeadersConfig{})(middleware.LimitBody(0)(csrf(sessions.LoadAndSave(mux))))
		return sigratest.Host{
			Handler: handler, Site: s, UI: views, Store: st, Hasher: hasher, Keys: keys,
			Outbox: outbox, Mailbox: mailbox,
		}
	})
}

// each runs f on every backend and both compositions, in parallel.
func each(t *testing.T, f func(t *testing.T, a *sigratest.App, clock *sigratest.Clock)) {
	t.Helper()
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, c := range []struct {
			name  string
			start composition
		}{{"kit", withKit}, {"byhand", byHand}} {
			t.Run(backend+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				clock := sigratest.NewClock()
				f(t, c.start(t, openStore(t, backend), clock), clock)
			})
		}
	}
}

// recorder is a testing.TB that records failures and skips instead of
// reporting them, so tests can check how a helper fails. Fatal and Skip
// end the goroutine, as on a real test; use [expectFailure].
type recorder struct {
	testing.TB
	mu      sync.Mutex
	msgs    []string
	failed  bool
	skipped bool
}

func (r *recorder) Helper() {}

func (r *recorder) note(fail, skip bool, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msg)
	r.failed = r.failed || fail
	r.skipped = r.skipped || skip
}

func (r *recorder) Error(args ...any) { r.note(true, false, fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) {
	r.note(true, false, fmt.Sprintf(format, args...))
}
func (r *recorder) Fail()                             { r.note(true, false, "") }
func (r *recorder) FailNow()                          { r.note(true, false, ""); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)                 { r.Error(args...); runtime.Goexit() }
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }
func (r *recorder) Skip(args ...any)                  { r.note(false, true, fmt.Sprint(args...)); runtime.Goexit() }
func (r *recorder) Skipf(format string, args ...any) {
	r.note(false, true, fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (r *recorder) SkipNow()      { r.note(false, true, ""); runtime.Goexit() }
func (r *recorder) Failed() bool  { r.mu.Lock(); defer r.mu.Unlock(); return r.failed }
func (r *recorder) Skipped() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.skipped }
func (r *recorder) message() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.msgs, "\n")
}

// run calls f with a recorder standing for t, in a goroutine of its own.
func run(t *testing.T, f func(tb testing.TB)) *recorder {
	t.Helper()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// expectFailure checks that f fails its test with a message containing
// every part of want.
func expectFailure(t *testing.T, what string, f func(tb testing.TB), want ...string) {
	t.Helper()
	r := run(t, f)
	if !r.Failed() {
		t.Fatalf("%s: did not fail", what)
	}
	msg := r.message()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: failed with %q, want it to mention %q", what, msg, w)
		}
	}
	if !strings.HasPrefix(msg, "sigratest: ") {
		t.Errorf("%s: failure %q does not say it comes from sigratest", what, msg)
	}
}

// get serves a GET of path to the application with the browser and
// returns the status and body.
func get(t *testing.T, c *sigratest.Client, path string) (int, string) {
	t.Helper()
	res := c.For(t).Get(path)
	return res.StatusCode, res.Body
}

// serve serves req with the application's handler directly.
func serve(a *sigratest.App, req *http.Request) (int, string) {
	rec := httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// mailWithoutLinks is a message with no link in it.
var mailWithoutLinks = mail.Captured{To: "a.user@example.com", Subject: "Hello", Text: "No links here."}
