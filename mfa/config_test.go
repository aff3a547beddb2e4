package mfa_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// TestNewValidates: New refuses incomplete or unsafe configurations with
// an error that wraps sigra.ErrConfig and names the problem.
func TestNewValidates(t *testing.T) {
	t.Parallel()
	a := apptest.New(t, apptest.Options{Packs: []ui.Pack{account.Pages(), mfa.Pages()}}, nil)
	good := func() mfa.Config {
		return mfa.Config{Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, Keys: apptest.NewKey("t1")}
	}
	if _, err := mfa.New(good()); err != nil {
		t.Fatalf("a complete config: got %v, want no error", err)
	}
	// A UI without the mfa pack, and one built for another site.
	noPack, err := ui.New(a.Site, ui.Config{Packs: []ui.Pack{account.Pages()}})
	if err != nil {
		t.Fatal(err)
	}
	otherSite, err := site.New(site.Config{BaseURL: "https://other.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	otherUI, err := ui.New(otherSite, ui.Config{Packs: []ui.Pack{mfa.Pages()}})
	if err != nil {
		t.Fatal(err)
	}
	// UIs without the routes mfa sends users to (the account pack's).
	onlyMFA, err := ui.New(a.Site, ui.Config{Packs: []ui.Pack{mfa.Pages()}})
	if err != nil {
		t.Fatal(err)
	}
	noSudo, err := ui.New(a.Site, ui.Config{Packs: []ui.Pack{mfa.Pages(), {Name: "signin", Routes: map[string]string{ui.RouteSignIn: "/login"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*mfa.Config)
		want   string
	}{
		{"no store", func(c *mfa.Config) { c.Store = nil }, "Config.Store is required"},
		{"no sessions", func(c *mfa.Config) { c.Sessions = nil }, "Config.Sessions is required"},
		{"no guard", func(c *mfa.Config) { c.Guard = nil }, "Config.Guard is required"},
		{"no UI", func(c *mfa.Config) { c.UI = nil }, "Config.UI is required"},
		{"no mail", func(c *mfa.Config) { c.Mail = nil }, "Config.Mail is required"},
		{"no keys", func(c *mfa.Config) { c.Keys = "" }, "Config.Keys is required"},
		{"UI without the mfa pack", func(c *mfa.Config) { c.UI = noPack }, `no "mfa" pack`},
		{"UI of another site", func(c *mfa.Config) { c.UI = otherUI }, "different sites"},
		{"UI without a sign-in route", func(c *mfa.Config) { c.UI = onlyMFA }, `route "sign_in"`},
		{"UI without a sudo route", func(c *mfa.Config) { c.UI = noSudo }, `route "sudo"`},
		{"short key", func(c *mfa.Config) { c.Keys = "t1:c2hvcnQ" }, "Keys"},
		{"key not base64", func(c *mfa.Config) { c.Keys = "t1:***" }, "Keys"},
		{"key without id", func(c *mfa.Config) { c.Keys = strings.TrimPrefix(apptest.NewKey("t1"), "t1:") }, "Keys"},
		{"two keys with one id", func(c *mfa.Config) { c.Keys = apptest.NewKey("t1") + "," + apptest.NewKey("t1") }, "Keys"},
		{"issuer with a colon", func(c *mfa.Config) { c.Issuer = "Acme: Inc" }, "colon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.change(&cfg)
			m, err := mfa.New(cfg)
			if !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "mfa: ") {
				t.Fatalf("got %v, %v; want an error wrapping sigra.ErrConfig that says %q", m, err, tc.want)
			}
		})
	}
	// Zero durations take the defaults; a negative TrustDuration turns
	// trusted browsers off.
	cfg := good()
	cfg.TrustDuration = -time.Second
	if _, err := mfa.New(cfg); err != nil {
		t.Fatalf("negative TrustDuration: got %v, want no error", err)
	}
}

// TestAAL2NeedsStepUpRoute: RequireAAL2 sends one-factor users to the
// step-up page that the mfa pack declares; without that pack the guard
// refuses to wrap a handler, naming the missing route.
func TestAAL2NeedsStepUpRoute(t *testing.T) {
	t.Parallel()
	a := apptest.New(t, apptest.Options{Packs: []ui.Pack{account.Pages()}}, nil)
	msg := func() (msg string) {
		defer func() { msg = fmt.Sprint(recover()) }()
		a.Guard.RequireAAL2(http.NotFoundHandler())
		return "no panic"
	}()
	if !strings.Contains(msg, `"step_up"`) || !strings.Contains(msg, "RequireAAL2") {
		t.Fatalf("RequireAAL2 without the mfa pack: got %q, want a panic naming the route \"step_up\"", msg)
	}
}

// TestOtherPrefix: under another prefix every route, redirect and link of
// the flows follows it, RequireAAL2's redirect included.
func TestOtherPrefix(t *testing.T) {
	t.Parallel()
	eachWith(t, options{prefix: "/account"}, func(t *testing.T, a *app) {
		u := a.CreateUser(t, "user@example.com", pw)
		c := a.Client(t)
		c.SignIn(u.Email, pw)
		wantRedirect(t, "AAL2 route at AAL1", c.Get("/secure"), "/account/mfa/setup?return_to=%2Fsecure")
		res := c.Get("/account/mfa/setup?return_to=%2Fsecure")
		want(t, "set-up page", res, http.StatusOK)
		if !strings.Contains(res.Body, `action="/account/mfa/setup"`) || !strings.Contains(res.Body, `href="/account/mfa"`) {
			t.Fatalf("the set-up page does not link under /account:\n%s", res.Body)
		}
		want(t, "the default prefix", c.Get("/auth/mfa/setup"), http.StatusNotFound)
		secret, _ := enroll(t, a, c)

		p := a.Client(t)
		wantRedirect(t, "password sign-in", p.SignIn(u.Email, pw), "/account/mfa/challenge")
		res = p.Get("/account/mfa/challenge")
		want(t, "challenge page", res, http.StatusOK)
		for _, s := range []string{`action="/account/mfa/challenge"`, `href="/account/mfa/recovery"`, `action="/account/logout"`} {
			if !strings.Contains(res.Body, s) {
				t.Errorf("challenge page lacks %s", s)
			}
		}
		wantRedirect(t, "challenge", p.Post("/account/mfa/challenge", url.Values{"code": {code(t, a, secret)}, "trust": {"on"}}), "/")
		wantState(t, a, p, "authenticated", 2, "password", "totp")
		nextStep(a)
		wantRedirect(t, "disable", c.Post("/account/mfa/disable", url.Values{"code": {code(t, a, secret)}}), "/account/mfa?notice=mfa_disabled")
		wantRedirect(t, "challenge when signed out", a.Client(t).Post("/account/mfa/challenge", url.Values{"code": {"123456"}}), "/account/login?notice=mfa_expired")
	})
}

// TestTrustDisabled: with a negative TrustDuration the challenge offers no
// checkbox, ignores one posted anyway, and honours no trust cookie.
func TestTrustDisabled(t *testing.T) {
	t.Parallel()
	eachWith(t, options{mfa: func(c *mfa.Config) { c.TrustDuration = -1 }}, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		c := a.Client(t)
		signInPending(t, a, c, u.Email)
		if res := c.Get("/auth/mfa/challenge"); strings.Contains(res.Body, `name="trust"`) {
			t.Fatal("the challenge offers to trust the browser")
		}
		if b := body(t, c.JSON("GET", "/auth/mfa/challenge", "")); b["allow_trust"] != false {
			t.Fatalf("challenge JSON: %v", b)
		}
		wantRedirect(t, "challenge", c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}, "trust": {"on"}}), "/")
		if c.Cookie(trustName) != "" || trustedCount(t, a, u.ID) != 0 {
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
		c.Jar.SetCookies(srv, []*http.Cookie{{Name: trustName, Value: tok, Path: "/"}})
		wantAsked(t, a, c, u.Email)
	})
}

// TestCustomLockout: MaxFailures and LockoutDuration are honoured.
func TestCustomLockout(t *testing.T) {
	t.Parallel()
	eachWith(t, options{mfa: func(c *mfa.Config) { c.MaxFailures, c.LockoutDuration = 3, time.Minute }}, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		c := a.Client(t)
		signInPending(t, a, c, u.Email)
		for i, status := range []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests} {
			want(t, "failure "+string(rune('1'+i)), c.Post("/auth/mfa/challenge", url.Values{"code": {wrongCode(t, a, secret)}}), status)
		}
		want(t, "right code while locked", c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), http.StatusTooManyRequests)
		a.Clock.Advance(time.Minute)
		wantRedirect(t, "right code after a minute", c.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), "/")
		if n := countMails(t, a, u.Email, "Too many two-factor attempts"); n != 1 {
			t.Fatalf("lockout notices: got %d, want 1", n)
		}
	})
}
