package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

func sessionChecks() []check {
	return []check{
		checkOf("SaveSession/Insert", testSaveSessionInsert),
		checkOf("SaveSession/Update", testSaveSessionUpdate),
		checkOf("SaveSession/Tombstone", testSaveSessionTombstone),
		checkOf("SaveSession/ConcurrentRevoke", testSaveSessionConcurrentRevoke),
		checkOf("SessionByDigest", testSessionByDigest),
		checkOf("SessionWithUser", testSessionWithUser),
		checkOf("TouchSession", testTouchSession),
		checkOf("RevokeSession", testRevokeSession),
		checkOf("RevokeSessionByID", testRevokeSessionByID),
		checkOf("RevokeUserSessions", testRevokeUserSessions),
		checkOf("UserSessions", testUserSessions),
		checkOf("PurgeSessions", testPurgeSessions),
	}
}

// liveSession returns an authenticated session of userID (anonymous when
// userID is empty), created and last seen at t0, expiring a day later.
func liveSession(d []byte, userID string) *store.Session {
	s := &store.Session{
		Digest:     d,
		Data:       []byte("scs\x00data"),
		UserID:     userID,
		State:      store.SessionAnonymous,
		CreatedAt:  t0,
		LastSeenAt: t0,
		ExpiresAt:  at(24 * time.Hour),
		IP:         "192.0.2.1",
		UserAgent:  "Mozilla/5.0 (test)",
	}
	if userID != "" {
		s.State = store.SessionAuthenticated
		s.AAL = 1
		s.Methods = []string{"password"}
		s.AuthTime = t0
	}
	return s
}

// sameSession compares every field of got with want.
func sameSession(t *testing.T, what string, got, want *store.Session) {
	t.Helper()
	if !bytes.Equal(got.Digest, want.Digest) {
		t.Errorf("%s: Digest: got %x, want %x", what, got.Digest, want.Digest)
	}
	if got.ID != want.ID {
		t.Errorf("%s: ID: got %q, want %q", what, got.ID, want.ID)
	}
	if !bytes.Equal(got.Data, want.Data) {
		t.Errorf("%s: Data: got %q, want %q", what, got.Data, want.Data)
	}
	if got.UserID != want.UserID || got.State != want.State || got.AAL != want.AAL {
		t.Errorf("%s: (UserID, State, AAL): got (%q, %q, %d), want (%q, %q, %d)", what, got.UserID, got.State, got.AAL, want.UserID, want.State, want.AAL)
	}
	if !slices.Equal(got.Methods, want.Methods) && (len(got.Methods) != 0 || len(want.Methods) != 0) {
		t.Errorf("%s: Methods: got %q, want %q", what, got.Methods, want.Methods)
	}
	if got.ActiveOrg != want.ActiveOrg || got.Impersonator != want.Impersonator || got.Remember != want.Remember {
		t.Errorf("%s: (ActiveOrg, Impersonator, Remember): got (%q, %q, %v), want (%q, %q, %v)", what, got.ActiveOrg, got.Impersonator, got.Remember, want.ActiveOrg, want.Impersonator, want.Remember)
	}
	if got.IP != want.IP || got.UserAgent != want.UserAgent {
		t.Errorf("%s: (IP, UserAgent): got (%q, %q), want (%q, %q)", what, got.IP, got.UserAgent, want.IP, want.UserAgent)
	}
	sameTime(t, what+": AuthTime", got.AuthTime, want.AuthTime)
	sameTime(t, what+": SudoTime", got.SudoTime, want.SudoTime)
	sameTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+": LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	sameTime(t, what+": ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	sameTime(t, what+": RevokedAt", got.RevokedAt, want.RevokedAt)
}

func getSession(t *testing.T, s store.Sessions, d []byte, now time.Time) *store.Session {
	t.Helper()
	got, err := s.SessionByDigest(t.Context(), d, now, 0)
	if err != nil {
		t.Fatalf("SessionByDigest: %v", err)
	}
	return got
}

