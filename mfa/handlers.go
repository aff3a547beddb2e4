package mfa

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// Page titles.
const (
	titleSettings  = "Two-factor authentication"
	titleSetup     = "Set up two-factor authentication"
	titleCodes     = "Save your recovery codes"
	titleChallenge = "Two-factor authentication"
)

// current reads the stored record of the session's user (signed in or
// pending): the session carries no lockout counters.
func (m *MFA) current(ctx context.Context) (*store.User, error) {
	u := m.k.Sess.User(ctx)
	if u == nil {
		return nil, session.ErrNotSignedIn
	}
	return m.st.UserByID(ctx, u.ID)
}

// ---- settings ----

func (m *MFA) settingsData(r *http.Request) (*SettingsData, error) {
	ctx := r.Context()
	u := m.k.Sess.User(ctx)
	on, err := m.Required(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	d := &SettingsData{Enabled: on}
	if on {
		if d.RecoveryCodesLeft, err = m.st.CountRecoveryCodes(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	grants, err := m.st.TrustedBrowsersByUser(ctx, u.ID, m.k.Now())
	if err != nil {
		return nil, err
	}
	for _, g := range grants {
		tb := TrustedBrowser{ID: g.ID, IP: g.IP, CreatedAt: g.CreatedAt, ExpiresAt: g.ExpiresAt}
		if g.UserAgent != "" {
			tb.Browser, tb.OS = session.ParseUserAgent(g.UserAgent)
		}
		d.Trusted = append(d.Trusted, tb)
	}
	return d, nil
}

func (m *MFA) settingsPage(w http.ResponseWriter, r *http.Request) {
	d, err := m.settingsData(r)
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	trusted := make([]map[string]any, len(d.Trusted))
	for i, t := range d.Trusted {
		trusted[i] = map[string]any{"id": t.ID, "browser": t.Browser, "os": t.OS, "ip": t.IP, "created_at": t.CreatedAt, "expires_at": t.ExpiresAt}
	}
	m.k.Render(w, r, http.StatusOK, "mfa", m.k.Page(r, titleSettings, d),
		map[string]any{"enabled": d.Enabled, "recovery_codes_left": d.RecoveryCodesLeft, "trusted_browsers": trusted})
}

// settingsError answers a refused settings form: the settings page again
// with the error, or JSON (without loading the page's data).
func (m *MFA) settingsError(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields map[string]string) {
	m.k.FormError(w, r, status, "mfa", func() (*ui.Page, error) {
		d, err := m.settingsData(r)
		if err != nil {
			return nil, err
		}
		return m.k.Page(r, titleSettings, d), nil
	}, code, msg, fields)
}

// badSettingsForm answers a settings form whose body ReadInput refused
// with err: 400 with the refusal's code (such as unknown_field), its
// message, and a message at each refused field, as kernel.BadForm answers
// (the settings page again, or JSON).
func (m *MFA) badSettingsForm(w http.ResponseWriter, r *http.Request, err error) {
	e := kernel.Refusal(err)
	m.settingsError(w, r, http.StatusBadRequest, e.Code, e.Message, e.Fields)
}

// ---- enrollment ----

// enrollmentAD binds a set-up page's sealed secret to the user.
func enrollmentAD(userID string) []byte { return []byte("sigra.totp-enroll:" + userID) }

// setupPage shows a new secret as a QR code and key, or, for a user who is
// already enrolled but signed in with one factor, the step-up challenge.
// GET stores nothing: the new secret travels sealed in the form (bound to
// the user, valid for EnrollmentTTL) and is saved only when the user
// proves the app holds it.
func (m *MFA) setupPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a := sigra.AuthFrom(ctx)
	u := m.k.Sess.User(ctx)
	on, err := m.Required(ctx, u.ID)
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	if on {
		switch {
		case a.AAL >= sigra.AAL2 && web.WantsJSON(r):
			m.k.Fail(w, r, http.StatusConflict, "already_enabled", "Two-factor authentication is already on.")
		case a.AAL >= sigra.AAL2:
			kernel.Redirect(w, r, m.k.Path(pathSettings), nil)
		case web.WantsJSON(r):
			// Step-up: the enrolled user signed in with one factor.
			kernel.Redirect(w, r, m.k.Path(pathChallenge), map[string]any{"mfa_required": true})
		default:
			m.k.UI.Render(w, r, http.StatusOK, "mfa_challenge", m.k.Page(r, titleChallenge, m.challengeData(r, false)))
		}
		return
	}
	d, err := m.newEnrollment(u)
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	if d.Passkey, err = m.offerPasskey(r, u.ID); err != nil {
		m.k.Error(w, r, err)
		return
	}
	m.k.Render(w, r, http.StatusOK, "mfa_setup", m.k.Page(r, titleSetup, d),
		map[string]any{"secret": d.Secret, "uri": d.URI, "qr_png": d.QRDataURI, "enrollment": d.Enrollment, "digits": Digits, "period": Period,
			"passkey": d.Passkey})
}

// offerPasskey reports whether the set-up page offers a passkey instead
// (SetupData.Passkey): the user holds one (Config.Passkeys) and the
// session, signed in with one factor, did not begin with one.
func (m *MFA) offerPasskey(r *http.Request, userID string) (bool, error) {
	a := sigra.AuthFrom(r.Context())
	if m.cfg.Passkeys == nil || a.AAL >= sigra.AAL2 || a.Used(sigra.MethodPasskey) {
		return false, nil
	}
	return m.cfg.Passkeys.Has(r.Context(), userID)
}

func (m *MFA) newEnrollment(u *sigra.User) (*SetupData, error) {
	key, err := m.newKey(u.Email)
	if err != nil {
		return nil, err
	}
	qr, err := qrDataURI(key)
	if err != nil {
		return nil, err
	}
	payload := key.Secret() + "|" + m.k.Now().UTC().Format(time.RFC3339)
	sealed, err := m.keys.Seal([]byte(payload), enrollmentAD(u.ID))
	if err != nil {
		return nil, err
	}
	return &SetupData{QRDataURI: qr, Secret: key.Secret(), URI: key.URL(), Digits: Digits, Enrollment: base64.RawURLEncoding.EncodeToString(sealed)}, nil
}

// openEnrollment returns the secret of a set-up form, or "" if the form is
// forged, another user's, or older than EnrollmentTTL.
func (m *MFA) openEnrollment(userID, s string) string {
	sealed, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return ""
	}
	b, err := m.keys.Open(sealed, enrollmentAD(userID))
	if err != nil {
		return ""
	}
	secret, at, ok := strings.Cut(string(b), "|")
	t, err := time.Parse(time.RFC3339, at)
	now := m.k.Now()
	if !ok || err != nil || now.Sub(t) > m.cfg.EnrollmentTTL || t.After(now.Add(time.Minute)) {
		return ""
	}
	return secret
}

// setup confirms enrollment: the code must match the form's secret; its
// time step counts as used. The secret is sealed and stored, ten recovery
// codes are made and shown once, the session rises to AAL2, and the user
// is told by email.
func (m *MFA) setup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := m.k.Sess.User(ctx)
	in, err := kernel.ReadInput(r)
	if err != nil {
		m.k.BadInput(w, r)
		return
	}
	if on, err := m.Required(ctx, u.ID); err != nil || on {
		if err == nil {
			m.k.Fail(w, r, http.StatusConflict, "already_enabled", "Two-factor authentication is already on.")
			return
		}
		m.k.Error(w, r, err)
		return
	}
	secret := m.openEnrollment(u.ID, in["enrollment"])
	if secret == "" {
		m.k.Fail(w, r, http.StatusGone, "enrollment_expired", "This set-up page has expired. Start again.")
		return
	}
	now := m.k.Now()
	var step int64
	code, err := token.NormalizeCode(in["code"], Digits)
	ok := err == nil
	if ok {
		if err := m.k.Limiter.Check(ctx, codeKey(u.ID), codeLimit); err != nil {
			m.k.Error(w, r, err)
			return
		}
		step, ok = matchStep(secret, code, now)
	}
	if !ok {
		again := func() (*ui.Page, error) { // the page again, with the same secret
			d, err := m.reEnrollment(u, secret, in["enrollment"])
			if err != nil {
				return nil, err
			}
			if d.Passkey, err = m.offerPasskey(r, u.ID); err != nil {
				return nil, err
			}
			return m.k.Page(r, titleSetup, d), nil
		}
		m.k.FormError(w, r, http.StatusUnprocessableEntity, "mfa_setup", again, "invalid_code",
			"That code is not valid. Check the time on your phone and try the newest code.", map[string]string{"code": "That code is not valid."})
		return
	}
	sealed, err := m.keys.Seal([]byte(secret), totpAD(u.ID))
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	codes, digests, err := newRecoveryCodes(u.ID)
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	err = m.k.InTx(ctx, func(ctx context.Context) error {
		if err := m.st.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: sealed, CreatedAt: now}); err != nil {
			return err
		}
		if err := m.st.UseTOTPStep(ctx, u.ID, step, true, now); err != nil {
			return err
		}
		if err := m.st.ReplaceRecoveryCodes(ctx, u.ID, digests, now); err != nil {
			return err
		}
		if err := m.k.Record(ctx, audit.ActionTOTPEnable, u.ID, u.ID, nil); err != nil {
			return err
		}
		return m.k.Queue(ctx, "mfa_enabled", u.Email, m.k.RequestEmail(r))
	})
	if errors.Is(err, store.ErrConflict) {
		m.k.Fail(w, r, http.StatusConflict, "already_enabled", "Two-factor authentication is already on.")
		return
	}
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	if err := m.k.Sess.RaiseAAL(ctx, sigra.MethodTOTP); err != nil {
		m.k.LogFailure(ctx, "raising the session to AAL2 failed", err)
	}
	m.showCodes(w, r, codes)
}

