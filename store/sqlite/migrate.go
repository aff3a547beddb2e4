package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigra-go/sigra/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded schema migrations: files named
// NNNN_name.sql at the root of the returned file system, applied in order of
// NNNN. Each is plain SQLite SQL without transaction statements, annotated
// for goose (-- +goose Up), so a host can apply them with its own migration
// tool and open the DB with Config.SkipMigrate. One step is not SQL: after
// applying 0003_email_keys.sql, such a host calls [DB.RekeyEmails] (which
// [DB.Migrate] does by itself).
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
//
// In the same transaction, when the address keys were computed by an older
// version of [store.NormalizeEmail] than [store.EmailKeyVersion] (as
// recorded in sigra_meta), Migrate recomputes them as [DB.RekeyEmails]
// does. Collisions are not errors: see [DB.EmailKeyCollisions].
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
	// With Config.SkipMigrate, the sign-in's statements could not be
	// prepared before the schema existed.
	_ = db.prepareWrites(ctx)
	_ = db.prepareReads(ctx)
	return nil
}

// Initialized reports whether the database has Sigra's schema: the table
// in which [DB.Migrate] records the migrations it applied. A new, empty
// file has not; neither has a SQLite database of another application.
func (db *DB) Initialized(ctx context.Context) (bool, error) {
	var n int
	err := db.r(ctx).QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'sigra_schema_migrations'`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("sigra/sqlite: read the schema: %w", err)
	}
	return n > 0, nil
}

// MigrationStatus lists the embedded migrations in order, each with the
// time the database applied it (zero while pending), then the versions the
// database has that this build does not embed (Unknown). On a database
// without Sigra's schema every migration is pending.
func (db *DB) MigrationStatus(ctx context.Context) ([]store.MigrationState, error) {
	ms, err := loadMigrations(Migrations())
	if err != nil {
		return nil, err
	}
	ok, err := db.Initialized(ctx)
	if err != nil {
		return nil, err
	}
	// The files' names carry their number ("0001_init"): the states name
	// them without it.
	bare := func(v int, name string) string { return strings.TrimPrefix(name, fmt.Sprintf("%04d_", v)) }
	var applied []store.MigrationState
	if ok {
		rows, err := db.r(ctx).QueryContext(ctx, `SELECT version, name, applied_at FROM sigra_schema_migrations ORDER BY version`)
		if err != nil {
			return nil, fmt.Errorf("sigra/sqlite: migration status: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var s store.MigrationState
			var at int64
			if err := rows.Scan(&s.Version, &s.Name, &at); err != nil {
				return nil, fmt.Errorf("sigra/sqlite: migration status: %w", err)
			}
			s.Name, s.AppliedAt = bare(s.Version, s.Name), time.UnixMilli(at).UTC()
			applied = append(applied, s)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sigra/sqlite: migration status: %w", err)
		}
	}
	embedded := make([]store.MigrationState, len(ms))
	for i, m := range ms {
		embedded[i] = store.MigrationState{Version: m.version, Name: bare(m.version, m.name)}
	}
	return store.MergeMigrationStates(embedded, applied), nil
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
	if err := rekeyIfOld(ctx, q); err != nil {
		return fmt.Errorf("sigra/sqlite: migrate: %w", err)
	}
	return nil
}

// emailKeyVersionKey is the sigra_meta row holding the version of
// store.NormalizeEmail that computed the stored address keys.
const emailKeyVersionKey = "email_key_version"

// rekeyBatch is how many rows a rekeying reads, or updates, per statement.
const rekeyBatch = 500

// RekeyEmails recomputes the key stored beside every address (the
// email_norm columns of users and address reservations) with the current
// [store.NormalizeEmail], and records [store.EmailKeyVersion] in
// sigra_meta. [DB.Migrate] runs it when the recorded version is older; a
// host that applies [Migrations] with its own tool calls it after applying
// them, and may call it again at any time: it is idempotent, and fixes the
// keys of rows written meanwhile by an older release.
//
// It runs in one transaction holding the database's write lock (or in the
// transaction of a context from [DB.InTx]), so processes starting together
// rekey once and no write comes between reading the keys and replacing
// them. Rows are read and updated in batches. A row whose new key another
// row would end up with keeps the key it has, and so does that other row:
// accounts are never merged, and each stays reachable by its own address
// (see [DB.UserByEmail]). [DB.EmailKeyCollisions] lists them. It fails if
// the recorded version is newer than this release's.
func (db *DB) RekeyEmails(ctx context.Context) error {
	var err error
	if tx := db.tx(ctx); tx != nil {
		err = store.RekeyEmails(ctx, emailKeys{tx}, rekeyBatch)
	} else {
		err = db.begin(ctx, func(tx *sql.Tx) error { return store.RekeyEmails(ctx, emailKeys{tx}, rekeyBatch) })
	}
	if err != nil {
		return fmt.Errorf("sigra/sqlite: RekeyEmails: %w", err)
	}
	return nil
}

// EmailKeyCollisions lists the users whose addresses the current
// [store.NormalizeEmail] folds onto one key: the rows that [DB.Migrate] or
// [DB.RekeyEmails] left with the key they had, rather than merge two
// accounts. Each collision names the shared key and the users, with the
// key each keeps. An operator resolves one by changing or deleting one
// user's address; until then each user signs in with their own address.
// None is an empty list. It reads every user row (in batches, in one read
// transaction), so it suits an operator's tool or a check at start-up, not
// a request path. With a context from [DB.InTx] it reads in that
// transaction.
func (db *DB) EmailKeyCollisions(ctx context.Context) ([]store.EmailKeyCollision, error) {
	var collisions []store.EmailKeyCollision
	var err error
	if tx := db.tx(ctx); tx != nil {
		collisions, err = store.ReadEmailKeyCollisions(ctx, emailKeys{tx}, rekeyBatch)
	} else {
		var tx *sql.Tx
		if tx, err = db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err == nil {
			collisions, err = store.ReadEmailKeyCollisions(ctx, emailKeys{tx}, rekeyBatch)
			_ = tx.Rollback()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sigra/sqlite: EmailKeyCollisions: %w", err)
	}
	return collisions, nil
}

// rekeyIfOld rekeys the addresses if sigra_meta exists (the migrations
// that create it may not have run, when a test applies a prefix of them)
// and records an older key version than the current one.
func rekeyIfOld(ctx context.Context, q querier) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sigra_meta'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	return store.RekeyEmailsIfOld(ctx, emailKeys{q}, rekeyBatch)
}

// emailKeys is the SQLite dialect of the address rekeying in package
// store, through q: one transaction, which holds the write lock when it
// rekeys.
type emailKeys struct{ q querier }

var _ store.EmailKeyRekeyer = emailKeys{}

// EmailKeysAfter implements [store.EmailKeyReader].
func (k emailKeys) EmailKeysAfter(ctx context.Context, t store.EmailKeyTable, after string, limit int) ([]store.EmailKeyRow, error) {
	rows, err := k.q.QueryContext(ctx, `SELECT `+t.ID+`, email, email_norm FROM `+t.Name+` WHERE `+t.ID+` > ? ORDER BY `+t.ID+` LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	return scanEmailKeys(rows)
}

