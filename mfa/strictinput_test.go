package mfa_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mfa"
)

// TestFormsCoverEveryRoute: every POST route the package mounts has a
// schema, and every schema is a mounted route's.
func TestFormsCoverEveryRoute(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{})
	unschemed, unused := a.MFA.FormsCheck()
	if len(unschemed) > 0 || len(unused) > 0 {
		t.Errorf("got routes without a schema %q and schemas without a route %q, want none", unschemed, unused)
	}
}

// wantRefused fails the test unless res is a 400 JSON error with code and
// a message at field.
func wantRefused(t *testing.T, what string, res *apptest.Response, code, field string) {
	t.Helper()
	want(t, what, res, http.StatusBadRequest)
	e, _ := body(t, res)["error"].(map[string]any)
	fields, _ := e["fields"].(map[string]any)
	if e["code"] != code || fields[field] == nil || fields[field] == "" {
		t.Errorf("%s: got %s, want the code %q and a message at %q", what, res.Body, code, field)
	}
}

// TestStrictChallenge: the challenge refuses a JSON body with a field it
// does not take, a code that is not a string, a lone surrogate and a
// trust flag that is not a boolean, with 400 and the field named, before
// any code is compared: no failure counted, no step spent, still pending.
// A form with invalid UTF-8 gets a page that names the field.
func TestStrictChallenge(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		step := totpRow(t, a, u.ID).LastStep
		p := a.Client(t)
		signInPending(t, a, p, u.Email)
		path := a.Path("/mfa/challenge")
		c := code(t, a, secret)
		for _, tc := range []struct{ name, body, code, field string }{
			{"unknown field", `{"code":"` + c + `","aal":2}`, "unknown_field", "aal"},
			{"code as a number", `{"code":123456}`, "invalid_type", "code"},
			{"code as true", `{"code":true}`, "invalid_type", "code"},
			{"trust as a string", `{"code":"` + c + `","trust":"on"}`, "invalid_type", "trust"},
			{"lone surrogate", `{"code":"` + c + `\udc00"}`, "invalid_text", "code"},
			{"control character", `{"code":"` + c + `\u0000"}`, "invalid_text", "code"},
			{"invalid UTF-8", "{\"code\":\"" + c + "\xff\"}", "invalid_text", "code"},
		} {
			wantRefused(t, tc.name, p.JSON("POST", path, tc.body), tc.code, tc.field)
		}
		wantRefused(t, "recovery: unknown field", p.JSON("POST", a.Path("/mfa/recovery"), `{"recovery_code":"ABCD-EFGH","code":"1"}`), "unknown_field", "code")

		res := p.Post(path, url.Values{"code": {c + "\xff"}})
		want(t, "invalid UTF-8 (HTML)", res, http.StatusBadRequest)
		if !strings.Contains(res.Body, "The field &#34;code&#34; holds characters that are not allowed.") {
			t.Errorf("invalid UTF-8 (HTML): got a page without the field's message:\n%s", res.Body)
		}

		usr := a.User(t, u.Email)
		if usr.FailedMFA != 0 || !usr.MFALockedUntil.IsZero() {
			t.Errorf("refused bodies counted towards the lockout: FailedMFA %d", usr.FailedMFA)
		}
		if got := totpRow(t, a, u.ID).LastStep; got != step {
			t.Errorf("refused bodies spent a step: %d, want %d", got, step)
		}
		wantAudits(t, a, u.ID, "mfa.challenge.failure", 0)
		wantState(t, a, p, "pending", 0)

		// The same code, as a string with a boolean trust flag, signs in.
		res = p.JSON("POST", path, `{"code":" `+c+` ","trust":true}`)
		want(t, "challenge", res, http.StatusOK)
		wantState(t, a, p, "authenticated", 2)
		if n := trustedCount(t, a, u.ID); n != 1 {
			t.Errorf("got %d trusted browsers, want 1", n)
		}
	})
}

// TestStrictSetup: a set-up body that does not fit is refused with 400
// and nothing is stored.
func TestStrictSetup(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		u := a.CreateUser(t, "user@example.com", pw)
		c := a.Client(t)
		c.SignIn(u.Email, pw)
		e := startEnrollment(t, a, c)
		path := a.Path("/mfa/setup")
		ok := code(t, a, e.Secret)
		for _, tc := range []struct {
			name   string
			fields map[string]any
			code   string
			field  string
		}{
			{"code as a number", map[string]any{"code": 123456, "enrollment": e.Enrollment}, "invalid_type", "code"},
			{"enrollment as an object", map[string]any{"code": ok, "enrollment": map[string]string{"secret": e.Secret}}, "invalid_type", "enrollment"},
			{"a secret of the client's", map[string]any{"code": ok, "enrollment": e.Enrollment, "secret": "JBSWY3DPEHPK3PXP"}, "unknown_field", "secret"},
		} {
			wantRefused(t, tc.name, post(t, c, path, tc.fields), tc.code, tc.field)
		}
		wantRefused(t, "lone surrogate", c.JSON("POST", path, `{"code":"`+ok+`","enrollment":"`+e.Enrollment+`\ud800"}`), "invalid_text", "enrollment")
		if n := a.Count(t, "sigra_totp_secrets", ""); n != 0 {
			t.Fatalf("got %d TOTP secrets stored, want none", n)
		}
		if n := a.Count(t, "sigra_recovery_codes", ""); n != 0 {
			t.Fatalf("got %d recovery codes stored, want none", n)
		}
		want(t, "valid set-up", post(t, c, path, map[string]any{"code": ok, "enrollment": e.Enrollment}), http.StatusOK)
	})
}

// challenges are the routes of a sign-in waiting for its second factor.
var challenges = map[string]bool{"/mfa/challenge": true, "/mfa/recovery": true}

// TestStrictInputEveryRoute: every POST route refuses a JSON body with a
// field it does not take, and one with a lone surrogate, with 400 and a
// stable code, before it changes anything.
func TestStrictInputEveryRoute(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, _, _ := newEnrolledUser(t, a, "user@example.com")
		pending := a.Client(t)
		signInPending(t, a, pending, u.Email)
		rows := func() [4]int {
			return [4]int{a.Count(t, "sigra_totp_secrets", ""), a.Count(t, "sigra_recovery_codes", "used_at IS NULL"), a.Count(t, "sigra_trusted_browsers", ""), a.Count(t, "sigra_outbox", "")}
		}
		before := rows()
		for _, path := range mfa.FormPaths() {
			unknown, surrogate := "unknown_field", "invalid_text"
			p, client := a.Path(path), c
			if challenges[path] {
				client = pending
			}
			for _, tc := range []struct{ body, code string }{{`{"is_admin":true}`, unknown}, {`{"csrf_token":"\udc00"}`, surrogate}} {
				res := client.JSON("POST", p, tc.body)
				if res.StatusCode != http.StatusBadRequest || errCode(t, res) != tc.code {
					t.Errorf("%s %s: got %d %s, want 400 with code %q", path, tc.body, res.StatusCode, res.Body, tc.code)
				}
			}
		}
		if got := rows(); got != before {
			t.Errorf("refused bodies: got TOTP secrets, unused recovery codes, trusted browsers, emails %v, want %v", got, before)
		}
		wantState(t, a, c, "authenticated", 2)
		wantState(t, a, pending, "pending", 0)
		if usr := a.User(t, u.Email); usr.FailedMFA != 0 {
			t.Errorf("refused bodies counted towards the lockout: FailedMFA %d", usr.FailedMFA)
		}
	})
}
