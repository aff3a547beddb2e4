package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/htmlcheck"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
	"github.com/sigra-go/sigra/webhook"
)

// newWebhooksApp is newApp with the webhooks page (Config.Webhooks).
func newWebhooksApp(t *testing.T, backend string) (*app, admin.WebhookStore) {
	t.Helper()
	x := &app{}
	var wst admin.WebhookStore
	opt := apptest.Options{Backend: backend, Packs: []ui.Pack{account.Pages(), admin.Pages()}}
	x.App = apptest.New(t, opt, func(a *apptest.App) {
		st, ok := a.Store.(admin.Store)
		if !ok {
			t.Fatalf("the %s store does not implement admin.Store", backend)
		}
		if wst, ok = a.Store.(admin.WebhookStore); !ok {
			t.Fatalf("the %s store does not implement admin.WebhookStore", backend)
		}
		c, err := admin.New(admin.Config{Store: st, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, RateLimiter: a.Limiter, Webhooks: wst})
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
	return x, wst
}

// TestWebhooksPage: the webhooks page shows administrators the endpoints
// (never their secrets) and the dead letter with its last error, in HTML
// and JSON; anyone else gets 404; the replay queues a dead delivery again
// with its id, behind sudo, audited with the administrator as actor; bad
// input, a delivery still queued and an unknown one are refused and
// change nothing.
func TestWebhooksPage(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			a, wst := newWebhooksApp(t, b)
			ctx := context.Background()
			now := a.Clock.Now()
			ep := &store.WebhookEndpoint{URL: "https://hooks.example/in", EventTypes: []string{"auth.register", "mfa.totp.enable"}, Enabled: true,
				CreatedAt: now, UpdatedAt: now, Secret: store.WebhookSecret{Sealed: []byte("SEALED-SECRET"), KeyID: "k1", CreatedAt: now}}
			if err := wst.CreateWebhookEndpoint(ctx, ep); err != nil {
				t.Fatal(err)
			}
			enqueue := func() *store.WebhookDelivery {
				d := &store.WebhookDelivery{EndpointID: ep.ID, EventType: "auth.register", Payload: []byte(`{}`), CreatedAt: now, NextAttemptAt: now}
				if err := wst.EnqueueWebhook(ctx, d); err != nil {
					t.Fatal(err)
				}
				return d
			}
			queued, dead := enqueue(), enqueue()
			if err := wst.MarkWebhookDead(ctx, dead.ID, 503, "503 Service Unavailable", now); err != nil {
				t.Fatal(err)
			}

			user, _ := a.signedIn(t, "user@example.com")
			adm, root := a.admin(t, "root@example.com")
			for name, c := range map[string]*apptest.Client{"anonymous": a.Client(t), "user": user} {
				if res := c.Get(a.Path("/admin/webhooks")); res.StatusCode != http.StatusNotFound || strings.Contains(res.Body, ep.URL) {
					t.Errorf("%s GET /admin/webhooks: got %d, want 404 that shows nothing", name, res.StatusCode)
				}
				if res := c.JSON("POST", a.Path("/admin/webhooks/replay"), `{"delivery_id":"`+dead.ID+`"}`); res.StatusCode != http.StatusNotFound {
					t.Errorf("%s POST replay: got %d, want 404", name, res.StatusCode)
				}
			}

			res := adm.JSON("GET", a.Path("/admin/webhooks"), "")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("admin GET /admin/webhooks (JSON): got %d\n%s", res.StatusCode, res.Body)
			}
			for _, s := range []string{ep.ID, ep.URL, "mfa.totp.enable", dead.ID, "503 Service Unavailable"} {
				if !strings.Contains(res.Body, s) {
					t.Errorf("JSON page: no %q in %s", s, res.Body)
				}
			}
			if strings.Contains(res.Body, queued.ID) {
				t.Errorf("JSON page: the queued delivery is in the dead letter: %s", res.Body)
			}
			page := adm.Get(a.Path("/admin/webhooks"))
			if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, ep.URL) || !strings.Contains(page.Body, "503 Service Unavailable") {
				t.Fatalf("admin GET /admin/webhooks (HTML): got %d\n%s", page.StatusCode, page.Body)
			}
			for _, body := range []string{res.Body, page.Body} {
				if strings.Contains(body, "SEALED-SECRET") || strings.Contains(body, "U0VBTEVE") {
					t.Error("the page shows an endpoint's sealed secret")
				}
			}

			before := a.auditCount(t)
			replays := func() int { return a.Count(t, "sigra_audit_log", "action = '"+webhook.ActionReplay+"'") }
			// Bad input changes nothing.
			for _, tc := range []struct{ name, body, code, field string }{
				{"no delivery", `{}`, "invalid_input", "delivery_id"},
				{"unknown field", `{"delivery_id":"` + dead.ID + `","x":1}`, "unknown_field", "x"},
				{"wrong type", `{"delivery_id":1}`, "invalid_type", "delivery_id"},
			} {
				res := adm.JSON("POST", a.Path("/admin/webhooks/replay"), tc.body)
				if res.StatusCode != http.StatusBadRequest || errCode(t, res) != tc.code || errFields(t, res)[tc.field] == nil {
					t.Errorf("%s: got %d %q %v, want 400 %s at %s", tc.name, res.StatusCode, errCode(t, res), errFields(t, res), tc.code, tc.field)
				}
			}
			if res := adm.JSON("POST", a.Path("/admin/webhooks/replay"), `{"delivery_id":"`+store.NewID()+`"}`); res.StatusCode != http.StatusNotFound {
				t.Errorf("replay of an unknown delivery: got %d, want 404", res.StatusCode)
			}
			if res := adm.JSON("POST", a.Path("/admin/webhooks/replay"), `{"delivery_id":"`+queued.ID+`"}`); res.StatusCode != http.StatusConflict || errCode(t, res) != "webhook_queued" {
				t.Errorf("replay of a queued delivery: got %d %q, want 409 webhook_queued", res.StatusCode, errCode(t, res))
			}
			if n := a.auditCount(t); n != before {
				t.Errorf("refused replays wrote %d audit rows", n-before)
			}

			// Out of sudo: refused, nothing changes.
			a.Clock.Advance(15 * time.Minute)
			if res := adm.JSON("POST", a.Path("/admin/webhooks/replay"), `{"delivery_id":"`+dead.ID+`"}`); res.StatusCode != http.StatusForbidden || errCode(t, res) != "sudo_required" {
				t.Errorf("replay out of sudo: got %d %q, want 403 sudo_required", res.StatusCode, errCode(t, res))
			}
			if d, err := wst.WebhookDelivery(ctx, dead.ID); err != nil || d.DeadAt.IsZero() {
				t.Fatalf("after a replay out of sudo: %v, want the delivery still dead", err)
			}
			if replays() != 0 {
				t.Error("a refused replay was audited")
			}

			// In sudo, from the page's form: queued again, same id, audited.
			adm = a.Client(t)
			adm.SignIn("root@example.com", pw)
			res = adm.Post(a.Path("/admin/webhooks/replay"), url.Values{"delivery_id": {dead.ID}})
			if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "/admin/webhooks?notice=admin_webhook_replayed") {
				t.Fatalf("replay: got %d to %q\n%s", res.StatusCode, res.Header.Get("Location"), res.Body)
			}
			d, err := wst.WebhookDelivery(ctx, dead.ID)
			if err != nil || !d.DeadAt.IsZero() || d.Attempts != 0 || d.ID != dead.ID {
				t.Fatalf("after the replay: got %+v (%v), want the delivery queued again", d, err)
			}
			evs, _, err := a.St.SearchAudit(ctx, store.AuditSearch{ActorID: root.ID, Action: webhook.ActionReplay})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Metadata["delivery"] != dead.ID || evs[0].Metadata["event_type"] != "auth.register" {
				t.Errorf("audit of the replay: got %+v, want one row with the administrator as actor and the delivery", evs)
			}
			// Now queued: a second replay is refused.
			if res := adm.JSON("POST", a.Path("/admin/webhooks/replay"), `{"delivery_id":"`+dead.ID+`"}`); res.StatusCode != http.StatusConflict {
				t.Errorf("second replay: got %d, want 409", res.StatusCode)
			}
		})
	}
}

