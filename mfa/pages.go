package mfa

import (
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"strings"
	"time"
	"unicode"

	"github.com/sigra-go/sigra/ui"
)

//go:embed templates
var templates embed.FS

// Route paths, under the site's prefix. The pack declares them and Mount
// serves them.
const (
	pathSettings      = "/mfa"
	pathSetup         = "/mfa/setup"
	pathChallenge     = "/mfa/challenge"
	pathRecovery      = "/mfa/recovery"
	pathRegenerate    = "/mfa/recovery-codes/regenerate"
	pathDisable       = "/mfa/disable"
	pathTrustedRevoke = "/mfa/trusted/revoke"
	pathTrustedAll    = "/mfa/trusted/revoke-all"
)

// PackName is the name of the two-factor pack in a [ui.UI].
const PackName = "mfa"

// Pages returns the two-factor flows' share of the UI: their pages,
// settings section and emails, routes (including the well-known
// second_factor and step_up), notices and settings-navigation entry. Give
// it to ui.New in Config.Packs; [New] refuses a UI without it.
//
// Pages (name, Data type):
//
//	mfa                 *SettingsData
//	mfa_setup           *SetupData
//	mfa_challenge       *ChallengeData
//	mfa_recovery_codes  *RecoveryCodesData
//
// Settings section: two_factor (*TwoFactorSection).
//
// Emails (name, Email.Data type): mfa_enabled, mfa_disabled,
// recovery_codes_regenerated, mfa_lockout (nil); recovery_code_used
// (*RecoveryCodeMail).
func Pages() ui.Pack {
	files, _ := fs.Sub(templates, "templates")
	return ui.Pack{
		Name:  PackName,
		Files: files,
		Pages: map[string]any{
			"mfa": &SettingsData{}, "mfa_setup": &SetupData{}, "mfa_challenge": &ChallengeData{},
			"mfa_recovery_codes": &RecoveryCodesData{},
		},
		Sections: map[string]any{"two_factor": &TwoFactorSection{}},
		Emails: map[string]any{
			"mfa_enabled": nil, "mfa_disabled": nil, "recovery_codes_regenerated": nil, "mfa_lockout": nil,
			"recovery_code_used": &RecoveryCodeMail{},
		},
		Routes: map[string]string{
			"mfa": pathSettings, ui.RouteStepUp: pathSetup, ui.RouteSecondFactor: pathChallenge,
			"mfa_recovery": pathRecovery, "mfa_regenerate": pathRegenerate, "mfa_disable": pathDisable,
			"mfa_trusted_revoke": pathTrustedRevoke, "mfa_trusted_revoke_all": pathTrustedAll,
		},
		Notices: map[string]string{
			"mfa_enabled":       "Two-factor authentication is on.",
			"mfa_disabled":      "Two-factor authentication is off.",
			"trusted_revoked":   "The browser will be asked for a code again.",
			"trusted_cleared":   "Every trusted browser will be asked for a code again.",
			"codes_regenerated": "New recovery codes are ready. The old ones no longer work.",
			"mfa_expired":       "Your sign-in took too long. Sign in again.",
		},
		Nav: []ui.NavItem{{Route: "mfa", Label: "Two-factor authentication", Icon: "shield", Order: 30}},
		Funcs: template.FuncMap{
			"group4": group4, "compact": compact, "qrImage": qrImage, "otpauthURL": otpauthURL,
			"trustLabel": trustLabel, "downloadURL": downloadURL,
		},
	}
}

// SetupData is the Data of the "mfa_setup" page.
type SetupData struct {
	// QRDataURI is the QR code of URI as a "data:image/png;base64," URI.
	// Anything else is not shown.
	QRDataURI string
	// Secret is the base32 secret; the page shows it in groups of four.
	Secret string
	// URI is the otpauth:// URI, offered as a link for authenticator apps
	// on the same device. Other schemes are not linked.
	URI string
	// Digits is the code length; default 6.
	Digits int
	// Enrollment is an opaque value posted back with the code as the hidden
	// field enrollment (the mfa package's sealed pending secret).
	Enrollment string
	// Passkey shows the slot ui.SlotStepUp: the user holds a passkey
	// (Config.Passkeys) and the session did not begin with one, so a
	// passkey can be its second factor.
	Passkey bool
}

