package account

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// Store is what the account flows need of storage: users, sessions,
// emailed tokens and codes, the rate limiter, the audit log, the devices
// users sign in from (for new-device alerts) and transactions. A host
// that keeps accounts in its own database implements these (and runs the
// matching parts of store/storetest); it needs none of the second
// factors' interfaces.
type Store interface {
	store.Users
	store.Sessions
	store.Tokens
	store.Limiter
	store.AuditLog
	store.SignIns
	store.Transactor
}

// SecondFactor is how account hands a sign-in to a second factor. The mfa
// package implements it; without one, every sign-in completes with the
// first factor.
type SecondFactor interface {
	// Required reports whether the user must present a second factor.
	Required(ctx context.Context, userID string) (bool, error)
	// Trusted reports whether r comes from a browser the user trusted to
	// skip the second factor.
	Trusted(r *http.Request, userID string) bool
	// VerifySudo checks a second-factor code for re-authentication
	// (sudo). It returns sigra.ErrInvalidCredentials, sigra.ErrLockedOut or
	// another error.
	VerifySudo(ctx context.Context, r *http.Request, userID, code string) error
	// ForgetTrust forgets every browser the user trusted to skip the
	// second factor. A password reset calls it inside its transaction (the
	// context carries it), so a reset by a stranger also ends the trust.
	ForgetTrust(ctx context.Context, userID string) error
}

// Holder tells whether a user holds a credential of another feature, one
// the sudo page offers: a passkey (*passkey.Passkeys has this method) or
// a linked identity (*oauth.OAuth).
type Holder interface {
	// Has reports whether the user holds the credential.
	Has(ctx context.Context, userID string) (bool, error)
}

// DeletionMode says what happens to an account when its deletion is due.
type DeletionMode int

const (
	// DeleteData removes the user row and everything that belongs to it.
	DeleteData DeletionMode = iota
	// AnonymizeData keeps the user row (and its ID, for records that refer
	// to it) with the address replaced and everything else removed.
	AnonymizeData
)

// Limits are the rate limits of the flows, counted in the store so they
// hold across instances. Zero fields take the defaults shown. Every
// attempt counts, successful or not.
type Limits struct {
	LoginPerIP      middleware.Limit // 100 per 15 min
	LoginPerAccount middleware.Limit // 20 per 15 min (lockout after 5 failures acts first)
	RegisterPerIP   middleware.Limit // 10 per hour
	EmailPerAddress middleware.Limit // 3 per 15 min: reset, magic link, resend, "someone tried to register"
	EmailPerIP      middleware.Limit // 30 per hour
	CodePerUser     middleware.Limit // 5 per 15 min: confirmation codes
	SudoPerUser     middleware.Limit // 10 per 15 min
	PasswordChange  middleware.Limit // 20 per 15 min per user (current-password checks)
}

func (l *Limits) fill() {
	l.LoginPerIP = l.LoginPerIP.Or(middleware.Limit{N: 100, Window: 15 * time.Minute})
	l.LoginPerAccount = l.LoginPerAccount.Or(middleware.Limit{N: 20, Window: 15 * time.Minute})
	l.RegisterPerIP = l.RegisterPerIP.Or(middleware.Limit{N: 10, Window: time.Hour})
	l.EmailPerAddress = l.EmailPerAddress.Or(middleware.Limit{N: 3, Window: 15 * time.Minute})
	l.EmailPerIP = l.EmailPerIP.Or(middleware.Limit{N: 30, Window: time.Hour})
	l.CodePerUser = l.CodePerUser.Or(middleware.Limit{N: 5, Window: 15 * time.Minute})
	l.SudoPerUser = l.SudoPerUser.Or(middleware.Limit{N: 10, Window: 15 * time.Minute})
	l.PasswordChange = l.PasswordChange.Or(middleware.Limit{N: 20, Window: 15 * time.Minute})
}

