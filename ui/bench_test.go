package ui

import (
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// discardWriter is a ResponseWriter that throws the body away, so the
// benchmarks measure rendering, not a recorder's buffer growth.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkRender measures Render for a small and a large page. The
// baseline executes a bare html/template of the same page straight into
// io.Discard: the difference is the cost of buffering, headers and the
// layout machinery.
func BenchmarkRender(b *testing.B) {
	u := newTestUI(b, Config{})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	login := &Page{Links: allLinks(), CSRFToken: "tok", Data: &LoginData{AllowRegister: true, AllowMagicLink: true}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var devices []Device
	for i := range 10 {
		devices = append(devices, Device{ID: string(rune('a' + i)), Browser: "Firefox", OS: "Linux", IP: "192.0.2.1", Current: i == 0, CreatedAt: t0, LastSeenAt: t0})
	}
	sessions := &Page{Links: allLinks(), User: testUser, CSRFToken: "tok", Data: &SessionsData{Devices: devices}}

	for _, tc := range []struct {
		name string
		page string
		p    *Page
	}{{"login", "login", login}, {"sessions-10", "sessions", sessions}} {
		b.Run("baseline-template/"+tc.name, func(b *testing.B) {
			t := u.pages[tc.page]
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
				u.Render(w, req, http.StatusOK, tc.page, tc.p)
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

func BenchmarkRenderEmail(b *testing.B) {
	u := newTestUI(b, Config{})
	e := &Email{To: "user@example.com", Link: "https://app.example.com/auth/confirm?token=abc", Code: "123456", ExpiresIn: "48 hours"}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := u.RenderEmail("confirm", e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		newTestUI(b, Config{})
	}
}
