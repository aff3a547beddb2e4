package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

func userChecks() []check {
	return []check{
		checkOf("CreateUser/Fills", testCreateUserFills),
		checkOf("CreateUser/Conflict", testCreateUserConflict),
		checkOf("CreateUser/Reserved", testCreateUserReserved),
		checkOf("CreateUser/LookAlikes", testCreateUserLookAlikes),
		checkOf("CreateUser/LookAlikeFirst", testCreateUserLookAlikeFirst),
		checkOf("UserByID", testUserByID),
		checkOf("UserByEmail", testUserByEmail),
		checkOf("SetPasswordHash", testSetPasswordHash),
		checkOf("ConfirmEmail", testConfirmEmail),
		checkOf("RecordFailure", testRecordFailure),
		checkOf("RecordFailure/Concurrent", testRecordFailureConcurrent),
		checkOf("ClearFailures", testClearFailures),
		checkOf("SetDisabled", testSetDisabled),
		checkEnv("SetDisabled/RevokesSessions", testSetDisabledRevokesSessions),
		checkOf("ScheduleDeletion", testScheduleDeletion),
		checkOf("UsersDueForDeletion", testUsersDueForDeletion),
		checkEnv("DeleteUser", testDeleteUser),
		checkEnv("AnonymizeUser", testAnonymizeUser),
		checkOf("ReserveEmail", testReserveEmail),
		checkOf("ReserveEmail/LookAlikes", testReserveEmailLookAlikes),
		checkOf("EmailReservation", testEmailReservation),
		checkOf("CancelEmailReservation", testCancelEmailReservation),
		checkOf("ChangeEmail", testChangeEmail),
		checkOf("ChangeEmail/Conflict", testChangeEmailConflict),
	}
}

func testCreateUserFills(t *testing.T, s store.Users) {
	ctx := t.Context()
	a := &store.User{Email: "fill-a@example.com"}
	b := &store.User{Email: "fill-b@example.com"}
	must(t, "CreateUser a", s.CreateUser(ctx, a))
	must(t, "CreateUser b", s.CreateUser(ctx, b))
	if a.ID == "" || b.ID == "" || a.ID == b.ID {
		t.Fatalf("filled IDs: got %q and %q, want two distinct non-empty IDs", a.ID, b.ID)
	}
	if a.CreatedAt.IsZero() || a.UpdatedAt.IsZero() {
		t.Fatalf("filled times: got CreatedAt %v, UpdatedAt %v, want both set", a.CreatedAt, a.UpdatedAt)
	}
	got := getUser(t, s, a.ID)
	sameTime(t, "CreatedAt read back", got.CreatedAt, a.CreatedAt)
	sameTime(t, "UpdatedAt read back", got.UpdatedAt, a.UpdatedAt)

	// A given ID and given times are kept.
	id := store.NewID()
	c := &store.User{ID: id, Email: "given@example.com", CreatedAt: at(-time.Hour), UpdatedAt: at(-time.Minute)}
	must(t, "CreateUser with ID", s.CreateUser(ctx, c))
	if c.ID != id {
		t.Errorf("ID: got %q, want the given %q", c.ID, id)
	}
	got = getUser(t, s, id)
	sameTime(t, "given CreatedAt", got.CreatedAt, at(-time.Hour))
	sameTime(t, "given UpdatedAt", got.UpdatedAt, at(-time.Minute))
}

func testCreateUserConflict(t *testing.T, s store.Users) {
	ctx := t.Context()
	ascii := newUser(t, s, "someone@example.com")
	accented := newUser(t, s, "ÉLISE@example.com")
	tests := []struct {
		email string
		owner *store.User
	}{
		{"someone@example.com", ascii},
		{"SOMEONE@example.com", ascii},
		{"Someone@Example.COM", ascii},
		{"  someone@example.com ", ascii},
		{"élise@example.com", accented},
		{"Élise@EXAMPLE.com", accented},
		{"e\u0301lise@example.com", accented}, // decomposed é: the same address after NFC
	}
	for _, tt := range tests {
		err := s.CreateUser(ctx, &store.User{Email: tt.email, CreatedAt: t0})
		wantErr(t, "CreateUser("+tt.email+")", err, store.ErrConflict)
		got, err := s.UserByEmail(ctx, tt.email)
		if err != nil {
			t.Errorf("UserByEmail(%q): %v", tt.email, err)
			continue
		}
		if got.ID != tt.owner.ID {
			t.Errorf("UserByEmail(%q): got user %q, want the first owner %q", tt.email, got.ID, tt.owner.ID)
		}
	}
	// Case-insensitive is not accent-insensitive.
	newUser(t, s, "elise@example.com")
	newUser(t, s, "someone.else@example.com")
}

func testCreateUserReserved(t *testing.T, s store.Users) {
	ctx := t.Context()
	holder := newUser(t, s, "holder@example.com")
	must(t, "ReserveEmail", s.ReserveEmail(ctx, holder.ID, "Wanted@example.com", at(time.Hour), t0))

	// While the reservation is unexpired (at the new user's CreatedAt), the
	// address is taken, in any case.
	for _, e := range []string{"wanted@example.com", "WANTED@example.com"} {
		err := s.CreateUser(ctx, &store.User{Email: e, CreatedAt: at(30 * time.Minute)})
		wantErr(t, "CreateUser("+e+") over a reservation", err, store.ErrConflict)
	}
	if _, err := s.UserByEmail(ctx, "wanted@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByEmail after refused creates: got %v, want ErrNotFound", err)
	}
	// An expired reservation holds nothing: registration cannot be blocked
	// by a change of address that was never completed.
	late := &store.User{Email: "wanted@example.com", CreatedAt: at(2 * time.Hour)}
	must(t, "CreateUser after the reservation expired", s.CreateUser(ctx, late))
}

