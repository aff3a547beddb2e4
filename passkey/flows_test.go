package passkey_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/passkey"
)

// A passkey registered from the settings signs in without an address
// (discoverable); with user verification the session is at AAL2 with the
// method passkey. The registration is audited and the user told by email.
func TestRegisterThenSignIn(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, au := newPasskeyUser(t, a, "ada@example.com")
		keys := passkeys(t, a, u.ID)
		if len(keys) != 1 {
			t.Fatalf("passkeys after registration: got %d, want 1", len(keys))
		}
		k := keys[0]
		if !k.BackupEligible || k.BackupState || !k.UserVerified || k.Name == "" || k.RPID != "localhost" ||
			strings.Join(k.Transports, ",") != "internal,hybrid" {
			t.Errorf("stored passkey: got %+v", k)
		}
		if n := auditCount(t, a, passkey.ActionAdd, audit.OutcomeSuccess, u.ID, nil); n != 1 {
			t.Errorf("passkey.add rows: got %d, want 1", n)
		}
		a.Flush(t)
		if m := a.LastMail(t, u.Email); !strings.Contains(m.Subject, "passkey was added") {
			t.Errorf("notice: got subject %q", m.Subject)
		}
		res := c.JSON("GET", a.Path("/passkeys"), "")
		want(t, "GET passkeys", res, http.StatusOK)
		if list, _ := body(t, res)["passkeys"].([]any); len(list) != 1 {
			t.Errorf("passkeys page: got %v", res.Body)
		}

		c2, res := signInDiscoverable(t, a, au, nil)
		want(t, "sign in", res, http.StatusOK)
		if next, _ := body(t, res)["next"].(string); next != "/" {
			t.Errorf("next: got %q, want /", next)
		}
		wantState(t, a, c2, "authenticated", 2, "passkey")
		if n := auditCount(t, a, audit.ActionLoginSuccess, audit.OutcomeSuccess, u.ID, map[string]string{"method": "passkey", "aal": "2"}); n != 1 {
			t.Errorf("login rows by passkey: got %d, want 1", n)
		}
		if k := passkeys(t, a, u.ID)[0]; k.SignCount != 1 || k.LastUsedAt.IsZero() {
			t.Errorf("after sign-in: got count %d, last used %v; want 1 and a time", k.SignCount, k.LastUsedAt)
		}
	})
}

// Without user verification a passkey is one factor: a user with TOTP
// goes on to the second step (where a passkey cannot serve again), one
// without is signed in at AAL1.
func TestSignInWithoutUV(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, _, au := newPasskeyUser(t, a, "plain@example.com")
		au.uv = false
		c, res := signInDiscoverable(t, a, au, nil)
		want(t, "sign in without UV", res, http.StatusOK)
		wantState(t, a, c, "authenticated", 1, "passkey")
		// The passkey cannot raise the session it began to two factors.
		wantError(t, "step-up by the same passkey", post(t, c, a.Path("/passkeys/challenge/options"), nil), http.StatusConflict, "same_factor")
		wantError(t, "step-up finish by the same passkey", postCredential(t, c, a.Path("/passkeys/challenge"), au.get(t, readOptions(t, post(t, c, a.Path("/passkeys/sudo/options"), nil)), nil), nil), http.StatusConflict, "same_factor")

		c2, u2, au2 := newPasskeyUser(t, a, "guarded@example.com")
		secret := enrollTOTP(t, a, c2)
		au2.uv = false
		c3, res := signInDiscoverable(t, a, au2, map[string]any{"return_to": "/private"})
		want(t, "sign in without UV, TOTP on", res, http.StatusOK)
		b := body(t, res)
		if b["mfa_required"] != true || !strings.HasPrefix(b["next"].(string), a.Path("/mfa/challenge")) {
			t.Fatalf("sign in without UV, TOTP on: got %s, want the second step", res.Body)
		}
		wantState(t, a, c3, "pending", 0)
		// The passkey cannot be the second factor of its own sign-in.
		wantError(t, "passkey as the second of a passkey", post(t, c3, a.Path("/passkeys/challenge/options"), nil), http.StatusConflict, "same_factor")
		want(t, "TOTP", post(t, c3, a.Path("/mfa/challenge"), map[string]any{"code": totpCode(t, a, secret)}), http.StatusOK)
		wantState(t, a, c3, "authenticated", 2, "passkey", "totp")
		if n := auditCount(t, a, audit.ActionLoginSuccess, audit.OutcomeSuccess, u2.ID, map[string]string{"method": "passkey", "aal": "2"}); n != 1 {
			t.Errorf("login rows: got %d, want 1", n)
		}
	})
}

