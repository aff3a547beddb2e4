package mail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/store"
)

// splitMailer rejects mail to reject@example.com for good, fails mail to
// later@example.com for now, and delivers the rest to box.
func splitMailer(box *mail.Mailbox) mail.Sender {
	return mail.SenderFunc(func(ctx context.Context, m *mail.Message) error {
		switch m.To {
		case "reject@example.com":
			return fmt.Errorf("%w: 550 no such user", mail.ErrRejected)
		case "later@example.com":
			return errors.New("451 try again later")
		}
		return box.Send(ctx, m)
	})
}

// stored reports whether the message with id is still in st.
func stored(t *testing.T, st mailStore, id string) bool {
	t.Helper()
	if r, ok := st.(*recorder); ok {
		st = r.mailStore
	}
	_, err := st.(messageReader).MessageByID(context.Background(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("MessageByID(%s): %v", id, err)
	}
	return err == nil
}

// TestOutboxPurge: Purge deletes sent and given-up rows once they are
// older than the retention period, by the configured clock, and never a
// queued message.
func TestOutboxPurge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		retention time.Duration
		keep      time.Duration // the retention in effect
	}{
		{"default", 0, mail.DefaultRetention},
		{"custom", 90 * time.Minute, 90 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eachDB(t, func(t *testing.T, db *testDB) {
				ctx := context.Background()
				clk := newClock()
				st := &recorder{mailStore: db.open(t)}
				box := mail.NewMailbox(mail.MailboxConfig{})
				o := newOutbox(t, mail.OutboxConfig{Store: st, Keys: testKeys(t, "k1"), Sender: splitMailer(box),
					Now: clk.Now, MaxAttempts: 1000, Retention: tt.retention})
				ids := map[string]string{}
				for _, to := range []string{"sent@example.com", "reject@example.com", "later@example.com"} {
					send(t, o, to, to)
					ids[to] = st.last(t)
				}
				if sent, failed := deliverDue(t, o); sent != 1 || failed != 2 {
					t.Fatalf("delivery: sent %d, failed %d; want 1, 2", sent, failed)
				}
				purge := func(want int) {
					t.Helper()
					n, err := o.Purge(ctx)
					if err != nil {
						t.Fatalf("Purge: %v", err)
					}
					if n != want {
						t.Errorf("Purge at %v: got %d deleted, want %d", clk.Now(), n, want)
					}
				}
				purge(0)
				// Exactly the retention period old: kept.
				clk.Advance(tt.keep)
				purge(0)
				// Older: the sent and the given-up rows go.
				clk.Advance(time.Millisecond)
				purge(2)
				for to, want := range map[string]bool{"sent@example.com": false, "reject@example.com": false, "later@example.com": true} {
					if got := stored(t, st, ids[to]); got != want {
						t.Errorf("row of %s stored: got %v, want %v", to, got, want)
					}
				}
				// The queued message stays however old it gets.
				clk.Advance(100 * tt.keep)
				purge(0)
				if n := pending(t, st); n != 1 {
					t.Errorf("pending: got %d, want 1", n)
				}
			})
		})
	}
}

// purgeCounter is a store that counts claims and records the cutoff of
// every purge; PurgeMessages fails with err when it is set.
type purgeCounter struct {
	mailStore
	mu      sync.Mutex
	claims  int
	cutoffs []time.Time
	err     error
}

func (p *purgeCounter) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Message, error) {
	p.mu.Lock()
	p.claims++
	p.mu.Unlock()
	return p.mailStore.ClaimMessages(ctx, now, lease, limit)
}

// PurgeMessages records the cutoff once the purge has ended, so that a
// test seeing it recorded also sees what it deleted.
func (p *purgeCounter) PurgeMessages(ctx context.Context, before time.Time) (int, error) {
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	n := 0
	if err == nil {
		n, err = p.mailStore.PurgeMessages(ctx, before)
	}
	p.mu.Lock()
	p.cutoffs = append(p.cutoffs, before)
	p.mu.Unlock()
	return n, err
}

func (p *purgeCounter) counts() (claims, purges int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.claims, len(p.cutoffs)
}

func (p *purgeCounter) cutoff(i int) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cutoffs[i]
}

// afterTwoRounds waits until Run has claimed twice more: the second claim
// starts after the first round, purge decision included, has ended, so
// every decision taken from then on saw the clock as it was on entry.
func afterTwoRounds(t *testing.T, p *purgeCounter) {
	t.Helper()
	claims, _ := p.counts()
	waitFor(t, "two more delivery rounds", func() bool { c, _ := p.counts(); return c >= claims+2 })
}