// ChallengeData is the Data of the "mfa_challenge" page.
type ChallengeData struct {
	// AllowTrust shows the checkbox trust ("trust this browser for
	// TrustDays days").
	AllowTrust bool
	TrustDays  int
	// Recovery asks for a recovery code (field recovery_code, posted to
	// the route mfa_recovery) instead
	// of an authenticator code (field code, posted to the route second_factor).
	Recovery bool
}

// RecoveryCodesData is the Data of the "mfa_recovery_codes" page.
type RecoveryCodesData struct {
	Codes []string
	// DownloadURL serves the codes as a text file: a URL or path, or a
	// "data:text/plain" URI holding the file. Empty hides the link.
	DownloadURL string
}

// TrustedBrowser is one browser listed on the "mfa" page.
type TrustedBrowser struct {
	// ID is posted as id to the route mfa_trusted_revoke.
	ID                   string
	Browser, OS, IP      string
	CreatedAt, ExpiresAt time.Time
}

// SettingsData is the Data of the "mfa" page (two-factor settings).
//
// Its disable and regenerate forms both have a field named code; to tie an
// error to one of them use the FieldErrors keys "disable_code" or
// "regenerate_code". An error under the plain key "code" is shown in the
// alert at the top of the page only.
type SettingsData struct {
	Enabled           bool
	RecoveryCodesLeft int
	Trusted           []TrustedBrowser
}

// TwoFactorSection is the Data of the settings section "two_factor".
type TwoFactorSection struct {
	Enabled           bool `json:"enabled"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
}

// RecoveryCodeMail is the Email.Data of the email "recovery_code_used".
type RecoveryCodeMail struct {
	// Remaining is the number of unused recovery codes.
	Remaining int
}

func plural(n int, one, many string) string {
	if n == 1 || n == -1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}

const pngDataPrefix = "data:image/png;base64,"

// group4 writes s without spaces in groups of four: "JBSW Y3DP EHPK".
func group4(s string) string {
	var clean []rune
	for _, r := range s {
		if !unicode.IsSpace(r) && r != '-' {
			clean = append(clean, r)
		}
	}
	var b strings.Builder
	for i, r := range clean {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// compact removes spaces, for copying a grouped secret.
func compact(s string) string {
	return strings.Join(strings.Fields(s), "")
}

// qrImage returns s as a URL safe for <img src> when it is a base64 PNG
// data URI that decodes to a PNG, and "" otherwise (html/template would
// otherwise replace any data: URL with a harmless placeholder).
func qrImage(s string) template.URL {
	if !strings.HasPrefix(s, pngDataPrefix) {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(s[len(pngDataPrefix):])
	if err != nil || len(raw) < 8 || string(raw[:8]) != "\x89PNG\r\n\x1a\n" {
		return ""
	}
	return template.URL(s)
}

// otpauthURL returns s as a trusted URL when it is an otpauth:// URI, and
// "" otherwise.
func otpauthURL(s string) template.URL {
	if len(s) < 10 || !strings.EqualFold(s[:10], "otpauth://") {
		return ""
	}
	for _, r := range s {
		if r <= ' ' || unicode.IsControl(r) || strings.ContainsRune("\"<>\\", r) {
			return ""
		}
	}
	return template.URL(s)
}

// trustLabel is the label of the "trust this browser" checkbox.
func trustLabel(days int) string {
	if days > 0 {
		return "Trust this browser for " + plural(days, "day", "days")
	}
	return "Trust this browser"
}

// downloadURL returns s for a download link, or "" when it is not a
// local path, an http(s) URL or a "data:text/plain" URI (marked safe:
// plain text cannot run).
func downloadURL(s string) any {
	for _, r := range s {
		if r <= ' ' || unicode.IsControl(r) || strings.ContainsRune("\"<>\\", r) {
			return ""
		}
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "data:text/plain;"), strings.HasPrefix(lower, "data:text/plain,"):
		return template.URL(s)
	case strings.HasPrefix(lower, "https://"), strings.HasPrefix(lower, "http://"),
		strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
		return s
	}
	return ""
}
