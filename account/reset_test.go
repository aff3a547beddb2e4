package account_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/testapp"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// requestReset asks for a reset link for email and returns it.
func requestReset(t *testing.T, a *testapp.App, email string) string {
	t.Helper()
	res := a.Client().Post("/auth/password/forgot", form("email", email))
	wantStatus(t, "forgot", res, http.StatusOK)
	return a.Link(a.LastMail(email), "/auth/password/reset")
}

// TestResetEnumerationSafe: a reset request answers the same for a known
// and an unknown address; only the known one gets an email.
func TestResetEnumerationSafe(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		u := newUser(a, "user@example.com")
		known := a.Client().Post("/auth/password/forgot", form("email", "user@example.com"))
		unknown := a.Client().Post("/auth/password/forgot", form("email", "nobody@example.com"))
		if known.StatusCode != http.StatusOK || unknown.StatusCode != known.StatusCode || page(known.Body) != page(unknown.Body) {
			t.Errorf("HTML answers differ: known %d, unknown %d", known.StatusCode, unknown.StatusCode)
		}
		jk := a.Client().JSON("POST", "/auth/password/forgot", `{"email":"user@example.com"}`)
		ju := a.Client().JSON("POST", "/auth/password/forgot", `{"email":"nobody@example.com"}`)
		if jk.StatusCode != http.StatusOK || jk.StatusCode != ju.StatusCode || jk.Body != ju.Body {
			t.Errorf("JSON answers differ: known %d %s, unknown %d %s", jk.StatusCode, jk.Body, ju.StatusCode, ju.Body)
		}
		if n := mailCount(a, "user@example.com"); n != 2 {
			t.Errorf("known address got %d emails, want 2", n)
		}
		if n := mailCount(a, "nobody@example.com"); n != 0 {
			t.Errorf("unknown address got %d emails, want 0", n)
		}
		// One live link at a time: the second request replaced the first.
		if n := tokenCount(a, u.ID, store.PurposeReset); n != 1 {
			t.Errorf("got %d reset tokens, want 1", n)
		}
		wantAudit(t, a, audit.ActionPasswordResetRequest, u.ID, 2, auditWant{Subject: u.ID, Outcome: "success"})
	})
}

// TestResetRateLimitedPerAddress: the fourth request for one address
// within 15 minutes sends nothing and answers the same.
func TestResetRateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		newUser(a, "user@example.com")
		var first *testapp.Response
		for i := range 4 {
			res := a.Client().Post("/auth/password/forgot", form("email", "user@example.com"))
			if first == nil {
				first = res
			}
			if res.StatusCode != first.StatusCode || page(res.Body) != page(first.Body) {
				t.Errorf("request %d: got %d, want the same answer", i+1, res.StatusCode)
			}
		}
		if n := mailCount(a, "user@example.com"); n != 3 {
			t.Errorf("got %d emails, want 3", n)
		}
		// Other addresses are not affected, and the window ends.
		newUser(a, "other@example.com")
		requestReset(t, a, "other@example.com")
		a.Clock.Advance(15 * time.Minute)
		a.Client().Post("/auth/password/forgot", form("email", "user@example.com"))
		if n := mailCount(a, "user@example.com"); n != 4 {
			t.Errorf("got %d emails after the window, want 4", n)
		}
	})
}

