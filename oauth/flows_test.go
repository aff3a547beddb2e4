package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/store"
)

// A new identity whose address no account holds creates an account (its
// address confirmed, as the provider verified it) and signs it in; the
// next sign-in with the same identity signs the same user in.
func TestSignUpThenSignIn(t *testing.T) {
	t.Parallel()
	each(t, options{}, func(t *testing.T, a *app) {
		a.IDP.user("sub-new", "new@example.com", true)
		c := a.Client(t)
		res := handshake(t, a, c)
		want(t, "callback", res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("callback: got Location %q, want /", loc)
		}
		state, email, aal := c.Whoami()
		if state != "authenticated" || email != "new@example.com" || aal != 1 {
			t.Fatalf("after sign-up: got (%s, %s, AAL%d), want (authenticated, new@example.com, AAL1)", state, email, aal)
		}
		u := a.User(t, "new@example.com")
		if u.EmailConfirmedAt.IsZero() {
			t.Error("a provider-verified address: got it unconfirmed, want it confirmed")
		}
		if u.PasswordHash != "" {
			t.Error("an account made by a provider sign-in has a password")
		}
		id, err := a.Store.(store.Identities).IdentityBySubject(t.Context(), "local", "sub-new")
		if err != nil || id.UserID != u.ID {
			t.Fatalf("identity: got %+v, %v; want one of the new user", id, err)
		}
		if id.AccessToken == nil || strings.Contains(string(id.AccessToken), "eyJ") {
			t.Errorf("stored access token: got %q, want it sealed", id.AccessToken)
		}
		if n := auditCount(t, a, "auth.register"); n != 1 {
			t.Errorf("auth.register rows: got %d, want 1", n)
		}

		// Another browser, the same identity: the same user, no new account.
		a.IDP.user("sub-new", "new@example.com", true)
		c2 := a.Client(t)
		want(t, "second sign-in", handshake(t, a, c2), http.StatusSeeOther)
		if _, email, _ := c2.Whoami(); email != "new@example.com" {
			t.Errorf("second sign-in: got %q, want new@example.com", email)
		}
		if n := a.Count(t, "sigra_users", ""); n != 1 {
			t.Errorf("users: got %d, want 1", n)
		}
		if n := auditCount(t, a, "auth.login.success"); n != 2 {
			t.Errorf("auth.login.success rows: got %d, want 2", n)
		}
	})
}

// The return path is carried through the handshake with the rules of
// return_to: a local path is kept, anything else becomes the home page.
func TestReturnTo(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{})
	for _, tc := range []struct{ in, want string }{
		{"/private", "/private"},
		{"https://evil.example/x", "/"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
	} {
		a.IDP.user("sub-rt", "rt@example.com", true)
		c := a.Client(t)
		res := c.Get(authorize(t, start(t, a, c, "local", url.Values{"return_to": {tc.in}})))
		want(t, "callback", res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != tc.want {
			t.Errorf("return_to %q: got Location %q, want %q", tc.in, loc, tc.want)
		}
	}
}

// The handshake really uses PKCE and a nonce: the authorization request
// carries an S256 challenge and a nonce; a provider that saw another
// challenge refuses the verifier (the token exchange fails), and an ID
// token with another nonce is refused. Neither signs anyone in.
func TestPKCEAndNonceChecked(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{})
	c := a.Client(t)
	authURL := start(t, a, c, "local", nil)
	q := mustQuery(t, authURL)
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("authorization request: got %v, want an S256 code_challenge, a nonce and a state", q)
	}

	for _, tc := range []struct {
		name   string
		tamper func(q url.Values)
		code   string
	}{
		{"verifier", func(q url.Values) {
			q.Set("code_challenge", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		}, "token_exchange_failed"},
		{"nonce", func(q url.Values) { q.Set("nonce", "another-nonce") }, "id_token_invalid"},
		{"no nonce", func(q url.Values) { q.Del("nonce") }, "id_token_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.IDP.setTamper(tc.tamper)
			defer a.IDP.setTamper(nil)
			a.IDP.user("sub-tamper", "tamper@example.com", true)
			c := a.Client(t)
			res := handshake(t, a, c)
			if res.StatusCode < 400 || res.StatusCode >= 500 && res.StatusCode != http.StatusBadGateway {
				t.Fatalf("tampered %s: got %d, want a refusal\n%s", tc.name, res.StatusCode, res.Body)
			}
			if got := errorCode(res); got != tc.code {
				t.Errorf("tampered %s: got error %q, want %q", tc.name, got, tc.code)
			}
			if state, _, _ := c.Whoami(); state != "anonymous" {
				t.Errorf("tampered %s: got state %s, want anonymous", tc.name, state)
			}
		})
	}
	if n := a.Count(t, "sigra_users", ""); n != 0 {
		t.Errorf("users after refused handshakes: got %d, want 0", n)
	}
}

