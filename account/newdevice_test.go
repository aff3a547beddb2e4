package account_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mail"
)

// firefoxUA is another browser on the same system as the test clients'
// default (Chrome on Linux).
const firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"

// alertSubject starts the subject of a new-device alert.
const alertSubject = "New sign-in to your Sigra Test account"

// browserAs returns a new client that sends the user agent ua.
func browserAs(t testing.TB, a *app, ua string) *apptest.Client {
	c := a.Client(t)
	c.UserAgent = ua
	return c
}

// alerts returns the new-device alerts sent to addr, newest first.
func alerts(t testing.TB, a *app, addr string) []mail.Captured {
	t.Helper()
	var out []mail.Captured
	for _, m := range a.Mails(t, addr) {
		if m.Subject == alertSubject {
			out = append(out, m)
		}
	}
	return out
}

// wantAlerts fails the test unless addr received exactly n alerts so far.
func wantAlerts(t testing.TB, a *app, what, addr string, n int) {
	t.Helper()
	if got := alerts(t, a, addr); len(got) != n {
		t.Fatalf("%s: got %d new-device alerts to %s, want %d (all subjects: %q)", what, len(got), addr, n, subjects(t, a, addr))
	}
}

// sessionIDOf returns the public ID of the user's live session whose user
// agent contains ua.
func sessionIDOf(t testing.TB, a *app, userID, ua string) string {
	t.Helper()
	var id string
	a.QueryRow(t, "SELECT id FROM sigra_sessions WHERE user_id = ? AND user_agent = ? AND revoked_at IS NULL", []any{userID, ua}, &id)
	return id
}

// fromAddress makes c connect from the local address ip (a loopback
// address other than 127.0.0.1), or skips the test where the system does
// not route it.
func fromAddress(t *testing.T, a *app, c *apptest.Client, ip string) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", strings.TrimPrefix(a.Server.URL, "http://"))
	if err != nil {
		t.Skipf("cannot connect from %s on this system (%v): the test needs the whole of 127.0.0.0/8 on the loopback interface, as on Linux", ip, err)
	}
	conn.Close()
	c.HTTP.Transport = &http.Transport{DialContext: d.DialContext}
}

