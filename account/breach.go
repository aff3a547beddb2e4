package account

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// BreachCheckConfig configures the breach check of password sign-ins. A
// password sign-in is checked against the breach checker of the Passwords
// hasher's policy (password.Policy.Breach, for example a
// password.RangeClient for Pwned Passwords); without a checker there is no
// check at sign-in, as there is none when a password is set.
//
// A password found in a breach does not stop the sign-in (the user proved
// they know it, and may need the account to fix it): the sign-in goes on,
// through the second factor if the user has one, and then every route
// behind the guards sends the user to the page that asks for a new
// password (route password_renew) until they choose one. The JSON answers
// of the sign-in carry "password_change_required": true.
type BreachCheckConfig struct {
	// Disabled turns the check at sign-in off. Passwords being set are
	// still checked by the policy.
	Disabled bool
	// Every is how often a user's password is checked at sign-in: after a
	// check that found nothing, sign-ins within Every are not checked
	// again. A password found in a breach, or a check that failed, is
	// checked again at the next sign-in. Default 24 hours.
	Every time.Duration
	// FailClosed refuses a sign-in whose check could not be done (the
	// service unreachable, too slow or answering badly) with 503 and the
	// error code "breach_check_unavailable". Default false (fail-open):
	// the sign-in goes on unchecked, with a warning in the log and an
	// audit event (security.breach_check_failed, mode "open").
	FailClosed bool
}

// breachKey is the limiter key that spaces out the checks of a user's
// password.
func breachKey(userID string) string { return "breach-check:" + userID }

// breachOn reports whether password sign-ins are checked.
func (h *Handler) breachOn() bool {
	return !h.cfg.BreachCheck.Disabled && h.pw.Policy().Breach != nil
}

// errBreachUnavailable is a failed check refused by a fail-closed
// configuration.
var errBreachUnavailable = errors.New("breach check unavailable")

// checkBreach checks the password u signed in with, unless it was found
// clean within BreachCheck.Every. breached tells that it appeared in a
// breach; err is errBreachUnavailable for a failed check under FailClosed,
// or a store failure. A failed check under fail-open is logged and
// audited and counts as not breached.
func (h *Handler) checkBreach(ctx context.Context, u *store.User, password string) (breached bool, err error) {
	if !h.breachOn() {
		return false, nil
	}
	key := breachKey(u.ID)
	res, err := h.st.Hit(ctx, key, 1, h.cfg.BreachCheck.Every, h.k.Now())
	if err != nil {
		return false, err
	}
	if !res.Allowed {
		return false, nil
	}
	count, cerr := h.pw.BreachCount(ctx, password)
	if cerr == nil && count == 0 {
		return false, nil
	}
	// Found, or not known: the next sign-in checks again.
	if err := h.st.ResetLimit(ctx, key); err != nil {
		return false, err
	}
	if cerr != nil {
		if ctx.Err() != nil {
			// The client went away: nothing to report.
			return false, ctx.Err()
		}
		mode := "open"
		if h.cfg.BreachCheck.FailClosed {
			mode = "closed"
		}
		h.k.Log.WarnContext(ctx, "sign-in: breach check failed", "user", u.ID, "mode", mode, "err", cerr)
		h.k.RecordFailure(ctx, audit.ActionBreachCheckFailed, u.ID, u.ID, map[string]string{"mode": mode})
		if h.cfg.BreachCheck.FailClosed {
			return false, errBreachUnavailable
		}
		return false, nil
	}
	h.k.RecordOutside(ctx, audit.ActionPasswordBreached, u.ID, u.ID, nil)
	return true, nil
}

// breachUnavailable answers a sign-in refused because its breach check
// could not be done (BreachCheck.FailClosed).
func (h *Handler) breachUnavailable(w http.ResponseWriter, r *http.Request) {
	web.SetRetryAfter(w.Header(), 30*time.Second)
	h.k.Fail(w, r, http.StatusServiceUnavailable, "breach_check_unavailable",
		"Your password could not be checked right now. Try again in a moment.")
}

// renewTarget is where a sign-in that must change its password goes
// first: the page that asks for the new password, returning to next.
func (h *Handler) renewTarget(next string) string {
	target := h.k.Route(ui.RoutePasswordRenew)
	if next != h.k.Site.Home() {
		target += "?" + url.Values{"return_to": {next}}.Encode()
	}
	return target
}
