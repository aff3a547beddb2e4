package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/markbates/goth"
	"golang.org/x/oauth2"

	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// The handshake.
//
// Starting (a POST, so that no GET changes anything) makes a random state,
// a nonce and a PKCE verifier. The state's digest keys a single-use store
// token (purpose statePurpose) whose data holds, sealed, the provider, the
// nonce, the verifier, the return path and, for a link from the settings
// page, the user; the state's digest is also put in the browser's session
// (stateKey). The callback compares the state's digest with the session's
// in constant time, then consumes the store token atomically: a callback
// whose state the browser's session did not start is a state mismatch,
// one whose token is gone (used, or expired) a replay. Only then is the
// code exchanged, with the verifier, and the ID token verified, its nonce
// compared with the one sent.

// statePurpose is the store token purpose of a handshake's state.
const statePurpose = "oauth_state"

// stateKey is the session value binding a handshake to the browser: the
// hex digest of its state.
const stateKey = "sigra.oauth.state"

// pendingKey is the session value of an identity waiting for the user to
// sign in to the account holding its address and confirm the link: the
// sealed pendingLink.
const pendingKey = "sigra.oauth.pending"

// handshake is what a started sign-in remembers until its callback.
type handshake struct {
	Provider string `json:"p"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r,omitempty"`
	Remember bool   `json:"m,omitempty"`
	// LinkUser is the user who started a link from the settings page;
	// empty for a sign-in.
	LinkUser string `json:"u,omitempty"`
	// SudoUser is the user who re-authenticates with the provider (for
	// RequireSudo); empty otherwise.
	SudoUser string `json:"s,omitempty"`
}

func stateAD(digest []byte) []byte {
	return append([]byte("sigra.oauth.state:"), digest...)
}

// signInPage lists the providers' buttons.
func (o *OAuth) signInPage(w http.ResponseWriter, r *http.Request) {
	d := &SignInData{}
	list := make([]map[string]string, 0, len(o.providers))
	for _, p := range o.providers {
		d.Providers = append(d.Providers, Button{Name: p.Name, Label: p.Label, Action: o.k.Path(startPath(p.Name))})
		list = append(list, map[string]string{"name": p.Name, "label": p.Label, "start": o.k.Path(startPath(p.Name))})
	}
	p := o.k.Page(r, "Sign in", d)
	if rt, ok := site.LocalPath(r.URL.Query().Get("return_to")); ok {
		p.ReturnTo = rt
	}
	o.allowProviders(r.Context(), w, o.providers)
	o.k.Render(w, r, http.StatusOK, "oauth_signin", p, map[string]any{"ok": true, "providers": list})
}

// start begins a sign-in with the provider of the path.
func (o *OAuth) start(w http.ResponseWriter, r *http.Request) {
	in, err := kernel.ReadInput(r)
	if err != nil {
		o.k.BadInput(w, r)
		return
	}
	p, ok := o.pathProvider(w, r)
	if !ok {
		return
	}
	h := &handshake{Provider: p.Name, ReturnTo: o.k.ReturnTo(r, in), Remember: in.Bool("remember")}
	o.begin(w, r, p, h)
}

// connectPage shows the button that links the provider of the path (the
// settings section links here: its page's policy cannot name the
// providers).
func (o *OAuth) connectPage(w http.ResponseWriter, r *http.Request) {
	p, ok := o.pathProvider(w, r)
	if !ok {
		return
	}
	d := &SignInData{Providers: []Button{{Name: p.Name, Label: p.Label, Action: o.k.Path(linkStartPath(p.Name))}}}
	o.allowProviders(r.Context(), w, []*provider{p})
	o.k.Render(w, r, http.StatusOK, "oauth_connect", o.k.Page(r, "Link "+p.Label, d),
		map[string]any{"ok": true, "provider": p.Name, "start": o.k.Path(linkStartPath(p.Name))})
}

