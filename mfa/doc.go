// Package mfa adds a second factor to Sigra sign-in: TOTP authenticator
// apps with replay protection, recovery codes, trusted browsers and an MFA
// lockout.
//
// An [MFA] implements account.SecondFactor: pass it as the account
// Config's SecondFactor and a user who enrolled passes the first factor
// (password or magic link) into the pending session state, then this
// package's challenge completes the sign-in at AAL2. Mount it on the same
// mux and prefix as the account flows.
//
// # Routes
//
// Under the prefix ("/auth"):
//
//	GET  /mfa                            settings: status, recovery codes left, trusted browsers   (signed in)
//	GET  /mfa/setup                      a new secret as QR code and key; step-up for enrolled AAL1 users (sudo)
//	POST /mfa/setup                      code (+ enrollment) → on; shows 10 recovery codes once  (sudo)
//	GET  /mfa/challenge                  the second-factor form of a pending sign-in (or step-up)
//	POST /mfa/challenge                  code, trust → signed in at AAL2
//	GET  /mfa/recovery                   the same with a recovery code
//	POST /mfa/recovery                   recovery_code → signed in at AAL2
//	POST /mfa/recovery-codes/regenerate  code → a new set; the old set stops working          (sudo)
//	POST /mfa/disable                    code or recovery_code → off, trusted browsers revoked  (sudo)
//	POST /mfa/trusted/revoke             id → that browser asks again                         (signed in)
//	POST /mfa/trusted/revoke-all         every browser asks again                             (signed in)
//
// Every route answers JSON when the request sends or asks for it: GET
// /mfa/setup gives secret, uri, qr_png and enrollment (to post back with
// code); the challenge pages give allow_trust, trust_days and expires_at;
// a step-up answers {"mfa_required": true, "next": ...}. Error codes:
// invalid_code (401), mfa_locked (429), enrollment_expired (410),
// already_enabled and not_enabled (409), invalid_input (400 for a body
// that cannot be read, 422 for input that cannot be a code), not_found
// (404), rate_limited (429, with Retry-After), unauthenticated (401),
// sudo_required (403).
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
// secret: the set-up page carries the new secret sealed (AES-GCM, bound to
// the user, valid 30 minutes) in its form. Confirmed secrets are sealed at
// rest with the configured keyring and bound to their user.
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
// cookie holding a token whose digest is stored with the user. Grants are
// listed and revoked one by one or all at once from the settings page, and
// are all revoked when MFA is disabled or the password is reset.
//
// # Lockout
//
// Five wrong codes, TOTP and recovery codes together (at sign-in, step-up,
// sudo and in the settings), lock second factors for 15 minutes and email
// the owner. The lock is on the account, so signing in with the password
// again does not get round it. A replayed code counts as a wrong one;
// input that cannot be a code (not six digits, not a recovery code) is
// refused without counting, and so are codes of a user with nothing
// enrolled.
//
// The lock is read with the session at the start of a request, so
// requests sent at once would all pass it. Every code comparison therefore
// first takes one of MaxFailures places per LockoutDuration, counted
// atomically in the store (so across instances too), and a success frees
// them: a burst of concurrent guesses compares no more codes than a
// sequence of requests does before the lock. Code checks, right or wrong,
// are also limited to 20 per user per 15 minutes.
package mfa
