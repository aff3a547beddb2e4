package ui

import (
	"bytes"
	"errors"
	htmltemplate "html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/net/html"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/site"
)

// newSite returns a site on https://app.example.com with the given prefix
// ("" for the default) whose log records go to log (discarded when nil).
func newSite(t testing.TB, prefix string, log *slog.Logger) *site.Site {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := site.New(site.Config{BaseURL: "https://app.example.com", Prefix: prefix, Logger: log})
	if err != nil {
		t.Fatalf("site.New: %v", err)
	}
	return s
}

// newTestUI builds a UI on the default test site.
func newTestUI(t testing.TB, cfg Config) *UI {
	t.Helper()
	return newTestUIOn(t, newSite(t, "", nil), cfg)
}

func newTestUIOn(t testing.TB, s *site.Site, cfg Config) *UI {
	t.Helper()
	u, err := New(s, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return u
}

// The data types of the test pack's pages, sections and emails.
type (
	loginData   struct{ AllowRegister bool }
	billingData struct {
		Plan  string
		Seats int
	}
	profileSection struct{ DisplayName string }
	planSection    struct{ Plan string }
	notesSection   struct{ Count int }
	welcomeMail    struct{ Name, Plan string }
)

// testFiles are the templates of the test pack, as an application would
// write its own pack.
var testFiles = map[string]string{
	"pages/login.html": `{{define "title"}}Sign in{{end}}
{{define "content"}}
<h1>Sign in to {{brand.ProductName}}</h1>
<form class="stack" method="post" action="{{route "sign_in"}}">
  {{template "hidden" .}}
  {{template "input" (field . "email" "label" "Email address" "type" "email" "autocomplete" "username" "required" true)}}
  {{template "input" (field . "password" "label" "Password" "type" "password" "autocomplete" "current-password" "required" true)}}
  {{template "checkbox" (field . "remember" "label" "Remember me" "type" "checkbox")}}
  <button class="btn btn-primary" type="submit">Sign in</button>
</form>
{{- if and .Data.AllowRegister (hasRoute "register")}}
<p><a href="{{route "register"}}">Create an account</a></p>
{{- end}}
{{end}}`,
	"pages/billing.html": `{{define "title"}}Billing{{end}}
{{define "width"}}wide{{end}}
{{define "content"}}
<div class="page-head"><h1>Billing</h1></div>
<div class="settings">
  {{template "settings_nav" (args "page" . "current" "billing")}}
  <div class="settings-body"><p>{{shout .Data.Plan}} plan, {{plural .Data.Seats "seat" "seats"}}</p></div>
</div>
{{end}}`,
	"pages/welcome.html": `{{define "title"}}Welcome{{end}}
{{define "content"}}<h1>Welcome{{with .User}}, {{.Email}}{{end}}</h1>
<p><a href="{{home}}">Continue</a></p>{{end}}`,
	"sections/profile.html": `<section class="panel" aria-labelledby="profile-heading">
  <div class="panel-body"><h2 id="profile-heading">Profile</h2><p class="muted">Shown as {{.Data.DisplayName}}.</p></div>
  <form method="post" action="{{route "profile"}}">
    {{template "hidden" .}}
    <div class="panel-body">{{template "input" (field . "display_name" "label" "Display name" "autocomplete" "nickname")}}</div>
    <div class="panel-foot"><button class="btn btn-primary btn-sm" type="submit">Save</button></div>
  </form>
</section>`,
	"sections/plan.html": `<section class="panel" aria-labelledby="plan-heading"><div class="panel-body"><h2 id="plan-heading">Plan</h2><p>{{.Data.Plan}} plan</p></div></section>`,
	"sections/notes.html": `<section class="panel" aria-labelledby="notes-heading">
  <div class="panel-body"><h2 id="notes-heading">Notes</h2><p>{{plural .Data.Count "note" "notes"}}</p></div>
  <form method="post" action="{{route "profile"}}">
    {{template "hidden" .}}
    <div class="panel-body">{{template "input" (field . "note" "label" "New note")}}</div>
    <div class="panel-foot"><button class="btn btn-secondary btn-sm" type="submit">Add</button></div>
  </form>
</section>`,
	"emails/welcome.txt": `Subject: Welcome to {{.Brand.ProductName}}, {{.Data.Name}}
Hi {{.Data.Name}},

Your {{.Data.Plan}} plan is ready. Confirm your address with the code {{.Code}}, or open this link:
{{.Link}}

The link expires in {{.ExpiresIn}}.

{{template "details" .}}
{{- template "footer" .}}`,
	"emails/welcome.html": `{{define "content"}}
<h1 style="{{style "h1"}}">Welcome, {{.Data.Name}}</h1>
<p style="{{style "p"}}">Your {{.Data.Plan}} plan is ready. Your code: <span style="{{style "code"}}">{{.Code}}</span></p>
{{template "details" .}}
{{- with .Link}}
{{template "button" (args "url" . "label" "Confirm your address")}}
{{- end}}
<p style="{{style "muted"}}">The link expires in {{.ExpiresIn}}.</p>
{{end}}`,
	"emails/notice.txt":  "Subject: Security notice for {{.To}}\n\nSomething happened to your account.\n{{template \"details\" .}}{{template \"footer\" .}}",
	"emails/notice.html": `{{define "content"}}<h1 style="{{style "h1"}}">Security notice</h1>{{template "details" .}}{{end}}`,
}

// files returns a MapFS of the given files.
func files(m map[string]string) fstest.MapFS {
	out := fstest.MapFS{}
	for k, v := range m {
		out[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return out
}

// testPack is an application's own pack: a sign-in page, a billing page
// in the settings navigation, a page without data, three settings
// sections and two emails, with the routes, notices, navigation entries
// and template function they use.
func testPack() Pack {
	return Pack{
		Name:  "demo",
		Files: files(testFiles),
		Pages: map[string]any{"login": &loginData{}, "billing": &billingData{}, "welcome": nil},
		Sections: map[string]any{
			"profile": &profileSection{}, "plan": &planSection{}, "notes": &notesSection{},
		},
		Emails: map[string]any{"welcome": &welcomeMail{}, "notice": nil},
		Routes: map[string]string{
			RouteSignIn: "/login", RouteSignOut: "/logout", RouteRegister: "/register",
			RouteSettings: "/settings", "profile": "/settings/profile", "billing": "/billing",
		},
		Notices: map[string]string{"saved": "Your profile was saved."},
		Nav: []NavItem{
			{Route: "billing", Label: "Billing", Icon: "key", Order: 20},
			{Route: RouteSettings, Label: "Account", Icon: "user", Order: 10},
		},
		Funcs: htmltemplate.FuncMap{"shout": strings.ToUpper},
	}
}

// newDemoUI builds a UI with the test pack on the default site.
func newDemoUI(t testing.TB, cfg Config) *UI {
	t.Helper()
	cfg.Packs = append([]Pack{testPack()}, cfg.Packs...)
	return newTestUI(t, cfg)
}

var testUser = &sigra.User{ID: "01900000-0000-7000-8000-000000000001", Email: "user@example.com",
	EmailConfirmedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}

// render renders page name for a GET of target and parses the document.
func render(t *testing.T, u *UI, target, name string, p *Page) (*httptest.ResponseRecorder, *html.Node) {
	t.Helper()
	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodGet, target, nil), http.StatusOK, name, p)
	return rec, parseHTML(t, rec.Body.String())
}

// pageCase is one representative rendering of a page.
type pageCase struct {
	label string // distinguishes several cases of one page
	page  string
	data  any
	user  bool
	// fields maps a FieldErrors key to the id of the input it must mark.
	fields map[string]string
	// autocomplete maps an input name to its required autocomplete value.
	autocomplete map[string]string
	// check makes page-specific assertions.
	check func(t *testing.T, doc *html.Node, body string)
}

func (c pageCase) String() string {
	if c.label != "" {
		return c.page + "/" + c.label
	}
	return c.page
}

func pageCases() []pageCase {
	return []pageCase{
		{page: "login", data: &loginData{AllowRegister: true},
			fields:       map[string]string{"email": "email", "password": "password"},
			autocomplete: map[string]string{"email": "username", "password": "current-password"},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantFormAction(t, doc, "/auth/login")
				wantLink(t, doc, "/auth/register")
				if rm := inputsByName(doc)["remember"]; len(rm) != 1 || attrOr(rm[0], "type", "") != "checkbox" {
					t.Errorf("got %d remember checkboxes, want 1", len(rm))
				}
				wantText("Sign in to Sigra")(t, doc, body)
			}},
		{label: "closed", page: "login", data: loginData{},
			check: func(t *testing.T, doc *html.Node, body string) { noLink(t, doc, "/auth/register") }},
		{page: "billing", user: true, data: &billingData{Plan: "team", Seats: 3},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantText("TEAM plan, 3 seats")(t, doc, body)
				wantLink(t, doc, "/auth/billing")
				wantLink(t, doc, "/auth/settings")
			}},
		{page: "welcome", user: true, check: wantText("Welcome, user@example.com")},
		{label: "anonymous", page: "welcome", check: wantText("Welcome Continue")},
		{page: "error", data: &ErrorData{Status: 404}, check: wantText("Page not found", "404")},
		{label: "message", page: "error", data: &ErrorData{Status: 429, Message: "Slow down, please."},
			check: wantText("Slow down, please.", "Too many requests")},
		{label: "401", page: "error", data: &ErrorData{Status: 401},
			check: func(t *testing.T, doc *html.Node, body string) { wantLink(t, doc, "/auth/login") }},
		{label: "401-signed-in", page: "error", user: true, data: &ErrorData{Status: 401},
			check: func(t *testing.T, doc *html.Node, body string) { noLink(t, doc, "/auth/login") }},
		{label: "zero", page: "error", check: wantText("Something went wrong")},
		{page: "settings", user: true, data: &SettingsData{Sections: []htmltemplate.HTML{`<p>A section</p>`}},
			check: func(t *testing.T, doc *html.Node, body string) {
				wantText("Account settings", "A section")(t, doc, body)
				wantLink(t, doc, "/auth/billing")
			}},
	}
}