// TestNewDeviceAlert: the first sign-in of an account alerts nobody, nor a
// sign-in from a known browser and network; a sign-in from another browser
// emails the owner the device, the address, the time and a "this wasn't
// me" link. The link's GET changes nothing; its POST signs that browser
// out (and only it), forgets the device, starts a password reset and is
// audited, once.
func TestNewDeviceAlert(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		mine := signedIn(t, a, "user@example.com")
		wantAlerts(t, a, "first sign-in", u.Email, 0)
		signedIn(t, a, "user@example.com")
		wantAlerts(t, a, "same browser and network", u.Email, 0)
		if got := a.Count(t, "sigra_signins", "user_id = ?", u.ID); got != 1 {
			t.Errorf("devices recorded: got %d, want 1", got)
		}

		stranger := browserAs(t, a, firefoxUA)
		stranger.SignIn("user@example.com", pw)
		wantSignedIn(t, stranger, "user@example.com")
		wantAlerts(t, a, "another browser", u.Email, 1)
		m := alerts(t, a, u.Email)[0]
		for _, want := range []string{"Firefox on Linux", "127.0.0.1", firefoxUA, "7 days"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("alert text: got no %q in:\n%s", want, m.Text)
			}
		}
		if !strings.Contains(m.HTML, "Firefox on Linux") || !strings.Contains(m.HTML, "This wasn") {
			t.Errorf("alert HTML: got no device or button in:\n%s", m.HTML)
		}
		link := apptest.Link(t, m, "/auth/not-me")
		if !strings.HasPrefix(link, a.URL+"/auth/not-me?token=") {
			t.Errorf("alert link: got %q, want %s/auth/not-me?token=...", link, a.URL)
		}
		strangerID := sessionIDOf(t, a, u.ID, firefoxUA)
		wantAudit(t, a, audit.ActionNewDeviceAlert, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success", Metadata: map[string]string{"device_id": strangerID}})

		// The device is stored as a digest, never the address.
		var fp string
		a.QueryRow(t, "SELECT fingerprint FROM sigra_signins WHERE user_id = ? AND last_seen_at IS NOT NULL ORDER BY last_seen_at DESC, fingerprint LIMIT 1", []any{u.ID}, &fp)
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(fp) {
			t.Errorf("stored fingerprint: got %q, want 64 hex digits", fp)
		}

		// The owner opens the link in another browser: the page changes
		// nothing.
		owner := a.Client(t)
		before := snapshot(t, a, u.Email)
		res := owner.Get(link)
		wantStatus(t, "GET the link", res, http.StatusOK)
		if !strings.Contains(res.Body, `action="/auth/not-me"`) || !strings.Contains(res.Body, `name="token"`) {
			t.Errorf("confirm page: got no form posting the token to /auth/not-me in:\n%s", res.Body)
		}
		if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("confirm page Referrer-Policy: got %q, want no-referrer", got)
		}
		wantUnchanged(t, "GET the link", a, before, u.Email)
		wantSignedIn(t, stranger, "user@example.com")

		res = owner.Post("/auth/not-me", form("token", apptest.TokenOf(link)))
		wantStatus(t, "POST the link", res, http.StatusOK)
		if !strings.Contains(res.Body, "We signed that browser out") {
			t.Errorf("result page: got no confirmation in:\n%s", res.Body)
		}
		wantAnonymous(t, stranger)
		wantSignedIn(t, mine, "user@example.com") // only that browser
		if got := a.LastMail(t, u.Email).Subject; got != "Reset your Sigra Test password" {
			t.Errorf("last email: got %q, want the reset link", got)
		}
		wantAudit(t, a, audit.ActionNewDeviceNotMe, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success", Metadata: map[string]string{"device_id": strangerID, "revoked": "1"}})
		if got := tokenCount(t, a, u.ID, "reset"); got != 1 {
			t.Errorf("reset tokens: got %d, want 1", got)
		}

		// The link works once.
		before = snapshot(t, a, u.Email)
		wantStatus(t, "POST the link again", owner.Post("/auth/not-me", form("token", apptest.TokenOf(link))), http.StatusGone)
		wantStatus(t, "GET the used link", owner.Get(link), http.StatusGone)
		wantUnchanged(t, "a used link", a, before, u.Email)
		wantAudit(t, a, audit.ActionNewDeviceNotMe, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})

		// The disowned device was forgotten: its next sign-in alerts again.
		browserAs(t, a, firefoxUA).SignIn("user@example.com", pw)
		wantAlerts(t, a, "the disowned browser again", u.Email, 2)
	})
}

// TestNewDeviceAlertNetwork: a known browser from another network (another
// /24) alerts; from another address of the same /24 it does not.
func TestNewDeviceAlertNetwork(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		signedIn(t, a, "user@example.com")

		sameNet := a.Client(t)
		fromAddress(t, a, sameNet, "127.0.0.2")
		sameNet.SignIn("user@example.com", pw)
		wantSignedIn(t, sameNet, "user@example.com")
		wantAlerts(t, a, "same /24", u.Email, 0)

		otherNet := a.Client(t)
		fromAddress(t, a, otherNet, "127.0.1.1")
		otherNet.SignIn("user@example.com", pw)
		wantAlerts(t, a, "another /24", u.Email, 1)
		if m := alerts(t, a, u.Email)[0]; !strings.Contains(m.Text, "127.0.1.1") {
			t.Errorf("alert: got no client address 127.0.1.1 in:\n%s", m.Text)
		}
	})
}

// TestNewDeviceAlertWindow: a device stays known for the window after its
// last sign-in, and alerts again once the window has passed.
func TestNewDeviceAlertWindow(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		signedIn(t, a, "user@example.com")
		browserAs(t, a, firefoxUA).SignIn("user@example.com", pw)
		wantAlerts(t, a, "Firefox the first time", u.Email, 1)

		a.Clock.Advance(89 * day)
		browserAs(t, a, firefoxUA).SignIn("user@example.com", pw)
		wantAlerts(t, a, "Firefox after 89 days", u.Email, 1)

		a.Clock.Advance(90 * day)
		browserAs(t, a, firefoxUA).SignIn("user@example.com", pw)
		wantAlerts(t, a, "Firefox after 90 days away", u.Email, 2)
	})
	t.Run("configured", func(t *testing.T) {
		t.Parallel()
		week := func(_ *apptest.App, cfg *account.Config) { cfg.NewDeviceAlert.Window = 7 * day }
		a := newApp(t, opts{Config: week})
		u := newUser(t, a, "user@example.com")
		signedIn(t, a, "user@example.com")
		a.Clock.Advance(8 * day)
		signedIn(t, a, "user@example.com")
		wantAlerts(t, a, "the same browser after 8 days with a 7-day window", u.Email, 1)
	})
}

