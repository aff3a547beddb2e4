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
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/mail"
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

// Store is what the two-factor flows need of storage: users (lockout
// counters), TOTP secrets, recovery codes, trusted browsers, the rate
// limiter, the audit log and transactions.
type Store interface {
	store.Users
	store.TOTP
	store.RecoveryCodes
	store.TrustedBrowsers
	store.Limiter
	store.AuditLog
	store.Transactor
}

// PasskeyHolder tells whether a user holds a passkey (*passkey.Passkeys
// has this method).
type PasskeyHolder interface {
	// Has reports whether the user holds a passkey.
	Has(ctx context.Context, userID string) (bool, error)
}

// Config configures the MFA flows. Store, Sessions, Guard, UI, Mail and
// Keys are required; the site comes from Sessions, and the UI must be
// built from the same site with [Pages] among its packs.
type Config struct {
	Store    Store
	Sessions *session.Manager
	Guard    *middleware.Guard
	UI       *ui.UI
	// Mail sends the notices (two-factor on or off, a recovery code used,
	// lockout): an *mail.Outbox over the same store in production.
	Mail mail.Sender
	// Keys seal TOTP secrets at rest: "id:base64key[,id:base64key...]",
	// 32-byte AES keys with the primary first (new secrets are sealed with
	// it; the others still open older ones, so keys rotate). Keep them
	// apart from the database, e.g. in an environment variable, and keep
	// them: a secret sealed with a lost key cannot be opened.
	Keys string
	// Audit records the events. Default: a Logger over Store.
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
	// Passkeys, when set, lets the set-up page of a step-up (the route
	// step_up, where RequireAAL2 sends a user signed in with one factor)
	// offer a passkey the user holds instead of setting up an app: the
	// page then shows the slot ui.SlotStepUp, which the passkey pack
	// fills. Nil: the page offers only the app.
	Passkeys PasskeyHolder
}

// MFA serves TOTP enrollment and challenge, recovery codes and trusted
// browsers, and implements account.SecondFactor. Create it with [New] and
// mount it with [MFA.Mount]. Safe for concurrent use.
type MFA struct {
	k      *kernel.Kernel
	cfg    Config
	st     Store
	keys   *seal.Keyring
	cookie string
}

