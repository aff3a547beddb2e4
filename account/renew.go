package account

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/store"
)

// The page of a required password change (route password_renew): a user
// who signed in with a password found in a breach is sent here by the
// guards until they choose a new one (see BreachCheckConfig). It is not
// behind the guards itself, which would send the user back to it; it
// checks the session on its own.

// renewData is the page's data for the request's session.
func (h *Handler) renewData(r *http.Request) *RenewData {
	return &RenewData{
		MinPasswordLength: h.pw.MinLength(),
		// The sign-in that asked for the change is recent; a session
		// left on the page for longer proves the old password again.
		NeedCurrent: !sigra.AuthFrom(r.Context()).InSudo(h.k.Now(), h.k.Guard.SudoWindow()),
	}
}

// renewGate sends away a request that has nothing to do on the page: an
// anonymous one to sign in, one of a user who need not change their
// password to where it was going. ok is false when it answered.
func (h *Handler) renewGate(w http.ResponseWriter, r *http.Request, next string) bool {
	ctx := r.Context()
	if !sigra.AuthFrom(ctx).SignedIn() {
		if web.WantsJSON(r) {
			h.k.Fail(w, r, http.StatusUnauthorized, "unauthenticated", "Sign in to continue.")
			return false
		}
		target := h.k.Path(pathLogin)
		if next != h.k.Site.Home() {
			target += "?" + url.Values{"return_to": {next}}.Encode()
		}
		kernel.Redirect(w, r, target, nil)
		return false
	}
	if !h.k.Sess.PasswordChangeRequired(ctx) {
		kernel.Redirect(w, r, next, map[string]any{"password_change_required": false})
		return false
	}
	return true
}

func (h *Handler) renewPage(w http.ResponseWriter, r *http.Request) {
	if !h.renewGate(w, r, h.k.ReturnTo(r, nil)) {
		return
	}
	d := h.renewData(r)
	h.k.Render(w, r, http.StatusOK, "password_renew", h.k.Page(r, "Choose a new password", d),
		map[string]any{"password_change_required": true, "need_current_password": d.NeedCurrent, "min_password_length": d.MinPasswordLength})
}

// renew sets the new password of a user who must change theirs: the same
// change as from settings (every other session revoked, emailed links
// voided, the owner told by email), recorded with the reason "breached".
func (h *Handler) renew(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	d := h.renewData(r)
	p := h.k.Page(r, "Choose a new password", d)
	if err != nil {
		h.k.BadForm(w, r, "password_renew", kernel.Built(p))
		return
	}
	next := h.k.ReturnTo(r, in)
	if !h.renewGate(w, r, next) {
		return
	}
	refuse := func(status int, code, msg string, fields map[string]string) {
		h.k.FormError(w, r, status, "password_renew", kernel.Built(p), code, msg, fields)
	}
	u, err := h.current(ctx)
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	limit := h.passwordChangeLimit(u)
	if !h.countFirst(w, r, limit, d.NeedCurrent && in["current_password"] != "" && in["password"] != "") {
		return
	}
	fields := map[string]string{}
	if d.NeedCurrent && in["current_password"] == "" {
		fields["current_password"] = "Enter your current password."
	}
	if in["password"] == "" {
		fields["password"] = "Choose a new password."
	}
	if len(fields) > 0 {
		refuse(http.StatusUnprocessableEntity, "invalid_input", "Check the highlighted fields.", fields)
		return
	}
	if d.NeedCurrent && !h.checkCurrentPassword(w, r, u, in["current_password"], refuse, limit) {
		return
	}
	hash, ok := h.newPasswordHash(w, r, in["password"], u.Email, refuse)
	if !ok {
		return
	}
	if err := h.setPassword(ctx, r, u, hash, map[string]string{"reason": "breached"}); err != nil {
		h.k.Error(w, r, err)
		return
	}
	h.k.Sess.ClearPasswordChange(ctx)
	// This session continues under a new token with a fresh sudo time.
	if err := h.k.Sess.Sudo(ctx, sigra.MethodPassword); err != nil {
		h.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(next, "password_changed"), nil)
}

