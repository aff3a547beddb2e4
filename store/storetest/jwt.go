package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// RefreshTokens checks [store.RefreshTokens]: families bound to a live
// session, single-use rotation, reuse detection revoking the family
// (including a race of rotations of one token, on which the rule of
// store.RefreshTokens decides), and the end of a family with its session
// (revoked, revoked with all of the user's, disabled user, deleted user),
// and, when the store is a [store.Transactor], in a transaction. Needs
// store.Users, store.Sessions and store.RefreshTokens.
const RefreshTokens Part = "RefreshTokens"

// refreshStore is what the checks of the RefreshTokens part need.
type refreshStore interface {
	store.Users
	store.Sessions
	store.RefreshTokens
}

func refreshChecks() []check {
	return []check{
		checkOf("CreateRefreshFamily", testCreateRefreshFamily),
		checkOf("RotateRefreshToken", testRotateRefreshToken),
		checkOf("RotateRefreshToken/Reuse", testRefreshReuse),
		checkOf("RotateRefreshToken/Concurrent", testRefreshRace),
		checkOf("RotateRefreshToken/Expired", testRefreshExpired),
		checkOf("RotateRefreshToken/SessionEnded", testRefreshSessionEnded),
		checkOf("RevokeRefreshFamily", testRevokeRefreshFamily),
		checkOf("UserRefreshFamilies", testUserRefreshFamilies),
		checkOf("PurgeRefreshFamilies", testPurgeRefreshFamilies),
		checkEnv("Transaction", testRefreshTransaction),
	}
}

// liveSessionOf saves an authenticated session of u, live for a day from
// t0, and returns it.
func liveSessionOf(t *testing.T, s store.Sessions, u *store.User, name string) *store.Session {
	t.Helper()
	sess := &store.Session{
		Digest: digest("session " + name), Data: []byte("{}"), UserID: u.ID, State: store.SessionAuthenticated,
		AAL: 1, Methods: []string{"password"}, AuthTime: t0, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: at(24 * time.Hour),
	}
	must(t, "SaveSession", s.SaveSession(t.Context(), sess))
	return sess
}

// newFamily creates a family of u bound to sess, with its first token
// (secret first), expiring in a week (tokens in a day).
func newFamily(t *testing.T, s store.RefreshTokens, u *store.User, sess *store.Session, first string) *store.RefreshFamily {
	t.Helper()
	f := &store.RefreshFamily{
		UserID: u.ID, SessionID: sess.ID, Scopes: []string{"read", "write"}, AAL: 2, Methods: []string{"password", "totp"},
		AuthTime: t0, ClientName: "a phone", CreatedAt: t0, ExpiresAt: at(7 * 24 * time.Hour),
	}
	tok := &store.RefreshToken{Digest: digest(first), CreatedAt: t0, ExpiresAt: at(24 * time.Hour)}
	must(t, "CreateRefreshFamily", s.CreateRefreshFamily(t.Context(), f, tok, t0))
	if f.ID == "" || tok.FamilyID != f.ID {
		t.Fatalf("CreateRefreshFamily: family ID %q, token's FamilyID %q: want a filled ID given to both", f.ID, tok.FamilyID)
	}
	return f
}

func nextToken(secret string, now time.Time) *store.RefreshToken {
	return &store.RefreshToken{Digest: digest(secret), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
}

func sameFamily(t *testing.T, what string, got, want *store.RefreshFamily) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got no family, want %s", what, want.ID)
	}
	if got.ID != want.ID || got.UserID != want.UserID || got.SessionID != want.SessionID || got.ClientName != want.ClientName || got.AAL != want.AAL {
		t.Errorf("%s: (ID, UserID, SessionID, ClientName, AAL): got (%q, %q, %q, %q, %d), want (%q, %q, %q, %q, %d)", what,
			got.ID, got.UserID, got.SessionID, got.ClientName, got.AAL, want.ID, want.UserID, want.SessionID, want.ClientName, want.AAL)
	}
	if !slices.Equal(got.Scopes, want.Scopes) || !slices.Equal(got.Methods, want.Methods) {
		t.Errorf("%s: (Scopes, Methods): got (%q, %q), want (%q, %q)", what, got.Scopes, got.Methods, want.Scopes, want.Methods)
	}
	sameTime(t, what+": AuthTime", got.AuthTime, want.AuthTime)
	sameTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+": ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

