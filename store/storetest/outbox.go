package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

func outboxChecks() []check {
	return []check{
		checkOf("Enqueue", testEnqueue),
		checkOf("ClaimMessages", testClaimMessages),
		checkOf("ClaimMessages/Concurrent", testClaimMessagesConcurrent),
		checkOf("MarkSent", testMarkSent),
		checkEnv("MarkSent/ErasesBody", testMarkSentErases),
		checkOf("MarkFailed", testMarkFailed),
		checkOf("GiveUp", testGiveUp),
		checkEnv("GiveUp/ErasesBody", testGiveUpErases),
		checkEnv("GiveUp/Concurrent", testGiveUpConcurrent),
		checkOf("PendingMessages", testPendingMessages),
		checkEnv("PurgeMessages", testPurgeMessages),
		checkEnv("RetryMessages", testRetryMessages),
	}
}

func newMessage(to string, next time.Time) *store.Message {
	return &store.Message{To: to, Sealed: []byte("sealed\x00body " + to), CreatedAt: t0, NextAttemptAt: next}
}

func enqueue(t *testing.T, s store.Outbox, m *store.Message) *store.Message {
	t.Helper()
	must(t, "Enqueue", s.Enqueue(t.Context(), m))
	if m.ID == "" {
		t.Fatal("Enqueue left an empty ID unfilled")
	}
	return m
}

func claim(t *testing.T, s store.Outbox, now time.Time, lease time.Duration, limit int) []*store.Message {
	t.Helper()
	ms, err := s.ClaimMessages(t.Context(), now, lease, limit)
	must(t, "ClaimMessages", err)
	return ms
}

func messageIDs(ms []*store.Message) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	slices.Sort(ids)
	return ids
}

// sameMessage compares got with want. NextAttemptAt is not compared: how a
// store records a lease is its own business; when a message is due is
// checked by claiming it.
func sameMessage(t *testing.T, what string, got, want *store.Message) {
	t.Helper()
	if got.ID != want.ID || got.To != want.To || !bytes.Equal(got.Sealed, want.Sealed) {
		t.Errorf("%s: (ID, To, Sealed): got (%q, %q, %q), want (%q, %q, %q)", what, got.ID, got.To, got.Sealed, want.ID, want.To, want.Sealed)
	}
	if got.Attempts != want.Attempts || got.LastError != want.LastError {
		t.Errorf("%s: (Attempts, LastError): got (%d, %q), want (%d, %q)", what, got.Attempts, got.LastError, want.Attempts, want.LastError)
	}
	sameTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+": SentAt", got.SentAt, want.SentAt)
	sameTime(t, what+": GivenUpAt", got.GivenUpAt, want.GivenUpAt)
}

func testEnqueue(t *testing.T, s store.Outbox) {
	ctx := t.Context()
	// A zero NextAttemptAt means due at once (at CreatedAt).
	now := enqueue(t, s, newMessage("now@example.com", time.Time{}))
	later := enqueue(t, s, newMessage("later@example.com", at(time.Hour)))
	if now.ID == later.ID {
		t.Fatalf("two messages got the same ID %q", now.ID)
	}
	got := claim(t, s, t0, time.Minute, 10)
	if len(got) != 1 {
		t.Fatalf("ClaimMessages at t0: got %d messages, want 1 (the one due now)", len(got))
	}
	want := *now
	want.NextAttemptAt = t0
	sameMessage(t, "claimed message", got[0], &want)

	filled := &store.Message{To: "filled@example.com", Sealed: []byte("x")}
	must(t, "Enqueue(zero CreatedAt)", s.Enqueue(ctx, filled))
	if filled.ID == "" || filled.CreatedAt.IsZero() {
		t.Errorf("Enqueue fills: got ID %q, CreatedAt %v, want both set", filled.ID, filled.CreatedAt)
	}
}

