package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/markbates/goth"
	"github.com/markbates/goth/providers/github"
	"github.com/markbates/goth/providers/openidConnect"
	"golang.org/x/oauth2"

	"github.com/sigra-go/sigra"
)

// Kind is the kind of a [Provider]: how its sign-in works and where its
// defaults come from.
type Kind int

// The kinds of providers. Every kind but KindGitHub is an OpenID Connect
// issuer, found by discovery, whose ID tokens are verified (signature,
// issuer, audience, expiry, nonce).
const (
	// KindOIDC is any OpenID Connect issuer, by its issuer URL
	// (Provider.Issuer; discovery at Issuer + "/.well-known/openid-configuration").
	KindOIDC Kind = iota + 1
	// KindGoogle is Google (issuer https://accounts.google.com).
	KindGoogle
	// KindGitHub is GitHub, an OAuth 2.0 provider without OpenID
	// Connect: the account is read from its API, and the address used is
	// the account's primary verified one.
	KindGitHub
	// KindApple is Sign in with Apple (issuer https://appleid.apple.com).
	// Apple posts its callback cross-site (response_mode=form_post); see
	// the package documentation.
	KindApple
	// KindMicrosoft is the Microsoft identity platform
	// (https://login.microsoftonline.com/<Tenant>/v2.0).
	KindMicrosoft
	// KindGitLab is GitLab (issuer https://gitlab.com, or Provider.Issuer
	// for a self-managed instance).
	KindGitLab
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindOIDC:
		return "oidc"
	case KindGoogle:
		return "google"
	case KindGitHub:
		return "github"
	case KindApple:
		return "apple"
	case KindMicrosoft:
		return "microsoft"
	case KindGitLab:
		return "gitlab"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Provider configures one provider. Build one with [Google], [GitHub],
// [Apple], [Microsoft], [GitLab] or [OIDC] and change what differs; [New]
// validates it. The client ID and secret come from the provider's
// developer console; keep the secret out of the code (an environment
// variable).
type Provider struct {
	// Name identifies the provider in routes (/oauth/<Name>/...) and in
	// stored identities: 1 to 32 characters of a-z, 0-9 and '-', unique
	// among the providers. Changing it orphans the identities linked
	// under the old name.
	Name string
	// Label is the provider's name as users know it, on the buttons
	// ("Continue with Label").
	Label string
	// Kind says how the provider works.
	Kind Kind
	// ClientID and ClientSecret identify the application at the provider.
	// Both are required. For Apple the secret is a JWT the application
	// signs with its private key (goth's apple.MakeSecret makes one) and
	// renews before it expires (at most six months).
	ClientID     string
	ClientSecret string
	// Issuer is the OpenID Connect issuer URL: required for KindOIDC, a
	// self-managed instance's URL for KindGitLab, filled for the other
	// kinds. It must be https, or http on a loopback host (development and
	// tests).
	Issuer string
	// Tenant is the Microsoft tenant: a tenant ID or domain, or "common",
	// "organizations" or "consumers" (then the token's issuer is checked
	// against its own tenant ID). KindMicrosoft only; default "common".
	Tenant string
	// Scopes are requested beside "openid". Default: "email profile"
	// ("email name" for Apple; "read:user user:email" for GitHub).
	Scopes []string
	// AuthURL, TokenURL and APIURL replace GitHub's endpoints (GitHub
	// Enterprise Server, tests): the authorize and token URLs, and the API
	// root holding /user and /user/emails. KindGitHub only.
	AuthURL, TokenURL, APIURL string
	// TrustMFA makes a sign-in through this provider count as two factors
	// (AAL2) when its ID token says the user passed a second factor there
	// ("amr" holding "mfa", "otp", "hwk" or "swk"). Off by default: a
	// provider sign-in is one factor, and a user who enrolled a second
	// factor here presents it too.
	TrustMFA bool
}

// Google returns the configuration of Google sign-in.
func Google(clientID, clientSecret string) Provider {
	return Provider{Name: "google", Label: "Google", Kind: KindGoogle, ClientID: clientID, ClientSecret: clientSecret}
}

// GitHub returns the configuration of GitHub sign-in.
func GitHub(clientID, clientSecret string) Provider {
	return Provider{Name: "github", Label: "GitHub", Kind: KindGitHub, ClientID: clientID, ClientSecret: clientSecret}
}

// Apple returns the configuration of Sign in with Apple: clientID is the
// Services ID, clientSecret the signed client secret (see
// [Provider].ClientSecret).
func Apple(clientID, clientSecret string) Provider {
	return Provider{Name: "apple", Label: "Apple", Kind: KindApple, ClientID: clientID, ClientSecret: clientSecret}
}

// Microsoft returns the configuration of Microsoft sign-in for tenant
// ("common" for every work, school and personal account).
func Microsoft(tenant, clientID, clientSecret string) Provider {
	return Provider{Name: "microsoft", Label: "Microsoft", Kind: KindMicrosoft, Tenant: tenant, ClientID: clientID, ClientSecret: clientSecret}
}

// GitLab returns the configuration of GitLab.com sign-in (set Issuer for
// a self-managed instance).
func GitLab(clientID, clientSecret string) Provider {
	return Provider{Name: "gitlab", Label: "GitLab", Kind: KindGitLab, ClientID: clientID, ClientSecret: clientSecret}
}

// OIDC returns the configuration of any OpenID Connect issuer, found by
// discovery at issuer + "/.well-known/openid-configuration".
func OIDC(name, label, issuer, clientID, clientSecret string) Provider {
	return Provider{Name: name, Label: label, Kind: KindOIDC, Issuer: issuer, ClientID: clientID, ClientSecret: clientSecret}
}

// multiTenants are the Microsoft tenants whose tokens carry the issuer of
// the user's own tenant.
var multiTenants = []string{"common", "organizations", "consumers"}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$`)
	tenantRE = regexp.MustCompile(`^[A-Za-z0-9.-]{1,100}$`)
)

// check fills p's defaults and validates it.
func (p *Provider) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: oauth: provider %q: %s", sigra.ErrConfig, p.Name, fmt.Sprintf(format, args...))
	}
	if !nameRE.MatchString(p.Name) {
		return bad("Name must be 1 to 32 characters of a-z, 0-9 and '-'")
	}
	if p.ClientID == "" || p.ClientSecret == "" {
		return bad("ClientID and ClientSecret are required")
	}
	if p.Label == "" {
		p.Label = p.Name
	}
	if p.Kind != KindGitHub && (p.AuthURL != "" || p.TokenURL != "" || p.APIURL != "") {
		return bad("AuthURL, TokenURL and APIURL are for GitHub only")
	}
	if p.Kind != KindMicrosoft && p.Tenant != "" {
		return bad("Tenant is for Microsoft only")
	}
	switch p.Kind {
	case KindGoogle:
		p.Issuer = cmpOr(p.Issuer, "https://accounts.google.com")
	case KindApple:
		p.Issuer = cmpOr(p.Issuer, "https://appleid.apple.com")
	case KindGitLab:
		p.Issuer = cmpOr(p.Issuer, "https://gitlab.com")
	case KindMicrosoft:
		p.Tenant = cmpOr(p.Tenant, "common")
		if !tenantRE.MatchString(p.Tenant) {
			return bad("invalid Tenant %q", p.Tenant)
		}
		p.Issuer = cmpOr(p.Issuer, "https://login.microsoftonline.com/"+p.Tenant+"/v2.0")
	case KindOIDC:
		if p.Issuer == "" {
			return bad("Issuer is required for an OpenID Connect provider")
		}
	case KindGitHub:
		p.AuthURL = cmpOr(p.AuthURL, github.AuthURL)
		p.TokenURL = cmpOr(p.TokenURL, github.TokenURL)
		p.APIURL = strings.TrimSuffix(cmpOr(p.APIURL, "https://api.github.com"), "/")
		for _, u := range []string{p.AuthURL, p.TokenURL, p.APIURL} {
			if err := checkURL(u); err != nil {
				return bad("%v", err)
			}
		}
		if p.TrustMFA {
			return bad("TrustMFA needs an OpenID Connect provider (GitHub says nothing of how the user signed in)")
		}
	default:
		return bad("unknown Kind %d", int(p.Kind))
	}
	if p.Kind != KindGitHub {
		if err := checkURL(p.Issuer); err != nil {
			return bad("Issuer: %v", err)
		}
	}
	if len(p.Scopes) == 0 {
		switch p.Kind {
		case KindGitHub:
			p.Scopes = []string{"read:user", "user:email"}
		case KindApple:
			p.Scopes = []string{"email", "name"}
		default:
			p.Scopes = []string{"email", "profile"}
		}
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkURL accepts an absolute https URL, or http on a loopback host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an absolute URL without query", s)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q must be https (or http on a loopback host)", s)
}

func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// provider is a configured provider with its callback URL; its endpoints
// are discovered at first use (ready), so that New does no network I/O
// and a provider that is down does not stop the application.
type provider struct {
	Provider
	callback string
	client   *http.Client

	mu    sync.Mutex
	ready *ready
}

// ready is a provider once its endpoints are known.
type ready struct {
	goth goth.Provider
	// verifier verifies ID tokens; nil for GitHub.
	verifier *oidc.IDTokenVerifier
	// pkce is whether the provider takes PKCE with S256 (said by its
	// discovery document).
	pkce bool
	// revoke is the token revocation endpoint (RFC 7009), if any.
	revoke string
	// authURL and tokenURL are the authorization and token endpoints.
	authURL, tokenURL string
}

// errProviderDown is a provider whose discovery failed: the sign-in is
// answered 503 and tried again at the next request.
var errProviderDown = errors.New("sigra/oauth: the provider cannot be reached")

// get returns the provider's endpoints, discovering them at first use.
func (p *provider) get(ctx context.Context) (*ready, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready != nil {
		return p.ready, nil
	}
	r, err := p.discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errProviderDown, p.Name, err)
	}
	p.ready = r
	return r, nil
}

func (p *provider) discover(ctx context.Context) (*ready, error) {
	if p.Kind == KindGitHub {
		g := github.NewCustomisedURL(p.ClientID, p.ClientSecret, p.callback, p.AuthURL, p.TokenURL,
			p.APIURL+"/user", p.APIURL+"/user/emails", p.Scopes...)
		g.HTTPClient = p.client
		g.SetName(p.Name)
		return &ready{goth: g, authURL: p.AuthURL, tokenURL: p.TokenURL}, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.client), 10*time.Second)
	defer cancel()
	multi := p.Kind == KindMicrosoft && slices.Contains(multiTenants, p.Tenant)
	if multi {
		// The discovery document names the issuer with a placeholder.
		ctx = oidc.InsecureIssuerURLContext(ctx, "https://login.microsoftonline.com/{tenantid}/v2.0")
	}
	op, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		return nil, err
	}
	var meta struct {
		Revocation string   `json:"revocation_endpoint"`
		Methods    []string `json:"code_challenge_methods_supported"`
		Userinfo   string   `json:"userinfo_endpoint"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, err
	}
	ep := op.Endpoint()
	g, err := openidConnect.NewCustomisedURL(p.ClientID, p.ClientSecret, p.callback, ep.AuthURL, ep.TokenURL,
		p.Issuer, meta.Userinfo, "", p.Scopes...)
	if err != nil {
		return nil, err
	}
	g.HTTPClient = p.client
	g.SetName(p.Name)
	v := op.Verifier(&oidc.Config{ClientID: p.ClientID, SkipIssuerCheck: multi})
	return &ready{goth: g, verifier: v, pkce: slices.Contains(meta.Methods, "S256"), revoke: meta.Revocation, authURL: ep.AuthURL, tokenURL: ep.TokenURL}, nil
}

