package apitoken

import (
	"embed"
	"io/fs"
	"time"

	"github.com/sigra-go/sigra/ui"
)

//go:embed templates
var templates embed.FS

// Route paths, under the site's prefix. The pack declares them and Mount
// serves them.
const (
	pathTokens          = "/settings/tokens"
	pathRevoke          = "/settings/tokens/revoke"
	pathRevokeAll       = "/settings/tokens/revoke-all"
	pathServiceAccounts = "/settings/service-accounts"
	pathServiceRotate   = "/settings/service-accounts/rotate"
	pathServiceDelete   = "/settings/service-accounts/delete"
	pathToken           = "/oauth/token"
)

// PackName is the name of the API tokens pack in a [ui.UI].
const PackName = "apitoken"

// Pages returns the API tokens' share of the UI: their pages, settings
// section and email, routes, notices and settings-navigation entry. Give
// it to ui.New in Config.Packs; [New] refuses a UI without it.
//
// Pages (name, Data type):
//
//	api_tokens               *TokensData    the user's tokens, create, revoke
//	api_token_created        *CreatedData   a new token, shown once
//	service_accounts         *AccountsData  the accounts the user manages
//	service_account_secret   *SecretData    a new client secret, shown once
//
// Settings section: api_tokens (*TokensSection).
//
// Email (name, Email.Data type): api_token_created (*CreatedMail).
//
// The routes' names are those of the pages, plus api_token_create,
// api_token_revoke, api_token_revoke_all, service_account_create,
// service_account_rotate, service_account_delete and oauth_token.
func Pages() ui.Pack {
	files, _ := fs.Sub(templates, "templates")
	return ui.Pack{
		Name:  PackName,
		Files: files,
		Pages: map[string]any{
			"api_tokens": &TokensData{}, "api_token_created": &CreatedData{},
			"service_accounts": &AccountsData{}, "service_account_secret": &SecretData{},
		},
		Sections: map[string]any{"api_tokens": &TokensSection{}},
		Emails:   map[string]any{"api_token_created": &CreatedMail{}},
		Routes: map[string]string{
			"api_tokens": pathTokens, "api_token_create": pathTokens, "api_token_revoke": pathRevoke,
			"api_token_revoke_all": pathRevokeAll, "service_accounts": pathServiceAccounts,
			"service_account_create": pathServiceAccounts, "service_account_rotate": pathServiceRotate,
			"service_account_delete": pathServiceDelete, "oauth_token": pathToken,
		},
		Notices: map[string]string{
			"token_revoked":           "The token was revoked. Requests with it now fail.",
			"tokens_revoked":          "All your tokens were revoked.",
			"service_account_deleted": "The service account was deleted. Its secrets and tokens no longer work.",
		},
		Nav: []ui.NavItem{{Route: "api_tokens", Label: "API tokens", Icon: "key", Order: 50}},
	}
}

// TokenView is one personal token in lists.
type TokenView struct {
	// ID names the token in revocation forms; it is not a credential.
	ID string `json:"id"`
	// Name is the label the user gave it.
	Name string `json:"name"`
	// Scopes are the scopes it grants, in the declared order.
	Scopes []string `json:"scopes"`
	// CreatedAt, ExpiresAt (zero: never) and LastUsedAt (zero: never
	// used; written at most once a minute).
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// ExpiryOption is one choice of lifetime on the create form.
type ExpiryOption struct {
	// Value is the form value: a number of days, or "never".
	Value string
	// Label is what the user reads ("90 days").
	Label string
	// Default marks the preselected option.
	Default bool
}

// TokensData is the Data of the "api_tokens" page: the user's live
// tokens, newest first, and the create form.
type TokensData struct {
	// Tokens are the user's live tokens, newest first.
	Tokens []TokenView
	// Scopes are the scopes the application declared.
	Scopes []Scope
	// Expiries are the lifetimes offered.
	Expiries []ExpiryOption
	// ServiceAccounts reports whether the user manages service accounts
	// somewhere (a link to their page is shown).
	ServiceAccounts bool
}

// CreatedData is the Data of the "api_token_created" page: a new token,
// the only time it is shown.
type CreatedData struct {
	// Token is the new token itself.
	Token string
	// Name, Scopes and ExpiresAt (zero: never) describe it.
	Name      string
	Scopes    []string
	ExpiresAt time.Time
}

// SecretView is one working client secret of a service account.
type SecretView struct {
	// CreatedAt is when the secret was made.
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when a rotated secret stops working; zero for the
	// current one.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// AccountView is one service account in lists.
type AccountView struct {
	// ID is the account's client ID.
	ID string `json:"client_id"`
	// Name is the label given at creation.
	Name string `json:"name"`
	// Scopes are the scopes its access tokens may carry.
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	// Secrets are its working client secrets, newest first.
	Secrets []SecretView `json:"secrets"`
}

// OwnerView is an owner of service accounts the user manages: an
// organization, or the application (OrgID "").
type OwnerView struct {
	// OrgID is the organization's ID; "" for the application.
	OrgID string `json:"org_id"`
	// Name is the organization's name, or the product's.
	Name string `json:"name"`
	// Accounts are its service accounts, oldest first.
	Accounts []AccountView `json:"service_accounts"`
}

// AccountsData is the Data of the "service_accounts" page.
type AccountsData struct {
	// Owners are the owners whose accounts the user manages.
	Owners []OwnerView
	// Scopes are the scopes the application declared.
	Scopes []Scope
	// TokenEndpoint is the absolute URL of the token endpoint.
	TokenEndpoint string
}

// SecretData is the Data of the "service_account_secret" page: a client
// secret, the only time it is shown.
type SecretData struct {
	// ClientID is the account's ID; Secret the new client secret; Name
	// the account's label.
	ClientID string
	Secret   string
	Name     string
	// PreviousUntil is when the earlier secrets stop working, after a
	// rotation; zero for a new account.
	PreviousUntil time.Time
	// TokenEndpoint is the absolute URL of the token endpoint.
	TokenEndpoint string
}

// TokensSection is the Data of the "api_tokens" settings section.
type TokensSection struct {
	// Count is how many live tokens the user has.
	Count int `json:"count"`
}

// CreatedMail is the Data of the "api_token_created" email.
type CreatedMail struct {
	// Name is the token's label.
	Name string
	// Scopes are the token's scopes, comma-separated; empty for none.
	Scopes string
	// ExpiresAt is when the token expires; zero for never.
	ExpiresAt time.Time
}
