package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/webhook"
)

// webhookStore is what the webhooks commands use of a store: both
// adapters have it.
type webhookStore interface {
	store.Webhooks
	store.WebhookDeliveries
}

// maxListLimit bounds "webhooks list -limit".
const maxListLimit = 1000

func (e *env) webhooks(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fail(exitUsage, "webhooks takes endpoints, list or replay")
	}
	switch args[0] {
	case "endpoints":
		if len(args) > 1 {
			return fail(exitUsage, "webhooks endpoints takes no arguments, got %q", args[1:])
		}
		return e.withWebhooks(ctx, func(d *database, st webhookStore) error { return e.webhookEndpoints(ctx, st) })
	case "list":
		return e.webhookList(ctx, args[1:])
	case "replay":
		id, err := one("webhooks replay", args[1:])
		if err != nil {
			return err
		}
		return e.withWebhooks(ctx, func(d *database, st webhookStore) error { return e.webhookReplay(ctx, d, st, id) })
	default:
		return fail(exitUsage, "unknown webhooks command %q (endpoints, list, replay)", args[0])
	}
}

// withWebhooks opens the database and runs fn with its webhook store.
func (e *env) withWebhooks(ctx context.Context, fn func(d *database, st webhookStore) error) error {
	d, err := open(ctx, e.target, false)
	if err != nil {
		return err
	}
	defer d.close()
	st, ok := d.sigraStore.(webhookStore)
	if !ok {
		return fail(exitDatabase, "the %s store keeps no webhooks", d.kind)
	}
	return fn(d, st)
}

type endpointJSON struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	EventTypes []string  `json:"event_types"`
	Enabled    bool      `json:"enabled"`
	CreatedAt  time.Time `json:"created_at"`
}

func (e *env) webhookEndpoints(ctx context.Context, st webhookStore) error {
	es, err := st.WebhookEndpoints(ctx)
	if err != nil {
		return fmt.Errorf("list the webhook endpoints: %w", err)
	}
	out := make([]endpointJSON, len(es))
	var b strings.Builder
	for i, ep := range es {
		out[i] = endpointJSON{ID: ep.ID, URL: ep.URL, EventTypes: nonNil(ep.EventTypes), Enabled: ep.Enabled, CreatedAt: ep.CreatedAt}
		state := "enabled"
		if !ep.Enabled {
			state = "disabled"
		}
		fmt.Fprintf(&b, "%s  %-8s  %s  %s\n", ep.ID, state, ep.URL, strings.Join(ep.EventTypes, ","))
	}
	if len(es) == 0 {
		b.WriteString("no webhook endpoints\n")
	}
	return e.print(map[string]any{"endpoints": out}, b.String())
}

// deliveryJSON is a delivery as "webhooks list -json" prints it.
type deliveryJSON struct {
	ID          string     `json:"id"`
	EndpointID  string     `json:"endpoint_id"`
	EventType   string     `json:"event_type"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	LastStatus  int        `json:"last_status"`
	LastError   string     `json:"last_error"`
	CreatedAt   time.Time  `json:"created_at"`
	NextAttempt *time.Time `json:"next_attempt_at,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	DeadAt      *time.Time `json:"dead_at,omitempty"`
}

