package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// The linking rules.
//
// An identity is (provider, subject), never an address. A callback whose
// identity is linked signs its user in (then the second factor, if the
// user enrolled one). One that is not linked:
//
//   - started from the settings page (a link), is linked to the user who
//     started it, if that user is still the one signed in;
//   - whose address the provider verified and an account holds, is never
//     linked at once: it waits in the browser's session (sealed) while the
//     user signs in to an account in the usual way, then is linked when
//     they confirm it (the route oauth_link);
//   - whose address the provider did not verify, and an account holds, is
//     refused: an unverified address is not considered for linking at all;
//   - otherwise creates an account (unless registration is closed), its
//     address confirmed only if the provider verified it.

// pendingTTL bounds how long a found identity waits for the user to sign
// in and confirm the link.
const pendingTTL = 15 * time.Minute

// pendingLink is an identity waiting for the user to confirm its link.
type pendingLink struct {
	Provider string    `json:"p"`
	Subject  string    `json:"s"`
	Email    string    `json:"e"`
	Verified bool      `json:"v"`
	Access   string    `json:"a,omitempty"`
	Refresh  string    `json:"r,omitempty"`
	Expiry   time.Time `json:"x,omitzero"`
	Created  time.Time `json:"c"`
}

var pendingAD = []byte("sigra.oauth.pending")

// finish applies the linking rules to the account a callback verified.
func (o *OAuth) finish(w http.ResponseWriter, r *http.Request, p *provider, h *handshake, a *account, tok *tokens) {
	ctx := r.Context()
	if h.LinkUser != "" {
		o.linkFromSettings(w, r, p, h, a, tok)
		return
	}
	if h.SudoUser != "" {
		o.sudo(w, r, p, h, a)
		return
	}
	id, err := o.st.IdentityBySubject(ctx, p.Name, a.Subject)
	switch {
	case err == nil:
		o.signInIdentity(w, r, p, h, a, tok, id)
		return
	case !errors.Is(err, store.ErrNotFound):
		o.k.Error(w, r, err)
		return
	}
	if a.Email == "" {
		o.fail(w, r, p, errNoEmail, "")
		return
	}
	holder, err := o.st.UserByEmail(ctx, a.Email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		o.k.Error(w, r, err)
		return
	}
	if holder != nil {
		if !a.EmailVerified {
			o.fail(w, r, p, errTakenUnsure, "")
			return
		}
		o.askToLink(w, r, p, a, tok, holder)
		return
	}
	if o.cfg.DisableRegistration {
		o.fail(w, r, p, errRegClosed, "")
		return
	}
	if !a.EmailVerified && !o.cfg.AllowUnverifiedEmail {
		o.fail(w, r, p, errUnverified, "")
		return
	}
	o.register(w, r, p, h, a, tok)
}

// signInIdentity signs in the user of a linked identity.
func (o *OAuth) signInIdentity(w http.ResponseWriter, r *http.Request, p *provider, h *handshake, a *account, tok *tokens, id *store.Identity) {
	ctx := r.Context()
	u, err := o.st.UserByID(ctx, id.UserID)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	if !u.DisabledAt.IsZero() {
		o.fail(w, r, p, errDisabled, u.ID)
		return
	}
	err = o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.TouchIdentity(ctx, id.ID, a.Email, a.EmailVerified, o.k.Now()); err != nil {
			return err
		}
		return o.saveTokens(ctx, id, tok.access, tok.refresh, tok.expires)
	})
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	o.signIn(w, r, p, a, u, h.Remember, h.ReturnTo)
}

// register creates an account for a new identity and signs it in.
func (o *OAuth) register(w http.ResponseWriter, r *http.Request, p *provider, h *handshake, a *account, tok *tokens) {
	ctx := r.Context()
	now := o.k.Now()
	u := &store.User{Email: a.Email, CreatedAt: now, UpdatedAt: now}
	if a.EmailVerified {
		u.EmailConfirmedAt = now
	}
	err := o.k.InTx(ctx, func(ctx context.Context) error {
		if err := o.st.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := o.link(ctx, u, p, a, tok); err != nil {
			return err
		}
		return o.k.Record(ctx, audit.ActionRegister, u.ID, u.ID, map[string]string{"method": string(sigra.MethodOAuth), "provider": p.Name})
	})
	switch {
	case errors.Is(err, errIdentityTaken):
		o.fail(w, r, p, errLinkedElse, "")
		return
	case errors.Is(err, store.ErrConflict):
		// The address was taken meanwhile.
		o.fail(w, r, p, errTakenUnsure, "")
		return
	case err != nil:
		o.k.Error(w, r, err)
		return
	}
	if f := o.cfg.AfterRegister; f != nil {
		f(ctx, publicUser(u), Profile{
			Provider: p.Name, Subject: a.Subject, Email: a.Email, EmailVerified: a.EmailVerified,
			Name: a.Name, GivenName: a.GivenName, FamilyName: a.FamilyName,
		})
	}
	o.signIn(w, r, p, a, u, h.Remember, h.ReturnTo)
}

