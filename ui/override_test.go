package ui

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for k, v := range files {
		m[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return m
}

func TestOverrides(t *testing.T) {
	overrides := mapFS(map[string]string{
		// Replaces the sign-in page.
		"pages/login.html": `{{define "title"}}Welcome{{end}}
{{define "content"}}<h1>Custom sign-in</h1>
<form method="post" action="{{.Links.Login}}">{{template "hidden" .}}
{{template "input" (field . "email" "label" "Work email" "type" "email" "autocomplete" "username")}}
<button type="submit">Go</button></form>{{end}}`,
		// Adds a page with the same layout.
		"pages/home.html": `{{define "title"}}Home{{end}}{{define "width"}}wide{{end}}
{{define "content"}}<h1>Hello{{with .User}}, {{.Email}}{{end}}</h1><p>{{.Data}}</p>{{end}}`,
		// Replaces the text part of the reset email, keeping the HTML part.
		"emails/reset.txt": "Subject: Custom reset for {{.Brand.ProductName}}\n\nGo to {{.Link}}\n",
		// Adds an email.
		"emails/welcome.txt":  "Subject: Welcome\n\nHello {{.To}}\n",
		"emails/welcome.html": `{{define "content"}}<p>Hello {{.To}}</p>{{end}}`,
		// Replaces the stylesheet and adds an image.
		"assets/sigra.css": "body{color:red}",
		"assets/logo.png":  "\x89PNG\r\n\x1a\nfake",
		// Not ours: ignored.
		"README.md":        "# app",
		"static/other.css": "x",
	})
	u := newTestUI(t, Config{Overrides: overrides})

	if !slices.Contains(u.Pages(), "home") || !slices.Contains(u.Pages(), "login") {
		t.Errorf("Pages() = %q, want home and login", u.Pages())
	}
	if !slices.Contains(u.Emails(), "welcome") {
		t.Errorf("Emails() = %q, want welcome", u.Emails())
	}

	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "login", &Page{Links: allLinks(), CSRFToken: "tok"})
	doc := parseHTML(t, rec.Body.String())
	checkDocument(t, doc, DefaultCSRFField, "tok")
	if h := text(byTag(doc, "h1")[0]); h != "Custom sign-in" {
		t.Errorf("login h1 %q, want the override", h)
	}
	if !strings.Contains(text(doc), "Work email") {
		t.Errorf("override's field missing")
	}

	rec = httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "home", &Page{User: testUser, Data: "Your dashboard", Links: allLinks()})
	doc = parseHTML(t, rec.Body.String())
	checkDocument(t, doc, DefaultCSRFField, "")
	if h := text(byTag(doc, "h1")[0]); h != "Hello, user@example.com" {
		t.Errorf("home h1 %q", h)
	}
	if m := byTag(doc, "main"); len(m) != 1 || !strings.Contains(attrOr(m[0], "class", ""), "main-wide") {
		t.Errorf("added page does not get the layout with its width")
	}
	if len(byTag(doc, "header")) != 1 || len(byTag(doc, "footer")) != 1 {
		t.Errorf("added page lacks the header or footer")
	}

	subject, txt, htmlBody, err := u.RenderEmail("reset", &Email{To: "user@example.com", Link: "https://app.example.com/r"})
	if err != nil {
		t.Fatal(err)
	}
	if subject != "Custom reset for Sigra" || txt != "Go to https://app.example.com/r\n" {
		t.Errorf("reset email: got %q / %q, want the override", subject, txt)
	}
	if !strings.Contains(htmlBody, "Choose a new password") {
		t.Errorf("the embedded HTML part should remain")
	}
	if _, _, htmlBody, err := u.RenderEmail("welcome", &Email{To: "user@example.com"}); err != nil || !strings.Contains(htmlBody, "Hello user@example.com") {
		t.Errorf("added email: %v %q", err, htmlBody)
	}

	// The replaced stylesheet is served, with the brand colours appended.
	srv := httptest.NewServer(u.Assets())
	defer srv.Close()
	body := get(t, srv.URL+"/"+path2(u.AssetURL("sigra.css")))
	if !strings.HasPrefix(body, "body{color:red}") || !strings.Contains(body, "--accent:#4f46e5") {
		t.Errorf("stylesheet: %q", body[:min(len(body), 80)])
	}
	if u.AssetURL("logo.png") == "" || get(t, srv.URL+"/"+path2(u.AssetURL("logo.png"))) != "\x89PNG\r\n\x1a\nfake" {
		t.Errorf("added asset not served")
	}
	if u.AssetURL("other.css") != "" {
		t.Errorf("a file outside assets/ was taken")
	}
}

// path2 drops the mount prefix of an asset URL.
func path2(u string) string { return u[strings.LastIndex(u, "/")+1:] }

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, res.Status)
	}
	return string(b)
}

func TestBrokenOverrides(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"syntax error", map[string]string{"pages/login.html": `{{define "content"}}<h1>{{.Title}</h1>{{end}}`}},
		{"unknown field", map[string]string{"pages/login.html": `{{define "content"}}<h1>{{.Data.NoSuchField}}</h1>{{end}}`}},
		{"unknown function", map[string]string{"pages/home.html": `{{define "content"}}<h1>{{nosuchfunc}}</h1>{{end}}`}},
		{"unknown asset", map[string]string{"pages/login.html": `{{define "content"}}<h1><img src="{{asset "nope.png"}}" alt=""></h1>{{end}}`}},
		{"bad field option", map[string]string{"pages/login.html": `{{define "content"}}<h1>x</h1>{{template "input" (field . "email" "colour" "red")}}{{end}}`}},
		{"no content", map[string]string{"pages/home.html": `{{define "title"}}Home{{end}}`}},
		{"unsafe context", map[string]string{"pages/home.html": `{{define "content"}}<h1>x</h1><script>var x = "{{.Title}}</script>{{end}}`}},
		{"layout syntax", map[string]string{"layout/base.html": `{{define "base"}}{{if}}{{end}}`}},
		{"email without subject", map[string]string{"emails/reset.txt": "Hello\n"}},
		{"email with empty subject", map[string]string{"emails/reset.txt": "Subject: \n\nHello\n"}},
		{"email html syntax", map[string]string{"emails/reset.html": `{{define "content"}}{{.Link{{end}}`}},
		{"email html without content", map[string]string{"emails/reset.html": `<p>hi</p>`}},
		{"email without html part", map[string]string{"emails/welcome.txt": "Subject: Hi\n\nHi\n"}},
		{"email unknown field", map[string]string{"emails/reset.txt": "Subject: {{.Nope}}\n"}},
		{"page with wrong extension", map[string]string{"pages/login.txt": "x"}},
		{"asset of unknown type", map[string]string{"assets/app.exe": "x"}},
		{"nested page", map[string]string{"pages/admin/users.html": `{{define "content"}}<h1>x</h1>{{end}}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Overrides: mapFS(tc.files)})
			if !errors.Is(err, ErrTemplate) {
				t.Errorf("got %v, want an error wrapping ErrTemplate", err)
			}
			t.Log(err)
		})
	}
}

func TestOverridesUnreadable(t *testing.T) {
	_, err := New(Config{Overrides: errFS{}})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("got %v, want ErrInvalidConfig", err)
	}
}

// errFS fails every operation.
type errFS struct{}

func (errFS) Open(string) (fs.File, error) { return nil, errors.New("disk on fire") }
