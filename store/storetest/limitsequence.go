package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// LimitSequence checks [store.SequenceLimiter]: a sequence counts each hit
// as [store.Limiter.Hit] would and stops after the first refused one,
// invalid sequences count nothing, a transaction that rolls back takes the
// hits back, and concurrent sequences let exactly a limit's number of hits
// through to the keys after it. Needs store.Limiter and
// store.SequenceLimiter; the transaction case also store.Transactor.
const LimitSequence Part = "LimitSequence"

// sequenceLimiter is what the part needs.
type sequenceLimiter interface {
	store.Limiter
	store.SequenceLimiter
}

func limitSequenceChecks() []check {
	return []check{
		checkEnv("HitSequence/AsHits", testHitSequenceAsHits),
		checkOf("HitSequence/Invalid", testHitSequenceInvalid),
		checkEnv("HitSequence/RolledBack", testHitSequenceRolledBack),
		checkOf("HitSequence/Concurrent", testHitSequenceConcurrent),
	}
}

// hitOneByOne counts hits as HitSequence must, with Hit: in order, stopping
// after the first refused one.
func hitOneByOne(ctx context.Context, s store.Limiter, hits []store.LimitHit, now time.Time) ([]store.LimitResult, error) {
	var results []store.LimitResult
	for _, h := range hits {
		res, err := s.Hit(ctx, h.Key, h.Limit, h.Window, now)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
		if !res.Allowed {
			break
		}
	}
	return results, nil
}

// testHitSequenceAsHits runs one script of sequences through HitSequence
// on the store under test and through Hit, one hit at a time, on a fresh
// store, and compares every result: refusals at each position of the
// sequence, windows ending and restarting, keys shared between sequences
// at different positions. Then a Hit on each key reads the counts both
// left.
func testHitSequenceAsHits(t *testing.T, s sequenceLimiter, e env) {
	ctx := t.Context()
	ref, ok := e.open(t).(store.Limiter)
	if !ok {
		t.Fatal("storetest: the second store is not a store.Limiter")
	}
	ip := store.LimitHit{Key: "login-ip:ip:192.0.2.7", Limit: 6, Window: time.Hour}
	acct := store.LimitHit{Key: "login-acct:user@example.com", Limit: 3, Window: 10 * time.Minute}
	place := store.LimitHit{Key: "password:user@example.com", Limit: 2, Window: 15 * time.Minute}
	other := store.LimitHit{Key: "login-acct:other@example.com", Limit: 3, Window: 10 * time.Minute}
	script := []struct {
		at   time.Duration
		hits []store.LimitHit
		// refusedAt is the position of the refused hit, -1 for none: the
		// script is checked to refuse where it means to.
		refusedAt int
	}{
		{0, []store.LimitHit{ip, acct, place}, -1},
		{time.Second, []store.LimitHit{ip, acct, place}, -1},
		{2 * time.Second, []store.LimitHit{ip, acct, place}, 2},  // the third place of 2
		{3 * time.Second, []store.LimitHit{ip, acct, place}, 1},  // the fourth sign-in to the account
		{4 * time.Second, []store.LimitHit{ip, other}, -1},       // another account, same address
		{5 * time.Second, []store.LimitHit{ip, other, place}, 2}, // place's window still holds 3
		{6 * time.Second, []store.LimitHit{ip, acct, place}, 0},  // the seventh from the address
		{7 * time.Second, []store.LimitHit{acct}, 0},             // one hit alone
		// The account's window ends at 10 minutes, the places' at 15:
		// the account's restarts, and the places still refuse.
		{10 * time.Minute, []store.LimitHit{acct, place}, 1},
		{15 * time.Minute, []store.LimitHit{acct, place}, -1},
		// The address's window ends at an hour: everything restarts.
		{time.Hour, []store.LimitHit{ip, acct, place}, -1},
	}
	for i, step := range script {
		now := at(step.at)
		got, err := s.HitSequence(ctx, step.hits, now)
		must(t, fmt.Sprintf("HitSequence %d", i), err)
		want, err := hitOneByOne(ctx, ref, step.hits, now)
		must(t, "Hit", err)
		if len(got) != len(want) {
			t.Fatalf("sequence %d at %v: got %d results %+v, want %d as hits one by one give: %+v", i, step.at, len(got), got, len(want), want)
		}
		for j := range want {
			if got[j].Allowed != want[j].Allowed || got[j].Count != want[j].Count {
				t.Errorf("sequence %d, hit %d (%s): got (allowed %v, count %d), want (%v, %d)", i, j, step.hits[j].Key, got[j].Allowed, got[j].Count, want[j].Allowed, want[j].Count)
			}
			sameTime(t, fmt.Sprintf("sequence %d, hit %d: Reset", i, j), got[j].Reset, want[j].Reset)
		}
		refusedAt := -1
		if n := len(got); n > 0 && !got[n-1].Allowed {
			refusedAt = n - 1
		}
		if refusedAt != step.refusedAt {
			t.Errorf("sequence %d: refused at %d, want %d (the script is wrong)", i, refusedAt, step.refusedAt)
		}
	}
	now := at(time.Hour + time.Minute)
	for _, h := range []store.LimitHit{ip, acct, place, other} {
		got, err := s.Hit(ctx, h.Key, h.Limit, h.Window, now)
		must(t, "Hit", err)
		want, err := ref.Hit(ctx, h.Key, h.Limit, h.Window, now)
		must(t, "Hit", err)
		if got.Count != want.Count {
			t.Errorf("%s after the script: got count %d, want %d", h.Key, got.Count, want.Count)
		}
	}
}

