package account_test

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/net/html"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/htmlcheck"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/ui"
)

// The page checks: every page, settings section and email of the account
// pack, rendered through a ui.UI with realistic data, passes the HTML
// checks of internal/htmlcheck (well-formed, CSP-safe, accessible, forms
// with the CSRF field), and shows what it is for: field errors tied to
// their fields, the right autocomplete values, the emailed token posted
// back, sticky values that are never secrets, the notices announced.

var (
	pcT0   = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)
	pcUser = &sigra.User{ID: "01900000-0000-7000-8000-000000000001", Email: "user@example.com", EmailConfirmedAt: pcT0, CreatedAt: pcT0}
)

// pcUI is a UI with the account pack on a site mounted at the default
// prefix /auth, with a brand that has a support link and a logo (which
// the emails show).
func pcUI(t testing.TB) *ui.UI {
	t.Helper()
	s, err := site.New(site.Config{BaseURL: "https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := ui.New(s, ui.Config{
		Brand: ui.Brand{ProductName: "Acme", SupportURL: "https://help.example.com/", LogoURL: "https://cdn.example.com/acme.png"},
		Packs: []ui.Pack{account.Pages()},
	})
	if err != nil {
		t.Fatalf("ui.New with the account pack: %v", err)
	}
	return u
}

// pcCase is one representative rendering of a page.
type pcCase struct {
	page, label string
	data        any
	user        bool
	// fields maps a FieldErrors key to the id of the control it marks.
	fields map[string]string
	// autocomplete maps a control name to its autocomplete value.
	autocomplete map[string]string
	// check makes the page's own assertions.
	check func(t *testing.T, doc *html.Node)
}

func (c pcCase) String() string {
	if c.label != "" {
		return c.page + "/" + c.label
	}
	return c.page
}

