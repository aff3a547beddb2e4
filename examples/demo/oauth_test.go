package main

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/oauth"
)

// noFollow is a client of the provider's pages, as the browser is: it
// sees each redirect instead of following it.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

var actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)

// localStart starts a sign-in with the local provider and returns the
// authorization URL the demo sent the browser to.
func localStart(t *testing.T, c *apptest.Client) *url.URL {
	t.Helper()
	res := c.Post("/auth/oauth/local/start", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: got %d, want 303\n%.600s", res.StatusCode, res.Body)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil || u.Path != mockoidc.AuthorizationEndpoint {
		t.Fatalf("start: redirected to %q, want the local provider's authorization endpoint (%v)", res.Header.Get("Location"), err)
	}
	return u
}

// provider sends a request to the local provider, a form from its own
// page when form is not nil, and reads the answer.
func provider(t *testing.T, method string, u *url.URL, form url.Values, origin string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		if origin == "http://"+u.Host {
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		} else {
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
	}
	res, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// decide posts a decision from the consent page of u.
func decide(t *testing.T, u *url.URL, form url.Values) (*http.Response, string) {
	t.Helper()
	return provider(t, http.MethodPost, u, form, "http://"+u.Host)
}

// Without provider credentials, the demo offers sign-in with a local
// OpenID provider, which asks for consent and works end to end; with
// GITHUB_CLIENT_ID set, it offers GitHub instead.
func TestDemoLocalProvider(t *testing.T) {
	d := startDemo(t, Config{DB: filepath.Join(t.TempDir(), "demo.db"), NoSeed: true}, false)
	c := d.Client(t)
	if page := c.Get("/auth/oauth"); !strings.Contains(page.Body, "Continue with Local ID") {
		t.Fatalf("GET /auth/oauth: no local provider\n%.800s", page.Body)
	}
	auth := localStart(t, c)

	// The consent page: the application, the accounts, the choice.
	res, body := provider(t, http.MethodGet, auth, nil, "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("consent page: got %d, want 200\n%s", res.StatusCode, body)
	}
	for _, want := range []string{
		"<h1>Sign in to Sigra Demo</h1>", `lang="en"`, "<legend>Account</legend>",
		`value="jane.doe@example.com" checked`, `value="john.roe@example.com"`,
		`value="allow">Allow</button>`, `value="deny">Deny</button>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("consent page lacks %q\n%s", want, body)
		}
	}
	// The form posts to the same URL: the query, with the state, nonce
	// and PKCE challenge, as the demo sent it.
	if m := actionRE.FindStringSubmatch(body); m == nil || html.UnescapeString(m[1]) != auth.RequestURI() {
		t.Errorf("consent form's action: got %q, want %q", m, auth.RequestURI())
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self' "+d.URL+";") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("consent page's policy: got %q, want forms to the provider and %s only, and no framing", csp, d.URL)
	}

	// Allow: mockoidc's redirect to the callback, with the state as sent.
	res, body = decide(t, auth, url.Values{"decision": {"allow"}, "account": {"jane.doe@example.com"}})
	back, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("allow: got %d to %q, want 302 to the callback\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
	if got, want := back.Query().Get("state"), auth.Query().Get("state"); got != want || back.Query().Get("code") == "" {
		t.Errorf("allow: back with state %q and code %q, want state %q and a code", got, back.Query().Get("code"), want)
	}
	if res := c.Get(back.String()); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: got %d\n%s", res.StatusCode, res.Body)
	}
	if _, email, _ := c.Whoami(); email != "jane.doe@example.com" {
		t.Errorf("signed in as %q, want jane.doe@example.com", email)
	}

	env := map[string]string{"GITHUB_CLIENT_ID": "id", "GITHUB_CLIENT_SECRET": "secret"}
	cfg, err := parseFlags(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Providers) != 1 || cfg.Providers[0].Name != "github" {
		t.Errorf("providers from the environment: got %+v, want GitHub", cfg.Providers)
	}
}

// Deny on the consent page sends the browser back to the registered
// redirect URI with error=access_denied and the state; the demo answers
// with the oauth package's "you did not allow" page and an audit row,
// signed out, with no account made.
func TestDemoLocalProviderDeny(t *testing.T) {
	d := startDemo(t, Config{DB: filepath.Join(t.TempDir(), "demo.db"), NoSeed: true}, false)
	c := d.Client(t)
	auth := localStart(t, c)

	res, body := decide(t, auth, url.Values{"decision": {"deny"}, "account": {"jane.doe@example.com"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("deny: got %d, want 303\n%s", res.StatusCode, body)
	}
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := back.Scheme+"://"+back.Host+back.Path, d.URL+"/auth/oauth/local/callback"; got != want {
		t.Errorf("deny: back to %s, want %s", got, want)
	}
	q := back.Query()
	if q.Get("error") != "access_denied" || q.Get("state") != auth.Query().Get("state") || q.Has("code") {
		t.Errorf("deny: back with %v, want error=access_denied and state %q, no code", q, auth.Query().Get("state"))
	}

	page := c.Get(back.String())
	wantStatus(t, "callback after deny", page, http.StatusForbidden)
	if !strings.Contains(page.Body, "You did not allow the sign-in at the provider") {
		t.Errorf("callback after deny: not the denied-consent page\n%.800s", page.Body)
	}
	if state, _, _ := c.Whoami(); state != "anonymous" {
		t.Errorf("after deny: session %q, want anonymous", state)
	}
	if n := d.Count(t, "sigra_users", ""); n != 0 {
		t.Errorf("after deny: %d users, want none", n)
	}
	if n := d.Count(t, "sigra_audit_log", "action = ? AND metadata LIKE ?", oauth.ActionCallbackFailure, "%consent_denied%"); n != 1 {
		t.Errorf("after deny: %d audit rows of the denied consent, want 1", n)
	}
}

// The consent page refuses, without redirecting anywhere, a client it
// does not know and a redirect URI other than the registered one; it
// refuses a decision sent from another site, and a decision or account
// it does not offer. None of them signs anyone in, and an account chosen
// for a request mockoidc refused does not go to the next sign-in.
func TestDemoLocalProviderRefusals(t *testing.T) {
	d := startDemo(t, Config{DB: filepath.Join(t.TempDir(), "demo.db"), NoSeed: true}, false)
	c := d.Client(t)
	auth := localStart(t, c)
	with := func(key, value string) *url.URL {
		u := *auth
		q := u.Query()
		if value == "" {
			q.Del(key)
		} else {
			q.Set(key, value)
		}
		u.RawQuery = q.Encode()
		return &u
	}
	allowJohn := url.Values{"decision": {"allow"}, "account": {"john.roe@example.com"}}
	for _, tc := range []struct {
		name   string
		method string
		u      *url.URL
		form   url.Values
		origin string
		status int
		want   string
	}{
		{"unknown client", http.MethodGet, with("client_id", "someone-else"), nil, "", 400, "not registered"},
		{"unknown client, deny", http.MethodPost, with("client_id", "someone-else"), url.Values{"decision": {"deny"}}, "", 400, "not registered"},
		{"other redirect URI", http.MethodGet, with("redirect_uri", "https://attacker.example/cb"), nil, "", 400, "not the one it registered"},
		{"other redirect URI, deny", http.MethodPost, with("redirect_uri", "https://attacker.example/cb"), url.Values{"decision": {"deny"}}, "", 400, "not the one it registered"},
		{"redirect URI with a query", http.MethodGet, with("redirect_uri", d.URL+"/auth/oauth/local/callback?next=x"), nil, "", 400, "not the one it registered"},
		{"another site's form", http.MethodPost, auth, allowJohn, "https://attacker.example", 403, "another site"},
		{"no decision", http.MethodPost, auth, url.Values{"account": {"john.roe@example.com"}}, "", 400, "Choose Allow or Deny"},
		{"unknown account", http.MethodPost, auth, url.Values{"decision": {"allow"}, "account": {"root@example.com"}}, "", 400, "Choose one of the test accounts"},
		{"other method", http.MethodPut, auth, nil, "", 405, "Open this page from the application"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin := tc.origin
			if origin == "" {
				origin = "http://" + tc.u.Host
			}
			res, body := provider(t, tc.method, tc.u, tc.form, origin)
			if res.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("got %d, want %d with %q\n%s", res.StatusCode, tc.status, tc.want, body)
			}
			if loc := res.Header.Get("Location"); loc != "" {
				t.Errorf("redirected to %q, want no redirect", loc)
			}
		})
	}

	// A redirect URI in the form's body does not replace the query's.
	res, body := decide(t, auth, url.Values{"decision": {"allow"}, "account": {"john.roe@example.com"}, "redirect_uri": {"https://attacker.example/cb"}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || !strings.HasPrefix(loc, d.URL+"/auth/oauth/local/callback?") {
		t.Errorf("allow with a redirect URI in the body: got %d to %q, want 302 to the registered callback\n%s", res.StatusCode, loc, body)
	}

	// mockoidc refuses an authorization without a scope, after the
	// account was chosen: the account is not kept for the next one.
	if res, body := decide(t, with("scope", ""), allowJohn); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("allow without a scope: got %d, want mockoidc's 400\n%s", res.StatusCode, body)
	}
	auth = localStart(t, c)
	res, body = decide(t, auth, url.Values{"decision": {"allow"}, "account": {"jane.doe@example.com"}})
	if res.StatusCode != http.StatusFound {
		t.Fatalf("allow: got %d\n%s", res.StatusCode, body)
	}
	if res := c.Get(res.Header.Get("Location")); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: got %d\n%s", res.StatusCode, res.Body)
	}
	if _, email, _ := c.Whoami(); email != "jane.doe@example.com" {
		t.Errorf("signed in as %q after the refusals, want jane.doe@example.com", email)
	}
	if n := d.Count(t, "sigra_users", ""); n != 1 {
		t.Errorf("%d users, want the one who allowed", n)
	}
}

// Consents given at the same moment for different accounts each give a
// code for their own account: the account chosen is held in mockoidc's
// queue until its own authorization takes it, and mockoidc's session map
// sees one request at a time (run with -race to see the map guarded).
func TestLocalIDPConcurrentConsents(t *testing.T) {
	const redirect = "http://localhost:9/auth/oauth/local/callback"
	l, err := startLocalIDP(redirect)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := localAccounts[i%len(localAccounts)].Email
			if got, err := consentedEmail(l, redirect, want); err != nil || got != want {
				errs <- fmt.Errorf("consent %d for %s: got %q (%v)", i, want, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// consentedEmail allows a sign-in as email on the local provider's consent
// page, trades the code for tokens as the client does, and returns the
// address the provider's userinfo endpoint gives for them.
func consentedEmail(l *localIDP, redirect, email string) (string, error) {
	q := url.Values{
		"client_id": {l.m.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"state-" + email},
	}
	form := url.Values{"decision": {"allow"}, "account": {email}}
	req, err := http.NewRequest(http.MethodPost, l.m.AuthorizationEndpoint()+"?"+q.Encode(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := noFollow.Do(req)
	if err != nil {
		return "", err
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		return "", fmt.Errorf("allow: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = http.PostForm(l.m.TokenEndpoint(), url.Values{
		"client_id": {l.m.ClientID}, "client_secret": {l.m.ClientSecret},
		"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
	})
	if err != nil {
		return "", err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if err != nil {
		return "", err
	}
	req, err = http.NewRequest(http.MethodGet, l.m.UserinfoEndpoint(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var info struct {
		Email string `json:"email"`
	}
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		return "", err
	}
	return info.Email, nil
}

// FuzzLocalIDPConsent sends the consent page any query and form: it never
// fails with a server error, and never redirects anywhere but to the
// registered redirect URI.
func FuzzLocalIDPConsent(f *testing.F) {
	const redirect = "http://localhost:9/auth/oauth/local/callback"
	l, err := startLocalIDP(redirect)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(l.close)
	good := url.Values{"client_id": {l.m.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid email"}, "state": {"s"}}.Encode()
	f.Add("GET", good, "")
	f.Add("POST", good, "decision=allow&account=jane.doe%40example.com")
	f.Add("POST", good, "decision=deny")
	f.Add("POST", good+"&redirect_uri=https%3A%2F%2Fattacker.example%2F", "decision=deny")
	f.Add("POST", "client_id="+l.m.ClientID+"&redirect_uri="+url.QueryEscape(redirect), "decision=allow&account=john.roe%40example.com")
	f.Add("POST", good, "decision=deny&decision=allow&account=%zz")
	f.Add("POST", good, "decision=allow&account=jane.doe%40example.com&redirect_uri=https%3A%2F%2Fattacker.example%2F")
	f.Fuzz(func(t *testing.T, method, query, form string) {
		if method != "GET" && method != "POST" {
			method = "PUT"
		}
		req := httptest.NewRequest(method, mockoidc.AuthorizationEndpoint, strings.NewReader(form))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		rec := httptest.NewRecorder()
		l.m.Server.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s ?%s %q: got %d\n%s", method, query, form, rec.Code, rec.Body)
		}
		if loc := rec.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, redirect+"?") {
			t.Fatalf("%s ?%s %q: redirected to %q, want only the registered redirect URI", method, query, form, loc)
		}
	})
}