// startLink begins linking the provider of the path to the signed-in
// user (behind sudo).
func (o *OAuth) startLink(w http.ResponseWriter, r *http.Request) {
	if !o.k.Readable(w, r) {
		return
	}
	p, ok := o.pathProvider(w, r)
	if !ok {
		return
	}
	u := o.k.Sess.User(r.Context())
	h := &handshake{Provider: p.Name, ReturnTo: o.k.Route("settings"), LinkUser: u.ID}
	o.begin(w, r, p, h)
}

// sudoPage lists the signed-in user's linked providers, to
// re-authenticate with one of them.
func (o *OAuth) sudoPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ids, err := o.st.UserIdentities(ctx, o.k.Sess.User(ctx).ID)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	d := &SignInData{}
	list := []map[string]string{}
	var linked []*provider
	for _, i := range ids {
		if p, ok := o.byName[i.Provider]; ok {
			linked = append(linked, p)
			d.Providers = append(d.Providers, Button{Name: p.Name, Label: p.Label, Action: o.k.Path(sudoStartPath(p.Name))})
			list = append(list, map[string]string{"name": p.Name, "label": p.Label, "start": o.k.Path(sudoStartPath(p.Name))})
		}
	}
	p := o.k.Page(r, "Confirm it's you", d)
	if rt, ok := site.LocalPath(r.URL.Query().Get("return_to")); ok {
		p.ReturnTo = rt
	}
	o.allowProviders(ctx, w, linked)
	o.k.Render(w, r, http.StatusOK, "oauth_sudo", p, map[string]any{"ok": true, "providers": list})
}

// startSudo begins a re-authentication of the signed-in user with the
// provider of the path; the callback accepts only an identity of that
// user.
func (o *OAuth) startSudo(w http.ResponseWriter, r *http.Request) {
	in, err := kernel.ReadInput(r)
	if err != nil {
		o.k.BadInput(w, r)
		return
	}
	p, ok := o.pathProvider(w, r)
	if !ok {
		return
	}
	u := o.k.Sess.User(r.Context())
	o.begin(w, r, p, &handshake{Provider: p.Name, ReturnTo: o.k.ReturnTo(r, in), SudoUser: u.ID})
}

// pathProvider returns the provider named in the path, or answers 404.
func (o *OAuth) pathProvider(w http.ResponseWriter, r *http.Request) (*provider, bool) {
	p, ok := o.byName[r.PathValue("provider")]
	if !ok {
		o.k.Fail(w, r, http.StatusNotFound, "unknown_provider", "There is no such sign-in provider.")
		return nil, false
	}
	return p, true
}

// begin stores the handshake and sends the browser to the provider.
func (o *OAuth) begin(w http.ResponseWriter, r *http.Request, p *provider, h *handshake) {
	ctx := r.Context()
	if err := o.k.Limiter.Check(ctx, "oauth-start-ip:"+middleware.IPKey(o.k.Site.ClientIP(r)), o.cfg.Limits.StartPerIP); err != nil {
		o.k.Error(w, r, err)
		return
	}
	rd, err := p.get(ctx)
	if err != nil {
		o.providerDown(w, r, p, err)
		return
	}
	state, err := token.New()
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	if h.Nonce, err = token.New(); err != nil {
		o.k.Error(w, r, err)
		return
	}
	h.Verifier = oauth2.GenerateVerifier()
	digest := token.Digest(state)
	plain, err := json.Marshal(h)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	sealed, err := o.keys.Seal(plain, stateAD(digest))
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	now := o.k.Now()
	t := &store.Token{
		Digest: digest, Purpose: statePurpose, UserID: h.LinkUser,
		Data: base64.RawURLEncoding.EncodeToString(sealed), CreatedAt: now, ExpiresAt: now.Add(o.cfg.StateTTL),
	}
	if err := o.st.CreateToken(ctx, t); err != nil {
		o.k.Error(w, r, err)
		return
	}
	o.k.Sess.Values().Put(ctx, stateKey, hex.EncodeToString(digest))
	sess, err := rd.goth.BeginAuth(state)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	authURL, err := sess.GetAuthURL()
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	u, err := url.Parse(authURL)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	q := u.Query()
	if rd.pkce {
		q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(h.Verifier))
		q.Set("code_challenge_method", "S256")
	}
	if rd.verifier != nil {
		q.Set("nonce", h.Nonce)
	}
	if p.Kind == KindApple {
		q.Set("response_mode", "form_post")
	}
	u.RawQuery = q.Encode()
	kernel.Redirect(w, r, u.String(), nil)
}

