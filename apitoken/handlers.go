package apitoken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// Page titles.
const (
	titleTokens   = "API tokens"
	titleCreated  = "Copy your new token"
	titleAccounts = "Service accounts"
	titleSecret   = "Copy the client secret"
)

// ---- personal tokens ----

func (a *APITokens) tokensData(r *http.Request) (*TokensData, error) {
	ctx := r.Context()
	u := a.k.Sess.User(ctx)
	ts, err := a.st.UserAPITokens(ctx, u.ID, a.k.Now())
	if err != nil {
		return nil, err
	}
	d := &TokensData{Tokens: make([]TokenView, 0, len(ts)), Scopes: a.cfg.Scopes, Expiries: a.expiries()}
	for _, t := range ts {
		d.Tokens = append(d.Tokens, view(t))
	}
	owners, err := a.owners(ctx, u)
	if err != nil {
		return nil, err
	}
	d.ServiceAccounts = len(owners) > 0
	return d, nil
}

func view(t *store.APIToken) TokenView {
	scopes := t.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return TokenView{ID: t.ID, Name: t.Name, Scopes: scopes, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt}
}

// expiries are the lifetimes the create form offers.
func (a *APITokens) expiries() []ExpiryOption {
	def := int(a.cfg.DefaultExpiry / (24 * time.Hour))
	max := int(a.cfg.MaxExpiry / (24 * time.Hour))
	var out []ExpiryOption
	seen := false
	for _, d := range []int{7, 30, 90, 365} {
		if d > max {
			break
		}
		if d > def && !seen {
			out = append(out, ExpiryOption{Value: strconv.Itoa(def), Label: days(def), Default: true})
			seen = true
		}
		if d == def {
			seen = true
		}
		out = append(out, ExpiryOption{Value: strconv.Itoa(d), Label: days(d), Default: d == def})
	}
	if !seen {
		out = append(out, ExpiryOption{Value: strconv.Itoa(def), Label: days(def), Default: true})
	}
	if a.cfg.AllowNoExpiry {
		out = append(out, ExpiryOption{Value: "never", Label: "No expiry"})
	}
	return out
}

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

func (a *APITokens) tokensPage(w http.ResponseWriter, r *http.Request) {
	d, err := a.tokensData(r)
	if err != nil {
		a.k.Error(w, r, err)
		return
	}
	scopes := make([]map[string]string, len(d.Scopes))
	for i, s := range d.Scopes {
		scopes[i] = map[string]string{"name": s.Name, "description": s.Description}
	}
	a.k.Render(w, r, http.StatusOK, "api_tokens", a.k.Page(r, titleTokens, d),
		map[string]any{"tokens": d.Tokens, "scopes": scopes, "allow_no_expiry": a.cfg.AllowNoExpiry,
			"default_expires_in_days": int(a.cfg.DefaultExpiry / (24 * time.Hour))})
}

// tokensError answers a refused form of the tokens page.
func (a *APITokens) tokensError(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields map[string]string) {
	a.k.FormError(w, r, status, "api_tokens", func() (*ui.Page, error) {
		d, err := a.tokensData(r)
		if err != nil {
			return nil, err
		}
		return a.k.Page(r, titleTokens, d), nil
	}, code, msg, fields)
}

// invalid answers a value refused by a check (an *errInput), with 400,
// the code "invalid_input" and the field's message.
func invalid(err error, answer func(status int, code, msg string, fields map[string]string)) bool {
	var e *errInput
	if !errors.As(err, &e) {
		return false
	}
	answer(http.StatusBadRequest, "invalid_input", "Check the highlighted fields.", map[string]string{e.field: e.msg})
	return true
}

