package account_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// TestEmailChange: the new address gets a confirmation link and is
// reserved meanwhile; the old one gets a notice; confirming switches the
// address (confirmed) and voids tokens sent to the old one.
func TestEmailChange(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		h := a.Hooks
		u := newUser(t, a, "old@example.com")
		c := signedIn(t, a, "old@example.com")
		oldReset := requestReset(t, a, "old@example.com")

		res := c.Post("/auth/email", form("email", "new@example.com"))
		wantRedirect(t, "email change", res, "/auth/settings?notice=email_sent")
		confirm := a.LastMail(t, "new@example.com")
		link := apptest.Link(t, confirm, "/auth/email/confirm")
		if !strings.Contains(confirm.Subject, "Confirm your new email") {
			t.Errorf("new address: got %q, want the confirmation of the new address", confirm.Subject)
		}
		notice := a.LastMail(t, "old@example.com")
		if !strings.Contains(notice.Subject, "is changing") || !strings.Contains(notice.Text, "new@example.com") || !strings.Contains(notice.Text, "127.0.0.1") {
			t.Errorf("old address: got %q\n%s\nwant the change notice naming the new address and the request's address", notice.Subject, notice.Text)
		}
		if pending, _, err := a.Store.EmailReservation(ctx, u.ID, a.Clock.Now()); err != nil || pending != "new@example.com" {
			t.Fatalf("reservation: got %q, %v; want new@example.com", pending, err)
		}
		settings := c.JSON("GET", "/auth/settings", "")
		if !strings.Contains(settings.Body, `"pending":"new@example.com"`) {
			t.Errorf("settings JSON: got %s, want the pending address in the email section", settings.Body)
		}
		if page := c.Get("/auth/settings"); !strings.Contains(page.Body, "Waiting for you to confirm <strong>new@example.com</strong>") || !strings.Contains(page.Body, `action="/auth/email/cancel"`) {
			t.Errorf("settings page: got no pending address with a cancel button:\n%s", page.Body)
		}
		wantAudit(t, a, audit.ActionEmailChangeRequest, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})

		// The reserved address cannot be registered, and the attempt looks
		// like any registration.
		fresh := a.Client(t).Post("/auth/register", form("email", "fresh@example.com", "password", pw))
		reserved := a.Client(t).Post("/auth/register", form("email", "new@example.com", "password", pw))
		if reserved.StatusCode != fresh.StatusCode || page(reserved.Body) != page(fresh.Body) {
			t.Errorf("registering the reserved address: got %d, want the same answer as a fresh one", reserved.StatusCode)
		}
		if n := a.Count(t, "sigra_users", "email_norm = ?", "new@example.com"); n != 0 {
			t.Fatalf("reserved address: got %d accounts, want none", n)
		}
		if n := mailCount(t, a, "new@example.com"); n != 1 {
			t.Errorf("reserved address got %d emails, want only the confirmation", n)
		}

		// GET shows the confirm button and changes nothing.
		before := snapshot(t, a, "old@example.com")
		page := a.Client(t).Get(link)
		wantStatus(t, "confirm page", page, http.StatusOK)
		if !strings.Contains(page.Body, "new@example.com") || page.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("confirm page: got it without the new address or Referrer-Policy no-referrer, want both:\n%s", page.Body)
		}
		wantUnchanged(t, "GET of the email change link", a, before, "old@example.com")

		a.Clock.Advance(time.Minute)
		wantRedirect(t, "confirm", c.Post("/auth/email/confirm", form("token", apptest.TokenOf(link))), "/auth/settings?notice=email_changed")
		got := a.User(t, "new@example.com")
		if got.ID != u.ID || !got.EmailConfirmedAt.Equal(a.Clock.Now()) {
			t.Errorf("after the change: got %+v, want user %s confirmed now", got, u.ID)
		}
		if _, err := a.Store.UserByEmail(ctx, "old@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old address: got UserByEmail %v, want not found", err)
		}
		if _, _, err := a.Store.EmailReservation(ctx, u.ID, a.Clock.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after the change: got reservation lookup %v, want not found", err)
		}
		if n := mailCount(t, a, "old@example.com"); n != 3 {
			t.Errorf("old address got %d emails, want 3 (reset link, change notice, completion notice)", n)
		}
		wantSignedIn(t, c, "new@example.com")
		// The reset link sent to the old address no longer works.
		wantStatus(t, "old reset link", a.Client(t).Get(oldReset), http.StatusGone)
		// The link is spent.
		wantStatus(t, "used link", a.Client(t).Post("/auth/email/confirm", form("token", apptest.TokenOf(link))), http.StatusGone)
		wantAudit(t, a, audit.ActionEmailChangeComplete, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})
		if !h.has("email " + u.ID + " old@example.com->new@example.com") {
			t.Errorf("got hook calls %q, want AfterEmailChange from the old address to the new", h.list())
		}
		// The old address is free again.
		wantStatus(t, "register the old address", a.Client(t).Post("/auth/register", form("email", "old@example.com", "password", pw)), http.StatusOK)
		if n := a.Count(t, "sigra_users", "email_norm = ?", "old@example.com"); n != 1 {
			t.Errorf("registering the old address again: got %d accounts, want 1", n)
		}
	})
}

