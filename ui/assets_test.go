package ui

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestAssetsHandler(t *testing.T) {
	t.Parallel()
	u := newTestUI(t, Config{})
	css, js, icon := u.AssetURL("sigra.css"), u.AssetURL("theme.js"), u.AssetURL("icon.svg")
	if !regexp.MustCompile(`^/auth/assets/sigra\.[0-9a-f]{12}\.css$`).MatchString(css) {
		t.Fatalf("AssetURL(sigra.css) = %q, want a content-hashed name under /auth/assets", css)
	}
	if u.AssetURL("nope.css") != "" {
		t.Errorf("AssetURL of a missing asset is not empty")
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/assets/", u.Assets())
	mux.Handle("/stripped/", http.StripPrefix("/stripped", u.Assets()))

	tests := []struct {
		name, method, path string
		header             map[string]string
		status             int
		ctype, cache       string
	}{
		{"hashed css", "GET", css, nil, 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"hashed js", "GET", js, nil, 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"hashed icon", "GET", icon, nil, 200, "image/svg+xml", "public, max-age=31536000, immutable"},
		{"plain name", "GET", "/auth/assets/sigra.css", nil, 200, "text/css; charset=utf-8", "no-cache"},
		{"stripped prefix", "GET", "/stripped/" + lastElem(css), nil, 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"head", "HEAD", css, nil, 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"unknown", "GET", "/auth/assets/evil.css", nil, 404, "", ""},
		{"old hash", "GET", "/auth/assets/sigra.000000000000.css", nil, 404, "", ""},
		{"directory", "GET", "/auth/assets/", nil, 404, "", ""},
		{"post", "POST", css, nil, 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := rec.Header().Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if rec.Header().Get("ETag") == "" {
				t.Errorf("no ETag")
			}
			if tc.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD sent a body")
			}
		})
	}

	// Revalidation with the ETag answers 304 without a body.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/auth/assets/sigra.css", nil))
	etag := rec.Header().Get("ETag")
	req := httptest.NewRequest("GET", "/auth/assets/sigra.css", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match: got %d with %d bytes, want 304 and no body", rec.Code, rec.Body.Len())
	}
	if !strings.Contains(css, strings.Trim(etag, `"`)) {
		t.Errorf("ETag %s is not the hash in the name %s", etag, css)
	}
}

func TestAssetHashFollowsContent(t *testing.T) {
	a := newTestUI(t, Config{})
	b := newTestUI(t, Config{Brand: Brand{AccentColor: "#0f766e"}})
	c := newTestUI(t, Config{})
	if a.AssetURL("sigra.css") == b.AssetURL("sigra.css") {
		t.Errorf("a new accent colour kept the stylesheet's name: caches would serve the old colours")
	}
	if a.AssetURL("sigra.css") != c.AssetURL("sigra.css") {
		t.Errorf("the same configuration gave two names: %s and %s", a.AssetURL("sigra.css"), c.AssetURL("sigra.css"))
	}
	if a.AssetURL("theme.js") != b.AssetURL("theme.js") {
		t.Errorf("the script's name changed with the brand")
	}
	icon := string(b.assets["icon.svg"].body)
	if !strings.Contains(icon, `fill="#0f766e"`) {
		t.Errorf("icon does not use the accent colour: %s", icon)
	}
}

// TestThemeScript checks the parts of the theme script the pages rely on:
// the storage key, the data-theme attribute, the switcher and copy hooks,
// and that it stays small enough to load in <head>.
func TestThemeScript(t *testing.T) {
	u := newTestUI(t, Config{})
	js := string(u.assets["theme.js"].body)
	for _, want := range []string{`"sigra-theme"`, `"data-theme"`, "[data-theme-switch]", "[data-copy-text]", "DOMContentLoaded"} {
		if !strings.Contains(js, want) {
			t.Errorf("theme.js lacks %q", want)
		}
	}
	if len(js) > 4096 {
		t.Errorf("theme.js is %d bytes; keep the blocking script under 4 KiB", len(js))
	}
	for _, bad := range []string{"eval(", "innerHTML", "document.write"} {
		if strings.Contains(js, bad) {
			t.Errorf("theme.js uses %s", bad)
		}
	}
}
