package org

import (
	"embed"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/sigra-go/sigra/ui"
)

//go:embed templates
var templates embed.FS

// Route paths, under the site's prefix. The pack declares them and Mount
// serves them. {org} is the organization's slug.
const (
	pathOrgs             = "/orgs"
	pathSwitch           = "/orgs/switch"
	pathOrg              = "/orgs/{org}"
	pathOrgSettings      = "/orgs/{org}/settings"
	pathOrgPolicy        = "/orgs/{org}/policy"
	pathMembers          = "/orgs/{org}/members"
	pathMemberRole       = "/orgs/{org}/members/role"
	pathMemberRemove     = "/orgs/{org}/members/remove"
	pathInvitations      = "/orgs/{org}/invitations"
	pathInvitationRevoke = "/orgs/{org}/invitations/revoke"
	pathInvitationResend = "/orgs/{org}/invitations/resend"
	pathLeave            = "/orgs/{org}/leave"
	pathDelete           = "/orgs/{org}/delete"
	pathDeleteCancel     = "/orgs/{org}/delete/cancel"
	pathAccept           = "/invitations/accept"
)

// PackName is the name of the organizations pack in a [ui.UI].
const PackName = "org"

// Pages returns the organizations' share of the UI: their pages, settings
// section and emails, routes, notices and settings-navigation entry. Give
// it to ui.New in Config.Packs; [New] refuses a UI without it.
//
// Pages (name, Data type):
//
//	orgs               *ListData     the user's organizations, the switcher, create
//	org                *OrgData      one organization: settings, policy, leave, delete
//	org_members        *MembersData  members and invitations
//	org_invitation     *InvitationData  an emailed invitation's landing page
//
// Settings section: organizations (*OrgsSection).
//
// Emails (name, Email.Data type): org_invitation (*InvitationMail),
// org_deletion_scheduled (*OrgMail), org_removed (*OrgMail).
//
// The routes' names are those of the pages, plus org_create (POST),
// org_switch, org_settings, org_policy, org_member_role,
// org_member_remove, org_invite, org_invitation_revoke,
// org_invitation_resend, org_leave, org_delete, org_delete_cancel and
// org_accept. Routes under an organization hold {org} in place of its
// slug: link them with {{orgPath (route "org_members") .Data.Org.Slug}}.
func Pages() ui.Pack {
	files, _ := fs.Sub(templates, "templates")
	return ui.Pack{
		Name:  PackName,
		Files: files,
		Pages: map[string]any{
			"orgs": &ListData{}, "org": &OrgData{}, "org_members": &MembersData{}, "org_invitation": &InvitationData{},
		},
		Sections: map[string]any{"organizations": &OrgsSection{}},
		Emails: map[string]any{
			"org_invitation": &InvitationMail{}, "org_deletion_scheduled": &OrgMail{}, "org_removed": &OrgMail{},
		},
		Routes: map[string]string{
			"orgs": pathOrgs, "org_create": pathOrgs, "org_switch": pathSwitch, "org": pathOrg,
			"org_settings": pathOrgSettings, "org_policy": pathOrgPolicy, "org_members": pathMembers,
			"org_member_role": pathMemberRole, "org_member_remove": pathMemberRemove, "org_invite": pathInvitations,
			"org_invitation_revoke": pathInvitationRevoke, "org_invitation_resend": pathInvitationResend,
			"org_leave": pathLeave, "org_delete": pathDelete, "org_delete_cancel": pathDeleteCancel,
			"org_accept": pathAccept,
		},
		Notices: map[string]string{
			"org_created":            "The organization was created.",
			"org_updated":            "The organization was saved.",
			"org_policy":             "The organization's policy was saved.",
			"org_switched":           "You switched organization.",
			"org_left":               "You left the organization.",
			"org_deletion_scheduled": "The organization is scheduled for deletion.",
			"org_deletion_cancelled": "The organization will not be deleted.",
			"org_deleted":            "The organization was deleted.",
			"member_role":            "The member's role was changed.",
			"member_removed":         "The member was removed.",
			"invitation_sent":        "The invitation was sent.",
			"invitation_resent":      "The invitation was sent again. The earlier link no longer works.",
			"invitation_revoked":     "The invitation was revoked.",
			"invitation_accepted":    "You joined the organization.",
		},
		Nav: []ui.NavItem{{Route: "orgs", Label: "Organizations", Icon: "user", Order: 40}},
		Funcs: map[string]any{
			"orgPath":    orgPathFunc,
			"orgChecked": orgChecked,
		},
	}
}

