package mail_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/token"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: fixedNow} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mailStore is what the tests need of a store: the outbox queue and
// transactions (the adapters implement both).
type mailStore interface {
	store.Outbox
	store.Transactor
}

// testDB is one database that several store handles (as from several
// processes) can open.
type testDB struct {
	name string
	// open returns a new handle on the database, closed at cleanup.
	open func(t *testing.T) mailStore
	// setRecipient rewrites a queued message's address behind the
	// outbox's back.
	setRecipient func(t *testing.T, id, to string)
	// files are the database's files, searched for plaintext; nil when
	// the data is not in local files.
	files func() []string
}

// messageReader reads one message whether sent or not; both adapters have
// it beside store.Outbox.
type messageReader interface {
	MessageByID(ctx context.Context, id string) (*store.Message, error)
}

func sqliteDB(t *testing.T) *testDB {
	path := filepath.Join(t.TempDir(), "app.db")
	return &testDB{
		name: "sqlite",
		open: func(t *testing.T) mailStore {
			t.Helper()
			db, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		setRecipient: func(t *testing.T, id, to string) {
			t.Helper()
			raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(`UPDATE sigra_outbox SET recipient = ? WHERE id = ?`, to, id); err != nil {
				t.Fatal(err)
			}
		},
		files: func() []string { return []string{path, path + "-wal"} },
	}
}

func sqliteDBForBench(b *testing.B) mailStore {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "app.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func postgresDB(t *testing.T) *testDB {
	dsn := pgtest.DSN(t)
	return &testDB{
		name: "postgres",
		open: func(t *testing.T) mailStore {
			t.Helper()
			db, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(db.Close)
			return db
		},
		setRecipient: func(t *testing.T, id, to string) {
			t.Helper()
			conn, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(context.Background(), `UPDATE sigra_outbox SET to_addr = $1 WHERE id = $2`, to, id); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// eachDB runs fn against a fresh SQLite database and, when
// SIGRA_TEST_POSTGRES is set, a fresh PostgreSQL schema.
func eachDB(t *testing.T, fn func(t *testing.T, db *testDB)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, sqliteDB(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, postgresDB(t))
	})
}

// recorder is a store whose Enqueue remembers the IDs it queued.
type recorder struct {
	mailStore
	mu  sync.Mutex
	ids []string
}

func (r *recorder) Enqueue(ctx context.Context, m *store.Message) error {
	if err := r.mailStore.Enqueue(ctx, m); err != nil {
		return err
	}
	r.mu.Lock()
	r.ids = append(r.ids, m.ID)
	r.mu.Unlock()
	return nil
}

func (r *recorder) last(t *testing.T) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ids) == 0 {
		t.Fatal("nothing was queued")
	}
	return r.ids[len(r.ids)-1]
}

func testKeys(t testing.TB, ids ...string) string {
	t.Helper()
	var specs []string
	for _, id := range ids {
		k, err := seal.GenerateKey(id)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, k.Encode())
	}
	return strings.Join(specs, ",")
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newOutbox(t *testing.T, cfg mail.OutboxConfig) *mail.Outbox {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	o, err := mail.NewOutbox(cfg)
	if err != nil {
		t.Fatalf("NewOutbox: %v", err)
	}
	return o
}

func messageByID(t *testing.T, st mailStore, id string) *store.Message {
	t.Helper()
	if r, ok := st.(*recorder); ok {
		st = r.mailStore
	}
	m, err := st.(messageReader).MessageByID(context.Background(), id)
	if err != nil {
		t.Fatalf("MessageByID(%s): %v", id, err)
	}
	return m
}