// formPost takes a provider's form_post callback (Sign in with Apple): a
// cross-site POST, which carries no session cookie (SameSite=Lax) and no
// CSRF token. It changes nothing and reads no session: it sends the
// browser on, with a 303, to the same-site GET callback with the code and
// state in the query, where the session cookie arrives (a top-level GET)
// and the state is checked against it. Other providers' callbacks are GET
// only.
func (o *OAuth) formPost(w http.ResponseWriter, r *http.Request) {
	p, ok := o.pathProvider(w, r)
	if !ok {
		return
	}
	if p.Kind != KindApple {
		o.k.Fail(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "This provider's callback is a GET.")
		return
	}
	in, err := kernel.ReadInput(r)
	if err != nil {
		o.k.BadInput(w, r)
		return
	}
	q := url.Values{}
	for _, k := range []string{"code", "state", "error", "error_description"} {
		if v := in[k]; v != "" {
			q.Set(k, v)
		}
	}
	// Apple's "user" (the name, sent at the first authorization only)
	// goes on sealed and bound to the state: the callback, once it has
	// checked the state, opens it; nobody reads it in the URL.
	if u := in["user"]; u != "" && len(u) <= maxAppleUser && q.Get("state") != "" {
		if sealed, err := o.keys.Seal([]byte(u), appleUserAD(q.Get("state"))); err == nil {
			q.Set("user", base64.RawURLEncoding.EncodeToString(sealed))
		}
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, o.k.Path(callbackPath(p.Name))+"?"+q.Encode(), http.StatusSeeOther)
}

// maxAppleUser bounds the "user" field of Apple's form_post that is
// carried to the callback.
const maxAppleUser = 2048

// appleUserAD binds the sealed "user" field of a form_post to its state.
func appleUserAD(state string) []byte { return []byte("sigra.oauth.apple-user:" + state) }

// appleNames reads the names of Apple's "user" field, sealed by formPost
// for state: {"name": {"firstName": ..., "lastName": ...}, "email": ...}.
// Anything that does not open or parse gives no names.
func (o *OAuth) appleNames(a *account, sealed, state string) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || sealed == "" {
		return
	}
	plain, err := o.keys.Open(b, appleUserAD(state))
	if err != nil {
		return
	}
	var u struct {
		Name struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if json.Unmarshal(plain, &u) != nil {
		return
	}
	a.setNames("", u.Name.FirstName, u.Name.LastName)
}

// callbackError is a callback that did not complete: its code, status and
// message, the audit reason.
type callbackError struct {
	code   string
	status int
	msg    string
}

var (
	errDenied       = &callbackError{"consent_denied", http.StatusForbidden, "You did not allow the sign-in at the provider. Nothing was changed."}
	errProvider     = &callbackError{"provider_error", http.StatusBadGateway, "The provider reported an error. Try again in a moment."}
	errMismatch     = &callbackError{"state_mismatch", http.StatusBadRequest, "This sign-in was not started in this browser, or another sign-in replaced it. Start again from the sign-in page."}
	errReplayed     = &callbackError{"state_replayed", http.StatusBadRequest, "This sign-in link was already used or has expired. Start again from the sign-in page."}
	errExchange     = &callbackError{"token_exchange_failed", http.StatusBadGateway, "The provider did not confirm the sign-in. Start again."}
	errIDToken      = &callbackError{"id_token_invalid", http.StatusBadGateway, "The provider's answer could not be verified. Start again."}
	errNoEmail      = &callbackError{"no_email", http.StatusUnprocessableEntity, "The provider did not share an email address, which a new account needs. Create an account with your email, then link the provider from your account settings."}
	errTakenUnsure  = &callbackError{"email_unverified_taken", http.StatusConflict, "An account already uses the address the provider gave, and the provider has not verified it. Sign in with your email, then link the provider from your account settings."}
	errUnverified   = &callbackError{"email_unverified", http.StatusUnprocessableEntity, "The provider has not verified your email address. Verify it there, or create an account with your email and link the provider from your account settings."}
	errRegClosed    = &callbackError{"registration_closed", http.StatusForbidden, "No account is linked to this sign-in, and new accounts cannot be created here. Sign in with your email, then link the provider from your account settings."}
	errDisabled     = &callbackError{"account_disabled", http.StatusForbidden, "This account is disabled. Contact support."}
	errLinkedElse   = &callbackError{"identity_taken", http.StatusConflict, "This provider account is already linked to another account. Unlink it there first."}
	errAlreadyLinkd = &callbackError{"already_linked", http.StatusConflict, "Your account already has an account of this provider linked. Unlink it first."}
	errLinkUser     = &callbackError{"state_mismatch", http.StatusBadRequest, "This link was started by another account. Sign in to it, or start again."}
	errSudoIdentity = &callbackError{"identity_mismatch", http.StatusForbidden, "That account at the provider is not linked to yours. Confirm with the account you linked."}
)

