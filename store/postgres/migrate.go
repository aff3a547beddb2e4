package postgres

import (
	"cmp"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var embedded embed.FS

// Migrations returns the adapter's schema as embedded SQL files named
// NNNN_name.sql at the root of the returned file system, applied in the
// order of NNNN, for hosts that run migrations with their own tool (the
// files carry goose's "-- +goose Up" annotation; open the DB with
// Config.SkipMigrate). Each file is plain SQL meant to run in one
// transaction; table names are unqualified, so they land in the first
// schema of the search_path.
func Migrations() fs.FS {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil {
		panic(err) // unreachable: the directory is embedded
	}
	return sub
}

// migrationTable records applied versions. It is prefixed like every
// table of the adapter so that it cannot collide with the bookkeeping
// table of the application's own migration tool.
const migrationTable = "sigra_schema_migrations"

// migration is one embedded file.
type migration struct {
	version int64
	name    string
	sql     string
}

// loadMigrations reads the embedded files in version order.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		version, name, err := parseMigrationName(e.Name())
		if err != nil {
			return nil, err
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: version, name: name, sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("duplicate migration version %d", ms[i].version)
		}
	}
	return ms, nil
}

// parseMigrationName splits "0001_init.sql" into 1 and "init".
func parseMigrationName(file string) (int64, string, error) {
	base := strings.TrimSuffix(file, ".sql")
	digits, name, ok := strings.Cut(base, "_")
	if !ok || digits == "" || name == "" {
		return 0, "", fmt.Errorf("migration file %q is not named NNNN_name.sql", file)
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v <= 0 || strings.HasPrefix(digits, "+") {
		return 0, "", fmt.Errorf("migration file %q is not named NNNN_name.sql", file)
	}
	return v, name, nil
}

// Migrate applies the embedded migrations that the database lacks, in one
// transaction: it takes a transaction-scoped advisory lock keyed by the
// current schema (so instances starting at once wait for each other, and
// tests in separate schemas do not), creates sigra_schema_migrations if
// needed, reads the applied versions, applies the pending files in order,
// records them and commits. Versions recorded by a newer release are left
// alone, so an older instance still starts during a rolling deploy. It is
// safe to call from several processes at once; each version is applied
// exactly once. With a context from [DB.InTx] it runs in that transaction
// (in a savepoint).
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(embedded, "migrations")
	if err != nil {
		return fmt.Errorf("sigra/postgres: migrate: %w", err)
	}
	run := func(tx pgx.Tx) error {
		return migrate(ctx, tx, ms)
	}
	if tx, ok := db.tx(ctx); ok {
		err = pgx.BeginFunc(ctx, tx, run)
	} else {
		err = pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, run)
	}
	if err != nil {
		return fmt.Errorf("sigra/postgres: migrate: %w", err)
	}
	return nil
}

func migrate(ctx context.Context, tx pgx.Tx, ms []migration) error {
	// After the lock, every statement of this READ COMMITTED transaction
	// sees what an instance that held it before committed. The text hashed
	// into the key is the lock's identity across instances and releases:
	// it must not change.
	if _, err := tx.Exec(ctx,
		`SELECT pg_advisory_xact_lock(hashtextextended('sigra/store/postgres migrate ' || coalesce(current_schema(), ''), 0))`,
	); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+migrationTable+` (
		version    bigint      PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("create %s: %w", migrationTable, err)
	}
	rows, err := tx.Query(ctx, `SELECT version FROM `+migrationTable)
	if err != nil {
		return fmt.Errorf("read applied versions: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("read applied versions: %w", err)
	}
	for _, m := range ms {
		if slices.Contains(applied, m.version) {
			continue
		}
		// No arguments: pgx sends the file with the simple protocol, which
		// runs several statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("apply %04d_%s: %w", m.version, m.name, err)
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO `+migrationTable+` (version, name) VALUES ($1, $2)`, m.version, m.name,
		); err != nil {
			return fmt.Errorf("record %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}
