package admin_test

import (
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/htmlcheck"
)

// The page checks: every page and email of the console's pack, rendered
// through a ui.UI with realistic data (beside the account pack), passes
// the checks of apptest.PageCheck and shows what it is for.

var pcT0 = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

func pcCheck(t testing.TB) *apptest.PageCheck {
	t.Helper()
	pc := apptest.NewPageCheck(t, admin.Pages(), account.Pages())
	// The filters' text fields show the filter in force.
	for _, name := range []string{"q", "org", "actor", "subject", "action", "ip", "since", "until"} {
		pc.Typed = append(pc.Typed, name)
		pc.Sticky[name] = "text"
	}
	pc.Sticky["q"] = "search"
	return pc
}

const pcID = "01900000-0000-7000-8000-0000000000a1"

func pcUser(states ...string) admin.UserItem {
	if states == nil {
		states = []string{}
	}
	return admin.UserItem{ID: pcID, Email: "user@example.com", Confirmed: true, CreatedAt: pcT0, States: states, URL: "/auth/admin/users/" + pcID}
}

func pcActions() admin.Actions {
	p := "/auth/admin/users/" + pcID
	return admin.Actions{
		Lock: p + "/lock", Disable: p + "/disable", RevokeSession: p + "/sessions/revoke", RevokeAll: p + "/sessions/revoke-all",
		PasswordReset: p + "/password-reset", TwoFactorReset: p + "/two-factor/reset", PasskeyRemove: p + "/passkeys/remove",
		IdentityUnlink: p + "/identities/unlink", DeletionCancel: p + "/deletion/cancel", DeletionRun: p + "/deletion/run",
		Grant: p + "/admin/grant", Impersonate: p + "/impersonate",
	}
}

func pcCases() []apptest.PageCase {
	type want = htmlcheck.Want
	type list = []string
	type fields = map[string]string
	p := "/auth/admin/users/" + pcID
	full := &admin.UserData{
		User: pcUser("deletion_pending"), DeletionDueAt: pcT0.Add(24 * time.Hour), RecoveryCodes: 8, TrustedBrowsers: 1,
		Sessions:   []admin.SessionItem{{ID: "s1", IP: "192.0.2.1", UserAgent: "Firefox on Linux", AAL: 2, CreatedAt: pcT0, LastSeenAt: pcT0}},
		Passkeys:   []admin.PasskeyItem{{ID: "k1", Name: "Laptop", CreatedAt: pcT0}},
		Identities: []admin.IdentityItem{{ID: "i1", Provider: "github", Email: "user@example.com", CreatedAt: pcT0}},
		Orgs:       []admin.MembershipItem{{OrgID: "o1", Name: "Acme Corp", Slug: "acme", Role: "admin"}},
		Events:     []admin.EventItem{{ID: "e1", At: pcT0, Action: "auth.login.success", Outcome: "success", IP: "192.0.2.1", URL: "/auth/admin/audit/e1"}},
		Actions:    pcActions(), BackURL: "/auth/admin/users",
	}
	return []apptest.PageCase{
		{Page: "admin_users", User: true, Data: &admin.UsersData{
			Filter: admin.Filter{Q: "user", State: "locked"}, States: []string{"unconfirmed", "locked", "disabled", "deletion_pending"},
			Users:  []admin.UserItem{pcUser("locked"), {ID: "u2", Email: "admin@example.com", Admin: true, TwoFactor: true, CreatedAt: pcT0, States: []string{}, URL: "/auth/admin/users/u2"}},
			Action: "/auth/admin/users", NextURL: "/auth/admin/users?after=c1&q=user", AuditURL: "/auth/admin/audit",
		}, Fields: fields{"q": "users-q", "state": "users-state", "org": "users-org"},
			Want: want{Text: list{"user@example.com", "admin@example.com", "Administrator", "locked", "Next page"}, Times: true,
				Links: list{p, "/auth/admin/users/u2", "/auth/admin/audit", "/auth/admin/users?after=c1&q=user"}}},
		{Page: "admin_users", Label: "org lens", User: true, Data: &admin.UsersData{
			Org: &admin.OrgRef{ID: "o1", Name: "Acme Corp", Slug: "acme"}, States: []string{"unconfirmed"}, Users: []admin.UserItem{},
			Action: "/auth/admin/orgs/acme/users",
		}, Want: want{Text: list{"Members of Acme Corp", "No users match"}}},
		{Page: "admin_user", User: true, Data: full, Fields: fields{"confirm_email": "delete-confirm", "reason": "impersonate-reason"},
			Want: want{Text: list{"user@example.com", "Firefox on Linux", "Laptop", "github", "Acme Corp", "auth.login.success", "8 recovery codes"}, Times: true,
				Links: list{"/auth/admin/users", "/auth/admin/audit/e1"},
				Forms: list{p + "/lock", p + "/disable", p + "/sessions/revoke", p + "/sessions/revoke-all", p + "/password-reset",
					p + "/two-factor/reset", p + "/passkeys/remove", p + "/identities/unlink", p + "/deletion/cancel", p + "/deletion/run",
					p + "/admin/grant", p + "/impersonate"}}},
		{Page: "admin_user", Label: "protected", User: true, Data: &admin.UserData{
			User:      admin.UserItem{ID: pcID, Email: "admin@example.com", Admin: true, Confirmed: true, CreatedAt: pcT0, States: []string{}},
			Protected: true, Actions: admin.Actions{Revoke: p + "/admin/revoke"}, BackURL: "/auth/admin/users",
		}, Want: want{Text: list{"Administrator", "does not lock, disable"}, Forms: list{p + "/admin/revoke"},
			NoForms: list{p + "/lock", p + "/disable", p + "/impersonate"}}},
		{Page: "admin_user", Label: "org lens", User: true, Data: &admin.UserData{
			Org: &admin.OrgRef{ID: "o1", Name: "Acme Corp", Slug: "acme"}, User: pcUser("unconfirmed"),
			Actions:  admin.Actions{RevokeAll: "/auth/admin/orgs/acme/users/" + pcID + "/sessions/revoke-all", Confirm: "/auth/admin/orgs/acme/users/" + pcID + "/confirmation"},
			Sessions: []admin.SessionItem{{ID: "s1", CreatedAt: pcT0}}, BackURL: "/auth/admin/orgs/acme/users",
		}, Want: want{Text: list{"the members of Acme Corp"}, Forms: list{"/auth/admin/orgs/acme/users/" + pcID + "/sessions/revoke-all", "/auth/admin/orgs/acme/users/" + pcID + "/confirmation"},
			NoForms: list{p + "/disable"}}},
		{Page: "admin_audit", User: true, Data: &admin.AuditData{
			Filter:  admin.AuditFilter{Outcome: "failure", Since: "2026-03-14"},
			Events:  []admin.EventItem{{ID: "e1", At: pcT0, Action: "auth.login.failure", Outcome: "failure", SubjectID: "u1", IP: "192.0.2.1", URL: "/auth/admin/audit/e1"}},
			NextURL: "/auth/admin/audit?after=c1", CSVURL: "/auth/admin/audit/export?format=csv", JSONLURL: "/auth/admin/audit/export?format=jsonl",
		}, Fields: fields{"actor": "audit-actor", "subject": "audit-subject", "action": "audit-action", "outcome": "audit-outcome",
			"org": "audit-org", "ip": "audit-ip", "since": "audit-since", "until": "audit-until"},
			Want: want{Text: list{"auth.login.failure", "Export CSV", "Older events"}, Times: true,
				Links: list{"/auth/admin/audit/e1", "/auth/admin/audit/export?format=csv", "/auth/admin/audit/export?format=jsonl"}}},
		{Page: "admin_audit_event", User: true, Data: &admin.AuditEventData{
			Event:     admin.EventItem{ID: "e1", At: pcT0, Action: "admin.user.lock", Outcome: "success", ActorID: "a1", SubjectID: "u1", IP: "192.0.2.1"},
			UserAgent: "Firefox", Metadata: map[string]string{"until": "2026-03-15T15:09:26Z"}, Seq: 42, Hash: "ab12", PrevHash: "cd34",
		}, Want: want{Text: list{"admin.user.lock", "42", "ab12", "cd34", "until"}, Times: true, Links: list{"/auth/admin/audit"}}},
		{Page: "admin_audit_event", Label: "unsealed", User: true, Data: &admin.AuditEventData{
			Event: admin.EventItem{ID: "e1", At: pcT0, Action: "auth.logout", Outcome: "success"},
		}, Want: want{Text: list{"Not sealed yet"}}},
	}
}

func TestPageChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Pages(t, append(pcCases(), pcWebhookCases()...))
}

func TestEmailChecks(t *testing.T) {
	t.Parallel()
	type list = []string
	const reset = "https://app.example.com/auth/password/reset?token=abc"
	const confirm = "https://app.example.com/auth/confirm?token=abc"
	pcCheck(t).Emails(t, map[string]apptest.EmailCase{
		"admin_password_reset":    {Link: reset, ExpiresIn: "1 hour", Data: &admin.NoticeMail{}, Want: list{reset, "1 hour", "signed your account out"}},
		"admin_confirm":           {Link: confirm, ExpiresIn: "48 hours", Data: &admin.NoticeMail{}, Want: list{confirm, "48 hours"}},
		"admin_two_factor_reset":  {Data: &admin.NoticeMail{}, Want: list{"recovery codes"}},
		"admin_disabled":          {Data: &admin.NoticeMail{}, Want: list{"disabled your account"}},
		"admin_enabled":           {Data: &admin.NoticeMail{}, Want: list{"enabled your account"}},
		"admin_signed_out":        {Data: &admin.NoticeMail{}, Want: list{"signed your account out on every device"}},
		"admin_passkey_removed":   {Data: &admin.NoticeMail{}, Want: list{"removed a passkey"}},
		"admin_identity_unlinked": {Data: &admin.NoticeMail{Provider: "github"}, Want: list{"unlinked your github account"}},
		"admin_locked":            {Data: &admin.NoticeMail{Until: pcT0}, Want: list{"locked", "Mar 14, 2026"}},
		"admin_impersonated":      {Data: &admin.NoticeMail{Admin: "root@example.com"}, Want: list{"root@example.com", "acting as you", "recorded under their name"}},
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

// Every POST route has a schema, and every schema a route.
func TestFormsCoverEveryRoute(t *testing.T) {
	t.Parallel()
	a := newApp(t, "sqlite")
	unschemed, unused := a.Console.FormsCheck()
	if len(unschemed) > 0 || len(unused) > 0 {
		t.Errorf("got routes without a schema %q and schemas without a route %q, want none", unschemed, unused)
	}
}
