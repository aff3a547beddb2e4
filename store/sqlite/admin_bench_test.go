package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigra-go/sigra/store"
)

// millionUsers is the size of the users-list benchmark's database.
const millionUsers = 1_000_000

// BenchmarkListUsersMillion measures the admin console's users list on a
// database of a million users: the first page and the 1000th (keyset
// pages of 50), a prefix search and a state filter, beside a lookup of
// one user by address (the baseline, in the same run). Seeding takes one
// INSERT ... SELECT in one transaction. It runs only with
// SIGRA_BENCH_MILLION=1.
func BenchmarkListUsersMillion(b *testing.B) {
	if os.Getenv("SIGRA_BENCH_MILLION") != "1" {
		b.Skip("set SIGRA_BENCH_MILLION=1 to seed a million users and measure the users list")
	}
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "million.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// Every tenth address unconfirmed, every thousandth account disabled.
	_, err = db.exec(ctx, `INSERT INTO sigra_users (id, email, email_norm, password_hash, email_confirmed_at, disabled_at, created_at, updated_at)
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
		SELECT printf('u%07d', i), printf('user%07d@example.com', i), printf('user%07d@example.com', i), '',
			CASE WHEN i % 10 = 0 THEN NULL ELSE 1 END, CASE WHEN i % 1000 = 0 THEN 1 END, 1, 1 FROM n`, millionUsers)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	benchListUsers(b, db)
}

// benchListUsers runs the sub-benchmarks on a seeded directory.
func benchListUsers(b *testing.B, db interface {
	store.UserDirectory
	store.Users
}) {
	ctx := context.Background()
	const size = 50
	// The cursor of the 1000th page, found by walking the pages.
	q := store.UserQuery{Limit: size}
	for range 999 {
		_, next, err := db.ListUsers(ctx, q)
		if err != nil || next == "" {
			b.Fatalf("walking to page 1000: %v", err)
		}
		q.After = next
	}
	page1000 := q.After
	run := func(name string, q store.UserQuery, want string) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				rows, _, err := db.ListUsers(ctx, q)
				if err != nil || len(rows) == 0 || rows[0].Email != want {
					b.Fatalf("got %d rows (%v)", len(rows), err)
				}
			}
		})
	}
	b.Run("baseline-UserByEmail", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.UserByEmail(ctx, "user0049951@example.com"); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("first-page", store.UserQuery{Limit: size}, "user0000001@example.com")
	run("page-1000", store.UserQuery{Limit: size, After: page1000}, fmt.Sprintf("user%07d@example.com", 999*size+1))
	run("prefix", store.UserQuery{Limit: size, EmailPrefix: "user05"}, "user0500000@example.com")
	run("disabled", store.UserQuery{Limit: size, State: store.UserDisabled}, "user0001000@example.com")
}