// lookAlikes are addresses, each with forms that look like it or differ
// from it only in case, width, invisible characters, Unicode normalization
// or the encoding of the domain: store.NormalizeEmail gives them all one
// key, so they are one address to the store.
var lookAlikes = []struct {
	plain string
	forms []string
}{
	{"kim@example.com", []string{
		"\u212Aim@example.com",        // KELVIN SIGN
		"ｋｉｍ@example.com",             // fullwidth letters
		"ＫＩＭ@ＥＸＡＭＰＬＥ．ＣＯＭ",             // fullwidth capitals and domain
		"k\u200Bim@example.com",       // zero-width space
		"ki\u00ADm@exa\u00ADmple.com", // soft hyphens
		"Kim@Example.COM",
	}},
	{"élise@example.com", []string{
		"e\u0301lise@example.com", // decomposed (NFD)
		"E\u0301LISE@EXAMPLE.COM",
		"ÉLISE@example.com",
	}},
	{"strasse@example.com", []string{"Straße@example.com", "STRA\u1E9EE@example.com"}},
	{"οδυσσευς@example.gr", []string{"ΟΔΥΣΣΕΥΣ@example.gr", "Οδυσσευσ@example.gr"}}, // final sigma
	{"kim@bücher.de", []string{"kim@xn--bcher-kva.de", "KIM@BÜCHER.DE", "kim@XN--BCHER-KVA.DE"}},
}

// testCreateUserLookAlikes: every look-alike of a registered address is
// taken, and finds the owner.
func testCreateUserLookAlikes(t *testing.T, s store.Users) {
	ctx := t.Context()
	for _, la := range lookAlikes {
		owner := newUser(t, s, la.plain)
		for _, form := range la.forms {
			if got, want := store.NormalizeEmail(form), store.NormalizeEmail(la.plain); got != want {
				t.Errorf("NormalizeEmail(%q): got %q, want %q, the key of %q", form, got, want, la.plain)
			}
			err := s.CreateUser(ctx, &store.User{Email: form, CreatedAt: t0})
			wantErr(t, "CreateUser("+form+") beside "+la.plain, err, store.ErrConflict)
			got, err := s.UserByEmail(ctx, form)
			if err != nil {
				t.Errorf("UserByEmail(%q): %v", form, err)
				continue
			}
			if got.ID != owner.ID || got.Email != la.plain {
				t.Errorf("UserByEmail(%q): got (%q, %q), want the owner (%q, %q), the address as entered", form, got.ID, got.Email, owner.ID, la.plain)
			}
		}
		// A confirmation sent to any form confirms the address.
		must(t, "ConfirmEmail("+la.forms[0]+")", s.ConfirmEmail(ctx, owner.ID, la.forms[0], at(time.Minute)))
	}
}

// testCreateUserLookAlikeFirst: registered first, a look-alike holds the
// plain address: the plain form is taken, and finds the look-alike's
// owner, who keeps the address as entered.
func testCreateUserLookAlikeFirst(t *testing.T, s store.Users) {
	ctx := t.Context()
	for _, la := range lookAlikes {
		first := newUser(t, s, la.forms[0])
		err := s.CreateUser(ctx, &store.User{Email: la.plain, CreatedAt: t0})
		wantErr(t, "CreateUser("+la.plain+") beside "+la.forms[0], err, store.ErrConflict)
		got, err := s.UserByEmail(ctx, la.plain)
		must(t, "UserByEmail("+la.plain+")", err)
		if got.ID != first.ID || got.Email != la.forms[0] {
			t.Errorf("UserByEmail(%q): got (%q, %q), want (%q, %q)", la.plain, got.ID, got.Email, first.ID, la.forms[0])
		}
	}
}

func testUserByID(t *testing.T, s store.Users) {
	ctx := t.Context()
	u := newUser(t, s, "byid@example.com")
	got := getUser(t, s, u.ID)
	if got.ID != u.ID || got.Email != "byid@example.com" {
		t.Errorf("UserByID: got (%q, %q), want (%q, %q)", got.ID, got.Email, u.ID, "byid@example.com")
	}
	for _, id := range []string{store.NewID(), "", "not-an-id", "' OR 1=1 --"} {
		_, err := s.UserByID(ctx, id)
		wantErr(t, "UserByID("+id+")", err, store.ErrNotFound)
	}
}

func testUserByEmail(t *testing.T, s store.Users) {
	ctx := t.Context()
	u := newUser(t, s, "Mixed.Case@Example.com")
	v := newUser(t, s, "ÉLISE@example.com")
	tests := []struct {
		query string
		want  *store.User
	}{
		{"Mixed.Case@Example.com", u},
		{"mixed.case@example.com", u},
		{"MIXED.CASE@EXAMPLE.COM", u},
		{" mixed.case@example.com\t", u},
		{"élise@example.com", v},
		{"e\u0301lise@example.com", v},
	}
	for _, tt := range tests {
		got, err := s.UserByEmail(ctx, tt.query)
		if err != nil {
			t.Errorf("UserByEmail(%q): %v", tt.query, err)
			continue
		}
		if got.ID != tt.want.ID || got.Email != tt.want.Email {
			t.Errorf("UserByEmail(%q): got (%q, %q), want (%q, %q): the address as entered", tt.query, got.ID, got.Email, tt.want.ID, tt.want.Email)
		}
	}
	for _, e := range []string{"nobody@example.com", "", "elise@example.com", "mixed.case@example"} {
		_, err := s.UserByEmail(ctx, e)
		wantErr(t, "UserByEmail("+e+")", err, store.ErrNotFound)
	}
}