func testSaveSessionInsert(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u := newUser(t, s, "session@example.com")
	full := &store.Session{
		Digest:       digest("full"),
		Data:         []byte{0, 1, 2, 0xff, 0},
		UserID:       u.ID,
		State:        store.SessionAuthenticated,
		AAL:          2,
		Methods:      []string{"password", "totp", "recovery_code"},
		AuthTime:     at(-time.Minute),
		SudoTime:     at(-30 * time.Second),
		ActiveOrg:    store.NewID(),
		Impersonator: store.NewID(),
		Remember:     true,
		CreatedAt:    at(-time.Hour),
		LastSeenAt:   at(-time.Second),
		ExpiresAt:    at(30 * 24 * time.Hour),
		IP:           "2001:db8::1",
		UserAgent:    "Mozilla/5.0 (X11; Linux x86_64) «ünïcode»",
	}
	must(t, "SaveSession", s.SaveSession(ctx, full))
	if full.ID == "" {
		t.Fatal("SaveSession left an empty ID unfilled")
	}
	// The user is a member of no organization: the active one is not
	// stored (the Orgs part checks one the user belongs to).
	want := *full
	want.ActiveOrg = ""
	sameSession(t, "full session", getSession(t, s, full.Digest, t0), &want)

	anon := liveSession(digest("anonymous"), "")
	anon.CreatedAt = time.Time{}
	anon.Data = nil
	must(t, "SaveSession(anonymous)", s.SaveSession(ctx, anon))
	if anon.ID == "" || anon.CreatedAt.IsZero() {
		t.Fatalf("SaveSession fills: got ID %q, CreatedAt %v, want both set", anon.ID, anon.CreatedAt)
	}
	if anon.ID == full.ID {
		t.Errorf("two sessions got the same ID %q", anon.ID)
	}
	sameSession(t, "anonymous session", getSession(t, s, anon.Digest, t0), anon)
}

func testSaveSessionUpdate(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u := newUser(t, s, "update@example.com")
	d := digest("update")
	first := liveSession(d, "")
	must(t, "SaveSession", s.SaveSession(ctx, first))

	// Sign-in: every field but Digest, ID, CreatedAt and RevokedAt changes.
	next := &store.Session{
		Digest:       d,
		ID:           store.NewID(),
		Data:         []byte("signed in"),
		UserID:       u.ID,
		State:        store.SessionPending,
		AAL:          1,
		Methods:      []string{"password"},
		AuthTime:     at(time.Minute),
		SudoTime:     at(time.Minute),
		ActiveOrg:    "org",
		Impersonator: "admin",
		Remember:     true,
		CreatedAt:    at(time.Minute),
		LastSeenAt:   at(time.Minute),
		ExpiresAt:    at(48 * time.Hour),
		RevokedAt:    at(time.Minute),
		IP:           "198.51.100.7",
		UserAgent:    "curl/8",
	}
	must(t, "SaveSession(update)", s.SaveSession(ctx, next))
	want := *next
	want.ID, want.CreatedAt, want.RevokedAt = first.ID, first.CreatedAt, time.Time{}
	want.ActiveOrg = "" // not an organization of the user's
	sameSession(t, "updated session", getSession(t, s, d, at(time.Minute)), &want)

	// And back: fields can be cleared.
	back := liveSession(d, "")
	back.ID = first.ID
	back.LastSeenAt = at(2 * time.Minute)
	must(t, "SaveSession(clear)", s.SaveSession(ctx, back))
	sameSession(t, "cleared session", getSession(t, s, d, at(2*time.Minute)), back)
}

