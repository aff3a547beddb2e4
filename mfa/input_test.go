package mfa_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/store"
)

// badRequest is one malformed request body.
type badRequest struct {
	name        string
	contentType string
	body        func(field string) string
	status      int // 0: any 4xx
}

// badRequests covers what a client can get wrong: malformed codes,
// oversized fields and bodies, repeated fields, wrong content types and
// broken JSON.
func badRequests() []badRequest {
	form := "application/x-www-form-urlencoded"
	json := "application/json"
	return []badRequest{
		{"letters", form, func(f string) string { return f + "=abcdef" }, http.StatusUnprocessableEntity},
		{"seven digits", form, func(f string) string { return f + "=1234567" }, http.StatusUnprocessableEntity},
		{"five digits", form, func(f string) string { return f + "=12345" }, http.StatusUnprocessableEntity},
		{"unicode digits", form, func(f string) string { return f + "=" + url.QueryEscape("１２３４５６") }, http.StatusUnprocessableEntity},
		{"control characters", form, func(f string) string { return f + "=%00%01%02%03%04%05" }, http.StatusBadRequest},
		{"empty", form, func(f string) string { return f + "=" }, http.StatusUnprocessableEntity},
		{"oversized field", form, func(f string) string { return f + "=" + strings.Repeat("1", 2000) }, http.StatusBadRequest},
		{"oversized body", form, func(f string) string { return f + "=1&pad=" + strings.Repeat("x", 100<<10) }, 0},
		{"repeated field", form, func(f string) string { return f + "=123456&" + f + "=654321" }, http.StatusBadRequest},
		{"invalid UTF-8", form, func(f string) string { return f + "=%ff%fe" }, http.StatusBadRequest},
		{"text/plain", "text/plain", func(f string) string { return f + "=123456" }, http.StatusBadRequest},
		{"xml", "application/xml", func(f string) string { return "<" + f + ">123456</" + f + ">" }, http.StatusBadRequest},
		{"JSON number", json, func(f string) string { return `{"` + f + `": 123456}` }, http.StatusBadRequest},
		{"JSON array", json, func(f string) string { return `["` + f + `"]` }, http.StatusBadRequest},
		{"JSON broken", json, func(f string) string { return `{"` + f + `": "123456"` }, http.StatusBadRequest},
		{"JSON oversized", json, func(f string) string { return `{"` + f + `": "` + strings.Repeat("1", 2000) + `"}` }, http.StatusBadRequest},
	}
}

// send posts a raw body as a same-origin page would, with the CSRF token
// in its header.
func send(a *app, c *apptest.Client, path, contentType, body string) *apptest.Response {
	h := http.Header{}
	h.Set("Origin", a.Server.URL)
	h.Set("Sec-Fetch-Site", "same-origin")
	h.Set("Content-Type", contentType)
	h.Set("Accept", "application/json")
	h.Set("X-CSRF-Token", c.CSRF())
	return c.Do("POST", path, h, strings.NewReader(body))
}

func checkBad(t *testing.T, a *app, c *apptest.Client, path, field string) {
	t.Helper()
	for _, tc := range badRequests() {
		res := send(a, c, path, tc.contentType, tc.body(field))
		if (tc.status == 0 && (res.StatusCode < 400 || res.StatusCode > 499)) || (tc.status != 0 && res.StatusCode != tc.status) {
			t.Errorf("%s %s: got %d, want %d\n%s", path, tc.name, res.StatusCode, tc.status, res.Body)
			continue
		}
		if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			if c := errCode(t, res); !inputCodes[c] && !(tc.status == 0 && c != "") {
				t.Errorf("%s %s: error code %q, want a code of unreadable input", path, tc.name, c)
			}
		}
	}
}

// TestBadInput: malformed requests get a clear 4xx and change nothing:
// no failure counted, no step or code spent, no state change.
func TestBadInput(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		c, u, secret, codes := newEnrolledUser(t, a, "user@example.com")
		step := totpRow(t, a, u.ID).LastStep

		p := a.Client(t)
		signInPending(t, a, p, u.Email)
		checkBad(t, a, p, "/auth/mfa/challenge", "code")
		checkBad(t, a, p, "/auth/mfa/recovery", "recovery_code")
		wantState(t, a, p, "pending", 0)

		checkBad(t, a, c, "/auth/mfa/disable", "code")
		checkBad(t, a, c, "/auth/mfa/recovery-codes/regenerate", "code")

		usr := a.User(t, u.Email)
		if usr.FailedMFA != 0 || !usr.MFALockedUntil.IsZero() {
			t.Fatalf("bad input counted towards the lockout: FailedMFA %d", usr.FailedMFA)
		}
		if got := totpRow(t, a, u.ID).LastStep; got != step {
			t.Fatalf("bad input spent a step: %d, want %d", got, step)
		}
		if n := recoveryLeft(t, a, u.ID); n != 10 {
			t.Fatalf("bad input spent a recovery code: %d left", n)
		}
		wantAudits(t, a, u.ID, "mfa.challenge.failure", 0)

		// The right code and a recovery code still work.
		wantRedirect(t, "challenge", p.Post("/auth/mfa/challenge", url.Values{"code": {code(t, a, secret)}}), "/")
		p2 := a.Client(t)
		signInPending(t, a, p2, u.Email)
		wantRedirect(t, "recovery", p2.Post("/auth/mfa/recovery", url.Values{"recovery_code": {codes[0]}}), "/")

		// Set-up: bad codes (the form is valid) and unreadable bodies.
		n := a.CreateUser(t, "new@example.com", pw)
		nc := a.Client(t)
		nc.SignIn(n.Email, pw)
		e := startEnrollment(t, a, nc)
		for _, tc := range badRequests() {
			b := tc.body("code")
			if tc.contentType == "application/x-www-form-urlencoded" {
				b += "&enrollment=" + e.Enrollment
			}
			res := send(a, nc, "/auth/mfa/setup", tc.contentType, b)
			if res.StatusCode < 400 || res.StatusCode > 499 {
				t.Errorf("setup %s: got %d, want 4xx", tc.name, res.StatusCode)
			}
		}
		if _, err := a.Store.TOTPByUser(ctx, n.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bad set-up input stored a secret: %v", err)
		}
		res := post(t, nc, "/auth/mfa/setup", map[string]any{"code": code(t, a, e.Secret), "enrollment": e.Enrollment})
		want(t, "setup after bad input", res, http.StatusOK)
	})
}

