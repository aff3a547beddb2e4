package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  postgres.Config
		want error
	}{
		{"zero value", postgres.Config{}, sigra.ErrConfig},
		{"negative MaxConns", postgres.Config{DSN: "postgres://a@127.0.0.1/x", MaxConns: -1}, sigra.ErrConfig},
		{"unparsable DSN", postgres.Config{DSN: "postgres://a:secret@[::1"}, sigra.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := postgres.New(context.Background(), tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New: got %v, want %v", err, tt.want)
			}
			if db != nil {
				t.Fatalf("New: got a DB with error %v", err)
			}
		})
	}
	t.Run("password not in the error", func(t *testing.T) {
		t.Parallel()
		_, err := postgres.New(context.Background(), postgres.Config{DSN: "postgres://a:secret@[::1"})
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Fatalf("New: got %v, want a parse error without the password", err)
		}
	})
}

func TestSkipMigrateLeavesSchemaAlone(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	db, err := postgres.New(context.Background(), postgres.Config{DSN: dsn, SkipMigrate: true, MaxConns: 2})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer db.Close()
	if got := db.Pool().Config().MaxConns; got != 2 {
		t.Errorf("MaxConns: got %d, want 2", got)
	}
	_, err = db.UserByID(context.Background(), "x")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
		t.Fatalf("UserByID before Migrate: got %v, want undefined_table (42P01)", err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if _, err := db.UserByID(context.Background(), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UserByID after Migrate: got %v, want ErrNotFound", err)
	}
}

// TestTwoInstancesShareState opens two DBs (two pools, as two app
// instances would) on one schema: a write through one is seen by the
// other at once.
func TestTwoInstancesShareState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)

	u := newUser(t, a, "a.user@example.com")
	s := newSession(t, a, u, "tok")
	now := t0.Add(time.Minute)

	if _, gotU, err := b.SessionWithUser(ctx, s.Digest, now, 0); err != nil || gotU == nil || gotU.ID != u.ID {
		t.Fatalf("b.SessionWithUser before revoke: got user %v, err %v; want %q", gotU, err, u.ID)
	}
	if err := a.RevokeSession(ctx, s.Digest, now); err != nil {
		t.Fatalf("a.RevokeSession: %v", err)
	}
	if _, _, err := b.SessionWithUser(ctx, s.Digest, now, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b.SessionWithUser after a.RevokeSession: got %v, want ErrNotFound", err)
	}

	// A counter hit on one instance counts on the other.
	for i, db := range []*postgres.DB{a, b, a} {
		l, err := db.Hit(ctx, "login:192.0.2.1", 2, time.Minute, now)
		if err != nil {
			t.Fatalf("Hit %d: %v", i, err)
		}
		if want := i < 2; l.Allowed != want || l.Count != i+1 {
			t.Fatalf("Hit %d: got allowed %v count %d, want %v %d", i, l.Allowed, l.Count, want, i+1)
		}
	}

	// A token consumed on one instance is gone on the other.
	tok := &store.Token{Digest: digest("reset"), Purpose: store.PurposeReset, UserID: u.ID, ExpiresAt: now.Add(time.Hour)}
	if err := a.CreateToken(ctx, tok); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if _, err := b.ConsumeToken(ctx, store.PurposeReset, tok.Digest, now); err != nil {
		t.Fatalf("b.ConsumeToken: %v", err)
	}
	if _, err := a.ConsumeToken(ctx, store.PurposeReset, tok.Digest, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a.ConsumeToken after b: got %v, want ErrNotFound", err)
	}
}

func TestSessionWithUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	u := newUser(t, db, "Sess.User@Example.com")
	s := newSession(t, db, u, "tok")
	anon := &store.Session{Digest: digest("anon"), Data: []byte{1}, State: store.SessionAnonymous,
		CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := db.SaveSession(ctx, anon); err != nil {
		t.Fatalf("SaveSession(anonymous): %v", err)
	}

	gotS, gotU, err := db.SessionWithUser(ctx, s.Digest, t0.Add(time.Minute), 30*time.Minute)
	if err != nil {
		t.Fatalf("SessionWithUser: %v", err)
	}
	want := *s
	want.AuthTime, want.CreatedAt, want.LastSeenAt, want.ExpiresAt = utcMicro(s.AuthTime), utcMicro(s.CreatedAt), utcMicro(s.LastSeenAt), utcMicro(s.ExpiresAt)
	if !reflect.DeepEqual(*gotS, want) {
		t.Errorf("session:\n got %+v\nwant %+v", *gotS, want)
	}
	wantU, err := db.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if !reflect.DeepEqual(gotU, wantU) {
		t.Errorf("user:\n got %+v\nwant %+v", gotU, wantU)
	}

	if gotS, gotU, err := db.SessionWithUser(ctx, anon.Digest, t0, 0); err != nil || gotU != nil || gotS.UserID != "" {
		t.Errorf("anonymous SessionWithUser: got session %+v user %v err %v, want the session and a nil user", gotS, gotU, err)
	}

	notFound := []struct {
		name string
		now  time.Time
		idle time.Duration
	}{
		{"expired", s.ExpiresAt, 0},
		{"idle", t0.Add(31 * time.Minute), 30 * time.Minute},
	}
	for _, tt := range notFound {
		if _, _, err := db.SessionWithUser(ctx, s.Digest, tt.now, tt.idle); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", tt.name, err)
		}
	}
	if _, _, err := db.SessionWithUser(ctx, s.Digest, t0.Add(31*time.Minute), 0); err != nil {
		t.Errorf("idle 0 disables the idle check: got %v", err)
	}
}

// utcMicro is t as the adapter returns it.
func utcMicro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func TestTimesAreUTCMicroseconds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	u := newUser(t, db, "times@example.com")
	if err := db.SetDisabled(ctx, u.ID, t0, t0); err != nil {
		t.Fatal(err)
	}
	got, err := db.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, tm := range map[string]time.Time{"CreatedAt": got.CreatedAt, "DisabledAt": got.DisabledAt, "UpdatedAt": got.UpdatedAt} {
		if tm.Location() != time.UTC || !tm.Equal(utcMicro(t0)) || tm != utcMicro(t0) {
			t.Errorf("%s: got %v (%v), want %v in UTC", name, tm, tm.Location(), utcMicro(t0))
		}
	}
	for name, tm := range map[string]time.Time{"EmailConfirmedAt": got.EmailConfirmedAt, "LockedUntil": got.LockedUntil, "DeletionDueAt": got.DeletionDueAt} {
		if !tm.IsZero() {
			t.Errorf("%s: got %v, want the zero time (NULL)", name, tm)
		}
	}
	// Enabling again stores NULL.
	if err := db.SetDisabled(ctx, u.ID, time.Time{}, t0); err != nil {
		t.Fatal(err)
	}
	var isNull bool
	if err := db.Pool().QueryRow(ctx, `SELECT disabled_at IS NULL FROM sigra_users WHERE id = $1`, u.ID).Scan(&isNull); err != nil || !isNull {
		t.Errorf("disabled_at after enabling: got NULL=%v (err %v), want NULL", isNull, err)
	}
}

// TestSaveSessionNeverResurrects covers the scs trap: a request in flight
// saves its session after the session was revoked, or after its user was
// deleted.
func TestSaveSessionNeverResurrects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	u := newUser(t, db, "res@example.com")
	s := newSession(t, db, u, "tok")
	id := s.ID

	if err := db.RevokeSession(ctx, s.Digest, t0); err != nil {
		t.Fatal(err)
	}
	s.LastSeenAt = t0.Add(time.Minute)
	s.RevokedAt = time.Time{}
	s.Data = []byte("changed")
	if err := db.SaveSession(ctx, s); err != nil {
		t.Fatalf("SaveSession of a revoked session: got %v, want nil", err)
	}
	if _, err := db.SessionByDigest(ctx, s.Digest, t0, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SessionByDigest after saving a revoked session: got %v, want ErrNotFound", err)
	}
	var data []byte
	var revoked bool
	if err := db.Pool().QueryRow(ctx, `SELECT data, revoked_at IS NOT NULL FROM sigra_sessions WHERE id = $1`, id).Scan(&data, &revoked); err != nil {
		t.Fatal(err)
	}
	if string(data) != "scs-blob" || !revoked {
		t.Errorf("revoked row: got data %q revoked %v, want the row unchanged", data, revoked)
	}

	s2 := newSession(t, db, u, "tok2")
	if err := db.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveSession(ctx, s2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SaveSession of a deleted user's session: got %v, want ErrNotFound", err)
	}
	if _, err := db.SessionByDigest(ctx, s2.Digest, t0, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SessionByDigest after saving a deleted user's session: got %v, want ErrNotFound", err)
	}
}

func TestSaveSessionWritesBackRowIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	s := &store.Session{Digest: digest("a"), State: store.SessionAnonymous, ExpiresAt: t0.Add(time.Hour)}
	if err := db.SaveSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if s.ID == "" || s.CreatedAt.IsZero() {
		t.Fatalf("insert: got ID %q CreatedAt %v, want both filled", s.ID, s.CreatedAt)
	}
	again := &store.Session{Digest: digest("a"), State: store.SessionAnonymous, ExpiresAt: t0.Add(time.Hour)}
	if err := db.SaveSession(ctx, again); err != nil {
		t.Fatal(err)
	}
	if again.ID != s.ID || !again.CreatedAt.Equal(s.CreatedAt) {
		t.Errorf("update: got ID %q CreatedAt %v, want the row's %q %v", again.ID, again.CreatedAt, s.ID, s.CreatedAt)
	}
}

func TestDeleteUserCascades(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	u := newUser(t, db, "gone@example.com")
	keep := newUser(t, db, "keep@example.com")
	for _, owner := range []*store.User{u, keep} {
		seedUserRows(t, db, owner)
	}
	if err := db.AppendAudit(ctx, &store.AuditEvent{Action: "user.delete", ActorID: u.ID, SubjectID: u.ID, Outcome: "success"}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if err := db.DeleteUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteUser again: got %v, want ErrNotFound", err)
	}
	if got := rowCounts(t, db, u.ID); got != (counts{audit: 1}) {
		t.Errorf("rows of the deleted user: got %+v, want only the audit row", got)
	}
	if got := rowCounts(t, db, keep.ID); got != (counts{1, 1, 1, 1, 1, 1, 0}) {
		t.Errorf("rows of the other user: got %+v, want one of each", got)
	}
}

func TestAnonymizeUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	u := newUser(t, db, "anon.me@example.com")
	seedUserRows(t, db, u)
	s := newSession(t, db, u, "live")
	now := t0.Add(time.Hour)
	if err := db.AnonymizeUser(ctx, u.ID, now); err != nil {
		t.Fatalf("AnonymizeUser: %v", err)
	}
	got, err := db.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if got.Email == u.Email || got.PasswordHash != "" || got.DisabledAt.IsZero() || !got.DeletionDueAt.IsZero() {
		t.Errorf("anonymized user: got %+v", got)
	}
	if _, err := db.UserByEmail(ctx, u.Email); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByEmail(old address): got %v, want ErrNotFound", err)
	}
	if c := rowCounts(t, db, u.ID); c.tokens+c.totp+c.codes+c.browsers+c.reservations != 0 {
		t.Errorf("rows left: got %+v, want no tokens, factors, grants or reservation", c)
	}
	// Sessions are revoked tombstones: saving one again does not revive it.
	if _, err := db.SessionByDigest(ctx, s.Digest, now, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SessionByDigest: got %v, want ErrNotFound", err)
	}
	if err := db.SaveSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if live, err := db.UserSessions(ctx, u.ID, now); err != nil || len(live) != 0 {
		t.Errorf("UserSessions after saving a session in flight: got %d sessions (err %v), want none", len(live), err)
	}
	// The address is free again.
	newUser(t, db, u.Email)
	if err := db.AnonymizeUser(ctx, "missing", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AnonymizeUser(missing): got %v, want ErrNotFound", err)
	}
}