// TestEmailChangeRequiresSudo: without a recent re-authentication the
// change is refused (HTML: sent to the sudo page; JSON: 403
// sudo_required) and nothing happens; after sudo it works.
func TestEmailChangeRequiresSudo(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")
		a.Clock.Advance(10*time.Minute + time.Second)
		before := snapshot(t, a, "user@example.com")
		res := c.Do("POST", "/auth/email", http.Header{
			"Content-Type":   {"application/x-www-form-urlencoded"},
			"Origin":         {a.Server.URL},
			"Sec-Fetch-Site": {"same-origin"},
			"Referer":        {a.Server.URL + "/auth/settings"},
		}, strings.NewReader(form("email", "new@example.com", "csrf_token", c.CSRF()).Encode()))
		wantRedirect(t, "stale sudo", res, "/auth/sudo?return_to=%2Fauth%2Fsettings")
		wantError(t, "stale sudo JSON", c.JSON("POST", "/auth/email", `{"email":"new@example.com"}`), http.StatusForbidden, "sudo_required")
		wantUnchanged(t, "email change without sudo", a, before, "user@example.com")
		if n := mailCount(t, a, "new@example.com"); n != 0 {
			t.Errorf("got %d emails, want 0", n)
		}

		// Re-authenticate and come back.
		page := c.Get("/auth/sudo?return_to=%2Fauth%2Fsettings")
		wantStatus(t, "sudo page", page, http.StatusOK)
		if !strings.Contains(page.Body, `name="return_to" value="/auth/settings"`) {
			t.Errorf("sudo page: got no return_to field, want one:\n%s", page.Body)
		}
		wantRedirect(t, "sudo", c.Post("/auth/sudo", form("password", pw, "return_to", "/auth/settings")), "/auth/settings")
		wantAudit(t, a, audit.ActionSudo, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success", Metadata: map[string]string{"method": "password"}})
		wantRedirect(t, "email change after sudo", c.Post("/auth/email", form("email", "new@example.com")), "/auth/settings?notice=email_sent")
	})
}

// TestEmailChangeCancel: cancelling drops the reservation and the link.
func TestEmailChangeCancel(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")
		c.Post("/auth/email", form("email", "new@example.com"))
		link := apptest.Link(t, a.LastMail(t, "new@example.com"), "/auth/email/confirm")
		wantRedirect(t, "cancel", c.Post("/auth/email/cancel", nil), "/auth/settings?notice=email_cancelled")
		if _, _, err := a.Store.EmailReservation(ctx, u.ID, a.Clock.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after cancel: got reservation lookup %v, want not found", err)
		}
		wantStatus(t, "cancelled link", a.Client(t).Post("/auth/email/confirm", form("token", apptest.TokenOf(link))), http.StatusGone)
		if a.User(t, "user@example.com").ID != u.ID {
			t.Error("after cancel: got the address changed, want it kept")
		}
		wantAudit(t, a, audit.ActionEmailChangeCancel, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})
		// The address is free for others.
		a.Client(t).Post("/auth/register", form("email", "new@example.com", "password", pw))
		if n := a.Count(t, "sigra_users", "email_norm = ?", "new@example.com"); n != 1 {
			t.Errorf("registering the released address: got %d accounts, want 1", n)
		}
	})
}

