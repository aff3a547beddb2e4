package account

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/flow"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

func (h *Handler) settingsData(r *http.Request) (*ui.SettingsData, error) {
	ctx := r.Context()
	u := h.sess.User(ctx)
	d := &ui.SettingsData{
		Email:          u.Email,
		EmailConfirmed: !u.EmailConfirmedAt.IsZero(),
		HasPassword:    u.PasswordHash != "",
		DeletionDueAt:  u.DeletionDueAt,
	}
	if pending, _, err := h.st.EmailReservation(ctx, u.ID, h.now()); err == nil {
		d.PendingEmail = pending
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if h.cfg.SecondFactor != nil {
		on, err := h.cfg.SecondFactor.Required(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		d.MFAEnabled = on
		if on {
			if d.RecoveryCodesLeft, err = h.st.CountRecoveryCodes(ctx, u.ID); err != nil {
				return nil, err
			}
		}
	}
	devs, err := h.st.UserSessions(ctx, u.ID, h.now())
	if err != nil {
		return nil, err
	}
	d.SessionCount = len(devs)
	return d, nil
}

func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request) {
	d, err := h.settingsData(r)
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	if web.WantsJSON(r) {
		web.JSON(w, http.StatusOK, map[string]any{
			"email": d.Email, "email_confirmed": d.EmailConfirmed, "pending_email": d.PendingEmail,
			"has_password": d.HasPassword, "mfa_enabled": d.MFAEnabled, "recovery_codes_left": d.RecoveryCodesLeft,
			"session_count": d.SessionCount, "deletion_due_at": nullTime(d.DeletionDueAt),
		})
		return
	}
	h.ui.Render(w, r, http.StatusOK, "settings", h.x.Page(r, "Account settings", d))
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// settingsError re-renders the settings page with a form error.
func (h *Handler) settingsError(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields map[string]string) {
	d, err := h.settingsData(r)
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	h.x.FormError(w, r, status, "settings", h.x.Page(r, "Account settings", d), code, msg, fields)
}

// emailChange reserves a new address and emails it a confirmation link;
// the old address gets a notice. Requires sudo. The answer does not say
// whether another account holds the new address.
func (h *Handler) emailChange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := flow.ReadInput(r)
	if err != nil {
		h.settingsError(w, r, http.StatusBadRequest, "invalid_input", "The form could not be read. Reload the page and try again.", nil)
		return
	}
	u := h.sess.User(ctx)
	email, ok := flow.ParseEmail(in["email"])
	if !ok {
		h.settingsError(w, r, http.StatusUnprocessableEntity, "invalid_input", "Check the highlighted fields.", map[string]string{"email": "Enter a valid email address, like name@example.com."})
		return
	}
	if store.NormalizeEmail(email) == store.NormalizeEmail(u.Email) {
		h.settingsError(w, r, http.StatusUnprocessableEntity, "same_email", "That is already your address.", map[string]string{"email": "That is already your address."})
		return
	}
	if err := h.rl.Check(ctx, "email-addr:"+store.NormalizeEmail(email), h.cfg.Limits.EmailPerAddress.N, h.cfg.Limits.EmailPerAddress.Window); err != nil {
		h.x.Error(w, r, err)
		return
	}
	now := h.now()
	exp := now.Add(h.cfg.EmailChangeTTL)
	tok, err := token.New()
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	err = h.st.WithTx(ctx, func(tx store.Store) error {
		if err := tx.ReserveEmail(ctx, u.ID, email, exp, now); err != nil {
			return err
		}
		if _, err := tx.DeleteUserTokens(ctx, u.ID, store.PurposeEmailChange); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, &store.Token{Digest: token.Digest(tok), Purpose: store.PurposeEmailChange, UserID: u.ID, SentTo: email, Data: email, CreatedAt: now, ExpiresAt: exp}); err != nil {
			return err
		}
		data := h.reqEmail(r)
		data.Link = h.link("/email/confirm", tok)
		data.NewEmail = email
		data.ExpiresIn = flow.TTLText(h.cfg.EmailChangeTTL)
		if err := h.queue(ctx, tx, "email_change_confirm", email, data); err != nil {
			return err
		}
		notice := h.reqEmail(r)
		notice.NewEmail = email
		notice.Link = h.absolute(h.links.Settings)
		if err := h.queue(ctx, tx, "email_change_notice", u.Email, notice); err != nil {
			return err
		}
		return h.record(ctx, tx, audit.ActionEmailChangeRequest, u.ID, u.ID, nil)
	})
	if errors.Is(err, store.ErrConflict) {
		// Taken by another account: answer as if it worked, send nothing.
		err = nil
	}
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	flow.Redirect(w, r, flow.WithNotice(h.links.Settings, "email_sent"), map[string]any{"message": "Confirm the change from the email we sent to the new address."})
}

