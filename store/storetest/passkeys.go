package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// passkeyStore is what the Passkeys part needs.
type passkeyStore interface {
	store.Users
	store.Passkeys
}

func passkeyChecks() []check {
	return []check{
		checkOf("PasskeyUserHandle/Stable", testPasskeyHandleStable),
		checkOf("PasskeyUserHandle/Concurrent", testPasskeyHandleConcurrent),
		checkOf("PasskeyUserHandle/Refused", testPasskeyHandleRefused),
		checkOf("CreatePasskey/RoundTrip", testCreatePasskeyRoundTrip),
		checkOf("CreatePasskey/CredentialIDTaken", testCreatePasskeyTaken),
		checkOf("CreatePasskey/Limit", testCreatePasskeyLimit),
		checkOf("CreatePasskey/LimitConcurrent", testCreatePasskeyLimitConcurrent),
		checkOf("CreatePasskey/UnknownUser", testCreatePasskeyUnknownUser),
		checkOf("UsePasskey", testUsePasskey),
		checkOf("RenamePasskey", testRenamePasskey),
		checkOf("DeletePasskey/LastMethod", testDeletePasskeyLastMethod),
		checkOf("DeletePasskey/LastMethodConcurrent", testDeletePasskeyConcurrent),
		checkOf("DeletePasskey/NotFound", testDeletePasskeyNotFound),
		checkEnv("LastMethod/WithIdentities", testPasskeyIdentityLastMethod),
		checkOf("DeleteUser", func(t *testing.T, s passkeyStore) { testPasskeysUserGone(t, s, false) }),
		checkOf("AnonymizeUser", func(t *testing.T, s passkeyStore) { testPasskeysUserGone(t, s, true) }),
		checkEnv("Transaction", testPasskeysTransaction),
	}
}

// The relying parties of the checks.
const (
	rpMain  = "example.com"
	rpOther = "other.example"
)

// newPasskey returns a passkey of userID for rpID whose credential ID and
// key are derived from tag.
func newPasskey(userID, rpID, tag string) *store.Passkey {
	return &store.Passkey{
		UserID:            userID,
		RPID:              rpID,
		CredentialID:      digest("credential " + tag),
		PublicKey:         digest("public key " + tag),
		AttestationType:   "none",
		AttestationFormat: "none",
		AAGUID:            digest("aaguid " + tag)[:16],
		Transports:        []string{"internal", "hybrid"},
		Attachment:        "platform",
		SignCount:         7,
		UserVerified:      true,
		BackupEligible:    true,
		BackupState:       false,
		Name:              "Passkey " + tag,
		CreatedAt:         t0,
	}
}

// createPasskey stores a new passkey that must be accepted.
func createPasskey(t *testing.T, s store.Passkeys, userID, rpID, tag string) *store.Passkey {
	t.Helper()
	p := newPasskey(userID, rpID, tag)
	must(t, "CreatePasskey("+tag+")", s.CreatePasskey(t.Context(), p, 0))
	if p.ID == "" {
		t.Fatalf("CreatePasskey(%s) left ID empty", tag)
	}
	return p
}

// passkeyIDs lists the IDs of the user's passkeys for rpID.
func passkeyIDs(t *testing.T, s store.Passkeys, userID, rpID string) []string {
	t.Helper()
	list, err := s.PasskeysByUser(t.Context(), userID, rpID)
	must(t, "PasskeysByUser", err)
	var ids []string
	for _, p := range list {
		ids = append(ids, p.ID)
	}
	return ids
}

// samePasskey reports the fields of got that differ from want.
func samePasskey(t *testing.T, what string, got, want *store.Passkey) {
	t.Helper()
	sameTime(t, what+" CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+" LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	g, w := *got, *want
	g.CreatedAt, w.CreatedAt, g.LastUsedAt, w.LastUsedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got %+v, want %+v", what, g, w)
	}
}

