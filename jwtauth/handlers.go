package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// The routes of [JWT.Mount], under the site's prefix (the JWKS is at
// Config.JWKSPath, at the site's root).
const (
	PathToken   = "/token"
	PathRefresh = "/token/refresh"
	PathRevoke  = "/token/revoke"
)

// The schemas of the endpoints' bodies.
var (
	tokenFields   = kernel.Fields{"scope": kernel.Text, "client_name": kernel.Text}
	refreshFields = kernel.Fields{"refresh_token": kernel.Text}
	clientFields  = kernel.Fields{"id": kernel.Text, "return_to": kernel.Text}
)

// TokenResponse is the body of a successful answer of the token and
// refresh endpoints (the shape of RFC 6749 section 5.1).
type TokenResponse struct {
	// AccessToken is the JWT to send as "Authorization: Bearer".
	AccessToken string `json:"access_token"`
	// TokenType is always "Bearer".
	TokenType string `json:"token_type"`
	// ExpiresIn is the access token's lifetime in seconds.
	ExpiresIn int `json:"expires_in"`
	// RefreshToken is the single-use refresh token; only its digest is
	// stored.
	RefreshToken string `json:"refresh_token"`
	// RefreshExpiresIn is how long, in seconds, the refresh token stays
	// usable unused.
	RefreshExpiresIn int `json:"refresh_expires_in"`
	// Scope is the space-separated list of granted scopes.
	Scope string `json:"scope"`
}

// Mount registers the token, refresh and revoke endpoints under the
// site's prefix and the JWKS at Config.JWKSPath on mux. The token
// endpoint must sit below the session middleware (Sessions.LoadAndSave
// and the guard's Load), as every route of the application does.
func (j *JWT) Mount(mux *http.ServeMux) {
	limit := middleware.LimitBody(0)
	mux.Handle("POST "+j.site.Path(PathToken), limit(http.HandlerFunc(j.handleToken)))
	mux.Handle("POST "+j.site.Path(PathRefresh), limit(http.HandlerFunc(j.handleRefresh)))
	mux.Handle("POST "+j.site.Path(PathRevoke), limit(http.HandlerFunc(j.handleRevoke)))
	mux.Handle("GET "+j.cfg.JWKSPath, http.HandlerFunc(j.handleJWKS))
	if j.cfg.UI != nil {
		mux.Handle("POST "+j.site.Path(PathRevokeClient), limit(j.cfg.Guard.RequireUser(j.cfg.Guard.RefuseImpersonation(http.HandlerFunc(j.handleRevokeClient)))))
	}
}

// handleRevokeClient revokes one of the signed-in user's families from
// the settings page: 303 to the settings page with a notice, or JSON
// {"ok": true}. Another user's family, or one already ended, is 404.
func (j *JWT) handleRevokeClient(w http.ResponseWriter, r *http.Request) {
	page := func(status int, code, msg string) {
		if web.WantsJSON(r) {
			web.Error(w, status, code, msg)
			return
		}
		j.cfg.UI.Render(w, r, status, "error", j.cfg.UI.Fill(r, &ui.Page{Title: "Something went wrong", Data: &ui.ErrorData{Status: status, Message: msg}}))
	}
	in, err := kernel.ReadFields(r, clientFields)
	if err != nil {
		e := kernel.Refusal(err)
		if web.WantsJSON(r) {
			badInput(w, err)
			return
		}
		page(http.StatusBadRequest, e.Code, e.Message)
		return
	}
	u := sigra.UserFrom(r.Context())
	ctx := j.withRequest(r)
	now := j.site.Now()
	f, err := j.st.LiveRefreshFamily(ctx, in["id"], now)
	if err == nil && f.UserID != u.ID {
		err = store.ErrNotFound // another user's family is not found
	}
	if err == nil {
		f, err = j.st.RevokeRefreshFamily(ctx, u.ID, f.ID, store.RevokeReasonUser, now)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		page(http.StatusNotFound, "not_found", "No such app holds tokens for your account.")
		return
	case err != nil:
		j.fail(w, r, err)
		return
	}
	j.forget(f.ID)
	j.record(ctx, ActionRevoke, audit.OutcomeSuccess, f, map[string]string{"reason": store.RevokeReasonUser})
	if web.WantsJSON(r) {
		web.JSON(w, http.StatusOK, map[string]any{"ok": true})
		return
	}
	target, _ := j.cfg.UI.Route(ui.RouteSettings)
	if rt, ok := web.LocalPath(in["return_to"]); ok {
		target = rt
	}
	if target == "" {
		target = j.site.Home()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, kernel.WithNotice(target, "api_access_revoked"), http.StatusSeeOther)
}

// withRequest adds the client's address and user agent for audit rows.
func (j *JWT) withRequest(r *http.Request) context.Context {
	return audit.WithRequest(r.Context(), r, j.site.ClientIP(r))
}

