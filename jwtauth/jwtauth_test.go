package jwtauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/jwtauth"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// TestExchangeAndUse: a signed-in session is exchanged for tokens that
// carry its user, AAL, methods and the granted scopes, and the access
// token opens the API with the same accessors as a session.
func TestExchangeAndUse(t *testing.T) {
	each(t, nil, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "exchange@example.com")
		tk := a.exchange(t, c, `{"scope":"read write","client_name":"a phone"}`)
		if tk.Scope != "read write" || tk.ExpiresIn != 600 || tk.RefreshExpiresIn != 14*24*3600 {
			t.Errorf("token answer: (scope, expires_in, refresh_expires_in) = (%q, %d, %d), want (\"read write\", 600, %d)",
				tk.Scope, tk.ExpiresIn, tk.RefreshExpiresIn, 14*24*3600)
		}
		res := a.bearer(t, "/api/me", tk.AccessToken)
		wantStatus(t, "GET /api/me with the access token", res, http.StatusOK)
		if want := u.ID + " 1 read,write"; res.Body != want {
			t.Errorf("GET /api/me: got %q, want %q", res.Body, want)
		}
		claims, err := a.JWT.Verify(context.Background(), tk.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if claims.Subject != u.ID || claims.AAL != 1 || !slices.Equal(claims.Methods, []string{"password"}) || claims.SessionID == "" || claims.ID == "" {
			t.Errorf("claims: got sub %q aal %d amr %q sid %q jti %q, want sub %q, aal 1, amr [password], a sid and a jti",
				claims.Subject, claims.AAL, claims.Methods, claims.SessionID, claims.ID, u.ID)
		}
		if claims.Issuer != a.URL || len(claims.Audience) != 1 || claims.Audience[0] != a.URL {
			t.Errorf("claims: iss %q aud %q, want both %q", claims.Issuer, claims.Audience, a.URL)
		}
		// No scope asked: the defaults.
		if tk := a.exchange(t, c, `{}`); tk.Scope != "read" {
			t.Errorf("exchange without scope: got scope %q, want the default %q", tk.Scope, "read")
		}
		if got, want := a.actions(t, u.ID), []string{"jwt.issue:success", "jwt.issue:success"}; !slices.Equal(got, want) {
			t.Errorf("audit: got %q, want %q", got, want)
		}
	})
}

// TestExchangeRefused: the token endpoint issues nothing without a
// signed-in session, and refuses bad input with a field code, storing
// nothing.
func TestExchangeRefused(t *testing.T) {
	each(t, nil, func(t *testing.T, a *app) {
		anon := a.Client(t)
		res := anon.JSON("POST", a.Path("/token"), `{}`)
		wantStatus(t, "POST /token anonymous", res, http.StatusUnauthorized)
		if code := errCode(t, res); code != "unauthenticated" {
			t.Errorf("POST /token anonymous: code %q, want unauthenticated", code)
		}
		c, u := a.signedIn(t, "refused@example.com")
		for _, tc := range []struct{ body, code, field string }{
			{`{"scope":"admin"}`, "invalid_scope", "scope"},
			{`{"scope":"read","extra":"x"}`, "unknown_field", "extra"},
			{`{"scope":7}`, "invalid_type", "scope"},
			{`{"client_name":"a\u0000b"}`, "invalid_text", "client_name"},
			{`{"scope":"read"`, "invalid_input", ""},
		} {
			res := c.JSON("POST", a.Path("/token"), tc.body)
			wantStatus(t, "POST /token "+tc.body, res, http.StatusBadRequest)
			if code := errCode(t, res); code != tc.code {
				t.Errorf("POST /token %s: code %q, want %q", tc.body, code, tc.code)
			}
			if tc.field != "" && !strings.Contains(res.Body, `"`+tc.field+`"`) {
				t.Errorf("POST /token %s: body does not name the field %q\n%s", tc.body, tc.field, res.Body)
			}
		}
		if n := a.Count(t, "sigra_refresh_families", "user_id = ?", u.ID); n != 0 {
			t.Errorf("after refused exchanges: %d families stored, want 0", n)
		}
		// Refresh and revoke refuse bad input too.
		for _, path := range []string{"/token/refresh", "/token/revoke"} {
			res := a.Client(t).JSON("POST", a.Path(path), `{"refresh_token":"x","more":1}`)
			wantStatus(t, path+" with an unknown field", res, http.StatusBadRequest)
			if code := errCode(t, res); code != "unknown_field" {
				t.Errorf("%s with an unknown field: code %q, want unknown_field", path, code)
			}
			res = a.Client(t).JSON("POST", a.Path(path), `{}`)
			wantStatus(t, path+" without a token", res, http.StatusBadRequest)
			if code := errCode(t, res); code != "required" {
				t.Errorf("%s without a token: code %q, want required", path, code)
			}
		}
	})
}