func wantText(subs ...string) func(t *testing.T, doc *html.Node, body string) {
	return func(t *testing.T, doc *html.Node, body string) {
		t.Helper()
		all := text(doc)
		for _, s := range subs {
			if !strings.Contains(all, s) {
				t.Errorf("page text lacks %q: got %q", s, all)
			}
		}
	}
}

func hrefs(doc *html.Node) []string {
	var out []string
	for _, a := range byTag(doc, "a") {
		out = append(out, attrOr(a, "href", ""))
	}
	return out
}

func wantLink(t *testing.T, doc *html.Node, href string) {
	t.Helper()
	if !slices.Contains(hrefs(doc), href) {
		t.Errorf("got links %q, want one to %q", hrefs(doc), href)
	}
}

func noLink(t *testing.T, doc *html.Node, href string) {
	t.Helper()
	if slices.Contains(hrefs(doc), href) {
		t.Errorf("got a link to %q, want none", href)
	}
}

func countForms(doc *html.Node, action string) int {
	n := 0
	for _, f := range byTag(doc, "form") {
		if attrOr(f, "action", "") == action {
			n++
		}
	}
	return n
}

func wantFormAction(t *testing.T, doc *html.Node, action string) {
	t.Helper()
	if countForms(doc, action) == 0 {
		t.Errorf("got no form posting to %q, want one", action)
	}
}

