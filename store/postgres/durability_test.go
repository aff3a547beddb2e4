package postgres_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store/postgres"
)

// TestOnlyRateLimitsUnlogged checks the migrated schema's persistence:
// sigra_rate_limits is unlogged (its commits wait for no WAL flush), and
// every other table is logged, as a crash must not lose sessions, users,
// audit rows or anything else.
func TestOnlyRateLimitsUnlogged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	rows, err := db.Query(ctx, `SELECT c.relname, c.relpersistence FROM pg_class c
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'sigra\_%'
		ORDER BY c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	persistence, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var name, p string
		err := r.Scan(&name, &p)
		return [2]string{name, p}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	var unlogged []string
	for _, np := range persistence {
		switch np[1] {
		case "u":
			unlogged = append(unlogged, np[0])
		case "p":
		default:
			t.Errorf("table %s: persistence %q, want p or u", np[0], np[1])
		}
	}
	if len(persistence) < 10 || !slices.Equal(unlogged, []string{"sigra_rate_limits"}) {
		t.Errorf("unlogged tables %q of %d, want only sigra_rate_limits", unlogged, len(persistence))
	}
}

// batchTracer records the statements of every batch a pool sends.
type batchTracer struct {
	recordingTracer
	bmu     sync.Mutex
	batches [][]string
}

func (b *batchTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	var sqls []string
	for _, q := range d.Batch.QueuedQueries {
		sqls = append(sqls, q.SQL)
	}
	b.bmu.Lock()
	defer b.bmu.Unlock()
	b.batches = append(b.batches, sqls)
	return ctx
}

func (b *batchTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (b *batchTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// takeBatches returns the batches recorded so far and forgets them.
func (b *batchTracer) takeBatches() [][]string {
	b.bmu.Lock()
	defer b.bmu.Unlock()
	batches := b.batches
	b.batches = nil
	return batches
}

// TestSeenDeviceCommitsAsynchronously checks that a device record commits
// without waiting for the WAL when it is its own transaction, and only
// then: the setting must not reach the caller's transaction, nor stay on
// the pool's connection for the statements after it (a session or an
// audit row committed asynchronously by mistake).
func TestSeenDeviceCommitsAsynchronously(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := &batchTracer{}
	// One connection, so that the statements after SeenDevice run on the
	// connection it used.
	db, err := postgres.New(ctx, postgres.Config{DSN: pgtest.DSN(t), Tracer: tr, MaxConns: 1})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(db.Close)
	u := newUser(t, db, "device@example.com")
	setting := func(ctx context.Context) string {
		t.Helper()
		var s string
		if err := db.QueryRow(ctx, `SELECT current_setting('synchronous_commit')`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := setting(ctx)
	if before == "off" {
		t.Fatalf("synchronous_commit is %q before any device record", before)
	}
	async := func(batch []string) bool {
		return len(batch) > 0 && strings.Contains(batch[0], "set_config('synchronous_commit', 'off', true)")
	}

	tr.takeBatches()
	now := time.Now()
	if _, _, err := db.SeenDevice(ctx, u.ID, "fp-1", now, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b := tr.takeBatches(); len(b) != 1 || !async(b[0]) {
		t.Errorf("SeenDevice on its own sent batches %q, want one that commits asynchronously", b)
	}
	if got := setting(ctx); got != before {
		t.Errorf("after SeenDevice, the connection's synchronous_commit is %q, want %q", got, before)
	}

	err = db.InTx(ctx, func(ctx context.Context) error {
		if _, _, err := db.SeenDevice(ctx, u.ID, "fp-2", now, now.Add(-time.Hour)); err != nil {
			return err
		}
		if got := setting(ctx); got != before {
			t.Errorf("in the caller's transaction after SeenDevice, synchronous_commit is %q, want %q", got, before)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if b := tr.takeBatches(); len(b) != 1 || async(b[0]) {
		t.Errorf("SeenDevice in a transaction sent batches %q, want one that leaves the commit to the caller", b)
	}
	// Both records were written.
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM sigra_signins WHERE user_id = $1`, u.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("got %d device records, want 2", n)
	}
}

// TestUnloggedRateLimitsMigration upgrades a database at migration 0013
// that holds rate limits: the live windows and those that ended lately
// keep their counts, windows that ended over an hour ago are gone, and the
// table is unlogged.
func TestUnloggedRateLimitsMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, old := schemaBefore(t, "0014")
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, r := range []struct {
		key   string
		count int
		reset time.Time
	}{
		{"live", 3, now.Add(10 * time.Minute)},
		{"ended-lately", 5, now.Add(-10 * time.Minute)},
		{"ended-long-ago", 7, now.Add(-2 * time.Hour)},
	} {
		if _, err := old.Exec(ctx, `INSERT INTO sigra_rate_limits (key, count, reset_at) VALUES ($1, $2, $3)`, r.key, r.count, r.reset); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db := openDSN(t, dsn)
	rows, err := db.Query(ctx, `SELECT key, count FROM sigra_rate_limits ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var key string
		var count int
		err := r.Scan(&key, &count)
		return key + "=" + strconv.Itoa(count), err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ended-lately=5", "live=3"}; !slices.Equal(got, want) {
		t.Errorf("after migration 0014, rate limits %q, want %q", got, want)
	}
	var persistence string
	if err := db.QueryRow(ctx, `SELECT relpersistence FROM pg_class WHERE oid = 'sigra_rate_limits'::regclass`).Scan(&persistence); err != nil {
		t.Fatal(err)
	}
	if persistence != "u" {
		t.Errorf("sigra_rate_limits: persistence %q after migration 0014, want u (unlogged)", persistence)
	}
	res, err := db.Hit(ctx, "live", 10, time.Hour, now)
	if err != nil || res.Count != 4 {
		t.Errorf("Hit on the live window after migration: %+v, %v; want count 4", res, err)
	}
}
