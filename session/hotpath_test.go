package session

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/token"
)

// TestDigestIsTokenDigest checks that the lookup's digest, computed in
// the holder, is token.Digest, which the transitions and the other
// packages use.
func TestDigestIsTokenDigest(t *testing.T) {
	var buf [32]byte
	for range 100 {
		tok, err := token.New()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := digest(&buf, tok), token.Digest(tok); !bytes.Equal(got, want) {
			t.Fatalf("digest(%q): got %x, want %x", tok, got, want)
		}
	}
	if got, want := digest(&buf, ""), token.Digest(""); !bytes.Equal(got, want) {
		t.Fatalf(`digest(""): got %x, want %x`, got, want)
	}
}

type testKey struct{}

// TestHolderIsContext checks the holder as the request's context: it
// answers holderKey with itself, passes other keys, the deadline and the
// cancellation of its parent through, and is found below contexts derived
// from it.
func TestHolderIsContext(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), testKey{}, "v"), deadline)
	h := &holder{Context: parent}
	if got := holderFrom(h); got != h {
		t.Errorf("holderFrom(holder): got %p, want %p", got, h)
	}
	if got := h.Value(testKey{}); got != "v" {
		t.Errorf("the parent's value: got %v, want v", got)
	}
	if d, ok := h.Deadline(); !ok || !d.Equal(deadline) {
		t.Errorf("Deadline: got %v %v, want %v", d, ok, deadline)
	}
	child, stop := context.WithCancel(sigra.WithAuth(h, &h.authv))
	defer stop()
	if got := holderFrom(child); got != h {
		t.Errorf("holderFrom(derived context): got %p, want %p", got, h)
	}
	cancel()
	<-child.Done() // the parent's cancellation reaches the derived context
	if h.Err() == nil {
		t.Error("Err after the parent's cancellation: got nil")
	}
}

// TestAuthKeptByHandlerStaysAsItWas checks that the user and methods a
// handler took from the request's Auth before a transition keep their
// values: the first ones live in the holder, and the transitions must not
// rewrite them.
func TestAuthKeptByHandlerStaysAsItWas(t *testing.T) {
	ctx := context.Background()
	db, m := newSQLiteManager(t, func(db *sqlite.DB) Store { return db })
	var users []*sigra.User
	for _, email := range []string{"first@example.com", "second@example.com"} {
		u := &store.User{Email: email, CreatedAt: time.Now()}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		users = append(users, &sigra.User{ID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt})
	}

	var cookie *http.Cookie
	send := func(h http.HandlerFunc) {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		m.LoadAndSave(h).ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("got status %d %s, want 200", w.Code, w.Body)
		}
		for _, c := range w.Result().Cookies() {
			if c.Name == m.CookieName() {
				cookie = c
			}
		}
	}
	send(func(w http.ResponseWriter, r *http.Request) {
		if err := m.SignIn(r.Context(), users[0], []sigra.Method{sigra.MethodPassword, sigra.MethodTOTP}, sigra.AAL2, false); err != nil {
			t.Fatal(err)
		}
	})
	send(func(w http.ResponseWriter, r *http.Request) {
		a := sigra.AuthFrom(r.Context())
		u, methods := a.User, a.Methods
		if u == nil || u.ID != users[0].ID || len(methods) != 2 {
			t.Fatalf("loaded auth: got %+v, want the first user with two methods", a)
		}
		if err := m.SignIn(r.Context(), users[1], []sigra.Method{sigra.MethodPasskey}, sigra.AAL1, false); err != nil {
			t.Fatal(err)
		}
		if got := sigra.UserFrom(r.Context()); got == nil || got.ID != users[1].ID {
			t.Fatalf("after signing in the second user: got %+v", got)
		}
		if u.ID != users[0].ID || u.Email != users[0].Email {
			t.Errorf("the user taken before the transition: got %+v, want the first user still", u)
		}
		if methods[0] != sigra.MethodPassword || methods[1] != sigra.MethodTOTP {
			t.Errorf("the methods taken before the transition: got %v, want [password totp] still", methods)
		}
		if err := m.SignOut(r.Context()); err != nil {
			t.Fatal(err)
		}
		if u.ID != users[0].ID {
			t.Errorf("the user taken before the sign-out: got %+v, want the first user still", u)
		}
	})
}

// TestRememberFalseNotStored checks that a session signed in without
// "remember me" stores no remember value (one value fewer to decode on
// every request), and that turning "remember me" off after it was on is
// stored.
func TestRememberFalseNotStored(t *testing.T) {
	ctx := context.Background()
	db, m := newSQLiteManager(t, func(db *sqlite.DB) Store { return db })
	u := &store.User{Email: "remember@example.com", CreatedAt: time.Now()}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	user := &sigra.User{ID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt}

	var cookie *http.Cookie
	signIn := func(remember bool) map[string]any {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := m.SignIn(r.Context(), user, []sigra.Method{sigra.MethodPassword}, sigra.AAL1, remember); err != nil {
				t.Fatal(err)
			}
		})).ServeHTTP(w, r)
		cookie = nil
		for _, c := range w.Result().Cookies() {
			if c.Name == m.CookieName() {
				cookie = c
			}
		}
		if cookie == nil {
			t.Fatalf("sign in (remember %v): no session cookie", remember)
		}
		if persistent := cookie.MaxAge > 0 || !cookie.Expires.IsZero(); persistent != remember {
			t.Fatalf("sign in (remember %v): got cookie %+v", remember, cookie)
		}
		row, err := db.SessionByDigest(ctx, token.Digest(cookie.Value), time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, values, err := Codec{}.Decode(row.Data)
		if err != nil {
			t.Fatal(err)
		}
		return values
	}
	if values := signIn(false); len(values) != 0 {
		t.Errorf("session without remember me: got values %v, want none", values)
	}
	if values := signIn(true); values[rememberKey] != true {
		t.Errorf("session with remember me: got values %v, want %s true", values, rememberKey)
	}
	if values := signIn(false); values[rememberKey] != false {
		t.Errorf("session with remember me turned off: got values %v, want %s false", values, rememberKey)
	}
}

// newSQLiteManager returns a new SQLite database in a temporary directory
// and a Manager over the store wrap makes of it, for a site on
// http://localhost that logs nothing.
func newSQLiteManager(t *testing.T, wrap func(*sqlite.DB) Store) (*sqlite.DB, *Manager) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := site.New(site.Config{BaseURL: "http://localhost", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(s, wrap(db), Config{})
	if err != nil {
		t.Fatal(err)
	}
	return db, m
}
