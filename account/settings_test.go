package account_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/testapp"
	"github.com/sigra-go/sigra/store"
)

// TestEmailChange: the new address gets a confirmation link and is
// reserved meanwhile; the old one gets a notice; confirming switches the
// address (confirmed) and voids tokens sent to the old one.
func TestEmailChange(t *testing.T) {
	t.Parallel()
	h := &hooks{}
	each(t, testapp.Options{Hooks: hooksRecorder(h)}, func(t *testing.T, a *testapp.App) {
		u := newUser(a, "old@example.com")
		c := signedIn(a, "old@example.com")
		oldReset := requestReset(t, a, "old@example.com")

		res := c.Post("/auth/email", form("email", "new@example.com"))
		wantRedirect(t, "email change", res, "/auth/settings?notice=email_sent")
		confirm := a.LastMail("new@example.com")
		link := a.Link(confirm, "/auth/email/confirm")
		if !strings.Contains(confirm.Subject, "Confirm your new email") {
			t.Errorf("new address got %q", confirm.Subject)
		}
		notice := a.LastMail("old@example.com")
		if !strings.Contains(notice.Subject, "is changing") || !strings.Contains(notice.Text, "new@example.com") || !strings.Contains(notice.Text, "127.0.0.1") {
			t.Errorf("old address got %q:\n%s", notice.Subject, notice.Text)
		}
		if pending, _, err := a.Store.EmailReservation(ctx, u.ID, a.Clock.Now()); err != nil || pending != "new@example.com" {
			t.Fatalf("reservation: %q, %v", pending, err)
		}
		settings := c.JSON("GET", "/auth/settings", "")
		if !strings.Contains(settings.Body, `"pending_email":"new@example.com"`) {
			t.Errorf("settings do not show the pending address: %s", settings.Body)
		}
		wantAudit(t, a, audit.ActionEmailChangeRequest, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})

		// The reserved address cannot be registered, and the attempt looks
		// like any registration.
		fresh := a.Client().Post("/auth/register", form("email", "fresh@example.com", "password", pw))
		reserved := a.Client().Post("/auth/register", form("email", "new@example.com", "password", pw))
		if reserved.StatusCode != fresh.StatusCode || page(reserved.Body) != page(fresh.Body) {
			t.Errorf("registering the reserved address: got %d, want the same answer as a fresh one", reserved.StatusCode)
		}
		if n := a.Count("sigra_users", "email_norm = ?", "new@example.com"); n != 0 {
			t.Fatalf("an account was created for the reserved address")
		}
		if n := mailCount(a, "new@example.com"); n != 1 {
			t.Errorf("reserved address got %d emails, want only the confirmation", n)
		}

		// GET shows the confirm button and changes nothing.
		before := snapshot(t, a, "old@example.com")
		page := a.Client().Get(link)
		wantStatus(t, "confirm page", page, http.StatusOK)
		if !strings.Contains(page.Body, "new@example.com") || page.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("confirm page:\n%s", page.Body)
		}
		wantUnchanged(t, "GET of the email change link", a, before, "old@example.com")

		a.Clock.Advance(time.Minute)
		wantRedirect(t, "confirm", c.Post("/auth/email/confirm", form("token", testapp.TokenOf(link))), "/auth/settings?notice=email_changed")
		got := a.User("new@example.com")
		if got.ID != u.ID || !got.EmailConfirmedAt.Equal(a.Clock.Now()) {
			t.Errorf("after the change: %+v", got)
		}
		if _, err := a.Store.UserByEmail(ctx, "old@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old address still finds the account: %v", err)
		}
		if _, _, err := a.Store.EmailReservation(ctx, u.ID, a.Clock.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reservation left after the change: %v", err)
		}
		if n := mailCount(a, "old@example.com"); n != 3 {
			t.Errorf("old address got %d emails, want 3 (reset link, change notice, completion notice)", n)
		}
		wantSignedIn(t, c, "new@example.com")
		// The reset link sent to the old address no longer works.
		wantStatus(t, "old reset link", a.Client().Get(oldReset), http.StatusGone)
		// The link is spent.
		wantStatus(t, "used link", a.Client().Post("/auth/email/confirm", form("token", testapp.TokenOf(link))), http.StatusGone)
		wantAudit(t, a, audit.ActionEmailChangeComplete, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})
		if !h.has("email " + u.ID + " old@example.com->new@example.com") {
			t.Errorf("AfterEmailChange calls: %q", h.list())
		}
		// The old address is free again.
		wantStatus(t, "register the old address", a.Client().Post("/auth/register", form("email", "old@example.com", "password", pw)), http.StatusOK)
		if n := a.Count("sigra_users", "email_norm = ?", "old@example.com"); n != 1 {
			t.Errorf("the old address could not be registered again")
		}
	})
}

