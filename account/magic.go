package account

import (
	"context"
	"errors"
	"net/http"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

func (h *Handler) magicPage(w http.ResponseWriter, r *http.Request) {
	h.k.Render(w, r, http.StatusOK, "magic", h.k.Page(r, "Sign in with a link", nil), nil)
}

// magicRequest emails a single-use sign-in link (15 minutes by default)
// if an account holds the address. The answer, and the work done before
// it, are the same either way: the link is sent by a job run after the
// answer (see jobs.go).
func (h *Handler) magicRequest(w http.ResponseWriter, r *http.Request) {
	email, limited := h.emailRequest(w, r, "magic", "Sign in with a link")
	if email == "" {
		return
	}
	if !limited {
		if err := h.k.Later(r.Context(), jobMagic, email, nil); err != nil {
			h.k.Error(w, r, err)
			return
		}
	}
	h.k.Render(w, r, http.StatusOK, "magic_sent", h.k.Page(r, "Check your email", &SentData{Email: email}),
		map[string]any{"ok": true, "message": "If an account uses that address, a sign-in link is on its way."})
}

// magicConfirmPage is where the emailed link lands. GET changes nothing
// (mail scanners follow links): it shows a button whose POST signs in.
func (h *Handler) magicConfirmPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if _, ok := h.k.LiveLink(w, r, h.st, tok, store.PurposeMagicLink, h.expired); !ok {
		return
	}
	h.k.Render(w, r, http.StatusOK, "magic_confirm", h.k.Page(r, "Continue signing in", &TokenData{Token: tok}), nil)
}

// magicVerify consumes the link's token (one statement: of two tabs, one
// wins), confirms the address it was sent to, and passes the first factor:
// a user with a second factor still has to present it.
func (h *Handler) magicVerify(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, tok, ok := h.k.OpenLink(w, r, h.expired)
	if !ok {
		return
	}
	now := h.k.Now()
	var u *store.User
	err := h.k.InTx(ctx, func(ctx context.Context) error {
		t, err := h.st.ConsumeToken(ctx, store.PurposeMagicLink, token.Digest(tok), now)
		if err != nil {
			return err
		}
		if u, err = h.st.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		if store.NormalizeEmail(u.Email) != store.NormalizeEmail(t.SentTo) {
			return store.ErrNotFound // sent to an address the account no longer has
		}
		if u.EmailConfirmedAt.IsZero() {
			if err := h.st.ConfirmEmail(ctx, u.ID, u.Email, now); err != nil {
				return err
			}
			u.EmailConfirmedAt = now
		}
		return h.k.Record(ctx, audit.ActionMagicLinkLogin, u.ID, u.ID, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		h.k.RecordFailure(ctx, audit.ActionMagicLinkLogin, "", "", map[string]string{"reason": "invalid_token"})
		h.expired(w, r)
		return
	}
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	h.firstFactorPassed(w, r, u, sigra.MethodMagicLink, "", false, h.k.ReturnTo(r, in))
}
