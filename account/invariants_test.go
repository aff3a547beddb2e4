package account_test

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
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/store"
)

// TestEmailLinksUseBaseURL (invariant 11): every emailed link is built from
// the configured base URL, whatever Host or forwarding headers the request
// carries.
func TestEmailLinksUseBaseURL(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")
		evil := http.Header{
			"Host":              {"evil.example"},
			"X-Forwarded-Host":  {"evil.example"},
			"X-Forwarded-Proto": {"https"},
			"Forwarded":         {"host=evil.example;proto=https"},
			"Accept":            {"application/json"},
			"Content-Type":      {"application/json"},
		}
		// The cookie jar picks cookies by the Host header: send the
		// session cookie by hand.
		signedInEvil := evil.Clone()
		signedInEvil.Set("Cookie", sessionCookie+"="+c.Cookie(sessionCookie))
		send := func(c *apptest.Client, path, body string) {
			t.Helper()
			h := evil
			if c.Cookie(sessionCookie) != "" {
				h = signedInEvil
			}
			res := c.Do("POST", path, h, strings.NewReader(body))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s: got %d %s, want 200", path, res.StatusCode, res.Body)
			}
		}
		send(a.Client(t), "/auth/register", `{"email":"new@example.com","password":"correct horse battery"}`)
		send(a.Client(t), "/auth/register", `{"email":"user@example.com","password":"correct horse battery"}`)
		send(a.Client(t), "/auth/confirm/resend", `{"email":"new@example.com"}`)
		send(a.Client(t), "/auth/password/forgot", `{"email":"user@example.com"}`)
		send(a.Client(t), "/auth/magic", `{"email":"user@example.com"}`)
		send(c, "/auth/email", `{"email":"changed@example.com"}`)
		for range 5 {
			res := c.Do("POST", "/auth/sudo", signedInEvil, strings.NewReader(`{"password":"wrong password"}`))
			wantError(t, "wrong sudo password", res, http.StatusUnauthorized, "invalid_credentials")
		}
		a.Clock.Advance(15 * time.Minute)
		send(c, "/auth/password", `{"current_password":"correct horse battery","password":"a brand new passphrase"}`)
		base, _ := url.Parse(a.URL)
		links := 0
		for _, m := range a.Mails(t, "") {
			for _, part := range []string{m.Text, m.HTML} {
				if strings.Contains(part, "evil.example") {
					t.Errorf("email %q: got the request's host in it, want only the base URL:\n%s", m.Subject, part)
				}
			}
			for _, l := range linkRE.FindAllString(m.Text, -1) {
				u, err := url.Parse(l)
				if err != nil || u.Scheme != base.Scheme || u.Host != base.Host {
					t.Errorf("email %q links to %q, want %s", m.Subject, l, a.URL)
				}
				links++
			}
		}
		if links < 8 {
			t.Errorf("got %d links checked, want at least 8", links)
		}
	})
}

// TestNoSecretsStored (invariant 1): no emailed token, nor the session
// token, is stored raw, logged, or put in audit metadata; queued emails are
// sealed.
func TestNoSecretsStored(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			logger, logs := newLogger()
			a := newApp(t, opts{Backend: b, Logger: logger})
			newUser(t, a, "user@example.com")
			c := signedIn(t, a, "user@example.com")
			a.Client(t).Post("/auth/register", form("email", "new@example.com", "password", pw))
			a.Client(t).Post("/auth/password/forgot", form("email", "user@example.com"))
			a.Client(t).Post("/auth/magic", form("email", "new@example.com"))
			c.Post("/auth/email", form("email", "changed@example.com"))
			// Tokens that were used are worth checking too.
			a.Client(t).Post("/auth/password/forgot", form("email", "new@example.com"))

			// Read the database while the emails are still queued.
			queued := a.Contents(t)
			var secrets []string
			for _, m := range a.Mails(t, "") {
				for _, l := range linkRE.FindAllString(m.Text, -1) {
					if tok := apptest.TokenOf(l); tok != "" {
						secrets = append(secrets, tok)
					}
				}
			}
			if len(secrets) != 5 {
				t.Fatalf("found %d emailed tokens, want 5", len(secrets))
			}
			for _, s := range secrets {
				if strings.Contains(string(queued), s) {
					t.Errorf("got a token stored raw while its email is queued, want only its digest")
				}
			}
			// Use two of them: reset a password, sign in with a magic link.
			var reset, magic string
			for _, mm := range a.Mails(t, "new@example.com") {
				for _, l := range linkRE.FindAllString(mm.Text, -1) {
					switch {
					case strings.Contains(l, "/auth/password/reset"):
						reset = apptest.TokenOf(l)
					case strings.Contains(l, "/auth/magic/verify"):
						magic = apptest.TokenOf(l)
					}
				}
			}
			// The magic link first: the reset voids the user's other tokens.
			m := a.Client(t)
			wantRedirect(t, "magic link", m.Post("/auth/magic/verify", form("token", magic)), "/")
			session := m.Cookie(sessionCookie)
			wantRedirect(t, "reset", a.Client(t).Post("/auth/password/reset", form("token", reset, "password", "a brand new passphrase")), "/auth/login?notice=reset")
			secrets = append(secrets, c.Cookie(sessionCookie), session)
			for _, s := range secrets[len(secrets)-2:] {
				if s == "" {
					t.Fatal("got no session token, want one")
				}
			}
			after := a.Contents(t)
			for i, s := range secrets {
				if bytes.Contains(queued, []byte(s)) || bytes.Contains(after, []byte(s)) {
					t.Errorf("got secret %d stored raw, want only its digest", i)
				}
				if strings.Contains(logs.String(), s) {
					t.Errorf("got secret %d in the log, want it left out", i)
				}
			}
			// The email bodies are not in the clear either: look for a phrase
			// every email has.
			if bytes.Contains(queued, []byte("Hi,")) || bytes.Contains(queued, []byte("Sigra Test")) {
				t.Error("got a queued email body stored in the clear, want it sealed")
			}
			evs, _, err := a.Store.QueryAudit(ctx, store.AuditQuery{Limit: 100})
			if err != nil || len(evs) < 8 {
				t.Fatalf("audit rows: got %d, %v; want at least 8", len(evs), err)
			}
			for _, e := range evs {
				for k, v := range e.Metadata {
					for i, s := range secrets {
						if strings.Contains(v, s) || strings.Contains(k, s) {
							t.Errorf("audit %s: got secret %d in metadata %s, want none", e.Action, i, k)
						}
					}
				}
			}
		})
	}
}

