package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// Orgs checks [store.Orgs], [store.Memberships] and [store.Invitations]:
// slugs (case-insensitive uniqueness, old slugs redirecting for
// [store.SlugRedirectFor] and held until then), an organization read by
// slug with a user's membership (not found alike for an unknown slug and
// for a user who is not a member), organization policies,
// memberships and their pages, the last-owner guard (also under concurrent
// demotions and removals), and, when the store has [store.Sessions], the
// clearing of removed members' active organization in their sessions and
// SaveSession storing an active organization only while the user is a
// member of it (also when a request saves a session it loaded before the
// user's removal); invitations (one
// pending per address key, single use under concurrency, bound to the
// invited address, revocation and resending, purging), what deleting an
// organization or a user removes, refused input changing nothing, and,
// when the store is a [store.Transactor], writes rolled back with their
// transaction and conflicts that leave it usable. Needs store.Users,
// store.Orgs, store.Memberships and store.Invitations.
const Orgs Part = "Orgs"

// orgStore is what the checks of the Orgs part need.
type orgStore interface {
	store.Users
	store.Orgs
	store.Memberships
	store.Invitations
}

func orgChecks() []check {
	return []check{
		checkOf("CreateOrg", testCreateOrg),
		checkOf("CreateOrg/Refused", testCreateOrgRefused),
		checkOf("RenameOrg/Redirect", testRenameOrgRedirect),
		checkOf("RenameOrg/Refused", testRenameOrgRefused),
		checkOf("UserOrgBySlug", testUserOrgBySlug),
		checkOf("UserOrg", testUserOrg),
		checkOf("SetOrgPolicy", testSetOrgPolicy),
		checkEnv("DeleteOrg", testDeleteOrg),
		checkOf("Members", testMembers),
		checkOf("Members/Pages", testMembersPages),
		checkOf("LastOwner", testLastOwner),
		checkOf("LastOwner/ConcurrentDemotions", testLastOwnerConcurrentDemotions),
		checkOf("LastOwner/ConcurrentRemovals", testLastOwnerConcurrentRemovals),
		checkEnv("RemoveMember/ActiveOrg", testRemoveMemberActiveOrg),
		checkEnv("SaveSession/ActiveOrg", testSaveSessionActiveOrg),
		checkOf("DeleteUser", func(t *testing.T, s orgStore) { testOrgUserGone(t, s, false) }),
		checkOf("AnonymizeUser", func(t *testing.T, s orgStore) { testOrgUserGone(t, s, true) }),
		checkOf("Invitations", testInvitations),
		checkOf("Invitations/Refused", testInvitationsRefused),
		checkOf("AcceptInvitation", testAcceptInvitation),
		checkOf("AcceptInvitation/Concurrent", testAcceptInvitationConcurrent),
		checkEnv("Transactions", testOrgTransactions),
		checkOf("Purge", testOrgPurge),
	}
}

// newOrg creates an organization with slug, created at t0 by owner.
func newOrg(t *testing.T, s orgStore, slug, owner string) *store.Org {
	t.Helper()
	o := &store.Org{Name: "Org " + slug, Slug: slug, CreatedBy: owner, CreatedAt: t0}
	must(t, "CreateOrg("+slug+")", s.CreateOrg(t.Context(), o))
	if o.ID == "" {
		t.Fatalf("CreateOrg(%q) left ID empty", slug)
	}
	return o
}

// addMember adds userID to the organization with role, joined at t0+d.
func addMember(t *testing.T, s orgStore, orgID, userID, role string, d time.Duration) {
	t.Helper()
	must(t, "AddMember", s.AddMember(t.Context(), &store.Membership{OrgID: orgID, UserID: userID, Role: role, CreatedAt: at(d)}))
}