// reEnrollment rebuilds the set-up page for a wrong first code, keeping
// the same secret (the user already scanned it).
func (m *MFA) reEnrollment(u *sigra.User, secret, sealed string) (*SetupData, error) {
	key, err := m.keyFor(u.Email, secret)
	if err != nil {
		return nil, err
	}
	qr, err := qrDataURI(key)
	if err != nil {
		return nil, err
	}
	return &SetupData{QRDataURI: qr, Secret: secret, URI: key.URL(), Digits: Digits, Enrollment: sealed}, nil
}

// showCodes renders freshly made recovery codes (the only time they are
// shown) or returns them as JSON.
func (m *MFA) showCodes(w http.ResponseWriter, r *http.Request, codes []string) {
	w.Header().Set("Cache-Control", "no-store")
	file := "Recovery codes for " + m.cfg.Issuer + "\r\nEach code works once.\r\n\r\n" + strings.Join(codes, "\r\n") + "\r\n"
	d := &RecoveryCodesData{Codes: codes, DownloadURL: "data:text/plain;charset=utf-8;base64," + base64.StdEncoding.EncodeToString([]byte(file))}
	m.k.Render(w, r, http.StatusOK, "mfa_recovery_codes", m.k.Page(r, titleCodes, d), map[string]any{"ok": true, "recovery_codes": codes})
}