// failingSender is the application's outbox behind a switch: while fail
// is set, Send fails (inside transactions too) as a store that cannot
// queue would.
type failingSender struct {
	next mail.Sender
	fail *atomic.Bool
}

var errOutboxDown = errors.New("outbox unavailable")

// Defer and HandleJob hand jobs to the outbox: the jobs are queued, and
// the emails they queue when run fail like any other.
func (f failingSender) Defer(ctx context.Context, j *mail.Job) error {
	return f.next.(mail.Deferrer).Defer(ctx, j)
}

func (f failingSender) HandleJob(kind string, fn mail.JobFunc) {
	f.next.(mail.Deferrer).HandleJob(kind, fn)
}

func (f failingSender) Send(ctx context.Context, m *mail.Message) error {
	if f.fail.Load() {
		return errOutboxDown
	}
	return f.next.Send(ctx, m)
}

// TestChangeAndAuditCommitTogether (invariant 18): when the email that goes
// with a change cannot be queued, the change and its audit row roll back
// together; the lockout alone still commits without its notice.
func TestChangeAndAuditCommitTogether(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			var fail atomic.Bool
			logger, logs := newLogger()
			a := newApp(t, opts{Backend: b, Logger: logger, Config: func(a *apptest.App, c *account.Config) {
				c.Mail = failingSender{next: a.Outbox, fail: &fail}
			}})
			u := newUser(t, a, "user@example.com")
			c, other := signedIn(t, a, "user@example.com"), signedIn(t, a, "user@example.com")
			link := requestReset(t, a, "user@example.com")
			emails := []string{"user@example.com"}
			fail.Store(true)

			steps := []struct {
				name   string
				action string
				send   func() *apptest.Response
			}{
				{"password change", audit.ActionPasswordChange, func() *apptest.Response {
					return c.JSON("POST", "/auth/password", `{"current_password":"correct horse battery","password":"a brand new passphrase"}`)
				}},
				{"reset", audit.ActionPasswordResetComplete, func() *apptest.Response {
					return a.Client(t).JSON("POST", "/auth/password/reset", jsonOf(map[string]string{"token": apptest.TokenOf(link), "password": "a brand new passphrase"}))
				}},
				{"registration", audit.ActionRegister, func() *apptest.Response {
					return a.Client(t).JSON("POST", "/auth/register", `{"email":"new@example.com","password":"correct horse battery"}`)
				}},
				{"email change", audit.ActionEmailChangeRequest, func() *apptest.Response {
					return c.JSON("POST", "/auth/email", `{"email":"changed@example.com"}`)
				}},
				{"deletion", audit.ActionDeleteSchedule, func() *apptest.Response {
					return c.JSON("POST", "/auth/delete", `{"confirm_email":"user@example.com"}`)
				}},
			}
			for _, s := range steps {
				before := snapshot(t, a, emails...)
				rows := len(auditRows(t, a, s.action, ""))
				wantError(t, s.name, s.send(), http.StatusInternalServerError, "internal")
				wantUnchanged(t, s.name+" with the outbox down", a, before, emails...)
				if n := len(auditRows(t, a, s.action, "")); n != rows {
					t.Errorf("%s: got %d audit rows written without the change, want none", s.name, n-rows)
				}
			}
			wantSignedIn(t, other, "user@example.com")
			if _, err := a.Store.UserByEmail(ctx, "new@example.com"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("registration without its email: got UserByEmail %v, want not found", err)
			}

			// The lockout is not held hostage by the outbox.
			for range 5 {
				wantError(t, "wrong password", loginJSON(a.Client(t), "user@example.com", "wrong password"), http.StatusUnauthorized, "invalid_credentials")
			}
			a.Flush(t) // the lock is a job
			if !a.User(t, "user@example.com").LockedUntil.After(a.Clock.Now()) {
				t.Error("outbox down: got no lockout, want it committed without its notice")
			}
			wantAudit(t, a, audit.ActionLockout, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success"})
			if !strings.Contains(logs.String(), "lockout notice not queued") {
				t.Error("outbox down: got no log of the lost lockout notice, want one")
			}

			// With the outbox back, the same reset link still works: its
			// consumption had rolled back too.
			fail.Store(false)
			res := a.Client(t).JSON("POST", "/auth/password/reset", jsonOf(map[string]string{"token": apptest.TokenOf(link), "password": "a brand new passphrase"}))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("reset after recovery: got %d %s, want 200", res.StatusCode, res.Body)
			}
			wantAudit(t, a, audit.ActionPasswordResetComplete, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success"})
			wantAnonymous(t, other)
		})
	}
}