func testSetPasswordHash(t *testing.T, s store.Users) {
	ctx := t.Context()
	u := newUser(t, s, "pw@example.com")
	other := newUser(t, s, "other@example.com")
	const hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
	must(t, "SetPasswordHash", s.SetPasswordHash(ctx, u.ID, hash, at(time.Minute)))
	got := getUser(t, s, u.ID)
	if got.PasswordHash != hash {
		t.Errorf("PasswordHash: got %q, want %q", got.PasswordHash, hash)
	}
	sameTime(t, "UpdatedAt after SetPasswordHash", got.UpdatedAt, at(time.Minute))
	if o := getUser(t, s, other.ID); o.PasswordHash != "" {
		t.Errorf("other user's PasswordHash: got %q, want empty", o.PasswordHash)
	}

	must(t, "SetPasswordHash empty", s.SetPasswordHash(ctx, u.ID, "", at(2*time.Minute)))
	if got := getUser(t, s, u.ID); got.PasswordHash != "" {
		t.Errorf("PasswordHash after removal: got %q, want empty", got.PasswordHash)
	}
	wantErr(t, "SetPasswordHash(missing)", s.SetPasswordHash(ctx, store.NewID(), hash, t0), store.ErrNotFound)
}

func testConfirmEmail(t *testing.T, s store.Users) {
	ctx := t.Context()
	u := newUser(t, s, "Confirm.Me@example.com")

	// A link sent to another address confirms nothing.
	wantErr(t, "ConfirmEmail(other address)", s.ConfirmEmail(ctx, u.ID, "old@example.com", at(time.Minute)), store.ErrNotFound)
	if got := getUser(t, s, u.ID); !got.EmailConfirmedAt.IsZero() {
		t.Fatalf("EmailConfirmedAt after a mismatched confirm: got %v, want zero", got.EmailConfirmedAt)
	}
	must(t, "ConfirmEmail", s.ConfirmEmail(ctx, u.ID, "confirm.me@EXAMPLE.com", at(2*time.Minute)))
	got := getUser(t, s, u.ID)
	sameTime(t, "EmailConfirmedAt", got.EmailConfirmedAt, at(2*time.Minute))
	sameTime(t, "UpdatedAt after ConfirmEmail", got.UpdatedAt, at(2*time.Minute))

	// Confirming again keeps the first time.
	must(t, "ConfirmEmail again", s.ConfirmEmail(ctx, u.ID, "Confirm.Me@example.com", at(time.Hour)))
	sameTime(t, "EmailConfirmedAt after a second confirm", getUser(t, s, u.ID).EmailConfirmedAt, at(2*time.Minute))

	wantErr(t, "ConfirmEmail(missing user)", s.ConfirmEmail(ctx, store.NewID(), "confirm.me@example.com", t0), store.ErrNotFound)
}

func testRecordFailure(t *testing.T, s store.Users) {
	ctx := t.Context()
	u := newUser(t, s, "fail@example.com")
	const limit, lockFor = 3, 15 * time.Minute
	for i := 1; i <= limit; i++ {
		now := at(time.Duration(i) * time.Second)
		until, err := s.RecordFailure(ctx, u.ID, store.LockPassword, limit, lockFor, now)
		must(t, "RecordFailure", err)
		got := getUser(t, s, u.ID)
		if i < limit {
			if !until.IsZero() {
				t.Errorf("failure %d: got lockedUntil %v, want zero below the limit", i, until)
			}
			if got.FailedLogins != i {
				t.Errorf("failure %d: got FailedLogins %d, want %d", i, got.FailedLogins, i)
			}
			continue
		}
		sameTime(t, "returned lockedUntil at the limit", until, now.Add(lockFor))
		sameTime(t, "LockedUntil at the limit", got.LockedUntil, now.Add(lockFor))
		if got.FailedLogins != 0 {
			t.Errorf("FailedLogins after lockout: got %d, want 0 (reset)", got.FailedLogins)
		}
		if got.FailedMFA != 0 || !got.MFALockedUntil.IsZero() {
			t.Errorf("MFA counter after password failures: got (%d, %v), want untouched", got.FailedMFA, got.MFALockedUntil)
		}
	}

	// The MFA counter is separate.
	until, err := s.RecordFailure(ctx, u.ID, store.LockMFA, 2, time.Hour, at(time.Minute))
	must(t, "RecordFailure(MFA)", err)
	if !until.IsZero() {
		t.Errorf("first MFA failure: got lockedUntil %v, want zero", until)
	}
	until, err = s.RecordFailure(ctx, u.ID, store.LockMFA, 2, time.Hour, at(2*time.Minute))
	must(t, "RecordFailure(MFA)", err)
	sameTime(t, "MFA lockedUntil", until, at(2*time.Minute+time.Hour))
	got := getUser(t, s, u.ID)
	sameTime(t, "MFALockedUntil", got.MFALockedUntil, at(2*time.Minute+time.Hour))
	sameTime(t, "LockedUntil untouched by MFA failures", got.LockedUntil, at(limit*time.Second+lockFor))

	_, err = s.RecordFailure(ctx, store.NewID(), store.LockPassword, limit, lockFor, t0)
	wantErr(t, "RecordFailure(missing user)", err, store.ErrNotFound)
}

