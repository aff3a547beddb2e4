package postgres_test

import (
	"context"
	"testing"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store/postgres"
)

// TestMigrationStatus: a fresh schema has no Sigra schema and every
// migration pending; after Migrate every one is applied; a version this
// build does not embed is listed last as unknown.
func TestMigrationStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
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
	if len(before) == 0 {
		t.Fatal("no migrations listed")
	}
	for i, s := range before {
		if (i > 0 && s.Version <= before[i-1].Version) || s.Version < 1 || s.Name == "" || !s.AppliedAt.IsZero() || s.Unknown {
			t.Errorf("state %d before Migrate: got %+v, want a pending version after the one before", i, s)
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