// A user's handle is created once and then returned, whatever fresh bytes
// later calls bring; the handle finds the user.
func testPasskeyHandleStable(t *testing.T, s passkeyStore) {
	ctx := t.Context()
	u := newUser(t, s, "handle@example.com")
	other := newUser(t, s, "other.handle@example.com")
	_, err := s.PasskeyUserHandle(ctx, u.ID, nil)
	wantErr(t, "PasskeyUserHandle(nil) before any handle", err, store.ErrNotFound)
	first := digest("handle one")
	h, err := s.PasskeyUserHandle(ctx, u.ID, first)
	must(t, "PasskeyUserHandle", err)
	if !bytes.Equal(h, first) {
		t.Fatalf("PasskeyUserHandle: got %x, want the fresh handle %x", h, first)
	}
	h, err = s.PasskeyUserHandle(ctx, u.ID, digest("handle two"))
	must(t, "PasskeyUserHandle again", err)
	if !bytes.Equal(h, first) {
		t.Errorf("PasskeyUserHandle again: got %x, want the first handle %x", h, first)
	}
	h, err = s.PasskeyUserHandle(ctx, u.ID, nil)
	must(t, "PasskeyUserHandle(nil)", err)
	if !bytes.Equal(h, first) {
		t.Errorf("PasskeyUserHandle(nil): got %x, want the first handle %x", h, first)
	}
	_, err = s.PasskeyUserHandle(ctx, "01900000-0000-7000-8000-00000000d1ce", nil)
	wantErr(t, "PasskeyUserHandle(unknown user, nil)", err, store.ErrNotFound)
	id, err := s.UserIDByPasskeyHandle(ctx, first)
	must(t, "UserIDByPasskeyHandle", err)
	if id != u.ID {
		t.Errorf("UserIDByPasskeyHandle: got %q, want %q", id, u.ID)
	}
	_, err = s.UserIDByPasskeyHandle(ctx, digest("handle two"))
	wantErr(t, "UserIDByPasskeyHandle(unused)", err, store.ErrNotFound)
	_, err = s.UserIDByPasskeyHandle(ctx, nil)
	wantErr(t, "UserIDByPasskeyHandle(empty)", err, store.ErrNotFound)
	h2, err := s.PasskeyUserHandle(ctx, other.ID, digest("handle two"))
	must(t, "PasskeyUserHandle(other user)", err)
	if bytes.Equal(h2, first) {
		t.Error("two users got the same handle")
	}
}

// Of concurrent first calls with different fresh bytes, all return the one
// handle that was stored.
func testPasskeyHandleConcurrent(t *testing.T, s passkeyStore) {
	u := newUser(t, s, "handle.race@example.com")
	const n = 16
	got := make([][]byte, n)
	errs := race(n, func(i int) error {
		h, err := s.PasskeyUserHandle(context.Background(), u.ID, digest(fmt.Sprint("race ", i)))
		got[i] = h
		return err
	})
	for i, err := range errs {
		must(t, fmt.Sprintf("PasskeyUserHandle %d", i), err)
	}
	for i := 1; i < n; i++ {
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("concurrent PasskeyUserHandle: call %d got %x, call 0 got %x, want one handle", i, got[i], got[0])
		}
	}
}

// An unknown user, another user's handle and a handle of a bad length are
// refused, and store nothing.
func testPasskeyHandleRefused(t *testing.T, s passkeyStore) {
	ctx := t.Context()
	a := newUser(t, s, "a.handle@example.com")
	b := newUser(t, s, "b.handle@example.com")
	_, err := s.PasskeyUserHandle(ctx, "01900000-0000-7000-8000-00000000d1ce", digest("ghost"))
	wantErr(t, "PasskeyUserHandle(unknown user)", err, store.ErrNotFound)
	_, err = s.UserIDByPasskeyHandle(ctx, digest("ghost"))
	wantErr(t, "UserIDByPasskeyHandle(ghost's)", err, store.ErrNotFound)
	_, err = s.PasskeyUserHandle(ctx, a.ID, digest("shared"))
	must(t, "PasskeyUserHandle(a)", err)
	_, err = s.PasskeyUserHandle(ctx, b.ID, digest("shared"))
	wantErr(t, "PasskeyUserHandle(b, a's handle)", err, store.ErrConflict)
	for _, n := range []int{0, 65} {
		if _, err := s.PasskeyUserHandle(ctx, b.ID, make([]byte, n)); err == nil {
			t.Errorf("PasskeyUserHandle(%d bytes): got nil error, want a refusal", n)
		}
	}
	h, err := s.PasskeyUserHandle(ctx, b.ID, digest("b's own"))
	must(t, "PasskeyUserHandle(b)", err)
	if !bytes.Equal(h, digest("b's own")) {
		t.Errorf("PasskeyUserHandle(b) after refusals: got %x, want the fresh handle", h)
	}
}