// An ID token that has expired is refused.
func TestExpiredIDToken(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{})
	a.IDP.FastForward(-time.Hour)
	a.IDP.user("sub-old", "old@example.com", true)
	c := a.Client(t)
	res := handshake(t, a, c)
	want(t, "callback", res, http.StatusBadGateway)
	if got := errorCode(res); got != "id_token_invalid" {
		t.Errorf("expired ID token: got error %q, want id_token_invalid", got)
	}
	if n := a.Count(t, "sigra_users", ""); n != 0 {
		t.Errorf("users: got %d, want 0", n)
	}
}

// The callback's errors each get their page (and JSON), an audit row,
// and change nothing: state from another browser, a replayed callback,
// consent denied, a provider error, no state at all.
func TestCallbackErrors(t *testing.T) {
	t.Parallel()
	each(t, options{}, func(t *testing.T, a *app) {
		failures := func() int { return auditCount(t, a, oauth.ActionCallbackFailure) }
		before := failures()

		// Replay: the callback URL used twice.
		a.IDP.user("sub-replay", "replay@example.com", true)
		c := a.Client(t)
		cb := authorize(t, start(t, a, c, "local", nil))
		want(t, "first callback", c.Get(cb), http.StatusSeeOther)
		res := c.Get(cb)
		want(t, "replayed callback", res, http.StatusBadRequest)
		if got := errorCode(res); got != "state_replayed" {
			t.Errorf("replayed callback: got %q, want state_replayed", got)
		}

		// Another browser brings the callback: its session started nothing.
		a.IDP.user("sub-x", "x@example.com", true)
		victim := a.Client(t)
		cb = authorize(t, start(t, a, a.Client(t), "local", nil))
		res = victim.Get(cb)
		want(t, "callback in another browser", res, http.StatusBadRequest)
		if got := errorCode(res); got != "state_mismatch" {
			t.Errorf("callback in another browser: got %q, want state_mismatch", got)
		}
		if state, _, _ := victim.Whoami(); state != "anonymous" {
			t.Errorf("callback in another browser: got %s, want anonymous", state)
		}

		// Consent denied, and a provider error, as a provider reports them.
		for _, tc := range []struct{ err, code string }{{"access_denied", "consent_denied"}, {"server_error", "provider_error"}} {
			c := a.Client(t)
			state := mustQuery(t, start(t, a, c, "local", nil)).Get("state")
			res := c.Get(a.Path("/oauth/local/callback") + "?" + url.Values{"error": {tc.err}, "state": {state}}.Encode())
			if got := errorCode(res); got != tc.code || res.StatusCode < 400 {
				t.Errorf("error=%s: got %d %q, want a refusal %q\n%s", tc.err, res.StatusCode, got, tc.code, res.Body)
			}
		}
		// No state; and JSON.
		res = a.Client(t).JSON("GET", a.Path("/oauth/local/callback")+"?code=x", "")
		want(t, "no state (JSON)", res, http.StatusBadRequest)
		if e, _ := jsonBody(t, res)["error"].(map[string]any); e["code"] != "state_mismatch" {
			t.Errorf("no state (JSON): got %v, want state_mismatch", e)
		}
		// An unknown provider.
		want(t, "unknown provider", a.Client(t).Get(a.Path("/oauth/nope/callback")), http.StatusNotFound)

		if got := failures() - before; got != 5 {
			t.Errorf("oauth.callback.failure rows: got %d, want 5", got)
		}
		if n := a.Count(t, "sigra_users", ""); n != 1 {
			t.Errorf("users: got %d, want 1 (the first sign-in's)", n)
		}
	})
}

