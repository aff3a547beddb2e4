// Command minimal is the smallest useful Sigra application: password
// sign-in (with registration, confirmation and reset) and one page behind
// RequireUser, on an embedded SQLite file. Emails go to the development
// mailbox at /dev/mail/.
//
//	go run ./examples/minimal
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

func main() {
	ctx := context.Background()
	const base = "http://localhost:8081"
	db := must(sqlite.Open(ctx, "minimal.db"))
	sessions := must(session.New(db, session.Config{BaseURL: base}))
	guard := must(middleware.New(sessions, middleware.Config{}))
	views := must(ui.New(ui.Config{}))
	mailbox := mail.NewMailbox(mail.MailboxConfig{}) // development only: use mail.NewSMTP in production
	outbox := must(mail.NewOutbox(mail.OutboxConfig{Store: db, Keys: must(token.NewSealKey("k1")), Mailer: mailbox}))
	go outbox.Run(ctx)
	accounts := must(account.New(account.Config{
		Store: db, Sessions: sessions, Guard: guard, Passwords: must(password.New(password.Config{})),
		Mailer: outbox, UI: views, BaseURL: base,
	}))

	mux := http.NewServeMux()
	accounts.Mount(mux, "/auth")
	mux.Handle("GET /auth/assets/", views.Assets())
	mailbox.Mount(mux, "/dev/mail/")
	mux.Handle("GET /{$}", guard.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello, %s\n", sigra.UserFrom(r.Context()).Email)
	})))

	csrf := must(middleware.CSRF(middleware.CSRFConfig{BaseURL: base}))
	log.Printf("listening on %s", base)
	log.Fatal(http.ListenAndServe("localhost:8081", csrf(sessions.LoadAndSave(guard.Load(mux)))))
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
