package org

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// Store is what organizations need of storage: organizations, memberships
// and invitations, users (members' addresses, confirming an invitee's
// address), the rate limiter, the audit log and transactions. Both
// adapters (store/sqlite, store/postgres) implement it.
type Store interface {
	store.Users
	store.Limiter
	store.AuditLog
	store.Transactor
	store.Orgs
	store.Memberships
	store.Invitations
}

// Built-in roles (the store's names). An application adds roles of its own
// with Config.Roles.
const (
	RoleOwner  = store.RoleOwner
	RoleAdmin  = store.RoleAdmin
	RoleMember = store.RoleMember
)

// Built-in permissions. Handlers check permissions, never role names: an
// application gives its own roles any of these, and declares permissions
// of its own ("billing:manage") in Config.Roles.
const (
	// PermOrgManage: rename the organization, change its slug and policy.
	PermOrgManage = "org:manage"
	// PermOrgDelete: schedule and cancel the organization's deletion.
	PermOrgDelete = "org:delete"
	// PermMembersRead: see the members.
	PermMembersRead = "members:read"
	// PermMembersManage: change members' roles and remove members.
	PermMembersManage = "members:manage"
	// PermMembersInvite: send, resend and revoke invitations.
	PermMembersInvite = "members:invite"
)

// builtinRoles are the permissions of the built-in roles. An owner holds
// every permission, the application's too.
var builtinRoles = map[string][]string{
	RoleOwner:  {PermOrgManage, PermOrgDelete, PermMembersRead, PermMembersManage, PermMembersInvite},
	RoleAdmin:  {PermOrgManage, PermMembersRead, PermMembersManage, PermMembersInvite},
	RoleMember: {PermMembersRead},
}

// Audit actions of this package. Every row carries the organization
// (store.AuditEvent.OrgID), so the log can be read per tenant.
const (
	ActionCreate           = "org.create"
	ActionUpdate           = "org.update"
	ActionPolicy           = "org.policy"
	ActionDeleteSchedule   = "org.delete.schedule"
	ActionDeleteCancel     = "org.delete.cancel"
	ActionDeleteComplete   = "org.delete.complete"
	ActionMemberRole       = "org.member.role"
	ActionMemberRemove     = "org.member.remove"
	ActionMemberLeave      = "org.member.leave"
	ActionInvitationSend   = "org.invitation.send"
	ActionInvitationResend = "org.invitation.resend"
	ActionInvitationRevoke = "org.invitation.revoke"
	ActionInvitationAccept = "org.invitation.accept"
)

// Config configures organizations. Store, Sessions, Guard, UI and Mail
// are required; the site comes from Sessions, and the UI must be built
// from the same site with [Pages] among its packs.
type Config struct {
	Store    Store
	Sessions *session.Manager
	Guard    *middleware.Guard
	UI       *ui.UI
	// Mail sends invitations and notices: an *mail.Outbox over the same
	// store in production.
	Mail mail.Sender
	// Audit records the events. Default: a Logger over Store.
	Audit *audit.Logger
	// RateLimiter limits invitations and creations. Default: one over
	// Store.
	RateLimiter *middleware.RateLimiter

	// Roles adds permissions to roles: to the built-in ones (owner, admin,
	// member) or to roles of the application's own, which it declares
	// here ("billing": {"billing:manage", "members:read"}). An owner holds
	// every permission named anywhere. Role names are lower-case letters,
	// digits and underscores; permissions are non-empty and without
	// spaces.
	Roles map[string][]string
	// CanCreate decides who may create an organization. Default: any user
	// whose address is confirmed.
	CanCreate func(ctx context.Context, u *sigra.User) bool
	// ReservedSlugs are refused as slugs besides the built-in list (see
	// [ReservedSlugs]): the application's own top-level paths.
	ReservedSlugs []string
	// InvitationTTL is how long an invitation stays valid. Default 7 days.
	InvitationTTL time.Duration
	// DeletionGrace is how long a scheduled deletion waits, during which
	// an owner can cancel it. Default 7 days; negative deletes at once.
	DeletionGrace time.Duration
	// InvitationLimit bounds the invitations (sent and resent) per
	// organization per hour. Default 50.
	InvitationLimit int
}

