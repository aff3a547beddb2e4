package apptest

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"golang.org/x/net/html"

	"github.com/sigra-go/sigra/internal/htmlcheck"
	"github.com/sigra-go/sigra/ui"
)

// The fixture pack has a page, a section and an email that pass every
// check, and copies of each with one thing broken, which the checks must
// reject.

// goodPage is a page that passes every check; the broken pages replace a
// part of it.
const goodPage = `{{define "title"}}Good{{end}}
{{define "content"}}<h1>Good page</h1>
<p>Saved on <time datetime="2026-03-14T15:09:26Z">Mar 14, 2026</time>.</p>
<form method="post" action="{{route "save"}}">{{template "hidden" .}}
<input type="hidden" name="token" value="{{.Data.Token}}">
{{template "input" (field . "email" "label" "Email address" "type" "email" "autocomplete" "email")}}
{{template "input" (field . "password" "label" "Password" "type" "password" "autocomplete" "current-password")}}
<button type="submit">Save</button></form>
<a href="{{route "sign_in"}}">Sign in</a>{{end}}`

// brokenPages break one part of goodPage each.
var brokenPages = map[string][2]string{
	"unlabelled":   {`<button type="submit">Save</button>`, `<input name="note"><button type="submit">Save</button>`},
	"no_csrf":      {`{{template "hidden" .}}`, `{{with .ReturnTo}}<input type="hidden" name="return_to" value="{{.}}">{{end}}`},
	"no_return_to": {`{{template "hidden" .}}`, `{{template "csrf" .}}`},
	"echo":         {`<button type="submit">`, `<p>You typed {{index .Values "password"}}.</p><button type="submit">`},
	"not_sticky":   {`"autocomplete" "email"`, `"autocomplete" "email" "sticky" false`},
	"error_apart":  {`"autocomplete" "email"`, `"autocomplete" "email" "errkey" "other"`},
	"valued":       {`<button type="submit">`, `<label for="note">Note</label><input id="note" name="note" value="x"><button type="submit">`},
	"autocomplete": {`"autocomplete" "email"`, `"autocomplete" "off"`},
	"no_token":     {`<input type="hidden" name="token" value="{{.Data.Token}}">`, ``},
	"no_time":      {`<time datetime="2026-03-14T15:09:26Z">Mar 14, 2026</time>`, `Mar 14, 2026`},
}

// goodSection is a settings section that passes every check.
const goodSection = `<section class="panel" aria-labelledby="good-heading"><h2 id="good-heading">Good section</h2>
<form method="post" action="{{route "save"}}">{{template "hidden" .}}
{{template "input" (field . "email" "label" "Email address" "type" "email" "autocomplete" "email")}}
<button type="submit">Save</button></form></section>`

// goodText and goodHTML are an email that passes every check.
const (
	goodText = "Subject: Your {{.Brand.ProductName}} notice\nHi,\n\nOpen {{.Link}} to continue. Your code is {{.Code}}.\n\n{{template \"details\" .}}{{template \"footer\" .}}"
	goodHTML = `{{define "content"}}<h1 style="{{style "h1"}}">Your notice</h1>
<p style="{{style "p"}}">Your code is {{.Code}}.</p>
{{template "details" .}}
{{template "button" (args "url" .Link "label" "Continue")}}{{end}}`
)

type fixtureData struct{ Token string }

// fixturePack returns the fixture pack.
func fixturePack() ui.Pack {
	files := fstest.MapFS{
		"pages/good.html":          {Data: []byte(goodPage)},
		"sections/good.html":       {Data: []byte(goodSection)},
		"sections/echo.html":       {Data: []byte(strings.Replace(goodSection, `<button`, `<p>{{index .Values "password"}}</p><button`, 1))},
		"sections/h1.html":         {Data: []byte(strings.ReplaceAll(goodSection, "h2", "h1"))},
		"emails/good.txt":          {Data: []byte(goodText)},
		"emails/good.html":         {Data: []byte(goodHTML)},
		"emails/one_link.txt":      {Data: []byte(goodText)},
		"emails/one_link.html":     {Data: []byte(strings.Replace(goodHTML, `{{template "button" (args "url" .Link "label" "Continue")}}`, `<a href="{{.Link}}">Continue</a>`, 1))},
		"emails/no_code.txt":       {Data: []byte(strings.Replace(goodText, " Your code is {{.Code}}.", "", 1))},
		"emails/no_code.html":      {Data: []byte(goodHTML)},
		"emails/no_recipient.txt":  {Data: []byte(strings.Replace(goodText, `{{template "footer" .}}`, "", 1))},
		"emails/no_recipient.html": {Data: []byte(goodHTML)},
		"emails/own_line.txt":      {Data: []byte(strings.Replace(goodText, "Hi,\n", "Hi,\nBcc: everyone\n", 1))},
		"emails/own_line.html":     {Data: []byte(goodHTML)},
	}
	pages := map[string]any{"good": &fixtureData{}}
	for name, r := range brokenPages {
		if !strings.Contains(goodPage, r[0]) {
			panic(fmt.Sprintf("the good page has no %q to replace", r[0]))
		}
		files["pages/"+name+".html"] = &fstest.MapFile{Data: []byte(strings.Replace(goodPage, r[0], r[1], 1))}
		pages[name] = &fixtureData{}
	}
	return ui.Pack{
		Name:     "fixture",
		Files:    files,
		Pages:    pages,
		Sections: map[string]any{"good": nil, "echo": nil, "h1": nil},
		Emails:   map[string]any{"good": nil, "one_link": nil, "no_code": nil, "no_recipient": nil, "own_line": nil},
		Routes: map[string]string{
			ui.RouteSignIn: "/login", ui.RouteSignOut: "/logout", ui.RouteSettings: "/settings", "save": "/save",
		},
	}
}

