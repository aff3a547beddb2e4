package account_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
)

// requestReset asks for a reset link for email and returns it.
func requestReset(t *testing.T, a *app, email string) string {
	t.Helper()
	res := a.Client(t).Post("/auth/password/forgot", form("email", email))
	wantStatus(t, "forgot", res, http.StatusOK)
	return apptest.Link(t, a.LastMail(t, email), "/auth/password/reset")
}

// TestResetEnumerationSafe: a reset request answers the same for a known
// and an unknown address; only the known one gets an email.
func TestResetEnumerationSafe(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		known := a.Client(t).Post("/auth/password/forgot", form("email", "user@example.com"))
		unknown := a.Client(t).Post("/auth/password/forgot", form("email", "nobody@example.com"))
		if known.StatusCode != http.StatusOK || unknown.StatusCode != known.StatusCode || page(known.Body) != page(unknown.Body) {
			t.Errorf("HTML: got known %d, unknown %d, want 200 and the same page", known.StatusCode, unknown.StatusCode)
		}
		jk := a.Client(t).JSON("POST", "/auth/password/forgot", `{"email":"user@example.com"}`)
		ju := a.Client(t).JSON("POST", "/auth/password/forgot", `{"email":"nobody@example.com"}`)
		if jk.StatusCode != http.StatusOK || jk.StatusCode != ju.StatusCode || jk.Body != ju.Body {
			t.Errorf("JSON: got known %d %s, unknown %d %s, want 200 and the same body", jk.StatusCode, jk.Body, ju.StatusCode, ju.Body)
		}
		if n := mailCount(t, a, "user@example.com"); n != 2 {
			t.Errorf("known address got %d emails, want 2", n)
		}
		if n := mailCount(t, a, "nobody@example.com"); n != 0 {
			t.Errorf("unknown address got %d emails, want 0", n)
		}
		// One live link at a time: the second request replaced the first.
		if n := tokenCount(t, a, u.ID, store.PurposeReset); n != 1 {
			t.Errorf("got %d reset tokens, want 1", n)
		}
		wantAudit(t, a, audit.ActionPasswordResetRequest, u.ID, 2, auditWant{Subject: u.ID, Outcome: "success"})
	})
}

// TestResetRateLimitedPerAddress: the fourth request for one address
// within 15 minutes sends nothing and answers the same.
func TestResetRateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		var first *apptest.Response
		for i := range 4 {
			res := a.Client(t).Post("/auth/password/forgot", form("email", "user@example.com"))
			if first == nil {
				first = res
			}
			if res.StatusCode != first.StatusCode || page(res.Body) != page(first.Body) {
				t.Errorf("request %d: got %d, want the same answer", i+1, res.StatusCode)
			}
		}
		if n := mailCount(t, a, "user@example.com"); n != 3 {
			t.Errorf("got %d emails, want 3", n)
		}
		// Other addresses are not affected, and the window ends.
		newUser(t, a, "other@example.com")
		requestReset(t, a, "other@example.com")
		a.Clock.Advance(15 * time.Minute)
		a.Client(t).Post("/auth/password/forgot", form("email", "user@example.com"))
		if n := mailCount(t, a, "user@example.com"); n != 4 {
			t.Errorf("got %d emails after the window, want 4", n)
		}
	})
}

