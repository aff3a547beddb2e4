package mfa_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// trustBrowser signs in on c with a code and "trust this browser", and
// returns the trust cookie's value.
func trustBrowser(t testing.TB, a *app, c *apptest.Client, email, secret string) string {
	t.Helper()
	signInPending(t, a, c, email)
	res := c.Post(a.Path("/mfa/challenge"), url.Values{"code": {code(t, a, secret)}, "trust": {"on"}})
	wantRedirect(t, "challenge with trust", res, "/")
	nextStep(a)
	v := c.Cookie(trustName)
	if v == "" {
		t.Fatal("no trust cookie")
	}
	return v
}

// signInAgain signs out of c and signs in with the password.
func signInAgain(t testing.TB, a *app, c *apptest.Client, email string) *apptest.Response {
	t.Helper()
	c.Post(a.Path("/logout"), nil)
	return c.SignIn(email, pw)
}

// wantTrusted checks that a password sign-in on c skips the challenge.
func wantTrusted(t testing.TB, a *app, c *apptest.Client, email string) {
	t.Helper()
	wantRedirect(t, "sign-in on a trusted browser", signInAgain(t, a, c, email), "/")
	wantState(t, a, c, "authenticated", 2, "password", "trusted_browser")
}

// wantAsked checks that a password sign-in on c asks for the second factor.
func wantAsked(t testing.TB, a *app, c *apptest.Client, email string) {
	t.Helper()
	wantRedirect(t, "sign-in on an untrusted browser", signInAgain(t, a, c, email), a.Path("/mfa/challenge"))
	wantState(t, a, c, "pending", 0)
}

// grantOf returns the id of the grant whose digest matches a cookie.
func grantOf(t testing.TB, a *app, userID, cookie string) string {
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
	each(t, func(t *testing.T, a *app) {
		c0, u, secret, _ := newEnrolledUser(t, a, "user@example.com")

		// Without the checkbox nothing is trusted.
		plain := a.Client(t)
		signInMFA(t, a, plain, u.Email, secret)
		if plain.Cookie(trustName) != "" || trustedCount(t, a, u.ID) != 0 {
			t.Fatal("a browser was trusted without opting in")
		}

		// Browser A opts in.
		A := a.Client(t)
		signInPending(t, a, A, u.Email)
		res := A.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}, "trust": {"on"}})
		wantRedirect(t, "challenge with trust", res, "/")
		nextStep(a)
		var set *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == trustName {
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

		wantTrusted(t, a, A, u.Email)
		// Another browser is still asked.
		B := a.Client(t)
		wantAsked(t, a, B, u.Email)
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
		wantAsked(t, a, A, u.Email)
		wantTrusted(t, a, B, u.Email)
		wantAudits(t, a, u.ID, "mfa.trusted_browser.revoke", 1)

		// Unknown ids and another user's grant are not found.
		other := a.CreateUser(t, "other@example.com", pw)
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
		wantAsked(t, a, B, u.Email)
		if trustedCount(t, a, u.ID) != 0 || trustedCount(t, a, other.ID) != 1 {
			t.Fatal("revoke all: wrong grants left")
		}
	})
}

// TestTrustRevokedByPasswordReset: a reset forgets every trusted browser.
func TestTrustRevokedByPasswordReset(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		A := a.Client(t)
		trustBrowser(t, a, A, u.Email, secret)
		wantTrusted(t, a, A, u.Email)

		r := a.Client(t)
		want(t, "reset request", r.Post("/auth/password/forgot", url.Values{"email": {u.Email}}), http.StatusOK)
		link := apptest.Link(t, a.LastMail(t, u.Email), "/auth/password/reset")
		const newPW = "a brand new passphrase"
		wantRedirect(t, "reset", r.Post("/auth/password/reset", url.Values{"token": {apptest.TokenOf(link)}, "password": {newPW}}), "/auth/login?notice=reset")
		if n := trustedCount(t, a, u.ID); n != 0 {
			t.Fatalf("grants after reset: %d", n)
		}
		if A.Cookie(trustName) == "" {
			t.Fatal("test setup: the browser lost its cookie")
		}
		wantState(t, a, A, "anonymous", 0) // every session was revoked too
		res := A.Post("/auth/login", url.Values{"email": {u.Email}, "password": {newPW}})
		wantRedirect(t, "sign-in after reset", res, "/auth/mfa/challenge")
		wantState(t, a, A, "pending", 0)
	})
}

