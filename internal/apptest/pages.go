package apptest

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/net/html"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/htmlcheck"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/ui"
)

// PageCheck renders the pages, settings sections and emails of a feature's
// UI pack through a real [ui.UI] and checks each one: the rules of
// htmlcheck (well-formed, allowed by a strict Content-Security-Policy,
// accessible, every form with the CSRF field), field errors tied to their
// fields, notices announced, return_to carried by every form, a header
// that matches the signed-in state, typed values that never come back
// (except the sticky ones, which must), the case's own [htmlcheck.Want],
// and a case for every page, section and email the pack declares. A
// feature's test lists representative cases and calls one method per
// kind:
//
//	pc := apptest.NewPageCheck(t, mfa.Pages(), account.Pages())
//	pc.Pages(t, []apptest.PageCase{
//		{Page: "mfa_challenge", Data: &mfa.ChallengeData{}, Fields: map[string]string{"code": "code"},
//			Want: htmlcheck.Want{Forms: []string{"/auth/mfa/challenge"}}},
//	})
//	pc.Emails(t, map[string]apptest.EmailCase{...})
//	pc.ZeroData(t)
//
// Each page case renders in three variants: as first shown, after a
// submission with an error on each of its fields, and with every notice a
// page can carry and a return_to. NewPageCheck sets every field; a test
// may change them before the first check. The checks only read the
// PageCheck, so parallel subtests may share it.
type PageCheck struct {
	// UI renders: the site https://app.example.com at the default prefix
	// /auth, the brand "Acme" with a support link and a logo (which the
	// emails must show), and the packs given to NewPageCheck.
	UI *ui.UI
	// Pack is the pack under test: every page, section and email it
	// declares needs a case.
	Pack ui.Pack
	// User is the signed-in user of the cases that ask for one
	// (user@example.com, confirmed at Time).
	User *sigra.User
	// Time is the fixed time of the fixtures: March 14, 2026, 15:09:26
	// UTC. It is the When of every email.
	Time time.Time
	// SignOut is the action of the sign-out form: the route a pack
	// declares as ui.RouteSignOut (/auth/logout with the account pack).
	// Forms posting there need no return_to, and the header of a
	// signed-in page has exactly one.
	SignOut string
	// Typed are the names of the fields a user has typed into before each
	// rendering (Page.Values[name] is "sticky-"+name): email, password,
	// current_password, code, recovery_code, confirm_email, remember,
	// trust. Unless Sticky names it, a typed value appears nowhere in the
	// page, and no control that is not a checkbox or a radio button has a
	// value.
	Typed []string
	// Sticky maps the name of a field that keeps what was typed to its
	// input type: {"email": "email"}. Every control of that name and type
	// holds the typed value.
	Sticky map[string]string
	// IP and UserAgent describe the request behind every email
	// (192.0.2.10, and a Firefox 140 on Linux).
	IP, UserAgent string
}

// NewPageCheck builds the UI of the check with pack, the pack under test,
// and others, the packs it needs beside it (as an application has them).
func NewPageCheck(t testing.TB, pack ui.Pack, others ...ui.Pack) *PageCheck {
	t.Helper()
	s, err := site.New(site.Config{BaseURL: "https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := ui.New(s, ui.Config{
		Brand: ui.Brand{ProductName: "Acme", SupportURL: "https://help.example.com/", LogoURL: "https://cdn.example.com/acme.png"},
		Packs: append(slices.Clone(others), pack),
	})
	if err != nil {
		t.Fatalf("ui.New with the %s pack: %v", pack.Name, err)
	}
	t0 := time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)
	signOut, _ := u.Route(ui.RouteSignOut)
	return &PageCheck{
		UI:        u,
		Pack:      pack,
		User:      &sigra.User{ID: "01900000-0000-7000-8000-000000000001", Email: "user@example.com", EmailConfirmedAt: t0, CreatedAt: t0},
		Time:      t0,
		SignOut:   signOut,
		Typed:     []string{"email", "password", "current_password", "code", "recovery_code", "confirm_email", "remember", "trust"},
		Sticky:    map[string]string{"email": "email"},
		IP:        "192.0.2.10",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
	}
}

