package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

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

// Pool defaults applied by [New].
const (
	// DefaultAcquireTimeout is how long a call waits at most for a
	// connection of the pool when Config.AcquireTimeout is zero: as long
	// as the password hashing pool's default wait, so that a full pool
	// answers 503 about when a full hashing pool does.
	DefaultAcquireTimeout = 2 * time.Second
	// DefaultConnectTimeout bounds the opening of one connection when the
	// DSN sets no connect_timeout, so that a server that does not answer
	// (a host gone from the network) does not hold the pool's slots for
	// the operating system's TCP timeout, minutes long.
	DefaultConnectTimeout = 10 * time.Second
	// MinMaxConns is the smallest default pool size (see
	// [DefaultMaxConns]).
	MinMaxConns = 8
	// MaxMaxConns is the largest default pool size (see
	// [DefaultMaxConns]).
	MaxMaxConns = 32
)

// DefaultMaxConns returns the pool size [New] uses when neither
// Config.MaxConns nor the DSN's pool_max_conns sets one: four connections
// per GOMAXPROCS, at least [MinMaxConns] and at most [MaxMaxConns]. Each
// instance of the application opens up to that many connections, and
// PostgreSQL accepts 100 in all by default (max_connections): size the
// pools of all instances together below it.
func DefaultMaxConns() int32 {
	return int32(min(max(MinMaxConns, 4*runtime.GOMAXPROCS(0)), MaxMaxConns))
}

// Config configures [New]. The zero value is not usable on its own: DSN is
// required.
type Config struct {
	// DSN is a PostgreSQL connection string, in URL form
	// (postgres://user@host:5432/db?sslmode=verify-full) or keyword/value
	// form (host=... dbname=...), as accepted by pgx. Runtime parameters
	// such as search_path may be set in it. It may carry pgxpool settings
	// (pool_max_conns and others) and connect_timeout (default
	// [DefaultConnectTimeout]). It is required: New refuses an empty DSN
	// rather than fall back to libpq's environment defaults.
	DSN string
	// MaxConns caps the pool's connections. Zero takes the DSN's
	// pool_max_conns if it has one, else [DefaultMaxConns]. Calls beyond
	// it wait for a connection, at most AcquireTimeout.
	MaxConns int32
	// AcquireTimeout bounds how long a call waits for a connection of the
	// pool when all of them are in use (or are being opened): past it the
	// call fails with an error wrapping [store.ErrUnavailable], which
	// handlers answer with 503 and Retry-After, rather than queue without
	// bound under a load the pool cannot serve. The call's context may end
	// the wait earlier. It bounds only the wait for a connection, not the
	// statements that run once one is free; PostgreSQL's
	// statement_timeout and lock_timeout (runtime parameters of the DSN)
	// bound those. Zero means [DefaultAcquireTimeout]; a negative value
	// leaves the wait to the call's context alone.
	AcquireTimeout time.Duration
	// SkipMigrate leaves the schema alone: New does not run [DB.Migrate]
	// but checks that the database answers. Use it when the host applies
	// [Migrations] with its own tool.
	SkipMigrate bool
	// Tracer, if not nil, is installed on every connection of the pool
	// (pgx.ConnConfig.Tracer): it sees each statement the adapter sends,
	// for logging, tracing or counting round trips. It also receives the
	// events of the optional pgx tracer interfaces it implements
	// (pgx.BatchTracer, pgx.PrepareTracer, pgx.ConnectTracer,
	// pgxpool.AcquireTracer and others). It must be safe for concurrent
	// use. The adapter installs a tracer of its own beside it, to bound
	// the wait for a connection (AcquireTimeout).
	Tracer pgx.QueryTracer
}

// DB is Sigra's store over a PostgreSQL connection pool (a pgxpool.Pool):
// it implements every interface of package store, [store.Transactor]
// included. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
}

// querier is what a pgxpool.Pool and a pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Open is New with only a DSN: it opens a pool and applies pending
// migrations.
func Open(ctx context.Context, dsn string) (*DB, error) {
	return New(ctx, Config{DSN: dsn})
}

