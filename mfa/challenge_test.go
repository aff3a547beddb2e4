package mfa_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/apptest"
)

// TestSecondFactorSignIn: an enrolled user's password sign-in stops in the
// pending state, where no page treats the user as signed in, and the
// challenge completes it at AAL2 with a new session token.
func TestSecondFactorSignIn(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		c := a.Client(t)
		res := c.Post("/auth/login", url.Values{"email": {u.Email}, "password": {pw}, "return_to": {"/private"}})
		wantRedirect(t, "password sign-in", res, "/auth/mfa/challenge?return_to=%2Fprivate")
		wantState(t, a, c, "pending", 0)
		if i := whoami(t, a, c); i.SignedIn || i.User.Email != "" {
			t.Fatalf("pending session reports a signed-in user: %+v", i)
		}
		// sigra.UserFrom is nil below the session: the home page greets no one.
		if res := c.Get("/"); res.Body != "home" {
			t.Fatalf("home page while pending: got %q, want %q", res.Body, "home")
		}
		wantRedirect(t, "private page while pending", c.Get("/private"), "/auth/mfa/challenge?return_to=%2Fprivate")
		res = c.JSON("GET", "/private", "")
		want(t, "private JSON while pending", res, http.StatusUnauthorized)

		res = c.Get("/auth/mfa/challenge?return_to=%2Fprivate")
		want(t, "challenge page", res, http.StatusOK)
		for _, s := range []string{`name="code"`, `name="trust"`, `name="return_to" value="/private"`, `href="/auth/mfa/recovery"`} {
			if !strings.Contains(res.Body, s) {
				t.Errorf("challenge page lacks %s", s)
			}
		}
		res = c.JSON("GET", "/auth/mfa/challenge", "")
		want(t, "challenge JSON", res, http.StatusOK)
		if b := body(t, res); b["allow_trust"] != true || b["trust_days"] != float64(30) || b["expires_at"] == nil {
			t.Fatalf("challenge JSON: %v", b)
		}

		before := c.Cookie("sigra_session")
		res = c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}, "return_to": {"/private"}})
		wantRedirect(t, "challenge", res, "/private")
		if after := c.Cookie("sigra_session"); after == before || after == "" {
			t.Fatal("the session token was not renewed by the second factor")
		}
		wantState(t, a, c, "authenticated", 2, "password", "totp")
		if res := c.Get("/private"); res.StatusCode != http.StatusOK || res.Body != "private of user@example.com" {
			t.Fatalf("private page: %d %q", res.StatusCode, res.Body)
		}
		if res := c.Get("/secure"); res.StatusCode != http.StatusOK {
			t.Fatalf("AAL2 page: got %d, want 200", res.StatusCode)
		}
		wantAudits(t, a, u.ID, "mfa.challenge.success", 1)
		ev := audits(t, a, u.ID, "auth.login.success")
		if len(ev) == 0 || ev[0].Metadata["aal"] != "2" || ev[0].Metadata["method"] != "password" {
			t.Fatalf("sign-in audit: got %+v, want one at AAL2 by password", ev)
		}

		// A signed-in AAL2 user has no challenge to answer.
		res = c.JSON("GET", "/auth/mfa/challenge", "")
		want(t, "challenge JSON when signed in", res, http.StatusUnauthorized)
	})
}

// TestChallengeJSON signs in through the JSON API.
func TestChallengeJSON(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		c := a.Client(t)
		res := post(t, c, "/auth/login", map[string]any{"email": u.Email, "password": pw})
		want(t, "sign-in", res, http.StatusOK)
		if b := body(t, res); b["mfa_required"] != true || b["next"] != "/auth/mfa/challenge" {
			t.Fatalf("sign-in answer: %v", b)
		}
		res = post(t, c, "/auth/mfa/challenge", map[string]any{"code": "000000"})
		if code(t, a, secret) != "000000" {
			want(t, "wrong code", res, http.StatusUnauthorized)
			if got := errCode(t, res); got != "invalid_code" {
				t.Fatalf("error %q, want invalid_code", got)
			}
		}
		res = post(t, c, "/auth/mfa/challenge", map[string]any{"code": code(t, a, secret), "return_to": "/secure"})
		want(t, "right code", res, http.StatusOK)
		if b := body(t, res); b["ok"] != true || b["next"] != "/secure" {
			t.Fatalf("challenge answer: %v", b)
		}
		wantState(t, a, c, "authenticated", 2, "password", "totp")
		if res := c.JSON("GET", "/secure", ""); res.StatusCode != http.StatusOK {
			t.Fatalf("AAL2 route: got %d", res.StatusCode)
		}
	})
}