// Every field comes back as stored, by user and by credential ID, and
// lists are per relying party, oldest first.
func testCreatePasskeyRoundTrip(t *testing.T, s passkeyStore) {
	ctx := t.Context()
	u := newUser(t, s, "roundtrip@example.com")
	p := newPasskey(u.ID, rpMain, "one")
	p.LastUsedAt = at(time.Second)
	p.SignCount = 1<<32 - 1
	must(t, "CreatePasskey", s.CreatePasskey(ctx, p, 10))
	q := newPasskey(u.ID, rpMain, "two")
	q.CreatedAt = at(time.Minute)
	q.Transports, q.AAGUID, q.Attachment, q.UserVerified, q.BackupEligible = nil, make([]byte, 16), "", false, false
	must(t, "CreatePasskey(two)", s.CreatePasskey(ctx, q, 10))
	elsewhere := createPasskey(t, s, u.ID, rpOther, "elsewhere")

	got, err := s.PasskeyByCredentialID(ctx, rpMain, p.CredentialID)
	must(t, "PasskeyByCredentialID", err)
	samePasskey(t, "PasskeyByCredentialID", got, p)
	list, err := s.PasskeysByUser(ctx, u.ID, rpMain)
	must(t, "PasskeysByUser", err)
	if len(list) != 2 {
		t.Fatalf("PasskeysByUser: got %d passkeys, want 2", len(list))
	}
	samePasskey(t, "PasskeysByUser[0]", list[0], p)
	want := *q
	want.Transports = []string{}
	if len(list[1].Transports) == 0 {
		list[1].Transports = []string{}
	}
	samePasskey(t, "PasskeysByUser[1]", list[1], &want)
	if ids := passkeyIDs(t, s, u.ID, rpOther); !slices.Equal(ids, []string{elsewhere.ID}) {
		t.Errorf("PasskeysByUser(other RP): got %v, want [%s]", ids, elsewhere.ID)
	}
	_, err = s.PasskeyByCredentialID(ctx, rpOther, p.CredentialID)
	wantErr(t, "PasskeyByCredentialID(other RP)", err, store.ErrNotFound)
	if ids := passkeyIDs(t, s, "01900000-0000-7000-8000-00000000d1ce", rpMain); len(ids) != 0 {
		t.Errorf("PasskeysByUser(unknown user): got %v, want none", ids)
	}
}

// A credential ID registered for a relying party cannot be registered
// again, by the same user or another; another relying party may hold it.
func testCreatePasskeyTaken(t *testing.T, s passkeyStore) {
	ctx := t.Context()
	a := newUser(t, s, "first@example.com")
	b := newUser(t, s, "second@example.com")
	p := createPasskey(t, s, a.ID, rpMain, "shared")
	again := newPasskey(b.ID, rpMain, "shared")
	wantErr(t, "CreatePasskey(another user, same credential)", s.CreatePasskey(ctx, again, 0), store.ErrConflict)
	again = newPasskey(a.ID, rpMain, "shared")
	wantErr(t, "CreatePasskey(same user, same credential)", s.CreatePasskey(ctx, again, 0), store.ErrConflict)
	if ids := passkeyIDs(t, s, b.ID, rpMain); len(ids) != 0 {
		t.Errorf("PasskeysByUser(b) after the refusal: got %v, want none", ids)
	}
	owner, err := s.PasskeyByCredentialID(ctx, rpMain, p.CredentialID)
	must(t, "PasskeyByCredentialID", err)
	if owner.UserID != a.ID {
		t.Errorf("credential owner after the refusal: got %q, want %q", owner.UserID, a.ID)
	}
	createPasskey(t, s, b.ID, rpOther, "shared")
}

