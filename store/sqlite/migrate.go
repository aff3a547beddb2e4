package sqlite

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded schema migrations: files named
// NNNN_name.sql at the root of the returned file system, applied in order of
// NNNN. Each is plain SQLite SQL without transaction statements, annotated
// for goose (-- +goose Up), so a host can apply them with its own migration
// tool and open the DB with Config.SkipMigrate.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // unreachable: the directory is embedded
	}
	return sub
}

// migration is one embedded migration file.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads and orders the files of fsys.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		prefix, rest, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 || rest == ".sql" {
			return nil, fmt.Errorf("sigra/sqlite: migration %q: want a name like 0001_name.sql", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(path.Base(name), ".sql"), sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sigra/sqlite: migrations %q and %q share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// Migrate applies the pending embedded migrations, each recorded in the
// table sigra_schema_migrations(version, name, applied_at).
//
// It is safe to run from several processes at once: it holds the database's
// write lock (BEGIN IMMEDIATE) from reading the applied versions to
// committing, so one process applies what is pending and the others, waiting
// on the lock for up to the busy timeout, then find nothing left to do. All
// pending migrations commit together or not at all. Versions in the database
// that this build does not know (applied by a newer build) are left alone.
// With a context from [DB.InTx] it runs in that transaction.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(Migrations())
	if err != nil {
		return err
	}
	if tx := db.tx(ctx); tx != nil {
		return migrate(ctx, tx, ms)
	}
	if err := db.acquire(ctx); err != nil {
		return fmt.Errorf("sigra/sqlite: migrate: begin: %w", err)
	}
	defer db.release()
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sigra/sqlite: migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if err := migrate(ctx, tx, ms); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sigra/sqlite: migrate: commit: %w", err)
	}
	return nil
}

// migrate applies the migrations of ms that the database lacks, through q.
func migrate(ctx context.Context, q querier, ms []migration) error {
	if _, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS sigra_schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("sigra/sqlite: migrate: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT version FROM sigra_schema_migrations`)
	if err != nil {
		return fmt.Errorf("sigra/sqlite: migrate: %w", err)
	}
	applied := map[int]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("sigra/sqlite: migrate: %w", err)
		}
		applied[int(v)] = true
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("sigra/sqlite: migrate: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sigra/sqlite: migrate: %w", err)
	}

	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if _, err := q.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("sigra/sqlite: migration %s: %w", m.name, err)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO sigra_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, clock().UnixMilli()); err != nil {
			return fmt.Errorf("sigra/sqlite: migration %s: %w", m.name, err)
		}
	}
	return nil
}
