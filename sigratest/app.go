package sigratest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// Host names the parts of the application under test that the helpers
// use. [Kit] fills it from a *kit.Kit; an application composed by hand
// fills it from its own parts.
type Host struct {
	// Handler serves the whole application (kit.Kit.Handler, or the
	// application's own middleware chain). Required.
	Handler http.Handler
	// Site is the application's site, built with the base URL [Start]
	// gave. Required.
	Site *site.Site
	// UI finds the features' routes (sign-in, second factor, sudo, session
	// information). Required by the sign-in helpers.
	UI *ui.UI
	// Store holds the application's users. Required by [App.CreateUser].
	Store Store
	// Hasher hashes the passwords of created users: the application's own,
	// built with [PasswordConfig] in tests. Required for users with a
	// password.
	Hasher *password.Hasher
	// Keys are the keys the application seals TOTP secrets with
	// (kit.Config.Keys, mfa.Config.Keys). Required for users with TOTP.
	Keys string
	// Outbox is the application's mail queue; the mail helpers deliver
	// what is due in it before reading the mailbox. Optional (nil when the
	// application sends straight to the mailbox).
	Outbox *mail.Outbox
	// Mailbox is the development mailbox the application delivers to.
	// Required by the mail helpers.
	Mailbox *mail.Mailbox
}

// Kit returns the Host of an application composed with kit.New from st
// (the kit's Config.Store) and keys (its Config.Keys), which the kit does
// not keep.
func Kit(k *kit.Kit, st Store, keys string) Host {
	return Host{
		Handler: k.Handler(), Site: k.Site, UI: k.UI, Store: st, Hasher: k.Hasher,
		Keys: keys, Outbox: k.Outbox, Mailbox: k.Mailbox,
	}
}

// App is an application under test, running on a test server. Its
// methods take the test (or subtest) that calls them and fail it on
// misuse. Safe for concurrent use by parallel subtests.
type App struct {
	Host
	// URL is the application's base URL, http://localhost:<port>: a local
	// origin, so cookies are not Secure and the development mailbox is
	// allowed.
	URL string
	// Server is the test server. Requests go to its address; closing it
	// stops the application.
	Server *httptest.Server

	// transport is the clients' own, closed when the test ends: closing
	// any httptest.Server closes the idle connections of
	// http.DefaultTransport, which would break a request of a test
	// running in parallel that was about to reuse one.
	transport *http.Transport
}

// Start starts an application on a test server, closed when t ends.
// build receives the base URL the application must use
// (site.Config.BaseURL) and returns the Host the helpers work on; requests
// that reach the server while build runs wait for it. Start fails t when
// build returns no handler or no site, or a site on another base URL.
func Start(t testing.TB, build func(baseURL string) Host) *App {
	t.Helper()
	a := &App{}
	ready := make(chan struct{})
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-ready
		if a.Handler == nil {
			http.Error(w, "the application was not built", http.StatusServiceUnavailable)
			return
		}
		a.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(a.Server.Close)
	a.transport = http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(a.transport.CloseIdleConnections)
	u, err := url.Parse(a.Server.URL)
	if err != nil {
		close(ready)
		t.Fatalf("sigratest: test server URL: %v", err)
	}
	a.URL = "http://localhost:" + u.Port()
	func() {
		defer close(ready)
		a.Host = build(a.URL)
	}()
	switch {
	case a.Handler == nil:
		t.Fatal("sigratest: Start: the Host that build returned has no Handler")
	case a.Site == nil:
		t.Fatal("sigratest: Start: the Host that build returned has no Site")
	case a.Site.Origin() != a.URL:
		t.Fatalf("sigratest: Start: the application's site has the base URL %q; build it with the one build was given, %q", a.Site.Origin(), a.URL)
	}
	return a
}

// Path returns the path of rel under the site's prefix ("/login" →
// "/auth/login").
func (a *App) Path(rel string) string { return a.Site.Path(rel) }

// testParams are the cheap Argon2id parameters of [PasswordConfig].
var testParams = password.Params{Memory: 64, Time: 1, Threads: 1}

// PasswordConfig returns the password configuration for tests: Argon2id
// with 64 KiB of memory and one pass, so a hash takes microseconds. These
// parameters are for tests only: they give no protection to a stored hash.
// Give it to kit.Config.Passwords, or build a hasher with [Hasher].
func PasswordConfig() password.Config {
	return password.Config{Params: testParams, InsecureAllowWeakParams: true}
}

// Hasher returns a password hasher with [PasswordConfig], for an
// application composed by hand (account.Config.Passwords). For tests only.
func Hasher(t testing.TB) *password.Hasher {
	t.Helper()
	h, err := password.New(PasswordConfig())
	if err != nil {
		t.Fatalf("sigratest: password hasher: %v", err)
	}
	return h
}

// NewKeys returns a fresh sealing key, "test:<base64>", for
// kit.Config.Keys or mfa.Config.Keys and mail.OutboxConfig.Keys.
func NewKeys(t testing.TB) string {
	t.Helper()
	k, err := token.NewSealKey("test")
	if err != nil {
		t.Fatalf("sigratest: sealing key: %v", err)
	}
	return k
}

// flush delivers every due queued email into the mailbox.
func (a *App) flush(t testing.TB) {
	t.Helper()
	if a.Outbox == nil {
		return
	}
	for range 100 {
		sent, failed, err := a.Outbox.DeliverDue(context.Background())
		if err != nil {
			t.Fatalf("sigratest: deliver queued email: %v", err)
		}
		if failed > 0 {
			t.Fatalf("sigratest: %d queued emails failed to deliver", failed)
		}
		if sent == 0 {
			return
		}
	}
}
