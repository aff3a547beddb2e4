package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/webhook"
)

// testStore is what the tests need of a store.
type testStore interface {
	store.Webhooks
	store.Transactor
}

// database is one database that several store handles (as from several
// instances) can open.
type database struct {
	name string
	open func(t *testing.T) testStore
}

// eachBackend runs fn on a fresh SQLite file and, when SIGRA_TEST_POSTGRES
// is set, a fresh PostgreSQL schema.
func eachBackend(t *testing.T, fn func(t *testing.T, db *database)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "app.db")
		fn(t, &database{name: "sqlite", open: func(t *testing.T) testStore {
			t.Helper()
			db, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := pgtest.DSN(t)
		fn(t, &database{name: "postgres", open: func(t *testing.T) testStore {
			t.Helper()
			db, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(db.Close)
			return db
		}})
	})
}

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Millisecond)} }

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

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func testKeys(t *testing.T) string {
	t.Helper()
	k, err := seal.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	return k.Encode()
}

// newWebhooks returns a Webhooks on s with loopback allowed and short
// delays, changed by edit.
func newWebhooks(t *testing.T, s store.Webhooks, c *clock, edit func(*webhook.Config)) *webhook.Webhooks {
	t.Helper()
	cfg := webhook.Config{
		Store: s, Keys: testKeys(t), Now: c.Now, AllowNetworks: loopback,
		BaseDelay: time.Second, MaxDelay: time.Minute, Timeout: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if edit != nil {
		edit(&cfg)
	}
	w, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// request is one request a receiver got.
type request struct {
	header http.Header
	body   []byte
	status int
}

// receiver is a real HTTP receiver on loopback whose answer the test sets.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	// answer returns the status to answer, or 0 to drop the connection
	// (the receiver is down).
	answer func(r *http.Request) int
	got    []request
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{answer: func(*http.Request) int { return http.StatusNoContent }}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		status := rc.answer(r)
		if status != 0 {
			rc.got = append(rc.got, request{header: r.Header.Clone(), body: body, status: status})
		}
		rc.mu.Unlock()
		if status == 0 {
			panic(http.ErrAbortHandler) // the connection drops without an answer
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) set(answer func(r *http.Request) int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answer = answer
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// acknowledged counts the 2xx answers per webhook-id.
func (rc *receiver) acknowledged() map[string]int {
	n := map[string]int{}
	for _, r := range rc.requests() {
		if r.status/100 == 2 {
			n[r.header.Get(webhook.HeaderID)]++
		}
	}
	return n
}

func subscribe(t *testing.T, w *webhook.Webhooks, url string, types ...string) (webhook.Endpoint, string) {
	t.Helper()
	e, secret, err := w.Subscribe(t.Context(), url, types)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", url, err)
	}
	if !strings.HasPrefix(secret, webhook.SecretPrefix) {
		t.Fatalf("Subscribe: secret %q lacks the %q prefix", secret, webhook.SecretPrefix)
	}
	return e, secret
}

func enqueue(t *testing.T, w *webhook.Webhooks, s store.Transactor, eventType string, payload any) []string {
	t.Helper()
	var ids []string
	err := s.InTx(t.Context(), func(ctx context.Context) error {
		var err error
		ids, err = w.Enqueue(ctx, eventType, payload)
		return err
	})
	if err != nil {
		t.Fatalf("Enqueue(%q): %v", eventType, err)
	}
	return ids
}

func deliverDue(t *testing.T, w *webhook.Webhooks) (delivered, failed int) {
	t.Helper()
	delivered, failed, err := w.DeliverDue(t.Context())
	if err != nil {
		t.Fatalf("DeliverDue: %v", err)
	}
	return delivered, failed
}

func delivery(t *testing.T, w *webhook.Webhooks, id string) *store.WebhookDelivery {
	t.Helper()
	d, err := w.Delivery(t.Context(), id)
	if err != nil {
		t.Fatalf("Delivery(%q): %v", id, err)
	}
	return d
}

func pending(t *testing.T, s store.Webhooks) int {
	t.Helper()
	n, err := s.PendingWebhooks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// verifyAsSent verifies r with the receiver's clock at the request's own
// timestamp: the signature is checked, freshness is not.
func verifyAsSent(secrets []string, r request) error {
	ts, err := strconv.ParseInt(r.header.Get(webhook.HeaderTimestamp), 10, 64)
	if err != nil {
		return err
	}
	return webhook.VerifyAt(secrets, r.header, r.body, 0, time.Unix(ts, 0))
}

func TestDeliverSignedEvent(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database) {
		s, c, rc, other := db.open(t), newClock(), newReceiver(t), newReceiver(t)
		w := newWebhooks(t, s, c, nil)
		e, secret := subscribe(t, w, rc.srv.URL+"/hooks?tenant=1", "user.registered", "user.signed_in", "user.registered")
		if !slices.Equal(e.EventTypes, []string{"user.registered", "user.signed_in"}) || !e.Enabled {
			t.Errorf("Subscribe: got %+v, want the two types once each, enabled", e)
		}
		subscribe(t, w, other.srv.URL, "org.member_added")

		ids := enqueue(t, w, s, "user.registered", map[string]string{"user_id": "u1"})
		if len(ids) != 1 {
			t.Fatalf("Enqueue: got %d deliveries, want 1 (one subscribed endpoint)", len(ids))
		}
		if got, _ := deliverDue(t, w); got != 1 {
			t.Fatalf("DeliverDue: delivered %d, want 1", got)
		}
		reqs := rc.requests()
		if len(reqs) != 1 || len(other.requests()) != 0 {
			t.Fatalf("requests: got %d at the subscriber and %d elsewhere, want 1 and 0", len(reqs), len(other.requests()))
		}
		r := reqs[0]
		if got := r.header.Get(webhook.HeaderID); got != ids[0] {
			t.Errorf("webhook-id: got %q, want %q", got, ids[0])
		}
		if got := r.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type: got %q", got)
		}
		if err := webhook.VerifyAt([]string{secret}, r.header, r.body, 0, c.Now()); err != nil {
			t.Errorf("VerifyAt: %v", err)
		}
		if err := webhook.Verify([]string{secret}, r.header, r.body, time.Hour); err != nil {
			t.Errorf("Verify (real clock, near the test clock): %v", err)
		}
		var ev struct {
			Type      string            `json:"type"`
			Timestamp time.Time         `json:"timestamp"`
			Data      map[string]string `json:"data"`
		}
		if err := json.Unmarshal(r.body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != "user.registered" || ev.Data["user_id"] != "u1" || !ev.Timestamp.Equal(c.Now()) {
			t.Errorf("body: got %+v", ev)
		}
		d := delivery(t, w, ids[0])
		if d.DeliveredAt.IsZero() || d.LastStatus != http.StatusNoContent || d.Attempts != 0 {
			t.Errorf("delivery: got %+v, want delivered with status 204", d)
		}
		if got, _ := deliverDue(t, w); got != 0 {
			t.Errorf("DeliverDue again: delivered %d, want 0", got)
		}
	})
}

func TestReceiverDownThenUp(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database) {
		s, c, rc := db.open(t), newClock(), newReceiver(t)
		w := newWebhooks(t, s, c, nil)
		_, secret := subscribe(t, w, rc.srv.URL, "user.signed_in")
		var want []string
		for i := range 5 {
			want = append(want, enqueue(t, w, s, "user.signed_in", map[string]int{"n": i})...)
		}
		slices.Sort(want)

		rc.set(func(*http.Request) int { return 0 }) // down: connections drop
		for range 3 {
			if delivered, failed := deliverDue(t, w); delivered != 0 || failed != 5 {
				t.Fatalf("DeliverDue while down: delivered %d, failed %d, want 0 and 5", delivered, failed)
			}
			c.Advance(time.Minute) // past the longest backoff
		}
		rc.set(func(*http.Request) int { return http.StatusServiceUnavailable })
		if delivered, failed := deliverDue(t, w); delivered != 0 || failed != 5 {
			t.Fatalf("DeliverDue while answering 503: delivered %d, failed %d", delivered, failed)
		}
		d := delivery(t, w, want[0])
		if d.Attempts != 4 || d.LastStatus != 503 || d.LastError == "" {
			t.Errorf("after four failures: got Attempts %d, LastStatus %d, LastError %q", d.Attempts, d.LastStatus, d.LastError)
		}
		rc.set(func(*http.Request) int { return http.StatusOK })
		if got, _ := deliverDue(t, w); got != 0 {
			t.Errorf("DeliverDue before the retries are due: delivered %d, want 0", got)
		}
		c.Advance(time.Minute)
		if delivered, failed := deliverDue(t, w); delivered != 5 || failed != 0 {
			t.Fatalf("DeliverDue when up: delivered %d, failed %d, want 5 and 0", delivered, failed)
		}
		c.Advance(time.Hour)
		deliverDue(t, w)

		acks := rc.acknowledged()
		if got := slices.Sorted(func(yield func(string) bool) {
			for id := range acks {
				if !yield(id) {
					return
				}
			}
		}); !slices.Equal(got, want) {
			t.Errorf("acknowledged ids: got %v, want %v", got, want)
		}
		for id, n := range acks {
			if n != 1 {
				t.Errorf("webhook-id %s acknowledged %d times, want once", id, n)
			}
		}
		// Every attempt that reached the receiver carried one of the ids,
		// signed afresh.
		for _, r := range rc.requests() {
			if !slices.Contains(want, r.header.Get(webhook.HeaderID)) {
				t.Errorf("request with unknown webhook-id %q", r.header.Get(webhook.HeaderID))
			}
			if err := verifyAsSent([]string{secret}, r); err != nil {
				t.Errorf("VerifyAt: %v", err)
			}
		}
		if n := pending(t, s); n != 0 {
			t.Errorf("pending after delivery: %d", n)
		}
	})
}

