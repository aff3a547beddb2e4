package account_test

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/ui"
)

// pagesUI is a UI with the account pack on a site mounted under
// "/account", so that every link a template makes shows whether it
// follows the prefix.
func pagesUI(t *testing.T) *ui.UI {
	t.Helper()
	s, err := site.New(site.Config{BaseURL: "http://localhost:8080", Prefix: "/account"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := ui.New(s, ui.Config{Brand: ui.Brand{ProductName: "Acme"}, Packs: []ui.Pack{account.Pages()}})
	if err != nil {
		t.Fatalf("ui.New with the account pack: %v", err)
	}
	return u
}

var (
	actionRE = regexp.MustCompile(`<form[^>]*>`)
	hrefRE   = regexp.MustCompile(`href="(/[^"]*)"`)
)

// checkMarkup fails the test unless every form of body posts, with the
// CSRF field, to a path under /account, and every local link other than
// the home page's points under /account.
func checkMarkup(t *testing.T, what, body string) {
	t.Helper()
	forms := actionRE.FindAllString(body, -1)
	for _, f := range forms {
		if !strings.Contains(f, `method="post"`) {
			t.Errorf("%s: got a form that does not post: %s", what, f)
		}
		if strings.Contains(f, "action=") && !strings.Contains(f, `action="/account/`) {
			t.Errorf("%s: got a form posting outside /account: %s", what, f)
		}
	}
	if n := strings.Count(body, `name="csrf_token"`); n < len(forms) {
		t.Errorf("%s: got %d forms and %d CSRF fields, want one in each form", what, len(forms), n)
	}
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		if h := m[1]; h != "/" && !strings.HasPrefix(h, "/account/") {
			t.Errorf("%s: got a link to %s, want it under /account", what, h)
		}
	}
	if strings.Contains(body, "<no value>") {
		t.Errorf("%s: got \"<no value>\" in the output", what)
	}
}

// TestPagesRender: every page of the account pack renders with realistic
// data: one <h1>, forms that post with the CSRF field to routes under the
// site's prefix, and the data shown.
func TestPagesRender(t *testing.T) {
	t.Parallel()
	u := pagesUI(t)
	due := time.Date(2026, time.March, 14, 15, 9, 0, 0, time.UTC)
	type variant struct {
		name string
		data any
		want []string
	}
	samples := map[string][]variant{
		"register":      {{"", &account.RegisterData{MinPasswordLength: 12}, []string{`action="/account/register"`, `minlength="12"`, "At least 12 characters", `href="/account/login"`}}},
		"register_done": {{"", &account.SentData{Email: "user@example.com"}, []string{"user@example.com", "Check your email"}}},
		"login": {
			{"everything", &account.LoginData{AllowRegister: true, AllowMagicLink: true}, []string{`action="/account/login"`, `href="/account/register"`, `href="/account/magic"`, `href="/account/password/forgot"`, `name="remember"`}},
			{"password only", &account.LoginData{}, []string{`action="/account/login"`}},
		},
		"confirm": {
			{"link", &account.ConfirmData{Email: "user@example.com", Token: "the-token"}, []string{`action="/account/confirm"`, `name="token" value="the-token"`, "user@example.com"}},
			{"code", &account.ConfirmData{CodeLength: 6, CanResend: true}, []string{`action="/account/confirm"`, `name="code"`, `name="email"`, `action="/account/confirm/resend"`, "6-digit"}},
		},
		"forgot":             {{"", nil, []string{`action="/account/password/forgot"`, `name="email"`}}},
		"forgot_sent":        {{"", &account.SentData{Email: "user@example.com"}, []string{"user@example.com", "one hour"}}},
		"reset":              {{"", &account.ResetData{Token: "the-token", MinPasswordLength: 8}, []string{`action="/account/password/reset"`, `name="token" value="the-token"`, `autocomplete="new-password"`}}},
		"reset_expired":      {{"", nil, []string{`href="/account/password/forgot"`}}},
		"password_renew":     {{"", &account.RenewData{MinPasswordLength: 8, NeedCurrent: true}, []string{`action="/account/password/renew"`, `name="current_password"`, `autocomplete="new-password"`, "data breach"}}},
		"magic":              {{"", nil, []string{`action="/account/magic"`}}},
		"magic_sent":         {{"", &account.SentData{Email: "user@example.com"}, []string{"user@example.com", "15 minutes"}}},
		"magic_confirm":      {{"", &account.TokenData{Token: "the-token"}, []string{`action="/account/magic/verify"`, `name="token" value="the-token"`}}},
		"link_expired":       {{"", nil, []string{"expired", `href="/account/settings"`}}},
		"new_device_confirm": {{"", &account.TokenData{Token: "the-token"}, []string{`name="token" value="the-token"`}}},
		"new_device_done":    {{"", &account.NewDeviceDoneData{Email: "user@example.com"}, []string{"user@example.com"}}},
		"sudo": {
			{"password and code", &account.SudoData{HasPassword: true, HasTOTP: true}, []string{`action="/account/sudo"`, `name="password"`, `name="code"`}},
			{"code only", &account.SudoData{HasTOTP: true}, []string{`name="code"`}},
			{"neither", &account.SudoData{}, []string{`action="/account/logout"`, "sign in again"}},
		},
		"sessions": {{"", &account.SessionsData{Devices: []account.Device{
			{ID: "this", Browser: "Chrome", OS: "Linux", Kind: "Desktop", IP: "127.0.0.1", Current: true, CreatedAt: due, LastSeenAt: due},
			{ID: "other", Browser: "Safari", OS: "iOS", Kind: "Mobile", IP: "192.0.2.7", Pending: true, CreatedAt: due, LastSeenAt: due},
		}}, []string{"This device", "Awaiting second factor", `name="id" value="other"`, `action="/account/sessions/revoke"`, `action="/account/sessions/revoke-others"`, "192.0.2.7"}}},
		"delete":           {{"", &account.DeleteAccountData{Grace: 14 * 24 * time.Hour, Email: "user@example.com"}, []string{`action="/account/delete"`, `name="confirm_email"`, "14 days", "user@example.com"}}},
		"delete_scheduled": {{"", &account.DeleteScheduledData{DueAt: due}, []string{"2026-03-14", `href="/account/login"`}}},
		"email_confirm":    {{"", &account.EmailChangeData{Token: "the-token", NewEmail: "new@example.com"}, []string{`action="/account/email/confirm"`, `name="token" value="the-token"`, "new@example.com"}}},
	}
	pages := slices.Sorted(maps.Keys(account.Pages().Pages))
	if got := slices.Sorted(maps.Keys(samples)); !slices.Equal(got, pages) {
		t.Fatalf("pages with samples: got %q, want every page of the pack %q", got, pages)
	}
	for _, name := range pages {
		for _, v := range samples[name] {
			t.Run(strings.TrimSuffix(name+"/"+v.name, "/"), func(t *testing.T) {
				t.Parallel()
				req := httptest.NewRequest("GET", "/account/x", nil)
				req = req.WithContext(sigra.WithAuth(req.Context(), &sigra.Auth{State: sigra.StateAuthenticated, User: &sigra.User{ID: "1", Email: "user@example.com", EmailConfirmedAt: due}}))
				rec := httptest.NewRecorder()
				u.Render(rec, req, http.StatusOK, name, &ui.Page{Data: v.data, CSRFToken: "csrf"})
				body := rec.Body.String()
				if rec.Code != http.StatusOK {
					t.Fatalf("got status %d, want 200\n%s", rec.Code, body)
				}
				if n := strings.Count(body, "<h1"); n != 1 {
					t.Errorf("got %d <h1> elements, want 1", n)
				}
				for _, want := range v.want {
					if !strings.Contains(body, want) {
						t.Errorf("got no %s in:\n%s", want, body)
					}
				}
				checkMarkup(t, name, body)
			})
		}
	}
}

// TestSectionsRender: every settings section of the account pack renders
// with realistic data, its forms posting under the site's prefix.
func TestSectionsRender(t *testing.T) {
	t.Parallel()
	u := pagesUI(t)
	samples := []struct {
		name, variant string
		data          any
		want, not     []string
	}{
		{"email", "confirmed", &account.EmailSection{Email: "user@example.com", Confirmed: true}, []string{"user@example.com", "Confirmed", `action="/account/email"`}, []string{`action="/account/confirm/resend"`, `action="/account/email/cancel"`}},
		{"email", "unconfirmed, change pending", &account.EmailSection{Email: "user@example.com", Pending: "new@example.com"}, []string{"Not confirmed", `action="/account/confirm/resend"`, "new@example.com", `action="/account/email/cancel"`}, nil},
		{"password", "change", &account.PasswordSection{HasPassword: true, MinPasswordLength: 8}, []string{`action="/account/password"`, `name="current_password"`, `href="/account/password/forgot"`}, nil},
		{"password", "set", &account.PasswordSection{MinPasswordLength: 8}, []string{"Set a password", `name="password"`}, []string{`name="current_password"`}},
		{"devices", "", &account.DevicesSection{Count: 3}, []string{"3 devices are", `href="/account/sessions"`}, nil},
		{"delete", "", &account.DeleteSection{Grace: 14 * 24 * time.Hour}, []string{`href="/account/delete"`, "14 days"}, nil},
	}
	seen := map[string]bool{}
	for _, s := range samples {
		seen[s.name] = true
		t.Run(s.name+"/"+s.variant, func(t *testing.T) {
			html, err := u.RenderSection(s.name, &ui.Page{CSRFToken: "csrf"}, s.data)
			if err != nil {
				t.Fatal(err)
			}
			body := string(html)
			for _, want := range s.want {
				if !strings.Contains(body, want) {
					t.Errorf("got no %s in:\n%s", want, body)
				}
			}
			for _, not := range s.not {
				if strings.Contains(body, not) {
					t.Errorf("got %s in:\n%s", not, body)
				}
			}
			checkMarkup(t, s.name, body)
		})
	}
	if got, want := slices.Sorted(maps.Keys(seen)), slices.Sorted(maps.Keys(account.Pages().Sections)); !slices.Equal(got, want) {
		t.Errorf("sections with samples: got %q, want every section of the pack %q", got, want)
	}
}

// TestEmailsRender: every email of the account pack renders with
// realistic data: a subject, the link in both parts (where the email has
// one), the code, the feature's own values (Email.Data) and the request's
// details.
func TestEmailsRender(t *testing.T) {
	t.Parallel()
	u := pagesUI(t)
	due := time.Date(2026, time.March, 14, 15, 9, 0, 0, time.UTC)
	link := "http://localhost:8080/account/x?token=the-token"
	base := func() *ui.Email {
		return &ui.Email{To: "user@example.com", Link: link, ExpiresIn: "48 hours", IP: "192.0.2.7", UserAgent: "Mozilla/5.0 Firefox/121.0", When: due}
	}
	// with returns the base email changed by f.
	with := func(f func(e *ui.Email)) *ui.Email {
		e := base()
		f(e)
		return e
	}
	changeTo := func(e *ui.Email) { e.Data = &account.EmailChangeMail{NewEmail: "new@example.com"} }
	samples := map[string]struct {
		data *ui.Email
		want []string // in both parts
	}{
		"confirm":              {with(func(e *ui.Email) { e.Code = "123456" }), []string{link, "123456", "48 hours"}},
		"register_exists":      {base(), []string{link, "192.0.2.7"}},
		"reset":                {base(), []string{link, "48 hours"}},
		"password_reset_done":  {base(), []string{link, "192.0.2.7"}},
		"magic_link":           {base(), []string{link, "48 hours"}},
		"password_changed":     {base(), []string{link, "192.0.2.7"}},
		"new_device":           {with(func(e *ui.Email) { e.Data = &account.NewDeviceMail{Browser: "Firefox", OS: "Linux"} }), []string{link, "192.0.2.7", "Firefox"}},
		"account_deleted":      {&ui.Email{To: "user@example.com", When: due}, []string{"Acme"}},
		"lockout":              {with(func(e *ui.Email) { e.ExpiresIn = "15 minutes" }), []string{link, "15 minutes", "192.0.2.7"}},
		"email_change_confirm": {with(changeTo), []string{link, "new@example.com"}},
		"email_change_notice":  {with(changeTo), []string{link, "new@example.com", "user@example.com"}},
		"deletion_scheduled":   {with(func(e *ui.Email) { e.Data = &account.DeletionMail{DueAt: due} }), []string{link, "Mar 14, 2026"}},
	}
	emails := slices.Sorted(maps.Keys(account.Pages().Emails))
	if got := slices.Sorted(maps.Keys(samples)); !slices.Equal(got, emails) {
		t.Fatalf("emails with samples: got %q, want every email of the pack %q", got, emails)
	}
	for _, name := range emails {
		t.Run(name, func(t *testing.T) {
			s := samples[name]
			subject, text, html, err := u.RenderEmail(name, s.data)
			if err != nil {
				t.Fatal(err)
			}
			if subject == "" || strings.ContainsAny(subject, "{}<>") {
				t.Errorf("got subject %q, want a plain subject", subject)
			}
			for part, body := range map[string]string{"text": text, "HTML": html} {
				for _, want := range s.want {
					// The HTML part escapes & and similar; the sample values
					// have none.
					if !strings.Contains(body, want) {
						t.Errorf("%s part: got no %s in:\n%s", part, want, body)
					}
				}
				if strings.Contains(body, "<no value>") || strings.Contains(body, "%!") {
					t.Errorf("%s part: got a missing value in:\n%s", part, body)
				}
			}
		})
	}
}
