// Command minimal is the smallest useful Sigra application: registration,
// confirmation, password and magic-link sign-in, reset, two-factor
// authentication, account settings, and one page behind RequireUser, on an
// embedded SQLite file, composed in one call by package kit. Emails go to
// the development mailbox at /dev/mail/.
//
//	go run ./examples/minimal
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"path/filepath"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store/sqlite"
)

func main() {
	const addr = "localhost:8081"
	log.Printf("listening on http://%s (email at /dev/mail/)", addr)
	log.Fatal(http.ListenAndServe(addr, app(context.Background(), ".", addr)))
}

// app is the whole application, served at http://addr, its database and
// keys kept in dir.
func app(ctx context.Context, dir, addr string) http.Handler {
	db := must(sqlite.Open(ctx, filepath.Join(dir, "minimal.db")))
	auth := must(kit.New(kit.Config{
		Store: db,
		Site:  site.Config{BaseURL: "http://" + addr},
		Keys:  must(kit.KeysFile(filepath.Join(dir, "minimal.keys"))), // kept across restarts; in production read them from a secret store
	}))
	go auth.Run(ctx) // delivers email, purges expired rows
	auth.Handle("GET /{$}", auth.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello, %s\n", sigra.UserFrom(r.Context()).Email)
	})))
	return auth.Handler()
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
