package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// Webhooks checks [store.Webhooks]: endpoints (not found, rotation of
// secrets, enabling, deletion with their deliveries) and the delivery
// queue (claims and leases, concurrent claims, outcomes, replay, and, when
// the store is a [store.Transactor], an enqueue rolled back with its
// transaction). Needs store.Webhooks.
const Webhooks Part = "Webhooks"

func webhookChecks() []check {
	return []check{
		checkOf("Endpoints", testWebhookEndpoints),
		checkOf("Endpoints/NotFound", testWebhookEndpointsNotFound),
		checkOf("RotateWebhookSecret", testRotateWebhookSecret),
		checkOf("EnqueueWebhook", testEnqueueWebhook),
		checkOf("ClaimWebhooks", testClaimWebhooks),
		checkOf("ClaimWebhooks/Concurrent", testClaimWebhooksConcurrent),
		checkOf("ClaimWebhooks/DisabledEndpoint", testClaimWebhooksDisabled),
		checkOf("Outcomes", testWebhookOutcomes),
		checkOf("ReplayWebhook", testReplayWebhook),
		checkOf("DeleteWebhookEndpoint", testDeleteWebhookEndpoint),
		checkEnv("EnqueueWebhook/RolledBack", testEnqueueWebhookRolledBack),
	}
}

func newEndpoint(t *testing.T, s store.Webhooks, url string, types ...string) *store.WebhookEndpoint {
	t.Helper()
	e := &store.WebhookEndpoint{URL: url, EventTypes: types, Enabled: true, CreatedAt: t0, UpdatedAt: t0,
		Secret: store.WebhookSecret{Sealed: []byte("sealed\x00" + url), KeyID: "k1", CreatedAt: t0}}
	must(t, "CreateWebhookEndpoint", s.CreateWebhookEndpoint(t.Context(), e))
	if e.ID == "" {
		t.Fatal("CreateWebhookEndpoint left an empty ID unfilled")
	}
	return e
}

func newDelivery(t *testing.T, s store.Webhooks, endpointID string, next time.Time) *store.WebhookDelivery {
	t.Helper()
	d := &store.WebhookDelivery{EndpointID: endpointID, EventType: "user.registered",
		Payload: []byte(`{"type":"user.registered"}`), CreatedAt: t0, NextAttemptAt: next}
	must(t, "EnqueueWebhook", s.EnqueueWebhook(t.Context(), d))
	if d.ID == "" {
		t.Fatal("EnqueueWebhook left an empty ID unfilled")
	}
	return d
}

func claimWebhooks(t *testing.T, s store.Webhooks, now time.Time, lease time.Duration, limit int) []string {
	t.Helper()
	ds, err := s.ClaimWebhooks(t.Context(), now, lease, limit)
	must(t, "ClaimWebhooks", err)
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	slices.Sort(ids)
	return ids
}

