package account

import (
	"errors"
	"net/http"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/flow"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

func (h *Handler) magicPage(w http.ResponseWriter, r *http.Request) {
	h.ui.Render(w, r, http.StatusOK, "magic", h.x.Page(r, "Sign in with a link", nil))
}

// magicRequest emails a single-use sign-in link (15 minutes by default)
// if an account holds the address. The answer is the same either way.
func (h *Handler) magicRequest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := h.x.Page(r, "Sign in with a link", nil)
	email, limited := h.emailRequest(w, r, "magic", p)
	if email == "" {
		return
	}
	if !limited {
		if err := h.sendEmailToken(ctx, r, email, store.PurposeMagicLink, h.cfg.MagicLinkTTL, "/magic/verify", "magic_link", audit.ActionMagicLinkRequest); err != nil {
			h.x.Error(w, r, err)
			return
		}
	}
	h.x.Render(w, r, http.StatusOK, "magic_sent", h.x.Page(r, "Check your email", &ui.SentData{Email: email}),
		map[string]any{"ok": true, "message": "If an account uses that address, a sign-in link is on its way."})
}

// magicConfirmPage is where the emailed link lands. GET changes nothing
// (mail scanners follow links): it shows a button whose POST signs in.
func (h *Handler) magicConfirmPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if _, ok := h.liveLink(w, r, tok, store.PurposeMagicLink, h.expired); !ok {
		return
	}
	h.ui.Render(w, r, http.StatusOK, "magic_confirm", h.x.Page(r, "Continue signing in", &ui.TokenData{Token: tok}))
}

// magicVerify consumes the link's token (one statement: of two tabs, one
// wins), confirms the address it was sent to, and passes the first factor:
// a user with a second factor still has to present it.
func (h *Handler) magicVerify(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Referrer-Policy", "no-referrer")
	in, err := flow.ReadInput(r)
	if err != nil {
		h.badInput(w, r)
		return
	}
	if !token.Valid(in["token"]) {
		h.expired(w, r)
		return
	}
	now := h.now()
	t, err := h.st.ConsumeToken(ctx, store.PurposeMagicLink, token.Digest(in["token"]), now)
	if errors.Is(err, store.ErrNotFound) {
		h.recordFailure(ctx, audit.ActionMagicLinkLogin, "", "", map[string]string{"reason": "invalid_token"})
		h.expired(w, r)
		return
	}
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	u, err := h.st.UserByID(ctx, t.UserID)
	if err == nil && store.NormalizeEmail(u.Email) != store.NormalizeEmail(t.SentTo) {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		h.expired(w, r)
		return
	}
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	if u.EmailConfirmedAt.IsZero() {
		if err := h.st.ConfirmEmail(ctx, u.ID, u.Email, now); err != nil {
			h.x.Error(w, r, err)
			return
		}
		u.EmailConfirmedAt = now
	}
	if err := h.record(ctx, h.st, audit.ActionMagicLinkLogin, u.ID, u.ID, nil); err != nil {
		h.log.ErrorContext(ctx, "audit row not written", "err", err)
	}
	h.firstFactorPassed(w, r, u, sigra.MethodMagicLink, false, h.afterSignIn(r, in))
}
