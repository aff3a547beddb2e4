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

// WithTx commits a change together with its audit row.
func ExampleDB_WithTx() {
	ctx := context.Background()
	db, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	now := time.Now()
	userID := "0190d6e2-4a1b-7c3d-8e9f-0a1b2c3d4e5f"
	err = db.WithTx(ctx, func(tx store.Store) error {
		if err := tx.SetDisabled(ctx, userID, now, now); err != nil {
			return err
		}
		if _, err := tx.RevokeUserSessions(ctx, userID, nil, now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &store.AuditEvent{Action: "admin.user.disable", SubjectID: userID, Outcome: "success"})
	})
	if err != nil {
		log.Fatal(err)
	}
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
