package account_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/token"
)

// TestFormsAsJSON: a GET of a form route that asks for JSON gets the
// form described as JSON (a live emailed link's page says ok, a dead one
// 410 link_expired), changes nothing and consumes no token; without
// asking for JSON it gets the page.
func TestFormsAsJSON(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		in := signedIn(t, a, "user@example.com")
		anon := a.Client(t)
		anon.Post("/auth/register", form("email", "unconfirmed@example.com", "password", pw))
		confirmTok := apptest.TokenOf(apptest.Link(t, a.LastMail(t, "unconfirmed@example.com"), "/auth/confirm"))
		resetTok := apptest.TokenOf(requestReset(t, a, "user@example.com"))
		magicTok := apptest.TokenOf(requestMagic(t, a, "user@example.com"))
		in.Post("/auth/email", form("email", "new@example.com"))
		emailTok := apptest.TokenOf(apptest.Link(t, a.LastMail(t, "new@example.com"), "/auth/email/confirm"))
		const dead = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		minLen := float64(a.Hasher.MinLength())

		cases := []struct {
			name   string
			c      *apptest.Client
			path   string
			status int
			want   map[string]any
		}{
			{"sign in", anon, "/auth/login", 200, map[string]any{"ok": true, "allow_register": true, "allow_magic_link": true}},
			{"register", anon, "/auth/register", 200, map[string]any{"ok": true, "min_password_length": minLen}},
			{"forgot", anon, "/auth/password/forgot", 200, map[string]any{"ok": true}},
			{"magic", anon, "/auth/magic", 200, map[string]any{"ok": true}},
			{"confirm code", anon, "/auth/confirm", 200, map[string]any{"ok": true, "code_length": float64(6)}},
			{"confirm code, signed in", in, "/auth/confirm", 200, map[string]any{"ok": true, "code_length": float64(6), "email": "user@example.com"}},
			{"confirm link", anon, "/auth/confirm?token=" + confirmTok, 200, map[string]any{"ok": true, "code_length": float64(6)}},
			{"confirm link, dead", anon, "/auth/confirm?token=" + dead, 410, nil},
			{"reset link", anon, "/auth/password/reset?token=" + resetTok, 200, map[string]any{"ok": true, "min_password_length": minLen}},
			{"reset link, dead", anon, "/auth/password/reset?token=" + dead, 410, nil},
			{"reset link, another purpose", anon, "/auth/password/reset?token=" + magicTok, 410, nil},
			{"magic link", anon, "/auth/magic/verify?token=" + magicTok, 200, map[string]any{"ok": true}},
			{"magic link, dead", anon, "/auth/magic/verify?token=" + dead, 410, nil},
			{"email change link", anon, "/auth/email/confirm?token=" + emailTok, 200, map[string]any{"ok": true, "new_email": "new@example.com"}},
			{"email change link, dead", anon, "/auth/email/confirm?token=", 410, nil},
			{"sudo", in, "/auth/sudo", 200, map[string]any{"ok": true, "has_password": true, "has_totp": false, "has_passkey": false, "has_linked_account": false}},
			{"delete", in, "/auth/delete", 200, map[string]any{"ok": true, "email": "user@example.com", "grace_seconds": float64(14 * 24 * 3600)}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := tc.c.For(t)
				before := snapshot(t, a, "user@example.com", "unconfirmed@example.com")
				res := c.JSON("GET", tc.path, "")
				if tc.status == http.StatusGone {
					wantError(t, "GET "+tc.path, res, http.StatusGone, "link_expired")
				} else {
					wantStatus(t, "GET "+tc.path, res, tc.status)
					var got map[string]any
					if err := json.Unmarshal([]byte(res.Body), &got); err != nil {
						t.Fatalf("GET %s: got %s, want JSON (%v)", tc.path, res.Body, err)
					}
					if !reflect.DeepEqual(got, tc.want) {
						t.Errorf("GET %s: got %v, want %v", tc.path, got, tc.want)
					}
				}
				wantUnchanged(t, "GET "+tc.path, a, before, "user@example.com", "unconfirmed@example.com")
				// Without asking for JSON: the page.
				page := c.Get(tc.path)
				if page.StatusCode != tc.status || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
					t.Errorf("GET %s as a page: got %d %s, want %d text/html", tc.path, page.StatusCode, page.Header.Get("Content-Type"), tc.status)
				}
			})
		}
		// The links still work: looking at them consumed nothing.
		for _, tok := range []string{confirmTok, resetTok, magicTok, emailTok} {
			if n := a.Count(t, "sigra_tokens", "digest = ?", token.Digest(tok)); n != 1 {
				t.Errorf("a token was consumed by a GET: got %d rows, want 1", n)
			}
		}
	})
}

// TestFormsAsJSONDisabled: the sign-in form says when registration and
// magic links are turned off, and their routes are not served.
func TestFormsAsJSONDisabled(t *testing.T) {
	t.Parallel()
	off := func(_ *apptest.App, c *account.Config) { c.DisableRegistration, c.DisableMagicLink = true, true }
	each(t, opts{Config: off}, func(t *testing.T, a *app) {
		c := a.Client(t)
		res := c.JSON("GET", "/auth/login", "")
		var got map[string]any
		if err := json.Unmarshal([]byte(res.Body), &got); err != nil {
			t.Fatalf("GET /auth/login: got %d %s, want JSON", res.StatusCode, res.Body)
		}
		if want := map[string]any{"ok": true, "allow_register": false, "allow_magic_link": false}; !reflect.DeepEqual(got, want) {
			t.Errorf("GET /auth/login: got %v, want %v", got, want)
		}
		page := c.Get("/auth/login")
		if strings.Contains(page.Body, `href="/auth/register"`) || strings.Contains(page.Body, `href="/auth/magic"`) {
			t.Errorf("sign-in page: got links to turned-off routes:\n%s", page.Body)
		}
		for _, p := range []string{"/auth/register", "/auth/magic", "/auth/magic/verify"} {
			wantStatus(t, "GET "+p, c.Get(p), http.StatusNotFound)
		}
	})
}