// TestResetFlow: completing a reset sets the password without signing
// in, signs out every session, voids every outstanding token, has the
// second factor forget the trusted browsers (in the reset's transaction)
// and emails a notice; a second tab with the same link finds it expired
// and changes nothing; the next sign-in still asks for the second factor.
func TestResetFlow(t *testing.T) {
	t.Parallel()
	each(t, opts{Second: true}, func(t *testing.T, a *app) {
		h := a.Hooks
		u := newUser(t, a, "user@example.com")
		// A second factor, skipped on trusted browsers.
		a.Second.enroll(u.ID, "424242")
		a.Second.trust(u.ID)
		phone, laptop := signedIn(t, a, "user@example.com"), signedIn(t, a, "user@example.com")
		wantSignedIn(t, phone, "user@example.com")
		// An outstanding magic link.
		a.Client(t).Post("/auth/magic", form("email", "user@example.com"))
		magic := apptest.Link(t, a.LastMail(t, "user@example.com"), "/auth/magic/verify")

		link := requestReset(t, a, "user@example.com")
		tok := apptest.TokenOf(link)
		tab1, tab2 := a.Client(t), a.Client(t)
		for _, c := range []*apptest.Client{tab1, tab2} {
			res := c.Get(link)
			wantStatus(t, "reset page", res, http.StatusOK)
			if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("reset page Referrer-Policy %q, want no-referrer", got)
			}
			if !strings.Contains(res.Body, `name="token" value="`+tok+`"`) {
				t.Errorf("reset page: got no token field, want one:\n%s", res.Body)
			}
		}
		// Loading the page consumed nothing.
		if n := tokenCount(t, a, u.ID, store.PurposeReset); n != 1 {
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
		if n := a.Count(t, "sigra_sessions", "user_id = ? AND revoked_at IS NULL", u.ID); n != 0 {
			t.Errorf("got %d live sessions, want 0", n)
		}
		if n := tokenCount(t, a, u.ID, ""); n != 0 {
			t.Errorf("got %d outstanding tokens, want 0", n)
		}
		wantStatus(t, "earlier magic link", a.Client(t).Get(magic), http.StatusGone)
		if got := a.Second.recorded("ForgetTrust"); !slices.Equal(got, []string{"ForgetTrust " + u.ID}) {
			t.Errorf("ForgetTrust calls: got %q, want one for the user", got)
		}
		if a.Second.isTrusted(u.ID) {
			t.Error("after the reset: got the browser still trusted, want the trust forgotten")
		}
		notice := a.LastMail(t, "user@example.com")
		if !strings.Contains(notice.Subject, "password was reset") || !strings.Contains(notice.Text, "127.0.0.1") {
			t.Errorf("notice: got %q\n%s\nwant the reset notice with the request's address", notice.Subject, notice.Text)
		}
		wantAudit(t, a, audit.ActionPasswordResetComplete, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success"})
		if !h.has("reset " + u.ID) {
			t.Error("got no AfterPasswordReset call, want one")
		}

		// The second tab: link expired, password unchanged by it.
		hash := a.User(t, "user@example.com").PasswordHash
		res = tab2.Post("/auth/password/reset", form("token", tok, "password", "the second tab's passphrase"))
		wantStatus(t, "second tab", res, http.StatusGone)
		wantError(t, "second tab JSON", tab2.JSON("POST", "/auth/password/reset", jsonOf(map[string]string{"token": tok, "password": "the second tab's passphrase"})), http.StatusGone, "link_expired")
		if a.User(t, "user@example.com").PasswordHash != hash {
			t.Fatal("second tab: got the password changed, want it kept")
		}
		wantAnonymous(t, tab2)
		wantError(t, "old password", loginJSON(a.Client(t), "user@example.com", pw), http.StatusUnauthorized, "invalid_credentials")
		// The new password passes the first factor only: the reset did not
		// bypass the second.
		c := a.Client(t)
		wantRedirect(t, "sign in after the reset", c.Post("/auth/login", form("email", "user@example.com", "password", "a brand new passphrase")), "/auth/mfa/challenge")
		if state, _ := whoami(c); state != "pending" {
			t.Errorf("sign-in after the reset: got state %q, want pending", state)
		}
	})
}

// TestResetSignedInBrowser: a browser signed in as the user that completes
// the reset is signed out too.
func TestResetSignedInBrowser(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")
		link := requestReset(t, a, "user@example.com")
		wantRedirect(t, "reset", c.Post("/auth/password/reset", form("token", apptest.TokenOf(link), "password", "a brand new passphrase")), "/auth/login?notice=reset")
		wantAnonymous(t, c)
	})
}

