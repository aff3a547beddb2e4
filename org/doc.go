// Package org adds organizations to an application: logical multi-tenancy
// in one database, where every tenant's rows carry its organization and
// no request sees another tenant's data.
//
// # What it serves
//
// Organizations have a name and a slug (URL name: 2 to 40 lower-case
// letters, digits and single hyphens, not a reserved word; after a rename
// the old slug redirects for 90 days and no other organization can take
// it). Any user with a confirmed address creates one (Config.CanCreate
// changes that) and becomes its owner.
//
// Members have a role: owner, admin and member are built in, and an
// application adds its own (Config.Roles). Roles carry permissions and
// handlers check permissions, never role names: [PermOrgManage],
// [PermOrgDelete], [PermMembersRead], [PermMembersManage],
// [PermMembersInvite] and any the application declares ("billing:manage").
// An owner holds every permission. Only an owner makes, unmakes or
// removes owners, and the store refuses, atomically, to remove or demote
// an organization's last owner (store.ErrLastOwner).
//
// Invitations are emailed links bound to the invited address: the
// invitee signs in, or registers, with that address and accepts; the
// link's token is stored as a digest, expires (Config.InvitationTTL, 7
// days), is single use, revocable and resendable (a resend voids the
// earlier link), and sending is rate limited per organization. Inviting
// an address that already has an account, or is already a member,
// answers exactly as any invitation. The emailed GET only shows a page;
// accepting is its POST. Anonymous invitees are sent to sign in or
// register and come back, the invitation's digest (never its token)
// carried in the session; accepting confirms the invitee's address, which
// the invitation reached. A user signed in as another address is refused
// with a page that says so. (When the application requires confirmation
// before sign-in, a new invitee confirms by the confirmation email first.)
//
// # Routes
//
// Mounted under the site's prefix ({org} is a slug):
//
//	GET  /orgs                              the user's organizations, the switcher, create
//	POST /orgs                              create (name, slug)
//	POST /orgs/switch                       set the session's active organization (org: slug or ID)
//	GET  /orgs/{org}                        the organization: settings, policy, leave, delete
//	POST /orgs/{org}/settings               rename (name, slug)                 org:manage
//	POST /orgs/{org}/policy                 require two-factor (sudo)           org:manage
//	GET  /orgs/{org}/members                members and pending invitations     members:read
//	POST /orgs/{org}/members/role           change a member's role              members:manage
//	POST /orgs/{org}/members/remove         remove a member                     members:manage
//	POST /orgs/{org}/invitations            invite (email, role)                members:invite
//	POST /orgs/{org}/invitations/revoke     revoke (id)                         members:invite
//	POST /orgs/{org}/invitations/resend     resend (id)                         members:invite
//	POST /orgs/{org}/leave                  leave (not the last owner)
//	POST /orgs/{org}/delete                 schedule deletion (sudo, confirm_slug)  org:delete
//	POST /orgs/{org}/delete/cancel          cancel it                           org:delete
//	GET  /invitations/accept?token=...      an invitation's landing page
//	POST /invitations/accept                accept it (token, or the one carried in the session)
//
// Every page answers JSON to clients that ask for it (Accept:
// application/json), and every form takes a JSON body with the same
// fields.
//
// # Tenant-scoped routes
//
// [Orgs.RequireMember] guards an application's own organization routes:
// the organization is the one the route's {org} path value names, or the
// session's active organization (set by the switcher, by creating one and
// by accepting an invitation). A request for an organization that does
// not exist and one for an organization the user does not belong to get
// the same 404, never 403: no existence leak. Handlers read the tenant
// with [From] and scope every query by its Org.ID.
// [Orgs.RequirePermission] and [Orgs.RequireRole] include it.
//
// Removing a member ends their access at once: every request checks the
// membership in the store, and the store clears the organization from the
// removed member's sessions (and never writes a stale active organization
// back).
//
// An organization whose policy requires two-factor authentication sends
// members signed in with one factor to the step-up page (the route
// step_up, which the mfa package provides) and back.
//
// # Deletion
//
// An owner schedules the deletion behind a recent re-authentication
// (sudo), typing the slug; it takes effect after Config.DeletionGrace (7
// days; negative deletes at once), during which members keep access and
// an owner can cancel. [Orgs.PurgeDeleted] (run by [Orgs.RunPurge], or
// kit.Kit.Run) deletes due organizations with their memberships and
// invitations; [Orgs.PurgeExpired] (run by RunPurge too) deletes old
// slugs whose redirect ended, and invitations accepted, revoked or expired
// more than 30 days ago. When a user's account is deleted, their memberships go;
// an organization left without an owner passes to its longest-standing
// admin, else member, and one left with no member is scheduled for
// deletion at once.
//
// # Audit
//
// Every change is audited with the organization in the row's OrgID
// (actions org.*: see the Action constants), so the log can be read per
// tenant (store.AuditQuery.OrgID).
package org