func pcCases() []pcCase {
	return []pcCase{
		{page: "register", data: &account.RegisterData{MinPasswordLength: 12},
			fields:       map[string]string{"email": "email", "password": "password"},
			autocomplete: map[string]string{"email": "email", "password": "new-password"},
			check: func(t *testing.T, doc *html.Node) {
				if got := htmlcheck.AttrOr(htmlcheck.ControlsByName(doc)["password"][0], "minlength", ""); got != "12" {
					t.Errorf("password minlength: got %q, want 12", got)
				}
				pcWantText(t, doc, "Create your Acme account", "At least 12 characters")
				pcWantForm(t, doc, "/auth/register")
				pcWantLink(t, doc, "/auth/login")
			}},
		{page: "register_done", data: &account.SentData{Email: "new@example.com"},
			check: func(t *testing.T, doc *html.Node) {
				pcWantText(t, doc, "Check your email", "new@example.com")
				pcWantLink(t, doc, "/auth/login")
			}},
		{page: "login", data: &account.LoginData{AllowRegister: true, AllowMagicLink: true},
			fields:       map[string]string{"email": "email", "password": "password", "remember": "remember"},
			autocomplete: map[string]string{"email": "username", "password": "current-password"},
			check: func(t *testing.T, doc *html.Node) {
				pcWantForm(t, doc, "/auth/login")
				for _, href := range []string{"/auth/register", "/auth/magic", "/auth/password/forgot"} {
					pcWantLink(t, doc, href)
				}
				if rm := htmlcheck.ControlsByName(doc)["remember"]; len(rm) != 1 || htmlcheck.AttrOr(rm[0], "type", "") != "checkbox" {
					t.Errorf("remember: got %d controls, want one checkbox", len(rm))
				}
			}},
		{page: "login", label: "password only", data: &account.LoginData{},
			fields: map[string]string{"email": "email", "password": "password"},
			check: func(t *testing.T, doc *html.Node) {
				pcNoLink(t, doc, "/auth/register")
				pcNoLink(t, doc, "/auth/magic")
				pcWantLink(t, doc, "/auth/password/forgot")
			}},
		{page: "confirm", label: "link", data: &account.ConfirmData{Email: "user@example.com", Token: "tok-confirm"},
			check: func(t *testing.T, doc *html.Node) {
				pcWantToken(t, doc, "tok-confirm")
				if n := len(htmlcheck.Controls(htmlcheck.ByTag(doc, "main")[0])); n != 0 {
					t.Errorf("got %d controls on the link's confirm page, want none (one button)", n)
				}
				pcWantForm(t, doc, "/auth/confirm")
				pcWantText(t, doc, "user@example.com")
			}},
		{page: "confirm", label: "code", data: &account.ConfirmData{Email: "user@example.com", CodeLength: 8, CanResend: true},
			fields:       map[string]string{"code": "code"},
			autocomplete: map[string]string{"code": "one-time-code"},
			check: func(t *testing.T, doc *html.Node) {
				pcWantText(t, doc, "8-digit code", "user@example.com")
				pcWantForm(t, doc, "/auth/confirm")
				pcWantForm(t, doc, "/auth/confirm/resend")
				if n := len(htmlcheck.ControlsByName(doc)["email"]); n != 0 {
					t.Errorf("got %d email fields with the address known, want none", n)
				}
				if got := htmlcheck.HiddenValues(doc, "token"); len(got) != 0 {
					t.Errorf("token fields on the code page: got %q, want none", got)
				}
			}},
		{page: "confirm", label: "anonymous", data: &account.ConfirmData{CodeLength: 6, CanResend: true},
			fields:       map[string]string{"code": "code", "email": "email", "resend_email": "resend-email"},
			autocomplete: map[string]string{"code": "one-time-code", "email": "email"},
			check: func(t *testing.T, doc *html.Node) {
				if n := len(htmlcheck.ControlsByName(doc)["email"]); n != 2 {
					t.Errorf("got %d email fields, want 2 (code form and resend form)", n)
				}
				pcWantText(t, doc, "6-digit code")
				pcWantForm(t, doc, "/auth/confirm/resend")
			}},
		{page: "forgot", fields: map[string]string{"email": "email"},
			autocomplete: map[string]string{"email": "username"},
			check: func(t *testing.T, doc *html.Node) {
				pcWantForm(t, doc, "/auth/password/forgot")
				pcWantLink(t, doc, "/auth/login")
			}},
		{page: "forgot_sent", data: &account.SentData{Email: "user@example.com"},
			check: func(t *testing.T, doc *html.Node) { pcWantText(t, doc, "user@example.com", "one hour") }},
		{page: "reset", data: &account.ResetData{Token: "tok-reset", MinPasswordLength: 10},
			fields:       map[string]string{"password": "password"},
			autocomplete: map[string]string{"password": "new-password"},
			check: func(t *testing.T, doc *html.Node) {
				pcWantToken(t, doc, "tok-reset")
				pcWantForm(t, doc, "/auth/password/reset")
				if got := htmlcheck.AttrOr(htmlcheck.ControlsByName(doc)["password"][0], "minlength", ""); got != "10" {
					t.Errorf("password minlength: got %q, want 10", got)
				}
			}},
		{page: "reset_expired", check: func(t *testing.T, doc *html.Node) {
			pcWantText(t, doc, "expired")
			pcWantLink(t, doc, "/auth/password/forgot")
		}},
		{page: "magic", fields: map[string]string{"email": "email"},
			autocomplete: map[string]string{"email": "username"},
			check: func(t *testing.T, doc *html.Node) {
				pcWantForm(t, doc, "/auth/magic")
				pcWantLink(t, doc, "/auth/login")
			}},
		{page: "magic_sent", data: &account.SentData{Email: "user@example.com"},
			check: func(t *testing.T, doc *html.Node) { pcWantText(t, doc, "user@example.com", "15 minutes") }},
		{page: "magic_confirm", data: &account.TokenData{Token: "tok-magic"},
			check: func(t *testing.T, doc *html.Node) {
				pcWantToken(t, doc, "tok-magic")
				pcWantForm(t, doc, "/auth/magic/verify")
			}},
		{page: "new_device_confirm", data: &account.TokenData{Token: "tok-notme"},
			check: func(t *testing.T, doc *html.Node) { pcWantToken(t, doc, "tok-notme") }},
		{page: "new_device_done", data: &account.NewDeviceDoneData{Email: "user@example.com"},
			check: func(t *testing.T, doc *html.Node) { pcWantText(t, doc, "user@example.com") }},
		{page: "link_expired", check: func(t *testing.T, doc *html.Node) {
			pcWantText(t, doc, "expired")
			pcWantLink(t, doc, "/auth/login")
			pcNoLink(t, doc, "/auth/settings")
		}},
		{page: "link_expired", label: "signed in", user: true, check: func(t *testing.T, doc *html.Node) {
			pcWantLink(t, doc, "/auth/settings")
			pcNoLink(t, doc, "/auth/login")
		}},
		{page: "sudo", user: true, data: &account.SudoData{HasPassword: true, HasTOTP: true, HasPasskey: true},
			fields:       map[string]string{"password": "password", "code": "sudo-code"},
			autocomplete: map[string]string{"password": "current-password", "code": "one-time-code"},
			check: func(t *testing.T, doc *html.Node) {
				if n := len(htmlcheck.Forms(doc, "/auth/sudo")); n != 2 {
					t.Errorf("got %d forms posting to /auth/sudo, want 2 (password and code)", n)
				}
				pcWantText(t, doc, "user@example.com")
			}},
		{page: "sudo", label: "password only", user: true, data: &account.SudoData{HasPassword: true},
			fields: map[string]string{"password": "password"},
			check: func(t *testing.T, doc *html.Node) {
				if n := len(htmlcheck.ControlsByName(doc)["code"]); n != 0 {
					t.Errorf("got %d code fields without TOTP, want none", n)
				}
			}},
		{page: "sudo", label: "no credential", user: true, data: &account.SudoData{HasPasskey: true},
			check: func(t *testing.T, doc *html.Node) {
				if n := len(htmlcheck.Forms(doc, "/auth/logout")); n != 2 {
					t.Errorf("got %d forms posting to /auth/logout, want 2 (header and page)", n)
				}
				if n := len(htmlcheck.Forms(doc, "/auth/sudo")); n != 0 {
					t.Errorf("got %d forms posting to /auth/sudo, want none", n)
				}
			}},
		{page: "sessions", user: true, data: &account.SessionsData{Devices: []account.Device{
			{ID: "s-current", Browser: "Firefox", OS: "Linux", Kind: "Desktop", IP: "192.0.2.1", Current: true, CreatedAt: pcT0, LastSeenAt: pcT0},
			{ID: "s-phone", Browser: "Safari", OS: "iOS", Kind: "Mobile", IP: "198.51.100.7", CreatedAt: pcT0, LastSeenAt: pcT0},
			{ID: "s-pending", Pending: true, CreatedAt: pcT0},
		}},
			check: func(t *testing.T, doc *html.Node) {
				if got := htmlcheck.HiddenValues(doc, "id"); !slices.Equal(got, []string{"s-phone", "s-pending"}) {
					t.Errorf("revoke forms for %q, want [s-phone s-pending] (never the current session)", got)
				}
				pcWantText(t, doc, "This device", "Firefox on Linux", "Safari on iOS", "Unknown browser", "Awaiting second factor", "198.51.100.7")
				pcWantForm(t, doc, "/auth/sessions/revoke-others")
				pcTimes(t, doc)
			}},
		{page: "sessions", label: "alone", user: true, data: &account.SessionsData{Devices: []account.Device{{ID: "s1", Current: true}}},
			check: func(t *testing.T, doc *html.Node) {
				if n := len(htmlcheck.Forms(doc, "/auth/sessions/revoke-others")) + len(htmlcheck.Forms(doc, "/auth/sessions/revoke")); n != 0 {
					t.Errorf("got %d revoke forms with only this device, want none", n)
				}
			}},
		{page: "delete", user: true, data: &account.DeleteAccountData{Grace: 30 * 24 * time.Hour, Email: "user@example.com"},
			fields:       map[string]string{"confirm_email": "confirm_email"},
			autocomplete: map[string]string{"confirm_email": "off"},
			check: func(t *testing.T, doc *html.Node) {
				pcWantText(t, doc, "30 days", "user@example.com")
				pcWantForm(t, doc, "/auth/delete")
				pcWantLink(t, doc, "/auth/settings")
			}},
		{page: "delete", label: "at once", user: true, data: &account.DeleteAccountData{Email: "user@example.com"},
			fields: map[string]string{"confirm_email": "confirm_email"},
			check:  func(t *testing.T, doc *html.Node) { pcWantText(t, doc, "cannot be undone") }},
		{page: "delete_scheduled", data: &account.DeleteScheduledData{DueAt: pcT0},
			check: func(t *testing.T, doc *html.Node) {
				pcWantText(t, doc, "Mar 14, 2026")
				pcWantLink(t, doc, "/auth/login")
				pcTimes(t, doc)
			}},
		{page: "email_confirm", user: true, data: &account.EmailChangeData{Token: "tok-email", NewEmail: "next@example.com"},
			check: func(t *testing.T, doc *html.Node) {
				pcWantText(t, doc, "next@example.com")
				pcWantToken(t, doc, "tok-email")
				pcWantForm(t, doc, "/auth/email/confirm")
			}},
	}
}