// TestTrustRevokedByDisable: turning MFA off forgets every trusted
// browser, so after enrolling again an old trust cookie is useless.
func TestTrustRevokedByDisable(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c0, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		A := a.Client(t)
		trustBrowser(t, a, A, u.Email, secret)
		trustBrowser(t, a, c0, u.Email, secret)

		res := c0.Post("/auth/mfa/disable", url.Values{"code": {code(t, a, secret)}})
		wantRedirect(t, "disable", res, "/auth/mfa?notice=mfa_disabled")
		cleared := false
		for _, ck := range res.Cookies() {
			cleared = cleared || (ck.Name == trustName && ck.MaxAge < 0)
		}
		if !cleared {
			t.Fatal("disable did not clear the browser's trust cookie")
		}
		if n := trustedCount(t, a, u.ID); n != 0 {
			t.Fatalf("grants after disable: %d", n)
		}
		// Without MFA a sign-in is one factor.
		wantRedirect(t, "sign-in without MFA", signInAgain(t, a, A, u.Email), "/")
		wantState(t, a, A, "authenticated", 1, "password")

		c1 := a.Client(t)
		c1.SignIn(u.Email, pw)
		secret2, _ := enroll(t, a, c1)
		if A.Cookie(trustName) == "" {
			t.Fatal("test setup: the browser lost its cookie")
		}
		wantAsked(t, a, A, u.Email)
		wantRedirect(t, "challenge with the new secret", A.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret2)}}), "/")
	})
}

// TestTrustNotOfferedOnStepUp: "trust this browser" belongs to sign-in; a
// step-up of a signed-in session does not create a grant.
func TestTrustNotOfferedOnStepUp(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		u := a.CreateUser(t, "user@example.com", pw)
		B := a.Client(t)
		B.SignIn(u.Email, pw) // AAL1, before enrollment
		A := a.Client(t)
		A.SignIn(u.Email, pw)
		secret, _ := enroll(t, a, A)

		res := B.Get("/auth/mfa/setup?return_to=%2Fsecure")
		want(t, "step-up page", res, http.StatusOK)
		if strings.Contains(res.Body, `name="trust"`) {
			t.Fatal("step-up page offers to trust the browser")
		}
		res = B.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}, "trust": {"on"}, "return_to": {"/secure"}})
		wantRedirect(t, "step-up", res, "/secure")
		if B.Cookie(trustName) != "" || trustedCount(t, a, u.ID) != 0 {
			t.Fatal("a step-up trusted the browser")
		}
	})
}

// forgetSpy is the MFA as account's second factor, counting ForgetTrust
// calls and, while fail is set, failing each one after the trust was
// forgotten: the step that follows it in the caller's transaction fails.
type forgetSpy struct {
	*mfa.MFA
	calls atomic.Int32
	fail  atomic.Bool
}

func (f *forgetSpy) ForgetTrust(ctx context.Context, userID string) error {
	f.calls.Add(1)
	if err := f.MFA.ForgetTrust(ctx, userID); err != nil {
		return err
	}
	if f.fail.Load() {
		return errors.New("a later step of the reset failed")
	}
	return nil
}

// TestResetForgetsTrustInItsTransaction: a password reset forgets the
// trusted browsers through ForgetTrust, inside the reset's transaction: a
// reset that rolls back leaves the trust (and the password) as they were.
func TestResetForgetsTrustInItsTransaction(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			spy := &forgetSpy{}
			a := newApp(t, options{backend: b, account: func(c *account.Config, m *mfa.MFA) {
				spy.MFA = m
				c.SecondFactor = spy
			}})
			_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
			A := a.Client(t)
			trustBrowser(t, a, A, u.Email, secret)

			r := a.Client(t)
			want(t, "reset request", r.Post("/auth/password/forgot", url.Values{"email": {u.Email}}), http.StatusOK)
			tok := apptest.TokenOf(apptest.Link(t, a.LastMail(t, u.Email), "/auth/password/reset"))
			const newPW = "a brand new passphrase"

			spy.fail.Store(true)
			res := r.Post("/auth/password/reset", url.Values{"token": {tok}, "password": {newPW}})
			want(t, "reset that fails", res, http.StatusInternalServerError)
			if n := spy.calls.Load(); n != 1 {
				t.Fatalf("ForgetTrust calls: got %d, want 1", n)
			}
			if n := trustedCount(t, a, u.ID); n != 1 {
				t.Fatalf("grants after a reset that rolled back: got %d, want 1", n)
			}
			wantTrusted(t, a, A, u.Email) // the old password, and no code asked

			spy.fail.Store(false)
			wantRedirect(t, "reset", r.Post("/auth/password/reset", url.Values{"token": {tok}, "password": {newPW}}), "/auth/login?notice=reset")
			if n := spy.calls.Load(); n != 2 {
				t.Fatalf("ForgetTrust calls: got %d, want 2", n)
			}
			if n := trustedCount(t, a, u.ID); n != 0 {
				t.Fatalf("grants after the reset: got %d, want 0", n)
			}
			wantRedirect(t, "sign-in after the reset", A.Post("/auth/login", url.Values{"email": {u.Email}, "password": {newPW}}), "/auth/mfa/challenge")
		})
	}
}
