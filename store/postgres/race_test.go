package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store"
)

// The tests in this file need the transaction's connection, so they live
// inside the package.

var raceNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// openPair opens two DBs (two pools, as two application instances) on one
// fresh schema.
func openPair(t *testing.T) (*DB, *DB) {
	t.Helper()
	dsn := pgtest.DSN(t)
	var dbs [2]*DB
	for i := range dbs {
		db, err := New(context.Background(), Config{DSN: dsn, MaxConns: 8})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(db.Close)
		dbs[i] = db
	}
	return dbs[0], dbs[1]
}

// holdInTx runs first inside a transaction on a, then starts second on b
// in a goroutine, waits until second is blocked on an advisory lock held
// by the transaction (or has finished, which means it did not wait),
// commits, and returns second's error. blocked reports whether second
// waited for the transaction.
func holdInTx(t *testing.T, a, b *DB, first func(ctx context.Context) error, second func(db *DB) error) (err error, blocked bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tx, err := a.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if err := first(store.ContextWithTx(ctx, a, tx)); err != nil {
		t.Fatalf("first step: %v", err)
	}
	pid := tx.Conn().PgConn().PID()

	done := make(chan error, 1)
	go func() { done <- second(b) }()
	for !blocked {
		select {
		case err := <-done:
			// Finished while the transaction still runs: it did not wait.
			if cerr := tx.Commit(ctx); cerr != nil {
				t.Fatal(cerr)
			}
			return err, false
		default:
		}
		if err := a.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND $1 = ANY (pg_blocking_pids(pid)))`,
			pid).Scan(&blocked); err != nil {
			t.Fatalf("poll pg_stat_activity: %v", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return <-done, true
}

// TestEmailLockClosesReservationRace checks the advisory lock on an
// address: a registration that starts while another user's reservation of
// the address is being written waits for it and then conflicts, and the
// reverse. Without the lock, the second operation would not see the first
// one's uncommitted row and both would succeed.
func TestEmailLockClosesReservationRace(t *testing.T) {
	t.Parallel()
	a, b := openPair(t)
	ctx := context.Background()
	holder := &store.User{Email: "holder@example.com", CreatedAt: raceNow}
	if err := a.CreateUser(ctx, holder); err != nil {
		t.Fatal(err)
	}

	t.Run("reservation first", func(t *testing.T) {
		err, blocked := holdInTx(t, a, b,
			func(ctx context.Context) error {
				return a.ReserveEmail(ctx, holder.ID, "Contested@example.com", raceNow.Add(time.Hour), raceNow)
			},
			func(db *DB) error {
				return db.CreateUser(ctx, &store.User{Email: "contested@EXAMPLE.com", CreatedAt: raceNow})
			})
		if !blocked || !errors.Is(err, store.ErrConflict) {
			t.Fatalf("CreateUser during a reservation of its address: got blocked=%v err=%v, want blocked and ErrConflict", blocked, err)
		}
	})

	t.Run("registration first", func(t *testing.T) {
		err, blocked := holdInTx(t, a, b,
			func(ctx context.Context) error {
				return a.CreateUser(ctx, &store.User{Email: "newcomer@example.com", CreatedAt: raceNow})
			},
			func(db *DB) error {
				return db.ReserveEmail(ctx, holder.ID, "NEWCOMER@example.com", raceNow.Add(time.Hour), raceNow)
			})
		if !blocked || !errors.Is(err, store.ErrConflict) {
			t.Fatalf("ReserveEmail during a registration with its address: got blocked=%v err=%v, want blocked and ErrConflict", blocked, err)
		}
	})
}

// TestInstancesRace runs the atomic operations from two instances at once:
// the contracts' exact counts hold across pools, not only within one.
func TestInstancesRace(t *testing.T) {
	t.Parallel()
	a, b := openPair(t)
	ctx := context.Background()
	const n = 16
	run := func(fn func(db *DB, i int) error) []error {
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			db := a
			if i%2 == 1 {
				db = b
			}
			wg.Go(func() {
				<-start
				errs[i] = fn(db, i)
			})
		}
		close(start)
		wg.Wait()
		return errs
	}
	count := func(t *testing.T, errs []error, target error) (ok, matched int) {
		t.Helper()
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, target):
				matched++
			default:
				t.Errorf("goroutine %d: %v", i, err)
			}
		}
		return ok, matched
	}
	u := &store.User{Email: "race@example.com", CreatedAt: raceNow}
	if err := a.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}

	t.Run("Hit", func(t *testing.T) {
		const limit = 5
		allowed := make([]bool, n)
		errs := run(func(db *DB, i int) error {
			l, err := db.Hit(ctx, "k", limit, time.Minute, raceNow)
			allowed[i] = l.Allowed
			return err
		})
		count(t, errs, nil)
		got := 0
		for _, ok := range allowed {
			if ok {
				got++
			}
		}
		if got != limit {
			t.Errorf("allowed hits: got %d of %d, want %d", got, n, limit)
		}
	})

	t.Run("ConsumeToken", func(t *testing.T) {
		tok := &store.Token{Digest: []byte("t"), Purpose: store.PurposeMagicLink, UserID: u.ID, ExpiresAt: raceNow.Add(time.Hour)}
		if err := a.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		ok, missed := count(t, run(func(db *DB, _ int) error {
			_, err := db.ConsumeToken(ctx, store.PurposeMagicLink, tok.Digest, raceNow)
			return err
		}), store.ErrNotFound)
		if ok != 1 || missed != n-1 {
			t.Errorf("consumers: got %d winners and %d not found, want 1 and %d", ok, missed, n-1)
		}
	})

	t.Run("ConsumeCode wrong guesses", func(t *testing.T) {
		code := &store.Token{Digest: []byte("123456"), Purpose: store.PurposeConfirmCode, UserID: u.ID, ExpiresAt: raceNow.Add(time.Hour)}
		if err := a.CreateToken(ctx, code); err != nil {
			t.Fatal(err)
		}
		_, missed := count(t, run(func(db *DB, i int) error {
			_, err := db.ConsumeCode(ctx, u.ID, store.PurposeConfirmCode, fmt.Appendf(nil, "guess%d", i), 100, raceNow)
			return err
		}), store.ErrNotFound)
		if missed != n {
			t.Errorf("wrong guesses: got %d not found, want %d", missed, n)
		}
		got, err := a.PeekToken(ctx, store.PurposeConfirmCode, code.Digest, raceNow)
		if err != nil || got.Attempts != n {
			t.Errorf("attempts after %d concurrent wrong guesses: got %v (err %v), want %d", n, got, err, n)
		}
	})

	t.Run("UseTOTPStep", func(t *testing.T) {
		if err := a.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("s")}); err != nil {
			t.Fatal(err)
		}
		ok, replays := count(t, run(func(db *DB, _ int) error {
			return db.UseTOTPStep(ctx, u.ID, 1000, true, raceNow)
		}), store.ErrReplay)
		if ok != 1 || replays != n-1 {
			t.Errorf("uses of one step: got %d accepted and %d replays, want 1 and %d", ok, replays, n-1)
		}
	})

	t.Run("ReplaceRecoveryCodes", func(t *testing.T) {
		// Each replacement writes its own set of 10; afterwards exactly one
		// set remains, never a mix.
		count(t, run(func(db *DB, i int) error {
			set := make([][]byte, 10)
			for j := range set {
				set[j] = fmt.Appendf(nil, "set%d-code%d", i, j)
			}
			return db.ReplaceRecoveryCodes(ctx, u.ID, set, raceNow)
		}), nil)
		var codes, sets int
		err := a.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT split_part(convert_from(digest, 'UTF8'), '-', 1))
			FROM sigra_recovery_codes WHERE user_id = $1`, u.ID).Scan(&codes, &sets)
		if err != nil {
			t.Fatal(err)
		}
		if codes != 10 || sets != 1 {
			t.Errorf("codes after concurrent replacements: got %d codes from %d sets, want 10 from 1", codes, sets)
		}
	})

	t.Run("ClaimMessages", func(t *testing.T) {
		for i := range 3 * n {
			if err := a.Enqueue(ctx, &store.Message{To: "x@example.com", Sealed: []byte("m"), NextAttemptAt: raceNow.Add(time.Duration(i))}); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[string]int{}
		count(t, run(func(db *DB, _ int) error {
			ms, err := db.ClaimMessages(ctx, raceNow.Add(time.Second), time.Hour, 3)
			mu.Lock()
			defer mu.Unlock()
			for _, m := range ms {
				seen[m.ID]++
			}
			return err
		}), nil)
		claimed := 0
		for id, c := range seen {
			claimed += c
			if c != 1 {
				t.Errorf("message %s claimed %d times", id, c)
			}
		}
		if claimed > 3*n {
			t.Errorf("claimed %d messages, only %d exist", claimed, 3*n)
		}
	})
}
