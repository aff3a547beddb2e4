package passkey_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/passkey"
	"github.com/sigra-go/sigra/store"
)

// The options are rate limited per address: past the limit, 429 with
// Retry-After, and no ceremony begins.
func TestOptionsRateLimit(t *testing.T) {
	t.Parallel()
	eachWith(t, options{passkey: func(c *passkey.Config) {
		c.Limits.OptionsPerIP = middleware.Limit{N: 4, Window: time.Hour}
	}}, func(t *testing.T, a *app) {
		c, _, _ := newPasskeyUser(t, a, "limited@example.com") // options 1
		for i := range 3 {                                     // options 2 to 4
			want(t, fmt.Sprint("options ", i), post(t, c, a.Path("/passkeys/signin/options"), nil), http.StatusOK)
		}
		res := post(t, a.Client(t), a.Path("/passkeys/signin/options"), nil)
		wantError(t, "options past the limit", res, http.StatusTooManyRequests, "rate_limited")
		if res.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
	})
}

// The finishes are rate limited per account: past the limit, 429, and
// the passkey's record does not move.
func TestFinishRateLimitPerUser(t *testing.T) {
	t.Parallel()
	eachWith(t, options{passkey: func(c *passkey.Config) {
		c.Limits.FinishPerUser = middleware.Limit{N: 3, Window: time.Hour}
	}}, func(t *testing.T, a *app) {
		c, u, au := newPasskeyUser(t, a, "busy@example.com") // finish 1
		for i := range 2 {                                   // finishes 2 and 3
			o := readOptions(t, post(t, c, a.Path("/passkeys/sudo/options"), nil))
			want(t, fmt.Sprint("sudo ", i), postCredential(t, c, a.Path("/passkeys/sudo"), au.get(t, o, nil), nil), http.StatusOK)
		}
		before := passkeys(t, a, u.ID)[0].SignCount
		o := readOptions(t, post(t, c, a.Path("/passkeys/sudo/options"), nil))
		wantError(t, "finish past the account's limit", postCredential(t, c, a.Path("/passkeys/sudo"), au.get(t, o, nil), nil), http.StatusTooManyRequests, "rate_limited")
		if after := passkeys(t, a, u.ID)[0].SignCount; after != before {
			t.Errorf("counter after a refused finish: got %d, want %d", after, before)
		}
	})
}

// downStore is the application's real store whose passkey methods fail
// as an unreachable database does while down is set.
type downStore struct {
	passkey.Store
	down atomic.Bool
}

func (s *downStore) err() error {
	if s.down.Load() {
		return fmt.Errorf("test: %w", store.ErrUnavailable)
	}
	return nil
}

func (s *downStore) UserIDByPasskeyHandle(ctx context.Context, handle []byte) (string, error) {
	if err := s.err(); err != nil {
		return "", err
	}
	return s.Store.UserIDByPasskeyHandle(ctx, handle)
}

func (s *downStore) PasskeysByUser(ctx context.Context, userID, rpID string) ([]*store.Passkey, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.PasskeysByUser(ctx, userID, rpID)
}

// A store that cannot answer gives 503 with Retry-After, never 500, on
// the page and on a sign-in finish (where the failure comes back through
// go-webauthn's lookup of the passkey's user); the service recovers by
// itself.
func TestStoreOutage(t *testing.T) {
	t.Parallel()
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			var st *downStore
			a := newApp(t, options{backend: b, passkey: func(c *passkey.Config) {
				st = &downStore{Store: c.Store}
				c.Store = st
			}})
			c, _, au := newPasskeyUser(t, a, "outage@example.com")
			st.down.Store(true)
			res := c.JSON("GET", a.Path("/passkeys"), "")
			want(t, "page while down", res, http.StatusServiceUnavailable)
			if res.Header.Get("Retry-After") == "" {
				t.Error("page while down: no Retry-After")
			}
			c2 := a.Client(t)
			o := readOptions(t, post(t, c2, a.Path("/passkeys/signin/options"), nil))
			res = postCredential(t, c2, a.Path("/passkeys/signin"), au.get(t, o, nil), nil)
			want(t, "sign-in while down", res, http.StatusServiceUnavailable)
			st.down.Store(false)
			_, res = signInDiscoverable(t, a, au, nil)
			want(t, "sign-in after", res, http.StatusOK)
		})
	}
}