// TestNewDeviceAlertDisabled: with the alerts disabled, nothing is sent
// and no device is recorded.
func TestNewDeviceAlertDisabled(t *testing.T) {
	t.Parallel()
	off := func(_ *apptest.App, cfg *account.Config) { cfg.NewDeviceAlert.Disabled = true }
	each(t, opts{Config: off}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		signedIn(t, a, "user@example.com")
		browserAs(t, a, firefoxUA).SignIn("user@example.com", pw)
		if n := mailCount(t, a, u.Email); n != 0 {
			t.Errorf("emails with alerts disabled: got %d (%q), want none", n, subjects(t, a, u.Email))
		}
		if n := a.Count(t, "sigra_signins", ""); n != 0 {
			t.Errorf("devices recorded with alerts disabled: got %d, want none", n)
		}
		wantAudit(t, a, audit.ActionNewDeviceAlert, u.ID, 0, auditWant{})
	})
}

// TestNewDeviceAlertSecondFactor: a sign-in that ends with a second
// factor is reported when it completes, not at the password.
func TestNewDeviceAlertSecondFactor(t *testing.T) {
	t.Parallel()
	// The second step of the tests' second factor: it completes the
	// pending sign-in through the session manager, as the mfa package's
	// challenge does.
	challenge := func(a *apptest.App, _ *account.Config) {
		a.Mux.Handle("POST "+a.Path("/mfa/challenge"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := audit.WithRequest(r.Context(), r, a.Site.ClientIP(r))
			if err := a.Sessions.CompleteSecondFactor(ctx, sigra.MethodTOTP); err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
	}
	each(t, opts{Second: true, Config: challenge}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		a.Second.enroll(u.ID, "123456")
		signIn := func(c *apptest.Client) {
			t.Helper()
			res := c.SignIn("user@example.com", pw)
			if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/auth/mfa/challenge") {
				t.Fatalf("sign in: got Location %q, want the second step", loc)
			}
			wantStatus(t, "second step", c.Post("/auth/mfa/challenge", nil), http.StatusNoContent)
			wantSignedIn(t, c, "user@example.com")
		}
		signIn(a.Client(t))
		wantAlerts(t, a, "first sign-in", u.Email, 0)

		stranger := browserAs(t, a, firefoxUA)
		stranger.SignIn("user@example.com", pw)
		wantAlerts(t, a, "password alone", u.Email, 0)
		wantStatus(t, "second step", stranger.Post("/auth/mfa/challenge", nil), http.StatusNoContent)
		wantSignedIn(t, stranger, "user@example.com")
		wantAlerts(t, a, "after the second factor", u.Email, 1)
		wantAudit(t, a, audit.ActionNewDeviceAlert, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success", Metadata: map[string]string{"device_id": sessionIDOf(t, a, u.ID, firefoxUA)}})
	})
}

// TestNewDeviceNotMeSessionEnded: when the reported session has ended or
// changed by the time the owner follows the link, every session of the
// account is signed out (the stranger may hold it under another ID).
func TestNewDeviceNotMeSessionEnded(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		mine := signedIn(t, a, "user@example.com")
		stranger := browserAs(t, a, firefoxUA)
		stranger.SignIn("user@example.com", pw)
		link := apptest.Link(t, alerts(t, a, u.Email)[0], "/auth/not-me")
		// The stranger's session ends, and another starts in the same
		// browser (the same device, known by now: no second alert).
		wantRedirect(t, "sign out", stranger.Post("/auth/logout", nil), "/auth/login?notice=signed_out")
		stranger.SignIn("user@example.com", pw)
		wantAlerts(t, a, "the same browser again", u.Email, 1)

		res := mine.JSON("POST", "/auth/not-me", jsonOf(map[string]string{"token": apptest.TokenOf(link)}))
		wantStatus(t, "POST the link", res, http.StatusOK)
		d := decode(t, res)
		if !d.OK || d.Rest["signed_out"] != "all" || d.Rest["revoked"] != float64(2) {
			t.Errorf("answer: got %s, want ok, signed_out all, revoked 2", res.Body)
		}
		wantAnonymous(t, stranger)
		wantAnonymous(t, mine) // this browser's session was one of them
		wantAudit(t, a, audit.ActionNewDeviceNotMe, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success", Metadata: map[string]string{"revoked": "2"}})
		if got := a.LastMail(t, u.Email).Subject; got != "Reset your Sigra Test password" {
			t.Errorf("last email: got %q, want the reset link", got)
		}
	})
}

