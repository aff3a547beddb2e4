package account_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/token"
)

// badBody is a malformed request body.
type badBody struct {
	name        string
	contentType string
	body        string
	// status and code are the answer every endpoint must give.
	status int
	code   string
	// noCSRF sends no CSRF token; crossSite marks the request cross-site.
	noCSRF, crossSite bool
}

func multipartWithFile() (string, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("email", "user@example.com")
	f, _ := w.CreateFormFile("upload", "a.txt")
	f.Write([]byte("file contents"))
	w.Close()
	return w.FormDataContentType(), b.String()
}

// badBodies are refused by every POST endpoint before it does anything.
func badBodies() []badBody {
	const form = "application/x-www-form-urlencoded"
	const js = "application/json"
	mpType, mpBody := multipartWithFile()
	long := strings.Repeat("a", 1025)
	return []badBody{
		{name: "invalid UTF-8 value", contentType: form, body: "email=%FF%FEuser%40example.com&token=x", status: 400, code: "invalid_input"},
		{name: "invalid UTF-8 key", contentType: form, body: "%FF=1", status: 400, code: "invalid_input"},
		{name: "oversized field", contentType: form, body: "email=" + long + "%40example.com", status: 400, code: "invalid_input"},
		{name: "oversized unknown field", contentType: form, body: "note=" + long, status: 400, code: "invalid_input"},
		{name: "oversized key", contentType: form, body: strings.Repeat("k", 65) + "=1", status: 400, code: "invalid_input"},
		{name: "repeated field", contentType: form, body: "email=a%40example.com&email=b%40example.com&x=1&x=1", status: 400, code: "invalid_input"},
		{name: "text/plain", contentType: "text/plain", body: "email=user@example.com", status: 400, code: "invalid_input"},
		{name: "application/xml", contentType: "application/xml", body: "<email>user@example.com</email>", status: 400, code: "invalid_input"},
		{name: "bad content type", contentType: "application/x-www-form-urlencoded; =", body: "email=user%40example.com", status: 400, code: "invalid_input"},
		{name: "multipart with a file", contentType: mpType, body: mpBody, status: 400, code: "invalid_input"},
		{name: "malformed JSON", contentType: js, body: `{"email":`, status: 400, code: "invalid_input"},
		{name: "JSON array", contentType: js, body: `["user@example.com"]`, status: 400, code: "invalid_input"},
		{name: "JSON number", contentType: js, body: `{"email":5}`, status: 400, code: "invalid_input"},
		{name: "JSON object value", contentType: js, body: `{"email":{"a":"b"}}`, status: 400, code: "invalid_input"},
		{name: "JSON duplicate key", contentType: js, body: `{"x":"1","x":"2"}`, status: 400, code: "invalid_input"},
		{name: "JSON invalid UTF-8", contentType: js, body: "{\"x\":\"\xff\"}", status: 400, code: "invalid_input"},
		{name: "JSON oversized value", contentType: js, body: `{"note":"` + long + `"}`, status: 400, code: "invalid_input"},
		{name: "JSON trailing data", contentType: js, body: `{} {}`, status: 400, code: "invalid_input"},
		{name: "no CSRF token", contentType: form, body: "email=user%40example.com", noCSRF: true, status: 403, code: "csrf_failed"},
		{name: "cross-site", contentType: form, body: "email=user%40example.com", crossSite: true, status: 403, code: "csrf_failed"},
		{name: "body over the limit", contentType: form, body: "note=" + strings.Repeat("a", 70<<10), status: 413},
	}
}

// post sends body to path as the browser c would (same-origin, CSRF token
// in the header), asking for JSON when asJSON.
func post(c *apptest.Client, a *app, path string, b badBody, asJSON bool) *apptest.Response {
	h := http.Header{}
	h.Set("Content-Type", b.contentType)
	if b.crossSite {
		h.Set("Sec-Fetch-Site", "cross-site")
		h.Set("Origin", "https://evil.example")
	} else {
		h.Set("Sec-Fetch-Site", "same-origin")
		h.Set("Origin", a.Server.URL)
	}
	if !b.noCSRF {
		h.Set("X-CSRF-Token", c.CSRF())
	}
	if asJSON {
		h.Set("Accept", "application/json")
	} else {
		h.Set("Accept", "text/html")
	}
	return c.Do("POST", path, h, strings.NewReader(b.body))
}

