package account

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// ---- the settings page ----

// emailSection is the data of the settings section "email": the address,
// whether it is confirmed, and a change waiting for confirmation.
func (h *Handler) emailSection(r *http.Request) (any, error) {
	ctx := r.Context()
	u := h.k.Sess.User(ctx)
	if u == nil {
		return nil, session.ErrNotSignedIn
	}
	d := &EmailSection{Email: u.Email, Confirmed: u.EmailConfirmed()}
	pending, _, err := h.st.EmailReservation(ctx, u.ID, h.k.Now())
	switch {
	case err == nil:
		d.Pending = pending
	case errors.Is(err, store.ErrNotFound):
		d.Pending = h.decoyPending(ctx)
	default:
		return nil, err
	}
	return d, nil
}

// The session keys of a change asked for an address another account
// holds: shown as pending like any other, so that the settings page does
// not reveal that the address is taken.
const (
	decoyEmail = "sigra_pending_email"
	decoyUntil = "sigra_pending_email_until"
)

// decoyPending returns the address of an unexpired change this session
// asked for an address another account holds, or "".
func (h *Handler) decoyPending(ctx context.Context) string {
	v := h.k.Sess.Values()
	email := v.GetString(ctx, decoyEmail)
	if email == "" || h.k.Now().UnixMilli() >= v.GetInt64(ctx, decoyUntil) {
		return ""
	}
	return email
}

// forgetDecoy removes the session's shown change, if any.
func (h *Handler) forgetDecoy(ctx context.Context) {
	v := h.k.Sess.Values()
	if v.Exists(ctx, decoyEmail) {
		v.Remove(ctx, decoyEmail)
		v.Remove(ctx, decoyUntil)
	}
}

// passwordSection is the data of the settings section "password".
func (h *Handler) passwordSection(r *http.Request) (any, error) {
	u, err := h.current(r.Context())
	if err != nil {
		return nil, err
	}
	return &PasswordSection{HasPassword: u.PasswordHash != "", MinPasswordLength: h.pw.MinLength()}, nil
}

// devicesSection is the data of the settings section "devices".
func (h *Handler) devicesSection(r *http.Request) (any, error) {
	ctx := r.Context()
	u := h.k.Sess.User(ctx)
	if u == nil {
		return nil, session.ErrNotSignedIn
	}
	live, err := h.st.UserSessions(ctx, u.ID, h.k.Now())
	if err != nil {
		return nil, err
	}
	return &DevicesSection{Count: len(live)}, nil
}

// deleteSection is the data of the settings section "delete".
func (h *Handler) deleteSection(*http.Request) (any, error) {
	return &DeleteSection{Grace: h.cfg.DeletionGrace}, nil
}

// settingsPage shows the settings page made of every section (the
// account's and those of Config.Sections), or answers JSON with the
// sections' data by name (nothing is rendered for it).
func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request) {
	if web.WantsJSON(r) {
		byName, err := h.k.UI.SectionData(r, h.sections)
		if err != nil {
			h.k.Error(w, r, err)
			return
		}
		web.JSON(w, http.StatusOK, byName)
		return
	}
	p := h.k.Page(r, "Account settings", nil)
	d, _, err := h.k.UI.Settings(r, p, h.sections)
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	p.Data = d
	h.k.UI.Render(w, r, http.StatusOK, "settings", p)
}

// settingsError answers a refused settings form: JSON gets the error;
// HTML gets the settings page again with the error, and each field's
// message in the section that holds the field. values are the fields to
// show again as typed.
func (h *Handler) settingsError(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields, values map[string]string) {
	h.k.FormError(w, r, status, "settings", func() (*ui.Page, error) {
		p := h.k.Page(r, "Account settings", nil)
		p.Error, p.FieldErrors, p.Values = msg, fields, values
		d, _, err := h.k.UI.Settings(r, p, h.sections)
		if err != nil {
			return nil, err
		}
		p.Data = d
		return p, nil
	}, code, msg, fields)
}

