package mfa_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/mfa"
)

// TestLockout: five wrong codes, TOTP and recovery codes together, lock
// second factors for 15 minutes of the injected clock; the right code is
// refused meanwhile, a new password sign-in does not get round it, and the
// owner is told.
func TestLockout(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, secret, codes := newEnrolledUser(t, a, "user@example.com")
		wrongRecovery := "2222-2222"
		for _, c := range codes {
			if c == wrongRecovery {
				t.Skip("the wrong recovery code is a real one")
			}
		}

		c := a.Client(t)
		signInPending(t, a, c, u.Email)
		fail := func(i int, path string, form url.Values, status int) {
			t.Helper()
			res := c.Post(path, form)
			want(t, "failure "+string(rune('0'+i)), res, status)
		}
		fail(1, "/auth/mfa/challenge", url.Values{"code": {wrongCode(t, a, secret)}}, http.StatusUnauthorized)
		fail(2, "/auth/mfa/recovery", url.Values{"recovery_code": {wrongRecovery}}, http.StatusUnauthorized)
		// Malformed input is refused without counting.
		fail(0, "/auth/mfa/challenge", url.Values{"code": {"12345"}}, http.StatusUnprocessableEntity)
		fail(0, "/auth/mfa/recovery", url.Values{"recovery_code": {"not-a-code"}}, http.StatusUnprocessableEntity)
		fail(3, "/auth/mfa/challenge", url.Values{"code": {wrongCode(t, a, secret)}}, http.StatusUnauthorized)
		fail(4, "/auth/mfa/recovery", url.Values{"recovery_code": {wrongRecovery}}, http.StatusUnauthorized)
		if got := a.User(t, u.Email).FailedMFA; got != 4 {
			t.Fatalf("FailedMFA after four failures: got %d, want 4", got)
		}
		if n := countMails(t, a, u.Email, "Too many two-factor attempts"); n != 0 {
			t.Fatalf("lockout notice before the lock: %d", n)
		}
		lockedAt := a.Clock.Now()
		fail(5, "/auth/mfa/challenge", url.Values{"code": {wrongCode(t, a, secret)}}, http.StatusTooManyRequests)

		usr := a.User(t, u.Email)
		if !usr.MFALockedUntil.Equal(lockedAt.Add(15 * time.Minute)) {
			t.Fatalf("locked until %s, want %s", usr.MFALockedUntil, lockedAt.Add(15*time.Minute))
		}
		ev := wantAudits(t, a, u.ID, "security.lockout.mfa", 1)
		if ev[0].SubjectID != u.ID {
			t.Fatalf("lockout audit: %+v", ev[0])
		}
		wantAudits(t, a, u.ID, "mfa.challenge.failure", 5)
		m := a.LastMail(t, u.Email)
		if !strings.Contains(m.Subject, "Too many two-factor attempts") || !strings.Contains(m.Text, "15 minutes") {
			t.Fatalf("lockout notice: %q\n%s", m.Subject, m.Text)
		}

		// Locked: the right TOTP code and a real recovery code are refused
		// and not spent.
		step := totpRow(t, a, u.ID).LastStep
		res := c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}})
		want(t, "right code while locked", res, http.StatusTooManyRequests)
		res = post(t, c, "/auth/mfa/recovery", map[string]any{"recovery_code": codes[0]})
		want(t, "recovery code while locked", res, http.StatusTooManyRequests)
		if got := errCode(t, res); got != "mfa_locked" {
			t.Fatalf("error %q, want mfa_locked", got)
		}
		if totpRow(t, a, u.ID).LastStep != step || recoveryLeft(t, a, u.ID) != 10 {
			t.Fatal("a refused code was spent while locked")
		}
		wantState(t, a, c, "pending", 0)

		// Signing in with the password again does not lift the lock.
		a.Clock.Advance(10 * time.Minute)
		c = a.Client(t)
		signInPending(t, a, c, u.Email)
		want(t, "right code after a new sign-in", c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), http.StatusTooManyRequests)
		a.Clock.Advance(5*time.Minute - time.Second)
		want(t, "right code at 14:59", c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), http.StatusTooManyRequests)
		if n := countMails(t, a, u.Email, "Too many two-factor attempts"); n != 1 {
			t.Fatalf("lockout notices: got %d, want 1", n)
		}

		// At 15 minutes the lock is over.
		a.Clock.Advance(time.Second)
		c = a.Client(t)
		signInPending(t, a, c, u.Email)
		wantRedirect(t, "right code after the lock", c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), "/")
		wantState(t, a, c, "authenticated", 2, "password", "totp")
		if got := a.User(t, u.Email).FailedMFA; got != 0 {
			t.Fatalf("FailedMFA after a success: got %d, want 0", got)
		}
	})
}

