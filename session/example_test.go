package session_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
)

// A handler signs a user in; the next request with the cookie is
// authenticated, and sign-out ends it.
func Example() {
	dir, _ := os.MkdirTemp("", "sigra-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	rec := &store.User{Email: "user@example.com"}
	if err := db.CreateUser(ctx, rec); err != nil {
		log.Fatal(err)
	}

	// One site for every package: cookie attributes, clock, client
	// addresses. On local http the cookie is not Secure.
	s, err := site.New(site.Config{BaseURL: "http://localhost:8080"})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(s, db, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// After checking a password: a new token, AAL1, method "password".
		// The session takes the public user, never the stored record.
		user := &sigra.User{ID: rec.ID, Email: rec.Email, CreatedAt: rec.CreatedAt}
		if err := sessions.SignIn(r.Context(), user, []sigra.Method{sigra.MethodPassword}, sigra.AAL1, false); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		_ = sessions.SignOut(r.Context())
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		if u := sigra.UserFrom(r.Context()); u != nil {
			fmt.Fprintf(w, "%s (AAL%d)", u.Email, sigra.AuthFrom(r.Context()).AAL)
			return
		}
		fmt.Fprint(w, "anonymous")
	})
	app := sessions.LoadAndSave(mux)

	var cookie *http.Cookie
	send := func(method, path string) string {
		req := httptest.NewRequest(method, path, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		for _, c := range rec.Result().Cookies() {
			if c.Name == sessions.CookieName() {
				cookie = c
			}
		}
		return rec.Body.String()
	}
	send("POST", "/login")
	fmt.Println(sessions.CookieName())
	fmt.Println(send("GET", "/me"))
	send("POST", "/logout")
	fmt.Println(send("GET", "/me"))
	// Output:
	// sigra_session
	// user@example.com (AAL1)
	// anonymous
}

// A user who is disabled is signed out on their next request, by every
// instance of the application: disabling revokes the user's sessions in
// the same transaction (and a session whose user is disabled by other
// means is signed out when it is read with its user), so the request
// continues anonymous.
func ExampleManager_LoadAndSave_disabledUser() {
	dir, _ := os.MkdirTemp("", "sigra-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	rec := &store.User{Email: "user@example.com"}
	if err := db.CreateUser(ctx, rec); err != nil {
		log.Fatal(err)
	}
	s, err := site.New(site.Config{BaseURL: "https://app.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(s, db, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	app := sessions.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			user := &sigra.User{ID: rec.ID, Email: rec.Email}
			_ = sessions.SignIn(r.Context(), user, []sigra.Method{sigra.MethodPassword}, sigra.AAL1, false)
			return
		}
		fmt.Fprint(w, sigra.AuthFrom(r.Context()).State)
	}))
	serve := func(method string, c *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "https://app.example.com/", nil)
		if c != nil {
			req.AddCookie(c)
		}
		w := httptest.NewRecorder()
		app.ServeHTTP(w, req)
		return w
	}
	cookie := serve("POST", nil).Result().Cookies()[0]
	fmt.Println(cookie.Name, serve("GET", cookie).Body.String())

	if err := db.SetDisabled(ctx, rec.ID, s.Now(), s.Now()); err != nil {
		log.Fatal(err)
	}
	w := serve("GET", cookie)
	fmt.Println(w.Body.String())
	// Output:
	// __Host-sigra_session authenticated
	// anonymous
}

// An admin acts as a user, then stops: the browser is back in the admin's
// own session without a new sign-in. Deciding who may impersonate whom
// (an admin, behind sudo, never of another admin) and the audit rows are
// the admin feature's; the session keeps the admin's token in a second
// cookie meanwhile.
func ExampleManager_StartImpersonation() {
	dir, _ := os.MkdirTemp("", "sigra-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	admin, user := &store.User{Email: "admin@example.com"}, &store.User{Email: "user@example.com"}
	for _, u := range []*store.User{admin, user} {
		if err := db.CreateUser(ctx, u); err != nil {
			log.Fatal(err)
		}
	}
	s, err := site.New(site.Config{BaseURL: "http://localhost:8080"})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(s, db, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	sessions.OnImpersonationEnd(func(ctx context.Context, e session.ImpersonationEnd) {
		fmt.Println("ended:", e.Reason, e.Restored)
	})
	public := func(u *store.User) *sigra.User { return &sigra.User{ID: u.ID, Email: u.Email} }
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		_ = sessions.SignIn(r.Context(), public(admin), []sigra.Method{sigra.MethodPassword}, sigra.AAL1, false)
	})
	mux.HandleFunc("POST /impersonate", func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.StartImpersonation(r.Context(), public(user)); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
		}
	})
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.StopImpersonation(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		a := sigra.AuthFrom(r.Context())
		fmt.Fprint(w, a.User.Email)
		if a.Impersonator != "" {
			fmt.Fprint(w, " (an admin acting)")
		}
	})
	app := sessions.LoadAndSave(mux)

	jar := map[string]*http.Cookie{}
	send := func(method, path string) string {
		req := httptest.NewRequest(method, path, nil)
		for _, c := range jar {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		for _, c := range rec.Result().Cookies() {
			if c.MaxAge < 0 {
				delete(jar, c.Name)
			} else {
				jar[c.Name] = c
			}
		}
		return rec.Body.String()
	}
	send("POST", "/login")
	send("POST", "/impersonate")
	fmt.Println(send("GET", "/me"))
	send("POST", "/stop")
	fmt.Println(send("GET", "/me"))
	// Output:
	// user@example.com (an admin acting)
	// ended: stopped true
	// admin@example.com
}
