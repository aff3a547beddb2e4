package apitoken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// Store is what API tokens need of storage: tokens and service accounts,
// users (the notice's address), memberships (who administers an
// organization's accounts), the rate limiter, the audit log and
// transactions. Both adapters (store/sqlite, store/postgres) implement it.
type Store interface {
	store.Users
	store.APITokens
	store.ServiceAccounts
	store.Memberships
	store.Limiter
	store.AuditLog
	store.Transactor
}

// Audit actions of this package. Events about an organization's service
// account carry the organization (store.AuditEvent.OrgID).
const (
	ActionCreate          = "apitoken.create"
	ActionRevoke          = "apitoken.revoke"
	ActionRevokeAll       = "apitoken.revoke_all"
	ActionUseFailure      = "apitoken.use.failure"
	ActionServiceCreate   = "apitoken.service_account.create"
	ActionServiceRotate   = "apitoken.service_account.rotate"
	ActionServiceDelete   = "apitoken.service_account.delete"
	ActionServiceToken    = "apitoken.service_account.token"
	ActionServiceTokenBad = "apitoken.service_account.token_failure"
)

// Scope is a permission an API token can carry, declared by the
// application.
type Scope struct {
	// Name is what handlers check with [APITokens.RequireScopes]
	// ("repos:read"): 1 to 64 lower-case letters, digits and the
	// characters ":._-".
	Name string
	// Description says what it allows, on the page that creates tokens.
	Description string
}

// Config configures API tokens. Store, Sessions, Guard, UI and Mail are
// required; the site comes from Sessions, and the UI must be built from
// the same site with [Pages] among its packs.
type Config struct {
	// Store holds the tokens and service accounts.
	Store Store
	// Sessions, Guard and UI are the application's: the pages are for
	// signed-in users, and creating needs sudo.
	Sessions *session.Manager
	Guard    *middleware.Guard
	UI       *ui.UI
	// Mail sends the notice of a new token: an *mail.Outbox over the same
	// store in production.
	Mail mail.Sender
	// Audit records the events. Default: a Logger over Store.
	Audit *audit.Logger
	// RateLimiter counts the requests of each token. Default: one over
	// Store.
	RateLimiter *middleware.RateLimiter

	// Scopes are the scopes tokens may carry, in the order the pages show
	// them. Names are unique.
	Scopes []Scope
	// DefaultExpiry is the lifetime a new personal token gets when none is
	// chosen. Default 90 days.
	DefaultExpiry time.Duration
	// MaxExpiry bounds the lifetime a user may choose. Default 366 days.
	MaxExpiry time.Duration
	// AllowNoExpiry lets users create personal tokens that never expire.
	// Default false.
	AllowNoExpiry bool
	// Prefix starts every token and secret this package makes, so secret
	// scanners can recognise them: personal tokens are "<Prefix>pat_...",
	// service-account access tokens "<Prefix>at_..." and client secrets
	// "<Prefix>cs_...". 2 to 7 lower-case ASCII letters; default "sigra".
	Prefix string
	// RateLimit bounds the requests of one token. Default 600 a minute.
	RateLimit middleware.Limit
	// UnknownLimit bounds the well-formed but unknown, expired or revoked
	// tokens one client address may present; past it, Bearer answers 429
	// and records no more failures. Default 60 a minute.
	UnknownLimit middleware.Limit
	// AccessTokenTTL is the lifetime of a service account's access token.
	// Default 15 minutes.
	AccessTokenTTL time.Duration
	// SecretOverlap is how long a rotated client secret keeps working
	// beside the new one. Default 24 hours; negative ends it at once.
	SecretOverlap time.Duration
	// AdminRoles are the organization roles whose members manage the
	// organization's service accounts. Default owner and admin.
	AdminRoles []string
	// CanManageApp reports whether u manages the application's own
	// service accounts (those of no organization). Default: nobody does
	// through the pages; [APITokens.CreateServiceAccount] still makes them.
	CanManageApp func(ctx context.Context, u *sigra.User) bool
	// Realm is the realm of WWW-Authenticate challenges. Default: the UI
	// brand's product name.
	Realm string
}

