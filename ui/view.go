package ui

import (
	"time"

	"github.com/sigra-go/sigra"
)

// DefaultCSRFField is the name of the hidden CSRF form field used when
// [Page.CSRFField] is empty. It matches the field read by justinas/nosurf.
const DefaultCSRFField = "csrf_token"

// Page is what a handler gives [UI.Render]: the parts every page shares and
// the page-specific Data. A nil *Page renders like a zero Page. Render does
// not modify the Page.
//
// Templates receive the *Page as their dot: {{.Title}}, {{.Data.Email}}.
type Page struct {
	// Title replaces the page's own title in the document <title> when set.
	// The product name is appended.
	Title string
	// User is the signed-in user, or nil. When set, the header shows the
	// user's address and a sign-out button.
	User *sigra.User
	// CSRFField is the name of the hidden CSRF field (default
	// DefaultCSRFField); CSRFToken is its value. Every POST form carries it.
	CSRFField string
	CSRFToken string
	// Flash is a success notice, announced politely (role=status).
	Flash string
	// Error is a form-level error, announced at once (role=alert).
	Error string
	// FieldErrors maps a field name to its error message. The message is
	// shown under the field, which gets aria-invalid and aria-describedby.
	// When Error is empty, the messages are also listed in an alert at the
	// top of the page, so that a failed submission is announced.
	FieldErrors map[string]string
	// Values holds sticky values of text fields by name, so that a form
	// shown again after an error keeps what the user typed. Passwords and
	// codes are never filled from it.
	Values map[string]string
	// ReturnTo is a local path to come back to after the flow; when set,
	// every form of the page sends it as the hidden field return_to.
	ReturnTo string
	// Links are the URLs of the flows, including any mount prefix. A form
	// or link whose URL is empty is left out (or posts to the current URL).
	Links Links
	// Banner is a notice shown at the top of every page while set, such as
	// a reminder to confirm the email address.
	Banner string
	// Data is the page-specific value: the XxxData type documented with
	// each page (a value or a pointer). Nil renders the zero value of that
	// type. Pages added through Config.Overrides may take any value.
	Data any
}

// Links are the URLs of Sigra's flows as mounted by the application. The
// account and mfa handlers fill them; templates use them for links and form
// actions.
type Links struct {
	Home                 string // the application's home page; default "/"
	Login                string // GET sign-in form, POST email + password
	Logout               string // POST: sign out
	Register             string // GET form, POST email + password
	Confirm              string // POST token or code: confirm the address
	ConfirmResend        string // POST: send the confirmation email again
	Forgot               string // GET form, POST email: request a reset link
	Reset                string // POST token + password
	Magic                string // GET form, POST email: request a sign-in link
	MagicVerify          string // POST token: finish a magic-link sign-in
	Sudo                 string // POST password or code: re-authenticate
	Settings             string // account settings
	Email                string // POST email: start an email change
	EmailConfirm         string // POST token: confirm the new address
	EmailCancel          string // POST: cancel a pending email change
	Password             string // POST current_password + password
	Sessions             string // list of signed-in devices
	SessionRevoke        string // POST id: sign out one device
	SessionsRevokeOthers string // POST: sign out every other device
	Delete               string // GET confirmation page, POST confirm_email
	DeleteCancel         string // POST: cancel a scheduled deletion
	MFA                  string // two-factor settings
	MFASetup             string // GET enrollment page, POST code
	MFAChallenge         string // GET + POST code (and trust)
	MFARecovery          string // GET + POST recovery_code (and trust)
	MFARecoveryCodes     string // page showing fresh recovery codes
	MFARegenerate        string // POST code: new recovery codes
	MFADisable           string // POST code: turn two-factor off
	MFATrustedRevoke     string // POST id: forget one trusted browser
	MFATrustedRevokeAll  string // POST: forget every trusted browser
}

// RegisterData is the Data of the "register" page.
type RegisterData struct {
	// MinPasswordLength is the shortest password accepted (shown as a hint
	// and as the field's minlength); zero leaves both out.
	MinPasswordLength int
}

// SentData is the Data of the pages that say an email was sent:
// "register_done", "forgot_sent" and "magic_sent". Their text is the same
// whether or not an account exists for Email.
type SentData struct {
	Email string
}

// LoginData is the Data of the "login" page.
type LoginData struct {
	// AllowRegister shows the link to Links.Register.
	AllowRegister bool
	// AllowMagicLink shows the link to Links.Magic.
	AllowMagicLink bool
}

// ConfirmData is the Data of the "confirm" page. With Token set the page is
// a single "Confirm" button posting token (the landing page of the emailed
// link); otherwise it asks for the emailed code (field code) and offers to
// resend it.
type ConfirmData struct {
	// Email is the address being confirmed, shown to the user.
	Email string
	// Token is the emailed link's token, posted back as token.
	Token string
	// CodeLength is the number of digits of the emailed code; default 6.
	CodeLength int
	// CanResend shows the resend form posting to Links.ConfirmResend.
	CanResend bool
}

// ResetData is the Data of the "reset" page, a new-password form posting
// token and password.
type ResetData struct {
	Token             string
	MinPasswordLength int
}

// TokenData is the Data of the "magic_confirm" page: one button posting
// token to Links.MagicVerify.
type TokenData struct {
	Token string
}

// SudoData is the Data of the "sudo" page ("Confirm it's you").
type SudoData struct {
	// HasPassword shows the password form (field password).
	HasPassword bool
	// HasTOTP shows the authenticator code form (field code).
	HasTOTP bool
	// HasPasskey tells that the user has a passkey. Passkey
	// re-authentication needs the passkey package's script; this page has
	// no control for it yet. With neither a password nor TOTP, the page
	// offers to sign out and sign in again.
	HasPasskey bool
}

