package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/storetest"
)

// migrated holds a database file to which every embedded migration has
// been applied, made once by migratedFile.
var migrated struct {
	once sync.Once
	data []byte
	err  error
}

// migratedFile creates the file path, unless it exists, as a copy of a new
// database to which every embedded migration has been applied: the state in
// which Open leaves a new file. Tests of the store that do not test the
// migrations start from it. Applying the migrations costs about 0.2 s a
// file under the race detector, and the conformance suites open a file for
// each of their hundreds of checks; the TestMigrate tests, and the others
// that open new paths, still apply them to new files.
func migratedFile(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	migrated.once.Do(func() { migrated.data, migrated.err = newMigrated() })
	if migrated.err != nil {
		t.Fatalf("migrated database: %v", migrated.err)
	}
	if err := os.WriteFile(path, migrated.data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newMigrated returns the content of a new database file after Open.
func newMigrated() ([]byte, error) {
	dir, err := os.MkdirTemp("", "sigra-sqlite-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "migrated.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	// The last connection to close folds the WAL into the file and
	// deletes it, so the file alone holds the schema.
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s-wal after closing: got %v, want no file", path, err)
	}
	return os.ReadFile(path)
}

// openTest opens a migrated database (see migratedFile) in a temporary
// directory.
func openTest(t testing.TB) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sigra.db")
	migratedFile(t, path)
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *DB { return openTest(t) })
}

