package org

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// Page titles.
const (
	titleList       = "Organizations"
	titleMembers    = "Members"
	titleInvitation = "Invitation"
)

// Limits on the requests that send email or create rows.
var (
	createLimit = middleware.Limit{N: 10, Window: time.Hour}
)

// sessionInvitation is the session value holding the digest (hex) of an
// invitation carried through a sign-in or registration. The token itself
// is never stored.
const sessionInvitation = "sigra.org.invitation"

func wantsJSON(r *http.Request) bool { return web.WantsJSON(r) }

func queryEscape(s string) string { return url.QueryEscape(s) }

// summary is the list form of an organization for a member with role.
func summary(o *store.Org, role, active string) OrgSummary {
	return OrgSummary{ID: o.ID, Name: o.Name, Slug: o.Slug, Role: role, Active: o.ID == active, DeletionDueAt: o.DeletionDueAt}
}

// orgURL is the local path of route path for the organization's slug,
// with a notice.
func (o *Orgs) orgURL(path, slug, notice string) string {
	p := o.k.Path(orgPath(path, slug))
	if notice != "" {
		p = kernel.WithNotice(p, notice)
	}
	return p
}

// userOrgs lists the signed-in user's organizations.
func (o *Orgs) userOrgs(r *http.Request) ([]OrgSummary, error) {
	ctx := r.Context()
	a := sigra.AuthFrom(ctx)
	list, err := o.st.UserOrgs(ctx, a.User.ID)
	if err != nil {
		return nil, err
	}
	out := make([]OrgSummary, 0, len(list))
	for _, uo := range list {
		out = append(out, summary(&uo.Org, uo.Membership.Role, a.ActiveOrg))
	}
	return out, nil
}

// ---- the list, the switcher, creation ----

func (o *Orgs) listData(r *http.Request) (*ListData, error) {
	list, err := o.userOrgs(r)
	if err != nil {
		return nil, err
	}
	u := sigra.UserFrom(r.Context())
	return &ListData{Orgs: list, CanCreate: o.cfg.CanCreate(r.Context(), u)}, nil
}

func (o *Orgs) listPage(w http.ResponseWriter, r *http.Request) {
	d, err := o.listData(r)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	o.k.Render(w, r, http.StatusOK, "orgs", o.k.Page(r, titleList, d), map[string]any{"orgs": d.Orgs, "can_create": d.CanCreate})
}

// listError answers a refused form of the list page.
func (o *Orgs) listError(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields map[string]string) {
	o.k.FormError(w, r, status, "orgs", func() (*ui.Page, error) {
		d, err := o.listData(r)
		if err != nil {
			return nil, err
		}
		return o.k.Page(r, titleList, d), nil
	}, code, msg, fields)
}

// create makes an organization with the signed-in user as its owner and
// makes it the session's active organization.
func (o *Orgs) create(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := sigra.UserFrom(ctx)
	in, err := kernel.ReadInput(r)
	if err != nil {
		e := kernel.Refusal(err)
		o.listError(w, r, http.StatusBadRequest, e.Code, e.Message, e.Fields)
		return
	}
	if !o.cfg.CanCreate(ctx, u) {
		msg := "You cannot create an organization."
		if !u.EmailConfirmed() {
			msg = "Confirm your email address to create an organization."
		}
		o.k.Fail(w, r, http.StatusForbidden, "forbidden", msg)
		return
	}
	name := strings.TrimSpace(in["name"])
	slug := strings.ToLower(strings.TrimSpace(in["slug"]))
	if slug == "" {
		slug = SlugFrom(name)
	}
	fields := map[string]string{}
	if p := checkName(name); p != "" {
		fields["name"] = p
	}
	if p := o.checkSlug(slug); p != "" && fields["name"] == "" {
		fields["slug"] = p
	}
	if len(fields) > 0 {
		o.listError(w, r, http.StatusUnprocessableEntity, "invalid_input", "Check the highlighted fields.", fields)
		return
	}
	if err := o.k.Limiter.Check(ctx, "org-create:"+u.ID, createLimit); err != nil {
		o.k.Error(w, r, err)
		return
	}
	org := &store.Org{Name: name, Slug: slug, CreatedBy: u.ID, CreatedAt: o.k.Now()}
	err = o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.CreateOrg(ctx, org); err != nil {
			return err
		}
		return o.record(ctx, ActionCreate, org.ID, u.ID, u.ID, map[string]string{"slug": org.Slug})
	})
	if errors.Is(err, store.ErrConflict) {
		o.listError(w, r, http.StatusConflict, "slug_taken", "That URL name is taken.", map[string]string{"slug": "That URL name is taken. Choose another."})
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	if err := o.k.Sess.SetActiveOrg(ctx, org.ID); err != nil {
		o.k.LogFailure(ctx, "setting the active organization failed", err)
	}
	kernel.Redirect(w, r, o.orgURL(pathOrg, org.Slug, "org_created"), map[string]any{"org": summary(org, RoleOwner, org.ID)})
}