func TestDeadLetterAndReplay(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database) {
		s, c, rc := db.open(t), newClock(), newReceiver(t)
		w := newWebhooks(t, s, c, func(cfg *webhook.Config) { cfg.MaxAttempts = 3 })
		_, secret := subscribe(t, w, rc.srv.URL, "mfa.enabled")
		ids := enqueue(t, w, s, "mfa.enabled", nil)
		rc.set(func(*http.Request) int { return http.StatusInternalServerError })
		for range 5 {
			deliverDue(t, w)
			c.Advance(time.Minute)
		}
		if got := len(rc.requests()); got != 3 {
			t.Errorf("attempts: got %d, want MaxAttempts (3)", got)
		}
		d := delivery(t, w, ids[0])
		if d.DeadAt.IsZero() || d.Attempts != 3 || d.LastStatus != 500 || !strings.Contains(d.LastError, "3 attempts failed") {
			t.Errorf("dead letter: got %+v", d)
		}
		if n := pending(t, s); n != 0 {
			t.Errorf("pending with the delivery dead: %d, want 0", n)
		}

		err := w.Replay(t.Context(), "no-such-delivery")
		if !errors.Is(err, webhook.ErrNotFound) || !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Replay(unknown): got %v, want ErrNotFound", err)
		}
		rc.set(func(*http.Request) int { return http.StatusOK })
		if err := w.Replay(t.Context(), ids[0]); err != nil {
			t.Fatalf("Replay(dead): %v", err)
		}
		if err := w.Replay(t.Context(), ids[0]); !errors.Is(err, webhook.ErrQueued) {
			t.Errorf("Replay(queued): got %v, want ErrQueued", err)
		}
		if got, _ := deliverDue(t, w); got != 1 {
			t.Fatalf("DeliverDue after replay: delivered %d, want 1", got)
		}
		// A delivered one may be replayed too.
		if err := w.Replay(t.Context(), ids[0]); err != nil {
			t.Fatalf("Replay(delivered): %v", err)
		}
		if got, _ := deliverDue(t, w); got != 1 {
			t.Fatalf("DeliverDue after the second replay: delivered %d, want 1", got)
		}
		reqs := rc.requests()
		for _, r := range reqs {
			if got := r.header.Get(webhook.HeaderID); got != ids[0] {
				t.Errorf("attempt carried webhook-id %q, want %q (replays keep it)", got, ids[0])
			}
			if err := verifyAsSent([]string{secret}, r); err != nil {
				t.Errorf("VerifyAt: %v", err)
			}
		}
		if acks := rc.acknowledged(); acks[ids[0]] != 2 {
			t.Errorf("acknowledged: got %v, want the id twice (one replay each)", acks)
		}
	})
}

func TestSecretRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database) {
		s, c, rc := db.open(t), newClock(), newReceiver(t)
		w := newWebhooks(t, s, c, func(cfg *webhook.Config) { cfg.SecretOverlap = time.Hour })
		e, first := subscribe(t, w, rc.srv.URL, "user.password_changed")
		second, err := w.RotateSecret(t.Context(), e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if second == first {
			t.Fatal("RotateSecret returned the same secret")
		}
		if _, err := w.RotateSecret(t.Context(), "missing"); !errors.Is(err, webhook.ErrNotFound) {
			t.Errorf("RotateSecret(missing): got %v, want ErrNotFound", err)
		}
		es, err := w.Endpoints(t.Context())
		if err != nil || len(es) != 1 || !es[0].OldSecretExpiresAt.Equal(c.Now().Add(time.Hour)) {
			t.Fatalf("Endpoints: got %+v, %v, want the old secret expiring in an hour", es, err)
		}

		enqueue(t, w, s, "user.password_changed", "during")
		deliverDue(t, w)
		r := rc.requests()[0]
		if sigs := strings.Fields(r.header.Get(webhook.HeaderSignature)); len(sigs) != 2 {
			t.Fatalf("during the overlap: got %d signatures, want 2", len(sigs))
		}
		for _, secrets := range [][]string{{first}, {second}, {first, second}} {
			if err := webhook.VerifyAt(secrets, r.header, r.body, 0, c.Now()); err != nil {
				t.Errorf("during the overlap, VerifyAt(%d secrets): %v", len(secrets), err)
			}
		}

		c.Advance(time.Hour)
		enqueue(t, w, s, "user.password_changed", "after")
		deliverDue(t, w)
		r = rc.requests()[1]
		if sigs := strings.Fields(r.header.Get(webhook.HeaderSignature)); len(sigs) != 1 {
			t.Fatalf("after the overlap: got %d signatures, want 1", len(sigs))
		}
		if err := webhook.VerifyAt([]string{second}, r.header, r.body, 0, c.Now()); err != nil {
			t.Errorf("after the overlap, the new secret: %v", err)
		}
		if err := webhook.VerifyAt([]string{first}, r.header, r.body, 0, c.Now()); !errors.Is(err, webhook.ErrSignature) {
			t.Errorf("after the overlap, the old secret: got %v, want ErrSignature", err)
		}
	})
}

