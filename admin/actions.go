package admin

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
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// actions returns the console's POST routes on a user and their
// handlers.
func (c *Console) actions() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		pathLock:           c.lock,
		pathUnlock:         c.unlock,
		pathDisable:        c.disable,
		pathEnable:         c.enable,
		pathRevokeSession:  c.revokeSession,
		pathRevokeAll:      c.revokeAll,
		pathPasswordReset:  c.passwordReset,
		pathConfirm:        c.resendConfirmation,
		pathTwoFactorReset: c.twoFactorReset,
		pathPasskeyRemove:  c.removePasskey,
		pathIdentityUnlink: c.unlinkIdentity,
		pathDeletionCancel: c.cancelDeletion,
		pathDeletionRun:    c.runDeletion,
		pathGrant:          c.grant,
		pathRevoke:         c.revoke,
	}
}

// act is the common start of an action on the user {id}: it reads the
// body against the route's schema (400 with the refused field), loads
// the user (404) and, when destructive, refuses a protected user (403).
// ok is false when it answered.
func (c *Console) act(w http.ResponseWriter, r *http.Request, destructive bool) (*store.User, kernel.Input, bool) {
	in, err := kernel.ReadInput(r)
	if err != nil {
		c.k.BadInput(w, r)
		return nil, nil, false
	}
	u, ok := c.target(w, r)
	if !ok {
		return nil, nil, false
	}
	if destructive {
		p, err := c.protected(r.Context(), u)
		if err != nil {
			c.k.Error(w, r, err)
			return nil, nil, false
		}
		if p {
			c.refuseProtected(w, r)
			return nil, nil, false
		}
	}
	return u, in, true
}

// done sends the browser back to the user's detail with notice, or
// answers JSON {"ok": true, "next": ...}.
func (c *Console) done(w http.ResponseWriter, r *http.Request, u *store.User, notice string, body map[string]any) {
	kernel.Redirect(w, r, kernel.WithNotice(c.userPath(lensFrom(r.Context()), u.ID), notice), body)
}

// conflict answers an action that does not apply to the user's state.
func (c *Console) conflict(w http.ResponseWriter, r *http.Request, code, msg string) {
	c.k.Fail(w, r, http.StatusConflict, code, msg)
}

// notify queues email name to u in the transaction ctx carries.
func (c *Console) notify(ctx context.Context, r *http.Request, name string, u *store.User, link, ttl string, data *NoticeMail) error {
	e := c.k.RequestEmail(r)
	e.Link, e.ExpiresIn, e.Data = link, ttl, data
	return c.k.Queue(ctx, name, u.Email, e)
}

func (c *Console) lock(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, true)
	if !ok {
		return
	}
	if !u.DisabledAt.IsZero() {
		c.conflict(w, r, "disabled", "The account is disabled; it cannot sign in anyway.")
		return
	}
	now := c.k.Now()
	var until time.Time
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.hold(ctx, u); err != nil {
			return err
		}
		var err error
		if until, err = c.st.RecordFailure(ctx, u.ID, store.LockPassword, 1, c.cfg.LockFor, now); err != nil {
			return err
		}
		if err := c.record(ctx, ActionLock, u.ID, map[string]string{"until": until.UTC().Format(time.RFC3339)}); err != nil {
			return err
		}
		return c.notify(ctx, r, "admin_locked", u, "", "", &NoticeMail{Until: until})
	})
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_locked", map[string]any{"locked_until": until})
}

func (c *Console) unlock(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, false)
	if !ok {
		return
	}
	now := c.k.Now()
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		for _, l := range []store.Lock{store.LockPassword, store.LockMFA} {
			if err := c.st.ClearFailures(ctx, u.ID, l, now); err != nil {
				return err
			}
		}
		return c.record(ctx, audit.ActionUnlock, u.ID, nil)
	})
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_unlocked", nil)
}

func (c *Console) disable(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, true)
	if !ok {
		return
	}
	if !u.DisabledAt.IsZero() {
		c.conflict(w, r, "already_disabled", "The account is already disabled.")
		return
	}
	now := c.k.Now()
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.hold(ctx, u); err != nil {
			return err
		}
		// SetDisabled revokes every session of the user in the same
		// transaction.
		if err := c.st.SetDisabled(ctx, u.ID, now, now); err != nil {
			return err
		}
		if err := c.record(ctx, audit.ActionUserDisable, u.ID, nil); err != nil {
			return err
		}
		return c.notify(ctx, r, "admin_disabled", u, "", "", &NoticeMail{})
	})
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_disabled", nil)
}

