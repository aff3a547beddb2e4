package passkey_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/audit"
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
		if n := auditCount(t, a, audit.ActionPasskeyAdd, audit.OutcomeSuccess, u.ID, nil); n != 1 {
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
