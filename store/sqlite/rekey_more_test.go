package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/store"
)

// fullwidth returns s with its ASCII letters and digits in their
// fullwidth forms, which version 1 keys keep and version 2 keys fold.
func fullwidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r - '!' + '！'
		}
		return r
	}, s)
}

// bulkRow is a row of a bulk rekeying test: its ID, address, stored key
// (before) and the key it must have after the rekeying (want).
type bulkRow struct{ id, email, before, want string }

// bulkRows returns n users and a reservation for each, as a release
// before address keys of version 2 wrote them, with the keys they must
// have afterwards, and the collisions that must be reported. Most rows
// move; pairs of a row near the start and a row near the end (in
// different batches once n exceeds two) form chains (a row taking the key
// another leaves), collisions with a row that keeps its key, and a
// collision of two moving rows.
func bulkRows(n int) (users, reservations []bulkRow, collisions []store.EmailKeyCollision) {
	id := func(i int) string { return fmt.Sprintf("m-%05d", i) }
	for i := range n {
		local := fmt.Sprintf("user%05d", i)
		email := fullwidth(local) + "@example.com"
		users = append(users, bulkRow{id(i), email, store.LegacyEmailKey(email), local + "@example.com"})
		local = fmt.Sprintf("new%05d", i)
		email = fullwidth(local) + "@example.com"
		reservations = append(reservations, bulkRow{id(i), email, store.LegacyEmailKey(email), local + "@example.com"})
	}
	set := func(i int, email, before, want string) {
		users[i] = bulkRow{id(i), email, before, want}
	}
	// A chain: the last row leaves chain@example.com, the second takes it.
	set(1, "ｃｈａｉｎ@example.com", "ｃｈａｉｎ@example.com", "chain@example.com")
	set(n-1, "chained@example.com", "chain@example.com", "chained@example.com")
	// A moving row whose new key a row that stays holds: both keep theirs.
	set(2, "ｈｅｌｄ@example.com", "ｈｅｌｄ@example.com", "ｈｅｌｄ@example.com")
	set(n-2, "held@example.com", "held@example.com", "held@example.com")
	// The same, the row that stays first: its key is found by a later
	// look-up of held keys.
	set(n-4, "ｋｅｐｔ@example.com", "ｋｅｐｔ@example.com", "ｋｅｐｔ@example.com")
	set(4, "kept@example.com", "kept@example.com", "kept@example.com")
	// A chain the other way: the fifth row leaves link@example.com, a row
	// near the end takes it.
	set(5, "linked@example.com", "link@example.com", "linked@example.com")
	set(n-5, "ｌｉｎｋ@example.com", "ｌｉｎｋ@example.com", "link@example.com")
	// Two moving rows with one new key: both keep theirs.
	set(3, "tw\u200Bin@example.com", "tw\u200Bin@example.com", "tw\u200Bin@example.com")
	set(n-3, "twi\u200Dn@example.com", "twi\u200Dn@example.com", "twi\u200Dn@example.com")
	row := func(i int) store.EmailKeyRow {
		return store.EmailKeyRow{ID: users[i].id, Email: users[i].email, Key: users[i].before}
	}
	collisions = []store.EmailKeyCollision{
		{Key: "held@example.com", Rows: []store.EmailKeyRow{row(2), row(n - 2)}},
		{Key: "kept@example.com", Rows: []store.EmailKeyRow{row(4), row(n - 4)}},
		{Key: "twin@example.com", Rows: []store.EmailKeyRow{row(3), row(n - 3)}},
	}
	return users, reservations, collisions
}

// bulkDatabase creates a database file at the schema before the address
// keys of version 2, holding users and reservations with their stored
// keys, and returns its path.
func bulkDatabase(t *testing.T, users, reservations []bulkRow) string {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "bulk.db")
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
		// Each INSERT is prepared once: parsing it again for every row
		// was most of the time this set-up took.
		insertUser, err := tx.PrepareContext(ctx, `INSERT INTO sigra_users (id, email, email_norm, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insertUser.Close()
		for _, u := range users {
			if _, err := insertUser.ExecContext(ctx, u.id, u.email, u.before, rekeyNow.UnixMilli(), rekeyNow.UnixMilli()); err != nil {
				return err
			}
		}
		insertReservation, err := tx.PrepareContext(ctx, `INSERT INTO sigra_email_reservations (user_id, email, email_norm, expires_at) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insertReservation.Close()
		for _, r := range reservations {
			if _, err := insertReservation.ExecContext(ctx, r.id, r.email, r.before, rekeyNow.UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("old schema and rows: %v", err)
	}
	return path
}

// TestMigrateRekeysEmailsInBatches upgrades databases holding more rows
// than a batch of the rekeying, exactly two batches and one row more, with
// more moves than a batch and with chains and collisions between rows of
// different batches; rekeying again changes nothing.
func TestMigrateRekeysEmailsInBatches(t *testing.T) {
	for _, n := range []int{2 * rekeyBatch, 2*rekeyBatch + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ctx := t.Context()
			users, reservations, wantCollisions := bulkRows(n)
			want := map[string]string{}
			moving := 0
			for _, u := range users {
				want[u.id] = u.want
				if u.want != u.before {
					moving++
				}
			}
			for _, r := range reservations {
				want["reservation:"+r.id] = r.want
			}
			if moving <= rekeyBatch {
				t.Fatalf("%d users move, want more than a batch (%d)", moving, rekeyBatch)
			}

			db, err := Open(ctx, bulkDatabase(t, users, reservations))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			check := func(when string) {
				t.Helper()
				got := storedKeys(t, db)
				if len(got) != len(want) {
					t.Errorf("%s: %d rows, want %d", when, len(got), len(want))
				}
				bad := 0
				for id, w := range want {
					if got[id] != w {
						if bad++; bad <= 5 {
							t.Errorf("%s: key of %s: got %q, want %q", when, id, got[id], w)
						}
					}
				}
				if bad > 5 {
					t.Errorf("%s: %d keys wrong in all", when, bad)
				}
				if v := keyVersion(t, db); v != fmt.Sprint(store.EmailKeyVersion) {
					t.Errorf("%s: email_key_version: got %q, want %d", when, v, store.EmailKeyVersion)
				}
				collisions, err := db.EmailKeyCollisions(ctx)
				if err != nil {
					t.Fatalf("%s: EmailKeyCollisions: %v", when, err)
				}
				if fmt.Sprint(collisions) != fmt.Sprint(wantCollisions) {
					t.Errorf("%s: EmailKeyCollisions:\ngot  %v\nwant %v", when, collisions, wantCollisions)
				}
			}
			check("after Open")
			if err := db.RekeyEmails(ctx); err != nil {
				t.Fatalf("RekeyEmails: %v", err)
			}
			check("after RekeyEmails again")
		})
	}
}
