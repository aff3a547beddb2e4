package kit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/apitoken"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/jwtauth"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/passkey"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// startAll builds a kit with every feature on backend, and the
// impersonation routes of apptest (what the admin feature adds).
func startAll(t *testing.T, backend string) (*apptest.App, *kit.Kit) {
	t.Helper()
	key, err := jwtauth.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	var k *kit.Kit
	a := apptest.Host(t, func(a *apptest.App) http.Handler {
		st, path := apptest.OpenStore(t, backend)
		cfg := kit.Config{
			Store:     st.(kit.Store),
			Keys:      apptest.NewKey("k1"),
			Passwords: cheap,
			Packs:     []ui.Pack{apptest.ImpersonationPack()},
			Passkeys:  &passkey.Config{},
			JWT:       &jwtauth.Config{Keys: []jwtauth.Key{key}},
			APITokens: &apitoken.Config{},
			OAuth: oauth.Config{Providers: []oauth.Provider{
				oauth.OIDC("local", "Local ID", "https://id.example.com", "client", "secret"),
			}},
		}
		cfg.Site.BaseURL = a.URL
		cfg.Site.Now = a.Clock.Now
		if k, err = kit.New(cfg); err != nil {
			t.Fatalf("kit.New: %v", err)
		}
		a.Site, a.Sessions, a.UI, a.Guard, a.Limiter = k.Site, k.Sessions, k.UI, k.Guard, k.Limiter
		a.Outbox, a.Mailbox, a.Hasher = k.Outbox, k.Mailbox, k.Hasher
		a.Store, a.DBPath = st, path
		if backend == "postgres" {
			a.Backend = "postgres"
		}
		apptest.MountImpersonation(k.Mux, k.Site, st, k.Sessions, k.Guard)
		return k.Handler()
	})
	return a, k
}

