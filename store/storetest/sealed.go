package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// SealedSecrets checks [store.SealedSecrets]: the sealed TOTP secrets and
// provider tokens listed in batches in the order of their rows (absent
// tokens left out) with what their sealing is bound to, a replacement
// made only over the value read (of concurrent replacements of one value
// exactly one succeeds), and unknown kinds refused. Needs store.Users,
// store.TOTP, store.Identities and store.SealedSecrets.
const SealedSecrets Part = "SealedSecrets"

// sealedStore is what the checks of the SealedSecrets part need.
type sealedStore interface {
	store.Users
	store.TOTP
	store.Identities
	store.SealedSecrets
}

func sealedChecks() []check {
	return []check{
		checkOf("SealedAfter", testSealedAfter),
		checkOf("ReplaceSealed", testReplaceSealed),
		checkOf("ReplaceSealed/Concurrent", testReplaceSealedConcurrent),
		checkOf("UnknownKind", testSealedUnknownKind),
	}
}

// sealedFixture stores two TOTP secrets and two identities, one with
// both tokens and one with an access token only.
func sealedFixture(t *testing.T, s sealedStore) (users []*store.User, ids []*store.Identity) {
	t.Helper()
	ctx := t.Context()
	for i := range 3 {
		users = append(users, newUser(t, s, fmt.Sprintf("sealed%d@example.com", i)))
	}
	for i, u := range users[:2] {
		must(t, "SavePendingTOTP", s.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte(fmt.Sprintf("totp-%d", i)), CreatedAt: t0}))
	}
	a := link(t, s, users[1], "google", "g-1")
	must(t, "SetIdentityTokens", s.SetIdentityTokens(ctx, a.ID, []byte("access-a"), []byte("refresh-a"), at(time.Hour), t0))
	b := link(t, s, users[2], "github", "h-2")
	must(t, "SetIdentityTokens", s.SetIdentityTokens(ctx, b.ID, []byte("access-b"), nil, time.Time{}, t0))
	return users, []*store.Identity{a, b}
}

// all reads every value of kind, limit at a time.
func allSealed(t *testing.T, s store.SealedSecrets, kind store.SealedKind, limit int) []store.SealedValue {
	t.Helper()
	var out []store.SealedValue
	for after := ""; ; {
		batch, err := s.SealedAfter(t.Context(), kind, after, limit)
		must(t, fmt.Sprintf("SealedAfter(%s, %q, %d)", kind, after, limit), err)
		if len(batch) > limit {
			t.Fatalf("SealedAfter(%s, limit %d): got %d values", kind, limit, len(batch))
		}
		out = append(out, batch...)
		if len(batch) < limit {
			return out
		}
		after = batch[len(batch)-1].Row
	}
}

// Every stored value is listed once, in the order of its row, with its
// owner (and identity), whatever the batch size; an absent refresh token
// is not.
func testSealedAfter(t *testing.T, s sealedStore) {
	users, ids := sealedFixture(t, s)
	tid := func(u *store.User, v string) store.SealedValue {
		return store.SealedValue{Row: u.ID, UserID: u.ID, Sealed: []byte(v)}
	}
	oid := func(i *store.Identity, v string) store.SealedValue {
		return store.SealedValue{Row: i.ID, UserID: i.UserID, Provider: i.Provider, Subject: i.Subject, Sealed: []byte(v)}
	}
	byRow := func(vs ...store.SealedValue) []store.SealedValue {
		slices.SortFunc(vs, func(a, b store.SealedValue) int {
			return bytes.Compare([]byte(a.Row), []byte(b.Row))
		})
		return vs
	}
	want := map[store.SealedKind][]store.SealedValue{
		store.SealedTOTP:         byRow(tid(users[0], "totp-0"), tid(users[1], "totp-1")),
		store.SealedOAuthAccess:  byRow(oid(ids[0], "access-a"), oid(ids[1], "access-b")),
		store.SealedOAuthRefresh: {oid(ids[0], "refresh-a")},
	}
	for _, kind := range store.SealedKinds() {
		for _, limit := range []int{1, 2, 100} {
			got := allSealed(t, s, kind, limit)
			if fmt.Sprint(got) != fmt.Sprint(want[kind]) {
				t.Errorf("%s, batches of %d:\ngot  %v\nwant %v", kind, limit, got, want[kind])
			}
		}
	}
}

