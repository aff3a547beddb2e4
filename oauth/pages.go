package oauth

import (
	"embed"
	"io/fs"
	"time"

	"github.com/sigra-go/sigra/ui"
)

//go:embed templates
var templates embed.FS

// Route paths, under the site's prefix. The pack declares the fixed ones
// and Mount serves them all; {provider} is a provider's Name.
const (
	pathSignIn    = "/oauth"
	pathStart     = "/oauth/{provider}/start"
	pathCallback  = "/oauth/{provider}/callback"
	pathLinkStart = "/oauth/{provider}/link"
	pathLink      = "/oauth/link"
	pathUnlink    = "/oauth/unlink"
	pathSudo      = "/oauth/sudo"
	pathSudoStart = "/oauth/{provider}/sudo"
)

func startPath(name string) string     { return "/oauth/" + name + "/start" }
func callbackPath(name string) string  { return "/oauth/" + name + "/callback" }
func linkStartPath(name string) string { return "/oauth/" + name + "/link" }
func sudoStartPath(name string) string { return "/oauth/" + name + "/sudo" }

// PackName is the name of the provider sign-in pack in a [ui.UI].
const PackName = "oauth"

// Pages returns provider sign-in's share of the UI: its pages, settings
// section and emails, routes and notices. Give it to ui.New in
// Config.Packs; [New] refuses a UI without it.
//
// Pages (name, Data type):
//
//	oauth_signin  *SignInData
//	oauth_error   *ErrorData
//	oauth_link    *LinkData
//	oauth_sudo    *SignInData (the user's linked providers)
//	oauth_connect *SignInData (one provider to link)
//
// Settings section: linked_accounts (*LinkedSection).
//
// Emails (name, Email.Data type): oauth_linked and oauth_unlinked
// (*LinkMail).
//
// Routes: oauth_signin (the provider buttons; the sign-in page links it
// when it is declared), oauth_link (the confirmation of a link),
// oauth_unlink, and oauth_sudo (re-authentication with a linked provider;
// the re-authentication page links it when it is declared).
func Pages() ui.Pack {
	files, _ := fs.Sub(templates, "templates")
	return ui.Pack{
		Name:  PackName,
		Files: files,
		Pages: map[string]any{
			"oauth_signin": &SignInData{}, "oauth_error": &ErrorData{}, "oauth_link": &LinkData{}, "oauth_sudo": &SignInData{},
			"oauth_connect": &SignInData{},
		},
		Sections: map[string]any{"linked_accounts": &LinkedSection{}},
		Emails:   map[string]any{"oauth_linked": &LinkMail{}, "oauth_unlinked": &LinkMail{}},
		Routes: map[string]string{
			"oauth_signin": pathSignIn, "oauth_link": pathLink, "oauth_unlink": pathUnlink, "oauth_sudo": pathSudo,
		},
		Notices: map[string]string{
			"oauth_linked":   "The account was linked. You can now sign in with it.",
			"oauth_unlinked": "The account was unlinked.",
		},
	}
}

// Button is a provider's sign-in or link button: a form that posts to
// Action.
type Button struct {
	// Name is the provider's Name; Label its name as users know it.
	Name, Label string
	// Action is the local path the button's form posts to.
	Action string
}

// SignInData is the Data of the "oauth_signin" page: one button per
// provider.
type SignInData struct {
	// Providers are the buttons, in the configured order.
	Providers []Button
}

// ErrorData is the Data of the "oauth_error" page: why a provider sign-in
// did not complete, and a way to try again.
type ErrorData struct {
	// Code is the stable error code (the JSON answer's error.code):
	// consent_denied, provider_error, state_mismatch, state_replayed,
	// token_exchange_failed, id_token_invalid, no_email,
	// email_unverified, email_unverified_taken, registration_closed,
	// account_disabled, identity_mismatch, link_expired,
	// already_linked, identity_taken, provider_unavailable.
	Code string
	// Message says what happened and what to do, in words.
	Message string
	// Provider is the provider's label, if known.
	Provider string
	// Retry is a local path to start over; empty hides the link.
	Retry string
}

// LinkData is the Data of the "oauth_link" page, where a signed-in user
// confirms linking the identity their provider sign-in found.
type LinkData struct {
	// Provider is the provider's label; Email the address it gave.
	Provider string
	Email    string
}

// LinkedProvider is one provider on the linked_accounts section.
type LinkedProvider struct {
	// Name is the provider's Name; Label its name as users know it.
	Name  string `json:"name"`
	Label string `json:"label"`
	// Linked is whether the user has an identity at the provider; then ID
	// (posted as id to the route oauth_unlink), Email, LinkedAt and
	// LastUsedAt describe it.
	Linked     bool      `json:"linked"`
	ID         string    `json:"id,omitempty"`
	Email      string    `json:"email,omitempty"`
	LinkedAt   time.Time `json:"linked_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// LinkAction is the local path of the page whose button links the
	// provider.
	LinkAction string `json:"-"`
}

// LinkedSection is the Data of the linked_accounts settings section.
type LinkedSection struct {
	// Providers are every configured provider, linked or not.
	Providers []LinkedProvider `json:"providers"`
}

// LinkMail is the Data of the oauth_linked and oauth_unlinked emails.
type LinkMail struct {
	// Provider is the provider's label.
	Provider string
}
