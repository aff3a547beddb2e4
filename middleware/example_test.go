package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/ui"
)

// The whole chain: one site, sessions over a store, a UI whose packs
// declare the pages the guards send browsers to, and the guard built with
// that UI. In an application the packs are the features' (account.Pages(),
// mfa.Pages()); here a pack of the application's own declares the sign-in
// route.
func Example() {
	dir, _ := os.MkdirTemp("", "sigra-example")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	s, err := site.New(site.Config{BaseURL: "https://app.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(s, db, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	pages, err := ui.New(s, ui.Config{Packs: []ui.Pack{{
		Name:   "app",
		Routes: map[string]string{ui.RouteSignIn: "/login"},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := middleware.New(sessions, middleware.Config{Routes: pages})
	if err != nil {
		log.Fatal(err)
	}
	csrf, err := middleware.CSRF(s, middleware.CSRFConfig{})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /dashboard", guard.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", sigra.UserFrom(r.Context()).Email)
	})))
	handler := middleware.SecureHeaders(s, middleware.HeadersConfig{})(
		middleware.LimitBody(0)(csrf(sessions.LoadAndSave(mux))))

	// An anonymous browser is sent to sign in, under the site's prefix,
	// and comes back afterwards.
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", "https://app.example.com/dashboard", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// A script gets JSON instead.
	req := httptest.NewRequest("GET", "https://app.example.com/dashboard", nil)
	req.Header.Set("Accept", "application/json")
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 303 /auth/login?return_to=%2Fdashboard
	// 401 {"error":{"code":"unauthenticated","message":"Sign in to continue."}}
}

// A guard needs the pages it sends browsers to: wrapping a handler with
// RequireAAL2 in an application whose UI has no step-up page stops at
// start, with a message that says what to add.
func ExampleGuard_RequireAAL2_missingRoute() {
	dir, _ := os.MkdirTemp("", "sigra-example")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	s, _ := site.New(site.Config{BaseURL: "https://app.example.com"})
	sessions, _ := session.New(s, db, session.Config{})
	pages, _ := ui.New(s, ui.Config{Packs: []ui.Pack{{Name: "app", Routes: map[string]string{ui.RouteSignIn: "/login"}}}})
	guard, _ := middleware.New(sessions, middleware.Config{Routes: pages})

	defer func() { fmt.Println(recover() != nil) }()
	guard.RequireAAL2(http.NotFoundHandler())
	// Output: true
}

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
	s, _ := site.New(site.Config{BaseURL: "https://app.example.com"})
	rl, _ := middleware.NewRateLimiter(s, middleware.RateLimiterConfig{Limiter: middleware.NewMemoryLimiter(0)})
	login := middleware.Rule{Name: "login", Limit: middleware.Limit{N: 2, Window: time.Minute}}
	h := rl.Limit(login)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
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

// Two limits of one request, counted together: the client's address,
// then the account it names. The third request is refused by the
// account's limit (index 1); the fourth, from the same address, by the
// address's (index 0), and the account's is not counted for it.
func ExampleRateLimiter_CheckAll() {
	s, _ := site.New(site.Config{BaseURL: "https://app.example.com"})
	rl, _ := middleware.NewRateLimiter(s, middleware.RateLimiterConfig{Limiter: middleware.NewMemoryLimiter(0)})
	limits := []middleware.KeyLimit{
		{Key: "reset-ip:" + middleware.IPKey("203.0.113.7"), Limit: middleware.Limit{N: 3, Window: time.Hour}},
		{Key: "reset-addr:user@example.com", Limit: middleware.Limit{N: 2, Window: time.Hour}},
	}
	for range 4 {
		i, err := rl.CheckAll(context.Background(), limits)
		fmt.Println(i, errors.Is(err, middleware.ErrLimited))
	}
	// Output:
	// -1 false
	// -1 false
	// 1 true
	// 0 true
}

// CSRF protection for the site: a cross-site form post is refused, a form
// from the site's own page with its token passes. Over plain HTTP on
// localhost (development) the same works with an http:// base URL.
func ExampleCSRF() {
	s, err := site.New(site.Config{BaseURL: "https://app.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	csrf, err := middleware.CSRF(s, middleware.CSRFConfig{})
	if err != nil {
		log.Fatal(err)
	}
	h := csrf(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "changed")
	}))
	req := httptest.NewRequest("POST", "https://app.example.com/settings", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output: 403
}