// fail answers a callback that did not complete, with its page (or JSON)
// and an audit row. Never a 500 for what the provider or the browser did.
func (o *OAuth) fail(w http.ResponseWriter, r *http.Request, p *provider, e *callbackError, subject string) {
	label, retry := "", o.k.Path(pathSignIn)
	meta := map[string]string{"reason": e.code}
	if p != nil {
		label = p.Label
		meta["provider"] = p.Name
	}
	o.k.RecordFailure(r.Context(), ActionCallbackFailure, "", subject, meta)
	if web.WantsJSON(r) {
		o.k.Fail(w, r, e.status, e.code, e.msg)
		return
	}
	o.k.UI.Render(w, r, e.status, "oauth_error", o.k.Page(r, "Sign-in did not complete", &ErrorData{Code: e.code, Message: e.msg, Provider: label, Retry: retry}))
}

// providerDown answers a provider whose endpoints could not be discovered:
// 503 with Retry-After.
func (o *OAuth) providerDown(w http.ResponseWriter, r *http.Request, p *provider, err error) {
	o.k.LogFailure(r.Context(), "provider discovery failed", err, "provider", p.Name)
	w.Header().Set("Retry-After", "30")
	o.fail(w, r, p, &callbackError{"provider_unavailable", http.StatusServiceUnavailable, p.Label + " cannot be reached right now. Try again in a moment."}, "")
}

// callback completes a handshake: see the comment at the top of the file.
func (o *OAuth) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, ok := o.pathProvider(w, r)
	if !ok {
		return
	}
	if err := o.k.Limiter.Check(ctx, "oauth-callback-ip:"+middleware.IPKey(o.k.Site.ClientIP(r)), o.cfg.Limits.CallbackPerIP); err != nil {
		o.k.Error(w, r, err)
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	bound := o.k.Sess.Values().GetString(ctx, stateKey)
	if state == "" || bound == "" || len(state) > 200 ||
		subtle.ConstantTimeCompare([]byte(hex.EncodeToString(token.Digest(state))), []byte(bound)) != 1 {
		o.fail(w, r, p, errMismatch, "")
		return
	}
	digest := token.Digest(state)
	t, err := o.st.ConsumeToken(ctx, statePurpose, digest, o.k.Now())
	if errors.Is(err, store.ErrNotFound) {
		o.fail(w, r, p, errReplayed, "")
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	h, err := o.openHandshake(t, digest)
	if err != nil || h.Provider != p.Name {
		o.fail(w, r, p, errMismatch, "")
		return
	}
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			o.fail(w, r, p, errDenied, h.LinkUser)
		} else {
			o.fail(w, r, p, errProvider, h.LinkUser)
		}
		return
	}
	code := q.Get("code")
	if code == "" {
		o.fail(w, r, p, errProvider, h.LinkUser)
		return
	}
	rd, err := p.get(ctx)
	if err != nil {
		o.providerDown(w, r, p, err)
		return
	}
	acct, tok, cerr := o.exchange(ctx, p, rd, h, state, code)
	if cerr != nil {
		o.fail(w, r, p, cerr, h.LinkUser)
		return
	}
	if p.Kind == KindApple && acct.Name == "" {
		o.appleNames(acct, q.Get("user"), state)
	}
	o.finish(w, r, p, h, acct, tok)
}

