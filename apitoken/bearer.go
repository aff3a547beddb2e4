package apitoken

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// TouchEvery is how often a token's last use is written: at most once a
// minute per token, whatever its traffic.
const TouchEvery = time.Minute

// Errors of [APITokens.Check]. Bearer answers them as RFC 6750 says.
var (
	// ErrNoToken: the request carries no Authorization: Bearer header.
	ErrNoToken = errors.New("sigra/apitoken: no bearer token")
	// ErrMalformedRequest: the Authorization header is not one
	// "Bearer <token>".
	ErrMalformedRequest = errors.New("sigra/apitoken: malformed Authorization header")
	// ErrInvalidToken: the token is malformed, has a wrong checksum, or is
	// unknown, expired or revoked, or its user is disabled.
	ErrInvalidToken = errors.New("sigra/apitoken: invalid token")
)

// Check authenticates r by its bearer token and returns the request's
// auth state: the token's user (or service account) signed in, with
// Methods [api_token] and the token's scopes. A token whose format or
// checksum is wrong fails with ErrInvalidToken before any store lookup.
// A token over its rate limit fails with a *middleware.LimitError; a store
// failure with its error (errors.Is(err, sigra.ErrBusy) when the store is
// unreachable or too slow). It writes the token's last use at most once
// per [TouchEvery], and never reads or writes the session cookie.
func (a *APITokens) Check(r *http.Request) (*sigra.Auth, error) {
	ctx := r.Context()
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return nil, ErrNoToken
	}
	if len(h) > 1 || len(h[0]) < 7 || !strings.EqualFold(h[0][:7], "bearer ") {
		if len(h) == 1 && !web.IsBearer(r) {
			return nil, ErrNoToken // another scheme (Basic): not ours to refuse
		}
		return nil, ErrMalformedRequest
	}
	raw := strings.TrimSpace(h[0][7:])
	if raw == "" || strings.ContainsAny(raw, " \t") {
		return nil, ErrMalformedRequest
	}
	prefix, err := token.ParseAPIKey(raw)
	if err != nil || (prefix != a.pat && prefix != a.at) {
		return nil, ErrInvalidToken
	}
	now := a.k.Now()
	t, u, sa, err := a.st.APITokenByDigest(ctx, token.APIKeyDigest(raw), now)
	if errors.Is(err, store.ErrNotFound) {
		// Unknown tokens are counted per client address: past the limit
		// they get 429 and are no longer recorded, so a flood of made-up
		// tokens cannot fill the audit log.
		ip := a.k.Site.ClientIP(r)
		if err := a.k.Limiter.Check(ctx, "apitoken-unknown:"+middleware.IPKey(ip), a.cfg.UnknownLimit); err != nil {
			return nil, err
		}
		a.recordFailure(audit.WithRequest(ctx, r, ip), ActionUseFailure, "", "", "", map[string]string{"reason": "invalid_token"})
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	if err := a.k.Limiter.Check(ctx, "apitoken:"+t.ID, a.cfg.RateLimit); err != nil {
		var le *middleware.LimitError
		if errors.As(err, &le) {
			actor, org := t.UserID, ""
			if sa != nil {
				actor, org = sa.ID, sa.OrgID
			}
			a.recordFailure(audit.WithRequest(ctx, r, a.k.Site.ClientIP(r)), ActionUseFailure, org, actor, actor,
				map[string]string{"reason": "rate_limited", "id": t.ID})
		}
		return nil, err
	}
	if t.LastUsedAt.IsZero() || now.Sub(t.LastUsedAt) >= TouchEvery {
		if _, err := a.st.TouchAPIToken(ctx, t.ID, now, TouchEvery); err != nil {
			a.k.LogFailure(ctx, "last use of a token not written", err)
		}
	}
	auth := &sigra.Auth{
		State: sigra.StateAuthenticated, AAL: sigra.AAL1, Methods: []sigra.Method{sigra.MethodAPIToken},
		AuthTime: t.CreatedAt, Scopes: t.Scopes,
	}
	if u != nil {
		auth.User = &sigra.User{ID: u.ID, Email: u.Email, EmailConfirmedAt: u.EmailConfirmedAt, CreatedAt: u.CreatedAt}
	} else {
		auth.User = &sigra.User{ID: sa.ID, CreatedAt: sa.CreatedAt}
		auth.ServiceAccount, auth.ActiveOrg = true, sa.OrgID
	}
	return auth, nil
}

