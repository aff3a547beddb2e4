package mfa_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// TestDisable: turning MFA off needs sudo and a current code; it removes
// the secret, the recovery codes and the trusted browsers, and tells the
// owner.
func TestDisable(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		const path = "/auth/mfa/disable"
		for _, tc := range []struct {
			name    string
			fields  map[string]any
			status  int
			errCode string
		}{
			{"no code", map[string]any{}, http.StatusUnprocessableEntity, "invalid_input"},
			{"malformed", map[string]any{"code": "12 34"}, http.StatusUnprocessableEntity, "invalid_input"},
			{"wrong code", map[string]any{"code": wrongCode(t, a, secret)}, http.StatusUnauthorized, "invalid_code"},
			{"wrong recovery code", map[string]any{"recovery_code": "2222-2222"}, http.StatusUnauthorized, "invalid_code"},
		} {
			res := post(t, c, path, tc.fields)
			want(t, tc.name, res, tc.status)
			if got := errCode(t, res); got != tc.errCode {
				t.Fatalf("%s: error %q, want %q", tc.name, got, tc.errCode)
			}
		}
		// HTML errors re-render the settings page with the field's error.
		res := c.Post(path, url.Values{"code": {wrongCode(t, a, secret)}})
		want(t, "HTML wrong code", res, http.StatusUnauthorized)
		if !strings.Contains(res.Body, "That code is not valid.") || !strings.Contains(res.Body, "Turn off two-factor authentication") {
			t.Fatal("the settings page does not show the error")
		}
		totpRow(t, a, u.ID) // still enrolled

		// Sudo is required.
		a.Clock.Advance(11 * time.Minute)
		res = post(t, c, path, map[string]any{"code": code(t, a, secret)})
		want(t, "after the sudo window", res, http.StatusForbidden)
		wantRedirect(t, "HTML after the sudo window", c.Post(path, url.Values{"code": {code(t, a, secret)}}), "/auth/sudo")
		wantRedirect(t, "sudo", c.Post("/auth/sudo", url.Values{"password": {pw}}), "/auth/settings")

		res = post(t, c, path, map[string]any{"code": code(t, a, secret)})
		want(t, "disable", res, http.StatusOK)
		if b := body(t, res); b["next"] != "/auth/mfa?notice=mfa_disabled" {
			t.Fatalf("disable answer: %v", b)
		}
		checkDisabled(t, a, u)

		res = c.JSON("GET", "/auth/mfa", "")
		if b := body(t, res); b["enabled"] != false || b["recovery_codes_left"] != float64(0) {
			t.Fatalf("settings after disable: %v", b)
		}
		want(t, "disable again", post(t, c, path, map[string]any{"code": code(t, a, secret)}), http.StatusConflict)
		want(t, "regenerate when off", post(t, c, "/auth/mfa/recovery-codes/regenerate", map[string]any{"code": code(t, a, secret)}), http.StatusConflict)

		// The next sign-in has one factor.
		c2 := a.Client(t)
		wantRedirect(t, "sign-in", c2.SignIn(u.Email, pw), "/")
		wantState(t, a, c2, "authenticated", 1, "password")
	})
}

func checkDisabled(t *testing.T, a *app, u *store.User) {
	t.Helper()
	if _, err := a.Store.TOTPByUser(context.Background(), u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TOTP row after disable: %v", err)
	}
	if n := recoveryLeft(t, a, u.ID); n != 0 {
		t.Fatalf("recovery codes after disable: %d", n)
	}
	if n := trustedCount(t, a, u.ID); n != 0 {
		t.Fatalf("trusted browsers after disable: %d", n)
	}
	if n := countMails(t, a, u.Email, "Two-factor authentication was turned off"); n != 1 {
		t.Fatalf("disable notices: got %d, want 1 (mail: %v)", n, subjects(t, a, u.Email))
	}
	wantAudits(t, a, u.ID, "mfa.totp.disable", 1)
}

// TestDisableWithRecoveryCode: a lost phone is no obstacle: a recovery
// code, in either field and typed loosely, turns MFA off.
func TestDisableWithRecoveryCode(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"code", "recovery_code"} {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			each(t, func(t *testing.T, a *app) {
				c, u, _, codes := newEnrolledUser(t, a, "user@example.com")
				trustBrowser(t, a, a.Client(t), u.Email, mustSecret(t, a, u))
				res := c.Post("/auth/mfa/disable", url.Values{field: {sloppy(codes[3])}})
				wantRedirect(t, "disable", res, "/auth/mfa?notice=mfa_disabled")
				checkDisabled(t, a, u)
				wantAudits(t, a, u.ID, "mfa.recovery_code.use", 1)
			})
		})
	}
}

// mustSecret opens the user's stored secret.
func mustSecret(t *testing.T, a *app, u *store.User) string {
	t.Helper()
	return openSecret(t, a.Keys, u.ID, totpRow(t, a, u.ID).Sealed)
}

