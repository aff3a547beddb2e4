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

// preparedReads returns the statements of signInReads that db holds
// prepared on the reader pool and on the writer connection, by query.
func preparedReads(db *DB) (reader, writer map[string]*sql.Stmt) {
	reader, writer = map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	for _, q := range signInReads {
		if st := db.reads[q].Load(); st != nil {
			reader[q] = st
		}
		if st := db.writes[q].Load(); st != nil {
			writer[q] = st
		}
	}
	return reader, writer
}

// TestSignInReadsPrepared: the reads of a sign-in (the user by address,
// the TOTP secret, a trusted browser's grant) are prepared once, on the
// reader pool and on the writer connection, by New or, without a schema,
// by Migrate. Outside a transaction they read what was committed; inside
// one they run on the transaction's connection and see its writes, rolled
// back with it.
func TestSignInReadsPrepared(t *testing.T) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	check := func(t *testing.T, db *DB, when string) (reader, writer map[string]*sql.Stmt) {
		t.Helper()
		reader, writer = preparedReads(db)
		for _, q := range []string{qUserByEmail, qTOTPByUser, qTrustedBrowserByDigest} {
			if reader[q] == nil || writer[q] == nil {
				t.Errorf("%s: %.60q prepared on the reader %v, on the writer %v; want both", when, q, reader[q] != nil, writer[q] != nil)
			}
		}
		return reader, writer
	}

	t.Run("New prepares them, reads see what they should", func(t *testing.T) {
		db, err := New(ctx, Config{Path: filepath.Join(t.TempDir(), "sigra.db")})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		reader, writer := check(t, db, "after New")

		u := &store.User{Email: "user@example.com"}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if got, err := db.UserByEmail(ctx, "User@Example.com"); err != nil || got.ID != u.ID {
			t.Fatalf("UserByEmail: got %v, %v; want user %s", got, err, u.ID)
		}
		if _, err := db.TOTPByUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("TOTPByUser without a secret: got %v, want ErrNotFound", err)
		}
		if _, err := db.TrustedBrowserByDigest(ctx, u.ID, []byte("digest"), now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("TrustedBrowserByDigest without a grant: got %v, want ErrNotFound", err)
		}

		// In a transaction, the reads see its writes; outside, not yet.
		rollback := errors.New("roll back")
		err = db.InTx(ctx, func(txCtx context.Context) error {
			v := &store.User{Email: "other@example.com"}
			if err := db.CreateUser(txCtx, v); err != nil {
				return err
			}
			if got, err := db.UserByEmail(txCtx, v.Email); err != nil || got.ID != v.ID {
				t.Errorf("UserByEmail in the transaction: got %v, %v; want user %s", got, err, v.ID)
			}
			if _, err := db.UserByEmail(ctx, v.Email); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("UserByEmail outside the transaction: got %v, want ErrNotFound", err)
			}
			if err := db.SavePendingTOTP(txCtx, &store.TOTPSecret{UserID: v.ID, Sealed: []byte("sealed"), LastStep: 7}); err != nil {
				return err
			}
			if s, err := db.TOTPByUser(txCtx, v.ID); err != nil || s.LastStep != 7 || string(s.Sealed) != "sealed" {
				t.Errorf("TOTPByUser in the transaction: got %+v, %v; want step 7", s, err)
			}
			b := &store.TrustedBrowser{UserID: v.ID, Digest: []byte("digest"), ExpiresAt: now.Add(time.Hour)}
			if err := db.CreateTrustedBrowser(txCtx, b); err != nil {
				return err
			}
			if got, err := db.TrustedBrowserByDigest(txCtx, v.ID, []byte("digest"), now); err != nil || got.ID != b.ID {
				t.Errorf("TrustedBrowserByDigest in the transaction: got %v, %v; want grant %s", got, err, b.ID)
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("InTx: got %v, want the function's error", err)
		}
		if _, err := db.UserByEmail(ctx, "other@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByEmail after the rollback: got %v, want ErrNotFound", err)
		}

		// Committed: seen outside.
		if err := db.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("s"), LastStep: 3}); err != nil {
			t.Fatal(err)
		}
		if s, err := db.TOTPByUser(ctx, u.ID); err != nil || s.LastStep != 3 || !s.ConfirmedAt.IsZero() {
			t.Errorf("TOTPByUser: got %+v, %v; want a pending secret at step 3", s, err)
		}
		b := &store.TrustedBrowser{UserID: u.ID, Digest: []byte("d2"), ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateTrustedBrowser(ctx, b); err != nil {
			t.Fatal(err)
		}
		if got, err := db.TrustedBrowserByDigest(ctx, u.ID, []byte("d2"), now); err != nil || got.ID != b.ID {
			t.Errorf("TrustedBrowserByDigest: got %v, %v; want grant %s", got, err, b.ID)
		}
		if _, err := db.TrustedBrowserByDigest(ctx, u.ID, []byte("d2"), now.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("TrustedBrowserByDigest of an expired grant: got %v, want ErrNotFound", err)
		}

		r2, w2 := preparedReads(db)
		for q := range reader {
			if r2[q] != reader[q] || w2[q] != writer[q] {
				t.Errorf("statement prepared again after use: %.40q", q)
			}
		}
	})

	t.Run("SkipMigrate: prepared once the schema exists", func(t *testing.T) {
		db, err := New(ctx, Config{Path: filepath.Join(t.TempDir(), "sigra.db"), SkipMigrate: true})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		if r, w := preparedReads(db); len(r)+len(w) != 0 {
			t.Fatalf("without a schema: %d statements prepared, want none", len(r)+len(w))
		}
		if _, err := db.UserByEmail(ctx, "user@example.com"); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UserByEmail without a schema: got %v, want the missing table's error", err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, db, "after Migrate")
		if _, err := db.UserByEmail(ctx, "user@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UserByEmail: got %v, want ErrNotFound", err)
		}
	})
}