// ---- challenge ----

// challengeUser returns the user a challenge is for: the pending user, or
// a signed-in user at AAL1 stepping up. nil if neither.
func (m *MFA) challengeUser(r *http.Request) *sigra.User {
	a := sigra.AuthFrom(r.Context())
	if a.State == sigra.StatePending || (a.SignedIn() && a.AAL < sigra.AAL2) {
		return m.k.Sess.User(r.Context())
	}
	return nil
}

func (m *MFA) challengeData(r *http.Request, recovery bool) *ChallengeData {
	d := &ChallengeData{Recovery: recovery}
	if sigra.AuthFrom(r.Context()).State == sigra.StatePending && m.cfg.TrustDuration > 0 {
		d.AllowTrust = true
		d.TrustDays = int(m.cfg.TrustDuration / (24 * time.Hour))
	}
	return d
}

func (m *MFA) challengePage(w http.ResponseWriter, r *http.Request) {
	m.showChallenge(w, r, false)
}

func (m *MFA) recoveryPage(w http.ResponseWriter, r *http.Request) {
	m.showChallenge(w, r, true)
}

// showChallenge answers GET on the challenge pages: the form for a pending
// sign-in or an enrolled user stepping up; the set-up page for a signed-in
// user who has nothing to step up with; the sign-in page for anyone else.
// JSON requests get the form's options, or 401.
func (m *MFA) showChallenge(w http.ResponseWriter, r *http.Request, recovery bool) {
	ctx := r.Context()
	u := m.challengeUser(r)
	if u == nil {
		if web.WantsJSON(r) {
			web.Error(w, http.StatusUnauthorized, "unauthenticated", "No sign-in is waiting for a second factor. Sign in again.")
			return
		}
		kernel.Redirect(w, r, m.k.Route(ui.RouteSignIn), nil)
		return
	}
	if sigra.AuthFrom(ctx).State != sigra.StatePending {
		on, err := m.Required(ctx, u.ID)
		if err != nil {
			m.k.Error(w, r, err)
			return
		}
		if !on {
			kernel.Redirect(w, r, m.k.Path(pathSetup), map[string]any{"mfa_enabled": false})
			return
		}
	}
	d := m.challengeData(r, recovery)
	body := map[string]any{"ok": true, "allow_trust": d.AllowTrust, "trust_days": d.TrustDays}
	if until := m.k.Sess.PendingUntil(ctx); !until.IsZero() {
		body["expires_at"] = until
	}
	m.k.Render(w, r, http.StatusOK, "mfa_challenge", m.k.Page(r, titleChallenge, d), body)
}

