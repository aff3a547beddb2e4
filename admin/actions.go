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

// answer ends an action on u: err as failed answers it, or, with none,
// done with notice and body.
func (c *Console) answer(w http.ResponseWriter, r *http.Request, u *store.User, err error, notice string, body map[string]any) {
	if c.failed(w, r, err) {
		return
	}
	c.done(w, r, u, notice, body)
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

// effect is what an action's change reports to commit: the metadata of
// its audit row and the email that tells the user, if any.
type effect struct {
	meta map[string]string
	// mail names the email to the user; "" sends none.
	mail string
	// link and ttl are the email's link and its lifetime, if it has one.
	link, ttl string
	// data is the email's data; nil sends an empty NoticeMail.
	data *NoticeMail
}

// commit runs an administrator's action on u in one transaction: when
// destructive (as given to act) it first holds the user's role (see
// hold), then runs change, records action on u with the effect's
// metadata and queues the effect's email to the user. The change, its
// audit row and its email commit together or not at all. The caller
// answers the error (see answer).
func (c *Console) commit(r *http.Request, u *store.User, destructive bool, action string, change func(ctx context.Context) (effect, error)) error {
	return c.k.InTx(r.Context(), func(ctx context.Context) error {
		if destructive {
			if err := c.hold(ctx, u); err != nil {
				return err
			}
		}
		e, err := change(ctx)
		if err != nil {
			return err
		}
		if err := c.record(ctx, action, u.ID, e.meta); err != nil {
			return err
		}
		if e.mail == "" {
			return nil
		}
		if e.data == nil {
			e.data = &NoticeMail{}
		}
		return c.notify(ctx, r, e.mail, u, e.link, e.ttl, e.data)
	})
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
	err := c.commit(r, u, true, ActionLock, func(ctx context.Context) (effect, error) {
		var err error
		if until, err = c.st.RecordFailure(ctx, u.ID, store.LockPassword, 1, c.cfg.LockFor, now); err != nil {
			return effect{}, err
		}
		return effect{
			meta: map[string]string{"until": until.UTC().Format(time.RFC3339)},
			mail: "admin_locked", data: &NoticeMail{Until: until},
		}, nil
	})
	c.answer(w, r, u, err, "admin_locked", map[string]any{"locked_until": until})
}

func (c *Console) unlock(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, false)
	if !ok {
		return
	}
	now := c.k.Now()
	err := c.commit(r, u, false, audit.ActionUnlock, func(ctx context.Context) (effect, error) {
		for _, l := range []store.Lock{store.LockPassword, store.LockMFA} {
			if err := c.st.ClearFailures(ctx, u.ID, l, now); err != nil {
				return effect{}, err
			}
		}
		return effect{}, nil
	})
	c.answer(w, r, u, err, "admin_unlocked", nil)
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
	err := c.commit(r, u, true, audit.ActionUserDisable, func(ctx context.Context) (effect, error) {
		// SetDisabled revokes every session of the user in the same
		// transaction.
		return effect{mail: "admin_disabled"}, c.st.SetDisabled(ctx, u.ID, now, now)
	})
	c.answer(w, r, u, err, "admin_disabled", nil)
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
	err := c.commit(r, u, false, audit.ActionUserEnable, func(ctx context.Context) (effect, error) {
		return effect{mail: "admin_enabled"}, c.st.SetDisabled(ctx, u.ID, time.Time{}, now)
	})
	c.answer(w, r, u, err, "admin_enabled", nil)
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
	err := c.commit(r, u, true, audit.ActionSessionRevoke, func(ctx context.Context) (effect, error) {
		return effect{meta: map[string]string{"device": id}}, c.st.RevokeSessionByID(ctx, u.ID, id, c.k.Now())
	})
	if errors.Is(err, store.ErrNotFound) {
		c.refuseField(w, r, u, "session_id", "The user has no such session.")
		return
	}
	c.answer(w, r, u, err, "admin_session_revoked", nil)
}

// revokeAll signs the user out everywhere; it is also the org lens's.
func (c *Console) revokeAll(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, true)
	if !ok {
		return
	}
	var n int
	err := c.commit(r, u, true, audit.ActionSessionRevokeAll, func(ctx context.Context) (effect, error) {
		var err error
		n, err = c.st.RevokeUserSessions(ctx, u.ID, nil, c.k.Now())
		return effect{meta: map[string]string{"count": itoa(n)}, mail: "admin_signed_out"}, err
	})
	c.answer(w, r, u, err, "admin_sessions_revoked", map[string]any{"revoked": n})
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
	err = c.commit(r, u, true, ActionPasswordReset, func(ctx context.Context) (effect, error) {
		if _, err := c.st.RevokeUserSessions(ctx, u.ID, nil, now); err != nil {
			return effect{}, err
		}
		if _, err := c.st.DeleteUserTokens(ctx, u.ID, store.PurposeReset); err != nil {
			return effect{}, err
		}
		t := &store.Token{Digest: token.Digest(tok), Purpose: store.PurposeReset, UserID: u.ID, SentTo: u.Email, CreatedAt: now, ExpiresAt: now.Add(c.cfg.ResetTTL)}
		return effect{
			mail: "admin_password_reset", link: c.link(routeReset, tok), ttl: kernel.TTLText(c.cfg.ResetTTL),
		}, c.st.CreateToken(ctx, t)
	})
	c.answer(w, r, u, err, "admin_reset_sent", nil)
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
	err = c.commit(r, u, false, ActionConfirmationResend, func(ctx context.Context) (effect, error) {
		if _, err := c.st.DeleteUserTokens(ctx, u.ID, store.PurposeConfirm, store.PurposeConfirmCode); err != nil {
			return effect{}, err
		}
		t := &store.Token{Digest: token.Digest(tok), Purpose: store.PurposeConfirm, UserID: u.ID, SentTo: u.Email, CreatedAt: now, ExpiresAt: now.Add(c.cfg.ConfirmTTL)}
		return effect{
			mail: "admin_confirm", link: c.link(ui.RouteConfirm, tok), ttl: kernel.TTLText(c.cfg.ConfirmTTL),
		}, c.st.CreateToken(ctx, t)
	})
	c.answer(w, r, u, err, "admin_confirmation_sent", nil)
}

