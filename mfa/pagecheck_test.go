package mfa_test

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image"
	"image/png"
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
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/ui"
)

// The page checks: every page, settings section and email of the
// two-factor pack, rendered through a ui.UI with realistic data (beside the
// account pack, as an application has them), passes the HTML checks of
// internal/htmlcheck and shows what it is for; the pack's template
// functions keep unsafe values out of the pages.

var (
	pcT0   = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)
	pcUser = &sigra.User{ID: "01900000-0000-7000-8000-000000000001", Email: "user@example.com", EmailConfirmedAt: pcT0, CreatedAt: pcT0}
)

const (
	pcSecret = "JBSWY3DPEHPK3PXPJBSWY3DP"
	pcURI    = "otpauth://totp/Acme:user@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=Acme"
)

// pcUI is a UI with the account and two-factor packs on a site mounted at
// the default prefix /auth, with a brand that has a support link and a
// logo (which the emails show).
func pcUI(t testing.TB) *ui.UI {
	t.Helper()
	s, err := site.New(site.Config{BaseURL: "https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := ui.New(s, ui.Config{
		Brand: ui.Brand{ProductName: "Acme", SupportURL: "https://help.example.com/", LogoURL: "https://cdn.example.com/acme.png"},
		Packs: []ui.Pack{account.Pages(), mfa.Pages()},
	})
	if err != nil {
		t.Fatalf("ui.New with the account and mfa packs: %v", err)
	}
	return u
}

// pcQR returns a real PNG as a data URI, like the QR code the enrollment
// page shows.
func pcQR(t testing.TB) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 29, 29))); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())
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
	// check makes the page's own assertions; p is the page rendered.
	check func(t *testing.T, doc *html.Node, p *ui.Page)
}

func (c pcCase) String() string {
	if c.label != "" {
		return c.page + "/" + c.label
	}
	return c.page
}