// TestEmailChangeTakenAddress: asking for another account's address
// answers the same, reserves nothing and sends nothing.
func TestEmailChangeTakenAddress(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		other := newUser(t, a, "other@example.com")
		c := signedIn(t, a, "user@example.com")
		before := snapshot(t, a, "user@example.com", "other@example.com")
		res := c.Post("/auth/email", form("email", "OTHER@example.com"))
		wantRedirect(t, "taken address", res, "/auth/settings?notice=email_sent")
		j := c.JSON("POST", "/auth/email", `{"email":"other@example.com"}`)
		if d := decode(t, j); j.StatusCode != http.StatusOK || !d.OK || d.Next != "/auth/settings?notice=email_sent" {
			t.Errorf("JSON taken address: got %d %s, want ok and next /auth/settings?notice=email_sent", j.StatusCode, j.Body)
		}
		wantUnchanged(t, "change to a taken address", a, before, "user@example.com", "other@example.com")
		if n := mailCount(t, a, "other@example.com") + mailCount(t, a, "user@example.com"); n != 0 {
			t.Errorf("got %d emails, want none", n)
		}
		if a.User(t, "other@example.com").ID != other.ID {
			t.Error("got the other account changed, want it kept")
		}
	})
}

// TestEmailReservationExpires: a reservation lasts as long as its link (24
// hours, on the application's clock); then the address can be registered.
func TestEmailReservationExpires(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")
		c.Post("/auth/email", form("email", "new@example.com"))
		link := apptest.Link(t, a.LastMail(t, "new@example.com"), "/auth/email/confirm")
		a.Clock.Advance(24 * time.Hour)
		wantStatus(t, "expired link", a.Client(t).Get(link), http.StatusGone)
		a.Client(t).Post("/auth/register", form("email", "new@example.com", "password", pw))
		if n := a.Count(t, "sigra_users", "email_norm = ?", "new@example.com"); n != 1 {
			t.Fatalf("registering after the reservation expired: got %d accounts, want 1", n)
		}
	})
}

// TestPasswordChange: the current password is required; this session
// stays (with a new token), every other one ends, a notice goes out; a
// wrong current password counts toward the lockout.
func TestPasswordChange(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		c, other := signedIn(t, a, "user@example.com"), signedIn(t, a, "user@example.com")
		tok := c.Cookie(sessionCookie)

		// Missing current password: refused, not counted.
		before := snapshot(t, a, "user@example.com")
		fields := wantError(t, "missing current password", c.JSON("POST", "/auth/password", `{"password":"a brand new passphrase"}`), http.StatusUnprocessableEntity, "invalid_input")
		if fields["current_password"] == "" {
			t.Errorf("fields %v, want current_password", fields)
		}
		wantUnchanged(t, "missing current password", a, before, "user@example.com")

		// Wrong current password: refused at the field, counted.
		res := c.Post("/auth/password", form("current_password", "wrong password", "password", "a brand new passphrase"))
		wantStatus(t, "wrong current password", res, http.StatusUnauthorized)
		if !strings.Contains(res.Body, `id="current_password-error"`) {
			t.Errorf("wrong current password: got no error at the field, want one:\n%s", res.Body)
		}
		if got := a.User(t, "user@example.com"); attempts(t, a, "user@example.com") != 1 || got.PasswordHash != u.PasswordHash {
			t.Errorf("after a wrong current password: got %d password attempts, hash changed %v; want 1 and unchanged", attempts(t, a, "user@example.com"), got.PasswordHash != u.PasswordHash)
		}
		wantAudit(t, a, audit.ActionPasswordChange, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "failure", Metadata: map[string]string{"reason": "bad_password"}})
		// Weak new password.
		wantError(t, "weak new password", c.JSON("POST", "/auth/password", jsonOf(map[string]string{"current_password": pw, "password": "short"})), http.StatusUnprocessableEntity, "weak_password:too_short")

		res = c.Post("/auth/password", form("current_password", pw, "password", "a brand new passphrase"))
		wantRedirect(t, "password change", res, "/auth/settings?notice=password_changed")
		wantSignedIn(t, c, "user@example.com")
		if nt := c.Cookie(sessionCookie); nt == tok {
			t.Error("password change: got the same session token, want a new one")
		}
		wantAnonymous(t, replay(t, a, tok))
		wantAnonymous(t, other)
		if n := a.Count(t, "sigra_sessions", "user_id = ? AND revoked_at IS NULL", u.ID); n != 1 {
			t.Errorf("got %d live sessions, want 1", n)
		}
		if got := a.User(t, "user@example.com"); got.FailedLogins != 0 {
			t.Errorf("FailedLogins %d after a success, want 0", got.FailedLogins)
		}
		m := a.LastMail(t, "user@example.com")
		if !strings.Contains(m.Subject, "password was changed") || !strings.Contains(m.Text, a.URL+"/auth/password/forgot") {
			t.Errorf("notice: got %q\n%s\nwant the password-changed notice linking to the reset page", m.Subject, m.Text)
		}
		wantAudit(t, a, audit.ActionPasswordChange, u.ID, 2, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})
		wantError(t, "old password", loginJSON(a.Client(t), "user@example.com", pw), http.StatusUnauthorized, "invalid_credentials")
		a.Client(t).SignIn("user@example.com", "a brand new passphrase")

		// Five wrong current passwords lock password sign-in.
		for range 5 {
			c.JSON("POST", "/auth/password", jsonOf(map[string]string{"current_password": "wrong password", "password": "another new passphrase"}))
		}
		if got := a.User(t, "user@example.com"); !got.LockedUntil.After(a.Clock.Now()) {
			t.Error("after 5 wrong current passwords: got no lock, want one")
		}
		wantAudit(t, a, audit.ActionLockout, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success"})
		wantError(t, "right password while locked", c.JSON("POST", "/auth/password", jsonOf(map[string]string{"current_password": "a brand new passphrase", "password": "another new passphrase"})),
			http.StatusUnauthorized, "invalid_credentials")
	})
}