// fail answers an unexpected error (503 with Retry-After when the store
// is down) and logs it.
func (j *JWT) fail(w http.ResponseWriter, r *http.Request, err error) {
	f := web.Classify(r, err)
	j.log.Log(r.Context(), f.Level, "request failed", "feature", "jwtauth", "path", r.URL.Path, "status", f.Status, "err", err)
	if f.Gone() {
		w.WriteHeader(f.Status)
		return
	}
	web.SetRetryAfter(w.Header(), f.RetryAfter)
	web.Error(w, f.Status, f.Code, f.Message)
}

// badInput answers a refused body with 400 and the field codes.
func badInput(w http.ResponseWriter, err error) {
	e := kernel.Refusal(err)
	web.JSON(w, http.StatusBadRequest, web.ErrorBody{Error: web.ErrorDetail{Code: e.Code, Message: e.Message, Fields: e.Fields}})
}

// record writes an audit row after the change (see audit.Logger.RecordAfter).
func (j *JWT) record(ctx context.Context, action, outcome string, f *store.RefreshFamily, meta map[string]string) {
	if meta == nil {
		meta = map[string]string{}
	}
	meta["family"] = f.ID
	e := audit.Event{Action: action, ActorID: f.UserID, SubjectID: f.UserID, Outcome: outcome, Metadata: meta}
	var err error
	if outcome == audit.OutcomeFailure {
		err = j.audit.RecordFailure(ctx, e)
	} else {
		err = j.audit.RecordAfter(ctx, e)
	}
	if err != nil {
		j.log.Log(ctx, web.Classify(new(http.Request).WithContext(ctx), err).Level, "audit row not written", "feature", "jwtauth", "action", action, "err", err)
	}
}

// handleToken exchanges the request's signed-in session for tokens.
func (j *JWT) handleToken(w http.ResponseWriter, r *http.Request) {
	in, err := kernel.ReadFields(r, tokenFields)
	if err != nil {
		badInput(w, err)
		return
	}
	a := sigra.AuthFrom(r.Context())
	if !a.SignedIn() || a.SessionID == "" {
		web.Error(w, http.StatusUnauthorized, "unauthenticated", "Sign in first: the token endpoint exchanges a signed-in session.")
		return
	}
	if a.Impersonator != "" {
		web.Error(w, http.StatusForbidden, "impersonating", "Tokens cannot be issued while impersonating a user.")
		return
	}
	scopes, ok := j.grant(in["scope"])
	if !ok {
		web.JSON(w, http.StatusBadRequest, web.ErrorBody{Error: web.ErrorDetail{
			Code: "invalid_scope", Message: "A requested scope is not offered.", Fields: map[string]string{"scope": "Ask only for scopes the application offers."},
		}})
		return
	}
	ctx := j.withRequest(r)
	now := j.site.Now()
	methods := make([]string, len(a.Methods))
	for i, m := range a.Methods {
		methods[i] = string(m)
	}
	f := &store.RefreshFamily{
		UserID: a.User.ID, SessionID: a.SessionID, Scopes: scopes, AAL: int(a.AAL), Methods: methods,
		AuthTime: a.AuthTime, ClientName: in["client_name"], CreatedAt: now, ExpiresAt: now.Add(j.cfg.FamilyTTL),
	}
	secret, err := token.New()
	if err != nil {
		j.fail(w, r, err)
		return
	}
	t := &store.RefreshToken{Digest: token.Digest(secret), CreatedAt: now, ExpiresAt: now.Add(j.cfg.RefreshTTL)}
	err = j.st.CreateRefreshFamily(ctx, f, t, now)
	if errors.Is(err, store.ErrNotFound) {
		// The session ended between its load and the exchange.
		web.Error(w, http.StatusUnauthorized, "unauthenticated", "Sign in first: the token endpoint exchanges a signed-in session.")
		return
	}
	if err != nil {
		j.fail(w, r, err)
		return
	}
	j.record(ctx, ActionIssue, audit.OutcomeSuccess, f, map[string]string{"scope": strings.Join(scopes, " ")})
	j.answer(w, r, f, secret, now)
}