// settingsBadForm answers a settings form whose body ReadInput refused
// with err: 400 with the refusal's code (such as unknown_field), its
// message, and a message at each refused field, as kernel.BadForm answers
// (the settings page again, or JSON). Nothing typed is shown again.
func (h *Handler) settingsBadForm(w http.ResponseWriter, r *http.Request, err error) {
	e := kernel.Refusal(err)
	h.settingsError(w, r, http.StatusBadRequest, e.Code, e.Message, e.Fields, nil)
}

// ---- email change ----

// emailChange reserves a new address and emails it a confirmation link;
// the old address gets a notice. Requires sudo. The answer does not say
// whether another account holds the new address.
func (h *Handler) emailChange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	if err != nil {
		h.settingsBadForm(w, r, err)
		return
	}
	u := h.k.Sess.User(ctx)
	values := map[string]string{"email": in["email"]}
	email, ok := kernel.ParseEmail(in["email"])
	if !ok {
		h.settingsError(w, r, http.StatusUnprocessableEntity, "invalid_input", "Check the highlighted fields.", map[string]string{"email": kernel.EmailProblem(in["email"])}, values)
		return
	}
	if store.NormalizeEmail(email) == store.NormalizeEmail(u.Email) {
		h.settingsError(w, r, http.StatusUnprocessableEntity, "same_email", "That is already your address.", map[string]string{"email": "That is already your address."}, values)
		return
	}
	if err := h.k.Limiter.Check(ctx, "email-addr:"+store.NormalizeEmail(email), h.cfg.Limits.EmailPerAddress); err != nil {
		h.k.Error(w, r, err)
		return
	}
	now := h.k.Now()
	exp := now.Add(h.cfg.EmailChangeTTL)
	tok, err := token.New()
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	err = h.k.InTx(ctx, func(ctx context.Context) error {
		if err := h.st.ReserveEmail(ctx, u.ID, email, exp, now); err != nil {
			return err
		}
		if _, err := h.st.DeleteUserTokens(ctx, u.ID, store.PurposeEmailChange); err != nil {
			return err
		}
		if err := h.st.CreateToken(ctx, &store.Token{Digest: token.Digest(tok), Purpose: store.PurposeEmailChange, UserID: u.ID, SentTo: email, Data: email, CreatedAt: now, ExpiresAt: exp}); err != nil {
			return err
		}
		data := h.k.RequestEmail(r)
		data.Link = h.k.Link(pathEmailConfirm, tok)
		data.ExpiresIn = kernel.TTLText(h.cfg.EmailChangeTTL)
		data.Data = &EmailChangeMail{NewEmail: email}
		if err := h.k.Queue(ctx, "email_change_confirm", email, data); err != nil {
			return err
		}
		notice := h.k.RequestEmail(r)
		notice.Link = h.k.Absolute(h.k.Path(pathSettings))
		notice.Data = &EmailChangeMail{NewEmail: email}
		if err := h.k.Queue(ctx, "email_change_notice", u.Email, notice); err != nil {
			return err
		}
		return h.k.Record(ctx, audit.ActionEmailChangeRequest, u.ID, u.ID, nil)
	})
	h.forgetDecoy(ctx)
	if errors.Is(err, store.ErrConflict) {
		// Taken by another account: answer as if it worked and send
		// nothing. As a new request does, it replaces an earlier pending
		// change; the settings page then shows this address as pending
		// (from the session), as it would show a free one.
		err = h.k.InTx(ctx, func(ctx context.Context) error {
			if err := h.st.CancelEmailReservation(ctx, u.ID); err != nil {
				return err
			}
			_, err := h.st.DeleteUserTokens(ctx, u.ID, store.PurposeEmailChange)
			return err
		})
		if err == nil {
			h.k.Sess.Values().Put(ctx, decoyEmail, email)
			h.k.Sess.Values().Put(ctx, decoyUntil, exp.UnixMilli())
		}
	}
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(h.k.Path(pathSettings), "email_sent"), map[string]any{"message": "Confirm the change from the email we sent to the new address."})
}

// emailConfirmPage shows the button that confirms an email change (GET
// changes nothing).
func (h *Handler) emailConfirmPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	t, ok := h.k.LiveLink(w, r, h.st, tok, store.PurposeEmailChange, h.expired)
	if !ok {
		return
	}
	h.k.Render(w, r, http.StatusOK, "email_confirm", h.k.Page(r, "Confirm your new address", &EmailChangeData{Token: tok, NewEmail: t.Data}),
		map[string]any{"ok": true, "new_email": t.Data})
}