func pending(t *testing.T, st store.Outbox) int {
	t.Helper()
	n, err := st.PendingMessages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// resetMessage returns a message carrying a fresh secret link.
func resetMessage(t *testing.T, to string) (*mail.Message, string) {
	t.Helper()
	tok, err := token.New()
	if err != nil {
		t.Fatal(err)
	}
	link := "https://example.com/auth/reset?token=" + tok
	return &mail.Message{
		To: to, Subject: "Reset your password",
		Text: "Reset your password: " + link + "\n",
		HTML: `<p><a href="` + link + `">Reset your password</a></p>`,
	}, tok
}

func deliverDue(t *testing.T, o *mail.Outbox) (sent, failed int) {
	t.Helper()
	sent, failed, err := o.DeliverDue(context.Background())
	if err != nil {
		t.Fatalf("DeliverDue: %v", err)
	}
	return sent, failed
}

// TestOutboxRetriesUntilServerIsUp is the outbox's central promise: a
// message queued while the SMTP server is down is delivered, exactly once,
// when it comes back, and its body is never stored readable.
func TestOutboxRetriesUntilServerIsUp(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		addr := freeAddr(t) // nothing listens yet: the server is down
		clk := newClock()
		smtpSender := newSMTP(t, smtpConfig(t, &testServer{addr: addr}, mail.InsecureNoTLS))
		st := &recorder{mailStore: db.open(t)}
		o := newOutbox(t, mail.OutboxConfig{Store: st, Keys: testKeys(t, "k1"), Sender: smtpSender, Now: clk.Now, PollInterval: 20 * time.Millisecond})

		msg, secret := resetMessage(t, "user@example.com")
		if err := o.Send(ctx, msg); err != nil {
			t.Fatalf("Send with the server down: %v", err)
		}
		id := st.last(t)

		row := messageByID(t, st, id)
		for _, field := range []string{row.To, string(row.Sealed), row.LastError} {
			if strings.Contains(field, secret) || strings.Contains(field, "Reset your password") {
				t.Fatalf("stored row holds the plaintext body: %q", field)
			}
		}
		if row.To != "user@example.com" || len(row.Sealed) == 0 {
			t.Fatalf("stored row: to %q, %d sealed bytes", row.To, len(row.Sealed))
		}
		checkFilesLackSecret(t, db, secret)

		// First attempt: connection refused, retried later.
		if sent, failed := deliverDue(t, o); sent != 0 || failed != 1 {
			t.Fatalf("first round: sent %d, failed %d; want 0, 1", sent, failed)
		}
		row = messageByID(t, st, id)
		if row.Attempts != 1 || !strings.Contains(row.LastError, "connection refused") || !row.SentAt.IsZero() {
			t.Fatalf("after the failure: attempts %d, last error %q, sent at %v", row.Attempts, row.LastError, row.SentAt)
		}
		if wait := row.NextAttemptAt.Sub(clk.Now()); wait < mail.DefaultBaseDelay/2 || wait > mail.DefaultBaseDelay {
			t.Errorf("next attempt in %v, want between %v and %v", wait, mail.DefaultBaseDelay/2, mail.DefaultBaseDelay)
		}
		// Not due yet: nothing is attempted.
		if sent, failed := deliverDue(t, o); sent != 0 || failed != 0 {
			t.Fatalf("before the backoff ends: sent %d, failed %d; want 0, 0", sent, failed)
		}

		// The server comes up on the same address; time passes.
		ts := startServer(t, serverOptions{addr: addr})
		clk.Advance(mail.DefaultBaseDelay)

		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- o.Run(runCtx) }()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if _, err := ts.waitFor(wctx, 1); err != nil {
			t.Fatalf("message never arrived: %v", err)
		}
		// Wait for the worker to record the delivery (the server has the
		// message slightly before), then let it poll a few more times,
		// with time well past any lease: nothing may be sent again.
		for pending(t, st) != 0 {
			if wctx.Err() != nil {
				t.Fatal("delivery never recorded")
			}
			time.Sleep(time.Millisecond)
		}
		for range 3 {
			clk.Advance(mail.DefaultLease * 2)
			o.Notify()
			if _, _, err := o.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		stop()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		got := ts.messages()
		if len(got) != 1 {
			t.Fatalf("server received %d messages, want exactly 1", len(got))
		}
		if !strings.Contains(parseMessage(t, got[0].Data).Text, secret) {
			t.Errorf("delivered message lacks the link")
		}
		row = messageByID(t, st, id)
		if row.SentAt.IsZero() || len(row.Sealed) != 0 {
			t.Errorf("after delivery: sent at %v, %d sealed bytes; want a time and 0", row.SentAt, len(row.Sealed))
		}
		if n := pending(t, st); n != 0 {
			t.Errorf("%d messages pending, want 0", n)
		}
	})
}

