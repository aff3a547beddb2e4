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

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/testapp"
	"github.com/sigra-go/sigra/store"
)

// TestEmailLinksUseBaseURL (invariant 11): every emailed link is built from
// the configured base URL, whatever Host or forwarding headers the request
// carries.
func TestEmailLinksUseBaseURL(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		newUser(a, "user@example.com")
		c := signedIn(a, "user@example.com")
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
		send := func(c *testapp.Client, path, body string) {
			t.Helper()
			h := evil
			if c.Cookie(sessionCookie) != "" {
				h = signedInEvil
			}
			res := c.Do("POST", path, h, strings.NewReader(body))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %s", path, res.StatusCode, res.Body)
			}
		}
		send(a.Client(), "/auth/register", `{"email":"new@example.com","password":"correct horse battery"}`)
		send(a.Client(), "/auth/register", `{"email":"user@example.com","password":"correct horse battery"}`)
		send(a.Client(), "/auth/confirm/resend", `{"email":"new@example.com"}`)
		send(a.Client(), "/auth/password/forgot", `{"email":"user@example.com"}`)
		send(a.Client(), "/auth/magic", `{"email":"user@example.com"}`)
		send(c, "/auth/email", `{"email":"changed@example.com"}`)
		for range 5 {
			res := c.Do("POST", "/auth/sudo", signedInEvil, strings.NewReader(`{"password":"wrong password"}`))
			wantError(t, "wrong sudo password", res, http.StatusUnauthorized, "invalid_credentials")
		}
		a.Clock.Advance(15 * time.Minute)
		send(c, "/auth/password", `{"current_password":"correct horse battery","password":"a brand new passphrase"}`)
		base, _ := url.Parse(a.URL)
		links := 0
		for _, m := range a.Mails("") {
			for _, part := range []string{m.Text, m.HTML} {
				if strings.Contains(part, "evil.example") {
					t.Errorf("email %q mentions the request's host:\n%s", m.Subject, part)
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
			t.Errorf("checked only %d links", links)
		}
	})
}

// TestNoSecretsStored (invariant 1): no emailed token, nor the session
// token, is stored raw, logged, or put in audit metadata; queued emails are
// sealed.
func TestNoSecretsStored(t *testing.T) {
	t.Parallel()
	for _, b := range testapp.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			logger, logs := newLogger()
			a := testapp.New(t, testapp.Options{Backend: b, Logger: logger})
			newUser(a, "user@example.com")
			c := signedIn(a, "user@example.com")
			a.Client().Post("/auth/register", form("email", "new@example.com", "password", pw))
			a.Client().Post("/auth/password/forgot", form("email", "user@example.com"))
			a.Client().Post("/auth/magic", form("email", "new@example.com"))
			c.Post("/auth/email", form("email", "changed@example.com"))
			// Tokens that were used are worth checking too.
			a.Client().Post("/auth/password/forgot", form("email", "new@example.com"))

			// Read the database while the emails are still queued.
			queued := a.Contents()
			var secrets []string
			for _, m := range a.Mails("") {
				for _, l := range linkRE.FindAllString(m.Text, -1) {
					if tok := testapp.TokenOf(l); tok != "" {
						secrets = append(secrets, tok)
					}
				}
			}
			if len(secrets) != 5 {
				t.Fatalf("found %d emailed tokens, want 5", len(secrets))
			}
			for _, s := range secrets {
				if strings.Contains(string(queued), s) {
					t.Errorf("a token is stored raw while its email is queued")
				}
			}
			// Use two of them: reset a password, sign in with a magic link.
			var reset, magic string
			for _, mm := range a.Mails("new@example.com") {
				for _, l := range linkRE.FindAllString(mm.Text, -1) {
					switch {
					case strings.Contains(l, "/auth/password/reset"):
						reset = testapp.TokenOf(l)
					case strings.Contains(l, "/auth/magic/verify"):
						magic = testapp.TokenOf(l)
					}
				}
			}
			// The magic link first: the reset voids the user's other tokens.
			m := a.Client()
			wantRedirect(t, "magic link", m.Post("/auth/magic/verify", form("token", magic)), "/")
			session := m.Cookie(sessionCookie)
			wantRedirect(t, "reset", a.Client().Post("/auth/password/reset", form("token", reset, "password", "a brand new passphrase")), "/auth/login?notice=reset")
			secrets = append(secrets, c.Cookie(sessionCookie), session)
			for _, s := range secrets[len(secrets)-2:] {
				if s == "" {
					t.Fatal("no session token")
				}
			}
			after := a.Contents()
			for i, s := range secrets {
				if bytes.Contains(queued, []byte(s)) || bytes.Contains(after, []byte(s)) {
					t.Errorf("secret %d is stored raw", i)
				}
				if strings.Contains(logs.String(), s) {
					t.Errorf("secret %d is logged", i)
				}
			}
			// The email bodies are not in the clear either: look for a phrase
			// every email has.
			if bytes.Contains(queued, []byte("Hi,")) || bytes.Contains(queued, []byte("Sigra Test")) {
				t.Error("a queued email body is stored in the clear")
			}
			evs, _, err := a.Store.QueryAudit(ctx, store.AuditQuery{Limit: 100})
			if err != nil || len(evs) < 8 {
				t.Fatalf("audit rows: %d, %v", len(evs), err)
			}
			for _, e := range evs {
				for k, v := range e.Metadata {
					for i, s := range secrets {
						if strings.Contains(v, s) || strings.Contains(k, s) {
							t.Errorf("audit %s metadata %s holds secret %d", e.Action, k, i)
						}
					}
				}
			}
		})
	}
}

