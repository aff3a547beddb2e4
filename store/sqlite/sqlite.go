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

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/store"
)

// Compile-time proof that DB implements every store interface.
var (
	_ store.Transactor      = (*DB)(nil)
	_ store.Users           = (*DB)(nil)
	_ store.Sessions        = (*DB)(nil)
	_ store.Tokens          = (*DB)(nil)
	_ store.Limiter         = (*DB)(nil)
	_ store.SequenceLimiter = (*DB)(nil)
	_ store.Outbox          = (*DB)(nil)
	_ store.AuditLog        = (*DB)(nil)
	_ store.TOTP            = (*DB)(nil)
	_ store.RecoveryCodes   = (*DB)(nil)
	_ store.TrustedBrowsers = (*DB)(nil)
)

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
	// ReadConns is the size of the reader pool, and of the pool that
	// serves DB.SessionWithUser outside transactions. Zero means
	// max(MinReadConns, GOMAXPROCS).
	ReadConns int
	// SkipMigrate skips applying the embedded migrations at open, for a host
	// that applies [Migrations] with its own tool. [DB.Migrate] applies them
	// later on demand.
	SkipMigrate bool
	// BusyTimeout bounds two waits of a write. Within one process, writes
	// queue for the single writer connection rather than race for SQLite's
	// lock: a write or a transaction that finds the writer busy waits at
	// most BusyTimeout for it, then fails with an error wrapping
	// [ErrWriterBusy] (and [store.ErrUnavailable]). Once it has the
	// connection, it waits at most BusyTimeout more for a lock held by
	// another process on the same file, then fails with SQLITE_BUSY, also
	// wrapped with store.ErrUnavailable. A write whose context ends first
	// fails with the context's error. Zero means DefaultBusyTimeout.
	BusyTimeout time.Duration
	// CacheSessions is how many sessions' rows (each with its user) the
	// session lookup keeps in memory between requests. A cached row is
	// used only while nothing has been committed to the file since it was
	// read, by this process or any other: the lookup checks SQLite's WAL
	// index in shared memory on every call, so a revocation, a disabled
	// user or any other change is seen by the very next request. Zero
	// means [DefaultCacheSessions]; a negative value turns the cache off.
	// On systems where the WAL index cannot be mapped (not Unix) the cache
	// is off.
	CacheSessions int
}

// ErrWriterBusy is wrapped by the error of a write, or of the beginning of
// a transaction, that waited [Config.BusyTimeout] for the writer connection
// without getting it: the other writes of the process kept it busy that
// long. The error also wraps [store.ErrUnavailable] (and through it
// [sigra.ErrBusy]), which handlers answer with 503 Service Unavailable and
// Retry-After.
//
// Inside [DB.InTx] this is also what a write with a context that does not
// carry the transaction gets (the transaction holds the writer connection
// until it ends): a bug in the caller, reported instead of waiting
// forever.
var ErrWriterBusy = errors.New("sigra/sqlite: writer connection busy")

// writerBusyError is the error of a write that waited busy for the writer
// connection. Its message leaves the package's prefix to wrap.
type writerBusyError struct{ waited time.Duration }

func (e *writerBusyError) Error() string {
	return "the writer connection stayed busy for " + e.waited.String()
}

// Unwrap returns ErrWriterBusy and store.ErrUnavailable (which wraps
// sigra.ErrBusy).
func (e *writerBusyError) Unwrap() []error { return []error{ErrWriterBusy, store.ErrUnavailable} }

