package session

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/token"
)

// countingCodec counts the session blobs decoded.
type countingCodec struct {
	Codec
	decodes *atomic.Int32
}

func (c countingCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	c.decodes.Add(1)
	return c.Codec.Decode(b)
}

// lookupCounter counts the session lookups of the middleware.
type lookupCounter struct {
	Store
	lookups *atomic.Int32
}

func (s lookupCounter) SessionWithUser(ctx context.Context, digest []byte, now time.Time, idle time.Duration) (*store.Session, *store.User, error) {
	s.lookups.Add(1)
	return s.Store.SessionWithUser(ctx, digest, now, idle)
}

// TestValuesKeyLearned checks that the Manager learns scs's context key,
// so that requests read the session's values only when asked (see
// values.go). It fails if a new version of scs stops asking its context
// for the key first, or stops taking data handed back under it: the
// Manager would then load the values on every request.
func TestValuesKeyLearned(t *testing.T) {
	s, err := site.New(site.Config{BaseURL: "http://localhost", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(s, lookupCounter{}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if m.valuesKey == nil {
		t.Fatal("valuesKey: got nil, want scs's context key")
	}
	if again := probeValuesKey(m.scs); again != m.valuesKey {
		t.Errorf("a second probe: got %v, want the same key %v", again, m.valuesKey)
	}
}

// TestValuesReadWhenAsked checks, with the values read when asked and
// with the values read by scs.Load on every request (the fallback), that
// a session's values behave the same: a request that does not ask decodes
// nothing; one that asks decodes them once, from the row of the single
// lookup; values put are saved and read back; a session with values has
// them decoded before its handler runs, so a corrupt blob is answered by
// the error handler, the handler never reached and nothing changed; and
// concurrent first reads in one request get the same data.
func TestValuesReadWhenAsked(t *testing.T) {
	for _, lazy := range []bool{true, false} {
		name := "read-when-asked"
		if !lazy {
			name = "read-by-scs"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var lookups, decodes atomic.Int32
			db, m := newSQLiteManager(t, func(db *sqlite.DB) Store { return lookupCounter{Store: db, lookups: &lookups} })
			m.scs.Codec = countingCodec{decodes: &decodes}
			if !lazy {
				m.valuesKey = nil
			}
			u := &store.User{Email: "values@example.com", CreatedAt: time.Now()}
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			user := &sigra.User{ID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt}

			var cookie *http.Cookie
			// send serves one request and returns its status and the
			// numbers of lookups and decodes it made.
			send := func(method string, h http.HandlerFunc) (code int, looked, decoded int32) {
				t.Helper()
				lookups.Store(0)
				decodes.Store(0)
				r := httptest.NewRequest(method, "/", nil)
				if cookie != nil {
					r.AddCookie(cookie)
				}
				w := httptest.NewRecorder()
				m.LoadAndSave(h).ServeHTTP(w, r)
				for _, c := range w.Result().Cookies() {
					if c.Name == m.CookieName() {
						cookie = c
					}
				}
				return w.Code, lookups.Load(), decodes.Load()
			}
			nothing := func(w http.ResponseWriter, r *http.Request) {}

			if code, _, _ := send(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
				if err := m.SignIn(r.Context(), user, []sigra.Method{sigra.MethodPassword}, sigra.AAL1, false); err != nil {
					t.Fatal(err)
				}
			}); code != http.StatusOK || cookie == nil {
				t.Fatalf("sign in: got %d, cookie %v", code, cookie)
			}
			signedIn := cookie.Value

			// A request that never asks for the values.
			wantDecodes := int32(1)
			if lazy {
				wantDecodes = 0
			}
			if code, looked, decoded := send(http.MethodGet, nothing); code != http.StatusOK || looked != 1 || decoded != wantDecodes {
				t.Errorf("a request without values: got status %d, %d lookups, %d decodes; want 200, 1, %d", code, looked, decoded, wantDecodes)
			}
			if m.PasswordChangeRequired(context.Background()) {
				t.Error("PasswordChangeRequired outside a request: got true")
			}

			// A request that asks: one decode, from the one lookup.
			var got string
			var signedInThere bool
			code, looked, decoded := send(http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
				got = m.Values().GetString(r.Context(), "colour")
				signedInThere = sigra.UserFrom(r.Context()) != nil
			})
			if code != http.StatusOK || looked != 1 || decoded != 1 || got != "" || !signedInThere {
				t.Errorf("a request reading a value: got status %d, %d lookups, %d decodes, value %q, signed in %v; want 200, 1, 1, empty, true", code, looked, decoded, got, signedInThere)
			}

			// Values put are saved, and read back by the next request,
			// which decodes them before its handler runs.
			if code, _, _ := send(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
				m.Values().Put(r.Context(), "colour", "teal")
			}); code != http.StatusOK {
				t.Fatalf("put: got status %d", code)
			}
			if cookie.Value != signedIn {
				t.Errorf("put renewed the token: got %q, want %q", cookie.Value, signedIn)
			}
			var before int32
			code, looked, decoded = send(http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
				before = decodes.Load()
				got = m.Values().GetString(r.Context(), "colour")
			})
			if code != http.StatusOK || looked != 1 || decoded != 1 || before != 1 || got != "teal" {
				t.Errorf("a session with values: got status %d, %d lookups, %d decodes (%d before the handler), value %q; want 200, 1, 1 (1), teal", code, looked, decoded, before, got)
			}

			// Concurrent first reads of one request: the same data, and a
			// value put through one is seen through another.
			if code, _, _ := send(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
				m.Values().Remove(r.Context(), "colour")
			}); code != http.StatusOK {
				t.Fatalf("remove: got status %d", code)
			}
			code, _, decoded = send(http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
				var wg sync.WaitGroup
				for i := range 8 {
					wg.Go(func() {
						if i == 0 {
							m.Values().Put(r.Context(), "seen", "yes")
						} else {
							m.Values().GetString(r.Context(), "seen")
						}
					})
				}
				wg.Wait()
				got = m.Values().GetString(r.Context(), "seen")
			})
			if code != http.StatusOK || got != "yes" {
				t.Errorf("concurrent first reads: got status %d, value %q; want 200, yes", code, got)
			}
			if decoded < 1 {
				t.Errorf("concurrent first reads: got %d decodes, want at least 1", decoded)
			}

			// A corrupt blob fails the request before its handler.
			row, err := db.SessionByDigest(ctx, token.Digest(cookie.Value), time.Now(), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			bad := *row
			bad.Data = []byte{formatCompact, 0, 1, 0xff}
			if err := db.SaveSession(ctx, &bad); err != nil {
				t.Fatal(err)
			}
			reached := false
			if code, _, _ := send(http.MethodPost, func(w http.ResponseWriter, r *http.Request) { reached = true }); code != http.StatusInternalServerError || reached {
				t.Errorf("a corrupt blob: got status %d, handler reached %v; want 500, false", code, reached)
			}
			after, err := db.SessionByDigest(ctx, token.Digest(cookie.Value), time.Now(), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if string(after.Data) != string(bad.Data) || !after.RevokedAt.Equal(bad.RevokedAt) {
				t.Errorf("a corrupt blob: the row changed: got %x, want %x", after.Data, bad.Data)
			}
		})
	}
}

// TestNoValues checks noValues against Decode: it is true exactly for the
// blobs that Decode reads without values and without error.
func TestNoValues(t *testing.T) {
	empty, err := Codec{}.Encode(time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	one, err := Codec{}.Encode(time.Now(), map[string]any{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	gob, err := Codec{}.Encode(time.Now(), map[string]any{"k": struct{ A int }{1}})
	if err != nil && gob == nil {
		gob = []byte{formatGob}
	}
	for _, b := range [][]byte{
		empty, one, gob, nil, {}, {formatCompact}, {formatCompact, 0}, {formatCompact, 0, 0},
		{formatCompact, 0, 0, 0}, {formatCompact, 0x80}, {formatGob, 0, 0}, {3, 0, 0},
		append(append([]byte{}, empty...), 0),
	} {
		_, values, err := Codec{}.Decode(b)
		want := err == nil && len(values) == 0
		if got := noValues(b); got != want {
			t.Errorf("noValues(%x): got %v, Decode says %v (values %v, err %v)", b, got, want, values, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { noValues(empty) }); n != 0 {
		t.Errorf("noValues allocates: %v", n)
	}
}
