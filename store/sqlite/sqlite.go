package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sigra-go/sigra/store"
)

var (
	_ store.Store = (*DB)(nil)
	_ store.Store = (*txStore)(nil)
)

// ErrConfig is returned by [New] for an unusable [Config]; the error wraps it
// with the reason.
var ErrConfig = errors.New("sigra/sqlite: invalid config")

// Defaults applied by [New] to zero Config fields.
const (
	// DefaultBusyTimeout is how long a connection waits for a lock held by
	// another connection or process before giving up with SQLITE_BUSY.
	DefaultBusyTimeout = 5 * time.Second
	// MinReadConns is the smallest default reader pool; the default is
	// max(MinReadConns, GOMAXPROCS).
	MinReadConns = 4
)

// Config configures [New]. Only Path is required; the zero values of the
// other fields are the defaults.
type Config struct {
	// Path is the database file, created if missing. It is a file system
	// path, not a DSN: every character, '?', '#' and '%' included, names
	// the file. In-memory databases are not supported (the reader and
	// writer pools must share one file); use a file in a temporary
	// directory for tests.
	Path string
	// ReadConns is the size of the reader pool. Zero means
	// max(MinReadConns, GOMAXPROCS).
	ReadConns int
	// SkipMigrate skips applying the embedded migrations at open, for a host
	// that applies [Migrations] with its own tool. [DB.Migrate] applies them
	// later on demand.
	SkipMigrate bool
	// BusyTimeout is how long a connection waits on a lock held by another
	// process before failing with SQLITE_BUSY. Zero means
	// DefaultBusyTimeout. Within one process writes never wait on each
	// other's locks: they queue for the single writer connection.
	BusyTimeout time.Duration
}

// DB is a [store.Store] over one SQLite file. It is safe for concurrent use.
//
// It keeps two connection pools on the file: a writer pool of exactly one
// connection, through which every write and every [DB.WithTx] goes (begun
// with BEGIN IMMEDIATE), and a pool of read-only connections for lookups.
// In WAL mode readers never block the writer nor each other, and since
// writes queue for the one writer connection inside the process, they never
// fail with SQLITE_BUSY.
type DB struct {
	conn
	writer *sql.DB
	reader *sql.DB

	mu  sync.Mutex // serializes preparing hot
	hot atomic.Pointer[hotStmts]
}

// hotStmts are the statements on every authenticated request, prepared on
// the reader pool.
type hotStmts struct {
	sessionWithUser *sql.Stmt
	sessionByDigest *sql.Stmt
	userByID        *sql.Stmt
}

// Open opens (creating it if needed) the database file at path with the
// default [Config] and applies pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	return New(ctx, Config{Path: path})
}