// TestSudoWithCode: account's re-authentication page accepts a TOTP code,
// once.
func TestSudoWithCode(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		a.Clock.Advance(11 * time.Minute)
		res := c.Get("/billing")
		wantRedirect(t, "billing after the sudo window", res, "/auth/sudo?return_to=%2Fbilling")
		res = c.Get("/auth/sudo?return_to=%2Fbilling")
		want(t, "sudo page", res, http.StatusOK)
		if !strings.Contains(res.Body, `name="code"`) {
			t.Fatal("the sudo page offers no code field to an enrolled user")
		}
		x := code(t, a, secret)
		before := c.Cookie("sigra_session")
		wantRedirect(t, "sudo with a code", c.Post("/auth/sudo", url.Values{"code": {x}, "return_to": {"/billing"}}), "/billing")
		if c.Cookie("sigra_session") == before {
			t.Fatal("sudo did not renew the session token")
		}
		want(t, "billing", c.Get("/billing"), http.StatusOK)
		ev := audits(t, a, u.ID, "auth.sudo")
		if len(ev) != 1 || ev[0].Metadata["method"] != "totp" || ev[0].Outcome != "success" {
			t.Fatalf("sudo audit: %+v", ev)
		}
		if got := totpRow(t, a, u.ID).LastStep; got != a.Clock.Now().Unix()/30 {
			t.Fatalf("last step after sudo: %d", got)
		}

		// The same code again, from this session or another, is refused.
		want(t, "replayed sudo code", c.Post("/auth/sudo", url.Values{"code": {x}}), http.StatusUnauthorized)
		p := a.Client(t)
		signInPending(t, a, p, u.Email)
		want(t, "sudo code reused at sign-in", p.Post("/auth/mfa/challenge", url.Values{"code": {x}}), http.StatusUnauthorized)

		// A user without MFA gains nothing by posting codes, and is not
		// locked out or mailed about second factors they do not have.
		plain := a.CreateUser(t, "plain@example.com", pw)
		pc := a.Client(t)
		pc.SignIn(plain.Email, pw)
		for range 6 {
			if res := pc.Post("/auth/sudo", url.Values{"code": {"123456"}}); res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("code without MFA: got %d, want 401 or 422", res.StatusCode)
			}
		}
		want(t, "sudo page still works", pc.Post("/auth/sudo", url.Values{"password": {pw}}), http.StatusSeeOther)
		if usr := a.User(t, plain.Email); usr.FailedMFA != 0 || !usr.MFALockedUntil.IsZero() {
			t.Fatalf("a user without MFA was counted: %+v", usr)
		}
		if n := countMails(t, a, plain.Email, "two-factor"); n != 0 {
			t.Fatalf("a user without MFA got %d two-factor emails", n)
		}
	})
}

// TestRequireAAL2: a route that needs two factors sends a one-factor user
// to set up MFA and back; an enrolled one-factor session steps up.
func TestRequireAAL2(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		u := a.CreateUser(t, "user@example.com", pw)
		other := a.Client(t)
		other.SignIn(u.Email, pw) // stays at AAL1 while the user enrolls elsewhere
		c := a.Client(t)
		c.SignIn(u.Email, pw)
		wantState(t, a, c, "authenticated", 1, "password")

		res := c.Get("/secure")
		wantRedirect(t, "AAL2 route at AAL1", res, "/auth/mfa/setup?return_to=%2Fsecure")
		res = c.JSON("GET", "/secure", "")
		want(t, "AAL2 route at AAL1 (JSON)", res, http.StatusForbidden)
		if got := errCode(t, res); got != "aal2_required" {
			t.Fatalf("error %q, want aal2_required", got)
		}
		// The challenge is no way round it for a user without MFA.
		wantRedirect(t, "challenge page without MFA", c.Get("/auth/mfa/challenge"), "/auth/mfa/setup")

		res = c.Get("/auth/mfa/setup?return_to=%2Fsecure")
		want(t, "set-up page", res, http.StatusOK)
		secret, enrollment := setupPage(t, res)
		if !strings.Contains(res.Body, `name="return_to" value="/secure"`) {
			t.Fatal("the set-up form drops return_to")
		}
		res = c.Post("/auth/mfa/setup", url.Values{"code": {code(t, a, secret)}, "enrollment": {enrollment}, "return_to": {"/secure"}})
		want(t, "enroll", res, http.StatusOK)
		if !strings.Contains(res.Body, `href="/secure"`) {
			t.Fatal("the recovery codes page does not lead back to /secure")
		}
		nextStep(a)
		wantState(t, a, c, "authenticated", 2, "password", "totp")
		if res := c.Get("/secure"); res.StatusCode != http.StatusOK || res.Body != "aal2 area" {
			t.Fatalf("AAL2 route after enrolling: %d %q", res.StatusCode, res.Body)
		}

		// The other session signed in with one factor before enrollment:
		// it is asked for a code (step-up), not to enroll again.
		wantState(t, a, other, "authenticated", 1, "password")
		res = other.Get("/secure")
		wantRedirect(t, "AAL2 route on the AAL1 session", res, "/auth/mfa/setup?return_to=%2Fsecure")
		res = other.Get("/auth/mfa/setup?return_to=%2Fsecure")
		want(t, "step-up page", res, http.StatusOK)
		if !strings.Contains(res.Body, `action="/auth/mfa/challenge"`) || strings.Contains(res.Body, `name="enrollment"`) {
			t.Fatal("an enrolled AAL1 session was not shown the challenge")
		}
		res = other.JSON("GET", "/auth/mfa/setup", "")
		want(t, "step-up JSON", res, http.StatusOK)
		if b := body(t, res); b["mfa_required"] != true || b["next"] != "/auth/mfa/challenge" {
			t.Fatalf("step-up JSON: %v", b)
		}
		want(t, "step-up with a wrong code", other.Post("/auth/mfa/challenge", url.Values{"code": {wrongCode(t, a, secret)}}), http.StatusUnauthorized)
		before := other.Cookie("sigra_session")
		res = other.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}, "return_to": {"/secure"}})
		wantRedirect(t, "step-up", res, "/secure")
		if other.Cookie("sigra_session") == before {
			t.Fatal("the step-up did not renew the session token")
		}
		wantState(t, a, other, "authenticated", 2, "password", "totp")
		want(t, "AAL2 route after step-up", other.Get("/secure"), http.StatusOK)
	})
}

