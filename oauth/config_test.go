package oauth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/oauth"
)

// New refuses a configuration it cannot serve, with an error that wraps
// sigra.ErrConfig and names what is wrong, and does no network I/O (the
// issuers here do not exist).
func TestNewValidates(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{})
	base := func() oauth.Config {
		st, _ := a.Store.(oauth.Store)
		return oauth.Config{Store: st, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, Keys: a.Keys,
			Providers: []oauth.Provider{oauth.Google("id", "secret")}}
	}
	ms := oauth.Microsoft("common", "id", "secret")
	ms.Tenant = "bad tenant/"
	gh := oauth.GitHub("id", "secret")
	gh.TrustMFA = true
	ghURL := oauth.GitHub("id", "secret")
	ghURL.APIURL = "http://api.example.com"
	for _, tc := range []struct {
		name string
		edit func(c *oauth.Config)
		want string
	}{
		{"no store", func(c *oauth.Config) { c.Store = nil }, "Store"},
		{"no keys", func(c *oauth.Config) { c.Keys = "" }, "Keys"},
		{"bad keys", func(c *oauth.Config) { c.Keys = "k1:short" }, "Keys"},
		{"no providers", func(c *oauth.Config) { c.Providers = nil }, "Providers"},
		{"no client id", func(c *oauth.Config) { c.Providers = []oauth.Provider{oauth.Google("", "s")} }, "ClientID"},
		{"no secret", func(c *oauth.Config) { c.Providers = []oauth.Provider{oauth.GitHub("id", "")} }, "ClientSecret"},
		{"bad name", func(c *oauth.Config) { c.Providers[0].Name = "Google!" }, "Name"},
		{"duplicate", func(c *oauth.Config) { c.Providers = append(c.Providers, oauth.Google("x", "y")) }, "two providers"},
		{"no issuer", func(c *oauth.Config) { c.Providers = []oauth.Provider{oauth.OIDC("corp", "Corp", "", "id", "s")} }, "Issuer"},
		{"http issuer", func(c *oauth.Config) {
			c.Providers = []oauth.Provider{oauth.OIDC("corp", "Corp", "http://id.example.com", "id", "s")}
		}, "https"},
		{"issuer with query", func(c *oauth.Config) {
			c.Providers = []oauth.Provider{oauth.OIDC("corp", "Corp", "https://id.example.com/?x=1", "id", "s")}
		}, "Issuer"},
		{"no kind", func(c *oauth.Config) { c.Providers = []oauth.Provider{{Name: "x", ClientID: "i", ClientSecret: "s"}} }, "Kind"},
		{"bad tenant", func(c *oauth.Config) { c.Providers = []oauth.Provider{ms} }, "Tenant"},
		{"tenant elsewhere", func(c *oauth.Config) { c.Providers[0].Tenant = "common" }, "Tenant"},
		{"GitHub URLs elsewhere", func(c *oauth.Config) { c.Providers[0].APIURL = "https://api.example.com" }, "GitHub only"},
		{"GitHub over http", func(c *oauth.Config) { c.Providers = []oauth.Provider{ghURL} }, "https"},
		{"GitHub TrustMFA", func(c *oauth.Config) { c.Providers = []oauth.Provider{gh} }, "TrustMFA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(&c)
			_, err := oauth.New(c)
			if !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a config error naming %q", err, tc.want)
			}
		})
	}
	c := base()
	c.Providers = []oauth.Provider{
		oauth.Google("g", "s"), oauth.GitHub("h", "s"), oauth.Apple("a", "s"),
		oauth.Microsoft("", "m", "s"), oauth.GitLab("l", "s"), oauth.OIDC("corp", "Corp", "https://id.invalid", "c", "s"),
	}
	if _, err := oauth.New(c); err != nil {
		t.Errorf("every kind of provider: %v", err)
	}
}

// A provider that cannot be reached answers 503, not 500, and its next
// use tries again.
func TestProviderDown(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{extra: func(*idp) []oauth.Provider {
		return []oauth.Provider{oauth.OIDC("down", "Down", "http://127.0.0.1:1", "id", "s")}
	}})
	res := a.Client(t).Post(a.Path("/oauth/down/start"), nil)
	want(t, "start with a provider down", res, 503)
	if res.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}