// roleOf returns the user's role in the organization, or "" if none.
func roleOf(t *testing.T, s orgStore, orgID, userID string) string {
	t.Helper()
	m, err := s.Membership(t.Context(), orgID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	must(t, "Membership", err)
	return m.Role
}

// orgBySlug looks slug up at now, returning "" and false when not found.
func orgBySlug(t *testing.T, s orgStore, slug string, now time.Time) (id string, old bool) {
	t.Helper()
	o, old, err := s.OrgBySlug(t.Context(), slug, now)
	if errors.Is(err, store.ErrNotFound) {
		return "", false
	}
	must(t, "OrgBySlug("+slug+")", err)
	return o.ID, old
}

// owners returns the IDs of the organization's owners, sorted.
func owners(t *testing.T, s orgStore, orgID string) []string {
	t.Helper()
	ms, _, err := s.Members(t.Context(), orgID, "", 100)
	must(t, "Members", err)
	var ids []string
	for _, m := range ms {
		if m.Role == store.RoleOwner {
			ids = append(ids, m.UserID)
		}
	}
	slices.Sort(ids)
	return ids
}

func testCreateOrg(t *testing.T, s orgStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	o := &store.Org{Name: "Acme", Slug: "Acme-Corp", CreatedBy: u.ID, CreatedAt: t0}
	must(t, "CreateOrg", s.CreateOrg(ctx, o))
	if o.Slug != "acme-corp" {
		t.Errorf("CreateOrg: Slug written back: got %q, want %q", o.Slug, "acme-corp")
	}
	sameTime(t, "CreateOrg: UpdatedAt filled", o.UpdatedAt, t0)
	got, err := s.OrgByID(ctx, o.ID)
	must(t, "OrgByID", err)
	if got.Name != "Acme" || got.Slug != "acme-corp" || got.CreatedBy != u.ID {
		t.Errorf("OrgByID: got %+v, want name Acme, slug acme-corp, created by %s", got, u.ID)
	}
	sameTime(t, "OrgByID: CreatedAt", got.CreatedAt, t0)
	sameTime(t, "OrgByID: DeletionDueAt", got.DeletionDueAt, time.Time{})
	for _, slug := range []string{"acme-corp", "ACME-CORP", "Acme-Corp"} {
		if id, old := orgBySlug(t, s, slug, t0); id != o.ID || old {
			t.Errorf("OrgBySlug(%q): got (%q, old %v), want (%q, false)", slug, id, old, o.ID)
		}
	}
	if role := roleOf(t, s, o.ID, u.ID); role != store.RoleOwner {
		t.Errorf("creator's role: got %q, want %q", role, store.RoleOwner)
	}
	_, err = s.OrgByID(ctx, store.NewID())
	wantErr(t, "OrgByID(unknown)", err, store.ErrNotFound)
	_, _, err = s.OrgBySlug(ctx, "nobody", t0)
	wantErr(t, "OrgBySlug(unknown)", err, store.ErrNotFound)

	// The created time is filled from the clock when zero.
	o2 := &store.Org{Name: "Beta", Slug: "beta", CreatedBy: u.ID}
	must(t, "CreateOrg(zero CreatedAt)", s.CreateOrg(ctx, o2))
	if o2.CreatedAt.IsZero() || !o2.UpdatedAt.Equal(o2.CreatedAt) {
		t.Errorf("CreateOrg(zero CreatedAt): got CreatedAt %v, UpdatedAt %v, want both filled and equal", o2.CreatedAt, o2.UpdatedAt)
	}
}

func testCreateOrgRefused(t *testing.T, s orgStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	newOrg(t, s, "taken", u.ID)
	for _, c := range []struct {
		name string
		o    store.Org
		want error
	}{
		{"SlugTaken", store.Org{Name: "X", Slug: "TAKEN", CreatedBy: u.ID}, store.ErrConflict},
		{"UnknownUser", store.Org{Name: "X", Slug: "free", CreatedBy: store.NewID()}, store.ErrNotFound},
		{"EmptyName", store.Org{Slug: "free", CreatedBy: u.ID}, nil},
		{"EmptySlug", store.Org{Name: "X", CreatedBy: u.ID}, nil},
		{"SpacedSlug", store.Org{Name: "X", Slug: " free", CreatedBy: u.ID}, nil},
		{"NoCreator", store.Org{Name: "X", Slug: "free"}, nil},
	} {
		o := c.o
		o.CreatedAt = t0
		err := s.CreateOrg(ctx, &o)
		switch {
		case err == nil:
			t.Errorf("CreateOrg(%s): got nil error, want one", c.name)
		case c.want != nil:
			wantErr(t, "CreateOrg("+c.name+")", err, c.want)
		}
	}
	if id, _ := orgBySlug(t, s, "free", t0); id != "" {
		t.Errorf("after refused creations: slug free names org %s, want none", id)
	}
	uos, err := s.UserOrgs(ctx, u.ID)
	must(t, "UserOrgs", err)
	if len(uos) != 1 {
		t.Errorf("after refused creations: UserOrgs has %d orgs, want 1", len(uos))
	}
	// The slug of a refused creation is still free.
	newOrg(t, s, "free", u.ID)
}

func testRenameOrgRedirect(t *testing.T, s orgStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	b := newOrg(t, s, "other", u.ID)
	renamed := at(time.Hour)
	must(t, "RenameOrg", s.RenameOrg(ctx, a.ID, "Alpha Two", "Alpha-2", renamed))
	got, err := s.OrgByID(ctx, a.ID)
	must(t, "OrgByID", err)
	if got.Name != "Alpha Two" || got.Slug != "alpha-2" {
		t.Errorf("after RenameOrg: got name %q slug %q, want %q %q", got.Name, got.Slug, "Alpha Two", "alpha-2")
	}
	sameTime(t, "after RenameOrg: UpdatedAt", got.UpdatedAt, renamed)
	if id, old := orgBySlug(t, s, "alpha-2", renamed); id != a.ID || old {
		t.Errorf("OrgBySlug(new): got (%q, old %v), want (%q, false)", id, old, a.ID)
	}
	expires := renamed.Add(store.SlugRedirectFor)
	if id, old := orgBySlug(t, s, "ALPHA", expires.Add(-time.Millisecond)); id != a.ID || !old {
		t.Errorf("OrgBySlug(old, just before expiry): got (%q, old %v), want (%q, true)", id, old, a.ID)
	}
	if id, _ := orgBySlug(t, s, "alpha", expires); id != "" {
		t.Errorf("OrgBySlug(old, at expiry): got %q, want not found", id)
	}

	// While its redirect lives, the old slug is held.
	err = s.CreateOrg(ctx, &store.Org{Name: "Thief", Slug: "alpha", CreatedBy: u.ID, CreatedAt: expires.Add(-time.Millisecond)})
	wantErr(t, "CreateOrg(live old slug)", err, store.ErrConflict)
	err = s.RenameOrg(ctx, b.ID, "Thief", "alpha", expires.Add(-time.Millisecond))
	wantErr(t, "RenameOrg(live old slug)", err, store.ErrConflict)
	if got, err := s.OrgByID(ctx, b.ID); err != nil || got.Slug != "other" || got.Name != "Org other" {
		t.Errorf("after refused rename: got (%+v, %v), want org with slug other, name unchanged", got, err)
	}

	// The organization may take its own old slug back, which ends the
	// redirect; the slug it leaves redirects instead.
	back := at(2 * time.Hour)
	must(t, "RenameOrg(own old slug)", s.RenameOrg(ctx, a.ID, "Alpha", "alpha", back))
	if id, old := orgBySlug(t, s, "alpha", back.Add(store.SlugRedirectFor+time.Hour)); id != a.ID || old {
		t.Errorf("OrgBySlug(taken back): got (%q, old %v), want (%q, false), current", id, old, a.ID)
	}
	if id, old := orgBySlug(t, s, "alpha-2", back); id != a.ID || !old {
		t.Errorf("OrgBySlug(left slug): got (%q, old %v), want (%q, true)", id, old, a.ID)
	}

	// Once expired, another organization takes it.
	free := back.Add(store.SlugRedirectFor)
	must(t, "RenameOrg(expired old slug)", s.RenameOrg(ctx, b.ID, "B", "alpha-2", free))
	if id, old := orgBySlug(t, s, "alpha-2", free); id != b.ID || old {
		t.Errorf("OrgBySlug(taken over): got (%q, old %v), want (%q, false)", id, old, b.ID)
	}

	// Renaming without changing the slug keeps no redirect.
	must(t, "RenameOrg(name only)", s.RenameOrg(ctx, b.ID, "B2", "alpha-2", free))
	if got, _ := s.OrgByID(ctx, b.ID); got == nil || got.Name != "B2" {
		t.Errorf("RenameOrg(name only): got %+v, want name B2", got)
	}
}

// sameUserOrg compares uo, a joined read of userID's organization (what
// names the call), with o and m, the organization and the membership read
// on their own.
func sameUserOrg(t *testing.T, what string, uo *store.UserOrg, o *store.Org, m *store.Membership, userID string) {
	t.Helper()
	g := uo.Org
	if g.ID != o.ID || g.Name != o.Name || g.Slug != o.Slug || g.CreatedBy != o.CreatedBy || g.Policy != o.Policy {
		t.Errorf("%s: org: got %+v, want %+v", what, g, *o)
	}
	sameTime(t, what+": CreatedAt", g.CreatedAt, o.CreatedAt)
	sameTime(t, what+": UpdatedAt", g.UpdatedAt, o.UpdatedAt)
	sameTime(t, what+": DeletionDueAt", g.DeletionDueAt, o.DeletionDueAt)
	gm := uo.Membership
	if gm.OrgID != o.ID || gm.UserID != userID || gm.Role != m.Role {
		t.Errorf("%s: membership: got %+v, want %+v", what, gm, *m)
	}
	sameTime(t, what+": membership CreatedAt", gm.CreatedAt, m.CreatedAt)
}

// userOrgFixture makes the organizations that the UserOrg and
// UserOrgBySlug checks read: alpha (slug "alpha", two factors required),
// owned by owner, with member an admin since a minute after t0, and other,
// owned by stranger.
func userOrgFixture(t *testing.T, s orgStore) (owner, member, stranger *store.User, a, other *store.Org) {
	t.Helper()
	owner = newUser(t, s, "owner@example.com")
	member = newUser(t, s, "member@example.com")
	stranger = newUser(t, s, "stranger@example.com")
	a = &store.Org{Name: "Alpha", Slug: "alpha", CreatedBy: owner.ID, CreatedAt: t0, Policy: store.OrgPolicy{RequireTwoFactor: true}}
	must(t, "CreateOrg", s.CreateOrg(t.Context(), a))
	addMember(t, s, a.ID, member.ID, store.RoleAdmin, time.Minute)
	other = newOrg(t, s, "other", stranger.ID)
	return owner, member, stranger, a, other
}

func testUserOrgBySlug(t *testing.T, s orgStore) {
	ctx := t.Context()
	owner, member, stranger, a, other := userOrgFixture(t, s)

	// check reads slug for user at now and compares with OrgBySlug and
	// Membership, the two reads it joins.
	check := func(what, userID, slug string, now time.Time, wantOld bool) {
		t.Helper()
		uo, old, err := s.UserOrgBySlug(ctx, userID, slug, now)
		must(t, "UserOrgBySlug("+what+")", err)
		o, _, err := s.OrgBySlug(ctx, slug, now)
		must(t, "OrgBySlug("+what+")", err)
		m, err := s.Membership(ctx, o.ID, userID)
		must(t, "Membership("+what+")", err)
		if old != wantOld {
			t.Errorf("UserOrgBySlug(%s): old: got %v, want %v", what, old, wantOld)
		}
		sameUserOrg(t, "UserOrgBySlug("+what+")", uo, o, m, userID)
	}
	notFound := func(what, userID, slug string, now time.Time) {
		t.Helper()
		uo, _, err := s.UserOrgBySlug(ctx, userID, slug, now)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserOrgBySlug(%s): got (%+v, %v), want ErrNotFound", what, uo, err)
		}
	}

	check("owner", owner.ID, "alpha", t0, false)
	check("owner, upper case", owner.ID, "ALPHA", t0, false)
	check("member", member.ID, "alpha", t0, false)
	if uo, _, err := s.UserOrgBySlug(ctx, member.ID, "alpha", t0); err == nil {
		if uo.Membership.Role != store.RoleAdmin || !uo.Org.Policy.RequireTwoFactor {
			t.Errorf("UserOrgBySlug(member): got role %q, policy %+v, want %q and two factors required", uo.Membership.Role, uo.Org.Policy, store.RoleAdmin)
		}
		sameTime(t, "UserOrgBySlug(member): joined", uo.Membership.CreatedAt, at(time.Minute))
	}
	notFound("stranger", stranger.ID, "alpha", t0)
	notFound("unknown slug", owner.ID, "nobody", t0)
	notFound("unknown user", store.NewID(), "alpha", t0)
	notFound("another's organization", owner.ID, other.Slug, t0)

	// An old slug reads as old while its redirect lives, for members only.
	renamed := at(time.Hour)
	must(t, "RenameOrg", s.RenameOrg(ctx, a.ID, "Alpha Two", "alpha-2", renamed))
	check("new slug", member.ID, "alpha-2", renamed, false)
	expires := renamed.Add(store.SlugRedirectFor)
	check("old slug", member.ID, "Alpha", expires.Add(-time.Millisecond), true)
	notFound("old slug, stranger", stranger.ID, "alpha", renamed)
	notFound("old slug, expired", member.ID, "alpha", expires)

	// A member removed is not found.
	must(t, "RemoveMember", s.RemoveMember(ctx, a.ID, member.ID))
	notFound("removed member", member.ID, "alpha-2", renamed)
}

