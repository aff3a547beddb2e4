package account

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/flow"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// errGeneric is the one message of a refused sign-in: it does not say
// whether the account exists, the password was wrong or the account is
// locked (the owner of a locked account is told by email).
const errGeneric = "The email or password is incorrect, or the account is temporarily locked after too many attempts."

func (h *Handler) loginData() *ui.LoginData {
	return &ui.LoginData{AllowRegister: !h.cfg.DisableRegistration, AllowMagicLink: !h.cfg.DisableMagicLink}
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	h.ui.Render(w, r, http.StatusOK, "login", h.x.Page(r, "Sign in", h.loginData()))
}

// login is password sign-in. Limits are checked first, then the lockout
// (before any hashing), then the password through the bounded pool (a
// dummy verification at the same cost for unknown addresses).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := h.x.Page(r, "Sign in", h.loginData())
	in, err := flow.ReadInput(r)
	if err != nil {
		h.x.FormError(w, r, http.StatusBadRequest, "login", p, "invalid_input", "The form could not be read. Reload the page and try again.", nil)
		return
	}
	p.Values = map[string]string{"email": in["email"]}
	if rt, ok := middleware.SafeReturnTo(in["return_to"]); ok {
		p.ReturnTo = rt
	}
	email, ok := flow.ParseEmail(in["email"])
	if !ok || in["password"] == "" {
		fields := map[string]string{}
		if !ok {
			fields["email"] = "Enter the email address of your account."
		}
		if in["password"] == "" {
			fields["password"] = "Enter your password."
		}
		h.x.FormError(w, r, http.StatusUnprocessableEntity, "login", p, "invalid_input", "Check the highlighted fields.", fields)
		return
	}
	ip := middleware.IPKey(h.rl.ClientIP(r))
	if err := h.rl.Check(ctx, "login-ip:"+ip, h.cfg.Limits.LoginPerIP.N, h.cfg.Limits.LoginPerIP.Window); err != nil {
		h.x.Error(w, r, err)
		return
	}
	if err := h.rl.Check(ctx, "login-acct:"+store.NormalizeEmail(email), h.cfg.Limits.LoginPerAccount.N, h.cfg.Limits.LoginPerAccount.Window); err != nil {
		h.x.Error(w, r, err)
		return
	}
	now := h.now()
	u, err := h.st.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		if err := h.pw.DummyVerify(ctx, in["password"]); err != nil && errors.Is(err, sigra.ErrBusy) {
			h.x.Error(w, r, err)
			return
		}
		h.recordFailure(ctx, audit.ActionLoginFailure, "", "", map[string]string{"reason": "unknown_account"})
		h.x.FormError(w, r, http.StatusUnauthorized, "login", p, "invalid_credentials", errGeneric, nil)
		return
	}
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	if now.Before(u.LockedUntil) {
		// Locked: refuse before hashing, with the same answer.
		h.recordFailure(ctx, audit.ActionLoginFailure, "", u.ID, map[string]string{"reason": "locked"})
		h.x.FormError(w, r, http.StatusUnauthorized, "login", p, "invalid_credentials", errGeneric, nil)
		return
	}
	if u.PasswordHash == "" {
		// No password (magic link or OAuth only): same cost, same answer.
		if err := h.pw.DummyVerify(ctx, in["password"]); err != nil && errors.Is(err, sigra.ErrBusy) {
			h.x.Error(w, r, err)
			return
		}
		h.loginFailed(w, r, p, u)
		return
	}
	ok, rehash, err := h.pw.Verify(ctx, in["password"], u.PasswordHash)
	if err != nil && !ok {
		if errors.Is(err, sigra.ErrBusy) {
			h.x.Error(w, r, err)
			return
		}
		h.log.WarnContext(ctx, "stored password hash could not be verified", "user", u.ID, "err", err)
	}
	if !ok {
		h.loginFailed(w, r, p, u)
		return
	}
	if rehash {
		if nh, err := h.pw.Hash(ctx, in["password"]); err == nil {
			if err := h.st.SetPasswordHash(ctx, u.ID, nh, now); err != nil {
				h.log.WarnContext(ctx, "password rehash not saved", "user", u.ID, "err", err)
			} else {
				u.PasswordHash = nh
			}
		}
	}
	h.firstFactorPassed(w, r, u, sigra.MethodPassword, in.Bool("remember"), h.afterSignIn(r, in))
}