// TestEmailChangeRequiresSudo: without a recent re-authentication the
// change is refused (HTML: sent to the sudo page; JSON: 403
// sudo_required) and nothing happens; after sudo it works.
func TestEmailChangeRequiresSudo(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		u := newUser(a, "user@example.com")
		c := signedIn(a, "user@example.com")
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
		if n := mailCount(a, "new@example.com"); n != 0 {
			t.Errorf("got %d emails, want 0", n)
		}

		// Re-authenticate and come back.
		page := c.Get("/auth/sudo?return_to=%2Fauth%2Fsettings")
		wantStatus(t, "sudo page", page, http.StatusOK)
		if !strings.Contains(page.Body, `name="return_to" value="/auth/settings"`) {
			t.Errorf("sudo page does not carry return_to:\n%s", page.Body)
		}
		wantRedirect(t, "sudo", c.Post("/auth/sudo", form("password", pw, "return_to", "/auth/settings")), "/auth/settings")
		wantAudit(t, a, audit.ActionSudo, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success", Metadata: map[string]string{"method": "password"}})
		wantRedirect(t, "email change after sudo", c.Post("/auth/email", form("email", "new@example.com")), "/auth/settings?notice=email_sent")
	})
}

// TestEmailChangeCancel: cancelling drops the reservation and the link.
func TestEmailChangeCancel(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		u := newUser(a, "user@example.com")
		c := signedIn(a, "user@example.com")
		c.Post("/auth/email", form("email", "new@example.com"))
		link := a.Link(a.LastMail("new@example.com"), "/auth/email/confirm")
		wantRedirect(t, "cancel", c.Post("/auth/email/cancel", nil), "/auth/settings?notice=email_cancelled")
		if _, _, err := a.Store.EmailReservation(ctx, u.ID, a.Clock.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reservation after cancel: %v", err)
		}
		wantStatus(t, "cancelled link", a.Client().Post("/auth/email/confirm", form("token", testapp.TokenOf(link))), http.StatusGone)
		if a.User("user@example.com").ID != u.ID {
			t.Error("the address changed")
		}
		wantAudit(t, a, audit.ActionEmailChangeCancel, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})
		// The address is free for others.
		a.Client().Post("/auth/register", form("email", "new@example.com", "password", pw))
		if n := a.Count("sigra_users", "email_norm = ?", "new@example.com"); n != 1 {
			t.Error("the released address could not be registered")
		}
	})
}

// TestEmailChangeTakenAddress: asking for another account's address
// answers the same, reserves nothing and sends nothing.
func TestEmailChangeTakenAddress(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		newUser(a, "user@example.com")
		other := newUser(a, "other@example.com")
		c := signedIn(a, "user@example.com")
		before := snapshot(t, a, "user@example.com", "other@example.com")
		res := c.Post("/auth/email", form("email", "OTHER@example.com"))
		wantRedirect(t, "taken address", res, "/auth/settings?notice=email_sent")
		j := c.JSON("POST", "/auth/email", `{"email":"other@example.com"}`)
		if d := decode(t, j); j.StatusCode != http.StatusOK || !d.OK || d.Next != "/auth/settings?notice=email_sent" {
			t.Errorf("JSON taken address: %d %s", j.StatusCode, j.Body)
		}
		wantUnchanged(t, "change to a taken address", a, before, "user@example.com", "other@example.com")
		if n := mailCount(a, "other@example.com") + mailCount(a, "user@example.com"); n != 0 {
			t.Errorf("got %d emails, want none", n)
		}
		if a.User("other@example.com").ID != other.ID {
			t.Error("the other account changed")
		}
	})
}

