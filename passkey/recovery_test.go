package passkey_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/sigra-go/sigra/internal/apptest"
)

// A lost passkey is recovered by an emailed sign-in link (the account
// flows' magic link) to the confirmed address, through the second factor
// when one remains; the user then adds a new passkey and removes the lost
// one, which no longer signs in.
func TestLostPasskeyRecovery(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		for _, withTOTP := range []bool{false, true} {
			email := "lost@example.com"
			if withTOTP {
				email = "lost.totp@example.com"
			}
			c, u, lost := newPasskeyUser(t, a, email)
			secret := ""
			if withTOTP {
				secret = enrollTOTP(t, a, c)
			}
			// Only the passkey is left: no password.
			if err := a.Store.SetPasswordHash(t.Context(), u.ID, "", a.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			old := passkeys(t, a, u.ID)[0]

			// On a new device, without the passkey: an emailed link.
			d := a.Client(t)
			want(t, "magic link request", d.Post(a.Path("/magic"), url.Values{"email": {email}}), http.StatusOK)
			a.Flush(t)
			link := apptest.Link(t, a.LastMail(t, email), a.Path("/magic/verify"))
			d.Get(link)
			res := d.Post(a.Path("/magic/verify"), url.Values{"token": {apptest.TokenOf(link)}})
			if withTOTP {
				if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != a.Path("/mfa/challenge") {
					t.Fatalf("magic link with TOTP: got %d to %q, want the second step", res.StatusCode, loc)
				}
				want(t, "TOTP", post(t, d, a.Path("/mfa/challenge"), map[string]any{"code": totpCode(t, a, secret)}), http.StatusOK)
			} else if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("magic link: got %d\n%s", res.StatusCode, res.Body)
			}
			if i := whoami(t, a, d); i.State != "authenticated" {
				t.Fatalf("after the link: got %+v", i)
			}

			// A new passkey, then the lost one removed.
			replacement := newAuthenticator(a)
			register(t, a, d, replacement, "New phone")
			want(t, "remove the lost passkey", post(t, d, a.Path("/passkeys/delete"), map[string]any{"id": old.ID}), http.StatusOK)
			_, res = signInDiscoverable(t, a, lost, nil)
			wantError(t, "the lost passkey", res, http.StatusUnauthorized, "invalid_credentials")
			_, res = signInDiscoverable(t, a, replacement, nil)
			want(t, "the new passkey", res, http.StatusOK)
		}
	})
}
