package mail_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sigra-go/sigra/mail"
)

// TestOutboxJobs: a deferred job is stored sealed like a message and run
// once by the worker with its registered function; a failing job is
// retried with backoff, and a kind without a function is given up.
func TestOutboxJobs(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *testDB) {
		clk := newClock()
		st := &recorder{mailStore: db.open(t)}
		box := mail.NewMailbox(mail.MailboxConfig{Now: clk.Now})
		o := newOutbox(t, mail.OutboxConfig{Store: st, Keys: testKeys(t, "k1"), Sender: box, Now: clk.Now, MaxAttempts: 3})
		ctx := context.Background()

		var runs atomic.Int32
		var failing atomic.Bool
		o.HandleJob("test.reset", func(ctx context.Context, j *mail.Job) error {
			runs.Add(1)
			if failing.Load() {
				return errors.New("store unreachable")
			}
			if j.Data["ip"] != "192.0.2.1" {
				t.Errorf("job data: got %v, want the request's facts", j.Data)
			}
			return o.Send(ctx, &mail.Message{To: j.To, Subject: "Reset", Text: "link for " + j.To})
		})
		if err := o.Defer(ctx, &mail.Job{Kind: "test.reset", To: "user@example.com", Data: map[string]string{"ip": "192.0.2.1"}}); err != nil {
			t.Fatal(err)
		}
		id := st.last(t)
		if row := messageByID(t, st, id); strings.Contains(string(row.Sealed), "test.reset") || strings.Contains(string(row.Sealed), "192.0.2.1") {
			t.Error("the job is stored in the clear, want it sealed")
		}
		for range 3 {
			deliverDue(t, o)
		}
		if runs.Load() != 1 {
			t.Fatalf("job runs: got %d, want 1", runs.Load())
		}
		if got := box.Messages("user@example.com"); len(got) != 1 || got[0].Subject != "Reset" {
			t.Fatalf("mailbox: got %d messages, want the job's one", len(got))
		}

		// A failing job is retried after the backoff, then given up.
		failing.Store(true)
		runs.Store(0)
		if err := o.Defer(ctx, &mail.Job{Kind: "test.reset", To: "user@example.com"}); err != nil {
			t.Fatal(err)
		}
		failed := st.last(t)
		for range 5 {
			deliverDue(t, o)
			clk.Advance(mail.DefaultMaxDelay)
		}
		if runs.Load() != 3 {
			t.Errorf("failing job runs: got %d, want 3 (MaxAttempts)", runs.Load())
		}
		if row := messageByID(t, st, failed); row.GivenUpAt.IsZero() {
			t.Error("failing job: not given up after MaxAttempts")
		}

		// No function for the kind: given up at once.
		if err := o.Defer(ctx, &mail.Job{Kind: "test.unknown", To: "user@example.com"}); err != nil {
			t.Fatal(err)
		}
		unknown := st.last(t)
		deliverDue(t, o)
		if row := messageByID(t, st, unknown); row.GivenUpAt.IsZero() || !strings.Contains(row.LastError, "no handler") {
			t.Errorf("unknown kind: given up at %v with %q, want given up naming the missing handler", row.GivenUpAt, row.LastError)
		}

		// Bad jobs are refused and store nothing.
		before := pending(t, st)
		for _, j := range []*mail.Job{nil, {To: "user@example.com"}, {Kind: "test.reset", To: "not an address"}} {
			if err := o.Defer(ctx, j); !errors.Is(err, mail.ErrInvalidMessage) {
				t.Errorf("Defer(%+v): got %v, want ErrInvalidMessage", j, err)
			}
		}
		if pending(t, st) != before {
			t.Error("a refused job was queued")
		}
	})
}
