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
	user := &store.User{Email: "user@example.com"}
	if err := db.CreateUser(ctx, user); err != nil {
		log.Fatal(err)
	}

	sessions, err := session.New(db, session.Config{BaseURL: "http://localhost:8080"})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// After checking a password: a new token, AAL1, method "password".
		if err := sessions.SignIn(r.Context(), user, []sigra.Method{sigra.MethodPassword}, sigra.AAL1, false); err != nil {
			http.Error(w, err.Error(), 500)
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
	fmt.Println(send("GET", "/me"))
	send("POST", "/logout")
	fmt.Println(send("GET", "/me"))
	// Output:
	// user@example.com (AAL1)
	// anonymous
}
