package kit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/apitoken"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/jwtauth"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/org"
	"github.com/sigra-go/sigra/passkey"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
	"github.com/sigra-go/sigra/webhook"
)

// Store is what the kit needs of storage: the account flows' store and
// the mail outbox. Two-factor authentication needs [mfa.Store] as well;
// both adapters (store/sqlite, store/postgres) implement everything.
type Store interface {
	account.Store
	store.Outbox
}

// DevMailboxPath is where the development mailbox is served when no SMTP
// server is configured.
const DevMailboxPath = "/dev/mail/"

// Config configures [New]. Store, Site.BaseURL and Keys are required; every
// other zero field takes the packages' defaults.
type Config struct {
	// Store holds everything: sqlite.Open, postgres.Open, or a host's own
	// store. Unless DisableMFA is set it must also implement mfa.Store.
	Store Store
	// Site is the shared configuration: the external base URL (required),
	// the mount prefix ("/auth"), the home page, trusted proxies, the
	// cookie domain, the clock and the logger.
	Site site.Config
	// Keys seal queued email bodies and TOTP secrets at rest:
	// "id:base64key[,id:base64key...]", 32-byte keys with the primary first
	// (token.NewSealKey makes one; [KeysFile] keeps one in a file for
	// development). Keep them out of the database and keep them: what a
	// lost key sealed cannot be opened. Required.
	Keys string
	// SMTP sends the email (mail.ParseSMTPURL reads it from a URL). Nil
	// keeps every message in a development mailbox served at
	// DevMailboxPath, which is allowed only when the base URL is local.
	SMTP *mail.SMTPConfig

	// Brand is the product name, logo, accent colour and support link.
	Brand ui.Brand
	// Overrides replace built-in templates (see ui.Config.Overrides).
	Overrides fs.FS
	// Packs are the application's own pages (its features), added to the
	// account's and the two-factor packs.
	Packs []ui.Pack
	// Sections are the application's parts of the settings page.
	Sections []ui.Section
	// Passwords configures hashing and the password policy.
	Passwords password.Config
	// Session configures the session lifetimes.
	Session session.Config
	// SudoWindow is how long a re-authentication counts for RequireSudo.
	// Default 10 minutes.
	SudoWindow time.Duration
	// CSRF configures the CSRF middleware (trusted origins, exemptions).
	// Its FailureHandler defaults to the UI's error page.
	CSRF middleware.CSRFConfig
	// Headers configures the security headers (Content-Security-Policy,
	// HSTS).
	Headers middleware.HeadersConfig
	// Account holds the account flows' options (RequireConfirmation,
	// DisableRegistration, lifetimes, limits, hooks). Its dependencies
	// (Store, Sessions, Guard, UI, Passwords, Mail) are filled by the kit;
	// SecondFactor defaults to the two-factor flows, and their settings
	// section is added to Sections.
	Account account.Config
	// MFA holds the two-factor flows' options (Issuer, TrustDuration,
	// lockout); the kit fills the dependencies and Keys.
	MFA mfa.Config
	// DisableMFA leaves two-factor authentication out: no TOTP routes, and
	// the store need not implement mfa.Store.
	DisableMFA bool
	// Orgs, when set, adds organizations (package org) with these options
	// (roles, who may create, lifetimes); the kit fills the dependencies.
	// The store must then implement org.Store, as both adapters do. Nil
	// leaves organizations out.
	Orgs *org.Config
	// Admin, when set, adds the admin console (package admin) with these
	// options: the users list and detail, the org lens, the audit
	// explorer. The kit fills the dependencies, PasskeyRPID from
	// Passkeys when it is empty, and, with Webhooks, the webhooks page
	// (admin.Config.Webhooks) when the store implements admin.WebhookStore. The store must implement admin.Store, as
	// both adapters do. Nil leaves the console out.
	Admin *admin.Config
	// OAuth turns on sign-in with OAuth and OpenID Connect providers when
	// it names providers (oauth.Google, oauth.GitHub, ...): the kit fills
	// the dependencies and Keys, hands sign-ins to the two-factor flows,
	// runs Account.Hooks.AfterSignIn after provider sign-ins (unless
	// AfterSignIn is set), closes registration with
	// Account.DisableRegistration, adds the linked-accounts settings
	// section and the CSRF exemption of Apple's form_post callback, and
	// tells the account's sudo page about linked identities
	// (account.Config.LinkedAccounts). The store must implement
	// oauth.Store.
	OAuth oauth.Config
	// Passkeys, when set, turns passkeys on with these options (relying
	// party, limits, clone policy): registration and management, sign-in,
	// second factor and sudo by passkey. The kit fills the dependencies,
	// Keys and SecondFactor (the two-factor flows), runs
	// Account.Hooks.AfterSignIn after passkey sign-ins (unless AfterSignIn
	// is set), adds the passkeys section to the settings, and tells the
	// two-factor flows' step-up page and the account's sudo page about
	// them (mfa.Config.Passkeys, account.Config.Passkeys). The store must
	// implement passkey.Store.
	// Nil leaves passkeys out.
	Passkeys *passkey.Config
	// JWT, when set, adds JWT access tokens with rotating refresh tokens
	// (package jwtauth) with these options (Keys at least); the kit fills
	// Store, Sessions, UI and Guard, adds the settings section of the apps
	// holding tokens, and mounts the token endpoints and the JWKS. The
	// store must implement jwtauth.Store, as both adapters do. Nil leaves
	// them out.
	JWT *jwtauth.Config
	// APITokens, when set, adds personal access tokens and service
	// accounts (package apitoken) with these options (scopes, lifetimes,
	// limits); the kit fills the dependencies and exempts the token
	// endpoint from the CSRF token check. The store must then implement
	// apitoken.Store, as both adapters do. Nil leaves API tokens out.
	APITokens *apitoken.Config
	// PurgeInterval is how often Run deletes due accounts and expired
	// sessions, tokens and limiter counters. Default one hour.
	PurgeInterval time.Duration
	// AuditChainKey is the secret key of the audit log's hash chain (see
	// audit.Chain): at least 32 random bytes in base64
	// ("head -c 32 /dev/urandom | base64"), the same on every instance and
	// in the operator's tool. Like Keys, keep it out of the database and
	// keep it: the chain verifies only with the key that sealed it. Empty
	// seals with plain SHA-256, which someone who can write the database
	// can recompute. When the store implements store.AuditChain (both
	// adapters do), Run seals the audit rows; a key with a store that does
	// not is an error.
	AuditChainKey string
	// AuditSealInterval is how often Run seals new audit rows: the
	// longest a row stays outside the chain. Default
	// audit.DefaultSealInterval.
	AuditSealInterval time.Duration
	// Webhooks, when set, sends the features' events as signed webhooks
	// (package webhook) with these options (retries, timeouts, allowed
	// networks): every success event a feature records in the audit log is
	// queued, in the transaction of the change, for the endpoints
	// subscribed to its action (see webhook.Webhooks.OnAudit), and Run
	// delivers them (at the worker's next poll, PollInterval, after the
	// change commits). The kit fills Store, Now and Logger, and Keys when
	// empty. The store must implement store.Webhooks, as both adapters do.
	// Nil sends nothing.
	Webhooks *webhook.Config
}

