package storetest

import (
	"slices"
	"testing"

	"github.com/sigra-go/sigra/store"
)

// WebhookDeliveries checks [store.WebhookDeliveries]: newest first, in
// every state, by endpoint, the dead letter alone, pages by cursor, and a
// limit that is not positive. Needs store.Webhooks and
// store.WebhookDeliveries.
const WebhookDeliveries Part = "WebhookDeliveries"

// webhookListStore is what the part needs.
type webhookListStore interface {
	store.Webhooks
	store.WebhookDeliveries
}

func webhookDeliveryChecks() []check {
	return []check{
		checkOf("List", testWebhookDeliveriesList),
	}
}

func listDeliveries(t *testing.T, s webhookListStore, q store.WebhookDeliveryQuery) []string {
	t.Helper()
	ds, err := s.WebhookDeliveries(t.Context(), q)
	must(t, "WebhookDeliveries", err)
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

func testWebhookDeliveriesList(t *testing.T, s webhookListStore) {
	ctx := t.Context()
	a := newEndpoint(t, s, "https://a.example/hooks", "user.registered")
	b := newEndpoint(t, s, "https://b.example/hooks", "user.registered")
	// Five deliveries, oldest first: a, b, a (dead), b (delivered), a (dead).
	var ids []string
	for i, ep := range []string{a.ID, b.ID, a.ID, b.ID, a.ID} {
		d := newDelivery(t, s, ep, t0)
		ids = append(ids, d.ID)
		switch i {
		case 2, 4:
			must(t, "MarkWebhookDead", s.MarkWebhookDead(ctx, d.ID, 500, "server error", t0))
		case 3:
			must(t, "MarkWebhookDelivered", s.MarkWebhookDelivered(ctx, d.ID, 204, t0))
		}
	}
	if !slices.IsSorted(ids) {
		t.Fatalf("delivery IDs %q are not in creation order", ids)
	}
	newest := slices.Clone(ids)
	slices.Reverse(newest)

	tests := []struct {
		name string
		q    store.WebhookDeliveryQuery
		want []string
	}{
		{"all", store.WebhookDeliveryQuery{Limit: 10}, newest},
		{"limit", store.WebhookDeliveryQuery{Limit: 2}, newest[:2]},
		{"next page", store.WebhookDeliveryQuery{Limit: 2, Before: newest[1]}, newest[2:4]},
		{"last page", store.WebhookDeliveryQuery{Limit: 2, Before: newest[3]}, newest[4:]},
		{"endpoint", store.WebhookDeliveryQuery{EndpointID: b.ID, Limit: 10}, []string{ids[3], ids[1]}},
		{"dead", store.WebhookDeliveryQuery{Dead: true, Limit: 10}, []string{ids[4], ids[2]}},
		{"dead of an endpoint", store.WebhookDeliveryQuery{Dead: true, EndpointID: b.ID, Limit: 10}, nil},
		{"unknown endpoint", store.WebhookDeliveryQuery{EndpointID: store.NewID(), Limit: 10}, nil},
		{"zero limit", store.WebhookDeliveryQuery{}, nil},
		{"negative limit", store.WebhookDeliveryQuery{Limit: -1}, nil},
	}
	for _, tt := range tests {
		if got := listDeliveries(t, s, tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}

	ds, err := s.WebhookDeliveries(ctx, store.WebhookDeliveryQuery{Dead: true, Limit: 1})
	must(t, "WebhookDeliveries", err)
	if len(ds) != 1 {
		t.Fatalf("dead letter: got %d deliveries, want 1", len(ds))
	}
	if d := ds[0]; d.EndpointID != a.ID || d.LastStatus != 500 || d.LastError != "server error" || d.DeadAt.IsZero() ||
		d.EventType != "user.registered" || len(d.Payload) == 0 {
		t.Errorf("dead delivery: got %+v, want its endpoint, event, payload, last status and error, and dead time", d)
	}
}
