package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminConsole: the seeded administrator reaches the console and
// finds the demo account; the demo account itself gets 404 there.
func TestAdminConsole(t *testing.T) {
	t.Parallel()
	x := startDemo(t, Config{DB: filepath.Join(t.TempDir(), "demo.db")}, false)
	root, demo := x.Client(t), x.Client(t)
	root.SignIn(AdminEmail, demoPassword)
	demo.SignIn(DemoEmail, demoPassword)
	res := root.Get("/auth/admin/users?q=demo")
	wantStatus(t, "the administrator's users list", res, 200)
	if !strings.Contains(res.Body, DemoEmail) {
		t.Errorf("the users list lacks %s", DemoEmail)
	}
	wantStatus(t, "the audit explorer", root.Get("/auth/admin/audit"), 200)
	wantStatus(t, "the demo account on the console", demo.Get("/auth/admin/users"), 404)
	wantStatus(t, "the webhooks page", root.Get("/auth/admin/webhooks"), 200)
	wantStatus(t, "the demo account on the webhooks page", demo.Get("/auth/admin/webhooks"), 404)
}