func TestEveryPageHasACase(t *testing.T) {
	u := newDemoUI(t, Config{})
	covered := map[string]bool{}
	for _, c := range pageCases() {
		covered[c.page] = true
	}
	for _, name := range u.Pages() {
		if !covered[name] {
			t.Errorf("page %q has no test case", name)
		}
	}
	if got, want := u.Pages(), []string{"billing", "error", "login", "settings", "welcome"}; !slices.Equal(got, want) {
		t.Errorf("Pages() = %q, want %q", got, want)
	}
}

// TestPages renders every page in three variants and checks markup, CSP
// safety, accessibility and the behaviour specific to each page.
func TestPages(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	for _, c := range pageCases() {
		t.Run(c.String(), func(t *testing.T) {
			t.Parallel()
			variants := []struct {
				name string
				edit func(p *Page)
			}{
				{"plain", func(p *Page) {}},
				{"field-errors", func(p *Page) {
					p.FieldErrors = map[string]string{}
					for key := range c.fields {
						p.FieldErrors[key] = "Problem with " + key + "."
					}
				}},
				{"notices", func(p *Page) {
					p.Flash = "Saved your changes."
					p.Error = "Something needs attention."
					p.Banner = "Confirm your email address: we sent a link to user@example.com."
					p.ReturnTo = "/billing?tab=card"
					p.FieldErrors = map[string]string{}
					for key := range c.fields {
						p.FieldErrors[key] = "Problem with " + key + "."
					}
				}},
			}
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					p := &Page{CSRFToken: "csrf-" + v.name, Data: c.data, Values: map[string]string{}}
					if c.user {
						p.User = testUser
					}
					for _, name := range []string{"email", "password", "remember"} {
						p.Values[name] = "sticky-" + name
					}
					v.edit(p)
					checkPage(t, u, c, p)
				})
			}
		})
	}
}

