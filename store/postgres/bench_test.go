package postgres

import (
	"context"
	"crypto/sha256"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store"
)

// The benchmarks compare the adapter with the same SELECT written by hand
// against the same pool (pgx prepares and caches it per connection, as it
// does the adapter's), in the same run: the ratio is the adapter's
// overhead. They need SIGRA_TEST_POSTGRES.

// benchDB returns a DB on a fresh schema with one user and one
// authenticated session, and the session's digest.
func benchDB(b *testing.B) (*DB, *store.User, []byte) {
	b.Helper()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	u := &store.User{Email: "bench@example.com", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: benchNow}
	if err := db.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	d := sha256.Sum256([]byte("bench-session"))
	s := &store.Session{Digest: d[:], Data: make([]byte, 200), UserID: u.ID, State: store.SessionAuthenticated,
		AAL: 1, Methods: []string{"password"}, AuthTime: benchNow, CreatedAt: benchNow, LastSeenAt: benchNow,
		ExpiresAt: benchNow.Add(24 * time.Hour), IP: "192.0.2.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"}
	if err := db.SaveSession(ctx, s); err != nil {
		b.Fatal(err)
	}
	return db, u, d[:]
}

var benchNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func BenchmarkSessionWithUser(b *testing.B) {
	db, _, digest := benchDB(b)
	ctx := context.Background()
	now := benchNow.Add(time.Minute)
	idle := 30 * time.Minute

	b.Run("baseline", func(b *testing.B) {
		const sql = `SELECT s.digest, s.id, s.data, coalesce(s.user_id, ''), s.state, s.aal, s.methods,
			s.auth_time, s.sudo_time, s.active_org, s.impersonator, s.remember, s.created_at,
			s.last_seen_at, s.expires_at, s.revoked_at, s.ip, s.user_agent,
			coalesce(u.id, ''), coalesce(u.email, ''), coalesce(u.password_hash, ''),
			u.email_confirmed_at, coalesce(u.failed_logins, 0), u.locked_until, coalesce(u.failed_mfa, 0),
			u.mfa_locked_until, u.disabled_at, u.deletion_due_at, u.created_at, u.updated_at
			FROM sigra_sessions s LEFT JOIN sigra_users u ON u.id = s.user_id
			WHERE s.digest = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
				AND ($3::timestamptz IS NULL OR s.last_seen_at > $3)`
		var (
			sDigest, data                                       []byte
			id, userID, state, org, imp, ip, ua                 string
			aal, failed, failedMFA                              int
			methods                                             []string
			remember                                            bool
			authT, sudoT, created, seen, expires, revoked       pgtype.Timestamptz
			uid, email, hash                                    string
			confirmed, locked, mfaLocked, disabled, due, uc, uu pgtype.Timestamptz
		)
		b.ReportAllocs()
		for b.Loop() {
			err := db.pool.QueryRow(ctx, sql, digest, now, now.Add(-idle)).Scan(
				&sDigest, &id, &data, &userID, &state, &aal, &methods, &authT, &sudoT, &org, &imp,
				&remember, &created, &seen, &expires, &revoked, &ip, &ua,
				&uid, &email, &hash, &confirmed, &failed, &locked, &failedMFA, &mfaLocked, &disabled,
				&due, &uc, &uu)
			if err != nil || uid == "" {
				b.Fatalf("baseline: %v", err)
			}
		}
	})

	b.Run("sigra", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, u, err := db.SessionWithUser(ctx, digest, now, idle)
			if err != nil || u == nil {
				b.Fatalf("SessionWithUser: %v", err)
			}
		}
	})
}

func BenchmarkUserByID(b *testing.B) {
	db, u, _ := benchDB(b)
	ctx := context.Background()

	b.Run("baseline", func(b *testing.B) {
		const sql = `SELECT id, email, password_hash, email_confirmed_at, failed_logins, locked_until,
			failed_mfa, mfa_locked_until, disabled_at, deletion_due_at, created_at, updated_at
			FROM sigra_users WHERE id = $1`
		var (
			id, email, hash                                     string
			failed, failedMFA                                   int
			confirmed, locked, mfaLocked, disabled, due, uc, uu pgtype.Timestamptz
		)
		b.ReportAllocs()
		for b.Loop() {
			err := db.pool.QueryRow(ctx, sql, u.ID).Scan(&id, &email, &hash, &confirmed, &failed, &locked,
				&failedMFA, &mfaLocked, &disabled, &due, &uc, &uu)
			if err != nil {
				b.Fatalf("baseline: %v", err)
			}
		}
	})

	b.Run("sigra", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := db.UserByID(ctx, u.ID); err != nil {
				b.Fatalf("UserByID: %v", err)
			}
		}
	})
}

// BenchmarkHit measures a rate limit's hit (one upsert, one commit) on
// the migrated, unlogged sigra_rate_limits ("unlogged"), and the same
// statement on the table made logged again in a schema of its own, its
// commit waiting for the WAL flush as it did before migration 0014
// ("logged"). Each iteration hits a key of its own among 64, so hits
// neither reset a window nor pile onto one row.
func BenchmarkHit(b *testing.B) {
	ctx := context.Background()
	unlogged, err := Open(ctx, pgtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(unlogged.Close)
	logged, err := Open(ctx, pgtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(logged.Close)
	if _, err := logged.Exec(ctx, `ALTER TABLE sigra_rate_limits SET LOGGED`); err != nil {
		b.Fatal(err)
	}
	var keys [64]string
	for i := range keys {
		keys[i] = "bench:" + strconv.Itoa(i)
	}
	for _, tc := range []struct {
		name string
		db   *DB
	}{{"unlogged", unlogged}, {"logged", logged}} {
		b.Run(tc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				res, err := tc.db.Hit(ctx, keys[i%len(keys)], 1<<30, time.Hour, benchNow)
				if err != nil || !res.Allowed {
					b.Fatal(res, err)
				}
				i++
			}
		})
	}
}
