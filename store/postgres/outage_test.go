package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
)

// outage is a login role of a test's own on the test server, whose
// connections the test can cut off: down forbids the role to log in and
// terminates its backends (PostgreSQL's own view of a restart or a network
// cut: the pool's connections die and new ones are refused); up lets it
// log in again. Only this role's backends are touched, so tests running
// beside it on the same server are not.
type outage struct {
	t     testing.TB
	admin string // the server's DSN, as given
	role  string
	DSN   string // the schema's DSN, for the role
}

// newOutage creates the role for a fresh schema (migrated by the server's
// own user), and drops it when t ends. It skips t when the server's user
// may not create roles.
func newOutage(t testing.TB) *outage {
	t.Helper()
	dsn := pgtest.DSN(t)
	db, err := postgres.Open(context.Background(), dsn) // migrate as the schema's owner
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	o := &outage{t: t, admin: pgtest.BaseDSN(t), role: "sigra_outage_" + hex.EncodeToString(b)}
	pw := hex.EncodeToString(b) + "-pw"
	if err := o.exec(fmt.Sprintf("CREATE ROLE %s LOGIN SUPERUSER PASSWORD '%s'", o.role, pw)); err != nil {
		t.Skipf("the test server's user cannot create a role: %v", err)
	}
	t.Cleanup(func() {
		o.terminate()
		if err := o.exec("DROP ROLE IF EXISTS " + o.role); err != nil {
			t.Errorf("drop role %s: %v", o.role, err)
		}
	})
	o.DSN = withUser(dsn, o.role, pw)
	return o
}

// withUser returns dsn with its user and password replaced.
func withUser(dsn, user, pw string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			u.User = url.UserPassword(user, pw)
			return u.String()
		}
	}
	return dsn + " user=" + user + " password=" + pw // a later setting wins
}

// exec runs sql on a connection of the server's own user.
func (o *outage) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, o.admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// terminate ends every backend of the role, waiting for each to exit.
func (o *outage) terminate() {
	o.t.Helper()
	if err := o.exec("SELECT pg_terminate_backend(pid, 30000) FROM pg_stat_activity WHERE usename = '" + o.role + "' AND pid <> pg_backend_pid()"); err != nil {
		o.t.Fatalf("terminate the backends of %s: %v", o.role, err)
	}
}

// down starts the outage.
func (o *outage) down() {
	o.t.Helper()
	if err := o.exec("ALTER ROLE " + o.role + " NOLOGIN"); err != nil {
		o.t.Fatal(err)
	}
	o.terminate()
}

// up ends it.
func (o *outage) up() {
	o.t.Helper()
	if err := o.exec("ALTER ROLE " + o.role + " LOGIN"); err != nil {
		o.t.Fatal(err)
	}
}

// wantUnavailable fails t unless err wraps store.ErrUnavailable and
// sigra.ErrBusy, and not context.Canceled.
func wantUnavailable(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, sigra.ErrBusy) {
		t.Fatalf("%s: got %v, want an error wrapping store.ErrUnavailable and sigra.ErrBusy", what, err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatalf("%s: got %v, want no context.Canceled in it", what, err)
	}
	if !strings.HasPrefix(err.Error(), "sigra/postgres: ") {
		t.Errorf("%s: got %q, want the package's prefix", what, err)
	}
}

