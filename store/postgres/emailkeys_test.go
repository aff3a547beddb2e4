package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
)

// rekeyUsers are the user rows of the database that the rekeying tests
// upgrade, as a release before address keys of version 2 wrote them (the
// key is store.LegacyEmailKey of the address, unless old says otherwise),
// and the key each must have afterwards.
var rekeyUsers = []struct{ id, email, want, old string }{
	{"u-plain", "Plain@example.com", "plain@example.com", ""},                  // unchanged
	{"u-wide", "ｋｉｍ@example.com", "kim@example.com", ""},                       // fullwidth: moves
	{"u-idn", "Kim@Bücher.de", "kim@xn--bcher-kva.de", ""},                     // IDNA: moves
	{"u-sharp", "Straße@example.com", "straße@example.com", ""},                // collides with u-ss: keeps its key
	{"u-ss", "strasse@example.com", "strasse@example.com", ""},                 // holds the key
	{"u-dotted", "\u0130x@example.com", "i\u0307x@example.com", ""},            // leaves ix@example.com ...
	{"u-aix", "ＩＸ@example.com", "ix@example.com", ""},                          // ... which this one takes
	{"u-zw1", "z\u200Bed@example.com", "z\u200Bed@example.com", ""},            // zw1 and zw2 share a new key
	{"u-zw2", "ze\u200Dd@example.com", "ze\u200Dd@example.com", ""},            // that nobody holds: both keep theirs
	{"u-anon", "u-anon@anonymized.invalid", "u-anon@anonymized.invalid", ""},   // unchanged
	{"u-swap1", "swap1@example.com", "swap1@example.com", "swap2@example.com"}, // keys swapped
	{"u-swap2", "swap2@example.com", "swap2@example.com", "swap1@example.com"}, // (by hand)
}

// The reservation of u-plain, to a fullwidth address.
const (
	rekeyReservation     = "Ｎｅｗ@example.com"
	rekeyReservationWant = "new@example.com"
)

var rekeyNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// rekeyCollisions is what EmailKeyCollisions reports after the upgrade.
var rekeyCollisions = []store.EmailKeyCollision{
	{Key: "strasse@example.com", Rows: []store.EmailKeyRow{
		{ID: "u-sharp", Email: "Straße@example.com", Key: "straße@example.com"},
		{ID: "u-ss", Email: "strasse@example.com", Key: "strasse@example.com"},
	}},
	{Key: "zed@example.com", Rows: []store.EmailKeyRow{
		{ID: "u-zw1", Email: "z\u200Bed@example.com", Key: "z\u200Bed@example.com"},
		{ID: "u-zw2", Email: "ze\u200Dd@example.com", Key: "ze\u200Dd@example.com"},
	}},
}