func checkPage(t *testing.T, u *UI, c pageCase, p *Page) {
	t.Helper()
	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodGet, "/auth/x", nil), http.StatusUnprocessableEntity, c.page, p)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("got status %d, want %d; body:\n%s", rec.Code, http.StatusUnprocessableEntity, rec.Body)
	}
	for k, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	body := rec.Body.String()
	doc := parseHTML(t, body)
	checkDocument(t, doc, DefaultCSRFField, p.CSRFToken)
	ids := byID(doc)

	// Field errors are tied to their inputs.
	for key, id := range c.fields {
		in := ids[id]
		if in == nil {
			t.Errorf("field %q: no element with id %q", key, id)
			continue
		}
		msg, set := p.FieldErrors[key]
		inv, _ := attr(in, "aria-invalid")
		desc := strings.Fields(attrOr(in, "aria-describedby", ""))
		if !set {
			if inv != "" {
				t.Errorf("field %q: got aria-invalid=%q without an error, want none", key, inv)
			}
			continue
		}
		if inv != "true" {
			t.Errorf("field %q: got aria-invalid=%q, want true", key, inv)
		}
		if !slices.Contains(desc, id+"-error") {
			t.Errorf("field %q: got aria-describedby=%q, want it to hold %q", key, desc, id+"-error")
		}
		got := "<missing>"
		if e := ids[id+"-error"]; e != nil {
			got = text(e)
		}
		if got != msg {
			t.Errorf("field %q: got error text %q, want %q", key, got, msg)
		}
	}
	// Without fields in error, nothing is marked invalid.
	if len(p.FieldErrors) == 0 {
		for _, e := range elements(doc) {
			if _, ok := attr(e, "aria-invalid"); ok {
				t.Errorf("<%s name=%q> marked invalid without errors", e.Data, attrOr(e, "name", ""))
			}
		}
	}
	for name, want := range c.autocomplete {
		ins := inputsByName(doc)[name]
		if len(ins) == 0 {
			t.Errorf("got no input %q, want one", name)
		}
		for _, in := range ins {
			if got := attrOr(in, "autocomplete", ""); got != want {
				t.Errorf("input %q: got autocomplete=%q, want %q", name, got, want)
			}
		}
	}
	// Sticky values: email fields keep what was typed; secrets never come back.
	for name, ins := range inputsByName(doc) {
		for _, in := range ins {
			v, has := attr(in, "value")
			switch {
			case name == "email" && attrOr(in, "type", "") == "email":
				if v != p.Values["email"] {
					t.Errorf("email: got value %q, want the sticky %q", v, p.Values["email"])
				}
			case attrOr(in, "type", "") == "checkbox" || attrOr(in, "type", "") == "radio":
			case has && v != "":
				t.Errorf("input %q echoes %q", name, v)
			}
		}
	}
	if strings.Contains(body, "sticky-password") {
		t.Errorf("the body holds the typed password")
	}
	header := byTag(doc, "header")
	if len(header) != 1 {
		t.Fatalf("got %d <header>, want 1", len(header))
	}
	if c.user {
		if !strings.Contains(text(header[0]), testUser.Email) {
			t.Errorf("header text %q lacks the user's address", text(header[0]))
		}
		if got := countForms(header[0], "/auth/logout"); got != 1 {
			t.Errorf("got %d sign-out forms in the header, want 1", got)
		}
		if !slices.Contains(hrefs(header[0]), "/auth/settings") {
			t.Errorf("header links %q, want the settings page", hrefs(header[0]))
		}
	} else if strings.Contains(text(header[0]), "Sign out") {
		t.Errorf("sign-out shown without a user")
	}
	if p.Flash != "" && !containsText(roles(doc, "status"), p.Flash) {
		t.Errorf("flash %q not in a role=status element", p.Flash)
	}
	if p.Error != "" && !containsText(roles(doc, "alert"), p.Error) {
		t.Errorf("error %q not in a role=alert element", p.Error)
	}
	if p.Error == "" && len(p.FieldErrors) > 0 {
		for _, msg := range p.FieldErrors {
			if !containsText(roles(doc, "alert"), msg) {
				t.Errorf("field error %q not announced in a role=alert summary", msg)
			}
		}
	}
	if p.Banner != "" && !containsText(roles(doc, "note"), p.Banner) {
		t.Errorf("banner %q not shown", p.Banner)
	}
	for _, f := range byTag(doc, "form") {
		if p.ReturnTo == "" || attrOr(f, "action", "") == "/auth/logout" {
			continue
		}
		if got := hiddenValues(f, "return_to"); !slices.Equal(got, []string{p.ReturnTo}) {
			t.Errorf("form %q: got return_to %q, want [%q]", attrOr(f, "action", ""), got, p.ReturnTo)
		}
	}
	for _, h := range hrefs(doc) {
		if h == "" {
			t.Errorf("link with an empty href")
		}
	}
	if c.check != nil {
		c.check(t, doc, body)
	}
}

