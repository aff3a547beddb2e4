// Package middleware guards routes and hardens the HTTP layer of a Sigra
// application.
//
// Every piece takes the application's [site.Site], the configuration all
// Sigra packages share (base URL, mount prefix, home page, client address
// behind trusted proxies, cookie attributes, clock, logger), so the guards'
// redirects, the CSRF cookie, rate-limit keys and HSTS all agree with the
// sessions and the pages.
//
// # Guards
//
// A [Guard] wraps routes with [Guard.RequireUser], [Guard.RequireSudo],
// [Guard.RequireAAL2], [Guard.RequireConfirmed],
// [Guard.RefuseImpersonation] and [Guard.RedirectIfSignedIn]. It is built over the session manager with
// the pages it sends browsers to:
//
//	guard, err := middleware.New(sessions, middleware.Config{Routes: theUI})
//
// Config.Routes is usually the ui.UI built with the features' packs: the
// guard looks up the well-known routes (ui.RouteSignIn, ui.RouteSecondFactor,
// ui.RouteSudo, ui.RouteStepUp, ui.RouteConfirm, and ui.RoutePasswordRenew
// if a pack declares it) under whatever prefix the site mounts them. Each guard checks when it wraps a handler that the
// route it needs is there, and panics with a message naming the guard and
// the route if not: RequireAAL2 in an application without a second factor
// stops at start instead of sending users to a page that does not exist.
//
// HTML requests are redirected (to sign in, to the second step of a
// pending sign-in, to re-authenticate, to set up a second factor, to
// confirm the address, to choose a new password when one is due: see
// session.Manager.RequirePasswordChange) with a local return_to; requests that want JSON or
// carry a bearer token get a JSON error instead:
//
//	status  code
//	401     unauthenticated     not signed in (also sets WWW-Authenticate)
//	403     sudo_required       re-authenticate first (RequireSudo)
//	403     aal2_required       a second factor is required (RequireAAL2)
//	403     email_unconfirmed   confirm the address first (RequireConfirmed)
//	403     password_change_required  choose a new password first (every guard but RedirectIfSignedIn)
//	403     impersonation_forbidden   an admin acting as the user may not (RefuseImpersonation, RequireSudo, RequireAAL2)
//	403     csrf_failed         the CSRF check refused the request
//	429     rate_limited        too many requests (Retry-After is set)
//	503     busy                the limiter's store is unreachable or too slow (Retry-After is set)
//
// An impersonated session (an admin acting as the user, see
// session.Manager.StartImpersonation) is never in sudo: RequireSudo refuses
// it, with an error page for HTML requests (Config.Routes renders it when
// it implements [ErrorPages], as *ui.UI does), since what needs sudo is
// what an impersonator may not do. Routes that change credentials without
// sudo are wrapped with RefuseImpersonation by their features.
//
// Error bodies have the shape {"error": {"code": "...", "message": "..."}}.
// A request whose client went away (its context was cancelled) gets no
// answer beyond the status 499, and its error is not logged above Debug.
//
// The guards only read the request's [sigra.Auth]. Signing out a user who
// was disabled, whose deletion is scheduled or who no longer exists is the
// session middleware's job (session.Manager.LoadAndSave), on every
// request, so no guard is needed for it.
//
// return_to values are accepted only as local paths ([SafeReturnTo]):
// "//evil", "/\evil", "https://evil", "javascript:" and their
// percent-encoded forms are refused.
//
// # CSRF
//
// [CSRF] layers net/http's CrossOriginProtection (every request) with
// justinas/nosurf tokens (HTML forms); its documentation lists exactly
// which requests pass. Bearer and JSON requests are exempt from the token,
// not from the origin check. The site's own origin is always trusted, so
// the checks hold behind a proxy that rewrites the Host header, and
// plain-HTTP development on localhost works when the base URL says
// http://localhost. Each refusal is logged at level Info with its reason.
//
// # Rate limits
//
// A [RateLimiter] applies [Rule]s over a [Limiter]: the store's atomic
// counter (limits hold across instances) or a bounded [MemoryLimiter] for
// single-process apps. A [Limit] is N events per fixed window; it is also
// the limit type of every feature's configuration. Keys are per client
// address (IPv6 grouped by /64, see [IPKey]), per account (handlers call
// [RateLimiter.Check] with the account they parsed), or global. The client
// address is the site's ([site.Site.ClientIP]): forwarding headers count
// only when the peer is a trusted proxy. [RateLimiter.CheckAll] counts
// several limits of one request in order, stopping at the first that
// refuses: over a store, in one write.
//
// When the limiter fails (its store is unreachable or too slow), the
// check fails closed: the request gets 503 with Retry-After, and the
// error returned by [RateLimiter.Check] wraps [ErrLimiterUnavailable] and
// sigra.ErrBusy, which the features answer the same way. Set
// RateLimiterConfig.FailOpen to let requests through instead.
//
// # Headers and bodies
//
// [SecureHeaders] sets a strict Content-Security-Policy (script-src 'self',
// frame-ancestors 'none'), nosniff, Referrer-Policy, COOP and HSTS: on
// every response of a site whose base URL is https (TLS may end at a
// proxy), and on requests that arrived over HTTPS otherwise. [LimitBody]
// bounds request bodies.
//
// # Order
//
// A typical chain, outermost first:
//
//	SecureHeaders → LimitBody → CSRF → sessions.LoadAndSave → mux
//
// with the guards wrapping individual routes of the mux.
package middleware
