package sigra_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sigra-go/sigra"
)

// Handlers below the session middleware read the signed-in user from the
// request context.
func ExampleUserFrom() {
	dashboard := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := sigra.UserFrom(r.Context())
		if u == nil {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "hello %s", u.Email)
	})

	// The session middleware puts the Auth in the context; here by hand.
	a := &sigra.Auth{State: sigra.StateAuthenticated, User: &sigra.User{ID: "u1", Email: "user@example.com"}}
	req := httptest.NewRequest("GET", "/dashboard", nil)
	rec := httptest.NewRecorder()
	dashboard.ServeHTTP(rec, req.WithContext(sigra.WithAuth(req.Context(), a)))
	fmt.Println(rec.Body.String())
	// Output: hello user@example.com
}

// A pending sign-in (second factor still to come) has a user but nobody
// is signed in.
func ExampleAuthFrom() {
	a := &sigra.Auth{State: sigra.StatePending, User: &sigra.User{ID: "u1"}, Methods: []sigra.Method{sigra.MethodPassword}}
	ctx := sigra.WithAuth(context.Background(), a)
	fmt.Println(sigra.AuthFrom(ctx).State, sigra.UserFrom(ctx) == nil)
	fmt.Println(sigra.AuthFrom(context.Background()).State)
	// Output:
	// pending true
	// anonymous
}

func ExampleAuth_InSudo() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	a := &sigra.Auth{State: sigra.StateAuthenticated, User: &sigra.User{ID: "u1"}, SudoTime: now.Add(-5 * time.Minute)}
	fmt.Println(a.InSudo(now, 10*time.Minute), a.InSudo(now, 3*time.Minute))
	// Output: true false
}