// wantFamilyEnded checks that the family is no longer live, and was
// revoked with reason when reason is not empty.
func wantFamilyEnded(t *testing.T, s store.RefreshTokens, f *store.RefreshFamily, reason string, now time.Time) {
	t.Helper()
	ctx := t.Context()
	_, err := s.LiveRefreshFamily(ctx, f.ID, now)
	wantErr(t, "LiveRefreshFamily(ended family)", err, store.ErrNotFound)
	if reason == "" {
		return
	}
	got, err := s.RevokeRefreshFamily(ctx, "", f.ID, "later", now.Add(time.Hour))
	must(t, "RevokeRefreshFamily(read back)", err)
	if got.RevokeReason != reason || got.RevokedAt.IsZero() || got.RevokedAt.After(now) {
		t.Errorf("ended family: (RevokeReason, RevokedAt): got (%q, %v), want (%q, at or before %v); a second revocation must not overwrite the first",
			got.RevokeReason, got.RevokedAt, reason, now)
	}
}

func testCreateRefreshFamily(t *testing.T, s refreshStore) {
	ctx := t.Context()
	u := newUser(t, s, "family@example.com")
	other := newUser(t, s, "other@example.com")
	sess := liveSessionOf(t, s, u, "u")
	f := newFamily(t, s, u, sess, "first")

	got, err := s.LiveRefreshFamily(ctx, f.ID, at(time.Minute))
	must(t, "LiveRefreshFamily", err)
	sameFamily(t, "live family", got, f)
	got, err = s.RefreshFamilyByToken(ctx, digest("first"))
	must(t, "RefreshFamilyByToken", err)
	sameFamily(t, "family by token", got, f)
	_, err = s.RefreshFamilyByToken(ctx, digest("unknown"))
	wantErr(t, "RefreshFamilyByToken(unknown)", err, store.ErrNotFound)

	// A session of another user, a missing one, a pending one, a revoked
	// one and an expired one bind no family.
	pending := &store.Session{Digest: digest("pending"), Data: []byte("{}"), UserID: u.ID, State: store.SessionPending,
		CreatedAt: t0, ExpiresAt: at(time.Hour)}
	must(t, "SaveSession(pending)", s.SaveSession(ctx, pending))
	revoked := liveSessionOf(t, s, u, "revoked")
	must(t, "RevokeSession", s.RevokeSession(ctx, revoked.Digest, t0))
	for _, c := range []struct {
		name   string
		user   *store.User
		sid    string
		now    time.Time
		secret string
	}{
		{"other user's session", other, sess.ID, t0, "c1"},
		{"missing session", u, "no-such-session", t0, "c2"},
		{"pending session", u, pending.ID, t0, "c3"},
		{"revoked session", u, revoked.ID, at(time.Second), "c4"},
		{"expired session", u, sess.ID, at(24 * time.Hour), "c5"},
	} {
		f := &store.RefreshFamily{UserID: c.user.ID, SessionID: c.sid, CreatedAt: t0, ExpiresAt: at(time.Hour)}
		err := s.CreateRefreshFamily(ctx, f, nextToken(c.secret, t0), c.now)
		wantErr(t, "CreateRefreshFamily("+c.name+")", err, store.ErrNotFound)
		_, err = s.RefreshFamilyByToken(ctx, digest(c.secret))
		wantErr(t, "RefreshFamilyByToken(token of refused family "+c.name+")", err, store.ErrNotFound)
	}
	// A digest is unique.
	f2 := &store.RefreshFamily{UserID: u.ID, SessionID: sess.ID, CreatedAt: t0, ExpiresAt: at(time.Hour)}
	wantErr(t, "CreateRefreshFamily(duplicate token digest)", s.CreateRefreshFamily(ctx, f2, nextToken("first", t0), t0), store.ErrConflict)
	// Scopes with white space are refused.
	f3 := &store.RefreshFamily{UserID: u.ID, SessionID: sess.ID, Scopes: []string{"read write"}, CreatedAt: t0, ExpiresAt: at(time.Hour)}
	if err := s.CreateRefreshFamily(ctx, f3, nextToken("spaced", t0), t0); err == nil {
		t.Errorf("CreateRefreshFamily(scope %q): got nil, want an error", "read write")
	}
}

