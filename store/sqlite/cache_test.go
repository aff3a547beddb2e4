package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// fromCache looks digest up with every lookup connection of db taken, so
// that only the session cache can answer: hit is false when the lookup
// needed the database (it then fails when its short deadline passes).
func fromCache(t testing.TB, db *DB, digest []byte, now time.Time, idle time.Duration) (s *store.Session, u *store.User, err error, hit bool) {
	t.Helper()
	var held []*lookupConn
	for range cap(db.lookup.conns) {
		c, err := db.lookup.get(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	defer func() {
		for _, c := range held {
			db.lookup.put(c)
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	s, u, err = db.SessionWithUser(ctx, digest, now, idle)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, nil, nil, false
	}
	return s, u, err, true
}

// openCached opens a DB on path, a migrated database (see migratedFile)
// unless the file exists, with the session cache on, failing t if the
// cache could not start.
func openCached(t testing.TB, path string, cfg Config) *DB {
	t.Helper()
	migratedFile(t, path)
	cfg.Path = path
	db, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if db.cache == nil && cfg.CacheSessions >= 0 {
		t.Fatal("the session cache did not start")
	}
	return db
}

// TestCacheAnswersBetweenCommits checks that a second lookup of a session
// is answered from the cache with the very records the first lookup
// returned (they are read-only to callers: no copy is made), without an
// allocation, and that their methods have no spare capacity, so a caller
// that appends to them gets a slice of its own.
// Not parallel: it counts allocations.
func TestCacheAnswersBetweenCommits(t *testing.T) {
	db := openCached(t, filepath.Join(t.TempDir(), "sigra.db"), Config{})
	for i, methods := range [][]string{{"password", "totp"}, {"password", "totp", "passkey"}} {
		cachedShared(t, db, fmt.Sprint("cached", i), methods)
	}
}

func cachedShared(t *testing.T, db *DB, tag string, methods []string) {
	now := time.Now()
	_, s := lookupSession(t, db, tag, methods, now)
	_, _, _, hit := fromCache(t, db, s.Digest, now, time.Hour)
	if hit {
		t.Fatal("first lookup: answered without the database, want a query")
	}
	ws, wu, err := db.SessionWithUser(t.Context(), s.Digest, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	gs, gu, err, hit := fromCache(t, db, s.Digest, now, time.Hour)
	if !hit || err != nil {
		t.Fatalf("second lookup: hit %v, err %v; want an answer from the cache", hit, err)
	}
	if gs != ws || gu != wu {
		t.Fatalf("from the cache: records %p %p, want those the lookup returned, %p %p", gs, gu, ws, wu)
	}
	if !slices.Equal(gs.Methods, methods) || cap(gs.Methods) != len(gs.Methods) {
		t.Fatalf("methods %q with capacity %d, want %q with no spare capacity", gs.Methods, cap(gs.Methods), methods)
	}
	if !bytes.Equal(gs.Digest, s.Digest) || gu.ID != s.UserID {
		t.Fatalf("cached records: digest %x, user %q; want %x, %q", gs.Digest, gu.ID, s.Digest, s.UserID)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if got, _, err := db.SessionWithUser(t.Context(), s.Digest, now, time.Hour); err != nil || got != ws {
			t.Fatalf("lookup: %p, %v; want the cached records", got, err)
		}
	})
	if allocs != 0 {
		t.Errorf("a lookup answered by the cache: %v allocations, want none", allocs)
	}
}

// TestCacheMatchesQuery checks, around the expiry and the idle cut-off,
// that a cached row is live exactly when the lookup query finds it.
func TestCacheMatchesQuery(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sigra.db")
	db := openCached(t, path, Config{})
	plain := openCached(t, path, Config{CacheSessions: -1})
	if plain.cache != nil {
		t.Fatal("CacheSessions -1: the cache is on")
	}
	now := time.Now().Truncate(time.Millisecond)
	_, s := lookupSession(t, db, "edges", []string{"password"}, now)
	if _, _, err := db.SessionWithUser(t.Context(), s.Digest, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	expires, seen := s.ExpiresAt, s.LastSeenAt
	for _, c := range []struct {
		at   time.Time
		idle time.Duration
	}{
		{now, 0}, {now, time.Hour}, {now, time.Millisecond},
		{expires.Add(-time.Millisecond), 0}, {expires, 0}, {expires.Add(time.Microsecond), 0}, {expires.Add(time.Millisecond), 0},
		{seen.Add(10 * time.Minute).Add(-time.Millisecond), 10 * time.Minute},
		{seen.Add(10 * time.Minute), 10 * time.Minute},
		{seen.Add(10 * time.Minute).Add(999 * time.Microsecond), 10 * time.Minute},
		{seen.Add(10 * time.Minute).Add(time.Millisecond), 10 * time.Minute},
		{now.Add(-time.Hour), time.Minute},
	} {
		_, _, want := plain.SessionWithUser(t.Context(), s.Digest, c.at, c.idle)
		_, _, got, hit := fromCache(t, db, s.Digest, c.at, c.idle)
		if !hit {
			t.Fatalf("at %v idle %v: not answered from the cache", c.at.Sub(now), c.idle)
		}
		if (got == nil) != (want == nil) || (want != nil && !errors.Is(got, store.ErrNotFound)) {
			t.Errorf("at %v idle %v: cache %v, query %v", c.at.Sub(now), c.idle, got, want)
		}
	}
}

// TestCacheSeesEveryCommit checks that a cached row is not used once
// anything is committed to the file, whoever commits it: this DB, another
// DB on the file, a plain SQLite connection, or a checkpoint that restarts
// the WAL followed by a write (the WAL starts again from its first frame,
// with new salts).
func TestCacheSeesEveryCommit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sigra.db")
	db := openCached(t, path, Config{})
	other := openCached(t, path, Config{})
	plain, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	ctx := t.Context()
	now := time.Now()

	for _, c := range []struct {
		name   string
		revoke func(s *store.Session) error
	}{
		{"this DB", func(s *store.Session) error { return db.RevokeSession(ctx, s.Digest, now) }},
		{"another DB", func(s *store.Session) error { return other.RevokeSession(ctx, s.Digest, now) }},
		{"a plain connection", func(s *store.Session) error {
			_, err := plain.ExecContext(ctx, `UPDATE sigra_sessions SET revoked_at = ? WHERE digest = ?`, now.UnixMilli(), s.Digest)
			return err
		}},
		{"a restarted WAL", func(s *store.Session) error {
			if _, err := plain.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				return err
			}
			_, err := plain.ExecContext(ctx, `UPDATE sigra_sessions SET revoked_at = ? WHERE digest = ?`, now.UnixMilli(), s.Digest)
			return err
		}},
	} {
		_, s := lookupSession(t, db, "revoked by "+c.name, []string{"password"}, now)
		if _, _, err := db.SessionWithUser(ctx, s.Digest, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, _, err, hit := fromCache(t, db, s.Digest, now, time.Hour); !hit || err != nil {
			t.Fatalf("%s: before the revocation: hit %v, %v; want the cached row", c.name, hit, err)
		}
		if err := c.revoke(s); err != nil {
			t.Fatal(err)
		}
		if _, _, err, hit := fromCache(t, db, s.Digest, now, time.Hour); hit {
			t.Fatalf("%s: after the revocation: answered from the cache (%v)", c.name, err)
		}
		if _, _, err := db.SessionWithUser(ctx, s.Digest, now, time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: after the revocation: got %v, want ErrNotFound", c.name, err)
		}
	}
}

// TestCacheRevocationRace races lookups of a cached session against its
// revocation: no lookup that begins after RevokeSession has returned may
// find the session, whether the revocation went through this DB or another
// on the file.
//
// The race it looks for: a lookup whose query reads the session before the
// revocation commits, and which caches the row with a version of the file
// read after the commit (the version must be read before the query), leaves
// a revoked session in the cache for good. So in each round, four
// goroutines look the session up without pause while unrelated commits make
// the cached row stale (each lookup then runs the query again), and the
// revocation commits right after the last of them, while queries are under
// way; nothing is committed after it, so a row cached at the wrong version
// would stay, and a last lookup, once the goroutines are done, would find
// it. The session carries 64 KB of data, so each query reads for long
// enough for the revocation to commit in the middle of one: a build that
// reads the version after the query fails in most rounds, with or without
// the race detector.
func TestCacheRevocationRace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sigra.db")
	db := openCached(t, path, Config{ReadConns: 2})
	other := openCached(t, path, Config{})
	ctx := t.Context()
	now := time.Now()
	_, busy := lookupSession(t, db, "race-busy", []string{"password"}, now)
	data := bytes.Repeat([]byte{'d'}, 64<<10)
	for round := range 10 {
		revoker := db
		if round%2 == 1 {
			revoker = other
		}
		_, s := lookupSession(t, db, fmt.Sprint("race", round), []string{"password"}, now)
		s.Data = data
		if err := db.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.SessionWithUser(ctx, s.Digest, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		const lookups = 4
		var revoked atomic.Bool
		var wg sync.WaitGroup
		errs := make(chan error, lookups)
		started := make(chan struct{}, lookups)
		for range lookups {
			wg.Go(func() {
				started <- struct{}{}
				for {
					after := revoked.Load()
					_, _, err := db.SessionWithUser(ctx, s.Digest, now, time.Hour)
					switch {
					case after && err == nil:
						errs <- errors.New("a lookup begun after the revocation found the session")
						return
					case err != nil && !errors.Is(err, store.ErrNotFound):
						errs <- err
						return
					case after:
						return
					}
				}
			})
		}
		for range lookups {
			<-started
		}
		// Unrelated commits, the last one just before the revocation.
		for range 3 {
			if err := other.TouchSession(ctx, busy.Digest, time.Now(), "192.0.2.1", "agent"); err != nil {
				t.Fatal(err)
			}
		}
		if err := revoker.RevokeSession(ctx, s.Digest, now); err != nil {
			t.Fatal(err)
		}
		revoked.Store(true)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, _, err := db.SessionWithUser(ctx, s.Digest, now, time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("round %d: a lookup after the others: got %v, want ErrNotFound", round, err)
		}
	}
}

// TestCacheBounded checks that the cache holds at most about
// CacheSessions rows, and that rows pushed out are read again.
func TestCacheBounded(t *testing.T) {
	t.Parallel()
	db := openCached(t, filepath.Join(t.TempDir(), "sigra.db"), Config{CacheSessions: 64})
	now := time.Now()
	var digests [][]byte
	for i := range 300 {
		_, s := lookupSession(t, db, fmt.Sprint("bounded", i), []string{"password"}, now)
		digests = append(digests, s.Digest)
	}
	for range 2 {
		for _, d := range digests {
			if _, _, err := db.SessionWithUser(t.Context(), d, now, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
	}
	n := 0
	for i := range db.cache.shards {
		sh := &db.cache.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		if len(sh.m) > db.cache.perShard {
			t.Errorf("shard %d holds %d rows, want at most %d", i, len(sh.m), db.cache.perShard)
		}
		sh.mu.RUnlock()
	}
	if n == 0 || n > 64 {
		t.Errorf("the cache holds %d rows, want 1 to 64", n)
	}
	if _, err := New(t.Context(), Config{Path: db.Path(), CacheSessions: 1 << 25}); err == nil {
		t.Error("CacheSessions 1<<25: got no error")
	}
}

// childEnv asks TestCacheChildProcess to change the database, as another
// process: "revoke PATH DIGEST-HEX", "disable PATH USER-ID" (both through
// New, as the sigra command does) or "sql PATH STATEMENT" (a plain SQLite
// connection).
const childEnv = "SIGRA_SQLITE_TEST_CHILD"

// TestCacheChildProcess is not a test of its own: in the child process
// that TestCacheSeesOtherProcesses starts, it makes the change childEnv
// names and exits.
func TestCacheChildProcess(t *testing.T) {
	args := os.Getenv(childEnv)
	if args == "" {
		return
	}
	var verb, path, arg string
	for i, part := range splitN(args, 3) {
		*[]*string{&verb, &path, &arg}[i] = part
	}
	ctx := context.Background()
	switch verb {
	case "revoke", "disable":
		db, err := New(ctx, Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if verb == "revoke" {
			var d []byte
			if d, err = hex.DecodeString(arg); err != nil {
				t.Fatal(err)
			}
			err = db.RevokeSession(ctx, d, time.Now())
		} else {
			err = db.SetDisabled(ctx, arg, time.Now(), time.Now())
		}
		if err != nil {
			t.Fatal(err)
		}
	case "sql":
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, arg); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("%s=%q: unknown verb", childEnv, args)
	}
}

// splitN splits s at its first n-1 spaces.
func splitN(s string, n int) []string {
	var parts []string
	for len(parts) < n-1 {
		i := 0
		for i < len(s) && s[i] != ' ' {
			i++
		}
		if i == len(s) {
			break
		}
		parts, s = append(parts, s[:i]), s[i+1:]
	}
	return append(parts, s)
}

// TestCacheSeesOtherProcesses revokes a cached session, disables a cached
// session's user and ends a session with plain SQL, each from another
// process on the file: the very next lookup of this process sees it.
func TestCacheSeesOtherProcesses(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sigra.db")
	db := openCached(t, path, Config{})
	ctx := t.Context()
	now := time.Now()
	child := func(args string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, exe, "-test.run=^TestCacheChildProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+args)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child %q: %v\n%s", args, err, out)
		}
	}
	cached := func(what string, s *store.Session) {
		t.Helper()
		if _, _, err := db.SessionWithUser(ctx, s.Digest, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, _, err, hit := fromCache(t, db, s.Digest, now, time.Hour); !hit || err != nil {
			t.Fatalf("%s: before the change: hit %v, %v; want the cached row", what, hit, err)
		}
	}

	_, s := lookupSession(t, db, "revoked-elsewhere", []string{"password"}, now)
	cached("revoke", s)
	child("revoke " + path + " " + hex.EncodeToString(s.Digest))
	if _, _, err := db.SessionWithUser(ctx, s.Digest, now, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after another process revoked the session: got %v, want ErrNotFound", err)
	}

	u, s := lookupSession(t, db, "disabled-elsewhere", []string{"password"}, now)
	cached("disable", s)
	child("disable " + path + " " + u.ID)
	// Disabling ends the user's sessions; a store that kept them would
	// still have to show the user disabled.
	if _, gu, err := db.SessionWithUser(ctx, s.Digest, now, time.Hour); !errors.Is(err, store.ErrNotFound) && (err != nil || gu == nil || gu.DisabledAt.IsZero()) {
		t.Errorf("after another process disabled the user: got (%+v, %v), want ErrNotFound or the user disabled", gu, err)
	}

	_, s = lookupSession(t, db, "sql-elsewhere", []string{"password"}, now)
	cached("sql", s)
	child("sql " + path + " UPDATE sigra_sessions SET expires_at = 0 WHERE id = '" + s.ID + "'")
	if _, _, err := db.SessionWithUser(ctx, s.Digest, now, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after another process expired the session: got %v, want ErrNotFound", err)
	}
}
