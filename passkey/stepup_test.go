package passkey_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/passkey"
)

// A user with a passkey and no authenticator app, signed in with a
// password (one factor), whom RequireAAL2 sends to the step-up page, is
// offered the passkey there; the ceremony raises the session to AAL2 and
// returns to the page that asked for it. A user without a passkey, or a
// session that a passkey began, is not offered one.
func TestStepUpPageOffersPasskey(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, au := newPasskeyUser(t, a, "stepup@example.com")
		wantState(t, a, c, "authenticated", 1, "password")
		res := c.Get("/secure")
		want(t, "GET /secure at AAL1", res, http.StatusSeeOther)
		loc, err := url.Parse(res.Header.Get("Location"))
		if err != nil || loc.Path != a.Path("/mfa/setup") || loc.Query().Get("return_to") != "/secure" {
			t.Fatalf("RequireAAL2 sent the user to %q, want the step-up page with return_to=/secure", res.Header.Get("Location"))
		}
		page := c.Get(loc.String())
		want(t, "step-up page", page, http.StatusOK)
		for _, s := range []string{`data-options="` + a.Path("/passkeys/challenge/options") + `"`, `data-finish="` + a.Path("/passkeys/challenge") + `"`,
			"Use a passkey", `name="return_to" value="/secure"`, `src="` + a.Path("/assets/passkey.")} {
			if !strings.Contains(page.Body, s) {
				t.Errorf("step-up page: missing %q", s)
			}
		}
		b := body(t, c.JSON("GET", loc.String(), ""))
		if b["passkey"] != true {
			t.Errorf("step-up page as JSON: got passkey %v, want true", b["passkey"])
		}
		// A wrong code shows the page again, the passkey still offered.
		enrollment, _ := b["enrollment"].(string)
		again := c.Post(a.Path("/mfa/setup"), url.Values{"code": {"12345"}, "enrollment": {enrollment}, "return_to": {"/secure"}})
		want(t, "set-up with a wrong code", again, http.StatusUnprocessableEntity)
		if !strings.Contains(again.Body, `data-finish="`+a.Path("/passkeys/challenge")+`"`) {
			t.Errorf("set-up page after a wrong code: the passkey is no longer offered")
		}

		// What the page's script does: the challenge ceremony, with the
		// page's return_to.
		o := readOptions(t, post(t, c, a.Path("/passkeys/challenge/options"), nil))
		res = postCredential(t, c, a.Path("/passkeys/challenge"), au.get(t, o, nil), map[string]any{"return_to": "/secure"})
		want(t, "passkey step-up", res, http.StatusOK)
		if next := body(t, res)["next"]; next != "/secure" {
			t.Errorf("next: got %v, want /secure", next)
		}
		wantState(t, a, c, "authenticated", 2, "password", "passkey")
		if res := c.Get("/secure"); res.StatusCode != http.StatusOK {
			t.Errorf("GET /secure after the passkey step-up: got %d, want 200", res.StatusCode)
		}
		if n := auditCount(t, a, audit.ActionMFAChallengeSuccess, audit.OutcomeSuccess, u.ID, map[string]string{"method": "passkey"}); n != 1 {
			t.Errorf("challenge rows: got %d, want 1", n)
		}

		// A user without a passkey sees only the app's set-up.
		a.CreateUser(t, "plain@example.com", pw)
		c2 := a.Client(t)
		c2.SignIn("plain@example.com", pw)
		page = c2.Get(a.Path("/mfa/setup") + "?return_to=/secure")
		want(t, "step-up page without a passkey", page, http.StatusOK)
		if strings.Contains(page.Body, "passkey_challenge") || strings.Contains(page.Body, a.Path("/passkeys/challenge")) {
			t.Errorf("step-up page of a user without a passkey offers one")
		}
		if b := body(t, c2.JSON("GET", a.Path("/mfa/setup"), "")); b["passkey"] != false {
			t.Errorf("step-up page as JSON without a passkey: got passkey %v, want false", b["passkey"])
		}

		// A session that a passkey (without user verification) began
		// cannot use one again: the page does not offer it.
		au.uv = false
		c3, res := signInDiscoverable(t, a, au, nil)
		want(t, "sign in without UV", res, http.StatusOK)
		wantState(t, a, c3, "authenticated", 1, "passkey")
		page = c3.Get(a.Path("/mfa/setup") + "?return_to=/secure")
		want(t, "step-up page after a passkey sign-in", page, http.StatusOK)
		if strings.Contains(page.Body, a.Path("/passkeys/challenge")) {
			t.Errorf("step-up page of a session begun by a passkey offers a passkey again")
		}
	})
}

