package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/store"
)

// wantUnavailable fails t unless err wraps store.ErrUnavailable and
// sigra.ErrBusy, and not context.Canceled.
func wantUnavailable(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, sigra.ErrBusy) {
		t.Fatalf("%s: got %v, want an error wrapping store.ErrUnavailable and sigra.ErrBusy", what, err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatalf("%s: got %v, want no context.Canceled in it", what, err)
	}
	if !strings.HasPrefix(err.Error(), "sigra/sqlite: ") {
		t.Errorf("%s: got %q, want the package's prefix", what, err)
	}
}

// TestLockedByAnotherProcess holds SQLite's write lock from another
// connection on the file, as another process would: a write waits the
// busy timeout, then fails with store.ErrUnavailable wrapping SQLITE_BUSY;
// reads go on; once the lock is released, writes succeed.
func TestLockedByAnotherProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sigra.db")
	db, err := New(ctx, Config{Path: path, BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u := &store.User{Email: "locked@example.com", CreatedAt: time.Now()}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	_, err = db.Hit(ctx, "locked", 5, time.Minute, time.Now())
	wantUnavailable(t, "Hit while another connection holds the lock", err)
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
		t.Errorf("Hit: got %v, want SQLITE_BUSY in the chain", err)
	}
	err = db.InTx(ctx, func(ctx context.Context) error {
		return db.SetPasswordHash(ctx, u.ID, "x", time.Now())
	})
	wantUnavailable(t, "InTx while another connection holds the lock", err)
	if _, err := db.UserByID(ctx, u.ID); err != nil {
		t.Errorf("UserByID while another connection holds the write lock: %v, want reads to go on", err)
	}

	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Hit(ctx, "locked", 5, time.Minute, time.Now()); err != nil {
		t.Fatalf("Hit once the lock is released: %v", err)
	}
}

// TestWriterBusyIsUnavailable checks that a write that waited the busy
// timeout for the writer connection wraps ErrWriterBusy,
// store.ErrUnavailable and sigra.ErrBusy.
func TestWriterBusyIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := New(ctx, Config{Path: filepath.Join(t.TempDir(), "sigra.db"), BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var hit, host error
	err = db.InTx(ctx, func(ctx context.Context) error {
		_, hit = db.Hit(store.WithoutTx(ctx), "outside", 5, time.Minute, time.Now())
		_, host = db.ExecContext(store.WithoutTx(ctx), "CREATE TABLE IF NOT EXISTS host_things (id INTEGER)")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{"Hit": hit, "ExecContext": host} {
		wantUnavailable(t, name+" outside the transaction", err)
		if !errors.Is(err, ErrWriterBusy) {
			t.Errorf("%s outside the transaction: got %v, want ErrWriterBusy", name, err)
		}
	}
}

// TestContextErrors checks that a call whose context was cancelled fails
// with context.Canceled and not store.ErrUnavailable (the caller went
// away, the store did not fail), and that a deadline that passed is
// store.ErrUnavailable (the store did not answer in time).
func TestContextErrors(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	late, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	calls := map[string]func(ctx context.Context) error{
		"UserByID (read)": func(ctx context.Context) error { _, err := db.UserByID(ctx, "u1"); return err },
		"SessionWithUser (read)": func(ctx context.Context) error {
			_, _, err := db.SessionWithUser(ctx, []byte("digest"), time.Now(), time.Hour)
			return err
		},
		"Hit (write)": func(ctx context.Context) error { _, err := db.Hit(ctx, "k", 5, time.Minute, time.Now()); return err },
		"InTx":        func(ctx context.Context) error { return db.InTx(ctx, func(context.Context) error { return nil }) },
	}
	for name, call := range calls {
		err := call(cancelled)
		if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) || errors.Is(err, sigra.ErrBusy) {
			t.Errorf("%s with a cancelled context: got %v, want context.Canceled and not ErrUnavailable", name, err)
		}
		err = call(late)
		if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s past its deadline: got %v, want ErrUnavailable and context.DeadlineExceeded", name, err)
		}
	}
}

// TestUnavailableCodes checks which SQLite result codes mean that the
// database is unavailable for now.
func TestUnavailableCodes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{fmt.Errorf("x: %w", context.Canceled), false},
		{&writerBusyError{waited: time.Second}, true},
		{fmt.Errorf("step: %w", &resultError{code: sqlite3.SQLITE_BUSY, msg: "database is locked"}), true},
		{fmt.Errorf("step: %w", &resultError{code: sqlite3.SQLITE_IOERR_SHORT_READ, msg: "disk I/O error"}), true},
		{fmt.Errorf("step: %w", &resultError{code: sqlite3.SQLITE_ERROR, msg: "no such table"}), false},
		{sql.ErrNoRows, false},
		{errors.New("disk on fire"), false},
	} {
		if got := unavailable(tt.err); got != tt.want {
			t.Errorf("unavailable(%v): got %v, want %v", tt.err, got, tt.want)
		}
	}
}
