// Package mfa adds a second factor to Sigra sign-in: TOTP authenticator
// apps with replay protection, recovery codes, trusted browsers and an MFA
// lockout.
//
// An [MFA] implements account.SecondFactor: a user who enrolled passes the
// first factor (password or magic link) into the pending session state,
// and this package's challenge completes the sign-in at AAL2. It also
// provides the step-up page that middleware's RequireAAL2 sends one-factor
// users to, and accepts TOTP codes for account's re-authentication (sudo).
// A user without TOTP who holds a passkey is offered it there, beside
// setting up an app, when Config.Passkeys is given (the slot
// ui.SlotStepUp, which the passkey pack fills).
//
// # Wiring
//
// The package plugs into the same pieces as the account flows: one
// [site.Site], the session manager and guard built from it, and a UI built
// with this package's [Pages] beside account.Pages():
//
//	views, err := ui.New(s, ui.Config{Packs: []ui.Pack{account.Pages(), mfa.Pages()}})
//	...
//	second, err := mfa.New(mfa.Config{
//		Store: db, Sessions: sessions, Guard: guard, UI: views, Mail: outbox,
//		Keys: os.Getenv("SIGRA_TOTP_KEYS"),
//	})
//	...
//	accounts, err := account.New(account.Config{
//		Store: db, Sessions: sessions, Guard: guard, UI: views, Passwords: hasher, Mail: outbox,
//		SecondFactor: second,                          // the second step of a sign-in
//		Sections:     []ui.Section{second.Section()}, // two-factor status on the settings page
//	})
//	...
//	accounts.Mount(mux)
//	second.Mount(mux)
//	mux.Handle("GET /admin", guard.RequireAAL2(admin))
//
// [New] refuses, with an error wrapping sigra.ErrConfig that names the
// field, a configuration without Store, Sessions, Guard, UI, Mail or Keys,
// a UI built without [Pages] or for another site, a UI in which no pack
// declares the routes this package sends users to (ui.RouteSignIn and
// ui.RouteSudo, which account.Pages() declares), and keys it cannot
// parse. [MFA.Mount] serves the routes below under the site's prefix, so
// they move with it. Giving the MFA to account as its second factor also
// makes a password reset forget the user's trusted browsers, in the
// reset's own transaction ([MFA.ForgetTrust]). Without this package's
// pack in the UI, RequireAAL2 panics when it wraps a handler, naming the
// missing "step_up" route.
//
// # Store
//
// [Store] is what the flows need of storage: users (for the lockout
// counters), TOTP secrets, recovery codes, trusted browsers, the rate
// limiter, the audit log and transactions. Both adapters (store/sqlite and
// store/postgres) implement it. A host that keeps Sigra's data in its own
// database implements those interfaces and runs the matching parts of the
// conformance suite, which store/storetest picks from the type:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) mfa.Store { return openTestStore(t) })
//	}
//
// runs the Users, Limiter, AuditLog, TOTP, RecoveryCodes, TrustedBrowsers,
// Transactions and Times parts. Mail is usually an *mail.Outbox over the
// same database: the notices then commit with the change they report.
//
// # Keys
//
// Config.Keys seal TOTP secrets at rest (AES-256-GCM, bound to their
// user): "id:base64key[,id:base64key...]", 32-byte keys, made with
// token.NewSealKey. Keep them apart from the database (an environment
// variable, a secret manager) and keep them: every instance and every
// restart needs the same keys, and a secret sealed with a lost key cannot
// be opened (its user is left with recovery codes, which are stored as
// digests, not sealed). To rotate, put a new key first and keep the old ones
// after it: new secrets are sealed with the first key, older ones still
// open with theirs.
//
// # Routes
//
// Under the prefix ("/auth"), with the route names the pack declares for
// templates and guards:
//
//	GET  /mfa                            mfa                     settings: status, recovery codes left, trusted browsers   (signed in)
//	GET  /mfa/setup                      step_up                 a new secret as QR code and key; step-up for enrolled AAL1 users (sudo)
//	POST /mfa/setup                                              code (+ enrollment) → on; shows 10 recovery codes once  (sudo)
//	GET  /mfa/challenge                  second_factor           the second-factor form of a pending sign-in (or step-up)
//	POST /mfa/challenge                                          code, trust → signed in at AAL2
//	GET  /mfa/recovery                   mfa_recovery            the same with a recovery code
//	POST /mfa/recovery                                           recovery_code → signed in at AAL2
//	POST /mfa/recovery-codes/regenerate  mfa_regenerate          code → a new set; the old set stops working          (sudo)
//	POST /mfa/disable                    mfa_disable             code or recovery_code → off, trusted browsers revoked  (sudo)
//	POST /mfa/trusted/revoke             mfa_trusted_revoke      id → that browser asks again                         (signed in)
//	POST /mfa/trusted/revoke-all         mfa_trusted_revoke_all  every browser asks again                             (signed in)
//
// A completed challenge lands on the form's or the query's local
// return_to, else the site's home page. Every route answers JSON when the
// request sends or asks for it: GET /mfa gives enabled,
// recovery_codes_left and trusted_browsers; GET /mfa/setup gives secret,
// uri, qr_png, digits, period and enrollment (to post back with code), and
// passkey (true when a passkey the user holds may serve instead); the
// challenge pages give allow_trust, trust_days and expires_at; a step-up
// answers {"mfa_required": true, "next": ...}; a redirect answers
// {"ok": true, "next": ...}. Error codes: invalid_code (401), mfa_locked
// (429), enrollment_expired (410), already_enabled and not_enabled (409),
// invalid_input (400 for a body that cannot be read or, on
// POST /mfa/trusted/revoke, a body without an id; 422 for input that
// cannot be a code), unknown_field, invalid_type, invalid_text, too_long
// and duplicate_field (400 on every POST, see below), not_found (404),
// rate_limited (429, with Retry-After), unauthenticated (401),
// sudo_required (403).
//
// Each POST reads the fields listed above (return_to too on the
// challenge routes, and the CSRF token's, csrf_token) and refuses a body
// that does not fit them with 400 before a code is compared or anything
// is counted or stored: a JSON field the route does not read
// (unknown_field), a JSON value that is not a string, or for trust not a
// boolean (invalid_type), a field holding invalid UTF-8, a lone surrogate
// escape or control characters (invalid_text), over 1024 bytes
// (too_long) or sent twice (duplicate_field); the answer's "fields" names
// each. A form's other fields are not read (a browser sends whatever the
// page holds), but must be valid text too. trust in a form is a checkbox
// ("1", "true", "on" or "yes"; empty, "0", "false", "off" or "no").
// Codes are trimmed of white space.
//
// Disabling takes a current TOTP code or a recovery code, in the field
// code (six digits are read as a TOTP code, anything else as a recovery
// code) or recovery_code. Regenerating recovery codes takes a TOTP code.
//
// # TOTP
//
// Codes are 6 digits over 30-second steps (RFC 6238, SHA-1: what every
// authenticator app supports), accepted one step either side of now. Each
// step is accepted at most once per user (RFC 6238 §5.2): the matching
// step is written with an atomic "advance if greater" in the store, so of
// two concurrent submissions of one code exactly one succeeds and a
// replay inside the window fails. pquerna/otp's totp.Validate cannot do
// this (it never says which step matched), so steps are generated with
// hotp and compared in constant time here. The step of the code that
// confirms enrollment counts as used.
//
// Enrollment stores nothing until the user proves the app holds the
// secret: the set-up page carries the new secret sealed (bound to the
// user, valid 30 minutes) in its form.
//
// # Recovery codes
//
// Ten codes like "7KQM-3XWP", shown once (with a download) after
// enrollment and after regeneration, stored as digests bound to the user,
// single use (atomically), typed in any case with or without spaces and
// dashes. Using one emails the owner with the count left.
//
// # Trusted browsers
//
// "Don't ask again on this browser" (30 days by default) sets an HttpOnly
// cookie holding a token whose digest is stored with the user. The cookie
// has the site's name and attributes (the __Host- prefix over HTTPS, or
// the site's cookie domain when one is configured). Grants are listed and
// revoked one by one or all at once from the settings page, and are all
// revoked when MFA is disabled or the password is reset.
//
// # Lockout
//
// Five wrong codes, TOTP and recovery codes together (at sign-in, step-up,
// sudo and in the settings), lock second factors for 15 minutes and email
// the owner; the lock holds even when the email cannot be queued. The lock
// is on the account, so signing in with the password again does not get
// round it. A replayed code counts as a wrong one; input that cannot be a
// code (not six digits, not a recovery code) is refused without counting,
// and so are codes of a user with nothing enrolled.
//
// The lock is read before a code is compared, so requests sent at once
// would all pass it. Every code comparison therefore first takes one of
// MaxFailures places per LockoutDuration, counted atomically in the store
// (so across instances too), and a success frees them: a burst of
// concurrent guesses compares no more codes than a sequence of requests
// does before the lock. Code checks, right or wrong, are also limited to
// 20 per user per 15 minutes.
package mfa