func (a *APITokens) create(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := a.k.Sess.User(ctx)
	in, err := kernel.ReadInput(r)
	if err != nil {
		e := kernel.Refusal(err)
		a.tokensError(w, r, http.StatusBadRequest, e.Code, e.Message, e.Fields)
		return
	}
	answer := func(status int, code, msg string, fields map[string]string) {
		a.tokensError(w, r, status, code, msg, fields)
	}
	name, err := checkName("name", in["name"])
	if invalid(err, answer) {
		return
	}
	scopes, err := a.checkScopes("scopes", a.requestedScopes(in), nil)
	if invalid(err, answer) {
		return
	}
	expires, err := a.expiry(in["expires_in_days"], a.k.Now())
	if invalid(err, answer) {
		return
	}
	c, err := a.Create(ctx, u.ID, name, scopes, expires)
	if err != nil {
		a.k.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	d := &CreatedData{Token: c.Secret, Name: c.Token.Name, Scopes: c.Token.Scopes, ExpiresAt: c.Token.ExpiresAt}
	a.k.Render(w, r, http.StatusCreated, "api_token_created", a.k.Page(r, titleCreated, d),
		map[string]any{"ok": true, "token": c.Secret, "api_token": view(c.Token)})
}

func (a *APITokens) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := a.k.Sess.User(ctx)
	in, err := kernel.ReadInput(r)
	if err != nil {
		e := kernel.Refusal(err)
		a.tokensError(w, r, http.StatusBadRequest, e.Code, e.Message, e.Fields)
		return
	}
	if in["id"] == "" {
		a.tokensError(w, r, http.StatusBadRequest, "invalid_input", "No token was named.", map[string]string{"id": "Name the token to revoke."})
		return
	}
	err = a.k.InTx(ctx, func(ctx context.Context) error {
		if err := a.st.RevokeAPIToken(ctx, u.ID, in["id"], a.k.Now()); err != nil {
			return err
		}
		return a.k.Record(ctx, ActionRevoke, u.ID, u.ID, map[string]string{"id": in["id"]})
	})
	if errors.Is(err, store.ErrNotFound) {
		a.k.Fail(w, r, http.StatusNotFound, "not_found", "You have no such token.")
		return
	}
	if err != nil {
		a.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(a.k.Path(pathTokens), "token_revoked"), nil)
}

func (a *APITokens) revokeAll(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := a.k.Sess.User(ctx)
	if !a.k.Readable(w, r) {
		return
	}
	var n int
	err := a.k.InTx(ctx, func(ctx context.Context) error {
		var err error
		if n, err = a.st.RevokeUserAPITokens(ctx, u.ID, a.k.Now()); err != nil {
			return err
		}
		return a.k.Record(ctx, ActionRevokeAll, u.ID, u.ID, map[string]string{"count": strconv.Itoa(n)})
	})
	if err != nil {
		a.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(a.k.Path(pathTokens), "tokens_revoked"), map[string]any{"revoked": n})
}

// ---- service accounts ----

// owners returns the owners of service accounts u manages: the
// application when Config.CanManageApp says so, then the organizations
// where u holds an admin role, in the order u joined them.
func (a *APITokens) owners(ctx context.Context, u *sigra.User) ([]OwnerView, error) {
	var out []OwnerView
	if ok, _ := a.canManage(ctx, u, ""); ok {
		out = append(out, OwnerView{Name: a.k.UI.Brand().ProductName})
	}
	orgs, err := a.st.UserOrgs(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		for _, role := range a.cfg.AdminRoles {
			if o.Membership.Role == role {
				out = append(out, OwnerView{OrgID: o.Org.ID, Name: o.Org.Name})
				break
			}
		}
	}
	return out, nil
}

func (a *APITokens) accountsData(r *http.Request) (*AccountsData, error) {
	ctx := r.Context()
	owners, err := a.owners(ctx, a.k.Sess.User(ctx))
	if err != nil {
		return nil, err
	}
	now := a.k.Now()
	for i := range owners {
		sas, err := a.st.ServiceAccounts(ctx, owners[i].OrgID)
		if err != nil {
			return nil, err
		}
		owners[i].Accounts = []AccountView{}
		for _, sa := range sas {
			secrets, err := a.st.ServiceAccountSecrets(ctx, owners[i].OrgID, sa.ID, now)
			if err != nil {
				return nil, err
			}
			v := AccountView{ID: sa.ID, Name: sa.Name, Scopes: sa.Scopes, CreatedAt: sa.CreatedAt, Secrets: []SecretView{}}
			if v.Scopes == nil {
				v.Scopes = []string{}
			}
			for _, s := range secrets {
				v.Secrets = append(v.Secrets, SecretView{CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt})
			}
			owners[i].Accounts = append(owners[i].Accounts, v)
		}
	}
	return &AccountsData{Owners: owners, Scopes: a.cfg.Scopes, TokenEndpoint: a.k.Absolute(a.tokenEP)}, nil
}

