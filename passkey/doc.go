// Package passkey adds WebAuthn passkeys to Sigra: registration and
// management from the settings, passwordless sign-in (discoverable
// credentials, the browser's autofill, and an email-first variant for
// security keys that are not discoverable), a passkey as the second factor
// of a sign-in or a step-up, and re-authentication (sudo) by passkey. It
// is built on github.com/go-webauthn/webauthn.
//
// A host builds it beside the account flows (and, usually, the two-factor
// flows) and mounts it:
//
//	p, err := passkey.New(passkey.Config{
//		Store: db, Sessions: sessions, Guard: guard, UI: pages, Mail: outbox,
//		Keys: keys, SecondFactor: twoFactor, // *mfa.MFA, optional
//	})
//	p.Mount(mux)
//	// and p.Section() among account.Config.Sections
//
// The UI must be built with [Pages] among its packs. The kit package does
// all of this when its Passkeys option is set.
//
// # Relying party
//
// Config.RPID defaults to the host of the site's base URL and
// Config.Origins to the site's origin. New refuses, with errors wrapping
// sigra.ErrConfig: an RP ID that is an IP address or a public suffix, an
// origin that is not exact (scheme://host[:port], nothing after it), that
// is not on the RP ID or a subdomain of it, or that is plain http away
// from localhost. Config.RelatedOrigins lets origins on other domains use
// the RP ID; the document that lists them is served at
// /.well-known/webauthn.
//
// # Ceremonies
//
// Every ceremony is two requests: its options (POST .../options, answered
// with go-webauthn's JSON: {"publicKey": {...}}) and its finish (POST with
// {"credential": <the PublicKeyCredential's toJSON form>, ...}). The
// server side of a ceremony (go-webauthn's whole SessionData, what it is
// for and for whom) is kept in the browser's session, one at a time: a
// finish takes it out before checking anything, so it is used once, and
// it expires after Config.Timeout (five minutes) by the site's clock as
// well as go-webauthn's. The routes, under the site's prefix:
//
//	GET  /passkeys                    the passkeys page (signed in); JSON: {"passkeys": [...], "max": 10}
//	POST /passkeys/register/options   sudo; {"name": optional}
//	POST /passkeys/register           sudo; {"credential"} → {"ok", "next", "passkey": {...}}
//	POST /passkeys/rename             {"id", "name"}
//	POST /passkeys/delete             sudo; {"id"}
//	GET  /passkeys/signin             the email-first sign-in page
//	POST /passkeys/signin/options     {"email": optional}
//	POST /passkeys/signin             {"credential", "remember", "return_to"} → {"ok", "next", "aal"} or {"mfa_required": true}
//	POST /passkeys/challenge/options  a pending sign-in, or a step-up at AAL1
//	POST /passkeys/challenge          {"credential", "return_to"} → {"ok", "next", "aal": 2}
//	POST /passkeys/sudo/options       signed in
//	POST /passkeys/sudo               {"credential", "return_to"} → {"ok", "next"}
//
// Refusals are JSON {"error": {"code", "message", "fields"}}: 400 for a
// body that does not fit its route (unknown_field, invalid_type, ...) or
// a ceremony that is not under way (ceremony_expired), 401 for a passkey
// that did not verify (invalid_credentials) or looked cloned
// (passkey_cloned), 409 for a passkey registered before (passkey_exists),
// the limit (passkey_limit), the last way to sign in
// (last_sign_in_method), a user without passkeys (no_passkeys) and a
// second factor of the same kind as the first (same_factor), 429 past a
// rate limit and 503 when the store cannot answer.
//
// # Sign-in and assurance
//
// A passkey that verified its user (the UV flag: a PIN, a fingerprint)
// signs in at AAL2 with the method "passkey". One that did not is one
// factor: when Config.SecondFactor (the two-factor flows) requires a
// second factor for the user, the sign-in goes on to that step, unless
// the browser is trusted; otherwise it completes at AAL1.
//
// The email-first variant answers alike for any address: an account's
// passkeys, or, for an address without any (unknown, or an account
// without passkeys), one or two stand-in credentials derived from the
// address with a key derived from Config.Keys, the same on every
// instance and at every request, which no authenticator holds.
//
// # Second factor and sudo
//
// Features never import each other, so the passkey meets the other flows
// through the UI and the session: the pack fills the slots that the
// sign-in page, the sudo page and the second-factor page show (see
// ui.SlotSignIn) with a button and the script of its ceremony, and the
// ceremonies complete the session's pending sign-in
// (session.Manager.CompleteSecondFactor, method "passkey"), raise a
// session to AAL2 (a step-up, which middleware.Guard.RequireAAL2 then
// accepts) or set its sudo time. A session that a passkey began cannot
// use a passkey as its second factor (same_factor). Whether a user must
// present a second factor at all stays with the two-factor flows: holding
// a passkey does not make the second step required by itself, so a user
// who signs in with a password and has no authenticator app is never
// stopped by a passkey they cannot reach. Such a user, sent by
// RequireAAL2 to the step-up page (the two-factor flows' set-up page),
// is offered the passkey there (ui.SlotStepUp) when the two-factor flows
// know of the passkeys (mfa.Config.Passkeys, which the kit sets); the
// ceremony raises the session to AAL2 and returns to return_to. The sudo
// page offers "sign out and sign in again" to a user whose only way in is
// a passkey only where the browser cannot use it (when the account flows
// know of the passkeys: account.Config.Passkeys).
//
// # Management and policy
//
// A user holds at most Config.MaxPasskeys (ten) passkeys; a credential ID
// belongs to one user per relying party (the store's unique index). A
// passkey is named by the user, or after its authenticator (a known
// AAGUID) or the browser and system that added it. Removing a passkey
// never removes the user's last way to sign in: the store decides it in
// the removal's transaction (store.ErrLastSignInMethod). Adding and
// removing email the user.
//
// After every sign-in the counter, the backup state and the time are
// written back; a change of backup state is recorded. A counter that did
// not move past the stored one (a cloned authenticator; passkeys that
// keep 0, as synced ones do, never count) is handled by
// Config.ClonePolicy: warn and audit, refuse the sign-in, or revoke the
// passkey (and email the user).
//
// Every ceremony is audited, success and failure: the package's own
// actions ([Actions]), with the user as subject,
//
//	action                  when                               actor   metadata
//	passkey.add             a passkey was registered           user    authenticator_id
//	passkey.add.failure     a registration was refused         user    reason
//	passkey.rename          a passkey was renamed              user    authenticator_id
//	passkey.remove          a passkey was removed              user/-  authenticator_id, reason
//	security.passkey_clone  a cloned authenticator was seen    -       authenticator_id, policy
//	passkey.backup_state    a passkey's backup state changed   -       authenticator_id, backed_up
//
// where authenticator_id is the ID of a passkey's record (never its
// credential ID), policy is "warn", "reauthenticate" or "revoke" and
// backed_up is "true" or "false"; and the audit catalogue's
// auth.login.success, auth.login.failure, mfa.challenge.success,
// mfa.challenge.failure and auth.sudo with the method "passkey".
//
// # A lost passkey
//
// Recovery is the account flows' emailed sign-in link (the magic link) to
// the account's address: it signs in through the second factor when the
// user has one left (TOTP, recovery codes), and the user then adds a new
// passkey and removes the lost one. An account whose only credential was
// the lost passkey recovers by email alone: whoever controls the mailbox
// controls the account, the usual risk of emailed sign-in links. A host
// that will not take it turns the links off (account.Config.DisableMagicLink)
// and gives its users another way back (a password, a second passkey).
//
// # Script
//
// assets/passkey.js (served with the UI's assets; no inline script, so
// the Content-Security-Policy stays script-src 'self') drives the
// ceremonies. The elements it drives stay hidden until it finds a browser
// with passkeys, so every page works without it.
package passkey
