// Package site holds the configuration that every Sigra package shares,
// given once: the external base URL, the mount prefix, the home page,
// client-address resolution behind trusted proxies (and the forwarded
// scheme), the cookie domain, the clock and the logger.
//
// Sessions, middleware, the UI and every feature take the same [*Site], so
// they cannot disagree: emailed links, cookie attributes, the guards'
// redirects and the pages' links all come from it.
//
//	s, err := site.New(site.Config{
//		BaseURL:        "https://app.example.com",
//		TrustedProxies: []string{"10.0.0.0/8"},
//	})
//
// A Site is immutable and safe for concurrent use. [New] checks every
// field; its errors wrap [sigra.ErrConfig] and name the field.
//
// # Base URL
//
// BaseURL is the origin users see: a scheme, a host and an optional port,
// with no path, query, fragment or credentials. [Site.Origin] writes it as
// browsers send it in the Origin header (lowercase ASCII host, IDNA form
// for an international name, no default port). Links in emails are built
// from it ([Site.URL]), never from a request's Host header, which an
// attacker chooses.
//
// An https:// base URL makes every cookie Secure and, unless a cookie
// domain is set, names it with the __Host- prefix ([Site.CookieName]), so
// a sibling subdomain or a plain-HTTP page cannot plant or overwrite it.
// An http:// base URL is accepted only for localhost and loopback
// addresses (local development) unless InsecureAllowHTTP is set; its
// cookies are not Secure.
//
// # Cookies
//
// [Site.Cookie] gives every package's cookies the same attributes: Path
// "/", HttpOnly, SameSite=Lax, Secure as above, and the cookie domain.
// CookieDomain shares cookies across the subdomains of a parent domain
// ("example.com" for app.example.com and admin.example.com); it must be
// the base URL's host or a parent of it with at least two labels, and
// costs the __Host- prefix.
//
// # Prefix and home
//
// Features mount their routes under Prefix ("/auth" when empty, "/"
// for the root): the sign-in page is [Site.Path]("/login"),
// "/auth/login". Mounting under "/account" moves every route, link,
// redirect and asset with it. A prefix holds only letters, digits and
// - _ . ~ in its segments. Home ("/" by default) is where the layout's
// home link and a sign-in without return_to lead; it must be a local path.
//
// # Client address
//
// Behind a reverse proxy every request's peer is the proxy. List the
// proxies in TrustedProxies (CIDR prefixes or single addresses, IPv4 or
// IPv6): the client address is then the right-most address of
// X-Forwarded-For (or ClientIPHeader) that is not a trusted proxy, and
// [Site.HTTPS] believes X-Forwarded-Proto. The left part of the header is
// whatever the client sent, so it is never believed, and a hop that is not
// an address stops the walk at the last trusted hop. Rate limits, audit
// rows and device lists all use [Site.ClientIP]. Without trusted proxies
// the headers are ignored: a client cannot spoof its address by sending
// them.
//
// # Safe redirects
//
// [LocalPath] accepts only a path on this site as a redirect target
// (return_to): "//evil", "/\evil", "https://evil", "javascript:" and their
// percent-encoded forms are refused.
package site
