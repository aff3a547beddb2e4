package mfa

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/flow"
	"github.com/sigra-go/sigra/internal/seal"
	sigramail "github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// TOTP parameters: RFC 6238 defaults, which every authenticator app
// supports. Codes are accepted one step either side of now.
const (
	Period = 30
	Digits = 6
	Skew   = 1
	// RecoveryCodeCount is how many recovery codes a set holds.
	RecoveryCodeCount = 10
)

// Mailer queues a message through the store it is given, so it commits
// with the change it reports. *mail.Outbox implements it.
type Mailer interface {
	Queue(ctx context.Context, st store.Outbox, m *sigramail.Message) error
}

// Config configures the MFA flows. Store, Sessions, Guard, UI, Mailer and
// Keys are required.
type Config struct {
	Store    store.Store
	Sessions *session.Manager
	Guard    *middleware.Guard
	UI       *ui.UI
	Mailer   Mailer
	// Keys seal TOTP secrets at rest: "id:base64key[,id:base64key...]",
	// 32-byte AES keys with the primary first (new secrets are sealed with
	// it; the others still open older ones, so keys rotate). Keep them
	// apart from the database, e.g. in an environment variable.
	Keys string
	// Audit records the events. Default: a Logger with defaults.
	Audit *audit.Logger
	// RateLimiter limits attempts per user and address. Default: one over
	// Store.
	RateLimiter *middleware.RateLimiter
	// Issuer names the account in authenticator apps. Default: the UI
	// brand's product name.
	Issuer string
	// TrustDuration is how long a trusted browser skips the second factor.
	// Default 30 days; negative disables "trust this browser".
	TrustDuration time.Duration
	// MaxFailures and LockoutDuration govern the MFA lockout across TOTP
	// and recovery codes. Defaults 5 and 15 minutes.
	MaxFailures     int
	LockoutDuration time.Duration
	// EnrollmentTTL bounds how long a set-up page's secret stays usable.
	// Default 30 minutes.
	EnrollmentTTL time.Duration
	// AfterSignInPath is where a completed challenge lands without
	// return_to. Default "/".
	AfterSignInPath string
	// Now is the clock. Default: the session manager's.
	Now func() time.Time
	// Logger receives errors. Default slog.Default().
	Logger *slog.Logger
}

// MFA serves TOTP enrollment and challenge, recovery codes and trusted
// browsers, and implements account.SecondFactor. Create it with [New] and
// mount it with [MFA.Mount]. Safe for concurrent use.
type MFA struct {
	cfg    Config
	st     store.Store
	sess   *session.Manager
	guard  *middleware.Guard
	ui     *ui.UI
	keys   *seal.Keyring
	audit  *audit.Logger
	rl     *middleware.RateLimiter
	x      *flow.Responder
	links  ui.Links
	now    func() time.Time
	log    *slog.Logger
	cookie string
	secure bool
}

