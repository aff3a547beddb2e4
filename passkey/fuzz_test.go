package passkey_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/passkey"
)

// FuzzFinish posts arbitrary credential objects, the untrusted input of
// every ceremony, to the sign-in and registration finishes: each is
// answered with a refusal (never a server error), signs nobody in and
// stores no passkey.
func FuzzFinish(f *testing.F) {
	many := middleware.Limit{N: 1 << 30, Window: time.Hour}
	a := newApp(f, options{passkey: func(c *passkey.Config) {
		c.Limits = passkey.Limits{OptionsPerIP: many, FinishPerIP: many, FinishPerUser: many}
	}})
	u := a.CreateUser(f, "fuzz@example.com", pw)
	signedIn := a.Client(f)
	signedIn.SignIn(u.Email, pw)
	for _, seed := range []string{
		`{}`,
		`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}`,
		`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":"","userHandle":"AA"}}`,
		`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`,
		`{"id":"","rawId":"","type":"public-key","response":{"clientDataJSON":"eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0","authenticatorData":"SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ","signature":"MEUCIQ","userHandle":""}}`,
		`{"response":{"clientDataJSON":[1,2]},"clientExtensionResults":{"credProps":{"rk":true}}}`,
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, credential string, signIn bool) {
		if !json.Valid([]byte(credential)) || len(credential) == 0 || credential[0] != '{' {
			return
		}
		c := a.Client(t)
		path := a.Path("/passkeys/signin")
		if signIn {
			readOptions(t, post(t, c, a.Path("/passkeys/signin/options"), nil))
		} else {
			c = signedIn.For(t)
			readOptions(t, post(t, c, a.Path("/passkeys/register/options"), nil))
			path = a.Path("/passkeys/register")
		}
		res := postCredential(t, c, path, credential, nil)
		if res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("finish with %q: got %d, want 400 or 401\n%s", credential, res.StatusCode, res.Body)
		}
		if signIn {
			if i := whoami(t, a, c); i.State != "anonymous" {
				t.Fatalf("finish with %q signed in: %+v", credential, i)
			}
		}
		if n := len(passkeys(t, a, u.ID)); n != 0 {
			t.Fatalf("finish with %q stored a passkey", credential)
		}
	})
}
