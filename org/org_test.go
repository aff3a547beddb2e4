package org_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/org"
	"github.com/sigra-go/sigra/store"
)

func TestCreateSwitchAndActiveOrg(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "owner@example.com")
		// No organization yet: the active-organization route sends the
		// browser to the switcher and back.
		res := c.Get("/app/current")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), a.Path("/orgs")+"?return_to=") {
			t.Fatalf("no org: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if res := c.JSON("GET", "/app/current", ""); res.StatusCode != http.StatusConflict || errCode(t, res) != "org_required" {
			t.Fatalf("no org, JSON: %d %s", res.StatusCode, res.Body)
		}

		acme := a.createOrg(t, c, "Acme Corp", "acme")
		if got := a.role(t, acme, u); got != org.RoleOwner {
			t.Fatalf("creator's role = %q", got)
		}
		if res := c.Get("/app/current"); res.StatusCode != http.StatusOK || res.Body != "org acme as owner" {
			t.Fatalf("active after create: %d %q", res.StatusCode, res.Body)
		}
		// A slug made from the name.
		res = c.Post(a.Path("/orgs"), url.Values{"name": {"Beta Team!"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != a.Path("/orgs/beta-team")+"?notice=org_created" {
			t.Fatalf("create from name: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if res := c.Get("/app/current"); res.Body != "org beta-team as owner" {
			t.Fatalf("active after second create: %q", res.Body)
		}
		// Switch back by slug, then by ID.
		res = c.Post(a.Path("/orgs/switch"), url.Values{"org": {"acme"}, "return_to": {"/app/current"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app/current" {
			t.Fatalf("switch: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if res := c.Get("/app/current"); res.Body != "org acme as owner" {
			t.Fatalf("after switch: %q", res.Body)
		}
		// The list in HTML and JSON.
		if res := c.Get(a.Path("/orgs")); res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "Acme Corp") || !strings.Contains(res.Body, "Beta Team!") {
			t.Fatalf("list page: %d", res.StatusCode)
		}
		body := jsonBody(t, c.JSON("GET", a.Path("/orgs"), ""))
		if list, _ := body["orgs"].([]any); len(list) != 2 {
			t.Fatalf("list JSON: %v", body)
		}
		if got := a.orgEvents(t, acme); !slices.Contains(got, org.ActionCreate) {
			t.Fatalf("audit of acme: %v", got)
		}
		// A new session starts with the active organization the store
		// kept? No: each session has its own; a second browser has none.
		c2 := a.Client(t)
		c2.SignIn("owner@example.com", pw)
		if res := c2.Get("/app/current"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("second browser without an active org: %d", res.StatusCode)
		}
	})
}

func TestCreateRefused(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, _ := a.signedIn(t, "owner@example.com")
		a.createOrg(t, c, "Acme", "acme")
		count := func() int { return a.Count(t, "sigra_orgs", "1=1") }
		before := count()
		for _, tc := range []struct {
			name       string
			form       url.Values
			status     int
			field      string
			wantInBody string
		}{
			{"empty name", url.Values{"name": {""}, "slug": {"x1"}}, 422, "name", "Enter a name."},
			{"bad slug", url.Values{"name": {"X"}, "slug": {"Not A Slug"}}, 422, "slug", "lower-case letters"},
			{"reserved slug", url.Values{"name": {"X"}, "slug": {"admin"}}, 422, "slug", "reserved"},
			{"too short", url.Values{"name": {"X"}, "slug": {"x"}}, 422, "slug", "2 to 40"},
			{"taken slug", url.Values{"name": {"X"}, "slug": {"acme"}}, 409, "slug", "taken"},
			{"control char", url.Values{"name": {"a\x01b"}, "slug": {"ctl"}}, 400, "name", "not allowed"},
		} {
			res := c.Post(a.Path("/orgs"), tc.form)
			if res.StatusCode != tc.status || !strings.Contains(res.Body, tc.wantInBody) {
				t.Errorf("%s: %d, body has %q: %v", tc.name, res.StatusCode, tc.wantInBody, strings.Contains(res.Body, tc.wantInBody))
			}
		}
		// JSON: an unknown field is refused with its code.
		res := c.JSON("POST", a.Path("/orgs"), `{"name":"Y","slug":"yyy","owner":"someone"}`)
		if res.StatusCode != http.StatusBadRequest || errCode(t, res) != "unknown_field" {
			t.Errorf("unknown field: %d %s", res.StatusCode, res.Body)
		}
		res = c.JSON("POST", a.Path("/orgs"), `{"name":5}`)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("wrong type: %d %s", res.StatusCode, res.Body)
		}
		if got := count(); got != before {
			t.Fatalf("refused creations stored something: %d orgs, want %d", got, before)
		}
		// An unconfirmed user cannot create one (the default policy).
		ctx := context.Background()
		h, _ := a.Hasher.Hash(ctx, pw)
		if err := a.Store.CreateUser(ctx, &store.User{Email: "new@example.com", PasswordHash: h, CreatedAt: a.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		nc := a.Client(t)
		nc.SignIn("new@example.com", pw)
		if res := nc.Post(a.Path("/orgs"), url.Values{"name": {"Z"}, "slug": {"zzz"}}); res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "Confirm your email") {
			t.Fatalf("unconfirmed creator: %d", res.StatusCode)
		}
		if got := count(); got != before {
			t.Fatalf("an unconfirmed user's creation was stored")
		}
	})
}

// orgRoute is one route under an organization, with a valid request for
// it (forms reference the tenant's own IDs, filled in per test).
type orgRoute struct {
	method, path string
	form         func(ids map[string]string) url.Values
}

func orgRoutes() []orgRoute {
	none := func(map[string]string) url.Values { return url.Values{} }
	return []orgRoute{
		{"GET", "/auth/orgs/{org}", nil},
		{"POST", "/auth/orgs/{org}/settings", func(map[string]string) url.Values { return url.Values{"name": {"Taken Over"}} }},
		{"POST", "/auth/orgs/{org}/policy", func(map[string]string) url.Values { return url.Values{"require_two_factor": {""}} }},
		{"GET", "/auth/orgs/{org}/members", nil},
		{"POST", "/auth/orgs/{org}/members/role", func(ids map[string]string) url.Values {
			return url.Values{"user_id": {ids["member"]}, "role": {"admin"}}
		}},
		{"POST", "/auth/orgs/{org}/members/remove", func(ids map[string]string) url.Values { return url.Values{"user_id": {ids["member"]}} }},
		{"POST", "/auth/orgs/{org}/invitations", func(map[string]string) url.Values {
			return url.Values{"email": {"intruder-invite@example.com"}, "role": {"member"}}
		}},
		{"POST", "/auth/orgs/{org}/invitations/revoke", func(ids map[string]string) url.Values { return url.Values{"id": {ids["invitation"]}} }},
		{"POST", "/auth/orgs/{org}/invitations/resend", func(ids map[string]string) url.Values { return url.Values{"id": {ids["invitation"]}} }},
		{"POST", "/auth/orgs/{org}/leave", none},
		{"POST", "/auth/orgs/{org}/delete", func(map[string]string) url.Values { return url.Values{"confirm_slug": {"beta"}} }},
		{"POST", "/auth/orgs/{org}/delete/cancel", none},
		{"GET", "/app/o/{org}/projects", nil},
		{"GET", "/app/o/{org}/billing", nil},
		{"GET", "/app/o/{org}/admin", nil},
	}
}

// TestCrossTenant: an owner of org A requesting any route of org B (or
// of an organization that does not exist) gets the same 404, in HTML and
// JSON, and nothing of B changes. IDs of B's rows used under A's own
// routes are not found either.
func TestCrossTenant(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		ca, _ := a.signedIn(t, "a@example.com")
		cb, _ := a.signedIn(t, "b@example.com")
		orgA := a.createOrg(t, ca, "Alpha", "alpha")
		orgB := a.createOrg(t, cb, "Beta", "beta")
		memberB := a.CreateUser(t, "member-b@example.com", pw)
		a.addMember(t, orgB, memberB, org.RoleMember)
		if res := cb.Post(a.Path("/orgs/beta/invitations"), url.Values{"email": {"guest@example.com"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("invite in B: %d %s", res.StatusCode, res.Body)
		}
		invs, err := a.Store.PendingInvitations(ctx, orgB.ID, a.Clock.Now())
		if err != nil || len(invs) != 1 {
			t.Fatalf("B's invitations: %v %v", invs, err)
		}
		idsB := map[string]string{"member": memberB.ID, "invitation": invs[0].ID}
		sudo := func(c *apptest.Client) { c.Post(a.Path("/sudo"), url.Values{"password": {pw}}) }
		sudo(ca)

		snapshot := func() string {
			var b strings.Builder
			o, err := a.Store.OrgByID(ctx, orgB.ID)
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(o.Name + "|" + o.Slug + "|" + o.DeletionDueAt.String() + "|")
			ms, _, _ := a.Store.Members(ctx, orgB.ID, "", 100)
			for _, m := range ms {
				b.WriteString(m.UserID + ":" + m.Role + ",")
			}
			is, _ := a.Store.PendingInvitations(ctx, orgB.ID, a.Clock.Now())
			for _, i := range is {
				b.WriteString(i.ID + ":" + i.Email + ":" + string(i.Digest) + ",")
			}
			return b.String()
		}
		before := snapshot()
		var notFoundBody string
		for _, slug := range []string{"beta", "no-such-org"} {
			for _, rt := range orgRoutes() {
				path := strings.Replace(rt.path, "{org}", slug, 1)
				for _, asJSON := range []bool{false, true} {
					var res *apptest.Response
					switch {
					case rt.method == "GET" && asJSON:
						res = ca.JSON("GET", path, "")
					case rt.method == "GET":
						res = ca.Get(path)
					case asJSON:
						body := "{}"
						if f := rt.form(idsB); len(f) > 0 {
							body = jsonOf(f)
						}
						res = ca.JSON("POST", path, body)
					default:
						res = ca.Post(path, rt.form(idsB))
					}
					if res.StatusCode != http.StatusNotFound {
						t.Errorf("%s %s (json %v): %d, want 404\n%.300s", rt.method, path, asJSON, res.StatusCode, res.Body)
						continue
					}
					if asJSON && errCode(t, res) != "not_found" {
						t.Errorf("%s %s: code %q", rt.method, path, errCode(t, res))
					}
					if asJSON {
						if notFoundBody == "" {
							notFoundBody = res.Body
						} else if res.Body != notFoundBody {
							t.Errorf("%s %s: 404 body differs: %s vs %s", rt.method, path, res.Body, notFoundBody)
						}
					}
				}
			}
		}
		// B's rows used under A's own routes.
		for _, tc := range []struct{ path, field, id string }{
			{"/orgs/alpha/members/role", "user_id", memberB.ID},
			{"/orgs/alpha/members/remove", "user_id", memberB.ID},
			{"/orgs/alpha/invitations/revoke", "id", idsB["invitation"]},
			{"/orgs/alpha/invitations/resend", "id", idsB["invitation"]},
		} {
			form := url.Values{tc.field: {tc.id}, "role": {"admin"}}
			if res := ca.Post(a.Path(tc.path), form); res.StatusCode != http.StatusNotFound {
				t.Errorf("B's id under %s: %d, want 404", tc.path, res.StatusCode)
			}
		}
		// Switching to B is refused the same way.
		if res := ca.Post(a.Path("/orgs/switch"), url.Values{"org": {orgB.ID}}); res.StatusCode != http.StatusNotFound {
			t.Errorf("switch to B: %d", res.StatusCode)
		}
		if after := snapshot(); after != before {
			t.Fatalf("org B changed:\n%s\n%s", before, after)
		}
		_ = orgA
	})
}

func jsonOf(v url.Values) string {
	var parts []string
	for k := range v {
		parts = append(parts, `"`+k+`":"`+v.Get(k)+`"`)
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

func TestPermissionsAndRoles(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		co, _ := a.signedIn(t, "owner@example.com")
		acme := a.createOrg(t, co, "Acme", "acme")
		cm, mu := a.signedIn(t, "member@example.com")
		cadm, adm := a.signedIn(t, "admin@example.com")
		cbill, bill := a.signedIn(t, "billing@example.com")
		a.addMember(t, acme, mu, org.RoleMember)
		a.addMember(t, acme, adm, org.RoleAdmin)
		a.addMember(t, acme, bill, "billing")

		for _, tc := range []struct {
			c       *apptest.Client
			path    string
			status  int
			content string
		}{
			{co, "/app/o/acme/billing", 200, "org acme as owner"},
			{cbill, "/app/o/acme/billing", 200, "org acme as billing"},
			{cm, "/app/o/acme/billing", 403, ""},
			{cadm, "/app/o/acme/billing", 403, ""},
			{cadm, "/app/o/acme/admin", 200, "org acme as admin"},
			{cm, "/app/o/acme/admin", 403, ""},
			{cm, "/app/o/acme/projects", 200, "org acme as member"},
		} {
			res := tc.c.Get(tc.path)
			if res.StatusCode != tc.status || (tc.content != "" && res.Body != tc.content) {
				t.Errorf("%s: %d %q, want %d %q", tc.path, res.StatusCode, res.Body, tc.status, tc.content)
			}
		}
		// A member may not rename, change roles or invite.
		for _, tc := range []struct {
			path string
			form url.Values
		}{
			{"/orgs/acme/settings", url.Values{"name": {"Mine"}}},
			{"/orgs/acme/members/role", url.Values{"user_id": {adm.ID}, "role": {"member"}}},
			{"/orgs/acme/members/remove", url.Values{"user_id": {adm.ID}}},
			{"/orgs/acme/invitations", url.Values{"email": {"x@example.com"}}},
		} {
			if res := cm.Post(a.Path(tc.path), tc.form); res.StatusCode != http.StatusForbidden {
				t.Errorf("member %s: %d, want 403", tc.path, res.StatusCode)
			}
		}
		// An admin manages members but not owners, and cannot make one.
		if res := cadm.Post(a.Path("/orgs/acme/members/role"), url.Values{"user_id": {mu.ID}, "role": {"billing"}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("admin changes a member's role: %d %s", res.StatusCode, res.Body)
		}
		if got := a.role(t, acme, mu); got != "billing" {
			t.Errorf("member's role = %q", got)
		}
		owner := a.User(t, "owner@example.com")
		for _, form := range []url.Values{
			{"user_id": {mu.ID}, "role": {"owner"}},
			{"user_id": {owner.ID}, "role": {"member"}},
		} {
			if res := cadm.Post(a.Path("/orgs/acme/members/role"), form); res.StatusCode != http.StatusForbidden {
				t.Errorf("admin %v: %d, want 403", form, res.StatusCode)
			}
		}
		if res := cadm.Post(a.Path("/orgs/acme/members/remove"), url.Values{"user_id": {owner.ID}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("admin removes the owner: %d", res.StatusCode)
		}
		if res := cadm.Post(a.Path("/orgs/acme/invitations"), url.Values{"email": {"o2@example.com"}, "role": {"owner"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("admin invites an owner: %d", res.StatusCode)
		}
		// An unknown role is a field error.
		res := co.Post(a.Path("/orgs/acme/members/role"), url.Values{"user_id": {mu.ID}, "role": {"emperor"}})
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("unknown role: %d", res.StatusCode)
		}
		if got := a.role(t, acme, mu); got != "billing" {
			t.Errorf("refused role change changed the role to %q", got)
		}
		if got := a.role(t, acme, owner); got != org.RoleOwner {
			t.Errorf("owner's role = %q", got)
		}
		perms := a.Orgs.Permissions(org.RoleOwner)
		if !slices.Contains(perms, "billing:manage") || !slices.Contains(perms, org.PermOrgDelete) {
			t.Errorf("owner's permissions: %v", perms)
		}
	})
}

func TestLastOwner(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		co, owner := a.signedIn(t, "owner@example.com")
		acme := a.createOrg(t, co, "Acme", "acme")
		if res := co.Post(a.Path("/orgs/acme/leave"), nil); res.StatusCode != http.StatusConflict || !strings.Contains(res.Body, "only owner") {
			t.Fatalf("last owner leaves: %d", res.StatusCode)
		}
		res := co.JSON("POST", a.Path("/orgs/acme/leave"), "{}")
		if res.StatusCode != http.StatusConflict || errCode(t, res) != "last_owner" {
			t.Fatalf("last owner leaves, JSON: %d %s", res.StatusCode, res.Body)
		}
		// Two owners demote each other at once: one wins.
		c2, second := a.signedIn(t, "second@example.com")
		a.addMember(t, acme, second, org.RoleOwner)
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, x := range []struct {
			c      *apptest.Client
			target string
		}{{co, second.ID}, {c2, owner.ID}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := x.c.For(t).JSON("POST", a.Path("/orgs/acme/members/role"), `{"user_id":"`+x.target+`","role":"member"}`)
				codes[i] = res.StatusCode
			}()
		}
		wg.Wait()
		slices.Sort(codes)
		if codes[0] != http.StatusOK || codes[1] != http.StatusConflict {
			// The loser may also be refused as no longer an owner (403).
			if codes[0] != http.StatusOK || codes[1] != http.StatusForbidden {
				t.Fatalf("concurrent demotions: %v", codes)
			}
		}
		owners := 0
		for _, u := range []*store.User{owner, second} {
			if a.role(t, acme, u) == org.RoleOwner {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("%d owners after concurrent demotions", owners)
		}
	})
}

func TestInvitationFlow(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		co, _ := a.signedIn(t, "owner@example.com")
		acme := a.createOrg(t, co, "Acme", "acme")
		res := co.Post(a.Path("/orgs/acme/invitations"), url.Values{"email": {"New.Person@Example.com"}, "role": {"admin"}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("invite: %d %s", res.StatusCode, res.Body)
		}
		a.Flush(t)
		m := a.LastMail(t, "New.Person@Example.com")
		link := apptest.Link(t, m, a.Path("/invitations/accept"))
		tok := apptest.TokenOf(link)
		if a.Count(t, "sigra_org_invitations", "digest = ?", tok) != 0 {
			t.Fatal("the raw token is stored")
		}
		// The emailed GET shows a page and changes nothing.
		guest := a.Client(t)
		res = guest.Get(link)
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "Join Acme") || res.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("landing page: %d %s", res.StatusCode, res.Header.Get("Referrer-Policy"))
		}
		// Anonymous: the POST carries the invitation to the sign-in.
		res = guest.Post(a.Path("/invitations/accept"), url.Values{"token": {tok}, "next": {"sign_in"}})
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, a.Path("/login")+"?") || !strings.Contains(loc, url.QueryEscape(a.Path("/invitations/accept"))) {
			t.Fatalf("anonymous accept: %d %s", res.StatusCode, loc)
		}
		if strings.Contains(loc, tok) {
			t.Fatal("the token is put in the sign-in URL")
		}
		// The invitee has an account (unconfirmed) and signs in.
		ctx := context.Background()
		h, _ := a.Hasher.Hash(ctx, pw)
		invitee := &store.User{Email: "new.person@example.com", PasswordHash: h, CreatedAt: a.Clock.Now()}
		if err := a.Store.CreateUser(ctx, invitee); err != nil {
			t.Fatal(err)
		}
		guest.SignIn("new.person@example.com", pw)
		// The page without a token shows the carried invitation.
		if res := guest.Get(a.Path("/invitations/accept")); res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "Join Acme") {
			t.Fatalf("carried landing page: %d", res.StatusCode)
		}
		res = guest.Post(a.Path("/invitations/accept"), nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != a.Path("/orgs/acme")+"?notice=invitation_accepted" {
			t.Fatalf("accept: %d %s\n%s", res.StatusCode, res.Header.Get("Location"), res.Body)
		}
		if got := a.role(t, acme, invitee); got != org.RoleAdmin {
			t.Fatalf("invitee's role = %q", got)
		}
		if u := a.User(t, "new.person@example.com"); u.EmailConfirmedAt.IsZero() {
			t.Fatal("accepting did not confirm the invited address")
		}
		if res := guest.Get("/app/current"); res.Body != "org acme as admin" {
			t.Fatalf("active org after accept: %q", res.Body)
		}
		// Single use: the link is dead now.
		other := a.Client(t)
		if res := other.Get(link); res.StatusCode != http.StatusGone {
			t.Fatalf("used link: %d", res.StatusCode)
		}
		if got := a.orgEvents(t, acme); !slices.Contains(got, org.ActionInvitationAccept) || !slices.Contains(got, org.ActionInvitationSend) {
			t.Fatalf("audit: %v", got)
		}
	})
}