// answer signs an access token for f and answers with both tokens.
func (j *JWT) answer(w http.ResponseWriter, r *http.Request, f *store.RefreshFamily, refresh string, now time.Time) {
	access, err := j.issue(f, now)
	if err != nil {
		j.fail(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, TokenResponse{
		AccessToken: access, TokenType: "Bearer", ExpiresIn: int(j.cfg.AccessTTL / time.Second),
		RefreshToken: refresh, RefreshExpiresIn: int(j.cfg.RefreshTTL / time.Second), Scope: strings.Join(f.Scopes, " "),
	})
}

// invalidGrant is the answer to a refresh token that is unknown, expired,
// used, or of an ended family: one answer for all, so a client learns
// only that it must sign in again.
func invalidGrant(w http.ResponseWriter) {
	web.Error(w, http.StatusBadRequest, "invalid_grant", "The refresh token is not valid. Sign in again.")
}

// readRefresh reads the refresh_token field; ok is false when it answered.
func readRefresh(w http.ResponseWriter, r *http.Request) (secret string, ok bool) {
	in, err := kernel.ReadFields(r, refreshFields)
	if err != nil {
		badInput(w, err)
		return "", false
	}
	secret = in["refresh_token"]
	if secret == "" {
		web.JSON(w, http.StatusBadRequest, web.ErrorBody{Error: web.ErrorDetail{
			Code: "required", Message: "The refresh token is missing.", Fields: map[string]string{"refresh_token": "Send the refresh token."},
		}})
		return "", false
	}
	return secret, true
}

// handleRefresh rotates a refresh token: the old one is used up, a new
// one and a new access token are returned. A reuse revokes the family.
func (j *JWT) handleRefresh(w http.ResponseWriter, r *http.Request) {
	secret, ok := readRefresh(w, r)
	if !ok {
		return
	}
	if !token.Valid(secret) {
		invalidGrant(w) // malformed: no store lookup
		return
	}
	ctx := j.withRequest(r)
	now := j.site.Now()
	nextSecret, err := token.New()
	if err != nil {
		j.fail(w, r, err)
		return
	}
	next := &store.RefreshToken{Digest: token.Digest(nextSecret), CreatedAt: now, ExpiresAt: now.Add(j.cfg.RefreshTTL)}
	f, err := j.st.RotateRefreshToken(ctx, token.Digest(secret), next, now)
	switch {
	case errors.Is(err, store.ErrReplay):
		if f != nil {
			j.forget(f.ID)
			j.record(ctx, ActionReuse, audit.OutcomeFailure, f, nil)
		}
		invalidGrant(w)
		return
	case errors.Is(err, store.ErrNotFound):
		if f != nil { // the session had ended: the store revoked the family
			j.forget(f.ID)
			j.record(ctx, ActionRevoke, audit.OutcomeSuccess, f, map[string]string{"reason": f.RevokeReason})
		}
		invalidGrant(w)
		return
	case err != nil:
		j.fail(w, r, err)
		return
	}
	j.record(ctx, ActionRefresh, audit.OutcomeSuccess, f, nil)
	j.answer(w, r, f, nextSecret, now)
}

// handleRevoke revokes the family of a refresh token: a client signing
// out. As RFC 7009 asks, an unknown or malformed token is answered as a
// revoked one.
func (j *JWT) handleRevoke(w http.ResponseWriter, r *http.Request) {
	secret, ok := readRefresh(w, r)
	if !ok {
		return
	}
	if token.Valid(secret) {
		ctx := j.withRequest(r)
		f, err := j.st.RefreshFamilyByToken(ctx, token.Digest(secret))
		if err == nil && f.RevokedAt.IsZero() {
			f, err = j.st.RevokeRefreshFamily(ctx, f.UserID, f.ID, store.RevokeReasonClient, j.site.Now())
			if err == nil {
				j.forget(f.ID)
				j.record(ctx, ActionRevoke, audit.OutcomeSuccess, f, map[string]string{"reason": store.RevokeReasonClient})
			}
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			j.fail(w, r, err)
			return
		}
	}
	web.JSON(w, http.StatusOK, map[string]any{"ok": true})
}

// jwks is the body of the JWKS endpoint (RFC 7517 section 5).
type jwks struct {
	Keys []jwk `json:"keys"`
}

func (j *JWT) buildJWKS() []byte {
	set := jwks{Keys: make([]jwk, 0, len(j.cfg.Keys))}
	for _, k := range j.cfg.Keys {
		set.Keys = append(set.Keys, publicJWK(k))
	}
	b, _ := json.Marshal(set)
	return append(b, '\n')
}

// JWKS returns the public keys as a JSON Web Key Set: what the JWKS
// endpoint serves.
func (j *JWT) JWKS() []byte { return append([]byte(nil), j.jwks...) }

// handleJWKS serves the public keys. They may be cached for five minutes:
// a new key is added (second in Config.Keys) at least that long before it
// signs.
func (j *JWT) handleJWKS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Content-Length", strconv.Itoa(len(j.jwks)))
	_, _ = w.Write(j.jwks)
}

// PurgeKeep is how long Purge keeps a family after it ended (expired or
// was revoked): long enough that a reuse of its tokens shortly after is
// still recognised and audited as one.
const PurgeKeep = 7 * 24 * time.Hour

// Purge deletes the families (and their refresh tokens) that ended more
// than PurgeKeep ago, and returns how many.
func (j *JWT) Purge(ctx context.Context) (int, error) {
	return j.st.PurgeRefreshFamilies(ctx, j.site.Now().Add(-PurgeKeep))
}

// RunPurge calls Purge now and then every interval (default one hour)
// until ctx ends, logging failures.
func (j *JWT) RunPurge(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := j.Purge(ctx); err != nil && ctx.Err() == nil {
			j.log.ErrorContext(ctx, "purging ended refresh-token families failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