// TestResetTTL: the link lives one hour.
func TestResetTTL(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "a@example.com")
		newUser(t, a, "b@example.com")
		la, lb := requestReset(t, a, "a@example.com"), requestReset(t, a, "b@example.com")
		a.Clock.Advance(time.Hour - ms)
		c := a.Client(t)
		wantStatus(t, "page before expiry", c.Get(la), http.StatusOK)
		wantRedirect(t, "reset before expiry", c.Post("/auth/password/reset", form("token", apptest.TokenOf(la), "password", "a brand new passphrase")), "/auth/login?notice=reset")
		a.Clock.Advance(ms)
		wantStatus(t, "page at expiry", c.Get(lb), http.StatusGone)
		hash := a.User(t, "b@example.com").PasswordHash
		wantStatus(t, "reset at expiry", c.Post("/auth/password/reset", form("token", apptest.TokenOf(lb), "password", "a brand new passphrase")), http.StatusGone)
		if a.User(t, "b@example.com").PasswordHash != hash {
			t.Error("expired link: got the password changed, want it kept")
		}
	})
}

// TestResetWhileLockedOut: a reset works during a lockout and ends it, so
// a lockout cannot keep the owner out.
func TestResetWhileLockedOut(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		for range 5 {
			loginJSON(a.Client(t), "user@example.com", "wrong password")
		}
		a.Flush(t)
		if !a.User(t, "user@example.com").LockedUntil.After(a.Clock.Now()) {
			t.Fatal("after 5 wrong passwords: got no lock, want one")
		}
		link := requestReset(t, a, "user@example.com")
		c := a.Client(t)
		wantRedirect(t, "reset while locked", c.Post("/auth/password/reset", form("token", apptest.TokenOf(link), "password", "a brand new passphrase")), "/auth/login?notice=reset")
		if u := a.User(t, "user@example.com"); !u.LockedUntil.IsZero() || u.FailedLogins != 0 {
			t.Errorf("after the reset: got LockedUntil %v FailedLogins %d, want both cleared", u.LockedUntil, u.FailedLogins)
		}
		c.SignIn("user@example.com", "a brand new passphrase")
		wantSignedIn(t, c, "user@example.com")
	})
}

// TestResetWeakPassword: a refused password keeps the link usable and
// shows the reason at the field.
func TestResetWeakPassword(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		link := requestReset(t, a, "user@example.com")
		tok := apptest.TokenOf(link)
		c := a.Client(t)
		res := c.Post("/auth/password/reset", form("token", tok, "password", "short"))
		wantStatus(t, "weak password", res, http.StatusUnprocessableEntity)
		if !strings.Contains(res.Body, `id="password-error"`) || !strings.Contains(res.Body, `name="token" value="`+tok+`"`) {
			t.Errorf("weak password: got a page without the field error or the token, want both:\n%s", res.Body)
		}
		fields := wantError(t, "weak password JSON", c.JSON("POST", "/auth/password/reset", jsonOf(map[string]string{"token": tok, "password": "short"})), http.StatusUnprocessableEntity, "weak_password:too_short")
		if fields["password"] == "" {
			t.Errorf("weak password JSON: got fields %v, want fields.password", fields)
		}
		wantRedirect(t, "reset", c.Post("/auth/password/reset", form("token", tok, "password", "a brand new passphrase")), "/auth/login?notice=reset")
	})
}