// passwordChangeLimit is the limit on u's password changes. Every attempt
// counts against it before anything is checked: one that gives the
// current password counts it with the password's attempt place (see
// checkCurrentPassword), any other on its own.
func (h *Handler) passwordChangeLimit(u *store.User) kernel.KeyLimit {
	return kernel.KeyLimit{Key: "pwchange:" + u.ID, Limit: h.cfg.Limits.PasswordChange}
}

// countFirst counts limit on its own, now, unless later: the attempt will
// reach a password check that counts the limit with the password's
// attempt place, in one write (see checkCurrentPassword). ok is false when
// it answered: over the limit, or the limiter failed.
func (h *Handler) countFirst(w http.ResponseWriter, r *http.Request, limit kernel.KeyLimit, later bool) bool {
	if later {
		return true
	}
	if err := h.k.Limiter.Check(r.Context(), limit.Key, limit.Limit); err != nil {
		h.k.Error(w, r, err)
		return false
	}
	return true
}

// checkCurrentPassword checks the current password a password change
// gives, counting a wrong one toward the lockout and auditing it, and
// answers a wrong one through refuse. The change's limit is counted with
// the password's attempt place, in one write of the kit's store (see
// kernel.Kernel.CheckPasswordAfter); one that refuses answers 429. ok is
// false when it answered.
func (h *Handler) checkCurrentPassword(w http.ResponseWriter, r *http.Request, u *store.User, plain string, refuse func(status int, code, msg string, fields map[string]string), limit kernel.KeyLimit) bool {
	ctx := r.Context()
	err := h.k.CheckPasswordAfter(ctx, r, h.pw, u, plain, h.passwordLockout(r), []kernel.KeyLimit{limit})
	switch {
	case errors.Is(err, sigra.ErrLockedOut):
		h.k.RecordFailure(ctx, audit.ActionPasswordChange, u.ID, u.ID, map[string]string{"reason": "locked"})
		refuse(http.StatusUnauthorized, "invalid_credentials", "Too many attempts. Try again later.", map[string]string{"current_password": "Too many attempts. Try again later."})
		return false
	case errors.Is(err, sigra.ErrInvalidCredentials):
		h.k.RecordFailure(ctx, audit.ActionPasswordChange, u.ID, u.ID, map[string]string{"reason": "bad_password"})
		refuse(http.StatusUnauthorized, "invalid_credentials", "Your current password is not correct.", map[string]string{"current_password": "Your current password is not correct."})
		return false
	case err != nil:
		h.k.Error(w, r, err)
		return false
	}
	return true
}

// setPassword stores a signed-in user's new password hash in one
// transaction: the password lock cleared, every other session of the user
// revoked, emailed reset and sign-in links voided, the change audited
// (with meta) and the owner told by email.
func (h *Handler) setPassword(ctx context.Context, r *http.Request, u *store.User, hash string, meta map[string]string) error {
	now := h.k.Now()
	return h.k.InTx(ctx, func(ctx context.Context) error {
		if err := h.st.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
			return err
		}
		if err := h.k.ClearPasswordLock(ctx, u); err != nil {
			return err
		}
		if _, err := h.st.RevokeUserSessions(ctx, u.ID, h.k.Sess.CurrentDigest(ctx), now); err != nil {
			return err
		}
		if _, err := h.st.DeleteUserTokens(ctx, u.ID, store.PurposeReset, store.PurposeMagicLink); err != nil {
			return err
		}
		if err := h.k.Record(ctx, audit.ActionPasswordChange, u.ID, u.ID, meta); err != nil {
			return err
		}
		notice := h.k.RequestEmail(r)
		notice.Link = h.k.Absolute(h.k.Path(pathForgot))
		return h.k.Queue(ctx, "password_changed", u.Email, notice)
	})
}