func (c *Console) enable(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, false)
	if !ok {
		return
	}
	if u.DisabledAt.IsZero() {
		c.conflict(w, r, "not_disabled", "The account is not disabled.")
		return
	}
	now := c.k.Now()
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.st.SetDisabled(ctx, u.ID, time.Time{}, now); err != nil {
			return err
		}
		if err := c.record(ctx, audit.ActionUserEnable, u.ID, nil); err != nil {
			return err
		}
		return c.notify(ctx, r, "admin_enabled", u, "", "", &NoticeMail{})
	})
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_enabled", nil)
}

func (c *Console) revokeSession(w http.ResponseWriter, r *http.Request) {
	u, in, ok := c.act(w, r, true)
	if !ok {
		return
	}
	id := in["session_id"]
	if id == "" {
		c.refuseField(w, r, u, "session_id", "Choose a session.")
		return
	}
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.hold(ctx, u); err != nil {
			return err
		}
		if err := c.st.RevokeSessionByID(ctx, u.ID, id, c.k.Now()); err != nil {
			return err
		}
		return c.record(ctx, audit.ActionSessionRevoke, u.ID, map[string]string{"device": id})
	})
	if errors.Is(err, store.ErrNotFound) {
		c.refuseField(w, r, u, "session_id", "The user has no such session.")
		return
	}
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_session_revoked", nil)
}

// revokeAll signs the user out everywhere; it is also the org lens's.
func (c *Console) revokeAll(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, true)
	if !ok {
		return
	}
	var n int
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.hold(ctx, u); err != nil {
			return err
		}
		var err error
		if n, err = c.st.RevokeUserSessions(ctx, u.ID, nil, c.k.Now()); err != nil {
			return err
		}
		if err := c.record(ctx, audit.ActionSessionRevokeAll, u.ID, map[string]string{"count": itoa(n)}); err != nil {
			return err
		}
		return c.notify(ctx, r, "admin_signed_out", u, "", "", &NoticeMail{})
	})
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_sessions_revoked", map[string]any{"revoked": n})
}

// passwordReset signs the user out everywhere and emails a password
// reset link (the account pack's reset page), in one transaction.
func (c *Console) passwordReset(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, true)
	if !ok {
		return
	}
	if !u.DisabledAt.IsZero() {
		c.conflict(w, r, "disabled", "The account is disabled. Enable it first.")
		return
	}
	tok, err := token.New()
	if err != nil {
		c.k.Error(w, r, err)
		return
	}
	now := c.k.Now()
	err = c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.hold(ctx, u); err != nil {
			return err
		}
		if _, err := c.st.RevokeUserSessions(ctx, u.ID, nil, now); err != nil {
			return err
		}
		if _, err := c.st.DeleteUserTokens(ctx, u.ID, store.PurposeReset); err != nil {
			return err
		}
		t := &store.Token{Digest: token.Digest(tok), Purpose: store.PurposeReset, UserID: u.ID, SentTo: u.Email, CreatedAt: now, ExpiresAt: now.Add(c.cfg.ResetTTL)}
		if err := c.st.CreateToken(ctx, t); err != nil {
			return err
		}
		if err := c.record(ctx, ActionPasswordReset, u.ID, nil); err != nil {
			return err
		}
		return c.notify(ctx, r, "admin_password_reset", u, c.link(routeReset, tok), kernel.TTLText(c.cfg.ResetTTL), &NoticeMail{})
	})
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_reset_sent", nil)
}

// link is the absolute URL of the route name of another pack with the
// token in its query, built from the site's base URL.
func (c *Console) link(route, tok string) string {
	return c.k.Site.URL(c.k.Route(route), url.Values{"token": {tok}})
}