// TestPendingExpires: the pending state lasts five minutes of the
// injected clock.
func TestPendingExpires(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		early, late, lateJSON := a.Client(t), a.Client(t), a.Client(t)
		signInPending(t, a, late, u.Email)
		signInPending(t, a, lateJSON, u.Email)
		a.Clock.Advance(time.Second)
		signInPending(t, a, early, u.Email)
		step := totpRow(t, a, u.ID).LastStep

		a.Clock.Advance(5*time.Minute - time.Second) // late: exactly 5 minutes; early: 1 second less
		res := late.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}})
		wantRedirect(t, "challenge after 5 minutes", res, "/auth/login?notice=mfa_expired")
		wantState(t, a, late, "anonymous", 0)
		res = post(t, lateJSON, "/auth/mfa/challenge", map[string]any{"code": code(t, a, secret)})
		want(t, "JSON challenge after 5 minutes", res, http.StatusUnauthorized)
		if got := errCode(t, res); got != "unauthenticated" {
			t.Fatalf("error %q, want unauthenticated", got)
		}
		if got := totpRow(t, a, u.ID).LastStep; got != step {
			t.Fatalf("an expired sign-in used up a step: last step %d, want %d", got, step)
		}
		wantRedirect(t, "challenge page after 5 minutes", late.Get("/auth/mfa/challenge"), "/auth/login")

		res = early.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}})
		wantRedirect(t, "challenge after 4:59", res, "/")
		wantState(t, a, early, "authenticated", 2)
	})
}

// TestNoSingleFactorSignIn: an enrolled user never reaches an
// authenticated session with one factor: not by password, not by magic
// link, not after a password reset.
func TestNoSingleFactorSignIn(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")

		t.Run("magic link", func(t *testing.T) {
			c := a.Client(t)
			want(t, "magic link request", c.Post("/auth/magic", url.Values{"email": {u.Email}}), http.StatusOK)
			link := apptest.Link(t, a.LastMail(t, u.Email), "/auth/magic/verify")
			want(t, "magic link page", c.Get(link), http.StatusOK)
			wantState(t, a, c, "anonymous", 0)
			res := c.Post("/auth/magic/verify", url.Values{"token": {apptest.TokenOf(link)}})
			wantRedirect(t, "magic link", res, "/auth/mfa/challenge")
			wantState(t, a, c, "pending", 0)
			wantRedirect(t, "private page", c.Get("/private"), "/auth/mfa/challenge?return_to=%2Fprivate")
			res = c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}})
			wantRedirect(t, "challenge", res, "/")
			wantState(t, a, c, "authenticated", 2, "magic_link", "totp")
			nextStep(a)
		})

		t.Run("password reset", func(t *testing.T) {
			c := a.Client(t)
			want(t, "reset request", c.Post("/auth/password/forgot", url.Values{"email": {u.Email}}), http.StatusOK)
			link := apptest.Link(t, a.LastMail(t, u.Email), "/auth/password/reset")
			const newPW = "a brand new passphrase"
			res := c.Post("/auth/password/reset", url.Values{"token": {apptest.TokenOf(link)}, "password": {newPW}})
			wantRedirect(t, "reset", res, "/auth/login?notice=reset")
			wantState(t, a, c, "anonymous", 0) // a reset never signs in
			res = c.Post("/auth/login", url.Values{"email": {u.Email}, "password": {newPW}})
			wantRedirect(t, "sign-in with the new password", res, "/auth/mfa/challenge")
			wantState(t, a, c, "pending", 0)
			res = c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}})
			wantRedirect(t, "challenge", res, "/")
			wantState(t, a, c, "authenticated", 2, "password", "totp")
		})
	})
}

// TestReplay: a code is accepted once, whichever flow used it first.
func TestReplay(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		c1, c2 := a.Client(t), a.Client(t)
		signInPending(t, a, c1, u.Email)
		signInPending(t, a, c2, u.Email)
		x := code(t, a, secret)
		wantRedirect(t, "first use", c1.Post("/auth/mfa/challenge", url.Values{"code": {x}}), "/")
		want(t, "second use", c2.Post("/auth/mfa/challenge", url.Values{"code": {x}}), http.StatusUnauthorized)
		wantState(t, a, c2, "pending", 0)
		if got := a.User(t, u.Email).FailedMFA; got != 1 {
			t.Fatalf("FailedMFA after a replay: got %d, want 1", got)
		}
		ev := audits(t, a, u.ID, "mfa.challenge.failure")
		if len(ev) != 1 || ev[0].Metadata["method"] != "totp_replay" || ev[0].Outcome != "failure" {
			t.Fatalf("replay audit: got %+v", ev)
		}
		// A step never used, inside the drift window, is refused once a
		// later step was accepted.
		a.Clock.Advance(60 * time.Second)
		prev := codeAt(t, secret, a.Clock.Now().Add(-30*time.Second))
		if prev == code(t, a, secret) {
			t.Skip("two consecutive steps share a code")
		}
		wantRedirect(t, "next step", c2.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), "/")
		c3 := a.Client(t)
		signInPending(t, a, c3, u.Email)
		want(t, "the step before the last used one", c3.Post("/auth/mfa/challenge", url.Values{"code": {prev}}), http.StatusUnauthorized)
	})
}

