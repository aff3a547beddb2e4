package account

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/flow"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// codeDigits is the length of emailed confirmation codes.
const codeDigits = 6

func (h *Handler) registerPage(w http.ResponseWriter, r *http.Request) {
	h.ui.Render(w, r, http.StatusOK, "register", h.x.Page(r, "Create your account", &ui.RegisterData{MinPasswordLength: h.pw.MinLength()}))
}

// register creates an account. The answer is the same whether or not the
// address is taken: an existing owner gets a "someone tried to register"
// email instead of a confirmation, and the same hashing work is done.
func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := h.x.Page(r, "Create your account", &ui.RegisterData{MinPasswordLength: h.pw.MinLength()})
	in, err := flow.ReadInput(r)
	if err != nil {
		h.x.FormError(w, r, http.StatusBadRequest, "register", p, "invalid_input", "The form could not be read. Reload the page and try again.", nil)
		return
	}
	p.Values = map[string]string{"email": in["email"]}
	email, ok := flow.ParseEmail(in["email"])
	fields := map[string]string{}
	if !ok {
		fields["email"] = "Enter a valid email address, like name@example.com."
	}
	if in["password"] == "" {
		fields["password"] = "Choose a password."
	}
	if len(fields) > 0 {
		h.x.FormError(w, r, http.StatusUnprocessableEntity, "register", p, "invalid_input", "Check the highlighted fields.", fields)
		return
	}
	if err := h.rl.Check(ctx, "register-ip:"+middleware.IPKey(h.rl.ClientIP(r)), h.cfg.Limits.RegisterPerIP.N, h.cfg.Limits.RegisterPerIP.Window); err != nil {
		h.x.Error(w, r, err)
		return
	}
	// Hash in both cases, so the answer takes the same time.
	hash, ok := h.newPasswordHash(w, r, in["password"], email, func(status int, code, msg string, fields map[string]string) {
		h.x.FormError(w, r, status, "register", p, code, msg, fields)
	})
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
		h.x.Error(w, r, err)
		return
	}
	if created != nil && h.cfg.Hooks.AfterRegister != nil {
		h.cfg.Hooks.AfterRegister(ctx, created)
	}
	h.x.Render(w, r, http.StatusOK, "register_done", h.x.Page(r, "Check your email", &ui.SentData{Email: email}),
		map[string]any{"ok": true, "message": "Check your email to confirm your address."})
}