func testSaveSessionTombstone(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u := newUser(t, s, "tomb@example.com")
	d := digest("tomb")
	sess := liveSession(d, u.ID)
	must(t, "SaveSession", s.SaveSession(ctx, sess))
	must(t, "RevokeSession", s.RevokeSession(ctx, d, at(time.Minute)))

	// A request that was in flight saves the session it loaded.
	stale := *sess
	stale.Data = []byte("written after revocation")
	stale.LastSeenAt = at(2 * time.Minute)
	stale.ExpiresAt = at(72 * time.Hour)
	stale.RevokedAt = time.Time{}
	wantErr(t, "SaveSession after RevokeSession", s.SaveSession(ctx, &stale), nil)
	_, err := s.SessionByDigest(ctx, d, at(2*time.Minute), 0)
	wantErr(t, "SessionByDigest after saving a revoked session", err, store.ErrNotFound)
	_, _, err = s.SessionWithUser(ctx, d, at(2*time.Minute), 0)
	wantErr(t, "SessionWithUser after saving a revoked session", err, store.ErrNotFound)
	list, err := s.UserSessions(ctx, u.ID, at(2*time.Minute))
	must(t, "UserSessions", err)
	if len(list) != 0 {
		t.Errorf("UserSessions after saving a revoked session: got %d, want 0", len(list))
	}

	// The row was neither re-created nor changed: it still expires when it
	// did, and was still revoked at the first revocation's time.
	n, err := s.PurgeSessions(ctx, at(time.Minute))
	must(t, "PurgeSessions(at revocation)", err)
	if n != 0 {
		t.Errorf("PurgeSessions(before = revocation time): got %d, want 0 (RevokedAt moved or cleared?)", n)
	}
	n, err = s.PurgeSessions(ctx, at(time.Minute+time.Millisecond))
	must(t, "PurgeSessions", err)
	if n != 1 {
		t.Errorf("PurgeSessions(just after revocation): got %d, want 1 (RevokedAt cleared or row duplicated?)", n)
	}
}

func testSaveSessionConcurrentRevoke(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u := newUser(t, s, "race@example.com")
	d := digest("race")
	sess := liveSession(d, u.ID)
	must(t, "SaveSession", s.SaveSession(ctx, sess))
	const n = 16
	errs := race(n+1, func(i int) error {
		if i == n {
			return s.RevokeSession(ctx, d, at(time.Minute))
		}
		c := *sess
		c.LastSeenAt = at(time.Duration(i) * time.Second)
		return s.SaveSession(ctx, &c)
	})
	countOutcomes(t, "SaveSession racing RevokeSession", errs, nil)
	_, err := s.SessionByDigest(ctx, d, at(time.Minute), 0)
	wantErr(t, "SessionByDigest after the race", err, store.ErrNotFound)
}

func testSessionByDigest(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u := newUser(t, s, "lookup@example.com")
	d := digest("lookup")
	sess := liveSession(d, u.ID) // last seen t0, expires t0+24h
	must(t, "SaveSession", s.SaveSession(ctx, sess))
	const idle = 30 * time.Minute
	tests := []struct {
		name string
		d    []byte
		now  time.Time
		idle time.Duration
		want error
	}{
		{"live", d, at(time.Minute), idle, nil},
		{"unknown digest", digest("unknown"), at(time.Minute), idle, store.ErrNotFound},
		{"empty digest", nil, at(time.Minute), idle, store.ErrNotFound},
		{"just before idle timeout", d, at(idle - time.Millisecond), idle, nil},
		{"at idle timeout", d, at(idle), idle, store.ErrNotFound},
		{"idle check off", d, at(23 * time.Hour), 0, nil},
		{"just before expiry", d, at(24*time.Hour - time.Millisecond), 0, nil},
		{"at expiry", d, at(24 * time.Hour), 0, store.ErrNotFound},
		{"after expiry", d, at(25 * time.Hour), 0, store.ErrNotFound},
	}
	for _, tt := range tests {
		got, err := s.SessionByDigest(ctx, tt.d, tt.now, tt.idle)
		wantErr(t, "SessionByDigest: "+tt.name, err, tt.want)
		if err == nil && got.ID != sess.ID {
			t.Errorf("SessionByDigest: %s: got ID %q, want %q", tt.name, got.ID, sess.ID)
		}
	}
}