func testUserOrg(t *testing.T, s orgStore) {
	ctx := t.Context()
	owner, member, stranger, a, other := userOrgFixture(t, s)

	// check reads the organization id for the user and compares with
	// OrgByID and Membership, the two reads it joins.
	check := func(what, userID, id string) {
		t.Helper()
		uo, err := s.UserOrg(ctx, userID, id)
		must(t, "UserOrg("+what+")", err)
		o, err := s.OrgByID(ctx, id)
		must(t, "OrgByID("+what+")", err)
		m, err := s.Membership(ctx, id, userID)
		must(t, "Membership("+what+")", err)
		sameUserOrg(t, "UserOrg("+what+")", uo, o, m, userID)
	}
	notFound := func(what, userID, id string) {
		t.Helper()
		uo, err := s.UserOrg(ctx, userID, id)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserOrg(%s): got (%+v, %v), want ErrNotFound", what, uo, err)
		}
	}

	check("owner", owner.ID, a.ID)
	check("member", member.ID, a.ID)
	if uo, err := s.UserOrg(ctx, member.ID, a.ID); err == nil {
		if uo.Membership.Role != store.RoleAdmin || !uo.Org.Policy.RequireTwoFactor || uo.Org.Slug != "alpha" {
			t.Errorf("UserOrg(member): got role %q, slug %q, policy %+v, want %q, alpha and two factors required",
				uo.Membership.Role, uo.Org.Slug, uo.Org.Policy, store.RoleAdmin)
		}
		sameTime(t, "UserOrg(member): joined", uo.Membership.CreatedAt, at(time.Minute))
	}
	notFound("stranger", stranger.ID, a.ID)
	notFound("unknown organization", owner.ID, store.NewID())
	notFound("unknown user", store.NewID(), a.ID)
	notFound("another's organization", owner.ID, other.ID)
	notFound("slug for an ID", owner.ID, "alpha")

	// A renamed organization reads with its new slug.
	must(t, "RenameOrg", s.RenameOrg(ctx, a.ID, "Alpha Two", "alpha-2", at(time.Hour)))
	check("renamed", member.ID, a.ID)

	// A member removed is not found; a deleted organization neither.
	must(t, "RemoveMember", s.RemoveMember(ctx, a.ID, member.ID))
	notFound("removed member", member.ID, a.ID)
	must(t, "DeleteOrg", s.DeleteOrg(ctx, a.ID))
	notFound("deleted organization", owner.ID, a.ID)
}

func testRenameOrgRefused(t *testing.T, s orgStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	newOrg(t, s, "beta", u.ID)
	now := at(time.Hour)
	wantErr(t, "RenameOrg(another's slug)", s.RenameOrg(ctx, a.ID, "A", "BETA", now), store.ErrConflict)
	wantErr(t, "RenameOrg(unknown)", s.RenameOrg(ctx, store.NewID(), "A", "gamma", now), store.ErrNotFound)
	for _, c := range []struct{ name, slug string }{{"", "gamma"}, {"A", ""}, {"A", "gamma "}} {
		if err := s.RenameOrg(ctx, a.ID, c.name, c.slug, now); err == nil {
			t.Errorf("RenameOrg(%q, %q): got nil error, want one", c.name, c.slug)
		}
	}
	got, err := s.OrgByID(ctx, a.ID)
	must(t, "OrgByID", err)
	if got.Slug != "alpha" || got.Name != "Org alpha" {
		t.Errorf("after refused renames: got slug %q name %q, want alpha, Org alpha", got.Slug, got.Name)
	}
	sameTime(t, "after refused renames: UpdatedAt", got.UpdatedAt, t0)
	if id, old := orgBySlug(t, s, "alpha", now); id != a.ID || old {
		t.Errorf("after refused renames: OrgBySlug(alpha): got (%q, %v), want (%q, false)", id, old, a.ID)
	}
	if id, _ := orgBySlug(t, s, "gamma", now); id != "" {
		t.Errorf("after refused renames: slug gamma names %q, want none", id)
	}
}

func testDeleteOrg(t *testing.T, s orgStore, e env) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	m := newUser(t, s, "member@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	b := newOrg(t, s, "beta", u.ID)
	addMember(t, s, a.ID, m.ID, store.RoleMember, time.Minute)
	must(t, "RenameOrg", s.RenameOrg(ctx, a.ID, "A", "alpha-2", t0))
	must(t, "CreateInvitation", s.CreateInvitation(ctx, newInvitation(a.ID, "x@example.com", "del", at(time.Hour))))
	ss, hasSessions := as[store.Sessions](e)
	if hasSessions {
		sess := liveSession(digest("del"), m.ID)
		sess.ActiveOrg = a.ID
		must(t, "SaveSession", ss.SaveSession(ctx, sess))
	}

	// Scheduling.
	due := at(30 * 24 * time.Hour)
	must(t, "ScheduleOrgDeletion", s.ScheduleOrgDeletion(ctx, a.ID, due, at(time.Minute)))
	wantErr(t, "ScheduleOrgDeletion(unknown)", s.ScheduleOrgDeletion(ctx, store.NewID(), due, t0), store.ErrNotFound)
	list, err := s.OrgsDueForDeletion(ctx, due.Add(-time.Millisecond), 10)
	must(t, "OrgsDueForDeletion(before due)", err)
	if len(list) != 0 {
		t.Errorf("OrgsDueForDeletion(before due): got %d orgs, want 0", len(list))
	}
	list, err = s.OrgsDueForDeletion(ctx, due, 10)
	must(t, "OrgsDueForDeletion(at due)", err)
	if len(list) != 1 || list[0].ID != a.ID {
		t.Fatalf("OrgsDueForDeletion(at due): got %d orgs, want org %s alone", len(list), a.ID)
	}
	sameTime(t, "DeletionDueAt", list[0].DeletionDueAt, due)
	sameTime(t, "UpdatedAt after ScheduleOrgDeletion", list[0].UpdatedAt, at(time.Minute))
	must(t, "ScheduleOrgDeletion(cancel)", s.ScheduleOrgDeletion(ctx, b.ID, time.Time{}, t0))

	must(t, "DeleteOrg", s.DeleteOrg(ctx, a.ID))
	wantErr(t, "DeleteOrg(again)", s.DeleteOrg(ctx, a.ID), store.ErrNotFound)
	_, err = s.OrgByID(ctx, a.ID)
	wantErr(t, "OrgByID(deleted)", err, store.ErrNotFound)
	_, err = s.Membership(ctx, a.ID, m.ID)
	wantErr(t, "Membership(deleted org)", err, store.ErrNotFound)
	_, err = s.InvitationByDigest(ctx, digest("del"), t0)
	wantErr(t, "InvitationByDigest(deleted org)", err, store.ErrNotFound)
	uos, err := s.UserOrgs(ctx, u.ID)
	must(t, "UserOrgs", err)
	if len(uos) != 1 || uos[0].Org.ID != b.ID {
		t.Errorf("UserOrgs after DeleteOrg: got %d orgs, want org %s alone", len(uos), b.ID)
	}
	// Its slugs, current and old, are free.
	newOrg(t, s, "alpha", u.ID)
	newOrg(t, s, "alpha-2", u.ID)
	if hasSessions {
		got, err := ss.SessionByDigest(ctx, digest("del"), t0, 0)
		must(t, "SessionByDigest", err)
		if got.ActiveOrg != "" {
			t.Errorf("session's ActiveOrg after DeleteOrg: got %q, want empty", got.ActiveOrg)
		}
	} else {
		e.logLacking(t, "clearing of the active organization", reflect.TypeFor[store.Sessions]())
	}
}

