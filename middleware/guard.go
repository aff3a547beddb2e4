package middleware

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
)

// Routes finds the local path of a route by name. *ui.UI implements it
// from its packs' routes; the guard looks up the well-known names
// ui.RouteSignIn, ui.RouteSecondFactor, ui.RouteSudo, ui.RouteStepUp,
// ui.RouteConfirm and ui.RoutePasswordRenew.
type Routes interface {
	Route(name string) (path string, ok bool)
}

// Well-known route names the guard redirects to (the same strings as the
// ui package's Route constants).
const (
	routeSignIn       = "sign_in"
	routeSecondFactor = "second_factor"
	routeSudo         = "sudo"
	routeStepUp       = "step_up"
	routeConfirm      = "confirm"
	routeRenew        = "password_renew"
)

// Config configures a [Guard].
type Config struct {
	// Routes finds the pages the guard sends browsers to: sign in, the
	// second step of a sign-in, re-authentication, adding a second factor,
	// confirming the address. Pass the ui.UI built with the features'
	// packs. Required.
	Routes Routes
	// SudoWindow is how long a re-authentication counts for RequireSudo.
	// Default 10 minutes.
	SudoWindow time.Duration
}

// Guard guards routes. Create it with [New]; it is safe for concurrent
// use. Its methods RequireUser, RequireSudo, RequireAAL2, RequireConfirmed,
// RefuseImpersonation and RedirectIfSignedIn have the type func(http.Handler) http.Handler.
//
// Each guard needs a page to send browsers to, and checks at the moment it
// wraps a handler (at start) that a feature provides it: RequireAAL2 in an
// application without a second factor panics there with a message naming
// what is missing, rather than sending users to a page that does not exist.
type Guard struct {
	cfg      Config
	sessions *session.Manager
	site     *site.Site
}

// New returns a Guard over sessions. Errors wrap [sigra.ErrConfig].
func New(sessions *session.Manager, cfg Config) (*Guard, error) {
	if sessions == nil {
		return nil, fmt.Errorf("%w: middleware: nil session manager", sigra.ErrConfig)
	}
	if cfg.Routes == nil {
		return nil, fmt.Errorf("%w: middleware: Config.Routes is required (the ui.UI built with the features' packs)", sigra.ErrConfig)
	}
	if cfg.SudoWindow == 0 {
		cfg.SudoWindow = 10 * time.Minute
	}
	if cfg.SudoWindow < 0 {
		return nil, fmt.Errorf("%w: middleware: negative SudoWindow", sigra.ErrConfig)
	}
	return &Guard{cfg: cfg, sessions: sessions, site: sessions.Site()}, nil
}

// what each well-known route is, for the messages of a missing one.
var routeRoles = map[string]string{
	routeSignIn:       "a sign-in page, such as the account feature's (account.Pages())",
	routeSecondFactor: "the second step of a sign-in, such as the mfa feature's (mfa.Pages())",
	routeSudo:         "a re-authentication page, such as the account feature's (account.Pages())",
	routeStepUp:       "a page where a user adds a second factor, such as the mfa feature's (mfa.Pages())",
	routeConfirm:      "an email confirmation page, such as the account feature's (account.Pages())",
}

// need returns the path of a well-known route the wrapper called guard
// sends browsers to, and panics with a clear message when no pack
// declares it: a programming error, caught when the routes are wired.
func (g *Guard) need(guard, route string) string {
	p, ok := g.cfg.Routes.Route(route)
	if !ok {
		panic(fmt.Sprintf("sigra/middleware: %s needs the route %q, %s, and no pack of the UI declares it: "+
			"add that feature's pack to ui.Config.Packs and mount the feature", guard, route, routeRoles[route]))
	}
	return p
}

// SudoWindow returns how long a re-authentication counts for RequireSudo.
func (g *Guard) SudoWindow() time.Duration { return g.cfg.SudoWindow }

// RequireUser lets signed-in users through. Others get, for HTML requests,
// a redirect to the sign-in page (or the second-factor page when their
// sign-in is pending) with a local return_to; for JSON or bearer requests,
// 401 with the error code "unauthenticated".
//
// A signed-in user who must choose a new password first (see
// session.Manager.RequirePasswordChange: the account feature asks it of a
// user who signed in with a password found in a breach) is sent to the
// page ui.RoutePasswordRenew with a local return_to (HTML), or gets 403
// with the error code "password_change_required" (JSON). Every guard
// below, built on this one, does the same.
func (g *Guard) RequireUser(next http.Handler) http.Handler {
	deny := g.denier("RequireUser")
	renew := g.renewer()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := sigra.AuthFrom(r.Context())
		if a.SignedIn() {
			if renew(w, r) {
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		deny(w, r, a)
	})
}