// loginFailed counts a password failure; the fifth in a row locks the
// account for LockoutDuration and emails its owner.
func (h *Handler) loginFailed(w http.ResponseWriter, r *http.Request, p *ui.Page, u *store.User) {
	ctx := r.Context()
	if err := h.passwordFailure(ctx, r, u); err != nil {
		h.x.Error(w, r, err)
		return
	}
	h.x.FormError(w, r, http.StatusUnauthorized, "login", p, "invalid_credentials", errGeneric, nil)
}

// passwordFailure records one wrong password for u, locking and notifying
// on the limit. The lock and its audit row commit together with the
// notice; if the notice cannot be queued, the lock still commits (without
// it) and the failure is logged: a broken mailer must not turn the lockout
// off.
func (h *Handler) passwordFailure(ctx context.Context, r *http.Request, u *store.User) error {
	now := h.now()
	h.recordFailure(ctx, audit.ActionLoginFailure, "", u.ID, map[string]string{"reason": "bad_password"})
	count := func(notify bool) error {
		return h.st.WithTx(ctx, func(tx store.Store) error {
			until, err := tx.RecordFailure(ctx, u.ID, store.LockPassword, h.cfg.MaxFailures, h.cfg.LockoutDuration, now)
			if err != nil || until.IsZero() {
				return err
			}
			if err := h.record(ctx, tx, audit.ActionLockout, "", u.ID, map[string]string{"until": until.UTC().Format(time.RFC3339)}); err != nil {
				return err
			}
			if !notify {
				return nil
			}
			data := h.reqEmail(r)
			data.Link = h.absolute(h.links.Forgot)
			data.ExpiresIn = flow.TTLText(h.cfg.LockoutDuration)
			if err := h.queue(ctx, tx, "lockout", u.Email, data); err != nil {
				return &mailError{err}
			}
			return nil
		})
	}
	err := count(true)
	var me *mailError
	if errors.As(err, &me) {
		h.log.ErrorContext(ctx, "lockout notice not queued; locking without it", "user", u.ID, "err", me.err)
		err = count(false)
	}
	return err
}

// mailError marks a failure to queue an email inside a transaction.
type mailError struct{ err error }

func (e *mailError) Error() string { return e.err.Error() }
func (e *mailError) Unwrap() error { return e.err }

// firstFactorPassed finishes a first factor (password or magic link): it
// refuses disabled accounts and, if required, unconfirmed ones; cancels a
// scheduled deletion; then either hands over to the second factor (pending
// state) or signs the user in.
func (h *Handler) firstFactorPassed(w http.ResponseWriter, r *http.Request, u *store.User, method sigra.Method, remember bool, next string) {
	ctx := r.Context()
	now := h.now()
	if !u.DisabledAt.IsZero() {
		h.recordFailure(ctx, audit.ActionLoginFailure, "", u.ID, map[string]string{"reason": "disabled"})
		h.x.Fail(w, r, http.StatusForbidden, "account_disabled", "This account is disabled. Contact support.")
		return
	}
	if h.cfg.RequireConfirmation && u.EmailConfirmedAt.IsZero() && method != sigra.MethodMagicLink {
		h.x.Fail(w, r, http.StatusForbidden, "email_unconfirmed", "Confirm your email address first: use the link or code we sent you.")
		return
	}
	err := h.st.WithTx(ctx, func(tx store.Store) error {
		if err := tx.ClearFailures(ctx, u.ID, store.LockPassword, now); err != nil {
			return err
		}
		if !u.DeletionDueAt.IsZero() {
			if err := tx.ScheduleDeletion(ctx, u.ID, time.Time{}, now); err != nil {
				return err
			}
			u.DeletionDueAt = time.Time{}
			return h.record(ctx, tx, audit.ActionDeleteCancel, u.ID, u.ID, map[string]string{"method": "sign_in"})
		}
		return nil
	})
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	if sf := h.cfg.SecondFactor; sf != nil {
		need, err := sf.Required(ctx, u.ID)
		if err != nil {
			h.x.Error(w, r, err)
			return
		}
		if need && !sf.Trusted(r, u.ID) {
			if err := h.sess.BeginSecondFactor(ctx, u, method, remember); err != nil {
				h.x.Error(w, r, err)
				return
			}
			target := h.cfg.SecondFactorPath
			if next != h.cfg.AfterSignInPath {
				target += "?" + url.Values{"return_to": {next}}.Encode()
			}
			flow.Redirect(w, r, target, map[string]any{"mfa_required": true})
			return
		}
		if need {
			h.signIn(w, r, u, []sigra.Method{method, sigra.MethodTrustedBrowser}, sigra.AAL2, remember, next)
			return
		}
	}
	h.signIn(w, r, u, []sigra.Method{method}, sigra.AAL1, remember, next)
}

