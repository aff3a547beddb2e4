package admin_test

import (
	"net/http"
	"testing"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/store"
)

// TestOrgLens: the owners and admins of an organization see its members
// only, and take the safe actions only; everything else answers 404 (or
// 403 on a member they may not act on), as a table over callers, targets
// and routes. A refused request changes nothing.
func TestOrgLens(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		ownerC, owner := a.signedIn(t, "owner@example.com")
		orgAdminC, orgAdmin := a.signedIn(t, "org-admin@example.com")
		memberC, member := a.signedIn(t, "member@example.com")
		outsiderC, outsider := a.signedIn(t, "outsider@example.com")
		platformC, platform := a.admin(t, "root@example.com")
		_, peer := a.signedIn(t, "peer-admin@example.com")
		acme := a.org(t, "acme", owner)
		a.member(t, acme, orgAdmin, store.RoleAdmin)
		a.member(t, acme, member, store.RoleMember)
		a.member(t, acme, peer, store.RoleAdmin)
		a.member(t, acme, platform, store.RoleMember)
		other := a.org(t, "other", outsider)
		unconfirmed := &store.User{Email: "new@example.com", CreatedAt: a.Clock.Now()}
		if err := a.St.CreateUser(t.Context(), unconfirmed); err != nil {
			t.Fatal(err)
		}
		a.member(t, acme, unconfirmed, store.RoleMember)
		_ = memberC

		type want struct{ list, detail, revoke, confirm int }
		ok, nf, forbid, conflict := http.StatusOK, http.StatusNotFound, http.StatusForbidden, http.StatusConflict
		cases := []struct {
			name   string
			c      *apptest.Client
			org    *store.Org
			target *store.User
			want   want
		}{
			{"org admin on a member", orgAdminC, acme, member, want{ok, ok, ok, conflict}},
			{"org admin on an unconfirmed member", orgAdminC, acme, unconfirmed, want{ok, ok, ok, ok}},
			{"org admin on the owner", orgAdminC, acme, owner, want{ok, ok, forbid, conflict}},
			{"org admin on another org admin", orgAdminC, acme, peer, want{ok, ok, forbid, conflict}},
			{"org admin on a platform admin", orgAdminC, acme, platform, want{ok, ok, forbid, conflict}},
			{"owner on an org admin", ownerC, acme, peer, want{ok, ok, ok, conflict}},
			{"org admin on a user outside the org", orgAdminC, acme, outsider, want{ok, nf, nf, nf}},
			{"org admin through another org", orgAdminC, other, outsider, want{nf, nf, nf, nf}},
			{"member", memberC, acme, orgAdmin, want{nf, nf, nf, nf}},
			{"outsider", outsiderC, acme, member, want{nf, nf, nf, nf}},
			{"platform admin, a plain member of the org", platformC, acme, member, want{nf, nf, nf, nf}},
			{"anonymous", a.Client(t), acme, member, want{nf, nf, nf, nf}},
		}
		for _, c := range cases {
			base := "/admin/orgs/" + c.org.Slug + "/users"
			before := a.auditCount(t)
			sessions := a.liveSessions(t, c.target)
			check := func(what string, res *apptest.Response, want int) {
				t.Helper()
				if res.StatusCode != want {
					t.Errorf("%s: %s: got %d, want %d\n%s", c.name, what, res.StatusCode, want, res.Body)
				}
			}
			check("list", c.c.JSON("GET", a.Path(base), ""), c.want.list)
			check("detail", c.c.JSON("GET", a.Path(base+"/"+c.target.ID), ""), c.want.detail)
			check("revoke-all", c.c.JSON("POST", a.Path(base+"/"+c.target.ID+"/sessions/revoke-all"), `{}`), c.want.revoke)
			check("confirmation", c.c.JSON("POST", a.Path(base+"/"+c.target.ID+"/confirmation"), `{}`), c.want.confirm)
			wrote := c.want.revoke == ok || c.want.confirm == ok
			if n := a.auditCount(t); !wrote && n != before {
				t.Errorf("%s: refused requests wrote %d audit rows", c.name, n-before)
			}
			if c.want.revoke != ok && a.liveSessions(t, c.target) != sessions {
				t.Errorf("%s: a refused revoke-all signed the target out", c.name)
			}
		}
		// The list holds the organization's members only.
		res := orgAdminC.JSON("GET", a.Path("/admin/orgs/acme/users"), "")
		users, _ := jsonBody(t, res)["users"].([]any)
		if len(users) != 6 {
			t.Errorf("the lens's list: got %d users, want the 6 members of acme", len(users))
		}
		for _, u := range users {
			if e := u.(map[string]any)["email"]; e == outsider.Email {
				t.Error("the lens's list shows a user outside the organization")
			}
		}
		// The lens takes the organization's ID as well as its slug, for its
		// managers only.
		for _, c := range []struct {
			name string
			c    *apptest.Client
			want int
		}{{"org admin", orgAdminC, http.StatusOK}, {"member", memberC, http.StatusNotFound}, {"outsider", outsiderC, http.StatusNotFound}} {
			res := c.c.JSON("GET", a.Path("/admin/orgs/"+acme.ID+"/users"), "")
			if res.StatusCode != c.want {
				t.Errorf("%s on the lens by ID: got %d, want %d\n%s", c.name, res.StatusCode, c.want, res.Body)
			}
			if users, _ := jsonBody(t, res)["users"].([]any); c.want == http.StatusOK && len(users) != 6 {
				t.Errorf("%s on the lens by ID: got %d users, want the 6 members of acme", c.name, len(users))
			}
		}
		// The console's own routes stay closed to organization managers.
		if res := ownerC.JSON("GET", a.Path("/admin/users"), ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("owner on the console's list: got %d, want 404", res.StatusCode)
		}
		// Lens actions are audited in the organization, the manager as actor.
		evs, _, err := a.St.SearchAudit(t.Context(), store.AuditSearch{OrgID: acme.ID, Action: audit.ActionSessionRevokeAll})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 3 {
			t.Errorf("revoke-all rows in acme: got %d, want 3", len(evs))
		}
		for _, e := range evs {
			if e.ActorID != orgAdmin.ID && e.ActorID != owner.ID {
				t.Errorf("revoke-all row: actor %s, want the organization's manager", e.ActorID)
			}
		}
	})
}