// challenge checks a TOTP code for the pending sign-in (or a step-up).
func (m *MFA) challenge(w http.ResponseWriter, r *http.Request) {
	m.answerChallenge(w, r, false)
}

// recovery checks a recovery code instead.
func (m *MFA) recovery(w http.ResponseWriter, r *http.Request) {
	m.answerChallenge(w, r, true)
}

func (m *MFA) answerChallenge(w http.ResponseWriter, r *http.Request, recovery bool) {
	ctx := r.Context()
	su := m.challengeUser(r)
	if su == nil {
		if web.WantsJSON(r) {
			web.Error(w, http.StatusUnauthorized, "unauthenticated", "Your sign-in expired. Sign in again.")
			return
		}
		kernel.Redirect(w, r, kernel.WithNotice(m.k.Route(ui.RouteSignIn), "mfa_expired"), nil)
		return
	}
	in, err := kernel.ReadInput(r)
	if err != nil {
		m.k.BadInput(w, r)
		return
	}
	u, err := m.st.UserByID(ctx, su.ID)
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	method := sigra.MethodTOTP
	remaining := -1
	if recovery {
		method = sigra.MethodRecoveryCode
		remaining, err = m.useRecoveryCode(ctx, r, u, in["recovery_code"])
	} else {
		err = m.checkTOTP(ctx, r, u, in["code"])
	}
	if err != nil {
		m.challengeFailed(w, r, recovery, err)
		return
	}
	a := sigra.AuthFrom(ctx)
	pending := a.State == sigra.StatePending
	first := ""
	if len(a.Methods) > 0 {
		first = string(a.Methods[0])
	}
	if pending {
		err = m.k.Sess.CompleteSecondFactor(ctx, method)
	} else {
		err = m.k.Sess.RaiseAAL(ctx, method)
	}
	if errors.Is(err, session.ErrNotPending) {
		kernel.Redirect(w, r, m.k.Route(ui.RouteSignIn), nil)
		return
	}
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	m.k.RecordOutside(ctx, audit.ActionMFAChallengeSuccess, u.ID, u.ID, map[string]string{"method": string(method)})
	if pending {
		m.k.RecordOutside(ctx, audit.ActionLoginSuccess, u.ID, u.ID, map[string]string{"method": first, "aal": "2"})
	}
	if pending && in.Bool("trust") && m.cfg.TrustDuration > 0 {
		if err := m.trust(ctx, w, u.ID); err != nil {
			m.k.LogFailure(ctx, "trusting the browser failed", err)
		}
	}
	var body map[string]any
	if remaining >= 0 {
		body = map[string]any{"recovery_codes_left": remaining}
	}
	kernel.Redirect(w, r, m.k.ReturnTo(r, in), body)
}

func (m *MFA) challengeFailed(w http.ResponseWriter, r *http.Request, recovery bool, err error) {
	field, msg, code := "code", "That code is not valid. Try the newest code from your app.", "invalid_code"
	if recovery {
		field, msg = "recovery_code", "That recovery code is not valid or was already used."
	}
	status := http.StatusUnauthorized
	switch {
	case errors.Is(err, errMalformed):
		code, status = "invalid_input", http.StatusUnprocessableEntity
		msg = "Enter the 6-digit code from your app."
		if recovery {
			msg = "Enter a recovery code, like 7KQM-3XWP."
		}
	case errors.Is(err, sigra.ErrLockedOut):
		code, msg, status = "mfa_locked", "Too many wrong codes. Two-factor sign-in is locked for a while; we sent you an email.", http.StatusTooManyRequests
	case errors.Is(err, sigra.ErrInvalidCredentials):
	default:
		m.k.Error(w, r, err)
		return
	}
	m.k.FormError(w, r, status, "mfa_challenge", kernel.Built(m.k.Page(r, titleChallenge, m.challengeData(r, recovery))), code, msg, map[string]string{field: msg})
}