// New validates cfg and returns an MFA.
func New(cfg Config) (*MFA, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("sigra/mfa: Config.Store is required")
	case cfg.Sessions == nil:
		return nil, errors.New("sigra/mfa: Config.Sessions is required")
	case cfg.Guard == nil:
		return nil, errors.New("sigra/mfa: Config.Guard is required")
	case cfg.UI == nil:
		return nil, errors.New("sigra/mfa: Config.UI is required")
	case cfg.Mailer == nil:
		return nil, errors.New("sigra/mfa: Config.Mailer is required")
	case cfg.Keys == "":
		return nil, errors.New("sigra/mfa: Config.Keys is required")
	}
	keys, err := seal.ParseKeyring(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("sigra/mfa: Keys: %w", err)
	}
	if cfg.Issuer == "" {
		cfg.Issuer = cfg.UI.Brand().ProductName
	}
	if strings.Contains(cfg.Issuer, ":") {
		return nil, fmt.Errorf("sigra/mfa: Issuer %q must not contain a colon", cfg.Issuer)
	}
	if cfg.TrustDuration == 0 {
		cfg.TrustDuration = 30 * 24 * time.Hour
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.LockoutDuration <= 0 {
		cfg.LockoutDuration = 15 * time.Minute
	}
	if cfg.EnrollmentTTL <= 0 {
		cfg.EnrollmentTTL = 30 * time.Minute
	}
	if cfg.AfterSignInPath == "" {
		cfg.AfterSignInPath = "/"
	}
	if _, ok := middleware.SafeReturnTo(cfg.AfterSignInPath); !ok {
		return nil, fmt.Errorf("sigra/mfa: AfterSignInPath %q is not a local path", cfg.AfterSignInPath)
	}
	if cfg.Now == nil {
		cfg.Now = cfg.Sessions.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Audit == nil {
		if cfg.Audit, err = audit.New(audit.Config{Now: cfg.Now, Logger: cfg.Logger}); err != nil {
			return nil, err
		}
	}
	if cfg.RateLimiter == nil {
		if cfg.RateLimiter, err = middleware.NewRateLimiter(middleware.RateLimiterConfig{Limiter: cfg.Store, Now: cfg.Now, Logger: cfg.Logger}); err != nil {
			return nil, err
		}
	}
	m := &MFA{
		cfg: cfg, st: cfg.Store, sess: cfg.Sessions, guard: cfg.Guard, ui: cfg.UI, keys: keys,
		audit: cfg.Audit, rl: cfg.RateLimiter, now: cfg.Now, log: cfg.Logger,
		secure: cfg.Sessions.Secure(),
	}
	m.cookie = "sigra_trust"
	if m.secure {
		m.cookie = "__Host-sigra_trust"
	}
	m.links = flow.Links("/auth")
	m.x = &flow.Responder{UI: cfg.UI, Links: m.links, Log: cfg.Logger}
	return m, nil
}

// Mount registers the MFA routes on mux under prefix (the same prefix as
// the account flows, "/auth"). See the package documentation for the
// routes.
func (m *MFA) Mount(mux *http.ServeMux, prefix string) {
	prefix = flow.CleanPrefix(prefix)
	m.links = flow.Links(prefix)
	m.x.Links = m.links
	limit := middleware.LimitBody(0)
	std := func(f http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f(w, r.WithContext(audit.WithRequest(r.Context(), r, m.rl.ClientIP(r))))
		})
	}
	user := func(f http.HandlerFunc) http.Handler { return m.guard.RequireUser(std(f)) }
	sudo := func(f http.HandlerFunc) http.Handler { return m.guard.RequireSudo(std(f)) }

	mux.Handle("GET "+prefix+"/mfa", user(m.settingsPage))
	mux.Handle("GET "+prefix+"/mfa/setup", sudo(m.setupPage))
	mux.Handle("POST "+prefix+"/mfa/setup", limit(sudo(m.setup)))
	mux.Handle("GET "+prefix+"/mfa/challenge", std(m.challengePage))
	mux.Handle("POST "+prefix+"/mfa/challenge", limit(std(m.challenge)))
	mux.Handle("GET "+prefix+"/mfa/recovery", std(m.recoveryPage))
	mux.Handle("POST "+prefix+"/mfa/recovery", limit(std(m.recovery)))
	mux.Handle("POST "+prefix+"/mfa/recovery-codes/regenerate", limit(sudo(m.regenerate)))
	mux.Handle("POST "+prefix+"/mfa/disable", limit(sudo(m.disable)))
	mux.Handle("POST "+prefix+"/mfa/trusted/revoke", limit(user(m.trustedRevoke)))
	mux.Handle("POST "+prefix+"/mfa/trusted/revoke-all", limit(user(m.trustedRevokeAll)))
}

// ---- account.SecondFactor ----

// Required reports whether the user has confirmed TOTP.
func (m *MFA) Required(ctx context.Context, userID string) (bool, error) {
	s, err := m.st.TOTPByUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !s.ConfirmedAt.IsZero(), nil
}

// Trusted reports whether r carries a live trusted-browser cookie of
// userID.
func (m *MFA) Trusted(r *http.Request, userID string) bool {
	if m.cfg.TrustDuration < 0 {
		return false
	}
	c, err := r.Cookie(m.cookie)
	if err != nil || !token.Valid(c.Value) {
		return false
	}
	_, err = m.st.TrustedBrowserByDigest(r.Context(), userID, token.Digest(c.Value), m.now())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.ErrorContext(r.Context(), "trusted browser lookup failed", "err", err)
	}
	return err == nil
}

// VerifySudo checks a TOTP code for re-authentication, with the same
// replay protection and lockout as the sign-in challenge.
func (m *MFA) VerifySudo(ctx context.Context, r *http.Request, userID, code string) error {
	u, err := m.st.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	return m.checkTOTP(ctx, r, u, code)
}

// ---- TOTP ----

// errBadCode is a code that did not verify (wrong, replayed, or the user
// has no confirmed secret).
var errBadCode = fmt.Errorf("sigra/mfa: %w", sigra.ErrInvalidCredentials)

// errLocked is a second factor refused because the user is locked out.
var errLocked = fmt.Errorf("sigra/mfa: %w", sigra.ErrLockedOut)

// errMalformed is input that cannot be a code at all (not six digits, not
// a recovery code). It cannot match, so it is not counted towards the
// lockout; it still wraps sigra.ErrInvalidCredentials for callers that
// only know that error (account's sudo).
var errMalformed = fmt.Errorf("sigra/mfa: malformed code: %w", sigra.ErrInvalidCredentials)

