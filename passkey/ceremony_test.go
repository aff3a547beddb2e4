package passkey_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sigra-go/sigra/audit"
)

// A ceremony works once: the finish replayed, with the same credential or
// a new one, is refused, and so is a finish without options, one past the
// timeout, and one of another kind of ceremony.
func TestCeremonyStateSingleUse(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, _, au := newPasskeyUser(t, a, "replay@example.com")
		c := a.Client(t)
		o := readOptions(t, post(t, c, a.Path("/passkeys/signin/options"), nil))
		assertion := au.get(t, o, nil)
		want(t, "first finish", postCredential(t, c, a.Path("/passkeys/signin"), assertion, nil), http.StatusOK)
		c.JSON("POST", a.Path("/logout"), "{}")
		wantError(t, "replayed finish", postCredential(t, c, a.Path("/passkeys/signin"), assertion, nil), http.StatusBadRequest, "ceremony_expired")
		wantError(t, "fresh assertion, used ceremony", postCredential(t, c, a.Path("/passkeys/signin"), au.get(t, o, nil), nil), http.StatusBadRequest, "ceremony_expired")

		// A finish in another browser (its session has no ceremony).
		other := a.Client(t)
		wantError(t, "finish without options", postCredential(t, other, a.Path("/passkeys/signin"), au.get(t, o, nil), nil), http.StatusBadRequest, "ceremony_expired")

		// Past the timeout by the site's clock.
		c = a.Client(t)
		o = readOptions(t, post(t, c, a.Path("/passkeys/signin/options"), nil))
		a.Clock.Advance(5*time.Minute + time.Second)
		wantError(t, "expired ceremony", postCredential(t, c, a.Path("/passkeys/signin"), au.get(t, o, nil), nil), http.StatusBadRequest, "ceremony_expired")

		// A sudo ceremony does not finish a sign-in.
		c, _ = signInDiscoverable(t, a, au, nil)
		o = readOptions(t, post(t, c, a.Path("/passkeys/sudo/options"), nil))
		wantError(t, "sudo ceremony at the sign-in finish", postCredential(t, c, a.Path("/passkeys/signin"), au.get(t, o, nil), nil), http.StatusBadRequest, "ceremony_expired")
		if n := auditCount(t, a, audit.ActionLoginFailure, audit.OutcomeFailure, "", map[string]string{"method": "passkey", "reason": "expired"}); n < 4 {
			t.Errorf("expired-ceremony failures audited: got %d, want at least 4", n)
		}
	})
}

// The options of one browser cannot be finished with an assertion for
// another ceremony's challenge.
func TestCeremonyChallengeBound(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, _, au := newPasskeyUser(t, a, "bound@example.com")
		c1, c2 := a.Client(t), a.Client(t)
		o1 := readOptions(t, post(t, c1, a.Path("/passkeys/signin/options"), nil))
		readOptions(t, post(t, c2, a.Path("/passkeys/signin/options"), nil))
		// c2 posts an assertion signed over c1's challenge.
		wantError(t, "other browser's challenge", postCredential(t, c2, a.Path("/passkeys/signin"), au.get(t, o1, nil), nil), http.StatusUnauthorized, "invalid_credentials")
		wantState(t, a, c2, "anonymous", 0)
	})
}
