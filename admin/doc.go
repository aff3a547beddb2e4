// Package admin is the admin console: the users list (search, filters,
// keyset pages that stay fast at a million users), one user's detail
// (profile, sessions, second factors, passkeys, OAuth identities,
// organizations, audit timeline) with the actions an administrator takes
// on an account, the org lens (an organization's owners and admins see
// their own members), and the audit explorer with its export.
//
// # Who is an administrator
//
// A role stored by Sigra ([store.Admins]): granted from the command line
// (sigra users create-admin, grant-admin, revoke-admin) or by another
// administrator from the console. [Console.Require] lets administrators
// through and answers everyone else, signed in or not, 404 (HTML or JSON
// {"error": {"code": "not_found"}}), so that the console's existence
// does not show. Every action, granting and revoking the role included,
// is behind sudo (middleware.Guard.RequireSudo) and audited with the
// administrator as actor and the user as subject.
//
// An administrator's account is protected: the console never locks,
// disables, deletes, resets the password or second factors of, removes
// passkeys or identities of, or signs out an administrator (another one
// or the one acting), and answers 403 "admin_protected". To act on such an
// account, first revoke its role, an audited action behind sudo: that is
// the path for an administrator account that was taken over. An
// administrator cannot revoke their own role, so the console always keeps
// the one acting, and the store refuses to revoke the last administrator's
// role (store.ErrLastAdmin, 409 "last_admin"), atomically: of two
// administrators revoking each other at once, one wins.
//
// # Actions
//
//	lock              locks password sign-in for Config.LockFor (24 hours); emailed links still sign in, as for any lockout
//	unlock            clears the password and second-factor locks
//	disable, enable   a disabled user cannot sign in; disabling signs out every session at once
//	revoke sessions   one (session_id) or all
//	password reset    signs out every session and emails a reset link to the account pack's reset page
//	confirmation      emails a new confirmation link (unconfirmed addresses only)
//	two-factor reset  removes the TOTP authenticator, recovery codes and trusted browsers
//	passkeys          removes one (passkey_id; Config.PasskeyRPID sets the relying party)
//	identities        unlinks one OAuth identity (identity_id)
//	deletion          cancels a scheduled deletion, or runs it now (confirm_email repeats the address)
//	grant, revoke     the administrator role
//
// The user is told by email, in the action's transaction, when the action
// affects them (lock, disable, password reset, confirmation, two-factor
// reset). Each action that does not apply to the account's state answers
// 409 with a code (already_disabled, already_confirmed, no_deletion, ...);
// a refused field 400 with the field's message; a user that does not
// exist 404; a store outage 503.
//
// # Impersonation
//
// An administrator sees the application as a user: POST
// /admin/users/{id}/impersonate, behind sudo, with a written reason
// (field reason, 10 to 500 characters: 400 "invalid_input" with the
// field's message otherwise). Another administrator, the acting one
// included, is refused 403 "admin_protected" (checked again in the
// start's transaction, as for the destructive actions), a disabled user
// 409 "disabled" and a user whose deletion is scheduled 409
// "deletion_pending" (the session layer would end such an
// impersonation on its next request). The audit row
// (ActionImpersonateStart: the administrator as actor and impersonator,
// the user as subject, the reason in its metadata) and the email to the
// user (admin_impersonated: who acts and when; not the reason, which may
// name what the administrator investigates) commit in one transaction
// before the session changes, so an impersonation never starts
// unrecorded; the browser then lands on the site's home as the user.
//
// From then on, session.Manager keeps the impersonation in its time box
// (15 minutes idle, 30 in all by default), every page shows the banner
// with the time left and a stop button, the actions an impersonator may
// never take answer 403 "impersonation_forbidden" (see
// middleware.Guard.RefuseImpersonation), the console itself answers 404
// (the user is not an administrator), and every audit row written by any
// feature carries the user as actor and the administrator as
// impersonator.
//
// The banner's button posts to POST /admin/impersonation/stop (the
// route ui.RouteStopImpersonation, declared by [Pages]): the browser
// returns to the administrator's own session, as it was (sudo time
// included), without a new sign-in, and lands on the user's page in the
// console; when the administrator's session is no longer live the
// browser is signed out and lands on the sign-in page. A session that is
// not an impersonation is answered 409 "not_impersonating". [New]
// registers with session.Manager.OnImpersonationEnd, so every end is
// audited, with the administrator as actor: ActionImpersonateStop for the
// button, ActionImpersonateEnd for the time box, a barred user, an
// administrator whose own session ended or who was disabled, and one
// whose role was revoked (New registers that check with
// session.Manager.RequireImpersonator: one read of the role on every
// request of an impersonation), with the cause ("reason": stopped, idle,
// expired, user_barred, admin_gone, admin_revoked) and whether
// the administrator's session came back ("restored"); the administrator
// is the impersonator of these rows as of the start's. The subject is the
// user, except when the impersonation's session was gone before the
// request that ended it (expired, or revoked, as disabling the user
// revokes every session): the cause is then "expired" and the end names
// the administrator only (the start's row names both).
//
// Two starts sent at once from one administrator's session (a
// double-click) each start an impersonation, each with its audit row and
// its email, and each answer carries a whole state: the user's session
// and the administrator's to come back to. Which answer the browser keeps
// cannot be known, so neither start is refused (refusing one could leave
// the browser with neither). The impersonation it did not keep is held by
// no browser, and can be used no longer than the kept one: the kept one's
// end renews the administrator's session, which the other needs. Its row
// ends idle.
//
// # The org lens
//
// The owners and admins of an organization (the members-management
// roles) see its members under /admin/orgs/{org}/users: the list and the
// detail are restricted to that organization's members (another user,
// and another organization, answer 404, as does the lens to a member
// without a managing role), its audit timeline to that organization's
// events, and the actions to the safe subset: sign out everywhere and
// resend the confirmation. An admin of the organization cannot act on
// its owners or admins (only an owner can), nor anyone on a platform
// administrator.
//
// # The audit explorer
//
// Filters by actor and subject (user ID or address), action, outcome,
// organization (URL name or ID), client address and time range, newest
// first in keyset pages; one event's page shows its seal (its place in
// the chain and its hash, see package audit). The export (CSV with the
// spreadsheet formula guard, or JSON Lines) streams the current filter a
// page at a time, never the whole result in memory, and is itself
// audited.
//
// # Webhooks
//
// With Config.Webhooks (a [WebhookStore]; the kit sets it when its
// webhooks are configured), the webhooks page lists the endpoints, their
// event types and state (never their secrets) and the dead letter: the
// newest deliveries given up after their last attempt, with their last
// status and error. Replay, behind sudo, queues one again with its
// webhook-id and records [ActionWebhookReplay] with the administrator as
// actor in the same transaction; a delivery still queued is refused with
// 409 "webhook_queued", an unknown one with 404. The console replays
// through the store (its ReplayWebhook), not package webhook's worker,
// which needs no keys; the application's worker sends the delivery at its
// next poll.
//
// # Routes
//
// Mounted under the site's prefix:
//
//	GET  /admin/users                                the users list (q, state, two_factor, passkeys, org, after)
//	GET  /admin/users/{id}                           one user
//	POST /admin/users/{id}/lock                      (and unlock, disable, enable)
//	POST /admin/users/{id}/sessions/revoke           session_id
//	POST /admin/users/{id}/sessions/revoke-all
//	POST /admin/users/{id}/password-reset
//	POST /admin/users/{id}/confirmation
//	POST /admin/users/{id}/two-factor/reset
//	POST /admin/users/{id}/passkeys/remove           passkey_id
//	POST /admin/users/{id}/identities/unlink         identity_id
//	POST /admin/users/{id}/deletion/cancel
//	POST /admin/users/{id}/deletion/run              confirm_email
//	POST /admin/users/{id}/admin/grant               (and admin/revoke)
//	POST /admin/users/{id}/impersonate               reason (sudo): to the site's home as the user; JSON {"impersonating": {"user_id", "ends_at"}}
//	POST /admin/impersonation/stop                   the banner's button (signed in): to the user's page; JSON {"restored"}
//	GET  /admin/audit                                the explorer (actor, subject, action, outcome, org, ip, since, until, after)
//	GET  /admin/audit/export?format=csv|jsonl        the export (sudo)
//	GET  /admin/audit/{event}                        one event with its seal
//	GET  /admin/webhooks                             endpoints and the dead letter (with Config.Webhooks)
//	POST /admin/webhooks/replay                      delivery_id (sudo)
//	GET  /admin/orgs/{org}/users                     the org lens's list
//	GET  /admin/orgs/{org}/users/{id}                the org lens's detail
//	POST /admin/orgs/{org}/users/{id}/sessions/revoke-all
//	POST /admin/orgs/{org}/users/{id}/confirmation
//
// Every page answers JSON to clients that ask for it (Accept:
// application/json), and every form takes a JSON body with the same
// fields; unknown JSON fields are refused with 400.
package admin