// TestRotationAndReuse: every refresh uses up its token and returns a new
// one; presenting a used token again revokes the family (its newest
// refresh token and its access tokens stop working) and is audited.
func TestRotationAndReuse(t *testing.T) {
	each(t, nil, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "rotate@example.com")
		first := a.exchange(t, c, `{"scope":"read"}`)
		tk := first
		for i := range 3 {
			a.Clock.Advance(time.Minute)
			res := a.refresh(t, tk.RefreshToken)
			wantStatus(t, "refresh", res, http.StatusOK)
			next := decodeTokens(t, res)
			if next.RefreshToken == tk.RefreshToken || next.AccessToken == tk.AccessToken {
				t.Fatalf("refresh %d: the tokens were not rotated", i)
			}
			if next.Scope != "read" {
				t.Errorf("refresh %d: scope %q, want read", i, next.Scope)
			}
			tk = next
		}
		wantStatus(t, "GET /api/me with the newest access token", a.bearer(t, "/api/me", tk.AccessToken), http.StatusOK)

		// The first refresh token again: a reuse.
		res := a.refresh(t, first.RefreshToken)
		wantStatus(t, "refresh with a used token", res, http.StatusBadRequest)
		if code := errCode(t, res); code != "invalid_grant" {
			t.Errorf("refresh with a used token: code %q, want invalid_grant", code)
		}
		res = a.refresh(t, tk.RefreshToken)
		wantStatus(t, "refresh with the newest token after a reuse", res, http.StatusBadRequest)
		res = a.bearer(t, "/api/me", tk.AccessToken)
		wantStatus(t, "GET /api/me after the reuse", res, http.StatusUnauthorized)
		if h := res.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate after the reuse: got %q, want error=\"invalid_token\"", h)
		}
		got := a.actions(t, u.ID)
		want := []string{"jwt.reuse_detected:failure", "jwt.refresh:success", "jwt.refresh:success", "jwt.refresh:success", "jwt.issue:success"}
		if !slices.Equal(got, want) {
			t.Errorf("audit: got %q, want %q", got, want)
		}
		// A malformed token is refused without a lookup, as invalid_grant.
		res = a.refresh(t, "not-a-token")
		if code := errCode(t, res); res.StatusCode != http.StatusBadRequest || code != "invalid_grant" {
			t.Errorf("refresh with a malformed token: %d %q, want 400 invalid_grant", res.StatusCode, code)
		}
	})
}

