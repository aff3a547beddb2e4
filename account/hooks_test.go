package account_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
)

// fieldsLog records the fields each BeforeRegister call received.
type fieldsLog struct {
	mu    sync.Mutex
	calls []map[string]string
}

func (l *fieldsLog) add(f map[string]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, maps.Clone(f))
}

func (l *fieldsLog) list() []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// errProfileDown is what BeforeRegister returns for display_name "down".
var errProfileDown = errors.New("profile service unavailable")

// withDisplayName returns an app whose BeforeRegister requires the field
// display_name (a FieldError without it), fails with errProfileDown for
// "down", and records the fields of every call in log.
func withDisplayName(t *testing.T, backend string, log *fieldsLog) *app {
	return newApp(t, opts{Backend: backend, Config: func(_ *apptest.App, c *account.Config) {
		c.Hooks.Fields = []string{"display_name", "terms"}
		c.Hooks.BeforeRegister = func(_ context.Context, fields map[string]string) error {
			log.add(fields)
			switch strings.TrimSpace(fields["display_name"]) {
			case "":
				return &account.FieldError{Field: "display_name", Message: "Tell us what to call you."}
			case "down":
				return errProfileDown
			}
			return nil
		}
	}})
}

// TestBeforeRegister: the hook sees every registration whose address and
// password are well formed, taken address or not, without the secrets; a
// FieldError refuses it with 422 and the message at the field (the page
// shown again, the typed values kept), another error with 500; either way
// nothing is stored or sent. Malformed requests never reach the hook.
func TestBeforeRegister(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			log := &fieldsLog{}
			a := withDisplayName(t, b, log)
			newUser(t, a, "owner@example.com")
			counts := func() [3]int {
				return [3]int{a.Count(t, "sigra_users", ""), a.Count(t, "sigra_tokens", ""), a.Count(t, "sigra_outbox", "")}
			}
			before := counts()

			// Refused by the hook: the same answer for a new and a taken
			// address.
			body := func(email string) string {
				return jsonOf(map[string]string{"email": email, "password": "another fine passphrase", "terms": "yes"})
			}
			fresh := a.Client(t).JSON("POST", "/auth/register", body("new@example.com"))
			taken := a.Client(t).JSON("POST", "/auth/register", body("owner@example.com"))
			fields := wantError(t, "without a display name", fresh, http.StatusUnprocessableEntity, "invalid_input")
			if fields["display_name"] != "Tell us what to call you." {
				t.Errorf("without a display name: got fields %v, want the hook's message at display_name", fields)
			}
			if taken.StatusCode != fresh.StatusCode || taken.Body != fresh.Body {
				t.Errorf("taken address: got %d %s, want the same answer as a new one (%d %s)", taken.StatusCode, taken.Body, fresh.StatusCode, fresh.Body)
			}
			res := a.Client(t).Post("/auth/register", form("email", "new@example.com", "password", "another fine passphrase", "display_name", " "))
			wantStatus(t, "HTML without a display name", res, http.StatusUnprocessableEntity)
			for _, want := range []string{"Tell us what to call you.", `action="/auth/register"`, `value="new@example.com"`} {
				if !strings.Contains(res.Body, want) {
					t.Errorf("HTML refusal: got a page without %s:\n%s", want, res.Body)
				}
			}
			if strings.Contains(res.Body, "another fine passphrase") {
				t.Error("HTML refusal: the page shows the password again")
			}
			// Another error: 500, nothing stored.
			wantError(t, "hook failing", a.Client(t).JSON("POST", "/auth/register", jsonOf(map[string]string{"email": "new@example.com", "password": "another fine passphrase", "display_name": "down"})),
				http.StatusInternalServerError, "internal")
			if got := counts(); got != before {
				t.Errorf("refused registrations: got users, tokens, emails %v, want %v (unchanged)", got, before)
			}
			if n := mailCount(t, a, "owner@example.com") + mailCount(t, a, "new@example.com"); n != 0 {
				t.Errorf("refused registrations: got %d emails, want none", n)
			}

			// Requests refused before the hook never reach it.
			calls := len(log.list())
			wantError(t, "malformed address", a.Client(t).JSON("POST", "/auth/register", `{"email":"nope","password":"another fine passphrase"}`), http.StatusUnprocessableEntity, "invalid_input")
			wantError(t, "no password", a.Client(t).JSON("POST", "/auth/register", `{"email":"new@example.com","display_name":"Ada"}`), http.StatusUnprocessableEntity, "invalid_input")
			wantError(t, "weak password", a.Client(t).JSON("POST", "/auth/register", `{"email":"new@example.com","password":"short","display_name":"Ada"}`), http.StatusUnprocessableEntity, "weak_password:too_short")
			if n := len(log.list()); n != calls {
				t.Errorf("got %d hook calls for malformed registrations, want none", n-calls)
			}

			// Accepted: the account is created.
			res = a.Client(t).JSON("POST", "/auth/register", jsonOf(map[string]string{"email": "new@example.com", "password": "another fine passphrase", "display_name": "Ada"}))
			if d := decode(t, res); res.StatusCode != http.StatusOK || !d.OK {
				t.Fatalf("with a display name: got %d %s, want 200 ok", res.StatusCode, res.Body)
			}
			a.User(t, "new@example.com")

			// The hook saw the fields, never the secrets.
			for i, f := range log.list() {
				for _, secret := range []string{"password", "current_password", "csrf_token"} {
					if _, ok := f[secret]; ok {
						t.Errorf("hook call %d: got the field %q, want it left out", i, secret)
					}
				}
			}
			if got := log.list()[0]; got["email"] != "new@example.com" || got["terms"] != "yes" {
				t.Errorf("first hook call: got fields %v, want email and terms", got)
			}
		})
	}
}

// TestAfterRegisterFields: AfterRegister gets the request's fields, the
// application's own (Hooks.Fields) included, but never the password, the
// CSRF token or a form input nobody declared; it is not called when the
// address was taken.
func TestAfterRegisterFields(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "owner@example.com")
		wantStatus(t, "form", a.Client(t).Post("/auth/register", form("email", "form@example.com", "password", pw, "display_name", "Ada", "newsletter", "on", "is_admin", "1")), http.StatusOK)
		wantStatus(t, "JSON", a.Client(t).JSON("POST", "/auth/register", `{"email":"json@example.com","password":"correct horse battery","display_name":"Grace","terms":true}`), http.StatusOK)
		wantStatus(t, "taken", a.Client(t).JSON("POST", "/auth/register", `{"email":"owner@example.com","password":"correct horse battery","display_name":"Mallory"}`), http.StatusOK)

		got := a.Hooks.registered()
		want := []map[string]string{
			{"email": "form@example.com", "display_name": "Ada", "newsletter": "on"},
			{"email": "json@example.com", "display_name": "Grace", "terms": "true"},
		}
		if len(got) != len(want) {
			t.Fatalf("got %d AfterRegister calls %v, want %d", len(got), got, len(want))
		}
		for i := range want {
			if !maps.Equal(got[i], want[i]) {
				t.Errorf("AfterRegister call %d: got fields %v, want %v", i, got[i], want[i])
			}
		}
		for _, u := range []string{"form@example.com", "json@example.com"} {
			if id := a.User(t, u).ID; !a.Hooks.has("register " + id) {
				t.Errorf("AfterRegister: got no call for %s", u)
			}
		}
	})
}