// APITokens serves personal access tokens and service accounts: the
// settings pages, the token endpoint, and the [APITokens.Bearer] and
// [APITokens.RequireScopes] middleware. Create it with [New] and mount it
// with [APITokens.Mount]. Safe for concurrent use.
type APITokens struct {
	k       *kernel.Kernel
	cfg     Config
	st      Store
	scopes  map[string]bool
	pat     string // prefix of personal tokens
	at      string // prefix of access tokens
	cs      string // prefix of client secrets
	realm   string
	tokenEP string // the token endpoint's local path
}

var scopeName = regexp.MustCompile(`^[a-z0-9:._-]{1,64}$`)

// New validates cfg and returns APITokens. Errors wrap [sigra.ErrConfig]
// and name the missing or invalid field.
func New(cfg Config) (*APITokens, error) {
	var st kernel.Store
	if cfg.Store != nil {
		st = cfg.Store
	}
	k, err := kernel.New("apitoken", PackName, st, kernel.Deps{
		Sessions: cfg.Sessions, Guard: cfg.Guard, UI: cfg.UI, Mail: cfg.Mail, Audit: cfg.Audit, Limiter: cfg.RateLimiter,
	})
	if err != nil {
		return nil, err
	}
	if err := k.Need(ui.RouteSudo, "the pack of the sign-in flows (such as account.Pages())"); err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) (*APITokens, error) {
		return nil, fmt.Errorf("%w: apitoken: %s", sigra.ErrConfig, fmt.Sprintf(format, args...))
	}
	a := &APITokens{k: k, st: cfg.Store, scopes: map[string]bool{}}
	for _, s := range cfg.Scopes {
		if !scopeName.MatchString(s.Name) {
			return bad("Scopes: invalid name %q: want 1 to 64 lower-case letters, digits and \":._-\"", s.Name)
		}
		if a.scopes[s.Name] {
			return bad("Scopes: %q declared twice", s.Name)
		}
		a.scopes[s.Name] = true
	}
	if cfg.DefaultExpiry == 0 {
		cfg.DefaultExpiry = 90 * 24 * time.Hour
	}
	if cfg.MaxExpiry == 0 {
		cfg.MaxExpiry = 366 * 24 * time.Hour
	}
	switch {
	case cfg.DefaultExpiry < 24*time.Hour || cfg.DefaultExpiry%(24*time.Hour) != 0:
		return bad("DefaultExpiry %v: want whole days", cfg.DefaultExpiry)
	case cfg.MaxExpiry < cfg.DefaultExpiry:
		return bad("MaxExpiry %v is shorter than DefaultExpiry %v", cfg.MaxExpiry, cfg.DefaultExpiry)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "sigra"
	}
	if len(cfg.Prefix) < 2 || len(cfg.Prefix) > 7 || strings.TrimFunc(cfg.Prefix, func(r rune) bool { return r >= 'a' && r <= 'z' }) != "" {
		return bad("Prefix %q: want 2 to 7 lower-case ASCII letters", cfg.Prefix)
	}
	a.pat, a.at, a.cs = cfg.Prefix+"pat", cfg.Prefix+"at", cfg.Prefix+"cs"
	cfg.RateLimit = cfg.RateLimit.Or(middleware.Limit{N: 600, Window: time.Minute})
	if cfg.RateLimit.N <= 0 || cfg.RateLimit.Window <= 0 {
		return bad("RateLimit: want a positive N and Window")
	}
	cfg.UnknownLimit = cfg.UnknownLimit.Or(middleware.Limit{N: 60, Window: time.Minute})
	if cfg.UnknownLimit.N <= 0 || cfg.UnknownLimit.Window <= 0 {
		return bad("UnknownLimit: want a positive N and Window")
	}
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = 15 * time.Minute
	}
	if cfg.AccessTokenTTL < time.Minute || cfg.AccessTokenTTL > 24*time.Hour {
		return bad("AccessTokenTTL %v: want between a minute and a day", cfg.AccessTokenTTL)
	}
	if cfg.SecretOverlap == 0 {
		cfg.SecretOverlap = 24 * time.Hour
	}
	if len(cfg.AdminRoles) == 0 {
		cfg.AdminRoles = []string{store.RoleOwner, store.RoleAdmin}
	}
	a.realm = cfg.Realm
	if a.realm == "" {
		// The product name, without what a quoted string cannot hold.
		a.realm = strings.Map(func(r rune) rune {
			if r == '"' || r == '\\' || r < ' ' {
				return -1
			}
			return r
		}, cfg.UI.Brand().ProductName)
	}
	if strings.ContainsAny(a.realm, "\"\\\r\n") {
		return bad("Realm %q: no quotes, backslashes or line breaks", a.realm)
	}
	a.cfg = cfg
	a.tokenEP = k.Path(pathToken)
	k.Forms(a.forms())
	return a, nil
}