// pcVariants are the renderings of every case: as first shown, after a
// submission with an error on each field, and with every notice a page
// can carry and a return_to.
var pcVariants = []struct {
	name string
	edit func(p *ui.Page, fields map[string]string)
}{
	{"plain", func(*ui.Page, map[string]string) {}},
	{"field errors", func(p *ui.Page, fields map[string]string) {
		p.FieldErrors = map[string]string{}
		for key := range fields {
			p.FieldErrors[key] = "Problem with " + key + "."
		}
	}},
	{"notices", func(p *ui.Page, fields map[string]string) {
		p.Flash = "Saved your changes."
		p.Error = "Something needs attention."
		p.Banner = "Confirm your email address: we sent a link to user@example.com."
		p.ReturnTo = "/billing?tab=card"
		p.FieldErrors = map[string]string{}
		for key := range fields {
			p.FieldErrors[key] = "Problem with " + key + "."
		}
	}},
}

// TestPageChecks renders every page of the pack in each variant and checks
// the markup, the accessibility and the behaviour of each page.
func TestPageChecks(t *testing.T) {
	t.Parallel()
	u := pcUI(t)
	cases := pcCases()
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.page] = true
	}
	if got, want := slices.Sorted(maps.Keys(covered)), slices.Sorted(maps.Keys(account.Pages().Pages)); !slices.Equal(got, want) {
		t.Errorf("pages with a case: got %q, want every page of the pack %q", got, want)
	}
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			t.Parallel()
			for _, v := range pcVariants {
				t.Run(v.name, func(t *testing.T) {
					p := &ui.Page{CSRFToken: "csrf-" + strings.ReplaceAll(v.name, " ", "-"), Data: c.data, Values: map[string]string{}}
					if c.user {
						p.User = pcUser
					}
					for _, name := range []string{"email", "password", "current_password", "code", "recovery_code", "confirm_email", "remember"} {
						p.Values[name] = "sticky-" + name
					}
					v.edit(p, c.fields)
					pcCheckPage(t, u, c, p)
				})
			}
		})
	}
}

