package account

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// codeDigits is the length of emailed confirmation codes.
const codeDigits = 6

func (h *Handler) registerPage(w http.ResponseWriter, r *http.Request) {
	n := h.pw.MinLength()
	h.k.Render(w, r, http.StatusOK, "register", h.k.Page(r, "Create your account", &RegisterData{MinPasswordLength: n}),
		map[string]any{"ok": true, "min_password_length": n})
}

// hookFields are the fields of a registration request that the hooks
// get: every field but the passwords and the CSRF token.
func hookFields(in kernel.Input) map[string]string {
	out := maps.Clone(map[string]string(in))
	if out == nil {
		out = map[string]string{}
	}
	for _, secret := range []string{"password", "current_password", middleware.CSRFFieldName} {
		delete(out, secret)
	}
	return out
}

// register creates an account. The answer is the same whether or not the
// address is taken: an existing owner gets a "someone tried to register"
// email instead of a confirmation, and the same hashing work is done.
func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	p := h.k.Page(r, "Create your account", &RegisterData{MinPasswordLength: h.pw.MinLength()})
	if err != nil {
		h.k.BadForm(w, r, "register", kernel.Built(p))
		return
	}
	fields := hookFields(in)
	// Every field but the secrets stays filled in, the application's own
	// (added by an override of the page) included.
	p.Values = fields
	email, ok := kernel.ParseEmail(in["email"])
	bad := map[string]string{}
	if !ok {
		bad["email"] = kernel.EmailProblem(in["email"])
	}
	if in["password"] == "" {
		bad["password"] = "Choose a password."
	}
	if len(bad) > 0 {
		h.k.FormError(w, r, http.StatusUnprocessableEntity, "register", kernel.Built(p), "invalid_input", "Check the highlighted fields.", bad)
		return
	}
	if err := h.k.Limiter.Check(ctx, "register-ip:"+middleware.IPKey(h.k.Site.ClientIP(r)), h.cfg.Limits.RegisterPerIP); err != nil {
		h.k.Error(w, r, err)
		return
	}
	refuse := func(status int, code, msg string, fields map[string]string) {
		h.k.FormError(w, r, status, "register", kernel.Built(p), code, msg, fields)
	}
	if !h.checkNewPassword(w, r, in["password"], email, refuse) {
		return
	}
	// The application's own checks, before anything is stored, whether or
	// not the address is taken (so they reveal nothing).
	if hook := h.cfg.Hooks.BeforeRegister; hook != nil {
		if err := hook(ctx, maps.Clone(fields)); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				// The message is also the form's: the built-in page may not
				// have the application's field.
				refuse(http.StatusUnprocessableEntity, "invalid_input", fe.Message, map[string]string{fe.Field: fe.Message})
				return
			}
			h.k.Error(w, r, err)
			return
		}
	}
	// Hash in both cases, so the answer takes the same time.
	hash, ok := h.hashNewPassword(w, r, in["password"])
	if !ok {
		return
	}
	var created *store.User
	existing, err := h.st.UserByEmail(ctx, email)
	switch {
	case err == nil:
		err = h.registerExisting(ctx, r, existing)
	case errors.Is(err, store.ErrNotFound):
		created, err = h.registerNew(ctx, r, email, hash)
		if errors.Is(err, store.ErrConflict) {
			// Taken meanwhile, or reserved by a pending email change: the
			// same answer as for any taken address.
			created, err = nil, nil
		}
	}
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	if created != nil && h.cfg.Hooks.AfterRegister != nil {
		h.cfg.Hooks.AfterRegister(ctx, publicUser(created), maps.Clone(fields))
	}
	h.k.Render(w, r, http.StatusOK, "register_done", h.k.Page(r, "Check your email", &SentData{Email: email}),
		map[string]any{"ok": true, "message": "Check your email to confirm your address."})
}