// Mount registers the routes on mux under the site's prefix. See the
// package documentation for the routes.
func (a *APITokens) Mount(mux *http.ServeMux) {
	get, post := http.MethodGet, http.MethodPost
	user, sudo := a.k.Guard.RequireUser, a.k.Guard.RequireSudo
	refuse := a.k.Guard.RefuseImpersonation // what an admin acting as the user may not do
	a.k.Handle(mux, get, pathTokens, a.tokensPage, user)
	a.k.Handle(mux, post, pathTokens, a.create, sudo)
	a.k.Handle(mux, post, pathRevoke, a.revoke, user, refuse)
	a.k.Handle(mux, post, pathRevokeAll, a.revokeAll, user, refuse)
	a.k.Handle(mux, get, pathServiceAccounts, a.accountsPage, user)
	a.k.Handle(mux, post, pathServiceAccounts, a.createAccount, sudo)
	a.k.Handle(mux, post, pathServiceRotate, a.rotateAccount, sudo)
	a.k.Handle(mux, post, pathServiceDelete, a.deleteAccount, sudo)
	a.k.Handle(mux, post, pathToken, a.tokenEndpoint)
}

// Section returns the API tokens part of the settings page (how many live
// tokens the user has, a link to manage them), for
// account.Config.Sections.
func (a *APITokens) Section() ui.Section {
	return ui.Section{Name: "api_tokens", Order: 60, Data: func(r *http.Request) (any, error) {
		u := a.k.Sess.User(r.Context())
		if u == nil {
			return nil, nil
		}
		ts, err := a.st.UserAPITokens(r.Context(), u.ID, a.k.Now())
		if err != nil {
			return nil, err
		}
		return &TokensSection{Count: len(ts)}, nil
	}}
}

// CSRFExempt reports whether r is a request to the token endpoint, which
// authenticates with a client secret in the request and no cookie, so it
// needs no CSRF token. Give it to the CSRF middleware beside the default:
//
//	Exempt: func(r *http.Request) bool { return middleware.TokenExempt(r) || tokens.CSRFExempt(r) }
func (a *APITokens) CSRFExempt(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == a.tokenEP
}

// TokenEndpoint returns the local path of the token endpoint.
func (a *APITokens) TokenEndpoint() string { return a.tokenEP }

// ---- creating tokens and accounts ----

// errInput is a refused value: the field and the message.
type errInput struct{ field, msg string }

func (e *errInput) Error() string { return "sigra/apitoken: " + e.field + ": " + e.msg }

// checkScopes parses requested scopes (space-separated or several
// values), keeping the declared order, and refuses undeclared ones.
func (a *APITokens) checkScopes(field string, requested []string, allowed func(string) bool) ([]string, error) {
	want := map[string]bool{}
	for _, r := range requested {
		for _, s := range strings.Fields(r) {
			if !a.scopes[s] || (allowed != nil && !allowed(s)) {
				return nil, &errInput{field, fmt.Sprintf("%q is not a scope you can grant.", s)}
			}
			want[s] = true
		}
	}
	var out []string
	for _, s := range a.cfg.Scopes {
		if want[s.Name] {
			out = append(out, s.Name)
		}
	}
	return out, nil
}

// checkName refuses an empty or overlong name.
func checkName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", &errInput{field, "Enter a name."}
	case len([]rune(name)) > 100:
		return "", &errInput{field, "Use at most 100 characters."}
	}
	return name, nil
}