// useRecoveryCode spends one of u's recovery codes (atomically: of two
// concurrent uses, one wins), under the same lockout as TOTP codes, and
// emails the owner with the count left.
func (m *MFA) useRecoveryCode(ctx context.Context, r *http.Request, u *store.User, input string) (int, error) {
	now := m.k.Now()
	if now.Before(u.MFALockedUntil) {
		return 0, errLocked
	}
	code, err := token.NormalizeRecoveryCode(input)
	if err != nil {
		return 0, errMalformed
	}
	if err := m.k.Limiter.Check(ctx, codeKey(u.ID), codeLimit); err != nil {
		return 0, err
	}
	if n, err := m.st.CountRecoveryCodes(ctx, u.ID); err != nil || n == 0 {
		if err != nil {
			return 0, err
		}
		return 0, errBadCode // nothing to guess: not counted
	}
	if err := m.admit(ctx, u); err != nil {
		return 0, err
	}
	var left int
	err = m.k.InTx(ctx, func(ctx context.Context) error {
		var err error
		if left, err = m.st.UseRecoveryCode(ctx, u.ID, token.RecoveryCodeDigest(u.ID, code), now); err != nil {
			return err
		}
		if err := m.succeeded(ctx, u); err != nil {
			return err
		}
		if err := m.k.Record(ctx, audit.ActionRecoveryCodeUse, u.ID, u.ID, map[string]string{"remaining": itoa(left)}); err != nil {
			return err
		}
		data := m.k.RequestEmail(r)
		data.Data = &RecoveryCodeMail{Remaining: left}
		return m.k.Queue(ctx, "recovery_code_used", u.Email, data)
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, m.failure(ctx, r, u, "recovery_code")
	}
	return left, err
}

// ---- management ----

// proveCode checks a current TOTP code, or, when allowRecovery, a
// recovery code, for a management action (disable, regenerate). The code
// comes from the field code (either kind: six digits are a TOTP code,
// anything else a recovery code) or recovery_code.
func (m *MFA) proveCode(ctx context.Context, r *http.Request, u *store.User, in kernel.Input, allowRecovery bool) error {
	c := in["code"]
	if strings.TrimSpace(c) == "" && allowRecovery {
		c = in["recovery_code"]
	}
	if strings.TrimSpace(c) == "" {
		return errMalformed
	}
	if !allowRecovery || isTOTPCode(c) {
		return m.checkTOTP(ctx, r, u, c)
	}
	_, err := m.useRecoveryCode(ctx, r, u, c)
	return err
}

// isTOTPCode reports whether input reads as a TOTP code: six digits once
// spaces and dashes are dropped. A recovery code never does (it has eight
// characters).
func isTOTPCode(input string) bool {
	_, err := token.NormalizeCode(input, Digits)
	return err == nil
}

// manageInput reads a management form of an enrolled user: its fields and
// the user's stored record. ok is false when it answered (a body ReadInput
// refused, two-factor authentication off, a store failure).
func (m *MFA) manageInput(w http.ResponseWriter, r *http.Request, offMsg string) (in kernel.Input, u *store.User, ok bool) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	if err != nil {
		m.badSettingsForm(w, r, err)
		return nil, nil, false
	}
	u, err = m.current(ctx)
	if err != nil {
		m.k.Error(w, r, err)
		return nil, nil, false
	}
	on, err := m.Required(ctx, u.ID)
	if err != nil {
		m.k.Error(w, r, err)
		return nil, nil, false
	}
	if !on {
		m.settingsError(w, r, http.StatusConflict, "not_enabled", offMsg, nil)
		return nil, nil, false
	}
	return in, u, true
}

// regenerate replaces the recovery codes. Requires sudo and a current
// TOTP code.
func (m *MFA) regenerate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, u, ok := m.manageInput(w, r, "Two-factor authentication is off.")
	if !ok {
		return
	}
	if err := m.proveCode(ctx, r, u, in, false); err != nil {
		m.manageFailed(w, r, err, "regenerate_code")
		return
	}
	codes, digests, err := newRecoveryCodes(u.ID)
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	now := m.k.Now()
	err = m.k.InTx(ctx, func(ctx context.Context) error {
		if err := m.st.ReplaceRecoveryCodes(ctx, u.ID, digests, now); err != nil {
			return err
		}
		if err := m.k.Record(ctx, audit.ActionRecoveryCodesRegenerate, u.ID, u.ID, nil); err != nil {
			return err
		}
		return m.k.Queue(ctx, "recovery_codes_regenerated", u.Email, m.k.RequestEmail(r))
	})
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	m.showCodes(w, r, codes)
}