// New validates cfg and returns an MFA. Errors wrap [sigra.ErrConfig] and
// name the missing or invalid field.
func New(cfg Config) (*MFA, error) {
	var st kernel.Store
	if cfg.Store != nil {
		st = cfg.Store
	}
	k, err := kernel.New("mfa", PackName, st, kernel.Deps{
		Sessions: cfg.Sessions, Guard: cfg.Guard, UI: cfg.UI, Mail: cfg.Mail, Audit: cfg.Audit, Limiter: cfg.RateLimiter,
	})
	if err != nil {
		return nil, err
	}
	k.Forms(forms())
	// The challenge sends a browser with no sign-in waiting to the sign-in
	// page; the set-up and management routes require a recent
	// re-authentication (sudo).
	for _, route := range []string{ui.RouteSignIn, ui.RouteSudo} {
		if err := k.Need(route, "the pack of the sign-in flows (such as account.Pages())"); err != nil {
			return nil, err
		}
	}
	if cfg.Keys == "" {
		return nil, fmt.Errorf("%w: mfa: Config.Keys is required (the keys that seal TOTP secrets)", sigra.ErrConfig)
	}
	keys, err := seal.ParseKeyring(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("%w: mfa: Keys: %w", sigra.ErrConfig, err)
	}
	if cfg.Issuer == "" {
		cfg.Issuer = cfg.UI.Brand().ProductName
	}
	if strings.Contains(cfg.Issuer, ":") {
		return nil, fmt.Errorf("%w: mfa: Issuer %q must not contain a colon", sigra.ErrConfig, cfg.Issuer)
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
	return &MFA{k: k, cfg: cfg, st: cfg.Store, keys: keys, cookie: k.Site.CookieName(trustCookie)}, nil
}

// Mount registers the MFA routes on mux under the site's prefix. See the
// package documentation for the routes.
func (m *MFA) Mount(mux *http.ServeMux) {
	get, post := http.MethodGet, http.MethodPost
	user, sudo := m.k.Guard.RequireUser, m.k.Guard.RequireSudo
	refuse := m.k.Guard.RefuseImpersonation // what an admin acting as the user may not do
	m.k.Handle(mux, get, pathSettings, m.settingsPage, user)
	m.k.Handle(mux, get, pathSetup, m.setupPage, sudo)
	m.k.Handle(mux, post, pathSetup, m.setup, sudo)
	// Step-up (a signed-in session raised to AAL2) is re-authentication
	// as the user, and a wrong code counts against the user's lockout.
	m.k.Handle(mux, get, pathChallenge, m.challengePage, refuse)
	m.k.Handle(mux, post, pathChallenge, m.challenge, refuse)
	m.k.Handle(mux, get, pathRecovery, m.recoveryPage, refuse)
	m.k.Handle(mux, post, pathRecovery, m.recovery, refuse)
	m.k.Handle(mux, post, pathRegenerate, m.regenerate, sudo)
	m.k.Handle(mux, post, pathDisable, m.disable, sudo)
	m.k.Handle(mux, post, pathTrustedRevoke, m.trustedRevoke, user, refuse)
	m.k.Handle(mux, post, pathTrustedAll, m.trustedRevokeAll, user, refuse)
}

// Section returns the two-factor part of the settings page (on or off,
// recovery codes left, a link to manage it), for account.Config.Sections.
func (m *MFA) Section() ui.Section {
	return ui.Section{Name: "two_factor", Order: 40, Data: func(r *http.Request) (any, error) {
		u := m.k.Sess.User(r.Context())
		if u == nil {
			return nil, nil
		}
		on, err := m.Required(r.Context(), u.ID)
		if err != nil {
			return nil, err
		}
		d := &TwoFactorSection{Enabled: on}
		if on {
			if d.RecoveryCodesLeft, err = m.st.CountRecoveryCodes(r.Context(), u.ID); err != nil {
				return nil, err
			}
		}
		return d, nil
	}}
}

// ForgetTrust forgets every browser userID trusted (account calls it in a
// password reset's transaction).
func (m *MFA) ForgetTrust(ctx context.Context, userID string) error {
	_, err := m.st.RevokeTrustedBrowsers(ctx, userID)
	return err
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
	_, err = m.st.TrustedBrowserByDigest(r.Context(), userID, token.Digest(c.Value), m.k.Now())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		m.k.LogFailure(r.Context(), "trusted browser lookup failed", err)
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

// codeLimit bounds code checks, right or wrong, per user: beside the
// lockout (which counts only wrong codes), it also covers set-up codes.
var codeLimit = middleware.Limit{N: 20, Window: 15 * time.Minute}

func codeKey(userID string) string { return "mfa:" + userID }

func totpAD(userID string) []byte { return []byte("sigra.totp:" + userID) }

// SealSecret seals a TOTP secret (base32, as an authenticator app takes
// it) of userID with keys (Config.Keys' format: "id:base64key[,...]", the
// first key sealing) exactly as this package stores it
// (store.TOTPSecret.Sealed): for tools that bring users in with their
// authenticator already set up (an import) and for tests that seed one.
// Errors wrap sigra.ErrConfig for unusable keys.
func SealSecret(keys, userID, secret string) ([]byte, error) {
	kr, err := seal.ParseKeyring(keys)
	if err != nil {
		return nil, fmt.Errorf("%w: mfa: keys: %v", sigra.ErrConfig, err)
	}
	return kr.Seal([]byte(secret), totpAD(userID))
}

// OpenSecret unseals a TOTP secret that this package (or [SealSecret])
// sealed for userID with one of keys.
func OpenSecret(keys, userID string, sealed []byte) (string, error) {
	kr, err := seal.ParseKeyring(keys)
	if err != nil {
		return "", fmt.Errorf("%w: mfa: keys: %v", sigra.ErrConfig, err)
	}
	b, err := kr.Open(sealed, totpAD(userID))
	if err != nil {
		return "", fmt.Errorf("sigra/mfa: open TOTP secret: %w", err)
	}
	return string(b), nil
}

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
	now := m.k.Now()
	if now.Before(u.MFALockedUntil) {
		return errLocked
	}
	code, err := token.NormalizeCode(code, Digits)
	if err != nil {
		return errMalformed
	}
	if err := m.k.Limiter.Check(ctx, codeKey(u.ID), codeLimit); err != nil {
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
	return m.succeeded(ctx, u)
}

// admit lets one code comparison for u go ahead. The lockout is read
// before the request's comparison; guesses sent at once would all pass
// that check before any of their failures is counted. So every comparison
// first takes one of MaxFailures places per LockoutDuration, counted
// atomically in the store (and so across instances): a burst compares at
// most MaxFailures codes, as a sequence of requests does before the lock.
// A success frees the places (see succeeded). A full window answers
// errLocked.
func (m *MFA) admit(ctx context.Context, u *store.User) error {
	res, err := m.st.Hit(ctx, guessKey(u.ID), m.cfg.MaxFailures, m.cfg.LockoutDuration, m.k.Now())
	if err != nil {
		return fmt.Errorf("sigra/mfa: attempt limit: %w", err)
	}
	if !res.Allowed {
		return errLocked
	}
	return nil
}

// succeeded resets u's failure count and attempt places after a second
// factor verified (in ctx's transaction, if any).
func (m *MFA) succeeded(ctx context.Context, u *store.User) error {
	if err := m.st.ClearFailures(ctx, u.ID, store.LockMFA, m.k.Now()); err != nil {
		return err
	}
	return m.st.ResetLimit(ctx, guessKey(u.ID))
}

func guessKey(userID string) string { return "mfa-guess:" + userID }

// LimiterKeys returns the keys under which the user's second-factor
// attempts are counted in the store's limiter (store.Limiter): an
// operator's tool that unlocks an account resets them with
// store.Limiter.ResetLimit, beside the lock that ClearFailures ends.
func LimiterKeys(userID string) []string { return []string{codeKey(userID), guessKey(userID)} }

// failure records and counts a failed second factor (method names it in
// the audit row); the MaxFailures-th locks second factors for
// LockoutDuration and emails the owner (see kernel.Kernel.CountFailure: a
// notice that cannot be queued does not undo the lock). It returns
// errBadCode, or errLocked when this failure locked the account.
func (m *MFA) failure(ctx context.Context, r *http.Request, u *store.User, method string) error {
	m.k.RecordFailure(ctx, audit.ActionMFAChallengeFailure, "", u.ID, map[string]string{"method": method})
	locked, err := m.k.CountFailure(ctx, r, u, kernel.Lockout{
		Lock: store.LockMFA, Max: m.cfg.MaxFailures, Duration: m.cfg.LockoutDuration,
		Action: audit.ActionLockoutMFA, Email: "mfa_lockout",
		Data: func() *ui.Email {
			d := m.k.RequestEmail(r)
			d.ExpiresIn = kernel.TTLText(m.cfg.LockoutDuration)
			return d
		},
	})
	if err != nil {
		return err
	}
	if locked {
		return errLocked
	}
	return errBadCode
}

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

// trustCookie is the trusted-browser cookie's name before the site adds
// its prefix (see site.Site.CookieName).
const trustCookie = "sigra_trust"

// trust marks the request's browser as trusted by userID: a new grant
// whose token goes into a cookie with the site's attributes.
func (m *MFA) trust(ctx context.Context, w http.ResponseWriter, userID string) error {
	tok, err := token.New()
	if err != nil {
		return err
	}
	now := m.k.Now()
	ip, ua := audit.RequestInfo(ctx)
	b := &store.TrustedBrowser{UserID: userID, Digest: token.Digest(tok), UserAgent: ua, IP: ip, CreatedAt: now, ExpiresAt: now.Add(m.cfg.TrustDuration)}
	err = m.k.InTx(ctx, func(ctx context.Context) error {
		if err := m.st.CreateTrustedBrowser(ctx, b); err != nil {
			return err
		}
		return m.k.Record(ctx, audit.ActionTrustedBrowserAdd, userID, userID, nil)
	})
	if err != nil {
		return err
	}
	http.SetCookie(w, m.k.Site.Cookie(trustCookie, tok, int(m.cfg.TrustDuration/time.Second)))
	return nil
}

func (m *MFA) clearTrustCookie(w http.ResponseWriter) {
	http.SetCookie(w, m.k.Site.Cookie(trustCookie, "", -1))
}

func itoa(n int) string { return strconv.Itoa(n) }
