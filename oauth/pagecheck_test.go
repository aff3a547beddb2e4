package oauth_test

import (
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/htmlcheck"
	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/ui"
)

// The page checks: every page, settings section and email of the pack,
// rendered through a ui.UI beside the account pack, as an application has
// them, passes the checks of apptest.PageCheck and shows what it is for.

func pcCheck(t testing.TB) *apptest.PageCheck {
	t.Helper()
	return apptest.NewPageCheck(t, oauth.Pages(), account.Pages())
}

var pcT0 = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

func TestPageChecks(t *testing.T) {
	t.Parallel()
	type want = htmlcheck.Want
	type list = []string
	buttons := &oauth.SignInData{Providers: []oauth.Button{
		{Name: "google", Label: "Google", Action: "/auth/oauth/google/start"},
		{Name: "github", Label: "GitHub", Action: "/auth/oauth/github/start"},
	}}
	pcCheck(t).Pages(t, []apptest.PageCase{
		{Page: "oauth_signin", Data: buttons, Want: want{
			Text:  list{"Continue with Google", "Continue with GitHub"},
			Forms: list{"/auth/oauth/google/start", "/auth/oauth/github/start"},
			Links: list{"/auth/login"},
		}},
		{Page: "oauth_signin", Label: "none", Data: &oauth.SignInData{}},
		{Page: "oauth_error", Data: &oauth.ErrorData{Code: "consent_denied", Message: "You did not allow the sign-in.", Provider: "Google", Retry: "/auth/oauth"},
			Want: want{Text: list{"Signing in with Google did not complete", "You did not allow the sign-in."}, Links: list{"/auth/oauth", "/auth/login"}}},
		{Page: "oauth_error", Label: "signed in", User: true, Data: &oauth.ErrorData{Code: "already_linked", Message: "Unlink it first."},
			Want: want{Text: list{"Unlink it first."}, Links: list{"/auth/settings"}}},
		{Page: "oauth_sudo", User: true, Data: &oauth.SignInData{Providers: []oauth.Button{{Name: "github", Label: "GitHub", Action: "/auth/oauth/github/sudo"}}},
			Want: want{Text: list{"Confirm with GitHub"}, Forms: list{"/auth/oauth/github/sudo"}, Links: list{"/auth/sudo"}}},
		{Page: "oauth_sudo", Label: "none linked", User: true, Data: &oauth.SignInData{}, Want: want{Text: list{"No account is linked"}}},
		{Page: "oauth_connect", User: true, Data: &oauth.SignInData{Providers: []oauth.Button{{Name: "github", Label: "GitHub", Action: "/auth/oauth/github/link"}}},
			Want: want{Text: list{"Link your GitHub account", "Continue with GitHub"}, Forms: list{"/auth/oauth/github/link"}, Links: list{"/auth/settings"}}},
		{Page: "oauth_link", User: true, Data: &oauth.LinkData{Provider: "GitHub", Email: "user@example.com"},
			Want: want{Text: list{"Link your GitHub account", "user@example.com"}, Forms: list{"/auth/oauth/link"}, Links: list{"/auth/settings"}}},
	})
}

var pcSection = &oauth.LinkedSection{Providers: []oauth.LinkedProvider{
	{Name: "google", Label: "Google", Linked: true, ID: "01900000-0000-7000-8000-0000000000aa", Email: "user@example.com", LinkedAt: pcT0, LinkAction: "/auth/oauth/google/link"},
	{Name: "github", Label: "GitHub", LinkAction: "/auth/oauth/github/link"},
}}

func TestSectionChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Sections(t, []apptest.SectionCase{{Section: "linked_accounts", Data: pcSection, Want: htmlcheck.Want{
		Text:  []string{"Linked accounts", "Google", "user@example.com", "Unlink", "Link"},
		Forms: []string{"/auth/oauth/unlink"},
		Links: []string{"/auth/oauth/github/link"},
	}}})
}

func TestSettingsPageChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Settings(t, []apptest.SettingsCase{{Label: "linked", Sections: []ui.Section{
		apptest.FixedSection("email", 10, &account.EmailSection{Email: "user@example.com", Confirmed: true}),
		apptest.FixedSection("password", 20, &account.PasswordSection{HasPassword: true}),
		apptest.FixedSection("linked_accounts", 45, pcSection),
		apptest.FixedSection("delete", 1000, &account.DeleteSection{}),
	}, Want: htmlcheck.Want{Text: []string{"Linked accounts"}, Forms: []string{"/auth/oauth/unlink"}}}})
}

func TestEmailChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Emails(t, map[string]apptest.EmailCase{
		"oauth_linked":   {Data: &oauth.LinkMail{Provider: "GitHub"}, Want: []string{"GitHub account was linked", "192.0.2.10"}},
		"oauth_unlinked": {Data: &oauth.LinkMail{Provider: "Google"}, Want: []string{"Google account was unlinked", "Firefox/140.0"}},
	})
}

func TestEmailsUntrusted(t *testing.T) {
	t.Parallel()
	pcCheck(t).EmailsUntrusted(t)
}

func TestZeroData(t *testing.T) {
	t.Parallel()
	pcCheck(t).ZeroData(t)
}
