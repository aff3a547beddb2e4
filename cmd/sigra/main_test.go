package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
)

// binary is the built command, run as an operator runs it.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sigra-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "sigra")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the binary with args, without SIGRA_DATABASE unless env sets
// it.
func runCLI(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run sigra %q: %v", args, err)
	}
	return r
}

func (r result) want(t *testing.T, what string, code int, stdout ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: got exit %d, want %d\nstdout: %s\nstderr: %s", what, r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Fatalf("%s: stdout %q does not contain %q", what, r.stdout, s)
		}
	}
	if code != exitOK && !strings.HasPrefix(r.stderr, "sigra: ") && !strings.Contains(r.stderr, "\nsigra: ") {
		t.Errorf("%s: stderr %q, want a \"sigra: \" message", what, r.stderr)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "app.db")
	for _, tc := range []struct {
		name string
		args []string
		in   string // in stderr
	}{
		{"no command", nil, "no command"},
		{"unknown command", []string{"-db", db, "frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"-nope", "migrate", "up"}, "flag provided but not defined"},
		{"migrate without a step", []string{"-db", db, "migrate"}, "migrate takes up or status"},
		{"users without an address", []string{"-db", db, "users", "disable"}, "takes one argument"},
		{"users with two addresses", []string{"-db", db, "users", "unlock", "a@example.com", "b@example.com"}, "takes one argument"},
		{"unknown users command", []string{"-db", db, "users", "delete", "a@example.com"}, `unknown users command "delete"`},
		{"no database", []string{"migrate", "status"}, "no database"},
		{"outbox without status", []string{"-db", db, "outbox"}, "outbox takes status"},
		{"keys without reseal", []string{"-db", db, "keys"}, "keys takes reseal"},
		{"keys reseal without keys", []string{"-db", db, "keys", "reseal"}, "needs the application's keys"},
		{"keys reseal with bad keys", []string{"-db", db, "keys", "reseal", "-keys", "nope"}, "-keys"},
		{"calibrate below the memory floor", []string{"hash", "calibrate", "-memory", "4KiB"}, "at least 8 KiB"},
		{"calibrate with a bad size", []string{"hash", "calibrate", "-memory", "lots"}, "is not a size"},
		{"calibrate with a pool smaller than a hash", []string{"hash", "calibrate", "-memory", "64MiB", "-max-memory", "32MiB"}, "less than one hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, tc.args...)
			r.want(t, tc.name, exitUsage)
			if !strings.Contains(r.stderr, tc.in) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.in)
			}
		})
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command created the database file (%v)", err)
	}
}

func TestNotASigraDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a database at all\n"), 300), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		in   string
	}{
		{"missing file", []string{"-db", filepath.Join(dir, "missing.db"), "migrate", "status"}, "no such file"},
		{"not SQLite", []string{"-db", garbage, "migrate", "status"}, "not a database"},
		{"not SQLite, migrate up", []string{"-db", garbage, "migrate", "up"}, "not a database"},
		{"no Sigra schema", []string{"-db", empty, "users", "disable", "a@example.com"}, "no Sigra schema"},
		{"unreachable PostgreSQL", []string{"-db", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", "outbox", "status"}, "PostgreSQL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, tc.args...)
			r.want(t, tc.name, exitDatabase)
			if !strings.Contains(r.stderr, tc.in) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.in)
			}
		})
	}
	if b, err := os.ReadFile(garbage); err != nil || !bytes.HasPrefix(b, []byte("not a database")) {
		t.Error("migrate up changed a file that is not a database")
	}
}

// backend is a database the commands run against, and the store the test
// checks their effects through.
type backend struct {
	target string
	st     interface {
		store.Users
		store.Sessions
		store.Limiter
		store.Outbox
		store.AuditLog
	}
}

func sqliteBackend(t *testing.T) backend {
	return backend{target: filepath.Join(t.TempDir(), "app.db")}
}

func postgresBackend(t *testing.T) backend {
	return backend{target: pgtest.DSN(t)}
}

