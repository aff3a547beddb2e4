package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestMigrationStatus: a new file has no Sigra schema and every migration
// pending; after Migrate every one is applied, named without its number;
// a version this build does not embed is listed last as unknown.
func TestMigrationStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := New(ctx, Config{Path: filepath.Join(t.TempDir(), "status.db"), SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if ok, err := db.Initialized(ctx); err != nil || ok {
		t.Fatalf("Initialized on a new file: got %v, %v; want false", ok, err)
	}
	before, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(ms) {
		t.Fatalf("got %d states, want %d", len(before), len(ms))
	}
	for i, s := range before {
		if s.Version != ms[i].version || s.Name == "" || s.Name[0] >= '0' && s.Name[0] <= '9' || !s.AppliedAt.IsZero() || s.Unknown {
			t.Errorf("state %d before Migrate: got %+v, want version %d pending, named without its number", i, s, ms[i].version)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.exec(ctx, `INSERT INTO sigra_schema_migrations (version, name, applied_at) VALUES (9999, '9999_from_the_future', 1)`); err != nil {
		t.Fatal(err)
	}
	after, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := db.Initialized(ctx); err != nil || !ok {
		t.Fatalf("Initialized after Migrate: got %v, %v; want true", ok, err)
	}
	if len(after) != len(ms)+1 {
		t.Fatalf("got %d states after Migrate, want %d", len(after), len(ms)+1)
	}
	for i, s := range after[:len(ms)] {
		if s.AppliedAt.IsZero() || s.Unknown || s.Name != before[i].Name {
			t.Errorf("state %d after Migrate: got %+v, want applied", i, s)
		}
	}
	if last := after[len(ms)]; last.Version != 9999 || last.Name != "from_the_future" || !last.Unknown || last.AppliedAt.IsZero() {
		t.Errorf("unknown version: got %+v", last)
	}
}
