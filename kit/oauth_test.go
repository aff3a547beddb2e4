package kit_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/oauth"
)

// With providers in Config.OAuth, the kit mounts provider sign-in, adds
// its settings section, and lets Apple's form_post callback through the
// CSRF checks; a provider sign-in works end to end and runs the
// account's AfterSignIn hook.
func TestOAuth(t *testing.T) {
	t.Parallel()
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	apple := oauth.Apple(idp.ClientID, idp.ClientSecret)
	apple.Issuer = idp.Issuer()
	cfg := kit.Config{OAuth: oauth.Config{Providers: []oauth.Provider{
		oauth.OIDC("local", "Local ID", idp.Issuer(), idp.ClientID, idp.ClientSecret), apple,
	}}}
	// The account's AfterSignIn runs after provider sign-ins too.
	var mu sync.Mutex
	var signedIn []string
	cfg.Account.Hooks.AfterSignIn = func(_ context.Context, u *sigra.User) {
		mu.Lock()
		defer mu.Unlock()
		signedIn = append(signedIn, u.Email)
	}
	a, k := start(t, cfg, nil)
	if k.OAuth == nil {
		t.Fatal("no OAuth with providers configured")
	}
	c := a.Client(t)
	page := c.Get("/auth/oauth")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, "Continue with Local ID") {
		t.Fatalf("GET /auth/oauth: got %d\n%.800s", page.StatusCode, page.Body)
	}
	idp.QueueUser(&mockoidc.MockUser{Subject: "kit-sub", Email: "kit@example.com", EmailVerified: true})
	res := c.Post("/auth/oauth/local/start", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: got %d\n%s", res.StatusCode, res.Body)
	}
	noFollow := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	pres, err := noFollow.Get(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	pres.Body.Close()
	if res := c.Get(pres.Header.Get("Location")); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: got %d\n%s", res.StatusCode, res.Body)
	}
	mu.Lock()
	if strings.Join(signedIn, ",") != "kit@example.com" {
		t.Errorf("Account.Hooks.AfterSignIn after a provider sign-in: got %q, want kit@example.com once", signedIn)
	}
	mu.Unlock()
	if res := c.JSON("GET", "/auth/sudo", ""); !strings.Contains(res.Body, `"has_linked_account":true`) {
		t.Errorf("sudo page of a provider sign-up: got %s, want has_linked_account true", res.Body)
	}
	settings := c.Get("/auth/settings")
	if !strings.Contains(settings.Body, "Linked accounts") {
		t.Errorf("settings: no linked-accounts section\n%.1000s", settings.Body)
	}
	// Apple's cross-site form_post passes the CSRF checks (and changes
	// nothing); another route's does not.
	for path, status := range map[string]int{"/auth/oauth/apple/callback": http.StatusSeeOther, "/auth/oauth/unlink": http.StatusForbidden} {
		req, _ := http.NewRequest(http.MethodPost, a.Server.URL+path, strings.NewReader(url.Values{"state": {"s"}, "code": {"c"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://appleid.apple.com")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != status {
			t.Errorf("cross-site POST %s: got %d, want %d", path, res.StatusCode, status)
		}
	}
}
