package account

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request) {
	h.k.Render(w, r, http.StatusOK, "forgot", h.k.Page(r, "Reset your password", nil), nil)
}

// emailRequest reads the address of a reset or magic-link request (whose
// form is page, titled title) and applies the per-IP and per-address
// limits. It returns "" after answering the request itself. A request over
// the per-address limit gets the same answer as any other (the address's
// owner is not flooded, and the limit reveals nothing): limited reports
// it.
func (h *Handler) emailRequest(w http.ResponseWriter, r *http.Request, page, title string) (email string, limited bool) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	p := h.k.Page(r, title, nil)
	if err != nil {
		h.k.BadForm(w, r, page, kernel.Built(p))
		return "", false
	}
	p.Values = map[string]string{"email": in["email"]}
	email, ok := kernel.LookupEmail(in["email"])
	if !ok {
		h.k.FormError(w, r, http.StatusUnprocessableEntity, page, kernel.Built(p), "invalid_input", "Check the highlighted fields.", map[string]string{"email": "Enter a valid email address, like name@example.com."})
		return "", false
	}
	i, err := h.k.Limiter.CheckAll(ctx, h.emailLimits(r, email))
	if errors.Is(err, middleware.ErrLimited) && i == 1 {
		return email, true
	}
	if err != nil {
		h.k.Error(w, r, err)
		return "", false
	}
	return email, false
}

// emailLimits are the limits of a request that emails address: the
// client's address (a refusal answers 429), then the recipient's (a
// refusal answers as if the email went, so that it tells nothing about
// the account). Counted together, in one write of the store (see
// middleware.RateLimiter.CheckAll), and in this order wherever both are.
func (h *Handler) emailLimits(r *http.Request, address string) []middleware.KeyLimit {
	return []middleware.KeyLimit{
		{Key: "email-ip:" + middleware.IPKey(h.k.Site.ClientIP(r)), Limit: h.cfg.Limits.EmailPerIP},
		{Key: "email-addr:" + store.NormalizeEmail(address), Limit: h.cfg.Limits.EmailPerAddress},
	}
}

// forgot starts a password reset. The answer, and the work done before
// it, are the same whether or not an account holds the address: the
// reset itself is a job run after the answer (see jobs.go).
func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) {
	email, limited := h.emailRequest(w, r, "forgot", "Reset your password")
	if email == "" {
		return
	}
	if !limited {
		if err := h.k.Later(r.Context(), jobReset, email, nil); err != nil {
			h.k.Error(w, r, err)
			return
		}
	}
	h.k.Render(w, r, http.StatusOK, "forgot_sent", h.k.Page(r, "Check your email", &SentData{Email: email}),
		map[string]any{"ok": true, "message": "If an account uses that address, a reset link is on its way."})
}

// startReset sends u a password reset link, as a request on the forgot
// page does: for flows that start a reset on the user's behalf.
func (h *Handler) startReset(r *http.Request, u *store.User) error {
	return h.sendEmailToken(r.Context(), u, store.PurposeReset, h.k.RequestEmail(r))
}

// emailToken is what sendEmailToken sends for a purpose.
type emailToken struct {
	ttl            time.Duration
	path, mailName string
	action         string
}

func (h *Handler) emailTokenKind(purpose string) emailToken {
	if purpose == store.PurposeMagicLink {
		return emailToken{h.cfg.MagicLinkTTL, pathMagicVerify, "magic_link", audit.ActionMagicLinkRequest}
	}
	return emailToken{h.cfg.ResetTTL, pathReset, "reset", audit.ActionPasswordResetRequest}
}

// sendEmailToken creates a single-use token of purpose (a reset or a
// sign-in link) bound to u's current address and queues the email
// carrying its link, in one transaction with its audit row. base is the
// email's data about the request.
func (h *Handler) sendEmailToken(ctx context.Context, u *store.User, purpose string, base *ui.Email) error {
	kind := h.emailTokenKind(purpose)
	tok, err := token.New()
	if err != nil {
		return err
	}
	now := h.k.Now()
	return h.k.InTx(ctx, func(ctx context.Context) error {
		// One live token per purpose: a new request replaces the last.
		if _, err := h.st.DeleteUserTokens(ctx, u.ID, purpose); err != nil {
			return err
		}
		if err := h.st.CreateToken(ctx, &store.Token{Digest: token.Digest(tok), Purpose: purpose, UserID: u.ID, SentTo: u.Email, CreatedAt: now, ExpiresAt: now.Add(kind.ttl)}); err != nil {
			return err
		}
		base.Link = h.k.Link(kind.path, tok)
		base.ExpiresIn = kernel.TTLText(kind.ttl)
		if err := h.k.Queue(ctx, kind.mailName, u.Email, base); err != nil {
			return err
		}
		return h.k.Record(ctx, kind.action, "", u.ID, nil)
	})
}

