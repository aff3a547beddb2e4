package org_test

import (
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/htmlcheck"
	"github.com/sigra-go/sigra/org"
	"github.com/sigra-go/sigra/ui"
)

// The page checks: every page, settings section and email of the
// organizations pack, rendered through a ui.UI with realistic data
// (beside the account pack), passes the checks of apptest.PageCheck and
// shows what it is for.

var pcT0 = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

func pcCheck(t testing.TB) *apptest.PageCheck {
	t.Helper()
	return apptest.NewPageCheck(t, org.Pages(), account.Pages())
}

func pcOrg(role string) org.OrgSummary {
	return org.OrgSummary{ID: "01900000-0000-7000-8000-0000000000a1", Name: "Acme Corp", Slug: "acme", Role: role, Active: true}
}

func pcCases() []apptest.PageCase {
	type want = htmlcheck.Want
	type list = []string
	type fields = map[string]string
	scheduled := pcOrg(org.RoleOwner)
	scheduled.DeletionDueAt = pcT0.Add(7 * 24 * time.Hour)
	return []apptest.PageCase{
		{Page: "orgs", User: true, Data: &org.ListData{CanCreate: true, Orgs: []org.OrgSummary{
			pcOrg(org.RoleOwner), {ID: "01900000-0000-7000-8000-0000000000b2", Name: "Beta", Slug: "beta", Role: "member"},
		}}, Fields: fields{"name": "org-name", "slug": "org-slug"},
			Want: want{Text: list{"Acme Corp", "Beta", "Active", "Create an organization"}, Links: list{"/auth/orgs/acme", "/auth/orgs/beta"},
				Forms: list{"/auth/orgs", "/auth/orgs/switch"}}},
		{Page: "orgs", Label: "none", User: true, Data: &org.ListData{},
			Want: want{Text: list{"don't belong to an organization"}, NoForms: list{"/auth/orgs"}}},
		{Page: "org", Label: "owner", User: true, Data: &org.OrgData{Org: pcOrg(org.RoleOwner), CanManage: true, CanDelete: true, PolicyAvailable: true, DeletionGrace: 7 * 24 * time.Hour},
			Fields: fields{"name": "org-name", "slug": "org-slug", "confirm_slug": "org-confirm-slug"},
			Want: want{Text: list{"Acme Corp", "Security policy", "7 days"}, Links: list{"/auth/orgs/acme/members"},
				Forms: list{"/auth/orgs/acme/settings", "/auth/orgs/acme/policy", "/auth/orgs/acme/leave", "/auth/orgs/acme/delete"}}},
		{Page: "org", Label: "member", User: true, Data: &org.OrgData{Org: pcOrg(org.RoleMember)},
			Want: want{Text: list{"Your role: member"}, Forms: list{"/auth/orgs/acme/leave"},
				NoForms: list{"/auth/orgs/acme/settings", "/auth/orgs/acme/policy", "/auth/orgs/acme/delete"}}},
		{Page: "org", Label: "scheduled", User: true, Data: &org.OrgData{Org: scheduled, CanManage: true, CanDelete: true},
			Want: want{Text: list{"will be deleted"}, Times: true, Forms: list{"/auth/orgs/acme/delete/cancel"}, NoForms: list{"/auth/orgs/acme/delete"}}},
		{Page: "org_members", User: true, Data: &org.MembersData{
			Org: pcOrg(org.RoleOwner), CanManage: true, CanInvite: true, Roles: []string{"owner", "admin", "member"}, Next: "cursor1",
			Members: []org.Member{
				{UserID: "u1", Email: "user@example.com", Role: "owner", JoinedAt: pcT0, You: true},
				{UserID: "u2", Email: "mate@example.com", Role: "member", JoinedAt: pcT0},
			},
			Invitations: []org.PendingInvitation{{ID: "i1", Email: "guest@example.com", Role: "admin", CreatedAt: pcT0, ExpiresAt: pcT0.Add(7 * 24 * time.Hour)}},
		}, Fields: fields{"email": "invite-email"},
			Want: want{Text: list{"mate@example.com", "guest@example.com", "Pending invitations"}, Times: true,
				Links: list{"/auth/orgs/acme/members?after=cursor1"},
				Forms: list{"/auth/orgs/acme/members/role", "/auth/orgs/acme/members/remove", "/auth/orgs/acme/invitations",
					"/auth/orgs/acme/invitations/resend", "/auth/orgs/acme/invitations/revoke"}}},
		{Page: "org_members", Label: "member", User: true, Data: &org.MembersData{
			Org: pcOrg(org.RoleMember), Members: []org.Member{{UserID: "u1", Email: "user@example.com", Role: "member", JoinedAt: pcT0, You: true}},
		}, Want: want{Text: list{"user@example.com"}, NoForms: list{"/auth/orgs/acme/members/remove", "/auth/orgs/acme/invitations"}}},
		{Page: "org_invitation", Label: "anonymous", Data: &org.InvitationData{Token: "tok123", OrgName: "Acme Corp", Email: "guest@example.com", Role: "member", CanRegister: true},
			Want: want{Text: list{"Join Acme Corp", "Create an account to join"}, Token: "tok123", Forms: list{"/auth/invitations/accept"}}},
		{Page: "org_invitation", Label: "signed in", User: true, Data: &org.InvitationData{Token: "tok123", OrgName: "Acme Corp", Email: "user@example.com", Role: "admin", SignedInAs: "user@example.com"},
			Want: want{Text: list{"Join Acme Corp", "as admin"}, Token: "tok123", Forms: list{"/auth/invitations/accept"}}},
		{Page: "org_invitation", Label: "mismatch", User: true, Data: &org.InvitationData{OrgName: "Acme Corp", Email: "guest@example.com", SignedInAs: "user@example.com", Mismatch: true},
			Want: want{Text: list{"another address", "guest@example.com"}, NoForms: list{"/auth/invitations/accept"}}},
		{Page: "org_invitation", Label: "dead", Data: &org.InvitationData{Dead: true},
			Want: want{Text: list{"no longer works"}, NoForms: list{"/auth/invitations/accept"}}},
	}
}

func TestPageChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Pages(t, pcCases())
}

func TestSectionChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Sections(t, []apptest.SectionCase{
		{Section: "organizations", Label: "some", Data: &org.OrgsSection{Orgs: []org.OrgSummary{pcOrg(org.RoleOwner)}},
			Want: htmlcheck.Want{Text: []string{"1 organization", "active: Acme Corp"}, Links: []string{"/auth/orgs"}}},
		{Section: "organizations", Label: "none", Data: &org.OrgsSection{},
			Want: htmlcheck.Want{Text: []string{"don't belong"}, Links: []string{"/auth/orgs"}}},
	})
}

func TestSettingsPageChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Settings(t, []apptest.SettingsCase{{Label: "with organizations", Sections: []ui.Section{
		apptest.FixedSection("email", 10, &account.EmailSection{Email: "user@example.com", Confirmed: true}),
		apptest.FixedSection("organizations", 50, &org.OrgsSection{Orgs: []org.OrgSummary{pcOrg(org.RoleOwner)}}),
	}, Want: htmlcheck.Want{Text: []string{"Organizations"}, Links: []string{"/auth/orgs"}}}})
}

func TestEmailChecks(t *testing.T) {
	t.Parallel()
	type list = []string
	const link = "https://app.example.com/auth/invitations/accept?token=abc"
	pcCheck(t).Emails(t, map[string]apptest.EmailCase{
		"org_invitation": {Link: link, ExpiresIn: "7 days", Data: &org.InvitationMail{OrgName: "Acme Corp", InvitedBy: "owner@example.com", Role: "admin"},
			Want: list{"Acme Corp", "owner@example.com", "7 days", link}},
		"org_deletion_scheduled": {Data: &org.OrgMail{OrgName: "Acme Corp", DueAt: pcT0}, Want: list{"Acme Corp", "Mar 14, 2026"}},
		"org_removed":            {Data: &org.OrgMail{OrgName: "Acme Corp"}, Want: list{"removed from Acme Corp"}},
	})
}

func TestPageChecksZeroData(t *testing.T) {
	t.Parallel()
	pcCheck(t).ZeroData(t)
}

func TestEmailChecksUntrusted(t *testing.T) {
	t.Parallel()
	pcCheck(t).EmailsUntrusted(t)
}
