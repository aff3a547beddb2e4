package mfa_test

import (
	"context"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/password"
)

// switchBreach is a breach checker that finds the tests' password pw
// breached while on.
type switchBreach struct{ on atomic.Bool }

func (s *switchBreach) BreachCount(_ context.Context, p string) (int, error) {
	if s.on.Load() && p == pw {
		return 1, nil
	}
	return 0, nil
}

// A two-factor user who signs in with a breached password passes the
// second factor first, then lands on the page that asks for a new
// password; the guarded routes wait for it, and the session keeps its two
// factors.
func TestBreachedPasswordAfterSecondFactor(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			sw := &switchBreach{}
			a := newApp(t, options{backend: b, account: func(c *account.Config, _ *mfa.MFA) {
				h, err := password.New(password.Config{
					Params: password.Params{Memory: 64, Time: 1, Threads: 1}, InsecureAllowWeakParams: true,
					Policy: password.Policy{Breach: sw},
				})
				if err != nil {
					t.Fatal(err)
				}
				c.Passwords = h
			}})
			breachAfterSecondFactor(t, a, sw)
		})
	}
}

func breachAfterSecondFactor(t *testing.T, a *app, sw *switchBreach) {
	_, _, secret, _ := newEnrolledUser(t, a, "user@example.com")
	// The enrollment's sign-in found the password clean, which counts
	// for a day: the leak is news a day later.
	sw.on.Store(true)
	a.Clock.Advance(25 * time.Hour)
	c := a.Client(t)
	res := c.SignIn("user@example.com", pw)
	renew := a.Path("/password/renew")
	challenge := a.Path("/mfa/challenge") + "?" + url.Values{"return_to": {renew}}.Encode()
	wantRedirect(t, "password sign-in", res, challenge)
	wantState(t, a, c, "pending", 0)
	res = c.Post(challenge, url.Values{"code": {code(t, a, secret)}})
	wantRedirect(t, "challenge", res, renew)
	wantRedirect(t, "GET /private", c.Get("/private"), renew+"?return_to=%2Fprivate")
	res = c.Post(renew, url.Values{"password": {"a new passphrase nobody leaked"}, "return_to": {"/private"}})
	wantRedirect(t, "renew", res, "/private?notice=password_changed")
	want(t, "GET /private after the change", c.Get("/private"), 200)
	wantState(t, a, c, "authenticated", 2, "password", "totp")
}
