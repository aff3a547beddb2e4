package apitoken_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/store"
)

// TestServiceAccount: an organization's admin creates a service account;
// its client credentials get a short-lived access token at the token
// endpoint, which signs requests in as the account, in its organization,
// with the scopes asked for.
func TestServiceAccount(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, owner := a.signedIn(t, "owner@example.com")
		o := a.newOrg(t, "acme", owner)
		id, secret := a.createAccount(t, c, o.ID, "deployer", "notes:read notes:write")
		if !strings.HasPrefix(secret, "sigracs_") {
			t.Errorf("secret %q: want the sigracs_ prefix", secret)
		}
		if n := a.Count(t, "sigra_service_account_secrets", ""); n != 1 {
			t.Fatalf("secrets stored: %d", n)
		}
		if n := a.Count(t, "sigra_audit_log", "action = ? AND org_id = ?", "apitoken.service_account.create", o.ID); n != 1 {
			t.Errorf("create rows in the organization: %d", n)
		}

		tok := a.accessToken(t, id, secret, "")
		w := a.whoami(t, tok)
		if w.ID != id || !w.ServiceAccount || w.Org != o.ID || w.Email != "" {
			t.Errorf("whoami: got %+v, want the service account in acme", w)
		}
		if !slices.Equal(w.Scopes, []string{"notes:read", "notes:write"}) {
			t.Errorf("scopes: %q", w.Scopes)
		}
		wantStatus(t, "write", a.bearer(t, "POST", "/api/notes", tok), http.StatusOK)

		// A narrower token, by the scope parameter.
		ro := a.accessToken(t, id, secret, "notes:read")
		wantStatus(t, "read-only write", a.bearer(t, "POST", "/api/notes", ro), http.StatusForbidden)

		// The access token is short-lived.
		a.Clock.Advance(15*time.Minute + time.Second)
		wantStatus(t, "expired access token", a.bearer(t, "GET", "/api/whoami", tok), http.StatusUnauthorized)

		// Refusals, RFC 6749 style.
		for _, tc := range []struct {
			name, id, secret, scope string
			status                  int
			code                    string
		}{
			{"wrong secret", id, strings.Replace(secret, secret[10:11], flipS(secret[10:11]), 1), "", http.StatusUnauthorized, "invalid_client"},
			{"unknown client", store.NewID(), secret, "", http.StatusUnauthorized, "invalid_client"},
			{"a personal token as secret", id, "sigrapat_" + secret[len("sigracs_"):], "", http.StatusUnauthorized, "invalid_client"},
			{"scope beyond the account", id, secret, "admin", http.StatusBadRequest, "invalid_scope"},
			{"undeclared scope", id, secret, "root", http.StatusBadRequest, "invalid_scope"},
		} {
			res := a.tokenRequest(t, tc.id, tc.secret, tc.scope)
			wantStatus(t, tc.name, res, tc.status)
			var e struct{ Error string }
			decode(t, res.Body, &e)
			if e.Error != tc.code {
				t.Errorf("%s: error %q, want %q", tc.name, e.Error, tc.code)
			}
		}
		res := a.Client(t).Do("POST", a.Path("/oauth/token"), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			strings.NewReader(url.Values{"grant_type": {"password"}, "client_id": {id}, "client_secret": {secret}}.Encode()))
		wantStatus(t, "password grant", res, http.StatusBadRequest)
		if !strings.Contains(res.Body, "unsupported_grant_type") {
			t.Errorf("password grant: %s", res.Body)
		}
		// Credentials in a JSON body work too.
		res = a.Client(t).Do("POST", a.Path("/oauth/token"), http.Header{"Content-Type": {"application/json"}},
			strings.NewReader(mustJSON(map[string]string{"grant_type": "client_credentials", "client_id": id, "client_secret": secret})))
		wantStatus(t, "JSON body", res, http.StatusOK)
		if n := a.audits(t, "apitoken.service_account.token", "success"); n != 3 {
			t.Errorf("token rows: %d, want 3", n)
		}

		// The page lists it, in HTML and JSON.
		page := c.Get(a.Path("/settings/service-accounts"))
		wantStatus(t, "page", page, http.StatusOK)
		if !strings.Contains(page.Body, "deployer") || !strings.Contains(page.Body, id) || strings.Contains(page.Body, secret) {
			t.Error("the page must list the account and its client ID, never its secret")
		}
		js := c.JSON("GET", a.Path("/settings/service-accounts"), "")
		if !strings.Contains(js.Body, `"client_id":"`+id+`"`) {
			t.Errorf("JSON list: %s", js.Body)
		}

		// Deleting it ends its secret and tokens at once (and needs sudo:
		// sign in again, a quarter of an hour passed).
		c = a.Client(t)
		c.SignIn("owner@example.com", pw)
		fresh := a.accessToken(t, id, secret, "")
		res = c.JSON("POST", a.Path("/settings/service-accounts/delete"), mustJSON(map[string]string{"org_id": o.ID, "client_id": id}))
		wantStatus(t, "delete", res, http.StatusOK)
		wantStatus(t, "deleted account's token", a.bearer(t, "GET", "/api/whoami", fresh), http.StatusUnauthorized)
		wantStatus(t, "deleted account's secret", a.tokenRequest(t, id, secret, ""), http.StatusUnauthorized)
	})
}