func TestInvitationBoundToAddress(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		co, _ := a.signedIn(t, "owner@example.com")
		acme := a.createOrg(t, co, "Acme", "acme")
		co.Post(a.Path("/orgs/acme/invitations"), url.Values{"email": {"invited@example.com"}})
		a.Flush(t)
		tok := apptest.TokenOf(apptest.Link(t, a.LastMail(t, "invited@example.com"), a.Path("/invitations/accept")))
		cw, wrong := a.signedIn(t, "someone-else@example.com")
		res := cw.Get(a.Path("/invitations/accept") + "?token=" + tok)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "another address") {
			t.Fatalf("landing as another address: %d", res.StatusCode)
		}
		res = cw.Post(a.Path("/invitations/accept"), url.Values{"token": {tok}})
		if res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "invited@example.com") {
			t.Fatalf("accept as another address: %d", res.StatusCode)
		}
		if a.role(t, acme, wrong) != "" {
			t.Fatal("another address joined")
		}
		// The invitation still works for its address.
		ci, invited := a.signedIn(t, "invited@example.com")
		if res := ci.Post(a.Path("/invitations/accept"), url.Values{"token": {tok}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("accept by the invited address: %d %s", res.StatusCode, res.Body)
		}
		if a.role(t, acme, invited) != org.RoleMember {
			t.Fatal("the invited address did not join")
		}
		// Garbage and unknown tokens are dead links.
		for _, bad := range []string{"nope", strings.Repeat("A", 43)} {
			if res := ci.Post(a.Path("/invitations/accept"), url.Values{"token": {bad}}); res.StatusCode != http.StatusGone {
				t.Errorf("token %q: %d", bad, res.StatusCode)
			}
		}
	})
}

