package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

func timeChecks() []check {
	return []check{
		checkEnv("RoundTrip", testTimesRoundTrip),
		checkOf("SubMillisecond", testTimesSubMillisecond),
		checkEnv("Zero", testTimesZero),
	}
}

// timedKinds are the interfaces whose records RoundTrip checks besides
// users and reservations.
func timedKinds() []reflect.Type {
	return []reflect.Type{
		reflect.TypeFor[store.Sessions](),
		reflect.TypeFor[store.Tokens](),
		reflect.TypeFor[store.TrustedBrowsers](),
		reflect.TypeFor[store.AuditLog](),
		reflect.TypeFor[store.Outbox](),
		reflect.TypeFor[store.Limiter](),
	}
}

// Times given in another zone come back as the same instant in UTC; the
// range covers dates before 1970 and far in the future.
func testTimesRoundTrip(t *testing.T, s store.Users, e env) {
	ctx := t.Context()
	e.logLacking(t, "times of the records", timedKinds()...)
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

	if ss, ok := as[store.Sessions](e); ok {
		sess := liveSession(digest("times"), u.ID)
		sess.AuthTime, sess.SudoTime = local(time.Second), local(2*time.Second)
		sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = local(-time.Hour), local(-time.Second), time.Date(2200, time.January, 1, 0, 0, 0, 0, zone)
		must(t, "SaveSession", ss.SaveSession(ctx, sess))
		gs, gu, err := ss.SessionWithUser(ctx, sess.Digest, t0, 0)
		must(t, "SessionWithUser", err)
		sameSession(t, "session", gs, sess)
		sameUser(t, "joined user", gu, got)
	}

	if ts, ok := as[store.Tokens](e); ok {
		tok := newToken(store.PurposeReset, "times", u.ID, local(time.Hour))
		tok.CreatedAt = local(-time.Second)
		must(t, "CreateToken", ts.CreateToken(ctx, tok))
		gt, err := ts.PeekToken(ctx, store.PurposeReset, tok.Digest, t0)
		must(t, "PeekToken", err)
		sameToken(t, "token", gt, tok)
	}

	if bs, ok := as[store.TrustedBrowsers](e); ok {
		b := newBrowser(u.ID, "times", local(-time.Second), local(time.Hour))
		must(t, "CreateTrustedBrowser", bs.CreateTrustedBrowser(ctx, b))
		gb, err := bs.TrustedBrowserByDigest(ctx, u.ID, b.Digest, t0)
		must(t, "TrustedBrowserByDigest", err)
		sameBrowser(t, "trusted browser", gb, b)
	}

	if al, ok := as[store.AuditLog](e); ok {
		ev := &store.AuditEvent{At: local(-time.Millisecond), Action: "times", Outcome: "success"}
		must(t, "AppendAudit", al.AppendAudit(ctx, ev))
		events, _, err := al.QueryAudit(ctx, store.AuditQuery{Action: "times", Since: local(-time.Millisecond), Until: local(0)})
		must(t, "QueryAudit", err)
		if len(events) != 1 {
			t.Fatalf("QueryAudit with zoned bounds: got %d events, want 1", len(events))
		}
		sameTime(t, "audit At", events[0].At, ev.At)
	}

	if ob, ok := as[store.Outbox](e); ok {
		m := newMessage("times@example.com", local(0))
		m.CreatedAt = local(-time.Second)
		must(t, "Enqueue", ob.Enqueue(ctx, m))
		ms := claim(t, ob, local(0), time.Minute, 1)
		if len(ms) != 1 {
			t.Fatalf("ClaimMessages: got %d, want 1", len(ms))
		}
		sameMessage(t, "message", ms[0], m)
	}

	if ls, ok := as[store.Limiter](e); ok {
		l, err := ls.Hit(ctx, "times", 1, time.Minute, local(0))
		must(t, "Hit", err)
		sameTime(t, "limit Reset", l.Reset, at(time.Minute))
	}

	must(t, "ReserveEmail", s.ReserveEmail(ctx, u.ID, "later@example.com", local(time.Hour), local(0)))
	_, exp, err := s.EmailReservation(ctx, u.ID, local(0))
	must(t, "EmailReservation", err)
	sameTime(t, "reservation expiry", exp, at(time.Hour))

	lock, err := s.RecordFailure(ctx, u.ID, store.LockPassword, 1, time.Minute, local(0))
	must(t, "RecordFailure", err)
	sameTime(t, "lockedUntil", lock, at(time.Minute))
}

// Precision finer than a millisecond may be dropped, but not more.
func testTimesSubMillisecond(t *testing.T, s store.Users) {
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

func testTimesZero(t *testing.T, s store.Users, e env) {
	ctx := t.Context()
	e.logLacking(t, "zero times of the records", reflect.TypeFor[store.Sessions](), reflect.TypeFor[store.Outbox](), reflect.TypeFor[store.TOTP]())
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
	if ss, ok := as[store.Sessions](e); ok {
		sess := liveSession(digest("zero"), "")
		must(t, "SaveSession", ss.SaveSession(ctx, sess))
		gs := getSession(t, ss, sess.Digest, t0)
		if !gs.AuthTime.IsZero() || !gs.SudoTime.IsZero() || !gs.RevokedAt.IsZero() {
			t.Errorf("zero session times: got (%v, %v, %v), want zero", gs.AuthTime, gs.SudoTime, gs.RevokedAt)
		}
	}
	if ob, ok := as[store.Outbox](e); ok {
		m := enqueue(t, ob, newMessage("zero@example.com", t0))
		ms := claim(t, ob, t0, time.Minute, 1)
		if len(ms) != 1 || ms[0].ID != m.ID || !ms[0].SentAt.IsZero() || !ms[0].GivenUpAt.IsZero() {
			t.Errorf("SentAt and GivenUpAt of a queued message: got %+v, want zero", ms)
		}
	}
	if ts, ok := as[store.TOTP](e); ok {
		must(t, "SavePendingTOTP", ts.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("s"), CreatedAt: t0}))
		if got := getTOTP(t, ts, u.ID); !got.ConfirmedAt.IsZero() {
			t.Errorf("ConfirmedAt of a pending secret: got %v, want zero", got.ConfirmedAt)
		}
	}
}
