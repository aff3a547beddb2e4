package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// benchWriter is a ResponseWriter that keeps the status and the size of
// the body and throws the body away, so the benchmarks measure the
// application rather than a recorder's buffer growth. reset readies it
// for the next request, keeping its header map.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}
func (w *benchWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(b)
	return len(b), nil
}
func (w *benchWriter) reset() { clear(w.h); w.status, w.n = 0, 0 }

// signedInDemo starts the demo on SQLite (see startDemo), signs the demo
// account in, and returns the Cookie header of that browser (session and
// CSRF cookies) and the demo's host, for requests made by hand as wrk
// makes them.
func signedInDemo(tb testing.TB) (x *running, cookie, host string) {
	tb.Helper()
	x = startDemo(tb, Config{DB: filepath.Join(tb.TempDir(), "demo.db")}, false)
	c := x.Client(tb)
	c.SignIn(DemoEmail, demoPassword)
	cookie = "sigra_session=" + c.Cookie("sigra_session") + "; sigra_csrf=" + c.Cookie("sigra_csrf")
	return x, cookie, strings.TrimPrefix(x.URL, "http://")
}

// BenchmarkAuthenticatedPages serves the demo's authenticated GETs that
// bench/loopback.sh loads with wrk, in process, through the demo's whole
// handler (SQLite): GET /auth/session (the JSON of the session, through
// every middleware) and GET /private (a page of the demo rendered in the
// UI's layout), with the cookies of a signed-in browser and the headers
// wrk sends. hello serves the same requests to a bare handler writing a
// short body, the loopback script's baseline: the difference is the cost
// of the chain. Every answer must be 200 with a body.
func BenchmarkAuthenticatedPages(b *testing.B) {
	x, cookie, host := signedInDemo(b)
	app := x.app.Handler()
	hello := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello\n") })

	// Each request is made as net/http's server makes one (a new Request,
	// URL and header map, no body), not with httptest.NewRequest's new
	// 4 KiB reader per request, whose garbage would weigh on every figure.
	request := func(path string) *http.Request {
		return &http.Request{
			Method: http.MethodGet, URL: &url.URL{Path: path}, RequestURI: path,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: host, RemoteAddr: "127.0.0.1:40000",
			Header: http.Header{"Cookie": {cookie}}, Body: http.NoBody, // wrk sends Host and the cookies
		}
	}
	// What the pages show, checked once before timing.
	for path, want := range map[string]string{"/auth/session": `"email":"` + DemoEmail + `"`, "/private": "You are <strong>" + DemoEmail + "</strong>"} {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, request(path))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
			b.Fatalf("GET %s: got %d, want 200 with %q\n%.2000s", path, rec.Code, want, rec.Body)
		}
	}

	for _, tc := range []struct {
		name, path string
		h          http.Handler
	}{
		{"hello", "/", hello},
		{"session-json", "/auth/session", app},
		{"private-page", "/private", app},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := &benchWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				tc.h.ServeHTTP(w, request(tc.path))
				if w.status != http.StatusOK || w.n == 0 {
					b.Fatalf("GET %s: got %d with %d bytes, want 200 with a body", tc.path, w.status, w.n)
				}
			}
		})
	}
}
