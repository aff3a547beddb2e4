package apitoken_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/apitoken"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// pw is every test user's password.
const pw = "correct horse battery staple"

// countingStore is the real store, counting the token lookups and
// last-use writes that reach it.
type countingStore struct {
	apitoken.Store
	lookups atomic.Int64
	touches atomic.Int64
}

func (c *countingStore) APITokenByDigest(ctx context.Context, digest []byte, now time.Time) (*store.APIToken, *store.User, *store.ServiceAccount, error) {
	c.lookups.Add(1)
	return c.Store.APITokenByDigest(ctx, digest, now)
}

func (c *countingStore) TouchAPIToken(ctx context.Context, id string, now time.Time, every time.Duration) (bool, error) {
	c.touches.Add(1)
	return c.Store.TouchAPIToken(ctx, id, now, every)
}

// app is a running test application with account and apitoken, and API
// routes of the application's own:
//
//	GET  /api/whoami   Bearer
//	GET  /api/notes    Bearer, RequireScopes("notes:read")
//	POST /api/notes    Bearer, RequireScopes("notes:read", "notes:write")
type app struct {
	*apptest.App
	Tokens *apitoken.APITokens
	St     *countingStore
}

type options struct {
	backend string
	cfg     func(c *apitoken.Config)
}

var scopes = []apitoken.Scope{
	{Name: "notes:read", Description: "Read notes"},
	{Name: "notes:write", Description: "Write notes"},
	{Name: "admin", Description: "Everything"},
}

func newApp(t testing.TB, o options) *app {
	t.Helper()
	x := &app{}
	opt := apptest.Options{
		Backend: o.backend, Packs: []ui.Pack{account.Pages(), apitoken.Pages()},
		CSRFExempt: func(r *http.Request) bool {
			return middleware.TokenExempt(r) || (x.Tokens != nil && x.Tokens.CSRFExempt(r))
		},
	}
	x.App = apptest.New(t, opt, func(a *apptest.App) {
		st, ok := a.Store.(apitoken.Store)
		if !ok {
			t.Fatalf("%T does not implement apitoken.Store", a.Store)
		}
		x.St = &countingStore{Store: st}
		cfg := apitoken.Config{
			Store: x.St, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, RateLimiter: a.Limiter,
			Scopes: scopes,
		}
		if o.cfg != nil {
			o.cfg(&cfg)
		}
		tokens, err := apitoken.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		acc, err := account.New(account.Config{
			Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Passwords: a.Hasher, Mail: a.Outbox,
			RateLimiter: a.Limiter, Sections: []ui.Section{tokens.Section()},
		})
		if err != nil {
			t.Fatal(err)
		}
		acc.Mount(a.Mux)
		tokens.Mount(a.Mux)
		a.Mux.Handle("GET /api/whoami", tokens.Bearer(http.HandlerFunc(whoami)))
		a.Mux.Handle("GET /api/notes", tokens.Bearer(tokens.RequireScopes("notes:read")(http.HandlerFunc(whoami))))
		a.Mux.Handle("POST /api/notes", tokens.Bearer(tokens.RequireScopes("notes:read", "notes:write")(http.HandlerFunc(whoami))))
		x.Tokens = tokens
	})
	return x
}

// whoami answers the request's auth state as JSON.
func whoami(w http.ResponseWriter, r *http.Request) {
	a := sigra.AuthFrom(r.Context())
	u := sigra.UserFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": u.ID, "email": u.Email, "service_account": a.ServiceAccount, "org": a.ActiveOrg,
		"scopes": a.Scopes, "methods": a.Methods, "session": a.SessionID,
	})
}

// each runs f on every backend, in parallel.
func each(t *testing.T, f func(t *testing.T, a *app)) {
	t.Helper()
	eachWith(t, options{}, f)
}

func eachWith(t *testing.T, o options, f func(t *testing.T, a *app)) {
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

// signedIn returns a client signed in as a new confirmed user.
func (a *app) signedIn(t *testing.T, email string) (*apptest.Client, *store.User) {
	t.Helper()
	u := a.CreateUser(t, email, pw)
	c := a.Client(t)
	c.SignIn(email, pw)
	return c, u
}

// createToken creates a token through the JSON endpoint and returns it.
func (a *app) createToken(t *testing.T, c *apptest.Client, name, scopes, days string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "scopes": scopes, "expires_in_days": days})
	res := c.JSON("POST", a.Path("/settings/tokens"), string(body))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create token %s: %d\n%s", name, res.StatusCode, res.Body)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(res.Body), &out); err != nil || out.Token == "" {
		t.Fatalf("create token %s: no token in %s", name, res.Body)
	}
	return out.Token
}