func testClaimMessages(t *testing.T, s store.Outbox) {
	if got := claim(t, s, t0, time.Minute, 10); len(got) != 0 {
		t.Fatalf("ClaimMessages on an empty outbox: got %d, want 0", len(got))
	}
	a := enqueue(t, s, newMessage("a@example.com", t0))
	b := enqueue(t, s, newMessage("b@example.com", at(time.Second)))
	c := enqueue(t, s, newMessage("c@example.com", at(2*time.Second)))
	future := enqueue(t, s, newMessage("future@example.com", at(time.Hour)))

	// Due at or before now; at most limit.
	first := claim(t, s, at(2*time.Second), 5*time.Minute, 2)
	if len(first) != 2 {
		t.Fatalf("ClaimMessages(limit 2): got %d, want 2", len(first))
	}
	for _, m := range first {
		want := map[string]*store.Message{a.ID: a, b.ID: b, c.ID: c}[m.ID]
		if want == nil {
			t.Fatalf("ClaimMessages: claimed %q (%s), which is not due", m.ID, m.To)
		}
		sameMessage(t, "claimed message", m, want)
	}
	// Leased messages are not claimed again before the lease ends.
	rest := claim(t, s, at(3*time.Second), 5*time.Minute, 10)
	if len(rest) != 1 || slices.Contains(messageIDs(first), rest[0].ID) {
		t.Fatalf("second claim: got %v, want only the third due message", messageIDs(rest))
	}
	if got := claim(t, s, at(5*time.Minute+time.Second), time.Minute, 10); len(got) != 0 {
		t.Errorf("claim just before the first lease ends: got %v, want none", messageIDs(got))
	}
	// A worker that died: its messages come back when the lease ends.
	again := claim(t, s, at(5*time.Minute+2*time.Second), time.Minute, 10)
	if !slices.Equal(messageIDs(again), messageIDs(first)) {
		t.Errorf("claim at the end of the first lease: got %v, want %v", messageIDs(again), messageIDs(first))
	}
	// The future message is due at its time, and every lease has ended.
	if got, want := messageIDs(claim(t, s, at(time.Hour), time.Minute, 10)), messageIDs([]*store.Message{a, b, c, future}); !slices.Equal(got, want) {
		t.Errorf("claim at the future message's time: got %v, want %v", got, want)
	}
}

func testClaimMessagesConcurrent(t *testing.T, s store.Outbox) {
	const messages, workers, batch = 30, 6, 3
	for i := range messages {
		enqueue(t, s, newMessage(fmt.Sprintf("m%d@example.com", i), at(time.Duration(i)*time.Millisecond)))
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	errs := race(workers, func(int) error {
		// With leasing, the outbox runs dry after at most messages claims
		// in all; a worker that goes on longer is being handed leased
		// messages again.
		for range messages + 1 {
			ms, err := s.ClaimMessages(t.Context(), at(time.Second), time.Hour, batch)
			if err != nil {
				return err
			}
			if len(ms) == 0 {
				return nil
			}
			if len(ms) > batch {
				return fmt.Errorf("claimed %d messages, limit %d", len(ms), batch)
			}
			mu.Lock()
			for _, m := range ms {
				claimed[m.ID]++
			}
			mu.Unlock()
		}
		return fmt.Errorf("claims never ran dry: leased messages are claimed again")
	})
	countOutcomes(t, "ClaimMessages", errs, nil)
	if len(claimed) != messages {
		t.Errorf("messages claimed by %d workers: got %d distinct, want %d", workers, len(claimed), messages)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("message %s: claimed %d times, want once", id, n)
		}
	}
}

