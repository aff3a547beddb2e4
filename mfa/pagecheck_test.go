package mfa_test

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/htmlcheck"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/ui"
)

// The page checks: every page, settings section and email of the
// two-factor pack, rendered through a ui.UI with realistic data (beside the
// account pack, as an application has them), passes the checks of
// apptest.PageCheck and shows what it is for; the pack's template
// functions keep unsafe values out of the pages.

// pcT0 is the time of the fixtures (apptest.PageCheck.Time).
var pcT0 = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

const (
	pcSecret = "JBSWY3DPEHPK3PXPJBSWY3DP"
	pcURI    = "otpauth://totp/Acme:user@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=Acme"
)

// pcCheck is the page check of the two-factor pack, beside the account
// pack.
func pcCheck(t testing.TB) *apptest.PageCheck {
	t.Helper()
	return apptest.NewPageCheck(t, mfa.Pages(), account.Pages())
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

func pcCases(t testing.TB) []apptest.PageCase {
	type want = htmlcheck.Want
	type list = []string
	type fields = map[string]string
	qr := pcQR(t)
	codes := []string{"7kqmx-4rdp2", "g5h6i-j7k8l", "m9n0o-p1q2r"}
	return []apptest.PageCase{
		{Page: "mfa_setup", User: true, Data: &mfa.SetupData{QRDataURI: qr, Secret: pcSecret, URI: pcURI, Digits: 6, Enrollment: "sealed-blob"},
			Fields: fields{"code": "code"},
			Want: want{Autocomplete: fields{"code": "one-time-code"}, Text: list{"JBSW Y3DP EHPK 3PXP JBSW Y3DP", "6-digit code"},
				Links: list{pcURI, "/auth/mfa"}, Forms: list{"/auth/mfa/setup"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				imgs := htmlcheck.ByTag(htmlcheck.ByTag(doc, "main")[0], "img")
				if !slices.ContainsFunc(imgs, func(n *html.Node) bool {
					return htmlcheck.AttrOr(n, "src", "") == qr && strings.Contains(htmlcheck.AttrOr(n, "alt", ""), "QR code")
				}) {
					t.Error("got no QR image with alt text")
				}
				if got := htmlcheck.HiddenValues(doc, "enrollment"); !slices.Equal(got, []string{"sealed-blob"}) {
					t.Errorf("enrollment fields: got %q, want [sealed-blob]", got)
				}
				if got := pcCopyTexts(doc); !slices.Equal(got, []string{pcSecret}) {
					t.Errorf("copy buttons: got %q, want the secret without spaces", got)
				}
			}},
		{Page: "mfa_setup", Label: "eight digits", User: true, Data: &mfa.SetupData{QRDataURI: qr, Secret: pcSecret, URI: pcURI, Digits: 8},
			Fields: fields{"code": "code"},
			Want:   want{Text: list{"8-digit code"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				if got := htmlcheck.HiddenValues(doc, "enrollment"); len(got) != 0 {
					t.Errorf("enrollment fields without an enrollment: got %q, want none", got)
				}
			}},
		{Page: "mfa_setup", Label: "unsafe values", User: true, Data: &mfa.SetupData{QRDataURI: "data:text/html;base64,PHNjcmlwdD4=", Secret: pcSecret, URI: "javascript:alert(1)"},
			Want: want{NoLinks: list{"javascript:alert(1)"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				if imgs := htmlcheck.ByTag(htmlcheck.ByTag(doc, "main")[0], "img"); len(imgs) != 0 {
					t.Errorf("got %d images for a QR code that is not a PNG, want none", len(imgs))
				}
				for _, h := range htmlcheck.Hrefs(doc) {
					if strings.HasPrefix(h, "otpauth:") || strings.HasPrefix(h, "data:") {
						t.Errorf("got a link to %q, want none", h)
					}
				}
			}},
		{Page: "mfa_challenge", Data: &mfa.ChallengeData{AllowTrust: true, TrustDays: 30},
			Fields: fields{"code": "code", "trust": "trust"},
			Want: want{Autocomplete: fields{"code": "one-time-code"}, Text: list{"Trust this browser for 30 days"},
				Forms: list{"/auth/mfa/challenge", "/auth/logout"}, Links: list{"/auth/mfa/recovery"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				if tr := htmlcheck.ControlsByName(doc)["trust"]; len(tr) != 1 || htmlcheck.AttrOr(tr[0], "type", "") != "checkbox" {
					t.Errorf("trust: got %d controls, want one checkbox", len(tr))
				}
			}},
		{Page: "mfa_challenge", Label: "one day", Data: &mfa.ChallengeData{AllowTrust: true, TrustDays: 1},
			Fields: fields{"code": "code", "trust": "trust"},
			Want:   want{Text: list{"Trust this browser for 1 day"}}},
		{Page: "mfa_challenge", Label: "recovery code", Data: &mfa.ChallengeData{Recovery: true},
			Fields: fields{"recovery_code": "recovery_code"},
			Want: want{Autocomplete: fields{"recovery_code": "off"},
				Forms: list{"/auth/mfa/recovery"}, Links: list{"/auth/mfa/challenge"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				controls := htmlcheck.ControlsByName(doc)
				if len(controls["trust"]) != 0 {
					t.Error("got a trust checkbox although AllowTrust is false")
				}
				if len(controls["code"]) != 0 {
					t.Error("got the authenticator code field when asking for a recovery code")
				}
			}},
		{Page: "mfa_recovery_codes", User: true, Data: &mfa.RecoveryCodesData{
			Codes: codes, DownloadURL: "data:text/plain;charset=utf-8;base64,N0tRTS1YNFJECg=="},
			Want: want{Links: list{"data:text/plain;charset=utf-8;base64,N0tRTS1YNFJECg=="}},
			Check: func(t testing.TB, doc *html.Node, p *ui.Page) {
				var shown []string
				for _, li := range htmlcheck.ByTag(doc, "li") {
					if htmlcheck.Ancestor(li, "ol") != nil {
						shown = append(shown, htmlcheck.Text(li))
					}
				}
				if !slices.Equal(shown, codes) {
					t.Errorf("codes: got %q, want %q", shown, codes)
				}
				if got := pcCopyTexts(doc); !slices.Equal(got, []string{strings.Join(codes, "\n")}) {
					t.Errorf("copy buttons: got %q, want the codes one a line", got)
				}
				// Continuing goes back to return_to when set, else to the
				// two-factor settings.
				next := "/auth/mfa"
				if p.ReturnTo != "" {
					next = p.ReturnTo
				}
				htmlcheck.Expect(t, doc, want{Links: list{next}})
			}},
		{Page: "mfa_recovery_codes", Label: "download from a path", User: true, Data: &mfa.RecoveryCodesData{Codes: codes, DownloadURL: "/auth/mfa/recovery-codes.txt"},
			Want: want{Links: list{"/auth/mfa/recovery-codes.txt"}}},
		{Page: "mfa_recovery_codes", Label: "unsafe download", User: true, Data: &mfa.RecoveryCodesData{Codes: codes, DownloadURL: "data:text/html;base64,PHNjcmlwdD4="},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				for _, h := range htmlcheck.Hrefs(doc) {
					if strings.HasPrefix(h, "data:") {
						t.Errorf("got a link to %q, want no download link", h)
					}
				}
			}},
		{Page: "mfa", User: true, Data: &mfa.SettingsData{Enabled: true, RecoveryCodesLeft: 2, Trusted: []mfa.TrustedBrowser{
			{ID: "tb-1", Browser: "Chrome", OS: "macOS", IP: "203.0.113.9", CreatedAt: pcT0, ExpiresAt: pcT0.Add(30 * 24 * time.Hour)},
		}},
			Fields: fields{"regenerate_code": "regenerate-code", "disable_code": "disable-code"},
			Want: want{Text: list{"Chrome on macOS", "203.0.113.9", "2 unused codes", "running low"}, NoLinks: list{"/auth/mfa/setup"},
				Forms: list{"/auth/mfa/recovery-codes/regenerate", "/auth/mfa/disable", "/auth/mfa/trusted/revoke", "/auth/mfa/trusted/revoke-all"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				ids := htmlcheck.ByID(doc)
				// Regenerating takes an authenticator code; turning off also
				// accepts a recovery code, which has letters.
				if in := ids["regenerate-code"]; in == nil || htmlcheck.AttrOr(in, "autocomplete", "") != "one-time-code" {
					t.Error("regenerate code field: got no autocomplete=one-time-code")
				}
				if in := ids["disable-code"]; in == nil || htmlcheck.AttrOr(in, "inputmode", "") == "numeric" || htmlcheck.AttrOr(in, "autocomplete", "") != "off" {
					t.Error("disable code field: want one that accepts letters (a recovery code), without autocomplete")
				}
				if got := htmlcheck.HiddenValues(doc, "id"); !slices.Equal(got, []string{"tb-1"}) {
					t.Errorf("trusted browsers to forget: got %q, want [tb-1]", got)
				}
				if nav := htmlcheck.ByTag(doc, "nav"); len(nav) == 0 || !slices.Contains(htmlcheck.Hrefs(nav[0]), "/auth/mfa") {
					t.Error("settings navigation: got no entry for two-factor authentication")
				}
			}},
		{Page: "mfa", Label: "codes left", User: true, Data: &mfa.SettingsData{Enabled: true, RecoveryCodesLeft: 8},
			Fields: fields{"regenerate_code": "regenerate-code", "disable_code": "disable-code"},
			Want:   want{Text: list{"8 unused codes", "No browsers are trusted"}, NoForms: list{"/auth/mfa/trusted/revoke-all"}},
			Check: func(t testing.TB, doc *html.Node, _ *ui.Page) {
				if strings.Contains(htmlcheck.Text(doc), "running low") {
					t.Error("got the running-low warning with 8 codes left")
				}
			}},
		{Page: "mfa", Label: "off", User: true, Data: &mfa.SettingsData{},
			Want: want{Links: list{"/auth/mfa/setup"}, NoForms: list{"/auth/mfa/disable", "/auth/mfa/recovery-codes/regenerate"}}},
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

// TestPageChecks renders every page of the pack in each variant and checks
// the markup, the accessibility and the behaviour of each page.
func TestPageChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Pages(t, pcCases(t))
}

// pcSectionCases are the pack's settings section, on and off, with the
// texts it shows.
var pcSectionCases = []struct {
	label string
	data  *mfa.TwoFactorSection
	want  []string
}{
	{"on", &mfa.TwoFactorSection{Enabled: true, RecoveryCodesLeft: 1}, []string{"On", "1 recovery code left", "Manage"}},
	{"off", &mfa.TwoFactorSection{}, []string{"Off", "Set up"}},
}

// TestSectionChecks renders the pack's settings section, on and off, and
// checks it as a part of a page.
func TestSectionChecks(t *testing.T) {
	t.Parallel()
	var cases []apptest.SectionCase
	for _, c := range pcSectionCases {
		cases = append(cases, apptest.SectionCase{Section: "two_factor", Label: c.label, Data: c.data,
			Want: htmlcheck.Want{Text: c.want, Links: []string{"/auth/mfa"}}})
	}
	pcCheck(t).Sections(t, cases)
}

// TestSettingsPageChecks renders the settings page with the pack's section
// beside the account's, on and off: the section's texts show, and the
// sections together keep the page valid.
func TestSettingsPageChecks(t *testing.T) {
	t.Parallel()
	var cases []apptest.SettingsCase
	for _, c := range pcSectionCases {
		cases = append(cases, apptest.SettingsCase{Label: c.label, Sections: []ui.Section{
			apptest.FixedSection("email", 10, &account.EmailSection{Email: "user@example.com", Confirmed: true}),
			apptest.FixedSection("password", 20, &account.PasswordSection{HasPassword: true}),
			apptest.FixedSection("devices", 30, &account.DevicesSection{Count: 1}),
			apptest.FixedSection("two_factor", 40, c.data),
			apptest.FixedSection("delete", 1000, &account.DeleteSection{}),
		}, Want: htmlcheck.Want{Text: c.want, Links: []string{"/auth/mfa"}}})
	}
	pcCheck(t).Settings(t, cases)
}

// TestEmailChecks renders every email of the pack and checks both parts:
// a plain subject, the link (a button and the link as text), the email's
// own values, the request's details, valid and safe HTML.
func TestEmailChecks(t *testing.T) {
	t.Parallel()
	type list = []string
	const forgot = "https://app.example.com/auth/password/forgot"
	pcCheck(t).Emails(t, map[string]apptest.EmailCase{
		"mfa_enabled":                {Want: list{"turned on", "192.0.2.10", "Mar 14, 2026"}},
		"mfa_disabled":               {Link: forgot, Want: list{"turned off", forgot, "Firefox/140.0"}},
		"recovery_codes_regenerated": {Want: list{"no longer work", "192.0.2.10"}},
		"mfa_lockout":                {Link: forgot, ExpiresIn: "15 minutes", Want: list{"15 minutes", forgot}},
		"recovery_code_used":         {Link: forgot, Data: &mfa.RecoveryCodeMail{Remaining: 2}, Want: list{"2 recovery codes", "running low", forgot}},
	})
}

// TestRecoveryCodeUsedMail: the count of codes left comes from the email's
// Data, with the warning only when few are left.
func TestRecoveryCodeUsedMail(t *testing.T) {
	t.Parallel()
	u := pcCheck(t).UI
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
	pcCheck(t).ZeroData(t)
}

// TestEmailChecksUntrusted feeds values a request controls (a user agent
// and an address with line breaks and markup, a javascript: link) into
// every email of the pack: none starts a line of its own, becomes markup
// or a link that runs script.
func TestEmailChecksUntrusted(t *testing.T) {
	t.Parallel()
	pcCheck(t).EmailsUntrusted(t)
}