// switchOrg makes one of the user's organizations (by slug or ID) the
// session's active organization.
func (o *Orgs) switchOrg(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := sigra.UserFrom(ctx)
	in, err := kernel.ReadInput(r)
	if err != nil {
		o.k.BadInput(w, r)
		return
	}
	ref := strings.TrimSpace(in["org"])
	if ref == "" {
		o.listError(w, r, http.StatusBadRequest, "invalid_input", "Choose an organization.", map[string]string{"org": "Choose an organization."})
		return
	}
	// By ID, then by slug: each read joins the organization and the
	// user's membership.
	uo, err := o.st.UserOrg(ctx, u.ID, ref)
	if errors.Is(err, store.ErrNotFound) {
		uo, _, err = o.st.UserOrgBySlug(ctx, u.ID, ref, o.k.Now())
	}
	if errors.Is(err, store.ErrNotFound) {
		o.notFound(w, r)
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	org := &uo.Org
	if err := o.k.Sess.SetActiveOrg(ctx, org.ID); err != nil {
		o.k.Error(w, r, err)
		return
	}
	target := o.orgURL(pathOrg, org.Slug, "org_switched")
	if rt, ok := returnTo(r, in); ok {
		target = rt
	}
	kernel.Redirect(w, r, target, map[string]any{"active_org": org.ID})
}

// returnTo is the form's or the query's local return_to, if any.
func returnTo(r *http.Request, in kernel.Input) (string, bool) {
	for _, s := range []string{in["return_to"], r.URL.Query().Get("return_to")} {
		if s == "" {
			continue
		}
		if p, ok := site.LocalPath(s); ok {
			return p, true
		}
	}
	return "", false
}

// ---- one organization ----

func (o *Orgs) orgData(r *http.Request) *OrgData {
	t := From(r.Context())
	return &OrgData{
		Org:              summary(t.Org, t.Role, sigra.AuthFrom(r.Context()).ActiveOrg),
		RequireTwoFactor: t.Org.Policy.RequireTwoFactor,
		CanManage:        t.Can(PermOrgManage),
		CanDelete:        t.Can(PermOrgDelete),
		PolicyAvailable:  o.stepUp,
		DeletionGrace:    max(o.cfg.DeletionGrace, 0),
	}
}

func orgJSON(d *OrgData) map[string]any {
	return map[string]any{
		"org": d.Org, "require_two_factor": d.RequireTwoFactor,
		"can_manage": d.CanManage, "can_delete": d.CanDelete,
	}
}

func (o *Orgs) orgPage(w http.ResponseWriter, r *http.Request) {
	d := o.orgData(r)
	o.k.Render(w, r, http.StatusOK, "org", o.k.Page(r, d.Org.Name, d), orgJSON(d))
}

// orgError answers a refused form of the organization page.
func (o *Orgs) orgError(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields map[string]string) {
	o.k.FormError(w, r, status, "org", func() (*ui.Page, error) {
		d := o.orgData(r)
		return o.k.Page(r, d.Org.Name, d), nil
	}, code, msg, fields)
}

// forbidden answers a member whose role lacks a permission.
func (o *Orgs) forbidden(w http.ResponseWriter, r *http.Request) {
	o.k.Fail(w, r, http.StatusForbidden, "forbidden", "Your role in this organization does not allow this.")
}

// formError answers a refused form with the page that holds it
// (orgError or membersError).
type formError func(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields map[string]string)

// formFor reads the body of a form under the request's organization for
// a member whose role grants perm (any member when perm is empty): a
// refused body is answered with the page that holds the form (refuse), a
// role without perm with 403. ok is false when it answered.
func (o *Orgs) formFor(w http.ResponseWriter, r *http.Request, refuse formError, perm string) (in kernel.Input, t *Tenant, u *sigra.User, ok bool) {
	in, err := kernel.ReadInput(r)
	if err != nil {
		e := kernel.Refusal(err)
		refuse(w, r, http.StatusBadRequest, e.Code, e.Message, e.Fields)
		return nil, nil, nil, false
	}
	t, u = From(r.Context()), sigra.UserFrom(r.Context())
	if perm != "" && !t.Can(perm) {
		o.forbidden(w, r)
		return nil, nil, nil, false
	}
	return in, t, u, true
}

// update renames the organization and changes its slug.
func (o *Orgs) update(w http.ResponseWriter, r *http.Request) {
	in, t, u, ok := o.formFor(w, r, o.orgError, PermOrgManage)
	if !ok {
		return
	}
	ctx := r.Context()
	// An empty field keeps the current value.
	name := strings.TrimSpace(in["name"])
	slug := strings.ToLower(strings.TrimSpace(in["slug"]))
	if name == "" && slug == "" {
		o.orgError(w, r, http.StatusUnprocessableEntity, "invalid_input", "Enter a new name or a new URL name.",
			map[string]string{"name": "Enter a new name or a new URL name."})
		return
	}
	if name == "" {
		name = t.Org.Name
	}
	if slug == "" {
		slug = t.Org.Slug
	}
	fields := map[string]string{}
	if p := checkName(name); p != "" {
		fields["name"] = p
	}
	if p := o.checkSlug(slug); p != "" && slug != t.Org.Slug {
		fields["slug"] = p
	}
	if len(fields) > 0 {
		o.orgError(w, r, http.StatusUnprocessableEntity, "invalid_input", "Check the highlighted fields.", fields)
		return
	}
	err := o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.RenameOrg(ctx, t.Org.ID, name, slug, o.k.Now()); err != nil {
			return err
		}
		meta := map[string]string{"slug": slug}
		if slug != t.Org.Slug {
			meta["old_slug"] = t.Org.Slug
		}
		return o.record(ctx, ActionUpdate, t.Org.ID, u.ID, "", meta)
	})
	if errors.Is(err, store.ErrConflict) {
		o.orgError(w, r, http.StatusConflict, "slug_taken", "That URL name is taken.", map[string]string{"slug": "That URL name is taken. Choose another."})
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		o.notFound(w, r)
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, o.orgURL(pathOrg, slug, "org_updated"), map[string]any{"slug": slug})
}