func flipS(s string) string {
	if s == "a" {
		return "b"
	}
	return "a"
}

// TestRotateOverlap: after a rotation both secrets work until the overlap
// ends; then only the new one.
func TestRotateOverlap(t *testing.T) {
	eachWith(t, options{cfg: func(c *apitokenConfig) { c.SecretOverlap = time.Hour }}, func(t *testing.T, a *app) {
		c, owner := a.signedIn(t, "owner@example.com")
		o := a.newOrg(t, "acme", owner)
		id, old := a.createAccount(t, c, o.ID, "deployer", "notes:read")
		res := c.JSON("POST", a.Path("/settings/service-accounts/rotate"), mustJSON(map[string]string{"org_id": o.ID, "client_id": id}))
		wantStatus(t, "rotate", res, http.StatusOK)
		var out struct {
			ClientSecret string    `json:"client_secret"`
			Until        time.Time `json:"previous_secrets_until"`
		}
		decode(t, res.Body, &out)
		if out.ClientSecret == "" || out.ClientSecret == old || !out.Until.Equal(a.Clock.Now().Add(time.Hour)) {
			t.Fatalf("rotate: %s", res.Body)
		}
		a.accessToken(t, id, old, "")
		a.accessToken(t, id, out.ClientSecret, "")
		a.Clock.Advance(59 * time.Minute)
		a.accessToken(t, id, old, "")
		a.Clock.Advance(time.Minute)
		wantStatus(t, "old secret after the overlap", a.tokenRequest(t, id, old, ""), http.StatusUnauthorized)
		a.accessToken(t, id, out.ClientSecret, "")
		if n := a.audits(t, "apitoken.service_account.token_failure", "failure"); n != 1 {
			t.Errorf("token failure rows: %d, want 1", n)
		}
	})
}

// TestServiceAccountCrossOrg: only admins of the owning organization
// manage its accounts; another organization's admin, a plain member and a
// stranger get 404 and change nothing; the application's own accounts
// need Config.CanManageApp.
func TestServiceAccountCrossOrg(t *testing.T) {
	admins := func(c *apitokenConfig) {
		c.CanManageApp = func(_ context.Context, u *sigra.User) bool { return u.Email == "root@example.com" }
	}
	eachWith(t, options{cfg: admins}, func(t *testing.T, a *app) {
		ca, alice := a.signedIn(t, "alice@example.com")
		cb, bob := a.signedIn(t, "bob@example.com")
		cm, member := a.signedIn(t, "member@example.com")
		acme := a.newOrg(t, "acme", alice)
		beta := a.newOrg(t, "beta", bob)
		if err := a.Store.AddMember(context.Background(), &store.Membership{OrgID: acme.ID, UserID: member.ID, Role: store.RoleMember}); err != nil {
			t.Fatal(err)
		}
		id, secret := a.createAccount(t, ca, acme.ID, "deployer", "notes:read")

		type attempt struct {
			who  string
			body map[string]string
		}
		clients := map[string]*apptest.Client{"bob": cb, "member": cm}
		for _, at := range []attempt{
			{"bob", map[string]string{"org_id": beta.ID, "client_id": id}},    // his org, their account
			{"bob", map[string]string{"org_id": acme.ID, "client_id": id}},    // their org
			{"member", map[string]string{"org_id": acme.ID, "client_id": id}}, // not an admin
			{"member", map[string]string{"org_id": "", "client_id": id}},      // the application's
		} {
			for _, path := range []string{"/settings/service-accounts/rotate", "/settings/service-accounts/delete"} {
				res := clients[at.who].JSON("POST", a.Path(path), mustJSON(at.body))
				wantStatus(t, at.who+" "+path+" "+at.body["org_id"], res, http.StatusNotFound)
			}
		}
		// Creating in an organization one does not administer.
		res := cm.JSON("POST", a.Path("/settings/service-accounts"), mustJSON(map[string]string{"org_id": acme.ID, "name": "x"}))
		wantStatus(t, "member creates", res, http.StatusNotFound)
		res = cb.JSON("POST", a.Path("/settings/service-accounts"), mustJSON(map[string]string{"org_id": "", "name": "x"}))
		wantStatus(t, "bob creates an application account", res, http.StatusNotFound)
		if n := a.Count(t, "sigra_service_accounts", ""); n != 1 {
			t.Errorf("accounts: %d, want 1", n)
		}
		a.accessToken(t, id, secret, "") // untouched
		// Bob's page shows beta only; the member's page nothing.
		var page struct {
			Owners []struct {
				OrgID    string `json:"org_id"`
				Accounts []struct {
					ID string `json:"client_id"`
				} `json:"service_accounts"`
			} `json:"owners"`
		}
		decode(t, cb.JSON("GET", a.Path("/settings/service-accounts"), "").Body, &page)
		if len(page.Owners) != 1 || page.Owners[0].OrgID != beta.ID || len(page.Owners[0].Accounts) != 0 {
			t.Errorf("bob's page: %+v", page)
		}
		decode(t, cm.JSON("GET", a.Path("/settings/service-accounts"), "").Body, &page)
		if len(page.Owners) != 0 {
			t.Errorf("the member's page: %+v", page)
		}

		// The application's accounts: root manages them.
		a.CreateUser(t, "root@example.com", pw)
		cr := a.Client(t)
		cr.SignIn("root@example.com", pw)
		appID, appSecret := a.createAccount(t, cr, "", "cron", "admin")
		w := a.whoami(t, a.accessToken(t, appID, appSecret, ""))
		if !w.ServiceAccount || w.Org != "" {
			t.Errorf("the application's account: %+v", w)
		}
		// Alice (acme's owner) cannot reach it through her organization.
		res = ca.JSON("POST", a.Path("/settings/service-accounts/delete"), mustJSON(map[string]string{"org_id": acme.ID, "client_id": appID}))
		wantStatus(t, "alice deletes the application's account through acme", res, http.StatusNotFound)
	})
}

