package postgres_test

import (
	"context"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store/postgres"
)

func TestMigrationsFS(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(postgres.Migrations(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("Migrations: got no .sql files")
	}
	for _, f := range files {
		b, err := fs.ReadFile(postgres.Migrations(), f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if !strings.HasPrefix(s, "-- +goose Up\n") {
			t.Errorf("%s: does not start with the goose annotation", f)
		}
		if strings.Contains(strings.ToLower(s), "public.") {
			t.Errorf("%s: names the public schema; tables must follow search_path", f)
		}
	}
}

// TestMigrateConcurrently starts several instances (separate pools) on one
// fresh schema at once: all succeed, and each migration is applied once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	const instances = 6
	dbs := make([]*postgres.DB, instances)
	for i := range dbs {
		db, err := postgres.New(context.Background(), postgres.Config{DSN: dsn, SkipMigrate: true, MaxConns: 1})
		if err != nil {
			t.Fatalf("New %d: %v", i, err)
		}
		t.Cleanup(db.Close)
		dbs[i] = db
	}
	var wg sync.WaitGroup
	errs := make([]error, instances)
	start := make(chan struct{})
	for i, db := range dbs {
		wg.Go(func() {
			<-start
			errs[i] = db.Migrate(context.Background())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate on instance %d: %v", i, err)
		}
	}
	files, err := fs.Glob(postgres.Migrations(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var rows, versions int
	err = dbs[0].Pool().QueryRow(context.Background(),
		`SELECT count(*), count(DISTINCT version) FROM sigra_schema_migrations`).Scan(&rows, &versions)
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(files) || versions != len(files) {
		t.Errorf("sigra_schema_migrations: got %d rows, %d versions; want %d of each", rows, versions, len(files))
	}
	// Migrating again is a no-op.
	if err := dbs[1].Migrate(context.Background()); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
}

// TestMigrateInOwnSchema checks that the tables land in the DSN's schema,
// not in public, and that versions recorded by a newer release are left
// alone.
func TestMigrateInOwnSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	var schema string
	var inSchema, inPublic int
	err := db.Pool().QueryRow(ctx, `SELECT current_schema(),
		(SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'sigra\_%'),
		(SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'sigra_users')`,
	).Scan(&schema, &inSchema, &inPublic)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(schema, "sigra_test_") || inSchema < 11 || inPublic != 0 {
		t.Errorf("got schema %q with %d sigra_ tables, %d in public; want the test schema with all of them", schema, inSchema, inPublic)
	}
	if _, err := db.Pool().Exec(ctx, `INSERT INTO sigra_schema_migrations (version, name) VALUES (999999, 'future')`); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Errorf("Migrate with a newer version recorded: %v", err)
	}
}
