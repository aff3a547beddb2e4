package middleware_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
)

// errorPages is a Routes that renders error pages, as *ui.UI does.
type errorPages struct{ routes }

func (errorPages) RenderError(w http.ResponseWriter, r *http.Request, status int, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "<p>rendered: "+message+"</p>")
}

// TestRefuseImpersonation: in an impersonated session, RefuseImpersonation,
// RequireSudo (even within the sudo window) and RequireAAL2 answer 403
// "impersonation_forbidden" (JSON) or an error page (HTML); the same
// routes let the admin's own session through.
func TestRefuseImpersonation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	g, err := middleware.New(e.m, middleware.Config{Routes: errorPages{e.routes}})
	if err != nil {
		t.Fatal(err)
	}
	target := &store.User{Email: "target@example.com", CreatedAt: e.clock.Now()}
	if err := e.st.CreateUser(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux := http.NewServeMux()
	mux.Handle("POST /refuse", g.RefuseImpersonation(ok))
	mux.Handle("GET /refuse", g.RefuseImpersonation(ok))
	mux.Handle("POST /sudo-only", g.RequireSudo(ok))
	mux.Handle("GET /aal2", g.RequireAAL2(ok))
	mux.Handle("GET /private", g.RequireUser(ok))
	mux.Handle("POST /refuse-plain", e.g.RefuseImpersonation(ok))
	mux.HandleFunc("POST /test/signin", func(w http.ResponseWriter, r *http.Request) {
		u := &sigra.User{ID: e.user.ID, Email: e.user.Email}
		if err := e.m.SignIn(r.Context(), u, []sigra.Method{sigra.MethodPassword}, sigra.AAL1, false); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("POST /test/impersonate", func(w http.ResponseWriter, r *http.Request) {
		if err := e.m.StartImpersonation(r.Context(), &sigra.User{ID: target.ID, Email: target.Email}); err != nil {
			t.Error(err)
		}
	})
	srv := httptest.NewServer(e.m.LoadAndSave(mux))
	t.Cleanup(srv.Close)
	e.srv = srv

	c := e.client()
	e.do(c, "POST", "/test/signin", nil)
	// The admin's own session, in sudo: everything but the AAL2 route passes.
	for _, p := range []struct{ method, path string }{{"POST", "/refuse"}, {"GET", "/refuse"}, {"POST", "/sudo-only"}, {"GET", "/private"}} {
		if res := e.do(c, p.method, p.path, jsonHdr); res.StatusCode != http.StatusOK {
			t.Errorf("admin's own session: %s %s: got %d, want 200", p.method, p.path, res.StatusCode)
		}
	}
	e.do(c, "POST", "/test/impersonate", nil)
	for _, p := range []struct{ method, path string }{{"POST", "/refuse"}, {"GET", "/refuse"}, {"POST", "/sudo-only"}, {"GET", "/aal2"}} {
		res := e.do(c, p.method, p.path, jsonHdr)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("impersonating: %s %s: got %d, want 403", p.method, p.path, res.StatusCode)
			continue
		}
		if code := errorCode(t, res); code != "impersonation_forbidden" {
			t.Errorf("impersonating: %s %s: got code %q, want impersonation_forbidden", p.method, p.path, code)
		}
		html := e.do(c, p.method, p.path, nil)
		b, _ := io.ReadAll(html.Body)
		if html.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "rendered: "+middleware.ImpersonationMessage) {
			t.Errorf("impersonating, HTML: %s %s: got %d %q, want 403 with the error page", p.method, p.path, html.StatusCode, b)
		}
	}
	if res := e.do(c, "GET", "/private", jsonHdr); res.StatusCode != http.StatusOK {
		t.Errorf("impersonating: GET /private: got %d, want 200 (ordinary routes work)", res.StatusCode)
	}

	// Without an error page renderer, a minimal HTML page.
	plain := e.do(c, "POST", "/refuse-plain", nil)
	b, _ := io.ReadAll(plain.Body)
	if plain.StatusCode != http.StatusForbidden || !strings.HasPrefix(string(b), "<!doctype html>") || !strings.Contains(string(b), middleware.ImpersonationMessage) {
		t.Errorf("plain refusal: got %d %q, want 403 with a minimal page", plain.StatusCode, b)
	}
}