// bearer sends a request with the bearer token tok.
func (a *app) bearer(t *testing.T, method, path, tok string) *apptest.Response {
	t.Helper()
	h := http.Header{}
	if tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	return a.Client(t).Do(method, path, h, nil)
}

// who decodes a whoami answer.
type who struct {
	ID             string   `json:"id"`
	Email          string   `json:"email"`
	ServiceAccount bool     `json:"service_account"`
	Org            string   `json:"org"`
	Scopes         []string `json:"scopes"`
	Methods        []string `json:"methods"`
	Session        string   `json:"session"`
}

func (a *app) whoami(t *testing.T, tok string) who {
	t.Helper()
	res := a.bearer(t, "GET", "/api/whoami", tok)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("whoami: got %d, want 200\n%s", res.StatusCode, res.Body)
	}
	var w who
	if err := json.Unmarshal([]byte(res.Body), &w); err != nil {
		t.Fatal(err)
	}
	return w
}

// wantStatus fails unless res has status.
func wantStatus(t *testing.T, what string, res *apptest.Response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s: got %d, want %d\n%s", what, res.StatusCode, status, res.Body)
	}
}

// errorCode returns the house JSON error code of a body.
func errorCode(t *testing.T, body string) (code string, fields map[string]string) {
	t.Helper()
	var e struct {
		Error struct {
			Code   string            `json:"code"`
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Error.Code, e.Error.Fields
}

// tokenRequest asks the token endpoint for an access token with a form
// and HTTP Basic credentials.
func (a *app) tokenRequest(t *testing.T, clientID, secret, scope string) *apptest.Response {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	req, _ := http.NewRequest("POST", "/", nil)
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	h.Set("Authorization", req.Header.Get("Authorization"))
	return a.Client(t).Do("POST", a.Path("/oauth/token"), h, strings.NewReader(form.Encode()))
}

// accessToken exchanges client credentials for an access token.
func (a *app) accessToken(t *testing.T, clientID, secret, scope string) string {
	t.Helper()
	res := a.tokenRequest(t, clientID, secret, scope)
	wantStatus(t, "token endpoint", res, http.StatusOK)
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(res.Body), &out); err != nil || out.AccessToken == "" || out.TokenType != "Bearer" || out.ExpiresIn <= 0 {
		t.Fatalf("token endpoint: %s", res.Body)
	}
	return out.AccessToken
}

// createAccount creates a service account of orgID through the JSON
// endpoint and returns its client ID and secret.
func (a *app) createAccount(t *testing.T, c *apptest.Client, orgID, name, scopes string) (id, secret string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"org_id": orgID, "name": name, "scopes": scopes})
	res := c.JSON("POST", a.Path("/settings/service-accounts"), string(body))
	wantStatus(t, "create service account "+name, res, http.StatusCreated)
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(res.Body), &out); err != nil || out.ClientID == "" || out.ClientSecret == "" {
		t.Fatalf("create service account: %s", res.Body)
	}
	return out.ClientID, out.ClientSecret
}

// newOrg creates an organization owned by owner, in the store.
func (a *app) newOrg(t *testing.T, slug string, owner *store.User) *store.Org {
	t.Helper()
	o := &store.Org{Name: "Org " + slug, Slug: slug, CreatedBy: owner.ID}
	if err := a.Store.CreateOrg(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

// audits counts the audit rows with action and outcome.
func (a *app) audits(t *testing.T, action, outcome string) int {
	t.Helper()
	return a.Count(t, "sigra_audit_log", "action = ? AND outcome = ?", action, outcome)
}

// mustJSON marshals v.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return string(b)
}

// apitokenConfig is the package's Config, for options.
type apitokenConfig = apitoken.Config

// decode unmarshals a JSON body.
func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
}

// whoamiSession returns the address the client's session is signed in as.
func whoamiSession(t *testing.T, c *apptest.Client) string {
	t.Helper()
	_, email, _ := c.Whoami()
	return email
}
