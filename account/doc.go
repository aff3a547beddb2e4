// Package account serves the account flows of Sigra for Go: registration,
// email confirmation (link and code), password sign-in, sign-out, password
// reset, magic-link sign-in, email change, password change, sudo
// re-authentication, the device list, account deletion and the settings
// page.
//
// # Wiring
//
// Every package is built from one [site.Site] (base URL, prefix, clock,
// logger, client addresses). The account feature needs:
//
//   - a store implementing [Store] (store/sqlite, store/postgres, or the
//     host's own);
//   - a session.Manager and a middleware.Guard for that site;
//   - a ui.UI built for the same site with [Pages] among its packs: the
//     account's pages, settings sections, emails, routes and notices;
//   - a password.Hasher;
//   - a mail.Sender: a mail.Outbox in production (durable, and queued in the
//     same transaction as the change it reports), a mail.Mailbox in
//     development.
//
// [New] checks them: a missing one, a UI without the account pack or built
// for another site, a settings section no pack provides, or a SecondFactor
// without a pack that declares the second step's route is refused with an
// error that wraps sigra.ErrConfig and names what is wrong.
// [Handler.Mount] puts the routes on the application's mux under the site's
// prefix ("/auth" unless site.Config.Prefix says otherwise); the
// application mounts the UI's assets (ui.UI.Mount) and wraps the mux with
// the CSRF middleware and the session manager's LoadAndSave (see the
// example of [New]).
//
// # Second factor
//
// [Config].SecondFactor hands sign-ins to a second factor (the mfa package
// implements [SecondFactor]; account does not import it). The password or
// magic link of a user for whom Required is true leaves the session pending
// and redirects to the route ui.RouteSecondFactor, unless Trusted says the
// browser may skip it (the sign-in then completes at AAL2 with the method
// trusted_browser). POST /sudo accepts the second factor's code through
// VerifySudo. A password reset calls ForgetTrust inside its transaction, so
// a reset by whoever reads the mailbox also ends every browser's trust; if
// ForgetTrust fails, the reset does not happen.
//
// # Store
//
// [Store] is what the flows need of storage: store.Users, store.Sessions,
// store.Tokens, store.Limiter, store.AuditLog and store.Transactor, and none
// of the second factors' interfaces. A host that keeps accounts in its own
// database implements these and runs the matching parts of
// store/storetest: Users, Sessions, Tokens, Limiter, AuditLog, Transactions
// and Times (storetest.Run picks them from the type). The flows run each
// change in one transaction of this store (the context carries it), with its
// audit row and the email it queues; an outbox over the same database joins
// that transaction, so the email commits with the change or not at all.
//
// # Settings page
//
// GET /settings is the core "settings" page made of sections: the
// account's own (email 10, password 20, devices 30, delete 1000) and those
// other features give in [Config].Sections (two-factor authentication, an
// application's profile form), in their Order. A section whose data is nil
// is left out. A refused email or password change shows the page again
// with the error, each field's message in the section that holds the field.
// As JSON the page is the sections' data by name, loaded without rendering
// any section:
//
//	{"email": {"email": "...", "confirmed": true, "pending": "..."},
//	 "password": {"has_password": true, "min_password_length": 8},
//	 "devices": {"count": 2}, "delete": {}, "two_factor": {...}}
//
// # Routes
//
// Under the site's prefix ("/auth" by default). "signed in" routes answer
// anonymous requests with 401 unauthenticated (JSON) or a redirect to the
// sign-in page with return_to; "sudo" routes also need a re-authentication
// within the Guard's sudo window (10 minutes), else 403 sudo_required (JSON)
// or a redirect to <prefix>/sudo with return_to. A GET of a form asked for
// JSON (Accept: application/json) describes the form instead of showing it;
// its answer is in the last column.
//
//	GET  /register               registration form                    {"ok", "min_password_length"}
//	POST /register               email, password, the application's own fields (Hooks.Fields)
//	GET  /confirm                ?token=: a button that posts it;     {"ok", "code_length", "email"
//	                             without: the code form                (signed in)}; dead link: 410
//	POST /confirm                token, or code (+ email when not signed in)
//	POST /confirm/resend         email (when not signed in)
//	GET  /login                  sign-in form                         {"ok", "allow_register", "allow_magic_link"}
//	POST /login                  email, password, remember, return_to
//	POST /logout                 (no fields)
//	GET  /session                the request's auth state, JSON only; while an admin acts as the user, "impersonation": {"impersonator_id", "ends_at"}
//	GET  /password/forgot        reset request form                   {"ok"}
//	POST /password/forgot        email
//	GET  /password/reset         ?token=: new-password form           {"ok", "min_password_length"}; dead link: 410
//	POST /password/reset         token, password
//	GET  /magic                  magic-link request form              {"ok"}
//	POST /magic                  email
//	GET  /magic/verify           ?token=: a button that posts it      {"ok"}; dead link: 410
//	POST /magic/verify           token, return_to
//	GET  /sudo                   re-authentication form (signed in)   {"ok", "has_password", "has_totp", "has_passkey", "has_linked_account"}
//	POST /sudo                   password, or code; return_to (signed in)
//	GET  /settings               the settings page (signed in)        the sections' data by name
//	POST /email                  email: the new address (sudo)
//	GET  /email/confirm          ?token=: a button that posts it      {"ok", "new_email"}; dead link: 410
//	POST /email/confirm          token
//	POST /email/cancel           (no fields) (signed in)
//	POST /password               current_password, password (signed in)
//	GET  /password/renew         new-password form, when one is due   {"password_change_required", "need_current_password", "min_password_length"}
//	POST /password/renew         password; current_password past the sudo window; return_to
//	GET  /sessions               the user's devices (signed in)       {"sessions": [...]}
//	POST /sessions/revoke        id: a session's public id (signed in)
//	POST /sessions/revoke-others (no fields) (signed in)
//	GET  /delete                 deletion form (sudo)                 {"ok", "email", "grace_seconds"}
//	POST /delete                 confirm_email: the account's address (sudo)
//
// GET /login and GET /register send signed-in browsers on (to return_to, or
// the site's home page); JSON requests get the form. DisableRegistration
// leaves out /register; DisableMagicLink leaves out /magic and
// /magic/verify. Other methods on these paths get 405; in particular GET
// /logout signs nobody out. The pack names the routes for templates and
// other features: the well-known ui.RouteSignIn, RouteSignOut,
// RouteRegister, RouteConfirm, RouteSudo and RouteSettings, and
// session_info, confirm_resend, forgot, reset, magic, magic_verify, email,
// email_confirm, email_cancel, password, sessions, session_revoke,
// sessions_revoke_others, delete, not_me and the well-known
// ui.RoutePasswordRenew (password_renew).
//
// # Requests and answers
//
// POST bodies are urlencoded or multipart forms (without files), or JSON
// objects. Every body is limited to 64 KiB and every field but the
// passwords to 1024 bytes. Each route reads the fields listed above and
// no others (and the CSRF token's, csrf_token), and a body is refused
// with 400 before anything happens when it does not fit them:
//
//   - A JSON body may hold only those fields (else unknown_field, with a
//     message at each field in "fields"). Their values are strings, but
//     remember, a boolean; null is an absent field; any other type is
//     invalid_type. Registration also takes the application's own fields
//     that Hooks.Fields declares: strings or booleans.
//   - A form's other fields are not read: a browser sends the page's
//     inputs, the CSRF token and whatever an override of the page adds, so
//     they are not refused for being there. remember is a checkbox ("1",
//     "true", "on" or "yes" is checked; empty, "0", "false", "off" or "no"
//     is not; anything else is invalid_type).
//   - Every field, a form's other fields included, must be valid text:
//     invalid UTF-8, a lone or mis-paired surrogate escape in JSON
//     ("\udc00"), and control characters in a field of the route but a
//     password are refused (invalid_text); so is a field over its bound
//     (too_long) or sent twice (duplicate_field). Addresses, codes and
//     tokens are trimmed of white space; passwords never are.
//   - A body that cannot be read at all (another Content-Type, broken
//     JSON, a file, a field name that is not text) is invalid_input.
//
// HTML forms carry the CSRF token; JSON bodies need none (a browser cannot
// send them cross-site without CORS), but cross-site requests are refused
// either way (403 csrf_failed, by the middleware).
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
//   - POST /confirm: 303 to the site's home page with ?notice=confirmed for
//     the signed-in owner, else to <prefix>/login?notice=confirmed.
//   - POST /confirm/resend: 303 to <prefix>/confirm?notice=resent (signed
//     in) or <prefix>/login?notice=resent; JSON adds "message". The same
//     answer for unknown, confirmed and rate-limited addresses.
//   - POST /login and POST /magic/verify: 303 to the local return_to (form,
//     then query) or the site's home page; JSON adds "user" (id, email,
//     email_confirmed, created_at). With a second factor due: 303 to the
//     second step's route (with return_to), JSON adds "mfa_required": true.
//     A password found in a breach sends the user to /password/renew
//     first (after the second factor, if any: it becomes the second
//     step's return_to), and JSON adds "password_change_required": true.
//   - POST /logout: 303 to <prefix>/login?notice=signed_out.
//   - GET /session: {"state", "signed_in"} and, when signed in, "user",
//     "aal", "methods", "auth_time", "sudo_time".
//   - POST /password/reset: 303 to <prefix>/login?notice=reset; JSON adds
//     "message". The user is not signed in.
//   - POST /sudo: 303 to the local return_to or <prefix>/settings.
//   - POST /email: 303 to <prefix>/settings?notice=email_sent, whether or
//     not another account holds the address (then nothing is sent).
//   - POST /email/confirm: 303 to <prefix>/settings?notice=email_changed
//     when signed in, else <prefix>/login?notice=email_changed.
//   - POST /email/cancel: 303 to <prefix>/settings?notice=email_cancelled.
//   - POST /password: 303 to <prefix>/settings?notice=password_changed.
//   - POST /password/renew: 303 to the local return_to (or the site's home
//     page) with ?notice=password_changed. Signed out: 303 to sign in
//     (JSON 401 unauthenticated); no change due: 303 to return_to.
//   - GET /sessions as JSON: {"sessions": [{id, current, browser, os, kind,
//     ip, pending, created_at, last_seen_at, expires_at}]}, this browser
//     first, then the most recently seen.
//   - POST /sessions/revoke: 303 to <prefix>/sessions?notice=session_revoked,
//     or <prefix>/login?notice=signed_out when it was this session.
//   - POST /sessions/revoke-others: 303 to
//     <prefix>/sessions?notice=sessions_revoked; JSON adds "revoked": n.
//   - POST /delete: 200 with a "deletion scheduled" page, {"ok": true,
//     "due_at": ...}; the browser is signed out.
//
// Error codes, with their status:
//
//	400 invalid_input          the body could not be read (see above); POST /sessions/revoke without
//	                           id, or with an id over 64 bytes
//	400 unknown_field          a JSON field the route does not read (fields names it)
//	400 invalid_type           a JSON value of the wrong type, a checkbox value that is not one
//	400 invalid_text           invalid UTF-8, a lone surrogate, or control characters in a field
//	400 too_long               a field over 1024 bytes (passwords are bounded by the policy)
//	400 duplicate_field        a field sent twice
//	401 invalid_credentials    POST /login: unknown address, wrong password, no password, or locked;
//	                           POST /sudo, POST /password: wrong (current) password, or locked
//	401 invalid_code           POST /sudo: wrong second-factor code
//	401 unauthenticated        a signed-in route without a signed-in user
//	403 account_disabled       POST /login, /magic/verify: the account is disabled
//	403 email_unconfirmed      POST /login with RequireConfirmation, before confirming
//	403 sudo_required          a sudo route (or POST /password without a password) without recent sudo
//	403 password_change_required a guarded route (middleware.Guard) while a new password is due
//	403 csrf_failed            refused by the CSRF middleware
//	404 not_found              POST /sessions/revoke: no such live session of this user
//	409 email_taken            POST /email/confirm: another account took the address meanwhile
//	410 link_expired           a token that is unknown, used, expired, of another purpose, or
//	                           sent to an address the account no longer has (GET pages too)
//	413                        the body is over 64 KiB
//	422 invalid_input          a required field is missing or malformed (fields names it);
//	                           POST /register: a FieldError of Hooks.BeforeRegister
//	422 invalid_code           POST /confirm: a code that is malformed, wrong, spent or dead
//	422 weak_password:<reason> POST /register, /password/reset, /password: the policy refused
//	                           the password (reason: too_short, too_long, invalid_utf8, common,
//	                           contains_context, breached, breach_check_unavailable)
//	422 same_email             POST /email: the address is already the account's
//	422 confirmation_mismatch  POST /delete: confirm_email is not the account's address
//	429 rate_limited           a limit of [Limits] (with Retry-After)
//	500 internal               a store failure, or a hook's error (logged)
//	503 busy                   the password hashing pool is full (with Retry-After)
//	503 breach_check_unavailable POST /login with BreachCheck.FailClosed: the breach check
//	                           could not be done (with Retry-After)
//
// # Configuration
//
// [Config] fields that are zero take these defaults: confirmation links
// and codes 48 hours, reset links 1 hour, magic links 15 minutes, email
// change links and reservations 24 hours; lockout after 5 password
// failures in a row, for 15 minutes; a confirmation code dies after 10
// wrong guesses (CodeMaxAttempts); deletion grace 14 days, DeleteData; the
// limits listed on [Limits]; an audit Logger and a RateLimiter over the
// store. The clock, the logger, the base URL of emailed links and the home
// page where a sign-in lands come from the site. Registration and magic
// links are on; RequireConfirmation is off (unconfirmed users may sign in
// and see a banner).
//
// # Hooks
//
// [Hooks] let the application take part in the flows. BeforeRegister runs
// on a registration with a well-formed address and an acceptable password,
// before anything is hashed or stored and whether or not the address is
// taken (so it reveals nothing), with the request's fields but the
// passwords and the CSRF token: an application checks its own fields there
// (a display name, accepting the terms; an override of the "register" page
// adds them to the form). A [*FieldError] refuses the registration with 422
// invalid_input and the message at the field; another error answers 500.
// AfterRegister (only for a new account) receives the same fields, to store
// the application's own. A registration takes, besides email and
// password, only the fields that Hooks.Fields names (each a string or a
// boolean, true read as "true"): any other JSON field is refused with 400
// unknown_field and a form's other inputs are ignored, so a hook never sees
// a field nobody declared (an "is_admin" a client adds). New refuses names
// the registration reads itself (email, password, return_to, csrf_token),
// names that are not plain field names, and repeats.
//
// The other hooks are called after their change committed: AfterConfirm,
// AfterSignIn, AfterSignOut, AfterPasswordReset, AfterEmailChange (with
// the old address), AfterDelete. BeforeDelete runs in
// [Handler.PurgeDeleted] before an account is removed; an error postpones
// that account to the next run. The users hooks receive carry no secrets.
//
// # Deletion
//
// POST /delete schedules the deletion after the grace period, revokes
// every session and outstanding token, and emails the owner. Signing in
// (password or magic link) before the due time cancels it; until then the
// session middleware signs the user out on every request. Run
// [Handler.RunPurge] (or call [Handler.PurgeDeleted] from a scheduled job):
// each due account is deleted or anonymised in one transaction with its
// audit row and a goodbye email.
//
// # Security properties
//
//   - No enumeration, by answer or by timing: reset, magic-link and
//     resend requests do the same work before the answer whatever the
//     address's state (existing, unknown, unconfirmed, locked, disabled):
//     the limits and one queued job. The address-dependent work (look the
//     account up, make the token, queue the email) is that job, run after
//     the answer by the mail outbox's worker (durably, retried on failure;
//     see mail.Deferrer). Registration answers the same whether or not
//     the address is taken (and hashes the password either way); the
//     owner of a taken address gets a "someone tried to register" email
//     instead. A password sign-in does the same for every state too: one
//     attempt place, one password computation (a dummy one for an unknown
//     address, an account without a password or a locked account), one
//     audit row, and the same 401. Tests count the hashing and the store
//     writes of each state and require them equal. The per-address code
//     limit counts unknown addresses too.
//   - Emailed tokens are 256-bit, stored as SHA-256 digests, single use
//     (consumed in one statement: of two tabs, one wins), bound to their
//     purpose and to the address they were sent to, and short-lived; codes
//     are 6 digits, limited to 5 guesses per 15 minutes per address and
//     CodeMaxAttempts in all. Emailed links open a page whose POST
//     consumes the token (mail scanners follow GET links), served with
//     Referrer-Policy: no-referrer. Links are built from the site's base
//     URL, never from the request's Host header. With a mail.Outbox as the
//     sender, queued emails (which carry the links) are sealed at rest.
//   - Lockout that cannot be raced: every password attempt first takes one
//     of MaxFailures (5) places of the address's window of
//     LockoutDuration (15 minutes), atomically in the store and so across
//     instances; a right password frees them. Guesses sent at once cannot
//     all pass a check made before their failures are counted: of any
//     burst, at most 5 passwords are verified. A failure that took the last
//     place locks password sign-in for LockoutDuration and emails the
//     owner once (a job, queued for unknown addresses too). A locked
//     account gets the same 401 as a wrong password, after the same
//     hashing; a reset or magic link still works and ends the lock. Wrong
//     current passwords on /sudo and /password take places too.
//   - A scheduled deletion is cancelled only by a complete sign-in (after
//     the second factor, whichever feature completes it): the password
//     alone keeps nothing alive. Asking to change to an address another
//     account holds answers, and shows on the settings page, as a free
//     address does.
//   - Sessions: every sign-in, sudo and password change renews the session
//     token. A reset never signs in and never bypasses the second factor;
//     it revokes every session and outstanding token, ends the trust of
//     every browser (SecondFactor.ForgetTrust), and emails a notice; a
//     password change keeps this session and revokes the others. Sign-out
//     is POST only.
//   - Breached passwords are caught at sign-in too, not only when a
//     password is set (see Breached passwords below).
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
//
// # New-device alerts
//
// When an account is signed in to from a device not seen for
// [NewDeviceAlertConfig].Window (90 days by default), its owner gets an
// email with the browser and operating system, the client address, the
// time, and a "this wasn't me" link that works once, for LinkTTL (7 days by
// default). A device is a network (the /24 of an IPv4 address, the /48 of
// an IPv6 one: a home, office or mobile network usually keeps its prefix
// when its address changes), a browser and an operating system. The store
// keeps, per user, only a SHA-256 fingerprint of these with the user's ID,
// and when the device was last seen; a user's devices not seen for the
// window are forgotten at that user's next sign-in (store.SignIns, part of
// [Store]: a host's store runs the SignIns part of store/storetest).
//
// Every completed sign-in counts, whichever feature completed it (a
// password, a magic link, a second factor after either, and the sign-ins of
// other features): the check listens to the session manager
// (session.Manager.OnSignIn), costs one store call, and never fails the
// sign-in; an alert that cannot be queued is logged. A password that still
// waits for its second factor is not a sign-in yet. The first sign-in of an
// account alerts nobody, and neither does a user's first sign-in after the
// alerts were turned on.
//
//	GET  /not-me   ?token=: a button that posts it   {"ok"}; dead link: 410
//	POST /not-me   token
//
// The POST consumes the token and, in one transaction, signs out the
// session of that sign-in (or every session of the account, when that one
// has ended or changed since: the stranger may hold it under another ID),
// forgets the device so that its next sign-in alerts again, starts a
// password reset (the reset email is queued with the rest) and records
// security.new_device.not_me; the alert itself is recorded as
// security.new_device.alert. The answer is a page saying so, or {"ok":
// true, "message", "signed_out": "session" or "all", "revoked": n}. Like
// every emailed link, the token is single use and bound to the address it
// was sent to; a dead link gets 410 link_expired. NewDeviceAlert.Disabled
// turns the alerts off and stops recording devices; the routes stay, so
// links already sent still work. The pack names the route not_me, the pages
// new_device_confirm and new_device_done, and the email new_device.
//
// # Breached passwords
//
// When the policy of Config.Passwords has a breach checker
// (password.Policy.Breach, such as a password.RangeClient for the Pwned
// Passwords range API, which never sees the password or its full hash), a
// password sign-in checks the password too, once it has verified and
// before any second factor ([BreachCheckConfig]). A clean answer is
// remembered per user for BreachCheck.Every (a day by default), in the
// store's limiter counters, so a busy user costs one request a day; a
// password found in a breach, or a check that failed, is checked again at
// the next sign-in.
//
// A breached password does not refuse the sign-in. The sign-in completes
// (through the second factor, if the user has one), the session is marked
// (session.Manager.RequirePasswordChange, which only the user who signed
// in carries) and security.password_breached is recorded. Until the user
// chooses a new password, every route behind the guards (RequireUser,
// RequireSudo, RequireAAL2, RequireConfirmed) sends browsers to
// /password/renew with a return_to, and answers JSON with 403
// password_change_required. The page explains why and asks for a new
// password, which the policy checks again (a breached one is refused);
// past the sudo window it asks for the current password too. The change is
// the one made from settings: every other session is revoked, emailed
// reset and sign-in links are voided, the owner is emailed, and
// account.password_change is recorded with reason "breached". Signing out
// is always possible.
//
// A failed check (the service unreachable, too slow or answering badly)
// is fail-open by default: the sign-in goes on unchecked, a warning is
// logged and security.breach_check_failed is recorded with mode "open".
// BreachCheck.FailClosed refuses such sign-ins instead (503
// breach_check_unavailable with Retry-After; mode "closed"). BreachCheck.Disabled
// turns the check at sign-in off. The pack names the page password_renew.
package account