// Kit is the common composition: one site, sessions, the UI, the guard,
// mail (an outbox delivering through SMTP, or the development mailbox), the
// account flows and, unless disabled, two-factor authentication, mounted on
// Mux. Every part stays available for use on its own. Safe for concurrent
// use once built.
type Kit struct {
	Site     *site.Site
	Sessions *session.Manager
	UI       *ui.UI
	Guard    *middleware.Guard
	Limiter  *middleware.RateLimiter
	// Outbox queues every email in the store, in the transaction of the
	// change it reports; Run delivers it.
	Outbox *mail.Outbox
	// Mailbox holds the delivered email when no SMTP server is configured;
	// nil otherwise.
	Mailbox  *mail.Mailbox
	Accounts *account.Handler
	// Hasher hashes and verifies passwords with Config.Passwords, in the
	// bounded pool the account flows use: an application that creates
	// accounts itself (a seeded administrator, an import) hashes with it.
	Hasher *password.Hasher
	// MFA is nil when DisableMFA is set.
	MFA *mfa.MFA
	// Orgs serves organizations and guards the application's
	// organization routes (Orgs.RequireMember, RequirePermission); nil
	// unless Config.Orgs is set.
	Orgs *org.Orgs
	// Admin is the admin console; nil unless Config.Admin is set.
	Admin *admin.Console
	// OAuth is nil unless Config.OAuth names providers.
	OAuth *oauth.OAuth
	// Passkeys is nil unless Config.Passkeys is set.
	Passkeys *passkey.Passkeys
	// JWT issues and verifies access tokens (JWT.Require guards the
	// application's API routes); nil unless Config.JWT is set.
	JWT *jwtauth.JWT
	// APITokens serves API tokens and guards the application's API routes
	// (APITokens.Bearer, RequireScopes); nil unless Config.APITokens is
	// set.
	APITokens *apitoken.APITokens
	// Mux holds the features' routes (under the site's prefix), the UI's
	// assets and the development mailbox. Add the application's routes to
	// it, then serve [Kit.Handler].
	Mux *http.ServeMux

	// AuditChain seals the audit rows into a hash chain (Run runs it) and
	// verifies it; nil when the store does not implement
	// store.AuditChain.
	AuditChain *audit.Chain
	// Audit is the one audit logger every feature the kit builds records
	// with (unless the feature's Config.Audit is set); with Webhooks, its
	// success events are queued as webhooks.
	Audit *audit.Logger
	// Webhooks subscribes endpoints, replays deliveries and, in Run,
	// delivers them; nil unless Config.Webhooks is set.
	Webhooks *webhook.Webhooks

	handler http.Handler
	purge   time.Duration
	seal    time.Duration
}