func (a *APITokens) accountsPage(w http.ResponseWriter, r *http.Request) {
	d, err := a.accountsData(r)
	if err != nil {
		a.k.Error(w, r, err)
		return
	}
	a.k.Render(w, r, http.StatusOK, "service_accounts", a.k.Page(r, titleAccounts, d),
		map[string]any{"owners": d.Owners, "token_endpoint": d.TokenEndpoint})
}

// accountsError answers a refused form of the service accounts page.
func (a *APITokens) accountsError(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields map[string]string) {
	a.k.FormError(w, r, status, "service_accounts", func() (*ui.Page, error) {
		d, err := a.accountsData(r)
		if err != nil {
			return nil, err
		}
		return a.k.Page(r, titleAccounts, d), nil
	}, code, msg, fields)
}

// manageInput reads a service-account form and checks that the user
// manages the owner it names (org_id, "" for the application). An owner
// the user does not manage is answered as not found, as is an unknown
// one. ok is false when it answered.
func (a *APITokens) manageInput(w http.ResponseWriter, r *http.Request) (in kernel.Input, u *sigra.User, ok bool) {
	ctx := r.Context()
	u = a.k.Sess.User(ctx)
	in, err := kernel.ReadInput(r)
	if err != nil {
		e := kernel.Refusal(err)
		a.accountsError(w, r, http.StatusBadRequest, e.Code, e.Message, e.Fields)
		return nil, nil, false
	}
	can, err := a.canManage(ctx, u, in["org_id"])
	if err != nil {
		a.k.Error(w, r, err)
		return nil, nil, false
	}
	if !can {
		a.k.Fail(w, r, http.StatusNotFound, "not_found", "You manage no such service accounts.")
		return nil, nil, false
	}
	return in, u, true
}

func (a *APITokens) createAccount(w http.ResponseWriter, r *http.Request) {
	in, u, ok := a.manageInput(w, r)
	if !ok {
		return
	}
	answer := func(status int, code, msg string, fields map[string]string) {
		a.accountsError(w, r, status, code, msg, fields)
	}
	name, err := checkName("name", in["name"])
	if invalid(err, answer) {
		return
	}
	scopes, err := a.checkScopes("scopes", a.requestedScopes(in), nil)
	if invalid(err, answer) {
		return
	}
	n, err := a.CreateServiceAccount(r.Context(), in["org_id"], name, scopes, u.ID)
	if err != nil {
		a.k.Error(w, r, err)
		return
	}
	a.showSecret(w, r, http.StatusCreated, n, time.Time{})
}

func (a *APITokens) rotateAccount(w http.ResponseWriter, r *http.Request) {
	in, u, ok := a.manageInput(w, r)
	if !ok {
		return
	}
	n, err := a.RotateSecret(r.Context(), in["org_id"], in["client_id"], u.ID)
	if errors.Is(err, store.ErrNotFound) {
		a.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such service account.")
		return
	}
	if err != nil {
		a.k.Error(w, r, err)
		return
	}
	until := a.k.Now()
	if a.cfg.SecretOverlap > 0 {
		until = until.Add(a.cfg.SecretOverlap)
	}
	a.showSecret(w, r, http.StatusOK, n, until)
}

// showSecret renders a client secret, the only time it is shown.
func (a *APITokens) showSecret(w http.ResponseWriter, r *http.Request, status int, n *NewAccount, previousUntil time.Time) {
	w.Header().Set("Cache-Control", "no-store")
	d := &SecretData{ClientID: n.Account.ID, Secret: n.Secret, Name: n.Account.Name, PreviousUntil: previousUntil,
		TokenEndpoint: a.k.Absolute(a.tokenEP)}
	body := map[string]any{"ok": true, "client_id": n.Account.ID, "client_secret": n.Secret, "name": n.Account.Name,
		"token_endpoint": d.TokenEndpoint}
	if !previousUntil.IsZero() {
		body["previous_secrets_until"] = previousUntil
	}
	a.k.Render(w, r, status, "service_account_secret", a.k.Page(r, titleSecret, d), body)
}

