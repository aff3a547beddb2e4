package pgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/internal/pgtest"
)

func TestWithSearchPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dsn, want string
	}{
		{"postgres://u@127.0.0.1:5432/test?sslmode=disable", "postgres://u@127.0.0.1:5432/test?search_path=s1&sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/db?search_path=s1"},
		{"postgres://u@h/db?search_path=other", "postgres://u@h/db?search_path=s1"},
		{"host=127.0.0.1 user=u dbname=test", "host=127.0.0.1 user=u dbname=test search_path=s1"},
	}
	for _, tt := range tests {
		if got := pgtest.WithSearchPath(tt.dsn, "s1"); got != tt.want {
			t.Errorf("WithSearchPath(%q): got %q, want %q", tt.dsn, got, tt.want)
		}
	}
}

// TestDSN checks that each DSN selects a schema of its own, that pgx
// applies it, and that the schema is gone once the test that made it ends.
func TestDSN(t *testing.T) {
	t.Parallel()
	base := pgtest.BaseDSN(t) // skips when unset
	ctx := context.Background()
	var schemas []string
	for i := range 2 {
		t.Run("sub", func(t *testing.T) {
			dsn := pgtest.DSN(t)
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			var schema string
			if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(schema, "sigra_test_") || len(schema) != len("sigra_test_")+16 {
				t.Fatalf("current_schema %d: got %q, want sigra_test_ and 16 hex digits", i, schema)
			}
			if _, err := conn.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
				t.Fatalf("CREATE TABLE in the schema: %v", err)
			}
			schemas = append(schemas, schema)
		})
	}
	if len(schemas) != 2 || schemas[0] == schemas[1] {
		t.Fatalf("schemas: got %v, want two distinct", schemas)
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = ANY ($1)", schemas).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("schemas left after their tests ended: got %d, want 0", left)
	}
}
