package jwtauth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sigra-go/sigra/jwtauth"
)

// BenchmarkVerify measures the verification of an access token used
// again (its signature verified on first use, its times and family
// checked every time: the family from memory within RecheckAfter, or
// from the store on every request).
func BenchmarkVerify(b *testing.B) {
	for _, every := range []bool{false, true} {
		name := "recheck-after"
		if every {
			name = "every-request"
		}
		b.Run(name, func(b *testing.B) {
			a := newApp(b, "sqlite", func(c *jwtauth.Config) { c.CheckEveryRequest = every })
			c, _ := a.signedIn(b, "bench@example.com")
			tok := a.exchange(b, c, `{}`).AccessToken
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.JWT.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyFirstUse measures the first verification of a token by a
// verifier: the EdDSA signature and the claims, and the family read from
// the store.
func BenchmarkVerifyFirstUse(b *testing.B) {
	a := newApp(b, "sqlite", nil)
	c, _ := a.signedIn(b, "bench@example.com")
	tok := a.exchange(b, c, `{}`).AccessToken
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		j := a.instance(b, nil) // a verifier that has seen nothing
		b.StartTimer()
		if _, err := j.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequest serves one GET in process through a bare handler and
// through JWT.Require around the same handler, in the same run: the
// ratio of the two is the cost of JWT authentication per request.
func BenchmarkRequest(b *testing.B) {
	a := newApp(b, "sqlite", nil)
	c, _ := a.signedIn(b, "bench@example.com")
	tok := a.exchange(b, c, `{}`).AccessToken
	strict := a.instance(b, func(c *jwtauth.Config) { c.CheckEveryRequest = true })
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	for _, h := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", hello},
		{"jwt", a.JWT.Require(hello)},
		{"jwt-every-request", strict.Require(hello)},
		{"bare-again", hello},
	} {
		b.Run(h.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
