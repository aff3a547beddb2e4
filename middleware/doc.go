// Package middleware guards routes and hardens the HTTP layer of a Sigra
// application.
//
// # Guards
//
// A [Guard] wraps routes with [Guard.RequireUser], [Guard.RequireSudo],
// [Guard.RequireAAL2], [Guard.RequireConfirmed] and
// [Guard.RedirectIfSignedIn]. HTML requests are redirected (to sign in, to
// re-authenticate, to set up a second factor) with a local return_to;
// requests that want JSON or carry a bearer token get a JSON error instead:
//
//	status  code
//	401     unauthenticated     not signed in (also sets WWW-Authenticate)
//	403     sudo_required       re-authenticate first (RequireSudo)
//	403     aal2_required       a second factor is required (RequireAAL2)
//	403     email_unconfirmed   confirm the address first (RequireConfirmed)
//	403     csrf_failed         the CSRF check refused the request
//	429     rate_limited        too many requests (Retry-After is set)
//	503     unavailable         the limiter's store is unreachable
//
// Error bodies have the shape {"error": {"code": "...", "message": "..."}}.
//
// [Guard.Load] runs on every request below the session middleware: it
// signs out a user who was disabled, whose deletion is scheduled, or who
// no longer exists.
//
// return_to values are accepted only as local paths ([SafeReturnTo]):
// "//evil", "/\evil", "https://evil", "javascript:" and their
// percent-encoded forms are refused.
//
// # CSRF
//
// [CSRF] layers net/http's CrossOriginProtection (every request) with
// justinas/nosurf tokens (HTML forms). Bearer and JSON requests are exempt
// from the token, not from the origin check. Plain-HTTP development on
// localhost works when the configured base URL says http://localhost.
//
// # Rate limits
//
// A [RateLimiter] applies [Rule]s over a [Limiter]: the store's atomic
// counter (limits hold across instances) or a bounded [MemoryLimiter] for
// single-process apps. Keys are per client address (IPv6 grouped by /64,
// see [IPKey]), per account (handlers call [RateLimiter.Check] with the
// account they parsed), or global. The client address comes from
// forwarding headers only when the peer is a trusted proxy ([IPResolver]).
//
// # Headers and bodies
//
// [SecureHeaders] sets a strict Content-Security-Policy (script-src 'self',
// frame-ancestors 'none'), nosniff, Referrer-Policy, COOP and, over HTTPS,
// HSTS. [LimitBody] bounds request bodies.
//
// # Order
//
// A typical chain, outermost first:
//
//	SecureHeaders → LimitBody → CSRF → sessions.LoadAndSave → guard.Load → mux
package middleware
