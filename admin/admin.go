package admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// Store is what the console needs of storage: the users and everything
// the console shows or changes of them (sessions, emailed tokens, second
// factors, passkeys, OAuth identities, organizations), the
// administrators, the users list, the audit log and its explorer, the
// rate limiter and transactions. The console reads the other features'
// data only through these interfaces. Both adapters (store/sqlite,
// store/postgres) implement it.
type Store interface {
	store.Users
	store.Sessions
	store.Tokens
	store.Limiter
	store.AuditLog
	store.Transactor
	store.TOTP
	store.RecoveryCodes
	store.TrustedBrowsers
	store.Passkeys
	store.Identities
	store.Orgs
	store.Memberships
	store.Admins
	store.UserDirectory
	store.AuditExplorer
}

// Audit actions of this package. Actions the catalogue already names are
// used as they are: audit.ActionUserDisable and audit.ActionUserEnable,
// audit.ActionUnlock, audit.ActionSessionRevoke and
// audit.ActionSessionRevokeAll, and audit.ActionDeleteCancel and audit.ActionDeleteComplete.
// Every row of the console has the administrator (or the organization
// manager of the org lens) as actor and the user as subject.
const (
	// ActionGrant: a user was made an administrator.
	ActionGrant = "admin.grant"
	// ActionRevoke: a user's administrator role was removed.
	ActionRevoke = "admin.revoke"
	// ActionLock: an administrator locked a user's password sign-in.
	ActionLock = "admin.user.lock"
	// ActionPasswordReset: an administrator revoked a user's sessions and
	// sent a password reset link.
	ActionPasswordReset = "admin.user.password_reset"
	// ActionConfirmationResend: an administrator sent a user a new
	// confirmation link.
	ActionConfirmationResend = "admin.user.confirmation_resend"
	// ActionTwoFactorReset: an administrator removed a user's TOTP
	// authenticator, recovery codes and trusted browsers.
	ActionTwoFactorReset = "admin.user.two_factor_reset"
	// ActionPasskeyRemove: an administrator removed one of a user's
	// passkeys.
	ActionPasskeyRemove = "admin.user.passkey_remove"
	// ActionIdentityUnlink: an administrator unlinked one of a user's
	// OAuth identities.
	ActionIdentityUnlink = "admin.user.identity_unlink"
	// ActionAuditExport: an administrator exported the audit log (the
	// filter is in the metadata).
	ActionAuditExport = "admin.audit.export"
)

// Config configures the console. Store, Sessions, Guard, UI and Mail are
// required; the site comes from Sessions, and the UI must be built from
// the same site with [Pages] among its packs, beside the pack of the
// sign-in flows (account.Pages()), whose reset and confirm pages the
// console's emails link to.
type Config struct {
	Store    Store
	Sessions *session.Manager
	Guard    *middleware.Guard
	UI       *ui.UI
	// Mail sends the notices to users: an *mail.Outbox over the same
	// store in production, so a notice commits with its change.
	Mail mail.Sender
	// Audit records the events. Default: a Logger over Store.
	Audit *audit.Logger
	// RateLimiter is the limiter of the console's requests. Default: one
	// over Store.
	RateLimiter *middleware.RateLimiter

	// PasskeyRPID is the relying party whose passkeys the user detail
	// shows and removes (passkey.Config.RPID). Empty: no passkeys are
	// shown.
	PasskeyRPID string
	// LockFor is how long the lock action locks a user's password
	// sign-in. Default 24 hours.
	LockFor time.Duration
	// ResetTTL and ConfirmTTL are the lifetimes of the reset and
	// confirmation links the console sends. Defaults 1 hour and 48 hours,
	// those of package account.
	ResetTTL, ConfirmTTL time.Duration
	// PageSize is the users list's and the audit explorer's page size.
	// Default 50; at most 100.
	PageSize int
	// Webhooks, when set, adds the webhooks page: the endpoints and the
	// dead letter, with a replay action behind sudo (see
	// [WebhookStore]). Nil leaves it out.
	Webhooks WebhookStore
}

// Console serves the admin console. Create it with [New] and mount it
// with [Console.Mount]. Safe for concurrent use.
type Console struct {
	k   *kernel.Kernel
	cfg Config
	st  Store
}