// New builds and mounts everything from cfg. Errors wrap [sigra.ErrConfig]
// and say what is missing.
func New(cfg Config) (*Kit, error) {
	bad := func(format string, args ...any) (*Kit, error) {
		return nil, fmt.Errorf("%w: kit: %s", sigra.ErrConfig, fmt.Sprintf(format, args...))
	}
	if cfg.Store == nil {
		return bad("Config.Store is required (sqlite.Open, postgres.Open or the application's own)")
	}
	if cfg.Keys == "" {
		return bad("Config.Keys is required: the keys that seal queued email and TOTP secrets (token.NewSealKey makes one; kit.KeysFile keeps one in a file for development)")
	}
	var orgStore org.Store
	if cfg.Orgs != nil {
		var ok bool
		if orgStore, ok = cfg.Store.(org.Store); !ok {
			return bad("Config.Store does not implement org.Store (organizations, memberships, invitations): implement it, or leave Config.Orgs nil")
		}
	}
	var jwtStore jwtauth.Store
	if cfg.JWT != nil {
		var ok bool
		if jwtStore, ok = cfg.Store.(jwtauth.Store); !ok {
			return bad("Config.Store does not implement jwtauth.Store (refresh-token families, audit log): implement it, or leave Config.JWT nil")
		}
	}
	var tokenStore apitoken.Store
	if cfg.APITokens != nil {
		var ok bool
		if tokenStore, ok = cfg.Store.(apitoken.Store); !ok {
			return bad("Config.Store does not implement apitoken.Store (API tokens, service accounts, memberships): implement it, or leave Config.APITokens nil")
		}
	}
	var twoFactor mfa.Store
	if !cfg.DisableMFA {
		var ok bool
		if twoFactor, ok = cfg.Store.(mfa.Store); !ok {
			return bad("Config.Store does not implement mfa.Store (TOTP, recovery codes, trusted browsers): implement it, or set DisableMFA")
		}
	}
	var keyStore passkey.Store
	if cfg.Passkeys != nil {
		var ok bool
		if keyStore, ok = cfg.Store.(passkey.Store); !ok {
			return bad("Config.Store does not implement passkey.Store (passkeys): implement it, or leave Config.Passkeys nil")
		}
	}
	k := &Kit{Mux: http.NewServeMux(), purge: cfg.PurgeInterval, seal: cfg.AuditSealInterval}
	if k.purge <= 0 {
		k.purge = time.Hour
	}
	var err error
	if k.Site, err = site.New(cfg.Site); err != nil {
		return nil, err
	}
	if k.AuditChain, err = newAuditChain(cfg, k.Site); err != nil {
		return nil, err
	}
	if k.Webhooks, k.Audit, err = newAudit(cfg, k.Site); err != nil {
		return nil, err
	}
	if cfg.SMTP == nil && k.Site.Secure() {
		return bad("no SMTP server is configured for %s: set Config.SMTP (the development mailbox is for local base URLs only)", k.Site.Origin())
	}
	if k.Sessions, err = session.New(k.Site, cfg.Store, cfg.Session); err != nil {
		return nil, err
	}
	packs := []ui.Pack{account.Pages()}
	if !cfg.DisableMFA {
		packs = append(packs, mfa.Pages())
	}
	if cfg.Orgs != nil {
		packs = append(packs, org.Pages())
	}
	if len(cfg.OAuth.Providers) > 0 {
		packs = append(packs, oauth.Pages())
	}
	if cfg.Passkeys != nil {
		packs = append(packs, passkey.Pages())
	}
	if cfg.JWT != nil {
		packs = append(packs, jwtauth.Pages())
	}
	if cfg.Admin != nil {
		packs = append(packs, admin.Pages())
	}
	if cfg.APITokens != nil {
		packs = append(packs, apitoken.Pages())
	}
	packs = append(packs, cfg.Packs...)
	if k.UI, err = ui.New(k.Site, ui.Config{Brand: cfg.Brand, Packs: packs, Overrides: cfg.Overrides}); err != nil {
		return nil, err
	}
	if k.Guard, err = middleware.New(k.Sessions, middleware.Config{Routes: k.UI, SudoWindow: cfg.SudoWindow}); err != nil {
		return nil, err
	}
	if k.Limiter, err = middleware.NewRateLimiter(k.Site, middleware.RateLimiterConfig{Limiter: cfg.Store}); err != nil {
		return nil, err
	}
	if k.Hasher, err = password.New(cfg.Passwords); err != nil {
		return nil, err
	}

	var deliver mail.Sender
	if cfg.SMTP != nil {
		smtp := *cfg.SMTP
		if smtp.FromName == "" {
			smtp.FromName = k.UI.Brand().SenderName
		}
		if deliver, err = mail.NewSMTP(smtp); err != nil {
			return nil, err
		}
	} else {
		k.Mailbox = mail.NewMailbox(mail.MailboxConfig{Now: k.Site.Clock()})
		deliver = k.Mailbox
	}
	if k.Outbox, err = mail.NewOutbox(mail.OutboxConfig{Store: cfg.Store, Keys: cfg.Keys, Sender: deliver, Now: k.Site.Clock(), Logger: k.Site.Logger()}); err != nil {
		return nil, err
	}

	sections := cfg.Sections
	if !cfg.DisableMFA {
		m := cfg.MFA
		m.Store, m.Sessions, m.Guard, m.UI, m.Mail, m.RateLimiter = twoFactor, k.Sessions, k.Guard, k.UI, k.Outbox, k.Limiter
		m.Audit = cmp.Or(m.Audit, k.Audit)
		if m.Keys == "" {
			m.Keys = cfg.Keys
		}
		if m.Passkeys == nil && cfg.Passkeys != nil {
			m.Passkeys = laterPasskeys{k}
		}
		if k.MFA, err = mfa.New(m); err != nil {
			return nil, err
		}
		sections = append([]ui.Section{k.MFA.Section()}, sections...)
	}
	if cfg.Orgs != nil {
		oc := *cfg.Orgs
		oc.Store, oc.Sessions, oc.Guard, oc.UI, oc.Mail, oc.RateLimiter = orgStore, k.Sessions, k.Guard, k.UI, k.Outbox, k.Limiter
		oc.Audit = cmp.Or(oc.Audit, k.Audit)
		if k.Orgs, err = org.New(oc); err != nil {
			return nil, err
		}
		sections = append(sections, k.Orgs.Section())
	}
	if len(cfg.OAuth.Providers) > 0 {
		o := cfg.OAuth
		st, ok := cfg.Store.(oauth.Store)
		if !ok {
			return bad("Config.Store does not implement oauth.Store (identities): implement it, or leave Config.OAuth empty")
		}
		o.Store, o.Sessions, o.Guard, o.UI, o.Mail, o.RateLimiter = st, k.Sessions, k.Guard, k.UI, k.Outbox, k.Limiter
		o.Audit = cmp.Or(o.Audit, k.Audit)
		if o.Keys == "" {
			o.Keys = cfg.Keys
		}
		if o.SecondFactor == nil && k.MFA != nil {
			o.SecondFactor = k.MFA
		}
		o.DisableRegistration = o.DisableRegistration || cfg.Account.DisableRegistration
		if o.AfterSignIn == nil {
			o.AfterSignIn = cfg.Account.Hooks.AfterSignIn
		}
		if k.OAuth, err = oauth.New(o); err != nil {
			return nil, err
		}
		sections = append(sections, k.OAuth.Section())
	}
	if cfg.Passkeys != nil {
		p := *cfg.Passkeys
		p.Store, p.Sessions, p.Guard, p.UI, p.Mail, p.RateLimiter = keyStore, k.Sessions, k.Guard, k.UI, k.Outbox, k.Limiter
		p.Audit = cmp.Or(p.Audit, k.Audit)
		if p.Keys == "" {
			p.Keys = cfg.Keys
		}
		if p.SecondFactor == nil && k.MFA != nil {
			p.SecondFactor = k.MFA
		}
		if p.AfterSignIn == nil {
			p.AfterSignIn = cfg.Account.Hooks.AfterSignIn
		}
		if k.Passkeys, err = passkey.New(p); err != nil {
			return nil, err
		}
		sections = append([]ui.Section{k.Passkeys.Section()}, sections...)
	}
	if cfg.JWT != nil {
		jc := *cfg.JWT
		jc.Store, jc.Sessions, jc.UI, jc.Guard = jwtStore, k.Sessions, k.UI, k.Guard
		jc.Audit = cmp.Or(jc.Audit, k.Audit)
		if k.JWT, err = jwtauth.New(jc); err != nil {
			return nil, err
		}
		sections = append(sections, k.JWT.Section())
	}
	if cfg.APITokens != nil {
		tc := *cfg.APITokens
		tc.Store, tc.Sessions, tc.Guard, tc.UI, tc.Mail, tc.RateLimiter = tokenStore, k.Sessions, k.Guard, k.UI, k.Outbox, k.Limiter
		tc.Audit = cmp.Or(tc.Audit, k.Audit)
		if k.APITokens, err = apitoken.New(tc); err != nil {
			return nil, err
		}
		sections = append(sections, k.APITokens.Section())
	}
	if cfg.Admin != nil {
		st, ok := cfg.Store.(admin.Store)
		if !ok {
			return bad("Config.Store does not implement admin.Store (administrators, the users list, the audit explorer): implement it, or leave Config.Admin nil")
		}
		ac := *cfg.Admin
		ac.Store, ac.Sessions, ac.Guard, ac.UI, ac.Mail, ac.RateLimiter = st, k.Sessions, k.Guard, k.UI, k.Outbox, k.Limiter
		ac.Audit = cmp.Or(ac.Audit, k.Audit)
		if ac.Webhooks == nil && k.Webhooks != nil {
			ac.Webhooks, _ = cfg.Store.(admin.WebhookStore)
		}
		if ac.PasskeyRPID == "" && k.Passkeys != nil {
			ac.PasskeyRPID = k.Passkeys.RPID()
		}
		if k.Admin, err = admin.New(ac); err != nil {
			return nil, err
		}
	}
	a := cfg.Account
	a.Store, a.Sessions, a.Guard, a.UI, a.Passwords, a.Mail, a.RateLimiter = cfg.Store, k.Sessions, k.Guard, k.UI, k.Hasher, k.Outbox, k.Limiter
	a.Audit = cmp.Or(a.Audit, k.Audit)
	a.Sections = append(a.Sections, sections...)
	if a.SecondFactor == nil && k.MFA != nil {
		a.SecondFactor = k.MFA
	}
	if a.Passkeys == nil && k.Passkeys != nil {
		a.Passkeys = k.Passkeys
	}
	if a.LinkedAccounts == nil && k.OAuth != nil {
		a.LinkedAccounts = k.OAuth
	}
	if k.Accounts, err = account.New(a); err != nil {
		return nil, err
	}

	k.Accounts.Mount(k.Mux)
	if k.MFA != nil {
		k.MFA.Mount(k.Mux)
	}
	if k.Orgs != nil {
		k.Orgs.Mount(k.Mux)
	}
	if k.OAuth != nil {
		k.OAuth.Mount(k.Mux)
	}
	if k.Passkeys != nil {
		k.Passkeys.Mount(k.Mux)
	}
	if k.Admin != nil {
		k.Admin.Mount(k.Mux)
	}
	if k.JWT != nil {
		k.JWT.Mount(k.Mux)
	}
	if k.APITokens != nil {
		k.APITokens.Mount(k.Mux)
	}
	k.UI.Mount(k.Mux)
	if k.Mailbox != nil {
		k.Mailbox.Mount(k.Mux, DevMailboxPath)
	}

	csrfCfg := cfg.CSRF
	if csrfCfg.FailureHandler == nil {
		csrfCfg.FailureHandler = http.HandlerFunc(k.csrfFailed)
	}
	// Routes the features exempt from the CSRF token (the origin check
	// still applies): Apple's form_post callback (see
	// oauth.OAuth.CSRFExempt, with Apple's origin trusted) and the API
	// tokens' token endpoint (see apitoken.APITokens.CSRFExempt).
	var exempts []func(*http.Request) bool
	if k.OAuth != nil {
		csrfCfg.TrustedOrigins = append(csrfCfg.TrustedOrigins[:len(csrfCfg.TrustedOrigins):len(csrfCfg.TrustedOrigins)], k.OAuth.TrustedOrigins()...)
		exempts = append(exempts, k.OAuth.CSRFExempt)
	}
	if k.APITokens != nil {
		exempts = append(exempts, k.APITokens.CSRFExempt)
	}
	if len(exempts) > 0 {
		exempt := csrfCfg.Exempt
		if exempt == nil {
			exempt = middleware.TokenExempt
		}
		csrfCfg.Exempt = func(r *http.Request) bool {
			if exempt(r) {
				return true
			}
			for _, f := range exempts {
				if f(r) {
					return true
				}
			}
			return false
		}
	}
	csrf, err := middleware.CSRF(k.Site, csrfCfg)
	if err != nil {
		return nil, err
	}
	k.handler = middleware.SecureHeaders(k.Site, cfg.Headers)(middleware.LimitBody(0)(csrf(k.Sessions.LoadAndSave(k.Mux))))
	return k, nil
}

