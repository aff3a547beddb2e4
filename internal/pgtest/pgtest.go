// Package pgtest gives tests and benchmarks a private PostgreSQL schema.
//
// [DSN] reads the server's DSN from the SIGRA_TEST_POSTGRES environment
// variable, skips the test when it is unset, and otherwise creates a
// schema with a random name, returns a DSN whose search_path selects it,
// and drops the schema when the test ends. Tests running in parallel, in
// one process or several, never share tables.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the environment variable holding the test server's DSN.
const EnvVar = "SIGRA_TEST_POSTGRES"

// SkipMessage is the reason given when EnvVar is unset.
const SkipMessage = EnvVar + " is not set: skipping PostgreSQL tests (set it to a DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)"

// DSN returns a DSN for a fresh, empty schema named sigra_test_ and 16
// random hex digits, on the server named by SIGRA_TEST_POSTGRES, with
// search_path set to that schema; the schema is dropped with CASCADE in
// t.Cleanup, after the cleanups the test registers later (such as closing
// its pools). It skips t when the variable is unset, and fails t when the
// server cannot be reached: a DSN that is set must work. The server's DSN
// may be in URL or keyword/value form.
func DSN(t testing.TB) string {
	t.Helper()
	base := BaseDSN(t)
	schema := "sigra_test_" + randomHex(t, 8)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec(ctx, t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		exec(ctx, t, base, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	})
	return WithSearchPath(base, schema)
}

// BaseDSN returns the value of SIGRA_TEST_POSTGRES, or skips t when it is
// unset.
func BaseDSN(t testing.TB) string {
	t.Helper()
	base := strings.TrimSpace(os.Getenv(EnvVar))
	if base == "" {
		t.Skip(SkipMessage)
	}
	return base
}

// WithSearchPath returns dsn with its search_path runtime parameter set to
// schema, replacing any search_path it had. schema must be a plain
// identifier. Both DSN forms are handled: URL (postgres:// or
// postgresql://) and keyword/value.
func WithSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	// In keyword/value form a later setting wins.
	return dsn + " search_path=" + schema
}

func exec(ctx context.Context, t testing.TB, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvVar, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("pgtest: random schema name: %v", err)
	}
	return hex.EncodeToString(b)
}