// TestSudo: a wrong password is refused; the right one sets the sudo time,
// renews the token and returns to a local return_to only.
func TestSudo(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")
		a.Clock.Advance(11 * time.Minute)
		wantRedirect(t, "guarded page", c.Get("/billing"), "/auth/sudo?return_to=%2Fbilling")

		res := c.Post("/auth/sudo", form("password", "wrong password", "return_to", "/billing"))
		wantStatus(t, "wrong password", res, http.StatusUnauthorized)
		if !strings.Contains(res.Body, `id="password-error"`) {
			t.Errorf("wrong password: got no error at the password field, want one:\n%s", res.Body)
		}
		wantRedirect(t, "still guarded", c.Get("/billing"), "/auth/sudo?return_to=%2Fbilling")
		wantAudit(t, a, audit.ActionSudo, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "failure", Metadata: map[string]string{"method": "password"}})
		if got := attempts(t, a, "user@example.com"); got != 1 {
			t.Errorf("password attempts %d, want 1", got)
		}

		tok := c.Cookie(sessionCookie)
		wantRedirect(t, "sudo", c.Post("/auth/sudo", form("password", pw, "return_to", "/billing")), "/billing")
		if c.Cookie(sessionCookie) == tok {
			t.Error("sudo: got the same session token, want a new one")
		}
		wantAnonymous(t, replay(t, a, tok))
		if res := c.Get("/billing"); res.StatusCode != http.StatusOK || res.Body != "billing" {
			t.Errorf("guarded page after sudo: got %d %q, want 200 \"billing\"", res.StatusCode, res.Body)
		}
		if got := a.User(t, "user@example.com").FailedLogins; got != 0 {
			t.Errorf("FailedLogins %d after sudo, want 0", got)
		}
		// A foreign return_to lands on the settings page.
		wantRedirect(t, "foreign return_to", c.Post("/auth/sudo", form("password", pw, "return_to", "//evil.example/")), "/auth/settings")
		j := c.JSON("POST", "/auth/sudo", jsonOf(map[string]string{"password": pw, "return_to": "/billing"}))
		if d := decode(t, j); !d.OK || d.Next != "/billing" {
			t.Errorf("JSON sudo: got %s, want ok and next /billing", j.Body)
		}
		wantError(t, "JSON wrong password", c.JSON("POST", "/auth/sudo", `{"password":"nope nope nope"}`), http.StatusUnauthorized, "invalid_credentials")
		// Anonymous: sent to sign in.
		wantRedirect(t, "anonymous sudo", a.Client(t).Post("/auth/sudo", form("password", pw)), "/auth/login")
	})
}