// emailConfirmPage shows the button that confirms an email change (GET
// changes nothing).
func (h *Handler) emailConfirmPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	t, ok := h.liveLink(w, r, tok, store.PurposeEmailChange, h.expired)
	if !ok {
		return
	}
	h.ui.Render(w, r, http.StatusOK, "email_confirm", h.x.Page(r, "Confirm your new address", &ui.EmailChangeData{Token: tok, NewEmail: t.Data}))
}

// emailConfirm consumes the email-change token and makes the reserved
// address the account's address, confirmed. Outstanding tokens sent to the
// old address stop working (they are bound to it).
func (h *Handler) emailConfirm(w http.ResponseWriter, r *http.Request) {
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
	var u *store.User
	var old string
	err = h.st.WithTx(ctx, func(tx store.Store) error {
		t, err := tx.ConsumeToken(ctx, store.PurposeEmailChange, token.Digest(in["token"]), now)
		if err != nil {
			return err
		}
		prev, err := tx.UserByID(ctx, t.UserID)
		if err != nil {
			return err
		}
		old = prev.Email
		if err := tx.ChangeEmail(ctx, t.UserID, t.Data, now); err != nil {
			return err
		}
		if _, err := tx.DeleteUserTokens(ctx, t.UserID); err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		if err := h.record(ctx, tx, audit.ActionEmailChangeComplete, u.ID, u.ID, nil); err != nil {
			return err
		}
		notice := h.reqEmail(r)
		notice.NewEmail = u.Email
		notice.Link = h.absolute(h.links.Settings)
		return h.queue(ctx, tx, "email_change_notice", old, notice)
	})
	if errors.Is(err, store.ErrNotFound) {
		h.expired(w, r)
		return
	}
	if errors.Is(err, store.ErrConflict) {
		h.x.Fail(w, r, http.StatusConflict, "email_taken", "That address is no longer available. Start the change again with another address.")
		return
	}
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	if h.cfg.Hooks.AfterEmailChange != nil {
		h.cfg.Hooks.AfterEmailChange(ctx, u, old)
	}
	target := h.links.Login
	if sigra.UserFrom(ctx) != nil {
		target = h.links.Settings
	}
	flow.Redirect(w, r, flow.WithNotice(target, "email_changed"), nil)
}

// emailCancel drops a pending email change.
func (h *Handler) emailCancel(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.readable(w, r) {
		return
	}
	u := h.sess.User(ctx)
	err := h.st.WithTx(ctx, func(tx store.Store) error {
		if err := tx.CancelEmailReservation(ctx, u.ID); err != nil {
			return err
		}
		if _, err := tx.DeleteUserTokens(ctx, u.ID, store.PurposeEmailChange); err != nil {
			return err
		}
		return h.record(ctx, tx, audit.ActionEmailChangeCancel, u.ID, u.ID, nil)
	})
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	flow.Redirect(w, r, flow.WithNotice(h.links.Settings, "email_cancelled"), nil)
}

// passwordChange sets a new password after checking the current one (or,
// for an account without a password, after a recent sudo). This session
// stays (its token is renewed); every other session is revoked; a notice
// is emailed.
func (h *Handler) passwordChange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := flow.ReadInput(r)
	if err != nil {
		h.settingsError(w, r, http.StatusBadRequest, "invalid_input", "The form could not be read. Reload the page and try again.", nil)
		return
	}
	u := h.sess.User(ctx)
	if err := h.rl.Check(ctx, "pwchange:"+u.ID, h.cfg.Limits.PasswordChangeIP.N, h.cfg.Limits.PasswordChangeIP.Window); err != nil {
		h.x.Error(w, r, err)
		return
	}
	if in["password"] == "" {
		h.settingsError(w, r, http.StatusUnprocessableEntity, "invalid_input", "Choose a new password.", map[string]string{"password": "Choose a new password."})
		return
	}
	if u.PasswordHash != "" {
		if in["current_password"] == "" {
			// Not a guess: nothing to count toward the lockout.
			h.settingsError(w, r, http.StatusUnprocessableEntity, "invalid_input", "Enter your current password.", map[string]string{"current_password": "Enter your current password."})
			return
		}
		if h.now().Before(u.LockedUntil) {
			h.settingsError(w, r, http.StatusUnauthorized, "invalid_credentials", "Too many attempts. Try again later.", map[string]string{"current_password": "Too many attempts. Try again later."})
			return
		}
		ok, _, err := h.pw.Verify(ctx, in["current_password"], u.PasswordHash)
		if errors.Is(err, sigra.ErrBusy) {
			h.x.Error(w, r, err)
			return
		}
		if !ok {
			if err := h.passwordFailure(ctx, r, u); err != nil {
				h.x.Error(w, r, err)
				return
			}
			h.settingsError(w, r, http.StatusUnauthorized, "invalid_credentials", "Your current password is not correct.", map[string]string{"current_password": "Your current password is not correct."})
			return
		}
	} else if !sigra.AuthFrom(ctx).InSudo(h.now(), h.guard.SudoWindow()) {
		redirectSudo(w, r, h.links.Sudo, h.links.Settings)
		return
	}
	hash, ok := h.newPasswordHash(w, r, in["password"], u.Email, func(status int, code, msg string, fields map[string]string) {
		h.settingsError(w, r, status, code, msg, fields)
	})
	if !ok {
		return
	}
	now := h.now()
	err = h.st.WithTx(ctx, func(tx store.Store) error {
		if err := tx.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
			return err
		}
		if err := tx.ClearFailures(ctx, u.ID, store.LockPassword, now); err != nil {
			return err
		}
		if _, err := tx.RevokeUserSessions(ctx, u.ID, h.sess.CurrentDigest(ctx), now); err != nil {
			return err
		}
		if _, err := tx.DeleteUserTokens(ctx, u.ID, store.PurposeReset, store.PurposeMagicLink); err != nil {
			return err
		}
		if err := h.record(ctx, tx, audit.ActionPasswordChange, u.ID, u.ID, nil); err != nil {
			return err
		}
		notice := h.reqEmail(r)
		notice.Link = h.absolute(h.links.Forgot)
		return h.queue(ctx, tx, "password_changed", u.Email, notice)
	})
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	// Every other session is revoked; this one continues under a new token
	// (the old one is revoked by the renewal) with a fresh sudo time.
	if err := h.sess.Sudo(ctx, sigra.MethodPassword); err != nil {
		h.x.Error(w, r, err)
		return
	}
	flow.Redirect(w, r, flow.WithNotice(h.links.Settings, "password_changed"), nil)
}