// Hooks are the host application's functions called by the flows. A nil
// hook is skipped. Hooks run after the change committed, on the request's
// goroutine (keep them short, or hand work to a queue), except
// BeforeDelete, which runs before an account is removed and can stop it,
// and BeforeRegister, which runs before an account is created and can
// refuse the registration. The users they receive carry no secrets.
type Hooks struct {
	// BeforeRegister runs on a registration request with a well-formed
	// address and a password the policy accepts, before anything is hashed
	// or stored, with the form's (or JSON body's) fields but the passwords
	// and the CSRF token: an application checks its own fields there (a
	// display name, accepting the terms). A *FieldError refuses the
	// registration with 422 and the message at the field; any other error
	// answers 500. It runs whether or not the address is taken, so it
	// reveals nothing.
	BeforeRegister func(ctx context.Context, fields map[string]string) error
	// AfterRegister runs when an account was created (not when the address
	// was taken: that answer looks the same to the client), with the
	// fields BeforeRegister saw, so the application can store its own.
	AfterRegister func(ctx context.Context, u *sigra.User, fields map[string]string)
	// Fields names the application's own registration fields, the ones
	// BeforeRegister and AfterRegister read (a display name, a terms
	// checkbox): text of at most 1024 bytes each (line breaks allowed), or a
	// JSON boolean (true reads as "true"). A registration takes
	// these besides email and password; a JSON body with any other field
	// is refused with 400 unknown_field, and the extra inputs of a form
	// are ignored, so the hooks never see a field nobody declared (an
	// "is_admin" sent by a client). The names must not be email,
	// password, csrf_token or return_to.
	Fields []string
	// AfterConfirm runs when an address was confirmed by link or code.
	AfterConfirm func(ctx context.Context, u *sigra.User)
	// AfterSignIn runs when this package completed a sign-in (password or
	// magic link, without a second factor or on a trusted browser).
	AfterSignIn func(ctx context.Context, u *sigra.User)
	// AfterSignOut runs when a signed-in user signed out.
	AfterSignOut func(ctx context.Context, userID string)
	// AfterPasswordReset runs when a password was set through a reset link.
	AfterPasswordReset func(ctx context.Context, u *sigra.User)
	// AfterEmailChange runs when a new address was confirmed; u holds the
	// new address.
	AfterEmailChange func(ctx context.Context, u *sigra.User, oldEmail string)
	// BeforeDelete runs before a due account is deleted or anonymised; an
	// error postpones the deletion to the next run.
	BeforeDelete func(ctx context.Context, u *sigra.User) error
	// AfterDelete runs when an account was deleted or anonymised.
	AfterDelete func(ctx context.Context, userID string)
}

// FieldError refuses a form field from a hook: the answer is 422 with
// Message at Field (code "invalid_input").
type FieldError struct {
	// Field is the name of the refused field ("display_name").
	Field string
	// Message tells the user what to change; it is shown at the field.
	Message string
}

// Error returns the field and the message.
func (e *FieldError) Error() string {
	return fmt.Sprintf("sigra/account: field %s: %s", e.Field, e.Message)
}

