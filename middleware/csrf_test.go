package middleware_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/site"
)

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

func (h *logRecorder) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.recs...)
}

// attr returns the value of a record's attribute, or "".
func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// csrfApp is a site with the CSRF middleware around a form, and the log
// of its refusals.
type csrfApp struct {
	h      http.Handler
	log    *logRecorder
	cookie *http.Cookie // the token cookie a GET handed out
	token  string       // the form token of that GET
}

const siteOrigin = "https://app.example.com"

func newCSRFApp(t *testing.T, base string, cfg middleware.CSRFConfig) *csrfApp {
	t.Helper()
	a := &csrfApp{log: &logRecorder{}}
	s, err := site.New(site.Config{BaseURL: base, Logger: slog.New(a.log)})
	if err != nil {
		t.Fatal(err)
	}
	mw, err := middleware.CSRF(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.h = mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, middleware.CSRFToken(r))
			return
		}
		_, _ = io.WriteString(w, "changed")
	}))
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, httptest.NewRequest("GET", base+"/form", nil))
	a.token = rec.Body.String()
	for _, c := range rec.Result().Cookies() {
		a.cookie = c
	}
	if a.token == "" || a.cookie == nil {
		t.Fatalf("GET /form: got token %q and cookie %v, want both", a.token, a.cookie)
	}
	return a
}

