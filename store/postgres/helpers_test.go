package postgres_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
)

// openDB opens a migrated DB on a fresh schema, closed when t ends.
func openDB(t testing.TB) *postgres.DB {
	t.Helper()
	return openDSN(t, pgtest.DSN(t))
}

// openDSN opens a migrated DB on dsn, closed when t ends.
func openDSN(t testing.TB, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// t0 is the tests' clock: a fixed instant with microseconds, in a zone
// other than UTC, so that tests see both precision and zone handling.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.FixedZone("X", 5*3600))

// digest returns the SHA-256 digest of s, as the library stores secrets.
func digest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// newUser creates a user with email.
func newUser(t testing.TB, db store.Users, email string) *store.User {
	t.Helper()
	u := &store.User{Email: email, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: t0}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

// newSession saves an authenticated session of u with token tok.
func newSession(t testing.TB, db store.Sessions, u *store.User, tok string) *store.Session {
	t.Helper()
	s := &store.Session{
		Digest:     digest(tok),
		Data:       []byte("scs-blob"),
		UserID:     u.ID,
		State:      store.SessionAuthenticated,
		AAL:        1,
		Methods:    []string{"password"},
		AuthTime:   t0,
		CreatedAt:  t0,
		LastSeenAt: t0,
		ExpiresAt:  t0.Add(24 * time.Hour),
		IP:         "192.0.2.1",
		UserAgent:  "test",
	}
	if err := db.SaveSession(context.Background(), s); err != nil {
		t.Fatalf("SaveSession: %v", err)
	}
	return s
}

// schemaBefore returns the DSN of a fresh schema with the migrations
// whose files sort before version applied and recorded as Migrate records
// them, and a one-connection DB on it that does not migrate, for the
// caller to fill. The DB is closed when t ends; the caller may close it
// sooner.
func schemaBefore(t *testing.T, version string) (string, *postgres.DB) {
	t.Helper()
	dsn := pgtest.DSN(t)
	db, err := postgres.New(context.Background(), postgres.Config{DSN: dsn, SkipMigrate: true, MaxConns: 1})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(db.Close) // closing twice is harmless
	if _, err := db.Pool().Exec(context.Background(), `CREATE TABLE sigra_schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatalf("schema before %s: %v", version, err)
	}
	applyMigrationFiles(t, db, func(file string) bool { return file < version })
	return dsn, db
}

// applyMigrationFiles runs, in order, the embedded migration files for
// which apply reports true, each as SQL on db's pool, and records each in
// sigra_schema_migrations as Migrate records it.
func applyMigrationFiles(t *testing.T, db *postgres.DB, apply func(file string) bool) {
	t.Helper()
	ctx := context.Background()
	files, err := fs.Glob(postgres.Migrations(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !apply(f) {
			continue
		}
		body, err := fs.ReadFile(postgres.Migrations(), f)
		if err != nil {
			t.Fatal(err)
		}
		digits, name, _ := strings.Cut(strings.TrimSuffix(f, ".sql"), "_")
		if _, err := db.Pool().Exec(ctx, string(body)); err != nil {
			t.Fatalf("apply %s: %v", f, err)
		}
		if _, err := db.Pool().Exec(ctx, fmt.Sprintf(`INSERT INTO sigra_schema_migrations (version, name) VALUES (%s, '%s')`, digits, name)); err != nil {
			t.Fatalf("record %s: %v", f, err)
		}
	}
}
