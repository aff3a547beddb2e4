package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// APITokens checks [store.APITokens] and [store.ServiceAccounts]:
// creating a token and reading it back with its owner in one lookup,
// expiry (a token is dead at its expiry instant; a zero expiry never
// ends), revocation of one token (another user's is not found) and of all
// a user's tokens, a disabled user's tokens refused at once and still
// revoked after the user is enabled again, a deleted or anonymized user's
// tokens removed, last-use writes at most once per interval (also under
// concurrent touches), purging; service accounts scoped by their
// organization (another organization's account is not found by any
// method, nor an application account through an organization), secret
// rotation with an overlap window, access tokens of service accounts,
// deleting an account removing its secrets and tokens, and refused input
// storing nothing. When the store has [store.Orgs], accounts owned by an
// organization and their removal with it are checked too. Needs
// store.Users, store.APITokens and store.ServiceAccounts.
const APITokens Part = "APITokens"

// apiTokenStore is what the checks of the APITokens part need.
type apiTokenStore interface {
	store.Users
	store.APITokens
	store.ServiceAccounts
}

func apiTokenChecks() []check {
	return []check{
		checkOf("CreateAPIToken", testCreateAPIToken),
		checkOf("CreateAPIToken/Refused", testCreateAPITokenRefused),
		checkOf("APITokenByDigest/Expiry", testAPITokenExpiry),
		checkOf("RevokeAPIToken", testRevokeAPIToken),
		checkOf("SetDisabled", testAPITokenDisabledUser),
		checkOf("DeleteUser", func(t *testing.T, s apiTokenStore) { testAPITokenUserGone(t, s, false) }),
		checkOf("AnonymizeUser", func(t *testing.T, s apiTokenStore) { testAPITokenUserGone(t, s, true) }),
		checkOf("TouchAPIToken", testTouchAPIToken),
		checkOf("TouchAPIToken/Concurrent", testTouchAPITokenConcurrent),
		checkOf("PurgeAPITokens", testPurgeAPITokens),
		checkOf("ServiceAccounts", testServiceAccounts),
		checkOf("ServiceAccounts/Refused", testServiceAccountsRefused),
		checkOf("RotateServiceAccountSecret", testRotateServiceAccountSecret),
		checkEnv("ServiceAccounts/Orgs", testServiceAccountOrgs),
		checkEnv("Transactions", testAPITokenTransactions),
	}
}

// newAPIToken creates a personal token of userID named name, whose digest
// is that of name, created at t0 and expiring at expires.
func newAPIToken(t *testing.T, s apiTokenStore, userID, name string, expires time.Time) *store.APIToken {
	t.Helper()
	tok := &store.APIToken{Digest: digest(name), UserID: userID, Name: name, Scopes: []string{"read", "write:repo"},
		CreatedAt: t0, ExpiresAt: expires}
	must(t, "CreateAPIToken("+name+")", s.CreateAPIToken(t.Context(), tok))
	return tok
}

