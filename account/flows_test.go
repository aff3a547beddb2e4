package account_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/internal/testapp"
)

// each runs f on every backend.
func each(t *testing.T, opt testapp.Options, f func(t *testing.T, a *testapp.App)) {
	t.Helper()
	for _, b := range testapp.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			o := opt
			o.Backend = b
			f(t, testapp.New(t, o))
		})
	}
}

func TestRegisterConfirmSignIn(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		c := a.Client()
		if res := c.Get("/auth/register"); res.StatusCode != 200 {
			t.Fatalf("register page: %d", res.StatusCode)
		}
		res := c.Post("/auth/register", url.Values{"email": {"new@example.com"}, "password": {"correct horse battery"}})
		if res.StatusCode != 200 || !strings.Contains(res.Body, "Check your email") {
			t.Fatalf("register: got %d\n%s", res.StatusCode, res.Body)
		}
		m := a.LastMail("new@example.com")
		link := a.Link(m, "/auth/confirm")
		code := a.Code(m)
		if code == "" {
			t.Fatal("no code")
		}
		// GET shows a confirm page and changes nothing.
		if res := c.Get(link); res.StatusCode != 200 {
			t.Fatalf("confirm page: %d\n%s", res.StatusCode, res.Body)
		}
		if u := a.User("new@example.com"); !u.EmailConfirmedAt.IsZero() {
			t.Fatal("GET confirmed the address")
		}
		res = c.Post("/auth/confirm", url.Values{"token": {testapp.TokenOf(link)}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("confirm: got %d\n%s", res.StatusCode, res.Body)
		}
		if u := a.User("new@example.com"); u.EmailConfirmedAt.IsZero() {
			t.Fatal("address not confirmed")
		}
		c.SignIn("new@example.com", "correct horse battery")
		if state, email, aal := c.Whoami(); state != "authenticated" || email != "new@example.com" || aal != 1 {
			t.Fatalf("after sign-in: %s %s %d", state, email, aal)
		}
		if res := c.Get("/private"); res.StatusCode != 200 || !strings.Contains(res.Body, "new@example.com") {
			t.Fatalf("private page: %d %s", res.StatusCode, res.Body)
		}
		res = c.Post("/auth/logout", nil)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", res.StatusCode)
		}
		if state, _, _ := c.Whoami(); state != "anonymous" {
			t.Fatalf("after logout: %s", state)
		}
	})
}
