package ui

import (
	"errors"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/justinas/nosurf"

	"github.com/sigra-go/sigra"
)

// withUser returns r with a signed-in user (or a session in state) in
// its context, as the session middleware leaves it.
func withUser(r *http.Request, u *sigra.User, state sigra.State) *http.Request {
	return r.WithContext(sigra.WithAuth(r.Context(), &sigra.Auth{User: u, State: state, AAL: sigra.AAL1}))
}

func TestFill(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	unconfirmed := &sigra.User{ID: "u2", Email: "new@example.com", CreatedAt: time.Unix(0, 0)}
	tests := []struct {
		name   string
		query  string
		user   *sigra.User
		state  sigra.State
		in     *Page
		want   Page
		banner string // a part of the banner; "" for none
	}{
		{name: "anonymous", want: Page{CSRFField: DefaultCSRFField}},
		{name: "nil page", in: nil, want: Page{CSRFField: DefaultCSRFField}},
		{name: "signed in", user: testUser, state: sigra.StateAuthenticated,
			want: Page{User: testUser, CSRFField: DefaultCSRFField}},
		{name: "pending second factor", user: testUser, state: sigra.StatePending,
			want: Page{CSRFField: DefaultCSRFField}},
		{name: "unconfirmed", user: unconfirmed, state: sigra.StateAuthenticated,
			want:   Page{User: unconfirmed, CSRFField: DefaultCSRFField},
			banner: "we sent a link to new@example.com"},
		{name: "local return_to", query: "return_to=" + url.QueryEscape("/billing?tab=card"),
			want: Page{CSRFField: DefaultCSRFField, ReturnTo: "/billing?tab=card"}},
		{name: "foreign return_to", query: "return_to=" + url.QueryEscape("//evil.example/x"),
			want: Page{CSRFField: DefaultCSRFField}},
		{name: "absolute return_to", query: "return_to=" + url.QueryEscape("https://evil.example/"),
			want: Page{CSRFField: DefaultCSRFField}},
		{name: "encoded return_to", query: "return_to=" + url.QueryEscape("/%2F/evil.example"),
			want: Page{CSRFField: DefaultCSRFField}},
		{name: "notice", query: "notice=saved",
			want: Page{CSRFField: DefaultCSRFField, Flash: "Your profile was saved."}},
		{name: "unknown notice", query: "notice=" + url.QueryEscape("<b>Your account is locked</b>"),
			want: Page{CSRFField: DefaultCSRFField}},
		{name: "fields already set are kept", query: "notice=saved&return_to=/b", user: testUser, state: sigra.StateAuthenticated,
			in:     &Page{User: unconfirmed, CSRFField: "other", CSRFToken: "given", Flash: "Mine.", ReturnTo: "/a", Banner: "Hello."},
			want:   Page{User: unconfirmed, CSRFField: "other", CSRFToken: "given", Flash: "Mine.", ReturnTo: "/a", Banner: "Hello."},
			banner: "Hello."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/auth/x?"+tc.query, nil)
			if tc.user != nil {
				r = withUser(r, tc.user, tc.state)
			}
			got := u.Fill(r, tc.in)
			if tc.in != nil && got != tc.in {
				t.Errorf("Fill returned another page than the one given")
			}
			if tc.banner == "" && got.Banner != "" || !strings.Contains(got.Banner, tc.banner) {
				t.Errorf("got banner %q, want %q", got.Banner, tc.banner)
			}
			gotNoBanner, want := *got, tc.want
			gotNoBanner.Banner, want.Banner = "", ""
			if !reflect.DeepEqual(gotNoBanner, want) {
				t.Errorf("got %+v, want %+v", gotNoBanner, want)
			}
		})
	}
}

