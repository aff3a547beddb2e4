package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// pw is every test user's password.
const pw = "correct horse battery staple"

// app is a running test application with account and the console.
type app struct {
	*apptest.App
	Console *admin.Console
	// St is the store as the console sees it.
	St admin.Store
}

func newApp(t *testing.T, backend string) *app {
	t.Helper()
	x := &app{}
	opt := apptest.Options{Backend: backend, Packs: []ui.Pack{account.Pages(), admin.Pages()}}
	x.App = apptest.New(t, opt, func(a *apptest.App) {
		st, ok := a.Store.(admin.Store)
		if !ok {
			t.Fatalf("the %s store does not implement admin.Store", backend)
		}
		c, err := admin.New(admin.Config{Store: st, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, RateLimiter: a.Limiter, PasskeyRPID: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		acc, err := account.New(account.Config{Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Passwords: a.Hasher, Mail: a.Outbox, RateLimiter: a.Limiter})
		if err != nil {
			t.Fatal(err)
		}
		acc.Mount(a.Mux)
		c.Mount(a.Mux)
		x.Console, x.St = c, st
	})
	return x
}

// each runs f on every backend, in parallel.
func each(t *testing.T, f func(t *testing.T, a *app)) {
	t.Helper()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			f(t, newApp(t, b))
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

// admin returns a client signed in as a new administrator.
func (a *app) admin(t *testing.T, email string) (*apptest.Client, *store.User) {
	t.Helper()
	u := a.CreateUser(t, email, pw)
	if err := a.St.GrantAdmin(context.Background(), u.ID, "", a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	c := a.Client(t)
	c.SignIn(email, pw)
	return c, u
}

// org creates an organization owned by owner.
func (a *app) org(t *testing.T, slug string, owner *store.User) *store.Org {
	t.Helper()
	o := &store.Org{Name: "Org " + slug, Slug: slug, CreatedBy: owner.ID, CreatedAt: a.Clock.Now()}
	if err := a.St.CreateOrg(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

// member makes u a member of o with role.
func (a *app) member(t *testing.T, o *store.Org, u *store.User, role string) {
	t.Helper()
	if err := a.St.AddMember(context.Background(), &store.Membership{OrgID: o.ID, UserID: u.ID, Role: role}); err != nil {
		t.Fatal(err)
	}
}

// reload reads u again.
func (a *app) reload(t *testing.T, u *store.User) *store.User {
	t.Helper()
	got, err := a.St.UserByID(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("user %s: %v", u.Email, err)
	}
	return got
}

// liveSessions counts u's live sessions.
func (a *app) liveSessions(t *testing.T, u *store.User) int {
	t.Helper()
	ss, err := a.St.UserSessions(context.Background(), u.ID, a.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return len(ss)
}

// events returns the actions of the audit rows whose subject is u, newest
// first, checking that actor is their actor.
func (a *app) events(t *testing.T, u *store.User, actor string) []string {
	t.Helper()
	evs, _, err := a.St.SearchAudit(context.Background(), store.AuditSearch{SubjectID: u.ID, ActorID: actor})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Action)
	}
	return out
}

// auditCount is the number of audit rows.
func (a *app) auditCount(t *testing.T) int {
	t.Helper()
	return a.Count(t, "sigra_audit_log", "1=1")
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

// errFields are the field messages of a JSON error answer.
func errFields(t *testing.T, res *apptest.Response) map[string]any {
	t.Helper()
	e, _ := jsonBody(t, res)["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	return f
}