// testHitSequenceInvalid: a sequence with a repeated key, a window that is
// not positive or a negative limit is refused with an error before
// anything is counted, even its valid hits before the bad one; an empty
// one counts nothing.
func testHitSequenceInvalid(t *testing.T, s sequenceLimiter) {
	ctx := t.Context()
	a := store.LimitHit{Key: "invalid:a", Limit: 5, Window: time.Minute}
	b := store.LimitHit{Key: "invalid:b", Limit: 5, Window: time.Minute}
	for _, tc := range []struct {
		name string
		hits []store.LimitHit
	}{
		{"repeated key", []store.LimitHit{a, b, a}},
		{"zero window", []store.LimitHit{a, {Key: "invalid:c", Limit: 5}}},
		{"negative window", []store.LimitHit{a, b, {Key: "invalid:c", Limit: 5, Window: -time.Minute}}},
		{"negative limit", []store.LimitHit{a, {Key: "invalid:c", Limit: -1, Window: time.Minute}}},
	} {
		res, err := s.HitSequence(ctx, tc.hits, t0)
		if err == nil {
			t.Errorf("%s: got results %+v and no error, want an error", tc.name, res)
		}
	}
	res, err := s.HitSequence(ctx, nil, t0)
	if err != nil || len(res) != 0 {
		t.Errorf("empty sequence: got %+v, %v; want no results and no error", res, err)
	}
	for _, h := range []store.LimitHit{a, b, {Key: "invalid:c", Limit: 5, Window: time.Minute}} {
		got, err := s.Hit(ctx, h.Key, h.Limit, h.Window, t0)
		must(t, "Hit", err)
		if got.Count != 1 {
			t.Errorf("%s after the invalid sequences: got count %d, want 1 (they counted nothing)", h.Key, got.Count)
		}
	}
}

// testHitSequenceRolledBack: a sequence in a transaction that rolls back
// counts nothing; one in a transaction that commits counts as on its own.
func testHitSequenceRolledBack(t *testing.T, s sequenceLimiter, e env) {
	tx, ok := as[store.Transactor](e)
	if !ok {
		t.Skip("storetest: the store is not a store.Transactor")
	}
	ctx := t.Context()
	hits := []store.LimitHit{{Key: "tx:a", Limit: 5, Window: time.Minute}, {Key: "tx:b", Limit: 5, Window: time.Minute}}
	errBack := errors.New("roll back")
	err := tx.InTx(ctx, func(ctx context.Context) error {
		res, err := s.HitSequence(ctx, hits, t0)
		if err != nil {
			return err
		}
		if len(res) != 2 || res[1].Count != 1 {
			t.Errorf("in the transaction: got %+v, want two first hits", res)
		}
		return errBack
	})
	if !errors.Is(err, errBack) {
		t.Fatalf("InTx: got %v, want the function's error", err)
	}
	must(t, "InTx", tx.InTx(ctx, func(ctx context.Context) error {
		_, err := s.HitSequence(ctx, hits, t0)
		return err
	}))
	res, err := s.HitSequence(ctx, hits, t0)
	must(t, "HitSequence", err)
	if len(res) != 2 || res[0].Count != 2 || res[1].Count != 2 {
		t.Errorf("after a rolled-back and a committed sequence: got %+v, want counts 2 and 2", res)
	}
}

// testHitSequenceConcurrent: of m sequences sent at once over a key with
// limit n, exactly n reach the key after it, whose own limit lets exactly
// its number through, and every sequence's results stop where its
// refusal is.
func testHitSequenceConcurrent(t *testing.T, s sequenceLimiter) {
	ctx := t.Context()
	const m = 32
	hits := []store.LimitHit{
		{Key: "login-ip:ip:198.51.100.9", Limit: 100, Window: time.Hour},
		{Key: "login-acct:user@example.com", Limit: 9, Window: time.Hour},
		{Key: "password:user@example.com", Limit: 4, Window: time.Hour},
	}
	results := make([][]store.LimitResult, m)
	errs := race(m, func(i int) error {
		var err error
		results[i], err = s.HitSequence(ctx, hits, t0)
		return err
	})
	countOutcomes(t, "HitSequence", errs, nil)
	reached := make([]int, len(hits))
	allowed := make([]int, len(hits))
	for i, res := range results {
		for j, r := range res {
			reached[j]++
			if r.Allowed {
				allowed[j]++
			}
			if r.Allowed != (r.Count <= hits[j].Limit) {
				t.Errorf("sequence %d, hit %d: count %d, got allowed %v", i, j, r.Count, r.Allowed)
			}
			if j < len(res)-1 && !r.Allowed {
				t.Errorf("sequence %d: results go on after the refused hit %d: %+v", i, j, res)
			}
		}
	}
	want := [][2]int{{m, m}, {m, 9}, {9, 4}} // reached, allowed
	for j := range hits {
		if reached[j] != want[j][0] || allowed[j] != want[j][1] {
			t.Errorf("%s: reached by %d sequences, %d allowed; want %d and %d", hits[j].Key, reached[j], allowed[j], want[j][0], want[j][1])
		}
	}
	for j, h := range hits {
		got, err := s.Hit(ctx, h.Key, h.Limit, h.Window, t0)
		must(t, "Hit", err)
		if got.Count != want[j][0]+1 {
			t.Errorf("%s after the race: got count %d, want %d", h.Key, got.Count, want[j][0]+1)
		}
	}
}
