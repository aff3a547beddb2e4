package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"sync"

	"github.com/justinas/nosurf"
)

// CSRFTokenLen is the length of the token of a CSRF cookie, as
// justinas/nosurf makes it.
const CSRFTokenLen = 32

// csrfKey is the context key of a *csrfCookie.
type csrfKey struct{}

// csrfCookie is the CSRF token of a safe request's cookie, and the masked
// form of it that pages embed, made on first use.
type csrfCookie struct {
	token  [CSRFTokenLen]byte
	once   sync.Once
	masked string
}

// WithCSRFCookie returns ctx carrying token, the token of the request's
// CSRF cookie, for [CSRFToken]. middleware.CSRF uses it for the safe
// requests whose cookie holds a token, which need no check: only a page
// with a form needs the token, and it is masked then, not on every
// request.
func WithCSRFCookie(ctx context.Context, token [CSRFTokenLen]byte) context.Context {
	return context.WithValue(ctx, csrfKey{}, &csrfCookie{token: token})
}

// CSRFToken returns the token to embed in the request's forms: the token
// of its CSRF cookie under a fresh one-time pad (the first half of the 64
// bytes is the pad, the second the token XORed with it, in standard
// base64), as justinas/nosurf masks it and checks it on a POST, made once
// per request; the token nosurf set, on a request that went through
// nosurf; "" outside the CSRF middleware. Safe for concurrent use.
func CSRFToken(r *http.Request) string {
	c, ok := r.Context().Value(csrfKey{}).(*csrfCookie)
	if !ok {
		return nosurf.Token(r)
	}
	c.once.Do(func() {
		var b [2 * CSRFTokenLen]byte
		_, _ = rand.Read(b[:CSRFTokenLen]) // never fails
		for i, t := range c.token {
			b[CSRFTokenLen+i] = t ^ b[i]
		}
		c.masked = base64.StdEncoding.EncodeToString(b[:])
	})
	return c.masked
}
