package postgres

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store"
)

// BenchmarkListUsersMillion measures the admin console's users list on a
// database of a million users: the first page and the 1000th (keyset
// pages of 50), a prefix search and a state filter, beside a lookup of
// one user by address (the baseline, in the same run). Seeding is one
// INSERT ... SELECT over generate_series. It runs only with
// SIGRA_BENCH_MILLION=1 (and SIGRA_TEST_POSTGRES).
func BenchmarkListUsersMillion(b *testing.B) {
	if os.Getenv("SIGRA_BENCH_MILLION") != "1" {
		b.Skip("set SIGRA_BENCH_MILLION=1 to seed a million users and measure the users list")
	}
	ctx := context.Background()
	db, err := Open(ctx, pgtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// Every tenth address unconfirmed, every thousandth account disabled.
	_, err = db.Pool().Exec(ctx, `INSERT INTO sigra_users (id, email, email_norm, password_hash, email_confirmed_at, disabled_at, created_at, updated_at)
		SELECT format('u%s', lpad(i::text, 7, '0')), format('user%s@example.com', lpad(i::text, 7, '0')),
			format('user%s@example.com', lpad(i::text, 7, '0')), '',
			CASE WHEN i % 10 = 0 THEN NULL ELSE now() END, CASE WHEN i % 1000 = 0 THEN now() END, now(), now()
		FROM generate_series(1, 1000000) AS i`)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `ANALYZE sigra_users`); err != nil {
		b.Fatal(err)
	}
	const size = 50
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