// PageCase is one representative rendering of a page.
type PageCase struct {
	// Page is the page's name; Label tells several cases of one page
	// apart.
	Page, Label string
	// Data is the page's Data.
	Data any
	// User renders the page for the signed-in PageCheck.User.
	User bool
	// Fields maps each FieldErrors key the page may mark to the id of the
	// control it marks (see htmlcheck.FieldErrors).
	Fields map[string]string
	// Want is what the page must show in every variant.
	Want htmlcheck.Want
	// Check, when set, makes the page's own further assertions; p is the
	// page rendered.
	Check func(t testing.TB, doc *html.Node, p *ui.Page)
}

// String returns "page" or "page/label".
func (c PageCase) String() string {
	if c.Label != "" {
		return c.Page + "/" + c.Label
	}
	return c.Page
}

// SectionCase is one representative rendering of a settings section.
type SectionCase struct {
	// Section is the section's name; Label tells several cases of one
	// section apart.
	Section, Label string
	// Data is the section's data.
	Data any
	// Fields maps each FieldErrors key the section may mark to the id of
	// the control it marks.
	Fields map[string]string
	// Want is what the section must show.
	Want htmlcheck.Want
}

// String returns "section" or "section/label".
func (c SectionCase) String() string {
	if c.Label != "" {
		return c.Section + "/" + c.Label
	}
	return c.Section
}

// SettingsCase is one rendering of the settings page.
type SettingsCase struct {
	// Label names the case.
	Label string
	// Sections are the page's sections (see [FixedSection]).
	Sections []ui.Section
	// Fields maps each FieldErrors key the page may mark to the id of the
	// control it marks.
	Fields map[string]string
	// Want is what the page must show in every variant.
	Want htmlcheck.Want
}

// EmailCase is one representative rendering of an email, sent to the
// address of PageCheck.User for a request from PageCheck.IP and
// PageCheck.UserAgent at PageCheck.Time.
type EmailCase struct {
	// Link, Code, ExpiresIn and Data are the Email's.
	Link, Code, ExpiresIn string
	Data                  any
	// Want are texts both parts must show (in the HTML part, as text or
	// as a link's address).
	Want []string
}

// FixedSection returns a settings section whose data is data for every
// request.
func FixedSection(name string, order int, data any) ui.Section {
	return ui.Section{Name: name, Order: order, Data: func(*http.Request) (any, error) { return data, nil }}
}

// variants are the renderings of every case: as first shown, after a
// submission with an error on each field, and with every notice a page
// can carry and a return_to.
var variants = []struct {
	name string
	edit func(p *ui.Page, fields map[string]string)
}{
	{"plain", func(*ui.Page, map[string]string) {}},
	{"field errors", func(p *ui.Page, fields map[string]string) {
		p.FieldErrors = map[string]string{}
		for key := range fields {
			p.FieldErrors[key] = "Problem with " + key + "."
		}
	}},
	{"notices", func(p *ui.Page, fields map[string]string) {
		p.Flash = "Saved your changes."
		p.Error = "Something needs attention."
		p.Banner = "Confirm your email address: we sent a link to user@example.com."
		p.ReturnTo = "/billing?tab=card"
		p.FieldErrors = map[string]string{}
		for key := range fields {
			p.FieldErrors[key] = "Problem with " + key + "."
		}
	}},
}

// page returns the Page of variant v: a CSRF token of its own, the typed
// values, the signed-in user when user is set, and v's edits for fields.
func (pc *PageCheck) page(v int, user bool, fields map[string]string) *ui.Page {
	p := &ui.Page{CSRFToken: "csrf-" + strings.ReplaceAll(variants[v].name, " ", "-"), Values: map[string]string{}}
	if user {
		p.User = pc.User
	}
	for _, name := range pc.Typed {
		p.Values[name] = "sticky-" + name
	}
	variants[v].edit(p, fields)
	return p
}

