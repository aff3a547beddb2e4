package ui_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing/fstest"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/ui"
)

// DashboardData is the data of the application's "dashboard" page.
type DashboardData struct {
	Projects int
}

// appPack is an application's own pack: one page, one settings section
// and one email, with the routes and notices they use. A feature package
// exports its pack the same way (account.Pages(), mfa.Pages()).
func appPack() ui.Pack {
	return ui.Pack{
		Name: "app",
		Files: fstest.MapFS{
			"pages/dashboard.html": {Data: []byte(`{{define "title"}}Dashboard{{end}}
{{define "content"}}<h1>Hello{{with .User}}, {{.Email}}{{end}}</h1>
<p>{{plural .Data.Projects "project" "projects"}}. <a href="{{route "projects"}}">See them</a></p>{{end}}`)},
			"sections/newsletter.html": {Data: []byte(`<section class="panel"><h2>Newsletter</h2>
<form method="post" action="{{route "newsletter"}}">{{template "hidden" .}}
<button type="submit">{{if .Data.Subscribed}}Unsubscribe{{else}}Subscribe{{end}}</button></form></section>`)},
			"emails/invoice.txt": {Data: []byte("Subject: Your {{.Brand.ProductName}} invoice for {{.Data.Month}}\n\nHi,\n\nYour invoice is ready: {{.Link}}\n{{template \"footer\" .}}")},
			"emails/invoice.html": {Data: []byte(`{{define "content"}}<h1 style="{{style "h1"}}">Your invoice for {{.Data.Month}}</h1>
{{template "button" (args "url" .Link "label" "View the invoice")}}{{end}}`)},
		},
		Pages:    map[string]any{"dashboard": &DashboardData{}},
		Sections: map[string]any{"newsletter": &NewsletterSection{}},
		Emails:   map[string]any{"invoice": &InvoiceMail{}},
		Routes: map[string]string{
			"projects": "/projects", "newsletter": "/settings/newsletter",
			ui.RouteSettings: "/settings", ui.RouteSignIn: "/login", ui.RouteSignOut: "/logout",
		},
		Notices: map[string]string{"subscribed": "You are subscribed."},
	}
}

// NewsletterSection is the data of the application's settings section.
type NewsletterSection struct{ Subscribed bool }

// InvoiceMail is the Data of the application's "invoice" email.
type InvoiceMail struct{ Month string }

// A UI is built for a site from the packs of the features in use; routes
// follow the site's prefix.
func ExampleNew() {
	s, err := site.New(site.Config{BaseURL: "https://app.example.com", Prefix: "/account"})
	if err != nil {
		log.Fatal(err)
	}
	u, err := ui.New(s, ui.Config{Brand: ui.Brand{ProductName: "Acme"}, Packs: []ui.Pack{appPack()}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Pages())
	fmt.Println(u.Route("projects"))
	fmt.Println(u.AssetsPath())
	// Output:
	// [dashboard error settings]
	// /account/projects true
	// /account/assets
}

// A handler renders a page of the application's own pack. Render fills the
// signed-in user, the CSRF token and the notice from the request.
func ExampleUI_Render() {
	s, _ := site.New(site.Config{BaseURL: "https://app.example.com"})
	u, err := ui.New(s, ui.Config{Brand: ui.Brand{ProductName: "Acme"}, Packs: []ui.Pack{appPack()}})
	if err != nil {
		log.Fatal(err)
	}
	dashboard := func(w http.ResponseWriter, r *http.Request) {
		u.Render(w, r, http.StatusOK, "dashboard", &ui.Page{Data: &DashboardData{Projects: 3}})
	}

	req := httptest.NewRequest(http.MethodGet, "/dashboard?notice=subscribed", nil)
	user := &sigra.User{ID: "1", Email: "user@example.com"}
	req = req.WithContext(sigra.WithAuth(req.Context(), &sigra.Auth{User: user, State: sigra.StateAuthenticated}))
	rec := httptest.NewRecorder()
	dashboard(rec, req)

	body := rec.Body.String()
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
	fmt.Println(strings.Contains(body, "<title>Dashboard · Acme</title>"))
	fmt.Println(strings.Contains(body, "<h1>Hello, user@example.com</h1>"))
	fmt.Println(strings.Contains(body, `<a href="/auth/projects">See them</a>`))
	fmt.Println(strings.Contains(body, "You are subscribed."))
	// Output:
	// 200 text/html; charset=utf-8 no-store
	// true
	// true
	// true
	// true
}

// An application replaces a built-in file by its path in Config.Overrides;
// a name that replaces nothing is refused, with the names that exist.
func ExampleConfig_overrides() {
	s, _ := site.New(site.Config{BaseURL: "https://app.example.com"})
	u, err := ui.New(s, ui.Config{Packs: []ui.Pack{appPack()}, Overrides: fstest.MapFS{
		"pages/dashboard.html": {Data: []byte(`{{define "title"}}Home{{end}}
{{define "content"}}<h1>Welcome back</h1>{{end}}`)},
		"emails/invoice.txt": {Data: []byte("Subject: Invoice {{.Data.Month}}\n\nSee {{.Link}}\n")},
	}})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "dashboard", nil)
	fmt.Println(strings.Contains(rec.Body.String(), "<h1>Welcome back</h1>"))
	subject, text, _, _ := u.RenderEmail("invoice", &ui.Email{Link: "https://app.example.com/i/7", Data: &InvoiceMail{Month: "May"}})
	fmt.Printf("%s / %s", subject, text)

	_, err = ui.New(s, ui.Config{Packs: []ui.Pack{appPack()}, Overrides: fstest.MapFS{
		"pages/dashbord.html": {Data: []byte(`{{define "content"}}<h1>Typo</h1>{{end}}`)},
	}})
	fmt.Println(errors.Is(err, sigra.ErrConfig))
	fmt.Println(err)
	// Output:
	// true
	// Invoice May / See https://app.example.com/i/7
	// true
	// sigra: invalid config: ui: override "pages/dashbord.html" replaces no built-in file; known pages files: dashboard.html, error.html, settings.html
}