func redirectSudo(w http.ResponseWriter, r *http.Request, sudo, back string) {
	if web.WantsJSON(r) {
		web.Error(w, http.StatusForbidden, "sudo_required", "Confirm your identity to continue.")
		return
	}
	http.Redirect(w, r, sudo+"?"+url.Values{"return_to": {back}}.Encode(), http.StatusSeeOther)
}

// ---- sessions ----

func deviceViews(ds []session.Device) []ui.Device {
	out := make([]ui.Device, len(ds))
	for i, d := range ds {
		out[i] = ui.Device{ID: d.ID, Browser: d.Browser, OS: d.OS, Kind: d.Kind, IP: d.IP, Current: d.Current, Pending: d.Pending, CreatedAt: d.CreatedAt, LastSeenAt: d.LastSeenAt}
	}
	return out
}

func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request) {
	ds, err := h.sess.Devices(r.Context())
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	if web.WantsJSON(r) {
		list := make([]map[string]any, len(ds))
		for i, d := range ds {
			list[i] = map[string]any{"id": d.ID, "current": d.Current, "browser": d.Browser, "os": d.OS, "kind": d.Kind,
				"ip": d.IP, "pending": d.Pending, "created_at": d.CreatedAt, "last_seen_at": d.LastSeenAt, "expires_at": d.ExpiresAt}
		}
		web.JSON(w, http.StatusOK, map[string]any{"sessions": list})
		return
	}
	h.ui.Render(w, r, http.StatusOK, "sessions", h.x.Page(r, "Sessions", &ui.SessionsData{Devices: deviceViews(ds)}))
}

// sessionRevoke revokes one of the user's sessions by its public id (a
// session of another user is not found).
func (h *Handler) sessionRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := flow.ReadInput(r)
	if err != nil || in["id"] == "" || len(in["id"]) > 64 {
		h.x.Fail(w, r, http.StatusBadRequest, "invalid_input", "No session was named.")
		return
	}
	u := h.sess.User(ctx)
	err = h.sess.RevokeDevice(ctx, in["id"])
	if errors.Is(err, store.ErrNotFound) {
		h.x.Fail(w, r, http.StatusNotFound, "not_found", "That session does not exist or has already ended.")
		return
	}
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	if err := h.record(ctx, h.st, audit.ActionSessionRevoke, u.ID, u.ID, map[string]string{"device": in["id"]}); err != nil {
		h.log.ErrorContext(ctx, "audit row not written", "err", err)
	}
	target := flow.WithNotice(h.links.Sessions, "session_revoked")
	if sigra.UserFrom(ctx) == nil {
		target = flow.WithNotice(h.links.Login, "signed_out")
	}
	flow.Redirect(w, r, target, nil)
}

func (h *Handler) sessionsRevokeOthers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.readable(w, r) {
		return
	}
	u := h.sess.User(ctx)
	n, err := h.sess.RevokeOtherDevices(ctx)
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	if err := h.record(ctx, h.st, audit.ActionSessionRevokeOthers, u.ID, u.ID, map[string]string{"count": strconv.Itoa(n)}); err != nil {
		h.log.ErrorContext(ctx, "audit row not written", "err", err)
	}
	flow.Redirect(w, r, flow.WithNotice(h.links.Sessions, "sessions_revoked"), map[string]any{"revoked": n})
}
