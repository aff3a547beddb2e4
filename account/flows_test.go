package account_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/internal/apptest"
)

// TestRegisterConfirmSignIn: the main path end to end, under the default
// prefix /auth.
func TestRegisterConfirmSignIn(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		c := a.Client(t)
		wantStatus(t, "register page", c.Get("/auth/register"), http.StatusOK)
		res := c.Post("/auth/register", form("email", "new@example.com", "password", pw))
		wantStatus(t, "register", res, http.StatusOK)
		if !strings.Contains(res.Body, "Check your email") {
			t.Fatalf("register: got a page without \"Check your email\":\n%s", res.Body)
		}
		m := a.LastMail(t, "new@example.com")
		link := apptest.Link(t, m, "/auth/confirm")
		apptest.Code(t, m)
		// GET shows a confirm page and changes nothing.
		wantStatus(t, "confirm page", c.Get(link), http.StatusOK)
		if u := a.User(t, "new@example.com"); !u.EmailConfirmedAt.IsZero() {
			t.Fatalf("after GET of the link: got confirmed at %v, want unconfirmed", u.EmailConfirmedAt)
		}
		wantRedirect(t, "confirm", c.Post("/auth/confirm", form("token", apptest.TokenOf(link))), "/auth/login?notice=confirmed")
		if u := a.User(t, "new@example.com"); u.EmailConfirmedAt.IsZero() {
			t.Fatal("after confirming: got an unconfirmed address, want it confirmed")
		}
		c.SignIn("new@example.com", pw)
		if state, email, aal := c.Whoami(); state != "authenticated" || email != "new@example.com" || aal != 1 {
			t.Fatalf("after sign-in: got %s %s AAL%d, want authenticated new@example.com AAL1", state, email, aal)
		}
		if res := c.Get("/private"); res.StatusCode != http.StatusOK || res.Body != "private of new@example.com" {
			t.Fatalf("private page: got %d %q, want 200 \"private of new@example.com\"", res.StatusCode, res.Body)
		}
		wantRedirect(t, "logout", c.Post("/auth/logout", nil), "/auth/login?notice=signed_out")
		wantAnonymous(t, c)
	})
}

// TestMountUnderAnotherPrefix: with the site's prefix "/account", every
// route, emailed link, redirect and the guards' redirects move with it,
// and nothing answers under /auth.
func TestMountUnderAnotherPrefix(t *testing.T) {
	t.Parallel()
	each(t, opts{Prefix: "/account"}, func(t *testing.T, a *app) {
		if got := a.Path("/login"); got != "/account/login" {
			t.Fatalf("Path(/login): got %q, want /account/login", got)
		}
		c := a.Client(t)
		// The guards send the anonymous browser to the sign-in page under
		// the prefix.
		wantRedirect(t, "anonymous private page", c.Get("/private"), "/account/login?return_to=%2Fprivate")
		wantStatus(t, "sign-in page under /auth", c.Get("/auth/login"), http.StatusNotFound)
		login := c.Get("/account/login")
		wantStatus(t, "sign-in page", login, http.StatusOK)
		for _, want := range []string{`action="/account/login"`, `href="/account/register"`, `href="/account/password/forgot"`, `href="/account/magic"`, `/account/assets/`} {
			if !strings.Contains(login.Body, want) {
				t.Errorf("sign-in page: got no %s, want the links under /account", want)
			}
		}

		wantStatus(t, "register", c.Post("/account/register", form("email", "new@example.com", "password", pw)), http.StatusOK)
		m := a.LastMail(t, "new@example.com")
		link := apptest.Link(t, m, "/confirm")
		if want := a.URL + "/account/confirm?token="; !strings.HasPrefix(link, want) {
			t.Fatalf("confirmation link: got %q, want it to start with %q", link, want)
		}
		page := c.Get(link)
		wantStatus(t, "confirm page", page, http.StatusOK)
		if !strings.Contains(page.Body, `action="/account/confirm"`) {
			t.Errorf("confirm page: got no form posting to /account/confirm:\n%s", page.Body)
		}
		wantRedirect(t, "confirm", c.Post("/account/confirm", form("token", apptest.TokenOf(link))), "/account/login?notice=confirmed")

		wantRedirect(t, "sign in", c.Post("/account/login", form("email", "new@example.com", "password", pw, "return_to", "/private")), "/private")
		wantSignedIn(t, c, "new@example.com")
		settings := c.Get("/account/settings")
		wantStatus(t, "settings", settings, http.StatusOK)
		for _, want := range []string{`action="/account/email"`, `action="/account/password"`, `href="/account/sessions"`, `href="/account/delete"`} {
			if !strings.Contains(settings.Body, want) {
				t.Errorf("settings page: got no %s, want the forms and links under /account", want)
			}
		}

		// Sudo: the guard sends a stale session to the sudo page under the
		// prefix, and the sudo form brings it back.
		a.Clock.Advance(11 * time.Minute)
		wantRedirect(t, "billing without sudo", c.Get("/billing"), "/account/sudo?return_to=%2Fbilling")
		wantRedirect(t, "delete page without sudo", c.Get("/account/delete"), "/account/sudo?return_to=%2Faccount%2Fdelete")
		sudo := c.Get("/account/sudo?return_to=%2Fbilling")
		if !strings.Contains(sudo.Body, `action="/account/sudo"`) {
			t.Errorf("sudo page: got no form posting to /account/sudo:\n%s", sudo.Body)
		}
		wantRedirect(t, "sudo", c.Post("/account/sudo", form("password", pw, "return_to", "/billing")), "/billing")
		if res := c.Get("/billing"); res.StatusCode != http.StatusOK || res.Body != "billing" {
			t.Errorf("billing after sudo: got %d %q, want 200 \"billing\"", res.StatusCode, res.Body)
		}
		// Without return_to, sudo lands on the settings page.
		wantRedirect(t, "sudo without return_to", c.Post("/account/sudo", form("password", pw)), "/account/settings")

		wantRedirect(t, "sign out", c.Post("/account/logout", nil), "/account/login?notice=signed_out")
		wantAnonymous(t, c)
		wantRedirect(t, "settings after sign-out", c.Get("/account/settings"), "/account/login?return_to=%2Faccount%2Fsettings")
	})
}
