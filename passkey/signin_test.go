package passkey_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/passkey"
	"github.com/sigra-go/sigra/store"
)

// optionShape is what an observer sees of sign-in options: their keys,
// the keys of each allowed credential, and the IDs.
func optionShape(t *testing.T, res *apptest.Response) (keys, credKeys []string, ids []string) {
	t.Helper()
	want(t, "options", res, http.StatusOK)
	var o struct {
		PublicKey map[string]json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(res.Body), &o); err != nil {
		t.Fatal(err)
	}
	var allow []map[string]any
	_ = json.Unmarshal(o.PublicKey["allowCredentials"], &allow)
	for _, c := range allow {
		credKeys = slices.Sorted(maps.Keys(c))
		ids = append(ids, c["id"].(string))
	}
	return slices.Sorted(maps.Keys(o.PublicKey)), credKeys, ids
}

// The email-first options look alike for an address with passkeys, one
// without (an account that has none) and an unknown one; the stand-ins of
// an address are the same at every request and differ between addresses.
// A real passkey signs in through them; a stand-in never does.
func TestEmailFirst(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, _, au := newPasskeyUser(t, a, "keys@example.com")
		a.CreateUser(t, "nokeys@example.com", pw)
		c := a.Client(t)
		options := func(email string) *apptest.Response {
			return post(t, c, a.Path("/passkeys/signin/options"), map[string]any{"email": email})
		}
		realKeys, realCred, realIDs := optionShape(t, options("keys@example.com"))
		if len(realIDs) != 1 {
			t.Fatalf("known address: got %d credentials, want 1", len(realIDs))
		}
		for _, email := range []string{"nokeys@example.com", "nobody@example.com", "Nobody@Example.com"} {
			keys, credKeys, ids := optionShape(t, options(email))
			if !slices.Equal(keys, realKeys) || !slices.Equal(credKeys, realCred) || len(ids) == 0 {
				t.Errorf("%s: options %v / %v, want the shape of a known address's %v / %v", email, keys, credKeys, realKeys, realCred)
			}
			_, _, again := optionShape(t, options(email))
			if !slices.Equal(ids, again) {
				t.Errorf("%s: stand-ins changed between requests: %v, then %v", email, ids, again)
			}
		}
		_, _, a1 := optionShape(t, options("nobody@example.com"))
		_, _, a2 := optionShape(t, options("somebody@example.com"))
		if slices.Equal(a1, a2) {
			t.Error("two addresses got the same stand-ins")
		}

		// A real passkey through the email-first options, without UV.
		au.uv = false
		o := readOptions(t, options("keys@example.com"))
		res := postCredential(t, c, a.Path("/passkeys/signin"), au.get(t, o, nil), map[string]any{"remember": true})
		want(t, "email-first sign-in", res, http.StatusOK)
		wantState(t, a, c, "authenticated", 1, "passkey")

		// The stand-in ceremony of an unknown address fails, whatever is
		// signed.
		c2 := a.Client(t)
		o = readOptions(t, post(t, c2, a.Path("/passkeys/signin/options"), map[string]any{"email": "nobody@example.com"}))
		wantError(t, "stand-in finish", postCredential(t, c2, a.Path("/passkeys/signin"), au.get(t, o, nil), nil), http.StatusUnauthorized, "invalid_credentials")
	})
}

// A sign-in of a disabled account is refused after the passkey verified.
func TestSignInDisabled(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, au := newPasskeyUser(t, a, "disabled@example.com")
		if err := a.Store.SetDisabled(t.Context(), u.ID, a.Clock.Now(), a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		c, res := signInDiscoverable(t, a, au, nil)
		wantError(t, "disabled", res, http.StatusForbidden, "account_disabled")
		wantState(t, a, c, "anonymous", 0)
		if n := auditCount(t, a, audit.ActionLoginFailure, audit.OutcomeFailure, u.ID, map[string]string{"method": "passkey", "reason": "disabled"}); n != 1 {
			t.Errorf("failure rows: got %d, want 1", n)
		}
	})
}