func totpAD(userID string) []byte { return []byte("sigra.totp:" + userID) }

// openSecret unseals a stored TOTP secret (base32, no padding).
func (m *MFA) openSecret(s *store.TOTPSecret) (string, error) {
	b, err := m.keys.Open(s.Sealed, totpAD(s.UserID))
	if err != nil {
		return "", fmt.Errorf("sigra/mfa: open TOTP secret: %w", err)
	}
	return string(b), nil
}

// matchStep returns the time step within ±Skew of now whose code equals
// code, comparing every candidate in constant time; ok is false if none.
func matchStep(secret, code string, now time.Time) (step int64, ok bool) {
	cur := now.Unix() / Period
	found := int64(-1)
	for d := -Skew; d <= Skew; d++ {
		s := cur + int64(d)
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && found < 0 {
			found = s
		}
	}
	return found, found >= 0
}

// checkTOTP verifies code against u's confirmed secret: lockout first,
// then the code, then the step is used atomically (a replayed step fails).
// Wrong and replayed codes count towards the MFA lockout; malformed input
// (errMalformed) and a user without a confirmed secret (errBadCode: there
// is nothing to guess) do not.
func (m *MFA) checkTOTP(ctx context.Context, r *http.Request, u *store.User, code string) error {
	now := m.now()
	if now.Before(u.MFALockedUntil) {
		return errLocked
	}
	code, err := token.NormalizeCode(code, Digits)
	if err != nil {
		return errMalformed
	}
	if err := m.rl.Check(ctx, "mfa:"+u.ID, 20, 15*time.Minute); err != nil {
		return err
	}
	s, err := m.st.TOTPByUser(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.ConfirmedAt.IsZero()) {
		return errBadCode
	}
	if err != nil {
		return err
	}
	secret, err := m.openSecret(s)
	if err != nil {
		return err
	}
	if err := m.admit(ctx, u); err != nil {
		return err
	}
	step, ok := matchStep(secret, code, now)
	if !ok {
		return m.failure(ctx, r, u, "totp")
	}
	err = m.st.UseTOTPStep(ctx, u.ID, step, false, now)
	if errors.Is(err, store.ErrReplay) || errors.Is(err, store.ErrNotFound) {
		return m.failure(ctx, r, u, "totp_replay")
	}
	if err != nil {
		return err
	}
	return m.succeeded(ctx, m.st, u)
}

// admit lets one code comparison for u go ahead. The lockout is read with
// the session, before the request; guesses sent at once would all pass
// that check before any of their failures is counted. So every comparison
// first takes one of MaxFailures places per LockoutDuration, counted
// atomically in the store (and so across instances): a burst compares at
// most MaxFailures codes, as a sequence of requests does before the lock.
// A success frees the places (see succeeded). A full window answers
// errLocked.
func (m *MFA) admit(ctx context.Context, u *store.User) error {
	res, err := m.st.Hit(ctx, guessKey(u.ID), m.cfg.MaxFailures, m.cfg.LockoutDuration, m.now())
	if err != nil {
		return fmt.Errorf("sigra/mfa: attempt limit: %w", err)
	}
	if !res.Allowed {
		return errLocked
	}
	return nil
}

// succeeded resets u's failure count and attempt places after a second
// factor verified.
func (m *MFA) succeeded(ctx context.Context, st store.Store, u *store.User) error {
	if err := st.ClearFailures(ctx, u.ID, store.LockMFA, m.now()); err != nil {
		return err
	}
	return st.ResetLimit(ctx, guessKey(u.ID))
}

func guessKey(userID string) string { return "mfa-guess:" + userID }

// failure counts a failed second factor; the MaxFailures-th locks second
// factors for LockoutDuration and emails the owner. The lock and its audit
// row commit with the notice; if the notice cannot be queued, the lock
// still commits (without it) and the failure is logged: a broken mailer
// must not turn the lockout off. It returns errBadCode, or errLocked when
// this failure locked the account.
func (m *MFA) failure(ctx context.Context, r *http.Request, u *store.User, method string) error {
	now := m.now()
	_ = m.audit.RecordFailure(ctx, m.st, audit.Event{Action: audit.ActionMFAChallengeFailure, SubjectID: u.ID, Outcome: audit.OutcomeFailure, Metadata: map[string]string{"method": method}})
	var locked bool
	count := func(notify bool) error {
		locked = false
		return m.st.WithTx(ctx, func(tx store.Store) error {
			until, err := tx.RecordFailure(ctx, u.ID, store.LockMFA, m.cfg.MaxFailures, m.cfg.LockoutDuration, now)
			if err != nil || until.IsZero() {
				return err
			}
			locked = true
			if err := m.audit.Record(ctx, tx, audit.Event{Action: audit.ActionLockoutMFA, SubjectID: u.ID, Outcome: audit.OutcomeSuccess, Metadata: map[string]string{"until": until.UTC().Format(time.RFC3339)}}); err != nil {
				return err
			}
			if !notify {
				return nil
			}
			data := m.reqEmail(r)
			data.ExpiresIn = flow.TTLText(m.cfg.LockoutDuration)
			if err := m.queue(ctx, tx, "mfa_lockout", u.Email, data); err != nil {
				return &mailError{err}
			}
			return nil
		})
	}
	err := count(true)
	var me *mailError
	if errors.As(err, &me) {
		m.log.ErrorContext(ctx, "MFA lockout notice not queued; locking without it", "user", u.ID, "err", me.err)
		err = count(false)
	}
	if err != nil {
		return err
	}
	if locked {
		return errLocked
	}
	return errBadCode
}

