package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

func txChecks() []check {
	return []check{
		{"Commit", testTxCommit},
		{"Rollback", testTxRollback},
		{"Panic", testTxPanic},
		{"Nested", testTxNested},
		{"NestedRollback", testTxNestedRollback},
		{"Conflict", testTxConflict},
		{"Concurrent", testTxConcurrent},
	}
}

var errAbort = errors.New("storetest: abort")

// writeAll makes one write of each kind through tx, named by tag.
func writeAll(t *testing.T, tx store.Store, tag string) error {
	t.Helper()
	ctx := t.Context()
	u := &store.User{Email: tag + "@example.com", CreatedAt: t0}
	if err := tx.CreateUser(ctx, u); err != nil {
		return err
	}
	if err := tx.SaveSession(ctx, liveSession(digest(tag), u.ID)); err != nil {
		return err
	}
	if err := tx.CreateToken(ctx, newToken(store.PurposeConfirm, tag, u.ID, at(time.Hour))); err != nil {
		return err
	}
	if err := tx.AppendAudit(ctx, &store.AuditEvent{At: t0, Action: tag, SubjectID: u.ID, Outcome: "success"}); err != nil {
		return err
	}
	if err := tx.Enqueue(ctx, newMessage(tag+"@example.com", t0)); err != nil {
		return err
	}
	if _, err := tx.Hit(ctx, tag, 10, time.Hour, t0); err != nil {
		return err
	}
	// The transaction reads its own writes.
	if got, err := tx.UserByEmail(ctx, tag+"@example.com"); err != nil || got.ID != u.ID {
		return fmt.Errorf("UserByEmail inside the transaction: got (%v, %v), want user %s", got, err, u.ID)
	}
	if _, got, err := tx.SessionWithUser(ctx, digest(tag), t0, 0); err != nil || got == nil || got.ID != u.ID {
		return fmt.Errorf("SessionWithUser inside the transaction: got (%v, %v), want user %s", got, err, u.ID)
	}
	return nil
}

// present reports whether the writes of writeAll(tag) are visible, and fails
// the test if only some are.
func present(t *testing.T, s store.Store, tag string) bool {
	t.Helper()
	ctx := t.Context()
	found := 0
	u, err := s.UserByEmail(ctx, tag+"@example.com")
	if err == nil {
		found++
		if _, err := s.SessionByDigest(ctx, digest(tag), t0, 0); err == nil {
			found++
		}
		if _, err := s.PeekToken(ctx, store.PurposeConfirm, digest(tag), t0); err == nil {
			found++
		}
		if events, _, err := s.QueryAudit(ctx, store.AuditQuery{UserID: u.ID}); err == nil && len(events) == 1 {
			found++
		}
	}
	if l, err := s.Hit(ctx, tag, 10, time.Hour, t0); err == nil && l.Count == 2 {
		found++ // the probe hit is the second
	}
	switch found {
	case 0:
		return false
	case 5:
		return true
	}
	t.Errorf("writes of %q: %d of 5 kinds visible, want all or none", tag, found)
	return false
}

func testTxCommit(t *testing.T, s store.Store) {
	err := s.WithTx(t.Context(), func(tx store.Store) error { return writeAll(t, tx, "commit") })
	must(t, "WithTx", err)
	if !present(t, s, "commit") {
		t.Error("writes of a committed transaction: not visible")
	}
	n, err := s.PendingMessages(t.Context())
	must(t, "PendingMessages", err)
	if n != 1 {
		t.Errorf("PendingMessages after commit: got %d, want 1", n)
	}
}

func testTxRollback(t *testing.T, s store.Store) {
	err := s.WithTx(t.Context(), func(tx store.Store) error {
		if err := writeAll(t, tx, "rollback"); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errAbort)
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("WithTx: got %v, want fn's error", err)
	}
	if present(t, s, "rollback") {
		t.Error("writes of a rolled back transaction: visible")
	}
	n, err := s.PendingMessages(t.Context())
	must(t, "PendingMessages", err)
	if n != 0 {
		t.Errorf("PendingMessages after rollback: got %d, want 0", n)
	}
	// The store is usable afterwards.
	must(t, "WithTx after a rollback", s.WithTx(t.Context(), func(tx store.Store) error { return writeAll(t, tx, "after") }))
	if !present(t, s, "after") {
		t.Error("writes after a rollback: not visible")
	}
}