// setPolicy changes the organization's policy (behind sudo).
func (o *Orgs) setPolicy(w http.ResponseWriter, r *http.Request) {
	in, t, u, ok := o.formFor(w, r, o.orgError, PermOrgManage)
	if !ok {
		return
	}
	ctx := r.Context()
	p := store.OrgPolicy{RequireTwoFactor: in.Bool("require_two_factor")}
	if p.RequireTwoFactor && !t.Org.Policy.RequireTwoFactor {
		if !o.stepUp {
			o.orgError(w, r, http.StatusConflict, "unavailable", "This application has no second factor to require.", nil)
			return
		}
		if sigra.AuthFrom(ctx).AAL < sigra.AAL2 {
			o.orgError(w, r, http.StatusConflict, "two_factor_required",
				"Set up two-factor authentication for yourself, and sign in with it, before you require it of the members.", nil)
			return
		}
	}
	err := o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.SetOrgPolicy(ctx, t.Org.ID, p, o.k.Now()); err != nil {
			return err
		}
		return o.record(ctx, ActionPolicy, t.Org.ID, u.ID, "", map[string]string{"require_two_factor": boolText(p.RequireTwoFactor)})
	})
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, o.orgURL(pathOrg, t.Org.Slug, "org_policy"), map[string]any{"require_two_factor": p.RequireTwoFactor})
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// leave removes the signed-in user from the organization; the last owner
// cannot leave.
func (o *Orgs) leave(w http.ResponseWriter, r *http.Request) {
	_, t, u, ok := o.formFor(w, r, o.orgError, "")
	if !ok {
		return
	}
	ctx := r.Context()
	err := o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.RemoveMember(ctx, t.Org.ID, u.ID); err != nil {
			return err
		}
		return o.record(ctx, ActionMemberLeave, t.Org.ID, u.ID, u.ID, map[string]string{"role": t.Role})
	})
	if errors.Is(err, store.ErrLastOwner) {
		o.orgError(w, r, http.StatusConflict, "last_owner", "You are the organization's only owner. Make another member an owner first, or delete the organization.", nil)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		o.notFound(w, r)
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	if sigra.AuthFrom(ctx).ActiveOrg == t.Org.ID {
		o.dropActive(ctx)
	}
	kernel.Redirect(w, r, kernel.WithNotice(o.k.Path(pathOrgs), "org_left"), nil)
}

