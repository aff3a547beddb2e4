package middleware

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sigra-go/sigra/site"
)

// DefaultCSP is the Content-Security-Policy of [SecureHeaders] when none is
// configured. Sigra's pages need nothing more: no inline script or style,
// images from the site or data: URLs (QR codes).
const DefaultCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// HeadersConfig configures [SecureHeaders]. The zero value is strict.
type HeadersConfig struct {
	// CSP is the Content-Security-Policy. Default [DefaultCSP].
	CSP string
	// ReferrerPolicy. Default "strict-origin-when-cross-origin".
	ReferrerPolicy string
	// HSTSMaxAge is the Strict-Transport-Security max-age, sent on every
	// response of a site whose base URL is https (TLS may end at a proxy),
	// and on requests that arrived over HTTPS otherwise. Default two
	// years; negative disables the header.
	HSTSMaxAge time.Duration
}

// SecureHeaders sets security headers on every response:
// Content-Security-Policy (with frame-ancestors 'none'), X-Frame-Options
// DENY, X-Content-Type-Options nosniff, Referrer-Policy,
// Cross-Origin-Opener-Policy same-origin, and Strict-Transport-Security
// over HTTPS. Headers a handler sets itself win (for example a stricter
// Referrer-Policy on the password reset page).
func SecureHeaders(s *site.Site, cfg HeadersConfig) func(http.Handler) http.Handler {
	if cfg.CSP == "" {
		cfg.CSP = DefaultCSP
	}
	if cfg.ReferrerPolicy == "" {
		cfg.ReferrerPolicy = "strict-origin-when-cross-origin"
	}
	if cfg.HSTSMaxAge == 0 {
		cfg.HSTSMaxAge = 2 * 365 * 24 * time.Hour
	}
	hsts := ""
	if cfg.HSTSMaxAge > 0 {
		hsts = "max-age=" + strconv.FormatInt(int64(cfg.HSTSMaxAge/time.Second), 10) + "; includeSubDomains"
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The values share one array, allocated once per response;
			// each header's slice has a capacity of one, so a handler's
			// Add copies it. The names are in canonical form.
			v := make([]string, 6)
			v[0], v[1], v[2], v[3], v[4] = cfg.CSP, "DENY", "nosniff", cfg.ReferrerPolicy, "same-origin"
			h := w.Header()
			h["Content-Security-Policy"] = v[0:1:1]
			h["X-Frame-Options"] = v[1:2:2]
			h["X-Content-Type-Options"] = v[2:3:3]
			h["Referrer-Policy"] = v[3:4:4]
			h["Cross-Origin-Opener-Policy"] = v[4:5:5]
			if hsts != "" && (s.Secure() || s.HTTPS(r)) {
				v[5] = hsts
				h["Strict-Transport-Security"] = v[5:6:6]
			}
			next.ServeHTTP(w, r)
		})
	}
}

// DefaultBodyLimit is the request body limit of [LimitBody] when n <= 0:
// 64 KiB, ample for every Sigra form and JSON body.
const DefaultBodyLimit = 64 << 10

// LimitBody caps request bodies at n bytes (DefaultBodyLimit when n <= 0).
// A request that declares a larger Content-Length gets 413 at once; a body
// that turns out larger fails to read, and form parsing reports it.
func LimitBody(n int64) func(http.Handler) http.Handler {
	if n <= 0 {
		n = DefaultBodyLimit
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				w.Header().Set("Connection", "close")
				http.Error(w, "Request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			if r.Body != http.NoBody { // nothing to limit in a request without a body
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}