// pcCheckPage renders c with p and checks it.
func pcCheckPage(t *testing.T, u *ui.UI, c pcCase, p *ui.Page) {
	t.Helper()
	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodGet, "/auth/x", nil), http.StatusUnprocessableEntity, c.page, p)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status: got %d, want %d; body:\n%s", rec.Code, http.StatusUnprocessableEntity, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type: got %q, want text/html; charset=utf-8", got)
	}
	body := rec.Body.String()
	doc := htmlcheck.Page(t, body, htmlcheck.Options{CSRFToken: p.CSRFToken})
	for _, pr := range htmlcheck.FieldErrors(doc, c.fields, p.FieldErrors) {
		t.Errorf("%s", pr)
	}
	for _, pr := range htmlcheck.Autocomplete(doc, c.autocomplete) {
		t.Errorf("%s", pr)
	}
	// Sticky values: an email field keeps what was typed; nothing else
	// that was typed comes back, least of all a password or a code.
	for name, ins := range htmlcheck.ControlsByName(doc) {
		for _, in := range ins {
			v, has := htmlcheck.Attr(in, "value")
			switch typ := htmlcheck.AttrOr(in, "type", ""); {
			case name == "email" && typ == "email":
				if v != p.Values["email"] {
					t.Errorf("email field: got value %q, want the typed %q", v, p.Values["email"])
				}
			case typ == "checkbox" || typ == "radio":
			case has && v != "":
				t.Errorf("control %q: got value %q, want none", name, v)
			}
		}
	}
	for _, secret := range []string{"sticky-password", "sticky-current_password", "sticky-code", "sticky-recovery_code", "sticky-confirm_email"} {
		if strings.Contains(body, secret) {
			t.Errorf("the page shows the typed %q", secret)
		}
	}
	header := htmlcheck.ByTag(doc, "header")
	if len(header) != 1 {
		t.Fatalf("got %d <header>, want 1", len(header))
	}
	if c.user {
		if !strings.Contains(htmlcheck.Text(header[0]), pcUser.Email) {
			t.Errorf("header: got %q, want the user's address", htmlcheck.Text(header[0]))
		}
		if n := len(htmlcheck.Forms(header[0], "/auth/logout")); n != 1 {
			t.Errorf("header: got %d sign-out forms, want 1", n)
		}
	} else if strings.Contains(htmlcheck.Text(header[0]), "Sign out") {
		t.Error("header: got a sign-out button without a user")
	}
	pcNotices(t, doc, p, "/auth/logout")
	if c.check != nil {
		c.check(t, doc)
	}
}