func testMarkSent(t *testing.T, s store.Outbox) {
	ctx := t.Context()
	m := enqueue(t, s, newMessage("sent@example.com", t0))
	other := enqueue(t, s, newMessage("other@example.com", t0))
	claimed := claim(t, s, t0, time.Minute, 10)
	if len(claimed) != 2 {
		t.Fatalf("ClaimMessages: got %d, want 2", len(claimed))
	}
	must(t, "MarkSent", s.MarkSent(ctx, m.ID, at(time.Second)))
	n, err := s.PendingMessages(ctx)
	must(t, "PendingMessages", err)
	if n != 1 {
		t.Errorf("PendingMessages after MarkSent: got %d, want 1", n)
	}
	// A sent message is never claimed again, even after its lease.
	got := claim(t, s, at(time.Hour), time.Minute, 10)
	if ids := messageIDs(got); !slices.Equal(ids, []string{other.ID}) {
		t.Errorf("claim after MarkSent: got %v, want only %s", ids, other.ID)
	}

}

func testMarkSentErases(t *testing.T, s store.Outbox, e env) {
	ctx := t.Context()
	r, ok := as[MessageReader](e)
	if !ok {
		t.Skip("the store's type does not implement storetest.MessageReader: cannot check that MarkSent erases the sealed body")
	}
	m := enqueue(t, s, newMessage("sent@example.com", t0))
	other := enqueue(t, s, newMessage("other@example.com", t0))
	must(t, "MarkSent", s.MarkSent(ctx, m.ID, at(time.Second)))
	sent, err := r.MessageByID(ctx, m.ID)
	must(t, "MessageByID", err)
	if len(sent.Sealed) != 0 {
		t.Errorf("Sealed after MarkSent: got %q, want erased", sent.Sealed)
	}
	sameTime(t, "SentAt", sent.SentAt, at(time.Second))
	kept, err := r.MessageByID(ctx, other.ID)
	must(t, "MessageByID(unsent)", err)
	if !bytes.Equal(kept.Sealed, other.Sealed) {
		t.Errorf("unsent message's Sealed: got %q, want %q", kept.Sealed, other.Sealed)
	}
	_, err = r.MessageByID(ctx, "no-such-message")
	wantErr(t, "MessageByID(missing)", err, store.ErrNotFound)
}

func testMarkFailed(t *testing.T, s store.Outbox) {
	ctx := t.Context()
	m := enqueue(t, s, newMessage("retry@example.com", t0))
	if got := claim(t, s, t0, time.Hour, 10); len(got) != 1 {
		t.Fatalf("ClaimMessages: got %d, want 1", len(got))
	}
	must(t, "MarkFailed", s.MarkFailed(ctx, m.ID, "421 try again later", at(5*time.Minute)))
	// Due again at next, even though the lease would run longer.
	if got := claim(t, s, at(5*time.Minute-time.Millisecond), time.Hour, 10); len(got) != 0 {
		t.Errorf("claim before the retry time: got %v, want none", messageIDs(got))
	}
	got := claim(t, s, at(5*time.Minute), time.Hour, 10)
	if len(got) != 1 {
		t.Fatalf("claim at the retry time: got %d, want 1", len(got))
	}
	want := *m
	want.Attempts, want.LastError, want.NextAttemptAt = 1, "421 try again later", at(5*time.Minute)
	sameMessage(t, "retried message", got[0], &want)

	must(t, "MarkFailed again", s.MarkFailed(ctx, m.ID, "550 mailbox unavailable", at(time.Hour)))
	got = claim(t, s, at(time.Hour), time.Hour, 10)
	if len(got) != 1 || got[0].Attempts != 2 || got[0].LastError != "550 mailbox unavailable" {
		t.Errorf("after a second failure: got %+v, want Attempts 2 and the last error", got)
	}
}

