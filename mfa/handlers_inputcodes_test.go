package mfa_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/internal/apptest"
)

// wantRefusal fails the test unless res is a 400 JSON error with code and
// a message at field.
func wantRefusal(t testing.TB, what string, res *apptest.Response, code, field string) {
	t.Helper()
	var b struct {
		Error struct {
			Code   string            `json:"code"`
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(res.Body), &b); err != nil || res.StatusCode != http.StatusBadRequest || b.Error.Code != code {
		t.Errorf("%s: got %d %s, want 400 with code %q", what, res.StatusCode, res.Body, code)
		return
	}
	if b.Error.Fields[field] == "" {
		t.Errorf("%s: got fields %v, want a message at %q", what, b.Error.Fields, field)
	}
}

// TestManageInputCodes: disabling, regenerating the recovery codes and
// forgetting one trusted browser answer a JSON body with a field they do
// not take, a value of the wrong type or invalid UTF-8 with 400, the
// refusal's own code and a message at the field, before a code is
// compared; nothing changes: the secret, the recovery codes, the time
// step and the trusted browser stay, nothing is counted, sent or audited.
func TestManageInputCodes(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		trusted := a.Client(t)
		grant := grantOf(t, a, u.ID, trustBrowser(t, a, trusted, u.Email, secret))
		step := totpRow(t, a, u.ID).LastStep
		outbox := a.Count(t, "sigra_outbox", "")
		auditRows := a.Count(t, "sigra_audit_log", "")
		ok := code(t, a, secret)

		cases := map[string][]struct{ name, body, code, field string }{
			"/mfa/disable": {
				{"unknown field", `{"code":"` + ok + `","is_admin":true}`, "unknown_field", "is_admin"},
				{"wrong type", `{"code":123456}`, "invalid_type", "code"},
				{"invalid UTF-8", "{\"code\":\"" + ok + "\xff\"}", "invalid_text", "code"},
			},
			"/mfa/recovery-codes/regenerate": {
				{"unknown field", `{"code":"` + ok + `","count":20}`, "unknown_field", "count"},
				{"wrong type", `{"code":true}`, "invalid_type", "code"},
				{"invalid UTF-8", "{\"code\":\"\xff" + ok + "\"}", "invalid_text", "code"},
			},
			"/mfa/trusted/revoke": {
				{"unknown field", `{"id":"` + grant + `","all":true}`, "unknown_field", "all"},
				{"wrong type", `{"id":["` + grant + `"]}`, "invalid_type", "id"},
				{"invalid UTF-8", "{\"id\":\"" + grant + "\xff\"}", "invalid_text", "id"},
			},
		}
		for path, bodies := range cases {
			for _, b := range bodies {
				wantRefusal(t, path+" "+b.name, c.JSON("POST", a.Path(path), b.body), b.code, b.field)
			}
		}

		if got := totpRow(t, a, u.ID).LastStep; got != step {
			t.Errorf("refused bodies: got the last step %d, want %d (unspent)", got, step)
		}
		if n := recoveryLeft(t, a, u.ID); n != 10 {
			t.Errorf("refused bodies: got %d recovery codes left, want 10", n)
		}
		if n := trustedCount(t, a, u.ID); n != 1 {
			t.Errorf("refused bodies: got %d trusted browsers, want 1", n)
		}
		if usr := a.User(t, u.Email); usr.FailedMFA != 0 {
			t.Errorf("refused bodies: got FailedMFA %d, want 0", usr.FailedMFA)
		}
		if got := a.Count(t, "sigra_outbox", ""); got != outbox {
			t.Errorf("refused bodies: got %d emails queued, want %d", got, outbox)
		}
		if got := a.Count(t, "sigra_audit_log", ""); got != auditRows {
			t.Errorf("refused bodies: got %d audit rows, want %d", got, auditRows)
		}
		wantTrusted(t, a, trusted, u.Email)
		wantState(t, a, c, "authenticated", 2)

		// A missing id is its own error.
		res := c.JSON("POST", a.Path("/mfa/trusted/revoke"), `{}`)
		if res.StatusCode != http.StatusBadRequest || errCode(t, res) != "invalid_input" {
			t.Errorf("no id: got %d %s, want 400 invalid_input", res.StatusCode, res.Body)
		}
		if n := trustedCount(t, a, u.ID); n != 1 {
			t.Errorf("no id: got %d trusted browsers, want 1", n)
		}
	})
}

// TestManageInputCodesHTML: the same forms posted with invalid UTF-8 show
// the two-factor settings page again with 400 and the refusal's message.
func TestManageInputCodesHTML(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		c.Get(a.Path("/mfa")) // the form's token
		step := totpRow(t, a, u.ID).LastStep
		for _, tc := range []struct{ path, field string }{
			{"/mfa/disable", "code"},
			{"/mfa/recovery-codes/regenerate", "code"},
			{"/mfa/trusted/revoke", "id"},
		} {
			res := c.Post(a.Path(tc.path), url.Values{tc.field: {code(t, a, secret) + "\xff"}})
			want(t, tc.path+" (HTML)", res, http.StatusBadRequest)
			for _, w := range []string{`action="` + a.Path("/mfa/disable") + `"`, "holds characters that are not allowed"} {
				if !strings.Contains(res.Body, w) {
					t.Errorf("%s (HTML): got a page without %s:\n%s", tc.path, w, res.Body)
				}
			}
		}
		if got := totpRow(t, a, u.ID).LastStep; got != step {
			t.Errorf("refused forms: got the last step %d, want %d (unspent)", got, step)
		}
		if n := recoveryLeft(t, a, u.ID); n != 10 {
			t.Errorf("refused forms: got %d recovery codes left, want 10", n)
		}
	})
}