func testMembers(t *testing.T, s orgStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	m := newUser(t, s, "member@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	b := newOrg(t, s, "beta", m.ID)
	addMember(t, s, a.ID, m.ID, "billing", time.Minute)
	got, err := s.Membership(ctx, a.ID, m.ID)
	must(t, "Membership", err)
	if got.OrgID != a.ID || got.UserID != m.ID || got.Role != "billing" {
		t.Errorf("Membership: got %+v, want role billing", got)
	}
	sameTime(t, "Membership: CreatedAt", got.CreatedAt, at(time.Minute))

	err = s.AddMember(ctx, &store.Membership{OrgID: a.ID, UserID: m.ID, Role: store.RoleAdmin, CreatedAt: t0})
	wantErr(t, "AddMember(again)", err, store.ErrConflict)
	err = s.AddMember(ctx, &store.Membership{OrgID: store.NewID(), UserID: m.ID, Role: store.RoleMember, CreatedAt: t0})
	wantErr(t, "AddMember(unknown org)", err, store.ErrNotFound)
	err = s.AddMember(ctx, &store.Membership{OrgID: a.ID, UserID: store.NewID(), Role: store.RoleMember, CreatedAt: t0})
	wantErr(t, "AddMember(unknown user)", err, store.ErrNotFound)
	if err := s.AddMember(ctx, &store.Membership{OrgID: b.ID, UserID: u.ID, CreatedAt: t0}); err == nil {
		t.Error("AddMember(empty role): got nil error, want one")
	}
	if role := roleOf(t, s, b.ID, u.ID); role != "" {
		t.Errorf("after refused AddMember: role %q, want no membership", role)
	}
	if role := roleOf(t, s, a.ID, m.ID); role != "billing" {
		t.Errorf("after refused AddMember(again): role %q, want billing", role)
	}

	must(t, "SetMemberRole", s.SetMemberRole(ctx, a.ID, m.ID, store.RoleAdmin))
	if role := roleOf(t, s, a.ID, m.ID); role != store.RoleAdmin {
		t.Errorf("after SetMemberRole: role %q, want admin", role)
	}
	wantErr(t, "SetMemberRole(not a member)", s.SetMemberRole(ctx, b.ID, u.ID, store.RoleAdmin), store.ErrNotFound)
	wantErr(t, "SetMemberRole(unknown org)", s.SetMemberRole(ctx, store.NewID(), u.ID, store.RoleAdmin), store.ErrNotFound)
	if err := s.SetMemberRole(ctx, a.ID, m.ID, ""); err == nil {
		t.Error("SetMemberRole(empty role): got nil error, want one")
	}
	if role := roleOf(t, s, a.ID, m.ID); role != store.RoleAdmin {
		t.Errorf("after refused SetMemberRole: role %q, want admin", role)
	}
	// Promoting is never refused; an owner may become owner again.
	must(t, "SetMemberRole(owner)", s.SetMemberRole(ctx, a.ID, m.ID, store.RoleOwner))
	must(t, "SetMemberRole(owner again)", s.SetMemberRole(ctx, a.ID, m.ID, store.RoleOwner))

	// Cross-tenant: a member of A is not found in B.
	_, err = s.Membership(ctx, b.ID, u.ID)
	wantErr(t, "Membership(other org)", err, store.ErrNotFound)

	uos, err := s.UserOrgs(ctx, m.ID)
	must(t, "UserOrgs", err)
	if len(uos) != 2 || uos[0].Org.ID != b.ID || uos[1].Org.ID != a.ID {
		t.Fatalf("UserOrgs: got %d orgs, want beta (joined at t0) then alpha", len(uos))
	}
	if uos[1].Membership.Role != store.RoleOwner || uos[1].Membership.UserID != m.ID || uos[1].Membership.OrgID != a.ID ||
		uos[1].Org.Slug != "alpha" {
		t.Errorf("UserOrgs[1]: got %+v, want alpha with the member's owner membership", uos[1])
	}
	sameTime(t, "UserOrgs[1]: joined", uos[1].Membership.CreatedAt, at(time.Minute))

	must(t, "RemoveMember", s.RemoveMember(ctx, a.ID, m.ID))
	wantErr(t, "RemoveMember(again)", s.RemoveMember(ctx, a.ID, m.ID), store.ErrNotFound)
	if uos, _ := s.UserOrgs(ctx, m.ID); len(uos) != 1 {
		t.Errorf("UserOrgs after RemoveMember: got %d orgs, want 1", len(uos))
	}
}

func testMembersPages(t *testing.T, s orgStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	// Two members join at each instant: the user ID breaks the tie.
	type joined struct {
		at time.Duration
		id string
	}
	var later []joined
	for i := range 6 {
		m := newUser(t, s, fmt.Sprintf("m%d@example.com", i))
		d := time.Duration(1+i/2) * time.Minute
		addMember(t, s, a.ID, m.ID, store.RoleMember, d)
		later = append(later, joined{d, m.ID})
	}
	slices.SortFunc(later, func(x, y joined) int {
		if x.at != y.at {
			return int(x.at - y.at)
		}
		return strings.Compare(x.id, y.id)
	})
	want := []string{u.ID}
	for _, j := range later {
		want = append(want, j.id)
	}
	var got []string
	after := ""
	pages := 0
	for {
		ms, next, err := s.Members(ctx, a.ID, after, 3)
		must(t, "Members", err)
		pages++
		if len(ms) > 3 {
			t.Fatalf("Members(limit 3): got %d", len(ms))
		}
		for _, m := range ms {
			got = append(got, m.UserID)
		}
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("Members: too many pages")
		}
		after = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("Members pages: got %v, want %v", got, want)
	}
	if pages != 3 {
		t.Errorf("Members: got %d pages of 3 for 7 members, want 3", pages)
	}
	all, next, err := s.Members(ctx, a.ID, "", 0)
	must(t, "Members(limit 0)", err)
	if len(all) != 7 || next != "" {
		t.Errorf("Members(limit 0): got %d members and next %q, want 7 and none", len(all), next)
	}
	none, _, err := s.Members(ctx, store.NewID(), "", 10)
	must(t, "Members(unknown org)", err)
	if len(none) != 0 {
		t.Errorf("Members(unknown org): got %d, want 0", len(none))
	}
	for _, bad := range []string{"garbage", "12:", ":abc"} {
		if _, _, err := s.Members(ctx, a.ID, bad, 3); err == nil {
			t.Errorf("Members(cursor %q): got nil error, want one", bad)
		}
	}
}