func TestInvitationConcurrentAccept(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		co, _ := a.signedIn(t, "owner@example.com")
		acme := a.createOrg(t, co, "Acme", "acme")
		co.Post(a.Path("/orgs/acme/invitations"), url.Values{"email": {"invited@example.com"}, "role": {"admin"}})
		a.Flush(t)
		tok := apptest.TokenOf(apptest.Link(t, a.LastMail(t, "invited@example.com"), a.Path("/invitations/accept")))
		ci, invited := a.signedIn(t, "invited@example.com")
		const n = 6
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = ci.For(t).JSON("POST", a.Path("/invitations/accept"), `{"token":"`+tok+`"}`).StatusCode
			}()
		}
		wg.Wait()
		ok := 0
		for _, c := range codes {
			switch c {
			case http.StatusOK:
				ok++
			case http.StatusGone:
			default:
				t.Errorf("concurrent accept answered %d", c)
			}
		}
		if ok != 1 {
			t.Fatalf("%d accepts succeeded of %d: %v", ok, n, codes)
		}
		if a.role(t, acme, invited) != org.RoleAdmin {
			t.Fatal("not a member after the accepts")
		}
		accepts := 0
		for _, e := range a.orgEvents(t, acme) {
			if e == org.ActionInvitationAccept {
				accepts++
			}
		}
		if accepts != 1 {
			t.Fatalf("%d accept events", accepts)
		}
	})
}