// TestSudoLimit: every re-authentication counts against the sudo limit
// before it is checked, by password or by code, and one it refuses checks
// nothing and takes no password attempt place. With a password, the limit
// and the place are counted together: over the store (a
// store.SequenceLimiter) one write, on PostgreSQL one statement. Once the
// limit's window has passed, the right password re-authenticates.
func TestSudoLimit(t *testing.T) {
	t.Parallel()
	limiters := []struct {
		name string
		set  func(t *testing.T, a *apptest.App, c *account.Config)
		// writes is how many statements that change rows a wrong password
		// sends on PostgreSQL: the limit and the place, then the audit row.
		writes int64
	}{
		{"store", func(*testing.T, *apptest.App, *account.Config) {}, 2},
		{"memory", func(t *testing.T, a *apptest.App, c *account.Config) {
			rl, err := middleware.NewRateLimiter(a.Site, middleware.RateLimiterConfig{Limiter: middleware.NewMemoryLimiter(0)})
			if err != nil {
				t.Fatal(err)
			}
			c.RateLimiter = rl
		}, 2},
	}
	for _, lim := range limiters {
		t.Run(lim.name, func(t *testing.T) {
			t.Parallel()
			config := func(a *apptest.App, c *account.Config) {
				c.Limits.SudoPerUser = middleware.Limit{N: 4, Window: time.Minute}
				lim.set(t, a, c)
			}
			each(t, opts{Second: true, Config: config}, func(t *testing.T, a *app) {
				u := newUser(t, a, "user@example.com")
				c := signedIn(t, a, "user@example.com")
				a.Second.enroll(u.ID, "123456")
				v0, _ := hashing(a)
				for i := range 2 {
					w0 := a.Writes(t)
					wantStatus(t, fmt.Sprintf("wrong password %d", i+1), c.Post("/auth/sudo", form("password", "wrong password")), http.StatusUnauthorized)
					if w := a.Writes(t) - w0; a.Backend == "postgres" && w != lim.writes {
						t.Errorf("wrong password %d: %d statements that change rows, want %d", i+1, w, lim.writes)
					}
				}
				for i := range 2 {
					wantStatus(t, fmt.Sprintf("wrong code %d", i+1), c.Post("/auth/sudo", form("code", "000000")), http.StatusUnauthorized)
				}
				wantError(t, "password over the limit", c.JSON("POST", "/auth/sudo", `{"password":"wrong password"}`), http.StatusTooManyRequests, "rate_limited")
				wantError(t, "code over the limit", c.JSON("POST", "/auth/sudo", `{"code":"123456"}`), http.StatusTooManyRequests, "rate_limited")
				if v1, _ := hashing(a); v1-v0 != 2 {
					t.Errorf("passwords verified: got %d, want 2 (none for the refused requests)", v1-v0)
				}
				if n := len(a.Second.recorded("VerifySudo")); n != 2 {
					t.Errorf("codes checked: got %d, want 2 (none for the refused request)", n)
				}
				if got := attempts(t, a, "user@example.com"); got != 2 {
					t.Errorf("password attempt places: got %d, want 2 (none for the refused request)", got)
				}
				a.Clock.Advance(time.Minute + time.Second)
				wantRedirect(t, "right password once the limit's window has passed", c.Post("/auth/sudo", form("password", pw, "return_to", "/billing")), "/billing")
				if got := attempts(t, a, "user@example.com"); got != 0 {
					t.Errorf("password attempt places after the right password: got %d, want 0", got)
				}
			})
		})
	}
}

// TestPasswordChangeLimit: every password change counts against the
// PasswordChange limit before anything is checked, one with a missing
// field as one with a wrong current password; one it refuses checks
// nothing and takes no password attempt place. With the current password,
// the limit and the place are counted together: on PostgreSQL one
// statement (then the audit row), where the two one by one took two. Once
// the limit's window has passed, the right password changes it.
func TestPasswordChangeLimit(t *testing.T) {
	t.Parallel()
	config := func(_ *apptest.App, c *account.Config) {
		c.Limits.PasswordChange = middleware.Limit{N: 3, Window: time.Minute}
	}
	each(t, opts{Config: config}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")
		v0, _ := hashing(a)
		for i := range 2 {
			w0 := a.Writes(t)
			wantStatus(t, fmt.Sprintf("wrong current password %d", i+1), c.Post("/auth/password", form("current_password", "wrong password", "password", "a brand new passphrase")), http.StatusUnauthorized)
			if w := a.Writes(t) - w0; a.Backend == "postgres" && w != 2 {
				t.Errorf("wrong current password %d: %d statements that change rows, want 2", i+1, w)
			}
		}
		wantError(t, "missing new password", c.JSON("POST", "/auth/password", jsonOf(map[string]string{"current_password": pw})), http.StatusUnprocessableEntity, "invalid_input")
		wantError(t, "right password over the limit", c.JSON("POST", "/auth/password", jsonOf(map[string]string{"current_password": pw, "password": "a brand new passphrase"})), http.StatusTooManyRequests, "rate_limited")
		if v1, _ := hashing(a); v1-v0 != 2 {
			t.Errorf("passwords verified: got %d, want 2 (none for the refused request)", v1-v0)
		}
		if got := attempts(t, a, "user@example.com"); got != 2 {
			t.Errorf("password attempt places: got %d, want 2 (none for the refused request)", got)
		}
		a.Clock.Advance(time.Minute + time.Second)
		wantRedirect(t, "right password once the limit's window has passed", c.Post("/auth/password", form("current_password", pw, "password", "a brand new passphrase")), "/auth/settings?notice=password_changed")
	})
}