// At the limit, CreatePasskey refuses with ErrPasskeyLimit, per relying
// party; a removal makes room again.
func testCreatePasskeyLimit(t *testing.T, s passkeyStore) {
	ctx := t.Context()
	u := newUser(t, s, "limit@example.com")
	u.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
	must(t, "SetPasswordHash", s.SetPasswordHash(ctx, u.ID, u.PasswordHash, t0))
	var first *store.Passkey
	for i := range 3 {
		p := newPasskey(u.ID, rpMain, fmt.Sprint("limit ", i))
		must(t, fmt.Sprint("CreatePasskey ", i), s.CreatePasskey(ctx, p, 3))
		if first == nil {
			first = p
		}
	}
	wantErr(t, "CreatePasskey(over the limit)", s.CreatePasskey(ctx, newPasskey(u.ID, rpMain, "limit 3"), 3), store.ErrPasskeyLimit)
	must(t, "CreatePasskey(other RP)", s.CreatePasskey(ctx, newPasskey(u.ID, rpOther, "limit 3"), 3))
	must(t, "CreatePasskey(no limit)", s.CreatePasskey(ctx, newPasskey(u.ID, rpMain, "limit 4"), 0))
	if n := len(passkeyIDs(t, s, u.ID, rpMain)); n != 4 {
		t.Errorf("passkeys: got %d, want 4", n)
	}
	must(t, "DeletePasskey", s.DeletePasskey(ctx, u.ID, first.ID, true))
	must(t, "DeletePasskey", s.DeletePasskey(ctx, u.ID, passkeyIDs(t, s, u.ID, rpMain)[0], true))
	must(t, "CreatePasskey(after removals)", s.CreatePasskey(ctx, newPasskey(u.ID, rpMain, "limit 5"), 3))
}

// Concurrent registrations cannot pass the limit together.
func testCreatePasskeyLimitConcurrent(t *testing.T, s passkeyStore) {
	u := newUser(t, s, "limit.race@example.com")
	const n, limit = 12, 5
	errs := race(n, func(i int) error {
		return s.CreatePasskey(context.Background(), newPasskey(u.ID, rpMain, fmt.Sprint("race ", i)), limit)
	})
	ok, refused := countOutcomes(t, "CreatePasskey", errs, store.ErrPasskeyLimit)
	if ok != limit || refused != n-limit {
		t.Errorf("concurrent registrations: got %d stored and %d refused, want %d and %d", ok, refused, limit, n-limit)
	}
	if got := len(passkeyIDs(t, s, u.ID, rpMain)); got != limit {
		t.Errorf("passkeys after the race: got %d, want %d", got, limit)
	}
}

func testCreatePasskeyUnknownUser(t *testing.T, s passkeyStore) {
	ctx := t.Context()
	p := newPasskey("01900000-0000-7000-8000-00000000d1ce", rpMain, "ghost")
	wantErr(t, "CreatePasskey(unknown user)", s.CreatePasskey(ctx, p, 10), store.ErrNotFound)
	_, err := s.PasskeyByCredentialID(ctx, rpMain, p.CredentialID)
	wantErr(t, "PasskeyByCredentialID after the refusal", err, store.ErrNotFound)
}

