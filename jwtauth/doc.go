// Package jwtauth gives clients that cannot keep a cookie (mobile apps,
// services, single-page apps on another origin) short-lived JWT access
// tokens and rotating refresh tokens, without a second way to sign in.
//
// # How a client gets tokens
//
// The client signs in through the account package's JSON endpoints (and
// the second factor, when the user has one): lockout, rate limits, the
// breach check and MFA all apply as in a browser. It then exchanges that
// signed-in session for tokens with one JSON POST carrying the session
// cookie. The tokens carry the session's user, assurance level and
// methods, and the refresh family is bound to the session row: whatever
// revokes the session (signing out, revoking the device, a password
// reset, disabling the user, deleting the account) ends the family at
// once. A renewal of the session (sudo, a second factor passed later)
// makes a new row, so a client exchanges again after one. Tokens are never
// issued to an administrator impersonating a user.
//
// # Tokens
//
// Access tokens are JWTs (header "typ" at+jwt, RFC 9068) signed with
// EdDSA (Ed25519, the default) or ES256, by the first of Config.Keys,
// with its key ID. Claims: iss, sub (the user's ID), aud, exp, nbf, iat,
// jti, sid (the session's public ID), fid (the refresh family), aal, amr
// (the methods), auth_time and scope. Lifetime Config.AccessTTL (10
// minutes).
//
// Verification is strict: the header must name a configured key, and
// the token must use that key's algorithm (the algorithm is pinned per
// key, so "none" or HS256 keyed with the public key are refused), the
// signature must verify, iss and aud must be the configured ones, exp is
// required, and exp, nbf and iat are checked with at most Config.Leeway
// of clock skew. A verifier remembers the tokens it verified (by their
// SHA-256, at most 10,000): a client's next requests with the same token
// skip the signature check, while the times and the family are checked on
// every request.
//
// Refresh tokens are opaque 256-bit tokens (package token), stored as
// SHA-256 digests, single use, and rotated on every refresh. The rule of
// reuse: presenting a refresh token that was already used revokes its
// whole family, whoever presents it, and is audited (ActionReuse); the
// server cannot tell the client from a thief holding a copy, so neither
// keeps the family. Of two refreshes racing with the same token exactly
// one gets new tokens (the store marks the token used atomically); the
// other is a reuse, so the family ends and the winner's new tokens die
// with it: the family survives only when its tokens are used once each,
// in order, by one party. A client must therefore never retry a refresh
// with the same token in parallel; after a lost answer it signs in again.
//
// # Revocation of access tokens, and its bound
//
// Access tokens are checked against their family, not only their
// signature: the verifier looks up in the store whether the family is
// live (not revoked, its session not revoked or expired), and then trusts
// that answer for Config.RecheckAfter (1 minute) per family on each
// instance. So after any revocation above, a family's access tokens stop
// being accepted within RecheckAfter, and in any case at their expiry
// (AccessTTL); on the instance that served the revocation (a client's
// sign-out, a detected reuse) at once. Config.CheckEveryRequest checks
// the store on every request (one indexed read), making revocation
// immediate everywhere. This per-family check is what a per-user epoch
// would give, more finely: revoking one device ends that device's tokens
// only, and no revocation path of the store needs to know about JWTs.
//
// # Keys and rotation
//
// Keys come from the application's configuration ([ParseKey] reads PEM
// or a JWK; [GenerateKey] makes one for development), never from the
// database. Keys[0] signs; every key verifies. To rotate, publish the new
// key second for at least the JWKS cache time (5 minutes), then move it
// first; remove the old key once every token it signed has expired
// (AccessTTL plus Leeway). A token of a removed key no longer verifies.
// The public keys are served as a JWKS at Config.JWKSPath
// (/.well-known/jwks.json, at the site's root), cacheable for 5 minutes.
//
// # Endpoints
//
// [JWT.Mount] registers, under the site's prefix (for example /auth):
//
//	POST /token            exchange the signed-in session for tokens
//	POST /token/refresh    rotate a refresh token
//	POST /token/revoke     revoke the family of a refresh token (sign out)
//	POST /token/clients/revoke   revoke one of the user's apps (settings; with Config.UI)
//	GET  /.well-known/jwks.json   the public keys (at the site's root)
//
// Bodies are JSON objects (Content-Type application/json, which the CSRF
// middleware exempts from its form token; a form body would need one).
// Unknown fields, wrong types and invalid text are refused with 400 and a
// field code, as everywhere in Sigra (a browser application on another
// origin also needs its origin in middleware.CSRFConfig.TrustedOrigins, and
// CORS headers of the application's own): {"error": {"code": "unknown_field", "message": "...",
// "fields": {"x": "..."}}}. The token endpoint takes {"scope": "read
// write", "client_name": "a phone"} (both optional: no scope asks for
// Config.DefaultScopes); refresh and revoke take {"refresh_token": "..."}.
// Token and refresh answer 200 with [TokenResponse]:
//
//	{"access_token": "eyJ...", "token_type": "Bearer", "expires_in": 600,
//	 "refresh_token": "...", "refresh_expires_in": 1209600, "scope": "read"}
//
// Error codes: "unauthenticated" (401, no signed-in session), "impersonating"
// (403), "invalid_scope" (400, field scope), "required" (400, field
// refresh_token), "invalid_grant" (400: the refresh token is unknown,
// expired, already used, or its family ended; one answer for all),
// "busy" (503 with Retry-After: the store is unreachable). Revoke answers
// 200 {"ok": true} whether or not the token was known (RFC 7009).
//
// Routes guarded by [JWT.Require] answer 401 "unauthenticated" with
// WWW-Authenticate: Bearer realm="..." without a token, 401
// "invalid_token" with error="invalid_token" for a bad, expired or
// revoked one, and [RequireScopes] 403 "insufficient_scope" with
// error="insufficient_scope" and the scopes needed. Bearer requests are
// exempt from the CSRF token check (middleware.TokenExempt) and never
// read the session cookie.
//
// With curl, against the demo (after signing in with
// POST /auth/login as JSON, keeping the cookie in jar):
//
//	curl -b jar -H 'Content-Type: application/json' -d '{"scope":"read"}' http://localhost:8080/auth/token
//	curl -H "Authorization: Bearer $ACCESS" http://localhost:8080/api/me
//	curl -H 'Content-Type: application/json' -d "{\"refresh_token\":\"$REFRESH\"}" http://localhost:8080/auth/token/refresh
//	curl -H 'Content-Type: application/json' -d "{\"refresh_token\":\"$REFRESH\"}" http://localhost:8080/auth/token/revoke
//	curl http://localhost:8080/.well-known/jwks.json
//
// # Settings
//
// With Config.UI (holding [Pages]) and Config.Guard, [JWT.Section] is a
// settings section listing the apps that hold tokens for the user (the
// client_name each gave, its scopes, since when), each with a revoke
// button: POST /token/clients/revoke {"id": "<family>"} ends that family
// and its access tokens at once, answering 303 to the settings page with
// the notice api_access_revoked, or {"ok": true}; another user's family,
// or one already ended, is 404 "not_found". The settings page's JSON
// carries the list under "api_access" ([AccessSection]).
//
// # Audit
//
// ActionIssue, ActionRefresh, ActionReuse (outcome failure) and
// ActionRevoke (metadata "reason": client, session, reuse), each with
// the user as actor and subject and the family's ID.
package jwtauth
