package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// oldUser is a user row as a release before address keys of version 2
// wrote it: the key is store.LegacyEmailKey of the address, unless key
// says otherwise.
type oldUser struct{ id, email, key string }

// oldUsers are the rows of the database that TestMigrateRekeysEmails
// upgrades, and the key each must have afterwards.
var oldUsers = []struct {
	oldUser
	want string
}{
	{oldUser{"u-plain", "Plain@example.com", ""}, "plain@example.com"},                  // unchanged
	{oldUser{"u-wide", "ｋｉｍ@example.com", ""}, "kim@example.com"},                       // fullwidth: moves
	{oldUser{"u-idn", "Kim@Bücher.de", ""}, "kim@xn--bcher-kva.de"},                     // IDNA: moves
	{oldUser{"u-sharp", "Straße@example.com", ""}, "straße@example.com"},                // collides with u-ss: keeps its key
	{oldUser{"u-ss", "strasse@example.com", ""}, "strasse@example.com"},                 // holds the key
	{oldUser{"u-dotted", "\u0130x@example.com", ""}, "i\u0307x@example.com"},            // leaves ix@example.com ...
	{oldUser{"u-aix", "ＩＸ@example.com", ""}, "ix@example.com"},                          // ... which this one takes
	{oldUser{"u-zw1", "z\u200Bed@example.com", ""}, "z\u200Bed@example.com"},            // zw1 and zw2 share a new key
	{oldUser{"u-zw2", "ze\u200Dd@example.com", ""}, "ze\u200Dd@example.com"},            // that nobody holds: both keep theirs
	{oldUser{"u-anon", "u-anon@anonymized.invalid", ""}, "u-anon@anonymized.invalid"},   // unchanged
	{oldUser{"u-swap1", "swap1@example.com", "swap2@example.com"}, "swap1@example.com"}, // keys swapped
	{oldUser{"u-swap2", "swap2@example.com", "swap1@example.com"}, "swap2@example.com"}, // (by hand)
}

// oldReservation is u-plain's pending change to a fullwidth address.
const (
	oldReservation     = "Ｎｅｗ@example.com"
	oldReservationWant = "new@example.com"
)

var rekeyNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// oldDatabase creates a database file at schema version 2 (before the
// address keys of version 2) holding oldUsers and oldReservation, written
// with raw SQL and version 1 keys, and returns its path.
func oldDatabase(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := New(ctx, Config{Path: path, SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := loadMigrations(Migrations())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m migration) bool { return m.name == "0003_email_keys" })
	if i < 0 {
		t.Fatal("no migration 0003_email_keys")
	}
	err = db.begin(ctx, func(tx *sql.Tx) error {
		if err := migrate(ctx, tx, ms[:i]); err != nil {
			return err
		}
		for _, u := range oldUsers {
			key := u.key
			if key == "" {
				key = store.LegacyEmailKey(u.email)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sigra_users (id, email, email_norm, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
				u.id, u.email, key, rekeyNow.UnixMilli(), rekeyNow.UnixMilli()); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sigra_email_reservations (user_id, email, email_norm, expires_at) VALUES (?, ?, ?, ?)`,
			"u-plain", oldReservation, store.LegacyEmailKey(oldReservation), rekeyNow.Add(24*time.Hour).UnixMilli())
		return err
	})
	if err != nil {
		t.Fatalf("old schema and rows: %v", err)
	}
	return path
}

// storedKeys returns the key stored for each user and reservation (the
// latter under "reservation:" and the user ID).
func storedKeys(t *testing.T, db *DB) map[string]string {
	t.Helper()
	keys := map[string]string{}
	for _, q := range []string{
		`SELECT id, email_norm FROM sigra_users`,
		`SELECT 'reservation:' || user_id, email_norm FROM sigra_email_reservations`,
	} {
		rows, err := db.reader.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, key string
			if err := rows.Scan(&id, &key); err != nil {
				t.Fatal(err)
			}
			keys[id] = key
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func keyVersion(t *testing.T, db *DB) string {
	t.Helper()
	var v string
	if err := db.reader.QueryRowContext(t.Context(), `SELECT value FROM sigra_meta WHERE key = 'email_key_version'`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// checkRekeyed checks the keys, the recorded version and the collision
// report of a database made by oldDatabase and migrated.
func checkRekeyed(t *testing.T, db *DB) {
	t.Helper()
	keys := storedKeys(t, db)
	for _, u := range oldUsers {
		if keys[u.id] != u.want {
			t.Errorf("key of %s (%q): got %q, want %q", u.id, u.email, keys[u.id], u.want)
		}
	}
	if got := keys["reservation:u-plain"]; got != oldReservationWant {
		t.Errorf("key of the reservation: got %q, want %q", got, oldReservationWant)
	}
	if v := keyVersion(t, db); v != fmt.Sprint(store.EmailKeyVersion) {
		t.Errorf("email_key_version: got %q, want %d", v, store.EmailKeyVersion)
	}
	collisions, err := db.EmailKeyCollisions(t.Context())
	if err != nil {
		t.Fatalf("EmailKeyCollisions: %v", err)
	}
	want := []store.EmailKeyCollision{
		{Key: "strasse@example.com", Rows: []store.EmailKeyRow{
			{ID: "u-sharp", Email: "Straße@example.com", Key: "straße@example.com"},
			{ID: "u-ss", Email: "strasse@example.com", Key: "strasse@example.com"},
		}},
		{Key: "zed@example.com", Rows: []store.EmailKeyRow{
			{ID: "u-zw1", Email: "z\u200Bed@example.com", Key: "z\u200Bed@example.com"},
			{ID: "u-zw2", Email: "ze\u200Dd@example.com", Key: "ze\u200Dd@example.com"},
		}},
	}
	if fmt.Sprint(collisions) != fmt.Sprint(want) {
		t.Errorf("EmailKeyCollisions:\ngot  %v\nwant %v", collisions, want)
	}
}

// TestMigrateRekeysEmails upgrades a database written with version 1 keys:
// Open migrates and recomputes the keys, reports the collisions without
// merging, and every user is still found by their own address.
func TestMigrateRekeysEmails(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, oldDatabase(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	checkRekeyed(t, db)

	// Every user is found by their address as entered, and the colliding
	// ones by theirs, each its own account.
	for _, u := range oldUsers {
		got, err := db.UserByEmail(ctx, u.email)
		if err != nil || got.ID != u.id || got.Email != u.email {
			t.Errorf("UserByEmail(%q): got (%+v, %v), want user %s", u.email, got, err, u.id)
		}
		if err := db.ConfirmEmail(ctx, u.id, u.email, rekeyNow); err != nil {
			t.Errorf("ConfirmEmail(%s, %q): %v", u.id, u.email, err)
		}
	}
	for form, id := range map[string]string{
		"kim@example.com":     "u-wide",
		"KIM@bücher.de":       "u-idn",
		"STRASSE@example.com": "u-ss",
		"STRAẞE@example.com":  "u-sharp", // its own address, in another case
		"ix@example.com":      "u-aix",
		"new@example.com":     "", // reserved, not held
		"zed@example.com":     "", // both colliding users kept their keys
		"straße@example.com ": "u-sharp",
		"ｐｌａｉｎ@example.com":   "u-plain",
	} {
		got, err := db.UserByEmail(ctx, form)
		switch {
		case id == "" && !errors.Is(err, store.ErrNotFound):
			t.Errorf("UserByEmail(%q): got (%+v, %v), want ErrNotFound", form, got, err)
		case id != "" && (err != nil || got.ID != id):
			t.Errorf("UserByEmail(%q): got (%+v, %v), want user %s", form, got, err, id)
		}
	}
	// A version 1 key is no way into another account.
	if err := db.ConfirmEmail(ctx, "u-ss", "Straße@example.com", rekeyNow); err != nil {
		t.Errorf("ConfirmEmail(u-ss, its key's other spelling): %v", err)
	}
	if err := db.ConfirmEmail(ctx, "u-sharp", "strasse@example.com", rekeyNow); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConfirmEmail(u-sharp, u-ss's address): got %v, want ErrNotFound", err)
	}
	// The new keys hold: look-alikes of moved addresses are taken, the
	// reservation holds its address.
	for _, e := range []string{"KIM@example.com", "kim@xn--bcher-kva.de", "Strasse@example.com", "ＩＸ@example.com", "new@example.com"} {
		err := db.CreateUser(ctx, &store.User{Email: e, CreatedAt: rekeyNow})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateUser(%q): got %v, want ErrConflict", e, err)
		}
	}
	if err := db.ChangeEmail(ctx, "u-plain", "NEW@example.com", rekeyNow); err != nil {
		t.Errorf("ChangeEmail to the rekeyed reservation: %v", err)
	}

	// Migrating and rekeying again change nothing.
	before := storedKeys(t, db)
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if err := db.RekeyEmails(ctx); err != nil {
		t.Fatalf("RekeyEmails: %v", err)
	}
	if after := storedKeys(t, db); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("keys after rekeying again:\ngot  %v\nwant %v", after, before)
	}
}

// TestMigrateRekeysEmailsConcurrently: processes starting at once on an
// old file rekey it once, and all open.
func TestMigrateRekeysEmailsConcurrently(t *testing.T) {
	path := oldDatabase(t)
	const n = 4
	dbs := make([]*DB, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = Open(t.Context(), path)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	checkRekeyed(t, dbs[n-1])
}

// TestRekeyEmailsLater: a host that applies the files with its own tool
// (SkipMigrate) gets version 1 keys until it calls RekeyEmails, which also
// fixes rows written meanwhile with version 1 keys; keys of a newer
// release are refused and left alone.
func TestRekeyEmailsLater(t *testing.T) {
	ctx := t.Context()
	path := oldDatabase(t)
	db, err := New(ctx, Config{Path: path, SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := loadMigrations(Migrations())
	if err != nil {
		t.Fatal(err)
	}
	// The host's tool runs the SQL files only (and records them where
	// Migrate looks, as if they had been applied by Migrate).
	i := slices.IndexFunc(ms, func(m migration) bool { return m.name == "0003_email_keys" })
	for _, m := range ms[i:] {
		if _, err := db.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("apply %s: %v", m.name, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO sigra_schema_migrations (version, name, applied_at) VALUES (?, ?, 0)`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	if v := keyVersion(t, db); v != "1" {
		t.Fatalf("email_key_version after the SQL files: got %q, want 1", v)
	}
	// In a transaction that rolls back, nothing is rekeyed.
	errRollback := errors.New("roll back")
	err = db.InTx(ctx, func(ctx context.Context) error {
		if err := db.RekeyEmails(ctx); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx: got %v, want the function's error", err)
	}
	if v := keyVersion(t, db); v != "1" {
		t.Fatalf("email_key_version after a rolled-back RekeyEmails: got %q, want 1", v)
	}
	if err := db.RekeyEmails(ctx); err != nil {
		t.Fatalf("RekeyEmails: %v", err)
	}
	checkRekeyed(t, db)

	// A row written by an older release after the rekeying is fixed by the
	// next RekeyEmails.
	if _, err := db.ExecContext(ctx, `INSERT INTO sigra_users (id, email, email_norm, created_at, updated_at) VALUES ('u-late', 'Ｌａｔｅ@example.com', 'ｌａｔｅ@example.com', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := db.RekeyEmails(ctx); err != nil {
		t.Fatalf("RekeyEmails: %v", err)
	}
	if got := storedKeys(t, db)["u-late"]; got != "late@example.com" {
		t.Errorf("key of a late row: got %q, want %q", got, "late@example.com")
	}

	// Keys of a newer release: RekeyEmails refuses, Migrate leaves them.
	if _, err := db.ExecContext(ctx, `UPDATE sigra_meta SET value = '99' WHERE key = 'email_key_version'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE sigra_users SET email_norm = 'future' WHERE id = 'u-late'`); err != nil {
		t.Fatal(err)
	}
	if err := db.RekeyEmails(ctx); err == nil {
		t.Error("RekeyEmails over version 99: got nil, want an error")
	}
	if err := db.Migrate(ctx); err != nil {
		t.Errorf("Migrate over version 99: %v", err)
	}
	if got := storedKeys(t, db)["u-late"]; got != "future" {
		t.Errorf("key after refusing to rekey: got %q, want it untouched", got)
	}
}
