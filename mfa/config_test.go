package mfa_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/testapp"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// TestNewValidates: New refuses incomplete or unsafe configurations with
// an error naming the problem.
func TestNewValidates(t *testing.T) {
	t.Parallel()
	a := testapp.New(t, testapp.Options{})
	views, err := ui.New(ui.Config{})
	if err != nil {
		t.Fatal(err)
	}
	good := func() mfa.Config {
		return mfa.Config{Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: views, Mailer: a.Outbox, Keys: testapp.NewKey("t1")}
	}
	if _, err := mfa.New(good()); err != nil {
		t.Fatalf("a complete config: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*mfa.Config)
		want   string
	}{
		{"no store", func(c *mfa.Config) { c.Store = nil }, "Store is required"},
		{"no sessions", func(c *mfa.Config) { c.Sessions = nil }, "Sessions is required"},
		{"no guard", func(c *mfa.Config) { c.Guard = nil }, "Guard is required"},
		{"no UI", func(c *mfa.Config) { c.UI = nil }, "UI is required"},
		{"no mailer", func(c *mfa.Config) { c.Mailer = nil }, "Mailer is required"},
		{"no keys", func(c *mfa.Config) { c.Keys = "" }, "Keys is required"},
		{"short key", func(c *mfa.Config) { c.Keys = "t1:c2hvcnQ" }, "Keys"},
		{"key without id", func(c *mfa.Config) { c.Keys = strings.TrimPrefix(testapp.NewKey("t1"), "t1:") }, "Keys"},
		{"issuer with a colon", func(c *mfa.Config) { c.Issuer = "Acme: Inc" }, "colon"},
		{"absolute after-sign-in URL", func(c *mfa.Config) { c.AfterSignInPath = "https://evil.example.com/" }, "not a local path"},
		{"protocol-relative after-sign-in URL", func(c *mfa.Config) { c.AfterSignInPath = "//evil.example.com/" }, "not a local path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.change(&cfg)
			m, err := mfa.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "sigra/mfa: ") {
				t.Fatalf("got %v, %v; want an error containing %q", m, err, tc.want)
			}
		})
	}
	// Zero durations take the defaults; a negative TrustDuration turns
	// trusted browsers off.
	cfg := good()
	cfg.TrustDuration = -time.Second
	if _, err := mfa.New(cfg); err != nil {
		t.Fatalf("negative TrustDuration: %v", err)
	}
}

// TestTrustDisabled: with a negative TrustDuration the challenge offers no
// checkbox, ignores one posted anyway, and honours no trust cookie.
func TestTrustDisabled(t *testing.T) {
	t.Parallel()
	eachWith(t, testapp.Options{MFA: func(c *mfa.Config) { c.TrustDuration = -1 }}, func(t *testing.T, a *testapp.App) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		c := a.Client()
		signInPending(t, c, u.Email)
		if res := c.Get("/auth/mfa/challenge"); strings.Contains(res.Body, `name="trust"`) {
			t.Fatal("the challenge offers to trust the browser")
		}
		if b := body(t, c.JSON("GET", "/auth/mfa/challenge", "")); b["allow_trust"] != false {
			t.Fatalf("challenge JSON: %v", b)
		}
		wantRedirect(t, "challenge", c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}, "trust": {"on"}}), "/")
		if c.Cookie("sigra_trust") != "" || trustedCount(t, a, u.ID) != 0 {
			t.Fatal("a browser was trusted")
		}
		// A grant made earlier (before the setting changed) is not honoured.
		tok, err := token.New()
		if err != nil {
			t.Fatal(err)
		}
		g := &store.TrustedBrowser{UserID: u.ID, Digest: token.Digest(tok), CreatedAt: a.Clock.Now(), ExpiresAt: a.Clock.Now().Add(time.Hour)}
		if err := a.Store.CreateTrustedBrowser(context.Background(), g); err != nil {
			t.Fatal(err)
		}
		srv, _ := url.Parse(a.Server.URL)
		c.Jar.SetCookies(srv, []*http.Cookie{{Name: "sigra_trust", Value: tok, Path: "/"}})
		wantAsked(t, c, u.Email)
	})
}

// TestCustomLockout: MaxFailures and LockoutDuration are honoured.
func TestCustomLockout(t *testing.T) {
	t.Parallel()
	eachWith(t, testapp.Options{MFA: func(c *mfa.Config) { c.MaxFailures, c.LockoutDuration = 3, time.Minute }}, func(t *testing.T, a *testapp.App) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		c := a.Client()
		signInPending(t, c, u.Email)
		for i, status := range []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests} {
			want(t, "failure "+string(rune('1'+i)), c.Post("/auth/mfa/challenge", url.Values{"code": {wrongCode(t, a, secret)}}), status)
		}
		want(t, "right code while locked", c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), http.StatusTooManyRequests)
		a.Clock.Advance(time.Minute)
		wantRedirect(t, "right code after a minute", c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), "/")
		if n := countMails(a, u.Email, "Too many two-factor attempts"); n != 1 {
			t.Fatalf("lockout notices: got %d, want 1", n)
		}
	})
}