// The sudo page of a user whose only way in is a passkey offers the
// passkey, and offers to sign out and sign in again only where the
// browser cannot use passkeys (the script hides what is marked
// data-passkey-unsupported). A user with a password is not offered to sign
// out at all; one with neither a password nor a passkey is, plainly.
func TestSudoPageOfPasskeyOnlyUser(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, _ := newPasskeyUser(t, a, "only@example.com")
		page := c.Get(a.Path("/sudo"))
		want(t, "sudo page with a password", page, http.StatusOK)
		if strings.Contains(page.Body, "Sign out and sign in again") {
			t.Errorf("sudo page of a user with a password offers to sign out")
		}
		if err := a.Store.SetPasswordHash(t.Context(), u.ID, "", a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		page = c.Get(a.Path("/sudo"))
		want(t, "sudo page, passkey only", page, http.StatusOK)
		if !strings.Contains(page.Body, `data-options="`+a.Path("/passkeys/sudo/options")+`"`) {
			t.Errorf("sudo page of a passkey-only user does not offer the passkey")
		}
		i := strings.Index(page.Body, "Sign out and sign in again")
		j := strings.LastIndex(page.Body[:max(i, 0)], "data-passkey-unsupported")
		k := strings.LastIndex(page.Body[:max(i, 0)], "<div")
		if i < 0 || j < 0 || j < k {
			t.Errorf("sudo page of a passkey-only user: want the sign-out offer inside the element marked data-passkey-unsupported\n%s", page.Body)
		}
		if b := body(t, c.JSON("GET", a.Path("/sudo"), "")); b["has_passkey"] != true || b["has_password"] != false {
			t.Errorf("sudo page as JSON: got %v, want has_passkey true and has_password false", b)
		}

		// Without a passkey (its last one removed, the guard off as a
		// revocation by policy does), nothing hides the sign-out offer.
		for _, k := range passkeys(t, a, u.ID) {
			if err := a.Store.DeletePasskey(t.Context(), u.ID, k.ID, false); err != nil {
				t.Fatal(err)
			}
		}
		page = c.Get(a.Path("/sudo"))
		want(t, "sudo page, no credential", page, http.StatusOK)
		if !strings.Contains(page.Body, "Sign out and sign in again") || strings.Contains(page.Body, "data-passkey-unsupported") {
			t.Errorf("sudo page of a user with no credential: want a plain sign-out offer\n%s", page.Body)
		}
	})
}

// A completed passkey sign-in runs Config.AfterSignIn (the kit gives it
// the account's hook); one that goes on to the second factor does not.
func TestAfterSignInHook(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var got []string
			a := newApp(t, options{backend: b, passkey: func(c *passkey.Config) {
				c.AfterSignIn = func(_ context.Context, u *sigra.User) {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, u.Email)
				}
			}})
			calls := func() []string {
				mu.Lock()
				defer mu.Unlock()
				return append([]string(nil), got...)
			}
			c, _, au := newPasskeyUser(t, a, "hook@example.com")
			if n := len(calls()); n != 0 {
				t.Fatalf("a password sign-in ran the passkey hook: %d calls", n)
			}
			_, res := signInDiscoverable(t, a, au, nil)
			want(t, "passkey sign-in", res, http.StatusOK)
			if g := calls(); strings.Join(g, ",") != "hook@example.com" {
				t.Fatalf("AfterSignIn: got %q, want hook@example.com once", g)
			}
			enrollTOTP(t, a, c)
			au.uv = false
			c2, res := signInDiscoverable(t, a, au, nil)
			want(t, "passkey sign-in without UV", res, http.StatusOK)
			wantState(t, a, c2, "pending", 0)
			if n := len(calls()); n != 1 {
				t.Errorf("a sign-in waiting for its second factor ran AfterSignIn: %d calls, want 1", n)
			}
		})
	}
}
