package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
)

// The examples need a PostgreSQL server, so they are compiled but not run.

func ExampleOpen() {
	ctx := context.Background()
	// search_path keeps Sigra's tables in a schema of their own.
	db, err := postgres.Open(ctx, "postgres://app@db.example.com:5432/app?sslmode=verify-full&search_path=auth")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	u := &store.User{Email: "a.user@example.com"}
	if err := db.CreateUser(ctx, u); err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.ID != "")
}

func ExampleNew() {
	ctx := context.Background()
	db, err := postgres.New(ctx, postgres.Config{
		DSN:      os.Getenv("DATABASE_URL"),
		MaxConns: 20,
		// The host applies postgres.Migrations() with its own tool.
		SkipMigrate: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
}

// InTx commits a change together with its audit row.
func ExampleDB_InTx() {
	ctx := context.Background()
	db, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	now := time.Now()
	userID := "0190d6e2-4a1b-7c3d-8e9f-0a1b2c3d4e5f"
	err = db.InTx(ctx, func(ctx context.Context) error {
		if err := db.SetDisabled(ctx, userID, now, now); err != nil {
			return err
		}
		if _, err := db.RevokeUserSessions(ctx, userID, nil, now); err != nil {
			return err
		}
		return db.AppendAudit(ctx, &store.AuditEvent{Action: "admin.user.disable", SubjectID: userID, Outcome: "success"})
	})
	if err != nil {
		log.Fatal(err)
	}
}

// A host application keeps its own table beside Sigra's, in the same
// database, and writes to it in the same transaction as a Sigra write: the
// profile and the account exist together or not at all.
func ExampleDB_Exec() {
	ctx := context.Background()
	db, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// The host's own schema (its own migrations would do this).
	_, err = db.Exec(ctx, `CREATE TABLE IF NOT EXISTS profile (
		user_id      text PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE,
		display_name text NOT NULL
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
		_, err := db.Exec(ctx, `INSERT INTO profile (user_id, display_name) VALUES ($1, $2)`, u.ID, "Ada")
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	var name string
	if err := db.QueryRow(ctx, `SELECT display_name FROM profile WHERE user_id = $1`, id).Scan(&name); err != nil {
		log.Fatal(err)
	}
	fmt.Println(name)
}

// Code written for database/sql can share the adapter's pool.
func ExampleDB_Pool() {
	ctx := context.Background()
	db, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	sqlDB := stdlib.OpenDBFromPool(db.Pool())
	defer sqlDB.Close()
	var n int
	if err := sqlDB.QueryRowContext(ctx, "SELECT count(*) FROM sigra_users").Scan(&n); err != nil {
		log.Fatal(err)
	}
	fmt.Println(n)
}