// failingOutbox is a store whose Enqueue fails while fail is set, inside
// transactions too.
type failingOutbox struct {
	store.Store
	fail *atomic.Bool
}

var errOutboxDown = errors.New("outbox unavailable")

func (f failingOutbox) Enqueue(ctx context.Context, m *store.Message) error {
	if f.fail.Load() {
		return errOutboxDown
	}
	return f.Store.Enqueue(ctx, m)
}

func (f failingOutbox) WithTx(ctx context.Context, fn func(store.Store) error) error {
	return f.Store.WithTx(ctx, func(tx store.Store) error { return fn(failingOutbox{tx, f.fail}) })
}

// TestChangeAndAuditCommitTogether (invariant 18): when the email that goes
// with a change cannot be queued, the change and its audit row roll back
// together; the lockout alone still commits without its notice.
func TestChangeAndAuditCommitTogether(t *testing.T) {
	t.Parallel()
	for _, b := range testapp.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			var fail atomic.Bool
			logger, logs := newLogger()
			a := testapp.New(t, testapp.Options{Backend: b, Logger: logger, AccountStore: func(s store.Store) store.Store { return failingOutbox{s, &fail} }})
			u := newUser(a, "user@example.com")
			c, other := signedIn(a, "user@example.com"), signedIn(a, "user@example.com")
			link := requestReset(t, a, "user@example.com")
			emails := []string{"user@example.com"}
			fail.Store(true)

			steps := []struct {
				name   string
				action string
				send   func() *testapp.Response
			}{
				{"password change", audit.ActionPasswordChange, func() *testapp.Response {
					return c.JSON("POST", "/auth/password", `{"current_password":"correct horse battery","password":"a brand new passphrase"}`)
				}},
				{"reset", audit.ActionPasswordResetComplete, func() *testapp.Response {
					return a.Client().JSON("POST", "/auth/password/reset", jsonOf(map[string]string{"token": testapp.TokenOf(link), "password": "a brand new passphrase"}))
				}},
				{"registration", audit.ActionRegister, func() *testapp.Response {
					return a.Client().JSON("POST", "/auth/register", `{"email":"new@example.com","password":"correct horse battery"}`)
				}},
				{"email change", audit.ActionEmailChangeRequest, func() *testapp.Response {
					return c.JSON("POST", "/auth/email", `{"email":"changed@example.com"}`)
				}},
				{"deletion", audit.ActionDeleteSchedule, func() *testapp.Response {
					return c.JSON("POST", "/auth/delete", `{"confirm_email":"user@example.com"}`)
				}},
				{"magic link", audit.ActionMagicLinkRequest, func() *testapp.Response {
					return a.Client().JSON("POST", "/auth/magic", `{"email":"user@example.com"}`)
				}},
			}
			for _, s := range steps {
				before := snapshot(t, a, emails...)
				rows := len(auditRows(t, a, s.action, ""))
				wantError(t, s.name, s.send(), http.StatusInternalServerError, "internal")
				wantUnchanged(t, s.name+" with the outbox down", a, before, emails...)
				if n := len(auditRows(t, a, s.action, "")); n != rows {
					t.Errorf("%s: %d audit rows written without the change", s.name, n-rows)
				}
			}
			wantSignedIn(t, other, "user@example.com")
			if _, err := a.Store.UserByEmail(ctx, "new@example.com"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("registration without its email left an account: %v", err)
			}

			// The lockout is not held hostage by the outbox.
			for range 5 {
				wantError(t, "wrong password", loginJSON(a.Client(), "user@example.com", "wrong password"), http.StatusUnauthorized, "invalid_credentials")
			}
			if !a.User("user@example.com").LockedUntil.After(a.Clock.Now()) {
				t.Error("the lockout did not commit while the outbox was down")
			}
			wantAudit(t, a, audit.ActionLockout, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success"})
			if !strings.Contains(logs.String(), "lockout notice not queued") {
				t.Error("the lost lockout notice was not logged")
			}

			// With the outbox back, the same reset link still works: its
			// consumption had rolled back too.
			fail.Store(false)
			res := a.Client().JSON("POST", "/auth/password/reset", jsonOf(map[string]string{"token": testapp.TokenOf(link), "password": "a brand new passphrase"}))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("reset after recovery: %d %s", res.StatusCode, res.Body)
			}
			wantAudit(t, a, audit.ActionPasswordResetComplete, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success"})
			wantAnonymous(t, other)
		})
	}
}
