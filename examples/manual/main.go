// Command manual composes Sigra's packages by hand, without package kit:
// one site, the SQLite store, sessions, the UI with the account pages, the
// guard, a durable outbox delivering into the development mailbox, and the
// account flows (no two-factor authentication). It is the same wiring kit
// does, for an application that wants to choose each piece.
//
//	go run ./examples/manual
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"path/filepath"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/ui"
)

func main() {
	const addr = "localhost:8082"
	log.Printf("listening on http://%s (sign in at /account/login, email at /dev/mail/)", addr)
	log.Fatal(http.ListenAndServe(addr, app(context.Background(), ".", addr)))
}

// app wires the application, served at http://addr, its database and keys
// kept in dir, and returns its handler.
func app(ctx context.Context, dir, addr string) http.Handler {
	// The configuration every package shares, given once.
	s := must(site.New(site.Config{BaseURL: "http://" + addr, Prefix: "/account"}))

	// Storage: one SQLite file (WAL, one writer, a pool of readers).
	db := must(sqlite.Open(ctx, filepath.Join(dir, "manual.db")))

	// Sessions, pages and the guard. The UI gets the packs of the features
	// mounted below; the guard finds their sign-in and sudo pages there.
	sessions := must(session.New(s, db, session.Config{}))
	views := must(ui.New(s, ui.Config{Brand: ui.Brand{ProductName: "Manual"}, Packs: []ui.Pack{account.Pages()}}))
	guard := must(middleware.New(sessions, middleware.Config{Routes: views}))

	// Email: queued in the store with the change it reports, delivered by
	// the outbox's worker (here into the development mailbox; mail.NewSMTP
	// in production). kit.KeysFile keeps the sealing key across restarts.
	mailbox := mail.NewMailbox(mail.MailboxConfig{})
	outbox := must(mail.NewOutbox(mail.OutboxConfig{Store: db, Keys: must(kit.KeysFile(filepath.Join(dir, "manual.keys"))), Sender: mailbox}))
	go outbox.Run(ctx)

	// The account flows, mounted under the site's prefix.
	accounts := must(account.New(account.Config{
		Store: db, Sessions: sessions, Guard: guard, UI: views, Mail: outbox,
		Passwords: must(password.New(password.Config{})),
	}))
	go accounts.RunPurge(ctx, 0)

	mux := http.NewServeMux()
	accounts.Mount(mux)
	views.Mount(mux)
	mailbox.Mount(mux, "/dev/mail")
	mux.Handle("GET /{$}", guard.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello, %s\n", sigra.UserFrom(r.Context()).Email)
	})))

	// The middleware chain, outermost first.
	csrf := must(middleware.CSRF(s, middleware.CSRFConfig{}))
	return middleware.SecureHeaders(s, middleware.HeadersConfig{})(middleware.LimitBody(0)(csrf(sessions.LoadAndSave(mux))))
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