// TestWebhooksPageOff: without Config.Webhooks the page does not exist,
// for administrators too.
func TestWebhooksPageOff(t *testing.T) {
	t.Parallel()
	a := newApp(t, "sqlite")
	adm, _ := a.admin(t, "root@example.com")
	if res := adm.JSON("GET", a.Path("/admin/webhooks"), ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /admin/webhooks without Config.Webhooks: got %d, want 404", res.StatusCode)
	}
}

// pcWebhookCases are the page checks' cases of the webhooks page.
func pcWebhookCases() []apptest.PageCase {
	type list = []string
	const id = "01900000-0000-7000-8000-0000000000d1"
	return []apptest.PageCase{
		{Page: "admin_webhooks", User: true, Data: &admin.WebhooksData{
			Endpoints: []admin.WebhookEndpointItem{{ID: "e1", URL: "https://hooks.example/in", EventTypes: []string{"auth.register"}, Enabled: true, CreatedAt: pcT0, Rotating: true}},
			Dead: []admin.WebhookDeliveryItem{{ID: id, EndpointID: "e1", EndpointURL: "https://hooks.example/in", EventType: "auth.register",
				Attempts: 12, LastStatus: 503, LastError: "503 Service Unavailable", CreatedAt: pcT0, DeadAt: pcT0}},
			ReplayURL: "/auth/admin/webhooks/replay",
		}, Want: htmlcheck.Want{Text: list{"https://hooks.example/in", "auth.register", "secret rotating", "503 Service Unavailable", "12 attempts", "Replay"},
			Times: true, Forms: list{"/auth/admin/webhooks/replay"}}},
		{Page: "admin_webhooks", Label: "empty", User: true, Data: &admin.WebhooksData{ReplayURL: "/auth/admin/webhooks/replay"},
			Want: htmlcheck.Want{Text: list{"No endpoints", "No delivery has been given up"}, NoForms: list{"/auth/admin/webhooks/replay"}}},
	}
}