// pcNotices checks that the notices of p are announced, and that every
// form but the sign-out one carries p's return_to.
func pcNotices(t *testing.T, doc *html.Node, p *ui.Page, signOut string) {
	t.Helper()
	problems := htmlcheck.Announced(doc, htmlcheck.Notices{Flash: p.Flash, Error: p.Error, FieldErrors: p.FieldErrors, Banner: p.Banner})
	if p.ReturnTo != "" {
		problems = append(problems, htmlcheck.ReturnTo(doc, p.ReturnTo, signOut)...)
	}
	for _, pr := range problems {
		t.Errorf("%s", pr)
	}
}

func pcWantText(t *testing.T, doc *html.Node, subs ...string) {
	t.Helper()
	all := htmlcheck.Text(doc)
	for _, s := range subs {
		if !strings.Contains(all, s) {
			t.Errorf("page text: got no %q", s)
		}
	}
}

func pcWantLink(t *testing.T, doc *html.Node, href string) {
	t.Helper()
	if hs := htmlcheck.Hrefs(doc); !slices.Contains(hs, href) {
		t.Errorf("links: got %q, want one to %q", hs, href)
	}
}

func pcNoLink(t *testing.T, doc *html.Node, href string) {
	t.Helper()
	if slices.Contains(htmlcheck.Hrefs(doc), href) {
		t.Errorf("links: got one to %q, want none", href)
	}
}

func pcWantForm(t *testing.T, doc *html.Node, action string) {
	t.Helper()
	if len(htmlcheck.Forms(doc, action)) == 0 {
		t.Errorf("forms: got none posting to %q, want one", action)
	}
}

// pcWantToken checks that the page posts the emailed token back, once, in
// a form.
func pcWantToken(t *testing.T, doc *html.Node, token string) {
	t.Helper()
	if got := htmlcheck.HiddenValues(doc, "token"); !slices.Equal(got, []string{token}) {
		t.Errorf("token fields: got %q, want [%q]", got, token)
		return
	}
	for _, in := range htmlcheck.ByTag(doc, "input") {
		if htmlcheck.AttrOr(in, "name", "") == "token" && htmlcheck.Ancestor(in, "form") == nil {
			t.Error("the token field is outside any form")
		}
	}
}

// pcTimes checks that every <time> has a machine-readable datetime.
func pcTimes(t *testing.T, doc *html.Node) {
	t.Helper()
	times := htmlcheck.ByTag(doc, "time")
	if len(times) == 0 {
		t.Error("got no <time> element, want the dates marked up")
	}
	for _, tm := range times {
		if _, err := time.Parse(time.RFC3339, htmlcheck.AttrOr(tm, "datetime", "")); err != nil {
			t.Errorf("<time datetime=%q>: %v", htmlcheck.AttrOr(tm, "datetime", ""), err)
		}
	}
}

// pcSections are representative data of every settings section of the
// pack.
func pcSections() []struct {
	name, label  string
	data         any
	fields       map[string]string
	autocomplete map[string]string
	want, not    []string // forms (action) or links (href) that must, or must not, be there
} {
	type s = struct {
		name, label  string
		data         any
		fields       map[string]string
		autocomplete map[string]string
		want, not    []string
	}
	return []s{
		{"email", "confirmed", &account.EmailSection{Email: "user@example.com", Confirmed: true},
			map[string]string{"email": "email"}, map[string]string{"email": "email"},
			[]string{"form /auth/email"}, []string{"form /auth/confirm/resend", "form /auth/email/cancel"}},
		{"email", "unconfirmed with a change pending", &account.EmailSection{Email: "user@example.com", Pending: "next@example.com"},
			map[string]string{"email": "email"}, nil,
			[]string{"form /auth/email", "form /auth/confirm/resend", "form /auth/email/cancel"}, nil},
		{"password", "change", &account.PasswordSection{HasPassword: true, MinPasswordLength: 12},
			map[string]string{"current_password": "current_password", "password": "password"},
			map[string]string{"current_password": "current-password", "password": "new-password"},
			[]string{"form /auth/password", "link /auth/password/forgot"}, nil},
		{"password", "set", &account.PasswordSection{MinPasswordLength: 12},
			map[string]string{"password": "password"}, map[string]string{"password": "new-password"},
			[]string{"form /auth/password"}, nil},
		{"devices", "", &account.DevicesSection{Count: 3}, nil, nil, []string{"link /auth/sessions"}, nil},
		{"delete", "", &account.DeleteSection{Grace: 14 * 24 * time.Hour}, nil, nil, []string{"link /auth/delete"}, nil},
	}
}

