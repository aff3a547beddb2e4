package ui

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sigra-go/sigra"
)

func newTestUI(t testing.TB, cfg Config) *UI {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	u, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return u
}

// allLinks fills every link, as the account and mfa handlers do.
func allLinks() Links {
	return Links{
		Home: "/", Login: "/auth/login", Logout: "/auth/logout", Register: "/auth/register",
		Confirm: "/auth/confirm", ConfirmResend: "/auth/confirm/resend", Forgot: "/auth/forgot",
		Reset: "/auth/reset", Magic: "/auth/magic", MagicVerify: "/auth/magic/verify", Sudo: "/auth/sudo",
		Settings: "/auth/settings", Email: "/auth/settings/email", EmailConfirm: "/auth/email/confirm",
		EmailCancel: "/auth/settings/email/cancel", Password: "/auth/settings/password",
		Sessions: "/auth/sessions", SessionRevoke: "/auth/sessions/revoke",
		SessionsRevokeOthers: "/auth/sessions/revoke-others", Delete: "/auth/delete",
		DeleteCancel: "/auth/delete/cancel", MFA: "/auth/mfa", MFASetup: "/auth/mfa/setup",
		MFAChallenge: "/auth/mfa/challenge", MFARecovery: "/auth/mfa/recovery",
		MFARecoveryCodes: "/auth/mfa/recovery-codes", MFARegenerate: "/auth/mfa/regenerate",
		MFADisable: "/auth/mfa/disable", MFATrustedRevoke: "/auth/mfa/trusted/revoke",
		MFATrustedRevokeAll: "/auth/mfa/trusted/revoke-all",
	}
}

// testQR is a real PNG as a data URI, like the mfa handler's QR code.
func testQR(t testing.TB) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 29, 29))); err != nil {
		t.Fatal(err)
	}
	return pngDataPrefix + base64.StdEncoding.EncodeToString(b.Bytes())
}