// seedUserRows gives u one row in every table that belongs to a user.
func seedUserRows(t testing.TB, db *postgres.DB, u *store.User) {
	t.Helper()
	ctx := context.Background()
	exp := t0.Add(48 * time.Hour)
	newSession(t, db, u, "s-"+u.ID)
	must(t, db.CreateToken(ctx, &store.Token{Digest: digest("t-" + u.ID), Purpose: store.PurposeConfirm, UserID: u.ID, SentTo: u.Email, ExpiresAt: exp}))
	must(t, db.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("sealed")}))
	must(t, db.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{digest("c-" + u.ID)}, t0))
	must(t, db.CreateTrustedBrowser(ctx, &store.TrustedBrowser{UserID: u.ID, Digest: digest("b-" + u.ID), ExpiresAt: exp}))
	must(t, db.ReserveEmail(ctx, u.ID, "new-"+u.ID+"@example.com", exp, t0))
}

type counts struct{ sessions, tokens, totp, codes, browsers, reservations, audit int }

func rowCounts(t testing.TB, db *postgres.DB, userID string) counts {
	t.Helper()
	var c counts
	err := db.Pool().QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM sigra_sessions WHERE user_id = $1),
		(SELECT count(*) FROM sigra_tokens WHERE user_id = $1),
		(SELECT count(*) FROM sigra_totp_secrets WHERE user_id = $1),
		(SELECT count(*) FROM sigra_recovery_codes WHERE user_id = $1),
		(SELECT count(*) FROM sigra_trusted_browsers WHERE user_id = $1),
		(SELECT count(*) FROM sigra_email_reservations WHERE user_id = $1),
		(SELECT count(*) FROM sigra_audit_log WHERE actor_id = $1 OR subject_id = $1)`, userID,
	).Scan(&c.sessions, &c.tokens, &c.totp, &c.codes, &c.browsers, &c.reservations, &c.audit)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestEmailReservations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	a := newUser(t, db, "a@example.com")
	b := newUser(t, db, "b@example.com")
	exp := t0.Add(24 * time.Hour)

	must(t, db.ReserveEmail(ctx, a.ID, "New@Example.com", exp, t0))
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"another user reserves the address", db.ReserveEmail(ctx, b.ID, "new@example.COM", exp, t0), store.ErrConflict},
		{"a user is created with the address", db.CreateUser(ctx, &store.User{Email: " NEW@example.com", CreatedAt: t0}), store.ErrConflict},
		{"reserving another user's address", db.ReserveEmail(ctx, b.ID, "A@example.com", exp, t0), store.ErrConflict},
		{"reserving for a missing user", db.ReserveEmail(ctx, "missing", "x@example.com", exp, t0), store.ErrNotFound},
		{"changing to an address not reserved", db.ChangeEmail(ctx, b.ID, "new@example.com", t0), store.ErrNotFound},
		// After the reservation expires, another user may take it.
		{"another user reserves after expiry", db.ReserveEmail(ctx, b.ID, "new@example.com", exp.Add(time.Hour), exp), nil},
		{"the first user's expired reservation", db.ChangeEmail(ctx, a.ID, "new@example.com", exp), store.ErrNotFound},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) || (tt.want == nil && tt.err != nil) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.err, tt.want)
		}
	}

	// A user who took the address meanwhile makes ChangeEmail conflict,
	// and nothing changes.
	must(t, db.ReserveEmail(ctx, a.ID, "later@example.com", exp, t0))
	must(t, db.CancelEmailReservation(ctx, b.ID))
	// Simulate the unexpired-reservation race lost: the address is taken
	// by a user inserted directly.
	if _, err := db.Pool().Exec(ctx, `INSERT INTO sigra_users (id, email, email_norm, created_at, updated_at)
		VALUES ('c', 'later@example.com', 'later@example.com', now(), now())`); err != nil {
		t.Fatal(err)
	}
	if err := db.ChangeEmail(ctx, a.ID, "later@example.com", t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("ChangeEmail to a taken address: got %v, want ErrConflict", err)
	}
	if email, _, err := db.EmailReservation(ctx, a.ID, t0); err != nil || email != "later@example.com" {
		t.Errorf("reservation after the conflict: got %q, %v; want it kept", email, err)
	}

	must(t, db.ReserveEmail(ctx, a.ID, "Fresh@Example.com", exp, t0))
	if err := db.ChangeEmail(ctx, a.ID, "fresh@example.com", t0.Add(time.Minute)); err != nil {
		t.Fatalf("ChangeEmail: %v", err)
	}
	got, err := db.UserByEmail(ctx, "FRESH@example.com")
	if err != nil || got.ID != a.ID || got.Email != "Fresh@Example.com" || !got.EmailConfirmedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after ChangeEmail: got %+v, %v", got, err)
	}
	if _, _, err := db.EmailReservation(ctx, a.ID, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("reservation after ChangeEmail: got %v, want ErrNotFound", err)
	}
}

func TestInTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	errBoom := errors.New("boom")
	create := func(t *testing.T, ctx context.Context, email string) *store.User {
		t.Helper()
		u := &store.User{Email: email, CreatedAt: t0}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%q): %v", email, err)
		}
		return u
	}

	t.Run("rollback on error", func(t *testing.T) {
		err := db.InTx(ctx, func(ctx context.Context) error {
			create(t, ctx, "rolled@example.com")
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("InTx: got %v, want %v", err, errBoom)
		}
		if _, err := db.UserByEmail(ctx, "rolled@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("user after rollback: got %v, want ErrNotFound", err)
		}
	})

	t.Run("rollback on panic", func(t *testing.T) {
		func() {
			defer func() {
				if p := recover(); p != errBoom {
					t.Fatalf("recovered %v, want %v", p, errBoom)
				}
			}()
			_ = db.InTx(ctx, func(ctx context.Context) error {
				create(t, ctx, "panicked@example.com")
				panic(errBoom)
			})
		}()
		if _, err := db.UserByEmail(ctx, "panicked@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("user after panic: got %v, want ErrNotFound", err)
		}
	})

	t.Run("nested joins and commit", func(t *testing.T) {
		var outerID string
		err := db.InTx(ctx, func(txCtx context.Context) error {
			u := create(t, txCtx, "tx@example.com")
			outerID = u.ID
			// Invisible outside the transaction until commit.
			if _, err := db.UserByID(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("user outside the tx before commit: got %v, want ErrNotFound", err)
			}
			return db.InTx(txCtx, func(ctx context.Context) error {
				if _, err := db.UserByID(ctx, u.ID); err != nil {
					t.Errorf("inner tx sees the outer's user: %v", err)
				}
				// A conflict does not poison the transaction.
				if err := db.CreateUser(ctx, &store.User{Email: "TX@example.com"}); !errors.Is(err, store.ErrConflict) {
					t.Errorf("CreateUser duplicate in tx: got %v, want ErrConflict", err)
				}
				if _, err := db.ConsumeToken(ctx, "x", digest("x"), t0); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("ConsumeToken missing in tx: got %v, want ErrNotFound", err)
				}
				return db.AppendAudit(ctx, &store.AuditEvent{Action: "user.create", SubjectID: u.ID, Outcome: "success"})
			})
		})
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
		if _, err := db.UserByID(ctx, outerID); err != nil {
			t.Fatalf("user after commit: %v", err)
		}
		evs, _, err := db.QueryAudit(ctx, store.AuditQuery{UserID: outerID})
		if err != nil || len(evs) != 1 {
			t.Fatalf("audit after commit: got %d events (err %v), want 1", len(evs), err)
		}
	})

	t.Run("inner error rolls back all", func(t *testing.T) {
		err := db.InTx(ctx, func(ctx context.Context) error {
			create(t, ctx, "outer@example.com")
			return db.InTx(ctx, func(ctx context.Context) error {
				create(t, ctx, "inner@example.com")
				return errBoom
			})
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("InTx: got %v, want %v", err, errBoom)
		}
		for _, e := range []string{"outer@example.com", "inner@example.com"} {
			if _, err := db.UserByEmail(ctx, e); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s after rollback: got %v, want ErrNotFound", e, err)
			}
		}
	})

	// On PostgreSQL a write with store.WithoutTx inside InTx runs at once
	// on another connection: the record of a failed attempt survives the
	// rollback of the change it was part of. (It waits, like any other
	// transaction, for rows the surrounding transaction has written: here
	// that one writes only an audit row.)
	t.Run("WithoutTx writes at once", func(t *testing.T) {
		u := newUser(t, db, "attempts@example.com")
		err := db.InTx(ctx, func(ctx context.Context) error {
			if err := db.AppendAudit(ctx, &store.AuditEvent{Action: "attempt", SubjectID: u.ID, Outcome: "failure"}); err != nil {
				return err
			}
			if _, err := db.RecordFailure(store.WithoutTx(ctx), u.ID, store.LockPassword, 5, time.Minute, t0); err != nil {
				return err
			}
			// Committed already: another instance sees it.
			if got, err := db.UserByID(store.WithoutTx(ctx), u.ID); err != nil || got.FailedLogins != 1 {
				t.Errorf("user outside the tx: got %+v (err %v), want the failure counted", got, err)
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("InTx: got %v, want %v", err, errBoom)
		}
		if got, err := db.UserByID(ctx, u.ID); err != nil || got.FailedLogins != 1 {
			t.Errorf("user after rollback: got %+v (err %v), want the failure kept", got, err)
		}
		if evs, _, err := db.QueryAudit(ctx, store.AuditQuery{Action: "attempt"}); err != nil || len(evs) != 0 {
			t.Errorf("audit after rollback: got %d events (err %v), want none", len(evs), err)
		}
	})

	t.Run("commit error", func(t *testing.T) {
		// A deferred constraint fails at commit: InTx reports it, wrapped.
		_, err := db.Exec(ctx, `CREATE TABLE deferred_check (
			id int PRIMARY KEY,
			parent int REFERENCES deferred_check (id) DEFERRABLE INITIALLY DEFERRED)`)
		if err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(ctx context.Context) error {
			_, err := db.Exec(ctx, `INSERT INTO deferred_check (id, parent) VALUES (1, 2)`)
			return err
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23503" || !strings.HasPrefix(err.Error(), "sigra/postgres: commit: ") {
			t.Errorf("InTx with a failing commit: got %v, want the commit's foreign-key error, prefixed", err)
		}
	})
}

// TestHostTables: the host's own statements run in the context's
// transaction and commit or roll back with Sigra's writes.
func TestHostTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	if _, err := db.Exec(ctx, `CREATE TABLE profile (
		user_id text PRIMARY KEY REFERENCES sigra_users (id) ON DELETE CASCADE,
		name    text NOT NULL)`); err != nil {
		t.Fatalf("Exec(CREATE TABLE): %v", err)
	}
	errAbort := errors.New("abort")
	signUp := func(email, name string, fail bool) error {
		return db.InTx(ctx, func(ctx context.Context) error {
			u := &store.User{Email: email}
			if err := db.CreateUser(ctx, u); err != nil {
				return err
			}
			if _, err := db.Exec(ctx, `INSERT INTO profile (user_id, name) VALUES ($1, $2)`, u.ID, name); err != nil {
				return err
			}
			var got string
			if err := db.QueryRow(ctx, `SELECT name FROM profile WHERE user_id = $1`, u.ID).Scan(&got); err != nil || got != name {
				return fmt.Errorf("QueryRow in the transaction: got (%q, %v), want %q", got, err, name)
			}
			// The pool is outside the transaction: nothing is visible
			// there yet.
			if err := db.Pool().QueryRow(ctx, `SELECT name FROM profile WHERE user_id = $1`, u.ID).Scan(&got); !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("the pool's QueryRow during the transaction: got (%q, %v), want pgx.ErrNoRows", got, err)
			}
			if fail {
				return errAbort
			}
			return nil
		})
	}
	if err := signUp("kept@example.com", "Kept", false); err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if err := signUp("gone@example.com", "Gone", true); !errors.Is(err, errAbort) {
		t.Fatalf("InTx: got %v, want fn's error", err)
	}
	rows, err := db.Query(ctx, `SELECT p.name, u.email FROM profile p JOIN sigra_users u ON u.id = p.user_id`)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var name, email string
		err := r.Scan(&name, &email)
		return name + " " + email, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "Kept kept@example.com" {
		t.Errorf("profiles: got %q, want only the committed one", got)
	}
}

// TestErrorPrefix: an error from a failing open or migration names the
// package once.
func TestErrorPrefix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	check := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("got nil error, want one")
		}
		msg := err.Error()
		if n := strings.Count(msg, "sigra/postgres: ") + strings.Count(msg, "sigra: invalid config: postgres: "); n != 1 || !strings.HasPrefix(msg, "sigra") {
			t.Errorf("got %q, want it to start with the package's prefix, once", msg)
		}
		if strings.Contains(msg, "sigra/store/postgres") {
			t.Errorf("got %q, want the prefix sigra/postgres", msg)
		}
	}
	// Nothing listens on port 1: the pool opens (lazily), then the first
	// statement fails.
	unreachable := "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=5"
	t.Run("unreachable, migrating", func(t *testing.T) {
		_, err := postgres.New(ctx, postgres.Config{DSN: unreachable})
		check(t, err)
	})
	t.Run("unreachable, not migrating", func(t *testing.T) {
		_, err := postgres.New(ctx, postgres.Config{DSN: unreachable, SkipMigrate: true})
		check(t, err)
	})
	t.Run("config", func(t *testing.T) {
		_, err := postgres.New(ctx, postgres.Config{})
		check(t, err)
	})
	t.Run("migration fails", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		// A table of the host's that holds a name the first migration
		// creates.
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `CREATE TABLE sigra_users (x int)`); err != nil {
			t.Fatal(err)
		}
		db, err := postgres.Open(ctx, dsn)
		if err == nil {
			db.Close()
		}
		check(t, err)
	})
}

func TestAuditQueryPaging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	const n = 7
	for i := range n {
		// Two events share each timestamp, so paging must order by ID too.
		e := &store.AuditEvent{At: t0.Add(time.Duration(i/2) * time.Second), Action: "sign_in", ActorID: "u1",
			Outcome: "success", Metadata: map[string]string{"i": string(rune('a' + i))}}
		must(t, db.AppendAudit(ctx, e))
	}
	must(t, db.AppendAudit(ctx, &store.AuditEvent{At: t0, Action: "other", ActorID: "u2", SubjectID: "u1"}))
	must(t, db.AppendAudit(ctx, &store.AuditEvent{At: t0, Action: "other", ActorID: "u3"}))

	var all []*store.AuditEvent
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("paging does not end")
		}
		page, next, err := db.QueryAudit(ctx, store.AuditQuery{UserID: "u1", After: cursor, Limit: 3})
		if err != nil {
			t.Fatalf("QueryAudit: %v", err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != n+1 {
		t.Fatalf("events of u1: got %d, want %d", len(all), n+1)
	}
	seen := map[string]bool{}
	for i, e := range all {
		if seen[e.ID] {
			t.Fatalf("event %s returned twice", e.ID)
		}
		seen[e.ID] = true
		if i > 0 {
			p := all[i-1]
			if p.At.Before(e.At) || (p.At.Equal(e.At) && p.ID < e.ID) {
				t.Fatalf("events %d and %d out of order: %v %s then %v %s", i-1, i, p.At, p.ID, e.At, e.ID)
			}
		}
	}
	if all[0].Metadata["i"] != "g" {
		t.Errorf("newest event metadata: got %v, want i=g", all[0].Metadata)
	}

	filtered := []struct {
		name string
		q    store.AuditQuery
		want int
	}{
		{"action", store.AuditQuery{Action: "other"}, 2},
		{"since inclusive", store.AuditQuery{Since: t0.Add(3 * time.Second)}, 1},
		{"until exclusive", store.AuditQuery{Until: t0.Add(time.Second)}, 4},
		{"user and action", store.AuditQuery{UserID: "u1", Action: "other"}, 1},
		{"no metadata", store.AuditQuery{UserID: "u3"}, 1},
	}
	for _, tt := range filtered {
		got, next, err := db.QueryAudit(ctx, tt.q)
		if err != nil || len(got) != tt.want || next != "" {
			t.Errorf("%s: got %d events, next %q, err %v; want %d", tt.name, len(got), next, err, tt.want)
		}
	}
	if got, _, _ := db.QueryAudit(ctx, store.AuditQuery{UserID: "u3"}); len(got) == 1 && got[0].Metadata != nil {
		t.Errorf("event without metadata: got %v, want nil", got[0].Metadata)
	}
	for _, bad := range []string{"!", "bm90IGEgY3Vyc29y", "MTIzNDU2"} {
		if _, _, err := db.QueryAudit(ctx, store.AuditQuery{After: bad}); !errors.Is(err, postgres.ErrBadCursor) {
			t.Errorf("After %q: got %v, want ErrBadCursor", bad, err)
		}
	}
}
