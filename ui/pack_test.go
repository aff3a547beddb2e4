package ui

import (
	"errors"
	htmltemplate "html/template"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/sigra-go/sigra"
)

func TestPackDeclarations(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	for _, tc := range []struct {
		what      string
		got, want []string
	}{
		{"Pages", u.Pages(), []string{"billing", "error", "login", "settings", "welcome"}},
		{"Sections", u.Sections(), []string{"notes", "plan", "profile"}},
		{"Emails", u.Emails(), []string{"notice", "welcome"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s() = %q, want %q", tc.what, tc.got, tc.want)
		}
	}
	if !u.HasPack("demo") || u.HasPack("account") {
		t.Errorf("HasPack(demo), HasPack(account) = %v, %v; want true, false", u.HasPack("demo"), u.HasPack("account"))
	}
	for name, want := range map[string]string{
		RouteSignIn: "/auth/login", RouteSignOut: "/auth/logout", RouteSettings: "/auth/settings", "billing": "/auth/billing",
	} {
		if got, ok := u.Route(name); got != want || !ok {
			t.Errorf("Route(%q) = %q, %v; want %q, true", name, got, ok, want)
		}
	}
	if got, ok := u.Route(RouteSudo); got != "" || ok {
		t.Errorf("Route(sudo) = %q, %v; want \"\", false", got, ok)
	}
	if got, want := u.Notice("saved"), "Your profile was saved."; got != want {
		t.Errorf("Notice(saved) = %q, want %q", got, want)
	}
	if got := u.Notice("nope"); got != "" {
		t.Errorf("Notice(nope) = %q, want \"\"", got)
	}
}

// TestPacksTogether checks that two packs' pages, routes, funcs and nav
// entries work side by side, and that two packs may declare the same
// route to the same path.
func TestPacksTogether(t *testing.T) {
	t.Parallel()
	other := Pack{
		Name: "other",
		Files: files(map[string]string{
			"pages/other.html": `{{define "title"}}Other{{end}}{{define "content"}}<h1>{{whisper "Other"}}</h1><a href="{{route "billing"}}">billing</a>{{end}}`,
		}),
		Pages:  map[string]any{"other": nil},
		Routes: map[string]string{"other": "/other", RouteSettings: "/settings"},
		Nav:    []NavItem{{Route: "other", Label: "Other", Icon: "shield", Order: 15}},
		Funcs:  htmltemplate.FuncMap{"whisper": strings.ToLower},
	}
	u := newDemoUI(t, Config{Packs: []Pack{other}})
	_, doc := render(t, u, "/", "other", &Page{User: testUser})
	checkDocument(t, doc, DefaultCSRFField, "")
	wantText("other")(t, doc, "")
	wantLink(t, doc, "/auth/billing")
	_, doc = render(t, u, "/", "billing", &Page{User: testUser})
	if got, want := navLinks(doc), []string{"/auth/settings", "/auth/other", "/auth/billing"}; !slices.Equal(got, want) {
		t.Errorf("settings navigation %q, want %q", got, want)
	}
}

// TestPackRefused lists the packs New refuses, each with the parts the
// error message must name.
func TestPackRefused(t *testing.T) {
	t.Parallel()
	page := `{{define "content"}}<h1>x</h1>{{end}}`
	with := func(edit func(p *Pack)) Pack {
		p := Pack{Name: "other", Files: files(map[string]string{}), Pages: map[string]any{}, Sections: map[string]any{},
			Emails: map[string]any{}, Routes: map[string]string{}, Notices: map[string]string{}}
		edit(&p)
		return p
	}
	tests := []struct {
		name  string
		packs []Pack
		want  []string // parts of the message
	}{
		{"no name", []Pack{{Pages: map[string]any{}}}, []string{"a pack has no Name"}},
		{"same pack twice", []Pack{testPack(), testPack()}, []string{`pack "demo" is given twice`}},
		{"undeclared page file", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"pages/extra.html": page})
		})}, []string{`pack "other"`, "pages/extra.html is not declared"}},
		{"undeclared section file", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"sections/extra.html": "<p>x</p>"})
		})}, []string{`pack "other"`, "sections/extra.html is not declared"}},
		{"undeclared email file", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"emails/extra.txt": "Subject: x\n", "emails/extra.html": `{{define "content"}}x{{end}}`})
		})}, []string{`pack "other"`, "emails/extra.", "is not declared"}},
		{"page without file", []Pack{with(func(p *Pack) { p.Pages["missing"] = nil })},
			[]string{`pack "other"`, `page "missing"`, "pages/missing.html"}},
		{"section without file", []Pack{with(func(p *Pack) { p.Sections["missing"] = nil })},
			[]string{`pack "other"`, `section "missing"`, "sections/missing.html"}},
		{"email without html part", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"emails/half.txt": "Subject: x\n"})
			p.Emails["half"] = nil
		})}, []string{`pack "other"`, `email "half"`, "emails/half.html"}},
		{"nil files", []Pack{{Name: "other", Pages: map[string]any{"ghost": nil}}}, []string{"pages/ghost.html"}},
		{"same page file", []Pack{testPack(), with(func(p *Pack) {
			p.Files = files(map[string]string{"pages/welcome.html": page})
			p.Pages["welcome"] = nil
		})}, []string{`pack "demo" and pack "other" both provide pages/welcome.html`}},
		{"same page declared", []Pack{testPack(), with(func(p *Pack) { p.Pages["welcome"] = nil })},
			[]string{`pack "other" declares the page "welcome", which pack "demo" declares too`}},
		{"core page", []Pack{with(func(p *Pack) { p.Pages["error"] = nil })},
			[]string{`pack "other" declares the page "error", which the UI declares too`}},
		{"core page file", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"pages/settings.html": page})
		})}, []string{`the UI and pack "other" both provide pages/settings.html`}},
		{"same section", []Pack{testPack(), with(func(p *Pack) { p.Sections["plan"] = nil })},
			[]string{`pack "other" declares the section "plan", which pack "demo" declares too`}},
		{"same email", []Pack{testPack(), with(func(p *Pack) { p.Emails["welcome"] = nil })},
			[]string{`pack "other" declares the email "welcome", which pack "demo" declares too`}},
		{"same route, another path", []Pack{testPack(), with(func(p *Pack) { p.Routes[RouteSignIn] = "/signin" })},
			[]string{`pack "other"`, `route "sign_in"`, "/auth/signin", `pack "demo"`, "/auth/login"}},
		{"same notice", []Pack{testPack(), with(func(p *Pack) { p.Notices["saved"] = "Saved." })},
			[]string{`pack "other" declares the notice "saved", which pack "demo" declares too`}},
		{"same func", []Pack{testPack(), with(func(p *Pack) { p.Funcs = htmltemplate.FuncMap{"shout": strings.ToLower} })},
			[]string{`pack "other" declares the template function "shout", which pack "demo" defines too`}},
		{"core func", []Pack{with(func(p *Pack) { p.Funcs = htmltemplate.FuncMap{"route": strings.ToLower} })},
			[]string{`pack "other" declares the template function "route", which the UI defines too`}},
		{"nav unknown route", []Pack{with(func(p *Pack) { p.Nav = []NavItem{{Route: "nowhere", Label: "Lost", Icon: "user"}} })},
			[]string{`navigation entry "Lost"`, `unknown route "nowhere"`}},
		{"nav unknown icon", []Pack{with(func(p *Pack) {
			p.Routes["here"] = "/here"
			p.Nav = []NavItem{{Route: "here", Label: "Here", Icon: "unicorn"}}
		})}, []string{`navigation entry "Here"`, `unknown icon "unicorn"`}},
		{"bad page name", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"pages/Big-Page.html": page})
			p.Pages["Big-Page"] = nil
		})}, []string{`page name "Big-Page"`}},
		{"bad route name", []Pack{with(func(p *Pack) { p.Routes["Sign In"] = "/in" })}, []string{`route name "Sign In"`}},
		{"relative route", []Pack{with(func(p *Pack) { p.Routes["in"] = "in" })}, []string{`route "in"`, "must start with /"}},
		{"route to another origin", []Pack{with(func(p *Pack) { p.Routes["in"] = "/\\evil.example" })},
			[]string{`route "in"`, "not a local path"}},
		{"nested page", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"pages/admin/users.html": page})
		})}, []string{`pack "other"`, "templates live directly in pages/"}},
		{"page of another type", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"pages/x.txt": page})
		})}, []string{`pack "other"`, `"pages/x.txt": unexpected file name`}},
		{"page failing with its zero data", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"pages/x.html": `{{define "content"}}<h1>{{.Data.Missing}}</h1>{{end}}`})
			p.Pages["x"] = &struct{ Present string }{}
		})}, []string{`page "x" (pack "other")`, "Missing"}},
		{"page data declared nil but used", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"pages/x.html": `{{define "content"}}<h1>{{.Data.Name}}</h1>{{end}}`})
			p.Pages["x"] = nil
		})}, []string{`page "x" (pack "other")`}},
		{"section failing with its zero data", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"sections/x.html": `<p>{{.Data.Missing}}</p>`})
			p.Sections["x"] = &struct{}{}
		})}, []string{`section "x" (pack "other")`}},
		{"email failing with its zero data", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"emails/x.txt": "Subject: {{.Data.Missing}}\n", "emails/x.html": `{{define "content"}}x{{end}}`})
			p.Emails["x"] = &struct{}{}
		})}, []string{`email "x"`, "Missing"}},
		{"page without content", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"pages/x.html": `{{define "title"}}x{{end}}`})
			p.Pages["x"] = nil
		})}, []string{`pages/x.html does not define "content"`}},
		{"page syntax", []Pack{with(func(p *Pack) {
			p.Files = files(map[string]string{"pages/x.html": `{{define "content"}}<h1>{{.Title}</h1>{{end}}`})
			p.Pages["x"] = nil
		})}, []string{"pages/x.html"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(newSite(t, "", nil), Config{Packs: tc.packs})
			if !errors.Is(err, sigra.ErrConfig) {
				t.Fatalf("got %v, want an error wrapping sigra.ErrConfig", err)
			}
			for _, part := range tc.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("got %q, want it to hold %q", err, part)
				}
			}
		})
	}
}