func testTxPanic(t *testing.T, s store.Store) {
	var err error
	recovered := func() (r any) {
		defer func() { r = recover() }()
		err = s.WithTx(t.Context(), func(tx store.Store) error {
			if err := writeAll(t, tx, "panic"); err != nil {
				return err
			}
			panic(errAbort)
		})
		return nil
	}()
	// WithTx may re-panic or turn the panic into an error; either way the
	// transaction must roll back.
	if recovered == nil && err == nil {
		t.Fatal("WithTx with a panicking fn: got neither a panic nor an error")
	}
	if present(t, s, "panic") {
		t.Error("writes of a transaction whose fn panicked: visible")
	}
	// The connection or lock it held is released.
	must(t, "WithTx after a panic", s.WithTx(t.Context(), func(tx store.Store) error { return writeAll(t, tx, "after-panic") }))
	newUser(t, s, "outside@example.com")
	if !present(t, s, "after-panic") {
		t.Error("writes after a panic: not visible")
	}
}

func testTxNested(t *testing.T, s store.Store) {
	err := s.WithTx(t.Context(), func(outer store.Store) error {
		if err := writeAll(t, outer, "outer"); err != nil {
			return err
		}
		return outer.WithTx(t.Context(), func(inner store.Store) error {
			// The inner function joins the outer transaction: it sees
			// the outer writes.
			if _, err := inner.UserByEmail(t.Context(), "outer@example.com"); err != nil {
				return fmt.Errorf("inner transaction cannot see the outer one's writes: %w", err)
			}
			return writeAll(t, inner, "inner")
		})
	})
	must(t, "nested WithTx", err)
	if !present(t, s, "outer") || !present(t, s, "inner") {
		t.Error("writes of committed nested transactions: not visible")
	}
}

func testTxNestedRollback(t *testing.T, s store.Store) {
	err := s.WithTx(t.Context(), func(outer store.Store) error {
		if err := writeAll(t, outer, "outer"); err != nil {
			return err
		}
		if err := outer.WithTx(t.Context(), func(inner store.Store) error {
			return writeAll(t, inner, "inner")
		}); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("WithTx: got %v, want fn's error", err)
	}
	if present(t, s, "outer") || present(t, s, "inner") {
		t.Error("writes of a rolled back outer transaction (or of the inner one it joined): visible")
	}

	err = s.WithTx(t.Context(), func(outer store.Store) error {
		if err := writeAll(t, outer, "outer2"); err != nil {
			return err
		}
		return outer.WithTx(t.Context(), func(inner store.Store) error { return errAbort })
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("WithTx: got %v, want the inner fn's error", err)
	}
	if present(t, s, "outer2") {
		t.Error("writes of an outer transaction that returned the inner error: visible")
	}
}

func testTxConflict(t *testing.T, s store.Store) {
	newUser(t, s, "taken@example.com")
	err := s.WithTx(t.Context(), func(tx store.Store) error {
		if err := tx.AppendAudit(t.Context(), &store.AuditEvent{At: t0, Action: "conflict", Outcome: "failure"}); err != nil {
			return err
		}
		return tx.CreateUser(t.Context(), &store.User{Email: "TAKEN@example.com", CreatedAt: t0})
	})
	wantErr(t, "WithTx with a conflicting CreateUser", err, store.ErrConflict)
	events, _, err := s.QueryAudit(t.Context(), store.AuditQuery{Action: "conflict"})
	must(t, "QueryAudit", err)
	if len(events) != 0 {
		t.Errorf("audit row of a rolled back transaction: got %d, want 0", len(events))
	}
}

func testTxConcurrent(t *testing.T, s store.Store) {
	const n = 12
	errs := race(n, func(i int) error {
		return s.WithTx(t.Context(), func(tx store.Store) error {
			// Read, then write: the pattern that fails under deferred
			// locking.
			if _, err := tx.UserByEmail(t.Context(), "shared@example.com"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("UserByEmail: %w", err)
			}
			return writeAll(t, tx, fmt.Sprintf("tx%d", i))
		})
	})
	countOutcomes(t, "concurrent WithTx", errs, nil)
	for i := range n {
		if !present(t, s, fmt.Sprintf("tx%d", i)) {
			t.Errorf("writes of concurrent transaction %d: not visible", i)
		}
	}
}