// TestResetFlow: completing a reset sets the password without signing
// in, signs out every session, voids every outstanding token and trusted
// browser, and emails a notice; a second tab with the same link finds it
// expired and changes nothing.
func TestResetFlow(t *testing.T) {
	t.Parallel()
	h := &hooks{}
	each(t, testapp.Options{Hooks: hooksRecorder(h)}, func(t *testing.T, a *testapp.App) {
		u := newUser(a, "user@example.com")
		phone, laptop := signedIn(a, "user@example.com"), signedIn(a, "user@example.com")
		// An outstanding magic link and a trusted browser.
		a.Client().Post("/auth/magic", form("email", "user@example.com"))
		magic := a.Link(a.LastMail("user@example.com"), "/auth/magic/verify")
		if err := a.Store.CreateTrustedBrowser(ctx, &store.TrustedBrowser{UserID: u.ID, Digest: token.Digest("trusted-browser-token"), CreatedAt: a.Clock.Now(), ExpiresAt: a.Clock.Now().Add(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}

		link := requestReset(t, a, "user@example.com")
		tok := testapp.TokenOf(link)
		tab1, tab2 := a.Client(), a.Client()
		for _, c := range []*testapp.Client{tab1, tab2} {
			res := c.Get(link)
			wantStatus(t, "reset page", res, http.StatusOK)
			if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("reset page Referrer-Policy %q, want no-referrer", got)
			}
			if !strings.Contains(res.Body, `name="token" value="`+tok+`"`) {
				t.Errorf("reset page does not post the token:\n%s", res.Body)
			}
		}
		// Loading the page consumed nothing.
		if n := tokenCount(a, u.ID, store.PurposeReset); n != 1 {
			t.Fatalf("got %d reset tokens after GET, want 1", n)
		}

		res := tab1.Post("/auth/password/reset", form("token", tok, "password", "a brand new passphrase"))
		wantRedirect(t, "reset", res, "/auth/login?notice=reset")
		if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("reset answer Referrer-Policy %q, want no-referrer", got)
		}
		wantAnonymous(t, tab1)
		wantAnonymous(t, phone)
		wantAnonymous(t, laptop)
		if n := a.Count("sigra_sessions", "user_id = ? AND revoked_at IS NULL", u.ID); n != 0 {
			t.Errorf("got %d live sessions, want 0", n)
		}
		if n := tokenCount(a, u.ID, ""); n != 0 {
			t.Errorf("got %d outstanding tokens, want 0", n)
		}
		wantStatus(t, "earlier magic link", a.Client().Get(magic), http.StatusGone)
		if bs, err := a.Store.TrustedBrowsersByUser(ctx, u.ID, a.Clock.Now()); err != nil || len(bs) != 0 {
			t.Errorf("trusted browsers after reset: %d, %v", len(bs), err)
		}
		notice := a.LastMail("user@example.com")
		if !strings.Contains(notice.Subject, "password was reset") || !strings.Contains(notice.Text, "127.0.0.1") {
			t.Errorf("notice: %q\n%s", notice.Subject, notice.Text)
		}
		wantAudit(t, a, audit.ActionPasswordResetComplete, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success"})
		if !h.has("reset " + u.ID) {
			t.Error("AfterPasswordReset not called")
		}

		// The second tab: link expired, password unchanged by it.
		hash := a.User("user@example.com").PasswordHash
		res = tab2.Post("/auth/password/reset", form("token", tok, "password", "the second tab's passphrase"))
		wantStatus(t, "second tab", res, http.StatusGone)
		wantError(t, "second tab JSON", tab2.JSON("POST", "/auth/password/reset", jsonOf(map[string]string{"token": tok, "password": "the second tab's passphrase"})), http.StatusGone, "link_expired")
		if a.User("user@example.com").PasswordHash != hash {
			t.Fatal("the second tab changed the password")
		}
		wantAnonymous(t, tab2)
		wantError(t, "old password", loginJSON(a.Client(), "user@example.com", pw), http.StatusUnauthorized, "invalid_credentials")
		a.Client().SignIn("user@example.com", "a brand new passphrase")
	})
}

// TestResetSignedInBrowser: a browser signed in as the user that completes
// the reset is signed out too.
func TestResetSignedInBrowser(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		newUser(a, "user@example.com")
		c := signedIn(a, "user@example.com")
		link := requestReset(t, a, "user@example.com")
		wantRedirect(t, "reset", c.Post("/auth/password/reset", form("token", testapp.TokenOf(link), "password", "a brand new passphrase")), "/auth/login?notice=reset")
		wantAnonymous(t, c)
	})
}

// TestResetTTL: the link lives one hour.
func TestResetTTL(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		newUser(a, "a@example.com")
		newUser(a, "b@example.com")
		la, lb := requestReset(t, a, "a@example.com"), requestReset(t, a, "b@example.com")
		a.Clock.Advance(time.Hour - ms)
		c := a.Client()
		wantStatus(t, "page before expiry", c.Get(la), http.StatusOK)
		wantRedirect(t, "reset before expiry", c.Post("/auth/password/reset", form("token", testapp.TokenOf(la), "password", "a brand new passphrase")), "/auth/login?notice=reset")
		a.Clock.Advance(ms)
		wantStatus(t, "page at expiry", c.Get(lb), http.StatusGone)
		hash := a.User("b@example.com").PasswordHash
		wantStatus(t, "reset at expiry", c.Post("/auth/password/reset", form("token", testapp.TokenOf(lb), "password", "a brand new passphrase")), http.StatusGone)
		if a.User("b@example.com").PasswordHash != hash {
			t.Error("an expired link changed the password")
		}
	})
}

// TestResetWhileLockedOut: a reset works during a lockout and ends it, so
// a lockout cannot keep the owner out.
func TestResetWhileLockedOut(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		newUser(a, "user@example.com")
		for range 5 {
			loginJSON(a.Client(), "user@example.com", "wrong password")
		}
		if !a.User("user@example.com").LockedUntil.After(a.Clock.Now()) {
			t.Fatal("not locked")
		}
		link := requestReset(t, a, "user@example.com")
		c := a.Client()
		wantRedirect(t, "reset while locked", c.Post("/auth/password/reset", form("token", testapp.TokenOf(link), "password", "a brand new passphrase")), "/auth/login?notice=reset")
		if u := a.User("user@example.com"); !u.LockedUntil.IsZero() || u.FailedLogins != 0 {
			t.Errorf("lockout not cleared: LockedUntil %v FailedLogins %d", u.LockedUntil, u.FailedLogins)
		}
		c.SignIn("user@example.com", "a brand new passphrase")
		wantSignedIn(t, c, "user@example.com")
	})
}

// TestResetWeakPassword: a refused password keeps the link usable and
// shows the reason at the field.
func TestResetWeakPassword(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		newUser(a, "user@example.com")
		link := requestReset(t, a, "user@example.com")
		tok := testapp.TokenOf(link)
		c := a.Client()
		res := c.Post("/auth/password/reset", form("token", tok, "password", "short"))
		wantStatus(t, "weak password", res, http.StatusUnprocessableEntity)
		if !strings.Contains(res.Body, `id="password-error"`) || !strings.Contains(res.Body, `name="token" value="`+tok+`"`) {
			t.Errorf("weak password page lacks the field error or the token:\n%s", res.Body)
		}
		fields := wantError(t, "weak password JSON", c.JSON("POST", "/auth/password/reset", jsonOf(map[string]string{"token": tok, "password": "short"})), http.StatusUnprocessableEntity, "weak_password:too_short")
		if fields["password"] == "" {
			t.Error("no fields.password")
		}
		wantRedirect(t, "reset", c.Post("/auth/password/reset", form("token", tok, "password", "a brand new passphrase")), "/auth/login?notice=reset")
	})
}
