// Command api is a small JSON API (notes) protected two ways: by API
// tokens (a user's personal access tokens, and a service account's client
// credentials exchanged for short-lived access tokens) and by JWT access
// tokens with rotating refresh tokens (for a client that signed in). The
// account pages (sign-in, settings, tokens) come from package kit;
// README.md has curl lines for every step.
//
//	go run ./examples/api
//
// Each way of authenticating API requests lives in a file of its own
// (apitoken.go, jwt.go) and protects the same handlers (notes.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"path/filepath"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/apitoken"
	"github.com/sigra-go/sigra/jwtauth"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
)

// The seeded account: it may create the application's service accounts.
const (
	adminEmail    = "admin@example.com"
	adminPassword = "correct-horse-battery"
)

// scopes are the scopes the API declares.
var scopes = []apitoken.Scope{
	{Name: "notes:read", Description: "Read your notes"},
	{Name: "notes:write", Description: "Write notes"},
}

func main() {
	const addr = "localhost:8082"
	h, err := app(context.Background(), ".", "http://"+addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s (sign in as %s, password %s)", addr, adminEmail, adminPassword)
	log.Fatal(http.ListenAndServe(addr, h))
}

// app is the whole application, served at base, its database and keys
// kept in dir.
func app(ctx context.Context, dir, base string) (http.Handler, error) {
	db, err := sqlite.Open(ctx, filepath.Join(dir, "api.db"))
	if err != nil {
		return nil, err
	}
	keys, err := kit.KeysFile(filepath.Join(dir, "api.keys"))
	if err != nil {
		return nil, err
	}
	signing, err := jwtKey(filepath.Join(dir, "api.jwt.pem"))
	if err != nil {
		return nil, err
	}
	auth, err := kit.New(kit.Config{
		Store: db, Site: site.Config{BaseURL: base}, Keys: keys, DisableMFA: true,
		APITokens: &apitoken.Config{
			Scopes: scopes,
			// The seeded administrator manages the application's own
			// service accounts.
			CanManageApp: func(_ context.Context, u *sigra.User) bool { return u.Email == adminEmail },
		},
		JWT: &jwtauth.Config{Keys: []jwtauth.Key{signing}, Scopes: scopeNames(), DefaultScopes: []string{"notes:read"}},
	})
	if err != nil {
		return nil, err
	}
	go func() { _ = auth.Run(ctx) }() // delivers email, purges expired rows
	if err := seed(ctx, auth, db); err != nil {
		return nil, err
	}
	n := newNotes()
	n.mount(auth.Mux, "/api", either(jwtTokens(auth.JWT), apiTokens(auth.APITokens)))
	return auth.Handler(), nil
}

// scopeNames are the names of the scopes, for the JWT configuration.
func scopeNames() []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = s.Name
	}
	return out
}

// seed creates the administrator's account on the first start.
func seed(ctx context.Context, auth *kit.Kit, db *sqlite.DB) error {
	_, err := db.UserByEmail(ctx, adminEmail)
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	hash, err := auth.Hasher.Hash(ctx, adminPassword)
	if err != nil {
		return err
	}
	now := auth.Site.Now()
	if err := db.CreateUser(ctx, &store.User{Email: adminEmail, PasswordHash: hash, EmailConfirmedAt: now, CreatedAt: now}); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}