// errIdentityTaken is a link refused because the identity is linked to
// another user; errProviderTaken because the user has another identity of
// the provider.
var (
	errIdentityTaken = errors.New("sigra/oauth: identity linked to another user")
	errProviderTaken = errors.New("sigra/oauth: the user has an identity of this provider")
)

// link links the identity to u (in ctx's transaction) with its sealed
// tokens, records it and emails the notice.
func (o *OAuth) link(ctx context.Context, u *store.User, p *provider, a *account, tok *tokens) error {
	access, refresh, err := o.sealTokens(p.Name, a.Subject, tok.access, tok.refresh)
	if err != nil {
		return err
	}
	now := o.k.Now()
	id := &store.Identity{
		UserID: u.ID, Provider: p.Name, Subject: a.Subject, Email: a.Email, EmailVerified: a.EmailVerified,
		AccessToken: access, RefreshToken: refresh, TokenExpiresAt: tok.expires.UTC(), CreatedAt: now, UpdatedAt: now,
	}
	err = o.st.CreateIdentity(ctx, id)
	if errors.Is(err, store.ErrConflict) {
		other, lerr := o.st.IdentityBySubject(ctx, p.Name, a.Subject)
		if lerr == nil && other.UserID != u.ID {
			return errIdentityTaken
		}
		return errProviderTaken
	}
	if err != nil {
		return err
	}
	if err := o.k.Record(ctx, ActionLink, u.ID, u.ID, map[string]string{"provider": p.Name}); err != nil {
		return err
	}
	return o.k.Queue(ctx, "oauth_linked", u.Email, o.notice(ctx, p))
}

// notice is the data of a link or unlink email.
func (o *OAuth) notice(ctx context.Context, p *provider) *ui.Email {
	ip, ua := audit.RequestInfo(ctx)
	return &ui.Email{IP: ip, UserAgent: ua, When: o.k.Now(), Data: &LinkMail{Provider: p.Label}}
}

// signIn completes a provider sign-in: the second factor when the user
// enrolled one (a provider sign-in is one factor, unless the provider is
// trusted for its own second factor and says one was used), else the
// session is signed in.
func (o *OAuth) signIn(w http.ResponseWriter, r *http.Request, p *provider, a *account, u *store.User, remember bool, next string) {
	ctx := r.Context()
	pub := publicUser(u)
	methods, aal := []sigra.Method{sigra.MethodOAuth}, sigra.AAL1
	if p.TrustMFA && a.MFA {
		aal = sigra.AAL2
	}
	if sf := o.cfg.SecondFactor; sf != nil && aal < sigra.AAL2 {
		need, err := sf.Required(ctx, u.ID)
		if err != nil {
			o.k.Error(w, r, err)
			return
		}
		if need && !sf.Trusted(r, u.ID) {
			if err := o.k.Sess.BeginSecondFactor(ctx, pub, sigra.MethodOAuth, remember); err != nil {
				o.k.Error(w, r, err)
				return
			}
			target := o.k.Route(ui.RouteSecondFactor)
			if next != o.k.Site.Home() {
				target += "?" + url.Values{"return_to": {next}}.Encode()
			}
			kernel.Redirect(w, r, target, map[string]any{"mfa_required": true})
			return
		}
		if need {
			methods, aal = append(methods, sigra.MethodTrustedBrowser), sigra.AAL2
		}
	}
	if err := o.k.Sess.SignIn(ctx, pub, methods, aal, remember); err != nil {
		o.k.Error(w, r, err)
		return
	}
	aalText := "1"
	if aal >= sigra.AAL2 {
		aalText = "2"
	}
	o.k.RecordOutside(ctx, audit.ActionLoginSuccess, u.ID, u.ID, map[string]string{"method": string(sigra.MethodOAuth), "provider": p.Name, "aal": aalText})
	if f := o.cfg.AfterSignIn; f != nil {
		f(ctx, pub)
	}
	kernel.Redirect(w, r, next, map[string]any{"user": map[string]any{"id": u.ID, "email": u.Email, "email_confirmed": !u.EmailConfirmedAt.IsZero()}})
}