// New validates cfg and returns the console. Errors wrap
// [sigra.ErrConfig] and name the missing or invalid field. It registers
// the console with cfg.Sessions.OnImpersonationEnd, to audit the end of
// every impersonation: build one console per session manager.
func New(cfg Config) (*Console, error) {
	var st kernel.Store
	if cfg.Store != nil {
		st = cfg.Store
	}
	k, err := kernel.New("admin", PackName, st, kernel.Deps{
		Sessions: cfg.Sessions, Guard: cfg.Guard, UI: cfg.UI, Mail: cfg.Mail, Audit: cfg.Audit, Limiter: cfg.RateLimiter,
	})
	if err != nil {
		return nil, err
	}
	fs := forms()
	if cfg.Webhooks != nil {
		maps.Copy(fs, webhookForms())
	}
	k.Forms(fs)
	for _, route := range []string{ui.RouteSignIn, ui.RouteSudo, ui.RouteConfirm, routeReset} {
		if err := k.Need(route, "the pack of the sign-in flows (such as account.Pages())"); err != nil {
			return nil, err
		}
	}
	bad := func(format string, args ...any) (*Console, error) {
		return nil, fmt.Errorf("%w: admin: %s", sigra.ErrConfig, fmt.Sprintf(format, args...))
	}
	def := func(d *time.Duration, v time.Duration, name string) error {
		if *d < 0 {
			return fmt.Errorf("negative %s", name)
		}
		if *d == 0 {
			*d = v
		}
		return nil
	}
	for _, c := range []struct {
		d    *time.Duration
		v    time.Duration
		name string
	}{{&cfg.LockFor, 24 * time.Hour, "LockFor"}, {&cfg.ResetTTL, time.Hour, "ResetTTL"}, {&cfg.ConfirmTTL, 48 * time.Hour, "ConfirmTTL"}} {
		if err := def(c.d, c.v, c.name); err != nil {
			return bad("%v", err)
		}
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 50
	}
	if cfg.PageSize < 0 || cfg.PageSize > 100 {
		return bad("PageSize %d: want 1 to 100", cfg.PageSize)
	}
	c := &Console{k: k, cfg: cfg, st: cfg.Store}
	// The end of an impersonation by its time box has no route of its own
	// to record it: the session manager tells the console.
	cfg.Sessions.OnImpersonationEnd(c.ended)
	// An impersonation lasts only while its administrator is one: a
	// revoked role ends it on the next request.
	cfg.Sessions.RequireImpersonator(func(ctx context.Context, adminID string) (bool, error) {
		return c.st.IsAdmin(ctx, adminID)
	})
	return c, nil
}

// routeReset is the route of the account pack's new-password page, which
// the reset email links to.
const routeReset = "reset"

// Mount registers the console's routes on mux under the site's prefix.
// See the package documentation for the routes.
func (c *Console) Mount(mux *http.ServeMux) {
	get, post := http.MethodGet, http.MethodPost
	admin, sudo, lens := c.Require, c.k.Guard.RequireSudo, c.requireManager
	c.k.Handle(mux, get, pathUsers, c.usersPage, admin)
	c.k.Handle(mux, post, pathUsers, c.search, admin)
	c.k.Handle(mux, get, pathUser, c.userPage, admin)
	for path, h := range c.actions() {
		c.k.Handle(mux, post, path, h, admin, sudo)
	}
	c.k.Handle(mux, post, pathImpersonate, c.impersonate, admin, sudo)
	c.k.Handle(mux, post, pathStopImperson, c.stopImpersonation, c.k.Guard.RequireUser)
	c.k.Handle(mux, get, pathAudit, c.auditPage, admin)
	c.k.Handle(mux, post, pathAudit, c.search, admin)
	c.k.Handle(mux, get, pathAuditExport, c.auditExport, admin, sudo)
	c.k.Handle(mux, get, pathAuditEvent, c.auditEventPage, admin)

	c.k.Handle(mux, get, pathOrgUsers, c.usersPage, lens)
	c.k.Handle(mux, post, pathOrgUsers, c.search, lens)
	c.k.Handle(mux, get, pathOrgUser, c.userPage, lens)
	c.k.Handle(mux, post, pathOrgRevokeAll, c.revokeAll, lens, sudo)
	c.k.Handle(mux, post, pathOrgConfirm, c.resendConfirmation, lens, sudo)
	if c.cfg.Webhooks != nil {
		c.mountWebhooks(mux)
	}
}

// ---- who may use the console ----

type lensKey struct{}

// lensOrg is the organization of a request of the org lens, with the
// request's user's role in it.
type lensOrg struct {
	org  *store.Org
	role string
}

// lensFrom returns the organization of a request of the org lens, or nil
// on the console's own routes.
func lensFrom(ctx context.Context) *lensOrg {
	l, _ := ctx.Value(lensKey{}).(*lensOrg)
	return l
}

