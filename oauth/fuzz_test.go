package oauth_test

import (
	"net/url"
	"testing"
)

// FuzzCallback sends the callback whatever a browser or a provider might:
// any state, code and error. It never answers 5xx (the provider is not
// asked: no state is bound), never signs anyone in and stores nothing.
func FuzzCallback(f *testing.F) {
	a := newApp(f, options{})
	for _, s := range [][3]string{
		{"", "", ""}, {"x", "y", ""}, {"", "", "access_denied"}, {"\x00", "%zz", "server_error"},
		{"aGVsbG8", "code", ""}, {string(make([]byte, 300)), "c", "e"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, state, code, errParam string) {
		c := a.Client(t)
		q := url.Values{"state": {state}, "code": {code}, "error": {errParam}}
		res := c.Get(a.Path("/oauth/local/callback") + "?" + q.Encode())
		if res.StatusCode >= 500 || res.StatusCode < 400 {
			t.Fatalf("callback(%q, %q, %q): got %d, want a 4xx refusal", state, code, errParam, res.StatusCode)
		}
		if n := a.Count(t, "sigra_users", ""); n != 0 {
			t.Fatalf("users: got %d, want 0", n)
		}
	})
}