// expiry reads the lifetime field: days ("30"), "never", or "" for the
// default. It returns the token's expiry (zero for never).
func (a *APITokens) expiry(v string, now time.Time) (time.Time, error) {
	switch v {
	case "":
		return now.Add(a.cfg.DefaultExpiry), nil
	case "never":
		if !a.cfg.AllowNoExpiry {
			return time.Time{}, &errInput{"expires_in_days", "Tokens must expire."}
		}
		return time.Time{}, nil
	}
	days, err := strconv.Atoi(v)
	if err != nil || days < 1 || time.Duration(days)*24*time.Hour > a.cfg.MaxExpiry {
		return time.Time{}, &errInput{"expires_in_days", fmt.Sprintf("Choose 1 to %d days.", int(a.cfg.MaxExpiry/(24*time.Hour)))}
	}
	return now.Add(time.Duration(days) * 24 * time.Hour), nil
}

// Created is a new personal token: the record and the token itself, which
// is shown once and never stored.
type Created struct {
	// Token is the stored record (its Digest, never the token).
	Token *store.APIToken
	// Secret is the token to give the user.
	Secret string
}

// Create makes a personal access token for the user with name, scopes (a
// subset of Config.Scopes) and expiry (zero for none, which needs
// Config.AllowNoExpiry), records it in the audit log and queues the notice
// email, in one transaction. It is what the settings page calls after its
// checks; applications call it to issue tokens of their own. The error of
// a refused value wraps [ErrInvalid].
func (a *APITokens) Create(ctx context.Context, userID, name string, scopes []string, expires time.Time) (*Created, error) {
	name, err := checkName("name", name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if scopes, err = a.checkScopes("scopes", scopes, nil); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	now := a.k.Now()
	if expires.IsZero() && !a.cfg.AllowNoExpiry {
		return nil, fmt.Errorf("%w: a token must expire", ErrInvalid)
	}
	if !expires.IsZero() && !expires.After(now) {
		return nil, fmt.Errorf("%w: expiry in the past", ErrInvalid)
	}
	secret, err := token.NewAPIKey(a.pat)
	if err != nil {
		return nil, err
	}
	t := &store.APIToken{Digest: token.APIKeyDigest(secret), UserID: userID, Name: name, Scopes: scopes, CreatedAt: now, ExpiresAt: expires}
	err = a.k.InTx(ctx, func(ctx context.Context) error {
		u, err := a.st.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if err := a.st.CreateAPIToken(ctx, t); err != nil {
			return err
		}
		if err := a.k.Record(ctx, ActionCreate, userID, userID, map[string]string{"id": t.ID, "name": name, "scopes": strings.Join(scopes, " ")}); err != nil {
			return err
		}
		e := &ui.Email{When: now, Data: &CreatedMail{Name: name, Scopes: strings.Join(scopes, ", "), ExpiresAt: expires}}
		if ip, ua := audit.RequestInfo(ctx); ip != "" || ua != "" {
			e.IP, e.UserAgent = ip, ua
		}
		e.Link = a.k.Absolute(a.k.Path(pathTokens))
		return a.k.Queue(ctx, "api_token_created", u.Email, e)
	})
	if err != nil {
		return nil, err
	}
	return &Created{Token: t, Secret: secret}, nil
}

// ErrInvalid is a refused value given to [APITokens.Create] or
// [APITokens.CreateServiceAccount].
var ErrInvalid = errors.New("sigra/apitoken: invalid value")

// NewAccount is a new service account or a rotated secret: the account and
// its client secret, which is shown once and never stored.
type NewAccount struct {
	// Account is the service account; its ID is the client ID.
	Account *store.ServiceAccount
	// Secret is the client secret to give its program.
	Secret string
}

// CreateServiceAccount makes a service account owned by orgID ("" for the
// application's own) with name and scopes (a subset of Config.Scopes),
// created by the user createdBy (empty for none), and records it in the
// audit log. It checks no permission: the pages check that the user
// administers the organization first. The error of a refused value wraps
// [ErrInvalid]; an unknown organization is store.ErrNotFound.
func (a *APITokens) CreateServiceAccount(ctx context.Context, orgID, name string, scopes []string, createdBy string) (*NewAccount, error) {
	name, err := checkName("name", name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if scopes, err = a.checkScopes("scopes", scopes, nil); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	secret, err := token.NewAPIKey(a.cs)
	if err != nil {
		return nil, err
	}
	now := a.k.Now()
	sa := &store.ServiceAccount{OrgID: orgID, Name: name, Scopes: scopes, CreatedBy: createdBy, CreatedAt: now}
	err = a.k.InTx(ctx, func(ctx context.Context) error {
		if err := a.st.CreateServiceAccount(ctx, sa, &store.ServiceAccountSecret{Digest: token.APIKeyDigest(secret), CreatedAt: now}); err != nil {
			return err
		}
		return a.record(ctx, ActionServiceCreate, orgID, createdBy, sa.ID, map[string]string{"name": name, "scopes": strings.Join(scopes, " ")})
	})
	if err != nil {
		return nil, err
	}
	return &NewAccount{Account: sa, Secret: secret}, nil
}

// RotateSecret gives the service account id of orgID a new client secret;
// the earlier ones keep working for Config.SecretOverlap. actor is the
// user who asked, for the audit log.
func (a *APITokens) RotateSecret(ctx context.Context, orgID, id, actor string) (*NewAccount, error) {
	secret, err := token.NewAPIKey(a.cs)
	if err != nil {
		return nil, err
	}
	now := a.k.Now()
	overlap := now
	if a.cfg.SecretOverlap > 0 {
		overlap = now.Add(a.cfg.SecretOverlap)
	}
	var sa *store.ServiceAccount
	err = a.k.InTx(ctx, func(ctx context.Context) error {
		if err := a.st.RotateServiceAccountSecret(ctx, orgID, id, &store.ServiceAccountSecret{Digest: token.APIKeyDigest(secret), CreatedAt: now}, overlap); err != nil {
			return err
		}
		var err error
		if sa, err = a.st.ServiceAccount(ctx, orgID, id); err != nil {
			return err
		}
		return a.record(ctx, ActionServiceRotate, orgID, actor, id, map[string]string{"overlap_until": overlap.Format(time.RFC3339)})
	})
	if err != nil {
		return nil, err
	}
	return &NewAccount{Account: sa, Secret: secret}, nil
}

// record writes a success event about orgID (in the transaction ctx
// carries).
func (a *APITokens) record(ctx context.Context, action, orgID, actor, subject string, meta map[string]string) error {
	return a.k.Audit.Record(ctx, audit.Event{Action: action, OrgID: orgID, ActorID: actor, SubjectID: subject, Outcome: audit.OutcomeSuccess, Metadata: meta})
}

// recordFailure writes a failure event outside any transaction.
func (a *APITokens) recordFailure(ctx context.Context, action, orgID, actor, subject string, meta map[string]string) {
	_ = a.k.Audit.RecordFailure(ctx, audit.Event{Action: action, OrgID: orgID, ActorID: actor, SubjectID: subject, Outcome: audit.OutcomeFailure, Metadata: meta})
}

// canManage reports whether the user manages the service accounts of orgID
// ("" for the application's own).
func (a *APITokens) canManage(ctx context.Context, u *sigra.User, orgID string) (bool, error) {
	if orgID == "" {
		return a.cfg.CanManageApp != nil && a.cfg.CanManageApp(ctx, u), nil
	}
	m, err := a.st.Membership(ctx, orgID, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return slices.Contains(a.cfg.AdminRoles, m.Role), nil
}

// PurgeRetention is how long expired and revoked tokens stay stored (they
// are no longer listed or accepted) before [APITokens.PurgeExpired]
// deletes them.
const PurgeRetention = 7 * 24 * time.Hour

// PurgeExpired deletes the tokens that expired or were revoked more than
// PurgeRetention ago, and returns how many.
func (a *APITokens) PurgeExpired(ctx context.Context) (int, error) {
	return a.st.PurgeAPITokens(ctx, a.k.Now().Add(-PurgeRetention))
}

// RunPurge calls PurgeExpired every interval (default one hour) until ctx
// ends, logging failures.
func (a *APITokens) RunPurge(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := a.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
			a.k.Log.ErrorContext(ctx, "purging expired API tokens failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Actions returns the audit actions this package records besides the
// audit catalogue's, for audit.Config.Actions of a strict logger.
func Actions() []string {
	return []string{
		ActionCreate,
		ActionRevoke,
		ActionRevokeAll,
		ActionUseFailure,
		ActionServiceCreate,
		ActionServiceRotate,
		ActionServiceDelete,
		ActionServiceToken,
		ActionServiceTokenBad,
	}
}