// renewer returns a function that answers a request whose signed-in user
// must change their password first, and reports whether it did. The page
// it sends browsers to is looked up now; without one (no pack declares
// ui.RoutePasswordRenew) browsers get a plain 403.
func (g *Guard) renewer() func(w http.ResponseWriter, r *http.Request) bool {
	page, hasPage := g.cfg.Routes.Route(routeRenew)
	const msg = "Choose a new password to continue: the one you signed in with has appeared in a data breach."
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !g.sessions.PasswordChangeRequired(r.Context()) {
			return false
		}
		switch {
		case web.WantsJSON(r):
			web.Error(w, http.StatusForbidden, "password_change_required", msg)
		case hasPage:
			g.redirectWithReturn(w, r, page)
		default:
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, msg, http.StatusForbidden)
		}
		return true
	}
}

// denier returns the answer to a request that is not signed in, with the
// pages it redirects to looked up now (see need).
func (g *Guard) denier(guard string) func(w http.ResponseWriter, r *http.Request, a *sigra.Auth) {
	signIn := g.need(guard, routeSignIn)
	second, hasSecond := g.cfg.Routes.Route(routeSecondFactor)
	return func(w http.ResponseWriter, r *http.Request, a *sigra.Auth) {
		if web.WantsJSON(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sigra"`)
			web.Error(w, http.StatusUnauthorized, "unauthenticated", "Sign in to continue.")
			return
		}
		target := signIn
		if a.State == sigra.StatePending && hasSecond {
			target = second
		}
		g.redirectWithReturn(w, r, target)
	}
}

// RequireSudo lets through signed-in users who re-authenticated within the
// configured SudoWindow. Others are sent to re-authenticate and back (HTML)
// or get 403 with the error code "sudo_required" (JSON). Anonymous users
// are handled as by RequireUser. An impersonated session is refused as by
// [Guard.RefuseImpersonation]: what needs sudo is what an admin acting as
// the user may not do, and an admin cannot re-authenticate as the user.
func (g *Guard) RequireSudo(next http.Handler) http.Handler {
	return g.RequireSudoWithin(g.cfg.SudoWindow)(next)
}

// RequireSudoWithin is RequireSudo with its own window.
func (g *Guard) RequireSudoWithin(window time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		deny := g.denier("RequireSudo")
		renew := g.renewer()
		sudo := g.need("RequireSudo", routeSudo)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := sigra.AuthFrom(r.Context())
			if !a.SignedIn() {
				deny(w, r, a)
				return
			}
			if renew(w, r) {
				return
			}
			if a.Impersonator != "" {
				g.refuseImpersonation(w, r)
				return
			}
			if a.InSudo(g.sessions.Now(), window) {
				next.ServeHTTP(w, r)
				return
			}
			if web.WantsJSON(r) {
				web.Error(w, http.StatusForbidden, "sudo_required", "Confirm your identity to continue.")
				return
			}
			g.redirectWithReturn(w, r, sudo)
		})
	}
}

// RequireAAL2 lets through users signed in with two factors. Users signed
// in with one are sent to the step-up page (HTML) or get 403 with the error code
// "aal2_required" (JSON). Anonymous users are handled as by RequireUser.
// An impersonated session below AAL2 is refused as by
// [Guard.RefuseImpersonation]: the admin cannot present the user's factor.
func (g *Guard) RequireAAL2(next http.Handler) http.Handler {
	deny := g.denier("RequireAAL2")
	renew := g.renewer()
	stepUp := g.need("RequireAAL2", routeStepUp)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := sigra.AuthFrom(r.Context())
		if !a.SignedIn() {
			deny(w, r, a)
			return
		}
		if renew(w, r) {
			return
		}
		if a.AAL >= sigra.AAL2 {
			next.ServeHTTP(w, r)
			return
		}
		if a.Impersonator != "" {
			g.refuseImpersonation(w, r)
			return
		}
		if web.WantsJSON(r) {
			web.Error(w, http.StatusForbidden, "aal2_required", "This requires two-factor authentication.")
			return
		}
		g.redirectWithReturn(w, r, stepUp)
	})
}