func testRecordFailureConcurrent(t *testing.T, s store.Users) {
	ctx := t.Context()
	const n = 16
	counted := newUser(t, s, "count@example.com")
	errs := race(n, func(int) error {
		_, err := s.RecordFailure(ctx, counted.ID, store.LockPassword, 1000, time.Minute, t0)
		return err
	})
	countOutcomes(t, "RecordFailure", errs, nil)
	if got := getUser(t, s, counted.ID).FailedLogins; got != n {
		t.Errorf("FailedLogins after %d concurrent failures: got %d, want %d (lost updates)", n, got, n)
	}

	// Exactly one of n concurrent failures reaches a limit of n.
	locked := newUser(t, s, "lock@example.com")
	untils := make([]time.Time, n)
	errs = race(n, func(i int) error {
		var err error
		untils[i], err = s.RecordFailure(ctx, locked.ID, store.LockMFA, n, time.Minute, t0)
		return err
	})
	countOutcomes(t, "RecordFailure at the limit", errs, nil)
	lockouts := 0
	for _, u := range untils {
		if !u.IsZero() {
			lockouts++
		}
	}
	if lockouts != 1 {
		t.Errorf("lockouts among %d concurrent failures with limit %d: got %d, want 1", n, n, lockouts)
	}
}

func testClearFailures(t *testing.T, s store.Users) {
	ctx := t.Context()
	u := newUser(t, s, "clear@example.com")
	for _, lock := range []store.Lock{store.LockPassword, store.LockMFA} {
		_, err := s.RecordFailure(ctx, u.ID, lock, 2, time.Hour, t0) // locks
		must(t, "RecordFailure", err)
		_, err = s.RecordFailure(ctx, u.ID, lock, 2, time.Hour, t0)
		must(t, "RecordFailure", err)
		_, err = s.RecordFailure(ctx, u.ID, lock, 2, time.Hour, t0) // counts one
		must(t, "RecordFailure", err)
	}
	must(t, "ClearFailures(password)", s.ClearFailures(ctx, u.ID, store.LockPassword, at(time.Minute)))
	got := getUser(t, s, u.ID)
	if got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
		t.Errorf("password lock after clear: got (%d, %v), want (0, zero)", got.FailedLogins, got.LockedUntil)
	}
	if got.FailedMFA != 1 || !got.MFALockedUntil.Equal(at(time.Hour)) {
		t.Errorf("MFA lock after clearing the password lock: got (%d, %v), want (1, %v)", got.FailedMFA, got.MFALockedUntil, at(time.Hour))
	}
	must(t, "ClearFailures(MFA)", s.ClearFailures(ctx, u.ID, store.LockMFA, at(time.Minute)))
	got = getUser(t, s, u.ID)
	if got.FailedMFA != 0 || !got.MFALockedUntil.IsZero() {
		t.Errorf("MFA lock after clear: got (%d, %v), want (0, zero)", got.FailedMFA, got.MFALockedUntil)
	}
}

func testSetDisabled(t *testing.T, s store.Users) {
	ctx := t.Context()
	u := newUser(t, s, "disable@example.com")
	must(t, "SetDisabled", s.SetDisabled(ctx, u.ID, at(time.Minute), at(2*time.Minute)))
	got := getUser(t, s, u.ID)
	sameTime(t, "DisabledAt", got.DisabledAt, at(time.Minute))
	sameTime(t, "UpdatedAt after SetDisabled", got.UpdatedAt, at(2*time.Minute))
	must(t, "SetDisabled(zero)", s.SetDisabled(ctx, u.ID, time.Time{}, at(3*time.Minute)))
	sameTime(t, "DisabledAt after enabling", getUser(t, s, u.ID).DisabledAt, time.Time{})
	wantErr(t, "SetDisabled(missing)", s.SetDisabled(ctx, store.NewID(), t0, t0), store.ErrNotFound)
}

// testSetDisabledRevokesSessions: disabling revokes every live session of
// the user at once, as a tombstone, in the caller's transaction; enabling
// revives none, and other users' sessions stay.
func testSetDisabledRevokesSessions(t *testing.T, s store.Users, e env) {
	ctx := t.Context()
	ss, ok := as[store.Sessions](e)
	if !ok {
		e.logLacking(t, "sessions revoked by SetDisabled", reflect.TypeFor[store.Sessions]())
		return
	}
	u := newUser(t, s, "disabled@example.com")
	bystander := newUser(t, s, "bystander@example.com")
	mine := []*store.Session{liveSession(digest("disabled-1"), u.ID), liveSession(digest("disabled-2"), u.ID)}
	mine[1].Remember = true
	theirs := liveSession(digest("bystander"), bystander.ID)
	for _, sess := range append(mine, theirs) {
		must(t, "SaveSession", ss.SaveSession(ctx, sess))
	}

	must(t, "SetDisabled", s.SetDisabled(ctx, u.ID, at(time.Minute), at(time.Minute)))
	gone := func(when string) {
		t.Helper()
		for i, sess := range mine {
			_, err := ss.SessionByDigest(ctx, sess.Digest, at(time.Minute), 0)
			wantErr(t, fmt.Sprintf("SessionByDigest(session %d) %s", i, when), err, store.ErrNotFound)
			_, _, err = ss.SessionWithUser(ctx, sess.Digest, at(time.Minute), time.Hour)
			wantErr(t, fmt.Sprintf("SessionWithUser(session %d) %s", i, when), err, store.ErrNotFound)
		}
		list, err := ss.UserSessions(ctx, u.ID, at(time.Minute))
		must(t, "UserSessions", err)
		if len(list) != 0 {
			t.Errorf("UserSessions %s: got %d, want none", when, len(list))
		}
	}
	gone("after SetDisabled")
	if _, err := ss.SessionByDigest(ctx, theirs.Digest, at(time.Minute), 0); err != nil {
		t.Errorf("another user's session after SetDisabled: %v", err)
	}
	// A request in flight that saves its session does not bring it back.
	for _, sess := range mine {
		sess.LastSeenAt = at(time.Minute)
		must(t, "SaveSession after SetDisabled", ss.SaveSession(ctx, sess))
	}
	gone("after a save")
	must(t, "SetDisabled(zero)", s.SetDisabled(ctx, u.ID, time.Time{}, at(2*time.Minute)))
	gone("after enabling")

	// In a transaction that rolls back, nothing is disabled or revoked.
	tx, ok := as[store.Transactor](e)
	if !ok {
		e.logLacking(t, "SetDisabled in a transaction", reflect.TypeFor[store.Transactor]())
		return
	}
	errRollback := errors.New("roll back")
	err := tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.SetDisabled(ctx, bystander.ID, at(time.Minute), at(time.Minute)); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx: got %v, want the function's error", err)
	}
	if got := getUser(t, s, bystander.ID); !got.DisabledAt.IsZero() {
		t.Errorf("DisabledAt after a rolled-back SetDisabled: got %v, want zero", got.DisabledAt)
	}
	if _, err := ss.SessionByDigest(ctx, theirs.Digest, at(time.Minute), 0); err != nil {
		t.Errorf("session after a rolled-back SetDisabled: %v, want it live", err)
	}
}

