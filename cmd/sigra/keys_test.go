package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
)

// keysStore is what the re-sealing test reads and seeds.
type keysStore interface {
	store.Users
	store.TOTP
	store.Identities
	store.SealedSecrets
}

func newSealKey(t *testing.T, id string) string {
	t.Helper()
	k, err := seal.GenerateKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k.Encode()
}

// "keys reseal" seals again with the new primary key every TOTP secret
// and provider token sealed with an old key, so that the old key can go:
// afterwards every value opens with the new key alone, as it was. A dry
// run writes nothing, a second run finds nothing to do, and a value that
// the keys given cannot open fails the run (exit 1) and stays as it is.
func TestKeysReseal(t *testing.T) {
	t.Parallel()
	for name, mk := range map[string]func(*testing.T) backend{"sqlite": sqliteBackend, "postgres": postgresBackend} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			runCLI(t, nil, "-db", b.target, "migrate", "up").want(t, "migrate up", exitOK)
			ctx := context.Background()
			var st keysStore
			if isPostgres(b.target) {
				db, err := postgres.New(ctx, postgres.Config{DSN: b.target, SkipMigrate: true})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(db.Close)
				st = db
			} else {
				db, err := sqlite.New(ctx, sqlite.Config{Path: b.target, SkipMigrate: true})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				st = db
			}
			oldKey, newKey, strayKey := newSealKey(t, "old"), newSealKey(t, "new"), newSealKey(t, "stray")
			now := time.Now().UTC()
			must := func(what string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			// Three users with TOTP: two under the old key, one under the
			// new one already; two identities with tokens under the old key.
			var users []*store.User
			for i := range 3 {
				u := &store.User{Email: fmt.Sprintf("user%d@example.com", i), CreatedAt: now, UpdatedAt: now}
				must("CreateUser", st.CreateUser(ctx, u))
				users = append(users, u)
				keys := oldKey
				if i == 2 {
					keys = newKey
				}
				sealed, err := mfa.SealSecret(keys, u.ID, fmt.Sprintf("JBSWY3DPEHPK3PX%d", i))
				must("SealSecret", err)
				must("SavePendingTOTP", st.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: sealed, CreatedAt: now}))
			}
			var ids []*store.Identity
			for i, u := range users[:2] {
				id := &store.Identity{UserID: u.ID, Provider: "google", Subject: fmt.Sprintf("g-%d", i), Email: u.Email, CreatedAt: now}
				must("CreateIdentity", st.CreateIdentity(ctx, id))
				access, err := oauth.SealToken(oldKey, "google", id.Subject, oauth.TokenAccess, fmt.Sprintf("access-%d", i))
				must("SealToken", err)
				var refresh []byte
				if i == 0 {
					refresh, err = oauth.SealToken(oldKey, "google", id.Subject, oauth.TokenRefresh, "refresh-0")
					must("SealToken", err)
				}
				must("SetIdentityTokens", st.SetIdentityTokens(ctx, id.ID, access, refresh, now.Add(time.Hour), now))
				ids = append(ids, id)
			}
			snapshot := func() map[store.SealedKind][]store.SealedValue {
				out := map[store.SealedKind][]store.SealedValue{}
				for _, k := range store.SealedKinds() {
					vs, err := st.SealedAfter(ctx, k, "", 100)
					must("SealedAfter", err)
					out[k] = vs
				}
				return out
			}
			before := snapshot()
			rotated := newKey + "," + oldKey
			db := []string{"-db", b.target}

			dry := runCLI(t, []string{EnvKeys + "=" + rotated}, append(db, "-json", "keys", "reseal", "-dry-run")...)
			dry.want(t, "dry run", exitOK)
			var report struct {
				Primary string                              `json:"primary"`
				Kinds   map[store.SealedKind]map[string]int `json:"kinds"`
			}
			if err := json.Unmarshal([]byte(dry.stdout), &report); err != nil {
				t.Fatalf("dry run: %v\n%s", err, dry.stdout)
			}
			if report.Primary != "new" || report.Kinds[store.SealedTOTP]["resealed"] != 2 || report.Kinds[store.SealedTOTP]["current"] != 1 ||
				report.Kinds[store.SealedOAuthAccess]["resealed"] != 2 || report.Kinds[store.SealedOAuthRefresh]["resealed"] != 1 {
				t.Errorf("dry run: got %s", dry.stdout)
			}
			if got := snapshot(); fmt.Sprint(got) != fmt.Sprint(before) {
				t.Fatal("the dry run changed stored secrets")
			}

			runCLI(t, nil, append(db, "keys", "reseal", "-keys", rotated, "-batch", "1")...).want(t, "reseal", exitOK,
				"totp          3 values: 2 re-sealed, 1 already under new", "oauth_refresh 1 values: 1 re-sealed")
			for kind, vs := range snapshot() {
				for _, v := range vs {
					if id, err := seal.KeyID(v.Sealed); err != nil || id != "new" {
						t.Errorf("%s of row %s: sealed with %q after the re-sealing, want new", kind, v.Row, id)
					}
				}
			}
			// The new key alone opens every value, as it was.
			for i, u := range users {
				s, err := st.TOTPByUser(ctx, u.ID)
				must("TOTPByUser", err)
				if got, err := mfa.OpenSecret(newKey, u.ID, s.Sealed); err != nil || got != fmt.Sprintf("JBSWY3DPEHPK3PX%d", i) {
					t.Errorf("TOTP of user %d with the new key alone: got %q, %v", i, got, err)
				}
			}
			for i, id := range ids {
				got, err := st.IdentityBySubject(ctx, "google", id.Subject)
				must("IdentityBySubject", err)
				if tok, err := oauth.OpenToken(newKey, "google", id.Subject, oauth.TokenAccess, got.AccessToken); err != nil || tok != fmt.Sprintf("access-%d", i) {
					t.Errorf("access token %d with the new key alone: got %q, %v", i, tok, err)
				}
				if i == 0 {
					if tok, err := oauth.OpenToken(newKey, "google", id.Subject, oauth.TokenRefresh, got.RefreshToken); err != nil || tok != "refresh-0" {
						t.Errorf("refresh token with the new key alone: got %q, %v", tok, err)
					}
				}
			}
			runCLI(t, nil, append(db, "keys", "reseal", "-keys", newKey)...).want(t, "second run", exitOK,
				"totp          3 values: 0 re-sealed, 3 already under new")

			// A value sealed with a key the run is not given fails it and
			// stays as it was.
			stray, err := mfa.SealSecret(strayKey, users[0].ID, "JBSWY3DPEHPK3PXQ")
			must("SealSecret", err)
			must("DeleteTOTP", st.DeleteTOTP(ctx, users[0].ID))
			must("SavePendingTOTP", st.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: users[0].ID, Sealed: stray, CreatedAt: now}))
			runCLI(t, nil, append(db, "keys", "reseal", "-keys", rotated)...).want(t, "a value under an unknown key", exitFailed,
				"1 could not be opened")
			if s, err := st.TOTPByUser(ctx, users[0].ID); err != nil || string(s.Sealed) != string(stray) {
				t.Errorf("a value that could not be opened was changed (%v)", err)
			}
		})
	}
}