// Config configures the account flows. Store, Sessions, Guard, UI, Mail and
// Passwords are required; the site (base URL, prefix, clock, logger) comes
// from Sessions, and the UI must be built from the same site with
// [Pages] among its packs.
type Config struct {
	Store     Store
	Sessions  *session.Manager
	Guard     *middleware.Guard
	UI        *ui.UI
	Passwords *password.Hasher
	// Mail sends the flows' emails: an *mail.Outbox over the same store
	// in production (durable, and committed with the change it reports),
	// a *mail.Mailbox in development.
	Mail mail.Sender
	// Audit records the flows' events. Default: a Logger over Store.
	Audit *audit.Logger
	// RateLimiter applies the Limits. Default: one over Store (limits hold
	// across instances). A password sign-in counts its two limits and takes
	// its attempt place in one write of Store when the RateLimiter counts
	// over Store itself and Store is a store.SequenceLimiter (both adapters
	// are: on PostgreSQL it is one statement), otherwise in one transaction
	// of Store; a RateLimiter over another store counts outside it. (Over a
	// second *sqlite.DB on the same file as Store, its writes would wait for
	// that transaction: build it over Store itself.)
	RateLimiter *middleware.RateLimiter
	// SecondFactor hands sign-ins to the second step. Optional.
	SecondFactor SecondFactor
	// Passkeys tells the sudo page whether the user holds a passkey, so
	// that a user who can re-authenticate with one (the slot
	// ui.SlotSudo, which the passkey pack fills) is told to sign out and
	// sign in again only where the browser cannot use passkeys. Optional.
	Passkeys Holder
	// LinkedAccounts tells the sudo page whether the user has a linked
	// identity to re-authenticate with (the slot ui.SlotSudo, which the
	// oauth pack fills), so that such a user is not told to sign out and
	// sign in again. Set it only with that feature mounted. Optional.
	LinkedAccounts Holder
	// Sections are other features' parts of the settings page (the
	// two-factor summary, an application's profile form), shown with the
	// account's own (email 10, password 20, devices 30, delete 1000) in
	// their Order.
	Sections []ui.Section

	// RequireConfirmation refuses sign-in until the address is confirmed.
	// Default false: users may sign in and see a banner until they confirm.
	RequireConfirmation bool
	// DisableRegistration turns off the registration routes (GET and POST
	// <prefix>/register). Default false: anyone may register.
	DisableRegistration bool
	// DisableMagicLink turns off magic-link sign-in.
	DisableMagicLink bool

	// Token lifetimes. Defaults: confirmation 48 h, reset 1 h, magic link
	// 15 min, email change 24 h.
	ConfirmTTL     time.Duration
	ResetTTL       time.Duration
	MagicLinkTTL   time.Duration
	EmailChangeTTL time.Duration
	// MaxFailures and LockoutDuration govern password lockout. Defaults 5
	// and 15 min.
	MaxFailures     int
	LockoutDuration time.Duration
	// CodeMaxAttempts is how many wrong guesses kill a confirmation code
	// for good (beside the per-15-minute limit). Default 10.
	CodeMaxAttempts int
	// DeletionGrace is how long a scheduled deletion waits. Default 14 days.
	DeletionGrace time.Duration
	// DeletionMode selects removal or anonymisation. Default DeleteData.
	DeletionMode DeletionMode

	Limits Limits
	Hooks  Hooks

	// NewDeviceAlert configures the email sent when the account is signed
	// in to from a device not seen lately. On by default (a 90-day window,
	// a 7-day link).
	NewDeviceAlert NewDeviceAlertConfig

	// BreachCheck configures the check of password sign-ins against the
	// breach checker of the Passwords hasher's policy, if it has one: a
	// password found in a breach must be changed before the user goes on.
	// On when the policy has a checker (fail-open, at most once a day per
	// user while the password is clean).
	BreachCheck BreachCheckConfig
}

// Handler serves the account flows. Create it with [New] and attach it to a
// ServeMux with [Handler.Mount]. Safe for concurrent use.
type Handler struct {
	k        *kernel.Kernel
	cfg      Config
	st       Store
	pw       *password.Hasher
	sections []ui.Section
}