// recorder is a testing.TB that records errors instead of failing; Fatal
// ends the goroutine that calls it (see record).
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.Error(args...)
	runtime.Goexit()
}

// record runs f with a recorder on a goroutine of its own and returns
// the errors f reported.
func record(t *testing.T, f func(tb testing.TB)) []string {
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(rec)
	}()
	<-done
	return rec.errors
}

// reported reports whether one of errs contains want.
func reported(errs []string, want string) bool {
	for _, e := range errs {
		if strings.Contains(e, want) {
			return true
		}
	}
	return false
}

func newFixtureCheck(t *testing.T) *PageCheck {
	t.Helper()
	pc := NewPageCheck(t, fixturePack())
	if pc.SignOut != "/auth/logout" {
		t.Fatalf("SignOut: got %q, want the pack's sign-out route /auth/logout", pc.SignOut)
	}
	return pc
}

// goodCase is the case of the good page and of its broken copies.
func goodCase(page string) PageCase {
	return PageCase{Page: page, Data: &fixtureData{Token: "tok-good"}, Fields: map[string]string{"email": "email", "password": "password"},
		Want: htmlcheck.Want{Token: "tok-good", Times: true, Forms: []string{"/auth/save"}, Links: []string{"/auth/login"},
			Autocomplete: map[string]string{"email": "email", "password": "current-password"}}}
}

// TestCheckPage: the good page passes in every variant, signed in or not;
// each broken page is rejected in the variant that shows its fault.
func TestCheckPage(t *testing.T) {
	t.Parallel()
	pc := newFixtureCheck(t)
	for v := range variants {
		for _, user := range []bool{false, true} {
			c := goodCase("good")
			c.User = user
			called := false
			c.Check = func(testing.TB, *html.Node, *ui.Page) { called = true }
			if errs := record(t, func(tb testing.TB) { pc.checkPage(tb, c, pc.casePage(v, c)) }); len(errs) != 0 {
				t.Errorf("good page, %s, signed in %v: got errors %q, want none", variants[v].name, user, errs)
			}
			if !called {
				t.Errorf("good page, %s: the case's Check was not called", variants[v].name)
			}
		}
	}
	tests := []struct {
		page    string
		variant int
		want    string // in one of the errors
	}{
		{"unlabelled", 0, `label: <input name="note" id=""> has no label`},
		{"no_csrf", 0, `csrf: form "/auth/save" has no hidden "csrf_token" field`},
		{"no_return_to", 2, `return-to: form "/auth/save": return_to [], want ["/billing?tab=card"]`},
		{"echo", 0, `the page shows the typed "sticky-password"`},
		{"not_sticky", 0, `email field "email": got value "", want the typed "sticky-email"`},
		{"error_apart", 1, `field "email": aria-invalid="", want "true"`},
		{"valued", 0, `control "note": got value "x", want none`},
		{"autocomplete", 0, `control "email": autocomplete="off", want "email"`},
		{"no_token", 0, `token fields: got [], want ["tok-good"]`},
		{"no_time", 0, `got no <time> element`},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.page] = true
		t.Run(tt.page, func(t *testing.T) {
			t.Parallel()
			c := goodCase(tt.page)
			errs := record(t, func(tb testing.TB) { pc.checkPage(tb, c, pc.casePage(tt.variant, c)) })
			if !reported(errs, tt.want) {
				t.Errorf("errors: got %q, want one with %q", errs, tt.want)
			}
		})
	}
	for name := range brokenPages {
		if !seen[name] {
			t.Errorf("broken page %q has no test", name)
		}
	}
}

