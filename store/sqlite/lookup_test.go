package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// lookupSession saves a user and an authenticated session of theirs with
// every column set, and returns both.
func lookupSession(t testing.TB, db *DB, tag string, methods []string, now time.Time) (*store.User, *store.Session) {
	t.Helper()
	ctx := context.Background()
	now = now.UTC().Truncate(time.Millisecond)
	u := &store.User{Email: tag + "@example.com", PasswordHash: "hash-" + tag, EmailConfirmedAt: now, CreatedAt: now}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	d := sha256.Sum256([]byte(tag))
	s := &store.Session{
		Digest: d[:], Data: []byte("data of " + tag), UserID: u.ID, State: store.SessionAuthenticated,
		AAL: 2, Methods: methods, AuthTime: now, SudoTime: now.Add(time.Second),
		ActiveOrg: "org-" + tag, Impersonator: "admin-" + tag, Remember: true,
		LastSeenAt: now, ExpiresAt: now.Add(time.Hour), IP: "192.0.2.7", UserAgent: "agent of " + tag,
	}
	if err := db.SaveSession(ctx, s); err != nil {
		t.Fatalf("SaveSession: %v", err)
	}
	return u, s
}

// TestLookupMatchesTransaction checks that the lookup connections read a
// row exactly as the same query does through database/sql inside a
// transaction: every column, one method or several, known or not, an
// anonymous session, no session.
func TestLookupMatchesTransaction(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := t.Context()
	now := time.Now()
	var digests [][]byte
	for i, methods := range [][]string{
		{"password"},
		{"password", "totp"},
		{"passkey", "custom_method", "recovery_code"},
		nil,
	} {
		_, s := lookupSession(t, db, fmt.Sprint("match", i), methods, now)
		digests = append(digests, s.Digest)
	}
	anon := &store.Session{Digest: []byte("anonymous digest"), State: store.SessionAnonymous, ExpiresAt: now.Add(time.Hour), LastSeenAt: now}
	if err := db.SaveSession(ctx, anon); err != nil {
		t.Fatal(err)
	}
	digests = append(digests, anon.Digest, []byte("no such digest"), nil,
		make([]byte, lookupBuf+1)) // longer than the connection's buffer

	type result struct {
		s   *store.Session
		u   *store.User
		err error
	}
	for _, d := range digests {
		var inTx result
		err := db.InTx(ctx, func(ctx context.Context) error {
			inTx.s, inTx.u, inTx.err = db.SessionWithUser(ctx, d, now, time.Hour)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var got result
		got.s, got.u, got.err = db.SessionWithUser(ctx, d, now, time.Hour)
		if (got.err == nil) != (inTx.err == nil) || errors.Is(got.err, store.ErrNotFound) != errors.Is(inTx.err, store.ErrNotFound) {
			t.Fatalf("digest %x: got error %v, want %v as in a transaction", d, got.err, inTx.err)
		}
		if !reflect.DeepEqual(got.s, inTx.s) {
			t.Errorf("digest %x: got session\n%+v\nwant (as in a transaction)\n%+v", d, got.s, inTx.s)
		}
		if !reflect.DeepEqual(got.u, inTx.u) {
			t.Errorf("digest %x: got user %+v, want (as in a transaction) %+v", d, got.u, inTx.u)
		}
		if got.s != nil && cap(got.s.Methods) != len(got.s.Methods) {
			t.Errorf("digest %x: methods %q have capacity %d: an append would write past them", d, got.s.Methods, cap(got.s.Methods))
		}
	}
}

// TestLookupSeesEveryCommit checks that a session lookup sees, on the
// call after it, a change committed by this DB, by another DB on the same
// file (as another process would), and by a plain database/sql handle: the
// lookup connections keep no state between calls.
func TestLookupSeesEveryCommit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sigra.db")
	db, err := New(ctx, Config{Path: path, ReadConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	other, err := New(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	plain, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })

	now := time.Now()
	// lookAll looks the session up on every connection of the pool (it
	// hands them out in turn).
	lookAll := func(what string, s *store.Session, check func(*store.Session, *store.User, error) error) {
		t.Helper()
		for range 2 * cap(db.lookup.conns) {
			gs, gu, err := db.SessionWithUser(ctx, s.Digest, now, time.Hour)
			if err := check(gs, gu, err); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
	live := func(gs *store.Session, gu *store.User, err error) error {
		if err != nil || gu == nil {
			return fmt.Errorf("got (%v, %v), want the session and its user", gu, err)
		}
		return nil
	}
	gone := func(_ *store.Session, _ *store.User, err error) error {
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("got %v, want ErrNotFound", err)
		}
		return nil
	}

	for _, revoker := range []struct {
		name   string
		revoke func(s *store.Session) error
	}{
		{"this DB", func(s *store.Session) error { return db.RevokeSession(ctx, s.Digest, now) }},
		{"another DB", func(s *store.Session) error { return other.RevokeSession(ctx, s.Digest, now) }},
		{"database/sql", func(s *store.Session) error {
			_, err := plain.ExecContext(ctx, `UPDATE sigra_sessions SET revoked_at = ? WHERE digest = ?`, now.UnixMilli(), s.Digest)
			return err
		}},
	} {
		u, s := lookupSession(t, db, "revoked-by-"+revoker.name, []string{"password"}, now)
		lookAll("before the revocation by "+revoker.name, s, live)
		if err := revoker.revoke(s); err != nil {
			t.Fatal(err)
		}
		lookAll("after the revocation by "+revoker.name, s, gone)

		// The user's own changes show too.
		_, s = lookupSession(t, other, "changed-by-"+revoker.name, []string{"password"}, now)
		u, err := other.UserByEmail(ctx, "changed-by-"+revoker.name+"@example.com")
		if err != nil {
			t.Fatal(err)
		}
		lookAll("before the change of "+u.Email, s, live)
		if err := other.ReserveEmail(ctx, u.ID, "new-"+u.Email, now.Add(time.Hour), now); err != nil {
			t.Fatal(err)
		}
		if err := other.ChangeEmail(ctx, u.ID, "new-"+u.Email, now); err != nil {
			t.Fatal(err)
		}
		lookAll("after the change of "+u.Email, s, func(_ *store.Session, gu *store.User, err error) error {
			if err != nil || gu == nil || gu.Email != "new-"+u.Email {
				return fmt.Errorf("got (%+v, %v), want the new address", gu, err)
			}
			return nil
		})
		if _, err := plain.ExecContext(ctx, `UPDATE sigra_users SET disabled_at = ? WHERE id = ?`, now.UnixMilli(), u.ID); err != nil {
			t.Fatal(err)
		}
		lookAll("after disabling "+u.Email, s, func(_ *store.Session, gu *store.User, err error) error {
			if err != nil || gu == nil || gu.DisabledAt.IsZero() {
				return fmt.Errorf("got (%+v, %v), want a disabled user", gu, err)
			}
			return nil
		})
	}
}

// TestLookupConcurrent runs lookups from many goroutines, more than the
// pool has connections, while sessions are written and revoked.
func TestLookupConcurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := New(ctx, Config{Path: filepath.Join(t.TempDir(), "sigra.db"), ReadConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now()
	var sessions []*store.Session
	for i := range 8 {
		_, s := lookupSession(t, db, fmt.Sprint("concurrent", i), []string{"password", "totp"}, now)
		sessions = append(sessions, s)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				s := sessions[(g+i)%len(sessions)]
				gs, gu, err := db.SessionWithUser(ctx, s.Digest, now, time.Hour)
				switch {
				case errors.Is(err, store.ErrNotFound):
					// revoked meanwhile
				case err != nil:
					errs <- err
					return
				case gs.ID != s.ID || gu == nil || gu.ID != s.UserID || len(gs.Methods) != 2:
					errs <- fmt.Errorf("got session %+v user %+v, want %s of %s", gs, gu, s.ID, s.UserID)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i, s := range sessions {
			if i%2 == 0 {
				if err := db.RevokeSession(ctx, s.Digest, now); err != nil {
					errs <- err
				}
			} else if err := db.TouchSession(ctx, s.Digest, now, "192.0.2.9", "another agent"); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestLookupAfterClose checks that lookups in flight when the DB closes
// finish, and that later ones fail instead of using closed connections.
func TestLookupAfterClose(t *testing.T) {
	t.Parallel()
	db, err := New(t.Context(), Config{Path: filepath.Join(t.TempDir(), "sigra.db"), ReadConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, s := lookupSession(t, db, "closing", []string{"password"}, time.Now())
	var wg sync.WaitGroup
	running := make(chan struct{}, 4)
	for range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				if _, _, err := db.SessionWithUser(context.Background(), s.Digest, time.Now(), 0); err != nil {
					return
				}
				if i == 0 {
					running <- struct{}{}
				}
			}
		})
	}
	for range 4 {
		<-running
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if _, _, err := db.SessionWithUser(t.Context(), s.Digest, time.Now(), 0); err == nil {
		t.Error("SessionWithUser after Close: got nil error")
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close again: %v", err)
	}
}

// TestLookupBeforeMigrate checks that a lookup on a file without the
// schema fails with the driver's message, and works once the schema is
// there (the statement is prepared again).
func TestLookupBeforeMigrate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := New(ctx, Config{Path: filepath.Join(t.TempDir(), "sigra.db"), SkipMigrate: true, ReadConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	_, _, err = db.SessionWithUser(ctx, []byte("digest"), time.Now(), 0)
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("SessionWithUser without the schema: got %v, want the error of a missing table", err)
	}
	if code, ok := resultCode(err); !ok || code&0xff != 1 { // SQLITE_ERROR
		t.Errorf("SessionWithUser without the schema: got %v, want SQLITE_ERROR in the chain", err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_, s := lookupSession(t, db, "migrated", []string{"password"}, time.Now())
	if _, u, err := db.SessionWithUser(ctx, s.Digest, time.Now(), 0); err != nil || u == nil {
		t.Fatalf("SessionWithUser after Migrate: got (%v, %v), want the session's user", u, err)
	}
}

// TestLookupAllocations pins the allocations of a session lookup: the
// record holding the session and its user, and the strings and the blob
// of its columns. Through database/sql the same lookup made over a
// hundred.
func TestLookupAllocations(t *testing.T) {
	db := openTest(t)
	_, s := lookupSession(t, db, "allocs", []string{"password"}, time.Now())
	now := time.Now()
	ctx := requestContext(context.Background())
	n := testing.AllocsPerRun(200, func() {
		if _, _, err := db.SessionWithUser(ctx, s.Digest, now, time.Hour); err != nil {
			t.Fatal(err)
		}
	})
	// 1 record + id, data, user id, ip, user agent, email, password hash,
	// active org, impersonator.
	t.Logf("SessionWithUser: %v allocations", n)
	if n > 10 {
		t.Errorf("SessionWithUser: got %v allocations, want at most 10", n)
	}
}

// TestLookupConnIsReadOnly checks the lookup connections' settings: no
// write goes through them (query_only), and they wait the configured
// busy timeout for a lock.
func TestLookupConnIsReadOnly(t *testing.T) {
	t.Parallel()
	db, err := New(t.Context(), Config{Path: filepath.Join(t.TempDir(), "sigra.db"), BusyTimeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := db.lookup.get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer db.lookup.put(c)
	if c.busy != 1500 {
		t.Errorf("busy timeout: got %d ms, want 1500", c.busy)
	}
	err = c.exec("DELETE FROM sigra_users")
	if code, ok := resultCode(err); !ok || code&0xff != 8 { // SQLITE_READONLY
		t.Errorf("a write on a lookup connection: got %v, want SQLITE_READONLY", err)
	}
}