// disable turns MFA off: the secret, the recovery codes and every trusted
// browser go. Requires sudo and a current code (or a recovery code).
func (m *MFA) disable(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, u, ok := m.manageInput(w, r, "Two-factor authentication is already off.")
	if !ok {
		return
	}
	if err := m.proveCode(ctx, r, u, in, true); err != nil {
		m.manageFailed(w, r, err, "disable_code")
		return
	}
	err := m.k.InTx(ctx, func(ctx context.Context) error {
		if err := m.st.DeleteTOTP(ctx, u.ID); err != nil {
			return err
		}
		if err := m.st.DeleteRecoveryCodes(ctx, u.ID); err != nil {
			return err
		}
		if _, err := m.st.RevokeTrustedBrowsers(ctx, u.ID); err != nil {
			return err
		}
		if err := m.k.Record(ctx, audit.ActionTOTPDisable, u.ID, u.ID, nil); err != nil {
			return err
		}
		return m.k.Queue(ctx, "mfa_disabled", u.Email, m.k.RequestEmail(r))
	})
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	m.clearTrustCookie(w)
	kernel.Redirect(w, r, kernel.WithNotice(m.k.Path(pathSettings), "mfa_disabled"), nil)
}

func (m *MFA) manageFailed(w http.ResponseWriter, r *http.Request, err error, field string) {
	switch {
	case errors.Is(err, errMalformed):
		msg := "Enter the 6-digit code from your app."
		if field == "disable_code" {
			msg = "Enter the 6-digit code from your app, or a recovery code."
		}
		m.settingsError(w, r, http.StatusUnprocessableEntity, "invalid_input", msg, map[string]string{field: msg})
	case errors.Is(err, sigra.ErrLockedOut):
		m.settingsError(w, r, http.StatusTooManyRequests, "mfa_locked", "Too many wrong codes. Try again later.", map[string]string{field: "Too many wrong codes."})
	case errors.Is(err, sigra.ErrInvalidCredentials):
		m.settingsError(w, r, http.StatusUnauthorized, "invalid_code", "That code is not valid.", map[string]string{field: "That code is not valid."})
	default:
		m.k.Error(w, r, err)
	}
}

// trustedRevoke forgets one trusted browser of the user, by its id. A
// body ReadInput refused is answered as badSettingsForm answers it; a
// body without an id with 400 invalid_input.
func (m *MFA) trustedRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := m.k.Sess.User(ctx)
	in, err := kernel.ReadInput(r)
	if err != nil {
		m.badSettingsForm(w, r, err)
		return
	}
	if in["id"] == "" {
		m.k.Fail(w, r, http.StatusBadRequest, "invalid_input", "No browser was named.")
		return
	}
	err = m.k.InTx(ctx, func(ctx context.Context) error {
		if err := m.st.RevokeTrustedBrowser(ctx, u.ID, in["id"]); err != nil {
			return err
		}
		return m.k.Record(ctx, audit.ActionTrustedBrowserRevoke, u.ID, u.ID, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		m.k.Fail(w, r, http.StatusNotFound, "not_found", "That browser is not trusted.")
		return
	}
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(m.k.Path(pathSettings), "trusted_revoked"), nil)
}

func (m *MFA) trustedRevokeAll(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !m.k.Readable(w, r) {
		return
	}
	u := m.k.Sess.User(ctx)
	var n int
	err := m.k.InTx(ctx, func(ctx context.Context) error {
		var err error
		if n, err = m.st.RevokeTrustedBrowsers(ctx, u.ID); err != nil {
			return err
		}
		return m.k.Record(ctx, audit.ActionTrustedBrowserRevoke, u.ID, u.ID, map[string]string{"count": itoa(n)})
	})
	if err != nil {
		m.k.Error(w, r, err)
		return
	}
	m.clearTrustCookie(w)
	kernel.Redirect(w, r, kernel.WithNotice(m.k.Path(pathSettings), "trusted_cleared"), map[string]any{"revoked": n})
}
