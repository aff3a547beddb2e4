package apitoken_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sigra-go/sigra/apitoken"
	"github.com/sigra-go/sigra/middleware"
)

// BenchmarkBearer compares, in one run on SQLite, a request through the
// application's whole stack (headers, body limit, CSRF, sessions) to a
// bare handler with the same request to a handler behind Bearer with a
// personal token, beside each other: with the token's rate limit counted
// in the store (the default, which holds across instances) and in process
// memory. Compare the ns/op of each pair as a ratio.
func BenchmarkBearer(b *testing.B) {
	for _, bc := range []struct {
		name   string
		memory bool
	}{{"store-limiter", false}, {"memory-limiter", true}} {
		a := newApp(b, options{cfg: func(c *apitoken.Config) {
			c.RateLimit = middleware.Limit{N: 1 << 30, Window: time.Hour}
			if bc.memory {
				rl, err := middleware.NewRateLimiter(c.Sessions.Site(), middleware.RateLimiterConfig{Limiter: middleware.NewMemoryLimiter(10000)})
				if err != nil {
					b.Fatal(err)
				}
				c.RateLimiter = rl
			}
		}})
		a.Mux.Handle("GET /bare", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
		a.Mux.Handle("GET /api/ok", a.Tokens.Bearer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })))
		u := a.CreateUser(b, "bench@example.com", pw)
		c, err := a.Tokens.Create(b.Context(), u.ID, "bench", nil, a.Clock.Now().Add(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		h := a.Server.Config.Handler
		run := func(path, auth string) func(b *testing.B) {
			return func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					r := httptest.NewRequest("GET", path, nil)
					if auth != "" {
						r.Header.Set("Authorization", "Bearer "+auth)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("%s: %d %s", path, w.Code, w.Body)
					}
				}
			}
		}
		b.Run(bc.name+"/bare", run("/bare", ""))
		b.Run(bc.name+"/bearer", run("/api/ok", c.Secret))
	}
}
