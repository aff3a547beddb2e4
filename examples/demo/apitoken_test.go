package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPIWhoami: the demo account creates a token on its settings page;
// /api/whoami answers it as JSON, refuses a token without the scope, and
// answers 401 without one.
func TestAPIWhoami(t *testing.T) {
	t.Parallel()
	x := startDemo(t, Config{DB: filepath.Join(t.TempDir(), "demo.db")}, false)
	c := x.Client(t)
	c.SignIn(DemoEmail, demoPassword)
	if s := c.Get(x.route(t, "settings")); !strings.Contains(s.Body, "API tokens") {
		t.Fatal("the settings page has no API tokens section")
	}
	create := func(body string) string {
		t.Helper()
		res := c.JSON("POST", x.route(t, "api_token_create"), body)
		wantStatus(t, "create token", res, http.StatusCreated)
		var out struct{ Token string }
		if err := json.Unmarshal([]byte(res.Body), &out); err != nil || out.Token == "" {
			t.Fatalf("create token: %s", res.Body)
		}
		return out.Token
	}
	tok := create(`{"name":"curl","scopes":"profile:read"}`)
	bare := create(`{"name":"bare"}`)
	get := func(tok string) (*http.Response, string) {
		res := x.Client(t).Do("GET", "/api/whoami", http.Header{"Authorization": {"Bearer " + tok}}, nil)
		return res.Response, res.Body
	}
	res, body := get(tok)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"email":"`+DemoEmail+`"`) {
		t.Fatalf("whoami: %d %s", res.StatusCode, body)
	}
	if res, body := get(bare); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "insufficient_scope") {
		t.Errorf("whoami without the scope: %d %s", res.StatusCode, body)
	}
	if res := x.Client(t).Get("/api/whoami"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("whoami without a token: %d", res.StatusCode)
	}
}
