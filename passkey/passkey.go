package passkey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"golang.org/x/net/publicsuffix"

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

// Store is what the passkey flows need of storage: users, passkeys, the
// rate limiter, the audit log and transactions.
type Store interface {
	store.Users
	store.Passkeys
	store.Limiter
	store.AuditLog
	store.Transactor
}

// Audit actions of the passkeys, beside the catalogue's
// audit.ActionLoginSuccess, audit.ActionLoginFailure,
// audit.ActionMFAChallengeSuccess, audit.ActionMFAChallengeFailure and
// audit.ActionSudo (which the passkey ceremonies record with the method
// "passkey"). A strict audit.Logger must list them in its Config.Actions
// ([Actions] returns them).
const (
	// ActionAdd: a user registered a passkey.
	ActionAdd = "passkey.add"
	// ActionAddFailure: a passkey registration was refused (a ceremony
	// that did not verify, a credential registered before, the limit
	// reached). It is recorded with audit.Logger.RecordFailure.
	ActionAddFailure = "passkey.add.failure"
	// ActionRename: a user renamed a passkey.
	ActionRename = "passkey.rename"
	// ActionRemove: a passkey was removed, by its user or, for a cloned
	// authenticator, by policy (reason "clone").
	ActionRemove = "passkey.remove"
	// ActionClone: a passkey sign-in reported a signature counter at or
	// below the stored one (a cloned authenticator); the metadata's
	// "policy" says what followed.
	ActionClone = "security.passkey_clone"
	// ActionBackupState: a passkey's backup state (synced or not) changed
	// at a sign-in.
	ActionBackupState = "passkey.backup_state"
)

// Actions returns the audit actions this package records besides the
// audit catalogue's, for audit.Config.Actions of a strict logger.
func Actions() []string {
	return []string{
		ActionAdd,
		ActionAddFailure,
		ActionRename,
		ActionRemove,
		ActionClone,
		ActionBackupState,
	}
}

// SecondFactor is what a passkey sign-in asks of the two-factor flows
// (*mfa.MFA has these methods): whether the user must present a second
// factor after one that did not verify the user, and whether the browser
// is trusted to skip it. It is the same shape as the first two methods of
// account.SecondFactor, so the value given to the account flows fits here.
type SecondFactor interface {
	// Required reports whether the user must present a second factor.
	Required(ctx context.Context, userID string) (bool, error)
	// Trusted reports whether r comes from a browser the user trusted to
	// skip the second factor.
	Trusted(r *http.Request, userID string) bool
}

// ClonePolicy says what a sign-in does when the authenticator's signature
// counter did not move past the stored one: a sign of a cloned
// authenticator (WebAuthn §6.1.1). Passkeys whose counter stays at zero
// (synced passkeys, which have none) never trigger it. Every policy
// records the event in the audit log (security.passkey_clone).
type ClonePolicy int

// Clone policies.
const (
	// CloneWarn lets the sign-in go on; the event is audited and logged.
	CloneWarn ClonePolicy = iota
	// CloneReauthenticate refuses the sign-in: the user must sign in
	// another way (password, another passkey, an emailed link). The
	// passkey stays.
	CloneReauthenticate
	// CloneRevoke refuses the sign-in and removes the passkey, even when
	// it is the user's last way to sign in (the user recovers by email),
	// and emails the user.
	CloneRevoke
)

// String names the policy as the audit metadata does.
func (p ClonePolicy) String() string {
	switch p {
	case CloneWarn:
		return "warn"
	case CloneReauthenticate:
		return "reauthenticate"
	case CloneRevoke:
		return "revoke"
	}
	return fmt.Sprintf("ClonePolicy(%d)", int(p))
}

// Limits are the rate limits of the ceremonies, counted in the store so
// they hold across instances. Zero fields take the defaults shown. Every
// request counts, successful or not.
type Limits struct {
	// OptionsPerIP bounds the begin (options) requests of one address.
	// Default 60 per 15 minutes.
	OptionsPerIP middleware.Limit
	// FinishPerIP bounds the finish requests of one address. Default 60
	// per 15 minutes.
	FinishPerIP middleware.Limit
	// FinishPerUser bounds the finish requests for one account (a
	// registration, a second factor, a re-authentication, and sign-ins
	// once the passkey's user is known). Default 30 per 15 minutes.
	FinishPerUser middleware.Limit
}