func (h *Handler) registerNew(ctx context.Context, r *http.Request, email, hash string) (*store.User, error) {
	// CreatedAt is the "now" at which the store checks other users'
	// reservations of the address: it comes from the injected clock.
	now := h.now()
	u := &store.User{Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	err := h.st.WithTx(ctx, func(tx store.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := h.sendConfirmation(ctx, tx, r, u); err != nil {
			return err
		}
		return h.record(ctx, tx, audit.ActionRegister, u.ID, u.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// registerExisting tells the owner of a taken address that someone tried
// to register with it, at most EmailPerAddress times per window.
func (h *Handler) registerExisting(ctx context.Context, r *http.Request, u *store.User) error {
	if err := h.rl.Check(ctx, "email-addr:"+store.NormalizeEmail(u.Email), h.cfg.Limits.EmailPerAddress.N, h.cfg.Limits.EmailPerAddress.Window); err != nil {
		if errors.Is(err, middleware.ErrLimited) {
			return nil // stay silent; the owner was told recently
		}
		return err
	}
	return h.st.WithTx(ctx, func(tx store.Store) error {
		data := h.reqEmail(r)
		data.Link = h.absolute(h.links.Login)
		if err := h.queue(ctx, tx, "register_exists", u.Email, data); err != nil {
			return err
		}
		return h.audit.Record(ctx, tx, audit.Event{Action: audit.ActionRegister, SubjectID: u.ID, Outcome: audit.OutcomeFailure, Metadata: map[string]string{"reason": "address_taken"}})
	})
}

// absolute turns a local path into a URL under the configured base URL.
func (h *Handler) absolute(path string) string {
	u := *h.base
	u.Path = h.base.Path + path
	return u.String()
}

// sendConfirmation replaces the user's confirmation link and code with new
// ones and queues the email carrying both, through tx.
func (h *Handler) sendConfirmation(ctx context.Context, tx store.Store, r *http.Request, u *store.User) error {
	if _, err := tx.DeleteUserTokens(ctx, u.ID, store.PurposeConfirm, store.PurposeConfirmCode); err != nil {
		return err
	}
	now := h.now()
	tok, err := token.New()
	if err != nil {
		return err
	}
	code, err := token.NewCode(codeDigits)
	if err != nil {
		return err
	}
	exp := now.Add(h.cfg.ConfirmTTL)
	if err := tx.CreateToken(ctx, &store.Token{Digest: token.Digest(tok), Purpose: store.PurposeConfirm, UserID: u.ID, SentTo: u.Email, CreatedAt: now, ExpiresAt: exp}); err != nil {
		return err
	}
	if err := tx.CreateToken(ctx, &store.Token{Digest: token.CodeDigest(store.PurposeConfirmCode, u.ID, code), Purpose: store.PurposeConfirmCode, UserID: u.ID, SentTo: u.Email, CreatedAt: now, ExpiresAt: exp}); err != nil {
		return err
	}
	data := h.reqEmail(r)
	data.Link = h.link("/confirm", tok)
	data.Code = code
	data.ExpiresIn = flow.TTLText(h.cfg.ConfirmTTL)
	return h.queue(ctx, tx, "confirm", u.Email, data)
}

// confirmPage shows the confirmation page: with ?token=, a button that
// POSTs it (mail scanners follow GET links, so GET changes nothing);
// otherwise the code form.
func (h *Handler) confirmPage(w http.ResponseWriter, r *http.Request) {
	data := &ui.ConfirmData{CodeLength: codeDigits, CanResend: true}
	if tok := r.URL.Query().Get("token"); tok != "" {
		if _, ok := h.liveLink(w, r, tok, store.PurposeConfirm, h.expired); !ok {
			return
		}
		data.Token = tok
	}
	if u := sigra.UserFrom(r.Context()); u != nil {
		data.Email = u.Email
	}
	h.ui.Render(w, r, http.StatusOK, "confirm", h.x.Page(r, "Confirm your email", data))
}

// confirm consumes a confirmation link token, or checks a code typed by
// the user (signed in, or naming the address), and marks the address
// confirmed. The token or code must have been sent to the user's current
// address.
func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	data := &ui.ConfirmData{CodeLength: codeDigits, CanResend: true}
	p := h.x.Page(r, "Confirm your email", data)
	in, err := flow.ReadInput(r)
	if err != nil {
		h.x.FormError(w, r, http.StatusBadRequest, "confirm", p, "invalid_input", "The form could not be read. Reload the page and try again.", nil)
		return
	}
	p.Values = map[string]string{"email": in["email"]}
	if u := sigra.UserFrom(ctx); u != nil {
		data.Email = u.Email
	}
	now := h.now()
	var t *store.Token
	if tok := in["token"]; tok != "" {
		if !token.Valid(tok) {
			h.expired(w, r)
			return
		}
		t, err = h.st.ConsumeToken(ctx, store.PurposeConfirm, token.Digest(tok), now)
		if errors.Is(err, store.ErrNotFound) {
			h.expired(w, r)
			return
		}
	} else {
		t, err = h.confirmCode(w, r, in, p)
		if t == nil && err == nil {
			return // answered
		}
	}
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	var u *store.User
	err = h.st.WithTx(ctx, func(tx store.Store) error {
		if err := tx.ConfirmEmail(ctx, t.UserID, t.SentTo, now); err != nil {
			return err
		}
		if _, err := tx.DeleteUserTokens(ctx, t.UserID, store.PurposeConfirm, store.PurposeConfirmCode); err != nil {
			return err
		}
		var err error
		if u, err = tx.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		return h.record(ctx, tx, audit.ActionConfirm, t.UserID, t.UserID, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		// The address changed since the token was sent.
		h.expired(w, r)
		return
	}
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	if h.cfg.Hooks.AfterConfirm != nil {
		h.cfg.Hooks.AfterConfirm(ctx, u)
	}
	target := h.links.Login
	if a := sigra.AuthFrom(ctx); a.SignedIn() && a.User.ID == u.ID {
		target = h.cfg.AfterSignInPath
	}
	flow.Redirect(w, r, flow.WithNotice(target, "confirmed"), nil)
}

// confirmCode checks a typed code. It returns (nil, nil) after answering
// the request itself (bad input, wrong code, limit reached).
func (h *Handler) confirmCode(w http.ResponseWriter, r *http.Request, in flow.Input, p *ui.Page) (*store.Token, error) {
	ctx := r.Context()
	code, err := token.NormalizeCode(in["code"], codeDigits)
	if err != nil {
		h.x.FormError(w, r, http.StatusUnprocessableEntity, "confirm", p, "invalid_code", "Enter the 6-digit code from the email.", map[string]string{"code": "Enter the 6-digit code from the email."})
		return nil, nil
	}
	// The limit is keyed by the address, known or not, so that reaching it
	// says nothing about whether an account holds the address.
	var userID, email string
	if a := sigra.AuthFrom(ctx); a.User != nil {
		userID, email = a.User.ID, a.User.Email
	} else {
		var ok bool
		if email, ok = flow.ParseEmail(in["email"]); !ok {
			h.x.FormError(w, r, http.StatusUnprocessableEntity, "confirm", p, "invalid_input", "Enter the address the code was sent to.", map[string]string{"email": "Enter the address the code was sent to."})
			return nil, nil
		}
	}
	if err := h.rl.Check(ctx, "confirm-code:"+store.NormalizeEmail(email), h.cfg.Limits.CodePerUser.N, h.cfg.Limits.CodePerUser.Window); err != nil {
		var le *middleware.LimitError
		if errors.As(err, &le) {
			w.Header().Set("Retry-After", strconv.Itoa(int((le.RetryAfter+time.Second-1)/time.Second)))
			h.x.FormError(w, r, http.StatusTooManyRequests, "confirm", p, "rate_limited", "Too many attempts. Wait 15 minutes or use the link in the email.", nil)
			return nil, nil
		}
		return nil, err
	}
	if userID == "" {
		u, err := h.st.UserByEmail(ctx, email)
		if errors.Is(err, store.ErrNotFound) {
			h.x.FormError(w, r, http.StatusUnprocessableEntity, "confirm", p, "invalid_code", "That code is not valid.", map[string]string{"code": "That code is not valid."})
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		userID = u.ID
	}
	t, err := h.st.ConsumeCode(ctx, userID, store.PurposeConfirmCode, token.CodeDigest(store.PurposeConfirmCode, userID, code), h.cfg.CodeMaxAttempts, h.now())
	if errors.Is(err, store.ErrNotFound) {
		h.recordFailure(ctx, audit.ActionConfirm, userID, userID, map[string]string{"method": "code"})
		h.x.FormError(w, r, http.StatusUnprocessableEntity, "confirm", p, "invalid_code", "That code is not valid.", map[string]string{"code": "That code is not valid."})
		return nil, nil
	}
	return t, err
}

// resend sends a new confirmation email to the signed-in user, or to the
// named address if an unconfirmed account holds it; the answer is the same
// either way.
func (h *Handler) resend(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := flow.ReadInput(r)
	if err != nil {
		h.x.Fail(w, r, http.StatusBadRequest, "invalid_input", "The form could not be read. Reload the page and try again.")
		return
	}
	signedIn := sigra.AuthFrom(ctx).User != nil
	email, ok := flow.ParseEmail(in["email"])
	if !signedIn && !ok {
		// The page's resend form names its address field resend_email.
		key := "resend_email"
		if web.WantsJSON(r) {
			key = "email"
		}
		h.x.FormError(w, r, http.StatusUnprocessableEntity, "confirm", h.x.Page(r, "Confirm your email", &ui.ConfirmData{CodeLength: codeDigits, CanResend: true}),
			"invalid_input", "Enter the address to send the email to.", map[string]string{key: "Enter a valid email address, like name@example.com."})
		return
	}
	if err := h.rl.Check(ctx, "email-ip:"+middleware.IPKey(h.rl.ClientIP(r)), h.cfg.Limits.EmailPerIP.N, h.cfg.Limits.EmailPerIP.Window); err != nil {
		h.x.Error(w, r, err)
		return
	}
	var u *store.User
	if signedIn {
		u = h.sess.User(ctx)
	} else if found, err := h.st.UserByEmail(ctx, email); err == nil {
		u = found
	} else if !errors.Is(err, store.ErrNotFound) {
		h.x.Error(w, r, err)
		return
	}
	if u != nil && u.EmailConfirmedAt.IsZero() {
		err := h.rl.Check(ctx, "email-addr:"+store.NormalizeEmail(u.Email), h.cfg.Limits.EmailPerAddress.N, h.cfg.Limits.EmailPerAddress.Window)
		if err == nil {
			err = h.st.WithTx(ctx, func(tx store.Store) error { return h.sendConfirmation(ctx, tx, r, u) })
		}
		if err != nil && !errors.Is(err, middleware.ErrLimited) {
			h.x.Error(w, r, err)
			return
		}
	}
	target := h.links.Confirm
	if sigra.UserFrom(ctx) == nil {
		target = h.links.Login
	}
	flow.Redirect(w, r, flow.WithNotice(target, "resent"), map[string]any{"message": "If the address needs confirming, a new email is on its way."})
}

// expired answers a token that is unknown, used, expired or no longer
// matches the account.
func (h *Handler) expired(w http.ResponseWriter, r *http.Request) {
	if web.WantsJSON(r) {
		h.x.Fail(w, r, http.StatusGone, "link_expired", "This link has expired or was already used.")
		return
	}
	h.ui.Render(w, r, http.StatusGone, "link_expired", h.x.Page(r, "Link expired", nil))
}