// TestOutageAndRecovery cuts the database off under a pool in use:
// PostgreSQL terminates its connections and refuses new ones. Every call
// fails with store.ErrUnavailable, whatever it finds (a connection that
// died, or none that can be opened), keeping the driver's error in the
// chain; once the database is back, the same pool serves calls again by
// itself.
func TestOutageAndRecovery(t *testing.T) {
	t.Parallel()
	o := newOutage(t)
	ctx := context.Background()
	// One connection, so that after the outage no connection that died
	// in it is left in the pool.
	db, err := postgres.New(ctx, postgres.Config{DSN: o.DSN, SkipMigrate: true, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	u := newUser(t, db, "outage@example.com")

	o.down()
	for i := range 3 {
		_, err := db.UserByID(ctx, u.ID)
		wantUnavailable(t, fmt.Sprintf("UserByID #%d during the outage", i), err)
		var pgErr *pgconn.PgError
		var connErr *pgconn.ConnectError
		if !errors.As(err, &pgErr) && !errors.As(err, &connErr) && !errors.As(err, new(net.Error)) {
			t.Errorf("UserByID #%d: got %v, want the driver's error kept in the chain", i, err)
		}
	}
	err = db.InTx(ctx, func(ctx context.Context) error {
		t.Error("InTx ran its function while the database was down")
		return nil
	})
	wantUnavailable(t, "InTx during the outage", err)
	_, err = db.Hit(ctx, "outage", 5, time.Minute, t0)
	wantUnavailable(t, "Hit during the outage", err)

	o.up()
	got, err := db.UserByID(ctx, u.ID)
	if err != nil || got.ID != u.ID {
		t.Fatalf("UserByID after the outage: got %v, %v; want the user", got, err)
	}
	if err := db.InTx(ctx, func(ctx context.Context) error {
		_, err := db.Hit(ctx, "outage", 5, time.Minute, t0)
		return err
	}); err != nil {
		t.Fatalf("InTx after the outage: %v", err)
	}
}

// TestUnreachable opens a store on a port where nothing listens: New and
// every call fail with store.ErrUnavailable wrapping pgx's connect error.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	pgtest.BaseDSN(t) // skips when unset, like the other PostgreSQL tests
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dsn := "postgres://sigra@" + addr + "/nowhere?sslmode=disable&connect_timeout=5"
	_, err = postgres.New(context.Background(), postgres.Config{DSN: dsn, SkipMigrate: true})
	wantUnavailable(t, "New", err)
	var connErr *pgconn.ConnectError
	if !errors.As(err, &connErr) {
		t.Errorf("New: got %v, want a *pgconn.ConnectError in the chain", err)
	}
	_, err = postgres.New(context.Background(), postgres.Config{DSN: dsn})
	if !errors.Is(err, store.ErrUnavailable) && !errors.As(err, &connErr) {
		t.Errorf("New with migrations: got %v, want the connect error", err)
	}
}

// TestAcquireTimeout holds the only connection of a pool: a call waits at
// most AcquireTimeout for it, then fails with store.ErrUnavailable; once
// the connection is back, calls succeed.
func TestAcquireTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	u := newUser(t, openDSN(t, dsn), "acquire@example.com")
	db := openWarm(t, postgres.Config{DSN: dsn, MaxConns: 1, AcquireTimeout: 250 * time.Millisecond})
	held, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(held.Release) // before the pool closes, should the test fail
	// The caller's own deadline is far: the pool's bound ends the wait.
	callCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = db.UserByID(callCtx, u.ID)
	wantUnavailable(t, "UserByID with the pool held", err)
	if callCtx.Err() != nil {
		t.Fatalf("UserByID: got %v once the caller's deadline passed, want the pool's AcquireTimeout to end the wait", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("UserByID: got %v, want the acquire's deadline in the chain", err)
	}
	err = db.InTx(ctx, func(context.Context) error { return nil })
	wantUnavailable(t, "InTx with the pool held", err)
	_, _, err = db.SessionWithUser(ctx, digest("x"), t0, time.Hour)
	wantUnavailable(t, "SessionWithUser with the pool held", err)

	held.Release()
	if _, err := db.UserByID(ctx, u.ID); err != nil {
		t.Fatalf("UserByID once the connection is back: %v", err)
	}
}

// openWarm opens a store on a migrated schema with cfg (SkipMigrate set),
// closed when t ends, and waits until its pool holds an open connection:
// with a short AcquireTimeout, the first calls may time out while the
// pool opens it.
func openWarm(t testing.TB, cfg postgres.Config) *postgres.DB {
	t.Helper()
	cfg.SkipMigrate = true
	var db *postgres.DB
	var err error
	for range 100 {
		if db, err = postgres.New(context.Background(), cfg); err == nil {
			t.Cleanup(db.Close)
			return db
		}
		if !errors.Is(err, store.ErrUnavailable) {
			break
		}
	}
	t.Fatalf("New: %v", err)
	return nil
}

// TestAcquireWaitEndsWithContext checks that a caller that goes away while
// waiting for a connection gets its context's error, not
// store.ErrUnavailable: the store did not fail.
func TestAcquireWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.New(ctx, postgres.Config{DSN: pgtest.DSN(t), MaxConns: 1, AcquireTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	held, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = db.UserByID(cctx, "u1")
	if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) || errors.Is(err, sigra.ErrBusy) {
		t.Fatalf("UserByID with a cancelled context: got %v, want context.Canceled and not ErrUnavailable", err)
	}

	// Cancelled while waiting (AcquireTimeout is off: only the context
	// ends the wait).
	cctx, cancel = context.WithCancel(ctx)
	go func() {
		time.Sleep(10 * time.Millisecond) // most likely while waiting; before is fine too
		cancel()
	}()
	_, err = db.UserByID(cctx, "u1")
	if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("UserByID cancelled while waiting: got %v, want context.Canceled and not ErrUnavailable", err)
	}
}

