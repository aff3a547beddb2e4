package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// Store is what provider sign-in needs of storage: users, linked
// identities, single-use tokens (the handshake's state), the rate
// limiter, the audit log and transactions.
type Store interface {
	store.Users
	store.Identities
	store.Tokens
	store.Limiter
	store.AuditLog
	store.Transactor
}

// SecondFactor is how a provider sign-in hands over to a second factor,
// the same hand-off as a password sign-in's. The mfa package's *mfa.MFA
// satisfies it.
type SecondFactor interface {
	// Required reports whether the user must present a second factor.
	Required(ctx context.Context, userID string) (bool, error)
	// Trusted reports whether r comes from a browser the user trusted to
	// skip the second factor.
	Trusted(r *http.Request, userID string) bool
}

// Audit actions of provider sign-in, beside the catalogue's
// audit.ActionLoginSuccess, audit.ActionLoginFailure and
// audit.ActionRegister (which a provider sign-in records with method
// "oauth" and the provider's name). A strict audit.Logger must list them
// in its Config.Actions ([Actions] returns them).
const (
	// ActionLink: an identity at a provider was linked to a user.
	ActionLink = "oauth.link"
	// ActionUnlink: a user unlinked an identity.
	ActionUnlink = "oauth.unlink"
	// ActionLinkPending: a sign-in found an account holding the
	// provider's verified address and asked the user to sign in to it and
	// confirm the link; nothing was linked.
	ActionLinkPending = "oauth.link.pending"
	// ActionCallbackFailure: a provider's callback failed: consent
	// denied, provider error, state mismatch, replayed or expired state,
	// token exchange or ID token refused (metadata "reason").
	ActionCallbackFailure = "oauth.callback.failure"
)

// Actions returns the audit actions this package records besides the
// catalogue's, for audit.Config.Actions of a strict logger.
func Actions() []string {
	return []string{ActionLink, ActionUnlink, ActionLinkPending, ActionCallbackFailure}
}

// Limits are the rate limits of the handshake, counted in the store so
// they hold across instances. Zero fields take the defaults shown.
type Limits struct {
	// StartPerIP bounds the handshakes begun per client address. Default
	// 30 per 15 minutes.
	StartPerIP middleware.Limit
	// CallbackPerIP bounds the callbacks per client address. Default 30
	// per 15 minutes.
	CallbackPerIP middleware.Limit
}

// Config configures provider sign-in. Store, Sessions, Guard, UI, Mail,
// Keys and Providers are required; the site comes from Sessions, and the
// UI must be built from the same site with [Pages] among its packs (and
// the sign-in pack, such as account.Pages(), which declares the routes
// sign_in, sudo and settings).
type Config struct {
	// Store keeps users, identities, the handshake's state and the
	// limits: sqlite.Open, postgres.Open, or the host's own store.
	Store Store
	// Sessions is the session manager; the site comes from it.
	Sessions *session.Manager
	// Guard guards the routes (RequireUser, RequireSudo).
	Guard *middleware.Guard
	// UI renders the pages; it must hold [Pages].
	UI *ui.UI
	// Mail sends notices: an *mail.Outbox over the same store in
	// production.
	Mail mail.Sender
	// Keys seal the providers' tokens and the handshake's PKCE verifier at
	// rest: "id:base64key[,id:base64key...]", as mfa.Config.Keys.
	Keys string
	// Providers are the providers offered, in the order of the buttons.
	// At least one.
	Providers []Provider
	// SecondFactor hands sign-ins to the second step; optional (kit sets
	// the mfa feature).
	SecondFactor SecondFactor
	// AfterSignIn runs when a provider sign-in completed (without a second
	// factor, on a trusted browser, or at AAL2 by the provider's trusted
	// claim), as account.Hooks.AfterSignIn runs for the account's
	// sign-ins; the kit gives it the account's hook. It does not run when
	// the sign-in goes on to the second step. Optional.
	AfterSignIn func(ctx context.Context, u *sigra.User)
	// AfterRegister runs when a provider sign-in created an account,
	// before the user is signed in, with what the provider said of the
	// person ([Profile]): the application stores the name there if it
	// wants it. Sign in with Apple sends the name only once, at the
	// first authorization of the application (see [Profile]). Optional.
	AfterRegister func(ctx context.Context, u *sigra.User, p Profile)
	// DisableRegistration refuses to create an account for an identity
	// that matches none: the user registers first and links the provider
	// from the settings page.
	DisableRegistration bool
	// AllowUnverifiedEmail creates an account for an identity whose
	// address the provider did not verify (with the address unconfirmed).
	// By default such an identity makes no account (422
	// "email_unverified"): whoever controls that provider account would
	// keep signing in to the account even after the address's real owner
	// took it over by a password reset (pre-account hijacking). Set it
	// only for providers that verify every address they hand out.
	AllowUnverifiedEmail bool
	// HTTPClient makes the back-channel requests (discovery, token
	// exchange, keys, GitHub's API). Default: a client with a 15-second
	// timeout.
	HTTPClient *http.Client
	// StateTTL bounds how long a handshake may take at the provider.
	// Default 10 minutes.
	StateTTL time.Duration
	// Limits are the rate limits of the handshake.
	Limits Limits
	// Audit records the events. Default: a Logger over Store.
	Audit *audit.Logger
	// RateLimiter counts the limits. Default: one over Store.
	RateLimiter *middleware.RateLimiter
}