// resendConfirmation emails the user a new confirmation link (the account
// pack's confirm page); it is also the org lens's.
func (c *Console) resendConfirmation(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, false)
	if !ok {
		return
	}
	if !u.EmailConfirmedAt.IsZero() {
		c.conflict(w, r, "already_confirmed", "The address is already confirmed.")
		return
	}
	if !u.DisabledAt.IsZero() {
		c.conflict(w, r, "disabled", "The account is disabled. Enable it first.")
		return
	}
	tok, err := token.New()
	if err != nil {
		c.k.Error(w, r, err)
		return
	}
	now := c.k.Now()
	err = c.k.InTx(r.Context(), func(ctx context.Context) error {
		if _, err := c.st.DeleteUserTokens(ctx, u.ID, store.PurposeConfirm, store.PurposeConfirmCode); err != nil {
			return err
		}
		t := &store.Token{Digest: token.Digest(tok), Purpose: store.PurposeConfirm, UserID: u.ID, SentTo: u.Email, CreatedAt: now, ExpiresAt: now.Add(c.cfg.ConfirmTTL)}
		if err := c.st.CreateToken(ctx, t); err != nil {
			return err
		}
		if err := c.record(ctx, ActionConfirmationResend, u.ID, nil); err != nil {
			return err
		}
		return c.notify(ctx, r, "admin_confirm", u, c.link(ui.RouteConfirm, tok), kernel.TTLText(c.cfg.ConfirmTTL), &NoticeMail{})
	})
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_confirmation_sent", nil)
}

// twoFactorReset removes the user's TOTP authenticator, recovery codes
// and trusted browsers, and tells the user, in one transaction.
func (c *Console) twoFactorReset(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, true)
	if !ok {
		return
	}
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.hold(ctx, u); err != nil {
			return err
		}
		if err := c.st.DeleteTOTP(ctx, u.ID); err != nil {
			return err
		}
		if err := c.st.DeleteRecoveryCodes(ctx, u.ID); err != nil {
			return err
		}
		if _, err := c.st.RevokeTrustedBrowsers(ctx, u.ID); err != nil {
			return err
		}
		if err := c.record(ctx, ActionTwoFactorReset, u.ID, nil); err != nil {
			return err
		}
		return c.notify(ctx, r, "admin_two_factor_reset", u, "", "", &NoticeMail{})
	})
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_two_factor_reset", nil)
}

func (c *Console) removePasskey(w http.ResponseWriter, r *http.Request) {
	u, in, ok := c.act(w, r, true)
	if !ok {
		return
	}
	id := in["passkey_id"]
	if id == "" {
		c.refuseField(w, r, u, "passkey_id", "Choose a passkey.")
		return
	}
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.hold(ctx, u); err != nil {
			return err
		}
		// No last-method guard: an administrator may leave the user with
		// no way to sign in, and then sends a password reset.
		if err := c.st.DeletePasskey(ctx, u.ID, id, false); err != nil {
			return err
		}
		if err := c.record(ctx, ActionPasskeyRemove, u.ID, map[string]string{"authenticator_id": id}); err != nil {
			return err
		}
		return c.notify(ctx, r, "admin_passkey_removed", u, "", "", &NoticeMail{})
	})
	if errors.Is(err, store.ErrNotFound) {
		c.refuseField(w, r, u, "passkey_id", "The user has no such passkey.")
		return
	}
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_passkey_removed", nil)
}

func (c *Console) unlinkIdentity(w http.ResponseWriter, r *http.Request) {
	u, in, ok := c.act(w, r, true)
	if !ok {
		return
	}
	id := in["identity_id"]
	if id == "" {
		c.refuseField(w, r, u, "identity_id", "Choose a sign-in provider.")
		return
	}
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.hold(ctx, u); err != nil {
			return err
		}
		ident, err := c.st.DeleteIdentity(ctx, u.ID, id)
		if err != nil {
			return err
		}
		if err := c.record(ctx, ActionIdentityUnlink, u.ID, map[string]string{"provider": ident.Provider}); err != nil {
			return err
		}
		return c.notify(ctx, r, "admin_identity_unlinked", u, "", "", &NoticeMail{Provider: ident.Provider})
	})
	if errors.Is(err, store.ErrNotFound) {
		c.refuseField(w, r, u, "identity_id", "The user has no such linked provider.")
		return
	}
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_identity_unlinked", nil)
}