// TestImpersonationRefusals drives every action an impersonator may never
// take, over HTTP in an impersonated session, with every feature mounted:
// each is refused with 403 "impersonation_forbidden" and changes nothing
// in the database; ordinary pages still work, show the banner, and the
// audit rows written meanwhile carry both the user and the admin.
func TestImpersonationRefusals(t *testing.T) {
	t.Parallel()
	for _, backend := range apptest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a, _ := startAll(t, backend)
			admin := a.CreateUser(t, "admin@example.com", "plum-otter-lantern-42")
			user := a.CreateUser(t, "user@example.com", "quiet-harbor-mango-77")
			c := a.Client(t)
			c.SignIn(admin.Email, "plum-otter-lantern-42")
			c.Impersonate(t, user.ID)
			if _, email, _ := c.Whoami(); email != user.Email {
				t.Fatalf("impersonating: the session is %q's, want %q's", email, user.Email)
			}

			refused := []struct{ method, path, body string }{
				{"POST", "/auth/password", `{"current_password":"x","new_password":"y"}`},
				{"POST", "/auth/email", `{"email":"new@example.com"}`},
				{"POST", "/auth/email/cancel", `{}`},
				{"GET", "/auth/delete", ``},
				{"POST", "/auth/delete", `{}`},
				{"GET", "/auth/sudo", ``},
				{"POST", "/auth/sudo", `{"password":"quiet-harbor-mango-77"}`},
				{"GET", "/auth/mfa/setup", ``},
				{"POST", "/auth/mfa/setup", `{"code":"123456"}`},
				{"POST", "/auth/mfa/recovery-codes/regenerate", `{}`},
				{"POST", "/auth/mfa/disable", `{}`},
				{"POST", "/auth/mfa/trusted/revoke", `{"id":"x"}`},
				{"POST", "/auth/mfa/trusted/revoke-all", `{}`},
				{"GET", "/auth/mfa/challenge", ``},
				{"POST", "/auth/mfa/challenge", `{"code":"123456"}`},
				{"POST", "/auth/mfa/recovery", `{"recovery_code":"abcd-efgh"}`},
				{"GET", "/auth/password/renew", ``},
				{"POST", "/auth/password/renew", `{"password":"x"}`},
				{"POST", "/auth/passkeys/register/options", `{}`},
				{"POST", "/auth/passkeys/register", `{}`},
				{"POST", "/auth/passkeys/rename", `{"id":"x","name":"y"}`},
				{"POST", "/auth/passkeys/delete", `{"id":"x"}`},
				{"POST", "/auth/passkeys/sudo/options", `{}`},
				{"POST", "/auth/passkeys/sudo", `{}`},
				{"POST", "/auth/passkeys/challenge/options", `{}`},
				{"POST", "/auth/passkeys/challenge", `{}`},
				{"POST", "/auth/settings/tokens", `{"name":"t"}`},
				{"POST", "/auth/settings/tokens/revoke", `{"id":"x"}`},
				{"POST", "/auth/settings/tokens/revoke-all", `{}`},
				{"POST", "/auth/settings/service-accounts", `{"name":"s"}`},
				{"POST", "/auth/settings/service-accounts/rotate", `{"id":"x"}`},
				{"POST", "/auth/settings/service-accounts/delete", `{"id":"x"}`},
				{"POST", "/auth/token", `{}`},
				{"POST", "/auth/token/clients/revoke", `{"id":"x"}`},
				{"GET", "/auth/oauth/link", ``},
				{"POST", "/auth/oauth/link", `{}`},
				{"GET", "/auth/oauth/local/link", ``},
				{"POST", "/auth/oauth/local/link", `{}`},
				{"POST", "/auth/oauth/unlink", `{"provider":"local"}`},
				{"GET", "/auth/oauth/sudo", ``},
				{"POST", "/auth/oauth/local/sudo", `{}`},
				{"POST", apptest.ImpersonateStartPath, `{}`},
			}
			before := a.Contents(t)
			for _, r := range refused {
				t.Run(r.method+" "+r.path, func(t *testing.T) {
					path := r.path
					if path == apptest.ImpersonateStartPath {
						path = a.Path(path)
					}
					res := c.For(t).JSON(r.method, path, r.body)
					var body struct{ Error struct{ Code string } }
					_ = json.Unmarshal([]byte(res.Body), &body)
					// The token endpoint keeps its own code.
					want := "impersonation_forbidden"
					if r.path == "/auth/token" {
						want = "impersonating"
					}
					if res.StatusCode != http.StatusForbidden || body.Error.Code != want {
						t.Errorf("got %d %.300s, want 403 %q", res.StatusCode, res.Body, want)
					}
				})
			}
			if !bytes.Equal(before, a.Contents(t)) {
				t.Errorf("a refused request changed the database")
			}

			// An HTML request gets the error page, with the banner.
			res := c.Post("/auth/password", nil)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, middleware.ImpersonationMessage) ||
				!strings.Contains(res.Body, "You are acting as "+user.Email) {
				t.Errorf("HTML refusal: got %d, want 403 with the message and the banner\n%.2000s", res.StatusCode, res.Body)
			}

			// Ordinary pages work, with the banner and its stop button.
			for _, p := range []string{"/auth/settings", "/auth/sessions", "/auth/mfa", "/auth/passkeys", "/auth/settings/tokens"} {
				res := c.Get(p)
				if res.StatusCode != http.StatusOK {
					t.Errorf("GET %s: got %d, want 200", p, res.StatusCode)
					continue
				}
				for _, want := range []string{`class="banner banner-impersonation"`, "You are acting as " + user.Email, `action="` + a.Path(apptest.ImpersonateStopPath) + `"`, "Stop impersonating"} {
					if !strings.Contains(res.Body, want) {
						t.Errorf("GET %s: no %q in the page", p, want)
					}
				}
			}
			var info struct {
				User          struct{ ID string }
				Impersonation struct {
					ImpersonatorID string    `json:"impersonator_id"`
					EndsAt         time.Time `json:"ends_at"`
				}
			}
			if err := json.Unmarshal([]byte(c.JSON("GET", "/auth/session", "").Body), &info); err != nil {
				t.Fatal(err)
			}
			if info.User.ID != user.ID || info.Impersonation.ImpersonatorID != admin.ID || !info.Impersonation.EndsAt.Equal(a.Clock.Now().Add(30*time.Minute)) {
				t.Errorf("session info: got %+v, want the user acted on by the admin for 30 minutes", info)
			}

			// An audited action the impersonator may take records both.
			if res := c.JSON("POST", "/auth/sessions/revoke-others", `{}`); res.StatusCode != http.StatusOK {
				t.Fatalf("revoke other sessions: got %d %s", res.StatusCode, res.Body)
			}
			evs, _, err := a.Store.QueryAudit(context.Background(), store.AuditQuery{UserID: user.ID, Action: audit.ActionSessionRevokeOthers})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].ActorID != user.ID || evs[0].ImpersonatorID != admin.ID {
				t.Errorf("audit rows of the impersonated request: got %+v, want one with actor %s and impersonator %s", evs, user.ID, admin.ID)
			}

			// Stopping returns to the admin's session, without a banner.
			c.StopImpersonating(t)
			if _, email, _ := c.Whoami(); email != admin.Email {
				t.Errorf("after stop: the session is %q's, want the admin's", email)
			}
			if res := c.Get("/auth/settings"); strings.Contains(res.Body, "banner-impersonation") {
				t.Errorf("the banner is still shown after stop")
			}
		})
	}
}

// TestImpersonationTimeBoxKit: the impersonation ends on the first request
// after 30 minutes, back in the admin's own session.
func TestImpersonationTimeBoxKit(t *testing.T) {
	t.Parallel()
	a, _ := startAll(t, "sqlite")
	admin := a.CreateUser(t, "admin@example.com", "plum-otter-lantern-42")
	user := a.CreateUser(t, "user@example.com", "quiet-harbor-mango-77")
	c := a.Client(t)
	c.SignIn(admin.Email, "plum-otter-lantern-42")
	c.Impersonate(t, user.ID)
	for range 3 {
		a.Clock.Advance(10 * time.Minute)
		c.Get("/auth/settings")
	}
	if _, email, _ := c.Whoami(); email != admin.Email {
		t.Errorf("after 30 minutes: the session is %q's, want the admin's", email)
	}
}
