package mfa_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// Example wires MFA into an application: the MFA value is the account
// flows' SecondFactor, both mount under the same prefix, and a route that
// needs two factors is wrapped with RequireAAL2.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sigra-mfa-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	const base = "http://localhost:8080"
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	sessions, err := session.New(db, session.Config{BaseURL: base})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := middleware.New(sessions, middleware.Config{})
	if err != nil {
		log.Fatal(err)
	}
	views, err := ui.New(ui.Config{Brand: ui.Brand{ProductName: "Example"}})
	if err != nil {
		log.Fatal(err)
	}
	mailKeys, err := token.NewSealKey("m1") // in production: from the environment
	if err != nil {
		log.Fatal(err)
	}
	outbox, err := mail.NewOutbox(mail.OutboxConfig{Store: db, Keys: mailKeys, Mailer: mail.NewMailbox(mail.MailboxConfig{})})
	if err != nil {
		log.Fatal(err)
	}
	totpKeys, err := token.NewSealKey("t1") // in production: from the environment, apart from the database
	if err != nil {
		log.Fatal(err)
	}

	second, err := mfa.New(mfa.Config{
		Store: db, Sessions: sessions, Guard: guard, UI: views, Mailer: outbox,
		Keys: totpKeys, // seals TOTP secrets at rest
	})
	if err != nil {
		log.Fatal(err)
	}
	hasher, err := password.New(password.Config{})
	if err != nil {
		log.Fatal(err)
	}
	accounts, err := account.New(account.Config{
		Store: db, Sessions: sessions, Guard: guard, Passwords: hasher, Mailer: outbox, UI: views,
		BaseURL:      base,
		SecondFactor: second, // enrolled users are asked for a code after their password
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	accounts.Mount(mux, "/auth")
	second.Mount(mux, "/auth")
	mux.Handle("GET /admin", guard.RequireAAL2(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "signed in with two factors")
	})))
	csrf, err := middleware.CSRF(middleware.CSRFConfig{BaseURL: base})
	if err != nil {
		log.Fatal(err)
	}
	handler := csrf(sessions.LoadAndSave(guard.Load(mux)))

	// Nobody is half-way through signing in, so the challenge sends the
	// browser to the sign-in page.
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", base+"/auth/mfa/challenge", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output: 303 /auth/login
}

// ExampleNew shows that New checks its configuration instead of
// panicking.
func ExampleNew() {
	_, err := mfa.New(mfa.Config{})
	fmt.Println(err)
	// Output: sigra/mfa: Config.Store is required
}