// casePage returns the Page of c in variant v.
func (pc *PageCheck) casePage(v int, c PageCase) *ui.Page {
	p := pc.page(v, c.User, c.Fields)
	p.Data = c.Data
	return p
}

// Pages checks every case in each variant, in parallel subtests named
// after the case and the variant, and that every page of the pack has a
// case.
func (pc *PageCheck) Pages(t *testing.T, cases []PageCase) {
	t.Helper()
	var names []string
	for _, c := range cases {
		names = append(names, c.Page)
	}
	pc.covers(t, "pages", names, pc.Pack.Pages)
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			t.Parallel()
			for v := range variants {
				t.Run(variants[v].name, func(t *testing.T) { pc.checkPage(t, c, pc.casePage(v, c)) })
			}
		})
	}
}

// checkPage renders c with p and checks it.
func (pc *PageCheck) checkPage(t testing.TB, c PageCase, p *ui.Page) {
	t.Helper()
	rec := httptest.NewRecorder()
	pc.UI.Render(rec, httptest.NewRequest(http.MethodGet, pc.UI.Site().Path("/x"), nil), http.StatusUnprocessableEntity, c.Page, p)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status: got %d, want %d; body:\n%s", rec.Code, http.StatusUnprocessableEntity, rec.Body)
	}
	doc := pc.checkDocument(t, rec, p, c.Fields, c.Want)
	if c.Check != nil {
		c.Check(t, doc, p)
	}
}

// checkDocument checks a page rendered with p into rec and returns it
// parsed.
func (pc *PageCheck) checkDocument(t testing.TB, rec *httptest.ResponseRecorder, p *ui.Page, fields map[string]string, want htmlcheck.Want) *html.Node {
	t.Helper()
	if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type: got %q, want text/html; charset=utf-8", got)
	}
	body := rec.Body.String()
	doc := htmlcheck.Page(t, body, htmlcheck.Options{CSRFToken: p.CSRFToken})
	problems := htmlcheck.FieldErrors(doc, fields, p.FieldErrors)
	problems = append(problems, want.Check(doc)...)
	problems = append(problems, htmlcheck.Announced(doc, htmlcheck.Notices{Flash: p.Flash, Error: p.Error, FieldErrors: p.FieldErrors, Banner: p.Banner})...)
	if p.ReturnTo != "" {
		problems = append(problems, htmlcheck.ReturnTo(doc, p.ReturnTo, pc.SignOut)...)
	}
	for _, pr := range problems {
		t.Errorf("%s", pr)
	}
	pc.checkTyped(t, "page", doc, body, p)
	header := htmlcheck.ByTag(doc, "header")
	if len(header) != 1 {
		t.Fatalf("got %d <header>, want 1", len(header))
	}
	text := htmlcheck.Text(header[0])
	signOuts := len(htmlcheck.Forms(header[0], pc.SignOut))
	if p.User != nil {
		if !strings.Contains(text, p.User.Email) {
			t.Errorf("header: got %q, want the user's address", text)
		}
		if pc.SignOut != "" && signOuts != 1 {
			t.Errorf("header: got %d sign-out forms, want 1", signOuts)
		}
	} else {
		if pc.User != nil && strings.Contains(text, pc.User.Email) {
			t.Errorf("header: got %q, want no user's address without a user", text)
		}
		if signOuts != 0 || strings.Contains(text, "Sign out") {
			t.Error("header: got a sign-out button without a user")
		}
	}
	return doc
}

