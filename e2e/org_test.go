package e2e

import (
	"net/http"
	"testing"
)

// TestOrganizations: the demo account creates an organization and
// invites a new address from the members page; the invitee opens the
// emailed link in another browser, creates an account, confirms it, signs
// in and joins; the owner switches organizations; the owner removes the
// member, whose next request no longer reaches the organization.
func TestOrganizations(t *testing.T) {
	d, b := start(t)
	owner := b.tab()
	const invitee = "invitee@example.com"
	const password = "plum-otter-lantern-42"

	// Create an organization: it becomes the active one.
	signIn(owner, d.Email, d.Password, http.StatusOK, "home-signed-in")
	owner.open("/auth/orgs", http.StatusOK, "orgs")
	owner.wantText("main", "Demo Team")
	owner.fill("#org-name", "Rocket Lab")
	owner.click(`form[action="/auth/orgs"] button[type=submit]`, http.StatusOK, "org-created")
	owner.wantPath("/auth/orgs/rocket-lab")
	owner.wantText(".notice-success", "The organization was created.")
	owner.open("/team", http.StatusOK, "team-rocket-lab")
	owner.wantText("h1", "Rocket Lab")

	// Invite a new address from the members page.
	owner.open("/auth/orgs/rocket-lab/members", http.StatusOK, "org-members")
	owner.fill("#invite-email", invitee)
	owner.click(`form[action="/auth/orgs/rocket-lab/invitations"] button[type=submit]`, http.StatusOK, "invitation-sent")
	owner.wantText(".notice-success", "The invitation was sent.")
	owner.wantText(`section[aria-labelledby="pending-heading"] ul`, invitee)
	link := d.link(d.mail(invitee, "invited to join Rocket Lab"), "/auth/invitations/accept")

	// The invitee, in another browser: the link shows the invitation;
	// they create an account, confirm it and sign in.
	guest := b.newDevice("invitee")
	guest.open(link, http.StatusOK, "invitation")
	guest.wantText("h1", "Join Rocket Lab")
	guest.click(`button[name=next][value=register]`, http.StatusOK, "register-to-join")
	guest.wantPath("/auth/register")
	guest.fill("#email", invitee)
	guest.fill("#password", password)
	guest.click(`form[action="/auth/register"] button[type=submit]`, http.StatusOK, "register-done")
	confirm := d.link(d.mail(invitee, "Confirm your email address"), "/auth/confirm")
	guest.open(confirm, http.StatusOK, "confirm")
	guest.click(`form[action="/auth/confirm"] button[type=submit]`, http.StatusOK, "confirmed")
	guest.fill("#email", invitee)
	guest.fill("#password", password)
	guest.click(loginButton, http.StatusOK, "home-invitee")

	// Back to the invitation, which the session carried through: join.
	guest.open("/auth/invitations/accept", http.StatusOK, "invitation-signed-in")
	guest.click(`form[action="/auth/invitations/accept"] button[type=submit]`, http.StatusOK, "joined")
	guest.wantPath("/auth/orgs/rocket-lab")
	guest.wantText(".notice-success", "You joined the organization.")
	guest.open("/team", http.StatusOK, "team-invitee")
	guest.wantText("h2", "Your role: member")

	// The owner switches to the seeded organization and back.
	owner.open("/auth/orgs", http.StatusOK, "orgs-two")
	owner.click(`form[action="/auth/orgs/switch"] button[type=submit]`, http.StatusOK, "switched")
	owner.wantText(".notice-success", "You switched organization.")
	owner.open("/team", http.StatusOK, "team-demo")
	owner.wantText("h1", "Demo Team")

	// The owner removes the member: their next request has no
	// organization (the switcher, where Rocket Lab is gone), and Rocket
	// Lab's pages are not found for them.
	owner.open("/auth/orgs/rocket-lab/members", http.StatusOK, "org-members-two")
	owner.wantText("main", invitee)
	owner.click(`form[action="/auth/orgs/rocket-lab/members/remove"] button[type=submit]`, http.StatusOK, "member-removed")
	owner.wantText(".notice-success", "The member was removed.")
	d.mail(invitee, "removed from Rocket Lab")
	guest.open("/team", http.StatusOK, "team-removed")
	guest.wantPath("/auth/orgs")
	guest.wantText("main", "don't belong to an organization")
	guest.open("/auth/orgs/rocket-lab", http.StatusNotFound, "org-not-found")
}