// TestSettingsNav checks that the settings navigation lists every pack's
// entries by Order (entries of equal Order in the order of the packs) and
// marks the page shown.
func TestSettingsNav(t *testing.T) {
	t.Parallel()
	other := Pack{Name: "other", Routes: map[string]string{"a": "/a", "b": "/b", "c": "/c"},
		Nav: []NavItem{
			{Route: "c", Label: "C", Icon: "lock", Order: 20},
			{Route: "a", Label: "A", Icon: "shield", Order: 5},
			{Route: "b", Label: "B", Icon: "clock", Order: 100},
		}}
	u := newDemoUI(t, Config{Packs: []Pack{other}})
	wantOrder := []string{"/auth/a", "/auth/settings", "/auth/billing", "/auth/c", "/auth/b"}
	for _, tc := range []struct {
		page    string
		data    any
		current string
	}{
		{"settings", &SettingsData{}, "/auth/settings"},
		{"billing", &billingData{}, "/auth/billing"},
	} {
		_, doc := render(t, u, "/", tc.page, &Page{User: testUser, Data: tc.data})
		if got := navLinks(doc); !slices.Equal(got, wantOrder) {
			t.Errorf("%s: settings navigation %q, want %q", tc.page, got, wantOrder)
		}
		var current []string
		for _, n := range byTag(doc, "nav") {
			for _, a := range byTag(n, "a") {
				if v, ok := attr(a, "aria-current"); ok {
					if v != "page" {
						t.Errorf("%s: got aria-current=%q, want page", tc.page, v)
					}
					current = append(current, attrOr(a, "href", ""))
				}
				if len(byTag(a, "svg")) != 1 || text(a) == "" {
					t.Errorf("%s: nav entry %q: want one icon and a label", tc.page, attrOr(a, "href", ""))
				}
			}
		}
		if !slices.Equal(current, []string{tc.current}) {
			t.Errorf("%s: got the entries %q marked current, want [%s]", tc.page, current, tc.current)
		}
		checkDocument(t, doc, DefaultCSRFField, "")
	}
	// The navigation is the packs' own: a UI without entries shows an
	// empty list.
	_, doc := render(t, newTestUI(t, Config{}), "/", "settings", &Page{User: testUser})
	if got := navLinks(doc); len(got) != 0 {
		t.Errorf("got navigation %q without packs, want none", got)
	}
}