// TestLockoutCoversSudo: sudo codes share the lockout.
func TestLockoutCoversSudo(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		for range 5 {
			want(t, "wrong sudo code", c.Post("/auth/sudo", url.Values{"code": {wrongCode(t, a, secret)}}), http.StatusUnauthorized)
		}
		wantAudits(t, a, u.ID, "security.lockout.mfa", 1)
		want(t, "right sudo code while locked", c.Post("/auth/sudo", url.Values{"code": {code(t, a, secret)}}), http.StatusUnauthorized)
		p := a.Client(t)
		signInPending(t, a, p, u.Email)
		want(t, "challenge while locked", p.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), http.StatusTooManyRequests)
	})
}

// TestConcurrentGuessesBounded: the lockout is read with the session, so
// a burst of guesses sent at once all pass that check; still no more codes
// are compared than a sequence of requests gets before the lock.
func TestConcurrentGuessesBounded(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		// 10 pending sessions, each sending four guesses at once.
		var clients []*apptest.Client
		for range 10 {
			c := a.Client(t)
			signInPending(t, a, c, u.Email)
			clients = append(clients, c, c, c, c)
		}
		statuses := race(t, a, clients, "/auth/mfa/challenge", map[string]any{"code": wrongCode(t, a, secret)})
		if n := countStatus(statuses, http.StatusUnauthorized) + countStatus(statuses, http.StatusTooManyRequests); n != len(clients) {
			t.Fatalf("statuses %v: want only 401 and 429", statuses)
		}
		if n := len(audits(t, a, u.ID, "mfa.challenge.failure")); n > 5 {
			t.Fatalf("%d guesses were compared, want at most 5", n)
		}
		if usr := a.User(t, u.Email); !a.Clock.Now().Before(usr.MFALockedUntil) {
			t.Fatal("the burst did not lock second factors")
		}
		if n := len(audits(t, a, u.ID, "security.lockout.mfa")); n < 1 {
			t.Fatal("no lockout recorded")
		}
	})
}

// TestAttemptLimit: set-up codes do not count towards the lockout (the
// user is proving their own new secret) but are limited to 20 per 15
// minutes per user, with Retry-After.
func TestAttemptLimit(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		u := a.CreateUser(t, "user@example.com", pw)
		c := a.Client(t)
		c.SignIn(u.Email, pw)
		e := startEnrollment(t, a, c)
		bad := wrongCode(t, a, e.Secret)
		for i := range 20 {
			res := post(t, c, "/auth/mfa/setup", map[string]any{"code": bad, "enrollment": e.Enrollment})
			want(t, "wrong set-up code "+string(rune('a'+i)), res, http.StatusUnprocessableEntity)
		}
		res := post(t, c, "/auth/mfa/setup", map[string]any{"code": code(t, a, e.Secret), "enrollment": e.Enrollment})
		want(t, "21st attempt", res, http.StatusTooManyRequests)
		if got := errCode(t, res); got != "rate_limited" || res.Header.Get("Retry-After") == "" {
			t.Fatalf("21st attempt: error %q, Retry-After %q", got, res.Header.Get("Retry-After"))
		}
		if usr := a.User(t, u.Email); usr.FailedMFA != 0 {
			t.Fatalf("set-up codes counted towards the lockout: %d", usr.FailedMFA)
		}
		a.Clock.Advance(15 * time.Minute)
		c = a.Client(t)
		c.SignIn(u.Email, pw)
		res = post(t, c, "/auth/mfa/setup", map[string]any{"code": code(t, a, e.Secret), "enrollment": e.Enrollment})
		want(t, "after the window", res, http.StatusOK)
	})
}

// lockoutMailFails refuses to send the lockout notice and passes every
// other message on.
type lockoutMailFails struct{ next mail.Sender }

func (l lockoutMailFails) Send(ctx context.Context, m *mail.Message) error {
	if strings.Contains(m.Subject, "Too many two-factor attempts") {
		return errors.New("mail is down")
	}
	return l.next.Send(ctx, m)
}

// TestLockoutWithoutMail: a lockout notice that cannot be queued does not
// undo the lock.
func TestLockoutWithoutMail(t *testing.T) {
	t.Parallel()
	opt := options{mfa: func(c *mfa.Config) { c.Mail = lockoutMailFails{c.Mail} }}
	eachWith(t, opt, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		c := a.Client(t)
		signInPending(t, a, c, u.Email)
		for range 4 {
			want(t, "wrong code", c.Post("/auth/mfa/challenge", url.Values{"code": {wrongCode(t, a, secret)}}), http.StatusUnauthorized)
		}
		want(t, "fifth wrong code", c.Post("/auth/mfa/challenge", url.Values{"code": {wrongCode(t, a, secret)}}), http.StatusTooManyRequests)
		if usr := a.User(t, u.Email); !a.Clock.Now().Before(usr.MFALockedUntil) {
			t.Fatal("not locked")
		}
		wantAudits(t, a, u.ID, "security.lockout.mfa", 1)
		want(t, "right code while locked", c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), http.StatusTooManyRequests)
		if n := countMails(t, a, u.Email, "Too many"); n != 0 {
			t.Fatalf("got %d lockout notices from a failing mailer", n)
		}
	})
}
