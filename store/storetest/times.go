package storetest

import (
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

func timeChecks() []check {
	return []check{
		{"RoundTrip", testTimesRoundTrip},
		{"SubMillisecond", testTimesSubMillisecond},
		{"Zero", testTimesZero},
	}
}

// Times given in another zone come back as the same instant in UTC; the
// range covers dates before 1970 and far in the future.
func testTimesRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC+05:30", 5*3600+1800)
	local := func(d time.Duration) time.Time { return at(d).In(zone) }
	u := &store.User{
		Email:            "times@example.com",
		EmailConfirmedAt: local(time.Second),
		LockedUntil:      local(2 * time.Second),
		MFALockedUntil:   local(3 * time.Second),
		DisabledAt:       time.Date(1969, time.July, 20, 20, 17, 40, 123_000_000, zone),
		DeletionDueAt:    time.Date(2200, time.January, 1, 0, 0, 0, 999_000_000, zone),
		CreatedAt:        local(-time.Hour),
		UpdatedAt:        local(-time.Minute),
	}
	must(t, "CreateUser", s.CreateUser(ctx, u))
	got := getUser(t, s, u.ID)
	sameTime(t, "EmailConfirmedAt", got.EmailConfirmedAt, u.EmailConfirmedAt)
	sameTime(t, "LockedUntil", got.LockedUntil, u.LockedUntil)
	sameTime(t, "MFALockedUntil", got.MFALockedUntil, u.MFALockedUntil)
	sameTime(t, "DisabledAt before 1970", got.DisabledAt, u.DisabledAt)
	sameTime(t, "DeletionDueAt in 2200", got.DeletionDueAt, u.DeletionDueAt)
	sameTime(t, "CreatedAt", got.CreatedAt, u.CreatedAt)
	sameTime(t, "UpdatedAt", got.UpdatedAt, u.UpdatedAt)

	sess := liveSession(digest("times"), u.ID)
	sess.AuthTime, sess.SudoTime = local(time.Second), local(2*time.Second)
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = local(-time.Hour), local(-time.Second), time.Date(2200, time.January, 1, 0, 0, 0, 0, zone)
	must(t, "SaveSession", s.SaveSession(ctx, sess))
	gs, gu, err := s.SessionWithUser(ctx, sess.Digest, t0, 0)
	must(t, "SessionWithUser", err)
	sameSession(t, "session", gs, sess)
	sameUser(t, "joined user", gu, got)

	tok := newToken(store.PurposeReset, "times", u.ID, local(time.Hour))
	tok.CreatedAt = local(-time.Second)
	must(t, "CreateToken", s.CreateToken(ctx, tok))
	gt, err := s.PeekToken(ctx, store.PurposeReset, tok.Digest, t0)
	must(t, "PeekToken", err)
	sameToken(t, "token", gt, tok)

	b := newBrowser(u.ID, "times", local(-time.Second), local(time.Hour))
	must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, b))
	gb, err := s.TrustedBrowserByDigest(ctx, u.ID, b.Digest, t0)
	must(t, "TrustedBrowserByDigest", err)
	sameBrowser(t, "trusted browser", gb, b)

	e := &store.AuditEvent{At: local(-time.Millisecond), Action: "times", Outcome: "success"}
	must(t, "AppendAudit", s.AppendAudit(ctx, e))
	events, _, err := s.QueryAudit(ctx, store.AuditQuery{Action: "times", Since: local(-time.Millisecond), Until: local(0)})
	must(t, "QueryAudit", err)
	if len(events) != 1 {
		t.Fatalf("QueryAudit with zoned bounds: got %d events, want 1", len(events))
	}
	sameTime(t, "audit At", events[0].At, e.At)

	m := newMessage("times@example.com", local(0))
	m.CreatedAt = local(-time.Second)
	must(t, "Enqueue", s.Enqueue(ctx, m))
	ms := claim(t, s, local(0), time.Minute, 1)
	if len(ms) != 1 {
		t.Fatalf("ClaimMessages: got %d, want 1", len(ms))
	}
	sameMessage(t, "message", ms[0], m)

	must(t, "ReserveEmail", s.ReserveEmail(ctx, u.ID, "later@example.com", local(time.Hour), local(0)))
	_, exp, err := s.EmailReservation(ctx, u.ID, local(0))
	must(t, "EmailReservation", err)
	sameTime(t, "reservation expiry", exp, at(time.Hour))

	l, err := s.Hit(ctx, "times", 1, time.Minute, local(0))
	must(t, "Hit", err)
	sameTime(t, "limit Reset", l.Reset, at(time.Minute))

	lock, err := s.RecordFailure(ctx, u.ID, store.LockPassword, 1, time.Minute, local(0))
	must(t, "RecordFailure", err)
	sameTime(t, "lockedUntil", lock, at(time.Minute))
}

// Precision finer than a millisecond may be dropped, but not more.
func testTimesSubMillisecond(t *testing.T, s store.Store) {
	ctx := t.Context()
	fine := t0.Add(123_456 * time.Nanosecond)
	u := &store.User{Email: "fine@example.com", EmailConfirmedAt: fine, CreatedAt: fine, UpdatedAt: fine}
	must(t, "CreateUser", s.CreateUser(ctx, u))
	got := getUser(t, s, u.ID)
	for name, v := range map[string]time.Time{"EmailConfirmedAt": got.EmailConfirmedAt, "CreatedAt": got.CreatedAt} {
		if d := v.Sub(fine).Abs(); d >= time.Millisecond || v.Location() != time.UTC {
			t.Errorf("%s: got %v, want within a millisecond of %v, in UTC", name, v, fine)
		}
	}
}

func testTimesZero(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "zero@example.com")
	got := getUser(t, s, u.ID)
	for name, v := range map[string]time.Time{
		"EmailConfirmedAt": got.EmailConfirmedAt,
		"LockedUntil":      got.LockedUntil,
		"MFALockedUntil":   got.MFALockedUntil,
		"DisabledAt":       got.DisabledAt,
		"DeletionDueAt":    got.DeletionDueAt,
	} {
		if !v.IsZero() {
			t.Errorf("%s of a new user: got %v, want the zero time", name, v)
		}
	}
	sess := liveSession(digest("zero"), "")
	must(t, "SaveSession", s.SaveSession(ctx, sess))
	gs := getSession(t, s, sess.Digest, t0)
	if !gs.AuthTime.IsZero() || !gs.SudoTime.IsZero() || !gs.RevokedAt.IsZero() {
		t.Errorf("zero session times: got (%v, %v, %v), want zero", gs.AuthTime, gs.SudoTime, gs.RevokedAt)
	}
	m := enqueue(t, s, newMessage("zero@example.com", t0))
	ms := claim(t, s, t0, time.Minute, 1)
	if len(ms) != 1 || ms[0].ID != m.ID || !ms[0].SentAt.IsZero() {
		t.Errorf("SentAt of a queued message: got %+v, want zero", ms)
	}
	must(t, "SavePendingTOTP", s.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("s"), CreatedAt: t0}))
	if got := getTOTP(t, s, u.ID); !got.ConfirmedAt.IsZero() {
		t.Errorf("ConfirmedAt of a pending secret: got %v, want zero", got.ConfirmedAt)
	}
}