// TestStatementAndLockTimeouts holds a lock on the users table from
// another connection: a lookup that waits for it past PostgreSQL's
// statement_timeout (57014) or lock_timeout (55P03) fails with
// store.ErrUnavailable, and works again once the lock is gone.
func TestStatementAndLockTimeouts(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	base := openDSN(t, dsn)
	u := newUser(t, base, "locked@example.com")
	for _, tt := range []struct {
		param, code string
	}{
		{"statement_timeout", "57014"},
		{"lock_timeout", "55P03"},
	} {
		t.Run(tt.param, func(t *testing.T) {
			db, err := postgres.New(ctx, postgres.Config{DSN: dsn + withParam(dsn, tt.param, "50"), SkipMigrate: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()

			lock, err := base.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lock.Exec(ctx, "LOCK TABLE sigra_users IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			_, err = db.UserByID(ctx, u.ID)
			_ = lock.Rollback(ctx)
			wantUnavailable(t, "UserByID behind the lock", err)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != tt.code {
				t.Fatalf("UserByID behind the lock: got %v, want PostgreSQL's %s in the chain", err, tt.code)
			}
			if _, err := db.UserByID(ctx, u.ID); err != nil {
				t.Fatalf("UserByID once the lock is gone: %v", err)
			}
		})
	}
}

// withParam returns the suffix that adds a runtime parameter to dsn.
func withParam(dsn, name, value string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if strings.Contains(dsn, "?") {
			return "&" + name + "=" + value
		}
		return "?" + name + "=" + value
	}
	return " " + name + "=" + value
}

// TestPoolSize checks the pool's size: Config.MaxConns, else the DSN's
// pool_max_conns, else DefaultMaxConns (at least MinMaxConns, at most
// MaxMaxConns).
func TestPoolSize(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	if d := postgres.DefaultMaxConns(); d < postgres.MinMaxConns || d > postgres.MaxMaxConns {
		t.Fatalf("DefaultMaxConns: got %d, want it within [%d, %d]", d, postgres.MinMaxConns, postgres.MaxMaxConns)
	}
	for _, tt := range []struct {
		name string
		cfg  postgres.Config
		want int32
	}{
		{"default", postgres.Config{DSN: dsn}, postgres.DefaultMaxConns()},
		{"DSN", postgres.Config{DSN: dsn + withParam(dsn, "pool_max_conns", "3")}, 3},
		{"MaxConns over the DSN", postgres.Config{DSN: dsn + withParam(dsn, "pool_max_conns", "3"), MaxConns: 5}, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.SkipMigrate = true
			db, err := postgres.New(context.Background(), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if got := db.Pool().Config().MaxConns; got != tt.want {
				t.Errorf("MaxConns: got %d, want %d", got, tt.want)
			}
			if got := db.Pool().Config().ConnConfig.ConnectTimeout; got != postgres.DefaultConnectTimeout {
				t.Errorf("ConnectTimeout: got %v, want %v", got, postgres.DefaultConnectTimeout)
			}
		})
	}
}

// acquireCounter is a host's tracer that also traces acquires.
type acquireCounter struct {
	recordingTracer
	acquires atomic.Int64
}

func (a *acquireCounter) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	a.acquires.Add(1)
	return ctx
}

func (a *acquireCounter) TraceAcquireEnd(context.Context, *pgxpool.Pool, pgxpool.TraceAcquireEndData) {
}

// TestTracerBesideAcquireBound checks that a host's tracer still sees the
// statements and the acquires when the adapter bounds the acquire wait.
func TestTracerBesideAcquireBound(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	openDSN(t, dsn) // migrated
	tr := &acquireCounter{}
	db := openWarm(t, postgres.Config{DSN: dsn, Tracer: tr, MaxConns: 1, AcquireTimeout: 250 * time.Millisecond})
	tr.take()
	before := tr.acquires.Load()
	if _, err := db.UserByID(context.Background(), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UserByID: got %v, want ErrNotFound", err)
	}
	if sqls, _ := tr.take(); len(sqls) != 1 {
		t.Errorf("tracer: got %d statements, want 1", len(sqls))
	}
	if tr.acquires.Load() == before {
		t.Error("tracer: saw no acquire, want the host's acquire tracer called")
	}
	held, err := db.Pool().Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	_, err = db.UserByID(context.Background(), "nobody")
	wantUnavailable(t, "UserByID with the pool held, beside a host tracer", err)
}
