package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/store"
)

//go:embed migrations/*.sql
var embedded embed.FS

// Migrations returns the adapter's schema as embedded SQL files named
// NNNN_name.sql at the root of the returned file system, applied in the
// order of NNNN, for hosts that run migrations with their own tool (the
// files carry goose's "-- +goose Up" annotation; open the DB with
// Config.SkipMigrate). Each file is plain SQL meant to run in one
// transaction; table names are unqualified, so they land in the first
// schema of the search_path. One step is not SQL: after applying
// 0003_email_keys.sql, such a host calls [DB.RekeyEmails] (which
// [DB.Migrate] does by itself).
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
//
// In the same transaction, when the address keys were computed by an older
// version of [store.NormalizeEmail] than [store.EmailKeyVersion] (as
// recorded in sigra_meta), Migrate recomputes them as [DB.RekeyEmails]
// does. Collisions are not errors: see [DB.EmailKeyCollisions].
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

// Initialized reports whether the database's current schema has Sigra's
// schema: the table in which [DB.Migrate] records the migrations it
// applied.
func (db *DB) Initialized(ctx context.Context) (bool, error) {
	var ok bool
	if err := db.q(ctx).QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, migrationTable).Scan(&ok); err != nil {
		return false, wrap("read the schema", err)
	}
	return ok, nil
}

// MigrationStatus lists the embedded migrations in order, each with the
// time the database applied it (zero while pending), then the versions the
// database has that this build does not embed (Unknown). On a database
// without Sigra's schema every migration is pending.
func (db *DB) MigrationStatus(ctx context.Context) ([]store.MigrationState, error) {
	ms, err := loadMigrations(embedded, "migrations")
	if err != nil {
		return nil, err
	}
	ok, err := db.Initialized(ctx)
	if err != nil {
		return nil, err
	}
	var applied []store.MigrationState
	if ok {
		rows, err := db.q(ctx).Query(ctx, `SELECT version, name, applied_at FROM `+migrationTable+` ORDER BY version`)
		if err != nil {
			return nil, wrap("migration status", err)
		}
		defer rows.Close()
		for rows.Next() {
			var s store.MigrationState
			var v int64
			if err := rows.Scan(&v, &s.Name, &s.AppliedAt); err != nil {
				return nil, wrap("migration status", err)
			}
			s.Version, s.AppliedAt = int(v), s.AppliedAt.UTC()
			applied = append(applied, s)
		}
		if err := rows.Err(); err != nil {
			return nil, wrap("migration status", err)
		}
	}
	embedded := make([]store.MigrationState, len(ms))
	for i, m := range ms {
		embedded[i] = store.MigrationState{Version: int(m.version), Name: m.name}
	}
	return store.MergeMigrationStates(embedded, applied), nil
}