// openHandshake unseals a state token's handshake.
func (o *OAuth) openHandshake(t *store.Token, digest []byte) (*handshake, error) {
	sealed, err := base64.RawURLEncoding.DecodeString(t.Data)
	if err != nil {
		return nil, err
	}
	plain, err := o.keys.Open(sealed, stateAD(digest))
	if err != nil {
		return nil, err
	}
	h := new(handshake)
	if err := json.Unmarshal(plain, h); err != nil {
		return nil, err
	}
	return h, nil
}

// tokens are a provider's tokens from the exchange.
type tokens struct {
	access, refresh string
	expires         time.Time
}

// exchange trades the code for tokens (with the PKCE verifier where the
// provider takes PKCE) and reads the account: from the verified ID token
// (signature, issuer, audience, expiry, then the nonce) for OpenID
// Connect providers, from the API for GitHub.
func (o *OAuth) exchange(ctx context.Context, p *provider, rd *ready, h *handshake, state, code string) (*account, *tokens, *callbackError) {
	sess, err := rd.goth.BeginAuth(state)
	if err != nil {
		return nil, nil, errExchange
	}
	params := url.Values{"code": {code}}
	if rd.pkce {
		params.Set("code_verifier", h.Verifier)
	}
	if _, err := sess.Authorize(rd.goth, params); err != nil {
		o.k.LogFailure(ctx, "token exchange refused", err, "provider", p.Name)
		return nil, nil, errExchange
	}
	tok, rawID := sessionTokens(sess)
	if rd.verifier == nil {
		a, err := p.githubAccount(ctx, tok.access)
		if err != nil {
			o.k.LogFailure(ctx, "provider account not read", err, "provider", p.Name)
			return nil, nil, errProvider
		}
		return a, tok, nil
	}
	if rawID == "" {
		return nil, nil, errIDToken
	}
	idt, err := rd.verifier.Verify(oidc.ClientContext(ctx, p.client), rawID)
	if err != nil {
		o.k.LogFailure(ctx, "ID token refused", err, "provider", p.Name)
		return nil, nil, errIDToken
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return nil, nil, errIDToken
	}
	if subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(h.Nonce)) != 1 {
		o.k.LogFailure(ctx, "ID token refused", errors.New("nonce mismatch"), "provider", p.Name)
		return nil, nil, errIDToken
	}
	if p.Kind == KindMicrosoft && idt.Issuer != p.Issuer {
		// A multi-tenant application: the issuer is the user's tenant's,
		// named by the token's tid (a tenant id, never the discovery
		// document's placeholder).
		if !tenantRE.MatchString(c.TenantID) || idt.Issuer != "https://login.microsoftonline.com/"+c.TenantID+"/v2.0" {
			return nil, nil, errIDToken
		}
	}
	if c.Subject == "" {
		return nil, nil, errIDToken
	}
	a := &account{Subject: c.Subject, Email: c.Email, EmailVerified: verified(c.EmailVerified)}
	a.setNames(c.Name, c.GivenName, c.FamilyName)
	for _, m := range c.AMR {
		switch m {
		case "mfa", "otp", "hwk", "swk":
			a.MFA = true
		}
	}
	return a, tok, nil
}

// sessionTokens reads the tokens a goth session holds after Authorize
// (its JSON form has the same fields for every provider used here) and
// the raw ID token, if any.
func sessionTokens(sess goth.Session) (*tokens, string) {
	var s struct {
		AccessToken  string
		RefreshToken string
		ExpiresAt    time.Time
		IDToken      string
	}
	_ = json.Unmarshal([]byte(sess.Marshal()), &s)
	return &tokens{access: s.AccessToken, refresh: s.RefreshToken, expires: s.ExpiresAt}, s.IDToken
}