// badInputFixture is an application with one signed-in user and live
// tokens of every purpose, to throw bad input at.
type badInputFixture struct {
	a      *app
	in     *apptest.Client // signed in as user@example.com, in sudo
	anon   *apptest.Client
	tokens map[string]string // purpose → live token
	used   string            // a consumed magic-link token
	emails []string
}

func newBadInputFixture(t *testing.T, backend string) *badInputFixture {
	a := newApp(t, opts{Backend: backend})
	f := &badInputFixture{a: a, anon: a.Client(t), tokens: map[string]string{}, emails: []string{"user@example.com", "unconfirmed@example.com"}}
	newUser(t, a, "user@example.com")
	f.in = signedIn(t, a, "user@example.com")
	a.Client(t).Post("/auth/register", form("email", "unconfirmed@example.com", "password", pw))
	f.tokens["confirm"] = apptest.TokenOf(apptest.Link(t, a.LastMail(t, "unconfirmed@example.com"), "/auth/confirm"))
	f.tokens["reset"] = apptest.TokenOf(requestReset(t, a, "user@example.com"))
	f.used = apptest.TokenOf(requestMagic(t, a, "user@example.com"))
	wantRedirect(t, "spend a magic link", a.Client(t).Post("/auth/magic/verify", form("token", f.used)), "/")
	f.tokens["magic"] = apptest.TokenOf(requestMagic(t, a, "user@example.com"))
	f.in.Post("/auth/email", form("email", "new@example.com"))
	f.tokens["email"] = apptest.TokenOf(apptest.Link(t, a.LastMail(t, "new@example.com"), "/auth/email/confirm"))
	return f
}

// check runs one bad request and fails the test if it changed anything.
func (f *badInputFixture) check(t *testing.T, what string, c *apptest.Client, send func() *apptest.Response, status int, code string) {
	t.Helper()
	a := f.a
	before := snapshot(t, a, f.emails...)
	mails := len(a.Mailbox.Messages(""))
	state, email := whoami(c)
	cookie := c.Cookie(sessionCookie)
	res := send()
	switch {
	case res.StatusCode != status:
		t.Errorf("%s: got %d, want %d\n%.300s", what, res.StatusCode, status, res.Body)
	case code == "":
		// A page, or a refusal before any handler (413).
	case !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json"):
		t.Errorf("%s: got a %s answer, want JSON with code %q", what, res.Header.Get("Content-Type"), code)
	default:
		if d := decode(t, res); d.Error == nil || (d.Error.Code != code && !(code == "invalid_input" && inputCodes[d.Error.Code])) {
			t.Errorf("%s: got %s, want code %q", what, res.Body, code)
		}
	}
	wantUnchanged(t, what, a, before, f.emails...)
	a.Flush(t)
	if n := len(a.Mailbox.Messages("")); n != mails {
		t.Errorf("%s: got %d emails sent, want none", what, n-mails)
	}
	if s, e := whoami(c); s != state || e != email {
		t.Errorf("%s: got the client %s %q, want it still %s %q", what, s, e, state, email)
	}
	if c.Cookie(sessionCookie) != cookie {
		t.Errorf("%s: got a new session token, want the same", what)
	}
	for purpose, tok := range f.tokens {
		if n := a.Count(t, "sigra_tokens", "digest = ?", token.Digest(tok)); n != 1 {
			t.Errorf("%s: got %d rows of the %s token, want 1", what, n, purpose)
		}
	}
}

// endpoints are every POST route of the package; signedIn routes are
// posted by the signed-in client.
var endpoints = []struct {
	path     string
	signedIn bool
}{
	{"/auth/register", false},
	{"/auth/confirm", false},
	{"/auth/confirm/resend", false},
	{"/auth/login", false},
	{"/auth/logout", true},
	{"/auth/password/forgot", false},
	{"/auth/password/reset", false},
	{"/auth/magic", false},
	{"/auth/magic/verify", false},
	{"/auth/sudo", true},
	{"/auth/email", true},
	{"/auth/email/confirm", false},
	{"/auth/email/cancel", true},
	{"/auth/password", true},
	{"/auth/sessions/revoke", true},
	{"/auth/sessions/revoke-others", true},
	{"/auth/delete", true},
}