var (
	testUser = &sigra.User{ID: "01900000-0000-7000-8000-000000000001", Email: "user@example.com",
		EmailConfirmedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
)

// pageCase is one representative rendering of a page.
type pageCase struct {
	label string // distinguishes several cases of one page
	page  string
	data  any
	user  bool
	// fields maps a FieldErrors key to the id of the input it must mark.
	fields map[string]string
	// autocomplete maps an input name to its required autocomplete value.
	autocomplete map[string]string
	// check makes page-specific assertions.
	check func(t *testing.T, doc *html.Node, body string)
}

func (c pageCase) String() string {
	if c.label != "" {
		return c.page + "/" + c.label
	}
	return c.page
}

func pageCases(t testing.TB) []pageCase {
	qr := testQR(t)
	return []pageCase{
		{page: "register", data: &RegisterData{MinPasswordLength: 12},
			fields:       map[string]string{"email": "email", "password": "password"},
			autocomplete: map[string]string{"email": "email", "password": "new-password"},
			check: func(t *testing.T, doc *html.Node, body string) {
				pw := inputsByName(doc)["password"][0]
				if got := attrOr(pw, "minlength", ""); got != "12" {
					t.Errorf("password minlength %q, want 12", got)
				}
				wantLink(t, doc, "/auth/login")
			}},
		{page: "register_done", data: &SentData{Email: "new@example.com"},
			check: wantText("new@example.com", "Check your email")},
		{page: "login", data: &LoginData{AllowRegister: true, AllowMagicLink: true},
			fields:       map[string]string{"email": "email", "password": "password"},
			autocomplete: map[string]string{"email": "username", "password": "current-password"},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantLink(t, doc, "/auth/register")
				wantLink(t, doc, "/auth/magic")
				wantLink(t, doc, "/auth/forgot")
				wantFormAction(t, doc, "/auth/login")
				if rm := inputsByName(doc)["remember"]; len(rm) != 1 || attrOr(rm[0], "type", "") != "checkbox" {
					t.Errorf("no remember checkbox")
				}
			}},
		{label: "closed", page: "login", data: LoginData{},
			check: func(t *testing.T, doc *html.Node, body string) {
				noLink(t, doc, "/auth/register")
				noLink(t, doc, "/auth/magic")
			}},
		{label: "token", page: "confirm", data: &ConfirmData{Email: "user@example.com", Token: "tok-confirm"},
			check: func(t *testing.T, doc *html.Node, body string) {
				if got := hiddenValues(doc, "token"); !slices.Equal(got, []string{"tok-confirm"}) {
					t.Errorf("token fields %q, want [tok-confirm]", got)
				}
				if len(inputsByName(doc)["code"]) != 0 {
					t.Errorf("a token page shows the code field")
				}
				wantFormAction(t, doc, "/auth/confirm")
			}},
		{label: "code", page: "confirm", data: &ConfirmData{Email: "user@example.com", CodeLength: 8, CanResend: true},
			fields:       map[string]string{"code": "code"},
			autocomplete: map[string]string{"code": "one-time-code"},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantText("8-digit code")(t, doc, body)
				wantFormAction(t, doc, "/auth/confirm")
				wantFormAction(t, doc, "/auth/confirm/resend")
			}},
		{label: "anonymous", page: "confirm", data: &ConfirmData{CodeLength: 6, CanResend: true},
			fields:       map[string]string{"code": "code", "email": "email", "resend_email": "resend-email"},
			autocomplete: map[string]string{"code": "one-time-code", "email": "email"},
			check: func(t *testing.T, doc *html.Node, body string) {
				if got := len(inputsByName(doc)["email"]); got != 2 {
					t.Errorf("got %d email fields, want 2 (code form and resend form)", got)
				}
				wantFormAction(t, doc, "/auth/confirm")
				wantFormAction(t, doc, "/auth/confirm/resend")
			}},
		{page: "forgot", fields: map[string]string{"email": "email"},
			autocomplete: map[string]string{"email": "username"},
			check:        func(t *testing.T, doc *html.Node, body string) { wantFormAction(t, doc, "/auth/forgot") }},
		{page: "forgot_sent", data: SentData{Email: "user@example.com"}, check: wantText("user@example.com")},
		{page: "reset", data: &ResetData{Token: "tok-reset", MinPasswordLength: 10},
			fields:       map[string]string{"password": "password"},
			autocomplete: map[string]string{"password": "new-password"},
			check: func(t *testing.T, doc *html.Node, body string) {
				if got := hiddenValues(doc, "token"); !slices.Equal(got, []string{"tok-reset"}) {
					t.Errorf("token fields %q, want [tok-reset]", got)
				}
				wantFormAction(t, doc, "/auth/reset")
			}},
		{page: "reset_expired", check: func(t *testing.T, doc *html.Node, body string) { wantLink(t, doc, "/auth/forgot") }},
		{page: "magic", fields: map[string]string{"email": "email"},
			autocomplete: map[string]string{"email": "username"},
			check:        func(t *testing.T, doc *html.Node, body string) { wantFormAction(t, doc, "/auth/magic") }},
		{page: "magic_sent", data: &SentData{Email: "user@example.com"}, check: wantText("user@example.com")},
		{page: "magic_confirm", data: &TokenData{Token: "tok-magic"},
			check: func(t *testing.T, doc *html.Node, body string) {
				if got := hiddenValues(doc, "token"); !slices.Equal(got, []string{"tok-magic"}) {
					t.Errorf("token fields %q, want [tok-magic]", got)
				}
				wantFormAction(t, doc, "/auth/magic/verify")
			}},
		{page: "link_expired", check: wantText("expired")},
		{page: "sudo", user: true, data: &SudoData{HasPassword: true, HasTOTP: true, HasPasskey: true},
			fields:       map[string]string{"password": "password", "code": "sudo-code"},
			autocomplete: map[string]string{"password": "current-password", "code": "one-time-code"},
			check: func(t *testing.T, doc *html.Node, body string) {
				if n := countForms(doc, "/auth/sudo"); n != 2 {
					t.Errorf("got %d forms posting to sudo, want 2 (password and code)", n)
				}
			}},
		{label: "password-only", page: "sudo", user: true, data: &SudoData{HasPassword: true},
			check: func(t *testing.T, doc *html.Node, body string) {
				if len(inputsByName(doc)["code"]) != 0 {
					t.Errorf("code field shown without TOTP")
				}
			}},
		{label: "no-credential", page: "sudo", user: true, data: &SudoData{HasPasskey: true},
			check: func(t *testing.T, doc *html.Node, body string) {
				if countForms(doc, "/auth/logout") != 2 { // header and page
					t.Errorf("no sign-in-again form")
				}
			}},
		{page: "settings", user: true, data: &SettingsData{Email: "user@example.com", EmailConfirmed: true,
			HasPassword: true, MinPasswordLength: 12, MFAEnabled: true, RecoveryCodesLeft: 7, SessionCount: 3},
			fields:       map[string]string{"email": "email", "current_password": "current_password", "password": "password"},
			autocomplete: map[string]string{"email": "email", "current_password": "current-password", "password": "new-password"},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantFormAction(t, doc, "/auth/settings/email")
				wantFormAction(t, doc, "/auth/settings/password")
				wantLink(t, doc, "/auth/sessions")
				wantLink(t, doc, "/auth/mfa")
				wantLink(t, doc, "/auth/delete")
				wantText("7 recovery codes", "3 devices are signed in")(t, doc, body)
				noFormAction(t, doc, "/auth/settings/email/cancel")
				noFormAction(t, doc, "/auth/delete/cancel")
			}},
		{label: "pending", page: "settings", user: true, data: SettingsData{Email: "user@example.com",
			PendingEmail: "next@example.com", DeletionDueAt: t0, SessionCount: 1},
			fields: map[string]string{"email": "email", "password": "password"},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantText("next@example.com", "Not confirmed", "Set a password", "Mar 14, 2026")(t, doc, body)
				wantFormAction(t, doc, "/auth/settings/email/cancel")
				wantFormAction(t, doc, "/auth/delete/cancel")
				wantFormAction(t, doc, "/auth/confirm/resend")
				if len(inputsByName(doc)["current_password"]) != 0 {
					t.Errorf("current_password asked of a user without a password")
				}
				noLink(t, doc, "/auth/delete")
			}},
		{page: "sessions", user: true, data: &SessionsData{Devices: []Device{
			{ID: "s-current", Browser: "Firefox", OS: "Linux", Kind: "Desktop", IP: "192.0.2.1", Current: true, CreatedAt: t0, LastSeenAt: t0},
			{ID: "s-phone", Browser: "Safari", OS: "iOS", Kind: "Mobile", IP: "198.51.100.7", CreatedAt: t0, LastSeenAt: t0},
			{ID: "s-pending", Kind: "", Pending: true, CreatedAt: t0},
		}},
			check: func(t *testing.T, doc *html.Node, body string) {
				if got := hiddenValues(doc, "id"); !slices.Equal(got, []string{"s-phone", "s-pending"}) {
					t.Errorf("revoke forms for %q, want [s-phone s-pending] (never the current one)", got)
				}
				wantText("This device", "Firefox on Linux", "Safari on iOS", "Unknown browser", "Awaiting second factor", "198.51.100.7")(t, doc, body)
				wantFormAction(t, doc, "/auth/sessions/revoke-others")
				for _, tm := range byTag(doc, "time") {
					if _, err := time.Parse(time.RFC3339, attrOr(tm, "datetime", "")); err != nil {
						t.Errorf("<time datetime=%q>: %v", attrOr(tm, "datetime", ""), err)
					}
				}
			}},
		{label: "alone", page: "sessions", user: true, data: &SessionsData{Devices: []Device{{ID: "s1", Current: true}}},
			check: func(t *testing.T, doc *html.Node, body string) {
				noFormAction(t, doc, "/auth/sessions/revoke-others")
				noFormAction(t, doc, "/auth/sessions/revoke")
			}},
		{page: "delete", user: true, data: &DeleteData{Grace: 30 * 24 * time.Hour, Email: "user@example.com"},
			fields:       map[string]string{"confirm_email": "confirm_email"},
			autocomplete: map[string]string{"confirm_email": "off"},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantText("30 days", "user@example.com")(t, doc, body)
				wantFormAction(t, doc, "/auth/delete")
			}},
		{label: "now", page: "delete", user: true, data: &DeleteData{Email: "user@example.com"},
			check: wantText("cannot be undone")},
		{page: "delete_scheduled", user: true, data: &DeleteScheduledData{DueAt: t0},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantText("Mar 14, 2026")(t, doc, body)
				wantFormAction(t, doc, "/auth/delete/cancel")
			}},
		{label: "signed-out", page: "delete_scheduled", data: &DeleteScheduledData{DueAt: t0},
			check: func(t *testing.T, doc *html.Node, body string) {
				noFormAction(t, doc, "/auth/delete/cancel")
				wantLink(t, doc, "/auth/login")
			}},
		{page: "email_confirm", user: true, data: &EmailChangeData{Token: "tok-email", NewEmail: "next@example.com"},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantText("next@example.com")(t, doc, body)
				if got := hiddenValues(doc, "token"); !slices.Equal(got, []string{"tok-email"}) {
					t.Errorf("token fields %q, want [tok-email]", got)
				}
				wantFormAction(t, doc, "/auth/email/confirm")
			}},
		{page: "error", data: &ErrorData{Status: 404}, check: wantText("Page not found", "404")},
		{label: "message", page: "error", data: &ErrorData{Status: 429, Message: "Slow down, please."},
			check: wantText("Slow down, please.", "Too many requests")},
		{page: "mfa_setup", user: true, data: &MFASetupData{QRDataURI: qr, Secret: "JBSWY3DPEHPK3PXPJBSWY3DP",
			URI: "otpauth://totp/Sigra:user@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=Sigra", Digits: 6, Enrollment: "sealed-blob"},
			fields:       map[string]string{"code": "code"},
			autocomplete: map[string]string{"code": "one-time-code"},
			check: func(t *testing.T, doc *html.Node, body string) {
				imgs := byTag(doc, "img")
				if !slices.ContainsFunc(imgs, func(n *html.Node) bool { return attrOr(n, "src", "") == qr && attrOr(n, "alt", "") != "" }) {
					t.Errorf("QR image with alt text missing")
				}
				wantText("JBSW Y3DP EHPK 3PXP JBSW Y3DP", "6-digit code")(t, doc, body)
				wantLink(t, doc, "otpauth://totp/Sigra:user@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=Sigra")
				wantFormAction(t, doc, "/auth/mfa/setup")
				if got := hiddenValues(doc, "enrollment"); !slices.Equal(got, []string{"sealed-blob"}) {
					t.Errorf("enrollment fields %q, want [sealed-blob]", got)
				}
			}},
		{label: "bad-qr", page: "mfa_setup", user: true, data: &MFASetupData{QRDataURI: "data:text/html;base64,PHNjcmlwdD4=",
			Secret: "JBSWY3DP", URI: "javascript:alert(1)"},
			check: func(t *testing.T, doc *html.Node, body string) {
				for _, img := range byTag(doc, "img") {
					if strings.HasPrefix(attrOr(img, "src", ""), "data:text") {
						t.Errorf("a non-PNG data URI was shown")
					}
				}
				noLink(t, doc, "javascript:alert(1)")
			}},
		{page: "mfa_challenge", data: &MFAChallengeData{AllowTrust: true, TrustDays: 30},
			fields:       map[string]string{"code": "code", "trust": "trust"},
			autocomplete: map[string]string{"code": "one-time-code"},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantText("Trust this browser for 30 days")(t, doc, body)
				wantFormAction(t, doc, "/auth/mfa/challenge")
				wantLink(t, doc, "/auth/mfa/recovery")
				wantFormAction(t, doc, "/auth/logout")
			}},
		{label: "recovery", page: "mfa_challenge", data: &MFAChallengeData{Recovery: true},
			fields:       map[string]string{"recovery_code": "recovery_code"},
			autocomplete: map[string]string{"recovery_code": "off"},
			check: func(t *testing.T, doc *html.Node, body string) {
				if len(inputsByName(doc)["trust"]) != 0 {
					t.Errorf("trust checkbox shown although AllowTrust is false")
				}
				if len(inputsByName(doc)["code"]) != 0 {
					t.Errorf("authenticator code field shown in recovery mode")
				}
				wantFormAction(t, doc, "/auth/mfa/recovery")
				wantLink(t, doc, "/auth/mfa/challenge")
			}},
		{label: "data-download", page: "mfa_recovery_codes", user: true, data: &RecoveryCodesData{
			Codes: []string{"7KQM-X4RD"}, DownloadURL: "data:text/plain;charset=utf-8;base64,N0tRTS1YNFJECg=="},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantLink(t, doc, "data:text/plain;charset=utf-8;base64,N0tRTS1YNFJECg==")
			}},
		{label: "html-download", page: "mfa_recovery_codes", user: true, data: &RecoveryCodesData{
			Codes: []string{"7KQM-X4RD"}, DownloadURL: "data:text/html;base64,PHNjcmlwdD4="},
			check: func(t *testing.T, doc *html.Node, body string) {
				for _, h := range hrefs(doc) {
					if strings.HasPrefix(h, "data:text/html") {
						t.Errorf("an HTML data URI was linked")
					}
				}
			}},
		{page: "mfa_recovery_codes", user: true, data: &RecoveryCodesData{
			Codes: []string{"a1b2c-d3e4f", "g5h6i-j7k8l", "m9n0o-p1q2r"}, DownloadURL: "/auth/mfa/recovery-codes.txt"},
			check: func(t *testing.T, doc *html.Node, body string) {
				var codes []string
				for _, li := range byTag(doc, "li") {
					if ancestor(li, "ol") != nil {
						codes = append(codes, text(li))
					}
				}
				if want := []string{"a1b2c-d3e4f", "g5h6i-j7k8l", "m9n0o-p1q2r"}; !slices.Equal(codes, want) {
					t.Errorf("codes %q, want %q", codes, want)
				}
				wantLink(t, doc, "/auth/mfa/recovery-codes.txt")
				// Continue goes back to ReturnTo when set, else to the MFA settings.
				for _, a := range byTag(doc, "a") {
					if text(a) == "I've saved my codes" {
						if h := attrOr(a, "href", ""); h != "/auth/mfa" && h != "/billing?tab=card" {
							t.Errorf("continue link to %q", h)
						}
					}
				}
			}},
		{page: "mfa", user: true, data: &MFAData{Enabled: true, RecoveryCodesLeft: 2, Trusted: []TrustedBrowser{
			{ID: "tb-1", Browser: "Chrome", OS: "macOS", IP: "203.0.113.9", CreatedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)},
		}},
			fields: map[string]string{"regenerate_code": "regenerate-code", "disable_code": "disable-code"},
			check: func(t *testing.T, doc *html.Node, body string) {
				ids := byID(doc)
				// Regenerating takes an authenticator code; turning off also
				// accepts a recovery code, which has letters.
				if in := ids["regenerate-code"]; in == nil || attrOr(in, "autocomplete", "") != "one-time-code" {
					t.Errorf("regenerate code field lacks autocomplete=one-time-code")
				}
				if in := ids["disable-code"]; in == nil || attrOr(in, "inputmode", "") == "numeric" {
					t.Errorf("disable code field must accept letters (recovery codes)")
				}
				wantFormAction(t, doc, "/auth/mfa/regenerate")
				wantFormAction(t, doc, "/auth/mfa/disable")
				wantFormAction(t, doc, "/auth/mfa/trusted/revoke-all")
				if got := hiddenValues(doc, "id"); !slices.Equal(got, []string{"tb-1"}) {
					t.Errorf("trusted revoke ids %q, want [tb-1]", got)
				}
				wantText("Chrome on macOS", "running low")(t, doc, body)
				noLink(t, doc, "/auth/mfa/setup")
			}},
		{label: "off", page: "mfa", user: true, data: &MFAData{},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantLink(t, doc, "/auth/mfa/setup")
				noFormAction(t, doc, "/auth/mfa/disable")
				noFormAction(t, doc, "/auth/mfa/regenerate")
			}},
	}
}

