package middleware_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/site"
)

func TestSecureHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		site    site.Config
		cfg     middleware.HeadersConfig
		tls     bool
		peer    string
		xfp     string
		hsts    string
		handler string // Referrer-Policy set by the handler
	}{
		{"https site, TLS ends at a proxy", site.Config{BaseURL: "https://app.example.com"}, middleware.HeadersConfig{}, false, "", "", "max-age=63072000; includeSubDomains", ""},
		{"https site over TLS", site.Config{BaseURL: "https://app.example.com"}, middleware.HeadersConfig{}, true, "", "", "max-age=63072000; includeSubDomains", ""},
		{"local http site", site.Config{BaseURL: "http://localhost:8080"}, middleware.HeadersConfig{}, false, "", "", "", ""},
		{"local http site, request over TLS", site.Config{BaseURL: "http://localhost:8080"}, middleware.HeadersConfig{}, true, "", "", "max-age=63072000; includeSubDomains", ""},
		{"local http site, trusted proxy says https", site.Config{BaseURL: "http://localhost:8080", TrustedProxies: []string{"10.0.0.1"}}, middleware.HeadersConfig{}, false, "10.0.0.1:4000", "https", "max-age=63072000; includeSubDomains", ""},
		{"local http site, untrusted peer says https", site.Config{BaseURL: "http://localhost:8080", TrustedProxies: []string{"10.0.0.1"}}, middleware.HeadersConfig{}, false, "192.0.2.9:4000", "https", "", ""},
		{"own max-age", site.Config{BaseURL: "https://app.example.com"}, middleware.HeadersConfig{HSTSMaxAge: time.Hour}, false, "", "", "max-age=3600; includeSubDomains", ""},
		{"HSTS disabled", site.Config{BaseURL: "https://app.example.com"}, middleware.HeadersConfig{HSTSMaxAge: -1}, true, "", "", "", ""},
		{"handler's stricter Referrer-Policy wins", site.Config{BaseURL: "https://app.example.com"}, middleware.HeadersConfig{}, false, "", "", "max-age=63072000; includeSubDomains", "no-referrer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := site.New(tt.site)
			if err != nil {
				t.Fatal(err)
			}
			h := middleware.SecureHeaders(s, tt.cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.handler != "" {
					w.Header().Set("Referrer-Policy", tt.handler)
				}
			}))
			req := httptest.NewRequest("GET", "http://app.example.com/", nil)
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			if tt.peer != "" {
				req.RemoteAddr = tt.peer
			}
			if tt.xfp != "" {
				req.Header.Set("X-Forwarded-Proto", tt.xfp)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			hd := rec.Header()
			if got := hd.Get("Strict-Transport-Security"); got != tt.hsts {
				t.Errorf("Strict-Transport-Security: got %q, want %q", got, tt.hsts)
			}
			if csp := hd.Get("Content-Security-Policy"); csp != middleware.DefaultCSP || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("Content-Security-Policy: got %q, want the default", csp)
			}
			wantRP := "strict-origin-when-cross-origin"
			if tt.handler != "" {
				wantRP = tt.handler
			}
			for name, want := range map[string]string{
				"X-Content-Type-Options":     "nosniff",
				"X-Frame-Options":            "DENY",
				"Cross-Origin-Opener-Policy": "same-origin",
				"Referrer-Policy":            wantRP,
			} {
				if got := hd.Get(name); got != want {
					t.Errorf("%s: got %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestSecureHeadersOwnPolicies(t *testing.T) {
	t.Parallel()
	s, err := site.New(site.Config{BaseURL: "https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	h := middleware.SecureHeaders(s, middleware.HeadersConfig{CSP: "default-src 'none'", ReferrerPolicy: "no-referrer"})(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Header().Get("Content-Security-Policy"); got != "default-src 'none'" {
		t.Errorf("Content-Security-Policy: got %q, want %q", got, "default-src 'none'")
	}
	if got := rec.Header().Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy: got %q, want %q", got, "no-referrer")
	}
}

// TestSecureHeadersShareNoValue checks that the headers' values, which
// share one array, stay apart: a handler that adds to one changes no
// other, and each response gets its own.
func TestSecureHeadersShareNoValue(t *testing.T) {
	t.Parallel()
	s, err := site.New(site.Config{BaseURL: "https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	h := middleware.SecureHeaders(s, middleware.HeadersConfig{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Content-Security-Policy", "report-to default")
		w.Header().Add("X-Frame-Options", "SAMEORIGIN")
		w.Header()["Referrer-Policy"][0] = "no-referrer"
	}))
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "https://app.example.com/", nil))
		got := rec.Header()
		for name, want := range map[string][]string{
			"Content-Security-Policy":    {middleware.DefaultCSP, "report-to default"},
			"X-Frame-Options":            {"DENY", "SAMEORIGIN"},
			"X-Content-Type-Options":     {"nosniff"},
			"Referrer-Policy":            {"no-referrer"},
			"Cross-Origin-Opener-Policy": {"same-origin"},
			"Strict-Transport-Security":  {"max-age=63072000; includeSubDomains"},
		} {
			if !slices.Equal(got[name], want) {
				t.Errorf("%s: got %q, want %q", name, got[name], want)
			}
		}
	}
}
