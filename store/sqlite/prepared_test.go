package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// preparedWrites returns the statements of signInWrites that db holds
// prepared, by query.
func preparedWrites(db *DB) map[string]*sql.Stmt {
	m := map[string]*sql.Stmt{}
	for _, q := range signInWrites {
		if st := db.writes[q].Load(); st != nil {
			m[q] = st
		}
	}
	return m
}

// TestSignInWritesPrepared: the statements of a sign-in's writes are
// prepared on the writer connection once, by New or, when New found no
// schema (SkipMigrate), by Migrate or on their first use outside a
// transaction; until then they run unprepared. Once prepared they are
// reused, inside transactions too, where their writes commit or roll back
// with the transaction.
func TestSignInWritesPrepared(t *testing.T) {
	ctx := t.Context()
	now := time.Now()
	open := func(t *testing.T, path string, skip bool) *DB {
		t.Helper()
		db, err := New(ctx, Config{Path: path, SkipMigrate: skip})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	hit := func(t *testing.T, ctx context.Context, db *DB, want int) {
		t.Helper()
		res, err := db.Hit(ctx, "login-ip:192.0.2.1", 5, time.Minute, now)
		if err != nil || res.Count != want {
			t.Fatalf("Hit: got count %d, %v; want %d", res.Count, err, want)
		}
	}

	t.Run("New prepares them, transactions use them", func(t *testing.T) {
		db := open(t, filepath.Join(t.TempDir(), "sigra.db"), false)
		before := preparedWrites(db)
		for _, q := range []string{qHit, qRefund, qResetLimit, qAppendAudit, saveSession, qDeviceBefore, qDeviceSeen, qDeviceForget} {
			if before[q] == nil {
				t.Errorf("after New: not prepared: %.60q", q)
			}
		}
		hit(t, ctx, db, 1)
		rollback := errors.New("roll back")
		err := db.InTx(ctx, func(ctx context.Context) error {
			hit(t, ctx, db, 2)
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("InTx: got %v, want the function's error", err)
		}
		hit(t, ctx, db, 2) // the rolled back hit left nothing
		err = db.InTx(ctx, func(ctx context.Context) error {
			hit(t, ctx, db, 3)
			return db.ResetLimit(ctx, "login-ip:192.0.2.1")
		})
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
		hit(t, ctx, db, 1)
		u := &store.User{Email: "user@example.com"}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{true, false} {
			first, _, err := db.SeenDevice(ctx, u.ID, "device", now.Add(time.Duration(i)*time.Second), now.Add(-time.Hour))
			if err != nil || first != want {
				t.Fatalf("SeenDevice %d: got first %v, %v; want %v", i+1, first, err, want)
			}
		}
		after := preparedWrites(db)
		for q, st := range before {
			if after[q] != st {
				t.Errorf("statement prepared again after use: %.40q", q)
			}
		}
	})

	t.Run("SkipMigrate: prepared once the schema exists", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sigra.db")
		db := open(t, path, true)
		if got := len(preparedWrites(db)); got != 0 {
			t.Fatalf("without a schema: %d statements prepared, want none", got)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if got := len(preparedWrites(db)); got != len(signInWrites) {
			t.Fatalf("after Migrate: %d of %d statements prepared", got, len(signInWrites))
		}
		hit(t, ctx, db, 1)
		// A later New on the file finds the schema and prepares them.
		if got := len(preparedWrites(open(t, path, true))); got != len(signInWrites) {
			t.Errorf("New with SkipMigrate on a migrated file: %d of %d statements prepared", got, len(signInWrites))
		}
	})

	t.Run("SkipMigrate, migrated in a transaction: prepared on first use", func(t *testing.T) {
		db := open(t, filepath.Join(t.TempDir(), "sigra.db"), true)
		err := db.InTx(ctx, func(ctx context.Context) error {
			if err := db.Migrate(ctx); err != nil {
				return err
			}
			hit(t, ctx, db, 1) // unprepared, in the transaction
			return nil
		})
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
		if got := len(preparedWrites(db)); got != 0 {
			t.Fatalf("after a migration in a transaction: %d statements prepared, want none yet", got)
		}
		hit(t, ctx, db, 2)
		if preparedWrites(db)[qHit] == nil {
			t.Errorf("Hit outside a transaction did not prepare its statement")
		}
	})
}
