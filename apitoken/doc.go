// Package apitoken gives an application's API personal access tokens,
// service accounts with client credentials, and the [APITokens.Bearer] and
// [APITokens.RequireScopes] middleware that protect JSON endpoints with
// them.
//
// Build it with [New] from the shared dependencies, add [Pages] to the
// UI's packs, [APITokens.Section] to the account settings' sections, and
// mount it:
//
//	tokens, err := apitoken.New(apitoken.Config{
//		Store: db, Sessions: sessions, Guard: guard, UI: pages, Mail: outbox,
//		Scopes: []apitoken.Scope{{Name: "notes:read", Description: "Read your notes"}},
//	})
//	tokens.Mount(mux)
//	mux.Handle("GET /api/notes", tokens.Bearer(tokens.RequireScopes("notes:read")(listNotes)))
//
// Below Bearer, sigra.UserFrom returns the token's user (or service
// account) and sigra.AuthFrom its scopes, exactly as for a browser session.
//
// # Tokens
//
// Every token and secret is an API key of package token: a prefix, 256
// random bits and a checksum ("sigrapat_<43 characters>_<6 characters>"),
// so secret scanners recognise it and a mistyped one is refused before any
// store lookup. Only its SHA-256 digest is stored; it is shown once.
//
//   - A personal access token ("<Prefix>pat_") acts as the user who made it,
//     with the scopes chosen, until it expires (90 days by default; "never"
//     only with Config.AllowNoExpiry) or is revoked. Disabling or deleting
//     the user revokes or removes it at once. Its last use is written at
//     most once a minute.
//   - A service account belongs to an organization (managed by its owners
//     and admins, Config.AdminRoles) or to the application
//     (Config.CanManageApp). It has a client ID (the account's ID) and a
//     client secret ("<Prefix>cs_"), rotated with an overlap window
//     (Config.SecretOverlap) during which the previous secret still works.
//     It exchanges them at the token endpoint for an access token
//     ("<Prefix>at_") that lives Config.AccessTokenTTL (15 minutes by
//     default).
//
// A service account appears to handlers as a sigra.User whose ID is the
// account's ID and whose Email is empty, with sigra.Auth.ServiceAccount set
// and sigra.Auth.ActiveOrg the organization that owns it.
//
// # Bearer requests
//
// [APITokens.Bearer] reads "Authorization: Bearer <token>", checks its
// format and checksum (a bad one is refused without touching the store),
// reads the token and its owner in one store round trip, counts the
// request against the token's rate limit (Config.RateLimit, 600 a minute by
// default), and puts the owner in the request's context. The rate limit's
// count is a write to the store on every request, so that it holds across
// instances; a single instance may give Config.RateLimiter one over a
// middleware.MemoryLimiter instead. Bearer never reads or writes the
// session cookie; the CSRF middleware exempts bearer requests
// from its token check. Refusals follow RFC 6750, with a JSON body
// {"error": {"code": ..., "message": ...}}:
//
//	status  code                WWW-Authenticate
//	401     token_required      Bearer realm="..."
//	400     invalid_request     Bearer realm="...", error="invalid_request"
//	401     invalid_token       Bearer realm="...", error="invalid_token"
//	403     insufficient_scope  Bearer realm="...", error="insufficient_scope", scope="<missing>"
//	429     rate_limited        (Retry-After: the token's limit, or Config.UnknownLimit unknown tokens from one address)
//	503     busy                (Retry-After: the store is unreachable or too slow)
//
// The 403 body also holds the missing scopes: {"error": {"code":
// "insufficient_scope", "message": ..., "scope": "notes:write"}}.
//
// # Routes
//
// Under the site's prefix. Every page answers JSON when asked (Accept:
// application/json, or a JSON body); POST bodies are forms or JSON
// objects. Creating tokens and managing service accounts require a recent
// re-authentication (sudo): JSON gets 403 "sudo_required".
//
//	GET  /settings/tokens                    the user's tokens
//	     200 {"tokens": [Token], "scopes": [{"name", "description"}],
//	          "allow_no_expiry": bool, "default_expires_in_days": 90}
//	POST /settings/tokens                    create a token (sudo)
//	     {"name": "deploy", "scopes": "notes:read notes:write", "expires_in_days": "30" | "never" | ""}
//	     (a form sends one checkbox "scope:<name>" per scope instead of "scopes")
//	     201 {"ok": true, "token": "sigrapat_...", "api_token": Token}
//	POST /settings/tokens/revoke             {"id": "<token id>"}      200 {"ok": true, "next": ...}
//	POST /settings/tokens/revoke-all         {}                        200 {"ok": true, "next": ..., "revoked": 3}
//	GET  /settings/service-accounts          200 {"owners": [Owner], "token_endpoint": "https://..."}
//	POST /settings/service-accounts          create one (sudo): {"org_id": "" | "<org id>", "name": ..., "scopes": ...}
//	     201 {"ok": true, "client_id": ..., "client_secret": "sigracs_...", "name": ..., "token_endpoint": ...}
//	POST /settings/service-accounts/rotate   (sudo) {"org_id", "client_id"}
//	     200 as creation, with "previous_secrets_until": time
//	POST /settings/service-accounts/delete   (sudo) {"org_id", "client_id"}  200 {"ok": true, "next": ...}
//	POST /oauth/token                        the token endpoint (below)
//
// where Token is {"id", "name", "scopes": [...], "created_at", "expires_at"
// (absent: never), "last_used_at" (absent: never)}, and Owner is
// {"org_id" ("" for the application), "name", "service_accounts":
// [{"client_id", "name", "scopes", "created_at", "secrets": [{"created_at",
// "expires_at" (absent: the current secret)}]}]}.
//
// Refused input is answered 400 with {"error": {"code", "message",
// "fields": {"<field>": "<message>"}}}: the codes of a body that cannot be
// read ("invalid_input", "unknown_field", "invalid_type", "invalid_text",
// "too_long", "duplicate_field"), or "invalid_input" with the field
// ("name", "scopes", "expires_in_days") whose value is refused; nothing is
// stored. An unknown token or service account, or one of an organization
// the user does not administer, is 404 "not_found".
//
// # Token endpoint
//
// POST /oauth/token takes the client credentials grant of RFC 6749 section
// 4.4, as a form (application/x-www-form-urlencoded) or a JSON object:
// grant_type=client_credentials, the client ID and secret in HTTP Basic
// authentication or as client_id and client_secret, and an optional scope
// (a space-separated subset of the account's scopes; default all of
// them). It answers as RFC 6749 section 5 says:
//
//	200 {"access_token": "sigraat_...", "token_type": "Bearer", "expires_in": 900, "scope": "..."}
//	400 {"error": "invalid_request" | "unsupported_grant_type" | "invalid_scope", "error_description": ...}
//	401 {"error": "invalid_client", "error_description": ...}
//	429 rate_limited (60 requests a minute per client ID), 503 busy
//
// The endpoint authenticates with what the request carries, never a
// cookie, so it needs no CSRF token: add [APITokens.CSRFExempt] to the
// CSRF middleware's Exempt.
//
// # Audit
//
// Events: apitoken.create, apitoken.revoke, apitoken.revoke_all,
// apitoken.use.failure (an unknown, expired or revoked token, up to
// Config.UnknownLimit per client address; a scope refusal; a token over its
// rate limit; a token refused by its checksum is not looked up and not
// recorded), apitoken.service_account.create, .rotate, .delete,
// .token and .token_failure. A user's new token also sends them a notice
// email.
package apitoken
