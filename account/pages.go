package account

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"time"

	"github.com/sigra-go/sigra/ui"
)

//go:embed templates
var templates embed.FS

// Route paths, under the site's prefix. The pack declares them and Mount
// serves them, so the two cannot disagree.
const (
	pathLogin          = "/login"
	pathLogout         = "/logout"
	pathSession        = "/session"
	pathRegister       = "/register"
	pathConfirm        = "/confirm"
	pathConfirmResend  = "/confirm/resend"
	pathForgot         = "/password/forgot"
	pathReset          = "/password/reset"
	pathMagic          = "/magic"
	pathMagicVerify    = "/magic/verify"
	pathSudo           = "/sudo"
	pathSettings       = "/settings"
	pathEmail          = "/email"
	pathEmailConfirm   = "/email/confirm"
	pathEmailCancel    = "/email/cancel"
	pathPassword       = "/password"
	pathRenew          = "/password/renew"
	pathSessions       = "/sessions"
	pathSessionRevoke  = "/sessions/revoke"
	pathSessionsOthers = "/sessions/revoke-others"
	pathDelete         = "/delete"
	pathNotMe          = "/not-me"
)

// PackName is the name of the account pack in a [ui.UI].
const PackName = "account"

// Pages returns the account flows' share of the UI: their pages, settings
// sections and emails, routes, notices and settings-navigation entries.
// Give it to ui.New in Config.Packs; [New] refuses a UI without it.
//
// Pages (name, Data type):
//
//	register            *RegisterData
//	register_done       *SentData
//	login               *LoginData
//	confirm             *ConfirmData
//	forgot              nil
//	forgot_sent         *SentData
//	reset               *ResetData
//	reset_expired       nil
//	magic               nil
//	magic_sent          *SentData
//	magic_confirm       *TokenData
//	link_expired        nil
//	sudo                *SudoData
//	sessions            *SessionsData
//	delete              *DeleteAccountData
//	delete_scheduled    *DeleteScheduledData
//	email_confirm       *EmailChangeData
//	new_device_confirm  *TokenData
//	new_device_done     *NewDeviceDoneData
//	password_renew      *RenewData
//
// Settings sections: email (*EmailSection), password (*PasswordSection),
// devices (*DevicesSection), delete (*DeleteSection).
//
// Emails (name, Email.Data type): confirm, register_exists, reset,
// password_reset_done, magic_link, password_changed, account_deleted,
// lockout (nil); email_change_confirm and email_change_notice
// (*EmailChangeMail); deletion_scheduled (*DeletionMail); new_device
// (*NewDeviceMail).
func Pages() ui.Pack {
	files, _ := fs.Sub(templates, "templates")
	return ui.Pack{
		Name:  PackName,
		Files: files,
		Pages: map[string]any{
			"register": &RegisterData{}, "register_done": &SentData{}, "login": &LoginData{},
			"confirm": &ConfirmData{}, "forgot": nil, "forgot_sent": &SentData{}, "reset": &ResetData{},
			"reset_expired": nil, "magic": nil, "magic_sent": &SentData{}, "magic_confirm": &TokenData{},
			"link_expired": nil, "sudo": &SudoData{}, "sessions": &SessionsData{}, "delete": &DeleteAccountData{},
			"delete_scheduled": &DeleteScheduledData{}, "email_confirm": &EmailChangeData{},
			"new_device_confirm": &TokenData{}, "new_device_done": &NewDeviceDoneData{},
			"password_renew": &RenewData{},
		},
		Sections: map[string]any{
			"email": &EmailSection{}, "password": &PasswordSection{}, "devices": &DevicesSection{}, "delete": &DeleteSection{},
		},
		Emails: map[string]any{
			"confirm": nil, "register_exists": nil, "reset": nil, "password_reset_done": nil, "magic_link": nil,
			"password_changed": nil, "account_deleted": nil, "lockout": nil,
			"email_change_confirm": &EmailChangeMail{}, "email_change_notice": &EmailChangeMail{},
			"deletion_scheduled": &DeletionMail{}, "new_device": &NewDeviceMail{},
		},
		Routes: map[string]string{
			ui.RouteSignIn: pathLogin, ui.RouteSignOut: pathLogout, ui.RouteRegister: pathRegister,
			ui.RouteConfirm: pathConfirm, ui.RouteSudo: pathSudo, ui.RouteSettings: pathSettings,
			"session_info": pathSession, "confirm_resend": pathConfirmResend, "forgot": pathForgot, "reset": pathReset,
			"magic": pathMagic, "magic_verify": pathMagicVerify, "email": pathEmail, "email_confirm": pathEmailConfirm,
			"email_cancel": pathEmailCancel, "password": pathPassword, "sessions": pathSessions,
			"session_revoke": pathSessionRevoke, "sessions_revoke_others": pathSessionsOthers, "delete": pathDelete,
			"not_me": pathNotMe, ui.RoutePasswordRenew: pathRenew,
		},
		Notices: map[string]string{
			"reset":            "Your password was changed. Sign in with the new one.",
			"signed_out":       "You are signed out.",
			"confirmed":        "Your email address is confirmed.",
			"email_changed":    "Your email address was changed.",
			"email_sent":       "We sent a confirmation link to your new address.",
			"email_cancelled":  "The email change was cancelled.",
			"password_changed": "Your password was changed. Other sessions were signed out.",
			"session_revoked":  "The session was signed out.",
			"sessions_revoked": "All other sessions were signed out.",
			"resent":           "We sent a new confirmation email.",
		},
		Nav: []ui.NavItem{
			{Route: ui.RouteSettings, Label: "Account", Icon: "user", Order: 10},
			{Route: "sessions", Label: "Devices", Icon: "monitor", Order: 20},
		},
		Funcs: template.FuncMap{"passwordHint": passwordHint, "otherDevices": otherDevices},
	}
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
	// AllowRegister shows the link to the route register.
	AllowRegister bool
	// AllowMagicLink shows the link to the route magic.
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
	// CanResend shows the resend form posting to the route confirm_resend.
	CanResend bool
}

