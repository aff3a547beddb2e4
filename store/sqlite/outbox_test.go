package sqlite

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMigrateOutboxRetention upgrades a database written by the first
// schema, whose outbox marked a message given up on with a due time in
// year 9999: after the upgrade such rows are given up (GivenUpAt set, body
// erased), no longer pending nor claimable, and purgeable; queued and sent
// rows are unchanged.
func TestMigrateOutboxRetention(t *testing.T) {
	ctx := t.Context()
	db, err := New(ctx, Config{Path: filepath.Join(t.TempDir(), "old.db"), SkipMigrate: true})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { db.Close() })

	// The database as the first release left it: only 0001 applied.
	migrations, err := loadMigrations(Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if len(migrations) < 2 || migrations[0].version != 1 {
		t.Fatalf("embedded migrations: got %d, want 0001 and later ones", len(migrations))
	}
	for _, stmt := range []string{
		migrations[0].sql,
		`CREATE TABLE sigra_schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		`INSERT INTO sigra_schema_migrations VALUES (1, '0001_init', 0)`,
	} {
		if _, err := db.writer.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("applying 0001 alone: %v", err)
		}
	}
	t0 := time.Date(2026, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)
	oldGiveUp := time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC)
	for _, row := range []struct {
		id     string
		sealed []byte
		next   time.Time
		sent   time.Time
	}{
		{"gave-up", []byte("sealed body"), oldGiveUp, time.Time{}},
		{"queued", []byte("sealed body"), t0, time.Time{}},
		{"sent", nil, t0, t0},
	} {
		if _, err := db.writer.ExecContext(ctx, `INSERT INTO sigra_outbox
			(id, recipient, sealed, attempts, next_attempt_at, last_error, created_at, sent_at)
			VALUES (?, ?, ?, 3, ?, 'gave up: 550 no such user', ?, ?)`,
			row.id, row.id+"@example.com", row.sealed, ms(row.next), ms(t0), ms(row.sent)); err != nil {
			t.Fatalf("insert %s: %v", row.id, err)
		}
	}

	before := time.Now().UTC().Truncate(time.Second)
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	after := time.Now().UTC()

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

// TestOutboxQueryPlans checks that the outbox's recurring statements read
// the partial indexes of migration 0002 rather than scanning the table,
// which holds every message kept for the retention period.
func TestOutboxQueryPlans(t *testing.T) {
	db := openTest(t)
	tests := []struct {
		name, query string
		args        []any
		index       []string
	}{
		{"claim", claimMessagesSQL, []any{int64(2), int64(1), 10}, []string{"sigra_outbox_due"}},
		{"pending", pendingMessagesSQL, nil, []string{"sigra_outbox_due"}},
		{"purge", purgeMessagesSQL, []any{int64(1)}, []string{"sigra_outbox_sent", "sigra_outbox_given_up"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.reader.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			var words []string
			for _, line := range plan {
				if line == "SCAN sigra_outbox" || line == "SCAN TABLE sigra_outbox" {
					t.Errorf("plan: got %q, want no full scan of sigra_outbox", plan)
				}
				words = append(words, strings.Fields(line)...)
			}
			for _, index := range tt.index {
				if !slices.Contains(words, index) {
					t.Errorf("plan: got %q, want it to use index %s", plan, index)
				}
			}
		})
	}
}
