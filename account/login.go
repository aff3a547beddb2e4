package account

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// errGeneric is the one message of a refused sign-in: it does not say
// whether the account exists, the password was wrong or the account is
// locked (the owner of a locked account is told by email).
const errGeneric = "The email or password is incorrect, or the account is temporarily locked after too many attempts."

func (h *Handler) loginData() *LoginData {
	return &LoginData{AllowRegister: !h.cfg.DisableRegistration, AllowMagicLink: !h.cfg.DisableMagicLink}
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	d := h.loginData()
	h.k.Render(w, r, http.StatusOK, "login", h.k.Page(r, "Sign in", d),
		map[string]any{"ok": true, "allow_register": d.AllowRegister, "allow_magic_link": d.AllowMagicLink})
}

// login is password sign-in. It does the same work, and the same writes,
// whatever the state of the address (unknown, without a password, locked,
// disabled, unconfirmed, or a wrong password): the limits, one place of
// the address's password attempts taken atomically before any hashing
// (see kernel.Kernel.Admit: a burst verifies at most MaxFailures
// passwords), one hashing at the same cost (a dummy one when there is no
// hash to check or the account is locked), one audit row; the lockout
// notice is a job run after the answer, queued for an unknown address
// too.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	// Built once the form is read, the page keeps the form's return_to.
	p := h.k.Page(r, "Sign in", h.loginData())
	if err != nil {
		h.k.BadForm(w, r, "login", kernel.Built(p))
		return
	}
	p.Values = map[string]string{"email": in["email"]}
	email, ok := kernel.LookupEmail(in["email"])
	if !ok || in["password"] == "" {
		fields := map[string]string{}
		if !ok {
			fields["email"] = "Enter the email address of your account."
		}
		if in["password"] == "" {
			fields["password"] = "Enter your password."
		}
		h.k.FormError(w, r, http.StatusUnprocessableEntity, "login", kernel.Built(p), "invalid_input", "Check the highlighted fields.", fields)
		return
	}
	attempt, err := h.admitLogin(ctx, r, email)
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	now := h.k.Now()
	u, err := h.st.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		u, err = nil, nil
	}
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	reason := ""
	switch {
	case u == nil:
		reason = "unknown_account"
	case !attempt.Allowed || now.Before(u.LockedUntil):
		reason = "locked"
	case u.PasswordHash == "":
		// No password (magic link or OAuth only): recorded as a wrong one.
		reason = "bad_password"
	}
	var rehash bool
	if reason != "" {
		// Nothing to verify: the same hashing, for the same time.
		err = h.pw.DummyVerify(ctx, in["password"])
	} else {
		ok, rehash, err = h.pw.Verify(ctx, in["password"], u.PasswordHash)
		if !ok {
			reason = "bad_password"
			if err != nil && !errors.Is(err, sigra.ErrBusy) {
				h.k.Log.WarnContext(ctx, "stored password hash could not be verified", "user", u.ID, "err", err)
				err = nil
			}
		}
	}
	if errors.Is(err, sigra.ErrBusy) {
		// Nothing was verified: the place goes back.
		h.k.Error(w, r, errors.Join(err, h.k.Refund(ctx, attempt)))
		return
	}
	if reason != "" {
		h.loginFailed(w, r, p, u, email, reason, attempt)
		return
	}
	if err := h.k.Release(ctx, attempt); err != nil {
		h.k.Error(w, r, err)
		return
	}
	if rehash {
		if nh, err := h.pw.Hash(ctx, in["password"]); err == nil {
			if err := h.st.SetPasswordHash(ctx, u.ID, nh, now); err != nil {
				h.k.Log.WarnContext(ctx, "password rehash not saved", "user", u.ID, "err", err)
			} else {
				u.PasswordHash = nh
			}
		}
	}
	h.firstFactorPassed(w, r, u, sigra.MethodPassword, in["password"], in.Bool("remember"), h.k.ReturnTo(r, in))
}

// admitLogin counts a password sign-in for email against the per-address
// and per-account limits, then takes a place of the account's password
// attempts, stopping at the first limit that refuses (see
// kernel.Kernel.AdmitAfter): over the kit's store, one write, a single
// statement on PostgreSQL.
func (h *Handler) admitLogin(ctx context.Context, r *http.Request, email string) (kernel.Attempt, error) {
	return h.k.AdmitAfter(ctx, []kernel.KeyLimit{
		{Key: "login-ip:" + middleware.IPKey(h.k.Site.ClientIP(r)), Limit: h.cfg.Limits.LoginPerIP},
		{Key: "login-acct:" + store.NormalizeEmail(email), Limit: h.cfg.Limits.LoginPerAccount},
	}, kernel.PasswordKey(email), h.passwordLockout(r))
}