// New opens a connection pool as cfg says and, unless cfg.SkipMigrate is
// set, applies pending migrations (see [DB.Migrate]). The pool's sessions
// default to the READ COMMITTED isolation level (PostgreSQL's own default)
// unless the DSN sets default_transaction_isolation: the adapter's
// concurrency guarantees are argued for that level. An unusable cfg (no
// DSN, a DSN that does not parse, a negative MaxConns) yields an error
// wrapping [sigra.ErrConfig]. A database that cannot be reached yields an
// error wrapping [store.ErrUnavailable].
func New(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.DSN == "" {
		return nil, fmt.Errorf("%w: postgres: DSN is empty", sigra.ErrConfig)
	}
	if cfg.MaxConns < 0 {
		return nil, fmt.Errorf("%w: postgres: MaxConns %d is negative", sigra.ErrConfig, cfg.MaxConns)
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, fmt.Errorf("%w: postgres: parse DSN: %w", sigra.ErrConfig, err)
	}
	switch {
	case cfg.MaxConns > 0:
		pc.MaxConns = cfg.MaxConns
	case !setsPoolMaxConns(cfg.DSN):
		pc.MaxConns = DefaultMaxConns()
	}
	pc.MinConns = min(pc.MinConns, pc.MaxConns)
	pc.MinIdleConns = min(pc.MinIdleConns, pc.MaxConns)
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	wait := cfg.AcquireTimeout
	if wait == 0 {
		wait = DefaultAcquireTimeout
	}
	switch {
	case wait > 0 && cfg.Tracer != nil:
		pc.ConnConfig.Tracer = multitracer.New(acquireBound{wait}, cfg.Tracer)
	case wait > 0:
		pc.ConnConfig.Tracer = acquireBound{wait}
	case cfg.Tracer != nil:
		pc.ConnConfig.Tracer = cfg.Tracer
	}
	if _, ok := pc.ConnConfig.RuntimeParams["default_transaction_isolation"]; !ok {
		pc.ConnConfig.RuntimeParams["default_transaction_isolation"] = "read committed"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("sigra/postgres: open pool: %w", err)
	}
	db := &DB{pool: pool}
	if cfg.SkipMigrate {
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, wrap("ping", err)
		}
		return db, nil
	}
	// Migrate's errors carry the package's prefix already.
	if err := db.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (db *DB) Close() {
	db.pool.Close()
}

// Pool returns the underlying pool, for hosts that want to share it. Code
// written for database/sql can use the same pool through
// github.com/jackc/pgx/v5/stdlib.OpenDBFromPool.
//
// The pool knows nothing of [DB.InTx]: a statement sent through it runs on
// its own connection, outside any transaction the context carries. To change
// the host's own tables inside a transaction, use [DB.Exec], [DB.Query] and
// [DB.QueryRow].
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// InTx runs fn in one READ COMMITTED transaction; see [store.Transactor].
// Every method of db called with the context fn receives, or with one
// derived from it, runs in that transaction; so do [DB.Exec], [DB.Query]
// and [DB.QueryRow], for the host's own tables. If fn returns an error or
// panics, the transaction rolls back (and the panic continues); otherwise it
// commits and InTx returns the commit's error. Called with a context that
// already carries a transaction of db, InTx runs fn in it: the inner
// function's error is returned to the outer one without rolling anything
// back on its own, and only the outermost call commits. A context without
// the transaction (or passed through [store.WithoutTx]) runs on another
// connection of the pool, outside the transaction; like any other
// transaction's, a write of it to a row the transaction has written waits
// until the transaction ends, so from inside fn it waits until its context
// is done.
//
// PostgreSQL aborts a transaction at the first failing statement. The
// methods report the expected outcomes (not found, conflict, replay)
// without failing a statement, so fn may go on after them; after any other
// error the transaction is unusable and fn should return it.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := db.tx(ctx); ok {
		return fn(ctx)
	}
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return wrap("begin", err)
	}
	done := false
	defer func() {
		if !done {
			// Roll back even when ctx is done, or the connection would
			// go back to the pool mid-transaction.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(store.ContextWithTx(ctx, db, tx)); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(ctx); err != nil {
		return wrap("commit", err)
	}
	return nil
}

// tx returns the transaction of db that ctx carries.
func (db *DB) tx(ctx context.Context) (pgx.Tx, bool) {
	if v, ok := store.TxFromContext(ctx, db); ok {
		tx, ok := v.(pgx.Tx)
		return tx, ok
	}
	return nil, false
}

// q returns where a statement with ctx runs: the transaction of db that ctx
// carries, or the pool.
func (db *DB) q(ctx context.Context) querier {
	if tx, ok := db.tx(ctx); ok {
		return tx
	}
	return db.pool
}

// sendBatch runs b and closes its results. Outside a transaction the
// statements of one batch run in one implicit transaction (PostgreSQL
// commits at the batch's single Sync message), in one round trip.
func (db *DB) sendBatch(ctx context.Context, b *pgx.Batch) error {
	return db.q(ctx).SendBatch(ctx, b).Close()
}

// Exec runs a statement, such as an INSERT into one of the host
// application's own tables, and returns pgx's result and error as they are.
// With a context from [DB.InTx] it runs in that transaction; otherwise on a
// connection of the pool, on its own.
func (db *DB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return db.q(ctx).Exec(ctx, sql, args...)
}

// Query runs a query, such as a SELECT from one of the host application's
// own tables, where [DB.Exec] would run a statement, and returns pgx's rows
// and error as they are. The rows must be closed before the next statement
// of the same transaction.
func (db *DB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return db.q(ctx).Query(ctx, sql, args...)
}