// TestSettingsPage shows the settings page in both states.
func TestSettingsPage(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		u := a.CreateUser(t, "user@example.com", pw)
		c := a.Client(t)
		wantRedirect(t, "anonymous", c.Get("/auth/mfa"), "/auth/login")
		want(t, "anonymous JSON", c.JSON("GET", "/auth/mfa", ""), http.StatusUnauthorized)
		c.SignIn(u.Email, pw)
		res := c.Get("/auth/mfa")
		want(t, "settings off", res, http.StatusOK)
		if !strings.Contains(res.Body, `href="/auth/mfa/setup"`) || strings.Contains(res.Body, "/auth/mfa/disable") {
			t.Fatal("settings page (off) should offer set-up only")
		}
		if b := body(t, c.JSON("GET", "/auth/mfa", "")); b["enabled"] != false {
			t.Fatalf("settings JSON (off): %v", b)
		}
		_, codes := enroll(t, a, c)
		res = c.Get("/auth/mfa")
		for _, s := range []string{`action="/auth/mfa/disable"`, `action="/auth/mfa/recovery-codes/regenerate"`, "10 unused codes"} {
			if !strings.Contains(res.Body, s) {
				t.Errorf("settings page (on) lacks %s", s)
			}
		}
		for _, cd := range codes {
			if strings.Contains(res.Body, cd) {
				t.Fatal("the settings page shows a recovery code")
			}
		}
	})
}

var twoFactorRE = regexp.MustCompile(`(?s)<section[^>]*aria-labelledby="two-factor-heading".*?</section>`)

// TestSettingsSection: the account settings page carries the two-factor
// section (off with a way to set it up, then on with the recovery codes
// left), and its JSON answer has the section's data under "two_factor".
func TestSettingsSection(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		settings, ok := a.UI.Route(ui.RouteSettings)
		if !ok {
			t.Fatal("no settings route")
		}
		u := a.CreateUser(t, "user@example.com", pw)
		c := a.Client(t)
		c.SignIn(u.Email, pw)
		check := func(t *testing.T, enabled bool, left int, html ...string) {
			t.Helper()
			c := c.For(t)
			res := c.Get(settings)
			want(t, "settings page", res, http.StatusOK)
			section := twoFactorRE.FindString(res.Body)
			if section == "" {
				t.Fatalf("the settings page has no two-factor section:\n%s", res.Body)
			}
			for _, s := range html {
				if !strings.Contains(section, s) {
					t.Errorf("two-factor section lacks %s:\n%s", s, section)
				}
			}
			b := body(t, c.JSON("GET", settings, ""))
			tf, _ := b["two_factor"].(map[string]any)
			if tf == nil {
				if sections, _ := b["sections"].(map[string]any); sections != nil {
					tf, _ = sections["two_factor"].(map[string]any)
				}
			}
			if tf == nil || tf["enabled"] != enabled || tf["recovery_codes_left"] != float64(left) {
				t.Fatalf("settings JSON: got two_factor %v, want enabled %v with %d recovery codes left (body %v)", tf, enabled, left, b)
			}
		}

		t.Run("off", func(t *testing.T) {
			check(t, false, 0, `<span class="badge">Off</span>`, `href="/auth/mfa"`, "Set up<span")
		})
		_, codes := enroll(t, a, c)
		t.Run("on", func(t *testing.T) {
			check(t, true, 10, `<span class="badge badge-success">On</span>`, "10 recovery codes left.", "Manage<span")
		})
		p := a.Client(t)
		signInPending(t, a, p, u.Email)
		wantRedirect(t, "recovery code", p.Post("/auth/mfa/recovery", url.Values{"recovery_code": {codes[0]}}), "/")
		t.Run("one code used", func(t *testing.T) {
			check(t, true, 9, "9 recovery codes left.")
		})
	})
}
