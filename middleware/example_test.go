package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sigra-go/sigra/middleware"
)

// Redirect targets from the request are accepted only as local paths.
func ExampleSafeReturnTo() {
	for _, s := range []string{"/settings?tab=security", "//evil.example", "/%2F%2Fevil.example", "https://evil.example"} {
		_, ok := middleware.SafeReturnTo(s)
		fmt.Println(s, ok)
	}
	// Output:
	// /settings?tab=security true
	// //evil.example false
	// /%2F%2Fevil.example false
	// https://evil.example false
}

// A per-address limit over a single-process limiter; with a store, pass
// it as the Limiter instead so limits hold across instances.
func ExampleRateLimiter_Limit() {
	rl, _ := middleware.NewRateLimiter(middleware.RateLimiterConfig{Limiter: middleware.NewMemoryLimiter(0)})
	h := rl.Limit(middleware.Rule{Name: "login", Limit: 2, Window: time.Minute})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
		fmt.Printf("%d Retry-After=%q\n", rec.Code, rec.Header().Get("Retry-After"))
	}
	// Output:
	// 200 Retry-After=""
	// 200 Retry-After=""
	// 429 Retry-After="60"
}

// CSRF protection for an app served over plain HTTP on localhost during
// development; in production the base URL is https.
func ExampleCSRF() {
	csrf, err := middleware.CSRF(middleware.CSRFConfig{BaseURL: "http://localhost:8080"})
	if err != nil {
		panic(err)
	}
	h := csrf(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "changed")
	}))
	req := httptest.NewRequest("POST", "http://localhost:8080/settings", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output: 403
}