func testRotateRefreshToken(t *testing.T, s refreshStore) {
	ctx := t.Context()
	u := newUser(t, s, "rotate@example.com")
	f := newFamily(t, s, u, liveSessionOf(t, s, u, "u"), "r0")
	now := t0
	for i := 1; i <= 3; i++ {
		now = now.Add(10 * time.Minute)
		next := nextToken(fmt.Sprintf("r%d", i), now)
		got, err := s.RotateRefreshToken(ctx, digest(fmt.Sprintf("r%d", i-1)), next, now)
		must(t, fmt.Sprintf("RotateRefreshToken(r%d)", i-1), err)
		sameFamily(t, "rotated family", got, f)
		if next.FamilyID != f.ID {
			t.Errorf("rotation %d: next.FamilyID = %q, want %q", i, next.FamilyID, f.ID)
		}
	}
	_, err := s.LiveRefreshFamily(ctx, f.ID, now)
	must(t, "LiveRefreshFamily(after rotations)", err)
	_, err = s.RotateRefreshToken(ctx, digest("never issued"), nextToken("x", now), now)
	wantErr(t, "RotateRefreshToken(unknown)", err, store.ErrNotFound)
	_, err = s.LiveRefreshFamily(ctx, f.ID, now)
	must(t, "LiveRefreshFamily(after an unknown token)", err)
}

func testRefreshReuse(t *testing.T, s refreshStore) {
	ctx := t.Context()
	u := newUser(t, s, "reuse@example.com")
	f := newFamily(t, s, u, liveSessionOf(t, s, u, "u"), "a0")
	now := at(time.Minute)
	_, err := s.RotateRefreshToken(ctx, digest("a0"), nextToken("a1", now), now)
	must(t, "RotateRefreshToken(a0)", err)

	// a0 again (a stolen copy, or the client's own replay): the family ends.
	later := at(2 * time.Minute)
	got, err := s.RotateRefreshToken(ctx, digest("a0"), nextToken("thief", later), later)
	wantErr(t, "RotateRefreshToken(a0 again)", err, store.ErrReplay)
	if got == nil || got.ID != f.ID || got.RevokeReason != store.RevokeReasonReuse {
		t.Errorf("RotateRefreshToken(a0 again): got family %+v, want %s revoked for reuse", got, f.ID)
	}
	wantFamilyEnded(t, s, f, store.RevokeReasonReuse, later)
	// The newest token of the family, unused, is dead too, and the token
	// offered for the reuse was not stored.
	_, err = s.RotateRefreshToken(ctx, digest("a1"), nextToken("a2", later), later)
	wantErr(t, "RotateRefreshToken(a1 after reuse)", err, store.ErrNotFound)
	if errors.Is(err, store.ErrReplay) {
		t.Errorf("RotateRefreshToken(a1 after reuse): got ErrReplay, want only ErrNotFound")
	}
	_, err = s.RefreshFamilyByToken(ctx, digest("thief"))
	wantErr(t, "RefreshFamilyByToken(token offered with a reuse)", err, store.ErrNotFound)
	_, err = s.RefreshFamilyByToken(ctx, digest("a2"))
	wantErr(t, "RefreshFamilyByToken(token offered to a revoked family)", err, store.ErrNotFound)
}