// checkTyped checks what comes back of the values typed into p: a sticky
// field keeps its value; no other control has one (checkboxes and radio
// buttons aside), and no other typed value is anywhere in body.
func (pc *PageCheck) checkTyped(t testing.TB, what string, doc *html.Node, body string, p *ui.Page) {
	t.Helper()
	for name, ins := range htmlcheck.ControlsByName(doc) {
		for _, in := range ins {
			v, has := htmlcheck.Attr(in, "value")
			switch typ := htmlcheck.AttrOr(in, "type", ""); {
			case pc.Sticky[name] != "" && typ == pc.Sticky[name]:
				if v != p.Values[name] {
					t.Errorf("%s field %q: got value %q, want the typed %q", typ, name, v, p.Values[name])
				}
			case typ == "checkbox" || typ == "radio":
			case has && v != "":
				t.Errorf("control %q: got value %q, want none", name, v)
			}
		}
	}
	for _, name := range pc.Typed {
		if _, sticky := pc.Sticky[name]; !sticky && strings.Contains(body, p.Values[name]) {
			t.Errorf("the %s shows the typed %q", what, p.Values[name])
		}
	}
}

// Sections checks every case as a part of a page, as first shown and
// with an error on each of its fields, and that every section of the
// pack has a case.
func (pc *PageCheck) Sections(t *testing.T, cases []SectionCase) {
	t.Helper()
	var names []string
	for _, c := range cases {
		names = append(names, c.Section)
	}
	pc.covers(t, "sections", names, pc.Pack.Sections)
	for _, c := range cases {
		for v := range variants[:2] {
			t.Run(c.String()+"/"+variants[v].name, func(t *testing.T) {
				t.Parallel()
				pc.checkSection(t, c, pc.page(v, true, c.Fields))
			})
		}
	}
}

// checkSection renders c with p as the settings page and checks it.
func (pc *PageCheck) checkSection(t testing.TB, c SectionCase, p *ui.Page) {
	t.Helper()
	out, err := pc.UI.RenderSection(c.Section, p, c.Data)
	if err != nil {
		t.Fatal(err)
	}
	body := string(out)
	problems := htmlcheck.Check(body, htmlcheck.Options{CSRFToken: p.CSRFToken, Fragment: true})
	doc, err := htmlcheck.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	problems = append(problems, htmlcheck.FieldErrors(doc, c.Fields, p.FieldErrors)...)
	problems = append(problems, c.Want.Check(doc)...)
	for _, pr := range problems {
		t.Errorf("%s", pr)
	}
	pc.checkTyped(t, "section", doc, body, p)
}

// Settings renders the settings page of each case, in each variant, as
// the feature that serves it does with ui.UI.Settings, and checks it as a
// page: the sections together keep it valid (no id used twice, one h1).
// Each section's data is also the settings data under its name.
func (pc *PageCheck) Settings(t *testing.T, cases []SettingsCase) {
	t.Helper()
	for _, c := range cases {
		for v := range variants {
			t.Run(strings.TrimPrefix(c.Label+"/"+variants[v].name, "/"), func(t *testing.T) {
				t.Parallel()
				pc.checkSettings(t, c, pc.page(v, true, c.Fields))
			})
		}
	}
}

// checkSettings renders the settings page of c with p and checks it.
func (pc *PageCheck) checkSettings(t testing.TB, c SettingsCase, p *ui.Page) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, pc.UI.Site().Path("/settings"), nil)
	data, byName, err := pc.UI.Settings(r, p, c.Sections)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Sections {
		want, err := s.Data(r)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := byName[s.Name]; !ok || !same(got, want) {
			t.Errorf("settings data of %s: got %v, want the section's data %v", s.Name, got, want)
		}
	}
	p.Data = data
	rec := httptest.NewRecorder()
	pc.UI.Render(rec, r, http.StatusOK, "settings", p)
	if rec.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200; body:\n%s", rec.Code, rec.Body)
	}
	pc.checkDocument(t, rec, p, c.Fields, c.Want)
}

