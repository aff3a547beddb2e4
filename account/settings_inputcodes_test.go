package account_test

import (
	"net/http"
	"strings"
	"testing"
)

// refusedBody is a JSON body a route refuses, with the code and the field
// the refusal must name.
type refusedBody struct {
	name, body, code, field string
}

// TestSettingsInputCodes: the settings forms (email change, password
// change) and the revocation of one session answer a JSON body with a
// field they do not take, a value of the wrong type or invalid UTF-8 with
// 400, the refusal's own code and a message at the field, as every other
// route does; nothing changes: no address reserved, no password set, no
// session revoked, no email, no audit row.
func TestSettingsInputCodes(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")
		other := signedIn(t, a, "user@example.com")
		var otherID string
		for _, d := range devices(t, c) {
			if !d.Current {
				otherID = d.ID
			}
		}
		if otherID == "" {
			t.Fatal("no other session to name")
		}
		before := snapshot(t, a, u.Email)
		audits := a.Count(t, "sigra_audit_log", "")

		cases := map[string][]refusedBody{
			"/auth/email": {
				{"unknown field", `{"email":"new@example.com","is_admin":true}`, "unknown_field", "is_admin"},
				{"wrong type", `{"email":["new@example.com"]}`, "invalid_type", "email"},
				{"invalid UTF-8", "{\"email\":\"new\xff@example.com\"}", "invalid_text", "email"},
			},
			"/auth/password": {
				{"unknown field", `{"current_password":"` + pw + `","password":"a brand new passphrase","user_id":"x"}`, "unknown_field", "user_id"},
				{"wrong type", `{"current_password":"` + pw + `","password":12345678901234}`, "invalid_type", "password"},
				{"invalid UTF-8", "{\"current_password\":\"" + pw + "\",\"password\":\"a brand new\xff passphrase\"}", "invalid_text", "password"},
			},
			"/auth/sessions/revoke": {
				{"unknown field", `{"id":"` + otherID + `","all":true}`, "unknown_field", "all"},
				{"wrong type", `{"id":["` + otherID + `"]}`, "invalid_type", "id"},
				{"invalid UTF-8", "{\"id\":\"" + otherID + "\xff\"}", "invalid_text", "id"},
			},
		}
		for path, bodies := range cases {
			for _, b := range bodies {
				fields := wantError(t, path+" "+b.name, c.JSON("POST", path, b.body), http.StatusBadRequest, b.code)
				if fields[b.field] == "" {
					t.Errorf("%s %s: got fields %v, want a message at %q", path, b.name, fields, b.field)
				}
			}
		}

		wantUnchanged(t, "refused settings bodies", a, before, u.Email)
		if got := a.Count(t, "sigra_audit_log", ""); got != audits {
			t.Errorf("refused settings bodies: got %d audit rows, want %d", got, audits)
		}
		wantSignedIn(t, other, "user@example.com")
		wantSignedIn(t, c, "user@example.com")
		c.SignIn("user@example.com", pw) // the password is unchanged

		// A missing id is its own error.
		wantError(t, "no id", c.JSON("POST", "/auth/sessions/revoke", `{}`), http.StatusBadRequest, "invalid_input")
		wantSignedIn(t, other, "user@example.com")
	})
}

// TestSettingsInputCodesHTML: a settings form or the sessions page posted
// with invalid UTF-8 shows its page again with 400 and the message at the
// field; nothing changes.
func TestSettingsInputCodesHTML(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")
		other := signedIn(t, a, "user@example.com")
		var otherID string
		for _, d := range devices(t, c) {
			if !d.Current {
				otherID = d.ID
			}
		}
		c.Get("/auth/settings") // the form's token
		before := snapshot(t, a, u.Email)

		for _, tc := range []struct {
			path  string
			form  []string
			wants []string
		}{
			{"/auth/email", []string{"email", "new\xff@example.com"}, []string{`action="/auth/email"`, `id="email-error"`, "Holds characters that could not be read"}},
			{"/auth/password", []string{"current_password", pw, "password", "a brand new\xff passphrase"}, []string{`action="/auth/password"`, "Holds characters that could not be read"}},
			{"/auth/sessions/revoke", []string{"id", otherID + "\xff"}, []string{"Signed-in devices", `action="/auth/sessions/revoke"`, "holds characters that are not allowed"}},
		} {
			res := c.Post(tc.path, form(tc.form...))
			wantStatus(t, tc.path+" (HTML)", res, http.StatusBadRequest)
			for _, want := range tc.wants {
				if !strings.Contains(res.Body, want) {
					t.Errorf("%s (HTML): got a page without %s:\n%s", tc.path, want, res.Body)
				}
			}
		}
		wantUnchanged(t, "refused settings forms", a, before, u.Email)
		wantSignedIn(t, other, "user@example.com")
	})
}