// A new identity whose verified address an account holds is never linked
// at once: the user is asked to sign in to that account, and linking takes
// their confirmation after that sign-in. Then the provider signs them in.
func TestLinkByConfirmationAfterPassword(t *testing.T) {
	t.Parallel()
	each(t, options{}, func(t *testing.T, a *app) {
		u := a.CreateUser(t, "owner@example.com", pw)
		a.IDP.user("sub-owner", "owner@example.com", true)
		c := a.Client(t)
		res := handshake(t, a, c)
		want(t, "callback", res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, a.Path("/login")) || !strings.Contains(loc, url.QueryEscape(a.Path("/oauth/link"))) {
			t.Fatalf("callback: got Location %q, want the sign-in page coming back to the link page", loc)
		}
		if state, _, _ := c.Whoami(); state != "anonymous" {
			t.Fatalf("after the callback: got %s, want anonymous: a matching address signs no one in", state)
		}
		if n := a.Count(t, "sigra_identities", ""); n != 0 {
			t.Fatalf("identities before confirmation: got %d, want 0", n)
		}
		// Confirming before signing in is refused (sign-in required).
		res = c.Post(a.Path("/oauth/link"), nil)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), a.Path("/login")) {
			t.Fatalf("confirm while signed out: got %d %s, want a redirect to sign in", res.StatusCode, res.Header.Get("Location"))
		}

		c.SignIn("owner@example.com", pw)
		page := c.Get(a.Path("/oauth/link"))
		want(t, "link page", page, http.StatusOK)
		if !strings.Contains(page.Body, "Link Local ID") {
			t.Errorf("link page: no confirmation button\n%s", page.Body)
		}
		res = c.Post(a.Path("/oauth/link"), nil)
		want(t, "confirm link", res, http.StatusSeeOther)
		id, err := a.Store.(store.Identities).IdentityBySubject(t.Context(), "local", "sub-owner")
		if err != nil || id.UserID != u.ID {
			t.Fatalf("identity after confirmation: got %+v, %v; want one of the owner", id, err)
		}
		a.Flush(t)
		if m := a.LastMail(t, "owner@example.com"); !strings.Contains(m.Subject, "was linked") {
			t.Errorf("notice: got subject %q, want a link notice", m.Subject)
		}
		// The pending link is used up.
		want(t, "confirm again", c.Post(a.Path("/oauth/link"), nil), http.StatusGone)

		a.IDP.user("sub-owner", "owner@example.com", true)
		c2 := a.Client(t)
		want(t, "sign-in with the linked identity", handshake(t, a, c2), http.StatusSeeOther)
		if _, email, _ := c2.Whoami(); email != "owner@example.com" {
			t.Errorf("sign-in with the linked identity: got %q, want owner@example.com", email)
		}
	})
}

// An unverified address is not considered for linking: a new identity
// whose unverified address an account holds is refused, links nothing and
// signs no one in; with AllowUnverifiedEmail, one whose unverified address
// is free makes an account with the address unconfirmed.
func TestUnverifiedEmail(t *testing.T) {
	t.Parallel()
	each(t, options{oauth: func(c *oauth.Config) { c.AllowUnverifiedEmail = true }}, func(t *testing.T, a *app) {
		a.CreateUser(t, "victim@example.com", pw)
		a.IDP.user("sub-attacker", "victim@example.com", false)
		c := a.Client(t)
		res := handshake(t, a, c)
		want(t, "unverified, taken", res, http.StatusConflict)
		if got := errorCode(res); got != "email_unverified_taken" {
			t.Errorf("unverified, taken: got %q, want email_unverified_taken", got)
		}
		if state, _, _ := c.Whoami(); state != "anonymous" {
			t.Errorf("unverified, taken: got %s, want anonymous", state)
		}
		if n := a.Count(t, "sigra_identities", ""); n != 0 {
			t.Errorf("identities: got %d, want 0", n)
		}
		// Nothing waits for a confirmation either.
		c.SignIn("victim@example.com", pw)
		want(t, "link page after an unverified match", c.Get(a.Path("/oauth/link")), http.StatusGone)

		a.IDP.user("sub-free", "free@example.com", false)
		c2 := a.Client(t)
		want(t, "unverified, free", handshake(t, a, c2), http.StatusSeeOther)
		if u := a.User(t, "free@example.com"); !u.EmailConfirmedAt.IsZero() {
			t.Error("an address the provider did not verify: got it confirmed")
		}
	})
}

