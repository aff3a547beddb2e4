package site

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
)

// DefaultPrefix is where the features mount their routes when
// Config.Prefix is empty.
const DefaultPrefix = "/auth"

// Config is the configuration every Sigra package shares. Only BaseURL is
// required; the zero values of the other fields are the defaults.
type Config struct {
	// BaseURL is the application's external origin as users see it:
	// "https://app.example.com", or "http://localhost:8080" in development.
	// Emailed links are built from it, never from a request's Host header;
	// cookies are Secure (and named with the __Host- prefix) unless it is
	// an http:// URL of localhost or a loopback address. It has no path,
	// query or fragment. Required.
	BaseURL string
	// InsecureAllowHTTP permits an http:// BaseURL on a host that is not
	// local, sending cookies without the Secure attribute. Never in
	// production.
	InsecureAllowHTTP bool
	// Prefix is the path under which the features mount their routes and
	// the UI its assets: "/auth" when empty, "/" for the root. The guards'
	// redirects and every link follow it.
	Prefix string
	// Home is the application's home page: the layout's home link, and
	// where a sign-in without return_to lands. Default "/".
	Home string
	// TrustedProxies are the reverse proxies in front of the application,
	// as CIDR prefixes or single addresses ("10.0.0.0/8", "127.0.0.1").
	// Only a request whose peer is one of them has its client address read
	// from ClientIPHeader and its scheme from X-Forwarded-Proto. Default:
	// none, and the peer address is the client's.
	TrustedProxies []string
	// ClientIPHeader is the forwarding header a trusted proxy sets.
	// Default "X-Forwarded-For".
	ClientIPHeader string
	// CookieDomain makes cookies valid for a whole domain
	// ("example.com"), for applications served on several subdomains. The
	// trade-off: a cookie with a Domain cannot carry the __Host- prefix,
	// so any subdomain (and whoever controls one) can set or shadow it. It
	// must be the host of BaseURL or a parent domain of it with at least
	// two labels. Default: host-only cookies with the __Host- prefix.
	CookieDomain string
	// Now is the clock every package reads. Default time.Now.
	Now func() time.Time
	// Logger receives what the packages log. Default slog.Default().
	Logger *slog.Logger
}

// Site is the validated shared configuration. Create it with [New]; it is
// immutable and safe for concurrent use.
type Site struct {
	base     *url.URL
	origin   string
	prefix   string
	home     string
	secure   bool
	domain   string
	proxies  []netip.Prefix
	ipHeader string
	now      func() time.Time
	log      *slog.Logger
}

// New validates cfg, fills the defaults and returns a Site. Errors wrap
// [sigra.ErrConfig].
func New(cfg Config) (*Site, error) {
	s := &Site{now: cfg.Now, log: cfg.Logger, ipHeader: cfg.ClientIPHeader}
	if cfg.BaseURL == "" {
		return nil, configErr("BaseURL is required (the application's external URL, such as https://app.example.com)")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" {
		return nil, configErr("BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(cfg.BaseURL, "?") || strings.HasSuffix(cfg.BaseURL, "#") {
		return nil, configErr("BaseURL %q must be an origin, without credentials, query or fragment", cfg.BaseURL)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, configErr("BaseURL %q has a path; give the origin (scheme, host and port) and mount under Prefix", cfg.BaseURL)
	}
	host, err := asciiHost(u.Hostname())
	if err != nil {
		return nil, configErr("BaseURL %q: %v", cfg.BaseURL, err)
	}
	s.secure = true
	if u.Scheme == "http" {
		if !IsLocalHost(host) && !cfg.InsecureAllowHTTP {
			return nil, configErr("BaseURL %q is plain HTTP on a host that is not local; use https (or set InsecureAllowHTTP, never in production)", cfg.BaseURL)
		}
		s.secure = false
	}
	// The origin is written as browsers send it in the Origin header:
	// lowercase ASCII host, no default port.
	hostport := host
	switch port := u.Port(); {
	case port == "", u.Scheme == "https" && port == "443", u.Scheme == "http" && port == "80":
		if strings.Contains(host, ":") {
			hostport = "[" + host + "]"
		}
	default:
		hostport = net.JoinHostPort(host, port)
	}
	s.base = &url.URL{Scheme: u.Scheme, Host: hostport}
	s.origin = s.base.String()

	if s.prefix, err = cleanPrefix(cfg.Prefix); err != nil {
		return nil, err
	}
	s.home = cfg.Home
	if s.home == "" {
		s.home = "/"
	}
	if _, ok := web.LocalPath(s.home); !ok {
		return nil, configErr("Home %q is not a local path", cfg.Home)
	}
	if s.proxies, err = ParsePrefixes(cfg.TrustedProxies...); err != nil {
		return nil, err
	}
	if s.ipHeader == "" {
		s.ipHeader = "X-Forwarded-For"
	}
	if !validToken(s.ipHeader) {
		return nil, configErr("ClientIPHeader %q is not a header name", cfg.ClientIPHeader)
	}
	if d := cfg.CookieDomain; d != "" {
		d, err := asciiHost(strings.TrimPrefix(d, "."))
		if err != nil || strings.ContainsAny(d, " ;,/:") {
			return nil, configErr("CookieDomain %q is not a domain name", cfg.CookieDomain)
		}
		if host != d {
			// A parent domain: the host must be a name under it (an IP
			// address has no parent), and it must have at least two
			// labels (browsers refuse a cookie for a whole top-level
			// domain).
			if _, ipErr := netip.ParseAddr(host); ipErr == nil || !strings.HasSuffix(host, "."+d) || !strings.Contains(d, ".") {
				return nil, configErr("CookieDomain %q does not contain the host of BaseURL %q", cfg.CookieDomain, cfg.BaseURL)
			}
		}
		s.domain = d
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// asciiHost returns a host name in lowercase ASCII (IDNA) form.
func asciiHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("no host")
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= utf8.RuneSelf {
			a, err := idna.Lookup.ToASCII(h)
			if err != nil {
				return "", fmt.Errorf("host %q: %v", h, err)
			}
			return a, nil
		}
	}
	return strings.ToLower(h), nil
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: site: %s", sigra.ErrConfig, fmt.Sprintf(format, args...))
}

// cleanPrefix normalises a mount prefix: "auth/" → "/auth", "/" → "".
func cleanPrefix(p string) (string, error) {
	if p == "" {
		return DefaultPrefix, nil
	}
	given := p
	p = "/" + strings.Trim(p, "/")
	if p == "/" {
		return "", nil
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", configErr("Prefix %q has an empty or dot segment", given)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
				return "", configErr("Prefix %q may hold only letters, digits and - _ . ~", given)
			}
		}
	}
	return p, nil
}