// emailConfirm consumes the email-change token and makes the reserved
// address the account's address, confirmed. Outstanding tokens sent to the
// old address stop working (they are bound to it); the old address gets a
// notice.
func (h *Handler) emailConfirm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, tok, ok := h.k.OpenLink(w, r, h.expired)
	if !ok {
		return
	}
	now := h.k.Now()
	var u *store.User
	var old string
	err := h.k.InTx(ctx, func(ctx context.Context) error {
		t, err := h.st.ConsumeToken(ctx, store.PurposeEmailChange, token.Digest(tok), now)
		if err != nil {
			return err
		}
		prev, err := h.st.UserByID(ctx, t.UserID)
		if err != nil {
			return err
		}
		old = prev.Email
		if err := h.st.ChangeEmail(ctx, t.UserID, t.Data, now); err != nil {
			return err
		}
		if _, err := h.st.DeleteUserTokens(ctx, t.UserID); err != nil {
			return err
		}
		if u, err = h.st.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		if err := h.k.Record(ctx, audit.ActionEmailChangeComplete, u.ID, u.ID, nil); err != nil {
			return err
		}
		notice := h.k.RequestEmail(r)
		notice.Link = h.k.Absolute(h.k.Path(pathSettings))
		notice.Data = &EmailChangeMail{NewEmail: u.Email}
		return h.k.Queue(ctx, "email_change_notice", old, notice)
	})
	if errors.Is(err, store.ErrNotFound) {
		h.expired(w, r)
		return
	}
	if errors.Is(err, store.ErrConflict) {
		h.k.Fail(w, r, http.StatusConflict, "email_taken", "That address is no longer available. Start the change again with another address.")
		return
	}
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	if h.cfg.Hooks.AfterEmailChange != nil {
		h.cfg.Hooks.AfterEmailChange(ctx, publicUser(u), old)
	}
	target := h.k.Path(pathLogin)
	if sigra.UserFrom(ctx) != nil {
		target = h.k.Path(pathSettings)
	}
	kernel.Redirect(w, r, kernel.WithNotice(target, "email_changed"), nil)
}

// emailCancel drops a pending email change.
func (h *Handler) emailCancel(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.k.Readable(w, r) {
		return
	}
	u := h.k.Sess.User(ctx)
	h.forgetDecoy(ctx)
	err := h.k.InTx(ctx, func(ctx context.Context) error {
		if err := h.st.CancelEmailReservation(ctx, u.ID); err != nil {
			return err
		}
		if _, err := h.st.DeleteUserTokens(ctx, u.ID, store.PurposeEmailChange); err != nil {
			return err
		}
		return h.k.Record(ctx, audit.ActionEmailChangeCancel, u.ID, u.ID, nil)
	})
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(h.k.Path(pathSettings), "email_cancelled"), nil)
}

// ---- password change ----

// passwordChange sets a new password after checking the current one (or,
// for an account without a password, after a recent sudo). This session
// stays (its token is renewed); every other session is revoked; a notice
// is emailed.
func (h *Handler) passwordChange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	if err != nil {
		h.settingsBadForm(w, r, err)
		return
	}
	u, err := h.current(ctx)
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	limit := h.passwordChangeLimit(u)
	if !h.countFirst(w, r, limit, u.PasswordHash != "" && in["current_password"] != "" && in["password"] != "") {
		return
	}
	refuse := func(status int, code, msg string, fields map[string]string) {
		h.settingsError(w, r, status, code, msg, fields, nil)
	}
	if in["password"] == "" {
		refuse(http.StatusUnprocessableEntity, "invalid_input", "Choose a new password.", map[string]string{"password": "Choose a new password."})
		return
	}
	if u.PasswordHash != "" {
		if in["current_password"] == "" {
			// Not a guess: nothing to count toward the lockout.
			refuse(http.StatusUnprocessableEntity, "invalid_input", "Enter your current password.", map[string]string{"current_password": "Enter your current password."})
			return
		}
		if !h.checkCurrentPassword(w, r, u, in["current_password"], refuse, limit) {
			return
		}
	} else if !sigra.AuthFrom(ctx).InSudo(h.k.Now(), h.k.Guard.SudoWindow()) {
		h.k.RedirectSudo(w, r, h.k.Path(pathSettings))
		return
	}
	hash, ok := h.newPasswordHash(w, r, in["password"], u.Email, refuse)
	if !ok {
		return
	}
	if err := h.setPassword(ctx, r, u, hash, nil); err != nil {
		h.k.Error(w, r, err)
		return
	}
	// Every other session is revoked; this one continues under a new token
	// (the old one is revoked by the renewal) with a fresh sudo time.
	if err := h.k.Sess.Sudo(ctx, sigra.MethodPassword); err != nil {
		h.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(h.k.Path(pathSettings), "password_changed"), nil)
}