// ReservedSlugs are the slugs no organization may take: the package's
// own paths and common top-level words.
var ReservedSlugs = []string{
	"new", "switch", "settings", "admin", "administrator", "api", "app", "auth", "login", "logout", "signin",
	"signout", "register", "signup", "account", "accounts", "org", "orgs", "organization", "organizations",
	"invitations", "invite", "members", "static", "assets", "help", "support", "about", "www", "root",
	"system", "security", "billing", "dashboard", "me", "you", "null", "undefined",
}

// Orgs serves the organization pages and guards organization routes.
// Create it with [New] and mount it with [Orgs.Mount]. Safe for
// concurrent use.
type Orgs struct {
	k        *kernel.Kernel
	cfg      Config
	st       Store
	roles    map[string]map[string]bool
	order    []string
	reserved map[string]bool
	stepUp   bool
}

// New validates cfg and returns Orgs. Errors wrap [sigra.ErrConfig] and
// name the missing or invalid field.
func New(cfg Config) (*Orgs, error) {
	var st kernel.Store
	if cfg.Store != nil {
		st = cfg.Store
	}
	k, err := kernel.New("org", PackName, st, kernel.Deps{
		Sessions: cfg.Sessions, Guard: cfg.Guard, UI: cfg.UI, Mail: cfg.Mail, Audit: cfg.Audit, Limiter: cfg.RateLimiter,
	})
	if err != nil {
		return nil, err
	}
	k.Forms(forms())
	for _, route := range []string{ui.RouteSignIn, ui.RouteSudo} {
		if err := k.Need(route, "the pack of the sign-in flows (such as account.Pages())"); err != nil {
			return nil, err
		}
	}
	bad := func(format string, args ...any) (*Orgs, error) {
		return nil, fmt.Errorf("%w: org: %s", sigra.ErrConfig, fmt.Sprintf(format, args...))
	}
	o := &Orgs{k: k, cfg: cfg, st: cfg.Store, roles: map[string]map[string]bool{}, reserved: map[string]bool{}}
	_, o.stepUp = k.UI.Route(ui.RouteStepUp)
	all := map[string]bool{}
	add := func(role string, perms []string) error {
		if !roleName.MatchString(role) {
			return fmt.Errorf("role %q: want lower-case letters, digits and underscores", role)
		}
		if o.roles[role] == nil {
			o.roles[role] = map[string]bool{}
		}
		for _, p := range perms {
			if p == "" || strings.ContainsFunc(p, unicode.IsSpace) {
				return fmt.Errorf("role %q: invalid permission %q", role, p)
			}
			o.roles[role][p] = true
			all[p] = true
		}
		return nil
	}
	for _, r := range []string{RoleOwner, RoleAdmin, RoleMember} {
		_ = add(r, builtinRoles[r])
		o.order = append(o.order, r)
	}
	var own []string
	for r, perms := range cfg.Roles {
		if err := add(r, perms); err != nil {
			return bad("Roles: %v", err)
		}
		if builtinRoles[r] == nil {
			own = append(own, r)
		}
	}
	sort.Strings(own)
	o.order = append(o.order, own...)
	for p := range all {
		o.roles[RoleOwner][p] = true
	}
	for _, s := range slices.Concat(ReservedSlugs, cfg.ReservedSlugs) {
		o.reserved[strings.ToLower(s)] = true
	}
	if o.cfg.CanCreate == nil {
		o.cfg.CanCreate = func(_ context.Context, u *sigra.User) bool { return u.EmailConfirmed() }
	}
	if o.cfg.InvitationTTL == 0 {
		o.cfg.InvitationTTL = 7 * 24 * time.Hour
	}
	if o.cfg.InvitationTTL < 0 {
		return bad("negative InvitationTTL")
	}
	if o.cfg.DeletionGrace == 0 {
		o.cfg.DeletionGrace = 7 * 24 * time.Hour
	}
	if o.cfg.InvitationLimit <= 0 {
		o.cfg.InvitationLimit = 50
	}
	return o, nil
}