// A user with TOTP who signed in with a password may use a passkey at the
// challenge step; RequireAAL2 then lets them in. A signed-in user at AAL1
// steps up the same way.
func TestPasskeyAsSecondFactor(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, au := newPasskeyUser(t, a, "second@example.com")
		enrollTOTP(t, a, c)
		c = a.Client(t)
		c.SignIn(u.Email, pw)
		wantState(t, a, c, "pending", 0)
		o := readOptions(t, post(t, c, a.Path("/passkeys/challenge/options"), nil))
		if len(o.PublicKey.Allow) != 1 {
			t.Errorf("challenge options: got %d allowed credentials, want 1", len(o.PublicKey.Allow))
		}
		res := postCredential(t, c, a.Path("/passkeys/challenge"), au.get(t, o, nil), map[string]any{"return_to": "/secure"})
		want(t, "passkey challenge", res, http.StatusOK)
		if next := body(t, res)["next"]; next != "/secure" {
			t.Errorf("next: got %v, want /secure", next)
		}
		wantState(t, a, c, "authenticated", 2, "password", "passkey")
		if res := c.Get("/secure"); res.StatusCode != http.StatusOK {
			t.Errorf("GET /secure at AAL2: got %d", res.StatusCode)
		}
		if n := auditCount(t, a, audit.ActionMFAChallengeSuccess, audit.OutcomeSuccess, u.ID, map[string]string{"method": "passkey"}); n != 1 {
			t.Errorf("challenge rows: got %d, want 1", n)
		}

		// Step-up: a user without TOTP signed in with a password (AAL1).
		c2, _, au2 := newPasskeyUser(t, a, "stepup@example.com")
		wantState(t, a, c2, "authenticated", 1, "password")
		o = readOptions(t, post(t, c2, a.Path("/passkeys/challenge/options"), nil))
		want(t, "step-up", postCredential(t, c2, a.Path("/passkeys/challenge"), au2.get(t, o, nil), nil), http.StatusOK)
		wantState(t, a, c2, "authenticated", 2, "password", "passkey")

		// Nothing to step up from: anonymous, or already at AAL2.
		wantError(t, "anonymous challenge", post(t, a.Client(t), a.Path("/passkeys/challenge/options"), nil), http.StatusUnauthorized, "unauthenticated")
		wantError(t, "challenge at AAL2", post(t, c2, a.Path("/passkeys/challenge/options"), nil), http.StatusUnauthorized, "unauthenticated")
	})
}

// A wrong passkey at the challenge step is refused and audited; the
// session stays pending.
func TestChallengeWrongPasskey(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, _ := newPasskeyUser(t, a, "wrong@example.com")
		enrollTOTP(t, a, c)
		c = a.Client(t)
		c.SignIn(u.Email, pw)
		o := readOptions(t, post(t, c, a.Path("/passkeys/challenge/options"), nil))
		stranger := newAuthenticator(a)
		_, sc := stranger.create(t, o, nil) // a key the server never saw
		res := postCredential(t, c, a.Path("/passkeys/challenge"), stranger.get(t, o, sc), nil)
		wantError(t, "stranger's passkey", res, http.StatusUnauthorized, "invalid_credentials")
		wantState(t, a, c, "pending", 0)
		if n := auditCount(t, a, audit.ActionMFAChallengeFailure, audit.OutcomeFailure, u.ID, map[string]string{"method": "passkey"}); n != 1 {
			t.Errorf("challenge failures: got %d, want 1", n)
		}
	})
}

// Re-authentication by passkey sets the sudo time: a sudo route that sent
// the user away lets them in after it.
func TestSudoByPasskey(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, au := newPasskeyUser(t, a, "sudo@example.com")
		a.Clock.Advance(11 * time.Minute)
		if res := c.Get("/billing"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("GET /billing after the sudo window: got %d, want a redirect to re-authenticate", res.StatusCode)
		}
		o := readOptions(t, post(t, c, a.Path("/passkeys/sudo/options"), nil))
		res := postCredential(t, c, a.Path("/passkeys/sudo"), au.get(t, o, nil), map[string]any{"return_to": "/billing"})
		want(t, "passkey sudo", res, http.StatusOK)
		if next := body(t, res)["next"]; next != "/billing" {
			t.Errorf("next: got %v, want /billing", next)
		}
		if res := c.Get("/billing"); res.StatusCode != http.StatusOK {
			t.Errorf("GET /billing after passkey sudo: got %d, want 200", res.StatusCode)
		}
		if n := auditCount(t, a, audit.ActionSudo, audit.OutcomeSuccess, u.ID, map[string]string{"method": "passkey"}); n != 1 {
			t.Errorf("sudo rows: got %d, want 1", n)
		}
		// Registration needs sudo: out of the window, it is refused.
		a.Clock.Advance(11 * time.Minute)
		wantError(t, "register options out of sudo", post(t, c, a.Path("/passkeys/register/options"), nil), http.StatusForbidden, "sudo_required")
	})
}
