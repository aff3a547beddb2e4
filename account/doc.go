// Package account serves the account flows of Sigra for Go: registration,
// email confirmation (link and code), password sign-in, sign-out, password
// reset, magic-link sign-in, email change, password change, sudo
// re-authentication, the session list and account deletion.
//
// Build a [Handler] with [New] and mount it on the application's mux with
// [Handler.Mount]; the application wraps the mux with the CSRF middleware,
// the session manager's LoadAndSave and the Guard's Load (see the example
// of [New]). Pass an mfa.MFA as [Config].SecondFactor to add a second
// factor: sign-ins of enrolled users then stop in the pending state and
// continue at the MFA challenge.
//
// # Routes
//
// Under the prefix given to Mount ("/auth"). "signed in" routes answer
// anonymous requests with 401 unauthenticated (JSON) or a redirect to the
// sign-in page; "sudo" routes also need a re-authentication within the
// Guard's sudo window (10 minutes), else 403 sudo_required (JSON) or a
// redirect to <prefix>/sudo with return_to.
//
//	GET  /register               registration form (signed-in browsers are sent on)
//	POST /register               email, password
//	GET  /confirm                ?token=: a button that posts the token; without: the code form
//	POST /confirm                token, or code (+ email when not signed in)
//	POST /confirm/resend         email (when not signed in)
//	GET  /login                  sign-in form (signed-in browsers are sent on)
//	POST /login                  email, password, remember, return_to
//	POST /logout                 (no fields)
//	GET  /session                the request's auth state, JSON only
//	GET  /password/forgot        reset request form
//	POST /password/forgot        email
//	GET  /password/reset         ?token=: new-password form
//	POST /password/reset         token, password
//	GET  /magic                  magic-link request form
//	POST /magic                  email
//	GET  /magic/verify           ?token=: a button that posts the token
//	POST /magic/verify           token, return_to
//	GET  /sudo                   re-authentication form             (signed in)
//	POST /sudo                   password, or code; return_to       (signed in)
//	GET  /settings               account settings                   (signed in)
//	POST /email                  email: the new address             (sudo)
//	GET  /email/confirm          ?token=: a button that posts the token
//	POST /email/confirm          token
//	POST /email/cancel           (no fields)                        (signed in)
//	POST /password               current_password, password         (signed in)
//	GET  /sessions               the user's sessions                (signed in)
//	POST /sessions/revoke        id: a session's public id          (signed in)
//	POST /sessions/revoke-others (no fields)                        (signed in)
//	GET  /delete                 deletion form                      (sudo)
//	POST /delete                 confirm_email: the account's address (sudo)
//
// DisableRegistration leaves out /register; DisableMagicLink leaves out
// /magic and /magic/verify. Other methods on these paths get 405; in
// particular GET /logout signs nobody out.
//
// # Requests and answers
//
// POST bodies are urlencoded or multipart forms (without files), or JSON
// objects whose values are strings, booleans (remember: true) or null.
// Every body is limited to 64 KiB and every field but the passwords to
// 1024 bytes; a body that is not valid UTF-8, repeats a field, or has
// another Content-Type is refused with 400 invalid_input before anything
// happens. HTML forms carry the CSRF token; JSON bodies need none (a
// browser cannot send them cross-site without CORS), but cross-site
// requests are refused either way (403 csrf_failed, by the middleware).
//
// A request is answered with JSON when it sends JSON, asks for it first in
// Accept, or carries a bearer token; otherwise with HTML. Where a browser
// is redirected (303 See Other), JSON gets 200 with
//
//	{"ok": true, "next": "<the redirect target>", ...}
//
// and where a page is shown after a success, {"ok": true, "message": ...}.
// Errors are
//
//	{"error": {"code": "invalid_input", "message": "...", "fields": {"email": "..."}}}
//
// where code is stable and message is for people; an HTML form is shown
// again with the message and, for fields, each message at its field
// (aria-invalid and aria-describedby set).
//
// Successful answers, by route:
//
//   - POST /register, /password/forgot, /magic: 200 with a "check your
//     email" page, {"ok": true, "message": ...}. The same answer whether an
//     account holds the address or not.
//   - POST /confirm: 303 to AfterSignInPath?notice=confirmed for the
//     signed-in owner, else to <prefix>/login?notice=confirmed.
//   - POST /confirm/resend: 303 to <prefix>/confirm?notice=resent (signed
//     in) or <prefix>/login?notice=resent; JSON adds "message". The same
//     answer for unknown, confirmed and rate-limited addresses.
//   - POST /login and POST /magic/verify: 303 to the local return_to (form,
//     then query) or AfterSignInPath; JSON adds "user" (id, email,
//     email_confirmed, created_at). With a second factor due: 303 to
//     SecondFactorPath (with return_to), JSON adds "mfa_required": true.
//   - POST /logout: 303 to <prefix>/login?notice=signed_out.
//   - GET /session: {"state", "signed_in"} and, when signed in, "user",
//     "aal", "methods", "auth_time", "sudo_time".
//   - POST /password/reset: 303 to <prefix>/login?notice=reset; JSON adds
//     "message". The user is not signed in.
//   - POST /sudo: 303 to the local return_to or <prefix>/settings.
//   - GET /settings as JSON: email, email_confirmed, pending_email,
//     has_password, mfa_enabled, recovery_codes_left, session_count,
//     deletion_due_at.
//   - POST /email: 303 to <prefix>/settings?notice=email_sent, whether or
//     not another account holds the address (then nothing is sent).
//   - POST /email/confirm: 303 to <prefix>/settings?notice=email_changed
//     when signed in, else <prefix>/login?notice=email_changed.
//   - POST /email/cancel: 303 to <prefix>/settings?notice=email_cancelled.
//   - POST /password: 303 to <prefix>/settings?notice=password_changed.
//   - GET /sessions as JSON: {"sessions": [{id, current, browser, os, kind,
//     ip, pending, created_at, last_seen_at, expires_at}]}, most recently
//     seen first.
//   - POST /sessions/revoke: 303 to <prefix>/sessions?notice=session_revoked,
//     or <prefix>/login?notice=signed_out when it was this session.
//   - POST /sessions/revoke-others: 303 to
//     <prefix>/sessions?notice=sessions_revoked; JSON adds "revoked": n.
//   - POST /delete: 200 with a "deletion scheduled" page, {"ok": true,
//     "due_at": ...}; the browser is signed out.
//
// Error codes, with their status:
//
//	400 invalid_input          the body could not be read (see above); POST /sessions/revoke without id
//	401 invalid_credentials    POST /login: unknown address, wrong password, no password, or locked;
//	                           POST /sudo, POST /password: wrong (current) password, or locked
//	401 invalid_code           POST /sudo: wrong second-factor code
//	401 unauthenticated        a signed-in route without a signed-in user
//	403 account_disabled       POST /login, /magic/verify: the account is disabled
//	403 email_unconfirmed      POST /login with RequireConfirmation, before confirming
//	403 sudo_required          a sudo route (or POST /password without a password) without recent sudo
//	403 csrf_failed            refused by the CSRF middleware
//	404 not_found              POST /sessions/revoke: no such live session of this user
//	409 email_taken            POST /email/confirm: another account took the address meanwhile
//	410 link_expired           a token that is unknown, used, expired, of another purpose, or
//	                           sent to an address the account no longer has (GET pages too)
//	413                        the body is over 64 KiB
//	422 invalid_input          a required field is missing or malformed (fields names it)
//	422 invalid_code           POST /confirm: a code that is malformed, wrong, spent or dead
//	422 weak_password:<reason> POST /register, /password/reset, /password: the policy refused
//	                           the password (reason: too_short, too_long, invalid_utf8, common,
//	                           contains_context, breached, breach_check_unavailable)
//	422 same_email             POST /email: the address is already the account's
//	422 confirmation_mismatch  POST /delete: confirm_email is not the account's address
//	429 rate_limited           a limit of [Limits] (with Retry-After)
//	500 internal               a store failure (logged)
//	503 busy                   the password hashing pool is full (with Retry-After)
//
// # Configuration
//
// [Config] fields that are zero take these defaults: confirmation links
// and codes 48 hours, reset links 1 hour, magic links 15 minutes, email
// change links and reservations 24 hours; lockout after 5 password
// failures in a row, for 15 minutes; a confirmation code dies after 10
// wrong guesses (CodeMaxAttempts); deletion grace 14 days, DeleteData;
// AfterSignInPath "/", SecondFactorPath "<prefix>/mfa/challenge"; the
// limits listed on [Limits]; Now from the session manager; an audit Logger
// and a RateLimiter over the store; slog.Default(). Registration and magic
// links are on; RequireConfirmation is off (unconfirmed users may sign in
// and see a banner).
//
// # Hooks
//
// [Hooks] are called after their change committed: AfterRegister (only
// for a new account), AfterConfirm, AfterSignIn, AfterSignOut,
// AfterPasswordReset, AfterEmailChange (with the old address),
// AfterDelete. BeforeDelete runs in [Handler.PurgeDeleted] before an
// account is removed; an error postpones that account to the next run.
//
// # Deletion
//
// POST /delete schedules the deletion after the grace period, revokes
// every session and outstanding token, and emails the owner. Signing in
// (password or magic link) before the due time cancels it. Run
// [Handler.RunPurge] (or call [Handler.PurgeDeleted] from a scheduled job):
// each due account is deleted or anonymised in one transaction with its
// audit row and a goodbye email.
//
// # Security properties
//
//   - No enumeration: registration, reset, magic-link and resend requests
//     answer the same whether or not an account holds the address (and
//     registration hashes the password either way); the owner of a taken
//     address gets a "someone tried to register" email instead. A sign-in
//     with an unknown address costs a dummy verification and gets the same
//     401 as a wrong password. The per-address code limit counts unknown
//     addresses too.
//   - Emailed tokens are 256-bit, stored as SHA-256 digests, single use
//     (consumed in one statement: of two tabs, one wins), bound to their
//     purpose and to the address they were sent to, and short-lived; codes
//     are 6 digits, limited to 5 guesses per 15 minutes per address and
//     CodeMaxAttempts in all. Emailed links open a page whose POST
//     consumes the token (mail scanners follow GET links), served with
//     Referrer-Policy: no-referrer. Links are built from BaseURL, never
//     from the request's Host header. With mail.Outbox as the Mailer,
//     queued emails (which carry the links) are sealed at rest.
//   - Lockout: 5 wrong passwords lock password sign-in for 15 minutes and
//     email the owner once; the lock is checked before any hashing, a
//     locked account gets the same 401 as a wrong password, and a reset or
//     magic link still works (a reset ends the lock). Wrong current
//     passwords on /sudo and /password count too.
//   - Sessions: every sign-in, sudo and password change renews the session
//     token. A reset never signs in, revokes every session, outstanding
//     token and trusted browser, and emails a notice; a password change
//     keeps this session and revokes the others. Sign-out is POST only.
//   - return_to is honoured only for local paths ("//evil", "https://...",
//     "/\evil" and their encoded forms fall back to the default).
//   - Password hashing runs in the bounded pool of password.Hasher;
//     imported bcrypt hashes are replaced by Argon2id at the next sign-in.
//   - Account changes (registration, confirmation, reset, email and
//     password change, deletion) commit in one transaction with their
//     audit row and the email they queue: if the email cannot be queued,
//     nothing changes. The lockout is the exception that commits without
//     its notice, so a broken mailer cannot turn it off. Session events
//     (sign-in, sign-out, sudo, revocation) are audited right after they
//     happen, and failed attempts on their own. Audit rows carry actor,
//     subject, address, user agent and outcome, never a secret.
package account