// checkFilesLackSecret searches the database files for the secret.
func checkFilesLackSecret(t *testing.T, db *testDB, secret string) {
	t.Helper()
	if db.files == nil {
		return
	}
	for _, f := range db.files() {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("%s contains the secret link in the clear", filepath.Base(f))
		}
	}
}

// blockingMailer blocks every send until released or its context ends.
type blockingMailer struct {
	started chan struct{}
	release chan struct{}
	sent    atomic.Int32
}

func (b *blockingMailer) Send(ctx context.Context, _ *mail.Message) error {
	b.started <- struct{}{}
	select {
	case <-b.release:
		b.sent.Add(1)
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func TestOutboxShutdown(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		clk := newClock()
		keys := testKeys(t, "k1")

		t.Run("nothing running", func(t *testing.T) {
			// Queued while no worker runs, delivered by the next one.
			st := &recorder{mailStore: db.open(t)}
			box := mail.NewMailbox(mail.MailboxConfig{})
			o := newOutbox(t, mail.OutboxConfig{Store: st, Keys: keys, Sender: box, Now: clk.Now})
			send(t, o, "a@example.com", "queued before start")
			o2 := newOutbox(t, mail.OutboxConfig{Store: db.open(t), Keys: keys, Sender: box, Now: clk.Now})
			runUntil(t, o2, func() bool { return len(box.Messages("a@example.com")) == 1 })
			if got := subjects(box.Messages("")); got != "queued before start" {
				t.Errorf("delivered %q", got)
			}
		})

		t.Run("send abandoned", func(t *testing.T) {
			// A send still in flight when the grace ends is abandoned; the
			// message is due again at once for the next worker.
			st := &recorder{mailStore: db.open(t)}
			blocked := &blockingMailer{started: make(chan struct{}, 1), release: make(chan struct{})}
			o := newOutbox(t, mail.OutboxConfig{Store: st, Keys: keys, Sender: blocked, Now: clk.Now, ShutdownGrace: time.Millisecond})
			send(t, o, "b@example.com", "abandoned")
			id := st.last(t)
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- o.Run(runCtx) }()
			<-blocked.started
			stop()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
			row := messageByID(t, st, id)
			if !row.SentAt.IsZero() || !strings.Contains(row.LastError, "shutdown") || row.NextAttemptAt.After(clk.Now()) {
				t.Fatalf("after shutdown: sent at %v, last error %q, next attempt %v; want unsent and due now", row.SentAt, row.LastError, row.NextAttemptAt)
			}
			box := mail.NewMailbox(mail.MailboxConfig{})
			o2 := newOutbox(t, mail.OutboxConfig{Store: db.open(t), Keys: keys, Sender: box, Now: clk.Now})
			if sent, _ := deliverDue(t, o2); sent != 1 || len(box.Messages("b@example.com")) != 1 {
				t.Fatalf("restarted worker sent %d, want 1", sent)
			}
		})

		t.Run("send finished within grace", func(t *testing.T) {
			st := &recorder{mailStore: db.open(t)}
			blocked := &blockingMailer{started: make(chan struct{}, 1), release: make(chan struct{})}
			o := newOutbox(t, mail.OutboxConfig{Store: st, Keys: keys, Sender: blocked, Now: clk.Now, ShutdownGrace: time.Hour})
			send(t, o, "c@example.com", "finished")
			id := st.last(t)
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- o.Run(runCtx) }()
			<-blocked.started
			stop()
			close(blocked.release) // the send completes after cancellation
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
			if row := messageByID(t, st, id); row.SentAt.IsZero() || blocked.sent.Load() != 1 {
				t.Fatalf("send completed during grace: sent at %v, sends %d; want recorded once", row.SentAt, blocked.sent.Load())
			}
		})

		t.Run("worker died holding a lease", func(t *testing.T) {
			// A worker claimed the message and died: it is sent again
			// after the lease, not before.
			st := &recorder{mailStore: db.open(t)}
			box := mail.NewMailbox(mail.MailboxConfig{})
			o := newOutbox(t, mail.OutboxConfig{Store: st, Keys: keys, Sender: box, Now: clk.Now})
			send(t, o, "d@example.com", "leased")
			if claimed, err := st.ClaimMessages(ctx, clk.Now(), mail.DefaultLease, 10); err != nil || len(claimed) != 1 {
				t.Fatalf("claim by the dying worker: %d messages, %v", len(claimed), err)
			}
			if sent, _ := deliverDue(t, o); sent != 0 {
				t.Fatalf("sent %d while another worker held the lease, want 0", sent)
			}
			clk.Advance(mail.DefaultLease)
			if sent, _ := deliverDue(t, o); sent != 1 || len(box.Messages("d@example.com")) != 1 {
				t.Fatalf("after the lease: sent %d, want 1", sent)
			}
		})
	})
}

