package site_test

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/site"
)

func mustNew(t testing.TB, cfg site.Config) *site.Site {
	t.Helper()
	s, err := site.New(cfg)
	if err != nil {
		t.Fatalf("site.New(%+v): %v", cfg, err)
	}
	return s
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base     string
		insecure bool
		origin   string // "" when New must fail
		secure   bool
	}{
		{base: "https://app.example.com", origin: "https://app.example.com", secure: true},
		{base: "https://app.example.com/", origin: "https://app.example.com", secure: true},
		{base: "HTTPS://App.Example.COM", origin: "https://app.example.com", secure: true},
		{base: "https://app.example.com:8443", origin: "https://app.example.com:8443", secure: true},
		{base: "https://app.example.com:443", origin: "https://app.example.com", secure: true},
		{base: "https://app.example.com:", origin: "https://app.example.com", secure: true},
		{base: "https://bücher.example", origin: "https://xn--bcher-kva.example", secure: true},
		{base: "https://[2001:db8::1]:443", origin: "https://[2001:db8::1]", secure: true},
		{base: "http://localhost:8080", origin: "http://localhost:8080"},
		{base: "http://localhost:80", origin: "http://localhost"},
		{base: "http://127.0.0.1:3000", origin: "http://127.0.0.1:3000"},
		{base: "http://[::1]:3000", origin: "http://[::1]:3000"},
		{base: "http://app.example.com", insecure: true, origin: "http://app.example.com"},
		{base: "http://192.168.1.10:8080", insecure: true, origin: "http://192.168.1.10:8080"},
		// Refused.
		{base: ""},
		{base: "http://app.example.com"},
		{base: "http://192.168.1.10:8080"},
		{base: "http://localhost.example.com"},
		{base: "https://app.example.com/auth"},
		{base: "https://app.example.com/."},
		{base: "https://app.example.com?x=1"},
		{base: "https://app.example.com?"},
		{base: "https://app.example.com#top"},
		{base: "https://app.example.com#"},
		{base: "https://user:pw@app.example.com"},
		{base: "https://user@app.example.com"},
		{base: "ftp://app.example.com"},
		{base: "app.example.com"},
		{base: "//app.example.com"},
		{base: "https:app.example.com"},
		{base: "https://"},
		{base: "https://:443"},
		{base: "https://app.example.com:x"},
		{base: "https://app example.com"},
		{base: "javascript:alert(1)"},
	}
	for _, tc := range tests {
		s, err := site.New(site.Config{BaseURL: tc.base, InsecureAllowHTTP: tc.insecure})
		if tc.origin == "" {
			if !errors.Is(err, sigra.ErrConfig) {
				t.Errorf("BaseURL %q: got %v, want an error wrapping sigra.ErrConfig", tc.base, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("BaseURL %q: %v", tc.base, err)
			continue
		}
		if s.Origin() != tc.origin || s.Secure() != tc.secure {
			t.Errorf("BaseURL %q: got origin %q, secure %v; want %q, %v", tc.base, s.Origin(), s.Secure(), tc.origin, tc.secure)
		}
	}
}

func TestPrefix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prefix, want string
		ok           bool
	}{
		{"", "/auth", true},
		{"/auth", "/auth", true},
		{"auth", "/auth", true},
		{"/auth/", "/auth", true},
		{"/", "", true},
		{"//", "", true},
		{"/account/v2", "/account/v2", true},
		{"/a-b_c.d~e", "/a-b_c.d~e", true},
		{"/a//b", "", false},
		{"/a/./b", "", false},
		{"/a/../b", "", false},
		{"/..", "", false},
		{"/a b", "", false},
		{"/a?b", "", false},
		{"/a#b", "", false},
		{"/a%2Fb", "", false},
		{"/caf\u00e9", "", false},
		{`/a\b`, "", false},
		{"/a\nb", "", false},
	} {
		s, err := site.New(site.Config{BaseURL: "https://app.example.com", Prefix: tc.prefix})
		if !tc.ok {
			if !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), "Prefix") {
				t.Errorf("Prefix %q: got %v, want sigra.ErrConfig about Prefix", tc.prefix, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Prefix %q: %v", tc.prefix, err)
			continue
		}
		if s.Prefix() != tc.want {
			t.Errorf("Prefix %q: got %q, want %q", tc.prefix, s.Prefix(), tc.want)
		}
	}
}

func TestPathAndURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prefix, rel, path string
	}{
		{"", "/login", "/auth/login"},
		{"", "", "/auth"},
		{"/", "/login", "/login"},
		{"/", "", "/"},
		{"/account", "/settings/email", "/account/settings/email"},
	} {
		s := mustNew(t, site.Config{BaseURL: "https://app.example.com:8443", Prefix: tc.prefix})
		if got := s.Path(tc.rel); got != tc.path {
			t.Errorf("prefix %q: Path(%q) = %q, want %q", tc.prefix, tc.rel, got, tc.path)
		}
	}
	s := mustNew(t, site.Config{BaseURL: "https://app.example.com:8443/"})
	for _, tc := range []struct {
		path  string
		query url.Values
		want  string
	}{
		{"/auth/reset", url.Values{"token": {"a b&c"}}, "https://app.example.com:8443/auth/reset?token=a+b%26c"},
		{"/auth/login", nil, "https://app.example.com:8443/auth/login"},
		{"/caf\u00e9", url.Values{}, "https://app.example.com:8443/caf%C3%A9"},
		{"/a?b", nil, "https://app.example.com:8443/a%3Fb"},
		{"", nil, "https://app.example.com:8443"},
	} {
		if got := s.URL(tc.path, tc.query); got != tc.want {
			t.Errorf("URL(%q, %v) = %q, want %q", tc.path, tc.query, got, tc.want)
		}
	}
}

// TestURLIgnoresRequestHost: links come from the base URL whatever host a
// request names; URL takes no request at all.
func TestURLIgnoresRequestHost(t *testing.T) {
	s := mustNew(t, site.Config{BaseURL: "https://app.example.com"})
	r := httptest.NewRequest(http.MethodGet, "http://evil.example/", nil)
	r.Header.Set("X-Forwarded-Host", "evil.example")
	if got := s.URL(r.URL.Path, nil); !strings.HasPrefix(got, "https://app.example.com/") {
		t.Errorf("got %q, want a URL on the base URL", got)
	}
}

func TestHome(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		home, want string
	}{
		{"", "/"},
		{"/", "/"},
		{"/dashboard", "/dashboard"},
		{"/app?tab=1", "/app?tab=1"},
		{"//evil.example", ""},
		{"https://evil.example/", ""},
		{"dashboard", ""},
		{`/\evil.example`, ""},
		{"/%2F/evil.example", ""},
		{"javascript:alert(1)", ""},
	} {
		s, err := site.New(site.Config{BaseURL: "https://app.example.com", Home: tc.home})
		if tc.want == "" {
			if !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), "Home") {
				t.Errorf("Home %q: got %v, want sigra.ErrConfig about Home", tc.home, err)
			}
			continue
		}
		if err != nil || s.Home() != tc.want {
			t.Errorf("Home %q: got %v, want %q", tc.home, err, tc.want)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	t.Parallel()
	got, err := site.ParsePrefixes("10.0.0.0/8", " 192.0.2.1 ", "", "2001:db8::/32", "10.1.2.3/16", "::ffff:192.0.2.0/120", "::ffff:198.51.100.9")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32", "10.1.0.0/16", "192.0.2.0/24", "198.51.100.9/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != netip.MustParsePrefix(want[i]) {
			t.Errorf("prefix %d: got %v, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"nope", "10.0.0.0/33", "10.0.0", "192.0.2.1:80", "10.0.0.0/8/8"} {
		if _, err := site.ParsePrefixes(bad); !errors.Is(err, sigra.ErrConfig) {
			t.Errorf("ParsePrefixes(%q): got %v, want sigra.ErrConfig", bad, err)
		}
		if _, err := site.New(site.Config{BaseURL: "https://app.example.com", TrustedProxies: []string{bad}}); !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), bad) {
			t.Errorf("TrustedProxies %q: got %v, want sigra.ErrConfig naming it", bad, err)
		}
	}
}