// With the webhooks page, every POST route still has a schema, and every
// schema a route.
func TestWebhookFormsCoverEveryRoute(t *testing.T) {
	t.Parallel()
	a, _ := newWebhooksApp(t, "sqlite")
	unschemed, unused := a.Console.FormsCheck()
	if len(unschemed) > 0 || len(unused) > 0 {
		t.Errorf("got routes without a schema %q and schemas without a route %q, want none", unschemed, unused)
	}
}

// TestWebhookReplayRace: administrators replaying one dead delivery at
// once queue it once: one replay succeeds, the others are answered 409,
// and one audit row is written.
func TestWebhookReplayRace(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			a, wst := newWebhooksApp(t, b)
			ctx := context.Background()
			now := a.Clock.Now()
			ep := &store.WebhookEndpoint{URL: "https://hooks.example/in", EventTypes: []string{"auth.register"}, Enabled: true,
				CreatedAt: now, UpdatedAt: now, Secret: store.WebhookSecret{Sealed: []byte("s"), KeyID: "k1", CreatedAt: now}}
			if err := wst.CreateWebhookEndpoint(ctx, ep); err != nil {
				t.Fatal(err)
			}
			d := &store.WebhookDelivery{EndpointID: ep.ID, EventType: "auth.register", Payload: []byte(`{}`), CreatedAt: now, NextAttemptAt: now}
			if err := wst.EnqueueWebhook(ctx, d); err != nil {
				t.Fatal(err)
			}
			if err := wst.MarkWebhookDead(ctx, d.ID, 500, "500 Internal Server Error", now); err != nil {
				t.Fatal(err)
			}
			const n = 6
			clients := make([]*apptest.Client, n)
			for i := range clients {
				clients[i], _ = a.admin(t, fmt.Sprintf("admin%d@example.com", i))
			}
			codes := make([]int, n)
			var wg sync.WaitGroup
			for i, c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i] = c.JSON("POST", a.Path("/admin/webhooks/replay"), `{"delivery_id":"`+d.ID+`"}`).StatusCode
				}()
			}
			wg.Wait()
			ok, conflict := 0, 0
			for _, code := range codes {
				switch code {
				case http.StatusOK:
					ok++
				case http.StatusConflict:
					conflict++
				}
			}
			if ok != 1 || conflict != n-1 {
				t.Errorf("concurrent replays: got statuses %v, want one 200 and %d 409", codes, n-1)
			}
			if got := a.Count(t, "sigra_audit_log", "action = '"+webhook.ActionReplay+"'"); got != 1 {
				t.Errorf("audit rows of the replays: got %d, want 1", got)
			}
		})
	}
}
