package jwtauth

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
)

// BearerToken returns the token of r's "Authorization: Bearer" header,
// or "" when there is none.
func BearerToken(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return ""
	}
	return strings.TrimSpace(v[7:])
}

// Check verifies r's bearer token (see [JWT.Verify]) and returns the
// auth state it stands for: the user (only its ID is set), the session
// ID, the AAL, the methods and the scopes. ErrNoToken when r has none.
func (j *JWT) Check(r *http.Request) (*sigra.Auth, error) {
	raw := BearerToken(r)
	if raw == "" {
		return nil, ErrNoToken
	}
	c, err := j.Verify(r.Context(), raw)
	if err != nil {
		return nil, err
	}
	return authOf(c), nil
}

// Require lets through only requests with a valid access token, with
// the token's auth state in their context: sigra.UserFrom and
// sigra.AuthFrom work as under the session middleware (the User carries
// only its ID; load the record from the store when the handler needs
// more). Others get 401 with WWW-Authenticate as RFC 6750 says
// (error="invalid_token" when a token was sent), or 503 with Retry-After
// when the store cannot be reached to check the token's family.
func (j *JWT) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := j.Check(r)
		switch {
		case err == nil:
			next.ServeHTTP(w, r.WithContext(sigra.WithAuth(r.Context(), a)))
		case errors.Is(err, ErrNoToken):
			w.Header().Set("WWW-Authenticate", `Bearer realm=`+strconv.Quote(j.cfg.Issuer))
			web.Error(w, http.StatusUnauthorized, "unauthenticated", "An access token is required.")
		case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrRevoked):
			w.Header().Set("WWW-Authenticate", `Bearer realm=`+strconv.Quote(j.cfg.Issuer)+`, error="invalid_token"`)
			web.Error(w, http.StatusUnauthorized, "invalid_token", "The access token is not valid.")
		default:
			j.fail(w, r, err)
		}
	})
}

// RequireScopes lets through only requests whose auth state holds every
// one of scopes (sigra.Auth.Scopes, as set by [JWT.Require] or another
// bearer middleware below which it sits). Others get 403 with
// WWW-Authenticate error="insufficient_scope" and the scopes needed (RFC
// 6750), and a JSON body naming the missing ones; a request without a
// signed-in user gets 401.
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	need := strings.Join(scopes, " ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := sigra.AuthFrom(r.Context())
			if !a.SignedIn() {
				w.Header().Set("WWW-Authenticate", `Bearer`)
				web.Error(w, http.StatusUnauthorized, "unauthenticated", "An access token is required.")
				return
			}
			var missing []string
			for _, s := range scopes {
				if !slices.Contains(a.Scopes, s) {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 {
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope=`+strconv.Quote(need))
				web.JSON(w, http.StatusForbidden, web.ErrorBody{Error: web.ErrorDetail{
					Code: "insufficient_scope", Message: "The access token lacks the scope " + strings.Join(missing, " ") + ".",
				}})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