// csrfFailed answers a request the CSRF checks refused: the UI's error
// page for a browser, JSON for a client that wants it.
func (k *Kit) csrfFailed(w http.ResponseWriter, r *http.Request) {
	const msg = "This form has expired or was sent from another site. Go back, reload the page and try again."
	if web.WantsJSON(r) {
		web.Error(w, http.StatusForbidden, "csrf_failed", msg)
		return
	}
	k.UI.Render(w, r, http.StatusForbidden, "error", &ui.Page{Title: "Request refused", Data: &ui.ErrorData{Status: http.StatusForbidden, Message: msg}})
}

// Handler returns the application's handler: the security headers, the
// body limit, CSRF protection and the session middleware around Mux. Serve
// it once the application's routes are on Mux.
func (k *Kit) Handler() http.Handler { return k.handler }

// Handle registers handler for pattern on Mux (see http.ServeMux.Handle).
func (k *Kit) Handle(pattern string, handler http.Handler) { k.Mux.Handle(pattern, handler) }

// RequireUser lets signed-in users through and sends others to sign in
// (see middleware.Guard.RequireUser).
func (k *Kit) RequireUser(next http.Handler) http.Handler { return k.Guard.RequireUser(next) }

// RequireSudo also asks for a recent re-authentication (see
// middleware.Guard.RequireSudo).
func (k *Kit) RequireSudo(next http.Handler) http.Handler { return k.Guard.RequireSudo(next) }

