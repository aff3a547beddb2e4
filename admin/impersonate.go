package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/ui"
)

// Audit actions of impersonation. The start's row has the administrator
// as actor and as impersonator, the user as subject and the reason in its
// metadata ("reason"); the rows of the end have the administrator as
// actor and impersonator and the user as subject (empty when the
// impersonation's session was gone, expired or revoked, before the
// request that ended it), the end's cause
// ("reason": stopped, idle, expired or user_barred) and whether the
// browser returned to the administrator's session ("restored": "true" or
// "false"). Rows written by any feature while the impersonation lasts
// carry the user as actor and the administrator as impersonator.
const (
	// ActionImpersonateStart: an administrator started impersonating a
	// user.
	ActionImpersonateStart = "admin.impersonate.start"
	// ActionImpersonateStop: the administrator stopped an impersonation.
	ActionImpersonateStop = "admin.impersonate.stop"
	// ActionImpersonateEnd: an impersonation ended by itself (idle,
	// expired, or its user barred).
	ActionImpersonateEnd = "admin.impersonate.end"
)

// Bounds of an impersonation's written reason, without surrounding
// spaces.
const (
	// MinReasonLen is the fewest characters of a reason.
	MinReasonLen = 10
	// MaxReasonLen is the most bytes of a reason (an audit metadata
	// value holds 512).
	MaxReasonLen = 500
)

// reasonMessage is the message of a refused reason.
var reasonMessage = "Write why you act as this user: " + itoa(MinReasonLen) + " to " + itoa(MaxReasonLen) + " characters."

// impersonate starts an impersonation of the user {id}: behind Require
// and RequireSudo (see Mount), with a written reason, never of an
// administrator (403 admin_protected), a disabled user or one whose
// deletion is scheduled (409). The audit row and the user's notice
// commit together before the session changes: an impersonation never
// starts without its record. The browser then lands on the site's home
// as the user.
func (c *Console) impersonate(w http.ResponseWriter, r *http.Request) {
	u, in, ok := c.act(w, r, true)
	if !ok {
		return
	}
	reason := strings.TrimSpace(in["reason"])
	if n := utf8.RuneCountInString(reason); n < MinReasonLen || len(reason) > MaxReasonLen {
		c.refuseField(w, r, u, "reason", reasonMessage)
		return
	}
	switch {
	case !u.DisabledAt.IsZero():
		c.conflict(w, r, "disabled", "The account is disabled; it cannot be impersonated.")
		return
	case !u.DeletionDueAt.IsZero():
		c.conflict(w, r, "deletion_pending", "The account is scheduled for deletion; it cannot be impersonated.")
		return
	}
	ctx := r.Context()
	me := sigra.UserFrom(ctx)
	// The record is written first, in one transaction with the user's
	// notice and the administrator check (hold): StartImpersonation then
	// renews the session, which is committed with the answer. Were it the
	// other way round, a failed write would leave an impersonation without
	// its row.
	err := c.k.InTx(ctx, func(ctx context.Context) error {
		if err := c.hold(ctx, u); err != nil {
			return err
		}
		e := audit.Event{Action: ActionImpersonateStart, ActorID: me.ID, SubjectID: u.ID, ImpersonatorID: me.ID,
			Outcome: audit.OutcomeSuccess, Metadata: map[string]string{"reason": reason}}
		if err := c.k.Audit.Record(ctx, e); err != nil {
			return err
		}
		return c.notify(ctx, r, "admin_impersonated", u, "", "", &NoticeMail{Admin: me.Email})
	})
	if c.failed(w, r, err) {
		return
	}
	target := &sigra.User{ID: u.ID, Email: u.Email, EmailConfirmedAt: u.EmailConfirmedAt, CreatedAt: u.CreatedAt}
	if err := c.k.Sess.StartImpersonation(ctx, target); err != nil {
		// The row says it started: a failure row beside it says it did not.
		c.k.RecordFailure(ctx, ActionImpersonateStart, me.ID, u.ID, map[string]string{"error": "not_started"})
		c.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, c.k.Site.Home(), map[string]any{
		"impersonating": map[string]any{"user_id": u.ID, "ends_at": c.k.Sess.ImpersonationEnds(ctx).UTC()},
	})
}

// stopImpersonation ends the request's impersonation (POST
// ui.RouteStopImpersonation) and lands on the user's detail page in the
// console, back in the administrator's own session; when that session is
// no longer live, the browser is signed out and lands on the sign-in
// page. A session that is not an impersonation is answered 409
// "not_impersonating". The end is audited by the listener that New
// registers with session.Manager.OnImpersonationEnd.
func (c *Console) stopImpersonation(w http.ResponseWriter, r *http.Request) {
	if _, err := kernel.ReadInput(r); err != nil {
		c.k.BadInput(w, r)
		return
	}
	ctx := r.Context()
	var userID string
	if u := sigra.UserFrom(ctx); u != nil {
		userID = u.ID
	}
	err := c.k.Sess.StopImpersonation(ctx)
	if errors.Is(err, session.ErrNotImpersonating) {
		c.conflict(w, r, "not_impersonating", "You are not acting as another user.")
		return
	}
	if err != nil {
		c.k.Error(w, r, err)
		return
	}
	if sigra.UserFrom(ctx) == nil {
		kernel.Redirect(w, r, c.k.Route(ui.RouteSignIn), map[string]any{"restored": false})
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(c.k.Path(expand(pathUser, "{id}", userID)), "admin_returned"),
		map[string]any{"restored": true})
}

// ended records the end of an impersonation, told by the session manager
// (see session.Manager.OnImpersonationEnd): stopped from the banner, or
// ended by its time box, its user's barring or the end of the
// administrator's own session, on whichever request came first.
func (c *Console) ended(ctx context.Context, e session.ImpersonationEnd) {
	action := ActionImpersonateEnd
	if e.Reason == session.EndStopped {
		action = ActionImpersonateStop
	}
	restored := "false"
	if e.Restored {
		restored = "true"
	}
	// The administrator is the impersonator of the end's row too, as of
	// the start's, so that a filter on the impersonator finds the whole
	// episode.
	ev := audit.Event{Action: action, ActorID: e.AdminID, SubjectID: e.UserID, ImpersonatorID: e.AdminID,
		Outcome: audit.OutcomeSuccess, Metadata: map[string]string{"reason": string(e.Reason), "restored": restored}}
	if err := c.k.Audit.RecordAfter(ctx, ev); err != nil {
		c.k.LogFailure(ctx, "audit row not written", err, "action", action)
	}
}