// Config configures the passkey flows. Store, Sessions, Guard, UI, Mail
// and Keys are required; the site comes from Sessions, and the UI must be
// built from the same site with [Pages] among its packs, beside a pack
// that declares the sign-in and sudo routes (account.Pages()).
type Config struct {
	Store    Store
	Sessions *session.Manager
	Guard    *middleware.Guard
	UI       *ui.UI
	// Mail sends the notices (a passkey added or removed): an
	// *mail.Outbox over the same store in production.
	Mail mail.Sender
	// Keys are the application's sealing keys ("id:base64key[,...]", as
	// mfa.Config.Keys). The primary key derives the stand-in credentials
	// that an email-first sign-in offers for an address without passkeys,
	// so that every instance answers alike for one address (rotating the
	// primary key changes them). Required.
	Keys string
	// Audit records the events. Default: a Logger over Store.
	Audit *audit.Logger
	// RateLimiter applies Limits. Default: one over Store.
	RateLimiter *middleware.RateLimiter
	// SecondFactor decides whether a sign-in with a passkey that did not
	// verify the user (no PIN or biometric: one factor) must go on to the
	// second step (the two-factor flows, *mfa.MFA). Nil: such a sign-in
	// completes with one factor.
	SecondFactor SecondFactor

	// RPID is the relying party ID: a domain, the host of every origin or
	// a registrable suffix of it, never an IP address nor a public suffix.
	// Default: the host of the site's base URL ("localhost" in
	// development).
	RPID string
	// RPName is the name authenticators show. Default: the UI brand's
	// product name.
	RPName string
	// Origins are the exact origins (scheme, host, port; no path, no
	// trailing slash) the ceremonies may come from. Default: the site's
	// origin. Each must be https (http only on localhost), and its host
	// RPID or a subdomain of it.
	Origins []string
	// RelatedOrigins are further exact https origins, on other domains,
	// that may use RPID (WebAuthn related origin requests). When set, the
	// document listing Origins and RelatedOrigins is served at
	// /.well-known/webauthn (mount it on the RPID's host).
	RelatedOrigins []string
	// MaxPasskeys is how many passkeys a user may hold. Default 10.
	MaxPasskeys int
	// Timeout bounds every ceremony, from its options to its finish.
	// Default 5 minutes.
	Timeout time.Duration
	// ClonePolicy is what a sign-in with a cloned authenticator does.
	// Default CloneWarn.
	ClonePolicy ClonePolicy
	// Attestation is the attestation conveyance asked at registration:
	// "none" (default), "indirect", "direct" or "enterprise". The
	// attestation is checked by go-webauthn and its format stored;
	// nothing else is done with it.
	Attestation string
	// Limits are the ceremonies' rate limits.
	Limits Limits
	// AfterSignIn runs when a passkey sign-in completed (with user
	// verification, or without a second factor required, or on a trusted
	// browser), as account.Hooks.AfterSignIn runs for the account's
	// sign-ins; the kit gives it the account's hook. It does not run when
	// the sign-in goes on to the second step. Optional.
	AfterSignIn func(ctx context.Context, u *sigra.User)
}

// Passkeys serves passkey registration and management, passwordless sign-in
// (discoverable, conditional UI, email-first), the passkey second factor
// and re-authentication. Create it with [New] and mount it with
// [Passkeys.Mount]. Safe for concurrent use.
type Passkeys struct {
	k       *kernel.Kernel
	cfg     Config
	st      Store
	wa      *webauthn.WebAuthn
	decoy   []byte   // key of the email-first stand-in credentials
	origins []string // Origins then RelatedOrigins
}