// same reports whether a and b are the same value: the same pointer, or
// equal values of a type that == cannot compare.
func same(a, b any) bool {
	if a == nil || b == nil || !reflect.TypeOf(a).Comparable() || !reflect.TypeOf(b).Comparable() {
		return reflect.DeepEqual(a, b)
	}
	return a == b
}

// email returns the Email of c.
func (pc *PageCheck) email(c EmailCase) *ui.Email {
	return &ui.Email{To: pc.User.Email, Link: c.Link, Code: c.Code, ExpiresIn: c.ExpiresIn, Data: c.Data,
		IP: pc.IP, UserAgent: pc.UserAgent, When: pc.Time}
}

// Emails checks every case by its email's name, in parallel subtests, and
// that every email of the pack has a case: a subject on one plain line, a
// text part without control characters that says whom it was sent to,
// safe HTML (htmlcheck.Email) titled with the subject, each wanted text
// in both parts, the link as a button and as plain text, the code in both
// parts, the brand's support link and logo.
func (pc *PageCheck) Emails(t *testing.T, cases map[string]EmailCase) {
	t.Helper()
	pc.covers(t, "emails", slices.Collect(maps.Keys(cases)), pc.Pack.Emails)
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pc.checkEmail(t, name, cases[name])
		})
	}
}

// checkEmail renders email name with c and checks it.
func (pc *PageCheck) checkEmail(t testing.TB, name string, c EmailCase) {
	t.Helper()
	data := pc.email(c)
	subject, text, body, err := pc.UI.RenderEmail(name, data)
	if err != nil {
		t.Fatal(err)
	}
	if subject == "" || strings.ContainsAny(subject, "\r\n{}<>") || strings.HasPrefix(subject, "Subject") {
		t.Errorf("subject: got %q, want one plain line", subject)
	}
	if strings.HasPrefix(text, "Subject:") || strings.HasPrefix(text, "\n") {
		t.Errorf("text part: starts with %q, want the message", text[:min(20, len(text))])
	}
	for _, r := range text {
		if r != '\n' && unicode.IsControl(r) {
			t.Errorf("text part: got control character %U", r)
		}
	}
	if !strings.Contains(text, data.To) {
		t.Errorf("text part: does not say whom it was sent to (%s)", data.To)
	}
	for _, pr := range htmlcheck.Email(body) {
		t.Errorf("HTML part: %s", pr)
	}
	doc, err := htmlcheck.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if titles := htmlcheck.ByTag(doc, "title"); len(titles) == 0 || htmlcheck.Text(titles[0]) != subject {
		t.Errorf("HTML title: got %d titles, want one with the subject %q", len(titles), subject)
	}
	htmlText, hrefs := htmlcheck.Text(doc), htmlcheck.Hrefs(doc)
	for _, w := range c.Want {
		if !strings.Contains(text, w) {
			t.Errorf("text part: got no %q in:\n%s", w, text)
		}
		if !strings.Contains(htmlText, w) && !slices.Contains(hrefs, w) {
			t.Errorf("HTML part: got no %q", w)
		}
	}
	if data.Link != "" {
		// The action link is a button, repeated as a plain link with the
		// address as its text.
		n := 0
		for _, h := range hrefs {
			if h == data.Link {
				n++
			}
		}
		if n != 2 {
			t.Errorf("HTML part: got %d links to %q, want 2 (button and plain link)", n, data.Link)
		}
		if !strings.Contains(htmlText, data.Link) {
			t.Errorf("HTML part: the link %q is not shown as text", data.Link)
		}
	}
	if data.Code != "" && (!strings.Contains(text, data.Code) || !strings.Contains(htmlText, data.Code)) {
		t.Errorf("the code %q is not in both parts", data.Code)
	}
	brand := pc.UI.Brand()
	if brand.SupportURL != "" && !slices.Contains(hrefs, brand.SupportURL) {
		t.Error("HTML part: got no support link")
	}
	if brand.LogoURL != "" && !slices.ContainsFunc(htmlcheck.ByTag(doc, "img"), func(n *html.Node) bool {
		return htmlcheck.AttrOr(n, "src", "") == brand.LogoURL && htmlcheck.AttrOr(n, "alt", "") == brand.ProductName
	}) {
		t.Error("HTML part: got no logo with the product name as its alt text")
	}
}