func wantText(subs ...string) func(t *testing.T, doc *html.Node, body string) {
	return func(t *testing.T, doc *html.Node, body string) {
		t.Helper()
		all := text(doc)
		for _, s := range subs {
			if !strings.Contains(all, s) {
				t.Errorf("page text lacks %q", s)
			}
		}
	}
}

func hrefs(doc *html.Node) []string {
	var out []string
	for _, a := range byTag(doc, "a") {
		out = append(out, attrOr(a, "href", ""))
	}
	return out
}

func wantLink(t *testing.T, doc *html.Node, href string) {
	t.Helper()
	if !slices.Contains(hrefs(doc), href) {
		t.Errorf("no link to %q in %q", href, hrefs(doc))
	}
}

func noLink(t *testing.T, doc *html.Node, href string) {
	t.Helper()
	if slices.Contains(hrefs(doc), href) {
		t.Errorf("unexpected link to %q", href)
	}
}

func countForms(doc *html.Node, action string) int {
	n := 0
	for _, f := range byTag(doc, "form") {
		if attrOr(f, "action", "") == action {
			n++
		}
	}
	return n
}

func wantFormAction(t *testing.T, doc *html.Node, action string) {
	t.Helper()
	if countForms(doc, action) == 0 {
		t.Errorf("no form posting to %q", action)
	}
}

