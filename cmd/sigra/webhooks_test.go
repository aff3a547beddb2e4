package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/webhook"
)

// TestWebhookCommands runs webhooks endpoints, list and replay on both
// backends: the listing of every state and of the dead letter, text and
// JSON, the replay of a dead delivery with its id kept (and audited), and
// the exit codes of a delivery still queued, an unknown one and bad flags.
func TestWebhookCommands(t *testing.T) {
	t.Parallel()
	for name, mk := range map[string]func(*testing.T) backend{"sqlite": sqliteBackend, "postgres": postgresBackend} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			env := []string{EnvDatabase + "=" + b.target}
			runCLI(t, env, "migrate", "up").want(t, "migrate up", exitOK)
			b.open(t)
			ctx := context.Background()
			st, ok := b.st.(interface {
				store.Webhooks
				store.WebhookDeliveries
			})
			if !ok {
				t.Fatal("the store has no store.Webhooks")
			}
			runCLI(t, env, "webhooks", "endpoints").want(t, "endpoints (none)", exitOK, "no webhook endpoints")

			now := time.Now().UTC().Truncate(time.Millisecond)
			ep := &store.WebhookEndpoint{URL: "https://hooks.example/in", EventTypes: []string{"auth.register"}, Enabled: true, CreatedAt: now, UpdatedAt: now,
				Secret: store.WebhookSecret{Sealed: []byte("sealed"), KeyID: "k1", CreatedAt: now}}
			if err := st.CreateWebhookEndpoint(ctx, ep); err != nil {
				t.Fatal(err)
			}
			enqueue := func() *store.WebhookDelivery {
				d := &store.WebhookDelivery{EndpointID: ep.ID, EventType: "auth.register", Payload: []byte(`{}`), CreatedAt: now, NextAttemptAt: now}
				if err := st.EnqueueWebhook(ctx, d); err != nil {
					t.Fatal(err)
				}
				return d
			}
			queued, dead := enqueue(), enqueue()
			if err := st.MarkWebhookDead(ctx, dead.ID, 502, "502 Bad Gateway\nfrom the proxy", now); err != nil {
				t.Fatal(err)
			}

			runCLI(t, env, "webhooks", "endpoints").want(t, "endpoints", exitOK, ep.ID, "https://hooks.example/in", "auth.register", "enabled")
			r := runCLI(t, env, "webhooks", "list")
			r.want(t, "list", exitOK, queued.ID, dead.ID, "dead", "queued", "error: 502 Bad Gateway from the proxy")
			r = runCLI(t, env, "webhooks", "list", "-dead")
			r.want(t, "list -dead", exitOK, dead.ID)
			if strings.Contains(r.stdout, queued.ID) {
				t.Errorf("list -dead lists the queued delivery: %s", r.stdout)
			}
			r = runCLI(t, env, "-json", "webhooks", "list", "-dead", "-endpoint", ep.ID)
			r.want(t, "list -json", exitOK)
			var out struct {
				Deliveries []deliveryJSON `json:"deliveries"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("list -json: %v\n%s", err, r.stdout)
			}
			if len(out.Deliveries) != 1 || out.Deliveries[0].ID != dead.ID || out.Deliveries[0].State != "dead" ||
				out.Deliveries[0].LastStatus != 502 || out.Deliveries[0].DeadAt == nil {
				t.Errorf("list -json: got %+v, want the dead delivery with its last status", out.Deliveries)
			}
			r = runCLI(t, env, "webhooks", "list", "-limit", "1")
			r.want(t, "list -limit 1", exitOK, dead.ID, "more: -before "+dead.ID)
			runCLI(t, env, "webhooks", "list", "-before", dead.ID).want(t, "list -before", exitOK, queued.ID)

			// Replay of the dead delivery: queued again, same id, audited.
			runCLI(t, env, "webhooks", "replay", dead.ID).want(t, "replay", exitOK, "queued "+dead.ID)
			d, err := st.WebhookDelivery(ctx, dead.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !d.DeadAt.IsZero() || !d.DeliveredAt.IsZero() || d.Attempts != 0 {
				t.Errorf("after replay: got %+v, want it queued with no attempts", d)
			}
			rows, _, err := b.st.QueryAudit(ctx, store.AuditQuery{Action: webhook.ActionReplay, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].Metadata["delivery"] != dead.ID || rows[0].Metadata["via"] != "cli" {
				t.Errorf("audit rows of the replay: got %+v, want one naming the delivery", rows)
			}

			// Refusals change nothing.
			runCLI(t, env, "webhooks", "replay", dead.ID).want(t, "replay (still queued)", exitFailed)
			runCLI(t, env, "webhooks", "replay", store.NewID()).want(t, "replay (unknown)", exitNotFound)
			runCLI(t, env, "webhooks", "replay").want(t, "replay (no id)", exitUsage)
			runCLI(t, env, "webhooks", "list", "-limit", "0").want(t, "list -limit 0", exitUsage)
			runCLI(t, env, "webhooks", "list", "-endpoint", "a b").want(t, "list -endpoint with a space", exitUsage)
			runCLI(t, env, "webhooks", "list", "extra").want(t, "list with an argument", exitUsage)
			runCLI(t, env, "webhooks", "nope").want(t, "unknown subcommand", exitUsage)
			if rows, _, _ := b.st.QueryAudit(ctx, store.AuditQuery{Action: webhook.ActionReplay, Limit: 10}); len(rows) != 1 {
				t.Errorf("audit rows after refused replays: got %d, want 1", len(rows))
			}
		})
	}
}
