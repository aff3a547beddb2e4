package apitoken_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/apitoken"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
)

// Example adds API tokens to an application built with kit and protects a
// JSON route with them: a user's personal token reads notes, is refused
// the scope it lacks, and a service account of the application exchanges
// its client credentials for an access token at the token endpoint.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "apitoken-example")
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

	srv := httptest.NewUnstartedServer(nil) // its address is the base URL
	base := "http://" + srv.Listener.Addr().String()
	auth, err := kit.New(kit.Config{
		Store: db, Site: site.Config{BaseURL: base}, Keys: keys,
		APITokens: &apitoken.Config{Scopes: []apitoken.Scope{
			{Name: "notes:read", Description: "Read notes"},
			{Name: "notes:write", Description: "Write notes"},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	tokens := auth.APITokens
	notes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := sigra.AuthFrom(r.Context())
		if a.ServiceAccount {
			fmt.Fprintln(w, "notes for a service account")
			return
		}
		fmt.Fprintf(w, "notes of %s\n", sigra.UserFrom(r.Context()).Email)
	})
	auth.Handle("GET /api/notes", tokens.Bearer(tokens.RequireScopes("notes:read")(notes)))
	auth.Handle("POST /api/notes", tokens.Bearer(tokens.RequireScopes("notes:write")(notes)))
	srv.Config.Handler = auth.Handler()
	srv.Start()
	defer srv.Close()

	// A user and a token of theirs (the settings page makes them too).
	now := auth.Site.Now()
	u := &store.User{Email: "user@example.com", EmailConfirmedAt: now, CreatedAt: now}
	if err := db.CreateUser(ctx, u); err != nil {
		log.Fatal(err)
	}
	pat, err := tokens.Create(ctx, u.ID, "script", []string{"notes:read"}, now.Add(30*24*time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	send := func(method, path, bearer string, form url.Values) string {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return fmt.Sprintf("%d %s", res.StatusCode, strings.TrimSpace(string(b)))
	}
	fmt.Println(send("GET", "/api/notes", pat.Secret, nil))
	fmt.Println(send("POST", "/api/notes", pat.Secret, nil)[:3])
	fmt.Println(send("GET", "/api/notes", "", nil)[:3])

	// A service account of the application.
	sa, err := tokens.CreateServiceAccount(ctx, "", "nightly export", []string{"notes:read"}, "")
	if err != nil {
		log.Fatal(err)
	}
	res := send("POST", tokens.TokenEndpoint(), "", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {sa.Account.ID}, "client_secret": {sa.Secret},
	})
	access := res[strings.Index(res, `"access_token":"`)+16:]
	access = access[:strings.IndexByte(access, '"')]
	fmt.Println(send("GET", "/api/notes", access, nil))
	// Output:
	// 200 notes of user@example.com
	// 403
	// 401
	// 200 notes for a service account
}
