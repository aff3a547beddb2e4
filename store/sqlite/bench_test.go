package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// benchFile creates a database with n signed-in users, each with one
// session, and returns it with the digest of one session and its user's ID.
func benchFile(b *testing.B, n int) (db *DB, path string, digest []byte, userID string) {
	b.Helper()
	ctx := context.Background()
	path = filepath.Join(b.TempDir(), "bench.db")
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Now()
	err = db.InTx(ctx, func(ctx context.Context) error {
		for i := range n {
			u := &store.User{Email: fmt.Sprintf("user%d@example.com", i), PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", EmailConfirmedAt: now}
			if err := db.CreateUser(ctx, u); err != nil {
				return err
			}
			h := sha256.Sum256(fmt.Appendf(nil, "token %d", i))
			s := &store.Session{
				Digest: h[:], Data: bytes.Repeat([]byte{'d'}, 120), UserID: u.ID, State: store.SessionAuthenticated,
				AAL: 1, Methods: []string{"password"}, AuthTime: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour),
				IP: "192.0.2.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
			}
			if err := db.SaveSession(ctx, s); err != nil {
				return err
			}
			if i == n/2 {
				digest, userID = s.Digest, u.ID
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return db, path, digest, userID
}

// rawReader opens the file as a plain database/sql pool with the pragmas of
// the adapter's reader pool.
func rawReader(b *testing.B, path string) *sql.DB {
	b.Helper()
	_, readerDSN, err := dsns(path, DefaultBusyTimeout)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open("sqlite", readerDSN)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { raw.Close() })
	return raw
}

// BenchmarkSessionWithUser compares the adapter's session-and-user lookup
// with the same prepared query run through database/sql directly, scanning
// into plain database/sql types.
func BenchmarkSessionWithUser(b *testing.B) {
	db, path, digest, userID := benchFile(b, 1000)
	ctx := context.Background()
	now := time.Now()
	const idle = 30 * time.Minute

	b.Run("baseline", func(b *testing.B) {
		stmt, err := rawReader(b, path).PrepareContext(ctx, qSessionWithUser)
		if err != nil {
			b.Fatal(err)
		}
		defer stmt.Close()
		b.ReportAllocs()
		for b.Loop() {
			var (
				id, state, methods, org, imp, ip, ua        string
				data                                        []byte
				uid                                         sql.NullString
				aal                                         int64
				remember                                    bool
				authTime, sudoTime, created, seen, exp      sql.NullInt64
				uID, email, hash                            sql.NullString
				confirmed, locked, mfaLocked, disabled, due sql.NullInt64
				fails, mfaFails, uCreated, uUpdated         sql.NullInt64
			)
			err := stmt.QueryRowContext(ctx, digest, now.UnixMilli(), false, now.Add(-idle).UnixMilli()).Scan(
				&id, &data, &uid, &state, &aal, &methods, &authTime, &sudoTime, &org, &imp, &remember,
				&created, &seen, &exp, &ip, &ua,
				&uID, &email, &hash, &confirmed, &fails, &locked, &mfaFails, &mfaLocked, &disabled, &due, &uCreated, &uUpdated)
			if err != nil || uID.String != userID {
				b.Fatalf("baseline lookup: %v, user %q", err, uID.String)
			}
		}
	})
	b.Run("sigra", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, u, err := db.SessionWithUser(ctx, digest, now, idle)
			if err != nil || u.ID != userID {
				b.Fatalf("SessionWithUser: %v", err)
			}
		}
	})
	// A request's context carries values, and may carry another store's
	// transaction: finding that this DB has none must not allocate.
	b.Run("sigra-request-context", func(b *testing.B) {
		ctx := store.ContextWithTx(requestContext(ctx), new(int), "another store's transaction")
		b.ReportAllocs()
		for b.Loop() {
			_, u, err := db.SessionWithUser(ctx, digest, now, idle)
			if err != nil || u.ID != userID {
				b.Fatalf("SessionWithUser: %v", err)
			}
		}
	})
}

// requestContext returns ctx with values, as a request's context carries
// them by the time the store is called. (It is not cancellable: with a
// cancellable context database/sql allocates to watch it, whatever the
// store does.)
func requestContext(ctx context.Context) context.Context {
	type key int
	for i := range 4 {
		ctx = context.WithValue(ctx, key(i), i)
	}
	return ctx
}

// BenchmarkUserByID compares the adapter's user lookup with the same
// prepared query run through database/sql directly.
func BenchmarkUserByID(b *testing.B) {
	db, path, _, userID := benchFile(b, 1000)
	ctx := context.Background()

	b.Run("baseline", func(b *testing.B) {
		stmt, err := rawReader(b, path).PrepareContext(ctx, qUserByID)
		if err != nil {
			b.Fatal(err)
		}
		defer stmt.Close()
		b.ReportAllocs()
		for b.Loop() {
			var (
				id, email, hash                             string
				fails, mfaFails, created, updated           int64
				confirmed, locked, mfaLocked, disabled, due sql.NullInt64
			)
			err := stmt.QueryRowContext(ctx, userID).Scan(&id, &email, &hash, &confirmed, &fails, &locked, &mfaFails, &mfaLocked, &disabled, &due, &created, &updated)
			if err != nil || id != userID {
				b.Fatalf("baseline lookup: %v", err)
			}
		}
	})
	b.Run("sigra", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			u, err := db.UserByID(ctx, userID)
			if err != nil || u.ID != userID {
				b.Fatalf("UserByID: %v", err)
			}
		}
	})
}

