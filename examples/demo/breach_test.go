package main

import (
	"crypto/sha1"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// With -breach-api, a sign-in with a breached password lands on the page
// that asks for a new one, and the private pages wait for it.
func TestBreachAPI(t *testing.T) {
	t.Parallel()
	const breached = "a passphrase from a breach"
	sum := fmt.Sprintf("%X", sha1.Sum([]byte(breached)))
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimPrefix(r.URL.Path, "/range/") == sum[:5] {
			fmt.Fprintf(w, "%s:42\r\n", sum[5:])
		}
	}))
	t.Cleanup(api.Close)
	d := startDemo(t, Config{DB: filepath.Join(t.TempDir(), "demo.db"), NoSeed: true, BreachAPI: api.URL}, false)
	d.CreateUser(t, "user@example.com", breached)
	c := d.Client(t)
	res := c.SignIn("user@example.com", breached)
	if got := res.Header.Get("Location"); got != "/auth/password/renew" {
		t.Fatalf("sign-in: got Location %q, want the renewal page", got)
	}
	if got := c.Get("/private").Header.Get("Location"); got != "/auth/password/renew?return_to=%2Fprivate" {
		t.Fatalf("GET /private: got Location %q, want the renewal page", got)
	}
}