// runUntil runs o until cond holds, then stops it.
func runUntil(t *testing.T, o *mail.Outbox, cond func() bool) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			stop()
			<-done
			t.Fatal("condition never held")
		case <-tick.C:
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestOutboxTwoWorkers runs two workers, each with its own store handle as
// two instances would, on one queue: every message is delivered once.
func TestOutboxTwoWorkers(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *testDB) {
		keys := testKeys(t, "k1")
		const n = 40
		boxes := []*mail.Mailbox{mail.NewMailbox(mail.MailboxConfig{Size: n}), mail.NewMailbox(mail.MailboxConfig{Size: n})}
		var workers []*mail.Outbox
		for _, box := range boxes {
			// Each send takes a moment, as a real one does, so that both
			// workers are busy at once and a double claim would show.
			slow := mail.SenderFunc(func(ctx context.Context, m *mail.Message) error {
				time.Sleep(time.Millisecond)
				return box.Send(ctx, m)
			})
			workers = append(workers, newOutbox(t, mail.OutboxConfig{
				Store: db.open(t), Keys: keys, Sender: slow, Batch: 3, PollInterval: 5 * time.Millisecond,
			}))
		}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Go(func() {
				if err := w.Run(ctx); err != nil {
					t.Errorf("Run: %v", err)
				}
			})
		}
		// Both instances queue, as both would serve requests.
		for i := range n {
			send(t, workers[i%2], fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("m%d", i))
		}
		total := func() int { return len(boxes[0].Messages("")) + len(boxes[1].Messages("")) }
		deadline := time.Now().Add(60 * time.Second)
		for total() < n && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		// Keep both polling a little longer so a double claim would show.
		for range 5 {
			for _, w := range workers {
				if _, _, err := w.DeliverDue(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		}
		stop()
		wg.Wait()
		count := map[string]int{}
		for _, box := range boxes {
			for _, m := range box.Messages("") {
				count[m.Subject]++
			}
		}
		for i := range n {
			if c := count[fmt.Sprintf("m%d", i)]; c != 1 {
				t.Errorf("m%d delivered %d times, want 1", i, c)
			}
		}
		if len(count) != n {
			t.Errorf("%d distinct messages delivered, want %d", len(count), n)
		}
		if p := pending(t, db.open(t)); p != 0 {
			t.Errorf("%d messages still pending", p)
		}
		t.Logf("worker 1 sent %d, worker 2 sent %d", len(boxes[0].Messages("")), len(boxes[1].Messages("")))
	})
}

// failingMailer fails every send with err and counts the attempts.
type failingMailer struct {
	err   error
	calls atomic.Int32
}

func (f *failingMailer) Send(context.Context, *mail.Message) error {
	f.calls.Add(1)
	return f.err
}

