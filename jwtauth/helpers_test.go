package jwtauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/jwtauth"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// pw is every test user's password.
const pw = "correct horse battery staple"

// app is a running test application with account and jwtauth, apptest's
// impersonation routes, and API routes of the application's own:
//
//	GET /api/me      JWT.Require: answers "<user id> <aal> <scopes>"
//	GET /api/write   JWT.Require, RequireScopes("write")
type app struct {
	*apptest.App
	JWT *jwtauth.JWT
	st  jwtauth.Store
}

// newApp builds the application on backend; edit changes the jwtauth
// configuration before New.
func newApp(t testing.TB, backend string, edit func(c *jwtauth.Config)) *app {
	t.Helper()
	x := &app{}
	x.App = apptest.New(t, apptest.Options{Backend: backend, Packs: []ui.Pack{account.Pages(), jwtauth.Pages()}}, func(a *apptest.App) {
		st, ok := a.Store.(jwtauth.Store)
		if !ok {
			t.Fatalf("the %s store does not implement jwtauth.Store", a.Backend)
		}
		x.st = st
		key, err := jwtauth.GenerateKey("k1")
		if err != nil {
			t.Fatal(err)
		}
		cfg := jwtauth.Config{
			Store: st, Sessions: a.Sessions, UI: a.UI, Guard: a.Guard, Keys: []jwtauth.Key{key},
			Scopes: []string{"read", "write"}, DefaultScopes: []string{"read"},
		}
		if edit != nil {
			edit(&cfg)
		}
		if x.JWT, err = jwtauth.New(cfg); err != nil {
			t.Fatal(err)
		}
		acc, err := account.New(account.Config{
			Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Passwords: a.Hasher, Mail: a.Outbox, RateLimiter: a.Limiter,
			Sections: []ui.Section{x.JWT.Section()},
		})
		if err != nil {
			t.Fatal(err)
		}
		acc.Mount(a.Mux)
		x.JWT.Mount(a.Mux)
		apptest.MountImpersonation(a.Mux, a.Site, a.Store, a.Sessions, a.Guard)
		me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := sigra.AuthFrom(r.Context())
			fmt.Fprintf(w, "%s %d %s", sigra.UserFrom(r.Context()).ID, a.AAL, strings.Join(a.Scopes, ","))
		})
		a.Mux.Handle("GET /api/me", x.JWT.Require(me))
		a.Mux.Handle("GET /api/write", x.JWT.Require(jwtauth.RequireScopes("write")(me)))
	})
	return x
}

// each runs f on every backend, in parallel.
func each(t *testing.T, edit func(c *jwtauth.Config), f func(t *testing.T, a *app)) {
	t.Helper()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			f(t, newApp(t, b, edit))
		})
	}
}

// signedIn returns a client signed in as a new confirmed user.
func (a *app) signedIn(t testing.TB, email string) (*apptest.Client, *store.User) {
	t.Helper()
	u := a.CreateUser(t, email, pw)
	c := a.Client(t)
	c.SignIn(email, pw)
	return c, u
}

// tokens is a decoded TokenResponse.
type tokens = jwtauth.TokenResponse

// exchange exchanges c's session for tokens, expecting success.
func (a *app) exchange(t testing.TB, c *apptest.Client, body string) tokens {
	t.Helper()
	res := c.JSON("POST", a.Path("/token"), body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /token %s: got %d, want 200\n%s", body, res.StatusCode, res.Body)
	}
	return decodeTokens(t, res)
}

func decodeTokens(t testing.TB, res *apptest.Response) tokens {
	t.Helper()
	var tk tokens
	if err := json.Unmarshal([]byte(res.Body), &tk); err != nil {
		t.Fatalf("token answer: %v\n%s", err, res.Body)
	}
	if tk.AccessToken == "" || tk.RefreshToken == "" || tk.TokenType != "Bearer" {
		t.Fatalf("token answer: got %+v, want both tokens and type Bearer", tk)
	}
	return tk
}

// refresh posts a refresh token from a client without cookies.
func (a *app) refresh(t *testing.T, refresh string) *apptest.Response {
	t.Helper()
	return a.Client(t).JSON("POST", a.Path("/token/refresh"), `{"refresh_token":"`+refresh+`"}`)
}

// bearer GETs path with an access token, from a client without cookies.
func (a *app) bearer(t *testing.T, path, access string) *apptest.Response {
	t.Helper()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+access)
	return a.Client(t).Do("GET", path, h, nil)
}

// errCode is the error code of a JSON error answer.
func errCode(t *testing.T, res *apptest.Response) string {
	t.Helper()
	var body struct {
		Error struct{ Code string }
	}
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
		t.Fatalf("JSON error body: %v\n%s", err, res.Body)
	}
	return body.Error.Code
}

// actions returns the audit actions of the user, newest first, with their
// outcomes ("jwt.reuse_detected:failure").
func (a *app) actions(t *testing.T, userID string) []string {
	t.Helper()
	evs, _, err := a.Store.QueryAudit(context.Background(), store.AuditQuery{UserID: userID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if strings.HasPrefix(e.Action, "jwt.") {
			out = append(out, e.Action+":"+e.Outcome)
		}
	}
	return out
}

// wantStatus checks a response's status.
func wantStatus(t *testing.T, what string, res *apptest.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s: got %d, want %d\n%s", what, res.StatusCode, want, res.Body)
	}
}