// RequireAAL2 lets through users signed in with two factors and sends
// others to set one up or present it (see middleware.Guard.RequireAAL2).
// With DisableMFA it panics at wrap time: no page can raise a session to
// two factors.
func (k *Kit) RequireAAL2(next http.Handler) http.Handler {
	if k.MFA == nil {
		if _, ok := k.UI.Route(ui.RouteStepUp); !ok {
			panic(`sigra/kit: RequireAAL2 needs two-factor authentication (the route "step_up"), and Config.DisableMFA leaves it out: no page can raise a session to two factors`)
		}
	}
	return k.Guard.RequireAAL2(next)
}

// RequireMember lets through members of the request's organization (see
// org.Orgs.RequireMember): the one the route's {org} path value names, or
// the session's active organization. Without Config.Orgs it panics at
// wrap time, naming the missing option.
func (k *Kit) RequireMember(next http.Handler) http.Handler {
	return k.orgs("RequireMember").RequireMember(next)
}

// RequirePermission lets through members whose role in the request's
// organization grants every one of permissions (see
// org.Orgs.RequirePermission). Without Config.Orgs it panics at wrap
// time, naming the missing option.
func (k *Kit) RequirePermission(permissions ...string) func(http.Handler) http.Handler {
	return k.orgs("RequirePermission").RequirePermission(permissions...)
}

