// Package oauth is sign-in with OAuth 2.0 and OpenID Connect providers
// (Google, GitHub, Apple, Microsoft, GitLab, and any OpenID Connect issuer
// by its discovery URL) and the linking of those identities to accounts.
// It uses github.com/markbates/goth's providers directly (never gothic),
// and verifies OpenID Connect ID tokens with github.com/coreos/go-oidc.
//
// Build it with [New] beside the account feature, give its [Pages] to the
// UI, its [OAuth.Section] to account.Config.Sections, and mount it with
// [OAuth.Mount]. The kit package does all of this when kit.Config.OAuth
// names providers.
//
// # Routes
//
// Under the site's prefix:
//
//	GET  /oauth                      the provider buttons (route oauth_signin)
//	POST /oauth/{provider}/start     begin a sign-in (a form: no GET changes anything)
//	GET  /oauth/{provider}/callback  the provider's redirect back
//	POST /oauth/{provider}/callback  Apple's form_post, sent on to the GET (see below)
//	GET  /oauth/link                 confirm linking a found identity (signed in)
//	POST /oauth/link                 link it
//	POST /oauth/{provider}/link      link another provider from settings (sudo)
//	POST /oauth/unlink               unlink one (sudo; field id)
//
// Every answer is a page or, for a client that asks for JSON, a JSON
// object; refusals carry a stable error code.
//
// # The handshake
//
// Starting makes a random state (256 bits), a nonce and a PKCE verifier.
// The state's SHA-256 digest keys a single-use token in the store whose
// data holds, sealed with Config.Keys, the provider, nonce, verifier,
// return path and (for a link) the user; the digest is also put in the
// browser's session. The callback compares the digest of its state with
// the session's in constant time (a mismatch is "state_mismatch": the
// browser did not start this sign-in), then consumes the store token in
// one atomic step (gone is "state_replayed": used or expired, so of two
// concurrent callbacks one proceeds). Only then is the code exchanged, with
// the PKCE verifier (S256) for every provider whose discovery document
// lists S256; the ID token is verified (signature by the issuer's keys,
// issuer, audience, expiry) and its nonce compared with the one sent.
// GitHub has no ID token: the account is read from its API with the access
// token, over the back channel. The return path follows the rules of
// return_to (a local path, else the home page).
//
// Denied consent, a provider error, a state mismatch, a replayed or
// expired state, a refused token exchange and an invalid ID token each
// answer a page (oauth_error, with its code) and write an audit row
// ([ActionCallbackFailure], with the reason); none is a 500. A provider
// that cannot be reached answers 503.
//
// # Sign in with Apple
//
// Apple posts its callback from appleid.apple.com (response_mode=
// form_post). That cross-site POST carries no session cookie (the cookie
// is SameSite=Lax) and no CSRF token, so the POST route reads no session
// and changes nothing: it answers 303 to the same-site GET callback with
// the code and state in the query. The browser follows it as a top-level
// GET, which carries the session cookie, and the state is checked there
// as for every provider: bound to the session, single use. The POST route
// needs the CSRF exemption [OAuth.CSRFExempt] and Apple's origin among the
// trusted origins ([OAuth.TrustedOrigins]); kit sets both.
//
// Apple sends the user's name only once, in the form_post body's "user"
// field at the first authorization of the application by that Apple ID.
// The POST route carries that field on to the GET callback sealed with
// Config.Keys and bound to the state (never in clear in the URL); the
// callback opens it only after the state checks, and gives the name to
// Config.AfterRegister in the [Profile] of the account it creates. The
// package stores nothing of it: an application that wants the name keeps
// it in that hook. An identity linked to an existing account (rather than
// creating one) does not pass its name on.
//
// # Microsoft's tenants
//
// With the tenants "common", "organizations" or "consumers" (a
// multi-tenant application), Microsoft signs each ID token with the
// issuer of the user's own tenant: the token is accepted only when its
// issuer is https://login.microsoftonline.com/{tid}/v2.0 for the token's
// own tid claim (a tenant id). A single tenant's issuer is checked as
// usual.
//
// # Hooks
//
// Config.AfterSignIn runs after each completed provider sign-in, as
// account.Hooks.AfterSignIn after the account's (the kit gives it that
// hook); Config.AfterRegister runs when a provider sign-in created an
// account, with the provider's [Profile] (address, names).
//
// # Identities and linking
//
// An identity is (provider, subject), never an address (see
// store.Identities). A linked identity signs its user in; a user who
// enrolled a second factor then presents it, through the same
// [SecondFactor] hand-off as a password sign-in: a provider sign-in is one
// factor, unless [Provider].TrustMFA is set and the ID token's "amr" says
// the provider asked for a second factor. An identity not linked yet:
//
//   - whose address the provider verified, and an account holds, is never
//     linked at once: it waits, sealed, in the browser's session for 15
//     minutes while the user signs in to their account in the usual way
//     (password, emailed link, passkey), then the user confirms the link
//     on the page oauth_link. Only an address the provider says it
//     verified is considered at all (the ID token's email_verified; for
//     GitHub the primary address, when verified);
//   - whose unverified address an account holds is refused;
//   - otherwise makes an account, unless Config.DisableRegistration,
//     when the provider verified the address (which is then confirmed).
//     An unverified address makes no account unless
//     Config.AllowUnverifiedEmail (then the address stays unconfirmed;
//     see there for the risk).
//
// A signed-in user links more providers from the settings section
// (behind sudo) and unlinks them, never the last way to sign in (the
// store refuses with store.ErrLastSignInMethod, atomically). Links and
// unlinks are audited ([ActionLink], [ActionUnlink]) and emailed to the
// user.
//
// # Provider tokens
//
// The access and refresh tokens are stored sealed with Config.Keys (the
// key ring of internal/seal, so keys rotate). [OAuth.TokenFor] returns a
// user's access token at a provider, refreshing it first when it expires
// within a minute. Unlinking revokes the tokens at the provider where it
// has a revocation endpoint (RFC 7009, from its discovery document; for
// GitHub, its grant API).
//
// # Limits
//
// Starts and callbacks are limited per client address (Config.Limits),
// counted in the store so that the limits hold across instances.
package oauth
