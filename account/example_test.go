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

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/ui"
)

// New wires the account flows: one site for every package, a SQLite
// store, sessions, a UI built with the account pack, guards, CSRF
// protection and a durable outbox; Mount puts the routes under the site's
// prefix ("/auth"). A user then registers with a JSON request, and the
// confirmation email goes out through the outbox (into a development
// mailbox here, an SMTP sender in production).
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sigra-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// The configuration every package shares: the external base URL (every
	// emailed link is built from it), the prefix, the clock, the logger.
	s, err := site.New(site.Config{BaseURL: "http://localhost:8080"})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(s, db, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	views, err := ui.New(s, ui.Config{Brand: ui.Brand{ProductName: "Example"}, Packs: []ui.Pack{account.Pages()}})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := middleware.New(sessions, middleware.Config{Routes: views})
	if err != nil {
		log.Fatal(err)
	}
	hasher, err := password.New(password.Config{}) // Argon2id, m=19 MiB, t=2, p=1
	if err != nil {
		log.Fatal(err)
	}
	// Emails are sealed in the store's outbox (key "id:base64 of 32
	// bytes", from the environment in a real application), committed with
	// the change they announce, and delivered by a worker.
	key := make([]byte, 32)
	rand.Read(key)
	mailbox := mail.NewMailbox(mail.MailboxConfig{})
	outbox, err := mail.NewOutbox(mail.OutboxConfig{Store: db, Keys: "k1:" + base64.StdEncoding.EncodeToString(key), Sender: mailbox})
	if err != nil {
		log.Fatal(err)
	}

	accounts, err := account.New(account.Config{
		Store: db, Sessions: sessions, Guard: guard, UI: views, Passwords: hasher, Mail: outbox,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	accounts.Mount(mux) // /auth/login, /auth/register, ...
	views.Mount(mux)    // /auth/assets/
	mux.Handle("GET /dashboard", guard.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "dashboard of", sigra.UserFrom(r.Context()).Email)
	})))
	csrf, err := middleware.CSRF(s, middleware.CSRFConfig{})
	if err != nil {
		log.Fatal(err)
	}
	app := middleware.SecureHeaders(s, middleware.HeadersConfig{})(csrf(sessions.LoadAndSave(mux)))
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
	fmt.Println(strings.Contains(m.Text, "http://localhost:8080/auth/confirm?token="))
	// Output:
	// 200 {"message":"Check your email to confirm your address.","ok":true}
	// Confirm your email address for Example
	// true
}

// exampleApp is the wiring of ExampleNew in short, with a development
// mailbox as the sender and cheap hashing: it returns the application's
// handler and the mailbox. configure adjusts the account configuration;
// wrap, when set, gives the store the account flows see.
func exampleApp(dir string, configure func(*account.Config), wrap func(*sqlite.DB) account.Store) (http.Handler, *mail.Mailbox, func()) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	s, err := site.New(site.Config{BaseURL: "http://localhost:8080"})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(s, db, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	views, err := ui.New(s, ui.Config{Packs: []ui.Pack{account.Pages()}})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := middleware.New(sessions, middleware.Config{Routes: views})
	if err != nil {
		log.Fatal(err)
	}
	hasher, err := password.New(password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, InsecureAllowWeakParams: true})
	if err != nil {
		log.Fatal(err)
	}
	mailbox := mail.NewMailbox(mail.MailboxConfig{})
	var st account.Store = db
	if wrap != nil {
		st = wrap(db)
	}
	cfg := account.Config{Store: st, Sessions: sessions, Guard: guard, UI: views, Passwords: hasher, Mail: mailbox}
	if configure != nil {
		configure(&cfg)
	}
	accounts, err := account.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	accounts.Mount(mux)
	csrf, err := middleware.CSRF(s, middleware.CSRFConfig{})
	if err != nil {
		log.Fatal(err)
	}
	return csrf(sessions.LoadAndSave(mux)), mailbox, func() { db.Close() }
}

