package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/webhook"
)

// TestOnAudit checks the events that come from the audit log: a success
// event reaches the endpoints subscribed to its action, with the stable
// payload (every field present, no IP or user agent); a failure event,
// an action nobody subscribed to, and an event whose transaction rolls
// back queue nothing.
func TestOnAudit(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database) {
		s, c, rc := db.open(t), newClock(), newReceiver(t)
		w := newWebhooks(t, s, c, nil)
		_, secret := subscribe(t, w, rc.srv.URL, "account.password_change")
		at := c.Now().Add(-time.Second)
		ev := func(action, outcome string, meta map[string]string) *store.AuditEvent {
			return &store.AuditEvent{ID: store.NewID(), At: at, Action: action, ActorID: "u1", SubjectID: "u1", OrgID: "o1",
				IP: "192.0.2.1", UserAgent: "Firefox", Outcome: outcome, Metadata: meta}
		}
		inTx := func(e *store.AuditEvent, fail error) error {
			return s.InTx(t.Context(), func(ctx context.Context) error {
				if err := w.OnAudit(ctx, e); err != nil {
					return err
				}
				return fail
			})
		}
		errBoom := errors.New("boom")
		for _, tc := range []struct {
			name string
			e    *store.AuditEvent
			fail error
		}{
			{"failure event", ev("account.password_change", "failure", nil), nil},
			{"unsubscribed action", ev("auth.login.success", "success", nil), nil},
			{"rolled back", ev("account.password_change", "success", nil), errBoom},
		} {
			if err := inTx(tc.e, tc.fail); !errors.Is(err, tc.fail) {
				t.Fatalf("%s: got %v, want %v", tc.name, err, tc.fail)
			}
			if n := pending(t, s); n != 0 {
				t.Errorf("%s: got %d queued deliveries, want 0", tc.name, n)
			}
		}
		if err := w.OnAudit(t.Context(), nil); err != nil {
			t.Errorf("OnAudit(nil): got %v, want nil", err)
		}

		if err := inTx(ev("account.password_change", "success", nil), nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := deliverDue(t, w); got != 1 {
			t.Fatalf("DeliverDue: delivered %d, want 1", got)
		}
		r := rc.requests()[0]
		if err := verifyAsSent([]string{secret}, r); err != nil {
			t.Errorf("verify: %v", err)
		}
		want := fmt.Sprintf(`{"type":"account.password_change","timestamp":%q,"data":{"action":"account.password_change","at":%q,`+
			`"actor_id":"u1","subject_id":"u1","impersonator_id":"","org_id":"o1","outcome":"success","metadata":{}}}`,
			c.Now().Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))
		if string(r.body) != want {
			t.Errorf("body:\ngot  %s\nwant %s", r.body, want)
		}
		var data struct {
			Data webhook.AuditData `json:"data"`
		}
		if err := json.Unmarshal(r.body, &data); err != nil || !data.Data.At.Equal(at) {
			t.Errorf("body as AuditData: %+v, %v", data, err)
		}
	})
}
