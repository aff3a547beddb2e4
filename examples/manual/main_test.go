package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestWiring builds the example's wiring on a temporary folder and a free
// port: the account pages are served under /account, and a page behind
// RequireUser sends an anonymous visitor there to sign in.
func TestWiring(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &http.Server{Handler: app(ctx, t.TempDir(), addr)}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	tests := []struct {
		name     string
		path     string
		status   int
		location string
		contains []string
	}{
		{"sign-in page under the prefix", "/account/login", http.StatusOK, "", []string{`action="/account/login"`, `href="/account/register"`, `/account/assets/`}},
		{"RequireUser, anonymous", "/", http.StatusSeeOther, "/account/login?return_to=%2F", nil},
		{"nothing under the default prefix", "/auth/login", http.StatusNotFound, "", nil},
		{"development mailbox", "/dev/mail/", http.StatusOK, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := client.Get("http://" + addr + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.status || res.Header.Get("Location") != tt.location {
				t.Fatalf("GET %s: got %d to %q, want %d to %q", tt.path, res.StatusCode, res.Header.Get("Location"), tt.status, tt.location)
			}
			for _, s := range tt.contains {
				if !strings.Contains(string(body), s) {
					t.Errorf("GET %s: page lacks %q", tt.path, s)
				}
			}
		})
	}
}