// New validates cfg, fills defaults and returns a Handler. Errors wrap
// [sigra.ErrConfig] and name the missing or invalid field.
func New(cfg Config) (*Handler, error) {
	if cfg.Passwords == nil {
		return nil, fmt.Errorf("%w: account: Config.Passwords is required", sigra.ErrConfig)
	}
	var st kernel.Store
	if cfg.Store != nil {
		st = cfg.Store
	}
	k, err := kernel.New("account", PackName, st, kernel.Deps{
		Sessions: cfg.Sessions, Guard: cfg.Guard, UI: cfg.UI, Mail: cfg.Mail, Audit: cfg.Audit, Limiter: cfg.RateLimiter,
	})
	if err != nil {
		return nil, err
	}
	if err := checkHookFields(cfg.Hooks.Fields); err != nil {
		return nil, err
	}
	k.Forms(forms(cfg))
	if cfg.SecondFactor != nil {
		// The second step of a sign-in, for Config.SecondFactor.
		if err := k.Need(ui.RouteSecondFactor, "the pack of Config.SecondFactor (such as mfa.Pages())"); err != nil {
			return nil, err
		}
	}
	dur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	dur(&cfg.ConfirmTTL, 48*time.Hour)
	dur(&cfg.ResetTTL, time.Hour)
	dur(&cfg.MagicLinkTTL, 15*time.Minute)
	dur(&cfg.EmailChangeTTL, 24*time.Hour)
	dur(&cfg.LockoutDuration, 15*time.Minute)
	dur(&cfg.DeletionGrace, 14*24*time.Hour)
	dur(&cfg.NewDeviceAlert.Window, 90*24*time.Hour)
	dur(&cfg.NewDeviceAlert.LinkTTL, 7*24*time.Hour)
	if cfg.BreachCheck.Every < 0 {
		return nil, fmt.Errorf("%w: account: negative Config.BreachCheck.Every", sigra.ErrConfig)
	}
	dur(&cfg.BreachCheck.Every, 24*time.Hour)
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.CodeMaxAttempts <= 0 {
		cfg.CodeMaxAttempts = 10
	}
	cfg.Limits.fill()
	h := &Handler{k: k, cfg: cfg, st: cfg.Store, pw: cfg.Passwords}
	h.sections = append([]ui.Section{
		{Name: "email", Order: 10, Data: h.emailSection},
		{Name: "password", Order: 20, Data: h.passwordSection},
		{Name: "devices", Order: 30, Data: h.devicesSection},
		{Name: "delete", Order: 1000, Data: h.deleteSection},
	}, cfg.Sections...)
	known := map[string]bool{}
	for _, name := range cfg.UI.Sections() {
		known[name] = true
	}
	for _, s := range h.sections {
		if !known[s.Name] || s.Data == nil {
			return nil, fmt.Errorf("%w: account: settings section %q has no template in the UI's packs (or no Data)", sigra.ErrConfig, s.Name)
		}
	}
	// Registered last: a New that fails registers nothing.
	h.registerJobs()
	k.Sess.OnSignIn(h.signedIn)
	k.Sess.OnSignIn(h.noticeNewDevice)
	return h, nil
}