// New validates cfg and returns a Passkeys. Errors wrap [sigra.ErrConfig]
// and name the missing or invalid field.
func New(cfg Config) (*Passkeys, error) {
	var st kernel.Store
	if cfg.Store != nil {
		st = cfg.Store
	}
	k, err := kernel.New("passkey", PackName, st, kernel.Deps{
		Sessions: cfg.Sessions, Guard: cfg.Guard, UI: cfg.UI, Mail: cfg.Mail, Audit: cfg.Audit, Limiter: cfg.RateLimiter,
	})
	if err != nil {
		return nil, err
	}
	k.Forms(forms())
	for _, route := range []string{ui.RouteSignIn, ui.RouteSudo} {
		if err := k.Need(route, "the pack of the sign-in flows (such as account.Pages())"); err != nil {
			return nil, err
		}
	}
	bad := func(format string, args ...any) (*Passkeys, error) {
		return nil, fmt.Errorf("%w: passkey: %s", sigra.ErrConfig, fmt.Sprintf(format, args...))
	}
	if cfg.Keys == "" {
		return bad("Config.Keys is required (the application's sealing keys)")
	}
	decoy, err := decoyKey(cfg.Keys)
	if err != nil {
		return bad("Keys: %v", err)
	}
	origin, _ := url.Parse(k.Site.Origin())
	if cfg.RPID == "" {
		cfg.RPID = origin.Hostname()
	}
	if len(cfg.Origins) == 0 {
		cfg.Origins = []string{k.Site.Origin()}
	}
	if err := checkRP(cfg.RPID, cfg.Origins, cfg.RelatedOrigins); err != nil {
		return bad("%v", err)
	}
	if cfg.RPName == "" {
		cfg.RPName = cfg.UI.Brand().ProductName
	}
	if cfg.MaxPasskeys <= 0 {
		cfg.MaxPasskeys = 10
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.ClonePolicy < CloneWarn || cfg.ClonePolicy > CloneRevoke {
		return bad("unknown ClonePolicy %d", int(cfg.ClonePolicy))
	}
	switch cfg.Attestation {
	case "":
		cfg.Attestation = string(protocol.PreferNoAttestation)
	case string(protocol.PreferNoAttestation), string(protocol.PreferIndirectAttestation),
		string(protocol.PreferDirectAttestation), string(protocol.PreferEnterpriseAttestation):
	default:
		return bad("Attestation %q: want none, indirect, direct or enterprise", cfg.Attestation)
	}
	cfg.Limits.OptionsPerIP = cfg.Limits.OptionsPerIP.Or(middleware.Limit{N: 60, Window: 15 * time.Minute})
	cfg.Limits.FinishPerIP = cfg.Limits.FinishPerIP.Or(middleware.Limit{N: 60, Window: 15 * time.Minute})
	cfg.Limits.FinishPerUser = cfg.Limits.FinishPerUser.Or(middleware.Limit{N: 30, Window: 15 * time.Minute})
	origins := append(append([]string{}, cfg.Origins...), cfg.RelatedOrigins...)
	timeout := webauthn.TimeoutConfig{Enforce: true, Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPName,
		RPOrigins:             origins,
		AttestationPreference: protocol.ConveyancePreference(cfg.Attestation),
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return bad("%v", err)
	}
	return &Passkeys{k: k, cfg: cfg, st: cfg.Store, wa: wa, decoy: decoy, origins: origins}, nil
}

// checkRP checks the relying party: rpID a domain that is not an IP
// address nor a public suffix, every origin exact and on rpID or a
// subdomain of it, every related origin exact and https.
func checkRP(rpID string, origins, related []string) error {
	if _, err := netip.ParseAddr(strings.Trim(rpID, "[]")); err == nil {
		return fmt.Errorf("RPID %q is an IP address: WebAuthn needs a domain (use localhost in development)", rpID)
	}
	if rpID != strings.ToLower(rpID) || strings.ContainsAny(rpID, ":/ ") || strings.HasPrefix(rpID, ".") || strings.HasSuffix(rpID, ".") || rpID == "" {
		return fmt.Errorf("RPID %q: want a lower-case domain without scheme, port or path", rpID)
	}
	local := rpID == "localhost" || strings.HasSuffix(rpID, ".localhost")
	if !local {
		if _, err := publicsuffix.EffectiveTLDPlusOne(rpID); err != nil {
			return fmt.Errorf("RPID %q is a public suffix (such as com or github.io): want a domain the application controls", rpID)
		}
	}
	for _, o := range origins {
		host, err := exactOrigin(o)
		if err != nil {
			return fmt.Errorf("origin %q: %v", o, err)
		}
		if host != rpID && !strings.HasSuffix(host, "."+rpID) {
			return fmt.Errorf("origin %q: RPID %q must be its host or a registrable suffix of it", o, rpID)
		}
		if strings.HasPrefix(o, "http:") && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
			return fmt.Errorf("origin %q: want https (plain http only on localhost)", o)
		}
	}
	for _, o := range related {
		if _, err := exactOrigin(o); err != nil {
			return fmt.Errorf("related origin %q: %v", o, err)
		}
		if !strings.HasPrefix(o, "https:") {
			return fmt.Errorf("related origin %q: want https", o)
		}
	}
	if len(related) > 0 {
		if _, err := protocol.NewRelatedOrigins(append(append([]string{}, origins...), related...)...); err != nil {
			return fmt.Errorf("related origins: %v", err)
		}
	}
	return nil
}