// TestBadInput: every POST endpoint answers malformed bodies with a clear
// 4xx and a stable code, and changes nothing: no user row, token, email,
// session or reservation.
func TestBadInput(t *testing.T) {
	t.Parallel()
	for _, backend := range apptest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newBadInputFixture(t, backend)
			for _, ep := range endpoints {
				t.Run(strings.TrimPrefix(ep.path, "/auth/"), func(t *testing.T) {
					c := f.anon.For(t)
					if ep.signedIn {
						c = f.in.For(t)
					}
					for _, b := range badBodies() {
						f.check(t, ep.path+" "+b.name, c, func() *apptest.Response { return post(c, f.a, ep.path, b, true) }, b.status, b.code)
					}
					// HTML answers carry the same status.
					for _, b := range badBodies()[:2] {
						f.check(t, ep.path+" "+b.name+" (HTML)", c, func() *apptest.Response { return post(c, f.a, ep.path, b, false) }, b.status, "")
					}
				})
			}
		})
	}
}

// TestBadFields: missing or invalid fields and bogus, spent or
// other-purpose tokens get a 4xx with a stable code, and change nothing.
func TestBadFields(t *testing.T) {
	t.Parallel()
	for _, backend := range apptest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newBadInputFixture(t, backend)
			bogus := token.Digest("x") // any 32 bytes
			bogusTok := fmt.Sprintf("%x", bogus)[:43]
			wellFormed, err := token.New()
			if err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				path     string
				signedIn bool
				body     map[string]string
				status   int
				code     string
			}{
				{"/auth/register", false, nil, 422, "invalid_input"},
				{"/auth/register", false, map[string]string{"email": "user@example.com"}, 422, "invalid_input"},
				{"/auth/register", false, map[string]string{"email": "not an address", "password": pw}, 422, "invalid_input"},
				{"/auth/register", false, map[string]string{"email": "Someone <someone@example.com>", "password": pw}, 422, "invalid_input"},
				{"/auth/register", false, map[string]string{"email": "user@example.com", "password": "short"}, 422, "weak_password:too_short"},

				{"/auth/confirm", false, nil, 422, "invalid_code"},
				{"/auth/confirm", false, map[string]string{"email": "unconfirmed@example.com", "code": "12345"}, 422, "invalid_code"},
				{"/auth/confirm", false, map[string]string{"email": "unconfirmed@example.com", "code": "abcdef"}, 422, "invalid_code"},
				{"/auth/confirm", false, map[string]string{"code": "123456"}, 422, "invalid_input"},
				{"/auth/confirm", false, map[string]string{"token": "short"}, 410, "link_expired"},
				{"/auth/confirm", false, map[string]string{"token": bogusTok}, 410, "link_expired"},
				{"/auth/confirm", false, map[string]string{"token": wellFormed}, 410, "link_expired"},
				{"/auth/confirm", false, map[string]string{"token": f.tokens["reset"]}, 410, "link_expired"},
				{"/auth/confirm", false, map[string]string{"token": f.tokens["magic"]}, 410, "link_expired"},
				{"/auth/confirm", false, map[string]string{"token": f.used}, 410, "link_expired"},

				{"/auth/confirm/resend", false, nil, 422, "invalid_input"},
				{"/auth/confirm/resend", false, map[string]string{"email": "nope"}, 422, "invalid_input"},

				{"/auth/login", false, nil, 422, "invalid_input"},
				{"/auth/login", false, map[string]string{"email": "user@example.com"}, 422, "invalid_input"},
				{"/auth/login", false, map[string]string{"password": pw}, 422, "invalid_input"},

				{"/auth/password/forgot", false, nil, 422, "invalid_input"},
				{"/auth/password/forgot", false, map[string]string{"email": "user@"}, 422, "invalid_input"},

				{"/auth/password/reset", false, nil, 410, "link_expired"},
				{"/auth/password/reset", false, map[string]string{"token": wellFormed, "password": "a brand new passphrase"}, 410, "link_expired"},
				{"/auth/password/reset", false, map[string]string{"token": f.tokens["magic"], "password": "a brand new passphrase"}, 410, "link_expired"},
				{"/auth/password/reset", false, map[string]string{"token": f.tokens["confirm"], "password": "a brand new passphrase"}, 410, "link_expired"},
				{"/auth/password/reset", false, map[string]string{"token": f.used, "password": "a brand new passphrase"}, 410, "link_expired"},
				{"/auth/password/reset", false, map[string]string{"token": f.tokens["reset"]}, 422, "invalid_input"},
				{"/auth/password/reset", false, map[string]string{"token": f.tokens["reset"], "password": "short"}, 422, "weak_password:too_short"},

				{"/auth/magic", false, nil, 422, "invalid_input"},
				{"/auth/magic", false, map[string]string{"email": "@example.com"}, 422, "invalid_input"},

				{"/auth/magic/verify", false, nil, 410, "link_expired"},
				{"/auth/magic/verify", false, map[string]string{"token": bogusTok}, 410, "link_expired"},
				{"/auth/magic/verify", false, map[string]string{"token": wellFormed}, 410, "link_expired"},
				{"/auth/magic/verify", false, map[string]string{"token": f.tokens["reset"]}, 410, "link_expired"},
				{"/auth/magic/verify", false, map[string]string{"token": f.tokens["email"]}, 410, "link_expired"},
				{"/auth/magic/verify", false, map[string]string{"token": f.used}, 410, "link_expired"},

				{"/auth/email/confirm", false, nil, 410, "link_expired"},
				{"/auth/email/confirm", false, map[string]string{"token": wellFormed}, 410, "link_expired"},
				{"/auth/email/confirm", false, map[string]string{"token": f.tokens["magic"]}, 410, "link_expired"},
				{"/auth/email/confirm", false, map[string]string{"token": f.tokens["reset"]}, 410, "link_expired"},

				{"/auth/sudo", true, nil, 422, "invalid_input"},
				{"/auth/sudo", true, map[string]string{"code": "123456"}, 422, "invalid_input"},

				{"/auth/email", true, nil, 422, "invalid_input"},
				{"/auth/email", true, map[string]string{"email": "two@@example.com"}, 422, "invalid_input"},
				{"/auth/email", true, map[string]string{"email": "USER@example.com"}, 422, "same_email"},

				{"/auth/password", true, nil, 422, "invalid_input"},
				{"/auth/password", true, map[string]string{"password": "a brand new passphrase"}, 422, "invalid_input"},
				{"/auth/password", true, map[string]string{"current_password": pw}, 422, "invalid_input"},
				{"/auth/password", true, map[string]string{"current_password": pw, "password": "short"}, 422, "weak_password:too_short"},

				{"/auth/sessions/revoke", true, nil, 400, "invalid_input"},
				{"/auth/sessions/revoke", true, map[string]string{"id": strings.Repeat("9", 65)}, 400, "invalid_input"},
				{"/auth/sessions/revoke", true, map[string]string{"id": "01900000-0000-7000-8000-000000000000"}, 404, "not_found"},

				{"/auth/delete", true, nil, 422, "confirmation_mismatch"},
				{"/auth/delete", true, map[string]string{"confirm_email": "other@example.com"}, 422, "confirmation_mismatch"},
			}
			for _, tc := range cases {
				body := "{}"
				if tc.body != nil {
					body = jsonOf(tc.body)
				}
				what := fmt.Sprintf("%s %s", tc.path, body)
				t.Run(what, func(t *testing.T) {
					c := f.anon.For(t)
					if tc.signedIn {
						c = f.in.For(t)
					}
					f.check(t, what, c, func() *apptest.Response { return c.JSON("POST", tc.path, body) }, tc.status, tc.code)
					// The same as a form, answered with a page.
					vals := form()
					for k, v := range tc.body {
						vals.Set(k, v)
					}
					f.check(t, what+" (form)", c, func() *apptest.Response { return c.Post(tc.path, vals) }, tc.status, "")
				})
			}
		})
	}
}

// inputCodes are the codes of a body refused as unreadable: the generic
// one, or one naming the field (see kernel.InputError).
var inputCodes = map[string]bool{
	"invalid_input": true, "invalid_text": true, "invalid_type": true,
	"unknown_field": true, "too_long": true, "duplicate_field": true,
}
