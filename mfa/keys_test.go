package mfa_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/seal"
)

// TestRestart: a second application on the same database (a process
// restart) keeps two-factor users working when it is given the same Keys;
// with other keys the stored secrets cannot be opened; with the keys
// rotated (a new primary first, the old key kept) old secrets still open
// and new ones are sealed with the new primary.
func TestRestart(t *testing.T) {
	t.Parallel()
	first := newApp(t, options{})
	_, u, secret, _ := newEnrolledUser(t, first, "user@example.com")
	first.Flush(t)

	// Each application starts a minute after the last, so its first code
	// is of a step no one used yet.
	at := first.Clock.Now()
	restart := func(t *testing.T, keys string) *app {
		t.Helper()
		a := newApp(t, options{dbPath: first.DBPath, keys: keys})
		at = at.Add(time.Minute)
		a.Clock.Set(at)
		return a
	}

	t.Run("same keys", func(t *testing.T) {
		a := restart(t, first.Keys)
		c := a.Client(t)
		signInPending(t, a, c, u.Email)
		wantRedirect(t, "challenge", c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), "/")
		wantState(t, a, c, "authenticated", 2, "password", "totp")
	})

	t.Run("other keys", func(t *testing.T) {
		a := restart(t, apptest.NewKey("t1"))
		c := a.Client(t)
		signInPending(t, a, c, u.Email)
		step := totpRow(t, a, u.ID).LastStep
		res := c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}})
		if res.StatusCode == http.StatusSeeOther {
			t.Fatal("a secret sealed with other keys was opened")
		}
		wantState(t, a, c, "pending", 0)
		if got := totpRow(t, a, u.ID).LastStep; got != step {
			t.Fatalf("last step: got %d, want %d (nothing verified)", got, step)
		}
	})

	t.Run("rotated keys", func(t *testing.T) {
		primary := apptest.NewKey("t2")
		a := restart(t, primary+","+first.Keys)
		c := a.Client(t)
		signInPending(t, a, c, u.Email)
		wantRedirect(t, "challenge", c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), "/")
		nextStep(a)

		_, v, vSecret, _ := newEnrolledUser(t, a, "new@example.com")
		sealed := totpRow(t, a, v.ID).Sealed
		if got := openSecret(t, primary, v.ID, sealed); got != vSecret {
			t.Fatalf("new secret under the new primary: got %q, want %q", got, vSecret)
		}
		old, err := seal.ParseKeyring(first.Keys)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Open(sealed, []byte("sigra.totp:"+v.ID)); err == nil {
			t.Fatal("a new secret was sealed with the old key")
		}
	})
}