// TestSectionChecks renders every settings section of the pack, plain and
// with errors on its fields, and checks it as a part of a page.
func TestSectionChecks(t *testing.T) {
	t.Parallel()
	u := pcUI(t)
	seen := map[string]bool{}
	for _, s := range pcSections() {
		seen[s.name] = true
		for _, v := range pcVariants[:2] {
			t.Run(strings.TrimSuffix(s.name+"/"+s.label, "/")+"/"+v.name, func(t *testing.T) {
				p := &ui.Page{CSRFToken: "csrf", User: pcUser, Values: map[string]string{"email": "sticky-email", "password": "sticky-password", "current_password": "sticky-current_password"}}
				v.edit(p, s.fields)
				out, err := u.RenderSection(s.name, p, s.data)
				if err != nil {
					t.Fatal(err)
				}
				body := string(out)
				for _, pr := range htmlcheck.Check(body, htmlcheck.Options{CSRFToken: "csrf", Fragment: true}) {
					t.Errorf("HTML check: %s", pr)
				}
				doc, err := htmlcheck.Parse(body)
				if err != nil {
					t.Fatal(err)
				}
				for _, pr := range htmlcheck.FieldErrors(doc, s.fields, p.FieldErrors) {
					t.Errorf("%s", pr)
				}
				for _, pr := range htmlcheck.Autocomplete(doc, s.autocomplete) {
					t.Errorf("%s", pr)
				}
				for _, secret := range []string{"sticky-password", "sticky-current_password"} {
					if strings.Contains(body, secret) {
						t.Errorf("the section shows the typed %q", secret)
					}
				}
				has := func(what string) bool {
					kind, target, _ := strings.Cut(what, " ")
					if kind == "form" {
						return len(htmlcheck.Forms(doc, target)) > 0
					}
					return slices.Contains(htmlcheck.Hrefs(doc), target)
				}
				for _, w := range s.want {
					if !has(w) {
						t.Errorf("got no %s, want one", w)
					}
				}
				for _, n := range s.not {
					if has(n) {
						t.Errorf("got a %s, want none", n)
					}
				}
			})
		}
	}
	if got, want := slices.Sorted(maps.Keys(seen)), slices.Sorted(maps.Keys(account.Pages().Sections)); !slices.Equal(got, want) {
		t.Errorf("sections with a case: got %q, want every section of the pack %q", got, want)
	}
}

// TestSettingsPageChecks renders the settings page made of every section
// of the pack, as the account feature serves it: the sections together
// keep the page valid (no id used twice, one h1).
func TestSettingsPageChecks(t *testing.T) {
	t.Parallel()
	u := pcUI(t)
	fixed := func(v any) func(*http.Request) (any, error) {
		return func(*http.Request) (any, error) { return v, nil }
	}
	sections := []ui.Section{
		{Name: "email", Order: 10, Data: fixed(&account.EmailSection{Email: "user@example.com", Pending: "next@example.com"})},
		{Name: "password", Order: 20, Data: fixed(&account.PasswordSection{HasPassword: true, MinPasswordLength: 12})},
		{Name: "devices", Order: 30, Data: fixed(&account.DevicesSection{Count: 2})},
		{Name: "delete", Order: 1000, Data: fixed(&account.DeleteSection{Grace: 14 * 24 * time.Hour})},
	}
	for _, v := range pcVariants {
		t.Run(v.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/auth/settings", nil)
			p := &ui.Page{CSRFToken: "csrf", User: pcUser, Values: map[string]string{"email": "sticky-email"}}
			fields := map[string]string{"email": "email", "current_password": "current_password", "password": "password"}
			v.edit(p, fields)
			data, _, err := u.Settings(r, p, sections)
			if err != nil {
				t.Fatal(err)
			}
			p.Data = data
			rec := httptest.NewRecorder()
			u.Render(rec, r, http.StatusOK, "settings", p)
			if rec.Code != http.StatusOK {
				t.Fatalf("status: got %d, want 200; body:\n%s", rec.Code, rec.Body)
			}
			doc := htmlcheck.Page(t, rec.Body.String(), htmlcheck.Options{CSRFToken: "csrf"})
			for _, pr := range htmlcheck.FieldErrors(doc, fields, p.FieldErrors) {
				t.Errorf("%s", pr)
			}
			pcNotices(t, doc, p, "/auth/logout")
			for _, action := range []string{"/auth/email", "/auth/email/cancel", "/auth/confirm/resend", "/auth/password"} {
				pcWantForm(t, doc, action)
			}
			pcWantLink(t, doc, "/auth/sessions")
			pcWantLink(t, doc, "/auth/delete")
		})
	}
}

