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

	"github.com/sigra-go/sigra"
)

func TestOverrides(t *testing.T) {
	t.Parallel()
	overrides := files(map[string]string{
		// Replaces a pack's page.
		"pages/login.html": `{{define "title"}}Welcome{{end}}
{{define "content"}}<h1>Custom sign-in</h1>
<form method="post" action="{{route "sign_in"}}">{{template "hidden" .}}
{{template "input" (field . "email" "label" "Work email" "type" "email" "autocomplete" "username")}}
<button type="submit">Go</button></form>{{end}}`,
		// Replaces a core page.
		"pages/error.html": `{{define "content"}}<h1>Oh no: {{.Data.Status}}</h1>{{end}}`,
		// Replaces a section.
		"sections/plan.html": `<section class="panel"><h2>Your plan</h2><p>Custom {{.Data.Plan}}</p></section>`,
		// Replaces the text part of an email, keeping the HTML part.
		"emails/welcome.txt": "Subject: Custom welcome for {{.Data.Name}}\n\nGo to {{.Link}}\n",
		// Replaces a layout file.
		"layout/email.txt": `{{define "details"}}{{end}}{{define "footer"}}-- custom footer{{end}}`,
		// Replaces the stylesheet and adds an image.
		"assets/sigra.css": "body{color:red}",
		"assets/logo.png":  "\x89PNG\r\n\x1a\nfake",
		// Not ours: ignored.
		"README.md":        "# app",
		"static/other.css": "x",
		"pages.html":       "x",
	})
	u := newDemoUI(t, Config{Overrides: overrides})

	_, doc := render(t, u, "/", "login", &Page{CSRFToken: "tok"})
	checkDocument(t, doc, DefaultCSRFField, "tok")
	if h := text(byTag(doc, "h1")[0]); h != "Custom sign-in" {
		t.Errorf("got login h1 %q, want the override's", h)
	}
	wantText("Work email")(t, doc, "")
	wantFormAction(t, doc, "/auth/login")

	_, doc = render(t, u, "/", "error", &Page{Data: &ErrorData{Status: 418}})
	if h := text(byTag(doc, "h1")[0]); h != "Oh no: 418" {
		t.Errorf("got error h1 %q, want the override's", h)
	}
	if len(byTag(doc, "header")) != 1 || len(byTag(doc, "footer")) != 1 {
		t.Errorf("the overridden page lost the layout")
	}

	html, err := u.RenderSection("plan", &Page{}, &planSection{Plan: "team"})
	if err != nil || !strings.Contains(string(html), "Custom team") {
		t.Errorf("RenderSection(plan) = %q, %v; want the override", html, err)
	}

	subject, txt, htmlBody, err := u.RenderEmail("welcome", &Email{To: "user@example.com", Link: "https://app.example.com/w", Data: &welcomeMail{Name: "Ada"}})
	if err != nil {
		t.Fatal(err)
	}
	if subject != "Custom welcome for Ada" || txt != "Go to https://app.example.com/w\n" {
		t.Errorf("welcome email: got %q / %q, want the override", subject, txt)
	}
	if !strings.Contains(htmlBody, "Welcome, Ada") {
		t.Errorf("got HTML part %q, want the pack's", htmlBody)
	}
	if _, txt, _, err := u.RenderEmail("notice", &Email{To: "user@example.com"}); err != nil || !strings.Contains(txt, "-- custom footer") {
		t.Errorf("notice email: got %q, %v; want the overridden footer", txt, err)
	}

	// The replaced stylesheet is served, with the brand colours appended.
	srv := httptest.NewServer(u.Assets())
	defer srv.Close()
	body := get(t, srv.URL+"/"+lastElem(u.AssetURL("sigra.css")))
	if !strings.HasPrefix(body, "body{color:red}") || !strings.Contains(body, "--accent:#4f46e5") {
		t.Errorf("got stylesheet %q, want the override and the brand colours", body[:min(len(body), 80)])
	}
	if u.AssetURL("logo.png") == "" || get(t, srv.URL+"/"+lastElem(u.AssetURL("logo.png"))) != "\x89PNG\r\n\x1a\nfake" {
		t.Errorf("added asset not served")
	}
	if u.AssetURL("other.css") != "" {
		t.Errorf("a file outside assets/ was taken")
	}
}

// lastElem drops the mount prefix of an asset URL.
func lastElem(u string) string { return u[strings.LastIndex(u, "/")+1:] }