// exactOrigin returns the host of o, an exact origin: scheme http or https,
// a host, an optional port, and nothing else (no path, not even "/").
func exactOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", errors.New("want scheme://host[:port]")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") || u.Path != "" {
		return "", errors.New("an origin has no path (not even a trailing slash), query or fragment")
	}
	if u.Scheme+"://"+u.Host != o || u.Hostname() != strings.ToLower(u.Hostname()) {
		return "", errors.New("want it exactly as a browser sends it: lower-case scheme://host[:port]")
	}
	if _, err := netip.ParseAddr(u.Hostname()); err == nil {
		return "", errors.New("WebAuthn needs a domain, not an IP address")
	}
	return u.Hostname(), nil
}

// decoyKey derives the key of the email-first stand-in credentials from
// the primary sealing key.
func decoyKey(keys string) ([]byte, error) {
	if _, err := seal.ParseKeyring(keys); err != nil {
		return nil, err
	}
	primary, _, _ := strings.Cut(keys, ",")
	m := hmac.New(sha256.New, []byte(strings.TrimSpace(primary)))
	m.Write([]byte("sigra/passkey decoy credentials"))
	return m.Sum(nil), nil
}

// Mount registers the passkey routes on mux under the site's prefix, and
// /.well-known/webauthn when RelatedOrigins are set. See the package
// documentation for the routes.
func (p *Passkeys) Mount(mux *http.ServeMux) {
	get, post := http.MethodGet, http.MethodPost
	user, sudo := p.k.Guard.RequireUser, p.k.Guard.RequireSudo
	refuse := p.k.Guard.RefuseImpersonation // what an admin acting as the user may not do
	p.k.Handle(mux, get, pathManage, p.managePage, user)
	p.k.Handle(mux, post, pathRegisterOptions, p.registerOptions, sudo)
	p.k.Handle(mux, post, pathRegister, p.register, sudo)
	p.k.Handle(mux, post, pathRename, p.rename, user, refuse)
	p.k.Handle(mux, post, pathDelete, p.remove, sudo)
	p.k.Handle(mux, get, pathSignIn, p.signInPage)
	p.k.Handle(mux, post, pathSignInOptions, p.signInOptions)
	p.k.Handle(mux, post, pathSignIn, p.signIn)
	p.k.Handle(mux, post, pathChallengeOptions, p.challengeOptions, refuse)
	p.k.Handle(mux, post, pathChallenge, p.challenge, refuse)
	p.k.Handle(mux, post, pathSudoOptions, p.sudoOptions, user, refuse)
	p.k.Handle(mux, post, pathSudo, p.sudo, user, refuse)
	if len(p.cfg.RelatedOrigins) > 0 {
		doc, _ := json.Marshal(map[string][]string{"origins": p.origins})
		mux.Handle("GET "+wellKnownPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "public, max-age=3600")
			_, _ = w.Write(doc)
		}))
	}
}

// Section returns the passkeys part of the settings page (how many, a link
// to manage them), for account.Config.Sections.
func (p *Passkeys) Section() ui.Section {
	return ui.Section{Name: "passkeys", Order: 35, Data: func(r *http.Request) (any, error) {
		u := p.k.Sess.User(r.Context())
		if u == nil {
			return nil, nil
		}
		list, err := p.st.PasskeysByUser(r.Context(), u.ID, p.cfg.RPID)
		if err != nil {
			return nil, err
		}
		return &PasskeysSection{Count: len(list), Max: p.cfg.MaxPasskeys}, nil
	}}
}

// Has reports whether the user holds a passkey for the relying party.
func (p *Passkeys) Has(ctx context.Context, userID string) (bool, error) {
	list, err := p.st.PasskeysByUser(ctx, userID, p.cfg.RPID)
	return len(list) > 0, err
}

// RPID returns the relying party ID the flows use.
func (p *Passkeys) RPID() string { return p.cfg.RPID }