// pcEmails are representative data of every email of the pack, with the
// texts that both parts must show.
func pcEmails() map[string]struct {
	data *ui.Email
	want []string
} {
	type c = struct {
		data *ui.Email
		want []string
	}
	e := func(link, code, expires string, data any) *ui.Email {
		return &ui.Email{To: "user@example.com", Link: link, Code: code, ExpiresIn: expires, Data: data,
			IP: "192.0.2.10", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", When: pcT0}
	}
	return map[string]c{
		"confirm": {e("https://app.example.com/auth/confirm?token=T1", "493817", "48 hours", nil),
			[]string{"https://app.example.com/auth/confirm?token=T1", "493817", "48 hours"}},
		"register_exists": {e("https://app.example.com/auth/login", "", "", nil),
			[]string{"https://app.example.com/auth/login", "192.0.2.10"}},
		"reset": {e("https://app.example.com/auth/password/reset?token=T2", "", "1 hour", nil),
			[]string{"https://app.example.com/auth/password/reset?token=T2", "1 hour", "Firefox/140.0"}},
		"password_reset_done": {e("https://app.example.com/auth/password/forgot", "", "", nil),
			[]string{"https://app.example.com/auth/password/forgot", "Mar 14, 2026"}},
		"magic_link": {e("https://app.example.com/auth/magic/verify?token=T3", "", "15 minutes", nil),
			[]string{"https://app.example.com/auth/magic/verify?token=T3", "15 minutes"}},
		"password_changed": {e("https://app.example.com/auth/password/forgot", "", "", nil),
			[]string{"https://app.example.com/auth/password/forgot", "192.0.2.10"}},
		"account_deleted": {e("", "", "", nil), []string{"deleted", "Acme"}},
		"new_device": {e("https://app.example.com/auth/not-me?token=T9", "", "", &account.NewDeviceMail{Browser: "Firefox", OS: "Linux"}),
			[]string{"https://app.example.com/auth/not-me?token=T9", "192.0.2.10", "Firefox"}},
		"lockout": {e("https://app.example.com/auth/password/forgot", "", "15 minutes", nil),
			[]string{"15 minutes", "https://app.example.com/auth/password/forgot"}},
		"email_change_confirm": {e("https://app.example.com/auth/email/confirm?token=T4", "", "24 hours", &account.EmailChangeMail{NewEmail: "new@example.com"}),
			[]string{"new@example.com", "https://app.example.com/auth/email/confirm?token=T4", "24 hours"}},
		"email_change_notice": {e("https://app.example.com/auth/settings", "", "", &account.EmailChangeMail{NewEmail: "new@example.com"}),
			[]string{"new@example.com", "user@example.com", "https://app.example.com/auth/settings"}},
		"deletion_scheduled": {e("https://app.example.com/auth/login", "", "", &account.DeletionMail{DueAt: pcT0.Add(30 * 24 * time.Hour)}),
			[]string{"Apr 13, 2026", "https://app.example.com/auth/login"}},
	}
}

// TestEmailChecks renders every email of the pack and checks both parts:
// a plain subject, the link (a button and the link as text), the code,
// the email's own values, the request's details, valid and safe HTML.
func TestEmailChecks(t *testing.T) {
	t.Parallel()
	u := pcUI(t)
	cases := pcEmails()
	if got, want := slices.Sorted(maps.Keys(cases)), slices.Sorted(maps.Keys(account.Pages().Emails)); !slices.Equal(got, want) {
		t.Errorf("emails with a case: got %q, want every email of the pack %q", got, want)
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			subject, text, body, err := u.RenderEmail(name, c.data)
			if err != nil {
				t.Fatal(err)
			}
			pcCheckEmail(t, subject, text, body, c.data, c.want)
		})
	}
}