// A mailer renders both parts of a pack's email, with the email's own
// values in Data.
func ExampleUI_RenderEmail() {
	s, _ := site.New(site.Config{BaseURL: "https://app.example.com"})
	u, err := ui.New(s, ui.Config{Brand: ui.Brand{ProductName: "Acme"}, Packs: []ui.Pack{appPack()}})
	if err != nil {
		log.Fatal(err)
	}
	subject, text, html, err := u.RenderEmail("invoice", &ui.Email{
		To:   "user@example.com",
		Link: s.URL("/invoices/7", nil),
		Data: &InvoiceMail{Month: "May"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(subject)
	fmt.Println(strings.Split(text, "\n")[2])
	fmt.Println(strings.Contains(html, `href="https://app.example.com/invoices/7"`))
	// Output:
	// Your Acme invoice for May
	// Your invoice is ready: https://app.example.com/invoices/7
	// true
}

// The settings page is made of the sections the features contribute, in
// Order; the JSON answer is the sections' data by name.
func ExampleUI_Settings() {
	s, _ := site.New(site.Config{BaseURL: "https://app.example.com"})
	u, err := ui.New(s, ui.Config{Packs: []ui.Pack{appPack()}})
	if err != nil {
		log.Fatal(err)
	}
	sections := []ui.Section{{Name: "newsletter", Order: 50, Data: func(r *http.Request) (any, error) {
		return &NewsletterSection{Subscribed: true}, nil
	}}}
	settings := func(w http.ResponseWriter, r *http.Request) {
		p := &ui.Page{}
		data, byName, err := u.Settings(r, p, sections)
		if err != nil {
			u.Render(w, r, http.StatusInternalServerError, "error", nil)
			return
		}
		fmt.Println(len(data.Sections), byName["newsletter"].(*NewsletterSection).Subscribed)
		p.Data = data
		u.Render(w, r, http.StatusOK, "settings", p)
	}
	rec := httptest.NewRecorder()
	settings(rec, httptest.NewRequest(http.MethodGet, "/auth/settings", nil))
	fmt.Println(strings.Contains(rec.Body.String(), `action="/auth/settings/newsletter"`))
	// Output:
	// 1 true
	// true
}

// Mount serves the stylesheet, script and icon under the site's prefix,
// with content-hashed names cached for a year.
func ExampleUI_Mount() {
	s, _ := site.New(site.Config{BaseURL: "https://app.example.com", Prefix: "/account"})
	u, err := ui.New(s, ui.Config{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	u.Mount(mux)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.AssetURL("sigra.css"), nil))
	fmt.Println(strings.HasPrefix(u.AssetURL("sigra.css"), "/account/assets/sigra."))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Header().Get("Cache-Control"))
	// Output:
	// true
	// 200 text/css; charset=utf-8
	// public, max-age=31536000, immutable
}

// Brand colours are validated: only "#rgb" and "#rrggbb" are accepted.
func ExampleNew_brand() {
	s, _ := site.New(site.Config{BaseURL: "https://app.example.com"})
	_, err := ui.New(s, ui.Config{Brand: ui.Brand{AccentColor: "red;}body{"}})
	fmt.Println(err)
	u, _ := ui.New(s, ui.Config{Brand: ui.Brand{ProductName: "Acme", AccentColor: "#0AF"}})
	fmt.Println(u.Brand().AccentColor, u.Brand().SenderName)
	// Output:
	// sigra: invalid config: ui: brand: AccentColor "red;}body{": want "#rgb" or "#rrggbb"
	// #00aaff Acme
}