func TestInvitationsManage(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		co, _ := a.signedIn(t, "owner@example.com")
		acme := a.createOrg(t, co, "Acme", "acme")
		member := a.CreateUser(t, "member@example.com", pw)
		a.addMember(t, acme, member, org.RoleMember)
		// Inviting an existing member answers as any invitation.
		resMember := co.JSON("POST", a.Path("/orgs/acme/invitations"), `{"email":"member@example.com"}`)
		resNew := co.JSON("POST", a.Path("/orgs/acme/invitations"), `{"email":"stranger@example.com"}`)
		if resMember.StatusCode != http.StatusOK || resNew.StatusCode != http.StatusOK {
			t.Fatalf("invites: %d %d", resMember.StatusCode, resNew.StatusCode)
		}
		if km, kn := keys(jsonBody(t, resMember)), keys(jsonBody(t, resNew)); !slices.Equal(km, kn) {
			t.Fatalf("answers differ: %v vs %v", km, kn)
		}
		// A second pending invitation to the same address is refused.
		if res := co.JSON("POST", a.Path("/orgs/acme/invitations"), `{"email":"STRANGER@example.com"}`); res.StatusCode != http.StatusConflict || errCode(t, res) != "already_invited" {
			t.Fatalf("duplicate: %d %s", res.StatusCode, res.Body)
		}
		if res := co.JSON("POST", a.Path("/orgs/acme/invitations"), `{"email":"not an address"}`); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad address: %d", res.StatusCode)
		}
		a.Flush(t)
		first := apptest.TokenOf(apptest.Link(t, a.LastMail(t, "stranger@example.com"), a.Path("/invitations/accept")))
		invs, _ := a.Store.PendingInvitations(context.Background(), acme.ID, a.Clock.Now())
		var id string
		for _, i := range invs {
			if i.EmailKey == store.NormalizeEmail("stranger@example.com") {
				id = i.ID
			}
		}
		// Resend: a new link, the old one dead.
		if res := co.Post(a.Path("/orgs/acme/invitations/resend"), url.Values{"id": {id}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("resend: %d %s", res.StatusCode, res.Body)
		}
		a.Flush(t)
		second := apptest.TokenOf(apptest.Link(t, a.LastMail(t, "stranger@example.com"), a.Path("/invitations/accept")))
		if second == first {
			t.Fatal("resend reused the token")
		}
		guest := a.Client(t)
		if res := guest.Get(a.Path("/invitations/accept") + "?token=" + first); res.StatusCode != http.StatusGone {
			t.Fatalf("old link after resend: %d", res.StatusCode)
		}
		if res := guest.Get(a.Path("/invitations/accept") + "?token=" + second); res.StatusCode != http.StatusOK {
			t.Fatalf("new link: %d", res.StatusCode)
		}
		// Revoke: the link dies.
		if res := co.Post(a.Path("/orgs/acme/invitations/revoke"), url.Values{"id": {id}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		if res := guest.Get(a.Path("/invitations/accept") + "?token=" + second); res.StatusCode != http.StatusGone {
			t.Fatalf("revoked link: %d", res.StatusCode)
		}
		if res := co.Post(a.Path("/orgs/acme/invitations/revoke"), url.Values{"id": {id}}); res.StatusCode != http.StatusNotFound {
			t.Fatalf("revoke twice: %d", res.StatusCode)
		}
		// The members page lists members and the pending invitation.
		page := co.Get(a.Path("/orgs/acme/members"))
		if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, "member@example.com") {
			t.Fatalf("members page: %d", page.StatusCode)
		}
	})
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestInvitationRateLimit(t *testing.T) {
	eachWith(t, options{org: func(c *org.Config) { c.InvitationLimit = 3 }}, func(t *testing.T, a *app) {
		co, _ := a.signedIn(t, "owner@example.com")
		a.createOrg(t, co, "Acme", "acme")
		for i := range 3 {
			if res := co.JSON("POST", a.Path("/orgs/acme/invitations"), `{"email":"p`+string(rune('a'+i))+`@example.com"}`); res.StatusCode != http.StatusOK {
				t.Fatalf("invite %d: %d", i, res.StatusCode)
			}
		}
		res := co.JSON("POST", a.Path("/orgs/acme/invitations"), `{"email":"px@example.com"}`)
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("past the limit: %d", res.StatusCode)
		}
		if n := a.Count(t, "sigra_org_invitations", "1=1"); n != 3 {
			t.Fatalf("%d invitations stored", n)
		}
	})
}