func testRefreshRace(t *testing.T, s refreshStore) {
	ctx := t.Context()
	u := newUser(t, s, "race@example.com")
	f := newFamily(t, s, u, liveSessionOf(t, s, u, "u"), "race0")
	now := at(time.Minute)
	const n = 8
	errs := race(n, func(i int) error {
		_, err := s.RotateRefreshToken(ctx, digest("race0"), nextToken(fmt.Sprintf("race1-%d", i), now), now)
		return err
	})
	ok, replays := countOutcomes(t, "concurrent RotateRefreshToken", errs, store.ErrReplay)
	if ok != 1 || replays != n-1 {
		t.Fatalf("concurrent RotateRefreshToken: %d succeeded and %d were reuses, want 1 and %d", ok, replays, n-1)
	}
	// The rule: a race is a reuse, and the family ends, winner included.
	wantFamilyEnded(t, s, f, store.RevokeReasonReuse, now)
	winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
	_, err := s.RotateRefreshToken(ctx, digest(fmt.Sprintf("race1-%d", winner)), nextToken("race2", now), now)
	wantErr(t, "RotateRefreshToken(the winner's token)", err, store.ErrNotFound)
}

func testRefreshExpired(t *testing.T, s refreshStore) {
	ctx := t.Context()
	u := newUser(t, s, "expired@example.com")
	f := newFamily(t, s, u, liveSessionOf(t, s, u, "u"), "e0")
	// The first token is live until its expiry, exclusive.
	end := at(24 * time.Hour)
	_, err := s.RotateRefreshToken(ctx, digest("e0"), nextToken("e1", end), end)
	wantErr(t, "RotateRefreshToken(at the token's expiry)", err, store.ErrNotFound)
	// An expired token does not revoke the family (it is not a reuse) ...
	fam, err := s.RefreshFamilyByToken(ctx, digest("e0"))
	must(t, "RefreshFamilyByToken", err)
	if !fam.RevokedAt.IsZero() {
		t.Errorf("after an expired token: family revoked at %v (%q), want live", fam.RevokedAt, fam.RevokeReason)
	}
	// ... and a family past its own expiry refuses even a fresh token.
	g := &store.RefreshFamily{UserID: u.ID, SessionID: f.SessionID, CreatedAt: t0, ExpiresAt: at(time.Hour)}
	must(t, "CreateRefreshFamily(short)", s.CreateRefreshFamily(ctx, g, nextToken("short0", t0), t0))
	_, err = s.RotateRefreshToken(ctx, digest("short0"), nextToken("short1", at(time.Hour)), at(time.Hour))
	wantErr(t, "RotateRefreshToken(at the family's expiry)", err, store.ErrNotFound)
	_, err = s.LiveRefreshFamily(ctx, g.ID, at(time.Hour))
	wantErr(t, "LiveRefreshFamily(at the family's expiry)", err, store.ErrNotFound)
}

func testRefreshSessionEnded(t *testing.T, s refreshStore) {
	type ending struct {
		name   string
		end    func(t *testing.T, u *store.User, sess *store.Session, now time.Time)
		reason string // "" when the family is gone with the user
	}
	for _, c := range []ending{
		{"RevokeSession", func(t *testing.T, _ *store.User, sess *store.Session, now time.Time) {
			must(t, "RevokeSession", s.RevokeSession(t.Context(), sess.Digest, now))
		}, store.RevokeReasonSession},
		{"RevokeSessionByID", func(t *testing.T, u *store.User, sess *store.Session, now time.Time) {
			must(t, "RevokeSessionByID", s.RevokeSessionByID(t.Context(), u.ID, sess.ID, now))
		}, store.RevokeReasonSession},
		{"RevokeUserSessions", func(t *testing.T, u *store.User, _ *store.Session, now time.Time) {
			_, err := s.RevokeUserSessions(t.Context(), u.ID, nil, now)
			must(t, "RevokeUserSessions", err)
		}, store.RevokeReasonSession},
		{"SetDisabled", func(t *testing.T, u *store.User, _ *store.Session, now time.Time) {
			must(t, "SetDisabled", s.SetDisabled(t.Context(), u.ID, now, now))
		}, store.RevokeReasonSession},
		{"DeleteUser", func(t *testing.T, u *store.User, _ *store.Session, _ time.Time) {
			must(t, "DeleteUser", s.DeleteUser(t.Context(), u.ID))
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			u := newUser(t, s, "ended-"+c.name+"@example.com")
			sess := liveSessionOf(t, s, u, c.name)
			f := newFamily(t, s, u, sess, "s0-"+c.name)
			c.end(t, u, sess, at(time.Minute))
			now := at(2 * time.Minute)
			_, err := s.LiveRefreshFamily(ctx, f.ID, now)
			wantErr(t, "LiveRefreshFamily(session ended)", err, store.ErrNotFound)
			_, err = s.RotateRefreshToken(ctx, digest("s0-"+c.name), nextToken("s1-"+c.name, now), now)
			wantErr(t, "RotateRefreshToken(session ended)", err, store.ErrNotFound)
			if c.reason != "" {
				wantFamilyEnded(t, s, f, c.reason, now)
			}
			_, err = s.RefreshFamilyByToken(ctx, digest("s1-"+c.name))
			wantErr(t, "RefreshFamilyByToken(token offered after the session ended)", err, store.ErrNotFound)
		})
	}
}