func (h *Handler) registerNew(ctx context.Context, r *http.Request, email, hash string) (*store.User, error) {
	// CreatedAt is the "now" at which the store checks other users'
	// reservations of the address: it comes from the site's clock.
	now := h.k.Now()
	u := &store.User{Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	err := h.k.InTx(ctx, func(ctx context.Context) error {
		if err := h.st.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := h.sendConfirmation(ctx, h.k.RequestEmail(r), u.ID, u.Email); err != nil {
			return err
		}
		return h.k.Record(ctx, audit.ActionRegister, u.ID, u.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// registerExisting tells the owner of a taken address that someone tried
// to register with it, at most EmailPerAddress times per window.
func (h *Handler) registerExisting(ctx context.Context, r *http.Request, u *store.User) error {
	if err := h.k.Limiter.Check(ctx, "email-addr:"+store.NormalizeEmail(u.Email), h.cfg.Limits.EmailPerAddress); err != nil {
		if errors.Is(err, middleware.ErrLimited) {
			return nil // stay silent; the owner was told recently
		}
		return err
	}
	return h.k.InTx(ctx, func(ctx context.Context) error {
		data := h.k.RequestEmail(r)
		data.Link = h.k.Absolute(h.k.Path(pathLogin))
		if err := h.k.Queue(ctx, "register_exists", u.Email, data); err != nil {
			return err
		}
		return h.k.Audit.Record(ctx, audit.Event{Action: audit.ActionRegister, SubjectID: u.ID, Outcome: audit.OutcomeFailure, Metadata: map[string]string{"reason": "address_taken"}})
	})
}

// checkNewPassword checks a new password against the policy. A refused
// password is answered with refuse (422, code "weak_password:<reason>",
// the policy's message on the password field); another failure (a breach
// check that could not run) with Error. ok is false when it answered.
func (h *Handler) checkNewPassword(w http.ResponseWriter, r *http.Request, pw, email string, refuse func(status int, code, msg string, fields map[string]string)) bool {
	err := h.pw.Check(r.Context(), pw, password.Context{Email: email})
	if err == nil {
		return true
	}
	var pe *password.PolicyError
	if errors.As(err, &pe) {
		refuse(http.StatusUnprocessableEntity, "weak_password:"+string(pe.Reason), "Choose a different password.", map[string]string{"password": pe.Message})
		return false
	}
	h.k.Error(w, r, err)
	return false
}

// hashNewPassword hashes a checked password through the bounded pool,
// answering a failure (503 when the pool is full). ok is false when it
// answered.
func (h *Handler) hashNewPassword(w http.ResponseWriter, r *http.Request, pw string) (string, bool) {
	hash, err := h.pw.Hash(r.Context(), pw)
	if err != nil {
		h.k.Error(w, r, err)
		return "", false
	}
	return hash, true
}

// newPasswordHash checks a new password against the policy and hashes it
// (see checkNewPassword and hashNewPassword). ok is false when it
// answered.
func (h *Handler) newPasswordHash(w http.ResponseWriter, r *http.Request, pw, email string, refuse func(status int, code, msg string, fields map[string]string)) (string, bool) {
	if !h.checkNewPassword(w, r, pw, email, refuse) {
		return "", false
	}
	return h.hashNewPassword(w, r, pw)
}

// sendConfirmation replaces the user's confirmation link and code with new
// ones and queues the email carrying both, in the transaction ctx carries.
func (h *Handler) sendConfirmation(ctx context.Context, data *ui.Email, userID, email string) error {
	if _, err := h.st.DeleteUserTokens(ctx, userID, store.PurposeConfirm, store.PurposeConfirmCode); err != nil {
		return err
	}
	now := h.k.Now()
	tok, err := token.New()
	if err != nil {
		return err
	}
	code, err := token.NewCode(codeDigits)
	if err != nil {
		return err
	}
	exp := now.Add(h.cfg.ConfirmTTL)
	if err := h.st.CreateToken(ctx, &store.Token{Digest: token.Digest(tok), Purpose: store.PurposeConfirm, UserID: userID, SentTo: email, CreatedAt: now, ExpiresAt: exp}); err != nil {
		return err
	}
	if err := h.st.CreateToken(ctx, &store.Token{Digest: token.CodeDigest(store.PurposeConfirmCode, userID, code), Purpose: store.PurposeConfirmCode, UserID: userID, SentTo: email, CreatedAt: now, ExpiresAt: exp}); err != nil {
		return err
	}
	data.Link = h.k.Link(pathConfirm, tok)
	data.Code = code
	data.ExpiresIn = kernel.TTLText(h.cfg.ConfirmTTL)
	return h.k.Queue(ctx, "confirm", email, data)
}

// confirmData is the data of the confirm page for the request: the
// signed-in user's address, if any.
func (h *Handler) confirmData(r *http.Request) *ConfirmData {
	d := &ConfirmData{CodeLength: codeDigits, CanResend: true}
	if u := sigra.UserFrom(r.Context()); u != nil {
		d.Email = u.Email
	}
	return d
}

// confirmPage shows the confirmation page: with ?token=, a button that
// POSTs it (mail scanners follow GET links, so GET changes nothing);
// otherwise the code form.
func (h *Handler) confirmPage(w http.ResponseWriter, r *http.Request) {
	d := h.confirmData(r)
	body := map[string]any{"ok": true, "code_length": d.CodeLength}
	if tok := r.URL.Query().Get("token"); tok != "" {
		if _, ok := h.k.LiveLink(w, r, h.st, tok, store.PurposeConfirm, h.expired); !ok {
			return
		}
		d.Token = tok
	}
	if d.Email != "" {
		body["email"] = d.Email
	}
	h.k.Render(w, r, http.StatusOK, "confirm", h.k.Page(r, "Confirm your email", d), body)
}

// confirm consumes a confirmation link token, or checks a code typed by
// the user (signed in, or naming the address), and marks the address
// confirmed. The token or code must have been sent to the user's current
// address.
func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	p := h.k.Page(r, "Confirm your email", h.confirmData(r))
	if err != nil {
		h.k.BadForm(w, r, "confirm", kernel.Built(p))
		return
	}
	p.Values = map[string]string{"email": in["email"]}
	now := h.k.Now()
	var t *store.Token // a code's token, spent by confirmCode
	tok := in["token"]
	if tok != "" {
		w.Header().Set("Referrer-Policy", "no-referrer")
		if !token.Valid(tok) {
			h.expired(w, r)
			return
		}
	} else if t = h.confirmCode(w, r, in, p); t == nil {
		return // answered
	}
	var u *store.User
	err = h.k.InTx(ctx, func(ctx context.Context) error {
		if t == nil {
			var err error
			if t, err = h.st.ConsumeToken(ctx, store.PurposeConfirm, token.Digest(tok), now); err != nil {
				return err
			}
		}
		if err := h.st.ConfirmEmail(ctx, t.UserID, t.SentTo, now); err != nil {
			return err
		}
		if _, err := h.st.DeleteUserTokens(ctx, t.UserID, store.PurposeConfirm, store.PurposeConfirmCode); err != nil {
			return err
		}
		var err error
		if u, err = h.st.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		return h.k.Record(ctx, audit.ActionConfirm, t.UserID, t.UserID, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		// Unknown, used or expired, or the address changed since the
		// token was sent.
		h.expired(w, r)
		return
	}
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	if h.cfg.Hooks.AfterConfirm != nil {
		h.cfg.Hooks.AfterConfirm(ctx, publicUser(u))
	}
	target := h.k.Path(pathLogin)
	if a := sigra.AuthFrom(ctx); a.SignedIn() && a.User.ID == u.ID {
		target = h.k.Site.Home()
	}
	kernel.Redirect(w, r, kernel.WithNotice(target, "confirmed"), nil)
}

// confirmCode checks a typed code and returns its (spent) token. It
// returns nil after answering the request itself (bad input, wrong code,
// limit reached, store failure).
func (h *Handler) confirmCode(w http.ResponseWriter, r *http.Request, in kernel.Input, p *ui.Page) *store.Token {
	ctx := r.Context()
	code, err := token.NormalizeCode(in["code"], codeDigits)
	if err != nil {
		h.k.FormError(w, r, http.StatusUnprocessableEntity, "confirm", kernel.Built(p), "invalid_code", "Enter the 6-digit code from the email.", map[string]string{"code": "Enter the 6-digit code from the email."})
		return nil
	}
	// The limit is keyed by the address, known or not, so that reaching it
	// says nothing about whether an account holds the address.
	var userID, email string
	if u := sigra.AuthFrom(ctx).User; u != nil {
		userID, email = u.ID, u.Email
	} else {
		var ok bool
		if email, ok = kernel.LookupEmail(in["email"]); !ok {
			h.k.FormError(w, r, http.StatusUnprocessableEntity, "confirm", kernel.Built(p), "invalid_input", "Enter the address the code was sent to.", map[string]string{"email": "Enter the address the code was sent to."})
			return nil
		}
	}
	if err := h.k.Limiter.Check(ctx, "confirm-code:"+store.NormalizeEmail(email), h.cfg.Limits.CodePerUser); err != nil {
		var le *middleware.LimitError
		if errors.As(err, &le) {
			w.Header().Set("Retry-After", strconv.Itoa(int((le.RetryAfter+time.Second-1)/time.Second)))
			h.k.FormError(w, r, http.StatusTooManyRequests, "confirm", kernel.Built(p), "rate_limited", "Too many attempts. Wait 15 minutes or use the link in the email.", nil)
			return nil
		}
		h.k.Error(w, r, err)
		return nil
	}
	wrong := func() {
		h.k.FormError(w, r, http.StatusUnprocessableEntity, "confirm", kernel.Built(p), "invalid_code", "That code is not valid.", map[string]string{"code": "That code is not valid."})
	}
	if userID == "" {
		u, err := h.st.UserByEmail(ctx, email)
		if errors.Is(err, store.ErrNotFound) {
			wrong()
			return nil
		}
		if err != nil {
			h.k.Error(w, r, err)
			return nil
		}
		userID = u.ID
	}
	t, err := h.st.ConsumeCode(ctx, userID, store.PurposeConfirmCode, token.CodeDigest(store.PurposeConfirmCode, userID, code), h.cfg.CodeMaxAttempts, h.k.Now())
	if errors.Is(err, store.ErrNotFound) {
		h.k.RecordFailure(ctx, audit.ActionConfirm, userID, userID, map[string]string{"method": "code"})
		wrong()
		return nil
	}
	if err != nil {
		h.k.Error(w, r, err)
		return nil
	}
	return t
}

// resend sends a new confirmation email to the session's user, or to the
// named address if an unconfirmed account holds it. The answer, and the
// work done before it, are the same either way: the email is sent by a
// job run after the answer (see jobs.go), which does nothing for an
// unknown, confirmed or disabled account.
func (h *Handler) resend(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	if err != nil {
		h.k.BadInput(w, r)
		return
	}
	email, ok := kernel.LookupEmail(in["email"])
	if u := sigra.AuthFrom(ctx).User; u != nil {
		email, ok = u.Email, true
	}
	if !ok {
		// The page's resend form names its address field resend_email.
		key := "resend_email"
		if web.WantsJSON(r) {
			key = "email"
		}
		h.k.FormError(w, r, http.StatusUnprocessableEntity, "confirm", kernel.Built(h.k.Page(r, "Confirm your email", h.confirmData(r))),
			"invalid_input", "Enter the address to send the email to.", map[string]string{key: "Enter a valid email address, like name@example.com."})
		return
	}
	i, err := h.k.Limiter.CheckAll(ctx, h.emailLimits(r, email))
	if err == nil {
		err = h.k.Later(ctx, jobConfirm, email, nil)
	}
	if err != nil && !(errors.Is(err, middleware.ErrLimited) && i == 1) {
		h.k.Error(w, r, err)
		return
	}
	target := h.k.Path(pathConfirm)
	if sigra.UserFrom(ctx) == nil {
		target = h.k.Path(pathLogin)
	}
	kernel.Redirect(w, r, kernel.WithNotice(target, "resent"), map[string]any{"message": "If the address needs confirming, a new email is on its way."})
}

// expired answers a token that is unknown, used, expired or no longer
// matches the account.
func (h *Handler) expired(w http.ResponseWriter, r *http.Request) {
	if web.WantsJSON(r) {
		h.k.Fail(w, r, http.StatusGone, "link_expired", "This link has expired or was already used.")
		return
	}
	h.k.UI.Render(w, r, http.StatusGone, "link_expired", h.k.Page(r, "Link expired", nil))
}
