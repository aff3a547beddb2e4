package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/flow"
	"github.com/sigra-go/sigra/internal/web"
	sigramail "github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// Mailer queues a message through the store it is given, so the message
// commits together with the change it reports (and the token it carries).
// *mail.Outbox implements it.
type Mailer interface {
	Queue(ctx context.Context, st store.Outbox, m *sigramail.Message) error
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

// Limit is a rate limit: N attempts per Window.
type Limit struct {
	// N is the number of attempts allowed per window.
	N int
	// Window is the length of a fixed window.
	Window time.Duration
}

// Limits are the rate limits of the flows, counted in the store so they
// hold across instances. Zero fields take the defaults shown. Every
// attempt counts, successful or not.
type Limits struct {
	LoginPerIP       Limit // 100 per 15 min
	LoginPerAccount  Limit // 20 per 15 min (lockout after 5 failures acts first)
	RegisterPerIP    Limit // 10 per hour
	EmailPerAddress  Limit // 3 per 15 min: reset, magic link, resend, "someone tried to register"
	EmailPerIP       Limit // 30 per hour
	CodePerUser      Limit // 5 per 15 min: confirmation codes
	SudoPerUser      Limit // 10 per 15 min
	PasswordChangeIP Limit // 20 per 15 min, per user (current-password checks)
}

func (l *Limits) fill() {
	def := func(x *Limit, n int, w time.Duration) {
		if x.N <= 0 {
			x.N = n
		}
		if x.Window <= 0 {
			x.Window = w
		}
	}
	def(&l.LoginPerIP, 100, 15*time.Minute)
	def(&l.LoginPerAccount, 20, 15*time.Minute)
	def(&l.RegisterPerIP, 10, time.Hour)
	def(&l.EmailPerAddress, 3, 15*time.Minute)
	def(&l.EmailPerIP, 30, time.Hour)
	def(&l.CodePerUser, 5, 15*time.Minute)
	def(&l.SudoPerUser, 10, 15*time.Minute)
	def(&l.PasswordChangeIP, 20, 15*time.Minute)
}

// Hooks are the host application's functions called by the flows. A nil
// hook is skipped. Hooks run after the change committed, on the request's
// goroutine (keep them short, or hand work to a queue), except
// BeforeDelete, which runs before an account is removed and can stop it.
type Hooks struct {
	// AfterRegister runs when an account was created (not when the address
	// was taken: that answer looks the same to the client).
	AfterRegister func(ctx context.Context, u *store.User)
	// AfterConfirm runs when an address was confirmed by link or code.
	AfterConfirm func(ctx context.Context, u *store.User)
	// AfterSignIn runs when this package completed a sign-in (password or
	// magic link, without a second factor or on a trusted browser).
	AfterSignIn func(ctx context.Context, u *store.User)
	// AfterSignOut runs when a signed-in user signed out.
	AfterSignOut func(ctx context.Context, userID string)
	// AfterPasswordReset runs when a password was set through a reset link.
	AfterPasswordReset func(ctx context.Context, u *store.User)
	// AfterEmailChange runs when a new address was confirmed; u holds the
	// new address.
	AfterEmailChange func(ctx context.Context, u *store.User, oldEmail string)
	// BeforeDelete runs before a due account is deleted or anonymised; an
	// error postpones the deletion to the next run.
	BeforeDelete func(ctx context.Context, u *store.User) error
	// AfterDelete runs when an account was deleted or anonymised.
	AfterDelete func(ctx context.Context, userID string)
}

// Config configures the account flows. Store, Sessions, Guard, Passwords,
// Mailer, UI and BaseURL are required.
type Config struct {
	Store     store.Store
	Sessions  *session.Manager
	Guard     *middleware.Guard
	Passwords *password.Hasher
	Mailer    Mailer
	UI        *ui.UI
	// Audit records the flows' events. Default: a Logger with defaults.
	Audit *audit.Logger
	// RateLimiter applies the Limits. Default: one over Store (limits hold
	// across instances).
	RateLimiter *middleware.RateLimiter
	// BaseURL is the application's external URL; every emailed link is
	// built from it, never from the request's Host header.
	BaseURL string
	// SecondFactor hands sign-ins to the MFA step. Optional.
	SecondFactor SecondFactor

	// RequireConfirmation refuses sign-in until the address is confirmed.
	// Default false: users may sign in and see a banner until they confirm.
	RequireConfirmation bool
	// DisableRegistration turns off the registration routes (GET and POST
	// <prefix>/register). Default false: anyone may register.
	DisableRegistration bool
	// DisableMagicLink turns off magic-link sign-in.
	DisableMagicLink bool

	// AfterSignInPath is where a sign-in without return_to lands. Default "/".
	AfterSignInPath string
	// SecondFactorPath is the MFA challenge page. Default
	// "<prefix>/mfa/challenge".
	SecondFactorPath string

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
	// Now is the clock. Default: the session manager's.
	Now func() time.Time
	// Logger receives errors. Default slog.Default().
	Logger *slog.Logger
}

// Handler serves the account flows. Create it with [New] and attach it to a
// ServeMux with [Handler.Mount]. Safe for concurrent use.
type Handler struct {
	cfg    Config
	st     store.Store
	sess   *session.Manager
	guard  *middleware.Guard
	pw     *password.Hasher
	ui     *ui.UI
	audit  *audit.Logger
	rl     *middleware.RateLimiter
	base   *url.URL
	prefix string
	links  ui.Links
	x      *flow.Responder
	now    func() time.Time
	log    *slog.Logger
}

// New validates cfg, fills defaults and returns a Handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("sigra/account: Config.Store is required")
	case cfg.Sessions == nil:
		return nil, errors.New("sigra/account: Config.Sessions is required")
	case cfg.Guard == nil:
		return nil, errors.New("sigra/account: Config.Guard is required")
	case cfg.Passwords == nil:
		return nil, errors.New("sigra/account: Config.Passwords is required")
	case cfg.Mailer == nil:
		return nil, errors.New("sigra/account: Config.Mailer is required")
	case cfg.UI == nil:
		return nil, errors.New("sigra/account: Config.UI is required")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, fmt.Errorf("sigra/account: BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	base.RawQuery, base.Fragment = "", ""
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
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.CodeMaxAttempts <= 0 {
		cfg.CodeMaxAttempts = 10
	}
	cfg.Limits.fill()
	if cfg.AfterSignInPath == "" {
		cfg.AfterSignInPath = "/"
	}
	if _, ok := web.LocalPath(cfg.AfterSignInPath); !ok {
		return nil, fmt.Errorf("sigra/account: AfterSignInPath %q is not a local path", cfg.AfterSignInPath)
	}
	if cfg.Now == nil {
		cfg.Now = cfg.Sessions.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Audit == nil {
		cfg.Audit, err = audit.New(audit.Config{Now: cfg.Now, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
	}
	if cfg.RateLimiter == nil {
		cfg.RateLimiter, err = middleware.NewRateLimiter(middleware.RateLimiterConfig{Limiter: cfg.Store, Now: cfg.Now, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
	}
	return &Handler{
		cfg: cfg, st: cfg.Store, sess: cfg.Sessions, guard: cfg.Guard, pw: cfg.Passwords,
		ui: cfg.UI, audit: cfg.Audit, rl: cfg.RateLimiter, base: base, now: cfg.Now, log: cfg.Logger,
		x: &flow.Responder{UI: cfg.UI, Log: cfg.Logger, Links: flow.Links("/auth")},
	}, nil
}

// Mount registers the account routes on mux under prefix ("/auth"). The
// routes are listed in the package documentation. Settings routes are
// wrapped with the Guard's RequireUser or RequireSudo; every POST body is
// limited to middleware.DefaultBodyLimit. The application still wraps the
// mux with the CSRF middleware, the session middleware and Guard.Load.
func (h *Handler) Mount(mux *http.ServeMux, prefix string) {
	prefix = flow.CleanPrefix(prefix)
	h.prefix = prefix
	h.links = flow.Links(prefix)
	h.x.Links = h.links
	if h.cfg.SecondFactorPath == "" {
		h.cfg.SecondFactorPath = prefix + "/mfa/challenge"
	}
	limit := middleware.LimitBody(0)
	// Every route gets the request's address and user agent in its context
	// for audit rows and notices.
	std := func(f http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f(w, h.withRequest(r)) })
	}
	get := func(p string, f http.HandlerFunc) { mux.Handle("GET "+prefix+p, std(f)) }
	post := func(p string, f http.HandlerFunc) { mux.Handle("POST "+prefix+p, limit(std(f))) }
	user := func(f http.HandlerFunc) http.Handler { return h.guard.RequireUser(std(f)) }
	sudo := func(f http.HandlerFunc) http.Handler { return h.guard.RequireSudo(std(f)) }
	anon := func(f http.HandlerFunc) http.Handler { return h.guard.RedirectIfSignedIn(std(f)) }

	if !h.cfg.DisableRegistration {
		mux.Handle("GET "+prefix+"/register", anon(h.registerPage))
		post("/register", h.register)
	}
	get("/confirm", h.confirmPage)
	post("/confirm", h.confirm)
	post("/confirm/resend", h.resend)

	mux.Handle("GET "+prefix+"/login", anon(h.loginPage))
	post("/login", h.login)
	post("/logout", h.logout)
	get("/session", h.sessionInfo)

	get("/password/forgot", h.forgotPage)
	post("/password/forgot", h.forgot)
	get("/password/reset", h.resetPage)
	post("/password/reset", h.reset)

	if !h.cfg.DisableMagicLink {
		get("/magic", h.magicPage)
		post("/magic", h.magicRequest)
		get("/magic/verify", h.magicConfirmPage)
		post("/magic/verify", h.magicVerify)
	}

	mux.Handle("GET "+prefix+"/sudo", user(h.sudoPage))
	mux.Handle("POST "+prefix+"/sudo", limit(user(h.sudo)))

	mux.Handle("GET "+prefix+"/settings", user(h.settingsPage))
	mux.Handle("POST "+prefix+"/email", limit(sudo(h.emailChange)))
	get("/email/confirm", h.emailConfirmPage)
	post("/email/confirm", h.emailConfirm)
	mux.Handle("POST "+prefix+"/email/cancel", limit(user(h.emailCancel)))
	mux.Handle("POST "+prefix+"/password", limit(user(h.passwordChange)))

	mux.Handle("GET "+prefix+"/sessions", user(h.sessionsPage))
	mux.Handle("POST "+prefix+"/sessions/revoke", limit(user(h.sessionRevoke)))
	mux.Handle("POST "+prefix+"/sessions/revoke-others", limit(user(h.sessionsRevokeOthers)))

	mux.Handle("GET "+prefix+"/delete", sudo(h.deletePage))
	mux.Handle("POST "+prefix+"/delete", limit(sudo(h.deleteAccount)))
}

// Links returns the URLs of the flows under the mounted prefix, for
// templates and navigation. Valid after Mount.
func (h *Handler) Links() ui.Links { return h.links }

// link builds an emailed link from the configured base URL (never from the
// request), path under the prefix, and the token in the query.
func (h *Handler) link(path, tok string) string {
	u := *h.base
	u.Path = h.base.Path + h.prefix + path
	u.RawQuery = url.Values{"token": {tok}}.Encode()
	return u.String()
}

// ---- mail ----

// queue renders email name for to and queues it through st.
func (h *Handler) queue(ctx context.Context, st store.Outbox, name, to string, data *ui.Email) error {
	data.To = to
	subject, text, html, err := h.ui.RenderEmail(name, data)
	if err != nil {
		return fmt.Errorf("sigra/account: render email %s: %w", name, err)
	}
	return h.cfg.Mailer.Queue(ctx, st, &sigramail.Message{To: to, Subject: subject, Text: text, HTML: html})
}

// reqEmail is the email data that notices about a request carry.
func (h *Handler) reqEmail(r *http.Request) *ui.Email {
	ip, ua := audit.RequestInfo(r.Context())
	return &ui.Email{IP: ip, UserAgent: ua, When: h.now()}
}

// ---- audit ----

func (h *Handler) record(ctx context.Context, st store.AuditLog, action, actor, subject string, meta map[string]string) error {
	return h.audit.Record(ctx, st, audit.Event{Action: action, ActorID: actor, SubjectID: subject, Outcome: audit.OutcomeSuccess, Metadata: meta})
}

func (h *Handler) recordFailure(ctx context.Context, action, actor, subject string, meta map[string]string) {
	_ = h.audit.RecordFailure(ctx, h.st, audit.Event{Action: action, ActorID: actor, SubjectID: subject, Outcome: audit.OutcomeFailure, Metadata: meta})
}

// badInput answers a request whose body could not be read as a form or a
// JSON object (see flow.ReadInput).
func (h *Handler) badInput(w http.ResponseWriter, r *http.Request) {
	h.x.Fail(w, r, http.StatusBadRequest, "invalid_input", "The form could not be read. Reload the page and try again.")
}

// readable reads the body of a request that takes no fields but its CSRF
// token, and answers a malformed one with badInput: every POST refuses
// input it cannot read before it changes anything.
func (h *Handler) readable(w http.ResponseWriter, r *http.Request) bool {
	if _, err := flow.ReadInput(r); err != nil {
		h.badInput(w, r)
		return false
	}
	return true
}

// withRequest puts the request's address and user agent where audit and
// email notices read them.
func (h *Handler) withRequest(r *http.Request) *http.Request {
	return r.WithContext(audit.WithRequest(r.Context(), r, h.rl.ClientIP(r)))
}

// newPasswordHash checks a new password against the policy and hashes it
// (through the bounded pool). A refused password is answered with refuse
// (422, code "weak_password:<reason>", the policy's message on the
// password field); other failures with the usual error answer. ok is false
// when the request was answered.
func (h *Handler) newPasswordHash(w http.ResponseWriter, r *http.Request, pw, email string, refuse func(status int, code, msg string, fields map[string]string)) (hash string, ok bool) {
	ctx := r.Context()
	if err := h.pw.Check(ctx, pw, password.Context{Email: email}); err != nil {
		var pe *password.PolicyError
		if errors.As(err, &pe) {
			refuse(http.StatusUnprocessableEntity, "weak_password:"+string(pe.Reason), "Choose a different password.", map[string]string{"password": pe.Message})
			return "", false
		}
		h.x.Error(w, r, err)
		return "", false
	}
	hash, err := h.pw.Hash(ctx, pw)
	if err != nil {
		h.x.Error(w, r, err)
		return "", false
	}
	return hash, true
}

// liveLink checks the token of an emailed link landing on its confirm page
// (the GET changes nothing; only the page's POST consumes the token): it
// must be well formed and name an unexpired, unused token of purpose. The
// page is sent with Referrer-Policy: no-referrer so the token cannot leak
// through a Referer header. A dead link is answered with dead; a store
// failure with the usual error answer. ok is false when the request was
// answered.
func (h *Handler) liveLink(w http.ResponseWriter, r *http.Request, tok, purpose string, dead func(http.ResponseWriter, *http.Request)) (*store.Token, bool) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if !token.Valid(tok) {
		dead(w, r)
		return nil, false
	}
	t, err := h.st.PeekToken(r.Context(), purpose, token.Digest(tok), h.now())
	if errors.Is(err, store.ErrNotFound) {
		dead(w, r)
		return nil, false
	}
	if err != nil {
		h.x.Error(w, r, err)
		return nil, false
	}
	return t, true
}