// QueryRow is [DB.Query] for a query that returns at most one row; its
// error is reported by the row's Scan.
func (db *DB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return db.q(ctx).QueryRow(ctx, sql, args...)
}

// PostgreSQL error codes the adapter maps.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeLockNotAvailable    = "55P03" // lock_timeout
	codeSystemError         = "58000"
	codeIOError             = "58030"
)

// wrap turns a driver error into the adapter's error for op: no rows
// becomes store.ErrNotFound, a unique violation store.ErrConflict, a
// foreign-key violation (the user does not exist) store.ErrNotFound, and
// a server that cannot be reached or did not answer in time (see
// unavailable) store.ErrUnavailable. The driver error stays in the chain.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("sigra/postgres: %s: %w", op, store.ErrNotFound)
	}
	if unavailable(err) {
		return fmt.Errorf("sigra/postgres: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeUniqueViolation:
			return fmt.Errorf("sigra/postgres: %s: %w: %w", op, store.ErrConflict, err)
		case codeForeignKeyViolation:
			return fmt.Errorf("sigra/postgres: %s: %w: %w", op, store.ErrNotFound, err)
		}
	}
	return fmt.Errorf("sigra/postgres: %s: %w", op, err)
}

// unavailable reports whether err says that PostgreSQL could not be
// reached or did not answer in time, rather than that the statement
// failed: a connection that could not be opened or was lost (a network
// error, an unexpected end of the stream, the server shutting down or
// terminating the backend: classes 08 and 57), a server out of resources
// (class 53: too many connections, out of memory, disk full), an I/O
// error on the server, a statement or lock timeout (57014, 55P03), and a
// deadline that passed, the call's own or the pool's acquire timeout. A
// cancelled context is not: the caller went away.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch c := pe.Code; {
		case strings.HasPrefix(c, "08"), strings.HasPrefix(c, "53"), strings.HasPrefix(c, "57"),
			c == codeLockNotAvailable, c == codeSystemError, c == codeIOError:
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, pgconn.ErrConnClosed)
}

// acquireBound is the tracer that bounds the wait for a connection of the
// pool. pgxpool acquires a connection with the context TraceAcquireStart
// returns, and with it alone: the deadline added there ends the wait (and
// the liveness ping of an idle connection) without shortening the
// statement that runs on the connection. TraceAcquireEnd releases the
// deadline's timer.
type acquireBound struct{ wait time.Duration }

// acquireCancelKey keys the cancel function of the acquire's deadline in
// its context.
type acquireCancelKey struct{}

func (acquireBound) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (acquireBound) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (b acquireBound) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	ctx, cancel := context.WithTimeout(ctx, b.wait)
	return context.WithValue(ctx, acquireCancelKey{}, cancel)
}

func (acquireBound) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	if cancel, ok := ctx.Value(acquireCancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

// setsPoolMaxConns reports whether dsn sets pool_max_conns: pgxpool
// consumes the setting while parsing, so New looks for it in pgconn's
// parse, which keeps it among the runtime parameters.
func setsPoolMaxConns(dsn string) bool {
	cc, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return false
	}
	_, ok := cc.RuntimeParams["pool_max_conns"]
	return ok
}

// notFound returns the adapter's not-found error for op.
func notFound(op string) error {
	return fmt.Errorf("sigra/postgres: %s: %w", op, store.ErrNotFound)
}

// conflict returns the adapter's conflict error for op.
func conflict(op string) error {
	return fmt.Errorf("sigra/postgres: %s: %w", op, store.ErrConflict)
}

// replayed returns the adapter's replay error for op.
func replayed(op string) error {
	return fmt.Errorf("sigra/postgres: %s: %w", op, store.ErrReplay)
}

// nowUTC is the clock for the few values the contracts let the store fill
// in (CreatedAt of a new record), at PostgreSQL's precision so that the
// caller's copy equals what is stored.
func nowUTC() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// tsArg is the argument for a nullable timestamptz column: NULL for the
// zero time.
func tsArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// textArg is the argument for a nullable text column: NULL for "".
func textArg(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// bytesArg is the argument for a NOT NULL bytea column: nil becomes empty.
func bytesArg(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// tsDest scans a timestamptz, NULL or not, into a time.Time in UTC; NULL
// becomes the zero time. It is pointer-shaped, so passing it to Scan does
// not allocate.
type tsDest struct{ p *time.Time }

// ts returns a scan destination for a nullable timestamptz column.
func ts(p *time.Time) tsDest { return tsDest{p} }

// ScanTimestamptz implements pgtype.TimestamptzScanner.
func (d tsDest) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid || v.InfinityModifier != 0 {
		*d.p = time.Time{}
		return nil
	}
	*d.p = v.Time.UTC()
	return nil
}