// TestCorePagesWithoutPacks renders the UI's own pages with no pack: the
// layout leaves out the links to routes nobody declares.
func TestCorePagesWithoutPacks(t *testing.T) {
	t.Parallel()
	u := newTestUI(t, Config{})
	if got, want := u.Pages(), []string{"error", "settings"}; !slices.Equal(got, want) {
		t.Errorf("Pages() = %q, want %q", got, want)
	}
	if got := u.Sections(); len(got) != 0 {
		t.Errorf("Sections() = %q, want none", got)
	}
	if got := u.Emails(); len(got) != 0 {
		t.Errorf("Emails() = %q, want none", got)
	}
	for _, tc := range []struct {
		page  string
		data  any
		links []string // the skip link, the brand's home link, the page's own
	}{
		{"error", &ErrorData{Status: 401}, []string{"#main", "/", "/"}},
		{"error", nil, []string{"#main", "/", "/"}},
		{"settings", &SettingsData{}, []string{"#main", "/"}},
		{"settings", nil, []string{"#main", "/"}},
	} {
		for _, user := range []*sigra.User{nil, testUser} {
			rec, doc := render(t, u, "/", tc.page, &Page{User: user, Data: tc.data})
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: got status %d, want 200", tc.page, rec.Code)
			}
			checkDocument(t, doc, DefaultCSRFField, "")
			if got := hrefs(doc); !slices.Equal(got, tc.links) {
				t.Errorf("%s (user %v): got links %q, want %q", tc.page, user != nil, got, tc.links)
			}
			if n := len(byTag(doc, "form")); n != 0 {
				t.Errorf("%s: got %d forms, want none (no sign-out route)", tc.page, n)
			}
			if user != nil && !strings.Contains(text(byTag(doc, "header")[0]), user.Email) {
				t.Errorf("%s: the header does not show the user's address", tc.page)
			}
		}
	}
}

