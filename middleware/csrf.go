package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/justinas/nosurf"

	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/session"
)

// CSRFConfig configures [CSRF]. The zero value protects an HTTPS site.
type CSRFConfig struct {
	// BaseURL is the application's external URL. Its scheme tells the
	// token check whether the site is served over TLS (an http:// base URL
	// on localhost makes plain-HTTP development work); an http:// URL of
	// another host is refused unless InsecureAllowHTTP is set.
	BaseURL string
	// InsecureAllowHTTP permits a non-local http:// BaseURL.
	InsecureAllowHTTP bool
	// TrustedOrigins are other origins ("https://app.example.com") allowed
	// to make state-changing requests.
	TrustedOrigins []string
	// Exempt reports requests that skip the token check (the origin check
	// still applies). Default: [TokenExempt].
	Exempt func(r *http.Request) bool
	// CookieName is the token cookie's name. Default "__Host-sigra_csrf"
	// over HTTPS, "sigra_csrf" otherwise.
	CookieName string
	// FailureHandler answers refused requests. Default: 403 with the error
	// code "csrf_failed", as JSON or plain text.
	FailureHandler http.Handler
}

// CSRF returns middleware that refuses cross-site state-changing requests
// in two layers:
//
//   - http.CrossOriginProtection on every request: browsers' Sec-Fetch-Site
//     and Origin headers must show a same-origin (or trusted) request for
//     any method but GET, HEAD and OPTIONS. Requests without either header
//     (non-browser clients) pass this layer.
//   - a nosurf token on every other request that is not exempt: HTML forms
//     carry it in a hidden field named by [CSRFFieldName] (see [CSRFToken]);
//     scripts may send it in the X-CSRF-Token header.
//
// By default requests that carry a bearer token, or a JSON body, are
// exempt from the token (see [TokenExempt]): a browser cannot send either
// cross-site without a CORS preflight, and the first layer still applies.
// State never changes on GET, so neither layer guards GET.
func CSRF(cfg CSRFConfig) (func(http.Handler) http.Handler, error) {
	secure := true
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("sigra/middleware: BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
		}
		if u.Scheme == "http" {
			if !session.IsLocalHost(u.Hostname()) && !cfg.InsecureAllowHTTP {
				return nil, fmt.Errorf("sigra/middleware: BaseURL %q is plain HTTP on a non-local host", cfg.BaseURL)
			}
			secure = false
		}
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("sigra/middleware: trusted origin: %w", err)
		}
	}
	allowed, err := nosurf.StaticOrigins(cfg.TrustedOrigins...)
	if err != nil {
		return nil, fmt.Errorf("sigra/middleware: trusted origin: %w", err)
	}
	fail := cfg.FailureHandler
	if fail == nil {
		fail = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			web.PlainError(w, r, http.StatusForbidden, "csrf_failed",
				"This form has expired or was sent from another site. Go back, reload the page and try again.")
		})
	}
	cop.SetDenyHandler(fail)
	exempt := cfg.Exempt
	if exempt == nil {
		exempt = TokenExempt
	}
	name := cfg.CookieName
	if name == "" {
		name = "sigra_csrf"
		if secure {
			name = "__Host-sigra_csrf"
		}
	}
	if !validName(name) {
		return nil, errors.New("sigra/middleware: invalid CSRF cookie name")
	}
	return func(next http.Handler) http.Handler {
		h := nosurf.New(next)
		h.SetBaseCookie(http.Cookie{
			Name:     name,
			Path:     "/",
			MaxAge:   nosurf.MaxAge,
			HttpOnly: true,
			Secure:   secure,
			SameSite: http.SameSiteLaxMode,
		})
		h.SetIsTLSFunc(func(*http.Request) bool { return secure })
		h.SetIsAllowedOriginFunc(allowed)
		h.ExemptFunc(exempt)
		h.SetFailureHandler(fail)
		return cop.Handler(h)
	}, nil
}

// TokenExempt is the default CSRFConfig.Exempt: requests with an
// Authorization: Bearer header or a JSON body skip the token check.
func TokenExempt(r *http.Request) bool { return web.IsBearer(r) || web.SendsJSON(r) }

// CSRFToken returns the token to embed in the request's HTML forms. It is
// empty outside the CSRF middleware.
func CSRFToken(r *http.Request) string { return nosurf.Token(r) }

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