// mailError marks a failure to queue an email inside a transaction.
type mailError struct{ err error }

func (e *mailError) Error() string { return e.err.Error() }
func (e *mailError) Unwrap() error { return e.err }

// newKey makes a new TOTP key for an account.
func (m *MFA) newKey(account string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{
		Issuer:      m.cfg.Issuer,
		AccountName: account,
		Period:      Period,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
		SecretSize:  20,
	})
}

// keyFor rebuilds the key of an existing base32 secret.
func (m *MFA) keyFor(account, secret string) (*otp.Key, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil {
		return nil, fmt.Errorf("sigra/mfa: bad secret: %w", err)
	}
	return totp.Generate(totp.GenerateOpts{
		Issuer:      m.cfg.Issuer,
		AccountName: account,
		Period:      Period,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
		Secret:      raw,
	})
}

// qrDataURI renders key's QR code as a PNG data URI.
func qrDataURI(key *otp.Key) (string, error) {
	img, err := key.Image(240, 240)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// ---- recovery codes ----

// newRecoveryCodes makes a set of codes and their digests for userID.
func newRecoveryCodes(userID string) (codes []string, digests [][]byte, err error) {
	codes = make([]string, RecoveryCodeCount)
	digests = make([][]byte, RecoveryCodeCount)
	for i := range codes {
		if codes[i], err = token.NewRecoveryCode(); err != nil {
			return nil, nil, err
		}
		norm, err := token.NormalizeRecoveryCode(codes[i])
		if err != nil {
			return nil, nil, err
		}
		digests[i] = token.RecoveryCodeDigest(userID, norm)
	}
	return codes, digests, nil
}

// ---- trusted browsers ----

// trust marks the request's browser as trusted by u: a new grant whose
// token goes into a cookie.
func (m *MFA) trust(ctx context.Context, w http.ResponseWriter, r *http.Request, u *store.User) error {
	tok, err := token.New()
	if err != nil {
		return err
	}
	now := m.now()
	ip, ua := audit.RequestInfo(ctx)
	b := &store.TrustedBrowser{UserID: u.ID, Digest: token.Digest(tok), UserAgent: ua, IP: ip, CreatedAt: now, ExpiresAt: now.Add(m.cfg.TrustDuration)}
	err = m.st.WithTx(ctx, func(tx store.Store) error {
		if err := tx.CreateTrustedBrowser(ctx, b); err != nil {
			return err
		}
		return m.audit.Record(ctx, tx, audit.Event{Action: audit.ActionTrustedBrowserAdd, ActorID: u.ID, SubjectID: u.ID, Outcome: audit.OutcomeSuccess})
	})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: m.cookie, Value: tok, Path: "/", MaxAge: int(m.cfg.TrustDuration / time.Second),
		HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (m *MFA) clearTrustCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: m.cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode})
}

// ---- helpers ----

func (m *MFA) reqEmail(r *http.Request) *ui.Email {
	ip, ua := audit.RequestInfo(r.Context())
	return &ui.Email{IP: ip, UserAgent: ua, When: m.now()}
}

func (m *MFA) queue(ctx context.Context, st store.Outbox, name, to string, data *ui.Email) error {
	data.To = to
	subject, text, html, err := m.ui.RenderEmail(name, data)
	if err != nil {
		return fmt.Errorf("sigra/mfa: render email %s: %w", name, err)
	}
	return m.cfg.Mailer.Queue(ctx, st, &sigramail.Message{To: to, Subject: subject, Text: text, HTML: html})
}

func (m *MFA) record(ctx context.Context, st store.AuditLog, action, userID string, meta map[string]string) error {
	return m.audit.Record(ctx, st, audit.Event{Action: action, ActorID: userID, SubjectID: userID, Outcome: audit.OutcomeSuccess, Metadata: meta})
}

func itoa(n int) string { return strconv.Itoa(n) }
