package passkey_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/passkey"
)

// A credential ID registered to one user cannot be registered again, to
// another user or the same one, whatever the browser is made to send.
func TestCredentialRegisteredTwice(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c1, u1, au := newPasskeyUser(t, a, "first@example.com")
		shared := au.creds[0]
		u2 := a.CreateUser(t, "second@example.com", pw)
		c2 := a.Client(t)
		c2.SignIn(u2.Email, pw)
		o := readOptions(t, post(t, c2, a.Path("/passkeys/register/options"), nil))
		cred, _ := au.create(t, o, shared)
		wantError(t, "same credential, another user", postCredential(t, c2, a.Path("/passkeys/register"), cred, nil), http.StatusConflict, "passkey_exists")
		if n := len(passkeys(t, a, u2.ID)); n != 0 {
			t.Errorf("second user's passkeys: got %d, want 0", n)
		}
		o = readOptions(t, post(t, c1, a.Path("/passkeys/register/options"), nil))
		if len(o.PublicKey.Exclude) != 1 {
			t.Errorf("excludeCredentials: got %d, want the user's 1", len(o.PublicKey.Exclude))
		}
		cred, _ = au.create(t, o, shared)
		wantError(t, "same credential, same user", postCredential(t, c1, a.Path("/passkeys/register"), cred, nil), http.StatusConflict, "passkey_exists")
		if n := auditCount(t, a, passkey.ActionAddFailure, audit.OutcomeFailure, u2.ID, map[string]string{"reason": "already_registered"}); n != 1 {
			t.Errorf("refused registrations audited: got %d, want 1", n)
		}
		if owner := passkeys(t, a, u1.ID); len(owner) != 1 {
			t.Errorf("first user's passkeys: got %d, want 1", len(owner))
		}
	})
}

// At the limit, options and finish refuse; a registration that does not
// verify (another origin) stores nothing.
func TestRegisterRefused(t *testing.T) {
	t.Parallel()
	eachWith(t, options{passkey: func(c *passkey.Config) { c.MaxPasskeys = 2 }}, func(t *testing.T, a *app) {
		c, u, au := newPasskeyUser(t, a, "limit@example.com")
		o := readOptions(t, post(t, c, a.Path("/passkeys/register/options"), map[string]any{"name": "Second"}))
		// A phishing page's origin.
		evil := *au
		evil.origin = "https://sigra-test.example.net"
		cred, _ := evil.create(t, o, nil)
		wantError(t, "other origin", postCredential(t, c, a.Path("/passkeys/register"), cred, nil), http.StatusBadRequest, "passkey_not_verified")
		register(t, a, c, au, "Second")
		if got := passkeys(t, a, u.ID); len(got) != 2 || got[1].Name != "Second" {
			t.Fatalf("passkeys: got %d, want 2 with the second named Second", len(got))
		}
		wantError(t, "options at the limit", post(t, c, a.Path("/passkeys/register/options"), nil), http.StatusConflict, "passkey_limit")
		wantError(t, "name too long", post(t, c, a.Path("/passkeys/register/options"), map[string]any{"name": strings.Repeat("n", 65)}), http.StatusUnprocessableEntity, "invalid_name")
	})
}