// OrgSummary is one organization of the user, in lists.
type OrgSummary struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
	// Role is the user's role in it.
	Role string `json:"role"`
	// Active is whether it is the session's active organization.
	Active bool `json:"active"`
	// DeletionDueAt is when a scheduled deletion takes effect; zero if
	// none.
	DeletionDueAt time.Time `json:"deletion_due_at,omitzero"`
}

// ListData is the Data of the "orgs" page: the user's organizations, the
// switcher and the form that creates one.
type ListData struct {
	Orgs []OrgSummary
	// CanCreate shows the create form.
	CanCreate bool
}

// OrgsSection is the Data of the settings section "organizations".
type OrgsSection struct {
	Orgs []OrgSummary `json:"orgs"`
}

// OrgData is the Data of the "org" page.
type OrgData struct {
	Org OrgSummary
	// RequireTwoFactor is the organization's policy.
	RequireTwoFactor bool
	// CanManage shows the settings and policy forms; CanDelete the
	// deletion form (and its cancellation).
	CanManage, CanDelete bool
	// PolicyAvailable is whether the application has a second factor to
	// require (the route step_up).
	PolicyAvailable bool
	// DeletionGrace is how long a scheduled deletion waits.
	DeletionGrace time.Duration
}

// Member is one row of the "org_members" page.
type Member struct {
	UserID   string    `json:"user_id"`
	Email    string    `json:"email"`
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
	// You marks the signed-in user.
	You bool `json:"you"`
}

// PendingInvitation is one pending invitation on the "org_members" page.
type PendingInvitation struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// MembersData is the Data of the "org_members" page.
type MembersData struct {
	Org     OrgSummary
	Members []Member
	// Next is the cursor of the next page of members ("" on the last),
	// passed back as the query parameter after.
	Next        string
	Invitations []PendingInvitation
	// Roles are the roles the signed-in user may give.
	Roles []string
	// CanManage shows role changes and removal; CanInvite the
	// invitations.
	CanManage, CanInvite bool
}

// InvitationData is the Data of the "org_invitation" page, where an
// emailed invitation lands.
type InvitationData struct {
	// Token is posted back as the hidden field token; empty when the
	// invitation was carried through a sign-in in the session.
	Token string
	// OrgName and Email are the organization and the invited address;
	// Role the role it gives.
	OrgName, Email, Role string
	// SignedInAs is the signed-in user's address; empty when anonymous.
	SignedInAs string
	// Mismatch: the signed-in user's address is not the invited one.
	Mismatch bool
	// Dead: the invitation expired, was used or revoked.
	Dead bool
	// CanRegister shows the "create an account" choice.
	CanRegister bool
}

// InvitationMail is the Email.Data of the email "org_invitation".
type InvitationMail struct {
	OrgName string
	// InvitedBy is the address of the member who sent it.
	InvitedBy string
	Role      string
}

// OrgMail is the Email.Data of the emails about an organization.
type OrgMail struct {
	OrgName string
	// DueAt is when a scheduled deletion takes effect.
	DueAt time.Time
}

// orgPathFunc is the template function orgPath: a route's path (with
// {org}) for the organization's slug.
var orgPathFunc = func(path, slug string) string { return orgPath(path, slug) }

// orgPath puts slug, escaped, in place of {org} in path.
func orgPath(path, slug string) string {
	return strings.Replace(path, "{org}", url.PathEscape(slug), 1)
}

// orgChecked is the template function orgChecked: the value of a
// checkbox field that is ticked when b is true.
func orgChecked(b bool) string {
	if b {
		return "1"
	}
	return ""
}
