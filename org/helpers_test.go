package org_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/org"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// pw is every test user's password.
const pw = "correct horse battery staple"

// app is a running test application with account, mfa and org, and
// routes of the application's own under organizations:
//
//	GET /app/current            RequireMember (the active organization)
//	GET /app/o/{org}/projects   RequireMember (by slug)
//	GET /app/o/{org}/billing    RequirePermission("billing:manage")
//	GET /app/o/{org}/admin      RequireRole("owner", "admin")
type app struct {
	*apptest.App
	Orgs *org.Orgs
}

type options struct {
	backend string
	org     func(c *org.Config)
}

func newApp(t *testing.T, o options) *app {
	t.Helper()
	x := &app{}
	opt := apptest.Options{Backend: o.backend, Packs: []ui.Pack{account.Pages(), mfa.Pages(), org.Pages()}}
	x.App = apptest.New(t, opt, func(a *apptest.App) {
		m, err := mfa.New(mfa.Config{Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, Keys: a.Keys, RateLimiter: a.Limiter})
		if err != nil {
			t.Fatal(err)
		}
		oc := org.Config{
			Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, RateLimiter: a.Limiter,
			Roles: map[string][]string{"billing": {"billing:manage", org.PermMembersRead}},
		}
		if o.org != nil {
			o.org(&oc)
		}
		orgs, err := org.New(oc)
		if err != nil {
			t.Fatal(err)
		}
		acc, err := account.New(account.Config{
			Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Passwords: a.Hasher, Mail: a.Outbox, RateLimiter: a.Limiter,
			SecondFactor: m, Sections: []ui.Section{m.Section(), orgs.Section()},
		})
		if err != nil {
			t.Fatal(err)
		}
		acc.Mount(a.Mux)
		m.Mount(a.Mux)
		orgs.Mount(a.Mux)
		show := func(w http.ResponseWriter, r *http.Request) {
			tn := org.From(r.Context())
			fmt.Fprintf(w, "org %s as %s", tn.Org.Slug, tn.Role)
		}
		a.Mux.Handle("GET /app/current", orgs.RequireMember(http.HandlerFunc(show)))
		a.Mux.Handle("GET /app/o/{org}/projects", orgs.RequireMember(http.HandlerFunc(show)))
		a.Mux.Handle("GET /app/o/{org}/billing", orgs.RequirePermission("billing:manage")(http.HandlerFunc(show)))
		a.Mux.Handle("GET /app/o/{org}/admin", orgs.RequireRole(org.RoleOwner, org.RoleAdmin)(http.HandlerFunc(show)))
		x.Orgs = orgs
	})
	return x
}

// each runs f on every backend, in parallel.
func each(t *testing.T, f func(t *testing.T, a *app)) {
	t.Helper()
	eachWith(t, options{}, f)
}

func eachWith(t *testing.T, o options, f func(t *testing.T, a *app)) {
	t.Helper()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			o := o
			o.backend = b
			f(t, newApp(t, o))
		})
	}
}

// signedIn returns a client signed in as a new confirmed user.
func (a *app) signedIn(t *testing.T, email string) (*apptest.Client, *store.User) {
	t.Helper()
	u := a.CreateUser(t, email, pw)
	c := a.Client(t)
	c.SignIn(email, pw)
	return c, u
}

// createOrg creates an organization through the form and returns it.
func (a *app) createOrg(t *testing.T, c *apptest.Client, name, slug string) *store.Org {
	t.Helper()
	res := c.Post(a.Path("/orgs"), url.Values{"name": {name}, "slug": {slug}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create %s: %d\n%s", slug, res.StatusCode, res.Body)
	}
	o, _, err := a.Store.OrgBySlug(context.Background(), slug, a.Clock.Now())
	if err != nil {
		t.Fatalf("created org %s: %v", slug, err)
	}
	return o
}

// addMember makes u a member of o with role, in the store.
func (a *app) addMember(t *testing.T, o *store.Org, u *store.User, role string) {
	t.Helper()
	if err := a.Store.AddMember(context.Background(), &store.Membership{OrgID: o.ID, UserID: u.ID, Role: role}); err != nil {
		t.Fatal(err)
	}
}

// role returns u's role in o, or "" when not a member.
func (a *app) role(t *testing.T, o *store.Org, u *store.User) string {
	t.Helper()
	m, err := a.Store.Membership(context.Background(), o.ID, u.ID)
	if err != nil {
		return ""
	}
	return m.Role
}

// jsonBody decodes a JSON response.
func jsonBody(t *testing.T, res *apptest.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.NewDecoder(strings.NewReader(res.Body)).Decode(&m); err != nil && err != io.EOF {
		t.Fatalf("JSON body: %v\n%s", err, res.Body)
	}
	return m
}

// errCode is the error code of a JSON error answer.
func errCode(t *testing.T, res *apptest.Response) string {
	t.Helper()
	e, _ := jsonBody(t, res)["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// orgEvents returns the actions of the audit rows of o.
func (a *app) orgEvents(t *testing.T, o *store.Org) []string {
	t.Helper()
	evs, _, err := a.Store.QueryAudit(context.Background(), store.AuditQuery{OrgID: o.ID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.OrgID != o.ID {
			t.Errorf("event %s of org %s carries OrgID %q", e.Action, o.ID, e.OrgID)
		}
		out = append(out, e.Action)
	}
	return out
}