// Profile is what a provider said of the person whose sign-in created an
// account, given to Config.AfterRegister. Names are as the provider holds
// them (or, for Apple, as the user typed them there): never verified,
// each at most 100 characters, "" when the provider gave none.
//
// Where the names come from: the ID token's name, given_name and
// family_name claims (OpenID Connect providers: Google, Microsoft,
// GitLab, any issuer, with the scope "profile"); GitHub's user name;
// Apple's form_post field "user" ({"name": {"firstName", "lastName"}}),
// which Apple sends only at the first authorization of the application
// by that Apple ID, so a name missed then is not sent again (the user
// would have to remove the application from their Apple ID). The field
// travels from the form_post to the callback sealed with Keys and bound
// to the state; it is read only by a callback whose state was checked,
// and otherwise dropped: it is neither stored nor logged by this package.
type Profile struct {
	// Provider is the provider's name ("apple"); Subject its identifier
	// of the person.
	Provider, Subject string
	// Email is the address the provider gave; EmailVerified whether it
	// said it verified it.
	Email         string
	EmailVerified bool
	// Name is the full name; GivenName and FamilyName its parts, where
	// the provider gave them (Apple gives only the parts: Name is then
	// built from them).
	Name, GivenName, FamilyName string
}

// OAuth serves sign-in with OAuth and OpenID Connect providers, linking
// and unlinking from the settings page, and the providers' tokens
// ([OAuth.TokenFor]). Create it with [New] and mount it with
// [OAuth.Mount]. Safe for concurrent use.
type OAuth struct {
	k         *kernel.Kernel
	cfg       Config
	st        Store
	keys      *seal.Keyring
	providers []*provider
	byName    map[string]*provider
}