// oldSchema returns the DSN of a fresh schema with the migrations before
// 0003_email_keys applied (and recorded as Migrate records them), holding
// rekeyUsers and rekeyReservation written with raw SQL and version 1
// keys.
func oldSchema(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dsn, db := schemaBefore(t, "0003")
	defer db.Close()
	for _, u := range rekeyUsers {
		key := u.old
		if key == "" {
			key = store.LegacyEmailKey(u.email)
		}
		if _, err := db.Pool().Exec(ctx, `INSERT INTO sigra_users (id, email, email_norm, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
			u.id, u.email, key, rekeyNow); err != nil {
			t.Fatalf("insert %s: %v", u.id, err)
		}
	}
	if _, err := db.Pool().Exec(ctx, `INSERT INTO sigra_email_reservations (user_id, email, email_norm, expires_at) VALUES ($1, $2, $3, $4)`,
		"u-plain", rekeyReservation, store.LegacyEmailKey(rekeyReservation), rekeyNow.Add(24*time.Hour)); err != nil {
		t.Fatalf("insert reservation: %v", err)
	}
	return dsn
}

// rekeyStoredKeys returns the key stored for each user and reservation
// (the latter under "reservation:" and the user ID).
func rekeyStoredKeys(t *testing.T, db *postgres.DB) map[string]string {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), `SELECT id, email_norm FROM sigra_users
		UNION ALL SELECT 'reservation:' || user_id, email_norm FROM sigra_email_reservations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	keys := map[string]string{}
	for rows.Next() {
		var id, key string
		if err := rows.Scan(&id, &key); err != nil {
			t.Fatal(err)
		}
		keys[id] = key
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

func rekeyVersion(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var v string
	if err := db.Pool().QueryRow(context.Background(), `SELECT value FROM sigra_meta WHERE key = 'email_key_version'`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// checkRekeyed checks the keys, the recorded version and the collision
// report of a schema made by oldSchema and migrated.
func checkRekeyed(t *testing.T, db *postgres.DB) {
	t.Helper()
	keys := rekeyStoredKeys(t, db)
	for _, u := range rekeyUsers {
		if keys[u.id] != u.want {
			t.Errorf("key of %s (%q): got %q, want %q", u.id, u.email, keys[u.id], u.want)
		}
	}
	if got := keys["reservation:u-plain"]; got != rekeyReservationWant {
		t.Errorf("key of the reservation: got %q, want %q", got, rekeyReservationWant)
	}
	if v := rekeyVersion(t, db); v != fmt.Sprint(store.EmailKeyVersion) {
		t.Errorf("email_key_version: got %q, want %d", v, store.EmailKeyVersion)
	}
	collisions, err := db.EmailKeyCollisions(context.Background())
	if err != nil {
		t.Fatalf("EmailKeyCollisions: %v", err)
	}
	if fmt.Sprint(collisions) != fmt.Sprint(rekeyCollisions) {
		t.Errorf("EmailKeyCollisions:\ngot  %v\nwant %v", collisions, rekeyCollisions)
	}
}

// TestMigrateRekeysEmails upgrades a schema written with version 1 keys:
// Open migrates and recomputes the keys, reports the collisions without
// merging, and every user is still found by their own address.
func TestMigrateRekeysEmails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDSN(t, oldSchema(t))
	checkRekeyed(t, db)

	for _, u := range rekeyUsers {
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
	if err := db.ConfirmEmail(ctx, "u-sharp", "strasse@example.com", rekeyNow); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConfirmEmail(u-sharp, u-ss's address): got %v, want ErrNotFound", err)
	}
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
	before := rekeyStoredKeys(t, db)
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if err := db.RekeyEmails(ctx); err != nil {
		t.Fatalf("RekeyEmails: %v", err)
	}
	if after := rekeyStoredKeys(t, db); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("keys after rekeying again:\ngot  %v\nwant %v", after, before)
	}
}

// TestMigrateRekeysEmailsConcurrently: instances starting at once on an
// old schema rekey it once, and all open.
func TestMigrateRekeysEmailsConcurrently(t *testing.T) {
	t.Parallel()
	dsn := oldSchema(t)
	const n = 4
	dbs := make([]*postgres.DB, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = postgres.New(context.Background(), postgres.Config{DSN: dsn, MaxConns: 2})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("New %d: %v", i, err)
		}
		t.Cleanup(dbs[i].Close)
	}
	checkRekeyed(t, dbs[n-1])
}

// TestRekeyEmailsLater: a host that applies the files with its own tool
// (SkipMigrate) gets version 1 keys until it calls RekeyEmails, which also
// fixes rows written meanwhile with version 1 keys, and runs in the
// caller's transaction; keys of a newer release are refused and left
// alone.
func TestRekeyEmailsLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := oldSchema(t)
	db, err := postgres.New(ctx, postgres.Config{DSN: dsn, SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	applyMigrationFiles(t, db, func(file string) bool { return file >= "0003" })
	if v := rekeyVersion(t, db); v != "1" {
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
	if v := rekeyVersion(t, db); v != "1" {
		t.Fatalf("email_key_version after a rolled-back RekeyEmails: got %q, want 1", v)
	}
	if err := db.RekeyEmails(ctx); err != nil {
		t.Fatalf("RekeyEmails: %v", err)
	}
	checkRekeyed(t, db)

	if _, err := db.Pool().Exec(ctx, `INSERT INTO sigra_users (id, email, email_norm, created_at, updated_at) VALUES ('u-late', 'Ｌａｔｅ@example.com', 'ｌａｔｅ@example.com', now(), now())`); err != nil {
		t.Fatal(err)
	}
	if err := db.RekeyEmails(ctx); err != nil {
		t.Fatalf("RekeyEmails: %v", err)
	}
	if got := rekeyStoredKeys(t, db)["u-late"]; got != "late@example.com" {
		t.Errorf("key of a late row: got %q, want %q", got, "late@example.com")
	}

	for _, stmt := range []string{
		`UPDATE sigra_meta SET value = '99' WHERE key = 'email_key_version'`,
		`UPDATE sigra_users SET email_norm = 'future' WHERE id = 'u-late'`,
	} {
		if _, err := db.Pool().Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RekeyEmails(ctx); err == nil {
		t.Error("RekeyEmails over version 99: got nil, want an error")
	}
	if err := db.Migrate(ctx); err != nil {
		t.Errorf("Migrate over version 99: %v", err)
	}
	if got := rekeyStoredKeys(t, db)["u-late"]; got != "future" {
		t.Errorf("key after refusing to rekey: got %q, want it untouched", got)
	}
}