// askToLink keeps a found identity in the session and sends the user to
// sign in to the account holding its address; the route oauth_link then
// asks them to confirm the link. Nothing is linked yet.
func (o *OAuth) askToLink(w http.ResponseWriter, r *http.Request, p *provider, a *account, tok *tokens, holder *store.User) {
	ctx := r.Context()
	pl := pendingLink{
		Provider: p.Name, Subject: a.Subject, Email: a.Email, Verified: a.EmailVerified,
		Access: tok.access, Refresh: tok.refresh, Expiry: tok.expires.UTC(), Created: o.k.Now(),
	}
	plain, err := json.Marshal(pl)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	sealed, err := o.keys.Seal(plain, pendingAD)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	o.k.Sess.Values().Put(ctx, pendingKey, base64.RawURLEncoding.EncodeToString(sealed))
	o.k.RecordOutside(ctx, ActionLinkPending, "", holder.ID, map[string]string{"provider": p.Name})
	target := o.k.Route(ui.RouteSignIn) + "?" + url.Values{"return_to": {o.k.Path(pathLink)}}.Encode()
	kernel.Redirect(w, r, target, map[string]any{"link_required": true})
}

// pending returns the identity waiting in the session for its link to be
// confirmed, if any is there and unexpired.
func (o *OAuth) pending(ctx context.Context) (*pendingLink, *provider, bool) {
	s := o.k.Sess.Values().GetString(ctx, pendingKey)
	if s == "" {
		return nil, nil, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, nil, false
	}
	plain, err := o.keys.Open(sealed, pendingAD)
	if err != nil {
		return nil, nil, false
	}
	var pl pendingLink
	if json.Unmarshal(plain, &pl) != nil || !o.k.Now().Before(pl.Created.Add(pendingTTL)) {
		return nil, nil, false
	}
	p, ok := o.byName[pl.Provider]
	return &pl, p, ok
}

// errNoPending is a confirmation without a waiting identity.
var errNoPending = &callbackError{"link_expired", http.StatusGone, "There is no sign-in waiting to be linked, or it has expired. Start again from the sign-in page."}

// linkPage asks the signed-in user to confirm linking the waiting
// identity.
func (o *OAuth) linkPage(w http.ResponseWriter, r *http.Request) {
	pl, p, ok := o.pending(r.Context())
	if !ok {
		o.fail(w, r, nil, errNoPending, "")
		return
	}
	o.k.Render(w, r, http.StatusOK, "oauth_link", o.k.Page(r, "Link your account", &LinkData{Provider: p.Label, Email: pl.Email}),
		map[string]any{"ok": true, "provider": p.Name, "email": pl.Email})
}

// confirmLink links the waiting identity to the signed-in user, who must
// have signed in after the identity was found (they proved they hold the
// account).
func (o *OAuth) confirmLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !o.k.Readable(w, r) {
		return
	}
	pl, p, ok := o.pending(ctx)
	if !ok {
		o.fail(w, r, nil, errNoPending, "")
		return
	}
	auth := sigra.AuthFrom(ctx)
	if auth.AuthTime.Before(pl.Created) {
		// Signed in before the identity was found: sign in again.
		o.k.Fail(w, r, http.StatusForbidden, "sign_in_required", "Sign in to your account again to link it.")
		return
	}
	u, err := o.st.UserByID(ctx, auth.User.ID)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	a := &account{Subject: pl.Subject, Email: pl.Email, EmailVerified: pl.Verified}
	tok := &tokens{access: pl.Access, refresh: pl.Refresh, expires: pl.Expiry}
	err = o.k.InTx(ctx, func(ctx context.Context) error { return o.link(ctx, u, p, a, tok) })
	o.k.Sess.Values().Remove(ctx, pendingKey)
	if o.linkFailed(w, r, p, u.ID, err) {
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(o.k.Route(ui.RouteSettings), "oauth_linked"), map[string]any{"provider": p.Name})
}

// linkFromSettings links the identity of a link started from the
// settings page to the user who started it.
func (o *OAuth) linkFromSettings(w http.ResponseWriter, r *http.Request, p *provider, h *handshake, a *account, tok *tokens) {
	ctx := r.Context()
	cur := o.k.Sess.User(ctx)
	if cur == nil || cur.ID != h.LinkUser || sigra.AuthFrom(ctx).State != sigra.StateAuthenticated {
		o.fail(w, r, p, errLinkUser, h.LinkUser)
		return
	}
	u, err := o.st.UserByID(ctx, cur.ID)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	err = o.k.InTx(ctx, func(ctx context.Context) error { return o.link(ctx, u, p, a, tok) })
	if o.linkFailed(w, r, p, u.ID, err) {
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(o.k.Route(ui.RouteSettings), "oauth_linked"), map[string]any{"provider": p.Name})
}