// TestCrossSiteRefused: a form post without the CSRF token or from
// another site changes nothing.
func TestCrossSiteRefused(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		c, u, secret, _ := newEnrolledUser(t, a, "user@example.com")
		for _, path := range []string{"/auth/mfa/disable", "/auth/mfa/recovery-codes/regenerate", "/auth/mfa/trusted/revoke-all"} {
			h := http.Header{}
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			res := c.Do("POST", path, h, strings.NewReader("code="+code(t, a, secret)))
			if res.StatusCode < 400 || res.StatusCode > 499 {
				t.Errorf("%s without a token: got %d, want 4xx", path, res.StatusCode)
			}
			h.Set("Origin", "https://evil.example.com")
			h.Set("Sec-Fetch-Site", "cross-site")
			h.Set("X-CSRF-Token", c.CSRF())
			res = c.Do("POST", path, h, strings.NewReader("code="+code(t, a, secret)))
			if res.StatusCode < 400 || res.StatusCode > 499 {
				t.Errorf("%s cross-site: got %d, want 4xx", path, res.StatusCode)
			}
		}
		totpRow(t, a, u.ID)
		if n := recoveryLeft(t, a, u.ID); n != 10 {
			t.Fatalf("codes left: %d", n)
		}
		wantAudits(t, a, u.ID, "mfa.recovery_codes.regenerate", 0)
	})
}

// TestPagesAnswerJSON: a GET of each page asked for JSON answers JSON, in
// every state a browser can be in.
func TestPagesAnswerJSON(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, _, _ := newEnrolledUser(t, a, "user@example.com")
		plain := a.CreateUser(t, "plain@example.com", pw)
		oneFactor := a.Client(t)
		oneFactor.SignIn(plain.Email, pw)
		aal2 := a.Client(t)
		signInMFA(t, a, aal2, u.Email, mustSecret(t, a, a.User(t, u.Email)))
		pending := a.Client(t)
		signInPending(t, a, pending, u.Email)
		stepUp := a.Client(t) // enrolled, signed in with one factor before enrolling
		other := a.CreateUser(t, "other@example.com", pw)
		stepUp.SignIn(other.Email, pw)
		e := a.Client(t)
		e.SignIn(other.Email, pw)
		enroll(t, a, e)

		clients := map[string]*apptest.Client{"anonymous": a.Client(t), "pending": pending, "one factor": oneFactor, "step-up": stepUp, "two factors": aal2}
		for _, tc := range []struct {
			state, path string
			status      int
		}{
			{"anonymous", "/auth/mfa", http.StatusUnauthorized},
			{"anonymous", "/auth/mfa/setup", http.StatusUnauthorized},
			{"anonymous", "/auth/mfa/challenge", http.StatusUnauthorized},
			{"anonymous", "/auth/mfa/recovery", http.StatusUnauthorized},
			{"pending", "/auth/mfa", http.StatusUnauthorized},
			{"pending", "/auth/mfa/setup", http.StatusUnauthorized},
			{"pending", "/auth/mfa/challenge", http.StatusOK},
			{"pending", "/auth/mfa/recovery", http.StatusOK},
			{"one factor", "/auth/mfa", http.StatusOK},
			{"one factor", "/auth/mfa/setup", http.StatusOK},
			{"one factor", "/auth/mfa/challenge", http.StatusOK},
			{"one factor", "/auth/mfa/recovery", http.StatusOK},
			{"step-up", "/auth/mfa", http.StatusOK},
			{"step-up", "/auth/mfa/setup", http.StatusOK},
			{"step-up", "/auth/mfa/challenge", http.StatusOK},
			{"step-up", "/auth/mfa/recovery", http.StatusOK},
			{"two factors", "/auth/mfa", http.StatusOK},
			{"two factors", "/auth/mfa/setup", http.StatusConflict},
			{"two factors", "/auth/mfa/challenge", http.StatusUnauthorized},
			{"two factors", "/auth/mfa/recovery", http.StatusUnauthorized},
		} {
			t.Run(tc.state+" "+tc.path, func(t *testing.T) {
				res := clients[tc.state].For(t).JSON("GET", tc.path, "")
				if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Fatalf("Content-Type: got %q, want application/json\n%s", ct, res.Body)
				}
				want(t, tc.path, res, tc.status)
				body(t, res)
			})
		}
	})
}

// inputCodes are the codes of a body refused as unreadable: the generic
// one, or one naming the field (see kernel.InputError).
var inputCodes = map[string]bool{
	"invalid_input": true, "invalid_text": true, "invalid_type": true,
	"unknown_field": true, "too_long": true, "duplicate_field": true,
}