// refresh trades a refresh token for new tokens at the token endpoint,
// with ctx and the configured client (goth's own refresh takes no
// context and uses the default client).
func (p *provider) refresh(ctx context.Context, r *ready, refreshToken string) (*oauth2.Token, error) {
	c := &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: oauth2.Endpoint{TokenURL: r.tokenURL}}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	return c.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// account is what a provider says of the account that signed in.
type account struct {
	Subject       string
	Email         string
	EmailVerified bool
	// MFA is whether the ID token says a second factor was used at the
	// provider.
	MFA bool
	// Name, GivenName and FamilyName are the person's names, if the
	// provider gave them (see Profile).
	Name, GivenName, FamilyName string
}

// maxNameLen bounds each name a provider gives, in characters.
const maxNameLen = 100

// cleanName returns s trimmed, or "" if it is not one line of valid
// UTF-8 text of at most maxNameLen characters.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxNameLen {
		return ""
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return ""
		}
	}
	return s
}

// setNames fills a's names from a provider's, cleaned; a full name is
// built from the parts when the provider gave only those.
func (a *account) setNames(name, given, family string) {
	a.GivenName, a.FamilyName = cleanName(given), cleanName(family)
	a.Name = cleanName(name)
	if a.Name == "" {
		a.Name = cleanName(strings.TrimSpace(a.GivenName + " " + a.FamilyName))
	}
}