// signIn completes a sign-in: token renewed, audit row, hook, redirect.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, u *store.User, methods []sigra.Method, aal sigra.AAL, remember bool, next string) {
	ctx := r.Context()
	if err := h.sess.SignIn(ctx, u, methods, aal, remember); err != nil {
		h.x.Error(w, r, err)
		return
	}
	meta := map[string]string{"method": string(methods[0]), "aal": aalString(aal)}
	if err := h.record(ctx, h.st, audit.ActionLoginSuccess, u.ID, u.ID, meta); err != nil {
		h.log.ErrorContext(ctx, "audit row not written", "err", err)
	}
	if h.cfg.Hooks.AfterSignIn != nil {
		h.cfg.Hooks.AfterSignIn(ctx, u)
	}
	flow.Redirect(w, r, next, map[string]any{"user": userJSON(u)})
}

func aalString(a sigra.AAL) string {
	if a >= sigra.AAL2 {
		return "2"
	}
	return "1"
}

func userJSON(u *store.User) map[string]any {
	m := map[string]any{"id": u.ID, "email": u.Email, "email_confirmed": !u.EmailConfirmedAt.IsZero(), "created_at": u.CreatedAt}
	return m
}

// logout signs out (POST only; CSRF-protected like every POST).
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.readable(w, r) {
		return
	}
	a := sigra.AuthFrom(ctx)
	userID := ""
	if a.User != nil {
		userID = a.User.ID
	}
	if err := h.sess.SignOut(ctx); err != nil {
		h.x.Error(w, r, err)
		return
	}
	if userID != "" {
		if err := h.record(ctx, h.st, audit.ActionLogout, userID, userID, nil); err != nil {
			h.log.ErrorContext(ctx, "audit row not written", "err", err)
		}
		if h.cfg.Hooks.AfterSignOut != nil {
			h.cfg.Hooks.AfterSignOut(ctx, userID)
		}
	}
	flow.Redirect(w, r, flow.WithNotice(h.links.Login, "signed_out"), nil)
}

// sessionInfo answers GET <prefix>/session with the request's auth state
// as JSON, for single-page and mobile apps.
func (h *Handler) sessionInfo(w http.ResponseWriter, r *http.Request) {
	a := sigra.AuthFrom(r.Context())
	body := map[string]any{"state": a.State, "signed_in": a.SignedIn()}
	if a.SignedIn() {
		methods := make([]string, len(a.Methods))
		for i, m := range a.Methods {
			methods[i] = string(m)
		}
		body["user"] = map[string]any{"id": a.User.ID, "email": a.User.Email, "email_confirmed": a.User.EmailConfirmed(), "created_at": a.User.CreatedAt}
		body["aal"] = int(a.AAL)
		body["methods"] = methods
		body["auth_time"] = a.AuthTime
		body["sudo_time"] = a.SudoTime
	}
	if !web.WantsJSON(r) {
		w.Header().Set("Vary", "Accept")
	}
	web.JSON(w, http.StatusOK, body)
}

// ---- sudo ----

func (h *Handler) sudoData(r *http.Request) *ui.SudoData {
	ctx := r.Context()
	u := h.sess.User(ctx)
	d := &ui.SudoData{HasPassword: u != nil && u.PasswordHash != ""}
	if h.cfg.SecondFactor != nil && u != nil {
		if need, err := h.cfg.SecondFactor.Required(ctx, u.ID); err == nil {
			d.HasTOTP = need
		}
	}
	return d
}

func (h *Handler) sudoPage(w http.ResponseWriter, r *http.Request) {
	h.ui.Render(w, r, http.StatusOK, "sudo", h.x.Page(r, "Confirm it's you", h.sudoData(r)))
}