func testSessionWithUser(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u := newUser(t, s, "Joined@example.com")
	must(t, "ConfirmEmail", s.ConfirmEmail(ctx, u.ID, u.Email, at(time.Second)))
	must(t, "SetPasswordHash", s.SetPasswordHash(ctx, u.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", at(2*time.Second)))
	want := getUser(t, s, u.ID)

	d := digest("joined")
	sess := liveSession(d, u.ID)
	must(t, "SaveSession", s.SaveSession(ctx, sess))
	gotS, gotU, err := s.SessionWithUser(ctx, d, at(time.Minute), time.Hour)
	must(t, "SessionWithUser", err)
	sameSession(t, "SessionWithUser session", gotS, sess)
	if gotU == nil {
		t.Fatal("SessionWithUser: got a nil user for a signed-in session")
	}
	sameUser(t, "SessionWithUser user", gotU, want)

	anon := liveSession(digest("anon"), "")
	must(t, "SaveSession(anonymous)", s.SaveSession(ctx, anon))
	gotS, gotU, err = s.SessionWithUser(ctx, anon.Digest, at(time.Minute), time.Hour)
	must(t, "SessionWithUser(anonymous)", err)
	if gotU != nil {
		t.Errorf("SessionWithUser(anonymous): got user %+v, want nil", gotU)
	}
	sameSession(t, "anonymous session", gotS, anon)

	for _, tt := range []struct {
		name string
		d    []byte
		now  time.Time
		idle time.Duration
	}{
		{"unknown", digest("nope"), at(time.Minute), 0},
		{"expired", d, at(24 * time.Hour), 0},
		{"idle", d, at(2 * time.Hour), time.Hour},
	} {
		s, u, err := s.SessionWithUser(ctx, tt.d, tt.now, tt.idle)
		wantErr(t, "SessionWithUser("+tt.name+")", err, store.ErrNotFound)
		if s != nil || u != nil {
			t.Errorf("SessionWithUser(%s): got (%v, %v), want nils with the error", tt.name, s, u)
		}
	}
	must(t, "RevokeSession", s.RevokeSession(ctx, d, at(time.Minute)))
	_, _, err = s.SessionWithUser(ctx, d, at(time.Minute), 0)
	wantErr(t, "SessionWithUser(revoked)", err, store.ErrNotFound)
}

// sameUser compares every field of got with want.
func sameUser(t *testing.T, what string, got, want *store.User) {
	t.Helper()
	if got.ID != want.ID || got.Email != want.Email || got.PasswordHash != want.PasswordHash {
		t.Errorf("%s: (ID, Email, PasswordHash): got (%q, %q, %q), want (%q, %q, %q)", what, got.ID, got.Email, got.PasswordHash, want.ID, want.Email, want.PasswordHash)
	}
	if got.FailedLogins != want.FailedLogins || got.FailedMFA != want.FailedMFA {
		t.Errorf("%s: (FailedLogins, FailedMFA): got (%d, %d), want (%d, %d)", what, got.FailedLogins, got.FailedMFA, want.FailedLogins, want.FailedMFA)
	}
	sameTime(t, what+": EmailConfirmedAt", got.EmailConfirmedAt, want.EmailConfirmedAt)
	sameTime(t, what+": LockedUntil", got.LockedUntil, want.LockedUntil)
	sameTime(t, what+": MFALockedUntil", got.MFALockedUntil, want.MFALockedUntil)
	sameTime(t, what+": DisabledAt", got.DisabledAt, want.DisabledAt)
	sameTime(t, what+": DeletionDueAt", got.DeletionDueAt, want.DeletionDueAt)
	sameTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+": UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func testTouchSession(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u := newUser(t, s, "touch@example.com")
	d := digest("touch")
	sess := liveSession(d, u.ID)
	must(t, "SaveSession", s.SaveSession(ctx, sess))

	must(t, "TouchSession", s.TouchSession(ctx, d, at(20*time.Minute), "203.0.113.9", "agent/2"))
	// Past the original idle deadline, alive thanks to the touch.
	got, err := s.SessionByDigest(ctx, d, at(40*time.Minute), 30*time.Minute)
	must(t, "SessionByDigest after TouchSession", err)
	want := *sess
	want.LastSeenAt, want.IP, want.UserAgent = at(20*time.Minute), "203.0.113.9", "agent/2"
	sameSession(t, "touched session", got, &want)

	wantErr(t, "TouchSession(missing)", s.TouchSession(ctx, digest("missing"), at(time.Minute), "", ""), nil)
	must(t, "RevokeSession", s.RevokeSession(ctx, d, at(21*time.Minute)))
	wantErr(t, "TouchSession(revoked)", s.TouchSession(ctx, d, at(22*time.Minute), "203.0.113.10", "agent/3"), nil)
	_, err = s.SessionByDigest(ctx, d, at(22*time.Minute), 0)
	wantErr(t, "SessionByDigest after touching a revoked session", err, store.ErrNotFound)
}

func testRevokeSession(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u := newUser(t, s, "revoke@example.com")
	d, other := digest("revoke"), digest("other")
	must(t, "SaveSession", s.SaveSession(ctx, liveSession(d, u.ID)))
	must(t, "SaveSession(other)", s.SaveSession(ctx, liveSession(other, u.ID)))

	wantErr(t, "RevokeSession(missing)", s.RevokeSession(ctx, digest("missing"), t0), nil)
	must(t, "RevokeSession", s.RevokeSession(ctx, d, at(time.Minute)))
	_, err := s.SessionByDigest(ctx, d, at(time.Minute), 0)
	wantErr(t, "SessionByDigest(revoked)", err, store.ErrNotFound)
	getSession(t, s, other, at(time.Minute)) // untouched

	// Revoking again does not move RevokedAt.
	must(t, "RevokeSession again", s.RevokeSession(ctx, d, at(time.Hour)))
	n, err := s.PurgeSessions(ctx, at(time.Minute+time.Millisecond))
	must(t, "PurgeSessions", err)
	if n != 1 {
		t.Errorf("PurgeSessions just after the first revocation: got %d, want 1 (a second revoke moved RevokedAt?)", n)
	}
}

func testRevokeSessionByID(t *testing.T, s sessionStore) {
	ctx := t.Context()
	owner := newUser(t, s, "first@example.com")
	intruder := newUser(t, s, "second@example.com")
	victim := liveSession(digest("victim"), owner.ID)
	own := liveSession(digest("own"), intruder.ID)
	expired := liveSession(digest("expired"), intruder.ID)
	expired.ExpiresAt = at(time.Minute)
	for _, x := range []*store.Session{victim, own, expired} {
		must(t, "SaveSession", s.SaveSession(ctx, x))
	}

	// Another user's session id is not found, and nothing is revoked.
	wantErr(t, "RevokeSessionByID(another user's id)", s.RevokeSessionByID(ctx, intruder.ID, victim.ID, at(2*time.Minute)), store.ErrNotFound)
	getSession(t, s, victim.Digest, at(2*time.Minute))
	getSession(t, s, own.Digest, at(2*time.Minute))
	wantErr(t, "RevokeSessionByID(unknown id)", s.RevokeSessionByID(ctx, intruder.ID, store.NewID(), at(2*time.Minute)), store.ErrNotFound)
	wantErr(t, "RevokeSessionByID(expired)", s.RevokeSessionByID(ctx, intruder.ID, expired.ID, at(2*time.Minute)), store.ErrNotFound)

	must(t, "RevokeSessionByID", s.RevokeSessionByID(ctx, intruder.ID, own.ID, at(2*time.Minute)))
	_, err := s.SessionByDigest(ctx, own.Digest, at(2*time.Minute), 0)
	wantErr(t, "SessionByDigest after RevokeSessionByID", err, store.ErrNotFound)
	wantErr(t, "RevokeSessionByID(already revoked)", s.RevokeSessionByID(ctx, intruder.ID, own.ID, at(3*time.Minute)), store.ErrNotFound)
	getSession(t, s, victim.Digest, at(3*time.Minute))
}

func testRevokeUserSessions(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u := newUser(t, s, "everywhere@example.com")
	other := newUser(t, s, "other@example.com")
	var mine [][]byte
	for _, name := range []string{"a", "b", "c", "d"} {
		d := digest("mine-" + name)
		mine = append(mine, d)
		must(t, "SaveSession", s.SaveSession(ctx, liveSession(d, u.ID)))
	}
	expired := liveSession(digest("mine-expired"), u.ID)
	expired.ExpiresAt = at(time.Minute)
	must(t, "SaveSession(expired)", s.SaveSession(ctx, expired))
	must(t, "RevokeSession", s.RevokeSession(ctx, mine[3], at(time.Minute))) // already revoked
	theirs := digest("theirs")
	must(t, "SaveSession(other user)", s.SaveSession(ctx, liveSession(theirs, other.ID)))

	n, err := s.RevokeUserSessions(ctx, u.ID, mine[0], at(2*time.Minute))
	must(t, "RevokeUserSessions(except current)", err)
	if n != 2 {
		t.Errorf("RevokeUserSessions(except current): got %d, want 2 (live sessions only, current kept)", n)
	}
	getSession(t, s, mine[0], at(2*time.Minute))
	getSession(t, s, theirs, at(2*time.Minute))
	for _, d := range mine[1:] {
		_, err := s.SessionByDigest(ctx, d, at(2*time.Minute), 0)
		wantErr(t, "SessionByDigest(revoked everywhere)", err, store.ErrNotFound)
	}

	n, err = s.RevokeUserSessions(ctx, u.ID, nil, at(3*time.Minute))
	must(t, "RevokeUserSessions(all)", err)
	if n != 1 {
		t.Errorf("RevokeUserSessions(all): got %d, want 1", n)
	}
	_, err = s.SessionByDigest(ctx, mine[0], at(3*time.Minute), 0)
	wantErr(t, "SessionByDigest(current after revoking all)", err, store.ErrNotFound)
	getSession(t, s, theirs, at(3*time.Minute))

	n, err = s.RevokeUserSessions(ctx, store.NewID(), nil, at(3*time.Minute))
	must(t, "RevokeUserSessions(unknown user)", err)
	if n != 0 {
		t.Errorf("RevokeUserSessions(unknown user): got %d, want 0", n)
	}
}

func testUserSessions(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u := newUser(t, s, "list@example.com")
	other := newUser(t, s, "other@example.com")
	list, err := s.UserSessions(ctx, u.ID, t0)
	must(t, "UserSessions(none)", err)
	if len(list) != 0 {
		t.Fatalf("UserSessions(none): got %d, want 0", len(list))
	}

	seen := []time.Duration{2 * time.Minute, 5 * time.Minute, time.Minute, 4 * time.Minute}
	var want []*store.Session
	for i, d := range seen {
		x := liveSession(digest("list-"+string(rune('a'+i))), u.ID)
		x.LastSeenAt = at(d)
		must(t, "SaveSession", s.SaveSession(ctx, x))
		want = append(want, x)
	}
	revoked := liveSession(digest("list-revoked"), u.ID)
	expired := liveSession(digest("list-expired"), u.ID)
	expired.ExpiresAt = at(10 * time.Minute)
	must(t, "SaveSession", s.SaveSession(ctx, revoked))
	must(t, "SaveSession", s.SaveSession(ctx, expired))
	must(t, "RevokeSession", s.RevokeSession(ctx, revoked.Digest, at(time.Minute)))
	must(t, "SaveSession(other user)", s.SaveSession(ctx, liveSession(digest("other"), other.ID)))

	list, err = s.UserSessions(ctx, u.ID, at(10*time.Minute))
	must(t, "UserSessions", err)
	// Most recently seen first.
	order := []int{1, 3, 0, 2}
	if len(list) != len(order) {
		t.Fatalf("UserSessions: got %d sessions, want %d (live only)", len(list), len(order))
	}
	for i, j := range order {
		sameSession(t, "UserSessions entry", list[i], want[j])
	}
}

func testPurgeSessions(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u := newUser(t, s, "purge@example.com")
	early := liveSession(digest("early"), u.ID)
	early.ExpiresAt = at(time.Hour)
	late := liveSession(digest("late"), u.ID)
	late.ExpiresAt = at(3 * time.Hour)
	revoked := liveSession(digest("revoked"), u.ID)
	for _, x := range []*store.Session{early, late, revoked} {
		must(t, "SaveSession", s.SaveSession(ctx, x))
	}
	must(t, "RevokeSession", s.RevokeSession(ctx, revoked.Digest, at(2*time.Hour)))

	steps := []struct {
		before time.Time
		want   int
	}{
		{at(time.Hour), 0},                      // expired at before: not before it
		{at(time.Hour + time.Millisecond), 1},   // early
		{at(2*time.Hour + time.Millisecond), 1}, // revoked
		{at(2*time.Hour + time.Millisecond), 0}, // idempotent
		{at(4 * time.Hour), 1},                  // late
	}
	for _, st := range steps {
		n, err := s.PurgeSessions(ctx, st.before)
		must(t, "PurgeSessions", err)
		if n != st.want {
			t.Errorf("PurgeSessions(%v): got %d, want %d", st.before.Sub(t0), n, st.want)
		}
	}
}