// Origin returns the base URL's origin as browsers write it in the Origin
// header: "https://app.example.com" (lowercase ASCII host, no default
// port).
func (s *Site) Origin() string { return s.origin }

// Prefix returns the mount prefix: "/auth" by default, "" for the root.
func (s *Site) Prefix() string { return s.prefix }

// Path returns the local path of rel under the prefix: Path("/login") is
// "/auth/login". rel starts with "/"; Path("") is the prefix itself ("/"
// when the prefix is the root).
func (s *Site) Path(rel string) string {
	if p := s.prefix + rel; p != "" {
		return p
	}
	return "/"
}

// Home returns the application's home page path.
func (s *Site) Home() string { return s.home }

// URL returns the absolute URL on the site of a local path with an
// optional query, built from the base URL (never from a request). It is
// how emailed links are made.
func (s *Site) URL(path string, query url.Values) string {
	u := *s.base
	u.Path = path
	if query != nil {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

// Secure reports whether cookies carry the Secure attribute: true unless
// the base URL is http:// (local development, or InsecureAllowHTTP).
func (s *Site) Secure() bool { return s.secure }

// CookieDomain returns the configured cookie domain, or "" for host-only
// cookies.
func (s *Site) CookieDomain() string { return s.domain }

// CookieName returns the name a cookie called name has on this site:
// "__Host-"+name for Secure host-only cookies (the browser then refuses one
// set by another subdomain or over plain HTTP), name otherwise.
func (s *Site) CookieName(name string) string {
	if s.secure && s.domain == "" {
		return "__Host-" + name
	}
	return name
}

// Cookie returns a cookie called name (see [Site.CookieName]) with the
// site's attributes: Path "/", the cookie domain, HttpOnly,
// SameSite=Lax, and Secure unless in local HTTP development. maxAge is in
// seconds, as in [http.Cookie]: negative deletes the cookie, zero makes it
// last the browser session.
func (s *Site) Cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: s.CookieName(name), Value: value, Path: "/", Domain: s.domain, MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	}
}

// Now returns the site clock's time.
func (s *Site) Now() time.Time { return s.now() }

// Clock returns the site clock, for packages that take a func.
func (s *Site) Clock() func() time.Time { return s.now }

// Logger returns the site's logger.
func (s *Site) Logger() *slog.Logger { return s.log }

// ClientIP returns the client address of r: the peer address, or, when the
// peer is a trusted proxy, the right-most address in ClientIPHeader that is
// not itself a trusted proxy (the left part of the header is whatever the
// client sent, so it is never believed).
func (s *Site) ClientIP(r *http.Request) string {
	peer := remoteAddr(r)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if !s.trusted(peer) {
		return peerString(r.RemoteAddr, peer)
	}
	values := r.Header.Values(s.ipHeader)
	client := peer
	for i := len(values) - 1; i >= 0; i-- {
		hops := strings.Split(values[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				return client.String()
			}
			client = a.Unmap()
			if !s.trusted(client) {
				return client.String()
			}
		}
	}
	return client.String()
}

// HTTPS reports whether r reached the site over HTTPS: over TLS, or from a
// trusted proxy that says so in X-Forwarded-Proto.
func (s *Site) HTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if peer := remoteAddr(r); peer.IsValid() && s.trusted(peer) {
		proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
		return strings.EqualFold(strings.TrimSpace(proto), "https")
	}
	return false
}

func (s *Site) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerString returns the canonical text of peer, reusing the host part of
// remoteAddr when it already is that text (net/http writes RemoteAddr in
// canonical form), so the common case allocates nothing.
func peerString(remoteAddr string, peer netip.Addr) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil && a == peer && a.Zone() == "" && len(host) > 0 && canonical(host, a) {
		return host
	}
	return peer.String()
}

// canonical reports whether host is the canonical text of a, checked
// without allocating: IPv4 in dotted decimal without leading zeros (which
// ParseAddr refuses anyway), IPv6 compared through its fixed-size text.
func canonical(host string, a netip.Addr) bool {
	if a.Is4() {
		return true
	}
	var buf [64]byte
	return string(a.AppendTo(buf[:0])) == host
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// ParsePrefixes parses CIDR prefixes or single addresses, as
// Config.TrustedProxies takes them. Errors wrap [sigra.ErrConfig].
func ParsePrefixes(list ...string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
				// Peers are compared in their IPv4 form.
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, configErr("trusted proxy %q is not an address or CIDR prefix", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// IsLocalHost reports whether host is localhost or a loopback address.
func IsLocalHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LocalPath returns s if it is a safe local redirect target (see the
// package documentation), and whether it is.
func LocalPath(s string) (string, bool) { return web.LocalPath(s) }

// validToken reports whether s is an HTTP token (a header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}