// New validates cfg and returns an OAuth. It does no network I/O: each
// provider's endpoints are discovered at its first use. Errors wrap
// [sigra.ErrConfig] and name the missing or invalid field.
func New(cfg Config) (*OAuth, error) {
	var st kernel.Store
	if cfg.Store != nil {
		st = cfg.Store
	}
	k, err := kernel.New("oauth", PackName, st, kernel.Deps{
		Sessions: cfg.Sessions, Guard: cfg.Guard, UI: cfg.UI, Mail: cfg.Mail, Audit: cfg.Audit, Limiter: cfg.RateLimiter,
	})
	if err != nil {
		return nil, err
	}
	k.Forms(forms())
	for _, route := range []string{ui.RouteSignIn, ui.RouteSudo, ui.RouteSettings} {
		if err := k.Need(route, "the pack of the sign-in flows (such as account.Pages())"); err != nil {
			return nil, err
		}
	}
	if cfg.Keys == "" {
		return nil, fmt.Errorf("%w: oauth: Config.Keys is required (the keys that seal the providers' tokens)", sigra.ErrConfig)
	}
	keys, err := seal.ParseKeyring(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("%w: oauth: Keys: %w", sigra.ErrConfig, err)
	}
	if len(cfg.Providers) == 0 {
		return nil, fmt.Errorf("%w: oauth: Config.Providers is empty: configure at least one provider", sigra.ErrConfig)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = 10 * time.Minute
	}
	if cfg.Limits.StartPerIP.N <= 0 {
		cfg.Limits.StartPerIP = middleware.Limit{N: 30, Window: 15 * time.Minute}
	}
	if cfg.Limits.CallbackPerIP.N <= 0 {
		cfg.Limits.CallbackPerIP = middleware.Limit{N: 30, Window: 15 * time.Minute}
	}
	o := &OAuth{k: k, cfg: cfg, st: cfg.Store, keys: keys, byName: map[string]*provider{}}
	for _, pc := range cfg.Providers {
		if err := pc.check(); err != nil {
			return nil, err
		}
		if _, dup := o.byName[pc.Name]; dup {
			return nil, fmt.Errorf("%w: oauth: two providers are named %q", sigra.ErrConfig, pc.Name)
		}
		p := &provider{Provider: pc, client: cfg.HTTPClient, callback: k.Absolute(k.Path(callbackPath(pc.Name)))}
		o.providers = append(o.providers, p)
		o.byName[pc.Name] = p
	}
	return o, nil
}

// Mount registers the routes on mux under the site's prefix. See the
// package documentation for the routes.
func (o *OAuth) Mount(mux *http.ServeMux) {
	get, post := http.MethodGet, http.MethodPost
	user, sudo := o.k.Guard.RequireUser, o.k.Guard.RequireSudo
	refuse := o.k.Guard.RefuseImpersonation // what an admin acting as the user may not do
	o.k.Handle(mux, get, pathSignIn, o.signInPage)
	o.k.Handle(mux, post, pathStart, o.start)
	o.k.Handle(mux, get, pathCallback, o.callback)
	o.k.Handle(mux, post, pathCallback, o.formPost)
	o.k.Handle(mux, get, pathLink, o.linkPage, user, refuse)
	o.k.Handle(mux, post, pathLink, o.confirmLink, user, refuse)
	o.k.Handle(mux, get, pathLinkStart, o.connectPage, user, refuse)
	o.k.Handle(mux, post, pathLinkStart, o.startLink, sudo)
	o.k.Handle(mux, post, pathUnlink, o.unlink, sudo)
	o.k.Handle(mux, get, pathSudo, o.sudoPage, user, refuse)
	o.k.Handle(mux, post, pathSudoStart, o.startSudo, user, refuse)
}

// CSRFExempt reports the requests that skip the CSRF token check: the
// POST of a provider's form_post callback (Sign in with Apple), which
// comes from the provider's site without the token. That route changes
// nothing: it only sends the browser on to the same-site GET callback,
// where the state is checked against the session. Use it in
// middleware.CSRFConfig.Exempt beside middleware.TokenExempt, and add
// [OAuth.TrustedOrigins] to its TrustedOrigins.
func (o *OAuth) CSRFExempt(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	for _, p := range o.providers {
		if p.Kind == KindApple && r.URL.Path == o.k.Path(callbackPath(p.Name)) {
			return true
		}
	}
	return false
}

// TrustedOrigins returns the origins of the providers that post their
// callback cross-site ("https://appleid.apple.com" when Apple is
// configured), for middleware.CSRFConfig.TrustedOrigins: without them the
// cross-origin check refuses that POST. Their token check is still
// required everywhere but on [OAuth.CSRFExempt]'s route.
func (o *OAuth) TrustedOrigins() []string {
	for _, p := range o.providers {
		if p.Kind == KindApple {
			return []string{"https://appleid.apple.com"}
		}
	}
	return nil
}