func noFormAction(t *testing.T, doc *html.Node, action string) {
	t.Helper()
	if n := countForms(doc, action); n != 0 {
		t.Errorf("got %d forms posting to %q, want none", n, action)
	}
}

func TestEveryPageHasACase(t *testing.T) {
	u := newTestUI(t, Config{})
	covered := map[string]bool{}
	for _, c := range pageCases(t) {
		covered[c.page] = true
	}
	for _, name := range u.Pages() {
		if !covered[name] {
			t.Errorf("page %q has no test case", name)
		}
	}
	if got := len(u.Pages()); got != 23 {
		t.Errorf("got %d built-in pages, want 23: %q", got, u.Pages())
	}
}

// TestPages renders every page in three variants and checks markup, CSP
// safety, accessibility and the behaviour specific to each page.
func TestPages(t *testing.T) {
	t.Parallel()
	u := newTestUI(t, Config{})
	for _, c := range pageCases(t) {
		t.Run(c.String(), func(t *testing.T) {
			t.Parallel()
			variants := []struct {
				name string
				edit func(p *Page)
			}{
				{"plain", func(p *Page) {}},
				{"field-errors", func(p *Page) {
					p.FieldErrors = map[string]string{}
					for key := range c.fields {
						p.FieldErrors[key] = "Problem with " + key + "."
					}
				}},
				{"notices", func(p *Page) {
					p.Flash = "Saved your changes."
					p.Error = "Something needs attention."
					p.Banner = "Confirm your email address: we sent a link to user@example.com."
					p.ReturnTo = "/billing?tab=card"
					p.FieldErrors = map[string]string{}
					for key := range c.fields {
						p.FieldErrors[key] = "Problem with " + key + "."
					}
				}},
			}
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					p := &Page{
						CSRFToken: "csrf-" + v.name,
						Links:     allLinks(),
						Data:      c.data,
						Values:    map[string]string{},
					}
					if c.user {
						p.User = testUser
					}
					for _, name := range []string{"email", "password", "current_password", "code", "recovery_code", "confirm_email", "remember", "trust"} {
						p.Values[name] = "sticky-" + name
					}
					v.edit(p)
					checkPage(t, u, c, p)
				})
			}
		})
	}
}

