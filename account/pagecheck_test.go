package account_test

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/htmlcheck"
	"github.com/sigra-go/sigra/ui"
)

// The page checks: every page, settings section and email of the account
// pack, rendered through a ui.UI with realistic data, passes the checks of
// apptest.PageCheck (the HTML rules of internal/htmlcheck, field errors
// tied to their fields, notices announced, return_to kept, sticky values
// that are never secrets, the header of the signed-in state) and shows
// what it is for: the right autocomplete values, the emailed token posted
// back, the links and forms of its flow.

// pcT0 is the time of the fixtures (apptest.PageCheck.Time).
var pcT0 = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

func pcCases() []apptest.PageCase {
	type want = htmlcheck.Want
	type list = []string
	type fields = map[string]string
	return []apptest.PageCase{
		{Page: "register", Data: &account.RegisterData{MinPasswordLength: 12},
			Fields: fields{"email": "email", "password": "password"},
			Want: want{Autocomplete: fields{"email": "email", "password": "new-password"},
				Text: list{"Create your Acme account", "At least 12 characters"}, Forms: list{"/auth/register"}, Links: list{"/auth/login"}},
			Check: pcMinLength("12")},
		{Page: "register_done", Data: &account.SentData{Email: "new@example.com"},
			Want: want{Text: list{"Check your email", "new@example.com"}, Links: list{"/auth/login"}}},
		{Page: "login", Data: &account.LoginData{AllowRegister: true, AllowMagicLink: true},
			Fields: fields{"email": "email", "password": "password", "remember": "remember"},
			Want: want{Autocomplete: fields{"email": "username webauthn", "password": "current-password"},
				Forms: list{"/auth/login"}, Links: list{"/auth/register", "/auth/magic", "/auth/password/forgot"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				if rm := htmlcheck.ControlsByName(doc)["remember"]; len(rm) != 1 || htmlcheck.AttrOr(rm[0], "type", "") != "checkbox" {
					t.Errorf("remember: got %d controls, want one checkbox", len(rm))
				}
			}},
		{Page: "login", Label: "password only", Data: &account.LoginData{},
			Fields: fields{"email": "email", "password": "password"},
			Want:   want{NoLinks: list{"/auth/register", "/auth/magic"}, Links: list{"/auth/password/forgot"}}},
		{Page: "confirm", Label: "link", Data: &account.ConfirmData{Email: "user@example.com", Token: "tok-confirm"},
			Want: want{Token: "tok-confirm", Forms: list{"/auth/confirm"}, Text: list{"user@example.com"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				if n := len(htmlcheck.Controls(htmlcheck.ByTag(doc, "main")[0])); n != 0 {
					t.Errorf("got %d controls on the link's confirm page, want none (one button)", n)
				}
			}},
		{Page: "confirm", Label: "code", Data: &account.ConfirmData{Email: "user@example.com", CodeLength: 8, CanResend: true},
			Fields: fields{"code": "code"},
			Want: want{Autocomplete: fields{"code": "one-time-code"},
				Text: list{"8-digit code", "user@example.com"}, Forms: list{"/auth/confirm", "/auth/confirm/resend"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				if n := len(htmlcheck.ControlsByName(doc)["email"]); n != 0 {
					t.Errorf("got %d email fields with the address known, want none", n)
				}
				if got := htmlcheck.HiddenValues(doc, "token"); len(got) != 0 {
					t.Errorf("token fields on the code page: got %q, want none", got)
				}
			}},
		{Page: "confirm", Label: "anonymous", Data: &account.ConfirmData{CodeLength: 6, CanResend: true},
			Fields: fields{"code": "code", "email": "email", "resend_email": "resend-email"},
			Want: want{Autocomplete: fields{"code": "one-time-code", "email": "email"},
				Text: list{"6-digit code"}, Forms: list{"/auth/confirm/resend"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				if n := len(htmlcheck.ControlsByName(doc)["email"]); n != 2 {
					t.Errorf("got %d email fields, want 2 (code form and resend form)", n)
				}
			}},
		{Page: "forgot", Fields: fields{"email": "email"},
			Want: want{Autocomplete: fields{"email": "username"}, Forms: list{"/auth/password/forgot"}, Links: list{"/auth/login"}}},
		{Page: "forgot_sent", Data: &account.SentData{Email: "user@example.com"},
			Want: want{Text: list{"user@example.com", "one hour"}}},
		{Page: "reset", Data: &account.ResetData{Token: "tok-reset", MinPasswordLength: 10},
			Fields: fields{"password": "password"},
			Want:   want{Autocomplete: fields{"password": "new-password"}, Token: "tok-reset", Forms: list{"/auth/password/reset"}},
			Check:  pcMinLength("10")},
		{Page: "reset_expired", Want: want{Text: list{"expired"}, Links: list{"/auth/password/forgot"}}},
		{Page: "password_renew", User: true, Data: &account.RenewData{MinPasswordLength: 10},
			Fields: fields{"password": "password"},
			Want:   want{Autocomplete: fields{"password": "new-password"}, Text: list{"data breach", "user@example.com"}, Forms: list{"/auth/password/renew", "/auth/logout"}},
			Check: func(t testing.TB, doc *html.Node, p *ui.Page) {
				pcMinLength("10")(t, doc, p)
				if n := len(htmlcheck.ControlsByName(doc)["current_password"]); n != 0 {
					t.Errorf("got %d current_password fields within the sudo window, want none", n)
				}
			}},
		{Page: "password_renew", Label: "after the sudo window", User: true, Data: &account.RenewData{NeedCurrent: true},
			Fields: fields{"current_password": "current_password", "password": "password"},
			Want:   want{Autocomplete: fields{"current_password": "current-password", "password": "new-password"}, Forms: list{"/auth/password/renew"}}},
		{Page: "magic", Fields: fields{"email": "email"},
			Want: want{Autocomplete: fields{"email": "username"}, Forms: list{"/auth/magic"}, Links: list{"/auth/login"}}},
		{Page: "magic_sent", Data: &account.SentData{Email: "user@example.com"},
			Want: want{Text: list{"user@example.com", "15 minutes"}}},
		{Page: "magic_confirm", Data: &account.TokenData{Token: "tok-magic"},
			Want: want{Token: "tok-magic", Forms: list{"/auth/magic/verify"}}},
		{Page: "new_device_confirm", Data: &account.TokenData{Token: "tok-notme"}, Want: want{Token: "tok-notme"}},
		{Page: "new_device_done", Data: &account.NewDeviceDoneData{Email: "user@example.com"},
			Want: want{Text: list{"user@example.com"}}},
		{Page: "link_expired",
			Want: want{Text: list{"expired"}, Links: list{"/auth/login"}, NoLinks: list{"/auth/settings"}}},
		{Page: "link_expired", Label: "signed in", User: true,
			Want: want{Links: list{"/auth/settings"}, NoLinks: list{"/auth/login"}}},
		{Page: "sudo", User: true, Data: &account.SudoData{HasPassword: true, HasTOTP: true, HasPasskey: true},
			Fields: fields{"password": "password", "code": "sudo-code"},
			Want:   want{Autocomplete: fields{"password": "current-password", "code": "one-time-code"}, Text: list{"user@example.com"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				if n := len(htmlcheck.Forms(doc, "/auth/sudo")); n != 2 {
					t.Errorf("got %d forms posting to /auth/sudo, want 2 (password and code)", n)
				}
			}},
		{Page: "sudo", Label: "password only", User: true, Data: &account.SudoData{HasPassword: true},
			Fields: fields{"password": "password"},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				if n := len(htmlcheck.ControlsByName(doc)["code"]); n != 0 {
					t.Errorf("got %d code fields without TOTP, want none", n)
				}
			}},
		{Page: "sudo", Label: "no credential", User: true, Data: &account.SudoData{HasPasskey: true},
			Want: want{NoForms: list{"/auth/sudo"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				if n := len(htmlcheck.Forms(doc, "/auth/logout")); n != 2 {
					t.Errorf("got %d forms posting to /auth/logout, want 2 (header and page)", n)
				}
			}},
		{Page: "sessions", User: true, Data: &account.SessionsData{Devices: []account.Device{
			{ID: "s-current", Browser: "Firefox", OS: "Linux", Kind: "Desktop", IP: "192.0.2.1", Current: true, CreatedAt: pcT0, LastSeenAt: pcT0},
			{ID: "s-phone", Browser: "Safari", OS: "iOS", Kind: "Mobile", IP: "198.51.100.7", CreatedAt: pcT0, LastSeenAt: pcT0},
			{ID: "s-pending", Pending: true, CreatedAt: pcT0},
		}},
			Want: want{Text: list{"This device", "Firefox on Linux", "Safari on iOS", "Unknown browser", "Awaiting second factor", "198.51.100.7"},
				Forms: list{"/auth/sessions/revoke-others"}, Times: true},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				if got := htmlcheck.HiddenValues(doc, "id"); !slices.Equal(got, []string{"s-phone", "s-pending"}) {
					t.Errorf("revoke forms for %q, want [s-phone s-pending] (never the current session)", got)
				}
			}},
		{Page: "sessions", Label: "alone", User: true, Data: &account.SessionsData{Devices: []account.Device{{ID: "s1", Current: true}}},
			Want: want{NoForms: list{"/auth/sessions/revoke-others", "/auth/sessions/revoke"}}},
		{Page: "delete", User: true, Data: &account.DeleteAccountData{Grace: 30 * 24 * time.Hour, Email: "user@example.com"},
			Fields: fields{"confirm_email": "confirm_email"},
			Want: want{Autocomplete: fields{"confirm_email": "off"},
				Text: list{"30 days", "user@example.com"}, Forms: list{"/auth/delete"}, Links: list{"/auth/settings"}}},
		{Page: "delete", Label: "at once", User: true, Data: &account.DeleteAccountData{Email: "user@example.com"},
			Fields: fields{"confirm_email": "confirm_email"},
			Want:   want{Text: list{"cannot be undone"}}},
		{Page: "delete_scheduled", Data: &account.DeleteScheduledData{DueAt: pcT0},
			Want: want{Text: list{"Mar 14, 2026"}, Links: list{"/auth/login"}, Times: true}},
		{Page: "email_confirm", User: true, Data: &account.EmailChangeData{Token: "tok-email", NewEmail: "next@example.com"},
			Want: want{Text: list{"next@example.com"}, Token: "tok-email", Forms: list{"/auth/email/confirm"}}},
	}
}

// pcMinLength checks that the password field asks for at least n
// characters.
func pcMinLength(n string) func(testing.TB, *html.Node, *ui.Page) {
	return func(t testing.TB, doc *html.Node, _ *ui.Page) {
		t.Helper()
		if got := htmlcheck.AttrOr(htmlcheck.ControlsByName(doc)["password"][0], "minlength", ""); got != n {
			t.Errorf("password minlength: got %q, want %s", got, n)
		}
	}
}

// TestPageChecks renders every page of the pack in each variant and checks
// the markup, the accessibility and the behaviour of each page.
func TestPageChecks(t *testing.T) {
	t.Parallel()
	apptest.NewPageCheck(t, account.Pages()).Pages(t, pcCases())
}

// TestSectionChecks renders every settings section of the pack, plain and
// with errors on its fields, and checks it as a part of a page.
func TestSectionChecks(t *testing.T) {
	t.Parallel()
	type want = htmlcheck.Want
	type list = []string
	type fields = map[string]string
	apptest.NewPageCheck(t, account.Pages()).Sections(t, []apptest.SectionCase{
		{Section: "email", Label: "confirmed", Data: &account.EmailSection{Email: "user@example.com", Confirmed: true},
			Fields: fields{"email": "email"},
			Want: want{Autocomplete: fields{"email": "email"},
				Forms: list{"/auth/email"}, NoForms: list{"/auth/confirm/resend", "/auth/email/cancel"}}},
		{Section: "email", Label: "unconfirmed with a change pending", Data: &account.EmailSection{Email: "user@example.com", Pending: "next@example.com"},
			Fields: fields{"email": "email"},
			Want:   want{Forms: list{"/auth/email", "/auth/confirm/resend", "/auth/email/cancel"}}},
		{Section: "password", Label: "change", Data: &account.PasswordSection{HasPassword: true, MinPasswordLength: 12},
			Fields: fields{"current_password": "current_password", "password": "password"},
			Want: want{Autocomplete: fields{"current_password": "current-password", "password": "new-password"},
				Forms: list{"/auth/password"}, Links: list{"/auth/password/forgot"}}},
		{Section: "password", Label: "set", Data: &account.PasswordSection{MinPasswordLength: 12},
			Fields: fields{"password": "password"},
			Want:   want{Autocomplete: fields{"password": "new-password"}, Forms: list{"/auth/password"}}},
		{Section: "devices", Data: &account.DevicesSection{Count: 3}, Want: want{Links: list{"/auth/sessions"}}},
		{Section: "delete", Data: &account.DeleteSection{Grace: 14 * 24 * time.Hour}, Want: want{Links: list{"/auth/delete"}}},
	})
}

// TestSettingsPageChecks renders the settings page made of every section
// of the pack, as the account feature serves it: the sections together
// keep the page valid (no id used twice, one h1).
func TestSettingsPageChecks(t *testing.T) {
	t.Parallel()
	apptest.NewPageCheck(t, account.Pages()).Settings(t, []apptest.SettingsCase{{
		Sections: []ui.Section{
			apptest.FixedSection("email", 10, &account.EmailSection{Email: "user@example.com", Pending: "next@example.com"}),
			apptest.FixedSection("password", 20, &account.PasswordSection{HasPassword: true, MinPasswordLength: 12}),
			apptest.FixedSection("devices", 30, &account.DevicesSection{Count: 2}),
			apptest.FixedSection("delete", 1000, &account.DeleteSection{Grace: 14 * 24 * time.Hour}),
		},
		Fields: map[string]string{"email": "email", "current_password": "current_password", "password": "password"},
		Want: htmlcheck.Want{
			Forms: []string{"/auth/email", "/auth/email/cancel", "/auth/confirm/resend", "/auth/password"},
			Links: []string{"/auth/sessions", "/auth/delete"},
		},
	}})
}

// TestEmailChecks renders every email of the pack and checks both parts:
// a plain subject, the link (a button and the link as text), the code,
// the email's own values, the request's details, valid and safe HTML.
func TestEmailChecks(t *testing.T) {
	t.Parallel()
	type list = []string
	const app = "https://app.example.com/auth"
	apptest.NewPageCheck(t, account.Pages()).Emails(t, map[string]apptest.EmailCase{
		"confirm": {Link: app + "/confirm?token=T1", Code: "493817", ExpiresIn: "48 hours",
			Want: list{app + "/confirm?token=T1", "493817", "48 hours"}},
		"register_exists": {Link: app + "/login", Want: list{app + "/login", "192.0.2.10"}},
		"reset": {Link: app + "/password/reset?token=T2", ExpiresIn: "1 hour",
			Want: list{app + "/password/reset?token=T2", "1 hour", "Firefox/140.0"}},
		"password_reset_done": {Link: app + "/password/forgot", Want: list{app + "/password/forgot", "Mar 14, 2026"}},
		"magic_link": {Link: app + "/magic/verify?token=T3", ExpiresIn: "15 minutes",
			Want: list{app + "/magic/verify?token=T3", "15 minutes"}},
		"password_changed": {Link: app + "/password/forgot", Want: list{app + "/password/forgot", "192.0.2.10"}},
		"account_deleted":  {Want: list{"deleted", "Acme"}},
		"new_device": {Link: app + "/not-me?token=T9", Data: &account.NewDeviceMail{Browser: "Firefox", OS: "Linux"},
			Want: list{app + "/not-me?token=T9", "192.0.2.10", "Firefox"}},
		"lockout": {Link: app + "/password/forgot", ExpiresIn: "15 minutes", Want: list{"15 minutes", app + "/password/forgot"}},
		"email_change_confirm": {Link: app + "/email/confirm?token=T4", ExpiresIn: "24 hours", Data: &account.EmailChangeMail{NewEmail: "new@example.com"},
			Want: list{"new@example.com", app + "/email/confirm?token=T4", "24 hours"}},
		"email_change_notice": {Link: app + "/settings", Data: &account.EmailChangeMail{NewEmail: "new@example.com"},
			Want: list{"new@example.com", "user@example.com", app + "/settings"}},
		"deletion_scheduled": {Link: app + "/login", Data: &account.DeletionMail{DueAt: pcT0.Add(30 * 24 * time.Hour)},
			Want: list{"Apr 13, 2026", app + "/login"}},
	})
}

// TestEmailChecksUntrusted feeds values a request controls (a user agent
// and an address with line breaks and markup, a javascript: link) into
// every email of the pack: none starts a line of its own, becomes markup
// or a link that runs script.
func TestEmailChecksUntrusted(t *testing.T) {
	t.Parallel()
	apptest.NewPageCheck(t, account.Pages()).EmailsUntrusted(t)
}

// TestPageChecksZeroData renders every page of the pack with a nil Page
// and with a Page without Data: the zero value the pack declares renders
// a valid page.
func TestPageChecksZeroData(t *testing.T) {
	t.Parallel()
	apptest.NewPageCheck(t, account.Pages()).ZeroData(t)
}