// EmailsUntrusted feeds values a request controls (a user agent and an
// address with line breaks and markup, a code with a line break, a
// javascript: link) into every email of the pack, in parallel subtests:
// none starts a line of its own, becomes markup or a link that runs
// script.
func (pc *PageCheck) EmailsUntrusted(t *testing.T) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(pc.Pack.Emails)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pc.checkUntrusted(t, name)
		})
	}
}

// checkUntrusted renders email name with untrusted values and checks it.
func (pc *PageCheck) checkUntrusted(t testing.TB, name string) {
	t.Helper()
	data := &ui.Email{
		To:        "user@example.com\r\nBcc: victim@example.com",
		Link:      "javascript:alert(1)",
		Code:      "123\n456",
		ExpiresIn: "1 hour\r\nReply with your password",
		IP:        "192.0.2.1\n\nYour account is compromised",
		UserAgent: "Evil/1.0\r\nClick https://evil.example.com <script>alert(1)</script>",
		When:      pc.Time,
	}
	subject, text, body, err := pc.UI.RenderEmail(name, data)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(subject, "\r\n") {
		t.Errorf("subject %q: got a line break", subject)
	}
	if strings.Contains(text, "\r") {
		t.Error("text part: got a carriage return")
	}
	for _, line := range strings.Split(text, "\n") {
		for _, injected := range []string{"Bcc:", "Click ", "Your account is compromised", "Reply with your password", "456"} {
			if strings.HasPrefix(strings.TrimSpace(line), injected) {
				t.Errorf("text part: an untrusted value started its own line: %q", line)
			}
		}
	}
	doc, err := htmlcheck.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(htmlcheck.ByTag(doc, "script")); n != 0 {
		t.Errorf("HTML part: got %d <script> from the user agent, want none", n)
	}
	for _, h := range htmlcheck.Hrefs(doc) {
		if strings.HasPrefix(strings.ToLower(h), "javascript:") {
			t.Errorf("HTML part: got a javascript link %q", h)
		}
	}
}

// ZeroData renders every page of the pack with a nil Page and with a
// signed-in Page without Data: the zero value the pack declares renders a
// valid page.
func (pc *PageCheck) ZeroData(t testing.TB) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(pc.Pack.Pages)) {
		for _, p := range []*ui.Page{nil, {User: pc.User, CSRFToken: "csrf"}} {
			rec := httptest.NewRecorder()
			pc.UI.Render(rec, httptest.NewRequest(http.MethodGet, pc.UI.Site().Path("/x"), nil), http.StatusOK, name, p)
			if rec.Code != http.StatusOK {
				t.Errorf("%s (signed in: %v): got status %d, want 200", name, p != nil, rec.Code)
				continue
			}
			token := ""
			if p != nil {
				token = p.CSRFToken
			}
			for _, pr := range htmlcheck.Check(rec.Body.String(), htmlcheck.Options{CSRFToken: token}) {
				t.Errorf("%s (signed in: %v): HTML check: %s", name, p != nil, pr)
			}
		}
	}
}

// covers checks that the names with a case are exactly the pack's names
// of that kind.
func (pc *PageCheck) covers(t testing.TB, kind string, names []string, declared map[string]any) {
	t.Helper()
	got := slices.Compact(slices.Sorted(slices.Values(names)))
	if want := slices.Sorted(maps.Keys(declared)); !slices.Equal(got, want) {
		t.Errorf("%s with a case: got %q, want every one of the %s pack %q", kind, got, pc.Pack.Name, want)
	}
}