// TestConcurrentChallenge: of two pending sessions submitting one valid
// code at once, exactly one signs in.
func TestConcurrentChallenge(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		for round := range 4 {
			clients := []*apptest.Client{a.Client(t), a.Client(t)}
			for _, c := range clients {
				signInPending(t, a, c, u.Email)
			}
			statuses := race(t, a, clients, "/auth/mfa/challenge", map[string]any{"code": code(t, a, secret)})
			if countStatus(statuses, http.StatusOK) != 1 || countStatus(statuses, http.StatusUnauthorized) != 1 {
				t.Fatalf("round %d: statuses %v, want one 200 and one 401", round, statuses)
			}
			signedIn := 0
			for _, c := range clients {
				if whoami(t, a, c).State == "authenticated" {
					signedIn++
				}
			}
			if signedIn != 1 {
				t.Fatalf("round %d: %d sessions signed in, want 1", round, signedIn)
			}
			nextStep(a)
		}
	})
}

// TestDrift: codes one step either side of now are accepted, two steps
// are not.
func TestDrift(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		a.Clock.Advance(5 * 30 * time.Second)
		now := a.Clock.Now()
		cur := now.Unix() / 30
		for _, tc := range []struct {
			steps int64
			ok    bool
		}{
			// In order of step: an accepted step refuses every step at or below it.
			{-2, false},
			{-1, true},
			{+2, false},
			{+1, true},
		} {
			c := a.Client(t)
			signInPending(t, a, c, u.Email)
			x := codeAt(t, secret, time.Unix((cur+tc.steps)*30, 0))
			if !tc.ok {
				for d := int64(-1); d <= 1; d++ {
					if x == codeAt(t, secret, time.Unix((cur+d)*30, 0)) {
						t.Skipf("the code of step %+d equals the code of step %+d", tc.steps, d)
					}
				}
			}
			res := c.Post("/auth/mfa/challenge", url.Values{"code": {x}})
			if tc.ok {
				wantRedirect(t, "drift", res, "/")
				if got := totpRow(t, a, u.ID).LastStep; got != cur+tc.steps {
					t.Fatalf("drift %+d: last step %d, want %d", tc.steps, got, cur+tc.steps)
				}
			} else {
				want(t, "drift", res, http.StatusUnauthorized)
			}
		}
	})
}

// TestRefusedFormsKeepReturnTo: a form refused after its POST shows again
// with the return_to it posted (the request's query has none), so the
// user still lands where they were going.
func TestRefusedFormsKeepReturnTo(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		pending := a.Client(t)
		signInPending(t, a, pending, u.Email)
		a.CreateUser(t, "new@example.com", pw)
		fresh := a.Client(t)
		fresh.SignIn("new@example.com", pw)
		freshSecret, enrollment := setupPage(t, fresh.Get("/auth/mfa/setup"))

		tests := []struct {
			name   string
			c      *apptest.Client
			path   string
			fields url.Values
			status int
		}{
			{"wrong code", pending, "/auth/mfa/challenge", url.Values{"code": {wrongCode(t, a, secret)}}, http.StatusUnauthorized},
			{"malformed code", pending, "/auth/mfa/challenge", url.Values{"code": {"12"}}, http.StatusUnprocessableEntity},
			{"wrong recovery code", pending, "/auth/mfa/recovery", url.Values{"recovery_code": {"7KQM-3XWP"}}, http.StatusUnauthorized},
			{"wrong first code at set-up", fresh, "/auth/mfa/setup", url.Values{"code": {wrongCode(t, a, freshSecret)}, "enrollment": {enrollment}}, http.StatusUnprocessableEntity},
		}
		for _, tc := range tests {
			tc.fields.Set("return_to", "/private?tab=2")
			res := tc.c.Post(tc.path, tc.fields)
			want(t, tc.name, res, tc.status)
			if !strings.Contains(res.Body, `name="return_to" value="/private?tab=2"`) {
				t.Errorf("%s: the page again lacks the posted return_to:\n%s", tc.name, res.Body)
			}
		}
	})
}
