package mfa_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/testapp"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// trustBrowser signs in on c with a code and "trust this browser", and
// returns the trust cookie's value.
func trustBrowser(t testing.TB, a *testapp.App, c *testapp.Client, email, secret string) string {
	t.Helper()
	signInPending(t, c, email)
	res := c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}, "trust": {"on"}})
	wantRedirect(t, "challenge with trust", res, "/")
	nextStep(a)
	v := c.Cookie("sigra_trust")
	if v == "" {
		t.Fatal("no trust cookie")
	}
	return v
}

// signInAgain signs out of c and signs in with the password.
func signInAgain(t testing.TB, c *testapp.Client, email string) *testapp.Response {
	t.Helper()
	c.Post("/auth/logout", nil)
	return c.SignIn(email, pw)
}

// wantTrusted checks that a password sign-in on c skips the challenge.
func wantTrusted(t testing.TB, c *testapp.Client, email string) {
	t.Helper()
	wantRedirect(t, "sign-in on a trusted browser", signInAgain(t, c, email), "/")
	wantState(t, c, "authenticated", 2, "password", "trusted_browser")
}

// wantAsked checks that a password sign-in on c asks for the second factor.
func wantAsked(t testing.TB, c *testapp.Client, email string) {
	t.Helper()
	wantRedirect(t, "sign-in on an untrusted browser", signInAgain(t, c, email), "/auth/mfa/challenge")
	wantState(t, c, "pending", 0)
}

// grantOf returns the id of the grant whose digest matches a cookie.
func grantOf(t testing.TB, a *testapp.App, userID, cookie string) string {
	t.Helper()
	l, err := a.Store.TrustedBrowsersByUser(context.Background(), userID, a.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range l {
		if bytes.Equal(g.Digest, token.Digest(cookie)) {
			return g.ID
		}
	}
	t.Fatal("no grant for the cookie")
	return ""
}

func TestTrustedBrowser(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *testapp.App) {
		c0, u, secret, _ := newEnrolledUser(t, a, "user@example.com")

		// Without the checkbox nothing is trusted.
		plain := a.Client()
		signInMFA(t, a, plain, u.Email, secret)
		if plain.Cookie("sigra_trust") != "" || trustedCount(t, a, u.ID) != 0 {
			t.Fatal("a browser was trusted without opting in")
		}

		// Browser A opts in.
		A := a.Client()
		signInPending(t, A, u.Email)
		res := A.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}, "trust": {"on"}})
		wantRedirect(t, "challenge with trust", res, "/")
		nextStep(a)
		var set *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == "sigra_trust" {
				set = ck
			}
		}
		if set == nil || !set.HttpOnly || set.SameSite != http.SameSiteLaxMode || set.Path != "/" || set.MaxAge != 30*24*3600 {
			t.Fatalf("trust cookie: %+v; want HttpOnly, SameSite=Lax, Path=/, 30 days", set)
		}
		cookieA := set.Value
		grants, err := a.Store.TrustedBrowsersByUser(context.Background(), u.ID, a.Clock.Now())
		if err != nil || len(grants) != 1 {
			t.Fatalf("grants: %v, %v", grants, err)
		}
		if g := grants[0]; !bytes.Equal(g.Digest, token.Digest(cookieA)) || bytes.Contains(g.Digest, []byte(cookieA)) ||
			!g.ExpiresAt.Equal(g.CreatedAt.Add(30*24*time.Hour)) || g.IP == "" || !strings.Contains(g.UserAgent, "Chrome") {
			t.Fatalf("grant: %+v; want the cookie's digest, 30 days, IP and user agent", g)
		}
		wantAudits(t, a, u.ID, "mfa.trusted_browser.add", 1)

		wantTrusted(t, A, u.Email)
		// Another browser is still asked.
		B := a.Client()
		wantAsked(t, B, u.Email)
		cookieB := trustBrowser(t, a, B, u.Email, secret)

		// Settings list both, as JSON and on the page.
		res = c0.JSON("GET", "/auth/mfa", "")
		want(t, "settings JSON", res, http.StatusOK)
		b := body(t, res)
		list, _ := b["trusted_browsers"].([]any)
		if b["enabled"] != true || b["recovery_codes_left"] != float64(10) || len(list) != 2 {
			t.Fatalf("settings JSON: %v", b)
		}
		for _, item := range list {
			g := item.(map[string]any)
			if g["browser"] != "Chrome" || g["os"] != "Linux" || g["id"] == "" {
				t.Fatalf("trusted browser entry: %v", g)
			}
		}
		idA, idB := grantOf(t, a, u.ID, cookieA), grantOf(t, a, u.ID, cookieB)
		res = c0.Get("/auth/mfa")
		want(t, "settings page", res, http.StatusOK)
		for _, id := range []string{idA, idB} {
			if !strings.Contains(res.Body, `name="id" value="`+id+`"`) {
				t.Fatalf("settings page has no revoke form for %s", id)
			}
		}

		// Revoke A alone.
		res = c0.Post("/auth/mfa/trusted/revoke", url.Values{"id": {idA}})
		wantRedirect(t, "revoke", res, "/auth/mfa?notice=trusted_revoked")
		wantAsked(t, A, u.Email)
		wantTrusted(t, B, u.Email)
		wantAudits(t, a, u.ID, "mfa.trusted_browser.revoke", 1)

		// Unknown ids and another user's grant are not found.
		other := a.CreateUser("other@example.com", pw)
		og := &store.TrustedBrowser{UserID: other.ID, Digest: token.Digest("x"), CreatedAt: a.Clock.Now(), ExpiresAt: a.Clock.Now().Add(time.Hour)}
		if err := a.Store.CreateTrustedBrowser(context.Background(), og); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{idA, og.ID, "nope"} {
			res = post(t, c0, "/auth/mfa/trusted/revoke", map[string]any{"id": id})
			want(t, "revoke "+id, res, http.StatusNotFound)
		}
		want(t, "revoke without id", post(t, c0, "/auth/mfa/trusted/revoke", map[string]any{}), http.StatusBadRequest)
		if trustedCount(t, a, other.ID) != 1 {
			t.Fatal("another user's grant was revoked")
		}

		// Revoke all (JSON).
		res = post(t, c0, "/auth/mfa/trusted/revoke-all", map[string]any{})
		want(t, "revoke all", res, http.StatusOK)
		if b := body(t, res); b["revoked"] != float64(1) {
			t.Fatalf("revoke all: %v", b)
		}
		wantAsked(t, B, u.Email)
		if trustedCount(t, a, u.ID) != 0 || trustedCount(t, a, other.ID) != 1 {
			t.Fatal("revoke all: wrong grants left")
		}
	})
}