// UsePasskey writes the later counter (never moving it back), the backup
// state and the time; it touches only the user's own passkey.
func testUsePasskey(t *testing.T, s passkeyStore) {
	ctx := t.Context()
	u := newUser(t, s, "use@example.com")
	other := newUser(t, s, "use.other@example.com")
	p := createPasskey(t, s, u.ID, rpMain, "used")
	zone := time.FixedZone("UTC+05:45", 5*3600+45*60)
	must(t, "UsePasskey", s.UsePasskey(ctx, u.ID, p.ID, store.PasskeyUse{SignCount: 9, BackupState: true, At: at(time.Hour).In(zone)}))
	got, err := s.PasskeyByCredentialID(ctx, rpMain, p.CredentialID)
	must(t, "PasskeyByCredentialID", err)
	if got.SignCount != 9 || !got.BackupState || !got.BackupEligible {
		t.Errorf("after UsePasskey: got count %d, BS %v, BE %v; want 9, true, true", got.SignCount, got.BackupState, got.BackupEligible)
	}
	sameTime(t, "LastUsedAt", got.LastUsedAt, at(time.Hour))
	must(t, "UsePasskey(lower count)", s.UsePasskey(ctx, u.ID, p.ID, store.PasskeyUse{SignCount: 3, At: at(2 * time.Hour)}))
	got, err = s.PasskeyByCredentialID(ctx, rpMain, p.CredentialID)
	must(t, "PasskeyByCredentialID", err)
	if got.SignCount != 9 || got.BackupState {
		t.Errorf("after UsePasskey(lower count): got count %d, BS %v; want 9, false", got.SignCount, got.BackupState)
	}
	sameTime(t, "LastUsedAt", got.LastUsedAt, at(2*time.Hour))
	wantErr(t, "UsePasskey(another user's)", s.UsePasskey(ctx, other.ID, p.ID, store.PasskeyUse{SignCount: 99, At: at(3 * time.Hour)}), store.ErrNotFound)
	wantErr(t, "UsePasskey(unknown)", s.UsePasskey(ctx, u.ID, store.NewID(), store.PasskeyUse{At: at(3 * time.Hour)}), store.ErrNotFound)
	got, _ = s.PasskeyByCredentialID(ctx, rpMain, p.CredentialID)
	if got.SignCount != 9 {
		t.Errorf("after refused uses: got count %d, want 9", got.SignCount)
	}
}

func testRenamePasskey(t *testing.T, s passkeyStore) {
	ctx := t.Context()
	u := newUser(t, s, "rename@example.com")
	other := newUser(t, s, "rename.other@example.com")
	p := createPasskey(t, s, u.ID, rpMain, "named")
	must(t, "RenamePasskey", s.RenamePasskey(ctx, u.ID, p.ID, "Work laptop"))
	wantErr(t, "RenamePasskey(another user's)", s.RenamePasskey(ctx, other.ID, p.ID, "Stolen"), store.ErrNotFound)
	got, err := s.PasskeyByCredentialID(ctx, rpMain, p.CredentialID)
	must(t, "PasskeyByCredentialID", err)
	if got.Name != "Work laptop" {
		t.Errorf("Name: got %q, want %q", got.Name, "Work laptop")
	}
}