// TestResetRollsBackWithForgetTrust: when the second factor cannot forget
// the trusted browsers, the reset does not happen at all: the password,
// the sessions and the link stay, and the link works once it can.
func TestResetRollsBackWithForgetTrust(t *testing.T) {
	t.Parallel()
	each(t, opts{Second: true}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		a.Second.enroll(u.ID, "424242")
		a.Second.trust(u.ID)
		c := signedIn(t, a, "user@example.com")
		link := requestReset(t, a, "user@example.com")
		mails := mailCount(t, a, "user@example.com")
		before := snapshot(t, a, "user@example.com")

		a.Second.setFailForget(true)
		body := jsonOf(map[string]string{"token": apptest.TokenOf(link), "password": "a brand new passphrase"})
		wantError(t, "reset while the second factor fails", a.Client(t).JSON("POST", "/auth/password/reset", body), http.StatusInternalServerError, "internal")
		wantUnchanged(t, "reset while the second factor fails", a, before, "user@example.com")
		wantSignedIn(t, c, "user@example.com")
		if n := mailCount(t, a, "user@example.com"); n != mails {
			t.Errorf("got %d emails, want %d: the notice went out without the reset", n, mails)
		}
		wantAudit(t, a, audit.ActionPasswordResetComplete, u.ID, 0, auditWant{})
		if !a.Second.isTrusted(u.ID) {
			t.Error("failed ForgetTrust: got the trust forgotten, want it kept")
		}

		a.Second.setFailForget(false)
		res := a.Client(t).JSON("POST", "/auth/password/reset", body)
		if d := decode(t, res); res.StatusCode != http.StatusOK || !d.OK {
			t.Fatalf("reset once the second factor works: got %d %s, want 200 ok", res.StatusCode, res.Body)
		}
		wantAnonymous(t, c)
		if a.Second.isTrusted(u.ID) {
			t.Error("after the reset: got the browser still trusted, want the trust forgotten")
		}
	})
}

// TestEmailRequestLimits: a request that emails an address (a reset, a
// magic link, a confirmation resent) counts the client's address, then
// the recipient's, together. The client's limit refuses with 429 and
// counts nothing for the recipient; the recipient's answers as if the
// email went, and sends nothing. On PostgreSQL a refused request writes
// one statement: both limits in one (the two counted one by one took two).
func TestEmailRequestLimits(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/auth/password/forgot", "/auth/magic", "/auth/confirm/resend"} {
		t.Run(strings.TrimPrefix(path, "/auth/"), func(t *testing.T) {
			t.Parallel()
			config := func(_ *apptest.App, c *account.Config) {
				c.Limits.EmailPerIP = middleware.Limit{N: 3, Window: time.Hour}
				c.Limits.EmailPerAddress = middleware.Limit{N: 1, Window: time.Hour}
			}
			each(t, opts{Config: config}, func(t *testing.T, a *app) {
				c := a.Client(t)
				first := c.Post(path, form("email", "a@example.com"))
				if first.StatusCode >= 400 {
					t.Fatalf("first request: got %d", first.StatusCode)
				}
				w0 := a.Writes(t)
				again := c.Post(path, form("email", "a@example.com"))
				if again.StatusCode != first.StatusCode || again.Header.Get("Location") != first.Header.Get("Location") || page(again.Body) != page(first.Body) {
					t.Errorf("the recipient's limit: got %d, want the first request's answer %d", again.StatusCode, first.StatusCode)
				}
				if w := a.Writes(t) - w0; a.Backend == "postgres" && w != 1 {
					t.Errorf("the recipient's limit: %d statements that change rows, want 1", w)
				}
				c.Post(path, form("email", "b@example.com"))
				w0 = a.Writes(t)
				wantError(t, "the client's limit", c.JSON("POST", path, `{"email":"c@example.com"}`), http.StatusTooManyRequests, "rate_limited")
				if w := a.Writes(t) - w0; a.Backend == "postgres" && w != 1 {
					t.Errorf("the client's limit: %d statements that change rows, want 1", w)
				}
				if got := limitCount(t, a, "email-addr:c@example.com"); got != 0 {
					t.Errorf("the recipient of a refused request: counted %d times, want 0", got)
				}
				if got := limitCount(t, a, "email-addr:a@example.com"); got != 2 {
					t.Errorf("a@example.com: counted %d times, want 2", got)
				}
			})
		})
	}
}