// scheduleDelete schedules the organization's deletion after the grace
// period, or deletes it at once when DeletionGrace is negative. The form
// must repeat the slug.
func (o *Orgs) scheduleDelete(w http.ResponseWriter, r *http.Request) {
	in, t, u, ok := o.formFor(w, r, o.orgError, PermOrgDelete)
	if !ok {
		return
	}
	ctx := r.Context()
	if strings.ToLower(strings.TrimSpace(in["confirm_slug"])) != t.Org.Slug {
		o.orgError(w, r, http.StatusUnprocessableEntity, "invalid_input", "Type the organization's URL name to confirm.",
			map[string]string{"confirm_slug": "Type " + t.Org.Slug + " exactly."})
		return
	}
	now := o.k.Now()
	if o.cfg.DeletionGrace < 0 {
		err := o.k.InTx(ctx, func(ctx context.Context) error {
			if err := o.st.DeleteOrg(ctx, t.Org.ID); err != nil {
				return err
			}
			return o.record(ctx, ActionDeleteComplete, t.Org.ID, u.ID, "", map[string]string{"slug": t.Org.Slug})
		})
		if err != nil {
			o.k.Error(w, r, err)
			return
		}
		kernel.Redirect(w, r, kernel.WithNotice(o.k.Path(pathOrgs), "org_deleted"), nil)
		return
	}
	due := now.Add(o.cfg.DeletionGrace)
	err := o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.ScheduleOrgDeletion(ctx, t.Org.ID, due, now); err != nil {
			return err
		}
		if err := o.record(ctx, ActionDeleteSchedule, t.Org.ID, u.ID, "", map[string]string{"due_at": due.UTC().Format(time.RFC3339)}); err != nil {
			return err
		}
		d := o.k.RequestEmail(r)
		d.Data = &OrgMail{OrgName: t.Org.Name, DueAt: due}
		return o.k.Queue(ctx, "org_deletion_scheduled", u.Email, d)
	})
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, o.orgURL(pathOrg, t.Org.Slug, "org_deletion_scheduled"), map[string]any{"deletion_due_at": due})
}

// cancelDelete cancels a scheduled deletion.
func (o *Orgs) cancelDelete(w http.ResponseWriter, r *http.Request) {
	_, t, u, ok := o.formFor(w, r, o.orgError, PermOrgDelete)
	if !ok {
		return
	}
	ctx := r.Context()
	if t.Org.DeletionDueAt.IsZero() {
		o.orgError(w, r, http.StatusConflict, "not_scheduled", "The organization is not scheduled for deletion.", nil)
		return
	}
	err := o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.ScheduleOrgDeletion(ctx, t.Org.ID, time.Time{}, o.k.Now()); err != nil {
			return err
		}
		return o.record(ctx, ActionDeleteCancel, t.Org.ID, u.ID, "", nil)
	})
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, o.orgURL(pathOrg, t.Org.Slug, "org_deletion_cancelled"), nil)
}

