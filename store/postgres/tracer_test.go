package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store/postgres"
)

// recordingTracer records the SQL of every statement a pool sends.
type recordingTracer struct {
	mu   sync.Mutex
	sqls []string
	errs []error
}

func (r *recordingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sqls = append(r.sqls, d.SQL)
	return ctx
}

func (r *recordingTracer) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, d.Err)
}

// take returns the statements and errors recorded so far and forgets them.
func (r *recordingTracer) take() ([]string, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sqls, errs := r.sqls, r.errs
	r.sqls, r.errs = nil, nil
	return sqls, errs
}

// TestTracerSeesEveryStatement checks that Config.Tracer is installed on
// the pool's connections: the session lookup of an authenticated request
// shows up as exactly one statement, the LEFT JOIN of session and user.
func TestTracerSeesEveryStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := &recordingTracer{}
	db, err := postgres.New(ctx, postgres.Config{DSN: pgtest.DSN(t), Tracer: tr})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(db.Close)
	u := newUser(t, db, "tracer@example.com")
	newSession(t, db, u, "tracer-token")
	if sqls, _ := tr.take(); len(sqls) == 0 {
		t.Fatal("migrations, CreateUser and SaveSession: the tracer saw no statement")
	}

	for i := range 3 {
		s, gotUser, err := db.SessionWithUser(ctx, digest("tracer-token"), t0.Add(time.Minute), 30*time.Minute)
		if err != nil || gotUser == nil || gotUser.ID != u.ID || s.UserID != u.ID {
			t.Fatalf("SessionWithUser #%d: got user %v, err %v; want user %s", i, gotUser, err, u.ID)
		}
		sqls, errs := tr.take()
		if len(sqls) != 1 || len(errs) != 1 {
			t.Fatalf("SessionWithUser #%d: got %d statements (%d ended), want 1: %q", i, len(sqls), len(errs), sqls)
		}
		if !strings.Contains(sqls[0], "sigra_sessions") || !strings.Contains(sqls[0], "sigra_users") {
			t.Errorf("SessionWithUser #%d: got statement %q, want the join of sigra_sessions and sigra_users", i, sqls[0])
		}
		if errs[0] != nil {
			t.Errorf("SessionWithUser #%d: tracer saw error %v, want nil", i, errs[0])
		}
	}
}