// TestCheckPageHeader: a signed-in page must have the sign-out form in
// its header, and a page that does not render stops the check.
func TestCheckPageHeader(t *testing.T) {
	t.Parallel()
	pc := newFixtureCheck(t)
	other := *pc
	other.SignOut = "/auth/elsewhere"
	c := goodCase("good")
	c.User = true
	if errs := record(t, func(tb testing.TB) { other.checkPage(tb, c, pc.casePage(0, c)) }); !reported(errs, "header: got 0 sign-out forms, want 1") {
		t.Errorf("errors: got %q, want the missing sign-out form", errs)
	}
	c = goodCase("missing")
	if errs := record(t, func(tb testing.TB) { pc.checkPage(tb, c, pc.casePage(0, c)) }); len(errs) != 1 || !strings.Contains(errs[0], "status: got 500, want 422") {
		t.Errorf("errors: got %q, want the status only", errs)
	}
}

// TestCovers: a page of the pack without a case, or a case of no page of
// the pack, is reported.
func TestCovers(t *testing.T) {
	t.Parallel()
	pc := newFixtureCheck(t)
	all := []string{"good"}
	for name := range brokenPages {
		all = append(all, name)
	}
	if errs := record(t, func(tb testing.TB) { pc.covers(tb, "pages", append(all, "good"), pc.Pack.Pages) }); len(errs) != 0 {
		t.Errorf("every page covered: got errors %q, want none", errs)
	}
	if errs := record(t, func(tb testing.TB) { pc.covers(tb, "pages", all[1:], pc.Pack.Pages) }); !reported(errs, "pages with a case") {
		t.Errorf("a page without a case: got errors %q, want one", errs)
	}
	if errs := record(t, func(tb testing.TB) { pc.covers(tb, "pages", append(all, "other"), pc.Pack.Pages) }); !reported(errs, "pages with a case") {
		t.Errorf("a case of no page: got errors %q, want one", errs)
	}
}

// TestCheckSection: the good section passes; one that shows a typed
// password, or has its own h1, is rejected.
func TestCheckSection(t *testing.T) {
	t.Parallel()
	pc := newFixtureCheck(t)
	fields := map[string]string{"email": "email"}
	want := htmlcheck.Want{Forms: []string{"/auth/save"}, Autocomplete: map[string]string{"email": "email"}}
	tests := []struct {
		section string
		want    string
	}{
		{"good", ""},
		{"echo", `the section shows the typed "sticky-password"`},
		{"h1", "fragment-h1"},
	}
	for _, tt := range tests {
		for v := range variants[:2] {
			c := SectionCase{Section: tt.section, Fields: fields, Want: want}
			errs := record(t, func(tb testing.TB) { pc.checkSection(tb, c, pc.page(v, true, fields)) })
			if tt.want == "" && len(errs) != 0 || tt.want != "" && !reported(errs, tt.want) {
				t.Errorf("section %s, %s: got errors %q, want %q", tt.section, variants[v].name, errs, tt.want)
			}
		}
	}
}

// TestCheckSettings: a settings page of good sections passes; a section
// that shows a typed password or breaks the page is rejected, and so is a
// Want the page does not meet.
func TestCheckSettings(t *testing.T) {
	t.Parallel()
	pc := newFixtureCheck(t)
	good := FixedSection("good", 10, &fixtureData{})
	tests := []struct {
		name     string
		sections []ui.Section
		want     htmlcheck.Want
		problem  string
	}{
		{"good", []ui.Section{good}, htmlcheck.Want{Text: []string{"Good section"}}, ""},
		{"typed value shown", []ui.Section{good, FixedSection("echo", 20, &fixtureData{})}, htmlcheck.Want{}, `the page shows the typed "sticky-password"`},
		{"h1 in a section", []ui.Section{good, FixedSection("h1", 20, &fixtureData{})}, htmlcheck.Want{}, "one-h1"},
		{"want not met", []ui.Section{good}, htmlcheck.Want{Links: []string{"/auth/other"}}, `want one to "/auth/other"`},
	}
	for _, tt := range tests {
		for v := range variants {
			c := SettingsCase{Sections: tt.sections, Fields: map[string]string{"email": "email"}, Want: tt.want}
			errs := record(t, func(tb testing.TB) { pc.checkSettings(tb, c, pc.page(v, true, c.Fields)) })
			if tt.problem == "" && len(errs) != 0 || tt.problem != "" && !reported(errs, tt.problem) {
				t.Errorf("%s, %s: got errors %q, want %q", tt.name, variants[v].name, errs, tt.problem)
			}
		}
	}
}