// PurgeDeleted deletes up to limit organizations whose deletion is due,
// each with its audit row in one transaction, and returns how many it
// deleted. Run it periodically (see [Orgs.RunPurge]) on one or more
// instances: an organization handled or cancelled meanwhile is skipped.
func (o *Orgs) PurgeDeleted(ctx context.Context, limit int) (int, error) {
	now := o.k.Now()
	due, err := o.st.OrgsDueForDeletion(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, org := range due {
		err := o.k.InTx(ctx, func(ctx context.Context) error {
			cur, err := o.st.OrgByID(ctx, org.ID)
			if err != nil {
				return err
			}
			if cur.DeletionDueAt.IsZero() || cur.DeletionDueAt.After(now) {
				return store.ErrNotFound // cancelled meanwhile
			}
			if err := o.st.DeleteOrg(ctx, org.ID); err != nil {
				return err
			}
			return o.record(ctx, ActionDeleteComplete, org.ID, "", "", map[string]string{"slug": org.Slug})
		})
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// invitationRetention is how long an invitation that was accepted,
// revoked or expired is kept (for the members page's history and support)
// before PurgeExpired deletes it.
const invitationRetention = 30 * 24 * time.Hour

// PurgeExpired deletes old slugs whose redirect has ended, and
// invitations accepted, revoked or expired more than 30 days ago. It
// returns how many of each it deleted.
func (o *Orgs) PurgeExpired(ctx context.Context) (slugs, invitations int, err error) {
	now := o.k.Now()
	if slugs, err = o.st.PurgeOrgSlugs(ctx, now); err != nil {
		return 0, 0, err
	}
	invitations, err = o.st.PurgeInvitations(ctx, now.Add(-invitationRetention))
	return slugs, invitations, err
}

// RunPurge calls PurgeDeleted and PurgeExpired every interval (default
// one hour) until ctx ends, logging failures.
func (o *Orgs) RunPurge(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := o.PurgeDeleted(ctx, 100); err != nil && ctx.Err() == nil {
			o.k.Log.ErrorContext(ctx, "purging deleted organizations failed", "err", err)
		}
		if _, _, err := o.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
			o.k.Log.ErrorContext(ctx, "purging expired slugs and invitations failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ---- members ----

// assignable are the roles the member with role may give (and take
// away): an owner any, others any but owner.
func (o *Orgs) assignable(role string) []string {
	if role == RoleOwner {
		return o.Roles()
	}
	var out []string
	for _, r := range o.order {
		if r != RoleOwner {
			out = append(out, r)
		}
	}
	return out
}

func (o *Orgs) membersData(r *http.Request) (*MembersData, error) {
	ctx := r.Context()
	t, u := From(ctx), sigra.UserFrom(ctx)
	d := &MembersData{
		Org: summary(t.Org, t.Role, sigra.AuthFrom(ctx).ActiveOrg), CanManage: t.Can(PermMembersManage), CanInvite: t.Can(PermMembersInvite),
		Roles: o.assignable(t.Role),
	}
	ms, next, err := o.st.Members(ctx, t.Org.ID, r.URL.Query().Get("after"), 100)
	if err != nil {
		return nil, err
	}
	d.Next = next
	for _, m := range ms {
		mu, err := o.st.UserByID(ctx, m.UserID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		d.Members = append(d.Members, Member{UserID: m.UserID, Email: mu.Email, Role: m.Role, JoinedAt: m.CreatedAt, You: m.UserID == u.ID})
	}
	if d.CanInvite {
		invs, err := o.st.PendingInvitations(ctx, t.Org.ID, o.k.Now())
		if err != nil {
			return nil, err
		}
		for _, inv := range invs {
			d.Invitations = append(d.Invitations, PendingInvitation{ID: inv.ID, Email: inv.Email, Role: inv.Role, CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt})
		}
	}
	return d, nil
}

func (o *Orgs) membersPage(w http.ResponseWriter, r *http.Request) {
	if !From(r.Context()).Can(PermMembersRead) {
		o.forbidden(w, r)
		return
	}
	d, err := o.membersData(r)
	if errors.Is(err, store.ErrNotFound) || (err != nil && r.URL.Query().Get("after") != "" && !isUnavailable(err)) {
		o.k.Fail(w, r, http.StatusBadRequest, "invalid_cursor", "That page of members does not exist.")
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	o.k.Render(w, r, http.StatusOK, "org_members", o.k.Page(r, titleMembers, d), map[string]any{
		"org": d.Org, "members": d.Members, "next": d.Next, "invitations": d.Invitations, "roles": d.Roles,
	})
}

// isUnavailable reports whether err is a store that could not answer (as
// opposed to one that refused the request's input).
func isUnavailable(err error) bool {
	return errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// membersError answers a refused form of the members page.
func (o *Orgs) membersError(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields map[string]string) {
	o.k.FormError(w, r, status, "org_members", func() (*ui.Page, error) {
		d, err := o.membersData(r)
		if err != nil {
			return nil, err
		}
		return o.k.Page(r, titleMembers, d), nil
	}, code, msg, fields)
}

// target returns the membership of the form's user_id in the request's
// organization, answering 404 when there is none (ok false).
func (o *Orgs) target(w http.ResponseWriter, r *http.Request, in kernel.Input) (*store.Membership, bool) {
	t := From(r.Context())
	id := strings.TrimSpace(in["user_id"])
	if id == "" {
		o.membersError(w, r, http.StatusBadRequest, "invalid_input", "Choose a member.", map[string]string{"user_id": "Choose a member."})
		return nil, false
	}
	m, err := o.st.Membership(r.Context(), t.Org.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		o.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such member.")
		return nil, false
	}
	if err != nil {
		o.k.Error(w, r, err)
		return nil, false
	}
	return m, true
}

// setRole changes a member's role. Only an owner gives or takes away the
// owner role; the last owner cannot be demoted.
func (o *Orgs) setRole(w http.ResponseWriter, r *http.Request) {
	in, t, u, ok := o.formFor(w, r, o.membersError, PermMembersManage)
	if !ok {
		return
	}
	ctx := r.Context()
	role := strings.TrimSpace(in["role"])
	if o.roles[role] == nil {
		o.membersError(w, r, http.StatusUnprocessableEntity, "invalid_input", "Choose a role.", map[string]string{"role": "Choose one of the roles listed."})
		return
	}
	m, ok := o.target(w, r, in)
	if !ok {
		return
	}
	if (m.Role == RoleOwner || role == RoleOwner) && t.Role != RoleOwner {
		o.k.Fail(w, r, http.StatusForbidden, "forbidden", "Only an owner can make or unmake owners.")
		return
	}
	if m.Role == role {
		kernel.Redirect(w, r, o.orgURL(pathMembers, t.Org.Slug, "member_role"), map[string]any{"role": role})
		return
	}
	err := o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.SetMemberRole(ctx, t.Org.ID, m.UserID, role); err != nil {
			return err
		}
		return o.record(ctx, ActionMemberRole, t.Org.ID, u.ID, m.UserID, map[string]string{"from": m.Role, "to": role})
	})
	if errors.Is(err, store.ErrLastOwner) {
		o.membersError(w, r, http.StatusConflict, "last_owner", "The organization needs an owner. Make another member an owner first.", nil)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		o.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such member.")
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, o.orgURL(pathMembers, t.Org.Slug, "member_role"), map[string]any{"role": role})
}

// removeMember removes a member, whose access ends at once (the store
// clears the organization from their sessions), and tells them by email.
func (o *Orgs) removeMember(w http.ResponseWriter, r *http.Request) {
	in, t, u, ok := o.formFor(w, r, o.membersError, PermMembersManage)
	if !ok {
		return
	}
	ctx := r.Context()
	m, ok := o.target(w, r, in)
	if !ok {
		return
	}
	if m.UserID == u.ID {
		o.membersError(w, r, http.StatusConflict, "use_leave", "To remove yourself, leave the organization from its page.", nil)
		return
	}
	if m.Role == RoleOwner && t.Role != RoleOwner {
		o.k.Fail(w, r, http.StatusForbidden, "forbidden", "Only an owner can remove an owner.")
		return
	}
	mu, err := o.st.UserByID(ctx, m.UserID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		o.k.Error(w, r, err)
		return
	}
	err = o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.RemoveMember(ctx, t.Org.ID, m.UserID); err != nil {
			return err
		}
		if err := o.record(ctx, ActionMemberRemove, t.Org.ID, u.ID, m.UserID, map[string]string{"role": m.Role}); err != nil {
			return err
		}
		if mu == nil {
			return nil
		}
		return o.k.Queue(ctx, "org_removed", mu.Email, &ui.Email{When: o.k.Now(), Data: &OrgMail{OrgName: t.Org.Name}})
	})
	if errors.Is(err, store.ErrLastOwner) {
		o.membersError(w, r, http.StatusConflict, "last_owner", "The organization needs an owner. Make another member an owner first.", nil)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		o.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such member.")
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, o.orgURL(pathMembers, t.Org.Slug, "member_removed"), nil)
}

// ---- invitations ----

// invitationLimit is the per-organization limit on invitations sent.
func (o *Orgs) invitationLimit() middleware.Limit {
	return middleware.Limit{N: o.cfg.InvitationLimit, Window: time.Hour}
}

// invite emails an invitation to an address. The answer is the same
// whether or not the address has an account or is already a member.
func (o *Orgs) invite(w http.ResponseWriter, r *http.Request) {
	in, t, u, ok := o.formFor(w, r, o.membersError, PermMembersInvite)
	if !ok {
		return
	}
	ctx := r.Context()
	email, valid := kernel.ParseEmail(in["email"])
	role := strings.TrimSpace(in["role"])
	if role == "" {
		role = RoleMember
	}
	fields := map[string]string{}
	if !valid {
		fields["email"] = kernel.EmailProblem(in["email"])
	}
	if o.roles[role] == nil {
		fields["role"] = "Choose one of the roles listed."
	}
	if len(fields) > 0 {
		o.membersError(w, r, http.StatusUnprocessableEntity, "invalid_input", "Check the highlighted fields.", fields)
		return
	}
	if role == RoleOwner && t.Role != RoleOwner {
		o.k.Fail(w, r, http.StatusForbidden, "forbidden", "Only an owner can invite an owner.")
		return
	}
	if err := o.k.Limiter.Check(ctx, "org-invite:"+t.Org.ID, o.invitationLimit()); err != nil {
		o.k.Error(w, r, err)
		return
	}
	tok, err := token.New()
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	now := o.k.Now()
	inv := &store.Invitation{OrgID: t.Org.ID, Email: email, Role: role, Digest: token.Digest(tok), InvitedBy: u.ID, CreatedAt: now, ExpiresAt: now.Add(o.cfg.InvitationTTL)}
	err = o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.CreateInvitation(ctx, inv); err != nil {
			return err
		}
		if err := o.record(ctx, ActionInvitationSend, t.Org.ID, u.ID, "", map[string]string{"invitation": inv.ID, "role": role}); err != nil {
			return err
		}
		return o.queueInvitation(ctx, t.Org, inv, u.Email, tok)
	})
	if errors.Is(err, store.ErrConflict) {
		o.membersError(w, r, http.StatusConflict, "already_invited", "That address already has a pending invitation.",
			map[string]string{"email": "This address already has a pending invitation: resend it from the list below."})
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, o.orgURL(pathMembers, t.Org.Slug, "invitation_sent"), map[string]any{"invitation": inv.ID, "expires_at": inv.ExpiresAt})
}

// queueInvitation renders and queues the invitation email in ctx's
// transaction.
func (o *Orgs) queueInvitation(ctx context.Context, org *store.Org, inv *store.Invitation, from, tok string) error {
	d := &ui.Email{
		Link: o.k.Link(pathAccept, tok), ExpiresIn: kernel.TTLText(o.cfg.InvitationTTL), When: o.k.Now(),
		Data: &InvitationMail{OrgName: org.Name, InvitedBy: from, Role: inv.Role},
	}
	return o.k.Queue(ctx, "org_invitation", inv.Email, d)
}

// invitationID reads the form's invitation id.
func (o *Orgs) invitationID(w http.ResponseWriter, r *http.Request) (kernel.Input, string, bool) {
	in, _, _, ok := o.formFor(w, r, o.membersError, PermMembersInvite)
	if !ok {
		return nil, "", false
	}
	id := strings.TrimSpace(in["id"])
	if id == "" {
		o.membersError(w, r, http.StatusBadRequest, "invalid_input", "Choose an invitation.", map[string]string{"id": "Choose an invitation."})
		return nil, "", false
	}
	return in, id, true
}

// revokeInvitation revokes a pending invitation: its link stops working.
func (o *Orgs) revokeInvitation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, u := From(ctx), sigra.UserFrom(ctx)
	_, id, ok := o.invitationID(w, r)
	if !ok {
		return
	}
	err := o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.RevokeInvitation(ctx, t.Org.ID, id, o.k.Now()); err != nil {
			return err
		}
		return o.record(ctx, ActionInvitationRevoke, t.Org.ID, u.ID, "", map[string]string{"invitation": id})
	})
	if errors.Is(err, store.ErrNotFound) {
		o.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such invitation.")
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, o.orgURL(pathMembers, t.Org.Slug, "invitation_revoked"), nil)
}