func testLastOwner(t *testing.T, s orgStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	v := newUser(t, s, "second@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	addMember(t, s, a.ID, v.ID, store.RoleAdmin, time.Minute)
	wantErr(t, "SetMemberRole(last owner)", s.SetMemberRole(ctx, a.ID, u.ID, store.RoleAdmin), store.ErrLastOwner)
	wantErr(t, "RemoveMember(last owner)", s.RemoveMember(ctx, a.ID, u.ID), store.ErrLastOwner)
	if role := roleOf(t, s, a.ID, u.ID); role != store.RoleOwner {
		t.Errorf("after refused changes: role %q, want owner", role)
	}
	// With a second owner, one may go; then the other is the last.
	must(t, "SetMemberRole(promote)", s.SetMemberRole(ctx, a.ID, v.ID, store.RoleOwner))
	must(t, "RemoveMember(one of two owners)", s.RemoveMember(ctx, a.ID, u.ID))
	wantErr(t, "SetMemberRole(new last owner)", s.SetMemberRole(ctx, a.ID, v.ID, store.RoleMember), store.ErrLastOwner)
	wantErr(t, "RemoveMember(new last owner)", s.RemoveMember(ctx, a.ID, v.ID), store.ErrLastOwner)
	if got := owners(t, s, a.ID); !slices.Equal(got, []string{v.ID}) {
		t.Errorf("owners: got %v, want [%s]", got, v.ID)
	}
}

// lastOwnerRacers is how many owners race to be demoted or removed.
const lastOwnerRacers = 8

// ownersOrg creates an organization with lastOwnerRacers owners and
// returns it with their IDs.
func ownersOrg(t *testing.T, s orgStore) (*store.Org, []string) {
	t.Helper()
	first := newUser(t, s, "owner0@example.com")
	o := newOrg(t, s, "race", first.ID)
	ids := []string{first.ID}
	for i := 1; i < lastOwnerRacers; i++ {
		u := newUser(t, s, fmt.Sprintf("owner%d@example.com", i))
		addMember(t, s, o.ID, u.ID, store.RoleOwner, time.Duration(i)*time.Minute)
		ids = append(ids, u.ID)
	}
	return o, ids
}

func testLastOwnerConcurrentDemotions(t *testing.T, s orgStore) {
	o, ids := ownersOrg(t, s)
	errs := race(len(ids), func(i int) error {
		return s.SetMemberRole(context.Background(), o.ID, ids[i], store.RoleMember)
	})
	ok, refused := countOutcomes(t, "SetMemberRole", errs, store.ErrLastOwner)
	if ok != len(ids)-1 || refused != 1 {
		t.Errorf("concurrent demotions of %d owners: got %d succeeded and %d refused, want %d and 1", len(ids), ok, refused, len(ids)-1)
	}
	if got := owners(t, s, o.ID); len(got) != 1 {
		t.Errorf("owners after concurrent demotions: got %d, want 1", len(got))
	}
}

func testLastOwnerConcurrentRemovals(t *testing.T, s orgStore) {
	o, ids := ownersOrg(t, s)
	errs := race(len(ids), func(i int) error {
		return s.RemoveMember(context.Background(), o.ID, ids[i])
	})
	ok, refused := countOutcomes(t, "RemoveMember", errs, store.ErrLastOwner)
	if ok != len(ids)-1 || refused != 1 {
		t.Errorf("concurrent removals of %d owners: got %d succeeded and %d refused, want %d and 1", len(ids), ok, refused, len(ids)-1)
	}
	if got := owners(t, s, o.ID); len(got) != 1 {
		t.Errorf("owners after concurrent removals: got %d, want 1", len(got))
	}
}

func testRemoveMemberActiveOrg(t *testing.T, s orgStore, e env) {
	ss, ok := as[store.Sessions](e)
	if !ok {
		t.Skipf("storetest: %s does not implement store.Sessions", typeName(e.typ))
	}
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	m := newUser(t, s, "member@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	b := newOrg(t, s, "beta", u.ID)
	addMember(t, s, a.ID, m.ID, store.RoleMember, time.Minute)
	addMember(t, s, b.ID, m.ID, store.RoleMember, time.Minute)
	save := func(tag, userID, org string) {
		sess := liveSession(digest(tag), userID)
		sess.ActiveOrg = org
		must(t, "SaveSession("+tag+")", ss.SaveSession(ctx, sess))
	}
	save("m-a1", m.ID, a.ID)
	save("m-a2", m.ID, a.ID)
	save("m-b", m.ID, b.ID)
	save("u-a", u.ID, a.ID)
	must(t, "RemoveMember", s.RemoveMember(ctx, a.ID, m.ID))
	for tag, want := range map[string]string{"m-a1": "", "m-a2": "", "m-b": b.ID, "u-a": a.ID} {
		got, err := ss.SessionByDigest(ctx, digest(tag), t0, 0)
		must(t, "SessionByDigest("+tag+")", err)
		if got.ActiveOrg != want {
			t.Errorf("session %s: ActiveOrg after RemoveMember: got %q, want %q", tag, got.ActiveOrg, want)
		}
	}
	// A request that loaded a session before the removal saves it with
	// the active organization it read: the store does not write it back,
	// whether the row was the one loaded or a new one (a renewed token).
	stale := liveSession(digest("m-a1"), m.ID)
	stale.ActiveOrg = a.ID
	stale.Data = []byte("saved after the removal")
	stale.LastSeenAt = at(time.Minute)
	must(t, "SaveSession(stale)", ss.SaveSession(ctx, stale))
	save("m-a3", m.ID, a.ID)
	for tag, want := range map[string]string{"m-a1": "", "m-a3": ""} {
		got, err := ss.SessionByDigest(ctx, digest(tag), t0, 0)
		must(t, "SessionByDigest("+tag+")", err)
		if got.ActiveOrg != want {
			t.Errorf("session %s: ActiveOrg saved after RemoveMember: got %q, want %q", tag, got.ActiveOrg, want)
		}
		if tag == "m-a1" && string(got.Data) != string(stale.Data) {
			t.Errorf("session %s: the rest of the stale save: got data %q, want %q", tag, got.Data, stale.Data)
		}
	}

	// A refused removal leaves the sessions alone.
	save("u-b", u.ID, b.ID)
	wantErr(t, "RemoveMember(last owner)", s.RemoveMember(ctx, b.ID, u.ID), store.ErrLastOwner)
	if got, err := ss.SessionByDigest(ctx, digest("u-b"), t0, 0); err != nil || got.ActiveOrg != b.ID {
		t.Errorf("session after refused removal: got (%v, %v), want ActiveOrg %s", got, err, b.ID)
	}
}

// testSetOrgPolicy: a policy given to CreateOrg, or set by SetOrgPolicy,
// is read back by every read of an organization.
func testSetOrgPolicy(t *testing.T, s orgStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	b := &store.Org{Name: "Beta", Slug: "beta", CreatedBy: u.ID, CreatedAt: t0, Policy: store.OrgPolicy{RequireTwoFactor: true}}
	must(t, "CreateOrg(with a policy)", s.CreateOrg(ctx, b))

	// policies reads the policy of a and b through every read.
	policies := func(what string, wantA, wantB bool) {
		t.Helper()
		want := map[string]bool{a.ID: wantA, b.ID: wantB}
		for id, w := range want {
			o, err := s.OrgByID(ctx, id)
			must(t, "OrgByID", err)
			if o.Policy.RequireTwoFactor != w {
				t.Errorf("%s: OrgByID(%s).Policy.RequireTwoFactor: got %v, want %v", what, o.Slug, o.Policy.RequireTwoFactor, w)
			}
			o, _, err = s.OrgBySlug(ctx, o.Slug, t0)
			must(t, "OrgBySlug", err)
			if o.Policy.RequireTwoFactor != w {
				t.Errorf("%s: OrgBySlug(%s).Policy.RequireTwoFactor: got %v, want %v", what, o.Slug, o.Policy.RequireTwoFactor, w)
			}
		}
		uos, err := s.UserOrgs(ctx, u.ID)
		must(t, "UserOrgs", err)
		if len(uos) != 2 {
			t.Fatalf("%s: UserOrgs: got %d orgs, want 2", what, len(uos))
		}
		for _, uo := range uos {
			if w := want[uo.Org.ID]; uo.Org.Policy.RequireTwoFactor != w {
				t.Errorf("%s: UserOrgs: %s's Policy.RequireTwoFactor: got %v, want %v", what, uo.Org.Slug, uo.Org.Policy.RequireTwoFactor, w)
			}
		}
	}
	policies("after CreateOrg", false, true)

	must(t, "SetOrgPolicy(alpha, on)", s.SetOrgPolicy(ctx, a.ID, store.OrgPolicy{RequireTwoFactor: true}, at(time.Minute)))
	must(t, "SetOrgPolicy(beta, off)", s.SetOrgPolicy(ctx, b.ID, store.OrgPolicy{}, at(2*time.Minute)))
	policies("after SetOrgPolicy", true, false)
	o, err := s.OrgByID(ctx, a.ID)
	must(t, "OrgByID", err)
	sameTime(t, "UpdatedAt after SetOrgPolicy", o.UpdatedAt, at(time.Minute))
	if o.Name != a.Name || o.Slug != a.Slug {
		t.Errorf("SetOrgPolicy changed more: got name %q, slug %q, want %q, %q", o.Name, o.Slug, a.Name, a.Slug)
	}
	// Setting the policy it has changes nothing but UpdatedAt.
	must(t, "SetOrgPolicy(alpha, same)", s.SetOrgPolicy(ctx, a.ID, store.OrgPolicy{RequireTwoFactor: true}, at(3*time.Minute)))
	policies("after setting the same policy", true, false)

	// The policy is read back by OrgsDueForDeletion too.
	must(t, "ScheduleOrgDeletion", s.ScheduleOrgDeletion(ctx, a.ID, at(time.Hour), at(4*time.Minute)))
	due, err := s.OrgsDueForDeletion(ctx, at(time.Hour), 10)
	must(t, "OrgsDueForDeletion", err)
	if len(due) != 1 || !due[0].Policy.RequireTwoFactor {
		t.Errorf("OrgsDueForDeletion: got %d orgs, want alpha with its policy", len(due))
	}

	wantErr(t, "SetOrgPolicy(unknown)", s.SetOrgPolicy(ctx, store.NewID(), store.OrgPolicy{RequireTwoFactor: true}, t0), store.ErrNotFound)
	must(t, "DeleteOrg", s.DeleteOrg(ctx, b.ID))
	wantErr(t, "SetOrgPolicy(deleted)", s.SetOrgPolicy(ctx, b.ID, store.OrgPolicy{}, t0), store.ErrNotFound)
}

// testOrgPurge: PurgeOrgSlugs deletes only old slugs whose redirect
// ended; PurgeInvitations only invitations accepted, revoked or expired
// before the time given, never a pending one.
func testOrgPurge(t *testing.T, s orgStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	invitee := newUser(t, s, "accepted@example.com")
	o := newOrg(t, s, "first", u.ID)
	must(t, "RenameOrg(second)", s.RenameOrg(ctx, o.ID, "O", "second", t0))
	must(t, "RenameOrg(third)", s.RenameOrg(ctx, o.ID, "O", "third", at(60*24*time.Hour)))
	// "first" redirects until t0+90d, "second" until t0+150d.
	n, err := s.PurgeOrgSlugs(ctx, at(100*24*time.Hour))
	must(t, "PurgeOrgSlugs", err)
	if n != 1 {
		t.Errorf("PurgeOrgSlugs: deleted %d, want 1 (the expired redirect)", n)
	}
	for slug, want := range map[string]bool{"first": false, "second": true, "third": true} {
		_, _, err := s.OrgBySlug(ctx, slug, at(10*24*time.Hour))
		if got := err == nil; got != want {
			t.Errorf("slug %s after the purge: found %v, want %v (%v)", slug, got, want, err)
		}
	}

	week := 7 * 24 * time.Hour
	pending := newInvitation(o.ID, "pending@example.com", "pending", at(30*24*time.Hour))
	expired := newInvitation(o.ID, "expired@example.com", "expired", at(week))
	revoked := newInvitation(o.ID, "revoked@example.com", "revoked", at(30*24*time.Hour))
	accepted := newInvitation(o.ID, "accepted@example.com", "accepted", at(30*24*time.Hour))
	for _, inv := range []*store.Invitation{pending, expired, revoked, accepted} {
		must(t, "CreateInvitation("+inv.Email+")", s.CreateInvitation(ctx, inv))
	}
	must(t, "RevokeInvitation", s.RevokeInvitation(ctx, o.ID, revoked.ID, at(time.Hour)))
	_, err = s.AcceptInvitation(ctx, digest("accepted"), invitee.ID, at(time.Hour))
	must(t, "AcceptInvitation", err)
	// Before anything ended nothing goes.
	n, err = s.PurgeInvitations(ctx, at(time.Minute))
	must(t, "PurgeInvitations(early)", err)
	if n != 0 {
		t.Errorf("PurgeInvitations(early): deleted %d, want 0", n)
	}
	n, err = s.PurgeInvitations(ctx, at(8*24*time.Hour))
	must(t, "PurgeInvitations", err)
	if n != 3 {
		t.Errorf("PurgeInvitations: deleted %d, want 3 (expired, revoked, accepted)", n)
	}
	list, err := s.PendingInvitations(ctx, o.ID, at(8*24*time.Hour))
	must(t, "PendingInvitations", err)
	if len(list) != 1 || list[0].ID != pending.ID {
		t.Errorf("after the purge: pending invitations %d, want the pending one", len(list))
	}
	if _, err := s.Membership(ctx, o.ID, invitee.ID); err != nil {
		t.Errorf("the accepted invitation's membership went with it: %v", err)
	}
}

// testSaveSessionActiveOrg: SaveSession stores the active organization
// only if the session's user is a member of it when the row is written,
// on insert and on update.
func testSaveSessionActiveOrg(t *testing.T, s orgStore, e env) {
	ss, ok := as[store.Sessions](e)
	if !ok {
		t.Skipf("storetest: %s does not implement store.Sessions", typeName(e.typ))
	}
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	m := newUser(t, s, "member@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	b := newOrg(t, s, "beta", u.ID)
	addMember(t, s, a.ID, m.ID, store.RoleMember, time.Minute)
	activeOrg := func(tag string) string {
		t.Helper()
		got, err := ss.SessionByDigest(ctx, digest(tag), t0, 0)
		must(t, "SessionByDigest("+tag+")", err)
		return got.ActiveOrg
	}
	for _, tt := range []struct {
		tag, userID, org, want string
	}{
		{"member", m.ID, a.ID, a.ID},
		{"owner", u.ID, b.ID, b.ID},
		{"not a member", m.ID, b.ID, ""},
		{"unknown org", m.ID, store.NewID(), ""},
		{"anonymous", "", a.ID, ""},
		{"none", m.ID, "", ""},
	} {
		sess := liveSession(digest(tt.tag), tt.userID)
		sess.ActiveOrg = tt.org
		must(t, "SaveSession("+tt.tag+")", ss.SaveSession(ctx, sess))
		if sess.ActiveOrg != tt.org {
			t.Errorf("SaveSession(%s) changed the record's ActiveOrg: got %q, want %q", tt.tag, sess.ActiveOrg, tt.org)
		}
		if got := activeOrg(tt.tag); got != tt.want {
			t.Errorf("session %s: ActiveOrg stored: got %q, want %q", tt.tag, got, tt.want)
		}
	}
	// On update: switching to an organization of the user's is stored,
	// to another is not (the stored one is not kept either).
	sess := liveSession(digest("member"), m.ID)
	sess.ActiveOrg = b.ID
	must(t, "SaveSession(switch to beta)", ss.SaveSession(ctx, sess))
	if got := activeOrg("member"); got != "" {
		t.Errorf("ActiveOrg after switching to an org of someone else's: got %q, want empty", got)
	}
	addMember(t, s, b.ID, m.ID, store.RoleMember, 2*time.Minute)
	must(t, "SaveSession(switch to beta, a member)", ss.SaveSession(ctx, sess))
	if got := activeOrg("member"); got != b.ID {
		t.Errorf("ActiveOrg after switching to an org of the user's: got %q, want %q", got, b.ID)
	}
}

// testOrgUserGone: a user's deletion, or anonymisation (which keeps the
// row), takes their memberships and passes the ownership of the orgs they
// owned alone on.
func testOrgUserGone(t *testing.T, s orgStore, anonymize bool) {
	ctx := t.Context()
	owner := newUser(t, s, "owner@example.com")
	member := newUser(t, s, "member@example.com")
	admin := newUser(t, s, "admin@example.com")
	admin2 := newUser(t, s, "admin2@example.com")

	// Alpha: the longest-standing admin becomes owner, even with an
	// older plain member.
	a := newOrg(t, s, "alpha", owner.ID)
	addMember(t, s, a.ID, member.ID, store.RoleMember, time.Minute)
	addMember(t, s, a.ID, admin2.ID, store.RoleAdmin, 3*time.Minute)
	addMember(t, s, a.ID, admin.ID, store.RoleAdmin, 2*time.Minute)
	// Beta: with no admin, the longest-standing member becomes owner.
	b := newOrg(t, s, "beta", owner.ID)
	addMember(t, s, b.ID, member.ID, store.RoleMember, time.Minute)
	// Gamma: the owner alone; it is left empty and scheduled for deletion.
	g := newOrg(t, s, "gamma", owner.ID)
	// Delta: another owner remains; nothing is promoted.
	d := newOrg(t, s, "delta", admin.ID)
	addMember(t, s, d.ID, owner.ID, store.RoleOwner, time.Minute)
	addMember(t, s, d.ID, member.ID, store.RoleAdmin, 2*time.Minute)
	inv := newInvitation(a.ID, "new@example.com", "by-owner", at(time.Hour))
	inv.InvitedBy = owner.ID
	must(t, "CreateInvitation", s.CreateInvitation(ctx, inv))

	if anonymize {
		must(t, "AnonymizeUser", s.AnonymizeUser(ctx, owner.ID, at(time.Hour)))
	} else {
		must(t, "DeleteUser", s.DeleteUser(ctx, owner.ID))
	}

	uos, err := s.UserOrgs(ctx, owner.ID)
	must(t, "UserOrgs(deleted user)", err)
	if len(uos) != 0 {
		t.Errorf("UserOrgs(deleted user): got %d, want 0", len(uos))
	}
	if got := owners(t, s, a.ID); !slices.Equal(got, []string{admin.ID}) {
		t.Errorf("alpha's owners after its owner's deletion: got %v, want the longest-standing admin [%s]", got, admin.ID)
	}
	if role := roleOf(t, s, a.ID, admin2.ID); role != store.RoleAdmin {
		t.Errorf("alpha's other admin: role %q, want admin", role)
	}
	if got := owners(t, s, b.ID); !slices.Equal(got, []string{member.ID}) {
		t.Errorf("beta's owners after its owner's deletion: got %v, want the member [%s]", got, member.ID)
	}
	if got := owners(t, s, d.ID); !slices.Equal(got, []string{admin.ID}) {
		t.Errorf("delta's owners: got %v, want [%s]", got, admin.ID)
	}
	if role := roleOf(t, s, d.ID, member.ID); role != store.RoleAdmin {
		t.Errorf("delta's admin: role %q, want admin (no promotion while an owner remains)", role)
	}
	for _, o := range []*store.Org{a, b, d} {
		got, err := s.OrgByID(ctx, o.ID)
		must(t, "OrgByID", err)
		// An anonymised user's row stays, and so does the reference.
		if got.CreatedBy != "" && o != d && !anonymize {
			t.Errorf("org %s: CreatedBy after the creator's deletion: got %q, want empty", o.Slug, got.CreatedBy)
		}
		if !got.DeletionDueAt.IsZero() {
			t.Errorf("org %s with members left: DeletionDueAt %v, want none", o.Slug, got.DeletionDueAt)
		}
	}
	got, err := s.OrgByID(ctx, g.ID)
	must(t, "OrgByID(gamma)", err)
	if got.DeletionDueAt.IsZero() {
		t.Error("gamma, left without members: DeletionDueAt is zero, want its deletion scheduled")
	}
	due, err := s.OrgsDueForDeletion(ctx, got.DeletionDueAt, 10)
	must(t, "OrgsDueForDeletion", err)
	if len(due) != 1 || due[0].ID != g.ID {
		t.Errorf("OrgsDueForDeletion: got %d orgs, want gamma alone", len(due))
	}
	pending, err := s.PendingInvitations(ctx, a.ID, t0)
	must(t, "PendingInvitations", err)
	wantBy := ""
	if anonymize {
		wantBy = owner.ID // the row stays, and so does the reference
	}
	if len(pending) != 1 || pending[0].InvitedBy != wantBy {
		t.Errorf("invitation of the user gone: got %d pending (%+v), want 1 with InvitedBy %q", len(pending), pending, wantBy)
	}
}

// newInvitation returns an invitation to orgID for email as a member,
// whose token is tag, sent at t0, expiring at expires.
func newInvitation(orgID, email, tag string, expires time.Time) *store.Invitation {
	return &store.Invitation{OrgID: orgID, Email: email, Role: store.RoleMember, Digest: digest(tag), CreatedAt: t0, ExpiresAt: expires}
}

func testInvitations(t *testing.T, s orgStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	b := newOrg(t, s, "beta", u.ID)
	expires := at(7 * 24 * time.Hour)
	inv := newInvitation(a.ID, "Invitee@Example.COM", "inv1", expires)
	inv.InvitedBy = u.ID
	inv.Role = store.RoleAdmin
	must(t, "CreateInvitation", s.CreateInvitation(ctx, inv))
	if inv.ID == "" || inv.EmailKey != store.NormalizeEmail("invitee@example.com") {
		t.Errorf("CreateInvitation: got ID %q, EmailKey %q, want an ID and the address's key", inv.ID, inv.EmailKey)
	}
	got, err := s.InvitationByDigest(ctx, digest("inv1"), t0)
	must(t, "InvitationByDigest", err)
	if got.ID != inv.ID || got.OrgID != a.ID || got.Email != "Invitee@Example.COM" || got.EmailKey != inv.EmailKey ||
		got.Role != store.RoleAdmin || got.InvitedBy != u.ID || string(got.Digest) != string(digest("inv1")) {
		t.Errorf("InvitationByDigest: got %+v, want %+v", got, inv)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, t0)
	sameTime(t, "ExpiresAt", got.ExpiresAt, expires)
	sameTime(t, "AcceptedAt", got.AcceptedAt, time.Time{})
	sameTime(t, "RevokedAt", got.RevokedAt, time.Time{})
	_, err = s.InvitationByDigest(ctx, digest("inv1"), expires)
	wantErr(t, "InvitationByDigest(at expiry)", err, store.ErrNotFound)
	_, err = s.InvitationByDigest(ctx, digest("nothing"), t0)
	wantErr(t, "InvitationByDigest(unknown)", err, store.ErrNotFound)

	// One pending invitation per address key and organization.
	err = s.CreateInvitation(ctx, newInvitation(a.ID, "invitee@example.com", "inv2", expires))
	wantErr(t, "CreateInvitation(same address)", err, store.ErrConflict)
	_, err = s.InvitationByDigest(ctx, digest("inv2"), t0)
	wantErr(t, "InvitationByDigest(refused)", err, store.ErrNotFound)
	must(t, "CreateInvitation(other org)", s.CreateInvitation(ctx, newInvitation(b.ID, "invitee@example.com", "inv-b", expires)))
	err = s.CreateInvitation(ctx, newInvitation(a.ID, "other@example.com", "inv1", expires))
	wantErr(t, "CreateInvitation(digest taken)", err, store.ErrConflict)
	err = s.CreateInvitation(ctx, newInvitation(store.NewID(), "other@example.com", "inv3", expires))
	wantErr(t, "CreateInvitation(unknown org)", err, store.ErrNotFound)
	later := newInvitation(a.ID, "later@example.com", "later", expires)
	later.CreatedAt = at(time.Minute)
	must(t, "CreateInvitation(later)", s.CreateInvitation(ctx, later))

	list, err := s.PendingInvitations(ctx, a.ID, t0)
	must(t, "PendingInvitations", err)
	if len(list) != 2 || list[0].ID != later.ID || list[1].ID != inv.ID {
		t.Errorf("PendingInvitations: got %d, want later then first", len(list))
	}

	// Revoking.
	wantErr(t, "RevokeInvitation(other org)", s.RevokeInvitation(ctx, b.ID, inv.ID, t0), store.ErrNotFound)
	must(t, "RevokeInvitation", s.RevokeInvitation(ctx, a.ID, later.ID, at(time.Hour)))
	wantErr(t, "RevokeInvitation(again)", s.RevokeInvitation(ctx, a.ID, later.ID, at(time.Hour)), store.ErrNotFound)
	_, err = s.InvitationByDigest(ctx, digest("later"), t0)
	wantErr(t, "InvitationByDigest(revoked)", err, store.ErrNotFound)
	wantErr(t, "ResendInvitation(revoked)", s.ResendInvitation(ctx, a.ID, later.ID, digest("later2"), expires, t0), store.ErrNotFound)
	// A revoked invitation no longer holds the address.
	must(t, "CreateInvitation(after revocation)", s.CreateInvitation(ctx, newInvitation(a.ID, "later@example.com", "later3", expires)))

	// Resending replaces the token and the expiry, and revives an
	// expired invitation.
	resent := at(8 * 24 * time.Hour)
	newExpiry := resent.Add(7 * 24 * time.Hour)
	wantErr(t, "ResendInvitation(other org)", s.ResendInvitation(ctx, b.ID, inv.ID, digest("inv1b"), newExpiry, resent), store.ErrNotFound)
	wantErr(t, "ResendInvitation(digest taken)", s.ResendInvitation(ctx, a.ID, inv.ID, digest("inv-b"), newExpiry, resent), store.ErrConflict)
	must(t, "ResendInvitation", s.ResendInvitation(ctx, a.ID, inv.ID, digest("inv1b"), newExpiry, resent))
	_, err = s.InvitationByDigest(ctx, digest("inv1"), t0)
	wantErr(t, "InvitationByDigest(old token)", err, store.ErrNotFound)
	got, err = s.InvitationByDigest(ctx, digest("inv1b"), resent)
	must(t, "InvitationByDigest(new token)", err)
	if got.ID != inv.ID {
		t.Errorf("InvitationByDigest(new token): got %s, want %s", got.ID, inv.ID)
	}
	sameTime(t, "ExpiresAt after ResendInvitation", got.ExpiresAt, newExpiry)

	// An expired invitation gives the address up to a new one.
	c := newInvitation(a.ID, "expired@example.com", "exp1", at(time.Hour))
	must(t, "CreateInvitation", s.CreateInvitation(ctx, c))
	again := newInvitation(a.ID, "expired@example.com", "exp2", at(2*time.Hour))
	again.CreatedAt = at(time.Hour)
	must(t, "CreateInvitation(after expiry)", s.CreateInvitation(ctx, again))
	if _, err := s.InvitationByDigest(ctx, digest("exp2"), at(time.Hour)); err != nil {
		t.Errorf("InvitationByDigest(new invitation): %v", err)
	}
}

func testInvitationsRefused(t *testing.T, s orgStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	expires := at(time.Hour)
	for name, inv := range map[string]*store.Invitation{
		"EmptyAddress": {OrgID: a.ID, Email: " ", Role: store.RoleMember, Digest: digest("x"), ExpiresAt: expires},
		"EmptyRole":    {OrgID: a.ID, Email: "x@example.com", Digest: digest("x"), ExpiresAt: expires},
		"EmptyDigest":  {OrgID: a.ID, Email: "x@example.com", Role: store.RoleMember, ExpiresAt: expires},
		"ZeroExpiry":   {OrgID: a.ID, Email: "x@example.com", Role: store.RoleMember, Digest: digest("x")},
	} {
		if err := s.CreateInvitation(ctx, inv); err == nil {
			t.Errorf("CreateInvitation(%s): got nil error, want one", name)
		}
	}
	list, err := s.PendingInvitations(ctx, a.ID, t0)
	must(t, "PendingInvitations", err)
	if len(list) != 0 {
		t.Errorf("after refused invitations: %d pending, want 0", len(list))
	}
	inv := newInvitation(a.ID, "x@example.com", "x", expires)
	must(t, "CreateInvitation", s.CreateInvitation(ctx, inv))
	if err := s.ResendInvitation(ctx, a.ID, inv.ID, nil, expires, t0); err == nil {
		t.Error("ResendInvitation(empty digest): got nil error, want one")
	}
	if err := s.ResendInvitation(ctx, a.ID, inv.ID, digest("y"), time.Time{}, t0); err == nil {
		t.Error("ResendInvitation(zero expiry): got nil error, want one")
	}
	if _, err := s.InvitationByDigest(ctx, digest("x"), t0); err != nil {
		t.Errorf("InvitationByDigest after refused resends: %v", err)
	}
}

func testAcceptInvitation(t *testing.T, s orgStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	invitee := newUser(t, s, "Invitee@example.com")
	other := newUser(t, s, "other@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	inv := newInvitation(a.ID, "INVITEE@example.com", "acc", at(time.Hour))
	inv.Role = store.RoleAdmin
	must(t, "CreateInvitation", s.CreateInvitation(ctx, inv))

	// Bound to the invited address.
	_, err := s.AcceptInvitation(ctx, digest("acc"), other.ID, t0)
	wantErr(t, "AcceptInvitation(another address)", err, store.ErrNotFound)
	if role := roleOf(t, s, a.ID, other.ID); role != "" {
		t.Errorf("after refused accept: other user's role %q, want none", role)
	}
	_, err = s.AcceptInvitation(ctx, digest("acc"), store.NewID(), t0)
	wantErr(t, "AcceptInvitation(unknown user)", err, store.ErrNotFound)
	_, err = s.AcceptInvitation(ctx, digest("acc"), invitee.ID, at(time.Hour))
	wantErr(t, "AcceptInvitation(at expiry)", err, store.ErrNotFound)

	accepted := at(time.Minute)
	got, err := s.AcceptInvitation(ctx, digest("acc"), invitee.ID, accepted)
	must(t, "AcceptInvitation", err)
	if got.ID != inv.ID || got.AcceptedBy != invitee.ID || got.OrgID != a.ID {
		t.Errorf("AcceptInvitation: got %+v, want invitation %s accepted by %s", got, inv.ID, invitee.ID)
	}
	sameTime(t, "AcceptedAt", got.AcceptedAt, accepted)
	m, err := s.Membership(ctx, a.ID, invitee.ID)
	must(t, "Membership", err)
	if m.Role != store.RoleAdmin {
		t.Errorf("role after accepting: got %q, want admin", m.Role)
	}
	sameTime(t, "membership CreatedAt", m.CreatedAt, accepted)
	_, err = s.AcceptInvitation(ctx, digest("acc"), invitee.ID, accepted)
	wantErr(t, "AcceptInvitation(again)", err, store.ErrNotFound)
	wantErr(t, "RevokeInvitation(accepted)", s.RevokeInvitation(ctx, a.ID, inv.ID, accepted), store.ErrNotFound)
	list, err := s.PendingInvitations(ctx, a.ID, t0)
	must(t, "PendingInvitations", err)
	if len(list) != 0 {
		t.Errorf("PendingInvitations after accepting: got %d, want 0", len(list))
	}

	// A member who accepts another invitation keeps their role.
	inv2 := newInvitation(a.ID, "invitee@example.com", "acc2", at(time.Hour))
	must(t, "CreateInvitation(member)", s.CreateInvitation(ctx, inv2))
	_, err = s.AcceptInvitation(ctx, digest("acc2"), invitee.ID, accepted)
	must(t, "AcceptInvitation(member)", err)
	if role := roleOf(t, s, a.ID, invitee.ID); role != store.RoleAdmin {
		t.Errorf("member's role after accepting a member invitation: got %q, want admin", role)
	}
}

func testAcceptInvitationConcurrent(t *testing.T, s orgStore) {
	u := newUser(t, s, "owner@example.com")
	invitee := newUser(t, s, "invitee@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	must(t, "CreateInvitation", s.CreateInvitation(t.Context(), newInvitation(a.ID, "invitee@example.com", "race", at(time.Hour))))
	const n = 16
	errs := race(n, func(int) error {
		_, err := s.AcceptInvitation(context.Background(), digest("race"), invitee.ID, at(time.Minute))
		return err
	})
	ok, missed := countOutcomes(t, "AcceptInvitation", errs, store.ErrNotFound)
	if ok != 1 || missed != n-1 {
		t.Errorf("concurrent accepts: got %d succeeded and %d not found, want 1 and %d", ok, missed, n-1)
	}
	if role := roleOf(t, s, a.ID, invitee.ID); role != store.RoleMember {
		t.Errorf("role after concurrent accepts: got %q, want member", role)
	}
}

func testOrgTransactions(t *testing.T, s orgStore, e env) {
	tx, ok := as[store.Transactor](e)
	if !ok {
		t.Skipf("storetest: %s does not implement store.Transactor", typeName(e.typ))
	}
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	m := newUser(t, s, "member@example.com")
	a := newOrg(t, s, "alpha", u.ID)
	var orgID string
	err := tx.InTx(ctx, func(ctx context.Context) error {
		o := &store.Org{Name: "Tx", Slug: "tx", CreatedBy: u.ID, CreatedAt: t0}
		if err := s.CreateOrg(ctx, o); err != nil {
			return err
		}
		orgID = o.ID
		if err := s.AddMember(ctx, &store.Membership{OrgID: a.ID, UserID: m.ID, Role: store.RoleMember, CreatedAt: t0}); err != nil {
			return err
		}
		if err := s.CreateInvitation(ctx, newInvitation(a.ID, "tx@example.com", "tx", at(time.Hour))); err != nil {
			return err
		}
		if err := s.RenameOrg(ctx, a.ID, "Renamed", "renamed", t0); err != nil {
			return err
		}
		if _, _, err := s.OrgBySlug(ctx, "tx", t0); err != nil {
			return fmt.Errorf("OrgBySlug inside the transaction: %w", err)
		}
		return errAbort
	})
	wantErr(t, "InTx", err, errAbort)
	if _, err := s.OrgByID(ctx, orgID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OrgByID(rolled back): got %v, want ErrNotFound", err)
	}
	if role := roleOf(t, s, a.ID, m.ID); role != "" {
		t.Errorf("membership rolled back: got role %q, want none", role)
	}
	if _, err := s.InvitationByDigest(ctx, digest("tx"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("InvitationByDigest(rolled back): got %v, want ErrNotFound", err)
	}
	if id, old := orgBySlug(t, s, "alpha", t0); id != a.ID || old {
		t.Errorf("rename rolled back: OrgBySlug(alpha) got (%q, %v), want (%q, false)", id, old, a.ID)
	}

	// Refusals inside a transaction change nothing and leave it usable.
	err = tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.CreateOrg(ctx, &store.Org{Name: "Dup", Slug: "ALPHA", CreatedBy: u.ID, CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("CreateOrg(taken slug) in a transaction: got %v, want ErrConflict", err)
		}
		if err := s.RemoveMember(ctx, a.ID, u.ID); !errors.Is(err, store.ErrLastOwner) {
			return fmt.Errorf("RemoveMember(last owner) in a transaction: got %v, want ErrLastOwner", err)
		}
		if err := s.AddMember(ctx, &store.Membership{OrgID: a.ID, UserID: store.NewID(), Role: store.RoleMember, CreatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("AddMember(unknown user) in a transaction: got %v, want ErrNotFound", err)
		}
		return s.AddMember(ctx, &store.Membership{OrgID: a.ID, UserID: m.ID, Role: store.RoleMember, CreatedAt: t0})
	})
	must(t, "InTx(refusals, then a write)", err)
	if role := roleOf(t, s, a.ID, m.ID); role != store.RoleMember {
		t.Errorf("membership committed after refusals: got role %q, want member", role)
	}
	if got := owners(t, s, a.ID); !slices.Equal(got, []string{u.ID}) {
		t.Errorf("owners after refusals: got %v, want [%s]", got, u.ID)
	}
	uos, err := s.UserOrgs(ctx, u.ID)
	must(t, "UserOrgs", err)
	if len(uos) != 1 {
		t.Errorf("UserOrgs after refused CreateOrg: got %d, want 1", len(uos))
	}
}