// EmailKeysHeld implements [store.EmailKeyReader].
func (k emailKeys) EmailKeysHeld(ctx context.Context, t store.EmailKeyTable, keys []string) ([]store.EmailKeyRow, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	args := make([]any, len(keys))
	for i, key := range keys {
		args[i] = key
	}
	marks := strings.Repeat(", ?", len(keys))[2:]
	rows, err := k.q.QueryContext(ctx, `SELECT `+t.ID+`, email, email_norm FROM `+t.Name+` WHERE email_norm IN (`+marks+`)`, args...)
	if err != nil {
		return nil, err
	}
	return scanEmailKeys(rows)
}

// scanEmailKeys reads and closes rows of (id, email, email_norm).
func scanEmailKeys(rows *sql.Rows) ([]store.EmailKeyRow, error) {
	var out []store.EmailKeyRow
	for rows.Next() {
		var r store.EmailKeyRow
		if err := rows.Scan(&r.ID, &r.Email, &r.Key); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	return out, nil
}

// SetEmailKeys implements [store.EmailKeyRekeyer]: one UPDATE joined with
// the rows given as a JSON array of [id, key] pairs.
func (k emailKeys) SetEmailKeys(ctx context.Context, t store.EmailKeyTable, rows []store.EmailKeyRow) error {
	pairs := make([][2]string, len(rows))
	for i, r := range rows {
		pairs[i] = [2]string{r.ID, r.Key}
	}
	b, err := json.Marshal(pairs)
	if err != nil {
		return err
	}
	_, err = k.q.ExecContext(ctx, `UPDATE `+t.Name+` SET email_norm = m.value ->> 1
		FROM json_each(?) AS m WHERE `+t.Name+`.`+t.ID+` = m.value ->> 0`, string(b))
	return err
}

// EmailKeyVersion implements [store.EmailKeyRekeyer].
func (k emailKeys) EmailKeyVersion(ctx context.Context) (string, bool, error) {
	var s string
	err := k.q.QueryRowContext(ctx, `SELECT value FROM sigra_meta WHERE key = ?`, emailKeyVersionKey).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return s, true, nil
}

// SetEmailKeyVersion implements [store.EmailKeyRekeyer].
func (k emailKeys) SetEmailKeyVersion(ctx context.Context, v string) error {
	_, err := k.q.ExecContext(ctx, `INSERT INTO sigra_meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, emailKeyVersionKey, v)
	return err
}
