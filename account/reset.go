package account

import (
	"context"
	"errors"
	"net/http"
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

func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request) {
	h.ui.Render(w, r, http.StatusOK, "forgot", h.x.Page(r, "Reset your password", nil))
}

// emailRequest reads the address of a reset or magic-link request and
// applies the per-IP and per-address limits. It returns "" after
// answering the request itself. A request over the per-address limit gets
// the same answer as any other (the address's owner is not flooded, and
// the limit reveals nothing).
func (h *Handler) emailRequest(w http.ResponseWriter, r *http.Request, page string, p *ui.Page) (email string, limited bool) {
	ctx := r.Context()
	in, err := flow.ReadInput(r)
	if err != nil {
		h.x.FormError(w, r, http.StatusBadRequest, page, p, "invalid_input", "The form could not be read. Reload the page and try again.", nil)
		return "", false
	}
	p.Values = map[string]string{"email": in["email"]}
	email, ok := flow.ParseEmail(in["email"])
	if !ok {
		h.x.FormError(w, r, http.StatusUnprocessableEntity, page, p, "invalid_input", "Check the highlighted fields.", map[string]string{"email": "Enter a valid email address, like name@example.com."})
		return "", false
	}
	if err := h.rl.Check(ctx, "email-ip:"+middleware.IPKey(h.rl.ClientIP(r)), h.cfg.Limits.EmailPerIP.N, h.cfg.Limits.EmailPerIP.Window); err != nil {
		h.x.Error(w, r, err)
		return "", false
	}
	err = h.rl.Check(ctx, "email-addr:"+store.NormalizeEmail(email), h.cfg.Limits.EmailPerAddress.N, h.cfg.Limits.EmailPerAddress.Window)
	if errors.Is(err, middleware.ErrLimited) {
		return email, true
	}
	if err != nil {
		h.x.Error(w, r, err)
		return "", false
	}
	return email, false
}

// forgot starts a password reset. The answer is the same whether or not
// an account holds the address.
func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := h.x.Page(r, "Reset your password", nil)
	email, limited := h.emailRequest(w, r, "forgot", p)
	if email == "" {
		return
	}
	if !limited {
		if err := h.sendEmailToken(ctx, r, email, store.PurposeReset, h.cfg.ResetTTL, "/password/reset", "reset", audit.ActionPasswordResetRequest); err != nil {
			h.x.Error(w, r, err)
			return
		}
	}
	h.x.Render(w, r, http.StatusOK, "forgot_sent", h.x.Page(r, "Check your email", &ui.SentData{Email: email}),
		map[string]any{"ok": true, "message": "If an account uses that address, a reset link is on its way."})
}

// sendEmailToken creates a single-use token bound to the account's current
// address and queues the email carrying its link, in one transaction, if
// an account holds email. Otherwise it does nothing.
func (h *Handler) sendEmailToken(ctx context.Context, r *http.Request, email, purpose string, d time.Duration, path, mailName, action string) error {
	u, err := h.st.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !u.DisabledAt.IsZero() {
		return nil
	}
	tok, err := token.New()
	if err != nil {
		return err
	}
	now := h.now()
	return h.st.WithTx(ctx, func(tx store.Store) error {
		// One live token per purpose: a new request replaces the last.
		if _, err := tx.DeleteUserTokens(ctx, u.ID, purpose); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, &store.Token{Digest: token.Digest(tok), Purpose: purpose, UserID: u.ID, SentTo: u.Email, CreatedAt: now, ExpiresAt: now.Add(d)}); err != nil {
			return err
		}
		data := h.reqEmail(r)
		data.Link = h.link(path, tok)
		data.ExpiresIn = flow.TTLText(d)
		if err := h.queue(ctx, tx, mailName, u.Email, data); err != nil {
			return err
		}
		return h.record(ctx, tx, action, "", u.ID, nil)
	})
}

// resetPage shows the new-password form for a live reset link, or "link
// expired". The page never leaks the token through the Referer header.
func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if _, ok := h.liveLink(w, r, tok, store.PurposeReset, h.resetExpired); !ok {
		return
	}
	h.ui.Render(w, r, http.StatusOK, "reset", h.x.Page(r, "Choose a new password", &ui.ResetData{Token: tok, MinPasswordLength: h.pw.MinLength()}))
}