// TestFillPostedReturnTo: a page answering a POST keeps the return_to the
// form posted, once the handler has parsed the form; Fill never parses
// the body itself.
func TestFillPostedReturnTo(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	form := func(rt string) string { return url.Values{"return_to": {rt}, "code": {"123456"}}.Encode() }
	tests := []struct {
		name      string
		query     string
		body      string
		multipart bool
		parse     bool
		want      string
	}{
		{name: "form's return_to", body: form("/billing?tab=card"), parse: true, want: "/billing?tab=card"},
		{name: "the form's wins over the query's", query: "return_to=%2Ffrom-query", body: form("/from-form"), parse: true, want: "/from-form"},
		{name: "form without return_to: the query's", query: "return_to=%2Ffrom-query", body: "code=1", parse: true, want: "/from-query"},
		{name: "foreign return_to in the form: the query's", query: "return_to=%2Ffrom-query", body: form("//evil.example/x"), parse: true, want: "/from-query"},
		{name: "absolute return_to in the form", body: form("https://evil.example/"), parse: true, want: ""},
		{name: "multipart form", body: "/from-multipart", multipart: true, parse: true, want: "/from-multipart"},
		{name: "form not parsed: the query's only", query: "return_to=%2Ffrom-query", body: form("/from-form"), want: "/from-query"},
		{name: "form not parsed, no query", body: form("/from-form"), want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := tc.body, "application/x-www-form-urlencoded"
			if tc.multipart {
				var buf strings.Builder
				mw := multipart.NewWriter(&buf)
				if err := mw.WriteField("return_to", tc.body); err != nil {
					t.Fatal(err)
				}
				if err := mw.Close(); err != nil {
					t.Fatal(err)
				}
				body, ct = buf.String(), mw.FormDataContentType()
			}
			r := httptest.NewRequest(http.MethodPost, "/auth/x?"+tc.query, strings.NewReader(body))
			r.Header.Set("Content-Type", ct)
			if tc.parse {
				var err error
				if tc.multipart {
					err = r.ParseMultipartForm(1 << 20)
				} else {
					err = r.ParseForm()
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := u.Fill(r, nil).ReturnTo; got != tc.want {
				t.Errorf("got ReturnTo %q, want %q", got, tc.want)
			}
			if !tc.parse {
				if r.PostForm != nil {
					t.Errorf("Fill parsed the form: got PostForm %v, want nil", r.PostForm)
				}
				if rest, err := io.ReadAll(r.Body); err != nil || string(rest) != body {
					t.Errorf("after Fill the body holds %q (%v), want it unread: %q", rest, err, body)
				}
			}
		})
	}
	// A page answering a POST shows the form's return_to in its hidden field.
	r := httptest.NewRequest(http.MethodPost, "/auth/login?return_to=%2Fquery", strings.NewReader(form("/posted")))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	u.Render(rec, r, http.StatusUnprocessableEntity, "login", nil)
	if got := hiddenValues(parseHTML(t, rec.Body.String()), "return_to"); !slices.Equal(got, []string{"/posted"}) {
		t.Errorf("got return_to fields %q, want [/posted]", got)
	}
}

// TestFillCSRF drives requests through nosurf, so the page carries the
// request's real token, and the forms post it back.
func TestFillCSRF(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	var filled, fromNosurf string
	h := nosurf.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		filled = u.Fill(r, nil).CSRFToken
		fromNosurf = nosurf.Token(r)
		u.Render(w, r, http.StatusOK, "login", nil)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.example.com/auth/login", nil))
	if filled == "" || filled != fromNosurf {
		t.Fatalf("Fill set CSRFToken %q, want nosurf's token %q", filled, fromNosurf)
	}
	doc := parseHTML(t, rec.Body.String())
	checkDocument(t, doc, DefaultCSRFField, fromNosurf)
	if got := hiddenValues(doc, DefaultCSRFField); len(got) != 1 {
		t.Errorf("got CSRF fields %q, want one", got)
	}
	// Without the middleware there is no token, and no failure either.
	if got := u.Fill(httptest.NewRequest(http.MethodGet, "/", nil), nil).CSRFToken; got != "" {
		t.Errorf("got CSRFToken %q without the middleware, want \"\"", got)
	}
}

// TestRenderFillsFromRequest checks what a page shows of the request, and
// that Render leaves the caller's Page as it was.
func TestRenderFillsFromRequest(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	unconfirmed := &sigra.User{ID: "u2", Email: "new@example.com", CreatedAt: time.Unix(0, 0)}
	p := &Page{Values: map[string]string{"email": "typed@example.com"}, FieldErrors: map[string]string{}}
	before := *p
	before.Values = maps.Clone(p.Values)
	r := httptest.NewRequest(http.MethodGet, "/auth/login?notice=saved&return_to=%2Fbilling", nil)
	r = withUser(r, unconfirmed, sigra.StateAuthenticated)
	rec := httptest.NewRecorder()
	u.Render(rec, r, http.StatusOK, "login", p)
	if !reflect.DeepEqual(*p, before) {
		t.Errorf("Render changed the page: got %+v, want %+v", *p, before)
	}
	doc := parseHTML(t, rec.Body.String())
	checkDocument(t, doc, DefaultCSRFField, "")
	if !containsText(roles(doc, "status"), "Your profile was saved.") {
		t.Errorf("got status texts %q, want the notice", roles(doc, "status"))
	}
	if !containsText(roles(doc, "note"), "new@example.com") {
		t.Errorf("got notes %q, want the unconfirmed banner", roles(doc, "note"))
	}
	if got := hiddenValues(doc, "return_to"); !slices.Equal(got, []string{"/billing"}) {
		t.Errorf("got return_to fields %q, want [/billing]", got)
	}
	if !strings.Contains(text(byTag(doc, "header")[0]), "new@example.com") {
		t.Errorf("the header does not show the user from the context")
	}
	if in := inputsByName(doc)["email"]; len(in) != 1 || attrOr(in[0], "value", "") != "typed@example.com" {
		t.Errorf("the sticky value was lost")
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	r := withUser(httptest.NewRequest(http.MethodGet, "/auth/settings?notice=saved", nil), testUser, sigra.StateAuthenticated)
	profile := &profileSection{DisplayName: "Ada"}
	plan := &planSection{Plan: "team"}
	notes := &notesSection{Count: 2}
	var seen []string
	data := func(name string, v any) func(*http.Request) (any, error) {
		return func(got *http.Request) (any, error) {
			if got != r {
				t.Errorf("section %s: got another request than Settings'", name)
			}
			seen = append(seen, name)
			return v, nil
		}
	}
	sections := []Section{
		{Name: "notes", Order: 30, Data: data("notes", notes)},
		{Name: "plan", Order: 10, Data: data("plan", plan)},
		{Name: "profile", Order: 10, Data: data("profile", profile)},
		{Name: "notes", Order: 5, Data: data("hidden", nil)},
		{Name: "plan", Order: 1, Data: data("typed nil", (*planSection)(nil))},
		{Name: "profile", Order: 2},
	}
	in := slices.Clone(sections)
	p := &Page{FieldErrors: map[string]string{"note": "Too long."}, Values: map[string]string{"display_name": "Ada L."}}
	got, byName, err := u.Settings(r, p, sections)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(sections, in, func(a, b Section) bool { return a.Name == b.Name && a.Order == b.Order }) {
		t.Errorf("Settings reordered the caller's sections")
	}
	if want := []string{"typed nil", "hidden", "plan", "profile", "notes"}; !slices.Equal(seen, want) {
		t.Errorf("sections loaded in the order %q, want %q", seen, want)
	}
	if len(got.Sections) != 3 {
		t.Fatalf("got %d sections, want 3 (nil data leaves one out)", len(got.Sections))
	}
	for i, want := range []string{"team plan", "Shown as Ada.", "2 notes"} {
		if doc := parseHTML(t, string(got.Sections[i])); !strings.Contains(text(doc), want) {
			t.Errorf("section %d: got %q, want it to hold %q", i, text(doc), want)
		}
	}
	if want := map[string]any{"plan": plan, "profile": profile, "notes": notes}; !maps.Equal(byName, want) {
		t.Errorf("got data by name %v, want %v", byName, want)
	}

	// The data-only path loads the same data, in the same order.
	seen = nil
	dataOnly, err := u.SectionData(r, sections)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(dataOnly, byName) {
		t.Errorf("SectionData: got %v, want %v", dataOnly, byName)
	}
	if want := []string{"typed nil", "hidden", "plan", "profile", "notes"}; !slices.Equal(seen, want) {
		t.Errorf("SectionData loaded the sections in the order %q, want %q", seen, want)
	}

	// The page renders the sections; the field error shows in the
	// section that has the field, the sticky value in its own.
	p.Data = got
	rec := httptest.NewRecorder()
	u.Render(rec, r, http.StatusUnprocessableEntity, "settings", p)
	doc := parseHTML(t, rec.Body.String())
	checkDocument(t, doc, DefaultCSRFField, "")
	ids := byID(doc)
	if in := ids["note"]; in == nil || attrOr(in, "aria-invalid", "") != "true" || ancestor(in, "section") == nil ||
		!strings.Contains(text(ancestor(in, "section")), "Too long.") {
		t.Errorf("the note field is not marked with its error inside its section")
	}
	if in := ids["display_name"]; in == nil || attrOr(in, "value", "") != "Ada L." || attrOr(in, "aria-invalid", "") != "" {
		t.Errorf("the display name field lost its sticky value or got an error")
	}
	if !containsText(roles(doc, "status"), "Your profile was saved.") {
		t.Errorf("got status texts %q, want the notice", roles(doc, "status"))
	}
	wantFormAction(t, doc, "/auth/settings/profile")
	if n := countForms(doc, "/auth/settings/profile"); n != 2 {
		t.Errorf("got %d section forms, want 2", n)
	}
}

func TestSettingsFailures(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	down := errors.New("store is down")
	_, _, err := u.Settings(r, nil, []Section{
		{Name: "plan", Order: 1, Data: func(*http.Request) (any, error) { return &planSection{}, nil }},
		{Name: "notes", Order: 2, Data: func(*http.Request) (any, error) { return nil, down }},
	})
	if !errors.Is(err, down) || !strings.Contains(err.Error(), `"notes"`) {
		t.Errorf("got %v, want the cause and the section's name", err)
	}
	_, _, err = u.Settings(r, nil, []Section{{Name: "nope", Data: func(*http.Request) (any, error) { return 1, nil }}})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown section: got %v, want an error naming it", err)
	}
	_, _, err = u.Settings(r, nil, []Section{{Name: "plan", Data: func(*http.Request) (any, error) { return struct{ Other int }{}, nil }}})
	if !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), `"plan"`) {
		t.Errorf("data of another type: got %v, want ErrTemplate naming the section", err)
	}
	got, byName, err := u.Settings(r, nil, nil)
	if err != nil || len(got.Sections) != 0 || len(byName) != 0 {
		t.Errorf("no sections: got %v, %v, %v; want empty data", got, byName, err)
	}
}