// TestEmailReservationExpires: a reservation lasts as long as its link (24
// hours, on the application's clock); then the address can be registered.
func TestEmailReservationExpires(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		newUser(a, "user@example.com")
		c := signedIn(a, "user@example.com")
		c.Post("/auth/email", form("email", "new@example.com"))
		link := a.Link(a.LastMail("new@example.com"), "/auth/email/confirm")
		a.Clock.Advance(24 * time.Hour)
		wantStatus(t, "expired link", a.Client().Get(link), http.StatusGone)
		a.Client().Post("/auth/register", form("email", "new@example.com", "password", pw))
		if n := a.Count("sigra_users", "email_norm = ?", "new@example.com"); n != 1 {
			t.Fatal("an expired reservation still blocks registration")
		}
	})
}

// TestPasswordChange: the current password is required; this session
// stays (with a new token), every other one ends, a notice goes out; a
// wrong current password counts toward the lockout.
func TestPasswordChange(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		u := newUser(a, "user@example.com")
		c, other := signedIn(a, "user@example.com"), signedIn(a, "user@example.com")
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
			t.Errorf("no error at the current password field:\n%s", res.Body)
		}
		if got := a.User("user@example.com"); got.FailedLogins != 1 || got.PasswordHash != u.PasswordHash {
			t.Errorf("after a wrong current password: FailedLogins %d, hash changed %v", got.FailedLogins, got.PasswordHash != u.PasswordHash)
		}
		// Weak new password.
		wantError(t, "weak new password", c.JSON("POST", "/auth/password", jsonOf(map[string]string{"current_password": pw, "password": "short"})), http.StatusUnprocessableEntity, "weak_password:too_short")

		res = c.Post("/auth/password", form("current_password", pw, "password", "a brand new passphrase"))
		wantRedirect(t, "password change", res, "/auth/settings?notice=password_changed")
		wantSignedIn(t, c, "user@example.com")
		if nt := c.Cookie(sessionCookie); nt == tok {
			t.Error("the session token was not renewed")
		}
		wantAnonymous(t, replay(a, tok))
		wantAnonymous(t, other)
		if n := a.Count("sigra_sessions", "user_id = ? AND revoked_at IS NULL", u.ID); n != 1 {
			t.Errorf("got %d live sessions, want 1", n)
		}
		if got := a.User("user@example.com"); got.FailedLogins != 0 {
			t.Errorf("FailedLogins %d after a success, want 0", got.FailedLogins)
		}
		m := a.LastMail("user@example.com")
		if !strings.Contains(m.Subject, "password was changed") || !strings.Contains(m.Text, a.URL+"/auth/password/forgot") {
			t.Errorf("notice %q:\n%s", m.Subject, m.Text)
		}
		wantAudit(t, a, audit.ActionPasswordChange, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})
		wantError(t, "old password", loginJSON(a.Client(), "user@example.com", pw), http.StatusUnauthorized, "invalid_credentials")
		a.Client().SignIn("user@example.com", "a brand new passphrase")

		// Five wrong current passwords lock password sign-in.
		for range 5 {
			c.JSON("POST", "/auth/password", jsonOf(map[string]string{"current_password": "wrong password", "password": "another new passphrase"}))
		}
		if got := a.User("user@example.com"); !got.LockedUntil.After(a.Clock.Now()) {
			t.Error("wrong current passwords did not lock the account")
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
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		u := newUser(a, "user@example.com")
		c := signedIn(a, "user@example.com")
		a.Clock.Advance(11 * time.Minute)
		wantRedirect(t, "guarded page", c.Get("/billing"), "/auth/sudo?return_to=%2Fbilling")

		res := c.Post("/auth/sudo", form("password", "wrong password", "return_to", "/billing"))
		wantStatus(t, "wrong password", res, http.StatusUnauthorized)
		if !strings.Contains(res.Body, `id="password-error"`) {
			t.Errorf("no error at the password field:\n%s", res.Body)
		}
		wantRedirect(t, "still guarded", c.Get("/billing"), "/auth/sudo?return_to=%2Fbilling")
		wantAudit(t, a, audit.ActionSudo, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "failure", Metadata: map[string]string{"method": "password"}})
		if got := a.User("user@example.com").FailedLogins; got != 1 {
			t.Errorf("FailedLogins %d, want 1", got)
		}

		tok := c.Cookie(sessionCookie)
		wantRedirect(t, "sudo", c.Post("/auth/sudo", form("password", pw, "return_to", "/billing")), "/billing")
		if c.Cookie(sessionCookie) == tok {
			t.Error("sudo did not renew the token")
		}
		wantAnonymous(t, replay(a, tok))
		if res := c.Get("/billing"); res.StatusCode != http.StatusOK || res.Body != "billing" {
			t.Errorf("guarded page after sudo: %d %s", res.StatusCode, res.Body)
		}
		if got := a.User("user@example.com").FailedLogins; got != 0 {
			t.Errorf("FailedLogins %d after sudo, want 0", got)
		}
		// A foreign return_to lands on the settings page.
		wantRedirect(t, "foreign return_to", c.Post("/auth/sudo", form("password", pw, "return_to", "//evil.example/")), "/auth/settings")
		j := c.JSON("POST", "/auth/sudo", jsonOf(map[string]string{"password": pw, "return_to": "/billing"}))
		if d := decode(t, j); !d.OK || d.Next != "/billing" {
			t.Errorf("JSON sudo: %s", j.Body)
		}
		wantError(t, "JSON wrong password", c.JSON("POST", "/auth/sudo", `{"password":"nope nope nope"}`), http.StatusUnauthorized, "invalid_credentials")
		// Anonymous: sent to sign in.
		wantRedirect(t, "anonymous sudo", a.Client().Post("/auth/sudo", form("password", pw)), "/auth/login")
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

