package org_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/org"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
)

// Example adds organizations to an application built with kit, with a
// role of the application's own, and guards the application's
// organization routes: one by the session's active organization, one by
// the slug in its path with a permission. A user signs in, creates an
// organization (it becomes the active one) and reaches both routes; a
// slug that is not theirs answers 404.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "org-example")
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
		Store: db,
		Site:  site.Config{BaseURL: base},
		Keys:  keys,
		// "billing" is the application's role; owners hold its permission
		// too.
		Orgs: &org.Config{Roles: map[string][]string{"billing": {"billing:manage", org.PermMembersRead}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	auth.Handle("GET /projects", auth.RequireMember(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := org.From(r.Context()) // scope every query by t.Org.ID
		fmt.Fprintf(w, "projects of %s\n", t.Org.Name)
	})))
	auth.Handle("GET /o/{org}/invoices", auth.RequirePermission("billing:manage")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "invoices of %s (you are %s)\n", org.From(r.Context()).Org.Slug, org.From(r.Context()).Role)
	})))
	srv.Config.Handler = auth.Handler()
	srv.Start()
	defer srv.Close()

	// A confirmed user, made directly in the store.
	hash, _ := auth.Hasher.Hash(ctx, "correct horse battery staple")
	now := auth.Site.Now()
	if err := db.CreateUser(ctx, &store.User{Email: "user@example.com", PasswordHash: hash, EmailConfirmedAt: now, CreatedAt: now}); err != nil {
		log.Fatal(err)
	}

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	send := func(method, path, body string) string {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Accept", "application/json")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return fmt.Sprintf("%d %s", res.StatusCode, strings.TrimSpace(string(b)))
	}
	send("POST", "/auth/login", `{"email":"user@example.com","password":"correct horse battery staple"}`)
	send("POST", "/auth/orgs", `{"name":"Acme Corp","slug":"acme"}`)
	fmt.Println(send("GET", "/projects", ""))
	fmt.Println(send("GET", "/o/acme/invoices", ""))
	fmt.Println(send("GET", "/o/"+url.PathEscape("someone-else")+"/invoices", "")[:3])
	// Output:
	// 200 projects of Acme Corp
	// 200 invoices of acme (you are owner)
	// 404
}

// ExampleFrom reads the request's organization in a handler behind
// RequireMember. org.WithTenant gives a handler's own tests one.
func ExampleFrom() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := org.From(r.Context())
		if !t.Can("billing:manage") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, "billing of %s", t.Org.Name)
	})
	for _, perms := range [][]string{{"billing:manage"}, nil} {
		tenant := &org.Tenant{Org: &store.Org{ID: "01900000-0000-7000-8000-0000000000a1", Name: "Acme Corp"}, Role: "billing"}
		r := httptest.NewRequest("GET", "/billing", nil)
		r = r.WithContext(org.WithTenant(r.Context(), tenant, perms...))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 billing of Acme Corp
	// 403 forbidden
}

// ExampleSlugFrom derives a slug from an organization's name, as the
// create form does when no slug is given.
func ExampleSlugFrom() {
	for _, name := range []string{"Acme Corp", "  Déjà Vu, Inc. ", "R&D / 2026"} {
		fmt.Printf("%q\n", org.SlugFrom(name))
	}
	// Output:
	// "acme-corp"
	// "deja-vu-inc"
	// "r-d-2026"
}
