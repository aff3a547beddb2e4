package passkey_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/passkey"
	"github.com/sigra-go/sigra/ui"
)

// New refuses a relying party that cannot work, with errors that wrap
// sigra.ErrConfig and say what is wrong.
func TestConfigRefused(t *testing.T) {
	t.Parallel()
	var base passkey.Config
	apptest.New(t, apptest.Options{Packs: []ui.Pack{account.Pages(), passkey.Pages()}}, func(a *apptest.App) {
		base = passkey.Config{Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, Keys: a.Keys}
	})
	for _, tc := range []struct {
		name string
		edit func(c *passkey.Config)
		want string
	}{
		{"no store", func(c *passkey.Config) { c.Store = nil }, "Store"},
		{"no keys", func(c *passkey.Config) { c.Keys = "" }, "Keys"},
		{"bad keys", func(c *passkey.Config) { c.Keys = "nope" }, "Keys"},
		{"IPv4 RP ID", func(c *passkey.Config) { c.RPID = "127.0.0.1" }, "IP address"},
		{"IPv6 RP ID", func(c *passkey.Config) { c.RPID = "::1" }, "IP address"},
		{"public suffix", func(c *passkey.Config) {
			c.RPID, c.Origins = "co.uk", []string{"https://shop.co.uk"}
		}, "public suffix"},
		{"RP ID with a port", func(c *passkey.Config) { c.RPID = "example.com:443" }, "lower-case domain"},
		{"upper-case RP ID", func(c *passkey.Config) { c.RPID = "Example.com" }, "lower-case domain"},
		{"origin with a slash", func(c *passkey.Config) {
			c.RPID, c.Origins = "example.com", []string{"https://example.com/"}
		}, "no path"},
		{"origin with a path", func(c *passkey.Config) {
			c.RPID, c.Origins = "example.com", []string{"https://example.com/app"}
		}, "no path"},
		{"origin elsewhere", func(c *passkey.Config) {
			c.RPID, c.Origins = "example.com", []string{"https://example.org"}
		}, "registrable suffix"},
		{"origin on a look-alike", func(c *passkey.Config) {
			c.RPID, c.Origins = "example.com", []string{"https://badexample.com"}
		}, "registrable suffix"},
		{"plain http", func(c *passkey.Config) {
			c.RPID, c.Origins = "example.com", []string{"http://example.com"}
		}, "https"},
		{"origin by IP", func(c *passkey.Config) { c.Origins = []string{"http://127.0.0.1:8080"} }, "IP address"},
		{"related origin over http", func(c *passkey.Config) {
			c.RPID, c.Origins, c.RelatedOrigins = "example.com", []string{"https://example.com"}, []string{"http://example.org"}
		}, "https"},
		{"bad attestation", func(c *passkey.Config) { c.Attestation = "always" }, "Attestation"},
		{"bad clone policy", func(c *passkey.Config) { c.ClonePolicy = 7 }, "ClonePolicy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			_, err := passkey.New(c)
			if !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: got %v, want an error wrapping sigra.ErrConfig that says %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		edit func(c *passkey.Config)
	}{
		{"defaults", func(c *passkey.Config) {}},
		{"subdomain origins", func(c *passkey.Config) {
			c.RPID, c.Origins = "example.com", []string{"https://example.com", "https://login.example.com:8443"}
		}},
		{"related origins", func(c *passkey.Config) {
			c.RPID, c.Origins, c.RelatedOrigins = "example.com", []string{"https://example.com"}, []string{"https://example.co.uk"}
		}},
	} {
		c := base
		tc.edit(&c)
		if _, err := passkey.New(c); err != nil {
			t.Errorf("%s: New: %v", tc.name, err)
		}
	}
}

// Related origins are served at /.well-known/webauthn, with the site's.
func TestRelatedOrigins(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{passkey: func(c *passkey.Config) {
		c.RelatedOrigins = []string{"https://example.co.uk"}
	}})
	res := a.Client(t).Get("/.well-known/webauthn")
	want(t, "GET /.well-known/webauthn", res, http.StatusOK)
	if got, wantBody := res.Body, `{"origins":["`+a.URL+`","https://example.co.uk"]}`; got != wantBody {
		t.Errorf("document: got %s, want %s", got, wantBody)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: got %q", ct)
	}
	plain := newApp(t, options{})
	if res := plain.Client(t).Get("/.well-known/webauthn"); res.StatusCode != http.StatusNotFound {
		t.Errorf("without related origins: got %d, want 404", res.StatusCode)
	}
}
