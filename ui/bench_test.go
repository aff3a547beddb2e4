package ui

import (
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that throws the body away, so the
// benchmarks measure rendering, not a recorder's buffer growth.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkRender measures Render for a small page and for the settings
// page with its sections. The baseline executes the same page's template
// straight into io.Discard: the difference is the cost of buffering,
// filling from the request and headers. Render-unfolded renders from a
// UI built without the folding of the templates' constants (see fold):
// the difference is what folding saves.
func BenchmarkRender(b *testing.B) {
	u := newDemoUI(b, Config{})
	unfolded, err := build(u.site, Config{Packs: []Pack{testPack()}}, false)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	login := &Page{CSRFToken: "tok", CSRFField: DefaultCSRFField, Data: &loginData{AllowRegister: true}}
	settings, _, err := u.Settings(req, &Page{User: testUser}, []Section{
		{Name: "profile", Order: 1, Data: func(*http.Request) (any, error) { return &profileSection{DisplayName: "Ada"}, nil }},
		{Name: "plan", Order: 2, Data: func(*http.Request) (any, error) { return &planSection{Plan: "team"}, nil }},
		{Name: "notes", Order: 3, Data: func(*http.Request) (any, error) { return &notesSection{Count: 3}, nil }},
	})
	if err != nil {
		b.Fatal(err)
	}
	settingsPage := &Page{User: testUser, CSRFToken: "tok", CSRFField: DefaultCSRFField, Data: settings}

	for _, tc := range []struct {
		name string
		p    *Page
	}{{"login", login}, {"settings", settingsPage}} {
		b.Run("baseline-template/"+tc.name, func(b *testing.B) {
			t := pageSet(b, u, tc.name)
			b.ReportAllocs()
			for b.Loop() {
				if err := t.ExecuteTemplate(io.Discard, "base", tc.p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Render/"+tc.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				u.Render(w, req, http.StatusOK, tc.name, tc.p)
			}
		})
		b.Run("Render-unfolded/"+tc.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				unfolded.Render(w, req, http.StatusOK, tc.name, tc.p)
			}
		})
	}
	b.Run("baseline-minimal-html-template", func(b *testing.B) {
		t := template.Must(template.New("x").Parse(`<!doctype html><title>{{.Title}}</title><h1>{{.Title}}</h1>`))
		b.ReportAllocs()
		for b.Loop() {
			_ = t.Execute(io.Discard, login)
		}
	})
}

// BenchmarkSettings measures loading and rendering three sections.
func BenchmarkSettings(b *testing.B) {
	u := newDemoUI(b, Config{})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	sections := []Section{
		{Name: "profile", Order: 1, Data: func(*http.Request) (any, error) { return &profileSection{DisplayName: "Ada"}, nil }},
		{Name: "plan", Order: 2, Data: func(*http.Request) (any, error) { return &planSection{Plan: "team"}, nil }},
		{Name: "notes", Order: 3, Data: func(*http.Request) (any, error) { return &notesSection{Count: 3}, nil }},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := u.Settings(req, &Page{User: testUser}, sections); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderEmail(b *testing.B) {
	u := newDemoUI(b, Config{})
	e := &Email{To: "user@example.com", Link: "https://app.example.com/auth/confirm?token=abc", Code: "123456",
		ExpiresIn: "48 hours", Data: &welcomeMail{Name: "Ada", Plan: "team"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := u.RenderEmail("welcome", e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	s := newSite(b, "", nil)
	b.ReportAllocs()
	for b.Loop() {
		newTestUIOn(b, s, Config{Packs: []Pack{testPack()}})
	}
}

// BenchmarkFirstRender measures what building a set when it is first used
// costs (see lazySet), on a new UI each iteration (not timed): "first", the
// first page rendered after New, which also parses the layouts; "next", a
// page rendered after another, its layouts parsed already. Compare with
// BenchmarkRender, a page whose set is built.
func BenchmarkFirstRender(b *testing.B) {
	s := newSite(b, "", nil)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := &discardWriter{h: http.Header{}}
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			u := newTestUIOn(b, s, Config{Packs: []Pack{testPack()}})
			b.StartTimer()
			u.Render(w, req, http.StatusOK, "welcome", nil)
		}
	})
	b.Run("next", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			u := newTestUIOn(b, s, Config{Packs: []Pack{testPack()}})
			u.Render(w, req, http.StatusOK, "login", nil)
			b.StartTimer()
			u.Render(w, req, http.StatusOK, "welcome", nil)
		}
	})
}
