package sqlite_test

import (
	"context"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "sigra-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	if err := db.CreateUser(ctx, &store.User{Email: "User@Example.com"}); err != nil {
		log.Fatal(err)
	}
	u, err := db.UserByEmail(ctx, "user@example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Email)
	// Output: User@Example.com
}

func ExampleNew() {
	dir, err := os.MkdirTemp("", "sigra-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sqlite.New(context.Background(), sqlite.Config{
		Path:        filepath.Join(dir, "app.db"),
		ReadConns:   8,
		BusyTimeout: 10 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	fmt.Println("opened")

	_, err = sqlite.New(context.Background(), sqlite.Config{Path: ":memory:"})
	fmt.Println(err)
	// Output:
	// opened
	// sigra: invalid config: sqlite: Path ":memory:": want a file path, not a DSN or an in-memory database
}

func ExampleDB_InTx() {
	dir, err := os.MkdirTemp("", "sigra-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// The account and its audit row commit together. Inside the function,
	// every call passes the context it was given.
	err = db.InTx(ctx, func(ctx context.Context) error {
		u := &store.User{Email: "new.user@example.com"}
		if err := db.CreateUser(ctx, u); err != nil {
			return err
		}
		return db.AppendAudit(ctx, &store.AuditEvent{Action: "user.registered", SubjectID: u.ID, Outcome: "success"})
	})
	if err != nil {
		log.Fatal(err)
	}
	events, _, err := db.QueryAudit(ctx, store.AuditQuery{Action: "user.registered"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(events), "audit event")
	// Output: 1 audit event
}

// A host application keeps its own table beside Sigra's, in the same file,
// and writes to it in the same transaction as a Sigra write: the profile
// and the account exist together or not at all.
func ExampleDB_ExecContext() {
	dir, err := os.MkdirTemp("", "sigra-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// The host's own schema (its own migrations would do this).
	_, err = db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS profile (
		user_id      TEXT PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE,
		display_name TEXT NOT NULL
	)`)
	if err != nil {
		log.Fatal(err)
	}

	var id string
	err = db.InTx(ctx, func(ctx context.Context) error {
		u := &store.User{Email: "ada@example.com"}
		if err := db.CreateUser(ctx, u); err != nil {
			return err
		}
		id = u.ID
		_, err := db.ExecContext(ctx, `INSERT INTO profile (user_id, display_name) VALUES (?, ?)`, u.ID, "Ada")
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	var name string
	if err := db.QueryRowContext(ctx, `SELECT display_name FROM profile WHERE user_id = ?`, id).Scan(&name); err != nil {
		log.Fatal(err)
	}
	fmt.Println(name)
	// Output: Ada
}

func ExampleMigrations() {
	names, err := fs.Glob(sqlite.Migrations(), "*.sql")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(names)
	// Output: [0001_init.sql 0002_outbox_retention.sql 0003_email_keys.sql 0004_signins.sql 0005_webhooks.sql 0006_orgs.sql 0007_passkeys.sql 0008_identities.sql 0009_org_policy.sql 0010_api_tokens.sql 0011_jwt.sql 0012_audit_chain.sql 0013_admin.sql]
}

// A sign-in's limits and attempt place, counted in one write: the fourth
// sign-in to the account in its window is refused by the per-account
// limit, and its attempt place is not taken.
func ExampleDB_HitSequence() {
	dir, err := os.MkdirTemp("", "sigra-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	hits := []store.LimitHit{
		{Key: "login-ip:ip:192.0.2.1", Limit: 100, Window: 15 * time.Minute},
		{Key: "login-acct:user@example.com", Limit: 3, Window: 15 * time.Minute},
		{Key: "password:user@example.com", Limit: 5, Window: 15 * time.Minute},
	}
	now := time.Date(2026, time.March, 1, 9, 0, 0, 0, time.UTC)
	for i := range 4 {
		res, err := db.HitSequence(ctx, hits, now.Add(time.Duration(i)*time.Second))
		if err != nil {
			log.Fatal(err)
		}
		last := res[len(res)-1]
		if !last.Allowed {
			fmt.Printf("sign-in %d: refused by %s (count %d)\n", i+1, hits[len(res)-1].Key, last.Count)
			continue
		}
		fmt.Printf("sign-in %d: attempt place %d of 5\n", i+1, last.Count)
	}
	// Output:
	// sign-in 1: attempt place 1 of 5
	// sign-in 2: attempt place 2 of 5
	// sign-in 3: attempt place 3 of 5
	// sign-in 4: refused by login-acct:user@example.com (count 4)
}