// SettingsData is the Data of the "settings" page.
type SettingsData struct {
	Email          string
	EmailConfirmed bool
	// PendingEmail is the new address of a change waiting for
	// confirmation, shown with a cancel button (Links.EmailCancel).
	PendingEmail string
	// HasPassword selects between "Change password" (with the field
	// current_password) and "Set a password".
	HasPassword bool
	// MinPasswordLength is the shortest password accepted, shown as a hint
	// and used as the new password's minlength; zero leaves both out.
	MinPasswordLength int
	MFAEnabled        bool
	RecoveryCodesLeft int
	SessionCount      int
	// DeletionDueAt is when a scheduled deletion takes effect; zero if none.
	DeletionDueAt time.Time
}

// Device is one signed-in browser in the "sessions" page.
type Device struct {
	// ID is the session's public identifier, posted as id to revoke it.
	ID string
	// Browser, OS and Kind ("Desktop", "Mobile", "Tablet") describe the
	// user agent; empty when unknown.
	Browser, OS, Kind string
	IP                string
	// Current marks the browser showing the page.
	Current bool
	// Pending marks a session waiting for a second factor.
	Pending    bool
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// SessionsData is the Data of the "sessions" page.
type SessionsData struct {
	Devices []Device
}

// DeleteData is the Data of the "delete" page. The user types their
// address into confirm_email.
type DeleteData struct {
	// Grace is how long the account stays recoverable; zero deletes at once.
	Grace time.Duration
	Email string
}

// DeleteScheduledData is the Data of the "delete_scheduled" page.
type DeleteScheduledData struct {
	DueAt time.Time
}

// EmailChangeData is the Data of the "email_confirm" page: one button
// posting token to Links.EmailConfirm.
type EmailChangeData struct {
	Token    string
	NewEmail string
}

// ErrorData is the Data of the "error" page. An empty Message shows a
// standard text for Status.
type ErrorData struct {
	Status  int
	Message string
}

// MFASetupData is the Data of the "mfa_setup" page.
type MFASetupData struct {
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
}

// MFAChallengeData is the Data of the "mfa_challenge" page.
type MFAChallengeData struct {
	// AllowTrust shows the checkbox trust ("trust this browser for
	// TrustDays days").
	AllowTrust bool
	TrustDays  int
	// Recovery asks for a recovery code (field recovery_code, posted to
	// Links.MFARecovery, or Links.MFAChallenge when that is empty) instead
	// of an authenticator code (field code, posted to Links.MFAChallenge).
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
	// ID is posted as id to Links.MFATrustedRevoke.
	ID                   string
	Browser, OS, IP      string
	CreatedAt, ExpiresAt time.Time
}

// MFAData is the Data of the "mfa" page (two-factor settings).
//
// Its disable and regenerate forms both have a field named code; to tie an
// error to one of them use the FieldErrors keys "disable_code" or
// "regenerate_code". An error under the plain key "code" is shown in the
// alert at the top of the page only.
type MFAData struct {
	Enabled           bool
	RecoveryCodesLeft int
	Trusted           []TrustedBrowser
}

// Email is the data of every email template. [UI.RenderEmail] fills Brand
// and Subject; the caller fills the rest as the email needs.
type Email struct {
	// Brand is filled by RenderEmail.
	Brand Brand
	// Subject is filled by RenderEmail from the text template's first line,
	// for the HTML template's <title>.
	Subject string
	// To is the recipient's address.
	To string
	// Link is the email's action link (shown as a button and as plain text).
	Link string
	// Code is a code to type in, if any.
	Code string
	// NewEmail is the new address of an email change.
	NewEmail string
	// ExpiresIn tells how long Link or Code stays valid, in words: "48
	// hours", "15 minutes". In the lockout emails it tells how long the
	// lock lasts.
	ExpiresIn string
	// Remaining is the number of unused recovery codes.
	Remaining int
	// IP and UserAgent describe the request that caused the email.
	IP, UserAgent string
	// When is when the event happened; zero leaves it out.
	When time.Time
	// DueAt is when a scheduled deletion takes effect.
	DueAt time.Time
}

// pageData maps each built-in page to the zero value of its Data type
// (nil: the page takes no data). Render substitutes it for a nil Data, and
// New renders every built-in page with it once to catch broken overrides.
func pageData(name string) (zero any, builtin bool) {
	switch name {
	case "register":
		return &RegisterData{}, true
	case "register_done", "forgot_sent", "magic_sent":
		return &SentData{}, true
	case "login":
		return &LoginData{}, true
	case "confirm":
		return &ConfirmData{}, true
	case "reset":
		return &ResetData{}, true
	case "magic_confirm":
		return &TokenData{}, true
	case "sudo":
		return &SudoData{}, true
	case "settings":
		return &SettingsData{}, true
	case "sessions":
		return &SessionsData{}, true
	case "delete":
		return &DeleteData{}, true
	case "delete_scheduled":
		return &DeleteScheduledData{}, true
	case "email_confirm":
		return &EmailChangeData{}, true
	case "error":
		return &ErrorData{}, true
	case "mfa_setup":
		return &MFASetupData{}, true
	case "mfa_challenge":
		return &MFAChallengeData{}, true
	case "mfa_recovery_codes":
		return &RecoveryCodesData{}, true
	case "mfa":
		return &MFAData{}, true
	case "forgot", "reset_expired", "magic", "link_expired":
		return nil, true
	}
	return nil, false
}
