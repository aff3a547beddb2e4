package postgres_test

import (
	"context"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store/postgres"
)

// embeddedVersions returns the versions of the embedded migration files,
// in order. Versions need not be consecutive.
func embeddedVersions(t *testing.T) []int {
	t.Helper()
	names, err := fs.Glob(postgres.Migrations(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for _, name := range names {
		digits, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(digits)
		if err != nil {
			t.Fatalf("migration %q: %v", name, err)
		}
		vs = append(vs, v)
	}
	return vs
}

// TestMigrationStatus: a fresh schema has no Sigra schema and every
// migration pending; after Migrate every one is applied; a version this
// build does not embed is listed last as unknown.
func TestMigrationStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	versions := embeddedVersions(t)
	db, err := postgres.New(ctx, postgres.Config{DSN: pgtest.DSN(t), SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if ok, err := db.Initialized(ctx); err != nil || ok {
		t.Fatalf("Initialized on a fresh schema: got %v, %v; want false", ok, err)
	}
	before, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 || len(before) != len(versions) {
		t.Fatalf("got %d migrations listed, want the %d embedded", len(before), len(versions))
	}
	for i, s := range before {
		if s.Version != versions[i] || s.Name == "" || !s.AppliedAt.IsZero() || s.Unknown {
			t.Errorf("state %d before Migrate: got %+v, want version %d pending", i, s, versions[i])
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `INSERT INTO sigra_schema_migrations (version, name) VALUES (9999, 'from_the_future')`); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.Initialized(ctx); err != nil || !ok {
		t.Fatalf("Initialized after Migrate: got %v, %v; want true", ok, err)
	}
	after, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Fatalf("got %d states after Migrate, want %d", len(after), len(before)+1)
	}
	for i, s := range after[:len(before)] {
		if s.AppliedAt.IsZero() || s.Unknown || s.Name != before[i].Name {
			t.Errorf("state %d after Migrate: got %+v, want applied", i, s)
		}
	}
	if last := after[len(before)]; last.Version != 9999 || last.Name != "from_the_future" || !last.Unknown || last.AppliedAt.IsZero() {
		t.Errorf("unknown version: got %+v", last)
	}
}
