package org_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/org"
	"github.com/sigra-go/sigra/store"
)

// readCounter counts the reads of organizations and memberships that
// reach the store.
type readCounter struct {
	org.Store
	mu    sync.Mutex
	reads []string
}

func (c *readCounter) read(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads = append(c.reads, name)
}

// take returns the reads since the last take and forgets them.
func (c *readCounter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reads
	c.reads = nil
	return r
}

func (c *readCounter) OrgByID(ctx context.Context, id string) (*store.Org, error) {
	c.read("OrgByID")
	return c.Store.OrgByID(ctx, id)
}

func (c *readCounter) OrgBySlug(ctx context.Context, slug string, now time.Time) (*store.Org, bool, error) {
	c.read("OrgBySlug")
	return c.Store.OrgBySlug(ctx, slug, now)
}

func (c *readCounter) UserOrgBySlug(ctx context.Context, userID, slug string, now time.Time) (*store.UserOrg, bool, error) {
	c.read("UserOrgBySlug")
	return c.Store.UserOrgBySlug(ctx, userID, slug, now)
}

func (c *readCounter) UserOrg(ctx context.Context, userID, id string) (*store.UserOrg, error) {
	c.read("UserOrg")
	return c.Store.UserOrg(ctx, userID, id)
}

func (c *readCounter) Membership(ctx context.Context, orgID, userID string) (*store.Membership, error) {
	c.read("Membership")
	return c.Store.Membership(ctx, orgID, userID)
}

func (c *readCounter) UserOrgs(ctx context.Context, userID string) ([]*store.UserOrg, error) {
	c.read("UserOrgs")
	return c.Store.UserOrgs(ctx, userID)
}

// newCountingApp builds the test application on backend b with the
// organizations' store behind a readCounter, and signs in two users:
// owner@example.com (co) and stranger@example.com (cs).
func newCountingApp(t *testing.T, b string) (a *app, rc *readCounter, co, cs *apptest.Client) {
	t.Helper()
	a = newApp(t, options{backend: b, org: func(c *org.Config) {
		rc = &readCounter{Store: c.Store}
		c.Store = rc
	}})
	co, _ = a.signedIn(t, "owner@example.com")
	cs, _ = a.signedIn(t, "stranger@example.com")
	return a, rc, co, cs
}

// step runs one request (do) and checks its status and that the reads of
// organizations and memberships it made are want, in order.
func (c *readCounter) step(t *testing.T, what string, do func() *apptest.Response, status int, want ...string) *apptest.Response {
	t.Helper()
	c.take()
	res := do()
	if res.StatusCode != status {
		t.Errorf("%s: got %d, want %d\n%.300s", what, res.StatusCode, status, res.Body)
	}
	if reads := c.take(); !slices.Equal(reads, want) {
		t.Errorf("%s: store reads: got %q, want %q", what, reads, want)
	}
	return res
}

// TestRequireMemberOneRead: on a slug route the guard reads the
// organization and the membership in one store read, whatever it answers:
// the member's page, the same 404 for a stranger and for an unknown slug,
// the old slug's redirect for a member's GET and 404 for other methods.
func TestRequireMemberOneRead(t *testing.T) {
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			a, rc, co, cs := newCountingApp(t, b)
			a.createOrg(t, co, "Acme", "acme")

			// step runs one request and checks its answer and that the
			// guard read the store once.
			step := func(what string, do func() *apptest.Response, status int) *apptest.Response {
				t.Helper()
				return rc.step(t, what, do, status, "UserOrgBySlug")
			}

			res := step("member", func() *apptest.Response { return co.Get("/app/o/acme/projects") }, http.StatusOK)
			if res.Body != "org acme as owner" {
				t.Errorf("member: got %q, want %q", res.Body, "org acme as owner")
			}
			stranger := step("stranger", func() *apptest.Response { return cs.JSON("GET", "/app/o/acme/projects", "") }, http.StatusNotFound)
			unknown := step("unknown slug", func() *apptest.Response { return cs.JSON("GET", "/app/o/nobody/projects", "") }, http.StatusNotFound)
			if stranger.Body != unknown.Body || errCode(t, stranger) != "not_found" {
				t.Errorf("404 bodies: stranger %s, unknown slug %s, want the same not_found", stranger.Body, unknown.Body)
			}

			if res := co.Post(a.Path("/orgs/acme/settings"), url.Values{"name": {"Acme Two"}, "slug": {"acme-two"}}); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("rename: %d %s", res.StatusCode, res.Body)
			}
			res = step("old slug, member", func() *apptest.Response { return co.Get("/app/o/acme/projects?x=1") }, http.StatusPermanentRedirect)
			if got := res.Header.Get("Location"); got != "/app/o/acme-two/projects?x=1" {
				t.Errorf("old slug, member: Location %q, want /app/o/acme-two/projects?x=1", got)
			}
			step("old slug, stranger", func() *apptest.Response { return cs.Get("/app/o/acme/projects") }, http.StatusNotFound)
			step("old slug, member's POST", func() *apptest.Response {
				return co.Post(a.Path("/orgs/acme/settings"), url.Values{"name": {"Acme Three"}})
			}, http.StatusNotFound)
			step("new slug, member", func() *apptest.Response { return co.Get("/app/o/acme-two/projects") }, http.StatusOK)
		})
	}
}

// TestActiveOrgOneRead: on a route without {org} the guard reads the
// session's active organization and the membership in one store read, and
// a switch to an organization reads one per way of naming it (its ID,
// then its slug), for a member and a stranger alike.
func TestActiveOrgOneRead(t *testing.T) {
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			a, rc, co, cs := newCountingApp(t, b)
			acme := a.createOrg(t, co, "Acme", "acme")
			a.createOrg(t, co, "Beta", "beta")

			switchTo := func(c *apptest.Client, ref string) func() *apptest.Response {
				return func() *apptest.Response { return c.Post(a.Path("/orgs/switch"), url.Values{"org": {ref}}) }
			}

			res := rc.step(t, "active org", func() *apptest.Response { return co.Get("/app/current") }, http.StatusOK, "UserOrg")
			if res.Body != "org beta as owner" {
				t.Errorf("active org: got %q, want %q", res.Body, "org beta as owner")
			}
			rc.step(t, "switch by ID", switchTo(co, acme.ID), http.StatusSeeOther, "UserOrg")
			res = rc.step(t, "active org after the switch", func() *apptest.Response { return co.Get("/app/current") }, http.StatusOK, "UserOrg")
			if res.Body != "org acme as owner" {
				t.Errorf("active org after the switch: got %q, want %q", res.Body, "org acme as owner")
			}
			rc.step(t, "switch by slug", switchTo(co, "beta"), http.StatusSeeOther, "UserOrg", "UserOrgBySlug")
			rc.step(t, "stranger's switch by ID", switchTo(cs, acme.ID), http.StatusNotFound, "UserOrg", "UserOrgBySlug")
			rc.step(t, "stranger's switch by slug", switchTo(cs, "acme"), http.StatusNotFound, "UserOrg", "UserOrgBySlug")
			rc.step(t, "stranger without an active org", func() *apptest.Response { return cs.JSON("GET", "/app/current", "") }, http.StatusConflict)
		})
	}
}