// RequireConfirmed lets through signed-in users whose address is
// confirmed. Others are sent to the confirmation page (HTML) or get 403 with the
// error code "email_unconfirmed" (JSON). Anonymous users are handled as by
// RequireUser.
func (g *Guard) RequireConfirmed(next http.Handler) http.Handler {
	deny := g.denier("RequireConfirmed")
	renew := g.renewer()
	confirm := g.need("RequireConfirmed", routeConfirm)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := sigra.AuthFrom(r.Context())
		if !a.SignedIn() {
			deny(w, r, a)
			return
		}
		if renew(w, r) {
			return
		}
		if a.User.EmailConfirmed() {
			next.ServeHTTP(w, r)
			return
		}
		if web.WantsJSON(r) {
			web.Error(w, http.StatusForbidden, "email_unconfirmed", "Confirm your email address to continue.")
			return
		}
		g.redirectWithReturn(w, r, confirm)
	})
}

// RefuseImpersonation refuses requests of an impersonated session (an
// admin acting as the user, see session.Manager.StartImpersonation) with
// 403 and the error code "impersonation_forbidden": JSON, or an error page
// for HTML requests. Every other request passes through, signed in or
// not. The features wrap with it the routes that an impersonator may never
// use and that are not behind RequireSudo (which refuses impersonation
// too): changing the password, revoking API tokens or trusted browsers,
// renaming a passkey, linking an OAuth identity, re-authenticating.
func (g *Guard) RefuseImpersonation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sigra.AuthFrom(r.Context()).Impersonator != "" {
			g.refuseImpersonation(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ImpersonationMessage is the text of the answer to a request refused
// because its session is an impersonation.
const ImpersonationMessage = "An administrator acting as this user cannot do this. Stop impersonating to act as yourself."

// ErrorPages renders an error page. *ui.UI implements it; when the
// guard's Config.Routes does too, refusals that are not redirects are
// answered with it (with the site's layout and banners), and with a
// minimal HTML page otherwise.
type ErrorPages interface {
	RenderError(w http.ResponseWriter, r *http.Request, status int, message string)
}

// refuseImpersonation answers a request refused because its session is an
// impersonation.
func (g *Guard) refuseImpersonation(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if ep, ok := g.cfg.Routes.(ErrorPages); ok && !web.WantsJSON(r) {
		ep.RenderError(w, r, http.StatusForbidden, ImpersonationMessage)
		return
	}
	web.PlainError(w, r, http.StatusForbidden, "impersonation_forbidden", ImpersonationMessage)
}

// RedirectIfSignedIn sends signed-in users away from pages meant for
// anonymous ones (sign in, register): to a valid local return_to if the
// request has one, else to the site's home page. JSON requests pass
// through.
func (g *Guard) RedirectIfSignedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !sigra.AuthFrom(r.Context()).SignedIn() || web.WantsJSON(r) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		target := g.site.Home()
		if rt, ok := ReturnTo(r); ok {
			target = rt
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}

// ReturnTo returns the request's return_to parameter (query or form) if it
// is a safe local path; see [SafeReturnTo].
func ReturnTo(r *http.Request) (string, bool) {
	v := r.URL.Query().Get("return_to")
	if v == "" && r.Method == http.MethodPost && !web.SendsJSON(r) {
		v = r.PostFormValue("return_to")
	}
	return SafeReturnTo(v)
}

// SafeReturnTo returns s if it is a local path that is safe to redirect
// to: it starts with a single "/", has no scheme, host, backslash or
// control character, and stays so after percent-decoding. "//evil",
// "/\evil", "https://evil", "javascript:alert(1)" and their encoded forms
// are refused.
func SafeReturnTo(s string) (string, bool) { return site.LocalPath(s) }

// redirectWithReturn sends the browser to target with return_to set to
// where it was going: the request's own URL for GET and HEAD, or the local
// path of a same-origin Referer for other methods (a form's body cannot be
// replayed, but its page can be shown again). A Referer is same-origin
// when it is on the request's host or on the site's origin (behind a proxy
// that rewrites the Host header, only the latter matches).
func (g *Guard) redirectWithReturn(w http.ResponseWriter, r *http.Request, target string) {
	back := ""
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		back = r.URL.RequestURI()
	} else if ref, err := url.Parse(r.Referer()); err == nil && ref.Path != "" &&
		(ref.Host == r.Host || ref.Scheme+"://"+strings.ToLower(ref.Host) == g.site.Origin()) {
		back = ref.RequestURI()
	}
	if p, ok := SafeReturnTo(back); ok && p != target {
		q := url.Values{"return_to": {p}}
		target += "?" + q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
}