func (c *Console) cancelDeletion(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, false)
	if !ok {
		return
	}
	if u.DeletionDueAt.IsZero() {
		c.conflict(w, r, "no_deletion", "No deletion of this account is scheduled.")
		return
	}
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.st.ScheduleDeletion(ctx, u.ID, time.Time{}, c.k.Now()); err != nil {
			return err
		}
		return c.record(ctx, audit.ActionDeleteCancel, u.ID, nil)
	})
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_deletion_cancelled", nil)
}

// runDeletion deletes, now, an account whose deletion is scheduled. The
// form repeats the user's address (confirm_email), so a slip cannot
// delete the wrong account.
func (c *Console) runDeletion(w http.ResponseWriter, r *http.Request) {
	u, in, ok := c.act(w, r, true)
	if !ok {
		return
	}
	if u.DeletionDueAt.IsZero() {
		c.conflict(w, r, "no_deletion", "No deletion of this account is scheduled.")
		return
	}
	if store.NormalizeEmail(in["confirm_email"]) != store.NormalizeEmail(u.Email) {
		c.refuseField(w, r, u, "confirm_email", "Type the user's address to confirm.")
		return
	}
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.hold(ctx, u); err != nil {
			return err
		}
		if err := c.st.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		return c.record(ctx, audit.ActionDeleteComplete, u.ID, map[string]string{"by": "admin"})
	})
	if c.failed(w, r, err) {
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(c.usersPath(nil), "admin_user_deleted"), nil)
}

func (c *Console) grant(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, false)
	if !ok {
		return
	}
	me := sigra.UserFrom(r.Context())
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.st.GrantAdmin(ctx, u.ID, me.ID, c.k.Now()); err != nil {
			return err
		}
		return c.record(ctx, ActionGrant, u.ID, nil)
	})
	if errors.Is(err, store.ErrConflict) {
		c.conflict(w, r, "already_admin", "The user is already an administrator.")
		return
	}
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_granted", nil)
}

// revoke removes another administrator's role. Administrators cannot
// revoke their own, so the console always keeps the one acting.
func (c *Console) revoke(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, false)
	if !ok {
		return
	}
	me := sigra.UserFrom(r.Context())
	if me.ID == u.ID {
		c.conflict(w, r, "self", "You cannot remove your own administrator role. Ask another administrator.")
		return
	}
	err := c.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := c.st.RevokeAdmin(ctx, u.ID); err != nil {
			return err
		}
		return c.record(ctx, ActionRevoke, u.ID, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		c.conflict(w, r, "not_admin", "The user is not an administrator.")
		return
	}
	if errors.Is(err, store.ErrLastAdmin) {
		c.conflict(w, r, "last_admin", "The console needs an administrator: this is the last one.")
		return
	}
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, "admin_revoked", nil)
}

// refuseField answers a refused field of an action with 400 and the
// user's detail page.
func (c *Console) refuseField(w http.ResponseWriter, r *http.Request, u *store.User, field, msg string) {
	c.k.FormError(w, r, http.StatusBadRequest, "admin_user", func() (*ui.Page, error) {
		d, err := c.userData(r, u)
		if err != nil {
			return nil, err
		}
		return c.k.Page(r, u.Email, d), nil
	}, "invalid_input", "Check the highlighted fields.", map[string]string{field: msg})
}

// errProtected is a destructive action that found, in its transaction,
// that the user is an administrator.
var errProtected = errors.New("sigra/admin: the user is an administrator")

// hold refuses, in the transaction of a destructive action, a user who is
// an administrator, and holds that answer until the transaction ends (a
// concurrent grant of the role waits for it; see store.Admins.HoldAdmin),
// so that the check of act cannot be raced.
func (c *Console) hold(ctx context.Context, u *store.User) error {
	admin, err := c.st.HoldAdmin(ctx, u.ID)
	if err != nil {
		return err
	}
	if admin {
		return errProtected
	}
	return nil
}

// failed answers err, if any: a user deleted meanwhile is 404, an
// administrator's account 403, anything else as kernel.Error decides
// (503 on a store outage).
func (c *Console) failed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, errProtected):
		c.refuseProtected(w, r)
	case errors.Is(err, store.ErrNotFound):
		c.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such user.")
	default:
		c.k.Error(w, r, err)
	}
	return true
}

func itoa(n int) string {
	return strconv.Itoa(n)
}