// Mount registers the account routes on mux under the site's prefix. The
// routes are listed in the package documentation. Settings routes are
// wrapped with the Guard's RequireUser or RequireSudo; every POST body is
// limited to middleware.DefaultBodyLimit. The application still wraps the
// mux with the CSRF middleware and the session manager's LoadAndSave.
func (h *Handler) Mount(mux *http.ServeMux) {
	get, post := http.MethodGet, http.MethodPost
	user, sudo, anon := h.k.Guard.RequireUser, h.k.Guard.RequireSudo, h.k.Guard.RedirectIfSignedIn
	refuse := h.k.Guard.RefuseImpersonation // what an admin acting as the user may not do

	if !h.cfg.DisableRegistration {
		h.k.Handle(mux, get, pathRegister, h.registerPage, anon)
		h.k.Handle(mux, post, pathRegister, h.register)
	}
	h.k.Handle(mux, get, pathConfirm, h.confirmPage)
	h.k.Handle(mux, post, pathConfirm, h.confirm)
	h.k.Handle(mux, post, pathConfirmResend, h.resend)

	h.k.Handle(mux, get, pathLogin, h.loginPage, anon)
	h.k.Handle(mux, post, pathLogin, h.login)
	h.k.Handle(mux, post, pathLogout, h.logout)
	h.k.Handle(mux, get, pathSession, h.sessionInfo)

	h.k.Handle(mux, get, pathForgot, h.forgotPage)
	h.k.Handle(mux, post, pathForgot, h.forgot)
	h.k.Handle(mux, get, pathReset, h.resetPage)
	h.k.Handle(mux, post, pathReset, h.reset)

	if !h.cfg.DisableMagicLink {
		h.k.Handle(mux, get, pathMagic, h.magicPage)
		h.k.Handle(mux, post, pathMagic, h.magicRequest)
		h.k.Handle(mux, get, pathMagicVerify, h.magicConfirmPage)
		h.k.Handle(mux, post, pathMagicVerify, h.magicVerify)
	}

	h.k.Handle(mux, get, pathSudo, h.sudoPage, user, refuse)
	h.k.Handle(mux, post, pathSudo, h.sudo, user, refuse)

	h.k.Handle(mux, get, pathSettings, h.settingsPage, user)
	h.k.Handle(mux, post, pathEmail, h.emailChange, sudo)
	h.k.Handle(mux, get, pathEmailConfirm, h.emailConfirmPage)
	h.k.Handle(mux, post, pathEmailConfirm, h.emailConfirm)
	h.k.Handle(mux, post, pathEmailCancel, h.emailCancel, user, refuse)
	h.k.Handle(mux, post, pathPassword, h.passwordChange, user, refuse)
	// Not behind the guards, which send users here (see renewGate).
	h.k.Handle(mux, get, pathRenew, h.renewPage, refuse)
	h.k.Handle(mux, post, pathRenew, h.renew, refuse)

	h.k.Handle(mux, get, pathSessions, h.sessionsPage, user)
	h.k.Handle(mux, post, pathSessionRevoke, h.sessionRevoke, user)
	h.k.Handle(mux, post, pathSessionsOthers, h.sessionsRevokeOthers, user)

	h.k.Handle(mux, get, pathDelete, h.deletePage, sudo)
	h.k.Handle(mux, post, pathDelete, h.deleteAccount, sudo)

	// The links of new-device alerts, served even with alerts disabled so
	// that links already sent keep working.
	h.k.Handle(mux, get, pathNotMe, h.notMePage)
	h.k.Handle(mux, post, pathNotMe, h.notMe)
}

// publicUser is the view of a stored user that hooks and the session get:
// no password hash, no counters.
func publicUser(u *store.User) *sigra.User {
	return &sigra.User{ID: u.ID, Email: u.Email, EmailConfirmedAt: u.EmailConfirmedAt, CreatedAt: u.CreatedAt}
}

// current reads the stored record of the request's session user (signed
// in or pending), for the flows that need what the session does not carry
// (the password hash, lockout counters).
func (h *Handler) current(ctx context.Context) (*store.User, error) {
	u := h.k.Sess.User(ctx)
	if u == nil {
		return nil, session.ErrNotSignedIn
	}
	return h.st.UserByID(ctx, u.ID)
}

// passwordLockout is the password lockout, with the notice's data taken
// from r.
func (h *Handler) passwordLockout(r *http.Request) kernel.Lockout {
	return h.lockoutFor(func() *ui.Email { return h.k.RequestEmail(r) })
}

// lockoutFor is the password lockout, with the notice's data built on
// base.
func (h *Handler) lockoutFor(base func() *ui.Email) kernel.Lockout {
	return kernel.Lockout{
		Lock: store.LockPassword, Max: h.cfg.MaxFailures, Duration: h.cfg.LockoutDuration,
		Action: audit.ActionLockout, Email: "lockout",
		Data: func() *ui.Email {
			d := base()
			d.Link = h.k.Absolute(h.k.Path(pathForgot))
			d.ExpiresIn = kernel.TTLText(h.cfg.LockoutDuration)
			return d
		},
	}
}
