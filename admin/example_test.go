package admin_test

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

	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
)

// Example adds the admin console to an application built with kit. An
// operator makes a user an administrator (as `sigra users create-admin`
// does); the administrator signs in, finds a user by the beginning of
// their address and disables the account. A user who is not an
// administrator gets 404 from the console.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "admin-example")
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
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	auth, err := kit.New(kit.Config{Store: db, Site: site.Config{BaseURL: base}, Keys: keys, Admin: &admin.Config{}})
	if err != nil {
		log.Fatal(err)
	}
	srv.Config.Handler = auth.Handler()
	srv.Start()
	defer srv.Close()

	hash, _ := auth.Hasher.Hash(ctx, "correct horse battery staple")
	now := auth.Site.Now()
	for _, email := range []string{"root@example.com", "user@example.com"} {
		if err := db.CreateUser(ctx, &store.User{Email: email, PasswordHash: hash, EmailConfirmedAt: now, CreatedAt: now}); err != nil {
			log.Fatal(err)
		}
	}
	root, _ := db.UserByEmail(ctx, "root@example.com")
	if err := db.GrantAdmin(ctx, root.ID, "", now); err != nil {
		log.Fatal(err)
	}

	client := func(email string) func(method, path, body string) (int, map[string]any) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		send := func(method, path, body string) (int, map[string]any) {
			req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
			req.Header.Set("Accept", "application/json")
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			res, err := c.Do(req)
			if err != nil {
				log.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			return res.StatusCode, m
		}
		send("POST", "/auth/login", `{"email":"`+email+`","password":"correct horse battery staple"}`)
		return send
	}
	adm, user := client("root@example.com"), client("user@example.com")

	code, _ := user("GET", "/auth/admin/users", "")
	fmt.Println("a user:", code)
	code, body := adm("GET", "/auth/admin/users?q=user", "")
	found := body["users"].([]any)[0].(map[string]any)
	fmt.Println("search:", code, found["email"])
	code, _ = adm("POST", "/auth/admin/users/"+found["id"].(string)+"/disable", `{}`)
	u, _ := db.UserByEmail(ctx, "user@example.com")
	fmt.Println("disable:", code, !u.DisabledAt.IsZero())
	// Output:
	// a user: 404
	// search: 200 user@example.com
	// disable: 200 true
}