// BenchmarkTouchSession compares a write outside any transaction, through
// the adapter's writer connection, with the same statement run on a plain
// database/sql pool of one connection with the writer's pragmas, from one
// goroutine and from several at once (the writes then queue for the
// writer).
func BenchmarkTouchSession(b *testing.B) {
	db, path, digest, _ := benchFile(b, 1000)
	ctx := context.Background()
	const query = `UPDATE sigra_sessions SET last_seen_at = ?, ip = ?, user_agent = ? WHERE digest = ? AND revoked_at IS NULL`
	writerDSN, _, err := dsns(path, DefaultBusyTimeout)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open("sqlite", writerDSN)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { raw.Close() })
	raw.SetMaxOpenConns(1)
	raw.SetMaxIdleConns(1)

	for _, parallel := range []bool{false, true} {
		suffix := ""
		if parallel {
			suffix = "-parallel"
		}
		run := func(b *testing.B, touch func() error) {
			b.ReportAllocs()
			if !parallel {
				for b.Loop() {
					if err := touch(); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := touch(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		b.Run("baseline"+suffix, func(b *testing.B) {
			run(b, func() error {
				_, err := raw.ExecContext(ctx, query, time.Now().UnixMilli(), "192.0.2.1", "Firefox", digest)
				return err
			})
		})
		b.Run("sigra"+suffix, func(b *testing.B) {
			run(b, func() error {
				return db.TouchSession(ctx, digest, time.Now(), "192.0.2.1", "Firefox")
			})
		})
	}
}

// BenchmarkSignInWrites runs the store writes of one password sign-in as
// the account package makes them, each on its own: the two rate limits
// and the attempt place (Hit), the places freed (ResetLimit), the device
// record (SeenDevice, a transaction of three statements), the audit row
// and the new session. The statements are prepared once on the writer
// connection (see signInWrites).
func BenchmarkSignInWrites(b *testing.B) {
	db, _, _, userID := benchFile(b, 1000)
	ctx := context.Background()
	now := time.Now()
	var n int
	b.ReportAllocs()
	for b.Loop() {
		n++
		ip, acct, place := fmt.Sprintf("login-ip:10.0.%d.1", n%250), fmt.Sprintf("login-acct:user%d", n%1000), fmt.Sprintf("password:user%d", n%1000)
		for _, key := range []string{ip, acct, place} {
			if _, err := db.Hit(ctx, key, 100, 15*time.Minute, now); err != nil {
				b.Fatal(err)
			}
		}
		if err := db.ResetLimit(ctx, place); err != nil {
			b.Fatal(err)
		}
		if _, _, err := db.SeenDevice(ctx, userID, fmt.Sprintf("device %d", n%8), now, now.Add(-time.Hour)); err != nil {
			b.Fatal(err)
		}
		if err := db.AppendAudit(ctx, &store.AuditEvent{Action: "login.success", ActorID: userID, SubjectID: userID, Outcome: "success",
			IP: "10.0.0.1", UserAgent: "Firefox", Metadata: map[string]string{"method": "password", "aal": "1"}}); err != nil {
			b.Fatal(err)
		}
		h := sha256.Sum256(fmt.Appendf(nil, "sign-in %d", n))
		s := &store.Session{
			Digest: h[:], Data: bytes.Repeat([]byte{'d'}, 120), UserID: userID, State: store.SessionAuthenticated,
			AAL: 1, Methods: []string{"password"}, AuthTime: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour),
			IP: "10.0.0.1", UserAgent: "Firefox",
		}
		if err := db.SaveSession(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignInReads runs the reads of a password sign-in besides the
// session lookup's, outside any transaction as a sign-in runs them: the
// user by address and the user's TOTP secret (none here). Both run as
// statements prepared on the reader pool (see signInReads).
func BenchmarkSignInReads(b *testing.B) {
	db, _, _, _ := benchFile(b, 1000)
	ctx := context.Background()
	var n int
	b.ReportAllocs()
	for b.Loop() {
		n++
		u, err := db.UserByEmail(ctx, fmt.Sprintf("user%d@example.com", n%1000))
		if err != nil {
			b.Fatalf("UserByEmail: %v", err)
		}
		if _, err := db.TOTPByUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
			b.Fatalf("TOTPByUser: got %v, want ErrNotFound", err)
		}
	}
}