func testPendingMessages(t *testing.T, s store.Outbox) {
	ctx := t.Context()
	count := func(want int) {
		t.Helper()
		n, err := s.PendingMessages(ctx)
		must(t, "PendingMessages", err)
		if n != want {
			t.Errorf("PendingMessages: got %d, want %d", n, want)
		}
	}
	count(0)
	a := enqueue(t, s, newMessage("a@example.com", t0))
	enqueue(t, s, newMessage("b@example.com", at(time.Hour))) // not yet due: still pending
	count(2)
	claim(t, s, t0, time.Minute, 10) // leased: still pending
	count(2)
	must(t, "MarkFailed", s.MarkFailed(ctx, a.ID, "timeout", at(time.Minute)))
	count(2)
	must(t, "MarkSent", s.MarkSent(ctx, a.ID, at(time.Minute)))
	count(1)
	c := enqueue(t, s, newMessage("c@example.com", t0))
	count(2)
	must(t, "GiveUp", s.GiveUp(ctx, c.ID, "550 no such user", at(time.Minute)))
	count(1) // given up: no longer pending
}

func testGiveUp(t *testing.T, s store.Outbox) {
	ctx := t.Context()
	leased := enqueue(t, s, newMessage("leased@example.com", t0))
	other := enqueue(t, s, newMessage("other@example.com", t0))
	if got := claim(t, s, t0, time.Minute, 10); len(got) != 2 {
		t.Fatalf("ClaimMessages: got %d, want 2", len(got))
	}
	// A leased message is given up by the worker holding it.
	must(t, "GiveUp(leased)", s.GiveUp(ctx, leased.ID, "550 no such user", at(time.Second)))
	// A queued message not yet due (never claimed) can be given up too.
	future := enqueue(t, s, newMessage("future@example.com", at(time.Hour)))
	must(t, "GiveUp(not yet due)", s.GiveUp(ctx, future.ID, "undeliverable", at(2*time.Second)))

	// Neither is ever claimed again: not after the lease, not at its due
	// time, not years later. The other message is, each time its lease
	// has ended.
	for _, now := range []time.Time{at(2 * time.Minute), at(time.Hour), at(10 * 365 * 24 * time.Hour)} {
		if got := claim(t, s, now, time.Minute, 10); !slices.Equal(messageIDs(got), []string{other.ID}) {
			t.Errorf("claim at %v: got %v, want only %s (the message not given up)", now, messageIDs(got), other.ID)
		}
	}
	n, err := s.PendingMessages(ctx)
	must(t, "PendingMessages", err)
	if n != 1 {
		t.Errorf("PendingMessages after two GiveUps: got %d, want 1", n)
	}

	// Only a queued message can be given up.
	sent := enqueue(t, s, newMessage("sent@example.com", t0))
	must(t, "MarkSent", s.MarkSent(ctx, sent.ID, at(time.Second)))
	for _, tt := range []struct{ name, id string }{
		{"unknown id", "no-such-message"},
		{"sent", sent.ID},
		{"already given up", leased.ID},
	} {
		err := s.GiveUp(ctx, tt.id, "too late", at(time.Minute))
		wantErr(t, "GiveUp("+tt.name+")", err, store.ErrNotFound)
	}
	// The refused calls changed nothing.
	n, err = s.PendingMessages(ctx)
	must(t, "PendingMessages", err)
	if n != 1 {
		t.Errorf("PendingMessages after refused GiveUps: got %d, want 1", n)
	}
}

func testGiveUpErases(t *testing.T, s store.Outbox, e env) {
	ctx := t.Context()
	r, ok := as[MessageReader](e)
	if !ok {
		t.Skip("the store's type does not implement storetest.MessageReader: cannot check that GiveUp erases the sealed body")
	}
	m := enqueue(t, s, newMessage("gone@example.com", t0))
	other := enqueue(t, s, newMessage("other@example.com", t0))
	must(t, "MarkFailed", s.MarkFailed(ctx, m.ID, "421 try again later", at(time.Second)))
	must(t, "GiveUp", s.GiveUp(ctx, m.ID, "550 no such user", at(time.Minute)))

	got, err := r.MessageByID(ctx, m.ID)
	must(t, "MessageByID", err)
	want := *m
	want.Sealed = nil
	want.Attempts, want.LastError, want.GivenUpAt = 2, "550 no such user", at(time.Minute)
	sameMessage(t, "given-up message", got, &want)

	kept, err := r.MessageByID(ctx, other.ID)
	must(t, "MessageByID(other)", err)
	sameMessage(t, "other message", kept, other)

	// A refused GiveUp leaves the row as it was.
	wantErr(t, "GiveUp again", s.GiveUp(ctx, m.ID, "again", at(time.Hour)), store.ErrNotFound)
	got, err = r.MessageByID(ctx, m.ID)
	must(t, "MessageByID after a refused GiveUp", err)
	sameMessage(t, "given-up message after a refused GiveUp", got, &want)
}