func TestSSRF(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database) {
		s, c := db.open(t), newClock()
		rc := newReceiver(t)

		// attempt subscribes url on w, queues one event and attempts it
		// once, and returns the delivery.
		attempt := func(t *testing.T, w *webhook.Webhooks, url string) *store.WebhookDelivery {
			t.Helper()
			e, _ := subscribe(t, w, url, "probe")
			ids := enqueue(t, w, s, "probe", nil)
			if delivered, failed := deliverDue(t, w); delivered != 0 || failed != 1 {
				t.Fatalf("DeliverDue: delivered %d, failed %d, want 0 and 1", delivered, failed)
			}
			d := delivery(t, w, ids[0])
			if err := w.Unsubscribe(t.Context(), e.ID); err != nil {
				t.Fatal(err)
			}
			return d
		}

		t.Run("LoopbackNotAllowed", func(t *testing.T) {
			w := newWebhooks(t, s, c, func(cfg *webhook.Config) { cfg.AllowNetworks = nil })
			for _, url := range []string{rc.srv.URL, strings.Replace(rc.srv.URL, "127.0.0.1", "localhost", 1)} {
				d := attempt(t, w, url)
				if !strings.Contains(d.LastError, "refused address") || d.LastStatus != 0 {
					t.Errorf("%s: got LastError %q, LastStatus %d, want a refused address", url, d.LastError, d.LastStatus)
				}
			}
			if n := len(rc.requests()); n != 0 {
				t.Errorf("the receiver got %d requests, want 0", n)
			}
		})
		t.Run("PrivateAddress", func(t *testing.T) {
			w := newWebhooks(t, s, c, nil)
			for _, url := range []string{"http://10.0.0.1/", "http://192.168.1.1:8080/", "http://169.254.169.254/latest/meta-data/",
				"http://100.64.0.1/", "http://[fd00::1]/", "http://0.0.0.0/", "http://[::ffff:10.0.0.1]/"} {
				d := attempt(t, w, url)
				if !strings.Contains(d.LastError, "refused address") {
					t.Errorf("%s: got LastError %q, want a refused address", url, d.LastError)
				}
			}
		})
		t.Run("Redirect", func(t *testing.T) {
			elsewhere := newReceiver(t)
			redirect := httptest.NewServer(http.RedirectHandler(elsewhere.srv.URL, http.StatusFound))
			t.Cleanup(redirect.Close)
			w := newWebhooks(t, s, c, nil)
			d := attempt(t, w, redirect.URL)
			if d.LastStatus != http.StatusFound || !strings.Contains(d.LastError, "redirect") {
				t.Errorf("got LastStatus %d, LastError %q, want a 302 not followed", d.LastStatus, d.LastError)
			}
			if n := len(elsewhere.requests()); n != 0 {
				t.Errorf("the redirect's target got %d requests, want 0", n)
			}
		})
		t.Run("OversizedResponse", func(t *testing.T) {
			big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(strings.Repeat("x", 4096)))
			}))
			t.Cleanup(big.Close)
			w := newWebhooks(t, s, c, func(cfg *webhook.Config) { cfg.MaxResponseBytes = 1024 })
			d := attempt(t, w, big.URL)
			if !strings.Contains(d.LastError, "larger than 1024 bytes") {
				t.Errorf("got LastError %q, want an oversized response", d.LastError)
			}
		})
		t.Run("BadURL", func(t *testing.T) {
			w := newWebhooks(t, s, c, nil)
			before, err := w.Endpoints(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, url := range []string{"ftp://example.com/", "file:///etc/passwd", "gopher://example.com", "javascript:alert(1)",
				"//example.com/", "/hooks", "", "http://", "http://user:pass@example.com/", "https://example.com/#x",
				"https://" + strings.Repeat("a", webhook.MaxURLBytes) + ".com/"} {
				if _, _, err := w.Subscribe(t.Context(), url, []string{"probe"}); !errors.Is(err, webhook.ErrInvalid) {
					t.Errorf("Subscribe(%q): got %v, want ErrInvalid", url, err)
				}
			}
			after, err := w.Endpoints(t.Context())
			if err != nil || len(after) != len(before) {
				t.Errorf("endpoints: %d before, %d after refused subscriptions (%v)", len(before), len(after), err)
			}
		})
	})
}

func TestGoneDisablesEndpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database) {
		s, c, rc := db.open(t), newClock(), newReceiver(t)
		w := newWebhooks(t, s, c, nil)
		e, _ := subscribe(t, w, rc.srv.URL, "user.deleted")
		rc.set(func(*http.Request) int { return http.StatusGone })
		ids := enqueue(t, w, s, "user.deleted", nil)
		deliverDue(t, w)
		if d := delivery(t, w, ids[0]); d.DeadAt.IsZero() || d.LastStatus != http.StatusGone {
			t.Errorf("after 410: got %+v, want dead", d)
		}
		es, _ := w.Endpoints(t.Context())
		if len(es) != 1 || es[0].Enabled {
			t.Fatalf("after 410: got %+v, want the endpoint disabled", es)
		}
		if ids := enqueue(t, w, s, "user.deleted", nil); len(ids) != 0 {
			t.Errorf("Enqueue to a disabled endpoint: got %d deliveries, want 0", len(ids))
		}
		if err := w.Enable(t.Context(), e.ID); err != nil {
			t.Fatal(err)
		}
		rc.set(func(*http.Request) int { return http.StatusOK })
		if ids := enqueue(t, w, s, "user.deleted", nil); len(ids) != 1 {
			t.Errorf("Enqueue after Enable: got %d deliveries, want 1", len(ids))
		}
		if got, _ := deliverDue(t, w); got != 1 {
			t.Errorf("DeliverDue after Enable: delivered %d, want 1", got)
		}
		if err := w.Enable(t.Context(), "missing"); !errors.Is(err, webhook.ErrNotFound) {
			t.Errorf("Enable(missing): got %v, want ErrNotFound", err)
		}
	})
}

func TestEnqueueTransactionAndBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database) {
		s, c, rc := db.open(t), newClock(), newReceiver(t)
		w := newWebhooks(t, s, c, func(cfg *webhook.Config) { cfg.MaxPayloadBytes = 1024 })
		subscribe(t, w, rc.srv.URL, "user.registered")

		boom := errors.New("the change failed")
		err := s.InTx(t.Context(), func(ctx context.Context) error {
			ids, err := w.Enqueue(ctx, "user.registered", "x")
			if err != nil || len(ids) != 1 {
				t.Fatalf("Enqueue in the transaction: %v, %v", ids, err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: got %v", err)
		}
		if n := pending(t, s); n != 0 {
			t.Errorf("pending after rollback: %d, want 0", n)
		}

		for name, call := range map[string]func() ([]string, error){
			"empty type":    func() ([]string, error) { return w.Enqueue(t.Context(), "", nil) },
			"space in type": func() ([]string, error) { return w.Enqueue(t.Context(), "user registered", nil) },
			"control char":  func() ([]string, error) { return w.Enqueue(t.Context(), "user\n", nil) },
			"invalid UTF-8": func() ([]string, error) { return w.Enqueue(t.Context(), "user.\xff", nil) },
			"long type":     func() ([]string, error) { return w.Enqueue(t.Context(), strings.Repeat("a", 101), nil) },
			"channel":       func() ([]string, error) { return w.Enqueue(t.Context(), "user.registered", make(chan int)) },
			"too large":     func() ([]string, error) { return w.Enqueue(t.Context(), "user.registered", strings.Repeat("x", 2000)) },
		} {
			if ids, err := call(); !errors.Is(err, webhook.ErrInvalid) || ids != nil {
				t.Errorf("%s: got %v, %v, want ErrInvalid", name, ids, err)
			}
		}
		for name, types := range map[string][]string{"none": nil, "empty": {""}, "space": {"a b"}} {
			if _, _, err := w.Subscribe(t.Context(), rc.srv.URL, types); !errors.Is(err, webhook.ErrInvalid) {
				t.Errorf("Subscribe(%s): got %v, want ErrInvalid", name, err)
			}
		}
		if n := pending(t, s); n != 0 {
			t.Errorf("pending after refused calls: %d, want 0", n)
		}
		if es, _ := w.Endpoints(t.Context()); len(es) != 1 {
			t.Errorf("endpoints after refused subscriptions: %d, want 1", len(es))
		}
		if len(rc.requests()) != 0 {
			t.Error("the receiver got a request")
		}
	})
}

func TestUnsubscribe(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database) {
		s, c, rc := db.open(t), newClock(), newReceiver(t)
		w := newWebhooks(t, s, c, nil)
		e, _ := subscribe(t, w, rc.srv.URL, "a")
		ids := enqueue(t, w, s, "a", nil)
		if err := w.Unsubscribe(t.Context(), e.ID); err != nil {
			t.Fatal(err)
		}
		if err := w.Unsubscribe(t.Context(), e.ID); !errors.Is(err, webhook.ErrNotFound) {
			t.Errorf("Unsubscribe twice: got %v, want ErrNotFound", err)
		}
		if _, err := w.Delivery(t.Context(), ids[0]); !errors.Is(err, webhook.ErrNotFound) {
			t.Errorf("Delivery of an unsubscribed endpoint: got %v, want ErrNotFound", err)
		}
		if got, _ := deliverDue(t, w); got != 0 || len(rc.requests()) != 0 {
			t.Errorf("DeliverDue after Unsubscribe: delivered %d", got)
		}
	})
}