// TestCSRF checks every case of the CSRF doc comment's list.
func TestCSRF(t *testing.T) {
	t.Parallel()
	const (
		form   = "form"   // a form body with the right token
		noTok  = "notok"  // a form body without a token
		badTok = "badtok" // a form body with another token
		jsonB  = "json"   // a JSON body, no token
		bearer = "bearer" // a bearer token and a form body, no CSRF token
		none   = ""       // no body
	)
	trusted := middleware.CSRFConfig{TrustedOrigins: []string{"https://admin.example.com"}}
	tests := []struct {
		name   string
		cfg    middleware.CSRFConfig
		method string
		body   string
		hdr    map[string]string
		layer  string // the refusing layer; "" when the request passes
	}{
		{"GET passes", middleware.CSRFConfig{}, "GET", none, nil, ""},
		{"cross-site GET passes", middleware.CSRFConfig{}, "GET", none, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, ""},
		{"HEAD passes", middleware.CSRFConfig{}, "HEAD", none, map[string]string{"Sec-Fetch-Site": "cross-site"}, ""},
		{"OPTIONS passes", middleware.CSRFConfig{}, "OPTIONS", none, map[string]string{"Sec-Fetch-Site": "cross-site"}, ""},

		{"same-origin form with a token passes", middleware.CSRFConfig{}, "POST", form, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": siteOrigin}, ""},
		{"same-origin form without a token", middleware.CSRFConfig{}, "POST", noTok, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": siteOrigin}, "token"},
		{"same-origin form with another token", middleware.CSRFConfig{}, "POST", badTok, map[string]string{"Sec-Fetch-Site": "same-origin"}, "token"},
		{"token in the header passes", middleware.CSRFConfig{}, "POST", none, map[string]string{"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": "{token}"}, ""},
		{"cross-site Sec-Fetch-Site", middleware.CSRFConfig{}, "POST", form, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, "cross-origin"},
		{"same-site sibling", middleware.CSRFConfig{}, "POST", form, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://other.example.com"}, "cross-origin"},
		{"Sec-Fetch-Site none without Origin or Referer", middleware.CSRFConfig{}, "POST", form, map[string]string{"Sec-Fetch-Site": "none"}, "token"},

		{"old browser, matching Origin and a token, passes", middleware.CSRFConfig{}, "POST", form, map[string]string{"Origin": siteOrigin}, ""},
		{"old browser, matching Origin, no token", middleware.CSRFConfig{}, "POST", noTok, map[string]string{"Origin": siteOrigin}, "token"},
		{"old browser, foreign Origin", middleware.CSRFConfig{}, "POST", form, map[string]string{"Origin": "https://evil.example"}, "cross-origin"},
		{"form with neither Origin, Referer nor Sec-Fetch-Site", middleware.CSRFConfig{}, "POST", form, nil, "token"},
		{"Referer on the site passes", middleware.CSRFConfig{}, "POST", form, map[string]string{"Referer": siteOrigin + "/form"}, ""},
		{"foreign Referer", middleware.CSRFConfig{}, "POST", form, map[string]string{"Referer": "https://evil.example/form"}, "token"},
		{"Referer on the site over http", middleware.CSRFConfig{}, "POST", form, map[string]string{"Referer": "http://app.example.com/form"}, "token"},

		{"JSON body skips the token", middleware.CSRFConfig{}, "POST", jsonB, nil, ""},
		{"JSON body from the site passes", middleware.CSRFConfig{}, "POST", jsonB, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": siteOrigin}, ""},
		{"JSON body cross-site", middleware.CSRFConfig{}, "POST", jsonB, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, "cross-origin"},
		{"JSON body, old browser, foreign Origin", middleware.CSRFConfig{}, "POST", jsonB, map[string]string{"Origin": "https://evil.example"}, "cross-origin"},
		{"bearer skips the token", middleware.CSRFConfig{}, "POST", bearer, nil, ""},
		{"bearer cross-site", middleware.CSRFConfig{}, "POST", bearer, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, "cross-origin"},

		{"trusted origin, same-site, passes", trusted, "POST", form, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://admin.example.com"}, ""},
		{"trusted origin, cross-site, passes", trusted, "POST", form, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://admin.example.com"}, ""},
		{"trusted origin, old browser, passes", trusted, "POST", form, map[string]string{"Origin": "https://admin.example.com"}, ""},
		{"trusted origin's Referer passes", trusted, "POST", form, map[string]string{"Referer": "https://admin.example.com/page"}, ""},
		{"trusted origin still needs the token", trusted, "POST", noTok, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://admin.example.com"}, "token"},
		{"untrusted sibling with trusted origins set", trusted, "POST", form, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://other.example.com"}, "cross-origin"},

		{"site's origin behind a proxy that rewrites Host", middleware.CSRFConfig{}, "POST", form, map[string]string{"Host": "backend.internal:8080", "Origin": siteOrigin}, ""},
		{"site's origin, rewritten Host, same-origin fetch", middleware.CSRFConfig{}, "POST", form, map[string]string{"Host": "backend.internal:8080", "Sec-Fetch-Site": "same-origin", "Origin": siteOrigin}, ""},
		{"site's Referer behind a proxy that rewrites Host", middleware.CSRFConfig{}, "POST", form, map[string]string{"Host": "backend.internal:8080", "Referer": siteOrigin + "/form"}, ""},
		{"foreign Origin, rewritten Host", middleware.CSRFConfig{}, "POST", form, map[string]string{"Host": "backend.internal:8080", "Origin": "https://evil.example"}, "cross-origin"},
		{"Origin of the rewritten Host itself", middleware.CSRFConfig{}, "POST", form, map[string]string{"Host": "backend.internal:8080", "Origin": "https://backend.internal:8080"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newCSRFApp(t, siteOrigin, tt.cfg)
			var body io.Reader
			ct := ""
			switch tt.body {
			case form:
				body, ct = strings.NewReader(url.Values{middleware.CSRFFieldName: {a.token}, "x": {"1"}}.Encode()), "application/x-www-form-urlencoded"
			case noTok:
				body, ct = strings.NewReader("x=1"), "application/x-www-form-urlencoded"
			case badTok:
				other := newCSRFApp(t, siteOrigin, tt.cfg)
				body, ct = strings.NewReader(url.Values{middleware.CSRFFieldName: {other.token}}.Encode()), "application/x-www-form-urlencoded"
			case jsonB:
				body, ct = strings.NewReader(`{"x":1}`), "application/json"
			case bearer:
				body, ct = strings.NewReader("x=1"), "application/x-www-form-urlencoded"
			}
			req := httptest.NewRequest(tt.method, siteOrigin+"/form", body)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			if tt.body == bearer {
				req.Header.Set("Authorization", "Bearer k")
			}
			req.AddCookie(a.cookie)
			for k, v := range tt.hdr {
				v = strings.ReplaceAll(v, "{token}", a.token)
				if k == "Host" {
					req.Host = v
					continue
				}
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			a.h.ServeHTTP(rec, req)

			refusals := a.log.records()
			if tt.layer == "" {
				if rec.Code != http.StatusOK {
					t.Errorf("status: got %d (%s), want 200", rec.Code, strings.TrimSpace(rec.Body.String()))
				}
				if len(refusals) != 0 {
					t.Errorf("log: got %d records (%q: %s), want none", len(refusals), refusals[0].Message, attr(refusals[0], "reason"))
				}
				return
			}
			if rec.Code != http.StatusForbidden {
				t.Errorf("status: got %d, want 403", rec.Code)
			}
			if strings.Contains(rec.Body.String(), "changed") {
				t.Errorf("body: got %q, want the handler not reached", rec.Body.String())
			}
			if len(refusals) != 1 {
				t.Fatalf("log: got %d records, want one per refusal", len(refusals))
			}
			r := refusals[0]
			if r.Level != slog.LevelInfo {
				t.Errorf("log level: got %v, want INFO", r.Level)
			}
			if got := attr(r, "layer"); got != tt.layer {
				t.Errorf("log layer: got %q, want %q", got, tt.layer)
			}
			if attr(r, "reason") == "" {
				t.Errorf("log: got no reason in %v, want one", r)
			}
		})
	}
}

// TestCSRFRefusalAnswer: a refusal is 403 "csrf_failed", as JSON for a
// client that wants JSON, as a page otherwise, or through the configured
// FailureHandler.
func TestCSRFRefusalAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    middleware.CSRFConfig
		accept string
		status int
		want   string
	}{
		{"JSON", middleware.CSRFConfig{}, "application/json", http.StatusForbidden, `"code":"csrf_failed"`},
		{"HTML", middleware.CSRFConfig{}, "text/html", http.StatusForbidden, "sent from another site"},
		{"own handler", middleware.CSRFConfig{FailureHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "refused here", http.StatusTeapot)
		})}, "text/html", http.StatusTeapot, "refused here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newCSRFApp(t, siteOrigin, tt.cfg)
			req := httptest.NewRequest("POST", siteOrigin+"/form", strings.NewReader("x=1"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", tt.accept)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			rec := httptest.NewRecorder()
			a.h.ServeHTTP(rec, req)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("got %d %q, want %d with %q", rec.Code, rec.Body.String(), tt.status, tt.want)
			}
			if n := len(a.log.records()); n != 1 {
				t.Errorf("log: got %d records, want 1", n)
			}
		})
	}
}

// TestCSRFCookie: the token cookie takes the site's attributes.
func TestCSRFCookie(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		site   site.Config
		cfg    middleware.CSRFConfig
		cookie string
		secure bool
		domain string
	}{
		{"https", site.Config{BaseURL: "https://app.example.com"}, middleware.CSRFConfig{}, "__Host-sigra_csrf", true, ""},
		{"local http", site.Config{BaseURL: "http://localhost:8080"}, middleware.CSRFConfig{}, "sigra_csrf", false, ""},
		{"cookie domain", site.Config{BaseURL: "https://app.example.com", CookieDomain: "example.com"}, middleware.CSRFConfig{}, "sigra_csrf", true, "example.com"},
		{"own name", site.Config{BaseURL: "https://app.example.com"}, middleware.CSRFConfig{CookieName: "app_csrf"}, "__Host-app_csrf", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := site.New(tt.site)
			if err != nil {
				t.Fatal(err)
			}
			mw, err := middleware.CSRF(s, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			mw(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", tt.site.BaseURL+"/", nil))
			cookies := rec.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("Set-Cookie: got %q, want one cookie", rec.Result().Header["Set-Cookie"])
			}
			ck := cookies[0]
			if ck.Name != tt.cookie || ck.Secure != tt.secure || ck.Domain != tt.domain || !ck.HttpOnly || ck.Path != "/" || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 {
				t.Errorf("cookie: got %+v, want %s, Secure=%v, Domain=%q, HttpOnly, Path=/, SameSite=Lax, a positive Max-Age", ck, tt.cookie, tt.secure, tt.domain)
			}
		})
	}
}

// TestCSRFLocalHTTP: plain-HTTP development on localhost works: a form
// from the page itself passes.
func TestCSRFLocalHTTP(t *testing.T) {
	t.Parallel()
	a := newCSRFApp(t, "http://localhost:8080", middleware.CSRFConfig{})
	for _, hdr := range []map[string]string{
		{"Origin": "http://localhost:8080"},
		{"Referer": "http://localhost:8080/form"},
		{"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost:8080"},
	} {
		req := httptest.NewRequest("POST", "http://localhost:8080/form", strings.NewReader(url.Values{middleware.CSRFFieldName: {a.token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		req.AddCookie(a.cookie)
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("%v: got %d %s, want 200", hdr, rec.Code, rec.Body.String())
		}
	}
}

func TestCSRFConfigErrors(t *testing.T) {
	t.Parallel()
	s, err := site.New(site.Config{BaseURL: siteOrigin})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		site *site.Site
		cfg  middleware.CSRFConfig
	}{
		{"nil site", nil, middleware.CSRFConfig{}},
		{"trusted origin without a scheme", s, middleware.CSRFConfig{TrustedOrigins: []string{"admin.example.com"}}},
		{"trusted origin with a path", s, middleware.CSRFConfig{TrustedOrigins: []string{"https://admin.example.com/x"}}},
		{"cookie name with a semicolon", s, middleware.CSRFConfig{CookieName: "a;b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mw, err := middleware.CSRF(tt.site, tt.cfg)
			if !errors.Is(err, sigra.ErrConfig) || mw != nil {
				t.Fatalf("CSRF: got %v, want no middleware and an error wrapping sigra.ErrConfig", err)
			}
		})
	}
}

// TestCSRFTokenWithCookie: a GET, HEAD or OPTIONS that carries the token
// cookie gets no new cookie, varies on Cookie, and has a form token masked
// anew for each request (the same one throughout a request) that a POST
// with that cookie passes with; the first cookie of the name counts, as
// on the POST, and a quoted value is read as Request.Cookie reads it. A
// cookie nosurf would not use is replaced, and the token goes with the
// new cookie.
func TestCSRFTokenWithCookie(t *testing.T) {
	t.Parallel()
	a := newCSRFApp(t, siteOrigin, middleware.CSRFConfig{})
	other := newCSRFApp(t, siteOrigin, middleware.CSRFConfig{})
	s, err := site.New(site.Config{BaseURL: siteOrigin, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mw, err := middleware.CSRF(s, middleware.CSRFConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first, again := middleware.CSRFToken(r), middleware.CSRFToken(r)
		if first != again {
			t.Errorf("%s: CSRFToken gave %q, then %q within one request", r.Method, first, again)
		}
		if r.Method == http.MethodPost {
			_, _ = io.WriteString(w, "changed")
			return
		}
		_, _ = io.WriteString(w, first)
	}))
	get := func(method, cookies string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, siteOrigin+"/form", nil)
		req.Header.Set("Cookie", cookies)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	post := func(token, cookies string) int {
		req := httptest.NewRequest("POST", siteOrigin+"/form", strings.NewReader(url.Values{middleware.CSRFFieldName: {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Cookie", cookies)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	own := a.cookie.Name + "=" + a.cookie.Value
	seen := map[string]bool{a.token: true}
	for _, tc := range []struct{ name, method, cookies string }{
		{"GET", "GET", own},
		{"GET again", "GET", own},
		{"HEAD", "HEAD", "theme=dark; " + own},
		{"OPTIONS", "OPTIONS", own + "; theme=dark"},
		{"two cookies of the name", "GET", own + "; " + other.cookie.Name + "=" + other.cookie.Value},
		{"quoted value", "GET", a.cookie.Name + `="` + a.cookie.Value + `"`},
	} {
		rec := get(tc.method, tc.cookies)
		token := rec.Body.String()
		if rec.Code != http.StatusOK || token == "" {
			t.Fatalf("%s: got %d %q, want 200 and a token", tc.name, rec.Code, token)
		}
		if got := rec.Result().Cookies(); len(got) != 0 {
			t.Errorf("%s: got new cookies %v, want none", tc.name, got)
		}
		if got := rec.Header().Values("Vary"); len(got) != 1 || got[0] != "Cookie" {
			t.Errorf("%s: got Vary %q, want Cookie", tc.name, got)
		}
		if seen[token] {
			t.Errorf("%s: got the token %q of another request, want one masked anew", tc.name, token)
		}
		seen[token] = true
		if code := post(token, tc.cookies); code != http.StatusOK {
			t.Errorf("%s: POST with the token: got %d, want 200", tc.name, code)
		}
		if code := post(token, other.cookie.Name+"="+other.cookie.Value); code != http.StatusForbidden {
			t.Errorf("%s: POST with the token and another cookie: got %d, want 403", tc.name, code)
		}
	}
	for _, bad := range []string{"", "abc", strings.Repeat("A", 42) + "==", a.cookie.Value[:40] + "!!!="} {
		rec := get("GET", a.cookie.Name+"="+bad+"; "+own)
		token := rec.Body.String()
		cookies := rec.Result().Cookies()
		if rec.Code != http.StatusOK || token == "" || len(cookies) != 1 || cookies[0].Name != a.cookie.Name || cookies[0].Value == a.cookie.Value {
			t.Fatalf("cookie %q: got %d %q with cookies %v, want 200, a token and a new cookie", bad, rec.Code, token, cookies)
		}
		if code := post(token, a.cookie.Name+"="+cookies[0].Value); code != http.StatusOK {
			t.Errorf("cookie %q: POST with the token and the new cookie: got %d, want 200", bad, code)
		}
	}
}