func checkPage(t *testing.T, u *UI, c pageCase, p *Page) {
	t.Helper()
	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodGet, "/auth/x", nil), http.StatusUnprocessableEntity, c.page, p)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want %d; body:\n%s", rec.Code, http.StatusUnprocessableEntity, rec.Body)
	}
	for k, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	body := rec.Body.String()
	doc := parseHTML(t, body)
	checkDocument(t, doc, DefaultCSRFField, p.CSRFToken)
	ids := byID(doc)

	// Field errors are tied to their inputs.
	for key, id := range c.fields {
		in := ids[id]
		if in == nil {
			t.Errorf("field %q: no element with id %q", key, id)
			continue
		}
		msg, set := p.FieldErrors[key]
		inv, _ := attr(in, "aria-invalid")
		desc := strings.Fields(attrOr(in, "aria-describedby", ""))
		if !set {
			if inv != "" {
				t.Errorf("field %q: aria-invalid=%q without an error", key, inv)
			}
			continue
		}
		if inv != "true" {
			t.Errorf("field %q: aria-invalid=%q, want true", key, inv)
		}
		if !slices.Contains(desc, id+"-error") {
			t.Errorf("field %q: aria-describedby=%q lacks %q", key, desc, id+"-error")
		}
		if e := ids[id+"-error"]; e == nil || text(e) != msg {
			t.Errorf("field %q: error element text %q, want %q", key, func() string {
				if e == nil {
					return "<missing>"
				}
				return text(e)
			}(), msg)
		}
	}
	// Without fields in error, nothing is marked invalid.
	if len(p.FieldErrors) == 0 {
		for _, e := range elements(doc) {
			if _, ok := attr(e, "aria-invalid"); ok {
				t.Errorf("<%s name=%q> marked invalid without errors", e.Data, attrOr(e, "name", ""))
			}
		}
	}
	for name, want := range c.autocomplete {
		ins := inputsByName(doc)[name]
		if len(ins) == 0 {
			t.Errorf("no input %q", name)
		}
		for _, in := range ins {
			if got := attrOr(in, "autocomplete", ""); got != want {
				t.Errorf("input %q: autocomplete=%q, want %q", name, got, want)
			}
		}
	}
	// Sticky values: email fields keep what was typed; secrets never come back.
	for name, ins := range inputsByName(doc) {
		for _, in := range ins {
			v, has := attr(in, "value")
			switch {
			case name == "email" && attrOr(in, "type", "") == "email":
				if v != p.Values["email"] {
					t.Errorf("email value %q, want sticky %q", v, p.Values["email"])
				}
			case attrOr(in, "type", "") == "checkbox" || attrOr(in, "type", "") == "radio":
			case has && v != "":
				t.Errorf("input %q echoes %q", name, v)
			}
		}
	}
	for _, secret := range []string{"sticky-password", "sticky-current_password", "sticky-code", "sticky-recovery_code", "sticky-confirm_email"} {
		if strings.Contains(body, secret) {
			t.Errorf("body contains %q", secret)
		}
	}
	if c.user {
		header := byTag(doc, "header")
		if len(header) != 1 || !strings.Contains(text(header[0]), testUser.Email) {
			t.Errorf("header lacks the user's email")
		}
		if len(header) == 1 && countForms(header[0], "/auth/logout") != 1 {
			t.Errorf("header lacks the sign-out form")
		}
	} else if strings.Contains(text(byTag(doc, "header")[0]), "Sign out") {
		t.Errorf("sign-out shown without a user")
	}
	if p.Flash != "" && !containsText(roles(doc, "status"), p.Flash) {
		t.Errorf("flash %q not in a role=status element", p.Flash)
	}
	if p.Error != "" && !containsText(roles(doc, "alert"), p.Error) {
		t.Errorf("error %q not in a role=alert element", p.Error)
	}
	if p.Error == "" && len(p.FieldErrors) > 0 {
		for _, msg := range p.FieldErrors {
			if !containsText(roles(doc, "alert"), msg) {
				t.Errorf("field error %q not announced in a role=alert summary", msg)
			}
		}
	}
	if p.Banner != "" && !containsText(roles(doc, "note"), p.Banner) {
		t.Errorf("banner %q not shown", p.Banner)
	}
	for _, f := range byTag(doc, "form") {
		if p.ReturnTo == "" || attrOr(f, "action", "") == p.Links.Logout {
			continue
		}
		if got := hiddenValues(f, "return_to"); !slices.Equal(got, []string{p.ReturnTo}) {
			t.Errorf("form %q: return_to %q, want [%q]", attrOr(f, "action", ""), got, p.ReturnTo)
		}
	}
	for _, h := range hrefs(doc) {
		if h == "" {
			t.Errorf("link with an empty href")
		}
	}
	if c.check != nil {
		c.check(t, doc, body)
	}
}

