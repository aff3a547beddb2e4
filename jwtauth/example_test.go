package jwtauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/jwtauth"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
)

// Example adds JWT access tokens to an application built with kit. A
// client signs in through the JSON endpoint, exchanges its session for
// tokens, calls the API with the access token, refreshes, and a reuse of
// the first refresh token ends the family.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "jwtauth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	keys, err := kit.KeysFile(filepath.Join(dir, "app.keys"))
	if err != nil {
		log.Fatal(err)
	}
	// In production: jwtauth.ParseKey("2026-01", pemFromTheSecretStore).
	signing, err := jwtauth.GenerateKey("2026-01")
	if err != nil {
		log.Fatal(err)
	}

	srv := httptest.NewUnstartedServer(nil) // its address is the base URL
	base := "http://" + srv.Listener.Addr().String()
	auth, err := kit.New(kit.Config{
		Store: db, Site: site.Config{BaseURL: base}, Keys: keys,
		JWT: &jwtauth.Config{Keys: []jwtauth.Key{signing}, Scopes: []string{"notes:read", "notes:write"}, DefaultScopes: []string{"notes:read"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	notes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := sigra.UserFrom(r.Context()); u != nil { // u.ID is the user's ID
			fmt.Fprintln(w, "notes of a user")
		}
	})
	auth.Handle("GET /api/notes", auth.JWT.Require(jwtauth.RequireScopes("notes:read")(notes)))
	auth.Handle("POST /api/notes", auth.JWT.Require(jwtauth.RequireScopes("notes:write")(notes)))
	srv.Config.Handler = auth.Handler()
	srv.Start()
	defer srv.Close()

	hash, _ := auth.Hasher.Hash(ctx, "correct horse battery staple")
	now := auth.Site.Now()
	if err := db.CreateUser(ctx, &store.User{Email: "user@example.com", PasswordHash: hash, EmailConfirmedAt: now, CreatedAt: now}); err != nil {
		log.Fatal(err)
	}

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	send := func(method, path, bearer, body string) (int, []byte) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Accept", "application/json")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	send("POST", "/auth/login", "", `{"email":"user@example.com","password":"correct horse battery staple"}`)
	_, b := send("POST", "/auth/token", "", `{"client_name":"notes app"}`)
	var first jwtauth.TokenResponse
	_ = json.Unmarshal(b, &first)
	fmt.Println("scope:", first.Scope, "expires in:", first.ExpiresIn)

	code, b := send("GET", "/api/notes", first.AccessToken, "")
	fmt.Print(code, " ", string(b))
	code, _ = send("POST", "/api/notes", first.AccessToken, "")
	fmt.Println(code, "without notes:write")

	refresh := `{"refresh_token":"` + first.RefreshToken + `"}`
	code, _ = send("POST", "/auth/token/refresh", "", refresh)
	fmt.Println(code, "refreshed")
	code, b = send("POST", "/auth/token/refresh", "", refresh)
	fmt.Println(code, strings.TrimSpace(string(b))[:32])
	// Output:
	// scope: notes:read expires in: 600
	// 200 notes of a user
	// 403 without notes:write
	// 200 refreshed
	// 400 {"error":{"code":"invalid_grant"
}

// ExampleParseKey loads a signing key kept as a JWK (or PEM) in the
// application's secrets, never in the database.
func ExampleParseKey() {
	jwk := `{"kty":"OKP","crv":"Ed25519","kid":"2026-01","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`
	k, err := jwtauth.ParseKey("", []byte(jwk))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(k.ID, k.Alg())
	// Output: 2026-01 EdDSA
}

// ExampleRequireScopes guards a route by scope below any bearer
// middleware that fills sigra.Auth.Scopes.
func ExampleRequireScopes() {
	h := jwtauth.RequireScopes("notes:write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "written")
	}))
	for _, scopes := range [][]string{{"notes:read", "notes:write"}, {"notes:read"}} {
		r := httptest.NewRequest("POST", "/api/notes", nil)
		r = r.WithContext(sigra.WithAuth(r.Context(), &sigra.Auth{User: &sigra.User{ID: "u1"}, State: sigra.StateAuthenticated, AAL: sigra.AAL1, Scopes: scopes}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Header().Get("WWW-Authenticate"))))
	}
	// Output:
	// 200
	// 403 Bearer error="insufficient_scope", scope="notes:write"
}