// migrateLockSQL takes the transaction-scoped advisory lock of migrations
// (and of RekeyEmails), keyed by the current schema.
const migrateLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended('sigra/store/postgres migrate ' || coalesce(current_schema(), ''), 0))`

func migrate(ctx context.Context, tx pgx.Tx, ms []migration) error {
	// After the lock, every statement of this READ COMMITTED transaction
	// sees what an instance that held it before committed. The text hashed
	// into the key is the lock's identity across instances and releases:
	// it must not change.
	if _, err := tx.Exec(ctx, migrateLockSQL); err != nil {
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
	return rekeyIfOld(ctx, tx)
}

// emailKeyVersionKey is the sigra_meta row holding the version of
// store.NormalizeEmail that computed the stored address keys.
const emailKeyVersionKey = "email_key_version"

// rekeyBatch is how many rows a rekeying reads, or updates, per statement.
const rekeyBatch = 1000

// RekeyEmails recomputes the key stored beside every address (the
// email_norm columns of users and address reservations) with the current
// [store.NormalizeEmail], and records [store.EmailKeyVersion] in
// sigra_meta. [DB.Migrate] runs it when the recorded version is older; a
// host that applies [Migrations] with its own tool calls it after applying
// them, and may call it again at any time: it is idempotent, and fixes the
// keys of rows written meanwhile by an older release.
//
// It runs in one transaction (in a savepoint of the transaction of a
// context from [DB.InTx]) that takes the advisory lock of [DB.Migrate], so
// processes starting together rekey once, then locks the two tables
// against writes (SHARE ROW EXCLUSIVE: reads go on), so no write comes
// between reading the keys and replacing them. Rows are read and updated
// in batches. A row whose new key another row would end up with keeps the
// key it has, and so does that other row: accounts are never merged, and
// each stays reachable by its own address (see [DB.UserByEmail]).
// [DB.EmailKeyCollisions] lists them. It fails if the recorded version is
// newer than this release's.
func (db *DB) RekeyEmails(ctx context.Context) error {
	run := func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, migrateLockSQL); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		return store.RekeyEmails(ctx, emailKeys{tx}, rekeyBatch)
	}
	var err error
	if tx, ok := db.tx(ctx); ok {
		err = pgx.BeginFunc(ctx, tx, run)
	} else {
		err = pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, run)
	}
	if err != nil {
		return fmt.Errorf("sigra/postgres: rekey emails: %w", err)
	}
	return nil
}

// EmailKeyCollisions lists the users whose addresses the current
// [store.NormalizeEmail] folds onto one key: the rows that [DB.Migrate] or
// [DB.RekeyEmails] left with the key they had, rather than merge two
// accounts. Each collision names the shared key and the users, with the
// key each keeps. An operator resolves one by changing or deleting one
// user's address; until then each user signs in with their own address.
// None is an empty list. It reads every user row (in batches, in one
// REPEATABLE READ read-only transaction), so it suits an operator's tool
// or a check at start-up, not a request path. With a context from
// [DB.InTx] it reads in that transaction.
func (db *DB) EmailKeyCollisions(ctx context.Context) ([]store.EmailKeyCollision, error) {
	var collisions []store.EmailKeyCollision
	read := func(tx pgx.Tx) error {
		var err error
		collisions, err = store.ReadEmailKeyCollisions(ctx, emailKeys{tx}, rekeyBatch)
		return err
	}
	var err error
	if tx, ok := db.tx(ctx); ok {
		err = read(tx)
	} else {
		err = pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, read)
	}
	if err != nil {
		return nil, fmt.Errorf("sigra/postgres: email key collisions: %w", err)
	}
	return collisions, nil
}

// rekeyIfOld rekeys the addresses if sigra_meta exists (the migrations
// that create it may not have run, when a test applies a prefix of them)
// and records an older key version than the current one.
func rekeyIfOld(ctx context.Context, tx pgx.Tx) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('sigra_meta') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("find sigra_meta: %w", err)
	}
	if !exists {
		return nil
	}
	return store.RekeyEmailsIfOld(ctx, emailKeys{tx}, rekeyBatch)
}

// emailKeys is the PostgreSQL dialect of the address rekeying in package
// store, in tx: a READ COMMITTED transaction that, when it rekeys, holds
// the advisory lock of migrations and locks the tables (LockEmailKeys).
type emailKeys struct{ tx pgx.Tx }

var (
	_ store.EmailKeyRekeyer = emailKeys{}
	_ store.EmailKeyLocker  = emailKeys{}
)

// LockEmailKeys implements [store.EmailKeyLocker]: it locks the tables
// that store addresses against writes until tx ends (reads go on).
func (k emailKeys) LockEmailKeys(ctx context.Context) error {
	if _, err := k.tx.Exec(ctx, `LOCK TABLE sigra_users, sigra_email_reservations IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock tables: %w", err)
	}
	return nil
}

// scanEmailKey scans a row of (id, email, email_norm).
func scanEmailKey(row pgx.CollectableRow) (store.EmailKeyRow, error) {
	var r store.EmailKeyRow
	err := row.Scan(&r.ID, &r.Email, &r.Key)
	return r, err
}

// EmailKeysAfter implements [store.EmailKeyReader].
func (k emailKeys) EmailKeysAfter(ctx context.Context, t store.EmailKeyTable, after string, limit int) ([]store.EmailKeyRow, error) {
	rows, _ := k.tx.Query(ctx, `SELECT `+t.ID+`, email, email_norm FROM `+t.Name+`
		WHERE `+t.ID+` > $1 ORDER BY `+t.ID+` LIMIT $2`, after, limit)
	return pgx.CollectRows(rows, scanEmailKey)
}

// EmailKeysHeld implements [store.EmailKeyReader].
func (k emailKeys) EmailKeysHeld(ctx context.Context, t store.EmailKeyTable, keys []string) ([]store.EmailKeyRow, error) {
	rows, _ := k.tx.Query(ctx, `SELECT `+t.ID+`, email, email_norm FROM `+t.Name+` WHERE email_norm = ANY($1)`, keys)
	return pgx.CollectRows(rows, scanEmailKey)
}

// SetEmailKeys implements [store.EmailKeyRekeyer]: one UPDATE joined with
// the IDs and keys given as two arrays.
func (k emailKeys) SetEmailKeys(ctx context.Context, table store.EmailKeyTable, rows []store.EmailKeyRow) error {
	ids, keys := make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		ids[i], keys[i] = r.ID, r.Key
	}
	_, err := k.tx.Exec(ctx, `UPDATE `+table.Name+` AS t SET email_norm = m.k
		FROM unnest($1::text[], $2::text[]) AS m(id, k) WHERE t.`+table.ID+` = m.id`, ids, keys)
	return err
}

// EmailKeyVersion implements [store.EmailKeyRekeyer].
func (k emailKeys) EmailKeyVersion(ctx context.Context) (string, bool, error) {
	var s string
	err := k.tx.QueryRow(ctx, `SELECT value FROM sigra_meta WHERE key = $1`, emailKeyVersionKey).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return s, true, nil
}

// SetEmailKeyVersion implements [store.EmailKeyRekeyer].
func (k emailKeys) SetEmailKeyVersion(ctx context.Context, v string) error {
	_, err := k.tx.Exec(ctx, `INSERT INTO sigra_meta (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, emailKeyVersionKey, v)
	return err
}