// TestPrefix checks that every link of the layout, the core pages and the
// packs follows the site's prefix.
func TestPrefix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prefix, want string // want: the path of "/login"
	}{
		{"/account", "/account"},
		{"account/", "/account"},
		{"/", ""},
		{"", "/auth"},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			u := newTestUIOn(t, newSite(t, tc.prefix, nil), Config{Packs: []Pack{testPack()}})
			p := tc.want
			if got, want := u.AssetsPath(), p+"/assets"; got != want {
				t.Errorf("AssetsPath() = %q, want %q", got, want)
			}
			if got, ok := u.Route(RouteSignIn); got != p+"/login" || !ok {
				t.Errorf("Route(sign_in) = %q, %v; want %q, true", got, ok, p+"/login")
			}
			_, doc := render(t, u, "/", "billing", &Page{User: testUser})
			var css, js, icon string
			for _, l := range byTag(doc, "link") {
				switch attrOr(l, "rel", "") {
				case "stylesheet":
					css = attrOr(l, "href", "")
				case "icon":
					icon = attrOr(l, "href", "")
				}
			}
			if s := byTag(doc, "script"); len(s) == 1 {
				js = attrOr(s[0], "src", "")
			}
			for name, got := range map[string]string{"sigra.css": css, "theme.js": js, "icon.svg": icon} {
				if want := u.AssetURL(name); got != want || !strings.HasPrefix(got, p+"/assets/") {
					t.Errorf("%s: got %q, want %q under %s/assets/", name, got, want, p)
				}
			}
			header := byTag(doc, "header")[0]
			if got := hrefs(header); !slices.Contains(got, p+"/settings") {
				t.Errorf("header links %q, want %s/settings", got, p)
			}
			if n := countForms(header, p+"/logout"); n != 1 {
				t.Errorf("got %d sign-out forms posting to %s/logout, want 1", n, p)
			}
			nav := navLinks(doc)
			if want := []string{p + "/settings", p + "/billing"}; !slices.Equal(nav, want) {
				t.Errorf("settings navigation %q, want %q", nav, want)
			}
			_, doc = render(t, u, "/", "error", &Page{Data: &ErrorData{Status: 401}})
			wantLink(t, doc, p+"/login")
			_, doc = render(t, u, "/", "login", &Page{Data: &loginData{AllowRegister: true}})
			wantFormAction(t, doc, p+"/login")
			wantLink(t, doc, p+"/register")

			// Mount serves the assets where the pages link them.
			mux := http.NewServeMux()
			u.Mount(mux)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, css, nil))
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/css; charset=utf-8" {
				t.Errorf("GET %s: got %d %q, want 200 text/css", css, rec.Code, rec.Header().Get("Content-Type"))
			}
		})
	}
}

// navLinks returns the hrefs of the settings navigation.
func navLinks(doc *html.Node) []string {
	var out []string
	for _, n := range byTag(doc, "nav") {
		if attrOr(n, "aria-label", "") == "Settings" {
			out = append(out, hrefs(n)...)
		}
	}
	return out
}

// TestRouteFuncs checks route, hasRoute and home in a pack's template.
func TestRouteFuncs(t *testing.T) {
	t.Parallel()
	page := `{{define "content"}}<h1>Links</h1><ul>
{{- if hasRoute "sign_in"}}<li><a href="{{route "sign_in"}}">in</a></li>{{end}}
{{- if hasRoute "nowhere"}}<li><a href="/nowhere">nowhere</a></li>{{end}}
<li><a href="{{home}}">home</a></li></ul>{{end}}`
	pack := Pack{Name: "links", Files: files(map[string]string{"pages/links.html": page}),
		Pages: map[string]any{"links": nil}, Routes: map[string]string{RouteSignIn: "/in"}}
	s, err := site.New(site.Config{BaseURL: "https://app.example.com", Prefix: "/id", Home: "/app/start?x=1"})
	if err != nil {
		t.Fatal(err)
	}
	u := newTestUIOn(t, s, Config{Packs: []Pack{pack}})
	_, doc := render(t, u, "/", "links", nil)
	if got, want := hrefs(doc), []string{"#main", "/app/start?x=1", "/id/in", "/app/start?x=1"}; !slices.Equal(got, want) {
		t.Errorf("got links %q, want %q", got, want)
	}
	if _, ok := u.Route("nowhere"); ok {
		t.Errorf("Route(nowhere) found a route no pack declares")
	}
}

// TestUnknownRoute: a template naming a route no pack declares fails New.
func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"pages/oops.html":    `{{define "content"}}<h1><a href="{{route "nope"}}">x</a></h1>{{end}}`,
		"sections/oops.html": `<a href="{{route "nope"}}">x</a>`,
	} {
		pack := Pack{Name: "oops", Files: files(map[string]string{name: body}),
			Pages: map[string]any{}, Sections: map[string]any{}}
		if strings.HasPrefix(name, "pages/") {
			pack.Pages["oops"] = nil
		} else {
			pack.Sections["oops"] = nil
		}
		_, err := New(newSite(t, "", nil), Config{Packs: []Pack{pack}})
		if !errors.Is(err, ErrTemplate) || !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), `no route "nope"`) {
			t.Errorf("%s: got %v, want ErrTemplate and sigra.ErrConfig naming the route", name, err)
		}
	}
}

func TestNewNilSite(t *testing.T) {
	if _, err := New(nil, Config{}); !errors.Is(err, sigra.ErrConfig) {
		t.Errorf("got %v, want sigra.ErrConfig", err)
	}
}