// TestPackNotMutated: New reads the packs without changing them, so a pack
// value can build several UIs.
func TestPackNotMutated(t *testing.T) {
	p := testPack()
	nav := slices.Clone(p.Nav)
	routes := maps.Clone(p.Routes)
	for range 2 {
		newTestUI(t, Config{Packs: []Pack{p}})
	}
	if !slices.Equal(p.Nav, nav) || !maps.Equal(p.Routes, routes) {
		t.Errorf("New changed the pack: nav %v, routes %v; want %v, %v", p.Nav, p.Routes, nav, routes)
	}
}

// TestPackSlots checks that packs fill the slots of other packs' pages in
// the order of the packs, that a well-known slot nobody fills renders
// nothing, and that a pack's assets are served with the UI's.
func TestPackSlots(t *testing.T) {
	t.Parallel()
	host := Pack{
		Name: "host",
		Files: files(map[string]string{
			"pages/door.html": `{{define "content"}}<h1>Door</h1><div id="in">{{template "slot:sign_in" .}}</div><div id="sudo">{{template "slot:sudo" .}}</div>{{end}}`,
		}),
		Pages: map[string]any{"door": nil},
	}
	key := func(name, label string) Pack {
		return Pack{Name: name, Files: files(map[string]string{
			"slots/sign_in.html":     `<a class="` + name + `" href="/` + name + `">` + label + ` {{with .User}}{{.Email}}{{end}}</a>`,
			"assets/" + name + ".js": `// ` + name,
		})}
	}
	u := newTestUI(t, Config{Packs: []Pack{host, key("first", "One"), key("second", "Two")}})
	rec, _ := render(t, u, "/", "door", &Page{User: testUser})
	body := rec.Body.String()
	one, two := strings.Index(body, `class="first"`), strings.Index(body, `class="second"`)
	if one < 0 || two < 0 || two < one {
		t.Errorf("sign_in slot: want the first pack's link, then the second's, got:\n%s", body)
	}
	if !strings.Contains(body, "One "+testUser.Email) {
		t.Errorf("slot did not render with the page: %s", body)
	}
	if !strings.Contains(body, `<div id="sudo"></div>`) {
		t.Errorf("unfilled sudo slot: want it empty, got:\n%s", body)
	}
	for _, name := range []string{"first.js", "second.js"} {
		if u.AssetURL(name) == "" {
			t.Errorf("AssetURL(%q) is empty: the pack's asset is not served", name)
		}
	}
	_, err := New(newSite(t, "", nil), Config{Packs: []Pack{key("dup", "x"), {Name: "again", Files: files(map[string]string{"assets/dup.js": "//"})}}})
	if !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), "assets/dup.js") {
		t.Errorf("two packs with one asset: got %v, want a config error naming assets/dup.js", err)
	}
}