// resendInvitation sends a pending invitation again with a new link (the
// old one stops working) and a new expiry.
func (o *Orgs) resendInvitation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, u := From(ctx), sigra.UserFrom(ctx)
	_, id, ok := o.invitationID(w, r)
	if !ok {
		return
	}
	now := o.k.Now()
	pending, err := o.st.PendingInvitations(ctx, t.Org.ID, now)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	var inv *store.Invitation
	for _, p := range pending {
		if p.ID == id {
			inv = p
		}
	}
	if inv == nil {
		o.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such invitation.")
		return
	}
	if err := o.k.Limiter.Check(ctx, "org-invite:"+t.Org.ID, o.invitationLimit()); err != nil {
		o.k.Error(w, r, err)
		return
	}
	tok, err := token.New()
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	expires := now.Add(o.cfg.InvitationTTL)
	err = o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.ResendInvitation(ctx, t.Org.ID, id, token.Digest(tok), expires, now); err != nil {
			return err
		}
		if err := o.record(ctx, ActionInvitationResend, t.Org.ID, u.ID, "", map[string]string{"invitation": id}); err != nil {
			return err
		}
		return o.queueInvitation(ctx, t.Org, inv, u.Email, tok)
	})
	if errors.Is(err, store.ErrNotFound) {
		o.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such invitation.")
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, o.orgURL(pathMembers, t.Org.Slug, "invitation_resent"), map[string]any{"expires_at": expires})
}

