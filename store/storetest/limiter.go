package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

func limiterChecks() []check {
	return []check{
		checkOf("Hit", testHit),
		checkOf("Hit/Concurrent", testHitConcurrent),
		checkOf("ResetLimit", testResetLimit),
		checkOf("Refund", testRefund),
		checkOf("PurgeLimits", testPurgeLimits),
	}
}

func testHit(t *testing.T, s store.Limiter) {
	ctx := t.Context()
	const limit, window = 3, time.Minute
	steps := []struct {
		key     string
		now     time.Time
		allowed bool
		count   int
		reset   time.Time
	}{
		{"login:ip:192.0.2.1", t0, true, 1, at(window)},
		{"login:ip:192.0.2.1", at(time.Second), true, 2, at(window)},
		{"login:ip:192.0.2.2", at(time.Second), true, 1, at(time.Second + window)}, // keys are independent
		{"login:ip:192.0.2.1", at(2 * time.Second), true, 3, at(window)},
		{"login:ip:192.0.2.1", at(3 * time.Second), false, 4, at(window)}, // refused hits count too
		{"login:ip:192.0.2.1", at(window - time.Millisecond), false, 5, at(window)},
		// The window ends at its reset time: a new one starts with this hit.
		{"login:ip:192.0.2.1", at(window), true, 1, at(2 * window)},
		{"login:ip:192.0.2.1", at(window + time.Second), true, 2, at(2 * window)},
		// A hit long after starts its window at that hit, not on a grid.
		{"login:ip:192.0.2.1", at(10*window + 7*time.Second), true, 1, at(11*window + 7*time.Second)},
	}
	for i, st := range steps {
		got, err := s.Hit(ctx, st.key, limit, window, st.now)
		must(t, "Hit", err)
		if got.Allowed != st.allowed || got.Count != st.count {
			t.Errorf("hit %d on %s at %v: got (allowed %v, count %d), want (%v, %d)", i, st.key, st.now.Sub(t0), got.Allowed, got.Count, st.allowed, st.count)
		}
		sameTime(t, "Reset", got.Reset, st.reset)
	}
}

func testHitConcurrent(t *testing.T, s store.Limiter) {
	ctx := t.Context()
	const m, limit = 32, 7
	results := make([]store.LimitResult, m)
	errs := race(m, func(i int) error {
		var err error
		results[i], err = s.Hit(ctx, "register:ip:198.51.100.1", limit, time.Hour, t0)
		return err
	})
	countOutcomes(t, "Hit", errs, nil)
	allowed := 0
	counts := make([]int, 0, m)
	for _, r := range results {
		if r.Allowed {
			allowed++
		}
		if r.Allowed != (r.Count <= limit) {
			t.Errorf("hit with count %d: got allowed %v, want %v", r.Count, r.Allowed, r.Count <= limit)
		}
		counts = append(counts, r.Count)
	}
	if allowed != limit {
		t.Errorf("%d concurrent hits with limit %d: got %d allowed, want %d", m, limit, allowed, limit)
	}
	// Every hit saw its own count: 1..m, each once.
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("counts of %d concurrent hits: got %v, want 1..%d each once", m, counts, m)
		}
	}
}

func testResetLimit(t *testing.T, s store.Limiter) {
	ctx := t.Context()
	must(t, "ResetLimit(unknown key)", s.ResetLimit(ctx, "never-hit"))
	for range 3 {
		_, err := s.Hit(ctx, "reset-me", 2, time.Hour, t0)
		must(t, "Hit", err)
	}
	_, err := s.Hit(ctx, "keep-me", 2, time.Hour, t0)
	must(t, "Hit", err)
	must(t, "ResetLimit", s.ResetLimit(ctx, "reset-me"))
	got, err := s.Hit(ctx, "reset-me", 2, time.Hour, at(time.Minute))
	must(t, "Hit after ResetLimit", err)
	if !got.Allowed || got.Count != 1 {
		t.Errorf("Hit after ResetLimit: got (allowed %v, count %d), want (true, 1)", got.Allowed, got.Count)
	}
	sameTime(t, "Reset after ResetLimit", got.Reset, at(time.Minute+time.Hour))
	got, err = s.Hit(ctx, "keep-me", 2, time.Hour, at(time.Minute))
	must(t, "Hit", err)
	if got.Count != 2 {
		t.Errorf("other key after ResetLimit: got count %d, want 2", got.Count)
	}
}

func testRefund(t *testing.T, s store.Limiter) {
	ctx := t.Context()
	must(t, "Refund(unknown key)", s.Refund(ctx, "never-hit", t0.Add(time.Hour)))
	var last store.LimitResult
	for range 2 {
		var err error
		last, err = s.Hit(ctx, "refund-me", 2, time.Hour, t0)
		must(t, "Hit", err)
	}
	must(t, "Refund", s.Refund(ctx, "refund-me", last.Reset))
	got, err := s.Hit(ctx, "refund-me", 2, time.Hour, at(time.Minute))
	must(t, "Hit after Refund", err)
	if !got.Allowed || got.Count != 2 {
		t.Errorf("Hit after Refund: got (allowed %v, count %d), want (true, 2)", got.Allowed, got.Count)
	}
	// A refund for a window that has ended leaves the next one alone.
	next, err := s.Hit(ctx, "refund-me", 2, time.Hour, at(2*time.Hour))
	must(t, "Hit in the next window", err)
	must(t, "Refund of the ended window", s.Refund(ctx, "refund-me", last.Reset))
	got, err = s.Hit(ctx, "refund-me", 2, time.Hour, at(2*time.Hour+time.Minute))
	must(t, "Hit", err)
	if got.Count != next.Count+1 {
		t.Errorf("after a refund of an ended window: got count %d, want %d", got.Count, next.Count+1)
	}
	// Never below zero.
	for range 3 {
		must(t, "Refund", s.Refund(ctx, "refund-me", got.Reset))
	}
	got, err = s.Hit(ctx, "refund-me", 2, time.Hour, at(2*time.Hour+2*time.Minute))
	must(t, "Hit", err)
	if got.Count != 1 {
		t.Errorf("after more refunds than hits: got count %d, want 1", got.Count)
	}
}

func testPurgeLimits(t *testing.T, s store.Limiter) {
	ctx := t.Context()
	for _, h := range []struct {
		key    string
		window time.Duration
	}{{"a", time.Minute}, {"b", time.Minute}, {"c", time.Hour}} {
		_, err := s.Hit(ctx, h.key, 5, h.window, t0)
		must(t, "Hit", err)
	}
	steps := []struct {
		before time.Time
		want   int
	}{
		{at(time.Minute), 0},
		{at(time.Minute + time.Millisecond), 2},
		{at(time.Hour + time.Millisecond), 1},
		{at(2 * time.Hour), 0},
	}
	for _, st := range steps {
		n, err := s.PurgeLimits(ctx, st.before)
		must(t, "PurgeLimits", err)
		if n != st.want {
			t.Errorf("PurgeLimits(%v): got %d, want %d", st.before.Sub(t0), n, st.want)
		}
	}
}