var roleName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Mount registers the organization routes on mux under the site's prefix.
// See the package documentation for the routes.
func (o *Orgs) Mount(mux *http.ServeMux) {
	get, post := http.MethodGet, http.MethodPost
	user, sudo := o.k.Guard.RequireUser, o.k.Guard.RequireSudo
	// RequireMember includes RequireUser; it comes before RequireSudo, so
	// that another tenant's routes answer 404 whatever the sudo state.
	member := o.RequireMember
	o.k.Handle(mux, get, pathOrgs, o.listPage, user)
	o.k.Handle(mux, post, pathOrgs, o.create, user)
	o.k.Handle(mux, post, pathSwitch, o.switchOrg, user)
	o.k.Handle(mux, get, pathOrg, o.orgPage, member)
	o.k.Handle(mux, post, pathOrgSettings, o.update, member)
	o.k.Handle(mux, post, pathOrgPolicy, o.setPolicy, member, sudo)
	o.k.Handle(mux, get, pathMembers, o.membersPage, member)
	o.k.Handle(mux, post, pathMemberRole, o.setRole, member)
	o.k.Handle(mux, post, pathMemberRemove, o.removeMember, member)
	o.k.Handle(mux, post, pathInvitations, o.invite, member)
	o.k.Handle(mux, post, pathInvitationRevoke, o.revokeInvitation, member)
	o.k.Handle(mux, post, pathInvitationResend, o.resendInvitation, member)
	o.k.Handle(mux, post, pathLeave, o.leave, member)
	o.k.Handle(mux, post, pathDelete, o.scheduleDelete, member, sudo)
	o.k.Handle(mux, post, pathDeleteCancel, o.cancelDelete, member)
	o.k.Handle(mux, get, pathAccept, o.acceptPage)
	o.k.Handle(mux, post, pathAccept, o.accept)
}

// Section returns the organizations part of the settings page (the
// user's organizations, a link to manage them), for
// account.Config.Sections.
func (o *Orgs) Section() ui.Section {
	return ui.Section{Name: "organizations", Order: 50, Data: func(r *http.Request) (any, error) {
		u := sigra.UserFrom(r.Context())
		if u == nil {
			return nil, nil
		}
		list, err := o.userOrgs(r)
		if err != nil {
			return nil, err
		}
		return &OrgsSection{Orgs: list}, nil
	}}
}

// Roles returns the role names, built-in first (owner, admin, member),
// then the application's in alphabetical order.
func (o *Orgs) Roles() []string { return slices.Clone(o.order) }

// Permissions returns the permissions of role, sorted; nil for an unknown
// role.
func (o *Orgs) Permissions(role string) []string {
	ps := o.roles[role]
	if ps == nil {
		return nil
	}
	out := make([]string, 0, len(ps))
	for p := range ps {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// ---- the request's organization ----

// Tenant is the organization a request acts in, with the signed-in user's
// membership of it: what [Orgs.RequireMember] puts in the request's
// context and [From] returns. Read-only.
type Tenant struct {
	// Org is the organization.
	Org *store.Org
	// Role is the user's role in it.
	Role  string
	perms map[string]bool
}

// Can reports whether the user's role in the organization grants
// permission.
func (t *Tenant) Can(permission string) bool { return t != nil && t.perms[permission] }

type tenantKey struct{}

// From returns the organization of a request that passed
// [Orgs.RequireMember], or nil. Handlers scope every read and write of
// the tenant's data by From(ctx).Org.ID.
func From(ctx context.Context) *Tenant {
	t, _ := ctx.Value(tenantKey{}).(*Tenant)
	return t
}

// WithTenant returns a copy of ctx carrying t, for tests of handlers that
// read [From].
func WithTenant(ctx context.Context, t *Tenant, permissions ...string) context.Context {
	if t != nil && t.perms == nil && len(permissions) > 0 {
		t.perms = map[string]bool{}
		for _, p := range permissions {
			t.perms[p] = true
		}
	}
	return context.WithValue(ctx, tenantKey{}, t)
}

// RequireMember lets through signed-in members of the request's
// organization, which is the one the route's {org} path value names by
// slug, or else the session's active organization, and puts it in the
// request's context ([From]). The organization and the user's membership
// come from one store read: store.Orgs.UserOrgBySlug on a slug route,
// store.Orgs.UserOrg for the active organization. With the session's own
// lookup, a request on PostgreSQL makes two round trips.
//
//   - An organization that does not exist, and one the user is not a
//     member of, both answer 404 (no existence leak).
//   - An old slug (renamed within the last 90 days) redirects a GET or
//     HEAD to the current one (308); other methods get 404.
//   - With no {org} in the route and no active organization (or one the
//     user no longer belongs to), browsers go to the organization
//     switcher and come back; JSON gets 409 "org_required".
//   - An organization whose policy requires two factors sends a member
//     signed in with one to add or present a second (the route step_up),
//     as middleware.Guard.RequireAAL2 does; JSON gets 403
//     "aal2_required".
//
// Anonymous requests are sent to sign in, as by RequireUser.
func (o *Orgs) RequireMember(next http.Handler) http.Handler {
	return o.k.Guard.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if From(r.Context()) != nil {
			next.ServeHTTP(w, r)
			return
		}
		t, ok := o.resolve(w, r)
		if !ok {
			return
		}
		if t.Org.Policy.RequireTwoFactor && sigra.AuthFrom(r.Context()).AAL < sigra.AAL2 {
			o.twoFactorRequired(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, t)))
	}))
}

