package sigratest_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/sigratest"
	"github.com/sigra-go/sigra/site"
)

// hostTest stands for a test function of the host application, func
// TestSomething(t *testing.T) { ... }: each example is the body of one.
// The examples only compile under go test; TestExamples runs them.
var hostTest = func(name string, body func(t *testing.T)) {}

// newApp starts the host of the examples as the package example does: a
// store, a clock, cheap hashing, a key, and its own routes on the kit's
// mux.
func newApp(t *testing.T, db bothStores, clock *sigratest.Clock) *sigratest.App {
	keys := sigratest.NewKeys(t)
	return sigratest.Start(t, func(baseURL string) sigratest.Host {
		k, err := kit.New(kit.Config{
			Store:     db,
			Site:      site.Config{BaseURL: baseURL, Now: clock.Now},
			Keys:      keys,
			Passwords: sigratest.PasswordConfig(), // test-only parameters
		})
		if err != nil {
			t.Fatal(err)
		}
		k.Handle("GET /dashboard", k.Guard.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("Hello, " + sigra.UserFrom(r.Context()).Email))
		})))
		k.Handle("GET /billing", k.Guard.RequireSudo(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("billing"))
		})))
		k.Handle("GET /vault", k.Guard.RequireAAL2(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("vault"))
		})))
		return sigratest.Kit(k, db, keys)
	})
}

// A host composed with kit.New starts on a test server with a store, a
// clock, cheap hashing and a key; then a user, a browser signed in as that
// user, and the host's own page behind RequireUser. (The other examples
// start the same host with a function newApp.)
func Example() {
	hostTest("TestDashboard", func(t *testing.T) {
		db := sigratest.SQLite(t)
		clock := sigratest.NewClock()
		keys := sigratest.NewKeys(t)
		app := sigratest.Start(t, func(baseURL string) sigratest.Host {
			k, err := kit.New(kit.Config{
				Store:     db,
				Site:      site.Config{BaseURL: baseURL, Now: clock.Now},
				Keys:      keys,
				Passwords: sigratest.PasswordConfig(), // test-only parameters
			})
			if err != nil {
				t.Fatal(err)
			}
			k.Handle("GET /dashboard", k.Guard.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("Hello, " + sigra.UserFrom(r.Context()).Email))
			})))
			return sigratest.Kit(k, db, keys)
		})

		u := app.CreateUser(t, sigratest.UserOptions{Email: "a.user@example.com", Password: "correct horse battery staple"})
		c := app.SignedIn(t, u, sigratest.AAL1)

		res := c.Get("/dashboard")
		if res.StatusCode != http.StatusOK || res.Body != "Hello, a.user@example.com" {
			t.Errorf("GET /dashboard: got %d %q", res.StatusCode, res.Body)
		}
		// Signed out, the guard sends the browser to the sign-in page.
		if res := app.Client(t).Get("/dashboard"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("GET /dashboard signed out: got %d, want 303", res.StatusCode)
		}
	})
}

// The same tests on PostgreSQL, each on a schema of its own; without a
// DSN they skip.
func ExamplePostgres() {
	hostTest("TestDashboardPostgres", func(t *testing.T) {
		db := sigratest.Postgres(t, os.Getenv("SIGRA_TEST_POSTGRES"))
		app := newApp(t, db, sigratest.NewClock())
		u := app.CreateUser(t, sigratest.UserOptions{Email: "a.user@example.com", Password: "correct horse battery staple"})
		if res := app.SignedIn(t, u, sigratest.AAL1).Get("/dashboard"); res.StatusCode != http.StatusOK {
			t.Errorf("GET /dashboard: got %d", res.StatusCode)
		}
	})
}

// A user with two-factor authentication: its secret, the code at the
// test clock, and a sign-in through the TOTP challenge.
func ExampleApp_CreateUser() {
	hostTest("TestVault", func(t *testing.T) {
		clock := sigratest.NewClock()
		app := newApp(t, sigratest.SQLite(t), clock)
		u := app.CreateUser(t, sigratest.UserOptions{
			Email: "a.user@example.com", Password: "correct horse battery staple",
			TOTP: true, RecoveryCodes: true,
		})
		_ = u.TOTPSecret                        // what the user's authenticator holds
		_ = u.TOTPCode(t)                       // its code now, at the test clock
		_ = u.RecoveryCodes                     // ten unused codes
		c := app.SignedIn(t, u, sigratest.AAL2) // password, then the TOTP challenge
		if res := c.Get("/vault"); res.StatusCode != http.StatusOK {
			t.Errorf("GET /vault at AAL2: got %d", res.StatusCode)
		}
		// Half-way: the password is in, the second factor is awaited.
		pending := app.SignedIn(t, u, sigratest.Pending)
		if res := pending.Get("/dashboard"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("GET /dashboard while pending: got %d, want 303", res.StatusCode)
		}
	})
}

// The clock moves the application's time: past the sudo window, a route
// behind RequireSudo asks to re-authenticate, and App.Sudo does.
func ExampleClock() {
	hostTest("TestBillingNeedsSudo", func(t *testing.T) {
		clock := sigratest.NewClock()
		app := newApp(t, sigratest.SQLite(t), clock)
		u := app.CreateUser(t, sigratest.UserOptions{Email: "a.user@example.com", Password: "correct horse battery staple"})
		c := app.SignedIn(t, u, sigratest.AAL1)

		clock.Advance(11 * time.Minute) // the sudo window is 10 minutes
		if res := c.Get("/billing"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("GET /billing after 11 minutes: got %d, want 303", res.StatusCode)
		}
		app.Sudo(t, c, u)
		if res := c.Get("/billing"); res.StatusCode != http.StatusOK {
			t.Errorf("GET /billing after Sudo: got %d", res.StatusCode)
		}
	})
}

// Registration through the application's page, then the emailed link:
// its confirm page, then the page's form.
func ExampleApp_FollowLink() {
	hostTest("TestConfirmation", func(t *testing.T) {
		clock := sigratest.NewClock()
		app := newApp(t, sigratest.SQLite(t), clock)
		c := app.Client(t)
		c.PostForm(app.Path("/register"), url.Values{"email": {"a.user@example.com"}, "password": {"correct horse battery staple"}})

		m := app.LastMail(t, "a.user@example.com")
		res := app.FollowLink(t, c, sigratest.FirstLink(t, m))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("confirm: got %d", res.StatusCode)
		}
		if u := app.User(t, "a.user@example.com", "correct horse battery staple"); u.EmailConfirmedAt.IsZero() {
			t.Error("the address is not confirmed")
		}
	})
}

// A request already signed in, served by the application's handler
// directly.
func ExampleApp_SignedInRequest() {
	hostTest("TestDashboardHandler", func(t *testing.T) {
		app := newApp(t, sigratest.SQLite(t), sigratest.NewClock())
		u := app.CreateUser(t, sigratest.UserOptions{Email: "a.user@example.com", Password: "correct horse battery staple"})

		req := app.SignedInRequest(t, u, sigratest.AAL1, http.MethodGet, "/dashboard", nil)
		rec := httptest.NewRecorder()
		app.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("GET /dashboard: got %d", rec.Code)
		}
	})
}

// TestExamples runs the examples' bodies as tests.
func TestExamples(t *testing.T) {
	defer func(old func(string, func(*testing.T))) { hostTest = old }(hostTest)
	hostTest = func(name string, body func(t *testing.T)) { t.Run(name, body) }
	for _, ex := range []func(){Example, ExamplePostgres, ExampleApp_CreateUser, ExampleClock, ExampleApp_FollowLink, ExampleApp_SignedInRequest} {
		ex()
	}
}
