package ui_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing/fstest"

	"github.com/sigra-go/sigra/ui"
)

// A handler renders a page with the links of the flows and the CSRF token
// of the request.
func ExampleUI_Render() {
	u, err := ui.New(ui.Config{Brand: ui.Brand{ProductName: "Acme"}})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/auth/login", nil)
	u.Render(rec, req, http.StatusOK, "login", &ui.Page{
		CSRFToken: "token-from-the-csrf-middleware",
		Links:     ui.Links{Login: "/auth/login", Forgot: "/auth/forgot", Register: "/auth/register"},
		Data:      &ui.LoginData{AllowRegister: true},
	})
	body := rec.Body.String()
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
	fmt.Println(strings.Contains(body, "<title>Sign in · Acme</title>"))
	fmt.Println(strings.Contains(body, `<form class="stack" method="post" action="/auth/login">`))
	// Output:
	// 200 text/html; charset=utf-8 no-store
	// true
	// true
}

// A mailer renders both parts of an email and its subject.
func ExampleUI_RenderEmail() {
	u, err := ui.New(ui.Config{Brand: ui.Brand{ProductName: "Acme"}})
	if err != nil {
		log.Fatal(err)
	}
	subject, text, html, err := u.RenderEmail("reset", &ui.Email{
		To:        "user@example.com",
		Link:      "https://app.example.com/auth/reset?token=abc",
		ExpiresIn: "1 hour",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(subject)
	fmt.Println(strings.Split(text, "\n")[4])
	fmt.Println(strings.Contains(html, `href="https://app.example.com/auth/reset?token=abc"`))
	// Output:
	// Reset your Acme password
	// https://app.example.com/auth/reset?token=abc
	// true
}

// An application adds its own page, with the same layout, and replaces an
// embedded one through Config.Overrides.
func ExampleConfig_overrides() {
	u, err := ui.New(ui.Config{Overrides: fstest.MapFS{
		"pages/home.html": {Data: []byte(`{{define "title"}}Home{{end}}
{{define "content"}}<h1>Welcome{{with .User}}, {{.Email}}{{end}}</h1>{{end}}`)},
		"emails/magic_link.txt": {Data: []byte("Subject: Your link\n\nSign in: {{.Link}}\n")},
	}})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "home", &ui.Page{})
	fmt.Println(strings.Contains(rec.Body.String(), "<h1>Welcome</h1>"))
	subject, text, _, _ := u.RenderEmail("magic_link", &ui.Email{Link: "https://app.example.com/m"})
	fmt.Printf("%s / %s", subject, text)
	// Output:
	// true
	// Your link / Sign in: https://app.example.com/m
}

// The stylesheet and script are served under Config.AssetsPath with
// content-hashed names, cached for a year.
func ExampleUI_Assets() {
	u, err := ui.New(ui.Config{AssetsPath: "/static/auth"})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/auth/", u.Assets())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.AssetURL("sigra.css"), nil))
	fmt.Println(strings.HasPrefix(u.AssetURL("sigra.css"), "/static/auth/sigra."))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Header().Get("Cache-Control"))
	// Output:
	// true
	// 200 text/css; charset=utf-8
	// public, max-age=31536000, immutable
}

// Brand colours are validated: only "#rgb" and "#rrggbb" are accepted.
func ExampleNew_brand() {
	_, err := ui.New(ui.Config{Brand: ui.Brand{AccentColor: "red;}body{"}})
	fmt.Println(err)
	u, _ := ui.New(ui.Config{Brand: ui.Brand{ProductName: "Acme", AccentColor: "#0AF"}})
	fmt.Println(u.Brand().AccentColor, u.Brand().SenderName)
	// Output:
	// sigra/ui: invalid brand: AccentColor "red;}body{": want "#rgb" or "#rrggbb"
	// #00aaff Acme
}