// TestPagesWithoutLinks renders every page with empty Links: forms post to
// the current URL (no action attribute) and links whose URL is unknown are
// left out.
func TestPagesWithoutLinks(t *testing.T) {
	t.Parallel()
	u := newTestUI(t, Config{})
	for _, c := range pageCases(t) {
		t.Run(c.String(), func(t *testing.T) {
			p := &Page{User: testUser, CSRFField: "gorilla.csrf.Token", CSRFToken: "tok", Data: c.data}
			rec := httptest.NewRecorder()
			u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, c.page, p)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200; body:\n%s", rec.Code, rec.Body)
			}
			doc := parseHTML(t, rec.Body.String())
			checkDocument(t, doc, "gorilla.csrf.Token", "tok")
			for _, h := range hrefs(doc) {
				// Data values (the otpauth URI, the download link) are not Links.
				if h != "/" && h != "#main" && !strings.HasPrefix(h, "otpauth:") && h != "/auth/mfa/recovery-codes.txt" && !strings.HasPrefix(h, "data:text/plain") {
					t.Errorf("link to %q although no link was given", h)
				}
			}
		})
	}
}

// TestRenderNilDataAndPage renders every built-in page with a nil Page and
// with a nil Data: the zero value of the page's data type is used.
func TestRenderNilDataAndPage(t *testing.T) {
	t.Parallel()
	u := newTestUI(t, Config{})
	for _, name := range u.Pages() {
		for _, p := range []*Page{nil, {Links: allLinks(), User: testUser}} {
			rec := httptest.NewRecorder()
			u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, name, p)
			if rec.Code != http.StatusOK {
				t.Errorf("%s (page %v): status %d, want 200", name, p != nil, rec.Code)
				continue
			}
			checkDocument(t, parseHTML(t, rec.Body.String()), DefaultCSRFField, "")
		}
	}
}