func TestRemoveMemberEndsAccess(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		co, _ := a.signedIn(t, "owner@example.com")
		acme := a.createOrg(t, co, "Acme", "acme")
		cm, mu := a.signedIn(t, "member@example.com")
		a.addMember(t, acme, mu, org.RoleMember)
		if res := cm.Post(a.Path("/orgs/switch"), url.Values{"org": {"acme"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("switch: %d", res.StatusCode)
		}
		if res := cm.Get("/app/current"); res.Body != "org acme as member" {
			t.Fatalf("before removal: %q", res.Body)
		}
		if res := co.Post(a.Path("/orgs/acme/members/remove"), url.Values{"user_id": {mu.ID}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("remove: %d %s", res.StatusCode, res.Body)
		}
		if n := a.Count(t, "sigra_sessions", "user_id = ? AND active_org <> ''", mu.ID); n != 0 {
			t.Fatalf("%d of the removed member's sessions keep the organization", n)
		}
		// The very next request has no organization.
		if res := cm.Get("/app/current"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("after removal, active route: %d %q", res.StatusCode, res.Body)
		}
		if res := cm.Get("/app/o/acme/projects"); res.StatusCode != http.StatusNotFound {
			t.Fatalf("after removal, slug route: %d", res.StatusCode)
		}
		a.Flush(t)
		if m := a.LastMail(t, "member@example.com"); !strings.Contains(m.Subject, "removed from Acme") {
			t.Fatalf("notice: %q", m.Subject)
		}
		if got := a.orgEvents(t, acme); !slices.Contains(got, org.ActionMemberRemove) {
			t.Fatalf("audit: %v", got)
		}
		// A member leaves by themselves.
		cl, lu := a.signedIn(t, "leaver@example.com")
		a.addMember(t, acme, lu, org.RoleMember)
		if res := cl.Post(a.Path("/orgs/acme/leave"), nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("leave: %d", res.StatusCode)
		}
		if a.role(t, acme, lu) != "" {
			t.Fatal("still a member after leaving")
		}
	})
}

func TestRenameKeepsOldSlug(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		co, _ := a.signedIn(t, "owner@example.com")
		a.createOrg(t, co, "Acme", "acme")
		cs, _ := a.signedIn(t, "stranger@example.com")
		if res := co.Post(a.Path("/orgs/acme/settings"), url.Values{"name": {"Acme Two"}, "slug": {"acme-two"}}); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != a.Path("/orgs/acme-two")+"?notice=org_updated" {
			t.Fatalf("rename: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		res := co.Get("/app/o/acme/projects?x=1")
		if res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != "/app/o/acme-two/projects?x=1" {
			t.Fatalf("old slug: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		// Not to a non-member: the old slug is not found for them.
		if res := cs.Get("/app/o/acme/projects"); res.StatusCode != http.StatusNotFound {
			t.Fatalf("old slug, stranger: %d", res.StatusCode)
		}
		// Nobody else can take it while it redirects.
		if res := cs.Post(a.Path("/orgs"), url.Values{"name": {"Mine"}, "slug": {"acme"}}); res.StatusCode != http.StatusConflict {
			t.Fatalf("taking the old slug: %d", res.StatusCode)
		}
		// After 90 days it is free (a new session: the old one expired).
		a.Clock.Advance(store.SlugRedirectFor + time.Hour)
		co = a.Client(t)
		co.SignIn("owner@example.com", pw)
		if res := co.Get("/app/o/acme/projects"); res.StatusCode != http.StatusNotFound {
			t.Fatalf("expired old slug: %d", res.StatusCode)
		}
	})
}

func TestTwoFactorPolicy(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		co, _ := a.signedIn(t, "owner@example.com")
		acme := a.createOrg(t, co, "Acme", "acme")
		cm, mu := a.signedIn(t, "member@example.com")
		a.addMember(t, acme, mu, org.RoleMember)
		// The owner signed in with one factor cannot require two.
		co.Post(a.Path("/sudo"), url.Values{"password": {pw}})
		res := co.JSON("POST", a.Path("/orgs/acme/policy"), `{"require_two_factor":true}`)
		if res.StatusCode != http.StatusConflict || errCode(t, res) != "two_factor_required" {
			t.Fatalf("policy without two factors: %d %s", res.StatusCode, res.Body)
		}
		if o, _ := a.Store.OrgByID(context.Background(), acme.ID); o.Policy.RequireTwoFactor {
			t.Fatal("the refused policy was stored")
		}
		// With the policy on, a member signed in with one factor is sent
		// to add a second and come back.
		if err := a.Store.SetOrgPolicy(context.Background(), acme.ID, store.OrgPolicy{RequireTwoFactor: true}, a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		res = cm.Get("/app/o/acme/projects")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), a.Path("/mfa/setup")+"?return_to=") {
			t.Fatalf("one factor under the policy: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if res := cm.JSON("GET", "/app/o/acme/projects", ""); res.StatusCode != http.StatusForbidden || errCode(t, res) != "aal2_required" {
			t.Fatalf("one factor under the policy, JSON: %d %s", res.StatusCode, res.Body)
		}
	})
}

func TestDeleteOrg(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		co, _ := a.signedIn(t, "owner@example.com")
		acme := a.createOrg(t, co, "Acme", "acme")
		cm, mu := a.signedIn(t, "admin@example.com")
		a.addMember(t, acme, mu, org.RoleAdmin)
		cm.Post(a.Path("/sudo"), url.Values{"password": {pw}})
		if res := cm.Post(a.Path("/orgs/acme/delete"), url.Values{"confirm_slug": {"acme"}}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("an admin deletes: %d", res.StatusCode)
		}
		co.Post(a.Path("/sudo"), url.Values{"password": {pw}})
		if res := co.Post(a.Path("/orgs/acme/delete"), url.Values{"confirm_slug": {"acm"}}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("wrong confirmation: %d", res.StatusCode)
		}
		if res := co.Post(a.Path("/orgs/acme/delete"), url.Values{"confirm_slug": {"acme"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("schedule: %d %s", res.StatusCode, res.Body)
		}
		o, _ := a.Store.OrgByID(context.Background(), acme.ID)
		if o.DeletionDueAt.IsZero() {
			t.Fatal("deletion not scheduled")
		}
		// Not due yet: nothing is deleted. Cancel, schedule again, run
		// the purge past the grace.
		if n, err := a.Orgs.PurgeDeleted(context.Background(), 10); err != nil || n != 0 {
			t.Fatalf("early purge: %d %v", n, err)
		}
		if res := co.Post(a.Path("/orgs/acme/delete/cancel"), nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("cancel: %d", res.StatusCode)
		}
		if o, _ := a.Store.OrgByID(context.Background(), acme.ID); !o.DeletionDueAt.IsZero() {
			t.Fatal("deletion not cancelled")
		}
		co.Post(a.Path("/orgs/acme/delete"), url.Values{"confirm_slug": {"acme"}})
		a.Clock.Advance(8 * 24 * time.Hour)
		if n, err := a.Orgs.PurgeDeleted(context.Background(), 10); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
		if _, err := a.Store.OrgByID(context.Background(), acme.ID); err == nil {
			t.Fatal("organization not deleted")
		}
		got := a.orgEvents(t, acme)
		for _, want := range []string{org.ActionDeleteSchedule, org.ActionDeleteCancel, org.ActionDeleteComplete} {
			if !slices.Contains(got, want) {
				t.Errorf("audit lacks %s: %v", want, got)
			}
		}
	})
}

func TestDeleteNeedsSudo(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		co, _ := a.signedIn(t, "owner@example.com")
		acme := a.createOrg(t, co, "Acme", "acme")
		a.Clock.Advance(15 * time.Minute) // past the sign-in's sudo window, within the idle timeout
		res := co.Post(a.Path("/orgs/acme/delete"), url.Values{"confirm_slug": {"acme"}})
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), a.Path("/sudo")) {
			t.Fatalf("delete without sudo: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if o, _ := a.Store.OrgByID(context.Background(), acme.ID); !o.DeletionDueAt.IsZero() {
			t.Fatal("scheduled without sudo")
		}
	})
}