// loginFailed records a refused sign-in (u is nil for an unknown
// address) and answers it, the same way for every reason. When the
// attempt took the last place of the address's window, the lock engages:
// a job, queued whatever the address's state, locks the account (if any)
// and emails its owner.
func (h *Handler) loginFailed(w http.ResponseWriter, r *http.Request, p *ui.Page, u *store.User, email, reason string, a kernel.Attempt) {
	ctx := r.Context()
	subject := ""
	if u != nil {
		subject = u.ID
	}
	h.k.RecordFailure(ctx, audit.ActionLoginFailure, "", subject, map[string]string{"reason": reason})
	if a.Allowed && a.Last {
		if err := h.k.Later(ctx, jobLockout, email, nil); err != nil {
			h.k.Error(w, r, err)
			return
		}
	}
	h.k.FormError(w, r, http.StatusUnauthorized, "login", kernel.Built(p), "invalid_credentials", errGeneric, nil)
}

// lockoutJob engages the password lock of the account that holds the
// job's address, if any, and emails its owner (see kernel.Kernel.Engage).
func (h *Handler) lockoutJob(ctx context.Context, j *mail.Job) error {
	u, err := h.st.UserByEmail(ctx, j.To)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return h.k.Engage(ctx, nil, u, h.lockoutFor(func() *ui.Email { return h.k.JobEmail(j) }))
}

