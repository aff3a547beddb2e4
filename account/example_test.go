package account_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/ui"
)

// New wires the account flows to a SQLite store, sessions, guards, CSRF
// protection and a durable outbox, then registers a user with a JSON
// request. A development mailbox stands in for the SMTP sender.
func ExampleNew() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sigra-example")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	const base = "http://localhost:8080" // the application's external URL
	sessions, err := session.New(db, session.Config{BaseURL: base})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := middleware.New(sessions, middleware.Config{})
	if err != nil {
		log.Fatal(err)
	}
	hasher, err := password.New(password.Config{}) // Argon2id, m=19 MiB, t=2, p=1
	if err != nil {
		log.Fatal(err)
	}
	views, err := ui.New(ui.Config{Brand: ui.Brand{ProductName: "Example"}})
	if err != nil {
		log.Fatal(err)
	}
	// Emails are sealed in the store's outbox (key "id:base64 of 32
	// bytes", from the environment in a real application) and delivered
	// by a worker; here into a development mailbox.
	key := make([]byte, 32)
	rand.Read(key)
	mailbox := mail.NewMailbox(mail.MailboxConfig{})
	outbox, err := mail.NewOutbox(mail.OutboxConfig{Store: db, Keys: "k1:" + base64.StdEncoding.EncodeToString(key), Mailer: mailbox})
	if err != nil {
		log.Fatal(err)
	}

	accounts, err := account.New(account.Config{
		Store: db, Sessions: sessions, Guard: guard, Passwords: hasher,
		Mailer: outbox, UI: views, BaseURL: base,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	accounts.Mount(mux, "/auth")
	mux.Handle("GET /auth/assets/", views.Assets())
	mux.Handle("GET /dashboard", guard.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "dashboard")
	})))
	csrf, err := middleware.CSRF(middleware.CSRFConfig{BaseURL: base})
	if err != nil {
		log.Fatal(err)
	}
	app := middleware.SecureHeaders(middleware.HeadersConfig{})(csrf(sessions.LoadAndSave(guard.Load(mux))))
	// In a real application: go outbox.Run(ctx); go accounts.RunPurge(ctx, time.Hour);
	// http.ListenAndServe(":8080", app).

	req := httptest.NewRequest("POST", "/auth/register", strings.NewReader(`{"email":"user@example.com","password":"correct horse battery staple"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))

	if _, _, err := outbox.DeliverDue(ctx); err != nil {
		log.Fatal(err)
	}
	m, _ := mailbox.Latest("user@example.com")
	fmt.Println(m.Subject)
	fmt.Println(strings.Contains(m.Text, base+"/auth/confirm?token="))
	// Output:
	// 200 {"message":"Check your email to confirm your address.","ok":true}
	// Confirm your email address for Example
	// true
}

// RunPurge runs the periodic clean-up on one or more instances: accounts
// whose deletion is due are deleted (or anonymised), and expired sessions,
// tokens and rate-limit counters are purged.
func ExampleHandler_RunPurge() {
	var accounts *account.Handler // from account.New
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go accounts.RunPurge(ctx, time.Hour)
}

// PurgeDeleted runs one round of deletions, for a host that schedules its
// own jobs.
func ExampleHandler_PurgeDeleted() {
	var accounts *account.Handler // from account.New
	n, err := accounts.PurgeDeleted(context.Background(), 100)
	if err != nil {
		log.Print(err)
	}
	log.Printf("%d accounts deleted", n)
}