// DB is Sigra's store over one SQLite file: it implements every interface
// of package store, [store.Transactor] included. It is safe for concurrent
// use.
//
// It keeps two connection pools on the file: a writer pool of exactly one
// connection, through which every write and every transaction of [DB.InTx]
// goes (begun with BEGIN IMMEDIATE), and a pool of read-only connections for
// lookups. In WAL mode readers never block the writer nor each other, and
// since writes queue for the one writer connection inside the process, they
// never fail with SQLITE_BUSY. A write waits in that queue for at most
// [Config.BusyTimeout] (see [ErrWriterBusy]).
type DB struct {
	writer *sql.DB
	reader *sql.DB
	path   string

	// writing holds a value while a write or a transaction outside any
	// transaction of the context uses the writer connection: the queue
	// for the writer, with a bounded wait (busy).
	writing chan struct{}
	busy    time.Duration

	mu  sync.Mutex // serializes preparing hot
	hot atomic.Pointer[hotStmts]
	// apiToken is the token lookup (apitokens.go), prepared on first use
	// apart from hot, so a schema without the API token tables leaves
	// sessions working.
	apiToken atomic.Pointer[sql.Stmt]
	// writes holds, for each query of signInWrites and of signInReads,
	// its statement prepared on the writer connection (nil until
	// prepared; see writeStmt), for use outside and inside transactions.
	// The map itself is not changed after New.
	writes map[string]*atomic.Pointer[sql.Stmt]
	// reads holds, for each query of signInReads, its statement prepared
	// on the reader pool (nil until prepared; see readStmt), for reads
	// outside transactions. The map itself is not changed after New.
	reads map[string]*atomic.Pointer[sql.Stmt]

	// lookup serves the session lookup of every request (see lookup.go).
	lookup *lookupPool
	// cache holds the rows of recent lookups (see cache.go); nil when
	// off.
	cache *sessionCache
}

