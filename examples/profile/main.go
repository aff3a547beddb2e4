// Command profile shows a feature added from outside Sigra's packages: the
// profile package in this folder gives every user a display name, kept in
// the application's own table beside Sigra's in the same SQLite file, asked
// for at registration, shown and edited in its own settings section and on
// its own page (/auth/profile), with its own notice. Nothing inside Sigra
// changes for it.
//
//	go run ./examples/profile
package main

import (
	"context"
	"flag"
	"fmt"
	"html"
	"log"
	"net/http"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/examples/profile/profile"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/ui"
)

func main() {
	addr := flag.String("addr", "localhost:8083", "address to listen on")
	flag.Parse()
	ctx := context.Background()
	app, err := New(ctx, Config{BaseURL: "http://" + *addr, DB: "profile.db", Keys: "profile.keys"})
	if err != nil {
		log.Fatal(err)
	}
	go app.Kit.Run(ctx)
	log.Printf("listening on http://%s (register at /auth/register, email at /dev/mail/)", *addr)
	log.Fatal(http.ListenAndServe(*addr, app.Kit.Handler()))
}

// Config is where the example keeps its data.
type Config struct {
	BaseURL string
	DB      string // SQLite file
	Keys    string // sealing keys file
	// Passwords configures hashing and the password policy; the zero
	// value is the library's defaults.
	Passwords password.Config
}

// App is the example application.
type App struct {
	Kit     *kit.Kit
	Profile *profile.Profile
	Store   *profile.Store
	// DB is the SQLite database holding Sigra's tables and the profile's.
	DB *sqlite.DB
}

// Close closes the database.
func (a *App) Close() error { return a.DB.Close() }

// New wires Sigra (through kit) and the profile feature.
func New(ctx context.Context, cfg Config) (*App, error) {
	db, err := sqlite.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			db.Close()
		}
	}()
	st, err := profile.OpenStore(ctx, db)
	if err != nil {
		return nil, err
	}
	keys, err := kit.KeysFile(cfg.Keys)
	if err != nil {
		return nil, err
	}
	prof := profile.New(st)
	kc := kit.Config{
		Store:     db,
		Site:      site.Config{BaseURL: cfg.BaseURL},
		Keys:      keys,
		Brand:     ui.Brand{ProductName: "Profiles"},
		Passwords: cfg.Passwords,
		Packs:     []ui.Pack{profile.Pages()},
		Sections:  []ui.Section{prof.Section()},
		Overrides: profile.Overrides(),
	}
	prof.Hooks(&kc.Account.Hooks)
	k, err := kit.New(kc)
	if err != nil {
		return nil, err
	}
	prof.Mount(k.Mux, k.UI, k.Guard)
	k.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := sigra.UserFrom(r.Context())
		if u == nil {
			fmt.Fprintf(w, "<!doctype html><title>Profiles</title><p><a href=\"%s\">Sign in</a> or <a href=\"%s\">create an account</a>.</p>",
				k.Site.Path("/login"), k.Site.Path("/register"))
			return
		}
		name, err := st.DisplayName(r.Context(), u.ID)
		if err != nil || name == "" {
			name = u.Email
		}
		fmt.Fprintf(w, "<!doctype html><title>Profiles</title><p>Hello, %s. <a href=\"%s\">Your profile</a></p>",
			html.EscapeString(name), k.Site.Path("/profile"))
	}))
	ok = true
	return &App{Kit: k, Profile: prof, Store: st, DB: db}, nil
}
