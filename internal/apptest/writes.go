package apptest

import (
	"context"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
)

// writeStatement matches the SQL statements that change rows.
var writeStatement = regexp.MustCompile(`(?i)\b(INSERT|UPDATE|DELETE)\b`)

// writeCounter is a pgx tracer that counts the statements that change
// rows.
type writeCounter struct{ n atomic.Int64 }

func (c *writeCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if writeStatement.MatchString(d.SQL) {
		c.n.Add(1)
	}
	return ctx
}

func (c *writeCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart, TraceBatchQuery and TraceBatchEnd count the statements
// of a batch.
func (c *writeCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (c *writeCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	if writeStatement.MatchString(d.SQL) {
		c.n.Add(1)
	}
}

func (c *writeCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// openCountedPostgres opens a fresh PostgreSQL store whose writes are
// counted.
func openCountedPostgres(t testing.TB) (*postgres.DB, *writeCounter) {
	t.Helper()
	wc := &writeCounter{}
	db, err := postgres.New(context.Background(), postgres.Config{DSN: pgtest.DSN(t), Tracer: wc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, wc
}

// Writes returns a count of the writes made to the store so far, for
// tests that check two paths write the same: on SQLite the rows changed
// through the store's writer connection (SQLite's total_changes()), on
// PostgreSQL the statements that change rows (INSERT, UPDATE, DELETE)
// sent through the store. Compare differences on one backend; the units
// differ between them.
func (a *App) Writes(t testing.TB) int64 {
	t.Helper()
	switch db := a.Store.(type) {
	case *sqlite.DB:
		var n int64
		err := db.InTx(context.Background(), func(ctx context.Context) error {
			return db.QueryRowContext(ctx, "SELECT total_changes()").Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	case *postgres.DB:
		if a.writes == nil {
			t.Fatal("apptest: this PostgreSQL store was not opened by New: its writes are not counted")
		}
		return a.writes.n.Load()
	}
	t.Fatalf("apptest: cannot count the writes of %T", a.Store)
	return 0
}