// FuzzSlugFrom: whatever the name, the derived slug is empty or made of
// lower-case ASCII letters and digits in runs joined by single hyphens,
// at most 40 bytes.
func FuzzSlugFrom(f *testing.F) {
	for _, s := range []string{"Acme Corp", "  Déjà Vu, Inc. ", "R&D / 2026", "", "----", "ÅÄÖ", strings.Repeat("ab-", 30), "日本語", "a\x00b"} {
		f.Add(s)
	}
	form := regexp.MustCompile(`^(?:[a-z0-9]+(?:-[a-z0-9]+)*)?$`)
	f.Fuzz(func(t *testing.T, name string) {
		s := org.SlugFrom(name)
		if len(s) > 40 || !form.MatchString(s) {
			t.Fatalf("SlugFrom(%q) = %q", name, s)
		}
	})
}

func TestPurgeExpired(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		co, _ := a.signedIn(t, "owner@example.com")
		a.createOrg(t, co, "Acme", "acme")
		co.Post(a.Path("/orgs/acme/settings"), url.Values{"slug": {"acme-two"}})
		co.Post(a.Path("/orgs/acme-two/invitations"), url.Values{"email": {"old@example.com"}})
		ctx := context.Background()
		if s, i, err := a.Orgs.PurgeExpired(ctx); err != nil || s != 0 || i != 0 {
			t.Fatalf("nothing ended yet: %d slugs, %d invitations, %v", s, i, err)
		}
		// The invitation expires after 7 days and is kept 30 more; the
		// old slug redirects for 90 days.
		a.Clock.Advance(40 * 24 * time.Hour)
		if s, i, err := a.Orgs.PurgeExpired(ctx); err != nil || s != 0 || i != 1 {
			t.Fatalf("after 40 days: %d slugs, %d invitations, %v", s, i, err)
		}
		a.Clock.Advance(60 * 24 * time.Hour)
		if s, i, err := a.Orgs.PurgeExpired(ctx); err != nil || s != 1 || i != 0 {
			t.Fatalf("after 100 days: %d slugs, %d invitations, %v", s, i, err)
		}
		if n := a.Count(t, "sigra_org_slugs", "1=1"); n != 1 {
			t.Fatalf("%d slugs left, want the current one", n)
		}
	})
}