// sudo re-authenticates the signed-in user with the password or a second
// factor code, sets the sudo time (renewing the token) and returns to
// return_to.
func (h *Handler) sudo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := h.x.Page(r, "Confirm it's you", h.sudoData(r))
	in, err := flow.ReadInput(r)
	if err != nil {
		h.x.FormError(w, r, http.StatusBadRequest, "sudo", p, "invalid_input", "The form could not be read. Reload the page and try again.", nil)
		return
	}
	if rt, ok := middleware.SafeReturnTo(in["return_to"]); ok {
		p.ReturnTo = rt
	}
	u := h.sess.User(ctx)
	if err := h.rl.Check(ctx, "sudo:"+u.ID, h.cfg.Limits.SudoPerUser.N, h.cfg.Limits.SudoPerUser.Window); err != nil {
		h.x.Error(w, r, err)
		return
	}
	// A code is a second factor's: without one, there is nothing to check
	// it against (and nothing to count a wrong one against).
	hasSecond := false
	if sf := h.cfg.SecondFactor; sf != nil && in["code"] != "" {
		if hasSecond, err = sf.Required(ctx, u.ID); err != nil {
			h.x.Error(w, r, err)
			return
		}
	}
	var method sigra.Method
	switch {
	case in["password"] != "" && u.PasswordHash != "":
		if h.now().Before(u.LockedUntil) {
			h.x.FormError(w, r, http.StatusUnauthorized, "sudo", p, "invalid_credentials", "That password is not correct, or there were too many attempts. Try again later.", map[string]string{"password": "Enter your current password."})
			return
		}
		ok, _, err := h.pw.Verify(ctx, in["password"], u.PasswordHash)
		if errors.Is(err, sigra.ErrBusy) {
			h.x.Error(w, r, err)
			return
		}
		if !ok {
			if err := h.passwordFailure(ctx, r, u); err != nil {
				h.x.Error(w, r, err)
				return
			}
			h.recordFailure(ctx, audit.ActionSudo, u.ID, u.ID, map[string]string{"method": "password"})
			h.x.FormError(w, r, http.StatusUnauthorized, "sudo", p, "invalid_credentials", "That password is not correct.", map[string]string{"password": "That password is not correct."})
			return
		}
		// A success ends the run of consecutive failures.
		if u.FailedLogins > 0 {
			if err := h.st.ClearFailures(ctx, u.ID, store.LockPassword, h.now()); err != nil {
				h.x.Error(w, r, err)
				return
			}
		}
		method = sigra.MethodPassword
	case in["code"] != "" && hasSecond:
		err := h.cfg.SecondFactor.VerifySudo(ctx, r, u.ID, in["code"])
		switch {
		case errors.Is(err, sigra.ErrInvalidCredentials), errors.Is(err, sigra.ErrLockedOut):
			h.recordFailure(ctx, audit.ActionSudo, u.ID, u.ID, map[string]string{"method": "totp"})
			h.x.FormError(w, r, http.StatusUnauthorized, "sudo", p, "invalid_code", "That code is not valid.", map[string]string{"code": "That code is not valid."})
			return
		case err != nil:
			h.x.Error(w, r, err)
			return
		}
		method = sigra.MethodTOTP
	default:
		field := "password"
		if u.PasswordHash == "" {
			field = "code"
		}
		h.x.FormError(w, r, http.StatusUnprocessableEntity, "sudo", p, "invalid_input", "Enter your password or a code to continue.", map[string]string{field: "Required."})
		return
	}
	if err := h.sess.Sudo(ctx, method); err != nil {
		h.x.Error(w, r, err)
		return
	}
	if err := h.record(ctx, h.st, audit.ActionSudo, u.ID, u.ID, map[string]string{"method": string(method)}); err != nil {
		h.log.ErrorContext(ctx, "audit row not written", "err", err)
	}
	next := h.links.Settings
	if rt, ok := middleware.SafeReturnTo(in["return_to"]); ok {
		next = rt
	}
	flow.Redirect(w, r, next, nil)
}

// afterSignIn returns where a completed sign-in lands: the form's or the
// query's local return_to, else AfterSignInPath.
func (h *Handler) afterSignIn(r *http.Request, in flow.Input) string {
	if rt, ok := middleware.SafeReturnTo(in["return_to"]); ok {
		return rt
	}
	if rt, ok := middleware.ReturnTo(r); ok {
		return rt
	}
	return h.cfg.AfterSignInPath
}