// Section returns the part of the settings page that lists the user's
// linked providers, with buttons to link the others and unlink, for
// account.Config.Sections.
func (o *OAuth) Section() ui.Section {
	return ui.Section{Name: "linked_accounts", Order: 45, Data: func(r *http.Request) (any, error) {
		u := o.k.Sess.User(r.Context())
		if u == nil {
			return nil, nil
		}
		return o.linkedData(r.Context(), u.ID)
	}}
}

// linkedData lists the providers with the user's identity at each.
func (o *OAuth) linkedData(ctx context.Context, userID string) (*LinkedSection, error) {
	ids, err := o.st.UserIdentities(ctx, userID)
	if err != nil {
		return nil, err
	}
	d := &LinkedSection{}
	for _, p := range o.providers {
		row := LinkedProvider{Name: p.Name, Label: p.Label, LinkAction: o.k.Path(linkStartPath(p.Name))}
		for _, i := range ids {
			if i.Provider == p.Name {
				row.Linked, row.ID, row.Email, row.LinkedAt, row.LastUsedAt = true, i.ID, i.Email, i.CreatedAt, i.LastUsedAt
			}
		}
		d.Providers = append(d.Providers, row)
	}
	return d, nil
}

// ErrNoIdentity is returned, wrapped, by [OAuth.TokenFor] for a user who
// has no identity at the provider (or a provider that is not configured).
var ErrNoIdentity = errors.New("sigra/oauth: no linked identity at this provider")

// ErrNoToken is returned, wrapped, by [OAuth.TokenFor] when the identity
// holds no usable token: none was stored, or the access token expired and
// there is no refresh token (or the provider refused it). The user signs
// in with the provider again to get a new one.
var ErrNoToken = errors.New("sigra/oauth: no usable token for this identity")

// Has reports whether the user has an identity linked at one of the
// configured providers: one they can re-authenticate with (the route
// oauth_sudo). account.Config.LinkedAccounts takes it.
func (o *OAuth) Has(ctx context.Context, userID string) (bool, error) {
	ids, err := o.st.UserIdentities(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, i := range ids {
		if _, ok := o.byName[i.Provider]; ok {
			return true, nil
		}
	}
	return false, nil
}

// TokenFor returns the user's access token at the provider, for calling
// the provider's API on the user's behalf. An access token that expires
// within a minute is refreshed first with the stored refresh token, and
// the new tokens are stored (sealed). It returns an error wrapping
// [ErrNoIdentity] or [ErrNoToken], or the store's error.
func (o *OAuth) TokenFor(ctx context.Context, userID, providerName string) (*oauth2.Token, error) {
	p, ok := o.byName[providerName]
	if !ok {
		return nil, fmt.Errorf("%w: provider %q is not configured", ErrNoIdentity, providerName)
	}
	id, err := o.userIdentity(ctx, userID, providerName)
	if err != nil {
		return nil, err
	}
	access, refresh, err := o.openTokens(id)
	if err != nil {
		return nil, err
	}
	now := o.k.Now()
	if access != "" && (id.TokenExpiresAt.IsZero() || id.TokenExpiresAt.After(now.Add(time.Minute))) {
		return &oauth2.Token{AccessToken: access, TokenType: "Bearer", Expiry: id.TokenExpiresAt}, nil
	}
	if refresh == "" {
		return nil, fmt.Errorf("%w: the access token expired and there is no refresh token", ErrNoToken)
	}
	r, err := p.get(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := p.refresh(ctx, r, refresh)
	if err != nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("%w: the provider refused the refresh token: %v", ErrNoToken, err)
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = refresh // the provider keeps the old one
	}
	if err := o.saveTokens(ctx, id, tok.AccessToken, tok.RefreshToken, tok.Expiry); err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: tok.AccessToken, TokenType: "Bearer", Expiry: tok.Expiry}, nil
}

