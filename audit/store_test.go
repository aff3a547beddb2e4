package audit_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
)

// auditStore is what the tests need of a store: the audit log the Logger
// writes through, users and transactions for the changes an audit row
// describes.
type auditStore interface {
	store.AuditLog
	store.Users
	store.Transactor
}

// backend opens a fresh, empty, migrated store of one kind for one test.
type backend struct {
	name string
	open func(t *testing.T) auditStore
}

// backends returns the stores every store-backed test runs against: the
// real SQLite adapter always, and the real PostgreSQL adapter when
// SIGRA_TEST_POSTGRES is set (the subtest skips with a message otherwise).
func backends() []backend {
	return []backend{
		{"sqlite", openSQLite},
		{"postgres", openPostgres},
	}
}

func openSQLite(t *testing.T) auditStore {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { closeStore(t, db) })
	return db
}

func openPostgres(t *testing.T) auditStore {
	t.Helper()
	dsn := pgtest.DSN(t)
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// closeStore closes a store that has a Close method, whatever its
// signature.
func closeStore(t *testing.T, s any) {
	t.Helper()
	switch c := s.(type) {
	case interface{ Close() error }:
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	case interface{ Close() }:
		c.Close()
	}
}

// forEachBackend runs fn once per backend, each in a parallel subtest with
// a store of its own.
func forEachBackend(t *testing.T, fn func(t *testing.T, st auditStore)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.open(t))
		})
	}
}

// t0 is the tests' reference time: millisecond precision, UTC, as every
// store keeps at least.
var t0 = time.Date(2026, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)

// clock is a fake clock that moves one second forward on every reading,
// so events recorded one after another have distinct, increasing times.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// all returns every audit event in st, newest first, following cursors.
func all(t *testing.T, st store.AuditLog) []*store.AuditEvent {
	t.Helper()
	var out []*store.AuditEvent
	q := store.AuditQuery{Limit: 100}
	for range 1000 {
		page, next, err := st.QueryAudit(context.Background(), q)
		if err != nil {
			t.Fatalf("QueryAudit: %v", err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		q.After = next
	}
	t.Fatal("QueryAudit: cursor never ended")
	return nil
}
