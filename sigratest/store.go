package sigratest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
)

// Store is what the user helpers need of the application's store: users,
// TOTP secrets, recovery codes and transactions. Both adapters
// (*sqlite.DB, *postgres.DB) implement it; a host's own store does when it
// implements mfa.Store.
type Store interface {
	store.Users
	store.TOTP
	store.RecoveryCodes
	store.Transactor
}

// SQLite opens a store on a new SQLite file in t's temporary directory,
// with the migrations run, and closes it when the test ends. It fails t if
// the file cannot be opened.
func SQLite(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sigra.db"))
	if err != nil {
		t.Fatalf("sigratest: open SQLite store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Postgres opens a store on a new, empty schema of the PostgreSQL server
// named by dsn (URL or keyword/value form), with the migrations run. The
// schema has a random name, so tests in parallel (in one process or
// several) never share tables; it is dropped, with everything in it, when
// the test ends, after the store is closed. When dsn is empty (typically
// an unset environment variable) t is skipped with a message saying so;
// a server that cannot be reached fails t.
func Postgres(t testing.TB, dsn string) *postgres.DB {
	t.Helper()
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		t.Skip("sigratest: no PostgreSQL DSN given: skipping (pass one to sigratest.Postgres, e.g. from an environment variable)")
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("sigratest: random schema name: %v", err)
	}
	schema := "sigratest_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := execPostgres(ctx, dsn, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("sigratest: create a PostgreSQL schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := execPostgres(ctx, dsn, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("sigratest: drop the test schema %s: %v", schema, err)
		}
	})
	db, err := postgres.Open(ctx, pgtest.WithSearchPath(dsn, schema))
	if err != nil {
		t.Fatalf("sigratest: open PostgreSQL store: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// execPostgres runs one statement on a connection of its own.
func execPostgres(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}