func pcCases(t testing.TB) []pcCase {
	qr := pcQR(t)
	codes := []string{"7kqmx-4rdp2", "g5h6i-j7k8l", "m9n0o-p1q2r"}
	return []pcCase{
		{page: "mfa_setup", user: true, data: &mfa.SetupData{QRDataURI: qr, Secret: pcSecret, URI: pcURI, Digits: 6, Enrollment: "sealed-blob"},
			fields:       map[string]string{"code": "code"},
			autocomplete: map[string]string{"code": "one-time-code"},
			check: func(t *testing.T, doc *html.Node, _ *ui.Page) {
				imgs := htmlcheck.ByTag(htmlcheck.ByTag(doc, "main")[0], "img")
				if !slices.ContainsFunc(imgs, func(n *html.Node) bool {
					return htmlcheck.AttrOr(n, "src", "") == qr && strings.Contains(htmlcheck.AttrOr(n, "alt", ""), "QR code")
				}) {
					t.Error("got no QR image with alt text")
				}
				pcWantText(t, doc, "JBSW Y3DP EHPK 3PXP JBSW Y3DP", "6-digit code")
				pcWantLink(t, doc, pcURI)
				pcWantForm(t, doc, "/auth/mfa/setup")
				if got := htmlcheck.HiddenValues(doc, "enrollment"); !slices.Equal(got, []string{"sealed-blob"}) {
					t.Errorf("enrollment fields: got %q, want [sealed-blob]", got)
				}
				if got := pcCopyTexts(doc); !slices.Equal(got, []string{pcSecret}) {
					t.Errorf("copy buttons: got %q, want the secret without spaces", got)
				}
				pcWantLink(t, doc, "/auth/mfa")
			}},
		{page: "mfa_setup", label: "eight digits", user: true, data: &mfa.SetupData{QRDataURI: qr, Secret: pcSecret, URI: pcURI, Digits: 8},
			fields: map[string]string{"code": "code"},
			check: func(t *testing.T, doc *html.Node, _ *ui.Page) {
				pcWantText(t, doc, "8-digit code")
				if got := htmlcheck.HiddenValues(doc, "enrollment"); len(got) != 0 {
					t.Errorf("enrollment fields without an enrollment: got %q, want none", got)
				}
			}},
		{page: "mfa_setup", label: "unsafe values", user: true, data: &mfa.SetupData{QRDataURI: "data:text/html;base64,PHNjcmlwdD4=", Secret: pcSecret, URI: "javascript:alert(1)"},
			check: func(t *testing.T, doc *html.Node, _ *ui.Page) {
				if imgs := htmlcheck.ByTag(htmlcheck.ByTag(doc, "main")[0], "img"); len(imgs) != 0 {
					t.Errorf("got %d images for a QR code that is not a PNG, want none", len(imgs))
				}
				pcNoLink(t, doc, "javascript:alert(1)")
				for _, h := range htmlcheck.Hrefs(doc) {
					if strings.HasPrefix(h, "otpauth:") || strings.HasPrefix(h, "data:") {
						t.Errorf("got a link to %q, want none", h)
					}
				}
			}},
		{page: "mfa_challenge", data: &mfa.ChallengeData{AllowTrust: true, TrustDays: 30},
			fields:       map[string]string{"code": "code", "trust": "trust"},
			autocomplete: map[string]string{"code": "one-time-code"},
			check: func(t *testing.T, doc *html.Node, _ *ui.Page) {
				pcWantText(t, doc, "Trust this browser for 30 days")
				pcWantForm(t, doc, "/auth/mfa/challenge")
				pcWantLink(t, doc, "/auth/mfa/recovery")
				pcWantForm(t, doc, "/auth/logout")
				if tr := htmlcheck.ControlsByName(doc)["trust"]; len(tr) != 1 || htmlcheck.AttrOr(tr[0], "type", "") != "checkbox" {
					t.Errorf("trust: got %d controls, want one checkbox", len(tr))
				}
			}},
		{page: "mfa_challenge", label: "one day", data: &mfa.ChallengeData{AllowTrust: true, TrustDays: 1},
			fields: map[string]string{"code": "code", "trust": "trust"},
			check:  func(t *testing.T, doc *html.Node, _ *ui.Page) { pcWantText(t, doc, "Trust this browser for 1 day") }},
		{page: "mfa_challenge", label: "recovery code", data: &mfa.ChallengeData{Recovery: true},
			fields:       map[string]string{"recovery_code": "recovery_code"},
			autocomplete: map[string]string{"recovery_code": "off"},
			check: func(t *testing.T, doc *html.Node, _ *ui.Page) {
				controls := htmlcheck.ControlsByName(doc)
				if len(controls["trust"]) != 0 {
					t.Error("got a trust checkbox although AllowTrust is false")
				}
				if len(controls["code"]) != 0 {
					t.Error("got the authenticator code field when asking for a recovery code")
				}
				pcWantForm(t, doc, "/auth/mfa/recovery")
				pcWantLink(t, doc, "/auth/mfa/challenge")
			}},
		{page: "mfa_recovery_codes", user: true, data: &mfa.RecoveryCodesData{
			Codes: codes, DownloadURL: "data:text/plain;charset=utf-8;base64,N0tRTS1YNFJECg=="},
			check: func(t *testing.T, doc *html.Node, p *ui.Page) {
				var shown []string
				for _, li := range htmlcheck.ByTag(doc, "li") {
					if htmlcheck.Ancestor(li, "ol") != nil {
						shown = append(shown, htmlcheck.Text(li))
					}
				}
				if !slices.Equal(shown, codes) {
					t.Errorf("codes: got %q, want %q", shown, codes)
				}
				pcWantLink(t, doc, "data:text/plain;charset=utf-8;base64,N0tRTS1YNFJECg==")
				if got := pcCopyTexts(doc); !slices.Equal(got, []string{strings.Join(codes, "\n")}) {
					t.Errorf("copy buttons: got %q, want the codes one a line", got)
				}
				// Continuing goes back to return_to when set, else to the
				// two-factor settings.
				want := "/auth/mfa"
				if p.ReturnTo != "" {
					want = p.ReturnTo
				}
				pcWantLink(t, doc, want)
			}},
		{page: "mfa_recovery_codes", label: "download from a path", user: true, data: &mfa.RecoveryCodesData{Codes: codes, DownloadURL: "/auth/mfa/recovery-codes.txt"},
			check: func(t *testing.T, doc *html.Node, _ *ui.Page) { pcWantLink(t, doc, "/auth/mfa/recovery-codes.txt") }},
		{page: "mfa_recovery_codes", label: "unsafe download", user: true, data: &mfa.RecoveryCodesData{Codes: codes, DownloadURL: "data:text/html;base64,PHNjcmlwdD4="},
			check: func(t *testing.T, doc *html.Node, _ *ui.Page) {
				for _, h := range htmlcheck.Hrefs(doc) {
					if strings.HasPrefix(h, "data:") {
						t.Errorf("got a link to %q, want no download link", h)
					}
				}
			}},
		{page: "mfa", user: true, data: &mfa.SettingsData{Enabled: true, RecoveryCodesLeft: 2, Trusted: []mfa.TrustedBrowser{
			{ID: "tb-1", Browser: "Chrome", OS: "macOS", IP: "203.0.113.9", CreatedAt: pcT0, ExpiresAt: pcT0.Add(30 * 24 * time.Hour)},
		}},
			fields: map[string]string{"regenerate_code": "regenerate-code", "disable_code": "disable-code"},
			check: func(t *testing.T, doc *html.Node, _ *ui.Page) {
				ids := htmlcheck.ByID(doc)
				// Regenerating takes an authenticator code; turning off also
				// accepts a recovery code, which has letters.
				if in := ids["regenerate-code"]; in == nil || htmlcheck.AttrOr(in, "autocomplete", "") != "one-time-code" {
					t.Error("regenerate code field: got no autocomplete=one-time-code")
				}
				if in := ids["disable-code"]; in == nil || htmlcheck.AttrOr(in, "inputmode", "") == "numeric" || htmlcheck.AttrOr(in, "autocomplete", "") != "off" {
					t.Error("disable code field: want one that accepts letters (a recovery code), without autocomplete")
				}
				for _, action := range []string{"/auth/mfa/recovery-codes/regenerate", "/auth/mfa/disable", "/auth/mfa/trusted/revoke", "/auth/mfa/trusted/revoke-all"} {
					pcWantForm(t, doc, action)
				}
				if got := htmlcheck.HiddenValues(doc, "id"); !slices.Equal(got, []string{"tb-1"}) {
					t.Errorf("trusted browsers to forget: got %q, want [tb-1]", got)
				}
				pcWantText(t, doc, "Chrome on macOS", "203.0.113.9", "2 unused codes", "running low")
				pcNoLink(t, doc, "/auth/mfa/setup")
				if nav := htmlcheck.ByTag(doc, "nav"); len(nav) == 0 || !slices.Contains(htmlcheck.Hrefs(nav[0]), "/auth/mfa") {
					t.Error("settings navigation: got no entry for two-factor authentication")
				}
			}},
		{page: "mfa", label: "codes left", user: true, data: &mfa.SettingsData{Enabled: true, RecoveryCodesLeft: 8},
			fields: map[string]string{"regenerate_code": "regenerate-code", "disable_code": "disable-code"},
			check: func(t *testing.T, doc *html.Node, _ *ui.Page) {
				pcWantText(t, doc, "8 unused codes", "No browsers are trusted")
				if strings.Contains(htmlcheck.Text(doc), "running low") {
					t.Error("got the running-low warning with 8 codes left")
				}
				if n := len(htmlcheck.Forms(doc, "/auth/mfa/trusted/revoke-all")); n != 0 {
					t.Errorf("got %d forget-all forms without trusted browsers, want none", n)
				}
			}},
		{page: "mfa", label: "off", user: true, data: &mfa.SettingsData{},
			check: func(t *testing.T, doc *html.Node, _ *ui.Page) {
				pcWantLink(t, doc, "/auth/mfa/setup")
				for _, action := range []string{"/auth/mfa/disable", "/auth/mfa/recovery-codes/regenerate"} {
					if n := len(htmlcheck.Forms(doc, action)); n != 0 {
						t.Errorf("got %d forms posting to %q with two-factor off, want none", n, action)
					}
				}
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
	cases := pcCases(t)
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.page] = true
	}
	if got, want := slices.Sorted(maps.Keys(covered)), slices.Sorted(maps.Keys(mfa.Pages().Pages)); !slices.Equal(got, want) {
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
					for _, name := range []string{"email", "password", "code", "recovery_code", "trust"} {
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
	body := rec.Body.String()
	doc := htmlcheck.Page(t, body, htmlcheck.Options{CSRFToken: p.CSRFToken})
	problems := htmlcheck.FieldErrors(doc, c.fields, p.FieldErrors)
	problems = append(problems, htmlcheck.Autocomplete(doc, c.autocomplete)...)
	problems = append(problems, htmlcheck.Announced(doc, htmlcheck.Notices{Flash: p.Flash, Error: p.Error, FieldErrors: p.FieldErrors, Banner: p.Banner})...)
	if p.ReturnTo != "" {
		problems = append(problems, htmlcheck.ReturnTo(doc, p.ReturnTo, "/auth/logout")...)
	}
	for _, pr := range problems {
		t.Errorf("%s", pr)
	}
	// Codes, recovery codes and passwords typed in never come back.
	for name, ins := range htmlcheck.ControlsByName(doc) {
		for _, in := range ins {
			typ := htmlcheck.AttrOr(in, "type", "")
			if v, _ := htmlcheck.Attr(in, "value"); v != "" && typ != "checkbox" && typ != "radio" {
				t.Errorf("control %q: got value %q, want none", name, v)
			}
		}
	}
	for _, secret := range []string{"sticky-password", "sticky-code", "sticky-recovery_code"} {
		if strings.Contains(body, secret) {
			t.Errorf("the page shows the typed %q", secret)
		}
	}
	header := htmlcheck.ByTag(doc, "header")
	if len(header) != 1 {
		t.Fatalf("got %d <header>, want 1", len(header))
	}
	if c.user != strings.Contains(htmlcheck.Text(header[0]), pcUser.Email) {
		t.Errorf("header: got %q, want the user's address only when signed in (%v)", htmlcheck.Text(header[0]), c.user)
	}
	if c.check != nil {
		c.check(t, doc, p)
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

// pcCopyTexts returns what the page's copy buttons copy.
func pcCopyTexts(doc *html.Node) []string {
	var out []string
	for _, b := range htmlcheck.ByTag(doc, "button") {
		if v, ok := htmlcheck.Attr(b, "data-copy-text"); ok {
			out = append(out, v)
		}
	}
	return out
}

// TestSectionChecks renders the pack's settings section, on and off, and
// checks it as a part of a page, then within the settings page beside the
// account's sections.
func TestSectionChecks(t *testing.T) {
	t.Parallel()
	u := pcUI(t)
	tests := []struct {
		label string
		data  *mfa.TwoFactorSection
		want  []string
	}{
		{"on", &mfa.TwoFactorSection{Enabled: true, RecoveryCodesLeft: 1}, []string{"On", "1 recovery code left", "Manage"}},
		{"off", &mfa.TwoFactorSection{}, []string{"Off", "Set up"}},
	}
	if got := slices.Sorted(maps.Keys(mfa.Pages().Sections)); !slices.Equal(got, []string{"two_factor"}) {
		t.Errorf("sections of the pack: got %q, want [two_factor] (add a case for each)", got)
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			out, err := u.RenderSection("two_factor", &ui.Page{CSRFToken: "csrf", User: pcUser}, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range htmlcheck.Check(string(out), htmlcheck.Options{CSRFToken: "csrf", Fragment: true}) {
				t.Errorf("HTML check: %s", pr)
			}
			doc, err := htmlcheck.Parse(string(out))
			if err != nil {
				t.Fatal(err)
			}
			pcWantText(t, doc, tt.want...)
			pcWantLink(t, doc, "/auth/mfa")

			// The settings page made of every section.
			fixed := func(v any) func(*http.Request) (any, error) {
				return func(*http.Request) (any, error) { return v, nil }
			}
			r := httptest.NewRequest(http.MethodGet, "/auth/settings", nil)
			p := &ui.Page{CSRFToken: "csrf", User: pcUser}
			data, byName, err := u.Settings(r, p, []ui.Section{
				{Name: "email", Order: 10, Data: fixed(&account.EmailSection{Email: "user@example.com", Confirmed: true})},
				{Name: "password", Order: 20, Data: fixed(&account.PasswordSection{HasPassword: true})},
				{Name: "devices", Order: 30, Data: fixed(&account.DevicesSection{Count: 1})},
				{Name: "two_factor", Order: 40, Data: fixed(tt.data)},
				{Name: "delete", Order: 1000, Data: fixed(&account.DeleteSection{})},
			})
			if err != nil {
				t.Fatal(err)
			}
			if byName["two_factor"] != tt.data {
				t.Errorf("settings data of two_factor: got %v, want the section's data", byName["two_factor"])
			}
			p.Data = data
			rec := httptest.NewRecorder()
			u.Render(rec, r, http.StatusOK, "settings", p)
			page := htmlcheck.Page(t, rec.Body.String(), htmlcheck.Options{CSRFToken: "csrf"})
			pcWantText(t, page, tt.want...)
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
	e := func(link, expires string, data any) *ui.Email {
		return &ui.Email{To: "user@example.com", Link: link, ExpiresIn: expires, Data: data,
			IP: "192.0.2.10", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", When: pcT0}
	}
	const forgot = "https://app.example.com/auth/password/forgot"
	return map[string]c{
		"mfa_enabled":                {e("", "", nil), []string{"turned on", "192.0.2.10", "Mar 14, 2026"}},
		"mfa_disabled":               {e(forgot, "", nil), []string{"turned off", forgot, "Firefox/140.0"}},
		"recovery_codes_regenerated": {e("", "", nil), []string{"no longer work", "192.0.2.10"}},
		"mfa_lockout":                {e(forgot, "15 minutes", nil), []string{"15 minutes", forgot}},
		"recovery_code_used":         {e(forgot, "", &mfa.RecoveryCodeMail{Remaining: 2}), []string{"2 recovery codes", "running low", forgot}},
	}
}

// TestEmailChecks renders every email of the pack and checks both parts:
// a plain subject, the link (a button and the link as text), the email's
// own values, the request's details, valid and safe HTML.
func TestEmailChecks(t *testing.T) {
	t.Parallel()
	u := pcUI(t)
	cases := pcEmails()
	if got, want := slices.Sorted(maps.Keys(cases)), slices.Sorted(maps.Keys(mfa.Pages().Emails)); !slices.Equal(got, want) {
		t.Errorf("emails with a case: got %q, want every email of the pack %q", got, want)
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			subject, text, body, err := u.RenderEmail(name, c.data)
			if err != nil {
				t.Fatal(err)
			}
			if subject == "" || strings.ContainsAny(subject, "\r\n{}<>") || strings.HasPrefix(subject, "Subject") {
				t.Errorf("subject: got %q, want one plain line", subject)
			}
			for _, r := range text {
				if r != '\n' && unicode.IsControl(r) {
					t.Errorf("text part: got control character %U", r)
				}
			}
			if !strings.Contains(text, c.data.To) {
				t.Errorf("text part: does not say whom it was sent to (%s)", c.data.To)
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
			htmlText, hrefs := htmlcheck.Text(doc), htmlcheck.Hrefs(doc)
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("text part: got no %q in:\n%s", w, text)
				}
				if !strings.Contains(htmlText, w) && !slices.Contains(hrefs, w) {
					t.Errorf("HTML part: got no %q", w)
				}
			}
			if c.data.Link != "" {
				n := 0
				for _, h := range hrefs {
					if h == c.data.Link {
						n++
					}
				}
				if n != 2 || !strings.Contains(htmlText, c.data.Link) {
					t.Errorf("HTML part: got %d links to %q, want 2 (button and plain link, shown as text)", n, c.data.Link)
				}
			}
			if !slices.Contains(hrefs, "https://help.example.com/") {
				t.Error("HTML part: got no support link")
			}
		})
	}
}

// TestRecoveryCodeUsedMail: the count of codes left comes from the email's
// Data, with the warning only when few are left.
func TestRecoveryCodeUsedMail(t *testing.T) {
	t.Parallel()
	u := pcUI(t)
	tests := []struct {
		remaining int
		want      string
		low       bool
	}{
		{0, "0 recovery codes", true},
		{1, "1 recovery code left", true},
		{3, "3 recovery codes", true},
		{4, "4 recovery codes", false},
		{9, "9 recovery codes", false},
	}
	for _, tt := range tests {
		_, text, body, err := u.RenderEmail("recovery_code_used", &ui.Email{To: "user@example.com", Data: &mfa.RecoveryCodeMail{Remaining: tt.remaining}})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := htmlcheck.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		for part, s := range map[string]string{"text": text, "HTML": htmlcheck.Text(doc)} {
			if !strings.Contains(s, tt.want) {
				t.Errorf("%d left, %s part: got no %q", tt.remaining, part, tt.want)
			}
			if got := strings.Contains(s, "running low"); got != tt.low {
				t.Errorf("%d left, %s part: running-low warning %v, want %v", tt.remaining, part, got, tt.low)
			}
		}
	}
}

// pcFunc returns the template function name of the pack as F.
func pcFunc[F any](t *testing.T, name string) F {
	t.Helper()
	f, ok := mfa.Pages().Funcs[name].(F)
	if !ok {
		t.Fatalf("template function %q of the pack: got %T, want %T", name, mfa.Pages().Funcs[name], f)
	}
	return f
}

// TestPackFuncs checks the template functions the pack's pages use to
// show the secret and to keep unsafe URLs out.
func TestPackFuncs(t *testing.T) {
	t.Parallel()
	t.Run("group4", func(t *testing.T) {
		group4 := pcFunc[func(string) string](t, "group4")
		for in, want := range map[string]string{
			"JBSWY3DPEHPK3PXP":    "JBSW Y3DP EHPK 3PXP",
			"JBSW Y3DP EHPK 3PXP": "JBSW Y3DP EHPK 3PXP",
			"JBSWY3":              "JBSW Y3",
			"":                    "",
			"ab-cd-ef":            "abcd ef",
			"ÄÖÜßäöüé":            "ÄÖÜß äöüé",
		} {
			if got := group4(in); got != want {
				t.Errorf("group4(%q): got %q, want %q", in, got, want)
			}
		}
	})
	t.Run("compact", func(t *testing.T) {
		compact := pcFunc[func(string) string](t, "compact")
		for in, want := range map[string]string{
			"JBSW Y3DP EHPK 3PXP": "JBSWY3DPEHPK3PXP",
			" JBSW\tY3DP\n":       "JBSWY3DP",
			"":                    "",
		} {
			if got := compact(in); got != want {
				t.Errorf("compact(%q): got %q, want %q", in, got, want)
			}
		}
	})
	t.Run("trustLabel", func(t *testing.T) {
		trustLabel := pcFunc[func(int) string](t, "trustLabel")
		for in, want := range map[int]string{
			30: "Trust this browser for 30 days",
			1:  "Trust this browser for 1 day",
			0:  "Trust this browser",
			-3: "Trust this browser",
		} {
			if got := trustLabel(in); got != want {
				t.Errorf("trustLabel(%d): got %q, want %q", in, got, want)
			}
		}
	})
	t.Run("qrImage", func(t *testing.T) {
		qrImage := pcFunc[func(string) template.URL](t, "qrImage")
		qr := pcQR(t)
		for _, tt := range []struct {
			in   string
			want template.URL
		}{
			{qr, template.URL(qr)},
			{"data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("not a png at all")), ""},
			{"data:image/png;base64,!!!", ""},
			{"data:text/html;base64,PHNjcmlwdD4=", ""},
			{"data:image/svg+xml;base64,PHN2Zy8+", ""},
			{"https://example.com/qr.png", ""},
			{"javascript:alert(1)", ""},
			{"", ""},
		} {
			if got := qrImage(tt.in); got != tt.want {
				t.Errorf("qrImage(%.40q): got %.40q, want %.40q", tt.in, got, tt.want)
			}
		}
	})
	t.Run("otpauthURL", func(t *testing.T) {
		otpauthURL := pcFunc[func(string) template.URL](t, "otpauthURL")
		for _, tt := range []struct {
			in   string
			want template.URL
		}{
			{pcURI, pcURI},
			{"OTPAUTH://totp/x?secret=A", "OTPAUTH://totp/x?secret=A"},
			{"javascript:alert(1)", ""},
			{"https://example.com/", ""},
			{`otpauth://totp/x"onmouseover="alert(1)`, ""},
			{"otpauth://totp/x y", ""},
			{"otpauth://totp/x\ny", ""},
			{"otpauth://totp/<script>", ""},
			{"otpauth:/", ""},
			{"", ""},
		} {
			if got := otpauthURL(tt.in); got != tt.want {
				t.Errorf("otpauthURL(%q): got %q, want %q", tt.in, got, tt.want)
			}
		}
	})
	t.Run("downloadURL", func(t *testing.T) {
		downloadURL := pcFunc[func(string) any](t, "downloadURL")
		for _, tt := range []struct {
			in   string
			want any
		}{
			{"data:text/plain;charset=utf-8;base64,N0tRTQ==", template.URL("data:text/plain;charset=utf-8;base64,N0tRTQ==")},
			{"DATA:text/plain,7KQM", template.URL("DATA:text/plain,7KQM")},
			{"/auth/mfa/recovery-codes.txt", "/auth/mfa/recovery-codes.txt"},
			{"https://app.example.com/codes.txt", "https://app.example.com/codes.txt"},
			{"data:text/html;base64,PHNjcmlwdD4=", ""},
			{"data:text/plainx,abc", ""},
			{"javascript:alert(1)", ""},
			{"//evil.example.com/codes.txt", ""},
			{"codes.txt", ""},
			{"/codes.txt\"onclick=\"x", ""},
			{"/codes .txt", ""},
			{"", ""},
		} {
			if got := downloadURL(tt.in); got != tt.want {
				t.Errorf("downloadURL(%q): got %#v, want %#v", tt.in, got, tt.want)
			}
		}
	})
}

// TestPageChecksZeroData renders every page of the pack with a nil Page
// and with a Page without Data: the zero value the pack declares renders
// a valid page.
func TestPageChecksZeroData(t *testing.T) {
	t.Parallel()
	u := pcUI(t)
	for name := range mfa.Pages().Pages {
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

// TestEmailChecksUntrusted feeds values a request controls (a user agent
// and an address with line breaks and markup, a javascript: link) into
// every email of the pack: none starts a line of its own, becomes markup
// or a link that runs script.
func TestEmailChecksUntrusted(t *testing.T) {
	t.Parallel()
	u := pcUI(t)
	for name := range mfa.Pages().Emails {
		data := &ui.Email{
			To:        "user@example.com\r\nBcc: victim@example.com",
			Link:      "javascript:alert(1)",
			ExpiresIn: "1 hour\r\nReply with your password",
			IP:        "192.0.2.1\n\nYour account is compromised",
			UserAgent: "Evil/1.0\r\nClick https://evil.example.com <script>alert(1)</script>",
			When:      pcT0,
		}
		subject, text, body, err := u.RenderEmail(name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.ContainsAny(subject, "\r\n") || strings.Contains(text, "\r") {
			t.Errorf("%s: got a carriage return or a line break in the subject or the text", name)
		}
		for _, line := range strings.Split(text, "\n") {
			for _, injected := range []string{"Bcc:", "Click ", "Your account is compromised", "Reply with your password"} {
				if strings.HasPrefix(strings.TrimSpace(line), injected) {
					t.Errorf("%s: text part: an untrusted value started its own line: %q", name, line)
				}
			}
		}
		doc, err := htmlcheck.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(htmlcheck.ByTag(doc, "script")); n != 0 {
			t.Errorf("%s: HTML part: got %d <script> from the user agent, want none", name, n)
		}
		for _, h := range htmlcheck.Hrefs(doc) {
			if strings.HasPrefix(strings.ToLower(h), "javascript:") {
				t.Errorf("%s: HTML part: got a javascript link %q", name, h)
			}
		}
	}
}