// With registration closed, a new identity makes no account.
func TestRegistrationClosed(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{oauth: func(c *oauth.Config) { c.DisableRegistration = true }})
	a.IDP.user("sub-closed", "closed@example.com", true)
	res := handshake(t, a, a.Client(t))
	want(t, "callback", res, http.StatusForbidden)
	if got := errorCode(res); got != "registration_closed" {
		t.Errorf("got %q, want registration_closed", got)
	}
	if n := a.Count(t, "sigra_users", ""); n != 0 {
		t.Errorf("users: got %d, want 0", n)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

var _ = apptest.Backends

// The sign-in page links the provider buttons, keeping return_to, and the
// buttons' page lists every provider (with JSON too) and posts return_to
// with each.
func TestSignInPages(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{})
	c := a.Client(t)
	login := c.Get(a.Path("/login") + "?return_to=%2Fprivate")
	want(t, "sign-in page", login, http.StatusOK)
	if !strings.Contains(login.Body, `href="/auth/oauth?return_to=%2fprivate"`) && !strings.Contains(login.Body, `href="/auth/oauth?return_to=%2Fprivate"`) {
		t.Errorf("sign-in page: no link to the providers keeping return_to\n%s", login.Body)
	}
	page := c.Get(a.Path("/oauth") + "?return_to=%2Fprivate")
	want(t, "providers page", page, http.StatusOK)
	if !strings.Contains(page.Body, "Continue with Local ID") || !strings.Contains(page.Body, `name="return_to" value="/private"`) {
		t.Errorf("providers page: no button posting return_to\n%s", page.Body)
	}
	res := c.JSON("GET", a.Path("/oauth"), "")
	ps, _ := jsonBody(t, res)["providers"].([]any)
	if len(ps) != 1 {
		t.Errorf("providers JSON: got %v, want one provider", ps)
	}
}

// Of two concurrent callbacks with one state (a replay racing the real
// one), exactly one completes.
func TestConcurrentCallbacks(t *testing.T) {
	t.Parallel()
	each(t, options{}, func(t *testing.T, a *app) {
		a.IDP.user("sub-race", "race@example.com", true)
		c := a.Client(t)
		cb := authorize(t, start(t, a, c, "local", nil))
		codes := make(chan int, 2)
		for range 2 {
			go func() { codes <- c.Get(cb).StatusCode }()
		}
		got := map[int]int{}
		for range 2 {
			got[<-codes]++
		}
		if got[http.StatusSeeOther] != 1 || got[http.StatusBadRequest] != 1 {
			t.Errorf("concurrent callbacks: got statuses %v, want one 303 and one 400", got)
		}
		if n := a.Count(t, "sigra_users", ""); n != 1 {
			t.Errorf("users: got %d, want 1", n)
		}
	})
}

// The start and callback routes are rate limited per client address.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{oauth: func(c *oauth.Config) {
		c.Limits.StartPerIP = middleware.Limit{N: 3, Window: time.Minute}
		c.Limits.CallbackPerIP = middleware.Limit{N: 2, Window: time.Minute}
	}})
	c := a.Client(t)
	for range 2 {
		want(t, "callback", c.Get(a.Path("/oauth/local/callback")+"?state=x"), http.StatusBadRequest)
	}
	want(t, "callback past the limit", c.Get(a.Path("/oauth/local/callback")+"?state=x"), http.StatusTooManyRequests)
	for range 3 {
		start(t, a, c, "local", nil)
	}
	want(t, "start past the limit", c.Post(a.Path("/oauth/local/start"), nil), http.StatusTooManyRequests)
}

// The pages with provider buttons let their forms lead to the providers:
// the policy's form-action names the providers' authorization origins,
// and nothing else of the policy changes.
func TestButtonPagesPolicy(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{})
	u, _ := url.Parse(a.IDP.Issuer())
	origin := u.Scheme + "://" + u.Host
	csp := a.Client(t).Get(a.Path("/oauth")).Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self' "+origin) || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("providers page policy: got %q, want form-action 'self' %s and the rest kept", csp, origin)
	}
	if csp := a.Client(t).Get(a.Path("/login")).Header.Get("Content-Security-Policy"); strings.Contains(csp, origin) {
		t.Errorf("another page's policy names the provider: %q", csp)
	}
}

// By default, an identity whose address the provider did not verify
// makes no account; a verified one still does.
func TestUnverifiedEmailRefusedByDefault(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{})
	a.IDP.user("sub-unv", "unverified@example.com", false)
	res := handshake(t, a, a.Client(t))
	want(t, "unverified", res, http.StatusUnprocessableEntity)
	if got := errorCode(res); got != "email_unverified" {
		t.Errorf("unverified: got %q, want email_unverified", got)
	}
	if n := a.Count(t, "sigra_users", ""); n != 0 {
		t.Errorf("users: got %d, want 0", n)
	}
	a.IDP.user("sub-ver", "verified@example.com", true)
	want(t, "verified", handshake(t, a, a.Client(t)), http.StatusSeeOther)
}