// TestNewDeviceNotMeDeadLinks: unknown, malformed, other-purpose and
// expired tokens get 410 and change nothing.
func TestNewDeviceNotMeDeadLinks(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		signedIn(t, a, "user@example.com")
		stranger := browserAs(t, a, firefoxUA)
		stranger.SignIn("user@example.com", pw)
		link := apptest.Link(t, alerts(t, a, u.Email)[0], "/auth/not-me")
		reset := requestReset(t, a, u.Email)

		c := a.Client(t)
		before := snapshot(t, a, u.Email)
		for name, tok := range map[string]string{
			"malformed":     "not-a-token",
			"unknown":       strings.Repeat("A", 43),
			"a reset token": apptest.TokenOf(reset),
			"empty":         "",
		} {
			wantStatus(t, "GET with "+name, c.Get("/auth/not-me?token="+tok), http.StatusGone)
			wantStatus(t, "POST with "+name, c.Post("/auth/not-me", form("token", tok)), http.StatusGone)
		}
		a.Clock.Advance(7*24*time.Hour + time.Second)
		wantStatus(t, "GET expired", c.Get(link), http.StatusGone)
		wantStatus(t, "POST expired", c.Post("/auth/not-me", form("token", apptest.TokenOf(link))), http.StatusGone)
		wantUnchanged(t, "dead links", a, before, u.Email)
		wantAudit(t, a, audit.ActionNewDeviceNotMe, u.ID, 0, auditWant{})
	})
}

// TestNewDeviceAlertFailureKeepsSignIn: when the alert cannot be queued,
// the sign-in still completes, the failure is logged, and nothing of the
// alert is left behind (no link token, no audit row).
func TestNewDeviceAlertFailureKeepsSignIn(t *testing.T) {
	t.Parallel()
	down := mail.SenderFunc(func(context.Context, *mail.Message) error { return errors.New("mail server down") })
	for _, backend := range apptest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			logger, logs := newLogger()
			b := newApp(t, opts{Backend: backend, Logger: logger, Config: func(_ *apptest.App, cfg *account.Config) { cfg.Mail = down }})
			u := newUser(t, b, "user@example.com")
			signedIn(t, b, "user@example.com")
			c := browserAs(t, b, firefoxUA)
			c.SignIn("user@example.com", pw)
			wantSignedIn(t, c, "user@example.com")
			if !strings.Contains(logs.String(), "new-device alert not sent") || !strings.Contains(logs.String(), "mail server down") {
				t.Errorf("log: got no record of the failed alert in:\n%s", logs)
			}
			if n := tokenCount(t, b, u.ID, ""); n != 0 {
				t.Errorf("tokens after a failed alert: got %d, want none", n)
			}
			wantAudit(t, b, audit.ActionNewDeviceAlert, u.ID, 0, auditWant{})
		})
	}
}

// TestNewDeviceNotMeAddressChanged: the link is bound to the address it
// was sent to; once the account has another address it is dead.
func TestNewDeviceNotMeAddressChanged(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		signedIn(t, a, "user@example.com")
		stranger := browserAs(t, a, firefoxUA)
		stranger.SignIn("user@example.com", pw)
		link := apptest.Link(t, alerts(t, a, u.Email)[0], "/auth/not-me")

		now := a.Clock.Now()
		if err := a.Store.ReserveEmail(ctx, u.ID, "moved@example.com", now.Add(time.Hour), now); err != nil {
			t.Fatal(err)
		}
		if err := a.Store.ChangeEmail(ctx, u.ID, "moved@example.com", now); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, a, "moved@example.com")
		wantStatus(t, "POST the link", a.Client(t).Post("/auth/not-me", form("token", apptest.TokenOf(link))), http.StatusGone)
		wantUnchanged(t, "a link to the old address", a, before, "moved@example.com")
		wantSignedIn(t, stranger, "moved@example.com")
	})
}