func TestOutboxGivesUp(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *testDB) {
		tests := []struct {
			name      string
			err       error
			attempts  int
			wantCalls int32
		}{
			{"temporary failures", errors.New("451 try again later"), 3, 3},
			{"permanent rejection", fmt.Errorf("%w: 550 no such user", mail.ErrRejected), 3, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				clk := newClock()
				st := &recorder{mailStore: db.open(t)}
				f := &failingMailer{err: tt.err}
				o := newOutbox(t, mail.OutboxConfig{Store: st, Keys: testKeys(t, "k1"), Sender: f, Now: clk.Now, MaxAttempts: tt.attempts})
				send(t, o, "user@example.com", tt.name)
				id := st.last(t)
				for range 10 {
					deliverDue(t, o)
					clk.Advance(mail.DefaultMaxDelay)
				}
				if got := f.calls.Load(); got != tt.wantCalls {
					t.Errorf("%d attempts, want %d", got, tt.wantCalls)
				}
				// The last attempt ran at the clock's time after
				// wantCalls-1 advances.
				gaveUpAt := fixedNow.Add(time.Duration(tt.wantCalls-1) * mail.DefaultMaxDelay)
				row := messageByID(t, st, id)
				if !row.GivenUpAt.Equal(gaveUpAt) || !row.SentAt.IsZero() {
					t.Errorf("given-up row: given up at %v, sent at %v; want %v and never sent", row.GivenUpAt, row.SentAt, gaveUpAt)
				}
				if !strings.HasPrefix(row.LastError, "gave up: ") || row.Attempts != int(tt.wantCalls) {
					t.Errorf("given-up row: last error %q, attempts %d; want \"gave up: ...\" and %d", row.LastError, row.Attempts, tt.wantCalls)
				}
				if len(row.Sealed) != 0 {
					t.Errorf("given-up row: got %d sealed bytes, want the body erased (it will never be sent)", len(row.Sealed))
				}
				if n := pending(t, st); n != 0 {
					t.Errorf("pending after giving up: got %d, want 0", n)
				}
			})
		}
	})
}

// TestOutboxBodyBoundToRecipient changes a queued message's address in the
// database: the body must not open, so the link is never sent there.
func TestOutboxBodyBoundToRecipient(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *testDB) {
		st := &recorder{mailStore: db.open(t)}
		box := mail.NewMailbox(mail.MailboxConfig{})
		o := newOutbox(t, mail.OutboxConfig{Store: st, Keys: testKeys(t, "k1"), Sender: box})
		msg, _ := resetMessage(t, "user@example.com")
		if err := o.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
		id := st.last(t)
		db.setRecipient(t, id, "attacker@example.com")
		if sent, failed := deliverDue(t, o); sent != 0 || failed != 1 {
			t.Fatalf("sent %d, failed %d; want 0, 1", sent, failed)
		}
		if n := len(box.Messages("")); n != 0 {
			t.Fatalf("%d messages delivered, want 0", n)
		}
		row := messageByID(t, st, id)
		if !strings.Contains(row.LastError, "undeliverable") || row.GivenUpAt.IsZero() || len(row.Sealed) != 0 {
			t.Errorf("last error %q, given up at %v, %d sealed bytes; want undeliverable, given up, body erased", row.LastError, row.GivenUpAt, len(row.Sealed))
		}
	})
}

// TestOutboxSendInTransaction: Send called with the context of a
// transaction of the outbox's store queues the message in it, so it
// commits or rolls back with the change it announces and no worker sees
// it before the commit; Send outside a transaction queues at once.
func TestOutboxSendInTransaction(t *testing.T) {
	t.Parallel()
	errRollback := errors.New("rollback")
	tests := []struct {
		name     string
		inTx     bool
		fail     error
		want     int // messages delivered
		visible0 bool
	}{
		{"rolled back", true, errRollback, 0, false},
		{"committed", true, nil, 1, false},
		{"outside a transaction", false, nil, 1, true},
	}
	eachDB(t, func(t *testing.T, db *testDB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				st := db.open(t)
				box := mail.NewMailbox(mail.MailboxConfig{})
				o := newOutbox(t, mail.OutboxConfig{Store: st, Keys: testKeys(t, "k1"), Sender: box})
				before := pending(t, st)
				send := func(ctx context.Context) error {
					if err := o.Send(ctx, &mail.Message{To: "a@example.com", Subject: tt.name, Text: "x"}); err != nil {
						return err
					}
					// Another connection (a worker) sees it only once
					// it is committed.
					if visible := pending(t, st) > before; visible != tt.visible0 {
						t.Errorf("queued message visible outside before the commit: got %v, want %v", visible, tt.visible0)
					}
					return tt.fail
				}
				var err error
				if tt.inTx {
					err = st.InTx(ctx, send)
				} else {
					err = send(ctx)
				}
				if !errors.Is(err, tt.fail) {
					t.Fatalf("got error %v, want %v", err, tt.fail)
				}
				if got := pending(t, st) - before; got != tt.want {
					t.Fatalf("queued messages: got %d, want %d", got, tt.want)
				}
				deliverDue(t, o)
				if got := len(box.Messages("a@example.com")); got != tt.want {
					t.Fatalf("delivered: got %d (%q), want %d", got, subjects(box.Messages("")), tt.want)
				}
			})
		}
	})
}