// A guarded removal never takes a user's last way to sign in: without a
// password, the last passkey (of any relying party) stays; with one, every
// passkey may go. An unguarded removal (a revocation) always removes.
func testDeletePasskeyLastMethod(t *testing.T, s passkeyStore) {
	ctx := t.Context()
	u := newUser(t, s, "passwordless@example.com")
	a := createPasskey(t, s, u.ID, rpMain, "a")
	b := createPasskey(t, s, u.ID, rpOther, "b")
	must(t, "DeletePasskey(a)", s.DeletePasskey(ctx, u.ID, a.ID, true))
	wantErr(t, "DeletePasskey(b, the last method)", s.DeletePasskey(ctx, u.ID, b.ID, true), store.ErrLastSignInMethod)
	if ids := passkeyIDs(t, s, u.ID, rpOther); !slices.Equal(ids, []string{b.ID}) {
		t.Fatalf("passkeys after the refusal: got %v, want [%s]", ids, b.ID)
	}
	must(t, "SetPasswordHash", s.SetPasswordHash(ctx, u.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", at(time.Minute)))
	must(t, "DeletePasskey(b, with a password)", s.DeletePasskey(ctx, u.ID, b.ID, true))

	v := newUser(t, s, "revoked@example.com")
	c := createPasskey(t, s, v.ID, rpMain, "c")
	wantErr(t, "DeletePasskey(c, guarded)", s.DeletePasskey(ctx, v.ID, c.ID, true), store.ErrLastSignInMethod)
	must(t, "DeletePasskey(c, unguarded)", s.DeletePasskey(ctx, v.ID, c.ID, false))
	if ids := passkeyIDs(t, s, v.ID, rpMain); len(ids) != 0 {
		t.Errorf("passkeys after the revocation: got %v, want none", ids)
	}
}

// Concurrent guarded removals of a password-less user's last two passkeys:
// exactly one succeeds, and one passkey is left. Repeated, so that the
// removals really overlap.
func testDeletePasskeyConcurrent(t *testing.T, s passkeyStore) {
	for round := range 8 {
		u := newUser(t, s, fmt.Sprintf("race%d@example.com", round))
		ids := []string{
			createPasskey(t, s, u.ID, rpMain, fmt.Sprint(round, " one")).ID,
			createPasskey(t, s, u.ID, rpMain, fmt.Sprint(round, " two")).ID,
		}
		errs := race(len(ids), func(i int) error {
			return s.DeletePasskey(context.Background(), u.ID, ids[i], true)
		})
		ok, refused := countOutcomes(t, "DeletePasskey", errs, store.ErrLastSignInMethod)
		if ok != 1 || refused != 1 {
			t.Fatalf("round %d: concurrent removals of the last two passkeys: got %d removed and %d refused, want 1 and 1", round, ok, refused)
		}
		if left := passkeyIDs(t, s, u.ID, rpMain); len(left) != 1 {
			t.Fatalf("round %d: passkeys left: got %d, want 1", round, len(left))
		}
	}
}

// Removing a passkey that is not the user's is not found, whatever the
// guard, and removes nothing.
func testDeletePasskeyNotFound(t *testing.T, s passkeyStore) {
	ctx := t.Context()
	u := newUser(t, s, "owner@example.com")
	thief := newUser(t, s, "thief@example.com")
	p := createPasskey(t, s, u.ID, rpMain, "mine")
	createPasskey(t, s, thief.ID, rpMain, "theirs one")
	createPasskey(t, s, thief.ID, rpMain, "theirs two")
	for _, guard := range []bool{true, false} {
		wantErr(t, fmt.Sprintf("DeletePasskey(another user's, guard %v)", guard), s.DeletePasskey(ctx, thief.ID, p.ID, guard), store.ErrNotFound)
		wantErr(t, fmt.Sprintf("DeletePasskey(unknown, guard %v)", guard), s.DeletePasskey(ctx, u.ID, store.NewID(), guard), store.ErrNotFound)
	}
	if ids := passkeyIDs(t, s, u.ID, rpMain); !slices.Equal(ids, []string{p.ID}) {
		t.Errorf("passkeys after refused removals: got %v, want [%s]", ids, p.ID)
	}
}

// The user's passkeys and handle go with the user (deleted or anonymized);
// another user's stay, and the credential IDs can be registered again.
func testPasskeysUserGone(t *testing.T, s passkeyStore, anonymize bool) {
	ctx := t.Context()
	u := newUser(t, s, "gone@example.com")
	bystander := newUser(t, s, "stays@example.com")
	h, err := s.PasskeyUserHandle(ctx, u.ID, digest("gone handle"))
	must(t, "PasskeyUserHandle", err)
	p := createPasskey(t, s, u.ID, rpMain, "gone")
	kept := createPasskey(t, s, bystander.ID, rpMain, "kept")
	if anonymize {
		must(t, "AnonymizeUser", s.AnonymizeUser(ctx, u.ID, at(time.Minute)))
	} else {
		must(t, "DeleteUser", s.DeleteUser(ctx, u.ID))
	}
	_, err = s.PasskeyByCredentialID(ctx, rpMain, p.CredentialID)
	wantErr(t, "PasskeyByCredentialID(gone user's)", err, store.ErrNotFound)
	_, err = s.UserIDByPasskeyHandle(ctx, h)
	wantErr(t, "UserIDByPasskeyHandle(gone user's)", err, store.ErrNotFound)
	if _, err := s.PasskeyByCredentialID(ctx, rpMain, kept.CredentialID); err != nil {
		t.Errorf("bystander's passkey: %v", err)
	}
	createPasskey(t, s, bystander.ID, rpMain, "gone")
}

// Inside a transaction the methods join it: a rollback leaves nothing.
func testPasskeysTransaction(t *testing.T, s passkeyStore, e env) {
	tx, ok := as[store.Transactor](e)
	if !ok {
		t.Skipf("storetest: %s does not implement store.Transactor", typeName(e.typ))
	}
	ctx := t.Context()
	u := newUser(t, s, "tx.passkey@example.com")
	keep := createPasskey(t, s, u.ID, rpMain, "keep")
	errRollback := errors.New("roll back")
	p := newPasskey(u.ID, rpMain, "rolled back")
	err := tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.CreatePasskey(ctx, p, 10); err != nil {
			return err
		}
		if _, err := s.PasskeyUserHandle(ctx, u.ID, digest("tx handle")); err != nil {
			return err
		}
		if err := s.DeletePasskey(ctx, u.ID, keep.ID, true); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx: got %v, want the function's error", err)
	}
	if ids := passkeyIDs(t, s, u.ID, rpMain); !slices.Equal(ids, []string{keep.ID}) {
		t.Errorf("passkeys after the rollback: got %v, want [%s]", ids, keep.ID)
	}
	_, err = s.UserIDByPasskeyHandle(ctx, digest("tx handle"))
	wantErr(t, "UserIDByPasskeyHandle after the rollback", err, store.ErrNotFound)
	must(t, "InTx", tx.InTx(ctx, func(ctx context.Context) error {
		return s.CreatePasskey(ctx, newPasskey(u.ID, rpMain, "committed"), 10)
	}))
	if n := len(passkeyIDs(t, s, u.ID, rpMain)); n != 2 {
		t.Errorf("passkeys after the commit: got %d, want 2", n)
	}
}

// testPasskeyIdentityLastMethod: when the store also links identities
// (store.Identities), a linked identity and a passkey count as each
// other's other way to sign in: either may be removed while the other
// remains, and the one left is then the last.
func testPasskeyIdentityLastMethod(t *testing.T, s passkeyStore, e env) {
	ids, ok := as[store.Identities](e)
	if !ok {
		t.Skipf("storetest: %s does not implement store.Identities", typeName(e.typ))
	}
	ctx := t.Context()
	u := newUser(t, s, "passkey-then-identity@example.com")
	pk := createPasskey(t, s, u.ID, rpMain, "keeps-identity")
	id := link(t, ids, u, "github", "sub-1")
	must(t, "DeletePasskey(an identity remains)", s.DeletePasskey(ctx, u.ID, pk.ID, true))
	_, err := ids.DeleteIdentity(ctx, u.ID, id.ID)
	wantErr(t, "DeleteIdentity(the last method)", err, store.ErrLastSignInMethod)

	v := newUser(t, s, "identity-then-passkey@example.com")
	pk2 := createPasskey(t, s, v.ID, rpMain, "kept-by-passkey")
	id2 := link(t, ids, v, "github", "sub-2")
	_, err = ids.DeleteIdentity(ctx, v.ID, id2.ID)
	must(t, "DeleteIdentity(a passkey remains)", err)
	wantErr(t, "DeletePasskey(the last method)", s.DeletePasskey(ctx, v.ID, pk2.ID, true), store.ErrLastSignInMethod)

	// Removing a password-less user's passkey and identity at once: one
	// wins, the other is refused. Repeated, so that the two overlap.
	for i := range 10 {
		w := newUser(t, s, fmt.Sprintf("race-%d@example.com", i))
		p := createPasskey(t, s, w.ID, rpMain, fmt.Sprintf("race-%d", i))
		l := link(t, ids, w, "github", fmt.Sprintf("race-sub-%d", i))
		errs := make(chan error, 2)
		go func() { errs <- s.DeletePasskey(ctx, w.ID, p.ID, true) }()
		go func() { _, err := ids.DeleteIdentity(ctx, w.ID, l.ID); errs <- err }()
		var ok, refused int
		for range 2 {
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrLastSignInMethod):
				refused++
			default:
				t.Fatalf("race %d: %v", i, err)
			}
		}
		if ok != 1 || refused != 1 {
			t.Fatalf("race %d: %d removed and %d refused, want 1 and 1", i, ok, refused)
		}
	}
}