// RequirePermission lets through members whose role grants every one of
// permissions (see [Orgs.RequireMember], which it includes). Other members
// get 403 "forbidden".
func (o *Orgs) RequirePermission(permissions ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return o.RequireMember(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t := From(r.Context())
			for _, p := range permissions {
				if !t.Can(p) {
					o.k.Fail(w, r, http.StatusForbidden, "forbidden", "Your role in this organization does not allow this.")
					return
				}
			}
			next.ServeHTTP(w, r)
		}))
	}
}

// RequireRole lets through members whose role is one of roles (see
// [Orgs.RequireMember], which it includes). Other members get 403
// "forbidden". Prefer [Orgs.RequirePermission]: roles change, permissions
// say what a handler needs.
func (o *Orgs) RequireRole(roles ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return o.RequireMember(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !slices.Contains(roles, From(r.Context()).Role) {
				o.k.Fail(w, r, http.StatusForbidden, "forbidden", "Your role in this organization does not allow this.")
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
}

// resolve finds the request's organization and the user's membership,
// answering when it cannot (ok false).
func (o *Orgs) resolve(w http.ResponseWriter, r *http.Request) (*Tenant, bool) {
	if slug := r.PathValue("org"); slug != "" {
		return o.resolveSlug(w, r, slug)
	}
	ctx := r.Context()
	u := sigra.UserFrom(ctx)
	active := sigra.AuthFrom(ctx).ActiveOrg
	if active == "" {
		o.chooseOrg(w, r)
		return nil, false
	}
	uo, err := o.st.UserOrg(ctx, u.ID, active)
	if errors.Is(err, store.ErrNotFound) {
		// The active organization is gone, or the user left it.
		o.dropActive(ctx)
		o.chooseOrg(w, r)
		return nil, false
	}
	if err != nil {
		o.k.Error(w, r, err)
		return nil, false
	}
	return o.tenant(&uo.Org, uo.Membership.Role), true
}

// resolveSlug finds the organization slug names with the user's
// membership in one store read. An organization that does not exist and
// one the user is not a member of are the same not-found; an old slug
// redirects a member's GET or HEAD to the current one and is not found
// for other methods.
func (o *Orgs) resolveSlug(w http.ResponseWriter, r *http.Request, slug string) (*Tenant, bool) {
	ctx := r.Context()
	uo, old, err := o.st.UserOrgBySlug(ctx, sigra.UserFrom(ctx).ID, slug, o.k.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		o.notFound(w, r)
		return nil, false
	case err != nil:
		o.k.Error(w, r, err)
		return nil, false
	case old && r.Method != http.MethodGet && r.Method != http.MethodHead:
		o.notFound(w, r)
		return nil, false
	case old:
		o.redirectSlug(w, r, slug, uo.Org.Slug)
		return nil, false
	}
	return o.tenant(&uo.Org, uo.Membership.Role), true
}

// tenant builds the Tenant of a member with role.
func (o *Orgs) tenant(org *store.Org, role string) *Tenant {
	perms := o.roles[role]
	if perms == nil {
		perms = map[string]bool{}
	}
	return &Tenant{Org: org, Role: role, perms: perms}
}

// dropActive clears a session's active organization that no longer
// exists or no longer has the user (the store already cleared the row:
// this keeps the request's own commit from writing it back).
func (o *Orgs) dropActive(ctx context.Context) {
	if err := o.k.Sess.SetActiveOrg(ctx, ""); err != nil {
		o.k.LogFailure(ctx, "clearing the active organization failed", err)
	}
}

// notFound answers a missing organization, or one of another tenant: the
// same 404 either way.
func (o *Orgs) notFound(w http.ResponseWriter, r *http.Request) {
	o.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such organization, or you are not a member of it.")
}

// chooseOrg sends a request without an organization to the switcher.
func (o *Orgs) chooseOrg(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		o.k.Fail(w, r, http.StatusConflict, "org_required", "Choose an organization first.")
		return
	}
	target := o.k.Path(pathOrgs)
	if r.Method == http.MethodGet {
		target += "?return_to=" + queryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// redirectSlug sends a request for an old slug to the current one.
func (o *Orgs) redirectSlug(w http.ResponseWriter, r *http.Request, old, current string) {
	p := r.URL.EscapedPath()
	seg := "/" + old
	i := strings.Index(strings.ToLower(p), strings.ToLower(seg))
	if i < 0 {
		o.notFound(w, r)
		return
	}
	target := p[:i] + "/" + current + p[i+len(seg):]
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusPermanentRedirect)
}

// twoFactorRequired answers a member who signed in with one factor when
// the organization requires two.
func (o *Orgs) twoFactorRequired(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) || !o.stepUp {
		o.k.Fail(w, r, http.StatusForbidden, "aal2_required", "This organization requires two-factor authentication. Set it up in your account settings, then sign in with it.")
		return
	}
	target := o.k.Route(ui.RouteStepUp)
	if r.Method == http.MethodGet {
		target += "?return_to=" + queryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// ---- slugs and names ----

// Slug rules: 2 to 40 characters, lower-case ASCII letters, digits and
// single hyphens, starting and ending with a letter or digit.
var slugForm = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){1,39}$`)

// checkSlug returns why slug cannot name an organization, or "".
func (o *Orgs) checkSlug(slug string) string {
	switch {
	case slug == "":
		return "Enter a URL name."
	case len(slug) < 2 || len(slug) > 40:
		return "Use 2 to 40 characters."
	case !slugForm.MatchString(slug):
		return "Use lower-case letters, digits and single hyphens, starting and ending with a letter or digit."
	case o.reserved[slug]:
		return "That URL name is reserved. Choose another."
	}
	return ""
}

// SlugFrom derives a slug from an organization's name: accents dropped
// (é becomes e), lower-case ASCII letters and digits kept, every other run
// of characters turned into one hyphen, at most 40 characters. It may
// return "" or a reserved word: the result is still checked.
func SlugFrom(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range norm.NFD.String(strings.ToLower(name)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue // a combining accent of the letter before
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		default:
			hyphen = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	return strings.Trim(b.String()[:min(b.Len(), 40)], "-")
}

// checkName returns why name cannot name an organization, or "".
func checkName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "Enter a name."
	case utf8.RuneCountInString(name) > 100:
		return "Use at most 100 characters."
	case strings.ContainsFunc(name, unicode.IsControl):
		return "Remove the control characters."
	}
	return ""
}

// ---- audit ----

// record writes a success event of the organization (in the transaction
// ctx carries, if any).
func (o *Orgs) record(ctx context.Context, action, orgID, actor, subject string, meta map[string]string) error {
	return o.k.Audit.Record(ctx, audit.Event{Action: action, OrgID: orgID, ActorID: actor, SubjectID: subject, Outcome: audit.OutcomeSuccess, Metadata: meta})
}

// recordFailure writes a failed attempt of the organization outside any
// transaction.
func (o *Orgs) recordFailure(ctx context.Context, action, orgID, actor, subject string, meta map[string]string) {
	_ = o.k.Audit.RecordFailure(ctx, audit.Event{Action: action, OrgID: orgID, ActorID: actor, SubjectID: subject, Outcome: audit.OutcomeFailure, Metadata: meta})
}

// Actions returns the audit actions this package records besides the
// audit catalogue's, for audit.Config.Actions of a strict logger.
func Actions() []string {
	return []string{
		ActionCreate,
		ActionUpdate,
		ActionPolicy,
		ActionDeleteSchedule,
		ActionDeleteCancel,
		ActionDeleteComplete,
		ActionMemberRole,
		ActionMemberRemove,
		ActionMemberLeave,
		ActionInvitationSend,
		ActionInvitationResend,
		ActionInvitationRevoke,
		ActionInvitationAccept,
	}
}