func testRevokeRefreshFamily(t *testing.T, s refreshStore) {
	ctx := t.Context()
	u := newUser(t, s, "revoke@example.com")
	other := newUser(t, s, "revoke-other@example.com")
	sess := liveSessionOf(t, s, u, "u")
	f := newFamily(t, s, u, sess, "v0")
	keep := newFamily(t, s, u, sess, "k0")

	_, err := s.RevokeRefreshFamily(ctx, other.ID, f.ID, store.RevokeReasonUser, t0)
	wantErr(t, "RevokeRefreshFamily(another user's family)", err, store.ErrNotFound)
	_, err = s.LiveRefreshFamily(ctx, f.ID, t0)
	must(t, "LiveRefreshFamily(after another user's revocation)", err)
	_, err = s.RevokeRefreshFamily(ctx, u.ID, "no-such-family", store.RevokeReasonUser, t0)
	wantErr(t, "RevokeRefreshFamily(unknown)", err, store.ErrNotFound)

	now := at(time.Minute)
	got, err := s.RevokeRefreshFamily(ctx, u.ID, f.ID, store.RevokeReasonClient, now)
	must(t, "RevokeRefreshFamily", err)
	sameTime(t, "revoked family: RevokedAt", got.RevokedAt, now)
	wantFamilyEnded(t, s, f, store.RevokeReasonClient, now)
	_, err = s.RotateRefreshToken(ctx, digest("v0"), nextToken("v1", now), now)
	wantErr(t, "RotateRefreshToken(revoked family)", err, store.ErrNotFound)
	// The other family of the same session lives on.
	_, err = s.RotateRefreshToken(ctx, digest("k0"), nextToken("k1", now), now)
	must(t, "RotateRefreshToken(the other family)", err)
	_, err = s.LiveRefreshFamily(ctx, keep.ID, now)
	must(t, "LiveRefreshFamily(the other family)", err)
}

func testUserRefreshFamilies(t *testing.T, s refreshStore) {
	ctx := t.Context()
	u := newUser(t, s, "list@example.com")
	other := newUser(t, s, "list-other@example.com")
	sess := liveSessionOf(t, s, u, "u")
	older := newFamily(t, s, u, sess, "l0")
	newer := &store.RefreshFamily{UserID: u.ID, SessionID: sess.ID, CreatedAt: at(time.Second), ExpiresAt: at(time.Hour)}
	must(t, "CreateRefreshFamily", s.CreateRefreshFamily(ctx, newer, nextToken("l1", t0), t0))
	revoked := newFamily(t, s, u, sess, "l2")
	_, err := s.RevokeRefreshFamily(ctx, u.ID, revoked.ID, store.RevokeReasonUser, t0)
	must(t, "RevokeRefreshFamily", err)
	newFamily(t, s, other, liveSessionOf(t, s, other, "other"), "l3")

	list, err := s.UserRefreshFamilies(ctx, u.ID, at(time.Minute))
	must(t, "UserRefreshFamilies", err)
	var ids []string
	for _, f := range list {
		ids = append(ids, f.ID)
	}
	if want := []string{newer.ID, older.ID}; !slices.Equal(ids, want) {
		t.Errorf("UserRefreshFamilies: got %q, want %q (live ones of the user, newest first)", ids, want)
	}
}