func TestRenderNilDataAndPage(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	for _, name := range u.Pages() {
		for _, p := range []*Page{nil, {User: testUser}} {
			rec, doc := render(t, u, "/", name, p)
			if rec.Code != http.StatusOK {
				t.Errorf("%s (page %v): got status %d, want 200", name, p != nil, rec.Code)
				continue
			}
			checkDocument(t, doc, DefaultCSRFField, "")
		}
	}
}

func TestRenderTitle(t *testing.T) {
	u := newDemoUI(t, Config{Brand: Brand{ProductName: "Acme"}})
	for _, tc := range []struct {
		page, title, want string
	}{
		{"login", "", "Sign in · Acme"},
		{"login", "Welcome back", "Welcome back · Acme"},
		{"error", "", "Something went wrong · Acme"},
		{"error", "Gone fishing", "Gone fishing · Acme"},
	} {
		_, doc := render(t, u, "/", tc.page, &Page{Title: tc.title})
		if got := text(byTag(doc, "title")[0]); got != tc.want {
			t.Errorf("%s with Title %q: got <title> %q, want %q", tc.page, tc.title, got, tc.want)
		}
	}
}

func TestRenderHead(t *testing.T) {
	u := newDemoUI(t, Config{})
	get := httptest.NewRecorder()
	u.Render(get, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "login", nil)
	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodHead, "/", nil), http.StatusOK, "login", nil)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: got status %d and %d bytes, want 200 and no body", rec.Code, rec.Body.Len())
	}
	if got, want := rec.Header().Get("Content-Length"), get.Header().Get("Content-Length"); got != want || got == "0" {
		t.Errorf("HEAD: got Content-Length %q, want the GET's %q", got, want)
	}
}

// logBuffer collects log records for assertions; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func TestRenderFailures(t *testing.T) {
	var logs logBuffer
	boom := Pack{Name: "boom", Files: files(map[string]string{
		// Fails at execution time only, with data of another type.
		"pages/boom.html": `{{define "title"}}Boom{{end}}{{define "content"}}<h1>PARTIAL-OUTPUT</h1>{{.Data.Missing}}{{end}}`,
	}), Pages: map[string]any{"boom": &struct{ Missing string }{}}}
	u := newTestUIOn(t, newSite(t, "", logs.logger()), Config{Packs: []Pack{testPack(), boom}})
	for _, tc := range []struct {
		name string
		page string
		data any
	}{
		{"unknown page", "no_such_page", nil},
		{"execution error", "boom", struct{ Other int }{}},
		{"wrong data type", "login", &SettingsData{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			rec, doc := render(t, u, "/", tc.page, &Page{Data: tc.data})
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("got status %d, want 500", rec.Code)
			}
			if strings.Contains(rec.Body.String(), "PARTIAL-OUTPUT") {
				t.Errorf("part of the failed page was sent")
			}
			if h1 := byTag(doc, "h1"); len(h1) != 1 || text(h1[0]) != "Something went wrong" {
				t.Errorf("got %q, want the error page", rec.Body.String())
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("got Cache-Control %q, want no-store", got)
			}
			if !strings.Contains(logs.String(), "page="+tc.page) || !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("got log %q, want an error naming the page", logs.String())
			}
		})
	}
}

func TestRenderFallbackWhenErrorPageFails(t *testing.T) {
	// An error page that fails on a real request but not on New's trial
	// rendering (which has a signed-in user).
	overrides := files(map[string]string{
		"pages/error.html": `{{define "content"}}<h1>Error</h1>{{if not .User}}{{.Data.Nope}}{{end}}{{end}}`,
	})
	u := newTestUI(t, Config{Overrides: overrides})
	rec := httptest.NewRecorder()
	u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "no_such_page", nil)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "internal server error") {
		t.Errorf("got %d %q, want a plain 500", rec.Code, rec.Body.String())
	}
}

func TestBrandAndConfigValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
		check   func(t *testing.T, b Brand)
	}{
		{name: "defaults", check: func(t *testing.T, b Brand) {
			if b.ProductName != "Sigra" || b.SenderName != "Sigra" || b.AccentColor != "#4f46e5" {
				t.Errorf("got %+v, want the Sigra defaults", b)
			}
		}},
		{name: "short hex", cfg: Config{Brand: Brand{AccentColor: "#0aF", ProductName: " Acme "}}, check: func(t *testing.T, b Brand) {
			if b.AccentColor != "#00aaff" || b.ProductName != "Acme" || b.SenderName != "Acme" {
				t.Errorf("got %+v, want #00aaff and Acme", b)
			}
		}},
		{name: "sender", cfg: Config{Brand: Brand{SenderName: "Acme Security"}}, check: func(t *testing.T, b Brand) {
			if b.SenderName != "Acme Security" {
				t.Errorf("got SenderName %q, want Acme Security", b.SenderName)
			}
		}},
		{name: "urls", cfg: Config{Brand: Brand{LogoURL: "https://cdn.example.com/logo.svg", SupportURL: "mailto:help@example.com"}}},
		{name: "local urls", cfg: Config{Brand: Brand{LogoURL: "/static/logo.png", SupportURL: "/help"}}},
		{name: "css injection", cfg: Config{Brand: Brand{AccentColor: "red;}body{"}}, wantErr: true},
		{name: "colour name", cfg: Config{Brand: Brand{AccentColor: "red"}}, wantErr: true},
		{name: "five digits", cfg: Config{Brand: Brand{AccentColor: "#12345"}}, wantErr: true},
		{name: "alpha", cfg: Config{Brand: Brand{AccentColor: "#11223344"}}, wantErr: true},
		{name: "not hex", cfg: Config{Brand: Brand{AccentColor: "#12345g"}}, wantErr: true},
		{name: "rgb()", cfg: Config{Brand: Brand{AccentColor: "rgb(1,2,3)"}}, wantErr: true},
		{name: "javascript logo", cfg: Config{Brand: Brand{LogoURL: "javascript:alert(1)"}}, wantErr: true},
		{name: "data logo", cfg: Config{Brand: Brand{LogoURL: "data:image/svg+xml,<svg/>"}}, wantErr: true},
		{name: "protocol-relative logo", cfg: Config{Brand: Brand{LogoURL: "//evil.example.com/x.png"}}, wantErr: true},
		{name: "backslash logo", cfg: Config{Brand: Brand{LogoURL: `/\evil.example.com/x.png`}}, wantErr: true},
		{name: "relative support", cfg: Config{Brand: Brand{SupportURL: "help"}}, wantErr: true},
		{name: "quote in url", cfg: Config{Brand: Brand{SupportURL: "https://example.com/\"x"}}, wantErr: true},
		{name: "newline in name", cfg: Config{Brand: Brand{ProductName: "Acme\r\nBcc: x@example.com"}}, wantErr: true},
		{name: "newline in sender", cfg: Config{Brand: Brand{SenderName: "Acme\nX"}}, wantErr: true},
		{name: "long name", cfg: Config{Brand: Brand{ProductName: strings.Repeat("x", 101)}}, wantErr: true},
		{name: "invalid UTF-8 name", cfg: Config{Brand: Brand{ProductName: "Acme\xff"}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := New(newSite(t, "", nil), tc.cfg)
			if tc.wantErr {
				if !errors.Is(err, sigra.ErrConfig) {
					t.Fatalf("got error %v, want sigra.ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if tc.check != nil {
				tc.check(t, u.Brand())
			}
		})
	}
}

func TestBrandShown(t *testing.T) {
	u := newDemoUI(t, Config{Brand: Brand{ProductName: "Acme", LogoURL: "/static/acme.svg", SupportURL: "https://help.example.com/"}})
	_, doc := render(t, u, "/", "login", nil)
	wantText("Sign in to Acme", "Help & support")(t, doc, "")
	wantLink(t, doc, "https://help.example.com/")
	if !slices.ContainsFunc(byTag(doc, "img"), func(n *html.Node) bool { return attrOr(n, "src", "") == "/static/acme.svg" }) {
		t.Errorf("got no <img> of the logo, want one")
	}
	if got := u.Site(); got == nil || got.Origin() != "https://app.example.com" {
		t.Errorf("Site() = %v, want the site given to New", got)
	}
}

func TestThemeScriptInHead(t *testing.T) {
	u := newDemoUI(t, Config{})
	_, doc := render(t, u, "/", "login", nil)
	// The script sits in <head> so the theme applies before the first paint.
	if s := byTag(doc, "script"); len(s) != 1 || ancestor(s[0], "head") == nil {
		t.Errorf("got %d scripts, want exactly one, in <head>", len(s))
	}
}
