package postgres_test

import (
	"context"
	"io/fs"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store/postgres"
)

// TestMigrateOutboxRetention upgrades a schema written by the first
// migration alone, whose outbox marked a message given up on with a due
// time in year 9999: after the upgrade such rows are given up (GivenUpAt
// set, body erased), no longer pending nor claimable, and purgeable;
// queued and sent rows are unchanged.
func TestMigrateOutboxRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.New(ctx, postgres.Config{DSN: pgtest.DSN(t), SkipMigrate: true})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(db.Close)

	// The schema as the first release left it: only 0001 applied.
	first, err := fs.ReadFile(postgres.Migrations(), "0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		string(first),
		`CREATE TABLE sigra_schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO sigra_schema_migrations (version, name) VALUES (1, 'init')`,
	} {
		if _, err := db.Pool().Exec(ctx, stmt); err != nil {
			t.Fatalf("applying 0001 alone: %v", err)
		}
	}
	oldGiveUp := time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC)
	for _, row := range []struct {
		id     string
		sealed string
		next   time.Time
		sent   any
	}{
		{"gave-up", "sealed body", oldGiveUp, nil},
		{"queued", "sealed body", t0, nil},
		{"sent", "", t0, t0},
	} {
		if _, err := db.Pool().Exec(ctx, `INSERT INTO sigra_outbox
			(id, to_addr, sealed, attempts, next_attempt_at, last_error, created_at, sent_at)
			VALUES ($1, $1 || '@example.com', $2, 3, $3, 'gave up: 550 no such user', $4, $5)`,
			row.id, []byte(row.sealed), row.next, t0, row.sent); err != nil {
			t.Fatalf("insert %s: %v", row.id, err)
		}
	}

	var before, after time.Time
	if err := db.Pool().QueryRow(ctx, `SELECT now()`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if err := db.Pool().QueryRow(ctx, `SELECT now()`).Scan(&after); err != nil {
		t.Fatal(err)
	}

	gaveUp, err := db.MessageByID(ctx, "gave-up")
	if err != nil {
		t.Fatal(err)
	}
	if gaveUp.GivenUpAt.Before(before) || gaveUp.GivenUpAt.After(after) {
		t.Errorf("GivenUpAt of the old given-up row: got %v, want the migration's time (%v to %v)", gaveUp.GivenUpAt, before, after)
	}
	if len(gaveUp.Sealed) != 0 || gaveUp.Attempts != 3 || gaveUp.LastError != "gave up: 550 no such user" {
		t.Errorf("old given-up row: got %d sealed bytes, attempts %d, last error %q; want 0, 3 and the error kept",
			len(gaveUp.Sealed), gaveUp.Attempts, gaveUp.LastError)
	}
	for _, id := range []string{"queued", "sent"} {
		m, err := db.MessageByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !m.GivenUpAt.IsZero() {
			t.Errorf("%s row: GivenUpAt got %v, want zero", id, m.GivenUpAt)
		}
		if id == "queued" && string(m.Sealed) != "sealed body" {
			t.Errorf("queued row: Sealed got %q, want it kept", m.Sealed)
		}
	}

	if n, err := db.PendingMessages(ctx); err != nil || n != 1 {
		t.Errorf("PendingMessages: got %d, %v; want 1 (the queued row)", n, err)
	}
	claimed, err := db.ClaimMessages(ctx, oldGiveUp.Add(time.Hour), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 1 || claimed[0].ID != "queued" {
		t.Errorf("claim after year 9999: got %d messages, want only the queued one", len(claimed))
	}
	if n, err := db.PurgeMessages(ctx, after.Add(time.Second)); err != nil || n != 2 {
		t.Errorf("PurgeMessages: got %d, %v; want 2 (the sent and the given-up rows)", n, err)
	}
}