// pcCheckEmail checks a rendered email made from data: want must be in
// both parts.
func pcCheckEmail(t *testing.T, subject, text, body string, data *ui.Email, want []string) {
	t.Helper()
	if subject == "" || strings.ContainsAny(subject, "\r\n{}<>") || strings.HasPrefix(subject, "Subject") {
		t.Errorf("subject: got %q, want one plain line", subject)
	}
	if strings.HasPrefix(text, "Subject:") || strings.HasPrefix(text, "\n") {
		t.Errorf("text part: starts with %q, want the message", text[:min(20, len(text))])
	}
	for _, r := range text {
		if r != '\n' && unicode.IsControl(r) {
			t.Errorf("text part: got control character %U", r)
		}
	}
	if !strings.Contains(text, data.To) {
		t.Errorf("text part: does not say whom it was sent to (%s)", data.To)
	}
	for _, pr := range htmlcheck.Email(body) {
		t.Errorf("HTML part: %s", pr)
	}
	doc, err := htmlcheck.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := htmlcheck.Text(htmlcheck.ByTag(doc, "title")[0]); got != subject {
		t.Errorf("HTML title: got %q, want the subject %q", got, subject)
	}
	htmlText := htmlcheck.Text(doc)
	hrefs := htmlcheck.Hrefs(doc)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("text part: got no %q in:\n%s", w, text)
		}
		if !strings.Contains(htmlText, w) && !slices.Contains(hrefs, w) {
			t.Errorf("HTML part: got no %q", w)
		}
	}
	if data.Link != "" {
		// The action link is a button, repeated as a plain link with the
		// address as its text.
		if n := pcCount(hrefs, data.Link); n != 2 {
			t.Errorf("HTML part: got %d links to %q, want 2 (button and plain link)", n, data.Link)
		}
		if !strings.Contains(htmlText, data.Link) {
			t.Errorf("HTML part: the link %q is not shown as text", data.Link)
		}
	}
	if data.Code != "" && (!strings.Contains(text, data.Code) || !strings.Contains(htmlText, data.Code)) {
		t.Errorf("the code %q is not in both parts", data.Code)
	}
	if !slices.Contains(hrefs, "https://help.example.com/") {
		t.Error("HTML part: got no support link")
	}
	if !slices.ContainsFunc(htmlcheck.ByTag(doc, "img"), func(n *html.Node) bool {
		return htmlcheck.AttrOr(n, "src", "") == "https://cdn.example.com/acme.png" && htmlcheck.AttrOr(n, "alt", "") == "Acme"
	}) {
		t.Error("HTML part: got no logo with the product name as its alt text")
	}
}

func pcCount(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// TestEmailChecksUntrusted feeds values a request controls (a user agent
// and an address with line breaks and markup, a javascript: link) into
// every email of the pack: none starts a line of its own, becomes markup
// or a link that runs script.
func TestEmailChecksUntrusted(t *testing.T) {
	t.Parallel()
	u := pcUI(t)
	for name := range account.Pages().Emails {
		t.Run(name, func(t *testing.T) {
			data := &ui.Email{
				To:        "user@example.com\r\nBcc: victim@example.com",
				Link:      "javascript:alert(1)",
				Code:      "123\n456",
				ExpiresIn: "1 hour\r\nReply with your password",
				IP:        "192.0.2.1\n\nYour account is compromised",
				UserAgent: "Evil/1.0\r\nClick https://evil.example.com <script>alert(1)</script>",
				When:      pcT0,
			}
			subject, text, body, err := u.RenderEmail(name, data)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(subject, "\r\n") {
				t.Errorf("subject %q: got a line break", subject)
			}
			if strings.Contains(text, "\r") {
				t.Error("text part: got a carriage return")
			}
			for _, line := range strings.Split(text, "\n") {
				for _, injected := range []string{"Bcc:", "Click ", "Your account is compromised", "Reply with your password", "456"} {
					if strings.HasPrefix(strings.TrimSpace(line), injected) {
						t.Errorf("text part: an untrusted value started its own line: %q", line)
					}
				}
			}
			doc, err := htmlcheck.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(htmlcheck.ByTag(doc, "script")); n != 0 {
				t.Errorf("HTML part: got %d <script> from the user agent, want none", n)
			}
			for _, h := range htmlcheck.Hrefs(doc) {
				if strings.HasPrefix(strings.ToLower(h), "javascript:") {
					t.Errorf("HTML part: got a javascript link %q", h)
				}
			}
		})
	}
}

// TestPageChecksZeroData renders every page of the pack with a nil Page
// and with a Page without Data: the zero value the pack declares renders
// a valid page.
func TestPageChecksZeroData(t *testing.T) {
	t.Parallel()
	u := pcUI(t)
	for name := range account.Pages().Pages {
		for _, p := range []*ui.Page{nil, {User: pcUser, CSRFToken: "csrf"}} {
			rec := httptest.NewRecorder()
			u.Render(rec, httptest.NewRequest(http.MethodGet, "/auth/x", nil), http.StatusOK, name, p)
			if rec.Code != http.StatusOK {
				t.Errorf("%s (signed in: %v): got status %d, want 200", name, p != nil, rec.Code)
				continue
			}
			token := ""
			if p != nil {
				token = p.CSRFToken
			}
			for _, pr := range htmlcheck.Check(rec.Body.String(), htmlcheck.Options{CSRFToken: token}) {
				t.Errorf("%s (signed in: %v): HTML check: %s", name, p != nil, pr)
			}
		}
	}
}
