package audit_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/store"
)

// TestOnRecord checks Config.OnRecord: it sees every success event Record
// appends, in the caller's transaction (a user it creates commits and
// rolls back with the change), never a failure event, and its error fails
// the Record so that the change and its audit row roll back.
func TestOnRecord(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st auditStore) {
		ctx := context.Background()
		errHook := errors.New("hook refused")
		var mu sync.Mutex
		var seen []string
		fail := false
		l := newLogger(t, audit.Config{Store: st, Now: newClock().Now, OnRecord: func(ctx context.Context, e *store.AuditEvent) error {
			mu.Lock()
			seen = append(seen, e.Action+" "+e.Outcome)
			refuse := fail
			mu.Unlock()
			if e.Action == audit.ActionRegister {
				// A write of the hook's own, in the caller's transaction.
				if err := st.CreateUser(ctx, &store.User{Email: "hook-" + e.SubjectID + "@example.com", CreatedAt: t0}); err != nil {
					return err
				}
			}
			if refuse {
				return errHook
			}
			return nil
		}})
		register := func(email string) error {
			return st.InTx(ctx, func(ctx context.Context) error {
				u := &store.User{Email: email, CreatedAt: t0}
				if err := st.CreateUser(ctx, u); err != nil {
					return err
				}
				return l.Record(ctx, audit.Event{Action: audit.ActionRegister, ActorID: u.ID, SubjectID: u.ID, Outcome: audit.OutcomeSuccess})
			})
		}

		if err := register("kept@example.com"); err != nil {
			t.Fatalf("register: %v", err)
		}
		u, err := st.UserByEmail(ctx, "kept@example.com")
		if err != nil {
			t.Fatalf("UserByEmail: %v", err)
		}
		if _, err := st.UserByEmail(ctx, "hook-"+u.ID+"@example.com"); err != nil {
			t.Errorf("the hook's write: got %v, want it committed with the change", err)
		}

		mu.Lock()
		fail = true
		mu.Unlock()
		if err := register("refused@example.com"); !errors.Is(err, errHook) {
			t.Fatalf("register with a failing hook: got %v, want %v", err, errHook)
		}
		if _, err := st.UserByEmail(ctx, "refused@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the change of a failed hook: got %v, want it rolled back", err)
		}
		mu.Lock()
		fail = false
		mu.Unlock()

		if err := l.RecordFailure(ctx, audit.Event{Action: audit.ActionLoginFailure, SubjectID: u.ID}); err != nil {
			t.Fatalf("RecordFailure: %v", err)
		}
		if err := l.Record(ctx, audit.Event{Action: audit.ActionLoginFailure, SubjectID: u.ID, Outcome: audit.OutcomeFailure}); err != nil {
			t.Fatalf("Record of a failure: %v", err)
		}
		if got := all(t, st); len(got) != 3 {
			t.Errorf("audit log: got %d rows, want 3 (the kept registration and two failures)", len(got))
		}
		mu.Lock()
		defer mu.Unlock()
		want := []string{audit.ActionRegister + " success", audit.ActionRegister + " success"}
		if len(seen) != len(want) || seen[0] != want[0] || seen[1] != want[1] {
			t.Errorf("OnRecord saw %q, want %q (success events only)", seen, want)
		}
	})
}