// New opens the database described by cfg, applies pending migrations unless
// cfg.SkipMigrate is set, and prepares the statements of the hot paths. It
// returns an error wrapping [ErrConfig] for an invalid cfg.
func New(ctx context.Context, cfg Config) (*DB, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.ReadConns == 0 {
		cfg.ReadConns = max(MinReadConns, runtime.GOMAXPROCS(0))
	}
	if cfg.BusyTimeout == 0 {
		cfg.BusyTimeout = DefaultBusyTimeout
	}
	writerDSN, readerDSN, err := dsns(cfg.Path, cfg.BusyTimeout)
	if err != nil {
		return nil, err
	}

	writer, err := sql.Open("sqlite", writerDSN)
	if err != nil {
		return nil, fmt.Errorf("sigra/sqlite: open writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	// The writer connection sets WAL mode on the file before any reader
	// opens it.
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sigra/sqlite: open %q: %w", cfg.Path, err)
	}
	reader, err := sql.Open("sqlite", readerDSN)
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sigra/sqlite: open readers: %w", err)
	}
	reader.SetMaxOpenConns(cfg.ReadConns)
	reader.SetMaxIdleConns(cfg.ReadConns)
	reader.SetConnMaxLifetime(0)
	reader.SetConnMaxIdleTime(0)

	db := &DB{writer: writer, reader: reader}
	db.conn = conn{db: db}
	if !cfg.SkipMigrate {
		if err := db.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	// With SkipMigrate the schema may not exist yet; the statements are
	// then prepared on first use.
	if _, err := db.hotStmts(ctx); err != nil && !cfg.SkipMigrate {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (cfg *Config) validate() error {
	switch {
	case cfg.Path == "":
		return fmt.Errorf("%w: Path is empty", ErrConfig)
	case strings.IndexByte(cfg.Path, 0) >= 0:
		return fmt.Errorf("%w: Path contains a NUL byte", ErrConfig)
	case cfg.Path == ":memory:" || strings.HasPrefix(cfg.Path, "file:"):
		return fmt.Errorf("%w: Path %q: want a file path, not a DSN or an in-memory database", ErrConfig, cfg.Path)
	case cfg.ReadConns < 0:
		return fmt.Errorf("%w: ReadConns %d is negative", ErrConfig, cfg.ReadConns)
	case cfg.BusyTimeout < 0:
		return fmt.Errorf("%w: BusyTimeout %v is negative", ErrConfig, cfg.BusyTimeout)
	}
	return nil
}

// dsns returns the DSNs of the writer and reader pools for path. The path
// becomes an absolute file: URI with '%', '?' and '#' percent-encoded, so no
// part of it can be read as a URI parameter or a driver option.
func dsns(path string, busy time.Duration) (writer, reader string, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", fmt.Errorf("%w: Path %q: %v", ErrConfig, path, err)
	}
	abs = filepath.ToSlash(abs)
	if !strings.HasPrefix(abs, "/") {
		abs = "/" + abs // a Windows drive letter: file:/C:/...
	}
	var b strings.Builder
	b.WriteString("file:")
	for i := 0; i < len(abs); i++ {
		switch c := abs[i]; c {
		case '%', '?', '#':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	timeout := max(busy.Milliseconds(), 1)
	b.WriteString("?_pragma=busy_timeout(" + strconv.FormatInt(timeout, 10) + ")&_pragma=foreign_keys(1)")
	base := b.String()
	writer = base + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	reader = base + "&_pragma=query_only(1)"
	return writer, reader, nil
}

// hotStmts returns the prepared hot-path statements, preparing them on
// first use.
func (db *DB) hotStmts(ctx context.Context) (*hotStmts, error) {
	if h := db.hot.Load(); h != nil {
		return h, nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if h := db.hot.Load(); h != nil {
		return h, nil
	}
	h := &hotStmts{}
	var err error
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&h.sessionWithUser, qSessionWithUser},
		{&h.sessionByDigest, qSessionByDigest},
		{&h.userByID, qUserByID},
	} {
		if *p.dst, err = db.reader.PrepareContext(ctx, p.query); err != nil {
			h.close()
			return nil, fmt.Errorf("sigra/sqlite: prepare: %w", err)
		}
	}
	db.hot.Store(h)
	return h, nil
}

func (h *hotStmts) close() error {
	var errs []error
	for _, s := range []*sql.Stmt{h.sessionWithUser, h.sessionByDigest, h.userByID} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// Close closes both pools. Calls in flight fail; the DB must not be used
// afterwards.
func (db *DB) Close() error {
	var errs []error
	if h := db.hot.Swap(nil); h != nil {
		errs = append(errs, h.close())
	}
	errs = append(errs, db.reader.Close(), db.writer.Close())
	return errors.Join(errs...)
}

// WithTx runs fn in one transaction on the writer connection, begun with
// BEGIN IMMEDIATE so that reads inside it cannot be invalidated by another
// writer. The Store passed to fn runs every method, reads included, in
// that transaction. If fn returns an error or panics, the transaction rolls
// back (and the panic continues); otherwise WithTx commits.
//
// Code inside fn must use only the Store it is given: the DB's own methods
// wait for the writer connection, which fn holds until it returns, so a write
// through the DB from inside fn blocks until ctx is done. Keep transactions
// short for the same reason: every other write in the process waits for them.
func (db *DB) WithTx(ctx context.Context, fn func(tx store.Store) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sigra/sqlite: begin: %w", err)
	}
	finished := false
	defer func() {
		if !finished {
			_ = tx.Rollback()
		}
	}()
	if err := fn(&txStore{conn{db: db, tx: tx}}); err != nil {
		return err
	}
	finished = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sigra/sqlite: commit: %w", err)
	}
	return nil
}

// txStore is the Store passed to a WithTx function.
type txStore struct{ conn }

// WithTx runs fn in the transaction already open: nested calls join it.
func (t *txStore) WithTx(_ context.Context, fn func(tx store.Store) error) error {
	return fn(t)
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn holds the methods of the store. Outside a transaction, reads go to
// the reader pool and writes to the writer; inside one, everything goes to
// the transaction.
type conn struct {
	db *DB
	tx *sql.Tx // nil outside WithTx
}

func (c *conn) r() querier {
	if c.tx != nil {
		return c.tx
	}
	return c.db.reader
}

func (c *conn) w() querier {
	if c.tx != nil {
		return c.tx
	}
	return c.db.writer
}

// inTx runs fn in the current transaction, or in a new one on the writer.
func (c *conn) inTx(ctx context.Context, fn func(q querier) error) error {
	if c.tx != nil {
		return fn(c.tx)
	}
	tx, err := c.db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sigra/sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sigra/sqlite: commit: %w", err)
	}
	return nil
}

// wrap turns a driver error into a store error: no rows becomes
// store.ErrNotFound, a uniqueness violation store.ErrConflict, a missing
// referenced row (an unknown user) store.ErrNotFound.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sigra/sqlite: %s: %w", op, store.ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("sigra/sqlite: %s: %w (%w)", op, store.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("sigra/sqlite: %s: referenced row missing: %w (%w)", op, store.ErrNotFound, err)
		}
	}
	return fmt.Errorf("sigra/sqlite: %s: %w", op, err)
}