func get(t *testing.T, url string) string {
	t.Helper()
	// A transport of its own: closing any test's server closes the idle
	// connections of http.DefaultTransport, which breaks a parallel
	// test's request about to reuse one.
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer c.CloseIdleConnections()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got %s, want 200", url, res.Status)
	}
	return string(b)
}

// TestOverrideTitle: an override that defines its own "title" keeps it
// whatever the handler's Page.Title says; other pages take Page.Title.
func TestOverrideTitle(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, override, want string
	}{
		{"define", `{{define "title"}}Own title{{end}}`, "Own title · Sigra"},
		{"trimmed", `{{- define "title" -}} Own title {{- end}}`, "Own title · Sigra"},
		{"spaced", `{{ define "title" }}Own title{{ end }}`, "Own title · Sigra"},
		{"block", `{{block "title" .}}Own title{{end}}`, "Own title · Sigra"},
		{"comment only", `{{/* {{define "title"}} */}}`, "From the handler · Sigra"},
		{"no title", ``, "From the handler · Sigra"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newDemoUI(t, Config{Overrides: files(map[string]string{
				"pages/welcome.html": tc.override + `{{define "content"}}<h1>Hi</h1>{{end}}`,
			})})
			_, doc := render(t, u, "/", "welcome", &Page{Title: "From the handler"})
			if got := text(byTag(doc, "title")[0]); got != tc.want {
				t.Errorf("got <title> %q, want %q", got, tc.want)
			}
			// A page that is not overridden still takes Page.Title.
			_, doc = render(t, u, "/", "login", &Page{Title: "From the handler"})
			if got, want := text(byTag(doc, "title")[0]), "From the handler · Sigra"; got != want {
				t.Errorf("built-in page: got <title> %q, want %q", got, want)
			}
		})
	}
}

// TestOverrideUnknownName: an override must replace a known file; a typo
// is refused with the names that exist in its folder.
func TestOverrideUnknownName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		want string // the known names listed
	}{
		{"pages/logn.html", "known pages files: billing.html, error.html, login.html, settings.html, welcome.html"},
		{"sections/profle.html", "known sections files: notes.html, plan.html, profile.html"},
		{"emails/welcom.txt", "known emails files: notice.html, notice.txt, welcome.html, welcome.txt"},
		{"layout/bse.html", "known layout files: base.html, email.html, email.txt, icons.html, partials.html"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := New(newSite(t, "", nil), Config{Packs: []Pack{testPack()}, Overrides: files(map[string]string{
				tc.file: `{{define "content"}}<h1>x</h1>{{end}}`,
			})})
			if !errors.Is(err, sigra.ErrConfig) {
				t.Fatalf("got %v, want sigra.ErrConfig", err)
			}
			if msg := err.Error(); !strings.Contains(msg, `"`+tc.file+`" replaces no built-in file`) || !strings.Contains(msg, tc.want) {
				t.Errorf("got %q, want it to name %s and list %q", msg, tc.file, tc.want)
			}
		})
	}
}

func TestBrokenOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"syntax error", map[string]string{"pages/login.html": `{{define "content"}}<h1>{{.Title}</h1>{{end}}`}},
		{"unknown field", map[string]string{"pages/login.html": `{{define "content"}}<h1>{{.Data.NoSuchField}}</h1>{{end}}`}},
		{"unknown function", map[string]string{"pages/welcome.html": `{{define "content"}}<h1>{{nosuchfunc}}</h1>{{end}}`}},
		{"unknown asset", map[string]string{"pages/login.html": `{{define "content"}}<h1><img src="{{asset "nope.png"}}" alt=""></h1>{{end}}`}},
		{"unknown route", map[string]string{"pages/login.html": `{{define "content"}}<h1><a href="{{route "nope"}}">x</a></h1>{{end}}`}},
		{"bad field option", map[string]string{"pages/login.html": `{{define "content"}}<h1>x</h1>{{template "input" (field . "email" "colour" "red")}}{{end}}`}},
		{"no content", map[string]string{"pages/welcome.html": `{{define "title"}}Home{{end}}`}},
		// A call of a template no file defines, in a branch the trial
		// rendering does not take: the escaper, which walks every branch,
		// reports it.
		{"unknown template", map[string]string{"pages/welcome.html": `{{define "content"}}{{if .Error}}{{template "nope" .}}{{end}}{{end}}`}},
		{"section unknown template", map[string]string{"sections/plan.html": `<p>{{if .Error}}{{template "nope" .}}{{end}}</p>`}},
		{"unsafe context", map[string]string{"pages/welcome.html": `{{define "content"}}<h1>x</h1><script>var x = "{{.Title}}</script>{{end}}`}},
		{"layout syntax", map[string]string{"layout/base.html": `{{define "base"}}{{if}}{{end}}`}},
		{"layout without base", map[string]string{"layout/base.html": `{{define "other"}}{{end}}`}},
		{"section unknown field", map[string]string{"sections/plan.html": `<p>{{.Data.Nope}}</p>`}},
		{"email without subject", map[string]string{"emails/welcome.txt": "Hello\n"}},
		{"email with empty subject", map[string]string{"emails/welcome.txt": "Subject: \n\nHello\n"}},
		{"email html syntax", map[string]string{"emails/welcome.html": `{{define "content"}}{{.Link{{end}}`}},
		{"email html without content", map[string]string{"emails/welcome.html": `<p>hi</p>`}},
		{"email unknown field", map[string]string{"emails/welcome.txt": "Subject: {{.Nope}}\n"}},
		{"page with wrong extension", map[string]string{"pages/login.txt": "x"}},
		{"asset of unknown type", map[string]string{"assets/app.exe": "x"}},
		{"nested page", map[string]string{"pages/admin/users.html": `{{define "content"}}<h1>x</h1>{{end}}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(newSite(t, "", nil), Config{Packs: []Pack{testPack()}, Overrides: files(tc.files)})
			if !errors.Is(err, ErrTemplate) || !errors.Is(err, sigra.ErrConfig) {
				t.Errorf("got %v, want an error wrapping ErrTemplate and sigra.ErrConfig", err)
			}
		})
	}
}

func TestOverridesUnreadable(t *testing.T) {
	_, err := New(newSite(t, "", nil), Config{Overrides: errFS{}})
	if !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("got %v, want sigra.ErrConfig with the cause", err)
	}
}

// errFS fails every operation.
type errFS struct{}

func (errFS) Open(string) (fs.File, error) { return nil, errors.New("disk on fire") }

// TestTemplates checks that Templates is a valid file system holding the
// built-in files of the UI and the packs, before any override.
func TestTemplates(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{Overrides: files(map[string]string{
		"pages/login.html": `{{define "content"}}<h1>Overridden</h1>{{end}}`,
		"assets/extra.css": "p{}",
	})})
	tfs := u.Templates()
	want := []string{
		"assets/sigra.css", "assets/theme.js",
		"layout/base.html", "layout/email.html", "layout/email.txt", "layout/icons.html", "layout/partials.html",
		"pages/error.html", "pages/settings.html",
	}
	for name := range testFiles {
		want = append(want, name)
	}
	slices.Sort(want)
	if err := fstest.TestFS(tfs, want...); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := fs.WalkDir(tfs, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got = append(got, p)
		}
		return err
	})
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Templates() holds %q (%v), want %q", got, err, want)
	}
	for name, body := range testFiles {
		if b, err := fs.ReadFile(tfs, name); err != nil || string(b) != body {
			t.Errorf("%s: got %q, %v; want the pack's file", name, b, err)
		}
	}
	core, err := embedded.ReadFile("templates/layout/base.html")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(tfs, "layout/base.html"); err != nil || string(b) != string(core) {
		t.Errorf("layout/base.html: got %d bytes, %v; want the embedded file", len(b), err)
	}
	// Copying a file from Templates into Overrides is how an override
	// starts: the copy is accepted unchanged.
	copyOf := fstest.MapFS{}
	for _, name := range []string{"pages/login.html", "layout/base.html", "emails/welcome.txt", "sections/plan.html"} {
		b, err := fs.ReadFile(tfs, name)
		if err != nil {
			t.Fatal(err)
		}
		copyOf[name] = &fstest.MapFile{Data: b}
	}
	newDemoUI(t, Config{Overrides: copyOf})
	if _, err := tfs.Open("../etc/passwd"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Open(../etc/passwd): got %v, want fs.ErrInvalid", err)
	}
	if _, err := tfs.Open("pages/nope.html"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(pages/nope.html): got %v, want fs.ErrNotExist", err)
	}
}