func testScheduleDeletion(t *testing.T, s store.Users) {
	ctx := t.Context()
	u := newUser(t, s, "schedule@example.com")
	must(t, "ScheduleDeletion", s.ScheduleDeletion(ctx, u.ID, at(30*24*time.Hour), at(time.Minute)))
	got := getUser(t, s, u.ID)
	sameTime(t, "DeletionDueAt", got.DeletionDueAt, at(30*24*time.Hour))
	sameTime(t, "UpdatedAt after ScheduleDeletion", got.UpdatedAt, at(time.Minute))
	must(t, "ScheduleDeletion(zero)", s.ScheduleDeletion(ctx, u.ID, time.Time{}, at(2*time.Minute)))
	sameTime(t, "DeletionDueAt after cancelling", getUser(t, s, u.ID).DeletionDueAt, time.Time{})
	wantErr(t, "ScheduleDeletion(missing)", s.ScheduleDeletion(ctx, store.NewID(), t0, t0), store.ErrNotFound)
}

func testUsersDueForDeletion(t *testing.T, s store.Users) {
	ctx := t.Context()
	// Created in an order unrelated to their due times.
	third := newUser(t, s, "third@example.com")
	first := newUser(t, s, "first@example.com")
	never := newUser(t, s, "never@example.com")
	second := newUser(t, s, "second@example.com")
	cancelled := newUser(t, s, "cancelled@example.com")
	_ = never
	must(t, "ScheduleDeletion", s.ScheduleDeletion(ctx, third.ID, at(3*time.Hour), t0))
	must(t, "ScheduleDeletion", s.ScheduleDeletion(ctx, first.ID, at(time.Hour), t0))
	must(t, "ScheduleDeletion", s.ScheduleDeletion(ctx, second.ID, at(2*time.Hour), t0))
	must(t, "ScheduleDeletion", s.ScheduleDeletion(ctx, cancelled.ID, at(time.Minute), t0))
	must(t, "ScheduleDeletion(cancel)", s.ScheduleDeletion(ctx, cancelled.ID, time.Time{}, t0))

	tests := []struct {
		now   time.Time
		limit int
		want  []*store.User
	}{
		{t0, 10, nil},
		{at(time.Hour - time.Millisecond), 10, nil},
		{at(time.Hour), 10, []*store.User{first}}, // due at now is due
		{at(2 * time.Hour), 10, []*store.User{first, second}},
		{at(24 * time.Hour), 10, []*store.User{first, second, third}},
		{at(24 * time.Hour), 2, []*store.User{first, second}},
		{at(24 * time.Hour), 1, []*store.User{first}},
	}
	for _, tt := range tests {
		got, err := s.UsersDueForDeletion(ctx, tt.now, tt.limit)
		must(t, "UsersDueForDeletion", err)
		if gotIDs, wantIDs := userIDs(got), userIDs(tt.want); !slices.Equal(gotIDs, wantIDs) {
			t.Errorf("UsersDueForDeletion(%v, %d): got %v, want %v", tt.now.Sub(t0), tt.limit, gotIDs, wantIDs)
		}
	}
}

func userIDs(us []*store.User) []string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids
}

// ownedKinds are the interfaces whose records belong to a user, as
// DeleteUser and AnonymizeUser see them, besides store.Users itself.
func ownedKinds() []reflect.Type {
	return []reflect.Type{
		reflect.TypeFor[store.Sessions](),
		reflect.TypeFor[store.Tokens](),
		reflect.TypeFor[store.TOTP](),
		reflect.TypeFor[store.RecoveryCodes](),
		reflect.TypeFor[store.TrustedBrowsers](),
		reflect.TypeFor[store.AuditLog](),
	}
}

