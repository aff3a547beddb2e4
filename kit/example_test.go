package kit_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing/fstest"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/ui"
)

// A whole application on SQLite: the account flows and two-factor
// authentication under /auth, email in the development mailbox, and one
// page of the application's own behind RequireUser.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "kit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	keys, err := kit.KeysFile(filepath.Join(dir, "app.keys")) // in production: from a secret store
	if err != nil {
		log.Fatal(err)
	}
	auth, err := kit.New(kit.Config{
		Store: db,
		Site:  site.Config{BaseURL: "http://localhost:8080"},
		Keys:  keys,
	})
	if err != nil {
		log.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go auth.Run(runCtx) // delivers email, purges expired rows

	auth.Handle("GET /dashboard", auth.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello, %s\n", sigra.UserFrom(r.Context()).Email)
	})))
	// http.ListenAndServe("localhost:8080", auth.Handler())

	// A visitor who is not signed in is sent to sign in, and back.
	w := httptest.NewRecorder()
	auth.Handler().ServeHTTP(w, httptest.NewRequest("GET", "http://localhost:8080/dashboard", nil))
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output: 303 /auth/login?return_to=%2Fdashboard
}

// Welcome is the data of the application's "welcome" page.
type Welcome struct{ Name string }

// Plan is the data of the application's "plan" settings section.
type Plan struct{ Name string }

// The application's own pages and settings sections come in a pack of its
// own, rendered in Sigra's layout; here a page and a section that shows
// on the settings page between the account's.
func Example_pack() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "kit-example")
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

	shop := ui.Pack{
		Name: "shop",
		// An embed.FS in a real application.
		Files: fstest.MapFS{
			"pages/welcome.html": {Data: []byte(`{{define "title"}}Welcome{{end}}{{define "content"}}<h1>Welcome, {{.Data.Name}}</h1>{{end}}`)},
			"sections/plan.html": {Data: []byte(`<section class="panel"><div class="panel-body"><h2>Plan</h2><p>{{.Data.Name}}</p></div></section>`)},
		},
		Pages:    map[string]any{"welcome": &Welcome{}},
		Sections: map[string]any{"plan": &Plan{}},
	}
	auth, err := kit.New(kit.Config{
		Store: db,
		Site:  site.Config{BaseURL: "http://localhost:8080"},
		Keys:  keys,
		Brand: ui.Brand{ProductName: "Shop"},
		Packs: []ui.Pack{shop},
		Sections: []ui.Section{{Name: "plan", Order: 25, Data: func(r *http.Request) (any, error) {
			return &Plan{Name: "Free"}, nil // read from the application's own tables
		}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	auth.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.UI.Render(w, r, http.StatusOK, "welcome", &ui.Page{Data: &Welcome{Name: "guest"}})
	}))

	w := httptest.NewRecorder()
	auth.Handler().ServeHTTP(w, httptest.NewRequest("GET", "http://localhost:8080/", nil))
	fmt.Println(w.Code, strings.Contains(w.Body.String(), "<h1>Welcome, guest</h1>"))
	fmt.Println(auth.UI.Sections())
	// Output:
	// 200 true
	// [delete devices email password plan two_factor]
}