// reset completes a password reset. It never signs the user in: it sets
// the password, revokes every session, outstanding token and trusted
// browser, confirms the address the link was sent to, and emails a notice,
// all in one transaction that also consumes the token (a second tab with
// the same link then finds it expired).
func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Referrer-Policy", "no-referrer")
	in, err := flow.ReadInput(r)
	if err != nil {
		h.x.Fail(w, r, http.StatusBadRequest, "invalid_input", "The form could not be read. Reload the page and try again.")
		return
	}
	tok := in["token"]
	if !token.Valid(tok) {
		h.resetExpired(w, r)
		return
	}
	digest := token.Digest(tok)
	now := h.now()
	t, err := h.st.PeekToken(ctx, store.PurposeReset, digest, now)
	if errors.Is(err, store.ErrNotFound) {
		h.resetExpired(w, r)
		return
	}
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	p := h.x.Page(r, "Choose a new password", &ui.ResetData{Token: tok, MinPasswordLength: h.pw.MinLength()})
	if in["password"] == "" {
		h.x.FormError(w, r, http.StatusUnprocessableEntity, "reset", p, "invalid_input", "Choose a new password.", map[string]string{"password": "Choose a new password."})
		return
	}
	hash, ok := h.newPasswordHash(w, r, in["password"], t.SentTo, func(status int, code, msg string, fields map[string]string) {
		h.x.FormError(w, r, status, "reset", p, code, msg, fields)
	})
	if !ok {
		return
	}
	var u *store.User
	err = h.st.WithTx(ctx, func(tx store.Store) error {
		t, err := tx.ConsumeToken(ctx, store.PurposeReset, digest, now)
		if err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		if store.NormalizeEmail(u.Email) != store.NormalizeEmail(t.SentTo) {
			return store.ErrNotFound // sent to an address the account no longer has
		}
		if err := tx.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
			return err
		}
		if err := tx.ClearFailures(ctx, u.ID, store.LockPassword, now); err != nil {
			return err
		}
		if err := tx.ConfirmEmail(ctx, u.ID, u.Email, now); err != nil {
			return err
		}
		if _, err := tx.RevokeUserSessions(ctx, u.ID, nil, now); err != nil {
			return err
		}
		if _, err := tx.DeleteUserTokens(ctx, u.ID); err != nil {
			return err
		}
		if _, err := tx.RevokeTrustedBrowsers(ctx, u.ID); err != nil {
			return err
		}
		if err := h.record(ctx, tx, audit.ActionPasswordResetComplete, "", u.ID, nil); err != nil {
			return err
		}
		notice := h.reqEmail(r)
		notice.Link = h.absolute(h.links.Forgot)
		return h.queue(ctx, tx, "password_reset_done", u.Email, notice)
	})
	if errors.Is(err, store.ErrNotFound) {
		h.resetExpired(w, r)
		return
	}
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	// The browser that completed the reset may hold a session of this user:
	// it was revoked above; forget it here too.
	if a := sigra.AuthFrom(ctx); a.User != nil && a.User.ID == u.ID {
		if err := h.sess.SignOut(ctx); err != nil {
			h.log.ErrorContext(ctx, "sign out after reset failed", "err", err)
		}
	}
	if h.cfg.Hooks.AfterPasswordReset != nil {
		h.cfg.Hooks.AfterPasswordReset(ctx, u)
	}
	flow.Redirect(w, r, flow.WithNotice(h.links.Login, "reset"), map[string]any{"message": "Your password was changed. Sign in with the new one."})
}

func (h *Handler) resetExpired(w http.ResponseWriter, r *http.Request) {
	if web.WantsJSON(r) {
		web.Error(w, http.StatusGone, "link_expired", "This link has expired or was already used.")
		return
	}
	h.ui.Render(w, r, http.StatusGone, "reset_expired", h.x.Page(r, "Link expired", nil))
}
