package middleware

import (
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/justinas/nosurf"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/site"
)

// CSRFConfig configures [CSRF]. The zero value protects the site.
type CSRFConfig struct {
	// TrustedOrigins are other origins ("https://app.example.com") allowed
	// to make state-changing requests. The site's own origin (its base
	// URL) is always allowed.
	TrustedOrigins []string
	// Exempt reports requests that skip the token check (the origin check
	// still applies). Default: [TokenExempt].
	Exempt func(r *http.Request) bool
	// CookieName is the token cookie's base name. Default "sigra_csrf";
	// the site adds the __Host- prefix where it can.
	CookieName string
	// FailureHandler answers refused requests. Default: 403 with the error
	// code "csrf_failed", as JSON or a minimal HTML page. Either way the
	// refusal and its reason are logged (at level Info: a refused request
	// is usually an expired form or an attack, not a fault).
	FailureHandler http.Handler
}

// CSRF returns middleware that refuses cross-site state-changing requests
// in two layers. The site's own origin (its base URL, such as
// "https://app.example.com") is always trusted, so the checks hold behind
// a proxy that rewrites the Host header. Which requests pass, exactly:
//
//   - GET, HEAD and OPTIONS always pass both layers (state never changes on
//     them).
//   - Layer 1, http.CrossOriginProtection, on every other request: a
//     request with "Sec-Fetch-Site: same-origin" (or "none") passes; one
//     with another Sec-Fetch-Site value (cross-site, same-site) is refused
//     unless its Origin is the site's origin or a trusted origin; a request
//     without Sec-Fetch-Site passes when it has no Origin either (a
//     non-browser client), or an Origin whose host is the request's Host,
//     or the site's origin, or a trusted origin.
//   - Layer 2, a justinas/nosurf token, on every request that layer 1 let
//     through and that is not exempt: the request must show where it comes
//     from, by "Sec-Fetch-Site: same-origin", else an Origin, else a
//     Referer, that is on the request's Host (with the site's scheme), the
//     site's origin or a trusted origin (so a form POST with none of the
//     three headers is refused, and so is one whose only header is
//     "Sec-Fetch-Site: none"); and it must carry the token of the CSRF
//     cookie, in the hidden form field named by [CSRFFieldName] (see
//     [CSRFToken]) or in the [CSRFHeaderName] header for scripts.
//
// By default requests that carry a bearer token, or a JSON body, are
// exempt from layer 2 (see [TokenExempt]): a browser cannot send either
// cross-site without a CORS preflight, and layer 1 still applies.
//
// Every refusal is logged at level Info with the layer ("cross-origin" or
// "token") and the reason, then answered by CSRFConfig.FailureHandler.
// The token cookie takes the site's attributes (see [site.Site.Cookie]).
// Errors wrap [sigra.ErrConfig].
func CSRF(s *site.Site, cfg CSRFConfig) (func(http.Handler) http.Handler, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: middleware: CSRF needs a site", sigra.ErrConfig)
	}
	secure := s.Secure()
	cop := http.NewCrossOriginProtection()
	origins := append([]string{s.Origin()}, cfg.TrustedOrigins...)
	for _, o := range origins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("%w: middleware: trusted origin: %w", sigra.ErrConfig, err)
		}
	}
	allowed, err := nosurf.StaticOrigins(origins...)
	if err != nil {
		return nil, fmt.Errorf("%w: middleware: trusted origin: %w", sigra.ErrConfig, err)
	}
	fail := cfg.FailureHandler
	if fail == nil {
		fail = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			web.PlainError(w, r, http.StatusForbidden, "csrf_failed",
				"This form has expired or was sent from another site. Go back, reload the page and try again.")
		})
	}
	log := s.Logger()
	refuse := func(layer string, reason func(r *http.Request) string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.InfoContext(r.Context(), "sigra/middleware: CSRF check refused a request",
				"layer", layer, "reason", reason(r), "method", r.Method, "path", r.URL.Path,
				"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
			fail.ServeHTTP(w, r)
		})
	}
	cop.SetDenyHandler(refuse("cross-origin", func(r *http.Request) string {
		if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" {
			return "Sec-Fetch-Site is " + sfs
		}
		return "the Origin does not match the request's host or a trusted origin"
	}))
	tokenFail := refuse("token", func(r *http.Request) string {
		if err := nosurf.Reason(r); err != nil {
			return err.Error()
		}
		return "refused"
	})
	exempt := cfg.Exempt
	if exempt == nil {
		exempt = TokenExempt
	}
	name := cfg.CookieName
	if name == "" {
		name = "sigra_csrf"
	}
	if !validName(name) {
		return nil, fmt.Errorf("%w: middleware: invalid CSRF cookie name %q", sigra.ErrConfig, name)
	}
	base := *s.Cookie(name, "", nosurf.MaxAge)
	return func(next http.Handler) http.Handler {
		h := nosurf.New(next)
		h.SetBaseCookie(base)
		h.SetIsTLSFunc(func(*http.Request) bool { return secure })
		h.SetIsAllowedOriginFunc(allowed)
		h.ExemptFunc(exempt)
		h.SetFailureHandler(tokenFail)
		checked := cop.Handler(h)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A GET, HEAD or OPTIONS passes both layers. When its cookie
			// holds a token, nosurf would only add Vary and mask the
			// token for the request's forms, on every request: here the
			// token is masked when a page asks for it (see CSRFToken).
			// Without a usable cookie, nosurf sets a new one.
			if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
				if token, ok := cookieToken(r, base.Name); ok {
					w.Header().Add("Vary", "Cookie")
					next.ServeHTTP(w, r.WithContext(web.WithCSRFCookie(r.Context(), token)))
					return
				}
			}
			checked.ServeHTTP(w, r)
		})
	}, nil
}

// csrfCookieLen is the length of a CSRF cookie's value: the token in
// standard base64, with padding.
const csrfCookieLen = (web.CSRFTokenLen + 2) / 3 * 4

// cookieToken returns the token of the request's cookie called name,
// read as nosurf reads it (the value Request.Cookie finds, standard
// base64), when it is one nosurf would use; false otherwise. It reads the
// Cookie headers in place (web.CookieValue) and decodes into the array:
// no allocation.
func cookieToken(r *http.Request, name string) ([web.CSRFTokenLen]byte, bool) {
	var token [web.CSRFTokenLen]byte
	v := web.CookieValue(r.Header, name)
	if len(v) != csrfCookieLen {
		return token, false
	}
	var src [csrfCookieLen]byte
	copy(src[:], v)
	var b [web.CSRFTokenLen + 2]byte // at least DecodedLen(csrfCookieLen)
	n, err := base64.StdEncoding.Decode(b[:], src[:])
	if err != nil || n != web.CSRFTokenLen {
		return token, false
	}
	copy(token[:], b[:n])
	return token, true
}

// TokenExempt is the default CSRFConfig.Exempt: requests with an
// Authorization: Bearer header or a JSON body skip the token check.
func TokenExempt(r *http.Request) bool { return web.IsBearer(r) || web.SendsJSON(r) }

// CSRFToken returns the token to embed in the request's HTML forms: the
// token of the CSRF cookie, masked with a new one-time pad for each
// request (the same one throughout a request). It is empty outside the
// CSRF middleware.
func CSRFToken(r *http.Request) string { return web.CSRFToken(r) }

// CSRFFieldName is the name of the hidden form field that carries the token.
const CSRFFieldName = nosurf.FormFieldName

// CSRFHeaderName is the request header that may carry the token instead.
const CSRFHeaderName = nosurf.HeaderName

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '=' || c == ';' || c == ',' {
			return false
		}
	}
	return true
}
