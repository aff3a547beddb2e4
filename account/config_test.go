package account_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/ui"
)

// TestNewConfigErrors: account.New refuses every unusable configuration
// with an error that wraps sigra.ErrConfig and names what is wrong.
func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	a := apptest.New(t, apptest.Options{Packs: []ui.Pack{account.Pages(), profilePack()}}, nil)
	valid := func() account.Config {
		return account.Config{Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Passwords: a.Hasher, Mail: a.Outbox}
	}
	if _, err := account.New(valid()); err != nil {
		t.Fatalf("valid configuration: got %v, want none", err)
	}
	withoutPack, err := ui.New(a.Site, ui.Config{})
	if err != nil {
		t.Fatal(err)
	}
	otherSite, err := site.New(site.Config{BaseURL: a.URL})
	if err != nil {
		t.Fatal(err)
	}
	otherUI, err := ui.New(otherSite, ui.Config{Packs: []ui.Pack{account.Pages()}})
	if err != nil {
		t.Fatal(err)
	}
	profile := func(*http.Request) (any, error) { return &profileSection{}, nil }

	cases := []struct {
		name   string
		change func(c *account.Config)
		want   string // in the message
	}{
		{"no store", func(c *account.Config) { c.Store = nil }, "Config.Store"},
		{"no sessions", func(c *account.Config) { c.Sessions = nil }, "Config.Sessions"},
		{"no guard", func(c *account.Config) { c.Guard = nil }, "Config.Guard"},
		{"no UI", func(c *account.Config) { c.UI = nil }, "Config.UI"},
		{"no hasher", func(c *account.Config) { c.Passwords = nil }, "Config.Passwords"},
		{"no sender", func(c *account.Config) { c.Mail = nil }, "Config.Mail"},
		{"UI without the account pack", func(c *account.Config) { c.UI = withoutPack }, `"account" pack`},
		{"UI of another site", func(c *account.Config) { c.UI = otherUI }, "different sites"},
		{"section no pack provides", func(c *account.Config) { c.Sections = []ui.Section{{Name: "nosuch", Data: profile}} }, `"nosuch"`},
		{"section without data", func(c *account.Config) { c.Sections = []ui.Section{{Name: "profile"}} }, `"profile"`},
		{"second factor without its route", func(c *account.Config) { c.SecondFactor = newSecondFactor() }, `"second_factor"`},
		{"a registration field of the registration itself", func(c *account.Config) { c.Hooks.Fields = []string{"display_name", "password"} }, `Hooks.Fields: "password"`},
		{"a registration field that is not a name", func(c *account.Config) { c.Hooks.Fields = []string{"display name"} }, `Hooks.Fields: "display name"`},
		{"a registration field named twice", func(c *account.Config) { c.Hooks.Fields = []string{"terms", "terms"} }, `Hooks.Fields: "terms" is named twice`},
		{"a negative breach check interval", func(c *account.Config) { c.BreachCheck.Every = -1 }, "BreachCheck.Every"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.change(&cfg)
			h, err := account.New(cfg)
			if !errors.Is(err, sigra.ErrConfig) {
				t.Fatalf("got %v, %v; want an error wrapping sigra.ErrConfig", h, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "account") {
				t.Errorf("got %q, want a message about account naming %s", err, tc.want)
			}
		})
	}
	// The profile section is accepted once it has data.
	cfg := valid()
	cfg.Sections = []ui.Section{{Name: "profile", Data: profile}}
	if _, err := account.New(cfg); err != nil {
		t.Errorf("a section some pack provides: got %v, want none", err)
	}
}