// resetPage shows the new-password form for a live reset link, or "link
// expired". The page never leaks the token through the Referer header.
func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if _, ok := h.k.LiveLink(w, r, h.st, tok, store.PurposeReset, h.resetExpired); !ok {
		return
	}
	n := h.pw.MinLength()
	h.k.Render(w, r, http.StatusOK, "reset", h.k.Page(r, "Choose a new password", &ResetData{Token: tok, MinPasswordLength: n}),
		map[string]any{"ok": true, "min_password_length": n})
}

// reset completes a password reset. It never signs the user in: it sets
// the password, revokes every session and outstanding token, has the
// second factor forget every trusted browser, ends a lockout, confirms the
// address the link was sent to, and emails a notice, all in one
// transaction that also consumes the token (a second tab with the same
// link then finds it expired).
func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, tok, ok := h.k.OpenLink(w, r, h.resetExpired)
	if !ok {
		return
	}
	digest := token.Digest(tok)
	now := h.k.Now()
	t, err := h.st.PeekToken(ctx, store.PurposeReset, digest, now)
	if errors.Is(err, store.ErrNotFound) {
		h.resetExpired(w, r)
		return
	}
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	p := h.k.Page(r, "Choose a new password", &ResetData{Token: tok, MinPasswordLength: h.pw.MinLength()})
	if in["password"] == "" {
		h.k.FormError(w, r, http.StatusUnprocessableEntity, "reset", kernel.Built(p), "invalid_input", "Choose a new password.", map[string]string{"password": "Choose a new password."})
		return
	}
	hash, ok := h.newPasswordHash(w, r, in["password"], t.SentTo, func(status int, code, msg string, fields map[string]string) {
		h.k.FormError(w, r, status, "reset", kernel.Built(p), code, msg, fields)
	})
	if !ok {
		return
	}
	var u *store.User
	err = h.k.InTx(ctx, func(ctx context.Context) error {
		t, err := h.st.ConsumeToken(ctx, store.PurposeReset, digest, now)
		if err != nil {
			return err
		}
		if u, err = h.st.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		if store.NormalizeEmail(u.Email) != store.NormalizeEmail(t.SentTo) {
			return store.ErrNotFound // sent to an address the account no longer has
		}
		if err := h.st.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
			return err
		}
		if err := h.k.ClearPasswordLock(ctx, u); err != nil {
			return err
		}
		if err := h.st.ConfirmEmail(ctx, u.ID, u.Email, now); err != nil {
			return err
		}
		if _, err := h.st.RevokeUserSessions(ctx, u.ID, nil, now); err != nil {
			return err
		}
		if _, err := h.st.DeleteUserTokens(ctx, u.ID); err != nil {
			return err
		}
		if sf := h.cfg.SecondFactor; sf != nil {
			// A reset by whoever reads the mailbox also ends the trust
			// of the browsers that skip the second factor.
			if err := sf.ForgetTrust(ctx, u.ID); err != nil {
				return err
			}
		}
		if err := h.k.Record(ctx, audit.ActionPasswordResetComplete, "", u.ID, nil); err != nil {
			return err
		}
		notice := h.k.RequestEmail(r)
		notice.Link = h.k.Absolute(h.k.Path(pathForgot))
		return h.k.Queue(ctx, "password_reset_done", u.Email, notice)
	})
	if errors.Is(err, store.ErrNotFound) {
		h.resetExpired(w, r)
		return
	}
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	// The browser that completed the reset may hold a session of this user:
	// it was revoked above; forget it here too.
	if a := sigra.AuthFrom(ctx); a.User != nil && a.User.ID == u.ID {
		if err := h.k.Sess.SignOut(ctx); err != nil {
			h.k.LogFailure(ctx, "sign out after reset failed", err)
		}
	}
	if h.cfg.Hooks.AfterPasswordReset != nil {
		h.cfg.Hooks.AfterPasswordReset(ctx, publicUser(u))
	}
	kernel.Redirect(w, r, kernel.WithNotice(h.k.Path(pathLogin), "reset"), map[string]any{"message": "Your password was changed. Sign in with the new one."})
}

// resetExpired answers a reset link that is unknown, used, expired or no
// longer matches the account.
func (h *Handler) resetExpired(w http.ResponseWriter, r *http.Request) {
	if web.WantsJSON(r) {
		h.k.Fail(w, r, http.StatusGone, "link_expired", "This link has expired or was already used.")
		return
	}
	h.k.UI.Render(w, r, http.StatusGone, "reset_expired", h.k.Page(r, "Link expired", nil))
}