// userIdentity returns the user's identity at the provider.
func (o *OAuth) userIdentity(ctx context.Context, userID, providerName string) (*store.Identity, error) {
	ids, err := o.st.UserIdentities(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, i := range ids {
		if i.Provider == providerName {
			return i, nil
		}
	}
	return nil, fmt.Errorf("%w: user %q at %q", ErrNoIdentity, userID, providerName)
}

// tokenAD binds a sealed token to its identity and kind.
func tokenAD(provider, subject, kind string) []byte {
	return []byte("sigra.oauth.token:" + kind + ":" + provider + ":" + subject)
}

// The kinds of provider token, for [SealToken] and [OpenToken].
const (
	TokenAccess  = "access"
	TokenRefresh = "refresh"
)

// SealToken seals a provider token of the identity (provider, subject)
// with keys (Config.Keys' format, the first key sealing) exactly as this
// package stores it (store.Identity.AccessToken for kind TokenAccess,
// RefreshToken for TokenRefresh): for tools that re-seal the stored
// tokens after a key rotation (cmd/sigra keys reseal). Errors wrap
// sigra.ErrConfig for unusable keys or an unknown kind.
func SealToken(keys, provider, subject, kind, token string) ([]byte, error) {
	kr, err := tokenKeys(keys, kind)
	if err != nil {
		return nil, err
	}
	return kr.Seal([]byte(token), tokenAD(provider, subject, kind))
}

// OpenToken unseals a provider token of kind that this package (or
// [SealToken]) sealed for the identity (provider, subject) with one of
// keys.
func OpenToken(keys, provider, subject, kind string, sealed []byte) (string, error) {
	kr, err := tokenKeys(keys, kind)
	if err != nil {
		return "", err
	}
	b, err := kr.Open(sealed, tokenAD(provider, subject, kind))
	if err != nil {
		return "", fmt.Errorf("sigra/oauth: open %s token: %w", kind, err)
	}
	return string(b), nil
}

func tokenKeys(keys, kind string) (*seal.Keyring, error) {
	if kind != TokenAccess && kind != TokenRefresh {
		return nil, fmt.Errorf("%w: oauth: unknown token kind %q", sigra.ErrConfig, kind)
	}
	kr, err := seal.ParseKeyring(keys)
	if err != nil {
		return nil, fmt.Errorf("%w: oauth: keys: %v", sigra.ErrConfig, err)
	}
	return kr, nil
}

// sealTokens seals an access and a refresh token of an identity; empty
// ones stay nil.
func (o *OAuth) sealTokens(provider, subject, access, refresh string) (a, r []byte, err error) {
	if access != "" {
		if a, err = o.keys.Seal([]byte(access), tokenAD(provider, subject, "access")); err != nil {
			return nil, nil, err
		}
	}
	if refresh != "" {
		if r, err = o.keys.Seal([]byte(refresh), tokenAD(provider, subject, "refresh")); err != nil {
			return nil, nil, err
		}
	}
	return a, r, nil
}

// openTokens unseals an identity's tokens.
func (o *OAuth) openTokens(id *store.Identity) (access, refresh string, err error) {
	if id.AccessToken != nil {
		b, err := o.keys.Open(id.AccessToken, tokenAD(id.Provider, id.Subject, "access"))
		if err != nil {
			return "", "", fmt.Errorf("sigra/oauth: open access token: %w", err)
		}
		access = string(b)
	}
	if id.RefreshToken != nil {
		b, err := o.keys.Open(id.RefreshToken, tokenAD(id.Provider, id.Subject, "refresh"))
		if err != nil {
			return "", "", fmt.Errorf("sigra/oauth: open refresh token: %w", err)
		}
		refresh = string(b)
	}
	return access, refresh, nil
}

func (o *OAuth) saveTokens(ctx context.Context, id *store.Identity, access, refresh string, expires time.Time) error {
	a, r, err := o.sealTokens(id.Provider, id.Subject, access, refresh)
	if err != nil {
		return err
	}
	return o.st.SetIdentityTokens(ctx, id.ID, a, r, expires.UTC(), o.k.Now())
}

// publicUser is the user as the session and the hooks see it.
func publicUser(u *store.User) *sigra.User {
	return &sigra.User{ID: u.ID, Email: u.Email, EmailConfirmedAt: u.EmailConfirmedAt, CreatedAt: u.CreatedAt}
}
