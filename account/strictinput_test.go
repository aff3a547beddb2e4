package account_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
)

// noRegisterHooks is an application without registration hooks: nothing
// reads a registration's other fields.
var noRegisterHooks = opts{Config: func(_ *apptest.App, c *account.Config) {
	c.Hooks.BeforeRegister, c.Hooks.AfterRegister = nil, nil
}}

// TestFormsCoverEveryRoute: every POST route the package mounts has a
// schema, and every schema is a mounted route's.
func TestFormsCoverEveryRoute(t *testing.T) {
	t.Parallel()
	a := newApp(t, opts{Second: true})
	unschemed, unused := a.Account.FormsCheck()
	if len(unschemed) > 0 || len(unused) > 0 {
		t.Errorf("got routes without a schema %q and schemas without a route %q, want none", unschemed, unused)
	}
	if n := len(a.Account.FormPaths()); n < len(endpoints) {
		t.Errorf("got %d schemas, want one for each of the %d POST routes", n, len(endpoints))
	}
}

// counts are the rows a refused request must not add.
func counts(t *testing.T, a *app) [4]int {
	t.Helper()
	return [4]int{a.Count(t, "sigra_users", ""), a.Count(t, "sigra_tokens", ""), a.Count(t, "sigra_outbox", ""), a.Count(t, "sigra_audit_log", "")}
}

// TestStrictRegister: a registration whose JSON body holds a field the
// route does not take, a value of the wrong type or text that is not
// valid is refused with 400, a stable code and a message at the field;
// no user is created and nothing is sent.
func TestStrictRegister(t *testing.T) {
	t.Parallel()
	each(t, noRegisterHooks, func(t *testing.T, a *app) {
		before := counts(t, a)
		cases := []struct {
			name, body, code, field string
		}{
			{"is_admin", `{"email":"new@example.com","password":"correct horse battery","is_admin":true}`, "unknown_field", "is_admin"},
			{"email_confirmed_at", `{"email":"new@example.com","password":"correct horse battery","email_confirmed_at":"2020-01-01T00:00:00Z"}`, "unknown_field", "email_confirmed_at"},
			{"id", `{"id":"01900000-0000-7000-8000-000000000000","email":"new@example.com","password":"correct horse battery"}`, "unknown_field", "id"},
			{"JSON true for the address", `{"email":true,"password":"correct horse battery"}`, "invalid_type", "email"},
			{"a number for the password", `{"email":"new@example.com","password":12345678901234}`, "invalid_type", "password"},
			{"lone surrogate in the address", `{"email":"new\udc00@example.com","password":"correct horse battery"}`, "invalid_text", "email"},
			{"lone surrogate in the password", `{"email":"new@example.com","password":"correct horse\ud800 battery"}`, "invalid_text", "password"},
			{"invalid UTF-8 in the address", "{\"email\":\"new\xff@example.com\",\"password\":\"correct horse battery\"}", "invalid_text", "email"},
			{"control character in the address", `{"email":"new@example.com\u0000","password":"correct horse battery"}`, "invalid_text", "email"},
			{"duplicate key", `{"email":"new@example.com","email":"other@example.com","password":"correct horse battery"}`, "duplicate_field", "email"},
		}
		for _, tc := range cases {
			fields := wantError(t, tc.name, a.Client(t).JSON("POST", "/auth/register", tc.body), http.StatusBadRequest, tc.code)
			if fields[tc.field] == "" {
				t.Errorf("%s: got fields %v, want a message at %q", tc.name, fields, tc.field)
			}
			if tc.code == "unknown_field" && fields[tc.field] != "Unknown field." {
				t.Errorf("%s: got fields %v, want %q: \"Unknown field.\"", tc.name, fields, tc.field)
			}
		}
		if got := counts(t, a); got != before {
			t.Errorf("refused registrations: got users, tokens, emails, audit rows %v, want %v (unchanged)", got, before)
		}
		for _, e := range []string{"new@example.com", "new\ufffd@example.com", "other@example.com"} {
			if _, err := a.Store.UserByEmail(ctx, e); err == nil {
				t.Errorf("a user %q was created", e)
			}
		}
		a.Flush(t)
		if n := len(a.Mailbox.Messages("")); n != 0 {
			t.Errorf("refused registrations: got %d emails, want none", n)
		}

		// The same registration without the extra field goes through.
		res := a.Client(t).JSON("POST", "/auth/register", `{"email":"new@example.com","password":"correct horse battery"}`)
		if d := decode(t, res); res.StatusCode != http.StatusOK || !d.OK {
			t.Fatalf("valid registration: got %d %s, want 200 ok", res.StatusCode, res.Body)
		}
		a.User(t, "new@example.com")
	})
}