// firstFactorPassed finishes a first factor (password or magic link): it
// refuses disabled accounts and, if required, unconfirmed ones; ends a run
// of password failures; checks a password against the breach checker
// (see BreachCheckConfig: password is the one the user signed in with,
// empty for a magic link); then either hands over to the second factor
// (pending state) or signs the user in. A scheduled deletion is cancelled
// only once the sign-in is complete (see signedIn), never by the first
// factor alone.
func (h *Handler) firstFactorPassed(w http.ResponseWriter, r *http.Request, u *store.User, method sigra.Method, password string, remember bool, next string) {
	ctx := r.Context()
	if !u.DisabledAt.IsZero() {
		h.k.RecordFailure(ctx, audit.ActionLoginFailure, "", u.ID, map[string]string{"reason": "disabled"})
		h.k.Fail(w, r, http.StatusForbidden, "account_disabled", "This account is disabled. Contact support.")
		return
	}
	if h.cfg.RequireConfirmation && u.EmailConfirmedAt.IsZero() && method != sigra.MethodMagicLink {
		h.k.Fail(w, r, http.StatusForbidden, "email_unconfirmed", "Confirm your email address first: use the link or code we sent you.")
		return
	}
	if method != sigra.MethodPassword || u.FailedLogins > 0 || !u.LockedUntil.IsZero() {
		// A password sign-in freed its attempt places already; an emailed
		// link proves control of the account and ends a lockout too.
		if err := h.k.ClearPasswordLock(ctx, u); err != nil {
			h.k.Error(w, r, err)
			return
		}
	}
	if method == sigra.MethodPassword {
		breached, err := h.checkBreach(ctx, u, password)
		switch {
		case errors.Is(err, errBreachUnavailable):
			h.breachUnavailable(w, r)
			return
		case err != nil:
			h.k.Error(w, r, err)
			return
		}
		if breached {
			// A session value: it survives the token renewals below,
			// and the guards send the user to choose a new password
			// once signed in, through the second factor if any.
			if err := h.k.Sess.RequirePasswordChange(ctx, u.ID); err != nil {
				h.k.Error(w, r, err)
				return
			}
			next = h.renewTarget(next)
		}
	}
	if sf := h.cfg.SecondFactor; sf != nil {
		need, err := sf.Required(ctx, u.ID)
		if err != nil {
			h.k.Error(w, r, err)
			return
		}
		if need && !sf.Trusted(r, u.ID) {
			if err := h.k.Sess.BeginSecondFactor(ctx, publicUser(u), method, remember); err != nil {
				h.k.Error(w, r, err)
				return
			}
			target := h.k.Route(ui.RouteSecondFactor)
			if next != h.k.Site.Home() {
				target += "?" + url.Values{"return_to": {next}}.Encode()
			}
			kernel.Redirect(w, r, target, h.signInJSON(ctx, map[string]any{"mfa_required": true}))
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
// u is the user's row as this request read it: signedIn, told of the
// sign-in, takes it from there rather than reading it again.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, u *store.User, methods []sigra.Method, aal sigra.AAL, remember bool, next string) {
	ctx := r.Context()
	pub := publicUser(u)
	if err := h.k.Sess.SignIn(context.WithValue(ctx, signInUserKey{}, u), pub, methods, aal, remember); err != nil {
		h.k.Error(w, r, err)
		return
	}
	h.k.RecordOutside(ctx, audit.ActionLoginSuccess, u.ID, u.ID, map[string]string{"method": string(methods[0]), "aal": aalString(aal)})
	if h.cfg.Hooks.AfterSignIn != nil {
		h.cfg.Hooks.AfterSignIn(ctx, pub)
	}
	kernel.Redirect(w, r, next, h.signInJSON(ctx, map[string]any{"user": userJSON(pub)}))
}

// signInJSON adds to the JSON answer of a sign-in step that the user must
// choose a new password (see BreachCheckConfig), when they must.
func (h *Handler) signInJSON(ctx context.Context, body map[string]any) map[string]any {
	if h.k.Sess.PasswordChangeRequired(ctx) {
		body["password_change_required"] = true
	}
	return body
}

func aalString(a sigra.AAL) string {
	if a >= sigra.AAL2 {
		return "2"
	}
	return "1"
}

// userBody is a user in JSON answers.
type userBody struct {
	ID             string    `json:"id"`
	Email          string    `json:"email"`
	EmailConfirmed bool      `json:"email_confirmed"`
	CreatedAt      time.Time `json:"created_at"`
}

// userJSON is a user in JSON answers.
func userJSON(u *sigra.User) userBody {
	return userBody{ID: u.ID, Email: u.Email, EmailConfirmed: u.EmailConfirmed(), CreatedAt: u.CreatedAt}
}

// logout signs out (POST only; CSRF-protected like every POST).
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.k.Readable(w, r) {
		return
	}
	userID := ""
	if u := sigra.AuthFrom(ctx).User; u != nil {
		userID = u.ID
	}
	if err := h.k.Sess.SignOut(ctx); err != nil {
		h.k.Error(w, r, err)
		return
	}
	if userID != "" {
		h.k.RecordOutside(ctx, audit.ActionLogout, userID, userID, nil)
		if h.cfg.Hooks.AfterSignOut != nil {
			h.cfg.Hooks.AfterSignOut(ctx, userID)
		}
	}
	kernel.Redirect(w, r, kernel.WithNotice(h.k.Path(pathLogin), "signed_out"), nil)
}

// anonymousInfo and signedInInfo are the answers of sessionInfo: structs
// rather than maps, which spares the most frequent JSON request of a
// single-page app the maps' allocations and their sorting. Their tags
// are the answer's shape; their AppendJSON methods write the same bytes
// as encoding/json (the tests compare them), without its reflection.
type anonymousInfo struct {
	State    sigra.State `json:"state"`
	SignedIn bool        `json:"signed_in"`
}

type signedInInfo struct {
	State    sigra.State    `json:"state"`
	SignedIn bool           `json:"signed_in"`
	User     userBody       `json:"user"`
	AAL      int            `json:"aal"`
	Methods  []sigra.Method `json:"methods"`
	AuthTime time.Time      `json:"auth_time"`
	SudoTime time.Time      `json:"sudo_time"`
	// Impersonation is set while an admin acts as the user.
	Impersonation *impersonationInfo `json:"impersonation,omitempty"`
}

// impersonationInfo is the impersonation part of the session's JSON.
type impersonationInfo struct {
	ImpersonatorID string    `json:"impersonator_id"`
	EndsAt         time.Time `json:"ends_at"`
}

// AppendJSON appends i as encoding/json writes it (see web.JSONAppender).
func (i *anonymousInfo) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"state":`...)
	b = web.AppendJSONString(b, string(i.State))
	b = append(b, `,"signed_in":`...)
	b = strconv.AppendBool(b, i.SignedIn)
	return append(b, '}'), nil
}

// AppendJSON appends i as encoding/json writes it (see web.JSONAppender).
func (i *signedInInfo) AppendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"state":`...)
	b = web.AppendJSONString(b, string(i.State))
	b = append(b, `,"signed_in":`...)
	b = strconv.AppendBool(b, i.SignedIn)
	b = append(b, `,"user":{"id":`...)
	b = web.AppendJSONString(b, i.User.ID)
	b = append(b, `,"email":`...)
	b = web.AppendJSONString(b, i.User.Email)
	b = append(b, `,"email_confirmed":`...)
	b = strconv.AppendBool(b, i.User.EmailConfirmed)
	b = append(b, `,"created_at":`...)
	if b, err = web.AppendJSONTime(b, i.User.CreatedAt); err != nil {
		return nil, err
	}
	b = append(b, `},"aal":`...)
	b = strconv.AppendInt(b, int64(i.AAL), 10)
	b = append(b, `,"methods":`...)
	if i.Methods == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for n, m := range i.Methods {
			if n > 0 {
				b = append(b, ',')
			}
			b = web.AppendJSONString(b, string(m))
		}
		b = append(b, ']')
	}
	b = append(b, `,"auth_time":`...)
	if b, err = web.AppendJSONTime(b, i.AuthTime); err != nil {
		return nil, err
	}
	b = append(b, `,"sudo_time":`...)
	if b, err = web.AppendJSONTime(b, i.SudoTime); err != nil {
		return nil, err
	}
	if imp := i.Impersonation; imp != nil {
		b = append(b, `,"impersonation":{"impersonator_id":`...)
		b = web.AppendJSONString(b, imp.ImpersonatorID)
		b = append(b, `,"ends_at":`...)
		if b, err = web.AppendJSONTime(b, imp.EndsAt); err != nil {
			return nil, err
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// sessionInfo answers GET <prefix>/session with the request's auth state
// as JSON, for single-page and mobile apps.
func (h *Handler) sessionInfo(w http.ResponseWriter, r *http.Request) {
	a := sigra.AuthFrom(r.Context())
	if !web.WantsJSON(r) {
		w.Header().Add("Vary", "Accept")
	}
	if !a.SignedIn() {
		web.JSON(w, http.StatusOK, &anonymousInfo{State: a.State})
		return
	}
	methods := a.Methods
	if methods == nil {
		methods = []sigra.Method{}
	}
	info := &signedInInfo{
		State: a.State, SignedIn: true, User: userJSON(a.User), AAL: int(a.AAL),
		Methods: methods, AuthTime: a.AuthTime, SudoTime: a.SudoTime,
	}
	if a.Impersonator != "" {
		info.Impersonation = &impersonationInfo{ImpersonatorID: a.Impersonator, EndsAt: a.ImpersonationEnds}
	}
	web.JSON(w, http.StatusOK, info)
}

// ---- sudo ----

// sudoData describes the sudo page for the session's user u: which
// credentials it can re-enter.
func (h *Handler) sudoData(r *http.Request, u *store.User) (*SudoData, error) {
	d := &SudoData{HasPassword: u.PasswordHash != ""}
	if sf := h.cfg.SecondFactor; sf != nil {
		on, err := sf.Required(r.Context(), u.ID)
		if err != nil {
			return nil, err
		}
		d.HasTOTP = on
	}
	for _, c := range []struct {
		holder Holder
		has    *bool
	}{{h.cfg.Passkeys, &d.HasPasskey}, {h.cfg.LinkedAccounts, &d.HasLinkedAccount}} {
		if c.holder == nil {
			continue
		}
		has, err := c.holder.Has(r.Context(), u.ID)
		if err != nil {
			return nil, err
		}
		*c.has = has
	}
	return d, nil
}

func (h *Handler) sudoPage(w http.ResponseWriter, r *http.Request) {
	u, err := h.current(r.Context())
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	d, err := h.sudoData(r, u)
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	h.k.Render(w, r, http.StatusOK, "sudo", h.k.Page(r, "Confirm it's you", d),
		map[string]any{"ok": true, "has_password": d.HasPassword, "has_totp": d.HasTOTP, "has_passkey": d.HasPasskey, "has_linked_account": d.HasLinkedAccount})
}

// sudo re-authenticates the signed-in user with the password or a second
// factor code, sets the sudo time (renewing the token) and returns to
// return_to, or to the settings page.
func (h *Handler) sudo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, err := h.current(ctx)
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	d, err := h.sudoData(r, u)
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	in, err := kernel.ReadInput(r)
	p := h.k.Page(r, "Confirm it's you", d)
	if err != nil {
		h.k.BadForm(w, r, "sudo", kernel.Built(p))
		return
	}
	// Every attempt counts against the sudo limit, before it is checked.
	// With a password, the limit and the password's attempt place are
	// counted together (one write of the kit's store).
	limit := kernel.KeyLimit{Key: "sudo:" + u.ID, Limit: h.cfg.Limits.SudoPerUser}
	withPassword := in["password"] != "" && d.HasPassword
	if !h.countFirst(w, r, limit, withPassword) {
		return
	}
	var method sigra.Method
	switch {
	case withPassword:
		err := h.k.CheckPasswordAfter(ctx, r, h.pw, u, in["password"], h.passwordLockout(r), []kernel.KeyLimit{limit})
		switch {
		case errors.Is(err, sigra.ErrLockedOut):
			h.k.RecordFailure(ctx, audit.ActionSudo, u.ID, u.ID, map[string]string{"method": "password", "reason": "locked"})
			h.k.FormError(w, r, http.StatusUnauthorized, "sudo", kernel.Built(p), "invalid_credentials", "That password is not correct, or there were too many attempts. Try again later.",
				map[string]string{"password": "That password is not correct, or there were too many attempts. Try again later."})
			return
		case errors.Is(err, sigra.ErrInvalidCredentials):
			h.k.RecordFailure(ctx, audit.ActionSudo, u.ID, u.ID, map[string]string{"method": "password"})
			h.k.FormError(w, r, http.StatusUnauthorized, "sudo", kernel.Built(p), "invalid_credentials", "That password is not correct.", map[string]string{"password": "That password is not correct."})
			return
		case err != nil:
			h.k.Error(w, r, err)
			return
		}
		method = sigra.MethodPassword
	case in["code"] != "" && d.HasTOTP:
		// A code is a second factor's: without one there is nothing to
		// check it against (nor to count a wrong one against).
		err := h.cfg.SecondFactor.VerifySudo(ctx, r, u.ID, in["code"])
		switch {
		case errors.Is(err, sigra.ErrInvalidCredentials), errors.Is(err, sigra.ErrLockedOut):
			h.k.RecordFailure(ctx, audit.ActionSudo, u.ID, u.ID, map[string]string{"method": "totp"})
			h.k.FormError(w, r, http.StatusUnauthorized, "sudo", kernel.Built(p), "invalid_code", "That code is not valid.", map[string]string{"code": "That code is not valid."})
			return
		case err != nil:
			h.k.Error(w, r, err)
			return
		}
		method = sigra.MethodTOTP
	default:
		field := "password"
		if !d.HasPassword {
			field = "code"
		}
		h.k.FormError(w, r, http.StatusUnprocessableEntity, "sudo", kernel.Built(p), "invalid_input", "Enter your password or a code to continue.", map[string]string{field: "Required."})
		return
	}
	if err := h.k.Sess.Sudo(ctx, method); err != nil {
		h.k.Error(w, r, err)
		return
	}
	h.k.RecordOutside(ctx, audit.ActionSudo, u.ID, u.ID, map[string]string{"method": string(method)})
	next := h.k.Path(pathSettings)
	if rt, ok := site.LocalPath(in["return_to"]); ok {
		next = rt
	} else if rt, ok := site.LocalPath(r.URL.Query().Get("return_to")); ok {
		next = rt
	}
	kernel.Redirect(w, r, next, nil)
}

// signInUserKey is the context key under which signIn hands signedIn
// the user's row that the sign-in read (a *store.User).
type signInUserKey struct{}

// signedIn is told of every completed sign-in through the session manager
// (see session.Manager.OnSignIn), whichever feature completed it: a
// scheduled deletion of the user is cancelled, with its audit row. A
// password alone (before a second factor) cancels nothing.
//
// Whether a deletion is scheduled is read from the user's row. A sign-in
// completed by this package's signIn (a password or a magic link, with no
// second factor to wait for) read that row during the request, and hands
// it over in ctx: no second read. A deletion scheduled between that read
// and the sign-in then stays scheduled, as if it had been scheduled just
// after the sign-in (the session lookup signs out a user whose deletion
// is scheduled). Sign-ins completed elsewhere (a second factor, a
// passkey, an OAuth provider) read the row here.
func (h *Handler) signedIn(ctx context.Context, a *sigra.Auth) {
	u, _ := ctx.Value(signInUserKey{}).(*store.User)
	if u == nil || u.ID != a.User.ID {
		var err error
		if u, err = h.st.UserByID(ctx, a.User.ID); err != nil {
			h.k.LogFailure(ctx, "sign-in: user not read", err, "user", a.User.ID)
			return
		}
	}
	if u.DeletionDueAt.IsZero() {
		return
	}
	err := h.k.InTx(ctx, func(ctx context.Context) error {
		if err := h.st.ScheduleDeletion(ctx, u.ID, time.Time{}, h.k.Now()); err != nil {
			return err
		}
		return h.k.Record(ctx, audit.ActionDeleteCancel, u.ID, u.ID, map[string]string{"method": "sign_in"})
	})
	if err != nil {
		h.k.LogFailure(ctx, "sign-in: scheduled deletion not cancelled", err, "user", u.ID)
	}
}