// ResetData is the Data of the "reset" page, a new-password form posting
// token and password.
type ResetData struct {
	Token             string
	MinPasswordLength int
}

// RenewData is the Data of the "password_renew" page, where a user who
// signed in with a password found in a breach chooses a new one (field
// password) before going on.
type RenewData struct {
	// MinPasswordLength is the shortest password accepted; zero leaves
	// the hint and the field's minlength out.
	MinPasswordLength int
	// NeedCurrent asks for the current password too (field
	// current_password): the sign-in is older than the sudo window.
	NeedCurrent bool
}

// TokenData is the Data of the pages that land an emailed link: one button
// posting token, to the route magic_verify ("magic_confirm") or not_me
// ("new_device_confirm").
type TokenData struct {
	Token string
}

// SudoData is the Data of the "sudo" page ("Confirm it's you").
type SudoData struct {
	// HasPassword shows the password form (field password).
	HasPassword bool
	// HasTOTP shows the authenticator code form (field code).
	HasTOTP bool
	// HasPasskey tells that the user holds a passkey (Config.Passkeys),
	// which the passkey pack's slot (ui.SlotSudo) offers.
	HasPasskey bool
	// HasLinkedAccount tells that the user has a linked identity
	// (Config.LinkedAccounts) to re-authenticate with, which the oauth
	// pack's slot (ui.SlotSudo) offers.
	//
	// With neither a password nor TOTP, the page offers to sign out and
	// sign in again, unless a linked identity is offered; with a passkey
	// the slot offers, only where the browser cannot use passkeys.
	HasLinkedAccount bool
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

// DeleteAccountData is the Data of the "delete" page. The user types their
// address into confirm_email.
type DeleteAccountData struct {
	// Grace is how long the account stays recoverable; zero deletes at once.
	Grace time.Duration
	Email string
}

// DeleteScheduledData is the Data of the "delete_scheduled" page.
type DeleteScheduledData struct {
	DueAt time.Time
}

// EmailChangeData is the Data of the "email_confirm" page: one button
// posting token to the route email_confirm.
type EmailChangeData struct {
	Token    string
	NewEmail string
}

// EmailSection is the Data of the settings section "email".
type EmailSection struct {
	Email     string `json:"email"`
	Confirmed bool   `json:"confirmed"`
	// Pending is the new address of a change waiting for confirmation,
	// shown with a cancel button.
	Pending string `json:"pending,omitempty"`
}

// PasswordSection is the Data of the settings section "password".
type PasswordSection struct {
	// HasPassword selects between "Change password" (with the field
	// current_password) and "Set a password".
	HasPassword bool `json:"has_password"`
	// MinPasswordLength is the shortest password accepted, shown as a hint
	// and used as the new password's minlength; zero leaves both out.
	MinPasswordLength int `json:"min_password_length"`
}

// DevicesSection is the Data of the settings section "devices".
type DevicesSection struct {
	// Count is how many sessions of the user are live.
	Count int `json:"count"`
}

// DeleteSection is the Data of the settings section "delete".
type DeleteSection struct {
	// Grace is how long a scheduled deletion waits; zero deletes at once.
	Grace time.Duration `json:"-"`
}

// NewDeviceDoneData is the Data of the "new_device_done" page, shown when
// the user said a sign-in reported by a new-device alert was not theirs.
type NewDeviceDoneData struct {
	// AllSessions tells that every session of the account was signed out
	// (the one of that sign-in had ended or changed); otherwise only that
	// session was.
	AllSessions bool
	// Email is the account's address, where the reset link was sent.
	Email string
}

// NewDeviceMail is the Email.Data of the email "new_device", the alert of
// a sign-in from a device not seen lately. Email.IP, UserAgent and When
// describe the sign-in; Email.Link is the "this wasn't me" link.
type NewDeviceMail struct {
	// Browser and OS are parsed from the user agent ("Firefox", "Linux");
	// empty when unknown.
	Browser, OS string
}

// EmailChangeMail is the Email.Data of the emails "email_change_confirm"
// and "email_change_notice".
type EmailChangeMail struct {
	// NewEmail is the address the account is changing to.
	NewEmail string
}

// DeletionMail is the Email.Data of the email "deletion_scheduled".
type DeletionMail struct {
	// DueAt is when the deletion takes effect.
	DueAt time.Time
}

// passwordHint is the hint under a new-password field.
func passwordHint(min int) string {
	const advice = "A long passphrase you don't use on any other site is best."
	if min > 0 {
		return fmt.Sprintf("At least %d characters. %s", min, advice)
	}
	return advice
}

// otherDevices counts the devices that are not the current one.
func otherDevices(ds []Device) int {
	n := 0
	for _, d := range ds {
		if !d.Current {
			n++
		}
	}
	return n
}
