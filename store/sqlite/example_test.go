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
	// sigra/sqlite: invalid config: Path ":memory:": want a file path, not a DSN or an in-memory database
}

func ExampleDB_WithTx() {
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
	// use tx, never db.
	err = db.WithTx(ctx, func(tx store.Store) error {
		u := &store.User{Email: "new.user@example.com"}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &store.AuditEvent{Action: "user.registered", SubjectID: u.ID, Outcome: "success"})
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

func ExampleMigrations() {
	names, err := fs.Glob(sqlite.Migrations(), "*.sql")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(names)
	// Output: [0001_init.sql 0002_outbox_retention.sql]
}
