package middleware

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/internal/web"
)

// refToken is cookieToken as nosurf reads the cookie: Request.Cookie and
// base64.StdEncoding.DecodeString.
func refToken(r *http.Request, name string) ([web.CSRFTokenLen]byte, bool) {
	var token [web.CSRFTokenLen]byte
	c, err := r.Cookie(name)
	if err != nil {
		return token, false
	}
	b, err := base64.StdEncoding.DecodeString(c.Value)
	if err != nil || len(b) != web.CSRFTokenLen {
		return token, false
	}
	copy(token[:], b)
	return token, true
}

// TestCookieToken: cookieToken finds the token nosurf would, without
// allocating.
func TestCookieToken(t *testing.T) {
	good := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", web.CSRFTokenLen)))
	other := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("o", web.CSRFTokenLen)))
	for _, line := range []string{
		"",
		"sigra_csrf=" + good,
		"a=b; sigra_csrf=" + good + "; c=d",
		`sigra_csrf="` + good + `"`,
		"sigra_csrf=" + good[:len(good)-1], // too short
		"sigra_csrf=" + good + "A",         // too long
		"sigra_csrf=" + strings.Repeat("!", len(good)),                                                            // not base64
		"sigra_csrf=" + good[:len(good)-2] + "==",                                                                 // a shorter token, padded
		"sigra_csrf=" + base64.RawStdEncoding.EncodeToString([]byte(strings.Repeat("k", web.CSRFTokenLen))) + "x", // no padding
		"sigra_csrf=a\\b; sigra_csrf=" + other,                                                                    // the first valid one wins
		"sigra_csrf=" + other + "; sigra_csrf=" + good,
		"sigra_csrfx=" + good,
	} {
		r := &http.Request{Header: http.Header{"Cookie": {line}}}
		got, ok := cookieToken(r, "sigra_csrf")
		want, wantOK := refToken(r, "sigra_csrf")
		if got != want || ok != wantOK {
			t.Errorf("%q: got %x %v, want %x %v", line, got, ok, want, wantOK)
		}
	}
	r := &http.Request{Header: http.Header{"Cookie": {"_ga=GA1.2.3; theme=dark; sigra_csrf=" + good}}}
	if n := testing.AllocsPerRun(100, func() { cookieToken(r, "sigra_csrf") }); n != 0 {
		t.Errorf("cookieToken: %v allocations, want 0", n)
	}
}