// A replacement over the value read changes that value only; one over a
// value changed meanwhile, or of a row that is gone, changes nothing.
func testReplaceSealed(t *testing.T, s sealedStore) {
	ctx := t.Context()
	users, ids := sealedFixture(t, s)
	ok, err := s.ReplaceSealed(ctx, store.SealedTOTP, users[0].ID, []byte("totp-0"), []byte("totp-0-new"))
	must(t, "ReplaceSealed", err)
	if !ok {
		t.Fatal("ReplaceSealed over the value read: got false, want true")
	}
	got, err := s.TOTPByUser(ctx, users[0].ID)
	must(t, "TOTPByUser", err)
	if string(got.Sealed) != "totp-0-new" {
		t.Errorf("TOTP after ReplaceSealed: got %q, want totp-0-new", got.Sealed)
	}
	if ok, err := s.ReplaceSealed(ctx, store.SealedTOTP, users[0].ID, []byte("totp-0"), []byte("stale")); err != nil || ok {
		t.Errorf("ReplaceSealed over a value changed meanwhile: got %v, %v; want false, nil", ok, err)
	}
	if got, _ := s.TOTPByUser(ctx, users[0].ID); got == nil || string(got.Sealed) != "totp-0-new" {
		t.Errorf("a refused ReplaceSealed changed the TOTP secret: got %+v", got)
	}
	if ok, err := s.ReplaceSealed(ctx, store.SealedTOTP, "no-such-user", []byte("totp-0"), []byte("x")); err != nil || ok {
		t.Errorf("ReplaceSealed of a missing row: got %v, %v; want false, nil", ok, err)
	}

	ok, err = s.ReplaceSealed(ctx, store.SealedOAuthRefresh, ids[0].ID, []byte("refresh-a"), []byte("refresh-a-new"))
	must(t, "ReplaceSealed refresh", err)
	if !ok {
		t.Fatal("ReplaceSealed of a refresh token: got false, want true")
	}
	i, err := s.IdentityBySubject(ctx, "google", "g-1")
	must(t, "IdentityBySubject", err)
	if string(i.RefreshToken) != "refresh-a-new" || string(i.AccessToken) != "access-a" {
		t.Errorf("identity after ReplaceSealed of its refresh token: got access %q, refresh %q; want access-a, refresh-a-new", i.AccessToken, i.RefreshToken)
	}
	// An absent token is not there to replace.
	if ok, err := s.ReplaceSealed(ctx, store.SealedOAuthRefresh, ids[1].ID, nil, []byte("x")); err != nil || ok {
		t.Errorf("ReplaceSealed of an absent token: got %v, %v; want false, nil", ok, err)
	}
	if i, _ := s.IdentityBySubject(ctx, "github", "h-2"); i == nil || i.RefreshToken != nil {
		t.Errorf("an absent token was set: got %+v", i)
	}
}

// Of concurrent replacements of one value read once, exactly one
// succeeds: a value is re-sealed once, and a value written meanwhile (a
// token refreshed) is never overwritten by an older one.
func testReplaceSealedConcurrent(t *testing.T, s sealedStore) {
	ctx := t.Context()
	_, ids := sealedFixture(t, s)
	const n = 8
	won := make([]bool, n)
	errs := race(n, func(i int) error {
		ok, err := s.ReplaceSealed(ctx, store.SealedOAuthAccess, ids[0].ID, []byte("access-a"), []byte(fmt.Sprintf("access-%d", i)))
		won[i] = ok
		return err
	})
	countOutcomes(t, "concurrent ReplaceSealed", errs, nil)
	winner := -1
	for i, w := range won {
		if w {
			if winner >= 0 {
				t.Fatalf("concurrent ReplaceSealed: %d and %d both replaced the value", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("concurrent ReplaceSealed: none replaced the value")
	}
	i, err := s.IdentityBySubject(ctx, "google", "g-1")
	must(t, "IdentityBySubject", err)
	if want := fmt.Sprintf("access-%d", winner); string(i.AccessToken) != want {
		t.Errorf("after concurrent ReplaceSealed: got %q, want the winner's %q", i.AccessToken, want)
	}
}

// An unknown kind is refused and changes nothing.
func testSealedUnknownKind(t *testing.T, s sealedStore) {
	ctx := t.Context()
	users, _ := sealedFixture(t, s)
	if _, err := s.SealedAfter(ctx, "passwords", "", 10); err == nil {
		t.Error("SealedAfter of an unknown kind: got no error")
	}
	if ok, err := s.ReplaceSealed(ctx, "totp; DROP", users[0].ID, []byte("totp-0"), []byte("x")); err == nil || ok {
		t.Errorf("ReplaceSealed of an unknown kind: got %v, %v; want an error", ok, err)
	}
	if got, _ := s.TOTPByUser(ctx, users[0].ID); got == nil || string(got.Sealed) != "totp-0" {
		t.Errorf("a refused ReplaceSealed changed the TOTP secret: got %+v", got)
	}
}
