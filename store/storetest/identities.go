package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// Identities checks [store.Identities]: linking keyed by (provider,
// subject) and one identity per provider for a user, lookups, token and
// sign-in updates, the last-sign-in-method guard (also under concurrent
// removals of a password-less user's last two identities), what
// DeleteUser and AnonymizeUser remove, refused input changing nothing,
// and, when the store is a [store.Transactor], writes rolled back with
// their transaction. Needs store.Users and store.Identities.
const Identities Part = "Identities"

// identityStore is what the checks of the Identities part need.
type identityStore interface {
	store.Users
	store.Identities
}

func identityChecks() []check {
	return []check{
		checkOf("CreateIdentity", testCreateIdentity),
		checkOf("CreateIdentity/Conflict", testCreateIdentityConflict),
		checkOf("CreateIdentity/Refused", testCreateIdentityRefused),
		checkOf("UserIdentities", testUserIdentities),
		checkOf("SetIdentityTokens", testSetIdentityTokens),
		checkOf("TouchIdentity", testTouchIdentity),
		checkOf("DeleteIdentity", testDeleteIdentity),
		checkOf("DeleteIdentity/LastMethod", testDeleteIdentityLastMethod),
		checkOf("DeleteIdentity/Concurrent", testDeleteIdentityConcurrent),
		checkOf("DeleteUser", func(t *testing.T, s identityStore) { testIdentitiesUserGone(t, s, false) }),
		checkOf("AnonymizeUser", func(t *testing.T, s identityStore) { testIdentitiesUserGone(t, s, true) }),
		checkEnv("Transaction", testIdentitiesTransaction),
	}
}

// link links (provider, subject) to u, failing the test on an error.
func link(t *testing.T, s store.Identities, u *store.User, provider, subject string) *store.Identity {
	t.Helper()
	i := &store.Identity{UserID: u.ID, Provider: provider, Subject: subject, Email: u.Email, CreatedAt: t0}
	must(t, fmt.Sprintf("CreateIdentity(%s, %s)", provider, subject), s.CreateIdentity(t.Context(), i))
	if i.ID == "" {
		t.Fatalf("CreateIdentity(%s, %s) left ID empty", provider, subject)
	}
	return i
}

