package web

import (
	"encoding/base64"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/justinas/nosurf"
)

// TestCSRFToken: the token of a request carrying its cookie's token is
// that token under a one-time pad, as nosurf checks it; the same from
// every goroutine of the request, another pad for another request; and
// "" for a request the CSRF middleware did not see.
func TestCSRFToken(t *testing.T) {
	t.Parallel()
	var token [CSRFTokenLen]byte
	for i := range token {
		token[i] = byte(i * 7)
	}
	cookie := base64.StdEncoding.EncodeToString(token[:])
	r := httptest.NewRequest("GET", "/", nil)
	if got := CSRFToken(r); got != "" {
		t.Errorf("without the middleware: got %q, want \"\"", got)
	}
	r = r.WithContext(WithCSRFCookie(r.Context(), token))
	got := make([]string, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i] = CSRFToken(r) })
	}
	wg.Wait()
	for _, g := range got[1:] {
		if g != got[0] {
			t.Fatalf("one request: got tokens %q and %q, want one", got[0], g)
		}
	}
	if b, err := base64.StdEncoding.DecodeString(got[0]); err != nil || len(b) != 2*CSRFTokenLen {
		t.Fatalf("got %q (%v), want 64 bytes in standard base64", got[0], err)
	}
	if !nosurf.VerifyToken(cookie, got[0]) {
		t.Errorf("nosurf refuses the token %q for the cookie %q", got[0], cookie)
	}
	other := httptest.NewRequest("GET", "/", nil)
	other = other.WithContext(WithCSRFCookie(other.Context(), token))
	if o := CSRFToken(other); o == got[0] || !nosurf.VerifyToken(cookie, o) {
		t.Errorf("another request: got %q, want another pad over the same token", o)
	}
}
