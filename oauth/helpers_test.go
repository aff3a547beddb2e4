package oauth_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/ui"
)

// pw is the password of the test users who have one.
const pw = "correct horse battery staple"

// idp is a real OpenID Connect provider running in the test process
// (oauth2-proxy/mockoidc: discovery, JWKS, signed ID tokens with the
// nonce, PKCE checked at the token endpoint), with a hook that may change
// the authorization requests it receives (to tamper with a nonce or a
// code challenge).
type idp struct {
	*mockoidc.MockOIDC
	mu     sync.Mutex
	tamper func(q url.Values)
	// revocation, when set, is announced as the revocation endpoint in
	// the discovery document.
	revocation string
}

func newIDP(t testing.TB) *idp {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{MockOIDC: m}
	err = m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			f := p.tamper
			p.mu.Unlock()
			if f != nil && r.URL.Path == mockoidc.AuthorizationEndpoint {
				q := r.URL.Query()
				f(q)
				r.URL.RawQuery = q.Encode()
			}
			p.mu.Lock()
			rev := p.revocation
			p.mu.Unlock()
			if rev != "" && r.URL.Path == mockoidc.DiscoveryEndpoint {
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				var doc map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				doc["revocation_endpoint"] = rev
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(doc)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// setTamper sets the hook on authorization requests (nil removes it).
func (p *idp) setTamper(f func(q url.Values)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = f
}

// user queues the account the provider signs in next.
func (p *idp) user(subject, email string, verified bool) {
	p.QueueUser(&mockoidc.MockUser{Subject: subject, Email: email, EmailVerified: verified})
}

// options select a variant of the test application.
type options struct {
	backend string
	oauth   func(c *oauth.Config)
	// extra returns more providers (the GitHub-shaped one, Apple); it
	// gets the in-process provider.
	extra func(p *idp) []oauth.Provider
}

// app is a running application with account, mfa and oauth mounted as a
// host wires them.
type app struct {
	*apptest.App
	IDP   *idp
	OAuth *oauth.OAuth
	MFA   *mfa.MFA
}

// newApp starts an application whose provider "local" is the in-process
// OpenID provider.
func newApp(t testing.TB, o options) *app {
	t.Helper()
	x := &app{IDP: newIDP(t)}
	opt := apptest.Options{Backend: o.backend, Packs: []ui.Pack{account.Pages(), mfa.Pages(), oauth.Pages()}}
	// The CSRF configuration a host gives: the form_post callback exempt
	// from the token, Apple's origin trusted.
	opt.CSRF = func(*apptest.App) middleware.CSRFConfig {
		return middleware.CSRFConfig{
			TrustedOrigins: x.OAuth.TrustedOrigins(),
			Exempt:         func(r *http.Request) bool { return x.OAuth.CSRFExempt(r) || middleware.TokenExempt(r) },
		}
	}
	x.App = apptest.New(t, opt, func(a *apptest.App) {
		m, err := mfa.New(mfa.Config{Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, Keys: a.Keys, RateLimiter: a.Limiter})
		if err != nil {
			t.Fatalf("mfa.New: %v", err)
		}
		st, ok := a.Store.(oauth.Store)
		if !ok {
			t.Fatalf("the store %T does not implement oauth.Store", a.Store)
		}
		cfg := oauth.Config{
			Store: st, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, Keys: a.Keys, RateLimiter: a.Limiter,
			SecondFactor: m,
			Providers: []oauth.Provider{
				oauth.OIDC("local", "Local ID", x.IDP.Issuer(), x.IDP.ClientID, x.IDP.ClientSecret),
			},
		}
		if o.extra != nil {
			cfg.Providers = append(cfg.Providers, o.extra(x.IDP)...)
		}
		if o.oauth != nil {
			o.oauth(&cfg)
		}
		x.OAuth, err = oauth.New(cfg)
		if err != nil {
			t.Fatalf("oauth.New: %v", err)
		}
		acc, err := account.New(account.Config{
			Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Passwords: a.Hasher, Mail: a.Outbox, RateLimiter: a.Limiter,
			SecondFactor: m, LinkedAccounts: x.OAuth, Sections: []ui.Section{m.Section(), x.OAuth.Section()},
		})
		if err != nil {
			t.Fatalf("account.New: %v", err)
		}
		m.Mount(a.Mux)
		acc.Mount(a.Mux)
		x.OAuth.Mount(a.Mux)
		x.MFA = m
	})
	return x
}

// each runs f on every backend, in parallel.
func each(t *testing.T, o options, f func(t *testing.T, a *app)) {
	t.Helper()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			o := o
			o.backend = b
			f(t, newApp(t, o))
		})
	}
}

// noFollow is a client of the provider that shows each redirect. Its
// transport is its own: closing any test's server closes the idle
// connections of http.DefaultTransport, which breaks a parallel test's
// request about to reuse one.
var noFollow = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// start posts the start form of provider and returns the provider's
// authorization URL it redirects to.
func start(t *testing.T, a *app, c *apptest.Client, provider string, form url.Values) string {
	t.Helper()
	res := c.Post(a.Path("/oauth/"+provider+"/start"), form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start %s: got %d, want 303\n%s", provider, res.StatusCode, res.Body)
	}
	return res.Header.Get("Location")
}

// authorize visits the provider's authorization URL (the provider signs
// in the queued user at once) and returns the callback URL it sends the
// browser back to.
func authorize(t *testing.T, authURL string) string {
	t.Helper()
	res, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: got %d, want 302", res.StatusCode)
	}
	return res.Header.Get("Location")
}

// handshake runs a sign-in with the provider "local" up to the callback,
// and returns the callback's response.
func handshake(t *testing.T, a *app, c *apptest.Client) *apptest.Response {
	t.Helper()
	return c.Get(authorize(t, start(t, a, c, "local", nil)))
}

// want checks a response's status.
func want(t testing.TB, what string, res *apptest.Response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s: got %d, want %d\n%s", what, res.StatusCode, status, res.Body)
	}
}

// errorCode reads the error code of an oauth_error page.
func errorCode(res *apptest.Response) string {
	_, rest, ok := strings.Cut(res.Body, `data-error-code="`)
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, `"`)
	return code
}

// jsonBody decodes a JSON response body.
func jsonBody(t testing.TB, res *apptest.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(res.Body), &m); err != nil {
		t.Fatalf("response %d is not JSON: %v\n%s", res.StatusCode, err, res.Body)
	}
	return m
}

// auditCount counts the audit rows of action.
func auditCount(t testing.TB, a *app, action string) int {
	t.Helper()
	return a.Count(t, "sigra_audit_log", "action = ?", action)
}