func testGiveUpConcurrent(t *testing.T, s store.Outbox, e env) {
	const workers = 8
	m := enqueue(t, s, newMessage("race@example.com", t0))
	errs := race(workers, func(i int) error {
		return s.GiveUp(t.Context(), m.ID, fmt.Sprintf("worker %d gave up", i), at(time.Second))
	})
	if ok, _ := countOutcomes(t, "GiveUp", errs, store.ErrNotFound); ok != 1 {
		t.Errorf("concurrent GiveUp of one message: %d succeeded, want exactly 1", ok)
	}
	if r, isReader := as[MessageReader](e); isReader {
		got, err := r.MessageByID(t.Context(), m.ID)
		must(t, "MessageByID", err)
		if got.Attempts != 1 {
			t.Errorf("Attempts after concurrent GiveUps: got %d, want 1", got.Attempts)
		}
	}
}

// testPurgeMessages builds an outbox with sent, given-up and queued
// messages of several ages and purges it at cutoffs between them.
func testPurgeMessages(t *testing.T, s store.Outbox, e env) {
	ctx := t.Context()
	day := 24 * time.Hour
	msg := func(to string) *store.Message { return enqueue(t, s, newMessage(to, t0)) }

	sentOld, sentNew := msg("sent-old@example.com"), msg("sent-new@example.com")
	gaveUpOld, gaveUpNew := msg("gave-up-old@example.com"), msg("gave-up-new@example.com")
	queued := msg("queued@example.com")  // due since t0, never claimed
	retrying := msg("retry@example.com") // failed, due again later
	leased := msg("leased@example.com")  // claimed below, lease running
	future := enqueue(t, s, newMessage("future@example.com", at(30*day)))

	must(t, "MarkSent(old)", s.MarkSent(ctx, sentOld.ID, at(time.Hour)))
	must(t, "MarkSent(new)", s.MarkSent(ctx, sentNew.ID, at(8*day)))
	must(t, "GiveUp(old)", s.GiveUp(ctx, gaveUpOld.ID, "550 no such user", at(2*time.Hour)))
	must(t, "GiveUp(new)", s.GiveUp(ctx, gaveUpNew.ID, "550 no such user", at(8*day+time.Hour)))
	must(t, "MarkFailed", s.MarkFailed(ctx, retrying.ID, "421 try again later", at(20*day)))

	purge := func(before time.Time, want int) {
		t.Helper()
		n, err := s.PurgeMessages(ctx, before)
		must(t, "PurgeMessages", err)
		if n != want {
			t.Errorf("PurgeMessages(%v): got %d deleted, want %d", before, n, want)
		}
	}
	pendingIs := func(want int) {
		t.Helper()
		n, err := s.PendingMessages(ctx)
		must(t, "PendingMessages", err)
		if n != want {
			t.Errorf("PendingMessages: got %d, want %d", n, want)
		}
	}
	// exists reports which of ms are still stored, when the store can tell.
	exists := func(what string, want bool, ms ...*store.Message) {
		t.Helper()
		r, ok := as[MessageReader](e)
		if !ok {
			return
		}
		for _, m := range ms {
			_, err := r.MessageByID(ctx, m.ID)
			switch {
			case want && err != nil:
				t.Errorf("%s: MessageByID(%s): got %v, want the row kept", what, m.To, err)
			case !want && !errors.Is(err, store.ErrNotFound):
				t.Errorf("%s: MessageByID(%s): got %v, want ErrNotFound (purged)", what, m.To, err)
			}
		}
	}

	if got := claim(t, s, at(10*day), time.Hour, 10); !slices.Contains(messageIDs(got), leased.ID) {
		t.Fatalf("claim: got %v, want the leased message among them", messageIDs(got))
	}
	pendingIs(4)

	// Nothing was sent or given up before the first send: nothing goes.
	purge(at(time.Hour), 0)
	// Strictly before the cutoff: the old sent message goes at the
	// instant after its send time, the old given-up one stays until its
	// own time has passed.
	purge(at(time.Hour+time.Millisecond), 1)
	exists("after the first purge", false, sentOld)
	exists("after the first purge", true, gaveUpOld, sentNew, gaveUpNew)
	purge(at(2*time.Hour), 0)
	purge(at(day), 1)
	exists("after the second purge", false, gaveUpOld)
	exists("after the second purge", true, sentNew, gaveUpNew, queued, retrying, leased, future)
	pendingIs(4)

	// Far in the future every sent and given-up row goes; queued ones
	// stay, however old, whether due, leased, retrying or not yet due.
	purge(at(10*365*day), 2)
	purge(at(10*365*day), 0)
	exists("after purging everything old", false, sentNew, gaveUpNew)
	exists("after purging everything old", true, queued, retrying, leased, future)
	pendingIs(4)
	got := claim(t, s, at(30*day), time.Hour, 10)
	if want := messageIDs([]*store.Message{queued, retrying, leased, future}); !slices.Equal(messageIDs(got), want) {
		t.Errorf("claim after the purges: got %v, want %v", messageIDs(got), want)
	}
}

