package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
)

// sigraStore is what the commands use of a store: both adapters have it.
type sigraStore interface {
	store.Users
	store.TOTP
	store.Sessions
	store.Limiter
	store.Outbox
	store.OutboxRetrier
	store.AuditLog
	store.AuditChain
	store.SealedSecrets
	store.Admins
	store.Transactor
	Migrate(ctx context.Context) error
	Initialized(ctx context.Context) (bool, error)
	MigrationStatus(ctx context.Context) ([]store.MigrationState, error)
}

// database is an open store and how to close it.
type database struct {
	sigraStore
	kind  string // "sqlite" or "postgres"
	close func()
}

// isPostgres reports whether target names a PostgreSQL database.
func isPostgres(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// open opens target without migrating it. create allows a SQLite file
// that does not exist yet (for "migrate up"); otherwise the database must
// have Sigra's schema.
func open(ctx context.Context, target string, create bool) (*database, error) {
	if target == "" {
		return nil, fail(exitUsage, "no database: give -db (a SQLite file or a postgres:// URL) or set %s", EnvDatabase)
	}
	var d *database
	if isPostgres(target) {
		db, err := postgres.New(ctx, postgres.Config{DSN: target, SkipMigrate: true})
		if err != nil {
			return nil, fail(exitDatabase, "open the PostgreSQL database: %v", err)
		}
		d = &database{sigraStore: db, kind: "postgres", close: db.Close}
	} else {
		if _, err := os.Stat(target); err != nil {
			if !create || !errors.Is(err, fs.ErrNotExist) {
				return nil, fail(exitDatabase, "open the SQLite database: %v", err)
			}
		}
		db, err := sqlite.New(ctx, sqlite.Config{Path: target, SkipMigrate: true})
		if err != nil {
			return nil, fail(exitDatabase, "open the SQLite database %s: %v", target, err)
		}
		d = &database{sigraStore: db, kind: "sqlite", close: func() { _ = db.Close() }}
	}
	ok, err := d.Initialized(ctx)
	if err != nil {
		d.close()
		return nil, fail(exitDatabase, "read the %s database: %v", d.kind, err)
	}
	if !ok && !create {
		d.close()
		return nil, fail(exitDatabase, "the %s database has no Sigra schema (run \"sigra migrate up\" first, or check -db)", d.kind)
	}
	return d, nil
}

// userByEmail finds the account of email, or fails with exitNotFound.
func (d *database) userByEmail(ctx context.Context, email string) (*store.User, error) {
	u, err := d.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail(exitNotFound, "no account has the address %q", email)
	}
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", email, err)
	}
	return u, nil
}