// Rename and remove, with the guard: a user without a password cannot
// remove their last passkey; with another passkey they can.
func TestManageAndLastMethod(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, au := newPasskeyUser(t, a, "owner@example.com")
		k := passkeys(t, a, u.ID)[0]
		want(t, "rename", post(t, c, a.Path("/passkeys/rename"), map[string]any{"id": k.ID, "name": "Work laptop"}), http.StatusOK)
		if got := passkeys(t, a, u.ID)[0].Name; got != "Work laptop" {
			t.Errorf("name: got %q", got)
		}
		wantError(t, "rename, empty", post(t, c, a.Path("/passkeys/rename"), map[string]any{"id": k.ID, "name": " "}), http.StatusUnprocessableEntity, "invalid_name")
		intruder := a.CreateUser(t, "intruder@example.com", pw)
		ci := a.Client(t)
		ci.SignIn(intruder.Email, pw)
		wantError(t, "rename another user's", post(t, ci, a.Path("/passkeys/rename"), map[string]any{"id": k.ID, "name": "Mine"}), http.StatusNotFound, "not_found")
		wantError(t, "remove another user's", post(t, ci, a.Path("/passkeys/delete"), map[string]any{"id": k.ID}), http.StatusNotFound, "not_found")

		// Without a password, the passkey is the last way in.
		if err := a.Store.SetPasswordHash(t.Context(), u.ID, "", a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		res := post(t, c, a.Path("/passkeys/delete"), map[string]any{"id": k.ID})
		wantError(t, "remove the last way in", res, http.StatusConflict, "last_sign_in_method")
		if !strings.Contains(res.Body, "only way to sign in") {
			t.Errorf("message: %s", res.Body)
		}
		if n := len(passkeys(t, a, u.ID)); n != 1 {
			t.Fatalf("passkeys after the refusal: got %d, want 1", n)
		}
		register(t, a, c, au, "Phone")
		want(t, "remove with another left", post(t, c, a.Path("/passkeys/delete"), map[string]any{"id": k.ID}), http.StatusOK)
		left := passkeys(t, a, u.ID)
		if len(left) != 1 || left[0].Name != "Phone" {
			t.Fatalf("passkeys left: got %d", len(left))
		}
		if n := auditCount(t, a, passkey.ActionRemove, audit.OutcomeSuccess, u.ID, map[string]string{"authenticator_id": k.ID, "reason": "user"}); n != 1 {
			t.Errorf("remove rows: got %d, want 1", n)
		}
		a.Flush(t)
		if m := a.LastMail(t, u.Email); !strings.Contains(m.Subject, "passkey was removed") || !strings.Contains(m.Text, "Work laptop") {
			t.Errorf("notice: got %q\n%s", m.Subject, m.Text)
		}
		wantError(t, "remove the new last one", post(t, c, a.Path("/passkeys/delete"), map[string]any{"id": left[0].ID}), http.StatusConflict, "last_sign_in_method")

		// The HTML form shows the message on the page.
		res = c.Post(a.Path("/passkeys/delete"), url.Values{"id": {left[0].ID}})
		want(t, "HTML remove the last", res, http.StatusConflict)
		if !strings.Contains(res.Body, "only way to sign in") {
			t.Errorf("page does not say why: %s", res.Body)
		}
	})
}

// Two browsers of a password-less user remove its last two passkeys at
// once: one removal wins, the other is refused, and a passkey is left.
func TestLastMethodConcurrentRemovals(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, au := newPasskeyUser(t, a, "race@example.com")
		register(t, a, c, au, "Second")
		if err := a.Store.SetPasswordHash(t.Context(), u.ID, "", a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		keys := passkeys(t, a, u.ID)
		c2, _ := signInDiscoverable(t, a, au, nil)
		clients := []*apptest.Client{c, c2}
		res := make([]*apptest.Response, 2)
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() { res[i] = post(t, clients[i], a.Path("/passkeys/delete"), map[string]any{"id": keys[i].ID}) })
		}
		wg.Wait()
		ok, refused := 0, 0
		for _, r := range res {
			switch r.StatusCode {
			case http.StatusOK:
				ok++
			case http.StatusConflict:
				refused++
			default:
				t.Errorf("concurrent removal: got %d\n%s", r.StatusCode, r.Body)
			}
		}
		if ok != 1 || refused != 1 {
			t.Errorf("concurrent removals: got %d removed and %d refused, want 1 and 1", ok, refused)
		}
		if n := len(passkeys(t, a, u.ID)); n != 1 {
			t.Errorf("passkeys left: got %d, want 1", n)
		}
	})
}
