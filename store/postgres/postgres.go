package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigra-go/sigra/store"
)

// Compile-time proof that DB implements every store interface.
var (
	_ store.Store           = (*DB)(nil)
	_ store.Users           = (*DB)(nil)
	_ store.Sessions        = (*DB)(nil)
	_ store.Tokens          = (*DB)(nil)
	_ store.Limiter         = (*DB)(nil)
	_ store.Outbox          = (*DB)(nil)
	_ store.AuditLog        = (*DB)(nil)
	_ store.TOTP            = (*DB)(nil)
	_ store.RecoveryCodes   = (*DB)(nil)
	_ store.TrustedBrowsers = (*DB)(nil)
)

// Errors returned by [New] and [Open] for unusable configuration.
var (
	// ErrNoDSN: Config.DSN is empty. The adapter never falls back to the
	// libpq environment defaults on its own.
	ErrNoDSN = errors.New("sigra/store/postgres: DSN is required")
	// ErrBadConfig: a Config field is out of range.
	ErrBadConfig = errors.New("sigra/store/postgres: invalid config")
)

// Config configures [New]. The zero value is not usable on its own: DSN is
// required.
type Config struct {
	// DSN is a PostgreSQL connection string, in URL form
	// (postgres://user@host:5432/db?sslmode=verify-full) or keyword/value
	// form (host=... dbname=...), as accepted by pgx. Runtime parameters
	// such as search_path may be set in it. It may carry pgxpool settings
	// (pool_max_conns and others).
	DSN string
	// MaxConns caps the pool's connections. Zero keeps pgx's default (the
	// DSN's pool_max_conns, or the larger of 4 and the number of CPUs).
	MaxConns int32
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
	// use. Nil leaves the DSN's configuration alone (no tracer).
	Tracer pgx.QueryTracer
}

// DB is the PostgreSQL implementation of [store.Store] over a pgxpool.Pool.
// It is safe for concurrent use. A DB passed to the function of
// [DB.WithTx] is bound to that transaction and must not be used after the
// function returns.
type DB struct {
	pool *pgxpool.Pool
	// q is the pool, or the transaction this DB is bound to.
	q querier
	// tx is the transaction this DB is bound to; nil for the pool's DB.
	tx pgx.Tx
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
// concurrency guarantees are argued for that level.
func New(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.DSN == "" {
		return nil, ErrNoDSN
	}
	if cfg.MaxConns < 0 {
		return nil, fmt.Errorf("%w: MaxConns %d is negative", ErrBadConfig, cfg.MaxConns)
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, fmt.Errorf("sigra/store/postgres: parse DSN: %w", err)
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
		if pc.MinConns > pc.MaxConns {
			pc.MinConns = pc.MaxConns
		}
	}
	if cfg.Tracer != nil {
		pc.ConnConfig.Tracer = cfg.Tracer
	}
	if _, ok := pc.ConnConfig.RuntimeParams["default_transaction_isolation"]; !ok {
		pc.ConnConfig.RuntimeParams["default_transaction_isolation"] = "read committed"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("sigra/store/postgres: open pool: %w", err)
	}
	db := &DB{pool: pool, q: pool}
	if cfg.SkipMigrate {
		err = pool.Ping(ctx)
	} else {
		err = db.Migrate(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("sigra/store/postgres: %w", err)
	}
	return db, nil
}

// Close closes the pool, waiting for connections in use to be returned. It
// does nothing on a DB bound to a transaction.
func (db *DB) Close() {
	if db.tx != nil {
		return
	}
	db.pool.Close()
}

// Pool returns the underlying pool, for hosts that want to share it. Code
// written for database/sql can use the same pool through
// github.com/jackc/pgx/v5/stdlib.OpenDBFromPool.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// WithTx runs fn with a DB bound to one READ COMMITTED transaction: every
// method of the Store passed to fn runs in it. If fn returns an error or
// panics, the transaction rolls back (and the panic continues); otherwise
// it commits and WithTx returns the commit's error. Calling WithTx on the
// Store passed to fn joins the outer transaction: the inner function runs
// in it, and its error is returned to the outer function without rolling
// anything back on its own.
//
// PostgreSQL aborts a transaction at the first failing statement. The
// methods report the expected outcomes (not found, conflict, replay)
// without failing a statement, so fn may go on after them; after any other
// error the transaction is unusable and fn should return it.
func (db *DB) WithTx(ctx context.Context, fn func(tx store.Store) error) (err error) {
	if db.tx != nil {
		return fn(db)
	}
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("sigra/store/postgres: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			// Roll back even when ctx is done, or the connection would
			// go back to the pool mid-transaction.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(&DB{pool: db.pool, q: tx, tx: tx}); err != nil {
		return err
	}
	committed = true
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sigra/store/postgres: commit: %w", err)
	}
	return nil
}

// sendBatch runs b and closes its results. Outside a transaction the
// statements of one batch run in one implicit transaction (PostgreSQL
// commits at the batch's single Sync message), in one round trip.
func (db *DB) sendBatch(ctx context.Context, b *pgx.Batch) error {
	return db.q.SendBatch(ctx, b).Close()
}

// PostgreSQL error codes the adapter maps.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// wrap turns a driver error into the adapter's error for op: no rows
// becomes store.ErrNotFound, a unique violation store.ErrConflict, a
// foreign-key violation (the user does not exist) store.ErrNotFound. The
// driver error stays in the chain.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("sigra/store/postgres: %s: %w", op, store.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeUniqueViolation:
			return fmt.Errorf("sigra/store/postgres: %s: %w: %w", op, store.ErrConflict, err)
		case codeForeignKeyViolation:
			return fmt.Errorf("sigra/store/postgres: %s: %w: %w", op, store.ErrNotFound, err)
		}
	}
	return fmt.Errorf("sigra/store/postgres: %s: %w", op, err)
}

// notFound returns the adapter's not-found error for op.
func notFound(op string) error {
	return fmt.Errorf("sigra/store/postgres: %s: %w", op, store.ErrNotFound)
}

// conflict returns the adapter's conflict error for op.
func conflict(op string) error {
	return fmt.Errorf("sigra/store/postgres: %s: %w", op, store.ErrConflict)
}

// replayed returns the adapter's replay error for op.
func replayed(op string) error {
	return fmt.Errorf("sigra/store/postgres: %s: %w", op, store.ErrReplay)
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
