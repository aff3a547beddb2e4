package middleware_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
)

// unavailableLimiter is a real store whose limiter cannot answer, and the
// way to make it answer again.
type unavailableLimiter struct {
	name    string
	limiter middleware.Limiter
	restore func()
}

// lockedSQLite is a SQLite store whose file another connection holds the
// write lock of, as another process would.
func lockedSQLite(t *testing.T) unavailableLimiter {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := sqlite.New(ctx, sqlite.Config{Path: path, BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	lock, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return unavailableLimiter{"sqlite", db, func() {
		if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
	}}
}

// fullPostgres is a PostgreSQL store whose only connection is held.
func fullPostgres(t *testing.T) unavailableLimiter {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	var db *postgres.DB
	var err error
	for range 50 { // with a short AcquireTimeout, the first connection may take longer to open
		if db, err = postgres.New(ctx, postgres.Config{DSN: dsn, MaxConns: 1, AcquireTimeout: 250 * time.Millisecond}); !errors.Is(err, store.ErrUnavailable) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	held, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(held.Release) // before the pool closes (releasing twice is harmless)
	return unavailableLimiter{"postgres", db, held.Release}
}

// TestLimiterStoreUnavailable runs a rule over a store that cannot answer
// (SQLite locked by another process, a full PostgreSQL pool): requests
// get 503 with Retry-After, as JSON and HTML, and do not reach the
// handler; Check's error wraps ErrLimiterUnavailable, store.ErrUnavailable
// and sigra.ErrBusy. Once the store answers again, requests pass.
func TestLimiterStoreUnavailable(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(t *testing.T) unavailableLimiter{"sqlite": lockedSQLite, "postgres": fullPostgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			u := open(t)
			rl, err := middleware.NewRateLimiter(newSite(t, nil, nil), middleware.RateLimiterConfig{Limiter: u.limiter})
			if err != nil {
				t.Fatal(err)
			}
			reached := 0
			h := rl.Limit(middleware.Rule{Name: "x", Limit: middleware.Limit{N: 5, Window: time.Minute}})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached++ }))
			for _, asJSON := range []bool{false, true} {
				r := httptest.NewRequest("POST", "/login", nil)
				if asJSON {
					r.Header.Set("Accept", "application/json")
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				what := fmt.Sprintf("%s, JSON %v", u.name, asJSON)
				if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
					t.Fatalf("%s: got %d with Retry-After %q, want 503 with Retry-After", what, rec.Code, rec.Header().Get("Retry-After"))
				}
				if asJSON {
					var body struct{ Error struct{ Code string } }
					if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "busy" {
						t.Errorf("%s: body got %s, want the code busy", what, rec.Body)
					}
				}
			}
			if reached != 0 {
				t.Errorf("%s: the handler ran %d times, want none", u.name, reached)
			}
			err = rl.Check(context.Background(), "k", middleware.Limit{N: 5, Window: time.Minute})
			for _, target := range []error{middleware.ErrLimiterUnavailable, store.ErrUnavailable, sigra.ErrBusy} {
				if !errors.Is(err, target) {
					t.Errorf("%s: Check got %v, want it to wrap %v", u.name, err, target)
				}
			}

			u.restore()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
			if rec.Code != http.StatusOK || reached != 1 {
				t.Fatalf("%s, store back: got %d, handler ran %d times; want 200 and once", u.name, rec.Code, reached)
			}
		})
	}
}

// TestLimiterClientGone checks that a request whose client went away is
// neither let through (not even failing open) nor answered with an error:
// it gets the status 499 alone, and nothing is logged.
func TestLimiterClientGone(t *testing.T) {
	t.Parallel()
	for _, failOpen := range []bool{false, true} {
		log := &logRecorder{}
		rl, err := middleware.NewRateLimiter(newSite(t, nil, log), middleware.RateLimiterConfig{Limiter: openSQLite(t), FailOpen: failOpen})
		if err != nil {
			t.Fatal(err)
		}
		reached := false
		h := rl.Limit(middleware.Rule{Name: "x", Limit: middleware.Limit{N: 5, Window: time.Minute}})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil).WithContext(ctx))
		if rec.Code != 499 || rec.Body.Len() != 0 || reached {
			t.Errorf("FailOpen %v: got %d %q (handler ran: %v), want 499, nothing, and no handler", failOpen, rec.Code, rec.Body, reached)
		}
		if err := rl.Check(ctx, "k", middleware.Limit{N: 5, Window: time.Minute}); !errors.Is(err, context.Canceled) {
			t.Errorf("FailOpen %v: Check got %v, want context.Canceled", failOpen, err)
		}
		if got := log.records(); len(got) != 0 {
			t.Errorf("FailOpen %v: log got %d records, want none", failOpen, len(got))
		}
	}
}