// Bearer is middleware that requires a valid bearer token (see
// [APITokens.Check]) and puts its auth state in the request's context,
// where sigra.UserFrom and sigra.AuthFrom find it, in place of any session.
// It answers as RFC 6750 says, with a JSON error body:
//
//   - no token: 401, WWW-Authenticate: Bearer realm="..." (code
//     "token_required");
//   - a malformed Authorization header: 400, error="invalid_request";
//   - a token that is malformed, has a wrong checksum, or is unknown,
//     expired or revoked, or whose user is disabled: 401,
//     error="invalid_token";
//   - a token over its rate limit, or a client address past
//     Config.UnknownLimit unknown tokens: 429 with Retry-After
//     ("rate_limited");
//   - a store that is unreachable or too slow: 503 with Retry-After.
func (a *APITokens) Bearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, err := a.Check(r)
		if err != nil {
			a.refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(sigra.WithAuth(r.Context(), auth)))
	})
}

// refuse answers an error of Check.
func (a *APITokens) refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNoToken):
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+a.realm+`"`)
		web.Error(w, http.StatusUnauthorized, "token_required", "This endpoint needs an API token: send Authorization: Bearer <token>.")
	case errors.Is(err, ErrMalformedRequest):
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+a.realm+`", error="invalid_request"`)
		web.Error(w, http.StatusBadRequest, "invalid_request", "Send one Authorization: Bearer <token> header.")
	case errors.Is(err, ErrInvalidToken):
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+a.realm+`", error="invalid_token", error_description="The token is malformed, expired or revoked."`)
		web.Error(w, http.StatusUnauthorized, "invalid_token", "The token is malformed, expired or revoked.")
	default:
		var le *middleware.LimitError
		if errors.As(err, &le) {
			web.SetRetryAfter(w.Header(), le.RetryAfter)
			web.Error(w, http.StatusTooManyRequests, "rate_limited", "Too many requests with this token. Try again later.")
			return
		}
		f := web.Classify(r, err)
		a.k.Log.Log(r.Context(), f.Level, "request failed", "feature", "apitoken", "path", r.URL.Path, "status", f.Status, "err", err)
		f.Write(w, r)
	}
}

// scopeError is the JSON body of a scope refusal.
type scopeError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Scope   string `json:"scope"`
	} `json:"error"`
}

// RequireScopes returns middleware, for routes behind [APITokens.Bearer],
// that lets a request through only if its token carries every one of
// scopes. A request without them gets 403 with WWW-Authenticate:
// Bearer error="insufficient_scope", scope="<the missing scopes>", and the
// JSON error code "insufficient_scope" with the missing scopes in "scope".
// A request not authenticated by a token gets 401 as Bearer answers one
// without a token. It panics on a scope that is not in Config.Scopes: a
// programming error, caught at start.
func (a *APITokens) RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	for _, s := range scopes {
		if !a.scopes[s] {
			panic("sigra/apitoken: RequireScopes: " + s + " is not in Config.Scopes")
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth := sigra.AuthFrom(r.Context())
			if !auth.SignedIn() || !auth.Used(sigra.MethodAPIToken) {
				a.refuse(w, r, ErrNoToken)
				return
			}
			var missing []string
			for _, s := range scopes {
				if !hasScope(auth.Scopes, s) {
					missing = append(missing, s)
				}
			}
			if len(missing) == 0 {
				next.ServeHTTP(w, r)
				return
			}
			m := strings.Join(missing, " ")
			org := ""
			if auth.ServiceAccount {
				org = auth.ActiveOrg
			}
			a.recordFailure(audit.WithRequest(r.Context(), r, a.k.Site.ClientIP(r)), ActionUseFailure, org, auth.User.ID, auth.User.ID,
				map[string]string{"reason": "insufficient_scope", "scope": m})
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+a.realm+`", error="insufficient_scope", scope="`+m+`"`)
			var body scopeError
			body.Error.Code, body.Error.Message, body.Error.Scope = "insufficient_scope", "The token lacks the scope "+m+".", m
			web.JSON(w, http.StatusForbidden, body)
		})
	}
}

func hasScope(have []string, s string) bool {
	for _, h := range have {
		if h == s {
			return true
		}
	}
	return false
}