// twoFactorReset removes the user's TOTP authenticator, recovery codes
// and trusted browsers, and tells the user, in one transaction.
func (c *Console) twoFactorReset(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, true)
	if !ok {
		return
	}
	err := c.commit(r, u, true, ActionTwoFactorReset, func(ctx context.Context) (effect, error) {
		if err := c.st.DeleteTOTP(ctx, u.ID); err != nil {
			return effect{}, err
		}
		if err := c.st.DeleteRecoveryCodes(ctx, u.ID); err != nil {
			return effect{}, err
		}
		_, err := c.st.RevokeTrustedBrowsers(ctx, u.ID)
		return effect{mail: "admin_two_factor_reset"}, err
	})
	c.answer(w, r, u, err, "admin_two_factor_reset", nil)
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
	err := c.commit(r, u, true, ActionPasskeyRemove, func(ctx context.Context) (effect, error) {
		// No last-method guard: an administrator may leave the user with
		// no way to sign in, and then sends a password reset.
		return effect{
			meta: map[string]string{"authenticator_id": id}, mail: "admin_passkey_removed",
		}, c.st.DeletePasskey(ctx, u.ID, id, false)
	})
	if errors.Is(err, store.ErrNotFound) {
		c.refuseField(w, r, u, "passkey_id", "The user has no such passkey.")
		return
	}
	c.answer(w, r, u, err, "admin_passkey_removed", nil)
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
	err := c.commit(r, u, true, ActionIdentityUnlink, func(ctx context.Context) (effect, error) {
		ident, err := c.st.DeleteIdentity(ctx, u.ID, id)
		if err != nil {
			return effect{}, err
		}
		return effect{
			meta: map[string]string{"provider": ident.Provider},
			mail: "admin_identity_unlinked", data: &NoticeMail{Provider: ident.Provider},
		}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		c.refuseField(w, r, u, "identity_id", "The user has no such linked provider.")
		return
	}
	c.answer(w, r, u, err, "admin_identity_unlinked", nil)
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
	err := c.commit(r, u, false, audit.ActionDeleteCancel, func(ctx context.Context) (effect, error) {
		return effect{}, c.st.ScheduleDeletion(ctx, u.ID, time.Time{}, c.k.Now())
	})
	c.answer(w, r, u, err, "admin_deletion_cancelled", nil)
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
	err := c.commit(r, u, true, audit.ActionDeleteComplete, func(ctx context.Context) (effect, error) {
		return effect{meta: map[string]string{"by": "admin"}}, c.st.DeleteUser(ctx, u.ID)
	})
	if c.failed(w, r, err) {
		return
	}
	// The user is gone: the answer is the users list, not their page.
	kernel.Redirect(w, r, kernel.WithNotice(c.usersPath(nil), "admin_user_deleted"), nil)
}

func (c *Console) grant(w http.ResponseWriter, r *http.Request) {
	u, _, ok := c.act(w, r, false)
	if !ok {
		return
	}
	me := sigra.UserFrom(r.Context())
	err := c.commit(r, u, false, ActionGrant, func(ctx context.Context) (effect, error) {
		return effect{}, c.st.GrantAdmin(ctx, u.ID, me.ID, c.k.Now())
	})
	if errors.Is(err, store.ErrConflict) {
		c.conflict(w, r, "already_admin", "The user is already an administrator.")
		return
	}
	c.answer(w, r, u, err, "admin_granted", nil)
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
	err := c.commit(r, u, false, ActionRevoke, func(ctx context.Context) (effect, error) {
		return effect{}, c.st.RevokeAdmin(ctx, u.ID)
	})
	if errors.Is(err, store.ErrNotFound) {
		c.conflict(w, r, "not_admin", "The user is not an administrator.")
		return
	}
	if errors.Is(err, store.ErrLastAdmin) {
		c.conflict(w, r, "last_admin", "The console needs an administrator: this is the last one.")
		return
	}
	c.answer(w, r, u, err, "admin_revoked", nil)
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