// withPassword gives u a password hash.
func withPassword(t *testing.T, s store.Users, u *store.User) {
	t.Helper()
	must(t, "SetPasswordHash", s.SetPasswordHash(t.Context(), u.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", t0))
}

// sameIdentity reports the fields of got that differ from want.
func sameIdentity(t *testing.T, what string, got, want *store.Identity) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Provider != want.Provider || got.Subject != want.Subject ||
		got.Email != want.Email || got.EmailVerified != want.EmailVerified {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
	if !bytes.Equal(got.AccessToken, want.AccessToken) || !bytes.Equal(got.RefreshToken, want.RefreshToken) {
		t.Errorf("%s: got tokens %x / %x, want %x / %x", what, got.AccessToken, got.RefreshToken, want.AccessToken, want.RefreshToken)
	}
	sameTime(t, what+" TokenExpiresAt", got.TokenExpiresAt, want.TokenExpiresAt)
	sameTime(t, what+" CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+" UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	sameTime(t, what+" LastUsedAt", got.LastUsedAt, want.LastUsedAt)
}

// An identity comes back as it was created, found by (provider, subject)
// and by nothing else; IDs and times are filled in.
func testCreateIdentity(t *testing.T, s identityStore) {
	ctx := t.Context()
	u := newUser(t, s, "linked@example.com")
	i := &store.Identity{
		UserID: u.ID, Provider: "github", Subject: "12345", Email: "Linked@Example.com", EmailVerified: true,
		AccessToken: []byte("sealed-access"), RefreshToken: []byte("sealed-refresh"),
		TokenExpiresAt: at(time.Hour), CreatedAt: t0, LastUsedAt: at(time.Second),
	}
	must(t, "CreateIdentity", s.CreateIdentity(ctx, i))
	if i.ID == "" {
		t.Fatal("CreateIdentity left ID empty")
	}
	sameTime(t, "UpdatedAt filled", i.UpdatedAt, t0)
	got, err := s.IdentityBySubject(ctx, "github", "12345")
	must(t, "IdentityBySubject", err)
	sameIdentity(t, "IdentityBySubject", got, i)

	for _, k := range [][2]string{{"github", "1234"}, {"gitlab", "12345"}, {"GitHub", "12345"}, {"github", "12345 "}} {
		_, err := s.IdentityBySubject(ctx, k[0], k[1])
		wantErr(t, fmt.Sprintf("IdentityBySubject(%q, %q)", k[0], k[1]), err, store.ErrNotFound)
	}

	// Without tokens and times, they stay empty.
	bare := &store.Identity{UserID: u.ID, Provider: "google", Subject: "g-1"}
	must(t, "CreateIdentity without tokens", s.CreateIdentity(ctx, bare))
	if bare.CreatedAt.IsZero() || bare.UpdatedAt.IsZero() {
		t.Errorf("CreateIdentity without times: got CreatedAt %v, UpdatedAt %v, want them filled", bare.CreatedAt, bare.UpdatedAt)
	}
	got, err = s.IdentityBySubject(ctx, "google", "g-1")
	must(t, "IdentityBySubject", err)
	if got.AccessToken != nil || got.RefreshToken != nil || !got.TokenExpiresAt.IsZero() || !got.LastUsedAt.IsZero() {
		t.Errorf("identity without tokens: got %+v, want no tokens and zero times", got)
	}
}

// (provider, subject) is linked to one user, and a user has one identity
// per provider; an unknown user is not found. Nothing is stored.
func testCreateIdentityConflict(t *testing.T, s identityStore) {
	ctx := t.Context()
	a := newUser(t, s, "a@example.com")
	b := newUser(t, s, "b@example.com")
	first := link(t, s, a, "github", "1")

	err := s.CreateIdentity(ctx, &store.Identity{UserID: b.ID, Provider: "github", Subject: "1"})
	wantErr(t, "CreateIdentity of a subject linked to another user", err, store.ErrConflict)
	err = s.CreateIdentity(ctx, &store.Identity{UserID: a.ID, Provider: "github", Subject: "1"})
	wantErr(t, "CreateIdentity of a subject linked to the same user", err, store.ErrConflict)
	err = s.CreateIdentity(ctx, &store.Identity{UserID: a.ID, Provider: "github", Subject: "2"})
	wantErr(t, "CreateIdentity of a second identity of one provider", err, store.ErrConflict)
	err = s.CreateIdentity(ctx, &store.Identity{UserID: "no-such-user", Provider: "gitlab", Subject: "1"})
	wantErr(t, "CreateIdentity for an unknown user", err, store.ErrNotFound)

	got, err := s.IdentityBySubject(ctx, "github", "1")
	must(t, "IdentityBySubject", err)
	if got.UserID != a.ID || got.ID != first.ID {
		t.Errorf("after conflicts: got identity of user %s (%s), want the first link", got.UserID, got.ID)
	}
	for _, u := range []*store.User{a, b} {
		ids, err := s.UserIdentities(ctx, u.ID)
		must(t, "UserIdentities", err)
		want := map[string]int{a.ID: 1, b.ID: 0}[u.ID]
		if len(ids) != want {
			t.Errorf("UserIdentities(%s): got %d, want %d", u.Email, len(ids), want)
		}
	}
	_, err = s.IdentityBySubject(ctx, "gitlab", "1")
	wantErr(t, "IdentityBySubject of the refused link", err, store.ErrNotFound)
	// The other user may still link another account of the provider.
	link(t, s, b, "github", "2")
}

// Empty user, provider or subject are refused; nothing is stored.
func testCreateIdentityRefused(t *testing.T, s identityStore) {
	ctx := t.Context()
	u := newUser(t, s, "refused@example.com")
	for _, i := range []*store.Identity{
		{UserID: "", Provider: "github", Subject: "1"},
		{UserID: u.ID, Provider: "", Subject: "1"},
		{UserID: u.ID, Provider: "github", Subject: ""},
	} {
		if err := s.CreateIdentity(ctx, i); err == nil {
			t.Errorf("CreateIdentity(%+v): got nil, want an error", i)
		}
	}
	ids, err := s.UserIdentities(ctx, u.ID)
	must(t, "UserIdentities", err)
	if len(ids) != 0 {
		t.Errorf("after refused links: got %d identities, want 0", len(ids))
	}
}

// A user's identities come oldest first; other users' are not among them.
func testUserIdentities(t *testing.T, s identityStore) {
	ctx := t.Context()
	u := newUser(t, s, "many@example.com")
	other := newUser(t, s, "other@example.com")
	ids := []*store.Identity{
		{UserID: u.ID, Provider: "google", Subject: "g", CreatedAt: at(2 * time.Minute)},
		{UserID: u.ID, Provider: "github", Subject: "h", CreatedAt: at(time.Minute)},
		{UserID: u.ID, Provider: "apple", Subject: "a", CreatedAt: at(3 * time.Minute)},
	}
	for _, i := range ids {
		must(t, "CreateIdentity", s.CreateIdentity(ctx, i))
	}
	link(t, s, other, "github", "o")
	got, err := s.UserIdentities(ctx, u.ID)
	must(t, "UserIdentities", err)
	var names []string
	for _, i := range got {
		names = append(names, i.Provider)
	}
	if fmt.Sprint(names) != "[github google apple]" {
		t.Errorf("UserIdentities: got providers %v, want [github google apple]", names)
	}
	none, err := s.UserIdentities(ctx, "no-such-user")
	must(t, "UserIdentities of an unknown user", err)
	if len(none) != 0 {
		t.Errorf("UserIdentities of an unknown user: got %d, want 0", len(none))
	}
}

// SetIdentityTokens replaces the tokens (nil removes one) and their expiry.
func testSetIdentityTokens(t *testing.T, s identityStore) {
	ctx := t.Context()
	u := newUser(t, s, "tokens@example.com")
	i := link(t, s, u, "google", "g")
	must(t, "SetIdentityTokens", s.SetIdentityTokens(ctx, i.ID, []byte("a1"), []byte("r1"), at(time.Hour), at(time.Minute)))
	got, err := s.IdentityBySubject(ctx, "google", "g")
	must(t, "IdentityBySubject", err)
	want := *i
	want.AccessToken, want.RefreshToken, want.TokenExpiresAt, want.UpdatedAt = []byte("a1"), []byte("r1"), at(time.Hour), at(time.Minute)
	sameIdentity(t, "after SetIdentityTokens", got, &want)

	must(t, "SetIdentityTokens to none", s.SetIdentityTokens(ctx, i.ID, nil, nil, time.Time{}, at(2*time.Minute)))
	got, err = s.IdentityBySubject(ctx, "google", "g")
	must(t, "IdentityBySubject", err)
	want.AccessToken, want.RefreshToken, want.TokenExpiresAt, want.UpdatedAt = nil, nil, time.Time{}, at(2*time.Minute)
	sameIdentity(t, "after SetIdentityTokens to none", got, &want)

	err = s.SetIdentityTokens(ctx, "no-such-identity", []byte("a"), nil, time.Time{}, t0)
	wantErr(t, "SetIdentityTokens of an unknown identity", err, store.ErrNotFound)
}

// TouchIdentity records the sign-in and the provider's current address.
func testTouchIdentity(t *testing.T, s identityStore) {
	ctx := t.Context()
	u := newUser(t, s, "touch@example.com")
	i := link(t, s, u, "gitlab", "7")
	must(t, "TouchIdentity", s.TouchIdentity(ctx, i.ID, "new@example.com", true, at(time.Hour)))
	got, err := s.IdentityBySubject(ctx, "gitlab", "7")
	must(t, "IdentityBySubject", err)
	want := *i
	want.Email, want.EmailVerified, want.LastUsedAt, want.UpdatedAt = "new@example.com", true, at(time.Hour), at(time.Hour)
	sameIdentity(t, "after TouchIdentity", got, &want)
	err = s.TouchIdentity(ctx, "no-such-identity", "x@example.com", false, t0)
	wantErr(t, "TouchIdentity of an unknown identity", err, store.ErrNotFound)
}

// DeleteIdentity unlinks the user's own identity, returns it, and frees
// its subject; another user's identity is not found.
func testDeleteIdentity(t *testing.T, s identityStore) {
	ctx := t.Context()
	u := newUser(t, s, "unlink@example.com")
	other := newUser(t, s, "other@example.com")
	withPassword(t, s, u)
	withPassword(t, s, other)
	i := link(t, s, u, "github", "1")
	o := link(t, s, other, "github", "2")

	_, err := s.DeleteIdentity(ctx, u.ID, o.ID)
	wantErr(t, "DeleteIdentity of another user's identity", err, store.ErrNotFound)
	if _, err := s.IdentityBySubject(ctx, "github", "2"); err != nil {
		t.Errorf("another user's identity after a refused removal: %v", err)
	}
	got, err := s.DeleteIdentity(ctx, u.ID, i.ID)
	must(t, "DeleteIdentity", err)
	if got == nil || got.ID != i.ID || got.Subject != "1" {
		t.Errorf("DeleteIdentity: got %+v, want the removed identity", got)
	}
	_, err = s.IdentityBySubject(ctx, "github", "1")
	wantErr(t, "IdentityBySubject after DeleteIdentity", err, store.ErrNotFound)
	_, err = s.DeleteIdentity(ctx, u.ID, i.ID)
	wantErr(t, "DeleteIdentity again", err, store.ErrNotFound)
	// The subject may be linked again, to anyone.
	link(t, s, other, "gitlab", "1")
	link(t, s, u, "github", "1")
}

// The last way to sign in is never removed: a password-less user keeps
// their last identity; with a password, or another identity, it goes.
func testDeleteIdentityLastMethod(t *testing.T, s identityStore) {
	ctx := t.Context()
	u := newUser(t, s, "only-oauth@example.com")
	gh := link(t, s, u, "github", "1")
	g := link(t, s, u, "google", "2")

	_, err := s.DeleteIdentity(ctx, u.ID, gh.ID)
	must(t, "DeleteIdentity of one of two identities", err)
	_, err = s.DeleteIdentity(ctx, u.ID, g.ID)
	wantErr(t, "DeleteIdentity of the last identity", err, store.ErrLastSignInMethod)
	if _, err := s.IdentityBySubject(ctx, "google", "2"); err != nil {
		t.Errorf("the last identity after a refused removal: %v", err)
	}
	withPassword(t, s, u)
	_, err = s.DeleteIdentity(ctx, u.ID, g.ID)
	must(t, "DeleteIdentity of the last identity of a user with a password", err)
	ids, err := s.UserIdentities(ctx, u.ID)
	must(t, "UserIdentities", err)
	if len(ids) != 0 {
		t.Errorf("UserIdentities: got %d, want 0", len(ids))
	}
}

// Of concurrent removals of a password-less user's last two identities,
// one succeeds and one is refused: the user keeps a way to sign in.
func testDeleteIdentityConcurrent(t *testing.T, s identityStore) {
	ctx := t.Context()
	for round := range 8 {
		u := newUser(t, s, fmt.Sprintf("race%d@example.com", round))
		ids := []*store.Identity{link(t, s, u, "github", fmt.Sprint("gh", round)), link(t, s, u, "google", fmt.Sprint("g", round))}
		errs := race(2, func(i int) error {
			_, err := s.DeleteIdentity(ctx, u.ID, ids[i].ID)
			return err
		})
		ok, refused := countOutcomes(t, "concurrent DeleteIdentity", errs, store.ErrLastSignInMethod)
		if ok != 1 || refused != 1 {
			t.Fatalf("round %d: got %d removed and %d refused, want 1 and 1", round, ok, refused)
		}
		left, err := s.UserIdentities(ctx, u.ID)
		must(t, "UserIdentities", err)
		if len(left) != 1 {
			t.Fatalf("round %d: got %d identities left, want 1", round, len(left))
		}
	}
}

// Deleting or anonymizing a user removes their identities (and frees the
// subjects); other users' stay.
func testIdentitiesUserGone(t *testing.T, s identityStore, anonymize bool) {
	ctx := t.Context()
	u := newUser(t, s, "gone@example.com")
	bystander := newUser(t, s, "bystander@example.com")
	link(t, s, u, "github", "1")
	link(t, s, u, "google", "1")
	link(t, s, bystander, "gitlab", "1")
	if anonymize {
		must(t, "AnonymizeUser", s.AnonymizeUser(ctx, u.ID, at(time.Minute)))
		ids, err := s.UserIdentities(ctx, u.ID)
		must(t, "UserIdentities after AnonymizeUser", err)
		if len(ids) != 0 {
			t.Errorf("UserIdentities after AnonymizeUser: got %d, want 0", len(ids))
		}
	} else {
		must(t, "DeleteUser", s.DeleteUser(ctx, u.ID))
	}
	for _, p := range []string{"github", "google"} {
		_, err := s.IdentityBySubject(ctx, p, "1")
		wantErr(t, "IdentityBySubject("+p+") of the removed user", err, store.ErrNotFound)
	}
	if _, err := s.IdentityBySubject(ctx, "gitlab", "1"); err != nil {
		t.Errorf("the bystander's identity: %v", err)
	}
	link(t, s, bystander, "github", "1")
}

// Inside a transaction the methods join it: a rollback leaves nothing, a
// refused removal leaves the transaction usable.
func testIdentitiesTransaction(t *testing.T, s identityStore, e env) {
	tx, ok := as[store.Transactor](e)
	if !ok {
		t.Skipf("storetest: %s does not implement store.Transactor", typeName(e.typ))
	}
	ctx := t.Context()
	u := newUser(t, s, "tx@example.com")
	errRollback := errors.New("roll back")
	err := tx.InTx(ctx, func(ctx context.Context) error {
		i := &store.Identity{UserID: u.ID, Provider: "github", Subject: "1"}
		if err := s.CreateIdentity(ctx, i); err != nil {
			return err
		}
		if _, err := s.IdentityBySubject(ctx, "github", "1"); err != nil {
			return fmt.Errorf("IdentityBySubject in the transaction: %w", err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx: got %v, want the function's error", err)
	}
	_, err = s.IdentityBySubject(ctx, "github", "1")
	wantErr(t, "IdentityBySubject after the rollback", err, store.ErrNotFound)

	must(t, "InTx", tx.InTx(ctx, func(ctx context.Context) error {
		i := &store.Identity{UserID: u.ID, Provider: "github", Subject: "1"}
		if err := s.CreateIdentity(ctx, i); err != nil {
			return err
		}
		if err := s.CreateIdentity(ctx, &store.Identity{UserID: u.ID, Provider: "github", Subject: "1"}); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("CreateIdentity of a linked subject: got %v, want ErrConflict", err)
		}
		if _, err := s.DeleteIdentity(ctx, u.ID, i.ID); !errors.Is(err, store.ErrLastSignInMethod) {
			return fmt.Errorf("DeleteIdentity of the last method: got %v, want ErrLastSignInMethod", err)
		}
		return s.TouchIdentity(ctx, i.ID, u.Email, true, at(time.Minute))
	}))
	got, err := s.IdentityBySubject(ctx, "github", "1")
	must(t, "IdentityBySubject after the commit", err)
	sameTime(t, "LastUsedAt after the commit", got.LastUsedAt, at(time.Minute))
}