// testRetryMessages: when the store is a store.OutboxRetrier,
// RetryMessages brings forward the queued messages waiting beyond
// notBefore, and leaves alone the ones due sooner, the ones a worker
// holds, and the sent and given-up ones.
func testRetryMessages(t *testing.T, s store.Outbox, e env) {
	r, ok := as[store.OutboxRetrier](e)
	if !ok {
		t.Skipf("storetest: %s does not implement store.OutboxRetrier", typeName(e.typ))
	}
	ctx := t.Context()
	later := enqueue(t, s, newMessage("later@example.com", at(time.Hour)))
	soon := enqueue(t, s, newMessage("soon@example.com", at(time.Minute)))
	held := enqueue(t, s, newMessage("held@example.com", t0))
	if got := claim(t, s, t0, 5*time.Minute, 10); len(got) != 1 || got[0].ID != held.ID {
		t.Fatalf("claim: got %v, want the held message", messageIDs(got))
	}
	sent := enqueue(t, s, newMessage("sent@example.com", at(2*time.Hour)))
	must(t, "MarkSent", s.MarkSent(ctx, sent.ID, t0))
	gone := enqueue(t, s, newMessage("gone@example.com", at(2*time.Hour)))
	must(t, "GiveUp", s.GiveUp(ctx, gone.ID, "refused", t0))

	now := at(time.Second)
	n, err := r.RetryMessages(ctx, now, now.Add(5*time.Minute))
	must(t, "RetryMessages", err)
	if n != 1 {
		t.Fatalf("RetryMessages: moved %d, want 1 (the message an hour away)", n)
	}
	got := claim(t, s, now, time.Minute, 10)
	if ids := messageIDs(got); len(ids) != 1 || ids[0] != later.ID {
		t.Fatalf("claim after the retry: got %v, want only %s (not %s, due soon, nor %s, held)", ids, later.ID, soon.ID, held.ID)
	}
	if n, err := r.RetryMessages(ctx, now, now.Add(5*time.Minute)); err != nil || n != 0 {
		t.Errorf("RetryMessages again: moved %d (%v), want 0", n, err)
	}
}