func devices(t *testing.T, c *testapp.Client) []device {
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
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		u := newUser(a, "user@example.com")
		newUser(a, "other@example.com")
		c := signedIn(a, "user@example.com")
		ff := a.Client()
		ff.UserAgent = firefoxWindows
		ff.SignIn("user@example.com", pw)
		third := signedIn(a, "user@example.com")
		stranger := signedIn(a, "other@example.com")

		ds := devices(t, c)
		if len(ds) != 3 {
			t.Fatalf("got %d sessions, want 3", len(ds))
		}
		var cur, firefox *device
		for i := range ds {
			d := &ds[i]
			if d.IP != "127.0.0.1" || d.LastSeenAt.IsZero() || d.ID == "" {
				t.Errorf("device %+v lacks details", d)
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
			t.Errorf("revoke others: %s", j.Body)
		}
		wantAnonymous(t, third)
		wantSignedIn(t, c, "user@example.com")
		wantSignedIn(t, stranger, "other@example.com")
		wantAudit(t, a, audit.ActionSessionRevokeOthers, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success", Metadata: map[string]string{"count": "1"}})
		if ds := devices(t, c); len(ds) != 1 || !ds[0].Current {
			t.Errorf("after revoking the others: %+v", ds)
		}

		// Revoking the current session signs this browser out.
		wantRedirect(t, "revoke current", c.Post("/auth/sessions/revoke", form("id", devices(t, c)[0].ID)), "/auth/login?notice=signed_out")
		wantAnonymous(t, c)
	})
}