// orgs returns k.Orgs, or panics with a message for the guard that needs
// it.
func (k *Kit) orgs(guard string) *org.Orgs {
	if k.Orgs == nil {
		panic("sigra/kit: " + guard + " needs organizations: set kit.Config.Orgs (for example &org.Config{})")
	}
	return k.Orgs
}

// RequireConfirmed lets through users whose address is confirmed (see
// middleware.Guard.RequireConfirmed).
func (k *Kit) RequireConfirmed(next http.Handler) http.Handler { return k.Guard.RequireConfirmed(next) }

// Run delivers queued email and, with Config.Webhooks, queued webhooks,
// seals the audit rows into the audit chain (every AuditSealInterval) and, every PurgeInterval, deletes the accounts
// (and, with organizations, the organizations) whose deletion is due and
// the expired sessions, tokens and limiter counters, until ctx ends. Run it once per process (several processes on
// one store share the work safely). It returns nil when ctx ends.
func (k *Kit) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := k.Outbox.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			errc <- err
		}
	}()
	go func() {
		defer wg.Done()
		k.Accounts.RunPurge(ctx, k.purge)
	}()
	if k.Orgs != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k.Orgs.RunPurge(ctx, k.purge)
		}()
	}
	if k.JWT != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k.JWT.RunPurge(ctx, k.purge)
		}()
	}
	if k.Webhooks != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = k.Webhooks.Run(ctx)
		}()
	}
	if k.AuditChain != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = k.AuditChain.Run(ctx, k.seal)
		}()
	}
	if k.APITokens != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k.APITokens.RunPurge(ctx, k.purge)
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// newAudit builds the webhooks of cfg (nil when not configured) and the
// one audit logger the features share, which queues their success events
// as webhooks when there are webhooks.
func newAudit(cfg Config, s *site.Site) (*webhook.Webhooks, *audit.Logger, error) {
	ac := audit.Config{Store: cfg.Store, Now: s.Clock(), Logger: s.Logger()}
	if cfg.Webhooks == nil {
		l, err := audit.New(ac)
		return nil, l, err
	}
	st, ok := cfg.Store.(store.Webhooks)
	if !ok {
		return nil, nil, fmt.Errorf("%w: kit: Config.Store does not implement store.Webhooks (endpoints, deliveries): implement it, or leave Config.Webhooks nil", sigra.ErrConfig)
	}
	wc := *cfg.Webhooks
	wc.Store, wc.Now, wc.Logger = st, s.Clock(), s.Logger()
	wc.Keys = cmp.Or(wc.Keys, cfg.Keys)
	w, err := webhook.New(wc)
	if err != nil {
		return nil, nil, err
	}
	ac.OnRecord = w.OnAudit
	l, err := audit.New(ac)
	return w, l, err
}