// TestStrictRegisterForm: a form's fields that the page does not read
// are ignored, but a field holding invalid UTF-8 is refused with 400 and
// the message shown at the field; nothing is stored.
func TestStrictRegisterForm(t *testing.T) {
	t.Parallel()
	each(t, noRegisterHooks, func(t *testing.T, a *app) {
		before := counts(t, a)
		c := a.Client(t)
		res := c.Post("/auth/register", form("email", "new\xff@example.com", "password", pw))
		wantStatus(t, "invalid UTF-8 (HTML)", res, http.StatusBadRequest)
		for _, want := range []string{`action="/auth/register"`, `class="field-error" id="email-error"`, "Holds characters that could not be read"} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("invalid UTF-8 (HTML): got a page without %s:\n%s", want, res.Body)
			}
		}
		h := http.Header{}
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		h.Set("Accept", "application/json")
		h.Set("Origin", a.Server.URL)
		h.Set("Sec-Fetch-Site", "same-origin")
		h.Set("X-CSRF-Token", c.CSRF())
		body := form("email", "new@example.com", "password", pw+"\xc3").Encode()
		fields := wantError(t, "invalid UTF-8 in the password (JSON answer)", c.Do("POST", "/auth/register", h, strings.NewReader(body)), http.StatusBadRequest, "invalid_text")
		if fields["password"] == "" {
			t.Errorf("invalid UTF-8 in the password: got fields %v, want a message at password", fields)
		}
		if got := counts(t, a); got != before {
			t.Errorf("refused registrations: got users, tokens, emails, audit rows %v, want %v (unchanged)", got, before)
		}

		// Fields the page does not read are ignored, never stored.
		res = c.Post("/auth/register", form("email", "new@example.com", "password", pw, "is_admin", "1", "email_confirmed_at", "2020-01-01"))
		wantStatus(t, "form with other fields", res, http.StatusOK)
		if u := a.User(t, "new@example.com"); !u.EmailConfirmedAt.IsZero() {
			t.Errorf("got the address confirmed at %v, want unconfirmed", u.EmailConfirmedAt)
		}
	})
}

// TestStrictRegisterWithHooks: with registration hooks the application's
// own fields (Hooks.Fields) reach them, but they must still be text or a
// boolean, and valid text; a field nobody declared is refused.
func TestStrictRegisterWithHooks(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		before := counts(t, a)
		for _, tc := range []struct{ name, body, code string }{
			{"a number", `{"email":"new@example.com","password":"correct horse battery","display_name":42}`, "invalid_type"},
			{"an object", `{"email":"new@example.com","password":"correct horse battery","terms":{"is_admin":true}}`, "invalid_type"},
			{"an undeclared field", `{"email":"new@example.com","password":"correct horse battery","display_name":"Ada","is_admin":true}`, "unknown_field"},
			{"a lone surrogate", `{"email":"new@example.com","password":"correct horse battery","display_name":"\udc00"}`, "invalid_text"},
		} {
			wantError(t, tc.name, a.Client(t).JSON("POST", "/auth/register", tc.body), http.StatusBadRequest, tc.code)
		}
		if got := counts(t, a); got != before {
			t.Errorf("refused registrations: got users, tokens, emails, audit rows %v, want %v (unchanged)", got, before)
		}
		if got := a.Hooks.registered(); len(got) != 0 {
			t.Errorf("got AfterRegister calls %v for refused registrations, want none", got)
		}
	})
}

// TestStrictInputEveryRoute: every POST route refuses a JSON body with a
// field it does not take, and one with a lone surrogate in a field it
// reads, with 400 and a stable code, before it changes anything.
func TestStrictInputEveryRoute(t *testing.T) {
	t.Parallel()
	each(t, noRegisterHooks, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		in := signedIn(t, a, "user@example.com")
		for _, path := range a.Account.FormPaths() {
			p := "/auth" + path
			before := snapshot(t, a, "user@example.com")
			state, email := whoami(in)
			unknown, surrogate := "unknown_field", "invalid_text"
			wantError(t, p+" unknown field", in.JSON("POST", p, `{"is_admin":true}`), http.StatusBadRequest, unknown)
			wantError(t, p+" lone surrogate", in.JSON("POST", p, `{"csrf_token":"\udc00"}`), http.StatusBadRequest, surrogate)
			wantUnchanged(t, p, a, before, "user@example.com")
			if s, e := whoami(in); s != state || e != email {
				t.Errorf("%s: got the client %s %q, want it still %s %q", p, s, e, state, email)
			}
		}
	})
}

// TestStrictLogin: the sign-in form's checkbox must be a boolean in JSON,
// and its form values are read as browsers send them.
func TestStrictLogin(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		c := a.Client(t)
		wantError(t, "remember as a string", c.JSON("POST", "/auth/login", `{"email":"user@example.com","password":"correct horse battery","remember":"yes"}`), http.StatusBadRequest, "invalid_type")
		wantError(t, "unknown field", c.JSON("POST", "/auth/login", `{"email":"user@example.com","password":"correct horse battery","aal":2}`), http.StatusBadRequest, "unknown_field")
		if state, _ := whoami(c); state == "authenticated" {
			t.Fatal("a refused sign-in signed the client in")
		}
		res := c.JSON("POST", "/auth/login", `{"email":" user@example.com ","password":"correct horse battery","remember":true,"return_to":"/home"}`)
		if d := decode(t, res); res.StatusCode != http.StatusOK || d.Next != "/home" {
			t.Fatalf("sign-in: got %d %s, want 200 with next /home", res.StatusCode, res.Body)
		}
		wantSignedIn(t, c, "user@example.com")
	})
}