// notFound is the error of a lookup or update that matched nothing.
func notFound(op string) error {
	return fmt.Errorf("sigra/sqlite: %s: %w", op, store.ErrNotFound)
}

// op names a store method in errors. Its methods take a statement's result
// directly: op("X").count(db.ExecContext(...)).
type op string

// count returns the rows a statement changed, wrapping errors.
func (o op) count(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, wrap(string(o), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap(string(o), err)
	}
	return int(n), nil
}

// one is count for statements that must change a row: none is
// store.ErrNotFound.
func (o op) one(res sql.Result, err error) error {
	n, err := o.count(res, err)
	if err == nil && n == 0 {
		return notFound(string(o))
	}
	return err
}

// clock returns the wall-clock time used to fill zero CreatedAt fields, at
// the precision the store keeps.
func clock() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// ms encodes t as unix milliseconds; the zero time is NULL.
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// Scan destinations that accept NULL and convert without allocating.
type (
	timeDest struct{ p *time.Time }
	strDest  struct{ p *string }
	intDest  struct{ p *int }
	boolDest struct{ p *bool }
)

func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.p = time.Time{}
	case int64:
		*d.p = time.UnixMilli(v).UTC()
	default:
		return fmt.Errorf("sigra/sqlite: scan time: unexpected %T", src)
	}
	return nil
}

func (d strDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.p = ""
	case string:
		*d.p = v
	case []byte:
		*d.p = string(v)
	default:
		return fmt.Errorf("sigra/sqlite: scan text: unexpected %T", src)
	}
	return nil
}

func (d intDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.p = 0
	case int64:
		*d.p = int(v)
	default:
		return fmt.Errorf("sigra/sqlite: scan integer: unexpected %T", src)
	}
	return nil
}

func (d boolDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.p = false
	case int64:
		*d.p = v != 0
	default:
		return fmt.Errorf("sigra/sqlite: scan boolean: unexpected %T", src)
	}
	return nil
}

// nullStr stores the empty string as NULL, for nullable references.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// blob stores nil as an empty blob, for NOT NULL blob columns.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