// TestRefreshRace: two refreshes racing with one token: exactly one gets
// new tokens, the other is a reuse, and the family ends (the rule in the
// package documentation), winner's tokens included.
func TestRefreshRace(t *testing.T) {
	each(t, nil, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "race@example.com")
		tk := a.exchange(t, c, `{}`)
		const n = 4
		results := make([]*apptest.Response, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i] = a.refresh(t, tk.RefreshToken)
			}()
		}
		close(start)
		wg.Wait()
		var won []tokens
		for _, res := range results {
			switch res.StatusCode {
			case http.StatusOK:
				won = append(won, decodeTokens(t, res))
			case http.StatusBadRequest:
			default:
				t.Fatalf("racing refresh: got %d\n%s", res.StatusCode, res.Body)
			}
		}
		if len(won) != 1 {
			t.Fatalf("racing refreshes: %d won, want exactly 1", len(won))
		}
		wantStatus(t, "refresh with the winner's token", a.refresh(t, won[0].RefreshToken), http.StatusBadRequest)
		wantStatus(t, "GET /api/me with the winner's access token", a.bearer(t, "/api/me", won[0].AccessToken), http.StatusUnauthorized)
		reuses := 0
		for _, act := range a.actions(t, u.ID) {
			if act == "jwt.reuse_detected:failure" {
				reuses++
			}
		}
		if reuses != n-1 {
			t.Errorf("audit: %d reuse rows, want %d", reuses, n-1)
		}
	})
}

// TestClientRevoke: a client signing out revokes its family; another
// family of the same user lives on; revoking an unknown token answers as
// RFC 7009 asks.
func TestClientRevoke(t *testing.T) {
	each(t, nil, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "revoke@example.com")
		tk := a.exchange(t, c, `{}`)
		other := a.exchange(t, c, `{}`)
		res := a.Client(t).JSON("POST", a.Path("/token/revoke"), `{"refresh_token":"`+tk.RefreshToken+`"}`)
		wantStatus(t, "revoke", res, http.StatusOK)
		wantStatus(t, "refresh after revoke", a.refresh(t, tk.RefreshToken), http.StatusBadRequest)
		wantStatus(t, "access after revoke", a.bearer(t, "/api/me", tk.AccessToken), http.StatusUnauthorized)
		wantStatus(t, "the other family's access", a.bearer(t, "/api/me", other.AccessToken), http.StatusOK)
		wantStatus(t, "the other family's refresh", a.refresh(t, other.RefreshToken), http.StatusOK)
		unknown, err := token.New()
		if err != nil {
			t.Fatal(err)
		}
		for _, junk := range []string{"junk", unknown} {
			res := a.Client(t).JSON("POST", a.Path("/token/revoke"), `{"refresh_token":"`+junk+`"}`)
			wantStatus(t, "revoke an unknown token", res, http.StatusOK)
		}
		if got := a.actions(t, u.ID); !slices.Contains(got, "jwt.revoke:success") {
			t.Errorf("audit: got %q, want a jwt.revoke row", got)
		}
	})
}

