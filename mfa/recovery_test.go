package mfa_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/apptest"
)

// TestRecoveryCodeSignIn: a recovery code completes a pending sign-in
// once, typed in any case with or without the dash, and its owner is told
// how many are left.
func TestRecoveryCodeSignIn(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, _, codes := newEnrolledUser(t, a, "user@example.com")
		c := a.Client(t)
		signInPending(t, a, c, u.Email)
		res := c.Get("/auth/mfa/recovery")
		want(t, "recovery page", res, http.StatusOK)
		if !strings.Contains(res.Body, `name="recovery_code"`) || !strings.Contains(res.Body, `name="trust"`) {
			t.Fatal("recovery page lacks its fields")
		}
		for _, in := range []string{sloppy(codes[0]), strings.ToLower(strings.ReplaceAll(codes[1], "-", ""))} {
			c := a.Client(t)
			signInPending(t, a, c, u.Email)
			before := c.Cookie("sigra_session")
			res = c.Post("/auth/mfa/recovery", url.Values{"recovery_code": {in}})
			wantRedirect(t, "recovery code "+in, res, "/")
			if c.Cookie("sigra_session") == before {
				t.Fatal("the session token was not renewed")
			}
			wantState(t, a, c, "authenticated", 2, "password", "recovery_code")
		}
		if n := recoveryLeft(t, a, u.ID); n != 8 {
			t.Fatalf("codes left: got %d, want 8", n)
		}
		m := a.LastMail(t, u.Email)
		if !strings.Contains(m.Subject, "A recovery code was used") || !strings.Contains(m.Text, "8 recovery codes left") {
			t.Fatalf("notice: %q\n%s", m.Subject, m.Text)
		}
		if n := countMails(t, a, u.Email, "A recovery code was used"); n != 2 {
			t.Fatalf("recovery notices: got %d, want 2", n)
		}
		ev := wantAudits(t, a, u.ID, "mfa.recovery_code.use", 2)
		if ev[0].Metadata["remaining"] != "8" {
			t.Fatalf("audit metadata: %v", ev[0].Metadata)
		}

		// Single use: the same code again, in its printed form, is refused.
		c2 := a.Client(t)
		signInPending(t, a, c2, u.Email)
		res = c2.Post("/auth/mfa/recovery", url.Values{"recovery_code": {codes[0]}})
		want(t, "used code", res, http.StatusUnauthorized)
		wantState(t, a, c2, "pending", 0)
		if n := recoveryLeft(t, a, u.ID); n != 8 {
			t.Fatalf("codes left after a refused code: got %d, want 8", n)
		}

		// JSON, with the count left in the answer.
		res = post(t, c2, "/auth/mfa/recovery", map[string]any{"recovery_code": codes[2]})
		want(t, "JSON recovery", res, http.StatusOK)
		if b := body(t, res); b["ok"] != true || b["recovery_codes_left"] != float64(7) || b["next"] != "/" {
			t.Fatalf("JSON recovery answer: %v", b)
		}
		wantState(t, a, c2, "authenticated", 2, "password", "recovery_code")
	})
}

// TestConcurrentRecoveryCode: of two sessions spending one code at once,
// exactly one signs in.
func TestConcurrentRecoveryCode(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, _, codes := newEnrolledUser(t, a, "user@example.com")
		for round := range 3 {
			clients := []*apptest.Client{a.Client(t), a.Client(t)}
			for _, c := range clients {
				signInPending(t, a, c, u.Email)
			}
			statuses := race(t, a, clients, "/auth/mfa/recovery", map[string]any{"recovery_code": codes[round]})
			if countStatus(statuses, http.StatusOK) != 1 || countStatus(statuses, http.StatusUnauthorized) != 1 {
				t.Fatalf("round %d: statuses %v, want one 200 and one 401", round, statuses)
			}
			if n := recoveryLeft(t, a, u.ID); n != 10-round-1 {
				t.Fatalf("round %d: codes left %d, want %d", round, n, 10-round-1)
			}
		}
		wantAudits(t, a, u.ID, "mfa.recovery_code.use", 3)
	})
}

// TestRegenerateRecoveryCodes: a new set needs sudo and a current TOTP
// code, and the old set stops working.
func TestRegenerateRecoveryCodes(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, secret, old := newEnrolledUser(t, a, "user@example.com")
		const path = "/auth/mfa/recovery-codes/regenerate"

		for _, tc := range []struct {
			name, code string
			status     int
			errCode    string
		}{
			{"no code", "", http.StatusUnprocessableEntity, "invalid_input"},
			{"a recovery code", old[0], http.StatusUnprocessableEntity, "invalid_input"},
			{"wrong code", wrongCode(t, a, secret), http.StatusUnauthorized, "invalid_code"},
		} {
			res := post(t, c, path, map[string]any{"code": tc.code})
			want(t, tc.name, res, tc.status)
			if got := errCode(t, res); got != tc.errCode {
				t.Fatalf("%s: error %q, want %q", tc.name, got, tc.errCode)
			}
		}
		if n := recoveryLeft(t, a, u.ID); n != 10 {
			t.Fatalf("codes after refusals: got %d, want 10 (nothing spent, nothing replaced)", n)
		}
		wantAudits(t, a, u.ID, "mfa.recovery_codes.regenerate", 0)

		// Sudo is required.
		a.Clock.Advance(11 * time.Minute)
		res := post(t, c, path, map[string]any{"code": code(t, a, secret)})
		want(t, "after the sudo window", res, http.StatusForbidden)
		if got := errCode(t, res); got != "sudo_required" {
			t.Fatalf("error %q, want sudo_required", got)
		}
		wantRedirect(t, "sudo", c.Post("/auth/sudo", url.Values{"password": {pw}}), "/auth/settings")

		// HTML: the page shows the new codes once.
		res = c.Post(path, url.Values{"code": {code(t, a, secret)}})
		want(t, "regenerate", res, http.StatusOK)
		var fresh []string
		for _, m := range codeListRE.FindAllStringSubmatch(res.Body, -1) {
			fresh = append(fresh, m[1])
		}
		checkCodes(t, fresh)
		for _, f := range fresh {
			for _, o := range old {
				if f == o {
					t.Fatalf("code %s is in both sets", f)
				}
			}
		}
		if n := countMails(t, a, u.Email, "New recovery codes"); n != 1 {
			t.Fatalf("regeneration notices: got %d, want 1 (mail: %v)", n, subjects(t, a, u.Email))
		}
		wantAudits(t, a, u.ID, "mfa.recovery_codes.regenerate", 1)

		p := a.Client(t)
		signInPending(t, a, p, u.Email)
		want(t, "old code", p.Post("/auth/mfa/recovery", url.Values{"recovery_code": {old[1]}}), http.StatusUnauthorized)
		wantRedirect(t, "new code", p.Post("/auth/mfa/recovery", url.Values{"recovery_code": {fresh[0]}}), "/")

		// JSON: the same code cannot regenerate twice.
		nextStep(a)
		x := code(t, a, secret)
		res = post(t, c, path, map[string]any{"code": x})
		want(t, "JSON regenerate", res, http.StatusOK)
		if n := len(body(t, res)["recovery_codes"].([]any)); n != 10 {
			t.Fatalf("JSON regenerate: %d codes", n)
		}
		want(t, "replayed code", post(t, c, path, map[string]any{"code": x}), http.StatusUnauthorized)
	})
}