func (a *APITokens) deleteAccount(w http.ResponseWriter, r *http.Request) {
	in, u, ok := a.manageInput(w, r)
	if !ok {
		return
	}
	org, id := in["org_id"], in["client_id"]
	err := a.k.InTx(r.Context(), func(ctx context.Context) error {
		if err := a.st.DeleteServiceAccount(ctx, org, id); err != nil {
			return err
		}
		return a.record(ctx, ActionServiceDelete, org, u.ID, id, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		a.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such service account.")
		return
	}
	if err != nil {
		a.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(a.k.Path(pathServiceAccounts), "service_account_deleted"), nil)
}

// ---- the token endpoint ----

// oauthError answers the token endpoint's refusals as RFC 6749 section
// 5.2 says: {"error": "<code>", "error_description": "..."}.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
	}
	web.JSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// tokenEndpoint exchanges a service account's client credentials for a
// short-lived access token (RFC 6749 section 4.4).
func (a *APITokens) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", kernel.Refusal(err).Message)
		return
	}
	if in["grant_type"] != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Only grant_type=client_credentials is supported.")
		return
	}
	id, secret := in["client_id"], in["client_secret"]
	if bid, bsecret, ok := r.BasicAuth(); ok {
		if id != "" || secret != "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "Send the client credentials once: in the Authorization header or in the body.")
			return
		}
		// RFC 6749 section 2.3.1: both are form-encoded inside Basic.
		var e1, e2 error
		id, e1 = url.QueryUnescape(bid)
		secret, e2 = url.QueryUnescape(bsecret)
		if e1 != nil || e2 != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "The client credentials are not form-encoded.")
			return
		}
	}
	if id == "" || secret == "" {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Send client_id and client_secret.")
		return
	}
	if prefix, err := token.ParseAPIKey(secret); err != nil || prefix != a.cs || len(id) > 64 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The client credentials are wrong.")
		return
	}
	if err := a.k.Limiter.Check(ctx, "apitoken-client:"+id, clientLimit); err != nil {
		a.k.Error(w, r, err)
		return
	}
	now := a.k.Now()
	sa, err := a.st.ServiceAccountBySecret(ctx, id, token.APIKeyDigest(secret), now)
	if errors.Is(err, store.ErrNotFound) {
		a.recordFailure(ctx, ActionServiceTokenBad, "", "", id, map[string]string{"reason": "invalid_client"})
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The client credentials are wrong.")
		return
	}
	if err != nil {
		a.k.Error(w, r, err)
		return
	}
	scopes := sa.Scopes
	if req := strings.TrimSpace(in["scope"]); req != "" {
		granted := map[string]bool{}
		for _, s := range sa.Scopes {
			granted[s] = true
		}
		var err error
		scopes, err = a.checkScopes("scope", []string{req}, func(s string) bool { return granted[s] })
		if err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("Ask for a subset of the account's scopes: %s.", strings.Join(sa.Scopes, " ")))
			return
		}
	}
	access, err := token.NewAPIKey(a.at)
	if err != nil {
		a.k.Error(w, r, err)
		return
	}
	t := &store.APIToken{Digest: token.APIKeyDigest(access), ServiceAccountID: sa.ID, Name: "client_credentials",
		Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(a.cfg.AccessTokenTTL)}
	err = a.k.InTx(ctx, func(ctx context.Context) error {
		if err := a.st.CreateAPIToken(ctx, t); err != nil {
			return err
		}
		return a.record(ctx, ActionServiceToken, sa.OrgID, sa.ID, sa.ID, map[string]string{"id": t.ID, "scopes": strings.Join(scopes, " ")})
	})
	if err != nil {
		a.k.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{
		"access_token": access, "token_type": "Bearer", "expires_in": int(a.cfg.AccessTokenTTL / time.Second),
		"scope": strings.Join(scopes, " "),
	})
}

// clientLimit bounds the token requests of one client ID, right or wrong.
var clientLimit = middleware.Limit{N: 60, Window: time.Minute}