// Require lets administrators through and answers everyone else,
// signed in or not, with 404 (a page, or JSON {"error": {"code":
// "not_found"}}), so that the console's existence does not show. A store
// failure is answered 503.
func (c *Console) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := sigra.UserFrom(r.Context())
		if u == nil {
			c.notFound(w, r)
			return
		}
		ok, err := c.st.IsAdmin(r.Context(), u.ID)
		if err != nil {
			c.k.Error(w, r, err)
			return
		}
		if !ok {
			c.notFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// IsAdmin reports whether the request's user is an administrator, for an
// application that shows a link to the console.
func (c *Console) IsAdmin(r *http.Request) (bool, error) {
	u := sigra.UserFrom(r.Context())
	if u == nil {
		return false, nil
	}
	return c.st.IsAdmin(r.Context(), u.ID)
}

// requireManager lets through the owners and admins of the organization
// {org} (by slug or ID), and answers everyone else 404; it puts the
// organization in the request's context.
func (c *Console) requireManager(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		u := sigra.UserFrom(ctx)
		if u == nil {
			c.notFound(w, r)
			return
		}
		// By slug, then by ID: each read joins the organization and the
		// user's membership.
		ref := r.PathValue("org")
		uo, _, err := c.st.UserOrgBySlug(ctx, u.ID, ref, c.k.Now())
		if errors.Is(err, store.ErrNotFound) {
			uo, err = c.st.UserOrg(ctx, u.ID, ref)
		}
		if errors.Is(err, store.ErrNotFound) || (err == nil && !managerRole(uo.Membership.Role)) {
			c.notFound(w, r)
			return
		}
		if err != nil {
			c.k.Error(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, lensKey{}, &lensOrg{org: &uo.Org, role: uo.Membership.Role})))
	})
}

// managerRole reports whether an organization role manages members: the
// built-in owner and admin (org.PermMembersManage).
func managerRole(role string) bool { return role == store.RoleOwner || role == store.RoleAdmin }

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such page.")
}

// target loads the user {id} of an action or page: on the console any
// user; in the org lens only a member of the organization (another
// user is not found). ok is false when it answered.
func (c *Console) target(w http.ResponseWriter, r *http.Request) (*store.User, bool) {
	ctx := r.Context()
	id := r.PathValue("id")
	u, err := c.st.UserByID(ctx, id)
	if err == nil {
		if l := lensFrom(ctx); l != nil {
			_, err = c.st.Membership(ctx, l.org.ID, u.ID)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		c.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such user.")
		return nil, false
	}
	if err != nil {
		c.k.Error(w, r, err)
		return nil, false
	}
	return u, true
}

// protected reports whether u may not be the subject of a destructive
// action by the request's user: an administrator (the acting one too)
// is never locked, disabled, deleted, reset or signed out from the
// console. In the org lens, a platform administrator, and an owner or
// admin of the organization unless the acting manager is an owner, are
// protected. The error is a store failure.
func (c *Console) protected(ctx context.Context, u *store.User) (bool, error) {
	isAdmin, err := c.st.IsAdmin(ctx, u.ID)
	if err != nil || isAdmin {
		return isAdmin, err
	}
	if l := lensFrom(ctx); l != nil && l.role != store.RoleOwner {
		m, err := c.st.Membership(ctx, l.org.ID, u.ID)
		if err != nil {
			return false, err
		}
		return managerRole(m.Role), nil
	}
	return false, nil
}

// refuseProtected answers an action on a protected user with 403
// "admin_protected".
func (c *Console) refuseProtected(w http.ResponseWriter, r *http.Request) {
	c.k.Fail(w, r, http.StatusForbidden, "admin_protected", "This action cannot be taken on an administrator's account.")
}

// record writes a success event of the console with the request's user
// as actor and the organization of the org lens, if any.
func (c *Console) record(ctx context.Context, action, subject string, meta map[string]string) error {
	e := audit.Event{Action: action, ActorID: sigra.UserFrom(ctx).ID, SubjectID: subject, Outcome: audit.OutcomeSuccess, Metadata: meta}
	if l := lensFrom(ctx); l != nil {
		e.OrgID = l.org.ID
	}
	return c.k.Audit.Record(ctx, e)
}

// trimmed is s without surrounding spaces, for query parameters.
func trimmed(s string) string { return strings.TrimSpace(s) }

// AuditActions returns the audit actions this package records besides the
// audit catalogue's, for audit.Config.Actions of a strict logger (the
// other features call theirs Actions; here that name is the type of the
// user page's action URLs).
func AuditActions() []string {
	return []string{
		ActionGrant,
		ActionRevoke,
		ActionLock,
		ActionPasswordReset,
		ActionConfirmationResend,
		ActionTwoFactorReset,
		ActionPasskeyRemove,
		ActionIdentityUnlink,
		ActionAuditExport,
		ActionImpersonateStart,
		ActionImpersonateStop,
		ActionImpersonateEnd,
		ActionWebhookReplay,
	}
}