// TestSame: the settings data of a section is the very value its Data
// returned.
func TestSame(t *testing.T) {
	t.Parallel()
	a, b := &fixtureData{Token: "x"}, &fixtureData{Token: "x"}
	for _, tt := range []struct {
		a, b any
		want bool
	}{
		{a, a, true},
		{a, b, false},
		{nil, nil, true},
		{a, nil, false},
		{[]string{"x"}, []string{"x"}, true},
		{[]string{"x"}, []string{"y"}, false},
	} {
		if got := same(tt.a, tt.b); got != tt.want {
			t.Errorf("same(%v, %v): got %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestCheckEmail: the good email passes; each broken one is rejected.
func TestCheckEmail(t *testing.T) {
	t.Parallel()
	pc := newFixtureCheck(t)
	c := EmailCase{Link: "https://app.example.com/auth/go?token=T1", Code: "493817", Want: []string{"Your code is", "192.0.2.10", "Firefox/140.0", "Mar 14, 2026"}}
	tests := []struct {
		email string
		c     EmailCase
		want  string
	}{
		{"good", c, ""},
		{"good", EmailCase{Want: []string{"Missing text"}}, `text part: got no "Missing text"`},
		{"one_link", c, `got 1 links to "https://app.example.com/auth/go?token=T1", want 2`},
		{"no_code", c, `the code "493817" is not in both parts`},
		{"no_recipient", c, "text part: does not say whom it was sent to"},
	}
	for _, tt := range tests {
		errs := record(t, func(tb testing.TB) { pc.checkEmail(tb, tt.email, tt.c) })
		if tt.want == "" && len(errs) != 0 || tt.want != "" && !reported(errs, tt.want) {
			t.Errorf("email %s: got errors %q, want %q", tt.email, errs, tt.want)
		}
	}
	if errs := record(t, func(tb testing.TB) { pc.checkEmail(tb, "missing", c) }); len(errs) != 1 {
		t.Errorf("unknown email: got errors %q, want one", errs)
	}
}

// TestCheckUntrusted: values a request controls do not break the good
// email; a line that the template starts with one of the injected texts
// is caught.
func TestCheckUntrusted(t *testing.T) {
	t.Parallel()
	pc := newFixtureCheck(t)
	if errs := record(t, func(tb testing.TB) { pc.checkUntrusted(tb, "good") }); len(errs) != 0 {
		t.Errorf("good email: got errors %q, want none", errs)
	}
	if errs := record(t, func(tb testing.TB) { pc.checkUntrusted(tb, "own_line") }); !reported(errs, `an untrusted value started its own line: "Bcc: everyone"`) {
		t.Errorf("email with a Bcc line: got errors %q, want it caught", errs)
	}
}

// TestZeroData: a page that breaks the HTML rules with its zero data is
// reported, signed in and not.
func TestZeroData(t *testing.T) {
	t.Parallel()
	pc := newFixtureCheck(t)
	errs := record(t, pc.ZeroData)
	for _, signedIn := range []bool{false, true} {
		want := fmt.Sprintf(`unlabelled (signed in: %v): HTML check: label: <input name="note"`, signedIn)
		if !reported(errs, want) {
			t.Errorf("errors: got %q, want one with %q", errs, want)
		}
	}
	for _, e := range errs {
		if strings.HasPrefix(e, "good ") {
			t.Errorf("the good page: got error %q, want none", e)
		}
	}
}

// TestPageCheckPasses runs the exported checks on the good page, section
// and email of the fixture pack.
func TestPageCheckPasses(t *testing.T) {
	t.Parallel()
	pack := fixturePack()
	pack.Pages = map[string]any{"good": &fixtureData{}}
	for name := range brokenPages {
		delete(pack.Files.(fstest.MapFS), "pages/"+name+".html")
	}
	pack.Sections = map[string]any{"good": nil}
	delete(pack.Files.(fstest.MapFS), "sections/echo.html")
	delete(pack.Files.(fstest.MapFS), "sections/h1.html")
	pack.Emails = map[string]any{"good": nil}
	for _, name := range []string{"one_link", "no_code", "no_recipient", "own_line"} {
		delete(pack.Files.(fstest.MapFS), "emails/"+name+".txt")
		delete(pack.Files.(fstest.MapFS), "emails/"+name+".html")
	}
	pc := NewPageCheck(t, pack)
	pc.Pages(t, []PageCase{goodCase("good"), func() PageCase { c := goodCase("good"); c.Label, c.User = "signed in", true; return c }()})
	pc.Sections(t, []SectionCase{{Section: "good", Fields: map[string]string{"email": "email"}, Want: htmlcheck.Want{Forms: []string{"/auth/save"}}}})
	pc.Settings(t, []SettingsCase{{Sections: []ui.Section{FixedSection("good", 10, &fixtureData{})}, Fields: map[string]string{"email": "email"}}})
	pc.Emails(t, map[string]EmailCase{"good": {Link: "https://app.example.com/auth/go", Code: "123456", Want: []string{"Your code is"}}})
	pc.EmailsUntrusted(t)
	pc.ZeroData(t)
}