// idClaims are the claims read from a verified ID token.
type idClaims struct {
	Subject       string          `json:"sub"`
	Email         string          `json:"email"`
	EmailVerified json.RawMessage `json:"email_verified"`
	Nonce         string          `json:"nonce"`
	AMR           []string        `json:"amr"`
	TenantID      string          `json:"tid"`
	Issuer        string          `json:"iss"`
	Name          string          `json:"name"`
	GivenName     string          `json:"given_name"`
	FamilyName    string          `json:"family_name"`
}

// verified reads an email_verified claim: a JSON boolean, or the string
// "true" (Apple).
func verified(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "true" || s == `"true"`
}

// githubAccount reads the GitHub account of an access token: its ID and
// its primary address, verified or not.
func (p *provider) githubAccount(ctx context.Context, accessToken string) (*account, error) {
	var user struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	if err := p.githubGet(ctx, "/user", accessToken, &user); err != nil {
		return nil, err
	}
	if user.ID <= 0 {
		return nil, errors.New("sigra/oauth: GitHub returned no user id")
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := p.githubGet(ctx, "/user/emails", accessToken, &emails); err != nil {
		return nil, err
	}
	a := &account{Subject: fmt.Sprint(user.ID)}
	a.setNames(user.Name, "", "")
	for _, e := range emails {
		if e.Primary {
			a.Email, a.EmailVerified = e.Email, e.Verified
		}
	}
	return a, nil
}

// maxAPIBody bounds what is read of a provider's API answer.
const maxAPIBody = 1 << 20

func (p *provider) githubGet(ctx context.Context, path, accessToken string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.APIURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/vnd.github+json")
	res, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("sigra/oauth: GitHub %s: %w", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("sigra/oauth: GitHub %s: status %d", path, res.StatusCode)
	}
	return json.NewDecoder(http.MaxBytesReader(nil, res.Body, maxAPIBody)).Decode(v)
}

// revokeToken asks the provider to revoke tok (RFC 7009), where it has a
// revocation endpoint. GitHub's revocation needs the application's basic
// authentication on its API; it is done there.
func (p *provider) revokeToken(ctx context.Context, r *ready, tok, hint string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var req *http.Request
	var err error
	switch {
	case p.Kind == KindGitHub:
		body := strings.NewReader(`{"access_token":` + jsonString(tok) + `}`)
		req, err = http.NewRequestWithContext(ctx, http.MethodDelete, p.APIURL+"/applications/"+url.PathEscape(p.ClientID)+"/grant", body)
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/vnd.github+json")
		}
	case r.revoke != "":
		form := url.Values{"token": {tok}, "token_type_hint": {hint}}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, r.revoke, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	default:
		return nil
	}
	if err != nil {
		return err
	}
	req.SetBasicAuth(url.QueryEscape(p.ClientID), url.QueryEscape(p.ClientSecret))
	res, err := p.client.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		return fmt.Errorf("sigra/oauth: revoke at %s: status %d", p.Name, res.StatusCode)
	}
	return nil
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