// TestSessionEndsFamily: whatever revokes the session ends the refresh
// family at once, and its access tokens within RecheckAfter (at once with
// CheckEveryRequest, or on an instance that has not vouched for the
// family yet).
func TestSessionEndsFamily(t *testing.T) {
	ends := []struct {
		name string
		end  func(t *testing.T, a *app, c *apptest.Client, u *store.User)
	}{
		{"sign out", func(t *testing.T, a *app, c *apptest.Client, _ *store.User) {
			res := c.Post(a.Path("/logout"), url.Values{})
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign out: %d\n%s", res.StatusCode, res.Body)
			}
		}},
		{"revoke all sessions", func(t *testing.T, a *app, _ *apptest.Client, u *store.User) {
			if _, err := a.Sessions.RevokeAll(context.Background(), u.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"disable the user", func(t *testing.T, a *app, _ *apptest.Client, u *store.User) {
			now := a.Clock.Now()
			if err := a.Store.SetDisabled(context.Background(), u.ID, now, now); err != nil {
				t.Fatal(err)
			}
		}},
		{"delete the user", func(t *testing.T, a *app, _ *apptest.Client, u *store.User) {
			if err := a.Store.DeleteUser(context.Background(), u.ID); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, e := range ends {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			each(t, nil, func(t *testing.T, a *app) {
				c, u := a.signedIn(t, "ends@example.com")
				tk := a.exchange(t, c, `{}`)
				// This instance vouches for the family now.
				wantStatus(t, "access before", a.bearer(t, "/api/me", tk.AccessToken), http.StatusOK)
				// Another instance that checks every request.
				strict := a.instance(t, func(c *jwtauth.Config) { c.CheckEveryRequest = true })
				if _, err := strict.Verify(context.Background(), tk.AccessToken); err != nil {
					t.Fatalf("strict instance before: %v", err)
				}
				e.end(t, a, c, u)
				wantStatus(t, "refresh after", a.refresh(t, tk.RefreshToken), http.StatusBadRequest)
				if _, err := strict.Verify(context.Background(), tk.AccessToken); err == nil {
					t.Errorf("strict instance after: the access token still verifies")
				}
				// The bound: this instance trusts its last look for
				// RecheckAfter, then asks the store again.
				a.Clock.Advance(jwtauth.DefaultRecheckAfter)
				wantStatus(t, "access after RecheckAfter", a.bearer(t, "/api/me", tk.AccessToken), http.StatusUnauthorized)
			})
		})
	}
}

// instance returns another JWT over the same store and keys (another
// instance of the application), with edit applied.
func (a *app) instance(t testing.TB, edit func(c *jwtauth.Config)) *jwtauth.JWT {
	t.Helper()
	cfg := a.JWT.Config()
	if edit != nil {
		edit(&cfg)
	}
	j, err := jwtauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestScopes: RequireScopes answers 403 insufficient_scope with the scope
// needed, as RFC 6750 says; 401 without a token.
func TestScopes(t *testing.T) {
	each(t, nil, func(t *testing.T, a *app) {
		c, _ := a.signedIn(t, "scopes@example.com")
		read := a.exchange(t, c, `{"scope":"read"}`)
		res := a.bearer(t, "/api/write", read.AccessToken)
		wantStatus(t, "GET /api/write with scope read", res, http.StatusForbidden)
		if code := errCode(t, res); code != "insufficient_scope" {
			t.Errorf("code %q, want insufficient_scope", code)
		}
		if h := res.Header.Get("WWW-Authenticate"); h != `Bearer error="insufficient_scope", scope="write"` {
			t.Errorf("WWW-Authenticate: got %q", h)
		}
		write := a.exchange(t, c, `{"scope":"write"}`)
		wantStatus(t, "GET /api/write with scope write", a.bearer(t, "/api/write", write.AccessToken), http.StatusOK)
		res = a.Client(t).Get("/api/me")
		wantStatus(t, "GET /api/me without a token", res, http.StatusUnauthorized)
		if h := res.Header.Get("WWW-Authenticate"); h != `Bearer realm="`+a.URL+`"` {
			t.Errorf("WWW-Authenticate without a token: got %q", h)
		}
	})
}

// TestExpiry: an access token is refused after its expiry plus the
// leeway; a refresh token after its idle lifetime.
func TestExpiry(t *testing.T) {
	each(t, nil, func(t *testing.T, a *app) {
		c, _ := a.signedIn(t, "expiry@example.com")
		tk := a.exchange(t, c, `{}`)
		a.Clock.Advance(jwtauth.DefaultAccessTTL + jwtauth.DefaultLeeway - time.Second)
		wantStatus(t, "access within the leeway", a.bearer(t, "/api/me", tk.AccessToken), http.StatusOK)
		a.Clock.Advance(2 * time.Second)
		wantStatus(t, "access past the leeway", a.bearer(t, "/api/me", tk.AccessToken), http.StatusUnauthorized)
	})
	// The refresh token's idle lifetime, shorter than the session's.
	each(t, func(c *jwtauth.Config) { c.RefreshTTL = time.Hour }, func(t *testing.T, a *app) {
		c, _ := a.signedIn(t, "idle@example.com")
		tk := a.exchange(t, c, `{}`)
		a.Clock.Advance(time.Hour)
		wantStatus(t, "refresh at the idle expiry", a.refresh(t, tk.RefreshToken), http.StatusBadRequest)
	})
}

// TestNotSignedIn: a client whose sign-in failed gets no tokens.
func TestNotSignedIn(t *testing.T) {
	each(t, nil, func(t *testing.T, a *app) {
		a.CreateUser(t, "pending@example.com", pw)
		c := a.Client(t)
		// A wrong password leaves the client anonymous.
		res := c.Post(a.Path("/login"), url.Values{"email": {"pending@example.com"}, "password": {"wrong password here"}})
		if res.StatusCode == http.StatusSeeOther {
			t.Fatalf("sign in with a wrong password: redirected")
		}
		res = c.JSON("POST", a.Path("/token"), `{}`)
		wantStatus(t, "POST /token after a failed sign-in", res, http.StatusUnauthorized)
	})
}

// TestUserFrom: below Require, sigra.UserFrom and AuthFrom work as under
// the session middleware.
func TestUserFrom(t *testing.T) {
	a := newApp(t, "sqlite", nil)
	c, u := a.signedIn(t, "from@example.com")
	tk := a.exchange(t, c, `{"scope":"read write"}`)
	req, _ := http.NewRequest("GET", "/x", nil)
	req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
	var got *sigra.Auth
	a.JWT.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = sigra.AuthFrom(r.Context())
		if sigra.UserFrom(r.Context()) == nil {
			t.Error("UserFrom: nil below Require")
		}
	})).ServeHTTP(httptest.NewRecorder(), req)
	if got == nil || got.User.ID != u.ID || !got.SignedIn() || !got.Used(sigra.MethodPassword) || !slices.Equal(got.Scopes, []string{"read", "write"}) {
		t.Errorf("AuthFrom below Require: got %+v", got)
	}
}