func TestClientIPHeaderConfig(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"X-Real-IP", "CF-Connecting-IP", "x-client-ip"} {
		if _, err := site.New(site.Config{BaseURL: "https://app.example.com", ClientIPHeader: h}); err != nil {
			t.Errorf("ClientIPHeader %q: %v", h, err)
		}
	}
	for _, h := range []string{"X Real IP", "X-Real-IP:", "X-Real-IP\r\nX: y", "Forwarded()", "é"} {
		if _, err := site.New(site.Config{BaseURL: "https://app.example.com", ClientIPHeader: h}); !errors.Is(err, sigra.ErrConfig) {
			t.Errorf("ClientIPHeader %q: got %v, want sigra.ErrConfig", h, err)
		}
	}
}

func TestCookies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, base, domain string
		insecure           bool
		wantName           string
		wantDomain         string
		wantSecure         bool
		wantErr            bool
	}{
		{name: "https host-only", base: "https://app.example.com", wantName: "__Host-sid", wantSecure: true},
		{name: "https with domain", base: "https://app.example.com", domain: "example.com", wantName: "sid", wantDomain: "example.com", wantSecure: true},
		{name: "leading dot and case", base: "https://app.example.com", domain: ".Example.COM", wantName: "sid", wantDomain: "example.com", wantSecure: true},
		{name: "domain is the host", base: "https://app.example.com", domain: "app.example.com", wantName: "sid", wantDomain: "app.example.com", wantSecure: true},
		{name: "deep host", base: "https://a.b.example.com", domain: "example.com", wantName: "sid", wantDomain: "example.com", wantSecure: true},
		{name: "IDN domain", base: "https://app.bücher.example", domain: "bücher.example", wantName: "sid", wantDomain: "xn--bcher-kva.example", wantSecure: true},
		{name: "local http", base: "http://localhost:8080", wantName: "sid"},
		{name: "local http with the host as domain", base: "http://localhost:8080", domain: "localhost", wantName: "sid", wantDomain: "localhost"},
		{name: "insecure http", base: "http://app.example.com", insecure: true, wantName: "sid"},
		{name: "another domain", base: "https://app.example.com", domain: "example.org", wantErr: true},
		{name: "suffix without dot", base: "https://app.example.com", domain: "le.com", wantErr: true},
		{name: "child of the host", base: "https://example.com", domain: "app.example.com", wantErr: true},
		{name: "top-level domain", base: "https://app.example.com", domain: "com", wantErr: true},
		{name: "part of an IP", base: "http://127.0.0.1:8080", domain: "0.0.1", wantErr: true},
		{name: "with a port", base: "https://app.example.com", domain: "example.com:443", wantErr: true},
		{name: "with an attribute", base: "https://app.example.com", domain: "example.com; Secure", wantErr: true},
		{name: "only a dot", base: "https://app.example.com", domain: ".", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := site.New(site.Config{BaseURL: tc.base, CookieDomain: tc.domain, InsecureAllowHTTP: tc.insecure})
			if tc.wantErr {
				if !errors.Is(err, sigra.ErrConfig) {
					t.Fatalf("got %v, want sigra.ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.CookieName("sid"); got != tc.wantName {
				t.Errorf("CookieName(sid) = %q, want %q", got, tc.wantName)
			}
			if s.CookieDomain() != tc.wantDomain {
				t.Errorf("CookieDomain() = %q, want %q", s.CookieDomain(), tc.wantDomain)
			}
			c := s.Cookie("sid", "v", 3600)
			want := http.Cookie{Name: tc.wantName, Value: "v", Path: "/", Domain: tc.wantDomain, MaxAge: 3600,
				HttpOnly: true, Secure: tc.wantSecure, SameSite: http.SameSiteLaxMode}
			if !reflect.DeepEqual(*c, want) {
				t.Errorf("Cookie = %+v, want %+v", *c, want)
			}
			// The header a browser gets is valid and carries every attribute.
			rec := httptest.NewRecorder()
			http.SetCookie(rec, c)
			set := rec.Header().Get("Set-Cookie")
			for _, part := range []string{tc.wantName + "=v", "Path=/", "Max-Age=3600", "HttpOnly", "SameSite=Lax"} {
				if !strings.Contains(set, part) {
					t.Errorf("got Set-Cookie %q, want it to hold %q", set, part)
				}
			}
			if strings.Contains(set, "Secure") != tc.wantSecure {
				t.Errorf("got Set-Cookie %q, want Secure=%v", set, tc.wantSecure)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	s := mustNew(t, site.Config{BaseURL: "https://app.example.com", TrustedProxies: []string{"10.0.0.0/8", "192.0.2.1", "2001:db8:ffff::/48"}})
	cases := []struct {
		name        string
		remote      string
		xff         []string // header lines
		want        string
		noProxiesIP string // the answer without trusted proxies; "" for remote's address
	}{
		{"no header", "203.0.113.5:1234", nil, "203.0.113.5", ""},
		{"untrusted peer: header ignored", "203.0.113.5:1234", []string{"1.2.3.4"}, "203.0.113.5", ""},
		{"trusted proxy", "10.1.1.1:80", []string{"198.51.100.7"}, "198.51.100.7", "10.1.1.1"},
		{"spoofed left part ignored", "10.1.1.1:80", []string{"6.6.6.6, 198.51.100.7, 10.2.2.2"}, "198.51.100.7", "10.1.1.1"},
		{"right-most untrusted hop", "10.1.1.1:80", []string{"198.51.100.1, 198.51.100.2"}, "198.51.100.2", "10.1.1.1"},
		{"chain of trusted proxies", "10.1.1.1:80", []string{"198.51.100.7, 192.0.2.1, 10.3.3.3"}, "198.51.100.7", "10.1.1.1"},
		{"several header lines", "10.1.1.1:80", []string{"6.6.6.6", "198.51.100.7, 10.2.2.2"}, "198.51.100.7", "10.1.1.1"},
		{"garbage left of the client", "192.0.2.1:80", []string{"garbage, 198.51.100.7"}, "198.51.100.7", "192.0.2.1"},
		{"garbage only", "10.1.1.1:80", []string{"not-an-ip"}, "10.1.1.1", "10.1.1.1"},
		{"garbage after a trusted hop", "10.1.1.1:80", []string{"198.51.100.7, bad, 10.2.2.2"}, "10.2.2.2", "10.1.1.1"},
		{"address with a port", "10.1.1.1:80", []string{"198.51.100.7:5000"}, "10.1.1.1", "10.1.1.1"},
		{"empty hop", "10.1.1.1:80", []string{"198.51.100.7, "}, "10.1.1.1", "10.1.1.1"},
		{"all trusted", "10.1.1.1:80", []string{"10.9.9.9"}, "10.9.9.9", "10.1.1.1"},
		{"IPv6 peer", "[2001:db8::1]:443", nil, "2001:db8::1", ""},
		{"IPv6 trusted proxy", "[2001:db8:ffff::5]:443", []string{"2001:db8:1::7"}, "2001:db8:1::7", "2001:db8:ffff::5"},
		{"IPv4-mapped peer", "[::ffff:10.1.1.1]:80", []string{"198.51.100.7"}, "198.51.100.7", "10.1.1.1"},
		{"IPv4-mapped hop", "10.1.1.1:80", []string{"::ffff:198.51.100.7"}, "198.51.100.7", "10.1.1.1"},
		{"peer without port", "203.0.113.5", nil, "203.0.113.5", ""},
		{"unparsable peer", "pipe", []string{"198.51.100.7"}, "pipe", "pipe"},
	}
	plain := mustNew(t, site.Config{BaseURL: "https://app.example.com"})
	for _, tc := range cases {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		if got := s.ClientIP(req); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
		want := tc.noProxiesIP
		if want == "" {
			want = tc.want
		}
		if got := plain.ClientIP(req); got != want {
			t.Errorf("%s, no trusted proxies: got %s, want %s", tc.name, got, want)
		}
	}
}

func TestClientIPCustomHeader(t *testing.T) {
	s := mustNew(t, site.Config{BaseURL: "https://app.example.com", TrustedProxies: []string{"10.0.0.0/8"}, ClientIPHeader: "X-Real-IP"})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "10.0.0.2:1"
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	req.Header.Set("x-real-ip", "198.51.100.7")
	if got := s.ClientIP(req); got != "198.51.100.7" {
		t.Errorf("got %s, want the X-Real-IP address 198.51.100.7", got)
	}
}

func TestHTTPS(t *testing.T) {
	t.Parallel()
	s := mustNew(t, site.Config{BaseURL: "https://app.example.com", TrustedProxies: []string{"10.0.0.0/8"}})
	for _, tc := range []struct {
		name   string
		remote string
		tls    bool
		proto  string
		want   bool
	}{
		{"TLS", "203.0.113.5:1", true, "", true},
		{"TLS with a lying header", "203.0.113.5:1", true, "http", true},
		{"plain", "203.0.113.5:1", false, "", false},
		{"untrusted proxy header ignored", "203.0.113.5:1", false, "https", false},
		{"trusted proxy says https", "10.0.0.1:1", false, "https", true},
		{"trusted proxy, upper case", "10.0.0.1:1", false, "HTTPS", true},
		{"trusted proxy, first of a list", "10.0.0.1:1", false, "https, http", true},
		{"trusted proxy says http", "10.0.0.1:1", false, "http", false},
		{"trusted proxy, no header", "10.0.0.1:1", false, "", false},
		{"unparsable peer", "pipe", false, "https", false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = tc.remote
		if tc.tls {
			req.TLS = &tls.ConnectionState{}
		}
		if tc.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		if got := s.HTTPS(req); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	good := []string{"/", "/dashboard", "/a/b?c=d&e=f", "/x#frag", "/caf%C3%A9", "/search?q=a%2Fb", "/café"}
	bad := []string{
		"", "//evil.com", "//evil.com/path", "/\\evil.com", "\\\\evil.com", "https://evil.com", "http:evil.com",
		"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "evil.com", "./relative", "../up",
		"/%2Fevil.com", "/%2fevil.com", "%2F%2Fevil.com", "/%5Cevil.com", "/%252Fevil.com", "/%25252F%25252Fevil",
		"/\tevil", "/a\nb", "/a\x00b", " /lead", "/\u2215evil", "/\uff0fevil", "/%", "/%zz",
		"/" + strings.Repeat("a", 3000), "/\xff",
	}
	for _, s := range good {
		if got, ok := site.LocalPath(s); !ok || got != s {
			t.Errorf("LocalPath(%q) = %q, %v; want it accepted", s, got, ok)
		}
	}
	for _, s := range bad {
		if got, ok := site.LocalPath(s); ok || got != "" {
			t.Errorf("LocalPath(%q) = %q, %v; want \"\", false", s, got, ok)
		}
	}
}

func TestIsLocalHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"localhost.example.com": false, "example.com": false, "10.0.0.1": false, "": false, "0.0.0.0": false,
	} {
		if got := site.IsLocalHost(host); got != want {
			t.Errorf("IsLocalHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	s := mustNew(t, site.Config{BaseURL: "https://app.example.com"})
	if s.Prefix() != site.DefaultPrefix || s.Home() != "/" || s.Logger() != slog.Default() || s.CookieDomain() != "" {
		t.Errorf("got prefix %q, home %q, logger %p, domain %q; want the defaults", s.Prefix(), s.Home(), s.Logger(), s.CookieDomain())
	}
	if d := time.Since(s.Now()); d < 0 || d > time.Minute {
		t.Errorf("Now() is %v away from the time, want time.Now", d)
	}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	log := slog.New(slog.DiscardHandler)
	s = mustNew(t, site.Config{BaseURL: "https://app.example.com", Now: func() time.Time { return at }, Logger: log})
	if !s.Now().Equal(at) || !s.Clock()().Equal(at) || s.Logger() != log {
		t.Errorf("got Now %v, Clock %v, logger %p; want the configured ones", s.Now(), s.Clock()(), s.Logger())
	}
}

// FuzzClientIP checks that ClientIP never answers with an address the
// client wrote in the header unless the peer is a trusted proxy, and
// always answers with a valid address (or the unparsable peer as given).
func FuzzClientIP(f *testing.F) {
	for _, tc := range [][2]string{
		{"10.1.1.1:80", "6.6.6.6, 198.51.100.7, 10.2.2.2"}, {"203.0.113.5:1", "1.2.3.4"},
		{"[2001:db8::1]:443", "::1"}, {"10.0.0.1:1", "garbage,,, "}, {"pipe", "1.1.1.1"}, {"[::ffff:10.0.0.1]:1", "::ffff:1.2.3.4"},
	} {
		f.Add(tc[0], tc[1])
	}
	s := mustNew(f, site.Config{BaseURL: "https://app.example.com", TrustedProxies: []string{"10.0.0.0/8"}})
	f.Fuzz(func(t *testing.T, remote, xff string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = remote
		req.Header["X-Forwarded-For"] = []string{xff}
		got := s.ClientIP(req)
		peer, err := netip.ParseAddrPort(remote)
		var peerAddr netip.Addr
		if err == nil {
			peerAddr = peer.Addr().Unmap()
		} else if a, err := netip.ParseAddr(remote); err == nil {
			peerAddr = a.Unmap()
		}
		if !peerAddr.IsValid() {
			return // an unparsable peer is passed through
		}
		a, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("ClientIP = %q: not an address (remote %q, header %q)", got, remote, xff)
		}
		if !netip.MustParsePrefix("10.0.0.0/8").Contains(peerAddr) && a != peerAddr {
			t.Errorf("untrusted peer %s: got %s, want the peer", peerAddr, a)
		}
		if a == peerAddr {
			return
		}
		inHeader := false
		for _, hop := range strings.Split(xff, ",") {
			if h, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && h.Unmap() == a {
				inHeader = true
			}
		}
		if !inHeader {
			t.Errorf("got %s, which is neither the peer nor in the header %q", a, xff)
		}
	})
}

// FuzzLocalPath checks that an accepted redirect target stays on the site
// however it is read.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/", "//x", "/%2F/x", "/\\x", "https://x", "/a?b=//c", "/\u2215x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := site.LocalPath(s)
		if !ok {
			if got != "" {
				t.Errorf("LocalPath(%q) refused but returned %q", s, got)
			}
			return
		}
		if got != s {
			t.Errorf("LocalPath(%q) = %q, want the input unchanged", s, got)
		}
		for cur := s; ; {
			u, err := url.Parse(cur)
			if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(cur, "/") || strings.HasPrefix(cur, "//") ||
				strings.ContainsAny(cur, "\\\r\n\t") {
				t.Fatalf("LocalPath accepted %q, which reads as %q off the site", s, cur)
			}
			dec, err := url.PathUnescape(cur)
			if err != nil || dec == cur {
				break
			}
			cur = dec
		}
		// Resolved against the site, it stays on the site's origin.
		base, _ := url.Parse("https://app.example.com/auth/login")
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatal(err)
		}
		if r := base.ResolveReference(ref); r.Host != "app.example.com" || r.Scheme != "https" {
			t.Errorf("LocalPath(%q) resolves to %s", s, r)
		}
	})
}

// TestClientIPAllocs: the common case (no proxy, a canonical peer address)
// allocates nothing; what it returns is the canonical address either way.
func TestClientIPAllocs(t *testing.T) {
	s, err := site.New(site.Config{BaseURL: "https://example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ remote, want string }{
		{"203.0.113.5:1234", "203.0.113.5"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"[2001:DB8:0::1]:443", "2001:db8::1"},
		{"[::ffff:203.0.113.5]:80", "203.0.113.5"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if got := s.ClientIP(r); got != tc.want {
			t.Errorf("ClientIP(%s): got %q, want %q", tc.remote, got, tc.want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "203.0.113.5:1234"
	if n := testing.AllocsPerRun(100, func() { _ = s.ClientIP(r) }); n != 0 {
		t.Errorf("ClientIP of a canonical IPv4 peer: got %v allocations, want 0", n)
	}
}