// TestServiceAccountBadInput: refused input is 400 with a field and stores
// nothing.
func TestServiceAccountBadInput(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, owner := a.signedIn(t, "owner@example.com")
		o := a.newOrg(t, "acme", owner)
		for _, tc := range []struct{ name, body, code, field string }{
			{"no name", mustJSON(map[string]string{"org_id": o.ID}), "invalid_input", "name"},
			{"unknown scope", mustJSON(map[string]string{"org_id": o.ID, "name": "x", "scopes": "root"}), "invalid_input", "scopes"},
			{"unknown field", `{"org_id":"` + o.ID + `","name":"x","secret":"y"}`, "unknown_field", "secret"},
		} {
			res := c.JSON("POST", a.Path("/settings/service-accounts"), tc.body)
			wantStatus(t, tc.name, res, http.StatusBadRequest)
			if code, fields := errorCode(t, res.Body); code != tc.code || fields[tc.field] == "" {
				t.Errorf("%s: %s", tc.name, res.Body)
			}
		}
		if n := a.Count(t, "sigra_service_accounts", ""); n != 0 {
			t.Errorf("refused input stored %d accounts", n)
		}
	})
}

// TestServiceAccountForms: the pages' forms create, rotate and delete an
// account, showing each secret once.
func TestServiceAccountForms(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, owner := a.signedIn(t, "owner@example.com")
		o := a.newOrg(t, "acme", owner)
		page := c.Get(a.Path("/settings/service-accounts"))
		wantStatus(t, "page", page, http.StatusOK)
		if !strings.Contains(page.Body, "Org acme") || !strings.Contains(page.Body, "No service accounts yet.") {
			t.Fatalf("the page does not offer acme:\n%s", page.Body)
		}
		res := c.Post(a.Path("/settings/service-accounts"), url.Values{"org_id": {o.ID}, "name": {"ci"}, "scope:notes:read": {"1"}})
		wantStatus(t, "create", res, http.StatusCreated)
		if !strings.Contains(res.Body, "sigracs_") || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("the created page shows no secret, or may be cached:\n%s", res.Body)
		}
		sas, err := a.St.ServiceAccounts(context.Background(), o.ID)
		if err != nil || len(sas) != 1 || !slices.Equal(sas[0].Scopes, []string{"notes:read"}) {
			t.Fatalf("stored accounts: %v %v", sas, err)
		}
		res = c.Post(a.Path("/settings/service-accounts/rotate"), url.Values{"org_id": {o.ID}, "client_id": {sas[0].ID}})
		wantStatus(t, "rotate", res, http.StatusOK)
		if !strings.Contains(res.Body, "previous secret keeps working") {
			t.Errorf("the rotated page does not say the previous secret still works:\n%s", res.Body)
		}
		if page := c.Get(a.Path("/settings/service-accounts")); !strings.Contains(page.Body, "Previous secret works until") {
			t.Error("the list does not show the previous secret's end")
		}
		res = c.Post(a.Path("/settings/service-accounts/delete"), url.Values{"org_id": {o.ID}, "client_id": {sas[0].ID}})
		wantStatus(t, "delete", res, http.StatusSeeOther)
		if n := a.Count(t, "sigra_service_accounts", ""); n != 0 {
			t.Errorf("accounts after delete: %d", n)
		}
		if n := a.Count(t, "sigra_audit_log", "action = ? AND org_id = ?", "apitoken.service_account.delete", o.ID); n != 1 {
			t.Errorf("delete rows: %d", n)
		}
	})
}