// postJSON sends a JSON POST to app and returns the status and body.
func postJSON(app http.Handler, path, body string) (int, string) {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

// BeforeRegister checks the application's own fields of a registration
// (here a display name, which an override of the "register" page adds to
// the form) before anything is stored; a FieldError refuses the request
// with 422 and the message at the field. AfterRegister receives the same
// fields, never the password, once the account exists.
func ExampleHooks() {
	dir, err := os.MkdirTemp("", "sigra-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	app, _, done := exampleApp(dir, func(cfg *account.Config) {
		cfg.Hooks.Fields = []string{"display_name"} // any other field is refused
		cfg.Hooks.BeforeRegister = func(ctx context.Context, fields map[string]string) error {
			if strings.TrimSpace(fields["display_name"]) == "" {
				return &account.FieldError{Field: "display_name", Message: "Tell us what to call you."}
			}
			return nil
		}
		cfg.Hooks.AfterRegister = func(ctx context.Context, u *sigra.User, fields map[string]string) {
			// Store the application's own profile here.
			_, hasPassword := fields["password"]
			fmt.Printf("new account %s, display name %q, password given to the hook: %v\n", u.Email, fields["display_name"], hasPassword)
		}
	}, nil)
	defer done()

	fmt.Println(postJSON(app, "/auth/register", `{"email":"user@example.com","password":"correct horse battery staple"}`))
	fmt.Println(postJSON(app, "/auth/register", `{"email":"user@example.com","password":"correct horse battery staple","display_name":"Ada"}`))
	// Output:
	// 422 {"error":{"code":"invalid_input","message":"Tell us what to call you.","fields":{"display_name":"Tell us what to call you."}}}
	// new account user@example.com, display name "Ada", password given to the hook: false
	// 200 {"message":"Check your email to confirm your address.","ok":true}
}

// hostStore stands for a host's own store: it implements account.Store
// (users, sessions, tokens, the limiter, the audit log and transactions)
// and nothing of the second factors. Here it wraps the SQLite adapter,
// hiding its other methods; a host would implement the methods over its
// own database and run the matching parts of store/storetest.
type hostStore struct {
	account.Store
}

// A host whose accounts live in its own database gives account.New any
// implementation of account.Store. The outbox, if any, keeps the store
// that holds its queue.
func Example_hostStore() {
	dir, err := os.MkdirTemp("", "sigra-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	app, mailbox, done := exampleApp(dir, nil, func(db *sqlite.DB) account.Store { return hostStore{db} })
	defer done()

	fmt.Println(postJSON(app, "/auth/password/forgot", `{"email":"nobody@example.com"}`))
	fmt.Println(postJSON(app, "/auth/register", `{"email":"user@example.com","password":"correct horse battery staple"}`))
	m, _ := mailbox.Latest("user@example.com")
	fmt.Println(m.Subject)
	// Output:
	// 200 {"message":"If an account uses that address, a reset link is on its way.","ok":true}
	// 200 {"message":"Check your email to confirm your address.","ok":true}
	// Confirm your email address for Sigra
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

// BreachCheckConfig: passwords are checked against the Pwned Passwords
// range API (only the first five characters of the password's SHA-1 leave
// the process) when they are set, through the hasher's policy, and again
// at sign-in, at most once a day per user while clean. A user who signs in
// with a breached password completes the sign-in, then every guarded route
// sends them to <prefix>/password/renew until they choose a new one. Here
// a failed check refuses the sign-in (503) instead of letting it through
// unchecked.
func ExampleBreachCheckConfig() {
	breaches, err := password.NewRangeClient(password.RangeConfig{}) // api.pwnedpasswords.com
	if err != nil {
		log.Fatal(err)
	}
	hasher, err := password.New(password.Config{Policy: password.Policy{Breach: breaches}})
	if err != nil {
		log.Fatal(err)
	}
	cfg := account.Config{
		Passwords:   hasher,
		BreachCheck: account.BreachCheckConfig{Every: 12 * time.Hour, FailClosed: true},
		// Store, Sessions, Guard, UI and Mail as in the example of New.
	}
	fmt.Println(cfg.BreachCheck.FailClosed, cfg.Passwords.Policy().Breach != nil)
	// Output: true true
}