// sudo records a re-authentication of the signed-in user who started it,
// with one of their own identities.
func (o *OAuth) sudo(w http.ResponseWriter, r *http.Request, p *provider, h *handshake, a *account) {
	ctx := r.Context()
	cur := o.k.Sess.User(ctx)
	if cur == nil || cur.ID != h.SudoUser || sigra.AuthFrom(ctx).State != sigra.StateAuthenticated {
		o.fail(w, r, p, errLinkUser, h.SudoUser)
		return
	}
	id, err := o.st.IdentityBySubject(ctx, p.Name, a.Subject)
	if errors.Is(err, store.ErrNotFound) || (err == nil && id.UserID != cur.ID) {
		o.k.RecordFailure(ctx, audit.ActionSudo, cur.ID, cur.ID, map[string]string{"method": string(sigra.MethodOAuth), "provider": p.Name})
		o.fail(w, r, p, errSudoIdentity, cur.ID)
		return
	}
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	if err := o.k.Sess.Sudo(ctx, sigra.MethodOAuth); err != nil {
		o.k.Error(w, r, err)
		return
	}
	o.k.RecordOutside(ctx, audit.ActionSudo, cur.ID, cur.ID, map[string]string{"method": string(sigra.MethodOAuth), "provider": p.Name})
	kernel.Redirect(w, r, h.ReturnTo, nil)
}

// linkFailed answers a refused link; ok is false when err is nil.
func (o *OAuth) linkFailed(w http.ResponseWriter, r *http.Request, p *provider, userID string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, errIdentityTaken):
		o.fail(w, r, p, errLinkedElse, userID)
	case errors.Is(err, errProviderTaken):
		o.fail(w, r, p, errAlreadyLinkd, userID)
	default:
		o.k.Error(w, r, err)
	}
	return true
}

// unlink removes one of the user's identities (behind sudo), never the
// last way to sign in, and revokes its tokens at the provider where the
// provider allows it.
func (o *OAuth) unlink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	if err != nil {
		o.k.BadInput(w, r)
		return
	}
	if in["id"] == "" {
		o.k.FormError(w, r, http.StatusBadRequest, "error", nil, "invalid_input", "No linked account was named.", map[string]string{"id": "Name the linked account to unlink."})
		return
	}
	u, err := o.st.UserByID(ctx, o.k.Sess.User(ctx).ID)
	if err != nil {
		o.k.Error(w, r, err)
		return
	}
	var gone *store.Identity
	err = o.k.InTx(ctx, func(ctx context.Context) error {
		var err error
		if gone, err = o.st.DeleteIdentity(ctx, u.ID, in["id"]); err != nil {
			return err
		}
		if err := o.k.Record(ctx, ActionUnlink, u.ID, u.ID, map[string]string{"provider": gone.Provider}); err != nil {
			return err
		}
		data := o.notice(ctx, &provider{Provider: Provider{Label: o.label(gone.Provider)}})
		return o.k.Queue(ctx, "oauth_unlinked", u.Email, data)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		o.k.Fail(w, r, http.StatusNotFound, "not_found", "That account is not linked to yours.")
		return
	case errors.Is(err, store.ErrLastSignInMethod):
		o.k.Fail(w, r, http.StatusConflict, "last_sign_in_method",
			"This is your only way to sign in. Set a password or link another account before you unlink it.")
		return
	case err != nil:
		o.k.Error(w, r, err)
		return
	}
	o.revoke(ctx, gone)
	kernel.Redirect(w, r, kernel.WithNotice(o.k.Route(ui.RouteSettings), "oauth_unlinked"), map[string]any{"provider": gone.Provider})
}

// label is a provider's label, or its name when it is no longer
// configured.
func (o *OAuth) label(name string) string {
	if p, ok := o.byName[name]; ok {
		return p.Label
	}
	return name
}

// revoke asks the provider to revoke an unlinked identity's tokens, after
// the unlink committed. A failure is logged: the link is gone either way.
func (o *OAuth) revoke(ctx context.Context, id *store.Identity) {
	p, ok := o.byName[id.Provider]
	if !ok {
		return
	}
	access, refresh, err := o.openTokens(id)
	if err != nil {
		o.k.LogFailure(ctx, "unlinked identity's tokens not opened", err, "provider", id.Provider)
		return
	}
	rd, err := p.get(ctx)
	if err != nil {
		o.k.LogFailure(ctx, "tokens not revoked", err, "provider", id.Provider)
		return
	}
	ctx = context.WithoutCancel(ctx)
	if refresh != "" {
		if err := p.revokeToken(ctx, rd, refresh, "refresh_token"); err != nil {
			o.k.LogFailure(ctx, "refresh token not revoked", err, "provider", id.Provider)
		}
	}
	if access != "" {
		if err := p.revokeToken(ctx, rd, access, "access_token"); err != nil {
			o.k.LogFailure(ctx, "access token not revoked", err, "provider", id.Provider)
		}
	}
}
