package passkey

import (
	"embed"
	"io/fs"
	"strconv"
	"time"

	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

//go:embed templates
var templates embed.FS

// Route paths, under the site's prefix. The pack declares them and Mount
// serves them.
const (
	pathManage           = "/passkeys"
	pathRegisterOptions  = "/passkeys/register/options"
	pathRegister         = "/passkeys/register"
	pathRename           = "/passkeys/rename"
	pathDelete           = "/passkeys/delete"
	pathSignIn           = "/passkeys/signin"
	pathSignInOptions    = "/passkeys/signin/options"
	pathChallengeOptions = "/passkeys/challenge/options"
	pathChallenge        = "/passkeys/challenge"
	pathSudoOptions      = "/passkeys/sudo/options"
	pathSudo             = "/passkeys/sudo"
)

// wellKnownPath serves the related origins (not under the prefix).
const wellKnownPath = "/.well-known/webauthn"

// PackName is the name of the passkey pack in a [ui.UI].
const PackName = "passkey"

// Pages returns the passkey flows' share of the UI: their pages, settings
// section, emails, the script of the ceremonies (assets/passkey.js), what
// they add to the sign-in, sudo, second-factor and step-up pages of other
// packs (the slots ui.SlotSignIn, ui.SlotSudo, ui.SlotSecondFactor and
// ui.SlotStepUp), routes,
// notices and settings-navigation entry. Give it to ui.New in
// Config.Packs; [New] refuses a UI without it.
//
// Pages (name, Data type):
//
//	passkeys        *ManageData
//	passkey_signin  nil (the email-first sign-in)
//
// Settings section: passkeys (*PasskeysSection).
//
// Emails (name, Email.Data type): passkey_added, passkey_removed
// (*PasskeyMail).
func Pages() ui.Pack {
	files, _ := fs.Sub(templates, "templates")
	return ui.Pack{
		Name:     PackName,
		Files:    files,
		Pages:    map[string]any{"passkeys": &ManageData{}, "passkey_signin": nil},
		Sections: map[string]any{"passkeys": &PasskeysSection{}},
		Emails:   map[string]any{"passkey_added": &PasskeyMail{}, "passkey_removed": &PasskeyMail{}},
		Routes: map[string]string{
			"passkeys": pathManage, "passkey_register_options": pathRegisterOptions, "passkey_register": pathRegister,
			"passkey_rename": pathRename, "passkey_delete": pathDelete,
			"passkey_signin": pathSignIn, "passkey_signin_options": pathSignInOptions,
			"passkey_challenge_options": pathChallengeOptions, "passkey_challenge": pathChallenge,
			"passkey_sudo_options": pathSudoOptions, "passkey_sudo": pathSudo,
		},
		Notices: map[string]string{
			"passkey_added":   "Your passkey was added. You can use it to sign in.",
			"passkey_renamed": "The passkey was renamed.",
			"passkey_removed": "The passkey was removed.",
		},
		Nav: []ui.NavItem{{Route: "passkeys", Label: "Passkeys", Icon: "key", Order: 25}},
	}
}

// Passkey is one passkey as the "passkeys" page and the JSON answers show
// it.
type Passkey struct {
	// ID is posted as id to the routes passkey_rename and passkey_delete.
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// LastUsedAt is zero if the passkey was never used to sign in.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// Synced is true for a passkey that may be backed up and synced
	// between devices (a password manager's, a platform's); false for one
	// bound to its device (a security key).
	Synced bool `json:"synced"`
	// BackedUp says a synced passkey is backed up now.
	BackedUp bool `json:"backed_up"`
}

// view is the Passkey of a stored passkey.
func view(k *store.Passkey) Passkey {
	return Passkey{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, Synced: k.BackupEligible, BackedUp: k.BackupState}
}

// ManageData is the Data of the "passkeys" page.
type ManageData struct {
	Passkeys []Passkey
	// Max is how many passkeys a user may hold; the add form shows while
	// there are fewer.
	Max int
	// HasPassword tells the page whether removing the last passkey is
	// possible (it is not without a password or another way in).
	HasPassword bool
}

// PasskeysSection is the Data of the settings section "passkeys".
type PasskeysSection struct {
	Count int `json:"count"`
	Max   int `json:"max"`
}

// PasskeyMail is the Email.Data of the emails "passkey_added" and
// "passkey_removed".
type PasskeyMail struct {
	// Name is the passkey's name.
	Name string
	// Revoked is true when the passkey was removed because it looked
	// cloned (passkey_removed only).
	Revoked bool
}

func itoa(n int) string { return strconv.Itoa(n) }