// hotStmts are the lookup statements prepared on the reader pool.
type hotStmts struct {
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
// returns an error wrapping [sigra.ErrConfig] for an invalid cfg.
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
	uri, err := fileURI(cfg.Path)
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
	if err := setWAL(ctx, writer, cfg.BusyTimeout); err != nil {
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

	db := &DB{writer: writer, reader: reader, path: cfg.Path, writing: make(chan struct{}, 1), busy: cfg.BusyTimeout,
		lookup: newLookupPool(uri, cfg.ReadConns, cfg.BusyTimeout),
		writes: make(map[string]*atomic.Pointer[sql.Stmt], len(signInWrites)+len(signInReads)),
		reads:  make(map[string]*atomic.Pointer[sql.Stmt], len(signInReads))}
	for _, q := range signInWrites {
		db.writes[q] = new(atomic.Pointer[sql.Stmt])
	}
	for _, q := range signInReads {
		db.writes[q] = new(atomic.Pointer[sql.Stmt])
		db.reads[q] = new(atomic.Pointer[sql.Stmt])
	}
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
	if err := db.acquire(ctx); err != nil {
		db.Close()
		return nil, wrap("prepare", err)
	}
	err = db.prepareWrites(ctx)
	db.release()
	if err == nil {
		err = db.prepareReads(ctx)
	}
	if err != nil && !cfg.SkipMigrate {
		db.Close()
		return nil, err
	}
	if cfg.CacheSessions >= 0 {
		size := cfg.CacheSessions
		if size == 0 {
			size = DefaultCacheSessions
		}
		// Without a mappable WAL index the lookups run their query
		// every time, as with the cache off.
		if sc, err := newSessionCache(uri, cfg.BusyTimeout, size); err == nil {
			db.cache = sc
		}
	}
	return db, nil
}

func (cfg *Config) validate() error {
	switch {
	case cfg.Path == "":
		return fmt.Errorf("%w: sqlite: Path is empty", sigra.ErrConfig)
	case strings.IndexByte(cfg.Path, 0) >= 0:
		return fmt.Errorf("%w: sqlite: Path contains a NUL byte", sigra.ErrConfig)
	case cfg.Path == ":memory:" || strings.HasPrefix(cfg.Path, "file:"):
		return fmt.Errorf("%w: sqlite: Path %q: want a file path, not a DSN or an in-memory database", sigra.ErrConfig, cfg.Path)
	case cfg.ReadConns < 0:
		return fmt.Errorf("%w: sqlite: ReadConns %d is negative", sigra.ErrConfig, cfg.ReadConns)
	case cfg.CacheSessions > 1<<24:
		return fmt.Errorf("%w: sqlite: CacheSessions %d is more than %d", sigra.ErrConfig, cfg.CacheSessions, 1<<24)
	case cfg.BusyTimeout < 0:
		return fmt.Errorf("%w: sqlite: BusyTimeout %v is negative", sigra.ErrConfig, cfg.BusyTimeout)
	}
	return nil
}

// setWAL puts the file in WAL mode through the writer pool (WAL mode is
// kept in the file: a connection opened later finds it). On a file still
// in rollback mode, such as a new one, the switch reads the file's header
// under a shared lock, then takes the write lock; when another connection
// holds or awaits that lock, as another instance of the application
// switching the same new file does, SQLite fails the switch at once with
// SQLITE_BUSY rather than wait on the busy timeout, since waiting while
// holding a shared lock could deadlock. setWAL retries it until busy has
// passed or ctx ends.
func setWAL(ctx context.Context, writer *sql.DB, busy time.Duration) error {
	deadline := time.Now().Add(busy)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		var mode string
		err := writer.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		if code, ok := resultCode(err); !ok || code&0xff != sqlite3.SQLITE_BUSY || time.Now().Add(pause).After(deadline) {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// fileURI returns the absolute file: URI of path, with '%', '?' and '#'
// percent-encoded, so no part of it can be read as a URI parameter or a
// driver option.
func fileURI(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%w: sqlite: Path %q: %v", sigra.ErrConfig, path, err)
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
	return b.String(), nil
}

// dsns returns the DSNs of the writer and reader pools for path: its
// fileURI with the driver's options.
func dsns(path string, busy time.Duration) (writer, reader string, err error) {
	uri, err := fileURI(path)
	if err != nil {
		return "", "", err
	}
	timeout := max(busy.Milliseconds(), 1)
	base := uri + "?_pragma=busy_timeout(" + strconv.FormatInt(timeout, 10) + ")&_pragma=foreign_keys(1)"
	// The writer's journal mode is set by New (see setWAL), not here: on
	// a file in rollback mode, the switch can fail at once with
	// SQLITE_BUSY, which the driver would return from the connection's
	// opening.
	writer = base + "&_pragma=synchronous(NORMAL)&_txlock=immediate"
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
	for _, s := range []*sql.Stmt{h.sessionByDigest, h.userByID} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// signInWrites are the write statements of a password sign-in, which a
// busy server runs many times a second: the limiter's (Hit, Refund,
// ResetLimit), the audit row, the session and the device record.
// database/sql over modernc keeps no prepared statement, so SQLite would
// parse and plan each of them again on every call; these are prepared once
// on the writer connection instead (by New, or on first use) and reused,
// in transactions too. Only constant queries belong here.
var signInWrites = []string{qHit, qRefund, qResetLimit, qAppendAudit, saveSession, qDeviceBefore, qDeviceSeen, qDeviceForget}

// signInReads are the reads of a password sign-in besides the session
// lookup's (hotStmts): the user by address, the user's TOTP secret (does
// the sign-in need a second factor?) and, when the browser presents one,
// its trusted-browser grant. Like signInWrites, they are prepared once
// rather than parsed and planned on every call: on the reader pool for
// reads outside a transaction (see readStmt), and on the writer
// connection for reads inside one (see txStmt). Only constant queries
// belong here.
var signInReads = []string{qUserByEmail, qTOTPByUser, qTrustedBrowserByDigest}

// prepareWrites prepares the statements of signInWrites and signInReads
// on the writer connection, which the caller holds (see acquire) outside
// any transaction, and returns the first error. A statement that does not
// prepare (with Config.SkipMigrate, before the schema exists) is prepared
// on its first use outside a transaction, and until then runs unprepared.
func (db *DB) prepareWrites(ctx context.Context) error {
	var first error
	for _, qs := range [][]string{signInWrites, signInReads} {
		for _, q := range qs {
			if _, err := db.writeStmt(ctx, q); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// prepareReads prepares the statements of signInReads on the reader pool
// and returns the first error. As with prepareWrites, a statement that
// does not prepare is prepared on its first use, and until then runs
// unprepared.
func (db *DB) prepareReads(ctx context.Context) error {
	var first error
	for _, q := range signInReads {
		if _, err := db.readStmt(ctx, q); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// readStmt returns the statement of query prepared on the reader pool,
// preparing it on first use, or nil when query is not one of
// signInReads. database/sql prepares it again on each connection of the
// pool the first time it runs there, and keeps it.
func (db *DB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	p := db.reads[query]
	if p == nil {
		return nil, nil
	}
	if st := p.Load(); st != nil {
		return st, nil
	}
	st, err := db.reader.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sigra/sqlite: prepare: %w", err)
	}
	if !p.CompareAndSwap(nil, st) {
		// Another call prepared it first: use that one.
		st.Close()
		return p.Load(), nil
	}
	return st, nil
}

// queryRow runs a read that returns at most one row where a read with ctx
// goes (see r): in the transaction ctx carries, or on the reader pool. A
// query of signInReads runs as its prepared statement (see readStmt and
// txStmt); one that is not prepared yet, or that does not prepare, runs
// unprepared, and the statement itself gives the error, if any.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if tx := db.tx(ctx); tx != nil {
		return txQuerier{db, tx}.QueryRowContext(ctx, query, args...)
	}
	if st, _ := db.readStmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.reader.QueryRowContext(ctx, query, args...)
}

// writeStmt returns the statement of query prepared on the writer
// connection, preparing it on first use, or nil when query is not one of
// signInWrites or signInReads. The caller holds the writer connection
// (see acquire) outside any transaction, so the connection is free to
// prepare on and no other call prepares at the same time.
func (db *DB) writeStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	p := db.writes[query]
	if p == nil {
		return nil, nil
	}
	if st := p.Load(); st != nil {
		return st, nil
	}
	st, err := db.writer.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sigra/sqlite: prepare: %w", err)
	}
	p.Store(st)
	return st, nil
}

// txStmt returns the statement of query prepared on the writer connection
// for use in tx (which holds that connection), or nil when query is not
// one of signInWrites or signInReads, or is not prepared yet: it then runs
// unprepared.
func (db *DB) txStmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	if p := db.writes[query]; p != nil {
		if st := p.Load(); st != nil {
			return tx.StmtContext(ctx, st)
		}
	}
	return nil
}

// Close closes the pools. Calls in flight fail (a session lookup in flight
// is waited for); the DB must not be used afterwards.
func (db *DB) Close() error {
	var errs []error
	if h := db.hot.Swap(nil); h != nil {
		errs = append(errs, h.close())
	}
	if db.cache != nil {
		errs = append(errs, db.cache.close())
	}
	for _, m := range []map[string]*atomic.Pointer[sql.Stmt]{db.writes, db.reads} {
		for _, p := range m {
			if st := p.Swap(nil); st != nil {
				errs = append(errs, st.Close())
			}
		}
	}
	errs = append(errs, db.lookup.close(), db.reader.Close(), db.writer.Close())
	return errors.Join(errs...)
}

// Path returns the database file's path as it was given in [Config.Path].
func (db *DB) Path() string { return db.path }

// InTx runs fn in one transaction on the writer connection, begun with
// BEGIN IMMEDIATE so that reads inside it cannot be invalidated by another
// writer; see [store.Transactor]. Every method of db called with the
// context fn receives, or with one derived from it, runs in that
// transaction, reads included; so do [DB.ExecContext], [DB.QueryContext] and
// [DB.QueryRowContext], for the host's own tables. If fn returns an error or
// panics, the transaction rolls back (and the panic continues); otherwise
// InTx commits and returns the commit's error. Called with a context that
// already carries a transaction of db, InTx runs fn in it: only the
// outermost call commits.
//
// The transaction holds the only writer connection until InTx returns.
// Code inside fn must therefore write only with the context it was given:
// a write with another context (one without the transaction, or one passed
// through [store.WithoutTx]) waits for the writer connection until the
// transaction ends, so from inside fn it fails after [Config.BusyTimeout]
// with an error wrapping [ErrWriterBusy] (or earlier with its context's
// error). Reads with such a context do not wait: they go to the reader pool
// and see what was committed before the transaction. Keep transactions
// short for the same reason: every other write in the process waits for
// them, and gives up after the busy timeout. InTx itself waits for the
// writer connection as a write does.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if db.tx(ctx) != nil {
		return fn(ctx)
	}
	return db.begin(ctx, func(tx *sql.Tx) error {
		return fn(store.ContextWithTx(ctx, db, tx))
	})
}

// begin runs fn in a new transaction on the writer connection, waited for
// as by acquire. If fn returns an error or panics, the transaction rolls
// back; otherwise it commits.
func (db *DB) begin(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := db.acquire(ctx); err != nil {
		return wrap("begin", err)
	}
	defer db.release()
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return wrap("begin", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return wrap("commit", err)
	}
	return nil
}

// acquire takes the writer connection for a write or a transaction that
// ctx does not carry: at once when it is free, otherwise after the writes
// queued before. It waits at most the busy timeout (then the error wraps
// ErrWriterBusy) or until ctx is done (then it is ctx's error). Every
// successful acquire is followed by one release once the connection is
// back in the writer pool (statement finished, rows closed, transaction
// ended), so that the pool never makes a writer wait unbounded.
func (db *DB) acquire(ctx context.Context) error {
	select {
	case db.writing <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(db.busy)
	defer timer.Stop()
	select {
	case db.writing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return &writerBusyError{waited: db.busy}
	}
}

// release gives the writer connection taken by acquire back.
func (db *DB) release() { <-db.writing }

// tx returns the transaction of db that ctx carries, or nil.
func (db *DB) tx(ctx context.Context) *sql.Tx {
	if v, ok := store.TxFromContext(ctx, db); ok {
		tx, _ := v.(*sql.Tx)
		return tx
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// r returns where a read with ctx goes: the transaction of db that ctx
// carries, or the reader pool.
func (db *DB) r(ctx context.Context) querier {
	if tx := db.tx(ctx); tx != nil {
		return tx
	}
	return db.reader
}

// write runs fn with where a write with ctx goes: the transaction of db
// that ctx carries, or the writer connection, waited for by acquire and
// held until fn returns. fn must be done with the connection when it
// returns (rows closed).
func (db *DB) write(ctx context.Context, fn func(q querier) error) error {
	if tx := db.tx(ctx); tx != nil {
		return fn(tx)
	}
	if err := db.acquire(ctx); err != nil {
		return err
	}
	defer db.release()
	return fn(db.writer)
}

// exec runs a statement that writes and returns no rows where a write with
// ctx goes (see write).
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if tx := db.tx(ctx); tx != nil {
		return txQuerier{db, tx}.ExecContext(ctx, query, args...)
	}
	if err := db.acquire(ctx); err != nil {
		return nil, err
	}
	defer db.release()
	if st, _ := db.writeStmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	// Not one of signInWrites, or it did not prepare: the statement
	// itself gives the error, if any.
	return db.writer.ExecContext(ctx, query, args...)
}

// scanRow runs a statement that writes and returns at most one row
// (... RETURNING) where a write with ctx goes (see write), and scans the
// row into dest. No row is sql.ErrNoRows.
func (db *DB) scanRow(ctx context.Context, query string, args []any, dest ...any) error {
	if tx := db.tx(ctx); tx != nil {
		return txQuerier{db, tx}.QueryRowContext(ctx, query, args...).Scan(dest...)
	}
	if err := db.acquire(ctx); err != nil {
		return err
	}
	defer db.release()
	if st, _ := db.writeStmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...).Scan(dest...)
	}
	return db.writer.QueryRowContext(ctx, query, args...).Scan(dest...)
}

// inTx runs fn in the transaction of db that ctx carries, or in a new one on
// the writer, for methods made of several statements.
func (db *DB) inTx(ctx context.Context, fn func(q querier) error) error {
	if tx := db.tx(ctx); tx != nil {
		return fn(txQuerier{db, tx})
	}
	return db.begin(ctx, func(tx *sql.Tx) error { return fn(txQuerier{db, tx}) })
}

// txQuerier runs statements in a transaction of db, the statements of
// signInWrites and signInReads as the statements prepared on the writer
// connection.
type txQuerier struct {
	db *DB
	tx *sql.Tx
}

func (q txQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.db.txStmt(ctx, q.tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.tx.ExecContext(ctx, query, args...)
}

func (q txQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.db.txStmt(ctx, q.tx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.tx.QueryContext(ctx, query, args...)
}

func (q txQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.db.txStmt(ctx, q.tx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.tx.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement that returns no rows, such as an INSERT into
// one of the host application's own tables, and returns the driver's result
// and error as they are. With a context from [DB.InTx] it runs in that
// transaction; otherwise it runs on its own on the writer connection,
// queued behind the process's other writes for at most
// [Config.BusyTimeout] (then the error wraps [ErrWriterBusy]).
//
// Inside InTx, every write, to the host's tables as to Sigra's, must go
// through a method of db with the context InTx gave, never through a
// *sql.DB the host opened on the same file: that write would wait for the
// write lock the transaction holds and fail with SQLITE_BUSY after the busy
// timeout. (A write through db with another context waits for the
// transaction to end, and fails with ErrWriterBusy; see InTx.)
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := db.exec(ctx, query, args...)
	if _, busy := err.(*writerBusyError); busy {
		return nil, fmt.Errorf("sigra/sqlite: ExecContext: %w", err)
	}
	return res, err
}

// QueryContext runs a query, such as a SELECT from one of the host
// application's own tables, and returns the driver's rows and error as they
// are. With a context from [DB.InTx] it runs in that transaction and sees
// its writes; otherwise it runs on the read-only pool, so a statement that
// writes and returns rows (INSERT ... RETURNING) must run inside InTx.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.r(ctx).QueryContext(ctx, query, args...)
}

// QueryRowContext is [DB.QueryContext] for a query that returns at most one
// row.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.r(ctx).QueryRowContext(ctx, query, args...)
}

// wrap turns a driver error into a store error: no rows becomes
// store.ErrNotFound, a uniqueness violation store.ErrConflict, a missing
// referenced row (an unknown user) store.ErrNotFound, and a database that
// did not answer in time (see unavailable) store.ErrUnavailable.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sigra/sqlite: %s: %w", op, store.ErrNotFound)
	}
	if code, ok := resultCode(err); ok {
		switch code {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("sigra/sqlite: %s: %w (%w)", op, store.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("sigra/sqlite: %s: referenced row missing: %w (%w)", op, store.ErrNotFound, err)
		}
	}
	if unavailable(err) && !errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("sigra/sqlite: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("sigra/sqlite: %s: %w", op, err)
}

// unavailable reports whether err says that the database did not answer
// in time or cannot be used for now, rather than that the statement
// failed: a lock another connection held past the busy timeout
// (SQLITE_BUSY, SQLITE_LOCKED), the writer connection busy past it
// (ErrWriterBusy), an I/O error or a full disk (SQLITE_IOERR,
// SQLITE_FULL), and a deadline that passed. A cancelled context is not:
// the caller went away.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrWriterBusy) {
		return true
	}
	if code, ok := resultCode(err); ok {
		switch code & 0xff { // the primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL:
			return true
		}
	}
	return false
}

// resultCode returns the SQLite result code in err's chain: of the driver's
// error, or of a lookup connection's.
func resultCode(err error) (int, bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code(), true
	}
	var re *resultError
	if errors.As(err, &re) {
		return re.Code(), true
	}
	return 0, false
}

// notFound is the error of a lookup or update that matched nothing.
func notFound(op string) error {
	return fmt.Errorf("sigra/sqlite: %s: %w", op, store.ErrNotFound)
}

// op names a store method in errors. Its methods take a statement's result
// directly: op("X").count(db.exec(ctx, ...)).
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
		return fmt.Errorf("scan time: unexpected %T", src)
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
		return fmt.Errorf("scan text: unexpected %T", src)
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
		return fmt.Errorf("scan integer: unexpected %T", src)
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
		return fmt.Errorf("scan boolean: unexpected %T", src)
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