func TestRenderDoesNotModifyPage(t *testing.T) {
	u := newTestUI(t, Config{})
	p := &Page{Links: allLinks()}
	u.Render(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "login", p)
	if p.Data != nil || p.CSRFField != "" {
		t.Errorf("Render modified the page: Data=%v CSRFField=%q", p.Data, p.CSRFField)
	}
}

func TestRenderTitle(t *testing.T) {
	u := newTestUI(t, Config{Brand: Brand{ProductName: "Acme"}})
	for _, tc := range []struct {
		title, want string
	}{
		{"", "Sign in · Acme"},
		{"Welcome back", "Welcome back · Acme"},
	} {
		rec := httptest.NewRecorder()
		u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "login", &Page{Title: tc.title})
		if got := text(byTag(parseHTML(t, rec.Body.String()), "title")[0]); got != tc.want {
			t.Errorf("Title %q: got <title> %q, want %q", tc.title, got, tc.want)
		}
	}
}

func TestRenderHead(t *testing.T) {
	u := newTestUI(t, Config{})
	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodHead, "/", nil), http.StatusOK, "login", nil)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "0" {
		t.Errorf("HEAD: status %d, body %d bytes, Content-Length %q; want 200, empty body, full length",
			rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}

// logBuffer collects log records for assertions.
type logBuffer struct{ bytes.Buffer }

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(&l.Buffer, nil)) }

func TestRenderFailures(t *testing.T) {
	overrides := mapFS(map[string]string{
		// Data of another type than expected: fails at execution time only.
		"pages/boom.html": `{{define "title"}}Boom{{end}}{{define "content"}}<h1>PARTIAL-OUTPUT</h1>{{.Data.Missing}}{{end}}`,
	})
	var logs logBuffer
	u := newTestUI(t, Config{Overrides: overrides, Logger: logs.logger()})
	for _, tc := range []struct {
		name string
		page string
		data any
	}{
		{"unknown page", "no_such_page", nil},
		{"execution error", "boom", struct{ Other int }{}},
		{"wrong data type", "login", &SettingsData{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			rec := httptest.NewRecorder()
			u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, tc.page, &Page{Data: tc.data, Links: allLinks()})
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("status %d, want 500", rec.Code)
			}
			body := rec.Body.String()
			if strings.Contains(body, "PARTIAL-OUTPUT") {
				t.Errorf("part of the failed page was sent")
			}
			doc := parseHTML(t, body)
			if h1 := byTag(doc, "h1"); len(h1) != 1 || text(h1[0]) != "Something went wrong" {
				t.Errorf("the error page was not shown: %s", body)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if !strings.Contains(logs.String(), "page="+tc.page) || !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("failure not logged with the page name: %q", logs.String())
			}
		})
	}
}

func TestRenderFallbackWhenErrorPageFails(t *testing.T) {
	overrides := mapFS(map[string]string{
		// An error page that fails on a real request but not on New's trial
		// rendering (which has a signed-in user).
		"pages/error.html": `{{define "content"}}<h1>Error</h1>{{if not .User}}{{.Data.Nope}}{{end}}{{end}}`,
	})
	u := newTestUI(t, Config{Overrides: overrides})
	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "no_such_page", nil)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "internal server error") {
		t.Errorf("got %d %q, want a plain 500", rec.Code, rec.Body.String())
	}
}

func TestPagesAndEmailsSorted(t *testing.T) {
	u := newTestUI(t, Config{})
	if !slices.IsSorted(u.Pages()) || !slices.IsSorted(u.Emails()) {
		t.Errorf("Pages or Emails not sorted")
	}
	want := []string{"account_deleted", "confirm", "deletion_scheduled", "email_change_confirm", "email_change_notice",
		"lockout", "magic_link", "mfa_disabled", "mfa_enabled", "mfa_lockout", "password_changed", "password_reset_done",
		"recovery_code_used", "recovery_codes_regenerated", "register_exists", "reset"}
	if got := u.Emails(); !slices.Equal(got, want) {
		t.Errorf("Emails() = %q, want %q", got, want)
	}
}

func TestBrandAndConfigValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr error
		check   func(t *testing.T, b Brand)
	}{
		{name: "defaults", check: func(t *testing.T, b Brand) {
			if b.ProductName != "Sigra" || b.SenderName != "Sigra" || b.AccentColor != "#4f46e5" {
				t.Errorf("got %+v, want Sigra defaults", b)
			}
		}},
		{name: "short hex", cfg: Config{Brand: Brand{AccentColor: "#0aF", ProductName: " Acme "}}, check: func(t *testing.T, b Brand) {
			if b.AccentColor != "#00aaff" || b.ProductName != "Acme" || b.SenderName != "Acme" {
				t.Errorf("got %+v, want #00aaff and Acme", b)
			}
		}},
		{name: "sender", cfg: Config{Brand: Brand{SenderName: "Acme Security"}}, check: func(t *testing.T, b Brand) {
			if b.SenderName != "Acme Security" {
				t.Errorf("SenderName %q", b.SenderName)
			}
		}},
		{name: "urls", cfg: Config{Brand: Brand{LogoURL: "https://cdn.example.com/logo.svg", SupportURL: "mailto:help@example.com"}}},
		{name: "local urls", cfg: Config{Brand: Brand{LogoURL: "/static/logo.png", SupportURL: "/help"}}},
		{name: "css injection", cfg: Config{Brand: Brand{AccentColor: "red;}body{"}}, wantErr: ErrInvalidBrand},
		{name: "colour name", cfg: Config{Brand: Brand{AccentColor: "red"}}, wantErr: ErrInvalidBrand},
		{name: "five digits", cfg: Config{Brand: Brand{AccentColor: "#12345"}}, wantErr: ErrInvalidBrand},
		{name: "alpha", cfg: Config{Brand: Brand{AccentColor: "#11223344"}}, wantErr: ErrInvalidBrand},
		{name: "not hex", cfg: Config{Brand: Brand{AccentColor: "#12345g"}}, wantErr: ErrInvalidBrand},
		{name: "rgb()", cfg: Config{Brand: Brand{AccentColor: "rgb(1,2,3)"}}, wantErr: ErrInvalidBrand},
		{name: "javascript logo", cfg: Config{Brand: Brand{LogoURL: "javascript:alert(1)"}}, wantErr: ErrInvalidBrand},
		{name: "data logo", cfg: Config{Brand: Brand{LogoURL: "data:image/svg+xml,<svg/>"}}, wantErr: ErrInvalidBrand},
		{name: "protocol-relative logo", cfg: Config{Brand: Brand{LogoURL: "//evil.example.com/x.png"}}, wantErr: ErrInvalidBrand},
		{name: "relative support", cfg: Config{Brand: Brand{SupportURL: "help"}}, wantErr: ErrInvalidBrand},
		{name: "quote in url", cfg: Config{Brand: Brand{SupportURL: "https://example.com/\"x"}}, wantErr: ErrInvalidBrand},
		{name: "newline in name", cfg: Config{Brand: Brand{ProductName: "Acme\r\nBcc: x@example.com"}}, wantErr: ErrInvalidBrand},
		{name: "newline in sender", cfg: Config{Brand: Brand{SenderName: "Acme\nX"}}, wantErr: ErrInvalidBrand},
		{name: "long name", cfg: Config{Brand: Brand{ProductName: strings.Repeat("x", 101)}}, wantErr: ErrInvalidBrand},
		{name: "assets path relative", cfg: Config{AssetsPath: "assets"}, wantErr: ErrInvalidConfig},
		{name: "assets path quote", cfg: Config{AssetsPath: `/a"b`}, wantErr: ErrInvalidConfig},
		{name: "assets path slash", cfg: Config{AssetsPath: "/static/auth/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := New(tc.cfg)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if tc.check != nil {
				tc.check(t, u.Brand())
			}
		})
	}
}

func TestBrandShown(t *testing.T) {
	u := newTestUI(t, Config{Brand: Brand{ProductName: "Acme", LogoURL: "/static/acme.svg", SupportURL: "https://help.example.com/"}})
	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "login", &Page{Links: allLinks()})
	doc := parseHTML(t, rec.Body.String())
	wantText("Sign in to Acme", "Help & support")(t, doc, "")
	wantLink(t, doc, "https://help.example.com/")
	if !slices.ContainsFunc(byTag(doc, "img"), func(n *html.Node) bool { return attrOr(n, "src", "") == "/static/acme.svg" }) {
		t.Errorf("logo not shown")
	}
}

func TestAssetsPathInPages(t *testing.T) {
	u := newTestUI(t, Config{AssetsPath: "/static/auth/"})
	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "login", nil)
	doc := parseHTML(t, rec.Body.String())
	var css, js string
	for _, l := range byTag(doc, "link") {
		if attrOr(l, "rel", "") == "stylesheet" {
			css = attrOr(l, "href", "")
		}
	}
	for _, s := range byTag(doc, "script") {
		js = attrOr(s, "src", "")
	}
	if css != u.AssetURL("sigra.css") || !strings.HasPrefix(css, "/static/auth/sigra.") {
		t.Errorf("stylesheet %q, want %q under /static/auth/", css, u.AssetURL("sigra.css"))
	}
	if js != u.AssetURL("theme.js") || !strings.HasPrefix(js, "/static/auth/theme.") {
		t.Errorf("script %q, want %q under /static/auth/", js, u.AssetURL("theme.js"))
	}
	// The script sits in <head> so the theme applies before the first paint.
	if s := byTag(doc, "script"); len(s) != 1 || ancestor(s[0], "head") == nil {
		t.Errorf("want exactly one script, in <head>")
	}
}