// TestImpersonationRefused: no tokens are issued to an administrator
// acting as the user (the admin console is not part of this test
// application: the impersonation starts through apptest's routes, as the
// console starts one), and nothing is stored.
func TestImpersonationRefused(t *testing.T) {
	each(t, nil, func(t *testing.T, a *app) {
		u := a.CreateUser(t, "impersonated@example.com", pw)
		c, _ := a.signedIn(t, "admin@example.com")
		c.Impersonate(t, u.ID)
		if _, email, _ := c.Whoami(); email != u.Email {
			t.Fatalf("impersonating: the session is %q's, want %q's", email, u.Email)
		}
		res := c.JSON("POST", a.Path("/token"), `{}`)
		wantStatus(t, "POST /token while impersonating", res, http.StatusForbidden)
		if code := errCode(t, res); code != "impersonating" {
			t.Errorf("code %q, want impersonating", code)
		}
		if n := a.Count(t, "sigra_refresh_families", "user_id = ?", u.ID); n != 0 {
			t.Errorf("%d families stored, want 0", n)
		}
	})
}

// TestNoSecretStored: refresh tokens are stored as SHA-256 digests only,
// and no token (refresh or access) appears anywhere in the database.
func TestNoSecretStored(t *testing.T) {
	each(t, nil, func(t *testing.T, a *app) {
		c, _ := a.signedIn(t, "secret@example.com")
		first := a.exchange(t, c, `{"client_name":"a phone"}`)
		next := decodeTokens(t, a.refresh(t, first.RefreshToken))
		if n := a.Count(t, "sigra_refresh_tokens", "digest = ?", token.Digest(next.RefreshToken)); n != 1 {
			t.Errorf("rows with the refresh token's digest: %d, want 1", n)
		}
		contents := a.Contents(t)
		if !strings.Contains(string(contents), "a phone") {
			t.Fatal("the database contents lack the client's name: the check below would prove nothing")
		}
		for name, secret := range map[string]string{
			"first refresh token": first.RefreshToken, "next refresh token": next.RefreshToken,
			"access token": first.AccessToken, "access token's signature": first.AccessToken[strings.LastIndex(first.AccessToken, ".")+1:],
		} {
			if strings.Contains(string(contents), secret) {
				t.Errorf("the database holds the %s", name)
			}
		}
	})
}