// deliveryState names the state of d: queued, delivered or dead.
func deliveryState(d *store.WebhookDelivery) string {
	switch {
	case !d.DeadAt.IsZero():
		return "dead"
	case !d.DeliveredAt.IsZero():
		return "delivered"
	}
	return "queued"
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (e *env) webhookList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("webhooks list", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dead := fs.Bool("dead", false, "only the dead letter: deliveries given up after their last attempt")
	endpoint := fs.String("endpoint", "", "only the deliveries of this endpoint (its ID)")
	limit := fs.Int("limit", 50, fmt.Sprintf("the most deliveries listed (1 to %d)", maxListLimit))
	before := fs.String("before", "", "list the deliveries older than this one (its ID): the next page")
	if err := fs.Parse(args); err != nil {
		return fail(exitUsage, "%v", err)
	}
	if fs.NArg() > 0 {
		return fail(exitUsage, "webhooks list takes no arguments, got %q", fs.Args())
	}
	if *limit < 1 || *limit > maxListLimit {
		return fail(exitUsage, "-limit %d: want 1 to %d", *limit, maxListLimit)
	}
	for name, v := range map[string]string{"-endpoint": *endpoint, "-before": *before} {
		if len(v) > 100 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return fail(exitUsage, "%s %q: not an ID", name, v)
		}
	}
	return e.withWebhooks(ctx, func(d *database, st webhookStore) error {
		ds, err := st.WebhookDeliveries(ctx, store.WebhookDeliveryQuery{EndpointID: *endpoint, Dead: *dead, Before: *before, Limit: *limit})
		if err != nil {
			return fmt.Errorf("list the webhook deliveries: %w", err)
		}
		out := make([]deliveryJSON, len(ds))
		var b strings.Builder
		for i, dl := range ds {
			state := deliveryState(dl)
			out[i] = deliveryJSON{ID: dl.ID, EndpointID: dl.EndpointID, EventType: dl.EventType, State: state,
				Attempts: dl.Attempts, LastStatus: dl.LastStatus, LastError: dl.LastError, CreatedAt: dl.CreatedAt,
				DeliveredAt: timePtr(dl.DeliveredAt), DeadAt: timePtr(dl.DeadAt)}
			if state == "queued" {
				out[i].NextAttempt = timePtr(dl.NextAttemptAt)
			}
			fmt.Fprintf(&b, "%s  %-9s  %-28s  attempts %d", dl.ID, state, dl.EventType, dl.Attempts)
			if dl.LastStatus != 0 {
				fmt.Fprintf(&b, "  status %d", dl.LastStatus)
			}
			if dl.LastError != "" {
				fmt.Fprintf(&b, "  error: %s", oneLine(dl.LastError))
			}
			fmt.Fprintf(&b, "  endpoint %s\n", dl.EndpointID)
		}
		next := ""
		if len(ds) == *limit {
			next = ds[len(ds)-1].ID
			fmt.Fprintf(&b, "more: -before %s\n", next)
		}
		if len(ds) == 0 {
			b.WriteString("no deliveries\n")
		}
		return e.print(map[string]any{"deliveries": out, "next": next}, b.String())
	})
}

// oneLine keeps s on one line of the text output.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func (e *env) webhookReplay(ctx context.Context, d *database, st webhookStore, id string) error {
	log, err := audit.New(audit.Config{Store: d, Now: e.now})
	if err != nil {
		return err
	}
	var dl *store.WebhookDelivery
	err = d.InTx(ctx, func(ctx context.Context) error {
		var err error
		if dl, err = st.WebhookDelivery(ctx, id); err != nil {
			return err
		}
		if err := st.ReplayWebhook(ctx, id, e.now()); err != nil {
			return err
		}
		return log.Record(ctx, audit.Event{Action: webhook.ActionReplay, Outcome: audit.OutcomeSuccess,
			Metadata: map[string]string{"via": "cli", "delivery": dl.ID, "event_type": dl.EventType}})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail(exitNotFound, "no webhook delivery has the ID %q", id)
	case errors.Is(err, store.ErrConflict):
		return fail(exitFailed, "the delivery %s is still queued: the worker will attempt it", id)
	case err != nil:
		return fmt.Errorf("webhooks replay %s: %w", id, err)
	}
	return e.print(map[string]any{"replayed": dl.ID, "was": deliveryState(dl), "event_type": dl.EventType},
		fmt.Sprintf("queued %s (%s, was %s) again, due now, with the same webhook-id\n", dl.ID, dl.EventType, deliveryState(dl)))
}