// ---- sessions ----

func deviceViews(ds []session.Device) []Device {
	out := make([]Device, len(ds))
	for i, d := range ds {
		out[i] = Device{ID: d.ID, Browser: d.Browser, OS: d.OS, Kind: d.Kind, IP: d.IP, Current: d.Current, Pending: d.Pending, CreatedAt: d.CreatedAt, LastSeenAt: d.LastSeenAt}
	}
	return out
}

func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request) {
	ds, err := h.k.Sess.Devices(r.Context())
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	list := make([]map[string]any, len(ds))
	for i, d := range ds {
		list[i] = map[string]any{"id": d.ID, "current": d.Current, "browser": d.Browser, "os": d.OS, "kind": d.Kind,
			"ip": d.IP, "pending": d.Pending, "created_at": d.CreatedAt, "last_seen_at": d.LastSeenAt, "expires_at": d.ExpiresAt}
	}
	h.k.Render(w, r, http.StatusOK, "sessions", h.k.Page(r, "Devices", &SessionsData{Devices: deviceViews(ds)}), map[string]any{"sessions": list})
}

// devicesPage builds the page of the user's sessions ("sessions").
func (h *Handler) devicesPage(r *http.Request) kernel.PageFunc {
	return func() (*ui.Page, error) {
		ds, err := h.k.Sess.Devices(r.Context())
		if err != nil {
			return nil, err
		}
		return h.k.Page(r, "Devices", &SessionsData{Devices: deviceViews(ds)}), nil
	}
}

// sessionRevoke revokes one of the user's sessions by its public id (a
// session of another user is not found). A body ReadInput refused is
// answered as kernel.BadForm answers it (the sessions page again, or JSON
// with the refusal's code and fields); a body without an id, or with one
// no session can have, with 400 invalid_input.
func (h *Handler) sessionRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	if err != nil {
		h.k.BadForm(w, r, "sessions", h.devicesPage(r))
		return
	}
	if in["id"] == "" || len(in["id"]) > 64 {
		h.k.Fail(w, r, http.StatusBadRequest, "invalid_input", "No session was named.")
		return
	}
	u := h.k.Sess.User(ctx)
	err = h.k.Sess.RevokeDevice(ctx, in["id"])
	if errors.Is(err, store.ErrNotFound) {
		h.k.Fail(w, r, http.StatusNotFound, "not_found", "That session does not exist or has already ended.")
		return
	}
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	h.k.RecordOutside(ctx, audit.ActionSessionRevoke, u.ID, u.ID, map[string]string{"device": in["id"]})
	target := kernel.WithNotice(h.k.Path(pathSessions), "session_revoked")
	if sigra.UserFrom(ctx) == nil {
		target = kernel.WithNotice(h.k.Path(pathLogin), "signed_out")
	}
	kernel.Redirect(w, r, target, nil)
}

func (h *Handler) sessionsRevokeOthers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !h.k.Readable(w, r) {
		return
	}
	u := h.k.Sess.User(ctx)
	n, err := h.k.Sess.RevokeOtherDevices(ctx)
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	h.k.RecordOutside(ctx, audit.ActionSessionRevokeOthers, u.ID, u.ID, map[string]string{"count": strconv.Itoa(n)})
	kernel.Redirect(w, r, kernel.WithNotice(h.k.Path(pathSessions), "sessions_revoked"), map[string]any{"revoked": n})
}
