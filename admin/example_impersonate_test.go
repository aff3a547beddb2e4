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

// Example_impersonation: an administrator, in sudo just after signing
// in, acts as a user with a written reason. The session is the user's,
// with the administrator as impersonator; the password change is
// refused; the stop returns to the administrator's own session, on the
// user's page in the console.
func Example_impersonation() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "admin-impersonation")
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
	user, _ := db.UserByEmail(ctx, "user@example.com")

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
	whoami := func() any {
		_, info := send("GET", "/auth/session", "")
		return info["user"].(map[string]any)["email"]
	}
	send("POST", "/auth/login", `{"email":"root@example.com","password":"correct horse battery staple"}`)

	code, body := send("POST", "/auth/admin/users/"+user.ID+"/impersonate", `{"reason":"Support ticket 4242"}`)
	fmt.Println("start:", code, body["next"], whoami())
	code, body = send("POST", "/auth/password", `{"current_password":"x","password":"y"}`)
	fmt.Println("password change:", code, body["error"].(map[string]any)["code"])
	code, body = send("POST", "/auth/admin/impersonation/stop", `{}`)
	fmt.Println("stop:", code, body["next"] == "/auth/admin/users/"+user.ID+"?notice=admin_returned", whoami())
	// Output:
	// start: 200 / user@example.com
	// password change: 403 impersonation_forbidden
	// stop: 200 true root@example.com
}