// ---- accepting ----

// invitationDigest is the digest of the invitation a request is about:
// the query's or form's token, or else the one carried in the session
// through a sign-in. carried tells which.
func (o *Orgs) invitationDigest(r *http.Request, tok string) (digest []byte, carried bool) {
	if tok != "" {
		if !token.Valid(tok) {
			return nil, false
		}
		return token.Digest(tok), false
	}
	if s := o.k.Sess.Values().GetString(r.Context(), sessionInvitation); s != "" {
		if d, err := hex.DecodeString(s); err == nil && len(d) == 32 {
			return d, true
		}
	}
	return nil, false
}

// invitationData builds the landing page of the invitation with digest.
func (o *Orgs) invitationData(r *http.Request, digest []byte, tok string) (*InvitationData, error) {
	ctx := r.Context()
	_, canRegister := o.k.UI.Route(ui.RouteRegister)
	d := &InvitationData{Token: tok, CanRegister: canRegister}
	if u := sigra.UserFrom(ctx); u != nil {
		d.SignedInAs = u.Email
	}
	if digest == nil {
		d.Dead = true
		return d, nil
	}
	inv, err := o.st.InvitationByDigest(ctx, digest, o.k.Now())
	if errors.Is(err, store.ErrNotFound) {
		d.Dead = true
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	org, err := o.st.OrgByID(ctx, inv.OrgID)
	if errors.Is(err, store.ErrNotFound) {
		d.Dead = true
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	d.OrgName, d.Email, d.Role = org.Name, inv.Email, inv.Role
	if d.SignedInAs != "" {
		d.Mismatch = store.NormalizeEmail(d.SignedInAs) != inv.EmailKey
	}
	return d, nil
}

func invitationJSON(d *InvitationData) map[string]any {
	if d.Dead {
		return map[string]any{"error": map[string]any{"code": "invitation_expired", "message": "This invitation has expired or was already used."}}
	}
	return map[string]any{"org": d.OrgName, "email": d.Email, "role": d.Role, "signed_in": d.SignedInAs != "", "mismatch": d.Mismatch}
}

// acceptPage is where an emailed invitation lands. The GET changes
// nothing: accepting is the page's POST (mail scanners follow links).
func (o *Orgs) acceptPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	tok := r.URL.Query().Get("token")
	digest, _ := o.invitationDigest(r, tok)
	d, err := o.invitationData(r, digest, tok)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	status := http.StatusOK
	switch {
	case d.Dead:
		status = http.StatusGone
	case d.Mismatch:
		status = http.StatusForbidden
	}
	o.k.Render(w, r, status, "org_invitation", o.k.Page(r, titleInvitation, d), invitationJSON(d))
}

// accept uses an invitation. Anonymous: the invitation's digest is kept
// in the session and the browser goes to sign in (or register, when the
// form's next is "register") and comes back here. Signed in with the
// invited address: the user joins with the invitation's role (their
// address counts as confirmed: the invitation reached it) and the
// organization becomes the session's active one. Signed in as another
// address: refused with a clear page.
func (o *Orgs) accept(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Referrer-Policy", "no-referrer")
	in, err := kernel.ReadInput(r)
	if err != nil {
		o.k.BadInput(w, r)
		return
	}
	tok := in["token"]
	digest, carried := o.invitationDigest(r, tok)
	dead := func() {
		d := &InvitationData{Dead: true}
		o.k.Render(w, r, http.StatusGone, "org_invitation", o.k.Page(r, titleInvitation, d), invitationJSON(d))
	}
	if digest == nil {
		dead()
		return
	}
	u := sigra.UserFrom(ctx)
	if u == nil {
		inv, err := o.st.InvitationByDigest(ctx, digest, o.k.Now())
		if errors.Is(err, store.ErrNotFound) {
			dead()
			return
		}
		if err != nil {
			o.k.Error(w, r, err)
			return
		}
		o.k.Sess.Values().Put(ctx, sessionInvitation, hex.EncodeToString(digest))
		route := ui.RouteSignIn
		if in["next"] == "register" {
			if _, ok := o.k.UI.Route(ui.RouteRegister); ok {
				route = ui.RouteRegister
			}
		}
		target := o.k.Route(route) + "?" + url.Values{"return_to": {o.k.Path(pathAccept)}, "email": {inv.Email}}.Encode()
		kernel.Redirect(w, r, target, map[string]any{"sign_in_required": true})
		return
	}
	now := o.k.Now()
	var inv *store.Invitation
	err = o.k.InTx(ctx, func(ctx context.Context) error {
		var err error
		if inv, err = o.st.AcceptInvitation(ctx, digest, u.ID, now); err != nil {
			return err
		}
		if !u.EmailConfirmed() {
			if err := o.st.ConfirmEmail(ctx, u.ID, u.Email, now); err != nil {
				return err
			}
		}
		return o.record(ctx, ActionInvitationAccept, inv.OrgID, u.ID, u.ID, map[string]string{"invitation": inv.ID, "role": inv.Role})
	})
	if errors.Is(err, store.ErrNotFound) {
		d, derr := o.invitationData(r, digest, tok)
		if derr != nil {
			o.k.Error(w, r, derr)
			return
		}
		if d.Mismatch {
			o.recordFailure(ctx, ActionInvitationAccept, "", u.ID, u.ID, map[string]string{"reason": "address"})
			o.k.Render(w, r, http.StatusForbidden, "org_invitation", o.k.Page(r, titleInvitation, d),
				map[string]any{"error": map[string]any{"code": "invitation_address", "message": "This invitation was sent to another address."}})
			return
		}
		o.recordFailure(ctx, ActionInvitationAccept, "", u.ID, u.ID, map[string]string{"reason": "expired"})
		dead()
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	if carried {
		o.k.Sess.Values().Remove(ctx, sessionInvitation)
	}
	org, err := o.st.OrgByID(ctx, inv.OrgID)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	if err := o.k.Sess.SetActiveOrg(ctx, org.ID); err != nil {
		o.k.LogFailure(ctx, "setting the active organization failed", err)
	}
	kernel.Redirect(w, r, o.orgURL(pathOrg, org.Slug, "invitation_accepted"), map[string]any{"org": summary(org, inv.Role, org.ID)})
}