// belongings gives u one of everything a user can own among the interfaces
// the suite's type has: a session, a token, a TOTP secret, two recovery
// codes, a trusted browser, an audit row, and always an address
// reservation.
func belongings(t *testing.T, s store.Users, e env, u *store.User, name string) {
	t.Helper()
	ctx := t.Context()
	if ss, ok := as[store.Sessions](e); ok {
		must(t, "SaveSession", ss.SaveSession(ctx, liveSession(digest(name+"-session"), u.ID)))
	}
	if ts, ok := as[store.Tokens](e); ok {
		must(t, "CreateToken", ts.CreateToken(ctx, &store.Token{Digest: digest(name + "-token"), Purpose: store.PurposeReset, UserID: u.ID, SentTo: u.Email, CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	}
	if ts, ok := as[store.TOTP](e); ok {
		must(t, "SavePendingTOTP", ts.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("sealed"), CreatedAt: t0}))
	}
	if rs, ok := as[store.RecoveryCodes](e); ok {
		must(t, "ReplaceRecoveryCodes", rs.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{digest(name + "-rc1"), digest(name + "-rc2")}, t0))
	}
	if bs, ok := as[store.TrustedBrowsers](e); ok {
		must(t, "CreateTrustedBrowser", bs.CreateTrustedBrowser(ctx, &store.TrustedBrowser{UserID: u.ID, Digest: digest(name + "-browser"), CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	}
	if al, ok := as[store.AuditLog](e); ok {
		must(t, "AppendAudit", al.AppendAudit(ctx, &store.AuditEvent{At: t0, Action: "test.owned", ActorID: u.ID, SubjectID: u.ID, Outcome: "success"}))
	}
	must(t, "ReserveEmail", s.ReserveEmail(ctx, u.ID, name+"-new@example.com", at(time.Hour), t0))
}

// checkBelongings reports whether each of u's belongings is present (want
// true) or gone (want false). Audit rows are always present.
func checkBelongings(t *testing.T, s store.Users, e env, u *store.User, name string, want bool) {
	t.Helper()
	ctx := t.Context()
	present := func(what string, err error) {
		t.Helper()
		switch {
		case want && err != nil:
			t.Errorf("%s of %s: got %v, want present", what, name, err)
		case !want && !errors.Is(err, store.ErrNotFound):
			t.Errorf("%s of %s: got %v, want ErrNotFound (removed)", what, name, err)
		}
	}
	if ss, ok := as[store.Sessions](e); ok {
		_, err := ss.SessionByDigest(ctx, digest(name+"-session"), at(time.Minute), 0)
		present("session", err)
	}
	if ts, ok := as[store.Tokens](e); ok {
		_, err := ts.PeekToken(ctx, store.PurposeReset, digest(name+"-token"), at(time.Minute))
		present("token", err)
	}
	if ts, ok := as[store.TOTP](e); ok {
		_, err := ts.TOTPByUser(ctx, u.ID)
		present("TOTP secret", err)
	}
	if rs, ok := as[store.RecoveryCodes](e); ok {
		n, err := rs.CountRecoveryCodes(ctx, u.ID)
		must(t, "CountRecoveryCodes", err)
		if wantN := map[bool]int{true: 2, false: 0}[want]; n != wantN {
			t.Errorf("recovery codes of %s: got %d, want %d", name, n, wantN)
		}
	}
	if bs, ok := as[store.TrustedBrowsers](e); ok {
		_, err := bs.TrustedBrowserByDigest(ctx, u.ID, digest(name+"-browser"), at(time.Minute))
		present("trusted browser", err)
	}
	if al, ok := as[store.AuditLog](e); ok {
		events, _, err := al.QueryAudit(ctx, store.AuditQuery{UserID: u.ID, Action: "test.owned"})
		must(t, "QueryAudit", err)
		if len(events) != 1 {
			t.Errorf("audit rows of %s: got %d, want 1 (audit rows stay)", name, len(events))
		}
	}
	_, _, err := s.EmailReservation(ctx, u.ID, at(time.Minute))
	present("email reservation", err)
}

func testDeleteUser(t *testing.T, s store.Users, e env) {
	ctx := t.Context()
	e.logLacking(t, "records of the user", ownedKinds()...)
	victim := newUser(t, s, "victim@example.com")
	bystander := newUser(t, s, "bystander@example.com")
	belongings(t, s, e, victim, "victim")
	belongings(t, s, e, bystander, "bystander")

	must(t, "DeleteUser", s.DeleteUser(ctx, victim.ID))
	_, err := s.UserByID(ctx, victim.ID)
	wantErr(t, "UserByID after DeleteUser", err, store.ErrNotFound)
	checkBelongings(t, s, e, victim, "victim", false)
	checkBelongings(t, s, e, bystander, "bystander", true)

	// The address and the reserved address are free again.
	newUser(t, s, "victim@example.com")
	newUser(t, s, "victim-new@example.com")
	wantErr(t, "DeleteUser again", s.DeleteUser(ctx, victim.ID), store.ErrNotFound)
}

func testAnonymizeUser(t *testing.T, s store.Users, e env) {
	ctx := t.Context()
	e.logLacking(t, "records of the user", ownedKinds()...)
	first := newUser(t, s, "forget.me@example.com")
	second := newUser(t, s, "forget.me.too@example.com")
	bystander := newUser(t, s, "bystander@example.com")
	for _, u := range []*store.User{first, second} {
		must(t, "SetPasswordHash", s.SetPasswordHash(ctx, u.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", t0))
		must(t, "ScheduleDeletion", s.ScheduleDeletion(ctx, u.ID, at(time.Hour), t0))
	}
	belongings(t, s, e, first, "first")
	belongings(t, s, e, bystander, "bystander")

	must(t, "AnonymizeUser", s.AnonymizeUser(ctx, first.ID, at(time.Minute)))
	must(t, "AnonymizeUser(second)", s.AnonymizeUser(ctx, second.ID, at(time.Minute))) // placeholders are unique
	for _, u := range []*store.User{first, second} {
		got := getUser(t, s, u.ID) // the row stays
		if got.Email == u.Email || store.NormalizeEmail(got.Email) == store.NormalizeEmail(u.Email) || got.Email == "" {
			t.Errorf("Email after AnonymizeUser: got %q, want a non-empty placeholder replacing %q", got.Email, u.Email)
		}
		if got.PasswordHash != "" {
			t.Errorf("PasswordHash after AnonymizeUser: got %q, want empty", got.PasswordHash)
		}
		sameTime(t, "DeletionDueAt after AnonymizeUser", got.DeletionDueAt, time.Time{})
		sameTime(t, "DisabledAt after AnonymizeUser", got.DisabledAt, at(time.Minute))
		_, err := s.UserByEmail(ctx, u.Email)
		wantErr(t, "UserByEmail(old address)", err, store.ErrNotFound)
	}
	if a, b := getUser(t, s, first.ID).Email, getUser(t, s, second.ID).Email; a == b {
		t.Errorf("placeholders: both %q, want distinct", a)
	}
	checkBelongings(t, s, e, first, "first", false)
	checkBelongings(t, s, e, bystander, "bystander", true)
	due, err := s.UsersDueForDeletion(ctx, at(24*time.Hour), 10)
	must(t, "UsersDueForDeletion", err)
	if len(due) != 0 {
		t.Errorf("UsersDueForDeletion after anonymizing: got %v, want none", userIDs(due))
	}
	// The old address is free again.
	newUser(t, s, "FORGET.ME@example.com")
}

func testReserveEmail(t *testing.T, s store.Users) {
	ctx := t.Context()
	a := newUser(t, s, "a@example.com")
	b := newUser(t, s, "b@example.com")
	newUser(t, s, "Taken@example.com")

	// Held by another user, in any case.
	for _, e := range []string{"taken@example.com", "TAKEN@EXAMPLE.COM", "b@example.com"} {
		wantErr(t, "ReserveEmail("+e+")", s.ReserveEmail(ctx, a.ID, e, at(time.Hour), t0), store.ErrConflict)
	}
	// Reserved by another user's unexpired reservation.
	must(t, "ReserveEmail", s.ReserveEmail(ctx, a.ID, "Fresh@example.com", at(time.Hour), t0))
	wantErr(t, "ReserveEmail(reserved by a)", s.ReserveEmail(ctx, b.ID, "fresh@EXAMPLE.com", at(2*time.Hour), at(30*time.Minute)), store.ErrConflict)
	if _, _, err := s.EmailReservation(ctx, b.ID, at(30*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b's reservation after a refused ReserveEmail: got %v, want ErrNotFound", err)
	}
	// Once a's reservation has expired, b may reserve the address.
	must(t, "ReserveEmail after expiry", s.ReserveEmail(ctx, b.ID, "fresh@example.com", at(3*time.Hour), at(time.Hour)))
	got, exp, err := s.EmailReservation(ctx, b.ID, at(time.Hour))
	must(t, "EmailReservation", err)
	if got != "fresh@example.com" {
		t.Errorf("b's reservation: got %q, want %q", got, "fresh@example.com")
	}
	sameTime(t, "b's reservation expiry", exp, at(3*time.Hour))

	// A new reservation replaces the user's earlier one, which frees it.
	must(t, "ReserveEmail(first)", s.ReserveEmail(ctx, a.ID, "one@example.com", at(5*time.Hour), at(time.Hour)))
	must(t, "ReserveEmail(replace)", s.ReserveEmail(ctx, a.ID, "two@example.com", at(6*time.Hour), at(time.Hour)))
	got, exp, err = s.EmailReservation(ctx, a.ID, at(time.Hour))
	must(t, "EmailReservation", err)
	if got != "two@example.com" {
		t.Errorf("a's reservation after replacing: got %q, want %q", got, "two@example.com")
	}
	sameTime(t, "a's replaced expiry", exp, at(6*time.Hour))
	must(t, "ReserveEmail(freed address)", s.ReserveEmail(ctx, b.ID, "one@example.com", at(5*time.Hour), at(time.Hour)))
}

// testReserveEmailLookAlikes: a look-alike of an address held or reserved
// by another user cannot be reserved, and a reserved look-alike holds the
// plain address against registration.
func testReserveEmailLookAlikes(t *testing.T, s store.Users) {
	ctx := t.Context()
	mover := newUser(t, s, "mover@example.com")
	other := newUser(t, s, "other@example.com")
	for _, la := range lookAlikes {
		newUser(t, s, la.plain)
		for _, form := range la.forms {
			err := s.ReserveEmail(ctx, mover.ID, form, at(time.Hour), t0)
			wantErr(t, "ReserveEmail("+form+") of an address held as "+la.plain, err, store.ErrConflict)
		}
	}
	if _, _, err := s.EmailReservation(ctx, mover.ID, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("reservation after refused look-alikes: got %v, want ErrNotFound", err)
	}

	// Reserved as a look-alike, the address is taken in every form.
	must(t, "ReserveEmail", s.ReserveEmail(ctx, mover.ID, "ｎｅｗ@example.net", at(time.Hour), t0))
	for _, form := range []string{"new@example.net", "NEW@Example.NET", "n\u200Bew@example.net"} {
		wantErr(t, "ReserveEmail("+form+") reserved by another user", s.ReserveEmail(ctx, other.ID, form, at(time.Hour), at(time.Minute)), store.ErrConflict)
		wantErr(t, "CreateUser("+form+") reserved by another user", s.CreateUser(ctx, &store.User{Email: form, CreatedAt: at(time.Minute)}), store.ErrConflict)
	}
	// The change completes with any form, and keeps the address as reserved.
	must(t, "ChangeEmail", s.ChangeEmail(ctx, mover.ID, "NEW@example.net", at(time.Minute)))
	if got := getUser(t, s, mover.ID); got.Email != "ｎｅｗ@example.net" {
		t.Errorf("Email after ChangeEmail: got %q, want it as reserved %q", got.Email, "ｎｅｗ@example.net")
	}
}

func testEmailReservation(t *testing.T, s store.Users) {
	ctx := t.Context()
	u := newUser(t, s, "res@example.com")
	_, _, err := s.EmailReservation(ctx, u.ID, t0)
	wantErr(t, "EmailReservation(none)", err, store.ErrNotFound)
	_, _, err = s.EmailReservation(ctx, store.NewID(), t0)
	wantErr(t, "EmailReservation(missing user)", err, store.ErrNotFound)

	must(t, "ReserveEmail", s.ReserveEmail(ctx, u.ID, "New.Address@example.com", at(time.Hour), t0))
	got, exp, err := s.EmailReservation(ctx, u.ID, at(time.Hour-time.Millisecond))
	must(t, "EmailReservation just before expiry", err)
	if got != "New.Address@example.com" {
		t.Errorf("reserved address: got %q, want it as entered %q", got, "New.Address@example.com")
	}
	sameTime(t, "expiry", exp, at(time.Hour))
	_, _, err = s.EmailReservation(ctx, u.ID, at(time.Hour))
	wantErr(t, "EmailReservation at expiry", err, store.ErrNotFound)
}

func testCancelEmailReservation(t *testing.T, s store.Users) {
	ctx := t.Context()
	u := newUser(t, s, "cancel@example.com")
	v := newUser(t, s, "other@example.com")
	must(t, "CancelEmailReservation(none)", s.CancelEmailReservation(ctx, u.ID))
	must(t, "ReserveEmail", s.ReserveEmail(ctx, u.ID, "next@example.com", at(time.Hour), t0))
	must(t, "ReserveEmail(v)", s.ReserveEmail(ctx, v.ID, "v-next@example.com", at(time.Hour), t0))
	must(t, "CancelEmailReservation", s.CancelEmailReservation(ctx, u.ID))
	_, _, err := s.EmailReservation(ctx, u.ID, t0)
	wantErr(t, "EmailReservation after cancel", err, store.ErrNotFound)
	if _, _, err := s.EmailReservation(ctx, v.ID, t0); err != nil {
		t.Errorf("other user's reservation after cancel: %v", err)
	}
	newUser(t, s, "next@example.com") // freed
}

func testChangeEmail(t *testing.T, s store.Users) {
	ctx := t.Context()
	u := newUser(t, s, "old@example.com")

	wantErr(t, "ChangeEmail(no reservation)", s.ChangeEmail(ctx, u.ID, "new@example.com", t0), store.ErrNotFound)
	must(t, "ReserveEmail", s.ReserveEmail(ctx, u.ID, "New@example.com", at(time.Hour), t0))
	wantErr(t, "ChangeEmail(another address)", s.ChangeEmail(ctx, u.ID, "other@example.com", at(time.Minute)), store.ErrNotFound)
	wantErr(t, "ChangeEmail(expired)", s.ChangeEmail(ctx, u.ID, "New@example.com", at(time.Hour)), store.ErrNotFound)
	wantErr(t, "ChangeEmail(missing user)", s.ChangeEmail(ctx, store.NewID(), "New@example.com", at(time.Minute)), store.ErrNotFound)
	if got := getUser(t, s, u.ID); got.Email != "old@example.com" {
		t.Fatalf("Email after refused changes: got %q, want %q", got.Email, "old@example.com")
	}

	must(t, "ChangeEmail", s.ChangeEmail(ctx, u.ID, "New@example.com", at(time.Minute)))
	got := getUser(t, s, u.ID)
	if got.Email != "New@example.com" {
		t.Errorf("Email after ChangeEmail: got %q, want %q", got.Email, "New@example.com")
	}
	sameTime(t, "EmailConfirmedAt after ChangeEmail", got.EmailConfirmedAt, at(time.Minute))
	sameTime(t, "UpdatedAt after ChangeEmail", got.UpdatedAt, at(time.Minute))
	if byEmail, err := s.UserByEmail(ctx, "new@example.com"); err != nil || byEmail.ID != u.ID {
		t.Errorf("UserByEmail(new address): got (%v, %v), want user %q", byEmail, err, u.ID)
	}
	_, err := s.UserByEmail(ctx, "old@example.com")
	wantErr(t, "UserByEmail(old address)", err, store.ErrNotFound)
	_, _, err = s.EmailReservation(ctx, u.ID, at(time.Minute))
	wantErr(t, "EmailReservation after ChangeEmail", err, store.ErrNotFound)
	wantErr(t, "ChangeEmail twice", s.ChangeEmail(ctx, u.ID, "New@example.com", at(2*time.Minute)), store.ErrNotFound)
	newUser(t, s, "old@example.com") // the old address is free
}

// testChangeEmailConflict covers an address taken by another user while a
// reservation is outstanding. Reservations and registration keep this from
// happening on one clock; it happens when instances' clocks disagree, which
// the test reproduces by passing times that go backwards.
func testChangeEmailConflict(t *testing.T, s store.Users) {
	ctx := t.Context()
	a := newUser(t, s, "a@example.com")
	must(t, "ReserveEmail", s.ReserveEmail(ctx, a.ID, "contested@example.com", at(time.Hour), t0))
	b := &store.User{Email: "Contested@example.com", CreatedAt: at(2 * time.Hour)}
	must(t, "CreateUser after the reservation expired", s.CreateUser(ctx, b))

	err := s.ChangeEmail(ctx, a.ID, "contested@example.com", at(30*time.Minute))
	if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ChangeEmail to an address another user took: got %v, want ErrConflict (or ErrNotFound if the stale reservation was dropped)", err)
	}
	if got := getUser(t, s, a.ID); got.Email != "a@example.com" || !got.EmailConfirmedAt.IsZero() {
		t.Errorf("a after a refused ChangeEmail: got (%q, %v), want (%q, zero)", got.Email, got.EmailConfirmedAt, "a@example.com")
	}
	holder, err := s.UserByEmail(ctx, "contested@example.com")
	must(t, "UserByEmail", err)
	if holder.ID != b.ID {
		t.Errorf("holder of the contested address: got %q, want %q", holder.ID, b.ID)
	}
}