// TestTrustRevokedByPasswordReset: a reset forgets every trusted browser.
func TestTrustRevokedByPasswordReset(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *testapp.App) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		A := a.Client()
		trustBrowser(t, a, A, u.Email, secret)
		wantTrusted(t, A, u.Email)

		r := a.Client()
		want(t, "reset request", r.Post("/auth/password/forgot", url.Values{"email": {u.Email}}), http.StatusOK)
		link := a.Link(a.LastMail(u.Email), "/auth/password/reset")
		const newPW = "a brand new passphrase"
		wantRedirect(t, "reset", r.Post("/auth/password/reset", url.Values{"token": {testapp.TokenOf(link)}, "password": {newPW}}), "/auth/login?notice=reset")
		if n := trustedCount(t, a, u.ID); n != 0 {
			t.Fatalf("grants after reset: %d", n)
		}
		if A.Cookie("sigra_trust") == "" {
			t.Fatal("test setup: the browser lost its cookie")
		}
		wantState(t, A, "anonymous", 0) // every session was revoked too
		res := A.Post("/auth/login", url.Values{"email": {u.Email}, "password": {newPW}})
		wantRedirect(t, "sign-in after reset", res, "/auth/mfa/challenge")
		wantState(t, A, "pending", 0)
	})
}

// TestTrustRevokedByDisable: turning MFA off forgets every trusted
// browser, so after enrolling again an old trust cookie is useless.
func TestTrustRevokedByDisable(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *testapp.App) {
		c0, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		A := a.Client()
		trustBrowser(t, a, A, u.Email, secret)
		trustBrowser(t, a, c0, u.Email, secret)

		res := c0.Post("/auth/mfa/disable", url.Values{"code": {code(t, a, secret)}})
		wantRedirect(t, "disable", res, "/auth/mfa?notice=mfa_disabled")
		cleared := false
		for _, ck := range res.Cookies() {
			cleared = cleared || (ck.Name == "sigra_trust" && ck.MaxAge < 0)
		}
		if !cleared {
			t.Fatal("disable did not clear the browser's trust cookie")
		}
		if n := trustedCount(t, a, u.ID); n != 0 {
			t.Fatalf("grants after disable: %d", n)
		}
		// Without MFA a sign-in is one factor.
		wantRedirect(t, "sign-in without MFA", signInAgain(t, A, u.Email), "/")
		wantState(t, A, "authenticated", 1, "password")

		c1 := a.Client()
		c1.SignIn(u.Email, pw)
		secret2, _ := enroll(t, a, c1)
		if A.Cookie("sigra_trust") == "" {
			t.Fatal("test setup: the browser lost its cookie")
		}
		wantAsked(t, A, u.Email)
		wantRedirect(t, "challenge with the new secret", A.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret2)}}), "/")
	})
}

// TestTrustNotOfferedOnStepUp: "trust this browser" belongs to sign-in; a
// step-up of a signed-in session does not create a grant.
func TestTrustNotOfferedOnStepUp(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *testapp.App) {
		u := a.CreateUser("user@example.com", pw)
		B := a.Client()
		B.SignIn(u.Email, pw) // AAL1, before enrollment
		A := a.Client()
		A.SignIn(u.Email, pw)
		secret, _ := enroll(t, a, A)

		res := B.Get("/auth/mfa/setup?return_to=%2Fsecure")
		want(t, "step-up page", res, http.StatusOK)
		if strings.Contains(res.Body, `name="trust"`) {
			t.Fatal("step-up page offers to trust the browser")
		}
		res = B.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}, "trust": {"on"}, "return_to": {"/secure"}})
		wantRedirect(t, "step-up", res, "/secure")
		if B.Cookie("sigra_trust") != "" || trustedCount(t, a, u.ID) != 0 {
			t.Fatal("a step-up trusted the browser")
		}
	})
}