// Bad input is refused with 400 and a field code, and changes nothing: no
// passkey stored, the ceremony still under way for a good finish.
func TestBadInput(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, au := newPasskeyUser(t, a, "input@example.com")
		o := readOptions(t, post(t, c, a.Path("/passkeys/register/options"), nil))
		good, _ := au.create(t, o, nil)
		for _, tc := range []struct {
			name, body, code, field string
		}{
			{"credential as a string", `{"credential":"{}"}`, "invalid_type", "credential"},
			{"credential as an array", `{"credential":[]}`, "invalid_type", "credential"},
			{"unknown field", `{"credential":{},"user_id":"x"}`, "unknown_field", "user_id"},
			{"duplicate field", `{"credential":{},"credential":{}}`, "duplicate_field", "credential"},
			{"not JSON", `{"credential":`, "invalid_input", ""},
		} {
			res := c.JSON("POST", a.Path("/passkeys/register"), tc.body)
			wantError(t, tc.name, res, http.StatusBadRequest, tc.code)
			if tc.field != "" {
				e := body(t, res)["error"].(map[string]any)
				if f, _ := e["fields"].(map[string]any); f[tc.field] == nil {
					t.Errorf("%s: no message at the field %q: %s", tc.name, tc.field, res.Body)
				}
			}
		}
		if n := len(passkeys(t, a, u.ID)); n != 1 {
			t.Fatalf("passkeys after refused input: got %d, want 1", n)
		}
		// The ceremony was not consumed by input that could not be read.
		want(t, "good finish after bad input", postCredential(t, c, a.Path("/passkeys/register"), good, nil), http.StatusOK)

		// A credential object that is not a WebAuthn response.
		readOptions(t, post(t, c, a.Path("/passkeys/register/options"), nil))
		wantError(t, "not a registration", postCredential(t, c, a.Path("/passkeys/register"), `{"id":"x"}`, nil), http.StatusBadRequest, "invalid_credential")
		wantError(t, "bad email", post(t, c, a.Path("/passkeys/signin/options"), map[string]any{"email": "not an address"}), http.StatusBadRequest, "invalid_email")
		wantError(t, "sign-in options with an unknown field", post(t, c, a.Path("/passkeys/signin/options"), map[string]any{"username": "x"}), http.StatusBadRequest, "unknown_field")
		if n := len(passkeys(t, a, u.ID)); n != 2 {
			t.Errorf("passkeys: got %d, want 2", n)
		}
		if !strings.Contains(c.Get(a.Path("/passkeys")).Body, "data-passkey=\"register\"") {
			t.Error("passkeys page has no add form")
		}
	})
}

// countingStore is the application's real store that counts the calls a
// request makes to it, by method.
type countingStore struct {
	passkey.Store
	mu    sync.Mutex
	calls map[string]int
}

func (s *countingStore) count(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[name]++
}

// take returns the calls counted since the last take.
func (s *countingStore) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = map[string]int{}
	return c
}

func (s *countingStore) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	s.count("UserByEmail")
	return s.Store.UserByEmail(ctx, email)
}

func (s *countingStore) PasskeysByUser(ctx context.Context, userID, rpID string) ([]*store.Passkey, error) {
	s.count("PasskeysByUser")
	return s.Store.PasskeysByUser(ctx, userID, rpID)
}

func (s *countingStore) PasskeyUserHandle(ctx context.Context, userID string, fresh []byte) ([]byte, error) {
	s.count("PasskeyUserHandle")
	if fresh != nil {
		s.count("PasskeyUserHandle write")
	}
	return s.Store.PasskeyUserHandle(ctx, userID, fresh)
}

func (s *countingStore) UserByID(ctx context.Context, id string) (*store.User, error) {
	s.count("UserByID")
	return s.Store.UserByID(ctx, id)
}

// The email-first options do the same store work whatever the address:
// with passkeys, an account without any, unknown (no account enumeration
// by the work done before answering).
func TestEmailFirstSameWork(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			var st *countingStore
			a := newApp(t, options{backend: b, passkey: func(c *passkey.Config) {
				st = &countingStore{Store: c.Store, calls: map[string]int{}}
				c.Store = st
			}})
			newPasskeyUser(t, a, "keys@example.com")
			a.CreateUser(t, "nokeys@example.com", pw)
			var first map[string]int
			for _, email := range []string{"keys@example.com", "nokeys@example.com", "nobody@example.com"} {
				st.take()
				readOptions(t, post(t, a.Client(t), a.Path("/passkeys/signin/options"), map[string]any{"email": email}))
				got := st.take()
				if first == nil {
					first = got
					if got["UserByEmail"] != 1 || got["PasskeysByUser"] != 1 || got["PasskeyUserHandle"] != 1 || got["PasskeyUserHandle write"] != 0 {
						t.Errorf("%s: store calls %v, want one lookup of each and no write", email, got)
					}
					continue
				}
				if !maps.Equal(got, first) {
					t.Errorf("%s: store calls %v, want those of an address with passkeys %v", email, got, first)
				}
			}
		})
	}
}