func sortedIDs(ids ...string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

func getDelivery(t *testing.T, s store.Webhooks, id string) *store.WebhookDelivery {
	t.Helper()
	d, err := s.WebhookDelivery(t.Context(), id)
	must(t, "WebhookDelivery", err)
	return d
}

func pendingWebhooks(t *testing.T, s store.Webhooks) int {
	t.Helper()
	n, err := s.PendingWebhooks(t.Context())
	must(t, "PendingWebhooks", err)
	return n
}

func testWebhookEndpoints(t *testing.T, s store.Webhooks) {
	ctx := t.Context()
	if es, err := s.WebhookEndpoints(ctx); err != nil || len(es) != 0 {
		t.Fatalf("WebhookEndpoints on an empty store: got %d, %v, want none", len(es), err)
	}
	a := newEndpoint(t, s, "https://a.example.com/hook", "user.registered", "user.signed_in")
	b := &store.WebhookEndpoint{URL: "https://b.example.com/hook", EventTypes: []string{"org.member_added"},
		Secret: store.WebhookSecret{Sealed: []byte("b"), KeyID: "k2"}}
	must(t, "CreateWebhookEndpoint(zero times)", s.CreateWebhookEndpoint(ctx, b))
	if b.CreatedAt.IsZero() || b.UpdatedAt.IsZero() {
		t.Errorf("CreateWebhookEndpoint fills: got CreatedAt %v, UpdatedAt %v, want both set", b.CreatedAt, b.UpdatedAt)
	}
	got, err := s.WebhookEndpoint(ctx, a.ID)
	must(t, "WebhookEndpoint", err)
	if got.URL != a.URL || !slices.Equal(got.EventTypes, a.EventTypes) || !got.Enabled ||
		!bytes.Equal(got.Secret.Sealed, a.Secret.Sealed) || got.Secret.KeyID != "k1" || got.OldSecret.Sealed != nil {
		t.Errorf("WebhookEndpoint: got %+v, want %+v", got, a)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, t0)
	sameTime(t, "Secret.CreatedAt", got.Secret.CreatedAt, t0)
	sameTime(t, "OldSecret.ExpiresAt", got.OldSecret.ExpiresAt, time.Time{})
	b2, err := s.WebhookEndpoint(ctx, b.ID)
	must(t, "WebhookEndpoint(b)", err)
	if b2.Enabled {
		t.Error("an endpoint created with Enabled false: got enabled")
	}
	all, err := s.WebhookEndpoints(ctx)
	must(t, "WebhookEndpoints", err)
	if len(all) != 2 || all[0].ID != a.ID || all[1].ID != b.ID {
		t.Errorf("WebhookEndpoints: got %d endpoints, want a then b", len(all))
	}

	must(t, "SetWebhookEndpointEnabled", s.SetWebhookEndpointEnabled(ctx, a.ID, false, at(time.Minute)))
	got, err = s.WebhookEndpoint(ctx, a.ID)
	must(t, "WebhookEndpoint", err)
	if got.Enabled {
		t.Error("after SetWebhookEndpointEnabled(false): got enabled")
	}
	sameTime(t, "UpdatedAt", got.UpdatedAt, at(time.Minute))
}

func testWebhookEndpointsNotFound(t *testing.T, s store.Webhooks) {
	ctx := t.Context()
	_, err := s.WebhookEndpoint(ctx, "missing")
	wantErr(t, "WebhookEndpoint(missing)", err, store.ErrNotFound)
	wantErr(t, "RotateWebhookSecret(missing)", s.RotateWebhookSecret(ctx, "missing", store.WebhookSecret{Sealed: []byte("x"), KeyID: "k"}, t0, t0), store.ErrNotFound)
	wantErr(t, "SetWebhookEndpointEnabled(missing)", s.SetWebhookEndpointEnabled(ctx, "missing", true, t0), store.ErrNotFound)
	wantErr(t, "DeleteWebhookEndpoint(missing)", s.DeleteWebhookEndpoint(ctx, "missing"), store.ErrNotFound)
	d := &store.WebhookDelivery{EndpointID: "missing", EventType: "x", Payload: []byte("{}"), CreatedAt: t0}
	wantErr(t, "EnqueueWebhook(missing endpoint)", s.EnqueueWebhook(ctx, d), store.ErrNotFound)
	if n := pendingWebhooks(t, s); n != 0 {
		t.Errorf("PendingWebhooks after a refused enqueue: got %d, want 0", n)
	}
	_, err = s.WebhookDelivery(ctx, "missing")
	wantErr(t, "WebhookDelivery(missing)", err, store.ErrNotFound)
	for name, err := range map[string]error{
		"MarkWebhookDelivered": s.MarkWebhookDelivered(ctx, "missing", 200, t0),
		"MarkWebhookFailed":    s.MarkWebhookFailed(ctx, "missing", 500, "x", t0),
		"MarkWebhookDead":      s.MarkWebhookDead(ctx, "missing", 500, "x", t0),
		"ReplayWebhook":        s.ReplayWebhook(ctx, "missing", t0),
	} {
		wantErr(t, name+"(missing)", err, store.ErrNotFound)
	}
}

func testRotateWebhookSecret(t *testing.T, s store.Webhooks) {
	ctx := t.Context()
	e := newEndpoint(t, s, "https://rotate.example.com/")
	second := store.WebhookSecret{Sealed: []byte("second"), KeyID: "k2", CreatedAt: at(time.Hour)}
	must(t, "RotateWebhookSecret", s.RotateWebhookSecret(ctx, e.ID, second, at(25*time.Hour), at(time.Hour)))
	got, err := s.WebhookEndpoint(ctx, e.ID)
	must(t, "WebhookEndpoint", err)
	if !bytes.Equal(got.Secret.Sealed, second.Sealed) || got.Secret.KeyID != "k2" {
		t.Errorf("Secret after rotation: got (%q, %q), want (second, k2)", got.Secret.Sealed, got.Secret.KeyID)
	}
	if !bytes.Equal(got.OldSecret.Sealed, e.Secret.Sealed) || got.OldSecret.KeyID != "k1" {
		t.Errorf("OldSecret after rotation: got (%q, %q), want the first secret", got.OldSecret.Sealed, got.OldSecret.KeyID)
	}
	sameTime(t, "Secret.CreatedAt", got.Secret.CreatedAt, at(time.Hour))
	sameTime(t, "OldSecret.CreatedAt", got.OldSecret.CreatedAt, t0)
	sameTime(t, "OldSecret.ExpiresAt", got.OldSecret.ExpiresAt, at(25*time.Hour))
	sameTime(t, "UpdatedAt", got.UpdatedAt, at(time.Hour))

	// A second rotation drops the first secret.
	third := store.WebhookSecret{Sealed: []byte("third"), KeyID: "k3"}
	must(t, "RotateWebhookSecret", s.RotateWebhookSecret(ctx, e.ID, third, at(26*time.Hour), at(2*time.Hour)))
	got, err = s.WebhookEndpoint(ctx, e.ID)
	must(t, "WebhookEndpoint", err)
	if !bytes.Equal(got.Secret.Sealed, third.Sealed) || !bytes.Equal(got.OldSecret.Sealed, second.Sealed) {
		t.Errorf("after a second rotation: got (%q, %q), want (third, second)", got.Secret.Sealed, got.OldSecret.Sealed)
	}
	sameTime(t, "Secret.CreatedAt (zero given)", got.Secret.CreatedAt, at(2*time.Hour))
}

func testEnqueueWebhook(t *testing.T, s store.Webhooks) {
	ctx := t.Context()
	e := newEndpoint(t, s, "https://enqueue.example.com/", "user.registered")
	d := newDelivery(t, s, e.ID, time.Time{})
	got := getDelivery(t, s, d.ID)
	if got.EndpointID != e.ID || got.EventType != d.EventType || !bytes.Equal(got.Payload, d.Payload) ||
		got.Attempts != 0 || got.LastStatus != 0 || got.LastError != "" {
		t.Errorf("WebhookDelivery: got %+v, want %+v", got, d)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, t0)
	sameTime(t, "NextAttemptAt (zero given)", got.NextAttemptAt, t0)
	sameTime(t, "DeliveredAt", got.DeliveredAt, time.Time{})
	sameTime(t, "DeadAt", got.DeadAt, time.Time{})

	// A caller-chosen ID is kept; taking it twice is a conflict.
	fixed := &store.WebhookDelivery{ID: "msg_fixed", EndpointID: e.ID, EventType: "x", Payload: []byte("{}")}
	must(t, "EnqueueWebhook(ID)", s.EnqueueWebhook(ctx, fixed))
	if fixed.ID != "msg_fixed" || fixed.CreatedAt.IsZero() {
		t.Errorf("EnqueueWebhook(ID): got ID %q, CreatedAt %v", fixed.ID, fixed.CreatedAt)
	}
	again := &store.WebhookDelivery{ID: "msg_fixed", EndpointID: e.ID, EventType: "x", Payload: []byte("{}")}
	wantErr(t, "EnqueueWebhook(taken ID)", s.EnqueueWebhook(ctx, again), store.ErrConflict)
	if n := pendingWebhooks(t, s); n != 2 {
		t.Errorf("PendingWebhooks: got %d, want 2", n)
	}
}

func testClaimWebhooks(t *testing.T, s store.Webhooks) {
	if got := claimWebhooks(t, s, t0, time.Minute, 10); len(got) != 0 {
		t.Fatalf("ClaimWebhooks on an empty queue: got %v", got)
	}
	e := newEndpoint(t, s, "https://claim.example.com/")
	a := newDelivery(t, s, e.ID, t0)
	b := newDelivery(t, s, e.ID, at(time.Second))
	c := newDelivery(t, s, e.ID, at(2*time.Second))
	future := newDelivery(t, s, e.ID, at(time.Hour))

	first := claimWebhooks(t, s, at(2*time.Second), 5*time.Minute, 2)
	if !slices.Equal(first, sortedIDs(a.ID, b.ID)) {
		t.Fatalf("ClaimWebhooks(limit 2): got %v, want the two due first %v", first, sortedIDs(a.ID, b.ID))
	}
	if got := claimWebhooks(t, s, at(3*time.Second), 5*time.Minute, 10); !slices.Equal(got, []string{c.ID}) {
		t.Fatalf("second claim: got %v, want only %s", got, c.ID)
	}
	if got := claimWebhooks(t, s, at(5*time.Minute+time.Second), time.Minute, 10); len(got) != 0 {
		t.Errorf("claim before the first lease ends: got %v, want none", got)
	}
	if got := claimWebhooks(t, s, at(5*time.Minute+2*time.Second), time.Minute, 10); !slices.Equal(got, first) {
		t.Errorf("claim when the first lease ends: got %v, want %v", got, first)
	}
	if got, want := claimWebhooks(t, s, at(time.Hour), time.Minute, 10), sortedIDs(a.ID, b.ID, c.ID, future.ID); !slices.Equal(got, want) {
		t.Errorf("claim at the future delivery's time: got %v, want %v", got, want)
	}
	if got := claimWebhooks(t, s, at(time.Hour), time.Minute, 0); len(got) != 0 {
		t.Errorf("ClaimWebhooks(limit 0): got %v, want none", got)
	}
}

func testClaimWebhooksConcurrent(t *testing.T, s store.Webhooks) {
	const deliveries, workers, batch = 30, 6, 3
	e := newEndpoint(t, s, "https://concurrent.example.com/")
	for i := range deliveries {
		newDelivery(t, s, e.ID, at(time.Duration(i)*time.Millisecond))
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	errs := race(workers, func(int) error {
		for range deliveries + 1 {
			ds, err := s.ClaimWebhooks(t.Context(), at(time.Second), time.Hour, batch)
			if err != nil {
				return err
			}
			if len(ds) == 0 {
				return nil
			}
			if len(ds) > batch {
				return fmt.Errorf("claimed %d deliveries, limit %d", len(ds), batch)
			}
			mu.Lock()
			for _, d := range ds {
				claimed[d.ID]++
			}
			mu.Unlock()
		}
		return errors.New("claims never ran dry: leased deliveries are claimed again")
	})
	countOutcomes(t, "ClaimWebhooks", errs, nil)
	if len(claimed) != deliveries {
		t.Errorf("deliveries claimed by %d workers: got %d distinct, want %d", workers, len(claimed), deliveries)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("delivery %s: claimed %d times, want once", id, n)
		}
	}
}

func testClaimWebhooksDisabled(t *testing.T, s store.Webhooks) {
	ctx := t.Context()
	off := newEndpoint(t, s, "https://off.example.com/")
	on := newEndpoint(t, s, "https://on.example.com/")
	d1 := newDelivery(t, s, off.ID, t0)
	d2 := newDelivery(t, s, on.ID, t0)
	must(t, "SetWebhookEndpointEnabled", s.SetWebhookEndpointEnabled(ctx, off.ID, false, t0))
	if got := claimWebhooks(t, s, t0, time.Minute, 10); !slices.Equal(got, []string{d2.ID}) {
		t.Errorf("claim with one endpoint disabled: got %v, want only %s", got, d2.ID)
	}
	if n := pendingWebhooks(t, s); n != 2 {
		t.Errorf("PendingWebhooks: got %d, want 2 (a disabled endpoint's deliveries stay queued)", n)
	}
	must(t, "SetWebhookEndpointEnabled", s.SetWebhookEndpointEnabled(ctx, off.ID, true, t0))
	if got := claimWebhooks(t, s, t0, time.Minute, 10); !slices.Equal(got, []string{d1.ID}) {
		t.Errorf("claim after enabling again: got %v, want %s", got, d1.ID)
	}
}

func testWebhookOutcomes(t *testing.T, s store.Webhooks) {
	ctx := t.Context()
	e := newEndpoint(t, s, "https://outcomes.example.com/")
	ok := newDelivery(t, s, e.ID, t0)
	retry := newDelivery(t, s, e.ID, t0)
	dead := newDelivery(t, s, e.ID, t0)
	claimWebhooks(t, s, t0, time.Minute, 10)

	must(t, "MarkWebhookFailed", s.MarkWebhookFailed(ctx, ok.ID, 503, "unavailable", at(time.Second)))
	must(t, "MarkWebhookDelivered", s.MarkWebhookDelivered(ctx, ok.ID, 204, at(2*time.Second)))
	got := getDelivery(t, s, ok.ID)
	if got.Attempts != 1 || got.LastStatus != 204 || got.LastError != "" {
		t.Errorf("delivered: got (Attempts, LastStatus, LastError) (%d, %d, %q), want (1, 204, \"\")", got.Attempts, got.LastStatus, got.LastError)
	}
	sameTime(t, "DeliveredAt", got.DeliveredAt, at(2*time.Second))
	wantErr(t, "MarkWebhookDelivered(delivered)", s.MarkWebhookDelivered(ctx, ok.ID, 200, at(3*time.Second)), store.ErrNotFound)
	wantErr(t, "MarkWebhookFailed(delivered)", s.MarkWebhookFailed(ctx, ok.ID, 500, "x", at(3*time.Second)), store.ErrNotFound)

	must(t, "MarkWebhookFailed", s.MarkWebhookFailed(ctx, retry.ID, 0, "connection refused", at(time.Hour)))
	got = getDelivery(t, s, retry.ID)
	if got.Attempts != 1 || got.LastStatus != 0 || got.LastError != "connection refused" {
		t.Errorf("failed: got (%d, %d, %q), want (1, 0, connection refused)", got.Attempts, got.LastStatus, got.LastError)
	}

	errs := race(4, func(int) error { return s.MarkWebhookDead(ctx, dead.ID, 500, "gave up", at(time.Minute)) })
	if n, _ := countOutcomes(t, "MarkWebhookDead", errs, store.ErrNotFound); n != 1 {
		t.Errorf("concurrent MarkWebhookDead: %d succeeded, want 1", n)
	}
	got = getDelivery(t, s, dead.ID)
	if got.Attempts != 1 || got.LastStatus != 500 || got.LastError != "gave up" {
		t.Errorf("dead: got (%d, %d, %q), want (1, 500, gave up)", got.Attempts, got.LastStatus, got.LastError)
	}
	sameTime(t, "DeadAt", got.DeadAt, at(time.Minute))
	if n := pendingWebhooks(t, s); n != 1 {
		t.Errorf("PendingWebhooks: got %d, want 1 (the one to retry)", n)
	}
	if ids := claimWebhooks(t, s, at(time.Hour-time.Second), time.Minute, 10); len(ids) != 0 {
		t.Errorf("claim before the retry is due: got %v", ids)
	}
	if ids := claimWebhooks(t, s, at(2*time.Hour), time.Minute, 10); !slices.Equal(ids, []string{retry.ID}) {
		t.Errorf("claim later: got %v, want only the retry %s", ids, retry.ID)
	}
}

func testReplayWebhook(t *testing.T, s store.Webhooks) {
	ctx := t.Context()
	e := newEndpoint(t, s, "https://replay.example.com/")
	delivered := newDelivery(t, s, e.ID, t0)
	dead := newDelivery(t, s, e.ID, t0)
	queuedOne := newDelivery(t, s, e.ID, t0)
	claimWebhooks(t, s, t0, time.Minute, 10)
	must(t, "MarkWebhookDelivered", s.MarkWebhookDelivered(ctx, delivered.ID, 200, at(time.Second)))
	must(t, "MarkWebhookFailed", s.MarkWebhookFailed(ctx, dead.ID, 500, "x", at(time.Second)))
	must(t, "MarkWebhookDead", s.MarkWebhookDead(ctx, dead.ID, 500, "y", at(2*time.Second)))

	wantErr(t, "ReplayWebhook(queued)", s.ReplayWebhook(ctx, queuedOne.ID, at(time.Hour)), store.ErrConflict)
	for _, d := range []*store.WebhookDelivery{delivered, dead} {
		must(t, "ReplayWebhook", s.ReplayWebhook(ctx, d.ID, at(time.Hour)))
		got := getDelivery(t, s, d.ID)
		if got.Attempts != 0 || !got.DeliveredAt.IsZero() || !got.DeadAt.IsZero() || !bytes.Equal(got.Payload, d.Payload) {
			t.Errorf("replayed %s: got %+v, want queued again with Attempts 0 and its payload", d.ID, got)
		}
		sameTime(t, "NextAttemptAt", got.NextAttemptAt, at(time.Hour))
	}
	wantErr(t, "ReplayWebhook(replayed, queued again)", s.ReplayWebhook(ctx, dead.ID, at(time.Hour)), store.ErrConflict)
	if ids := claimWebhooks(t, s, at(time.Hour), time.Minute, 10); !slices.Equal(ids, sortedIDs(delivered.ID, dead.ID, queuedOne.ID)) {
		t.Errorf("claim after replay: got %v, want all three", ids)
	}
}

func testDeleteWebhookEndpoint(t *testing.T, s store.Webhooks) {
	ctx := t.Context()
	gone := newEndpoint(t, s, "https://gone.example.com/")
	kept := newEndpoint(t, s, "https://kept.example.com/")
	d := newDelivery(t, s, gone.ID, t0)
	k := newDelivery(t, s, kept.ID, t0)
	must(t, "DeleteWebhookEndpoint", s.DeleteWebhookEndpoint(ctx, gone.ID))
	_, err := s.WebhookEndpoint(ctx, gone.ID)
	wantErr(t, "WebhookEndpoint(deleted)", err, store.ErrNotFound)
	_, err = s.WebhookDelivery(ctx, d.ID)
	wantErr(t, "WebhookDelivery(of a deleted endpoint)", err, store.ErrNotFound)
	getDelivery(t, s, k.ID)
	if n := pendingWebhooks(t, s); n != 1 {
		t.Errorf("PendingWebhooks: got %d, want 1", n)
	}
}

func testEnqueueWebhookRolledBack(t *testing.T, s store.Webhooks, e env) {
	tx, ok := as[store.Transactor](e)
	if !ok {
		t.Skipf("storetest: %s does not implement store.Transactor", typeName(e.typ))
	}
	ep := newEndpoint(t, s, "https://tx.example.com/")
	boom := errors.New("roll back")
	var id string
	err := tx.InTx(t.Context(), func(ctx context.Context) error {
		d := &store.WebhookDelivery{EndpointID: ep.ID, EventType: "x", Payload: []byte("{}"), CreatedAt: t0}
		if err := s.EnqueueWebhook(ctx, d); err != nil {
			return err
		}
		id = d.ID
		if n, err := s.PendingWebhooks(ctx); err != nil || n != 1 {
			return fmt.Errorf("PendingWebhooks inside the transaction: got %d, %v, want 1", n, err)
		}
		return boom
	})
	wantErr(t, "InTx", err, boom)
	if n := pendingWebhooks(t, s); n != 0 {
		t.Errorf("PendingWebhooks after rollback: got %d, want 0", n)
	}
	_, err = s.WebhookDelivery(t.Context(), id)
	wantErr(t, "WebhookDelivery(rolled back)", err, store.ErrNotFound)

	err = tx.InTx(t.Context(), func(ctx context.Context) error {
		return s.EnqueueWebhook(ctx, &store.WebhookDelivery{EndpointID: ep.ID, EventType: "x", Payload: []byte("{}"), CreatedAt: t0})
	})
	must(t, "InTx(commit)", err)
	if n := pendingWebhooks(t, s); n != 1 {
		t.Errorf("PendingWebhooks after commit: got %d, want 1", n)
	}
}