// newAuditChain builds the audit chain of cfg: nil when the store does not
// keep one and no key asks for it.
func newAuditChain(cfg Config, s *site.Site) (*audit.Chain, error) {
	chainStore, ok := cfg.Store.(store.AuditChain)
	if !ok {
		if cfg.AuditChainKey != "" {
			return nil, fmt.Errorf("%w: kit: Config.Store does not implement store.AuditChain, which AuditChainKey needs", sigra.ErrConfig)
		}
		return nil, nil
	}
	var key []byte
	if cfg.AuditChainKey != "" {
		var err error
		if key, err = audit.ParseChainKey(cfg.AuditChainKey); err != nil {
			return nil, fmt.Errorf("%w: kit: AuditChainKey: %w", sigra.ErrConfig, err)
		}
	}
	return audit.NewChain(audit.ChainConfig{Store: chainStore, Key: key, Now: s.Clock(), Logger: s.Logger()})
}

// laterPasskeys gives the two-factor flows the passkeys, which are built
// after them (the passkeys take them as their SecondFactor).
type laterPasskeys struct{ k *Kit }

// Has reports whether the user holds a passkey.
func (l laterPasskeys) Has(ctx context.Context, userID string) (bool, error) {
	return l.k.Passkeys.Has(ctx, userID)
}