// waitFor waits until cond holds; it fails the test if that takes more
// than 30 s, which only a hung worker would.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: never happened", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// startRun runs o until the test ends.
func startRun(t *testing.T, o *mail.Outbox) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// TestOutboxRunPurges: Run purges after its first round and then once an
// hour by the configured clock, not on every poll.
func TestOutboxRunPurges(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *testDB) {
		clk := newClock()
		pc := &purgeCounter{mailStore: &recorder{mailStore: db.open(t)}}
		box := mail.NewMailbox(mail.MailboxConfig{})
		o := newOutbox(t, mail.OutboxConfig{Store: pc, Keys: testKeys(t, "k1"), Sender: box, Now: clk.Now, PollInterval: time.Millisecond})

		// A message sent more than the retention period before Run starts.
		send(t, o, "old@example.com", "old")
		old := pc.mailStore.(*recorder).last(t)
		if sent, _ := deliverDue(t, o); sent != 1 {
			t.Fatalf("sent %d, want 1", sent)
		}
		clk.Advance(mail.DefaultRetention + time.Second)
		start := clk.Now()

		startRun(t, o)
		waitFor(t, "the purge at start", func() bool { _, n := pc.counts(); return n >= 1 })
		if got, want := pc.cutoff(0), start.Add(-mail.DefaultRetention); !got.Equal(want) {
			t.Errorf("first purge cutoff: got %v, want %v (now less the retention)", got, want)
		}
		if stored(t, pc.mailStore, old) {
			t.Error("the old sent message is still stored after the purge at start")
		}

		// Polls within the hour do not purge again.
		afterTwoRounds(t, pc)
		clk.Advance(purgeEvery - time.Minute)
		afterTwoRounds(t, pc)
		if _, n := pc.counts(); n != 1 {
			t.Errorf("purges %v after the first: got %d, want 1", purgeEvery-time.Minute, n)
		}
		// An hour after the last purge, the next one runs.
		clk.Advance(time.Minute)
		waitFor(t, "the hourly purge", func() bool { _, n := pc.counts(); return n >= 2 })
		if got, want := pc.cutoff(1), start.Add(purgeEvery-mail.DefaultRetention); !got.Equal(want) {
			t.Errorf("second purge cutoff: got %v, want %v", got, want)
		}
		afterTwoRounds(t, pc)
		if _, n := pc.counts(); n != 2 {
			t.Errorf("purges right after the hourly one: got %d, want 2", n)
		}
	})
}

// purgeEvery is how often Run purges, as its documentation states.
const purgeEvery = time.Hour

// TestOutboxRetentionForever: a negative Retention never deletes a row.
func TestOutboxRetentionForever(t *testing.T) {
	t.Parallel()
	clk := newClock()
	pc := &purgeCounter{mailStore: &recorder{mailStore: sqliteDB(t).open(t)}}
	box := mail.NewMailbox(mail.MailboxConfig{})
	o := newOutbox(t, mail.OutboxConfig{Store: pc, Keys: testKeys(t, "k1"), Sender: box, Now: clk.Now,
		PollInterval: time.Millisecond, Retention: -1})
	send(t, o, "kept@example.com", "kept")
	id := pc.mailStore.(*recorder).last(t)
	if sent, _ := deliverDue(t, o); sent != 1 {
		t.Fatalf("sent %d, want 1", sent)
	}
	clk.Advance(100 * mail.DefaultRetention)
	if n, err := o.Purge(context.Background()); n != 0 || err != nil {
		t.Errorf("Purge: got %d, %v; want 0, nil", n, err)
	}
	startRun(t, o)
	afterTwoRounds(t, pc)
	clk.Advance(2 * purgeEvery)
	afterTwoRounds(t, pc)
	if _, n := pc.counts(); n != 0 {
		t.Errorf("PurgeMessages calls: got %d, want 0", n)
	}
	if !stored(t, pc.mailStore, id) {
		t.Error("the sent message was deleted; a negative Retention keeps it")
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOutboxPurgeFailure: a failing purge is logged, delivery goes on, and
// the purge is tried again an hour later, not on every poll.
func TestOutboxPurgeFailure(t *testing.T) {
	t.Parallel()
	clk := newClock()
	pc := &purgeCounter{mailStore: sqliteDB(t).open(t), err: errors.New("disk I/O error")}
	box := mail.NewMailbox(mail.MailboxConfig{})
	var logs syncBuffer
	o := newOutbox(t, mail.OutboxConfig{Store: pc, Keys: testKeys(t, "k1"), Sender: box, Now: clk.Now,
		PollInterval: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	startRun(t, o)
	waitFor(t, "the purge failure in the log", func() bool { return strings.Contains(logs.String(), "disk I/O error") })
	if line := logs.String(); !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "purge") {
		t.Errorf("log: got %q, want an error about the purge", line)
	}
	send(t, o, "still@example.com", "still delivered")
	waitFor(t, "delivery after the failed purge", func() bool { return len(box.Messages("still@example.com")) == 1 })
	afterTwoRounds(t, pc)
	if _, n := pc.counts(); n != 1 {
		t.Errorf("purge attempts within the hour: got %d, want 1", n)
	}
	clk.Advance(purgeEvery)
	waitFor(t, "the purge tried again an hour later", func() bool { _, n := pc.counts(); return n >= 2 })
}

// settledElsewhere is a store in which another worker records every
// claimed message sent before this worker gets to it.
type settledElsewhere struct{ mailStore }

func (s settledElsewhere) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Message, error) {
	ms, err := s.mailStore.ClaimMessages(ctx, now, lease, limit)
	for _, m := range ms {
		if err := s.mailStore.MarkSent(ctx, m.ID, now); err != nil {
			return nil, err
		}
	}
	return ms, err
}

// TestOutboxGiveUpSettledElsewhere: giving up on a message that another
// worker recorded meanwhile is not a store failure, and leaves the other
// worker's record alone.
func TestOutboxGiveUpSettledElsewhere(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *testDB) {
		st := &recorder{mailStore: db.open(t)}
		o := newOutbox(t, mail.OutboxConfig{Store: settledElsewhere{st}, Keys: testKeys(t, "k1"),
			Sender: splitMailer(mail.NewMailbox(mail.MailboxConfig{}))})
		send(t, o, "reject@example.com", "rejected here, sent elsewhere")
		id := st.last(t)
		sent, failed, err := o.DeliverDue(context.Background())
		if err != nil || sent != 0 || failed != 1 {
			t.Fatalf("DeliverDue: sent %d, failed %d, %v; want 0, 1, nil", sent, failed, err)
		}
		row := messageByID(t, st, id)
		if row.SentAt.IsZero() || !row.GivenUpAt.IsZero() || row.Attempts != 0 {
			t.Errorf("row: sent at %v, given up at %v, attempts %d; want the other worker's delivery record untouched", row.SentAt, row.GivenUpAt, row.Attempts)
		}
	})
}