func TestOutboxKeyRotation(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *testDB) {
		oldKeys := testKeys(t, "old")
		newKey := testKeys(t, "new")
		box := mail.NewMailbox(mail.MailboxConfig{})
		before := newOutbox(t, mail.OutboxConfig{Store: db.open(t), Keys: oldKeys, Sender: box})
		send(t, before, "a@example.com", "sealed with the old key")
		after := newOutbox(t, mail.OutboxConfig{Store: db.open(t), Keys: newKey + "," + oldKeys, Sender: box})
		send(t, after, "a@example.com", "sealed with the new key")
		if sent, failed := deliverDue(t, after); sent != 2 || failed != 0 {
			t.Fatalf("sent %d, failed %d; want 2, 0", sent, failed)
		}
	})
}

func TestOutboxRejectsInvalidMessage(t *testing.T) {
	t.Parallel()
	st := &recorder{mailStore: sqliteDB(t).open(t)}
	o := newOutbox(t, mail.OutboxConfig{Store: st, Keys: testKeys(t, "k1"), Sender: mail.NewMailbox(mail.MailboxConfig{})})
	if err := o.Send(context.Background(), &mail.Message{To: "a@example.com"}); !errors.Is(err, mail.ErrInvalidMessage) {
		t.Errorf("got %v, want ErrInvalidMessage", err)
	}
	if n := pending(t, st); n != 0 {
		t.Errorf("%d queued, want 0", n)
	}
}

func TestNewOutbox(t *testing.T) {
	t.Parallel()
	st := sqliteDB(t).open(t)
	box := mail.NewMailbox(mail.MailboxConfig{})
	keys := testKeys(t, "k1")
	tests := []struct {
		name string
		cfg  mail.OutboxConfig
		ok   bool
	}{
		{"minimal", mail.OutboxConfig{Store: st, Keys: keys, Sender: box}, true},
		{"retention kept forever", mail.OutboxConfig{Store: st, Keys: keys, Sender: box, Retention: -1}, true},
		{"no store", mail.OutboxConfig{Keys: keys, Sender: box}, false},
		{"no mailer", mail.OutboxConfig{Store: st, Keys: keys}, false},
		{"no keys", mail.OutboxConfig{Store: st, Sender: box}, false},
		{"bad keys", mail.OutboxConfig{Store: st, Sender: box, Keys: "k1:c2hvcnQ="}, false},
		{"negative poll", mail.OutboxConfig{Store: st, Keys: keys, Sender: box, PollInterval: -1}, false},
		{"negative attempts", mail.OutboxConfig{Store: st, Keys: keys, Sender: box, MaxAttempts: -1}, false},
		{"max below base", mail.OutboxConfig{Store: st, Keys: keys, Sender: box, BaseDelay: time.Minute, MaxDelay: time.Second}, false},
	}
	for _, tt := range tests {
		o, err := mail.NewOutbox(tt.cfg)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, sigra.ErrConfig)) || (o == nil) == tt.ok {
			t.Errorf("%s: NewOutbox = %v, %v", tt.name, o, err)
		}
	}
}