// TestSectionData: the data-only path fails like Settings on a failing or
// unknown section, and renders nothing (data the template cannot render
// is still returned).
func TestSectionData(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	down := errors.New("store is down")
	other := struct{ Other int }{7}
	tests := []struct {
		name     string
		sections []Section
		want     map[string]any
		wantErr  error  // errors.Is
		errName  string // in the message
	}{
		{name: "no sections", want: map[string]any{}},
		{name: "failing section", sections: []Section{
			{Name: "plan", Order: 1, Data: func(*http.Request) (any, error) { return &planSection{}, nil }},
			{Name: "notes", Order: 2, Data: func(*http.Request) (any, error) { return nil, down }},
		}, wantErr: down, errName: `"notes"`},
		{name: "unknown section", sections: []Section{{Name: "nope", Data: func(*http.Request) (any, error) { return 1, nil }}}, errName: `"nope"`},
		{name: "unknown section without data", sections: []Section{{Name: "nope", Data: func(*http.Request) (any, error) { return nil, nil }}}, want: map[string]any{}},
		{name: "data the template cannot render", sections: []Section{{Name: "plan", Data: func(*http.Request) (any, error) { return other, nil }}},
			want: map[string]any{"plan": other}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := u.SectionData(r, tc.sections)
			if tc.errName != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errName) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("got %v, %v; want an error naming %s", got, err, tc.errName)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestRenderSectionDoesNotModifyPage(t *testing.T) {
	u := newDemoUI(t, Config{})
	p := &Page{Title: "T", Data: "page data"}
	if _, err := u.RenderSection("plan", p, &planSection{Plan: "x"}); err != nil {
		t.Fatal(err)
	}
	if p.Data != "page data" {
		t.Errorf("RenderSection changed Page.Data to %v", p.Data)
	}
	// A nil page renders like a zero one.
	h, err := u.RenderSection("plan", nil, &planSection{Plan: "solo"})
	if err != nil || !strings.Contains(string(h), "solo plan") {
		t.Errorf("got %q, %v; want the section", h, err)
	}
}

// TestRenderSectionNilData: a nil data, or a nil pointer of the section's
// type, renders like the zero value the pack declares, as a nil Page.Data
// does for a page.
func TestRenderSectionNilData(t *testing.T) {
	u := newDemoUI(t, Config{})
	want, err := u.RenderSection("plan", nil, &planSection{})
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range []any{nil, (*planSection)(nil)} {
		got, err := u.RenderSection("plan", nil, data)
		if err != nil || got != want {
			t.Errorf("data %#v: got %q, %v; want %q", data, got, err, want)
		}
	}
}
