package mfa_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mfa"
)

// cancelOnCount is the application's real store, which cancels the
// request that is being served when the recovery codes are counted (as
// the settings page does): as when the client goes away at that point.
type cancelOnCount struct {
	mfa.Store
	mu     sync.Mutex
	cancel context.CancelFunc
}

func (s *cancelOnCount) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	s.mu.Unlock()
	return s.Store.CountRecoveryCodes(ctx, userID)
}

// arm makes the next count cancel the request of ctx, returned.
func (s *cancelOnCount) arm() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancel = cancel
	return ctx
}

// TestClientGoneWhileRegenerating sends a wrong code to POST
// /mfa/recovery-codes/regenerate and lets the client go away while the
// settings page is being built again with the error: the page cannot be
// built with the request's cancelled context, and that is not a server
// error. The answer is the status 499 alone, not 500.
func TestClientGoneWhileRegenerating(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			var st *cancelOnCount
			a := newApp(t, options{backend: b, mfa: func(c *mfa.Config) {
				st = &cancelOnCount{Store: c.Store}
				c.Store = st
			}})
			c, _, secret, _ := newEnrolledUser(t, a, "gone@example.com")
			c.Get("/auth/mfa") // the form's token
			base, _ := url.Parse(a.Server.URL)

			body := url.Values{"code": {wrongCode(t, a, secret)}, "csrf_token": {c.CSRF()}}
			r := httptest.NewRequest("POST", a.Server.URL+"/auth/mfa/recovery-codes/regenerate", strings.NewReader(body.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Origin", a.Server.URL)
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			for _, ck := range c.Jar.Cookies(base) {
				r.AddCookie(ck)
			}
			r = r.WithContext(st.arm())
			rec := httptest.NewRecorder()
			a.Server.Config.Handler.ServeHTTP(rec, r)
			if rec.Code != 499 {
				t.Fatalf("got %d %s, want 499: the client went away while the page was built", rec.Code, rec.Body)
			}

			// The same request from a client that stays is refused as usual.
			res := c.Post("/auth/mfa/recovery-codes/regenerate", url.Values{"code": {wrongCode(t, a, secret)}})
			want(t, "wrong code", res, http.StatusUnauthorized)
		})
	}
}