func TestConcurrentWorkers(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database) {
		c, rc := newClock(), newReceiver(t)
		keys := testKeys(t)
		// Two instances, two workers each, on one database.
		var workers []*webhook.Webhooks
		var stores []testStore
		for range 2 {
			s := db.open(t)
			stores = append(stores, s)
			for range 2 {
				workers = append(workers, newWebhooks(t, s, c, func(cfg *webhook.Config) { cfg.Keys = keys; cfg.Batch = 3 }))
			}
		}
		s := stores[0]
		subscribe(t, workers[0], rc.srv.URL, "user.signed_in")
		var want []string
		for i := range 30 {
			want = append(want, enqueue(t, workers[0], s, "user.signed_in", i)...)
		}
		slices.Sort(want)

		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, len(workers))
		for i, w := range workers {
			wg.Go(func() {
				<-start
				_, _, errs[i] = w.DeliverDue(t.Context())
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
		}
		reqs := rc.requests()
		seen := map[string]int{}
		for _, r := range reqs {
			seen[r.header.Get(webhook.HeaderID)]++
		}
		if len(reqs) != len(want) || len(seen) != len(want) {
			t.Errorf("requests: got %d for %d ids, want %d, each once", len(reqs), len(seen), len(want))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("webhook-id %s delivered %d times, want once", id, n)
			}
		}
		if n := pending(t, s); n != 0 {
			t.Errorf("pending: %d, want 0", n)
		}
	})
}

func TestRun(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database) {
		s := db.open(t)
		got := make(chan string, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r.Header.Get(webhook.HeaderID)
		}))
		t.Cleanup(srv.Close)
		w, err := webhook.New(webhook.Config{Store: s, Keys: testKeys(t), AllowNetworks: loopback, PollInterval: time.Hour,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		subscribe(t, w, srv.URL, "a")
		ids := enqueue(t, w, s, "a", nil)
		w.Notify()
		// Not a timed assertion: the wait only bounds a hang.
		select {
		case id := <-got:
			if id != ids[0] {
				t.Errorf("webhook-id: got %q, want %q", id, ids[0])
			}
		case <-time.After(time.Minute):
			t.Fatal("Run did not deliver after Notify")
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	keys := testKeys(t)
	for name, cfg := range map[string]webhook.Config{
		"no store":        {Keys: keys},
		"no keys":         {Store: s},
		"bad keys":        {Store: s, Keys: "k1:short"},
		"negative":        {Store: s, Keys: keys, MaxAttempts: -1},
		"delays":          {Store: s, Keys: keys, BaseDelay: time.Hour, MaxDelay: time.Minute},
		"timeout":         {Store: s, Keys: keys, Timeout: time.Minute, Lease: time.Minute},
		"invalid network": {Store: s, Keys: keys, AllowNetworks: []netip.Prefix{{}}},
	} {
		if _, err := webhook.New(cfg); !errors.Is(err, sigra.ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}