func testPurgeRefreshFamilies(t *testing.T, s refreshStore) {
	ctx := t.Context()
	u := newUser(t, s, "purge@example.com")
	sess := liveSessionOf(t, s, u, "u")
	short := &store.RefreshFamily{UserID: u.ID, SessionID: sess.ID, CreatedAt: t0, ExpiresAt: at(time.Hour)}
	must(t, "CreateRefreshFamily", s.CreateRefreshFamily(ctx, short, nextToken("p0", t0), t0))
	revoked := newFamily(t, s, u, sess, "p1")
	_, err := s.RevokeRefreshFamily(ctx, u.ID, revoked.ID, store.RevokeReasonUser, at(2*time.Hour))
	must(t, "RevokeRefreshFamily", err)
	live := newFamily(t, s, u, sess, "p2")

	n, err := s.PurgeRefreshFamilies(ctx, at(time.Hour)) // strictly before
	must(t, "PurgeRefreshFamilies(at the expiry)", err)
	if n != 0 {
		t.Errorf("PurgeRefreshFamilies(at the expiry): purged %d, want 0", n)
	}
	n, err = s.PurgeRefreshFamilies(ctx, at(3*time.Hour))
	must(t, "PurgeRefreshFamilies", err)
	if n != 2 {
		t.Errorf("PurgeRefreshFamilies: purged %d, want 2 (the expired and the revoked)", n)
	}
	for _, secret := range []string{"p0", "p1"} {
		_, err := s.RefreshFamilyByToken(ctx, digest(secret))
		wantErr(t, "RefreshFamilyByToken(purged "+secret+")", err, store.ErrNotFound)
	}
	got, err := s.RefreshFamilyByToken(ctx, digest("p2"))
	must(t, "RefreshFamilyByToken(live)", err)
	if got.ID != live.ID {
		t.Errorf("RefreshFamilyByToken(live): got family %q, want %q", got.ID, live.ID)
	}
}

// Inside a transaction the methods join it: a rollback leaves no family,
// and a reuse detected in a transaction that goes on to commit stays
// revoked (the store's own statements did not fail the transaction).
func testRefreshTransaction(t *testing.T, s refreshStore, e env) {
	tx, ok := as[store.Transactor](e)
	if !ok {
		t.Skipf("storetest: %s does not implement store.Transactor", typeName(e.typ))
	}
	ctx := t.Context()
	u := newUser(t, s, "tx-family@example.com")
	sess := liveSessionOf(t, s, u, "tx")
	errRollback := errors.New("roll back")
	err := tx.InTx(ctx, func(ctx context.Context) error {
		f := &store.RefreshFamily{UserID: u.ID, SessionID: sess.ID, CreatedAt: t0, ExpiresAt: at(time.Hour)}
		if err := s.CreateRefreshFamily(ctx, f, nextToken("tx0", t0), t0); err != nil {
			return fmt.Errorf("CreateRefreshFamily in the transaction: %w", err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx: got %v, want the function's error", err)
	}
	_, err = s.RefreshFamilyByToken(ctx, digest("tx0"))
	wantErr(t, "RefreshFamilyByToken(rolled back)", err, store.ErrNotFound)

	f := newFamily(t, s, u, sess, "t0")
	now := at(time.Minute)
	_, err = s.RotateRefreshToken(ctx, digest("t0"), nextToken("t1", now), now)
	must(t, "RotateRefreshToken", err)
	must(t, "InTx", tx.InTx(ctx, func(ctx context.Context) error {
		_, err := s.RotateRefreshToken(ctx, digest("t0"), nextToken("t2", now), now)
		if !errors.Is(err, store.ErrReplay) {
			return fmt.Errorf("RotateRefreshToken(reuse) in the transaction: got %v, want ErrReplay", err)
		}
		// The transaction is still usable.
		_, err = s.RefreshFamilyByToken(ctx, digest("t1"))
		return err
	}))
	wantFamilyEnded(t, s, f, store.RevokeReasonReuse, now)
}