// device is one entry of the JSON session list.
type device struct {
	ID         string    `json:"id"`
	Current    bool      `json:"current"`
	Browser    string    `json:"browser"`
	OS         string    `json:"os"`
	IP         string    `json:"ip"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

func devices(t *testing.T, c *apptest.Client) []device {
	t.Helper()
	res := c.JSON("GET", "/auth/sessions", "")
	wantStatus(t, "sessions", res, http.StatusOK)
	var body struct{ Sessions []device }
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
		t.Fatal(err)
	}
	return body.Sessions
}

const firefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"

// TestSessions: the list shows this device and the others with browser,
// OS, address and last activity; one can be revoked, or all others; a
// session of another user cannot.
func TestSessions(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		newUser(t, a, "other@example.com")
		c := signedIn(t, a, "user@example.com")
		ff := a.Client(t)
		ff.UserAgent = firefoxWindows
		ff.SignIn("user@example.com", pw)
		third := signedIn(t, a, "user@example.com")
		stranger := signedIn(t, a, "other@example.com")

		ds := devices(t, c)
		if len(ds) != 3 {
			t.Fatalf("got %d sessions, want 3", len(ds))
		}
		var cur, firefox *device
		for i := range ds {
			d := &ds[i]
			if d.IP != "127.0.0.1" || d.LastSeenAt.IsZero() || d.ID == "" {
				t.Errorf("got device %+v, want its IP 127.0.0.1, last-seen time and id", d)
			}
			if d.Current {
				cur = d
			}
			if d.Browser == "Firefox" {
				firefox = d
			}
		}
		if cur == nil || cur.Browser != "Chrome" || cur.OS != "Linux" {
			t.Fatalf("current device %+v, want Chrome on Linux", cur)
		}
		if firefox == nil || firefox.OS != "Windows" || firefox.Current {
			t.Fatalf("Firefox device %+v, want Windows, not current", firefox)
		}
		html := c.Get("/auth/sessions")
		for _, want := range []string{"Chrome", "Firefox", "Windows", "Linux", "127.0.0.1"} {
			if !strings.Contains(html.Body, want) {
				t.Errorf("sessions page lacks %q", want)
			}
		}

		// Another user's session id: not found, nothing revoked.
		strangerID := devices(t, stranger)[0].ID
		before := snapshot(t, a)
		wantError(t, "another user's session", c.JSON("POST", "/auth/sessions/revoke", jsonOf(map[string]string{"id": strangerID})), http.StatusNotFound, "not_found")
		wantStatus(t, "another user's session (HTML)", c.Post("/auth/sessions/revoke", form("id", strangerID)), http.StatusNotFound)
		wantUnchanged(t, "revoking another user's session", a, before)
		wantSignedIn(t, stranger, "other@example.com")

		// Revoke the Firefox session.
		wantRedirect(t, "revoke", c.Post("/auth/sessions/revoke", form("id", firefox.ID)), "/auth/sessions?notice=session_revoked")
		wantAnonymous(t, ff)
		wantSignedIn(t, c, "user@example.com")
		wantAudit(t, a, audit.ActionSessionRevoke, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success", Metadata: map[string]string{"device": firefox.ID}})
		wantError(t, "revoked session again", c.JSON("POST", "/auth/sessions/revoke", jsonOf(map[string]string{"id": firefox.ID})), http.StatusNotFound, "not_found")

		// Revoke all others.
		j := c.JSON("POST", "/auth/sessions/revoke-others", "{}")
		if d := decode(t, j); !d.OK || d.Rest["revoked"] != float64(1) {
			t.Errorf("revoke others: got %s, want ok and revoked 1", j.Body)
		}
		wantAnonymous(t, third)
		wantSignedIn(t, c, "user@example.com")
		wantSignedIn(t, stranger, "other@example.com")
		wantAudit(t, a, audit.ActionSessionRevokeOthers, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success", Metadata: map[string]string{"count": "1"}})
		if ds := devices(t, c); len(ds) != 1 || !ds[0].Current {
			t.Errorf("after revoking the others: got %+v, want only this device", ds)
		}

		// Revoking the current session signs this browser out.
		wantRedirect(t, "revoke current", c.Post("/auth/sessions/revoke", form("id", devices(t, c)[0].ID)), "/auth/login?notice=signed_out")
		wantAnonymous(t, c)
	})
}

// profileSection is the data of the settings section of the test's own
// "profile" feature.
type profileSection struct {
	Name string `json:"name"`
}

// profilePack is another feature's pack: a settings section "profile",
// and a section "hidden" that has no data for anyone.
func profilePack() ui.Pack {
	return ui.Pack{
		Name: "profile",
		Files: fstest.MapFS{
			"sections/profile.html": {Data: []byte(`<section class="panel" aria-labelledby="profile-heading"><div class="panel-body"><h2 id="profile-heading">Profile</h2><p>{{.Data.Name}}</p></div></section>`)},
			"sections/hidden.html":  {Data: []byte(`<section><h2 id="hidden-heading">Hidden</h2></section>`)},
		},
		Sections: map[string]any{"profile": &profileSection{}, "hidden": nil},
	}
}

// profileSections are the sections of the profile feature for
// Config.Sections: the profile between the email address (10) and the
// password (20).
func profileSections(_ *apptest.App, c *account.Config) {
	c.Sections = []ui.Section{
		{Name: "profile", Order: 15, Data: func(r *http.Request) (any, error) {
			return &profileSection{Name: "Profile of " + sigra.UserFrom(r.Context()).Email}, nil
		}},
		{Name: "hidden", Order: 5, Data: func(*http.Request) (any, error) { return nil, nil }},
	}
}

// TestSettingsSections: the settings page is made of the account's
// sections and those of other features, in their Order; a section without
// data is left out; the JSON answer holds each section's data by name.
func TestSettingsSections(t *testing.T) {
	t.Parallel()
	each(t, opts{Packs: []ui.Pack{profilePack()}, Config: profileSections}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")

		res := c.Get("/auth/settings")
		wantStatus(t, "settings", res, http.StatusOK)
		headings := []string{`id="email-heading"`, `id="profile-heading"`, `id="password-heading"`, `id="devices-heading"`, `id="danger-heading"`}
		last := -1
		for _, h := range headings {
			i := strings.Index(res.Body, h)
			if i < 0 {
				t.Fatalf("settings page: got no %s:\n%s", h, res.Body)
			}
			if i < last {
				t.Errorf("settings page: got %s before the section above it, want the order %q", h, headings)
			}
			last = i
		}
		if !strings.Contains(res.Body, "Profile of user@example.com") {
			t.Errorf("settings page: got no profile data:\n%s", res.Body)
		}
		if strings.Contains(res.Body, "hidden-heading") {
			t.Error("settings page: got the section without data, want it left out")
		}
		if strings.Contains(res.Body, "scheduled for deletion") {
			t.Error("settings page: got a scheduled-deletion notice, want none")
		}

		j := c.JSON("GET", "/auth/settings", "")
		wantStatus(t, "settings JSON", j, http.StatusOK)
		var got map[string]any
		if err := json.Unmarshal([]byte(j.Body), &got); err != nil {
			t.Fatalf("settings JSON: got %s (%v)", j.Body, err)
		}
		want := map[string]any{
			"email":    map[string]any{"email": "user@example.com", "confirmed": true},
			"profile":  map[string]any{"name": "Profile of user@example.com"},
			"password": map[string]any{"has_password": true, "min_password_length": float64(a.Hasher.MinLength())},
			"devices":  map[string]any{"count": float64(1)},
			"delete":   map[string]any{},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("settings JSON: got %v, want %v", got, want)
		}
	})
}

// TestSettingsFormErrors: a refused email or password change shows the
// settings page again, whole, with the error, the message in the section
// that holds the field and the typed address kept; JSON gets the error.
func TestSettingsFormErrors(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")
		// section returns the part of body from the heading id to the next
		// section's start.
		section := func(t *testing.T, body, heading string) string {
			t.Helper()
			i := strings.Index(body, `id="`+heading+`"`)
			if i < 0 {
				t.Fatalf("no section %s in:\n%s", heading, body)
			}
			rest := body[i:]
			if j := strings.Index(rest, "<section"); j >= 0 {
				rest = rest[:j]
			}
			return rest
		}
		cases := []struct {
			name, path string
			form       url.Values
			status     int
			code       string
			heading    string // the section that shows the field's message
			field      string
			sticky     string
		}{
			{"bad address", "/auth/email", form("email", "not an address"), 422, "invalid_input", "email-heading", "email", `value="not an address"`},
			{"same address", "/auth/email", form("email", "USER@example.com"), 422, "same_email", "email-heading", "email", `value="USER@example.com"`},
			{"no new password", "/auth/password", form("current_password", pw), 422, "invalid_input", "password-heading", "password", ""},
			{"wrong current password", "/auth/password", form("current_password", "wrong password", "password", "a brand new passphrase"), 401, "invalid_credentials", "password-heading", "current_password", ""},
			{"weak new password", "/auth/password", form("current_password", pw, "password", "short"), 422, "weak_password:too_short", "password-heading", "password", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := c.For(t)
				res := c.Post(tc.path, tc.form)
				wantStatus(t, tc.name, res, tc.status)
				s := section(t, res.Body, tc.heading)
				if !strings.Contains(s, `id="`+tc.field+`-error"`) {
					t.Errorf("%s: got no error at %s in its section:\n%s", tc.name, tc.field, s)
				}
				if tc.sticky != "" && !strings.Contains(s, tc.sticky) {
					t.Errorf("%s: got the section without %s:\n%s", tc.name, tc.sticky, s)
				}
				for _, h := range []string{"email-heading", "password-heading", "devices-heading", "danger-heading"} {
					if !strings.Contains(res.Body, `id="`+h+`"`) {
						t.Errorf("%s: got a settings page without %s", tc.name, h)
					}
				}
				if !strings.Contains(res.Body, `role="alert"`) {
					t.Errorf("%s: got no alert on the page", tc.name)
				}
				body := map[string]string{}
				for k := range tc.form {
					body[k] = tc.form.Get(k)
				}
				fields := wantError(t, tc.name+" (JSON)", c.JSON("POST", tc.path, jsonOf(body)), tc.status, tc.code)
				if fields[tc.field] == "" {
					t.Errorf("%s (JSON): got fields %v, want a message for %s", tc.name, fields, tc.field)
				}
			})
		}
	})
}

// TestSettingsJSONRendersNothing: the settings page's JSON answers load
// the sections' data without rendering them, and a refused settings form
// answered in JSON loads none of it; the HTML answers render every
// section. A section whose template cannot render its data shows which.
func TestSettingsJSONRendersNothing(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	loadsOf := map[*apptest.App]*atomic.Int32{} // by application: the backends run in parallel
	unrenderable := func(a *apptest.App, c *account.Config) {
		loads := &atomic.Int32{}
		mu.Lock()
		loadsOf[a] = loads
		mu.Unlock()
		c.Sections = []ui.Section{{Name: "profile", Order: 15, Data: func(*http.Request) (any, error) {
			loads.Add(1)
			return &struct {
				Nickname string `json:"nickname"`
			}{"Ada"}, nil // the template reads .Data.Name
		}}}
	}
	each(t, opts{Packs: []ui.Pack{profilePack()}, Config: unrenderable}, func(t *testing.T, a *app) {
		mu.Lock()
		loads := loadsOf[a.App]
		mu.Unlock()
		newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")
		tests := []struct {
			name   string
			res    func() *apptest.Response
			status int
			want   string // in the body
			loads  int32
		}{
			{"JSON page", func() *apptest.Response { return c.JSON("GET", "/auth/settings", "") }, http.StatusOK, `"profile":{"nickname":"Ada"}`, 1},
			{"JSON form error", func() *apptest.Response {
				return c.JSON("POST", "/auth/password", jsonOf(map[string]string{"current_password": pw}))
			}, http.StatusUnprocessableEntity, `"code":"invalid_input"`, 0},
			{"HTML page", func() *apptest.Response { return c.Get("/auth/settings") }, http.StatusInternalServerError, "", 1},
			{"HTML form error", func() *apptest.Response { return c.Post("/auth/password", form("current_password", pw)) }, http.StatusInternalServerError, "", 1},
		}
		for _, tc := range tests {
			before := loads.Load()
			res := tc.res()
			wantStatus(t, tc.name, res, tc.status)
			if !strings.Contains(res.Body, tc.want) {
				t.Errorf("%s: got %s, want it to hold %s", tc.name, res.Body, tc.want)
			}
			if got := loads.Load() - before; got != tc.loads {
				t.Errorf("%s: the section's data was loaded %d times, want %d", tc.name, got, tc.loads)
			}
		}
	})
}