// open opens the backend's database (migrated by the command under test).
func (b *backend) open(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if isPostgres(b.target) {
		db, err := postgres.New(ctx, postgres.Config{DSN: b.target, SkipMigrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		b.st = db
		return
	}
	db, err := sqlite.New(ctx, sqlite.Config{Path: b.target, SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b.st = db
}

func TestCommands(t *testing.T) {
	t.Parallel()
	for name, mk := range map[string]func(*testing.T) backend{"sqlite": sqliteBackend, "postgres": postgresBackend} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			env := []string{EnvDatabase + "=" + b.target}
			commands(t, b, env)
		})
	}
}

func commands(t *testing.T, b backend, env []string) {
	ctx := context.Background()

	// The schema: created, then up to date; the status lists every
	// migration as applied, in text and JSON.
	runCLI(t, env, "migrate", "up").want(t, "migrate up", exitOK, "applied 0001_init")
	runCLI(t, env, "migrate", "up").want(t, "migrate up again", exitOK, "nothing to apply")
	runCLI(t, env, "migrate", "status").want(t, "migrate status", exitOK, "0001_init", "applied")
	r := runCLI(t, env, "-json", "migrate", "status")
	r.want(t, "migrate status -json", exitOK)
	var status struct{ Migrations []migrationJSON }
	if err := json.Unmarshal([]byte(r.stdout), &status); err != nil || len(status.Migrations) == 0 {
		t.Fatalf("migrate status -json: %v: %s", err, r.stdout)
	}
	for _, m := range status.Migrations {
		if !m.Applied || m.AppliedAt == nil || m.Unknown {
			t.Errorf("migration %d %s: got %+v, want applied", m.Version, m.Name, m)
		}
	}

	b.open(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := &store.User{Email: "user@example.com", PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5", CreatedAt: now}
	if err := b.st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	session := func(d string) {
		s := &store.Session{Digest: []byte(d), Data: []byte("x"), UserID: u.ID, State: store.SessionAuthenticated, AAL: 1,
			Methods: []string{"password"}, AuthTime: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := b.st.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	live := func() int {
		ss, err := b.st.UserSessions(ctx, u.ID, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return len(ss)
	}
	audits := func(action string) []*store.AuditEvent {
		evs, _, err := b.st.QueryAudit(ctx, store.AuditQuery{Action: action, UserID: u.ID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.ActorID != "" || e.SubjectID != u.ID || e.Metadata["via"] != "cli" {
				t.Errorf("audit %s: got actor %q subject %q metadata %v, want no actor, the user, via cli", action, e.ActorID, e.SubjectID, e.Metadata)
			}
		}
		return evs
	}

	// revoke-sessions
	session("digest-one-0123456789abcdef012345")
	session("digest-two-0123456789abcdef012345")
	r = runCLI(t, env, "-json", "users", "revoke-sessions", "USER@example.com")
	r.want(t, "revoke-sessions", exitOK)
	var res map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res["revoked"] != float64(2) {
		t.Fatalf("revoke-sessions -json: got %s (%v), want revoked 2", r.stdout, err)
	}
	if n := live(); n != 0 {
		t.Fatalf("after revoke-sessions: %d live sessions, want 0", n)
	}
	if n := len(audits(audit.ActionSessionRevokeAll)); n != 1 {
		t.Errorf("revoke-sessions: got %d audit rows, want 1", n)
	}

	// disable revokes the sessions too; enable undoes it; both say when
	// there was nothing to do.
	session("digest-three-456789abcdef01234567")
	runCLI(t, env, "users", "disable", "user@example.com").want(t, "disable", exitOK, "disabled user@example.com")
	if got, _ := b.st.UserByID(ctx, u.ID); got.DisabledAt.IsZero() {
		t.Fatal("disable: the user is not disabled")
	}
	if n := live(); n != 0 {
		t.Fatalf("after disable: %d live sessions, want 0", n)
	}
	runCLI(t, env, "users", "disable", "user@example.com").want(t, "disable again", exitOK, "already disabled")
	runCLI(t, env, "users", "enable", "user@example.com").want(t, "enable", exitOK, "enabled user@example.com")
	if got, _ := b.st.UserByID(ctx, u.ID); !got.DisabledAt.IsZero() {
		t.Fatal("enable: the user is still disabled")
	}
	runCLI(t, env, "users", "enable", "user@example.com").want(t, "enable again", exitOK, "was not disabled")
	if d, e := len(audits(audit.ActionUserDisable)), len(audits(audit.ActionUserEnable)); d != 1 || e != 1 {
		t.Errorf("audit: got %d disable and %d enable rows, want 1 each", d, e)
	}

	// unlock clears the locks and the attempt places of both factors.
	if _, err := b.st.RecordFailure(ctx, u.ID, store.LockPassword, 1, time.Hour, now); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.RecordFailure(ctx, u.ID, store.LockMFA, 1, time.Hour, now); err != nil {
		t.Fatal(err)
	}
	keys := append([]string{kernel.PasswordKey(u.Email)}, mfa.LimiterKeys(u.ID)...)
	for _, k := range keys {
		for range 3 {
			if _, err := b.st.Hit(ctx, k, 3, time.Hour, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	runCLI(t, env, "users", "unlock", "user@example.com").want(t, "unlock", exitOK, "cleared")
	got, err := b.st.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LockedUntil.IsZero() || !got.MFALockedUntil.IsZero() {
		t.Errorf("after unlock: locked until %v, second factor until %v; want neither", got.LockedUntil, got.MFALockedUntil)
	}
	for _, k := range keys {
		res, err := b.st.Hit(ctx, k, 3, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res.Count != 1 {
			t.Errorf("after unlock: %s has %d places taken, want the fresh one only", k, res.Count)
		}
	}
	if n := len(audits(audit.ActionUnlock)); n != 1 {
		t.Errorf("unlock: got %d audit rows, want 1", n)
	}

	// An unknown address changes nothing and exits 4.
	runCLI(t, env, "users", "disable", "nobody@example.com").want(t, "unknown address", exitNotFound)

	// outbox status counts what is queued.
	for range 2 {
		if err := b.st.Enqueue(ctx, &store.Message{To: "user@example.com", Sealed: []byte("sealed")}); err != nil {
			t.Fatal(err)
		}
	}
	runCLI(t, env, "outbox", "status").want(t, "outbox status", exitOK, "2 emails queued")
	r = runCLI(t, env, "-json", "outbox", "status")
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res["pending"] != float64(2) {
		t.Fatalf("outbox status -json: got %s (%v)", r.stdout, err)
	}

	// outbox retry makes an email waiting for a later attempt due now, and
	// leaves one due within the lease to the workers.
	waiting := &store.Message{To: "user@example.com", Sealed: []byte("sealed"), NextAttemptAt: time.Now().Add(time.Hour)}
	if err := b.st.Enqueue(ctx, waiting); err != nil {
		t.Fatal(err)
	}
	runCLI(t, env, "outbox", "retry").want(t, "outbox retry", exitOK, "1 queued emails made due now")
	r = runCLI(t, env, "-json", "outbox", "retry")
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res["retried"] != float64(0) {
		t.Fatalf("outbox retry -json, again: got %s (%v)", r.stdout, err)
	}
	runCLI(t, env, "outbox", "retry", "-lease", "0s").want(t, "outbox retry -lease 0", exitUsage)
}

func TestHashCalibrate(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "-json", "hash", "calibrate", "-target", "5ms", "-memory", "8MiB", "-max-memory", "64MiB")
	r.want(t, "hash calibrate", exitOK)
	var c struct {
		MemoryKiB uint32 `json:"memory_kib"`
		Time      uint32
		Threads   uint8
		PoolSize  int `json:"pool_size"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	// The floor of password.New (memory × time ≥ 35840 KiB) holds even
	// when the target is met sooner; the pool fits the memory allowed.
	if c.MemoryKiB != 8192 || uint64(c.MemoryKiB)*uint64(c.Time) < 35840 || c.Threads != 1 || c.PoolSize < 1 || c.PoolSize > 8 {
		t.Fatalf("got %+v, want 8 MiB, time at least 5, one thread, a pool of 1 to 8", c)
	}
}
