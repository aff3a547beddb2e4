package apitoken_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/apitoken"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// TestNewValidates: New refuses incomplete or unsafe configurations with
// an error that wraps sigra.ErrConfig and names the problem.
func TestNewValidates(t *testing.T) {
	t.Parallel()
	a := apptest.New(t, apptest.Options{Packs: []ui.Pack{account.Pages(), apitoken.Pages()}}, nil)
	st := a.Store.(apitoken.Store)
	good := func() apitoken.Config {
		return apitoken.Config{Store: st, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, Scopes: scopes}
	}
	if _, err := apitoken.New(good()); err != nil {
		t.Fatalf("a complete config: got %v, want no error", err)
	}
	noPack, err := ui.New(a.Site, ui.Config{Packs: []ui.Pack{account.Pages()}})
	if err != nil {
		t.Fatal(err)
	}
	noSudo, err := ui.New(a.Site, ui.Config{Packs: []ui.Pack{apitoken.Pages()}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*apitoken.Config)
		want   string
	}{
		{"no store", func(c *apitoken.Config) { c.Store = nil }, "Config.Store is required"},
		{"no sessions", func(c *apitoken.Config) { c.Sessions = nil }, "Config.Sessions is required"},
		{"no mail", func(c *apitoken.Config) { c.Mail = nil }, "Config.Mail is required"},
		{"UI without the pack", func(c *apitoken.Config) { c.UI = noPack }, `no "apitoken" pack`},
		{"UI without a sudo route", func(c *apitoken.Config) { c.UI = noSudo }, `route "sudo"`},
		{"scope with a space", func(c *apitoken.Config) { c.Scopes = []apitoken.Scope{{Name: "notes read"}} }, "invalid name"},
		{"upper-case scope", func(c *apitoken.Config) { c.Scopes = []apitoken.Scope{{Name: "Notes"}} }, "invalid name"},
		{"empty scope", func(c *apitoken.Config) { c.Scopes = []apitoken.Scope{{}} }, "invalid name"},
		{"scope twice", func(c *apitoken.Config) { c.Scopes = []apitoken.Scope{{Name: "a"}, {Name: "a"}} }, "declared twice"},
		{"expiry in hours", func(c *apitoken.Config) { c.DefaultExpiry = 36 * time.Hour }, "whole days"},
		{"max below default", func(c *apitoken.Config) { c.MaxExpiry = 30 * 24 * time.Hour }, "MaxExpiry"},
		{"long prefix", func(c *apitoken.Config) { c.Prefix = "abcdefgh" }, "Prefix"},
		{"prefix with digits", func(c *apitoken.Config) { c.Prefix = "ab1" }, "Prefix"},
		{"negative rate", func(c *apitoken.Config) { c.RateLimit = middleware.Limit{N: -1, Window: time.Second} }, "RateLimit"},
		{"access tokens for a week", func(c *apitoken.Config) { c.AccessTokenTTL = 7 * 24 * time.Hour }, "AccessTokenTTL"},
		{"realm with a quote", func(c *apitoken.Config) { c.Realm = `a"b` }, "Realm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.change(&cfg)
			x, err := apitoken.New(cfg)
			if !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "apitoken: ") {
				t.Fatalf("got %v, %v; want an error wrapping sigra.ErrConfig that says %q", x, err, tc.want)
			}
		})
	}
	// RequireScopes of an undeclared scope is a programming error.
	x, _ := apitoken.New(good())
	msg := func() (msg string) {
		defer func() { msg = fmt.Sprint(recover()) }()
		x.RequireScopes("root")
		return "no panic"
	}()
	if !strings.Contains(msg, "root") {
		t.Errorf("RequireScopes(root): got %q, want a panic naming the scope", msg)
	}
}

// failingStore is the application's real store whose token lookups fail
// as an unreachable database does.
type failingStore struct {
	apitoken.Store
}

func (failingStore) APITokenByDigest(context.Context, []byte, time.Time) (*store.APIToken, *store.User, *store.ServiceAccount, error) {
	return nil, nil, nil, fmt.Errorf("lookup: %w", store.ErrUnavailable)
}

// TestOutage: a store that cannot answer yields 503 with Retry-After on a
// bearer request, never 500 or 401.
func TestOutage(t *testing.T) {
	eachWith(t, options{cfg: func(c *apitoken.Config) { c.Store = failingStore{c.Store} }}, func(t *testing.T, a *app) {
		tok, _ := token.NewAPIKey("sigrapat")
		res := a.bearer(t, "GET", "/api/whoami", tok)
		wantStatus(t, "outage", res, http.StatusServiceUnavailable)
		if res.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	})
}

// TestRateLimitRace: of many concurrent requests with one token, exactly
// the limit get through.
func TestRateLimitRace(t *testing.T) {
	const limit, n = 5, 16
	eachWith(t, options{cfg: func(c *apitoken.Config) { c.RateLimit = middleware.Limit{N: limit, Window: time.Hour} }}, func(t *testing.T, a *app) {
		c, _ := a.signedIn(t, "ann@example.com")
		tok := a.createToken(t, c, "ci", "", "")
		var wg sync.WaitGroup
		codes := make([]int, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := httptest.NewRequest("GET", "/api/whoami", nil)
				r.Header.Set("Authorization", "Bearer "+tok)
				rec := httptest.NewRecorder()
				a.Server.Config.Handler.ServeHTTP(rec, r)
				codes[i] = rec.Code
			}()
		}
		close(start)
		wg.Wait()
		ok, limited := 0, 0
		for _, c := range codes {
			switch c {
			case http.StatusOK:
				ok++
			case http.StatusTooManyRequests:
				limited++
			default:
				t.Errorf("unexpected status %d", c)
			}
		}
		if ok != limit || limited != n-limit {
			t.Errorf("%d concurrent requests: %d through, %d limited; want %d and %d", n, ok, limited, limit, n-limit)
		}
	})
}