func TestConformanceReadConns1(t *testing.T) {
	// One reader connection: lookups inside a loop over a result set, or a
	// read while another is open, must not deadlock the pool.
	if testing.Short() {
		t.Skip("short: the suite already ran with the default pool")
	}
	storetest.Run(t, func(t *testing.T) *DB {
		path := filepath.Join(t.TempDir(), "sigra.db")
		migratedFile(t, path)
		db, err := New(t.Context(), Config{Path: path, ReadConns: 1})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestMigrateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	const n = 4 // like n processes starting at once on a fresh file
	dbs := make([]*DB, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			dbs[i], errs[i] = Open(t.Context(), path)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	ms, err := loadMigrations(Migrations())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := dbs[0].reader.QueryContext(t.Context(), `SELECT version, count(*) FROM sigra_schema_migrations GROUP BY version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v, c int
		if err := rows.Scan(&v, &c); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d×%d", v, c))
	}
	var want []string
	for _, m := range ms {
		want = append(want, fmt.Sprintf("%d×1", m.version))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("schema_migrations (version×rows): got %v, want %v", got, want)
	}
	// Every handle works on the migrated file.
	for i, db := range dbs {
		u := &store.User{Email: fmt.Sprintf("p%d@example.com", i)}
		if err := db.CreateUser(t.Context(), u); err != nil {
			t.Errorf("CreateUser through handle %d: %v", i, err)
		}
	}
}

// TestOpenWhileSwitchingToWAL opens a new file while another connection
// holds its write lock in rollback mode, as an instance of the application
// that is switching the file to WAL mode does when several start at once.
// SQLite fails the WAL switch of the second at once with SQLITE_BUSY, without
// waiting on the busy timeout (it holds a read lock and wants the write lock:
// a deadlock to SQLite), so New has to retry it.
func TestOpenWhileSwitchingToWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	uri, err := fileURI(path)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", uri)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	const held = 200 * time.Millisecond
	released := make(chan error, 1)
	go func() {
		time.Sleep(held)
		_, err := conn.ExecContext(context.Background(), "ROLLBACK")
		released <- err
	}()
	start := time.Now()
	db, err := New(t.Context(), Config{Path: path})
	took := time.Since(start).Round(time.Millisecond)
	if rerr := <-released; rerr != nil {
		t.Fatalf("ROLLBACK: %v", rerr)
	}
	if err != nil {
		t.Fatalf("New while another connection held the lock for %v: got %v after %v, want a DB", held, err, took)
	}
	defer db.Close()
	var mode string
	if err := db.writer.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal mode: got %q, want wal", mode)
	}
}

func TestMigrateIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "again.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(t.Context(), &store.User{Email: "kept@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	db.Close()
	db, err = Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if _, err := db.UserByEmail(t.Context(), "kept@example.com"); err != nil {
		t.Errorf("user after reopening: %v", err)
	}
	var n int
	if err := db.reader.QueryRow(`SELECT count(*) FROM sigra_schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if ms, _ := loadMigrations(Migrations()); n != len(ms) {
		t.Errorf("schema_migrations rows: got %d, want %d", n, len(ms))
	}
}

func TestSkipMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "skip.db")
	db, err := New(t.Context(), Config{Path: path, SkipMigrate: true})
	if err != nil {
		t.Fatalf("New(SkipMigrate) on a fresh file: %v", err)
	}
	defer db.Close()
	if _, err := db.UserByID(t.Context(), "x"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UserByID without a schema: got %v, want a schema error", err)
	}
	// With a transaction's context, Migrate runs in that transaction (on
	// its own, it would wait for the writer connection the transaction
	// holds).
	err = db.InTx(t.Context(), func(ctx context.Context) error {
		if err := db.Migrate(ctx); err != nil {
			return err
		}
		_, err := db.ExecContext(ctx, `CREATE TABLE host_table (id INTEGER PRIMARY KEY)`)
		return err
	})
	if err != nil {
		t.Fatalf("Migrate in InTx: %v", err)
	}
	if _, err := db.UserByID(t.Context(), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByID after Migrate: got %v, want ErrNotFound", err)
	}
}

func TestMigrationFiles(t *testing.T) {
	ms, err := loadMigrations(Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].version != 1 || ms[0].name != "0001_init" {
		t.Fatalf("embedded migrations: got %+v, want 0001_init first", ms)
	}
	// Versions increase; they need not be consecutive.
	for i, m := range ms {
		if i > 0 && m.version <= ms[i-1].version {
			t.Errorf("migration %s: got version %d after %d, want versions increasing", m.name, m.version, ms[i-1].version)
		}
		if !strings.HasPrefix(m.sql, "-- +goose Up") {
			t.Errorf("migration %s: want it to start with the goose annotation", m.name)
		}
		for _, word := range []string{"BEGIN", "COMMIT"} {
			if strings.Contains(strings.ToUpper(m.sql), word+";") || strings.Contains(strings.ToUpper(m.sql), word+" TRANSACTION") {
				t.Errorf("migration %s contains %s: the runner owns the transaction", m.name, word)
			}
		}
	}
	bad := []fstest.MapFS{
		{"init.sql": {Data: []byte("")}},
		{"0001.sql": {Data: []byte("")}},
		{"x001_init.sql": {Data: []byte("")}},
		{"0000_zero.sql": {Data: []byte("")}},
		{"0001_a.sql": {Data: []byte("")}, "001_b.sql": {Data: []byte("")}},
	}
	for _, fsys := range bad {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("loadMigrations(%v): got nil, want an error", keys(fsys))
		}
	}
}

func keys(m fstest.MapFS) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestConcurrentWriters: 64 goroutines write at once, mixed, in and out of
// transactions that read before writing. None may fail, in particular with
// SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	db := openTest(t)
	ctx := t.Context()
	const goroutines, rounds = 64, 5
	errs := make(chan error, goroutines*rounds)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for r := range rounds {
				tag := fmt.Sprintf("g%d-r%d", g, r)
				var err error
				switch (g + r) % 4 {
				case 0:
					err = db.CreateUser(ctx, &store.User{Email: tag + "@example.com"})
				case 1:
					err = db.SaveSession(ctx, &store.Session{Digest: []byte(tag), State: store.SessionAnonymous, ExpiresAt: time.Now().Add(time.Hour)})
				case 2:
					_, err = db.Hit(ctx, "shared-key", 1000, time.Hour, time.Now())
					if err == nil {
						err = db.Enqueue(ctx, &store.Message{To: tag + "@example.com", Sealed: []byte("x")})
					}
				case 3:
					err = db.InTx(ctx, func(ctx context.Context) error {
						if _, err := db.UserByEmail(ctx, "g0-r0@example.com"); err != nil && !errors.Is(err, store.ErrNotFound) {
							return err
						}
						u := &store.User{Email: tag + "@example.com"}
						if err := db.CreateUser(ctx, u); err != nil {
							return err
						}
						if _, err := db.Hit(ctx, "shared-key", 1000, time.Hour, time.Now()); err != nil {
							return err
						}
						if err := db.SaveSession(ctx, &store.Session{Digest: []byte(tag), UserID: u.ID, State: store.SessionAuthenticated, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
							return err
						}
						return db.Enqueue(ctx, &store.Message{To: tag + "@example.com", Sealed: []byte("x")})
					})
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", tag, err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	busy := 0
	for err := range errs {
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY {
			busy++
		}
		t.Error(err)
	}
	if busy > 0 {
		t.Errorf("SQLITE_BUSY errors: got %d, want 0", busy)
	}
	// Every write landed: count the hits on the shared key.
	l, err := db.Hit(ctx, "shared-key", 1000, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantHits := 0
	for g := range goroutines {
		for r := range rounds {
			if k := (g + r) % 4; k == 2 || k == 3 {
				wantHits++
			}
		}
	}
	if l.Count != wantHits+1 {
		t.Errorf("hits on the shared key: got %d, want %d", l.Count, wantHits+1)
	}
}

func TestPathIsNotADSN(t *testing.T) {
	for _, name := range []string{
		"question?mode=memory.db",
		"hash#fragment.db",
		"percent%41%00.db",
		"space and ünïcode.db",
		"pragma?_pragma=query_only(1)&_txlock=deferred.db",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			db, err := Open(t.Context(), path)
			if err != nil {
				t.Fatalf("Open(%q): %v", path, err)
			}
			if err := db.CreateUser(t.Context(), &store.User{Email: "path@example.com"}); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			db.Close()
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the file named by Path: %v", err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if n := e.Name(); n != name && n != name+"-wal" && n != name+"-shm" {
					t.Errorf("unexpected file %q beside %q", n, name)
				}
			}
			db, err = Open(t.Context(), path)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer db.Close()
			if _, err := db.UserByEmail(t.Context(), "path@example.com"); err != nil {
				t.Errorf("data after reopening %q: %v", name, err)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"empty path", Config{}},
		{"memory", Config{Path: ":memory:"}},
		{"dsn", Config{Path: "file:x.db?mode=memory"}},
		{"nul", Config{Path: filepath.Join(dir, "a\x00b.db")}},
		{"negative readers", Config{Path: filepath.Join(dir, "a.db"), ReadConns: -1}},
		{"negative busy timeout", Config{Path: filepath.Join(dir, "a.db"), BusyTimeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := New(t.Context(), tt.cfg)
			if !errors.Is(err, sigra.ErrConfig) {
				t.Errorf("New(%+v): got %v, want sigra.ErrConfig", tt.cfg, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "sigra: invalid config: sqlite: ") {
				t.Errorf("New(%+v): got %q, want it to start with %q", tt.cfg, err, "sigra: invalid config: sqlite: ")
			}
			if db != nil {
				t.Errorf("New(%+v): got a DB with the error", tt.cfg)
				db.Close()
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "a.db")); !os.IsNotExist(err) {
		t.Errorf("a refused config created a file: %v", err)
	}
}

func TestPragmasAndPools(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := New(t.Context(), Config{Path: path, BusyTimeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pragma := func(q querier, name string) string {
		t.Helper()
		var v string
		if err := q.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	tests := []struct {
		pool  string
		q     querier
		name  string
		value string
	}{
		{"writer", db.writer, "journal_mode", "wal"},
		{"writer", db.writer, "busy_timeout", "1500"},
		{"writer", db.writer, "foreign_keys", "1"},
		{"writer", db.writer, "synchronous", "1"}, // NORMAL
		{"writer", db.writer, "query_only", "0"},
		{"reader", db.reader, "journal_mode", "wal"},
		{"reader", db.reader, "busy_timeout", "1500"},
		{"reader", db.reader, "query_only", "1"},
	}
	for _, tt := range tests {
		if got := pragma(tt.q, tt.name); got != tt.value {
			t.Errorf("%s PRAGMA %s: got %s, want %s", tt.pool, tt.name, got, tt.value)
		}
	}
	if got := db.writer.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool size: got %d, want 1", got)
	}
	if got, want := db.reader.Stats().MaxOpenConnections, max(MinReadConns, runtime.GOMAXPROCS(0)); got != want {
		t.Errorf("default reader pool size: got %d, want %d", got, want)
	}
	if _, err := db.reader.ExecContext(t.Context(), `DELETE FROM sigra_users`); err == nil {
		t.Error("a write through the reader pool: got nil, want a read-only error")
	}
	// The writer begins transactions with BEGIN IMMEDIATE: a second
	// handle's immediate transaction cannot start while the first is open.
	other, err := New(t.Context(), Config{Path: path, BusyTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	err = db.InTx(t.Context(), func(ctx context.Context) error {
		return other.InTx(ctx, func(context.Context) error { return nil })
	})
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
		t.Errorf("a second writer's transaction while one is open: got %v, want SQLITE_BUSY (the first must hold the write lock from BEGIN)", err)
	}
}

// TestInTxOutsideWrite pins the documented hazard of the single writer
// connection: inside InTx, a write with a context that does not carry the
// transaction (here one passed through store.WithoutTx) waits for the
// writer connection the transaction holds, and gives up when its context
// ends (here before the busy timeout; see TestWriterBusy) instead of
// deadlocking. A read with such a context does not wait, and sees only
// what was committed.
func TestInTxOutsideWrite(t *testing.T) {
	db := openTest(t)
	err := db.InTx(t.Context(), func(ctx context.Context) error {
		inner := &store.User{Email: "inner@example.com"}
		if err := db.CreateUser(ctx, inner); err != nil {
			return err
		}
		out, cancel := context.WithTimeout(store.WithoutTx(ctx), 50*time.Millisecond)
		defer cancel()
		if _, err := db.UserByID(out, inner.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("read outside the transaction of its uncommitted user: got %v, want ErrNotFound", err)
		}
		err := db.CreateUser(out, &store.User{Email: "outer@example.com"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("write outside the transaction from inside InTx: got %v, want the context's error", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if _, err := db.UserByEmail(t.Context(), "inner@example.com"); err != nil {
		t.Errorf("the transaction's own write: %v", err)
	}
	if _, err := db.UserByEmail(t.Context(), "outer@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the write that gave up: got %v, want ErrNotFound", err)
	}
}

// TestWriterBusy: inside InTx, a write with a context that does not carry
// the transaction (a bug: here through store.WithoutTx, with no deadline)
// cannot get the writer connection the transaction holds. Whatever path
// the write takes, it fails after Config.BusyTimeout with an error wrapping
// ErrWriterBusy and sigra.ErrBusy, instead of waiting forever; the
// transaction still commits, and the failed write left nothing.
func TestWriterBusy(t *testing.T) {
	const busy = 100 * time.Millisecond
	db, err := New(t.Context(), Config{Path: filepath.Join(t.TempDir(), "busy.db"), BusyTimeout: busy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	outer := func(ctx context.Context) error {
		return db.CreateUser(ctx, &store.User{Email: "outer@example.com"})
	}
	tests := []struct {
		name  string
		write func(ctx context.Context) error
	}{
		{"statement (CreateUser)", outer},
		{"statement with RETURNING (Hit)", func(ctx context.Context) error {
			_, err := db.Hit(ctx, "outer", 10, time.Hour, time.Now())
			return err
		}},
		{"statement with rows (ClaimMessages)", func(ctx context.Context) error {
			_, err := db.ClaimMessages(ctx, time.Now(), time.Minute, 10)
			return err
		}},
		{"method in its own transaction (ReplaceRecoveryCodes)", func(ctx context.Context) error {
			return db.ReplaceRecoveryCodes(ctx, store.NewID(), [][]byte{[]byte("code")}, time.Now())
		}},
		{"InTx", func(ctx context.Context) error {
			return db.InTx(ctx, outer)
		}},
		{"ExecContext", func(ctx context.Context) error {
			_, err := db.ExecContext(ctx, `DELETE FROM sigra_rate_limits`)
			return err
		}},
		{"Migrate", db.Migrate},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			var waited time.Duration
			inner := fmt.Sprintf("inner%d@example.com", i)
			txErr := db.InTx(t.Context(), func(ctx context.Context) error {
				if err := db.CreateUser(ctx, &store.User{Email: inner}); err != nil {
					return err
				}
				done := make(chan error, 1)
				start := time.Now()
				go func() { done <- tt.write(store.WithoutTx(ctx)) }()
				select {
				case err = <-done:
					waited = time.Since(start)
				case <-time.After(busy + 30*time.Second):
					// Returning ends the transaction, which lets the
					// write through.
					return fmt.Errorf("the write outside the transaction still waits after %v, want it to give up after %v", busy+30*time.Second, busy)
				}
				return nil
			})
			if txErr != nil {
				t.Fatalf("InTx: %v", txErr)
			}
			if _, err := db.UserByEmail(t.Context(), inner); err != nil {
				t.Errorf("the transaction's own write: %v", err)
			}
			if !errors.Is(err, ErrWriterBusy) || !errors.Is(err, sigra.ErrBusy) {
				t.Fatalf("write outside the transaction from inside InTx: got %v, want an error wrapping ErrWriterBusy and sigra.ErrBusy", err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "sigra/sqlite: ") || !strings.Contains(msg, "busy for "+busy.String()) {
				t.Errorf("error: got %q, want the package's prefix and the writer busy for %v", msg, busy)
			}
			if waited < busy {
				t.Errorf("gave up after %v, want at least the busy timeout %v", waited, busy)
			}
			if _, err := db.UserByEmail(t.Context(), "outer@example.com"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("user of the write that gave up: got %v, want ErrNotFound", err)
			}
		})
	}
	// The writer connection is free again: writes go through at once.
	if err := outer(t.Context()); err != nil {
		t.Errorf("write after the transactions: %v", err)
	}
}

// TestHostTables: the host's own statements run in the context's
// transaction, commit and roll back with Sigra's writes, and run on the
// right pool outside one.
func TestHostTables(t *testing.T) {
	db := openTest(t)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE profile (user_id TEXT PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE, name TEXT NOT NULL)`); err != nil {
		t.Fatalf("ExecContext(CREATE TABLE): %v", err)
	}
	signUp := func(email, name string, fail bool) (string, error) {
		var id string
		err := db.InTx(ctx, func(ctx context.Context) error {
			u := &store.User{Email: email}
			if err := db.CreateUser(ctx, u); err != nil {
				return err
			}
			id = u.ID
			if _, err := db.ExecContext(ctx, `INSERT INTO profile (user_id, name) VALUES (?, ?)`, u.ID, name); err != nil {
				return err
			}
			// The transaction reads its own write, through the host's
			// query and through Sigra's.
			var got string
			if err := db.QueryRowContext(ctx, `SELECT name FROM profile WHERE user_id = ?`, u.ID).Scan(&got); err != nil || got != name {
				return fmt.Errorf("QueryRowContext in the transaction: got (%q, %v), want %q", got, err, name)
			}
			// Outside the transaction, nothing is visible yet.
			err := db.QueryRowContext(store.WithoutTx(ctx), `SELECT name FROM profile WHERE user_id = ?`, u.ID).Scan(&got)
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("QueryRowContext outside the transaction: got (%q, %v), want sql.ErrNoRows", got, err)
			}
			if fail {
				return errors.New("abort")
			}
			return nil
		})
		return id, err
	}
	kept, err := signUp("kept@example.com", "Kept", false)
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	gone, err := signUp("gone@example.com", "Gone", true)
	if err == nil || err.Error() != "abort" {
		t.Fatalf("InTx: got %v, want fn's error", err)
	}

	rows, err := db.QueryContext(ctx, `SELECT user_id, name FROM profile ORDER BY name`)
	if err != nil {
		t.Fatalf("QueryContext: %v", err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
		if id != kept {
			t.Errorf("profile of %s: want only the committed user's (%s); the rolled back one was %s", id, kept, gone)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "Kept" {
		t.Errorf("profiles: got %q, want [Kept]", got)
	}
	// Outside a transaction, queries run on the read-only pool.
	if _, err := db.QueryContext(ctx, `INSERT INTO profile (user_id, name) VALUES (?, 'x') RETURNING name`, kept); err == nil {
		t.Error("a write through QueryContext outside a transaction: got nil, want the reader pool's read-only error")
	}
	if got := db.Path(); filepath.Base(got) != "sigra.db" {
		t.Errorf("Path: got %q, want the file given to Open", got)
	}
}

// TestErrorPrefix: an error from a failing open or migration names the
// package once.
func TestErrorPrefix(t *testing.T) {
	dir := t.TempDir()
	conflicting := filepath.Join(dir, "conflicting.db")
	raw, err := sql.Open("sqlite", conflicting)
	if err != nil {
		t.Fatal(err)
	}
	// A table of the host's that holds a name the first migration creates.
	if _, err := raw.Exec(`CREATE TABLE sigra_users (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	notADatabase := filepath.Join(dir, "text.db")
	if err := os.WriteFile(notADatabase, []byte(strings.Repeat("not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"missing directory", Config{Path: filepath.Join(dir, "missing", "x.db")}},
		{"not a database", Config{Path: notADatabase}},
		{"migration fails", Config{Path: conflicting}},
		{"config", Config{Path: ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := New(t.Context(), tt.cfg)
			if err == nil {
				db.Close()
				t.Fatalf("New(%+v): got nil error, want one", tt.cfg)
			}
			msg := err.Error()
			if n := strings.Count(msg, "sigra/sqlite: ") + strings.Count(msg, "sigra: invalid config: sqlite: "); n != 1 || !strings.HasPrefix(msg, "sigra") {
				t.Errorf("New: got %q, want it to start with the package's prefix, once", msg)
			}
		})
	}
}

func TestAuditCursor(t *testing.T) {
	tests := []struct {
		at int64
		id string
	}{
		{0, "a"},
		{-62135596800000, store.NewID()},
		{1773500966535, "with:colon"},
		{1<<63 - 1, "ünïcode"},
	}
	for _, tt := range tests {
		c := encodeCursor(tt.at, tt.id)
		at, id, err := decodeCursor(c)
		if err != nil || at != tt.at || id != tt.id {
			t.Errorf("decodeCursor(encodeCursor(%d, %q)): got (%d, %q, %v), want the same back", tt.at, tt.id, at, id, err)
		}
	}
	for _, bad := range []string{"", "!", "MTIz", encodeCursorRaw("x:id"), encodeCursorRaw("12:"), encodeCursorRaw("+12:id"), encodeCursorRaw("012:id")} {
		if _, _, err := decodeCursor(bad); err == nil {
			t.Errorf("decodeCursor(%q): got nil, want an error", bad)
		}
	}
}

func FuzzAuditCursor(f *testing.F) {
	f.Add(encodeCursor(1773500966535, store.NewID()))
	f.Add("")
	f.Add("MTIzOmFi")
	f.Add("not base64!")
	f.Fuzz(func(t *testing.T, s string) {
		at, id, err := decodeCursor(s)
		if err != nil {
			return
		}
		// What decodes re-encodes to a cursor with the same meaning.
		at2, id2, err := decodeCursor(encodeCursor(at, id))
		if err != nil || at2 != at || id2 != id {
			t.Errorf("round trip of (%d, %q): got (%d, %q, %v)", at, id, at2, id2, err)
		}
	})
}

func encodeCursorRaw(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