// lookupToken returns the live token with the digest of name at now and
// its owners, or nil for ErrNotFound.
func lookupToken(t *testing.T, s apiTokenStore, name string, now time.Time) (*store.APIToken, *store.User, *store.ServiceAccount) {
	t.Helper()
	tok, u, sa, err := s.APITokenByDigest(t.Context(), digest(name), now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	must(t, "APITokenByDigest("+name+")", err)
	return tok, u, sa
}

func testCreateAPIToken(t *testing.T, s apiTokenStore) {
	u := newUser(t, s, "a@example.com")
	tok := newAPIToken(t, s, u.ID, "ci", at(90*24*time.Hour))
	if tok.ID == "" {
		t.Fatal("CreateAPIToken left ID empty")
	}
	got, owner, sa := lookupToken(t, s, "ci", at(time.Hour))
	if got == nil {
		t.Fatal("APITokenByDigest: not found, want the token")
	}
	if owner == nil || owner.ID != u.ID || owner.Email != u.Email {
		t.Fatalf("APITokenByDigest: got owner %+v, want user %s", owner, u.ID)
	}
	if sa != nil {
		t.Errorf("APITokenByDigest: got service account %+v, want nil", sa)
	}
	if got.ID != tok.ID || got.UserID != u.ID || got.ServiceAccountID != "" || got.Name != "ci" {
		t.Errorf("APITokenByDigest: got %+v, want %+v", got, tok)
	}
	if !slices.Equal(got.Scopes, []string{"read", "write:repo"}) {
		t.Errorf("Scopes: got %q, want [read write:repo]", got.Scopes)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, t0)
	sameTime(t, "ExpiresAt", got.ExpiresAt, tok.ExpiresAt)
	sameTime(t, "LastUsedAt", got.LastUsedAt, time.Time{})

	// The same digest again conflicts; an unknown user is not found.
	dup := &store.APIToken{Digest: digest("ci"), UserID: u.ID, Name: "again", CreatedAt: t0}
	wantErr(t, "CreateAPIToken(same digest)", s.CreateAPIToken(t.Context(), dup), store.ErrConflict)
	ghost := &store.APIToken{Digest: digest("ghost"), UserID: store.NewID(), Name: "ghost", CreatedAt: t0}
	wantErr(t, "CreateAPIToken(unknown user)", s.CreateAPIToken(t.Context(), ghost), store.ErrNotFound)

	// No scopes, no expiry.
	bare := &store.APIToken{Digest: digest("bare"), UserID: u.ID, Name: "bare", CreatedAt: at(time.Minute)}
	must(t, "CreateAPIToken(bare)", s.CreateAPIToken(t.Context(), bare))
	got, _, _ = lookupToken(t, s, "bare", at(100*365*24*time.Hour))
	if got == nil || len(got.Scopes) != 0 || !got.ExpiresAt.IsZero() {
		t.Errorf("APITokenByDigest(bare, a century later): got %+v, want the token without scopes or expiry", got)
	}

	list, err := s.UserAPITokens(t.Context(), u.ID, at(time.Hour))
	must(t, "UserAPITokens", err)
	if len(list) != 2 || list[0].ID != bare.ID || list[1].ID != tok.ID {
		t.Errorf("UserAPITokens: got %d tokens, want bare then ci (newest first)", len(list))
	}
	other := newUser(t, s, "b@example.com")
	list, err = s.UserAPITokens(t.Context(), other.ID, at(time.Hour))
	must(t, "UserAPITokens(other)", err)
	if len(list) != 0 {
		t.Errorf("UserAPITokens(other user): got %d tokens, want 0", len(list))
	}
}

func testCreateAPITokenRefused(t *testing.T, s apiTokenStore) {
	u := newUser(t, s, "a@example.com")
	for name, tok := range map[string]*store.APIToken{
		"no digest":    {UserID: u.ID, Name: "x", CreatedAt: t0},
		"no name":      {Digest: digest("x"), UserID: u.ID, Name: " ", CreatedAt: t0},
		"no owner":     {Digest: digest("x"), Name: "x", CreatedAt: t0},
		"both owners":  {Digest: digest("x"), UserID: u.ID, ServiceAccountID: "sa", Name: "x", CreatedAt: t0},
		"empty scope":  {Digest: digest("x"), UserID: u.ID, Name: "x", Scopes: []string{"read", ""}, CreatedAt: t0},
		"spaced scope": {Digest: digest("x"), UserID: u.ID, Name: "x", Scopes: []string{"read write"}, CreatedAt: t0},
	} {
		if err := s.CreateAPIToken(t.Context(), tok); err == nil {
			t.Errorf("CreateAPIToken(%s): got nil error, want a refusal", name)
		}
	}
	if got, _, _ := lookupToken(t, s, "x", t0); got != nil {
		t.Errorf("a refused token was stored: %+v", got)
	}
	list, err := s.UserAPITokens(t.Context(), u.ID, t0)
	must(t, "UserAPITokens", err)
	if len(list) != 0 {
		t.Errorf("UserAPITokens after refusals: got %d tokens, want 0", len(list))
	}
}

func testAPITokenExpiry(t *testing.T, s apiTokenStore) {
	u := newUser(t, s, "a@example.com")
	exp := at(time.Hour)
	newAPIToken(t, s, u.ID, "short", exp)
	if got, _, _ := lookupToken(t, s, "short", exp.Add(-time.Millisecond)); got == nil {
		t.Error("APITokenByDigest just before expiry: not found, want the token")
	}
	if got, _, _ := lookupToken(t, s, "short", exp); got != nil {
		t.Error("APITokenByDigest at the expiry instant: found, want not found")
	}
	list, err := s.UserAPITokens(t.Context(), u.ID, exp)
	must(t, "UserAPITokens", err)
	if len(list) != 0 {
		t.Errorf("UserAPITokens at expiry: got %d tokens, want 0", len(list))
	}
}

func testRevokeAPIToken(t *testing.T, s apiTokenStore) {
	ctx := t.Context()
	u := newUser(t, s, "a@example.com")
	other := newUser(t, s, "b@example.com")
	one := newAPIToken(t, s, u.ID, "one", time.Time{})
	newAPIToken(t, s, u.ID, "two", time.Time{})
	newAPIToken(t, s, u.ID, "three", time.Time{})
	theirs := newAPIToken(t, s, other.ID, "theirs", time.Time{})

	wantErr(t, "RevokeAPIToken(another user's)", s.RevokeAPIToken(ctx, u.ID, theirs.ID, at(time.Minute)), store.ErrNotFound)
	if got, _, _ := lookupToken(t, s, "theirs", at(time.Minute)); got == nil {
		t.Error("a refused revocation revoked another user's token")
	}
	must(t, "RevokeAPIToken", s.RevokeAPIToken(ctx, u.ID, one.ID, at(time.Minute)))
	if got, _, _ := lookupToken(t, s, "one", at(time.Minute)); got != nil {
		t.Error("APITokenByDigest(revoked): found, want not found")
	}
	wantErr(t, "RevokeAPIToken(again)", s.RevokeAPIToken(ctx, u.ID, one.ID, at(2*time.Minute)), store.ErrNotFound)

	n, err := s.RevokeUserAPITokens(ctx, u.ID, at(time.Hour))
	must(t, "RevokeUserAPITokens", err)
	if n != 2 {
		t.Errorf("RevokeUserAPITokens: got %d, want 2", n)
	}
	for _, name := range []string{"two", "three"} {
		if got, _, _ := lookupToken(t, s, name, at(time.Hour)); got != nil {
			t.Errorf("APITokenByDigest(%s) after RevokeUserAPITokens: found, want not found", name)
		}
	}
	if got, _, _ := lookupToken(t, s, "theirs", at(time.Hour)); got == nil {
		t.Error("RevokeUserAPITokens revoked another user's token")
	}
}

func testAPITokenDisabledUser(t *testing.T, s apiTokenStore) {
	ctx := t.Context()
	u := newUser(t, s, "a@example.com")
	newAPIToken(t, s, u.ID, "pat", time.Time{})
	must(t, "SetDisabled", s.SetDisabled(ctx, u.ID, at(time.Minute), at(time.Minute)))
	if got, _, _ := lookupToken(t, s, "pat", at(time.Minute)); got != nil {
		t.Error("APITokenByDigest of a disabled user's token: found, want not found")
	}
	must(t, "SetDisabled(enable)", s.SetDisabled(ctx, u.ID, time.Time{}, at(time.Hour)))
	if got, _, _ := lookupToken(t, s, "pat", at(time.Hour)); got != nil {
		t.Error("APITokenByDigest after the user was enabled again: found, want the token to stay revoked")
	}
	// A token created after enabling works.
	newAPIToken(t, s, u.ID, "fresh", time.Time{})
	if got, _, _ := lookupToken(t, s, "fresh", at(time.Hour)); got == nil {
		t.Error("APITokenByDigest of a token created after enabling: not found, want the token")
	}
}

func testAPITokenUserGone(t *testing.T, s apiTokenStore, anonymize bool) {
	ctx := t.Context()
	u := newUser(t, s, "a@example.com")
	newAPIToken(t, s, u.ID, "pat", time.Time{})
	if anonymize {
		must(t, "AnonymizeUser", s.AnonymizeUser(ctx, u.ID, at(time.Minute)))
	} else {
		must(t, "DeleteUser", s.DeleteUser(ctx, u.ID))
	}
	if got, _, _ := lookupToken(t, s, "pat", at(time.Minute)); got != nil {
		t.Error("APITokenByDigest after the user went: found, want not found")
	}
	list, err := s.UserAPITokens(ctx, u.ID, at(time.Minute))
	must(t, "UserAPITokens", err)
	if len(list) != 0 {
		t.Errorf("UserAPITokens after the user went: got %d, want 0", len(list))
	}
}

func testTouchAPIToken(t *testing.T, s apiTokenStore) {
	ctx := t.Context()
	u := newUser(t, s, "a@example.com")
	tok := newAPIToken(t, s, u.ID, "pat", time.Time{})
	touch := func(now time.Time, want bool) {
		t.Helper()
		wrote, err := s.TouchAPIToken(ctx, tok.ID, now, time.Minute)
		must(t, "TouchAPIToken", err)
		if wrote != want {
			t.Errorf("TouchAPIToken(at %v): wrote %v, want %v", now.Sub(t0), wrote, want)
		}
	}
	touch(at(time.Second), true)
	touch(at(2*time.Second), false)
	touch(at(time.Minute), false)
	touch(at(time.Minute+time.Second), true)
	got, _, _ := lookupToken(t, s, "pat", at(2*time.Minute))
	if got == nil {
		t.Fatal("APITokenByDigest: not found")
	}
	sameTime(t, "LastUsedAt", got.LastUsedAt, at(time.Minute+time.Second))
	wrote, err := s.TouchAPIToken(ctx, store.NewID(), at(time.Hour), time.Minute)
	if err != nil || wrote {
		t.Errorf("TouchAPIToken(unknown): got %v, %v, want false, nil", wrote, err)
	}
	must(t, "RevokeAPIToken", s.RevokeAPIToken(ctx, u.ID, tok.ID, at(time.Hour)))
	touch(at(2*time.Hour), false)
}

func testTouchAPITokenConcurrent(t *testing.T, s apiTokenStore) {
	u := newUser(t, s, "a@example.com")
	tok := newAPIToken(t, s, u.ID, "pat", time.Time{})
	const n = 8
	wrote := make([]bool, n)
	errs := race(n, func(i int) error {
		var err error
		wrote[i], err = s.TouchAPIToken(t.Context(), tok.ID, at(time.Second+time.Duration(i)*time.Millisecond), time.Minute)
		return err
	})
	countOutcomes(t, "TouchAPIToken", errs, store.ErrUnavailable)
	if c := countTrue(wrote); c != 1 {
		t.Errorf("concurrent TouchAPIToken within a minute: %d wrote, want 1", c)
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func testPurgeAPITokens(t *testing.T, s apiTokenStore) {
	ctx := t.Context()
	u := newUser(t, s, "a@example.com")
	newAPIToken(t, s, u.ID, "expired", at(time.Hour))
	revoked := newAPIToken(t, s, u.ID, "revoked", time.Time{})
	newAPIToken(t, s, u.ID, "live", at(48*time.Hour))
	newAPIToken(t, s, u.ID, "never", time.Time{})
	must(t, "RevokeAPIToken", s.RevokeAPIToken(ctx, u.ID, revoked.ID, at(2*time.Hour)))
	n, err := s.PurgeAPITokens(ctx, at(time.Hour))
	must(t, "PurgeAPITokens(at the expiry)", err)
	if n != 0 {
		t.Errorf("PurgeAPITokens(before = the expiry): got %d, want 0 (strictly before)", n)
	}
	n, err = s.PurgeAPITokens(ctx, at(24*time.Hour))
	must(t, "PurgeAPITokens", err)
	if n != 2 {
		t.Errorf("PurgeAPITokens: got %d, want 2 (the expired and the revoked)", n)
	}
	list, err := s.UserAPITokens(ctx, u.ID, at(time.Minute))
	must(t, "UserAPITokens", err)
	if len(list) != 2 {
		t.Errorf("UserAPITokens after purge: got %d, want 2", len(list))
	}
}

// newServiceAccount creates an account of orgID ("" for the application)
// whose first secret has the digest of secret.
func newServiceAccount(t *testing.T, s apiTokenStore, orgID, name, secret string) *store.ServiceAccount {
	t.Helper()
	sa := &store.ServiceAccount{OrgID: orgID, Name: name, Scopes: []string{"read"}, CreatedAt: t0}
	sec := &store.ServiceAccountSecret{Digest: digest(secret)}
	must(t, "CreateServiceAccount("+name+")", s.CreateServiceAccount(t.Context(), sa, sec))
	if sa.ID == "" {
		t.Fatalf("CreateServiceAccount(%s) left ID empty", name)
	}
	sameTime(t, "secret CreatedAt", sec.CreatedAt, t0)
	return sa
}

// secretWorks reports whether secret is a working secret of account id
// at now.
func secretWorks(t *testing.T, s apiTokenStore, id, secret string, now time.Time) bool {
	t.Helper()
	sa, err := s.ServiceAccountBySecret(t.Context(), id, digest(secret), now)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	must(t, "ServiceAccountBySecret", err)
	if sa.ID != id {
		t.Fatalf("ServiceAccountBySecret: got account %s, want %s", sa.ID, id)
	}
	return true
}

func testServiceAccounts(t *testing.T, s apiTokenStore) {
	ctx := t.Context()
	creator := newUser(t, s, "a@example.com")
	sa := &store.ServiceAccount{Name: "deploy", Scopes: []string{"read", "deploy"}, CreatedBy: creator.ID, CreatedAt: t0}
	must(t, "CreateServiceAccount", s.CreateServiceAccount(ctx, sa, &store.ServiceAccountSecret{Digest: digest("s1")}))
	got, err := s.ServiceAccount(ctx, "", sa.ID)
	must(t, "ServiceAccount", err)
	if got.Name != "deploy" || got.OrgID != "" || got.CreatedBy != creator.ID || !slices.Equal(got.Scopes, sa.Scopes) {
		t.Errorf("ServiceAccount: got %+v, want %+v", got, sa)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, t0)
	if !secretWorks(t, s, sa.ID, "s1", at(time.Hour)) {
		t.Error("ServiceAccountBySecret(first secret): not found")
	}
	if secretWorks(t, s, sa.ID, "wrong", at(time.Hour)) {
		t.Error("ServiceAccountBySecret(wrong secret): found")
	}
	second := newServiceAccount(t, s, "", "second", "s2")
	if secretWorks(t, s, second.ID, "s1", at(time.Hour)) {
		t.Error("ServiceAccountBySecret(one account's secret with another's id): found")
	}
	list, err := s.ServiceAccounts(ctx, "")
	must(t, "ServiceAccounts", err)
	if len(list) != 2 || list[0].ID != sa.ID || list[1].ID != second.ID {
		t.Errorf("ServiceAccounts: got %d accounts, want deploy then second", len(list))
	}
	wantErr(t, "CreateServiceAccount(secret digest taken)",
		s.CreateServiceAccount(ctx, &store.ServiceAccount{Name: "dup", CreatedAt: t0}, &store.ServiceAccountSecret{Digest: digest("s1")}),
		store.ErrConflict)
	if list, _ := s.ServiceAccounts(ctx, ""); len(list) != 2 {
		t.Errorf("a conflicting CreateServiceAccount stored an account: %d accounts, want 2", len(list))
	}

	// Access tokens of an account.
	at1 := &store.APIToken{Digest: digest("access"), ServiceAccountID: sa.ID, Name: "client_credentials",
		Scopes: []string{"read"}, CreatedAt: t0, ExpiresAt: at(time.Hour)}
	must(t, "CreateAPIToken(service account)", s.CreateAPIToken(ctx, at1))
	tok, u, owner := lookupToken(t, s, "access", at(time.Minute))
	if tok == nil || u != nil || owner == nil || owner.ID != sa.ID || tok.ServiceAccountID != sa.ID {
		t.Fatalf("APITokenByDigest(access token): got %+v, user %v, account %+v, want the account's token", tok, u, owner)
	}
	wantErr(t, "CreateAPIToken(unknown account)", s.CreateAPIToken(ctx, &store.APIToken{Digest: digest("x"),
		ServiceAccountID: store.NewID(), Name: "x", CreatedAt: t0}), store.ErrNotFound)
	list2, err := s.UserAPITokens(ctx, creator.ID, at(time.Minute))
	must(t, "UserAPITokens", err)
	if len(list2) != 0 {
		t.Errorf("UserAPITokens of the account's creator: got %d, want 0 (an account's tokens are not the user's)", len(list2))
	}

	// The creator's deletion leaves the account, without its creator.
	must(t, "DeleteUser", s.DeleteUser(ctx, creator.ID))
	got, err = s.ServiceAccount(ctx, "", sa.ID)
	must(t, "ServiceAccount after its creator's deletion", err)
	if got.CreatedBy != "" {
		t.Errorf("CreatedBy after the creator's deletion: got %q, want empty", got.CreatedBy)
	}

	// Deleting removes its secrets and tokens.
	must(t, "DeleteServiceAccount", s.DeleteServiceAccount(ctx, "", sa.ID))
	wantErr(t, "DeleteServiceAccount(again)", s.DeleteServiceAccount(ctx, "", sa.ID), store.ErrNotFound)
	if secretWorks(t, s, sa.ID, "s1", at(time.Hour)) {
		t.Error("ServiceAccountBySecret after deletion: found")
	}
	if tok, _, _ := lookupToken(t, s, "access", at(time.Minute)); tok != nil {
		t.Error("APITokenByDigest of a deleted account's token: found")
	}
	_, err = s.ServiceAccount(ctx, "", sa.ID)
	wantErr(t, "ServiceAccount(deleted)", err, store.ErrNotFound)
}

func testServiceAccountsRefused(t *testing.T, s apiTokenStore) {
	ctx := t.Context()
	for name, c := range map[string]struct {
		sa  *store.ServiceAccount
		sec *store.ServiceAccountSecret
	}{
		"no name":      {&store.ServiceAccount{Name: " ", CreatedAt: t0}, &store.ServiceAccountSecret{Digest: digest("x")}},
		"no secret":    {&store.ServiceAccount{Name: "x", CreatedAt: t0}, &store.ServiceAccountSecret{}},
		"spaced scope": {&store.ServiceAccount{Name: "x", Scopes: []string{"a b"}, CreatedAt: t0}, &store.ServiceAccountSecret{Digest: digest("x")}},
	} {
		if err := s.CreateServiceAccount(ctx, c.sa, c.sec); err == nil {
			t.Errorf("CreateServiceAccount(%s): got nil error, want a refusal", name)
		}
	}
	wantErr(t, "CreateServiceAccount(unknown org)",
		s.CreateServiceAccount(ctx, &store.ServiceAccount{OrgID: store.NewID(), Name: "x", CreatedAt: t0}, &store.ServiceAccountSecret{Digest: digest("y")}),
		store.ErrNotFound)
	list, err := s.ServiceAccounts(ctx, "")
	must(t, "ServiceAccounts", err)
	if len(list) != 0 {
		t.Errorf("refused accounts were stored: %d", len(list))
	}
	sa := newServiceAccount(t, s, "", "ok", "s1")
	if err := s.RotateServiceAccountSecret(ctx, "", sa.ID, &store.ServiceAccountSecret{}, at(time.Hour)); err == nil {
		t.Error("RotateServiceAccountSecret(empty digest): got nil error, want a refusal")
	}
	secs, err := s.ServiceAccountSecrets(ctx, "", sa.ID, at(time.Minute))
	must(t, "ServiceAccountSecrets", err)
	if len(secs) != 1 || !secs[0].ExpiresAt.IsZero() {
		t.Errorf("a refused rotation changed the secrets: got %d, want the one current secret", len(secs))
	}
}

func testRotateServiceAccountSecret(t *testing.T, s apiTokenStore) {
	ctx := t.Context()
	sa := newServiceAccount(t, s, "", "deploy", "s1")
	overlap := at(24 * time.Hour)
	must(t, "RotateServiceAccountSecret", s.RotateServiceAccountSecret(ctx, "", sa.ID,
		&store.ServiceAccountSecret{Digest: digest("s2"), CreatedAt: at(time.Hour)}, overlap))
	for _, c := range []struct {
		secret string
		now    time.Time
		want   bool
	}{
		{"s1", overlap.Add(-time.Millisecond), true},
		{"s1", overlap, false},
		{"s2", at(time.Hour), true},
		{"s2", at(365 * 24 * time.Hour), true},
	} {
		if got := secretWorks(t, s, sa.ID, c.secret, c.now); got != c.want {
			t.Errorf("secret %s at %v: works %v, want %v", c.secret, c.now.Sub(t0), got, c.want)
		}
	}
	secs, err := s.ServiceAccountSecrets(ctx, "", sa.ID, at(2*time.Hour))
	must(t, "ServiceAccountSecrets", err)
	if len(secs) != 2 || !secs[0].ExpiresAt.IsZero() || !secs[1].ExpiresAt.Equal(overlap) {
		t.Fatalf("ServiceAccountSecrets: got %d, want the new current secret then the old one ending at the overlap", len(secs))
	}
	sameTime(t, "new secret CreatedAt", secs[0].CreatedAt, at(time.Hour))

	// A second rotation with a longer overlap keeps s1's earlier end and
	// ends s2 at its own overlap.
	must(t, "RotateServiceAccountSecret(again)", s.RotateServiceAccountSecret(ctx, "", sa.ID,
		&store.ServiceAccountSecret{Digest: digest("s3"), CreatedAt: at(2 * time.Hour)}, at(48*time.Hour)))
	if secretWorks(t, s, sa.ID, "s1", at(30*time.Hour)) {
		t.Error("a later rotation extended an older secret's end")
	}
	if !secretWorks(t, s, sa.ID, "s2", at(30*time.Hour)) || secretWorks(t, s, sa.ID, "s2", at(48*time.Hour)) {
		t.Error("the previous secret does not end at the second rotation's overlap")
	}
	wantErr(t, "RotateServiceAccountSecret(digest taken)", s.RotateServiceAccountSecret(ctx, "", sa.ID,
		&store.ServiceAccountSecret{Digest: digest("s3")}, at(3*time.Hour)), store.ErrConflict)
	if !secretWorks(t, s, sa.ID, "s2", at(30*time.Hour)) {
		t.Error("a conflicting rotation changed the earlier secrets")
	}
	wantErr(t, "RotateServiceAccountSecret(unknown)", s.RotateServiceAccountSecret(ctx, "", store.NewID(),
		&store.ServiceAccountSecret{Digest: digest("s4")}, at(3*time.Hour)), store.ErrNotFound)
}

func testServiceAccountOrgs(t *testing.T, s apiTokenStore, e env) {
	os, ok := as[store.Orgs](e)
	if !ok {
		e.logLacking(t, "accounts owned by organizations", reflectTypeOrgs)
		return
	}
	ctx := t.Context()
	owner := newUser(t, s, "owner@example.com")
	a := &store.Org{Name: "Alpha", Slug: "alpha", CreatedBy: owner.ID, CreatedAt: t0}
	must(t, "CreateOrg(alpha)", os.CreateOrg(ctx, a))
	b := &store.Org{Name: "Beta", Slug: "beta", CreatedBy: owner.ID, CreatedAt: t0}
	must(t, "CreateOrg(beta)", os.CreateOrg(ctx, b))
	sa := newServiceAccount(t, s, a.ID, "ci", "sa")
	app := newServiceAccount(t, s, "", "app", "app")

	// Another organization's account, or the application's through an
	// organization, is not found by any method.
	for _, c := range []struct{ org, id string }{{b.ID, sa.ID}, {"", sa.ID}, {a.ID, app.ID}} {
		_, err := s.ServiceAccount(ctx, c.org, c.id)
		wantErr(t, "ServiceAccount(cross-org)", err, store.ErrNotFound)
		_, err = s.ServiceAccountSecrets(ctx, c.org, c.id, t0)
		wantErr(t, "ServiceAccountSecrets(cross-org)", err, store.ErrNotFound)
		wantErr(t, "RotateServiceAccountSecret(cross-org)", s.RotateServiceAccountSecret(ctx, c.org, c.id,
			&store.ServiceAccountSecret{Digest: digest("x-" + c.org + c.id)}, at(time.Hour)), store.ErrNotFound)
		wantErr(t, "DeleteServiceAccount(cross-org)", s.DeleteServiceAccount(ctx, c.org, c.id), store.ErrNotFound)
	}
	if !secretWorks(t, s, sa.ID, "sa", at(2*time.Hour)) || !secretWorks(t, s, app.ID, "app", at(2*time.Hour)) {
		t.Error("a cross-organization call changed an account's secrets")
	}
	for org, want := range map[string]string{a.ID: sa.ID, b.ID: "", "": app.ID} {
		list, err := s.ServiceAccounts(ctx, org)
		must(t, "ServiceAccounts", err)
		if want == "" && len(list) != 0 || want != "" && (len(list) != 1 || list[0].ID != want) {
			t.Errorf("ServiceAccounts(%q): got %d accounts, want only %q", org, len(list), want)
		}
	}

	// Deleting the organization removes its accounts and their tokens.
	must(t, "CreateAPIToken", s.CreateAPIToken(ctx, &store.APIToken{Digest: digest("org-access"), ServiceAccountID: sa.ID,
		Name: "client_credentials", CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	must(t, "DeleteOrg", os.DeleteOrg(ctx, a.ID))
	if tok, _, _ := lookupToken(t, s, "org-access", at(time.Minute)); tok != nil {
		t.Error("APITokenByDigest of a deleted organization's account's token: found")
	}
	if secretWorks(t, s, sa.ID, "sa", at(time.Minute)) {
		t.Error("ServiceAccountBySecret of a deleted organization's account: found")
	}
}

var reflectTypeOrgs = reflect.TypeFor[store.Orgs]()

// testAPITokenTransactions: tokens and service accounts written in a
// transaction that rolls back are gone; a conflict inside a transaction
// leaves it usable.
func testAPITokenTransactions(t *testing.T, s apiTokenStore, e env) {
	tx, ok := as[store.Transactor](e)
	if !ok {
		e.logLacking(t, "API tokens in transactions", reflect.TypeFor[store.Transactor]())
		return
	}
	ctx := t.Context()
	u := newUser(t, s, "a@example.com")
	newAPIToken(t, s, u.ID, "taken", time.Time{})
	errRollback := errors.New("roll back")
	err := tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.CreateAPIToken(ctx, &store.APIToken{Digest: digest("in-tx"), UserID: u.ID, Name: "in-tx", CreatedAt: t0}); err != nil {
			return err
		}
		if err := s.CreateServiceAccount(ctx, &store.ServiceAccount{Name: "in-tx", CreatedAt: t0}, &store.ServiceAccountSecret{Digest: digest("sa-in-tx")}); err != nil {
			return err
		}
		return errRollback
	})
	wantErr(t, "InTx", err, errRollback)
	if got, _, _ := lookupToken(t, s, "in-tx", at(time.Minute)); got != nil {
		t.Error("a token created in a rolled-back transaction is stored")
	}
	if list, _ := s.ServiceAccounts(ctx, ""); len(list) != 0 {
		t.Errorf("a rolled-back transaction left %d service accounts", len(list))
	}

	// A conflict inside a transaction leaves it usable: the next write
	// commits with it.
	err = tx.InTx(ctx, func(ctx context.Context) error {
		dup := &store.APIToken{Digest: digest("taken"), UserID: u.ID, Name: "dup", CreatedAt: t0}
		wantErr(t, "CreateAPIToken(taken) in a transaction", s.CreateAPIToken(ctx, dup), store.ErrConflict)
		return s.CreateServiceAccount(ctx, &store.ServiceAccount{Name: "after", CreatedAt: t0}, &store.ServiceAccountSecret{Digest: digest("after")})
	})
	must(t, "InTx with a conflict, then a write", err)
	if list, _ := s.ServiceAccounts(ctx, ""); len(list) != 1 {
		t.Errorf("the write after a conflict did not commit: %d accounts", len(list))
	}
}
