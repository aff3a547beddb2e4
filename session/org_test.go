package session_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// orgApp is a test application whose routes sign in and set the active
// organization; each answers with the active organization of the request's
// Auth after it ran.
func orgApp(t *testing.T, st testStore) *app {
	t.Helper()
	a := newApp(t, st, options{})
	mux := http.NewServeMux()
	answer := func(w http.ResponseWriter, r *http.Request, err error) {
		switch {
		case errors.Is(err, session.ErrNotSignedIn):
			http.Error(w, "not signed in", http.StatusForbidden)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		default:
			_, _ = io.WriteString(w, sigra.AuthFrom(r.Context()).ActiveOrg)
		}
	}
	mux.HandleFunc("POST /signin", func(w http.ResponseWriter, r *http.Request) {
		answer(w, r, a.m.SignIn(r.Context(), public(a.user), []sigra.Method{sigra.MethodPassword}, sigra.AAL1, false))
	})
	mux.HandleFunc("POST /pending", func(w http.ResponseWriter, r *http.Request) {
		answer(w, r, a.m.BeginSecondFactor(r.Context(), public(a.user), sigra.MethodPassword, false))
	})
	mux.HandleFunc("POST /org", func(w http.ResponseWriter, r *http.Request) {
		answer(w, r, a.m.SetActiveOrg(r.Context(), r.URL.Query().Get("id")))
	})
	mux.HandleFunc("GET /org", func(w http.ResponseWriter, r *http.Request) {
		answer(w, r, nil)
	})
	a.srv.Close()
	a.srv = httptest.NewServer(a.m.LoadAndSave(mux))
	t.Cleanup(a.srv.Close)
	return a
}

// TestSetActiveOrg: the active organization shows in the request that set
// it and in the next ones, without a new token; only a fully signed-in
// user has one; and one the user does not belong to is not stored.
func TestSetActiveOrg(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			orgs, ok := st.(store.Orgs)
			if !ok {
				t.Fatalf("%T does not implement store.Orgs", st)
			}
			a := orgApp(t, st)
			ctx := context.Background()
			other := &store.User{Email: "other-" + store.NewID() + "@example.com", CreatedAt: a.clock.Now()}
			if err := st.CreateUser(ctx, other); err != nil {
				t.Fatal(err)
			}
			mine := &store.Org{Name: "Mine", Slug: "mine-" + store.NewID(), CreatedBy: a.user.ID}
			theirs := &store.Org{Name: "Theirs", Slug: "theirs-" + store.NewID(), CreatedBy: other.ID}
			for _, o := range []*store.Org{mine, theirs} {
				if err := orgs.CreateOrg(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
			c := a.client("")
			stored := func() string {
				t.Helper()
				row, err := st.SessionByDigest(ctx, token.Digest(c.token()), a.clock.Now(), 0)
				if err != nil {
					t.Fatalf("session row: %v", err)
				}
				return row.ActiveOrg
			}

			// Anonymous, then pending: nobody is signed in.
			if res := c.send("POST", "/org?id="+mine.ID); res.StatusCode != http.StatusForbidden {
				t.Fatalf("SetActiveOrg while anonymous: got %d %s, want ErrNotSignedIn", res.StatusCode, readBody(t, res))
			}
			c.do("POST", "/pending")
			if res := c.send("POST", "/org?id="+mine.ID); res.StatusCode != http.StatusForbidden {
				t.Fatalf("SetActiveOrg while pending: got %d %s, want ErrNotSignedIn", res.StatusCode, readBody(t, res))
			}

			c.do("POST", "/signin")
			tok := c.token()
			if got := readBody(t, c.do("POST", "/org?id="+mine.ID)); got != mine.ID {
				t.Errorf("Auth.ActiveOrg in the request that set it: got %q, want %q", got, mine.ID)
			}
			if c.token() != tok || !a.live(tok) {
				t.Error("SetActiveOrg renewed the token, want the same one kept")
			}
			if got := stored(); got != mine.ID {
				t.Errorf("stored ActiveOrg: got %q, want %q", got, mine.ID)
			}
			if got := readBody(t, c.do("GET", "/org")); got != mine.ID {
				t.Errorf("Auth.ActiveOrg in the next request: got %q, want %q", got, mine.ID)
			}

			// "" clears it.
			if got := readBody(t, c.do("POST", "/org?id=")); got != "" {
				t.Errorf("Auth.ActiveOrg after clearing it: got %q, want none", got)
			}
			if got := readBody(t, c.do("GET", "/org")); got != "" {
				t.Errorf("Auth.ActiveOrg in the request after clearing it: got %q, want none", got)
			}

			// The manager does not check membership; the store does not
			// keep an organization the user does not belong to.
			if got := readBody(t, c.do("POST", "/org?id="+theirs.ID)); got != theirs.ID {
				t.Errorf("Auth.ActiveOrg in the request that set another's org: got %q, want %q", got, theirs.ID)
			}
			if got := readBody(t, c.do("GET", "/org")); got != "" {
				t.Errorf("Auth.ActiveOrg after setting an org of another's: got %q, want none", got)
			}
			if c.token() != tok {
				t.Error("the token changed, want the same one kept")
			}
		})
	}
}
