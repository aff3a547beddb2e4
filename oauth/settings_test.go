package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/store"
)

// identities returns the user's identities.
func identities(t *testing.T, a *app, userID string) []*store.Identity {
	t.Helper()
	ids, err := a.Store.(store.Identities).UserIdentities(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// enrollTOTP confirms a TOTP secret for u in the store, as the mfa
// feature stores one, and returns the secret.
func enrollTOTP(t *testing.T, a *app, u *store.User) string {
	t.Helper()
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	sealed, err := mfa.SealSecret(a.Keys, u.ID, secret)
	if err != nil {
		t.Fatal(err)
	}
	st := a.Store.(store.TOTP)
	ctx := context.Background()
	if err := st.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: sealed, CreatedAt: a.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := st.UseTOTPStep(ctx, u.ID, 1, true, a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	return secret
}

// amrUser is a provider account whose ID token says how it signed in at
// the provider ("amr").
type amrUser struct {
	*mockoidc.MockUser
	amr []string
}

func (u *amrUser) Claims(_ []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &struct {
		*mockoidc.IDTokenClaims
		Email         string   `json:"email"`
		EmailVerified bool     `json:"email_verified"`
		AMR           []string `json:"amr"`
	}{c, u.Email, u.EmailVerified, u.amr}, nil
}

// A provider trusted for its own second factor (TrustMFA) signs in at
// assurance level 2 when its ID token says a second factor was used, and
// hands over to the second factor here when it does not.
func TestTrustMFA(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{oauth: func(c *oauth.Config) { c.Providers[0].TrustMFA = true }})
	mu := &mockoidc.MockUser{Subject: "sub-amr", Email: "amr@example.com", EmailVerified: true}
	a.IDP.QueueUser(&amrUser{mu, []string{"pwd"}})
	c := a.Client(t)
	want(t, "sign-up", handshake(t, a, c), http.StatusSeeOther)
	if _, _, aal := c.Whoami(); aal != 1 {
		t.Errorf("without a second factor at the provider: got AAL%d, want AAL1", aal)
	}
	enrollTOTP(t, a, a.User(t, "amr@example.com"))

	a.IDP.QueueUser(&amrUser{mu, []string{"pwd", "mfa"}})
	c = a.Client(t)
	want(t, "sign-in with mfa at the provider", handshake(t, a, c), http.StatusSeeOther)
	if state, _, aal := c.Whoami(); state != "authenticated" || aal != 2 {
		t.Errorf("amr mfa, trusted: got (%s, AAL%d), want (authenticated, AAL2)", state, aal)
	}
	a.IDP.QueueUser(&amrUser{mu, []string{"pwd"}})
	c = a.Client(t)
	want(t, "sign-in without mfa at the provider", handshake(t, a, c), http.StatusSeeOther)
	if state, _, _ := c.Whoami(); state != "pending" {
		t.Errorf("amr pwd only: got %s, want pending (the second factor here)", state)
	}
}

// A user who enrolled a second factor and signs in with a linked identity
// is sent to the second factor: the provider is one factor.
func TestSecondFactorAfterProvider(t *testing.T) {
	t.Parallel()
	each(t, options{}, func(t *testing.T, a *app) {
		a.IDP.user("sub-2fa", "twofa@example.com", true)
		c := a.Client(t)
		want(t, "sign-up", handshake(t, a, c), http.StatusSeeOther)
		u := a.User(t, "twofa@example.com")

		secret := enrollTOTP(t, a, u)

		a.IDP.user("sub-2fa", "twofa@example.com", true)
		c2 := a.Client(t)
		res := handshake(t, a, c2)
		want(t, "sign-in", res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, a.Path("/mfa/challenge")) {
			t.Fatalf("sign-in with a second factor enrolled: got Location %q, want the second factor", loc)
		}
		if state, _, _ := c2.Whoami(); state != "pending" {
			t.Fatalf("before the second factor: got state %s, want pending", state)
		}
		code, err := totp.GenerateCodeCustom(secret, a.Clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		want(t, "second factor", c2.Post(a.Path("/mfa/challenge"), url.Values{"code": {code}}), http.StatusSeeOther)
		if state, email, aal := c2.Whoami(); state != "authenticated" || email != "twofa@example.com" || aal != 2 {
			t.Errorf("after the second factor: got (%s, %s, AAL%d), want (authenticated, twofa@example.com, AAL2)", state, email, aal)
		}
	})
}

// From the settings page a signed-in user links another account (behind
// sudo), sees it listed, and unlinks it, but never the last way to sign
// in: a user without a password cannot unlink their only identity.
func TestSettingsLinkAndUnlink(t *testing.T) {
	t.Parallel()
	each(t, options{}, func(t *testing.T, a *app) {
		u := a.CreateUser(t, "settings@example.com", pw)
		c := a.Client(t)
		c.SignIn("settings@example.com", pw)

		page := c.Get(a.Path("/settings"))
		want(t, "settings", page, http.StatusOK)
		if !strings.Contains(page.Body, "Linked accounts") || !strings.Contains(page.Body, a.Path("/oauth/local/link")) {
			t.Fatalf("settings: no linked-accounts section with a link button\n%s", page.Body)
		}

		// Link, with a subject under another address: linking from
		// settings needs no matching address.
		a.IDP.user("sub-settings", "elsewhere@example.com", false)
		connect := c.Get(a.Path("/oauth/local/link"))
		want(t, "connect page", connect, http.StatusOK)
		if !strings.Contains(connect.Body, "Continue with Local ID") {
			t.Fatalf("connect page: no button\n%s", connect.Body)
		}
		res := c.Post(a.Path("/oauth/local/link"), nil)
		want(t, "start link", res, http.StatusSeeOther)
		res = c.Get(authorize(t, res.Header.Get("Location")))
		want(t, "link callback", res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); !strings.Contains(loc, "notice=oauth_linked") {
			t.Errorf("link callback: got Location %q, want the settings with the linked notice", loc)
		}
		ids := identities(t, a, u.ID)
		if len(ids) != 1 || ids[0].Subject != "sub-settings" {
			t.Fatalf("identities after linking: got %d, want the one linked", len(ids))
		}
		if !strings.Contains(c.Get(a.Path("/settings")).Body, "elsewhere@example.com") {
			t.Error("settings: the linked account is not listed")
		}

		// Another user's identity cannot be unlinked by this one.
		other := a.CreateUser(t, "other@example.com", pw)
		oid := &store.Identity{UserID: other.ID, Provider: "local", Subject: "sub-other"}
		if err := a.Store.(store.Identities).CreateIdentity(t.Context(), oid); err != nil {
			t.Fatal(err)
		}
		want(t, "unlink another's", c.Post(a.Path("/oauth/unlink"), url.Values{"id": {oid.ID}}), http.StatusNotFound)
		want(t, "unlink nothing", c.Post(a.Path("/oauth/unlink"), url.Values{"id": {""}}), http.StatusBadRequest)

		// With a password, the identity goes.
		res = c.Post(a.Path("/oauth/unlink"), url.Values{"id": {ids[0].ID}})
		want(t, "unlink", res, http.StatusSeeOther)
		if n := len(identities(t, a, u.ID)); n != 0 {
			t.Errorf("identities after unlinking: got %d, want 0", n)
		}
		if n := auditCount(t, a, "oauth.unlink"); n != 1 {
			t.Errorf("oauth.unlink rows: got %d, want 1", n)
		}
	})
}

// A user whose only way to sign in is one identity cannot unlink it, over
// HTTP as in the store; nothing changes.
func TestUnlinkLastMethod(t *testing.T) {
	t.Parallel()
	each(t, options{}, func(t *testing.T, a *app) {
		a.IDP.user("sub-only", "only@example.com", true)
		c := a.Client(t)
		want(t, "sign-up", handshake(t, a, c), http.StatusSeeOther)
		u := a.User(t, "only@example.com")
		ids := identities(t, a, u.ID)
		res := c.JSON("POST", a.Path("/oauth/unlink"), `{"id":"`+ids[0].ID+`"}`)
		want(t, "unlink the last method", res, http.StatusConflict)
		if e, _ := jsonBody(t, res)["error"].(map[string]any); e["code"] != "last_sign_in_method" {
			t.Errorf("unlink the last method: got %v, want last_sign_in_method", e)
		}
		if n := len(identities(t, a, u.ID)); n != 1 {
			t.Errorf("identities: got %d, want 1", n)
		}
		// Unknown fields are refused before anything happens.
		res = c.JSON("POST", a.Path("/oauth/unlink"), `{"id":"`+ids[0].ID+`","force":true}`)
		want(t, "unknown field", res, http.StatusBadRequest)
	})
}

// Unlinking needs a recent re-authentication.
func TestUnlinkNeedsSudo(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{})
	a.CreateUser(t, "sudo@example.com", pw)
	c := a.Client(t)
	c.SignIn("sudo@example.com", pw)
	a.Clock.Advance(15 * time.Minute)
	res := c.Post(a.Path("/oauth/unlink"), url.Values{"id": {"x"}})
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), a.Path("/sudo")) {
		t.Fatalf("unlink without sudo: got %d %s, want a redirect to re-authenticate", res.StatusCode, res.Header.Get("Location"))
	}
	res = c.Post(a.Path("/oauth/local/link"), nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), a.Path("/sudo")) {
		t.Fatalf("link without sudo: got %d %s, want a redirect to re-authenticate", res.StatusCode, res.Header.Get("Location"))
	}
}

// TokenFor returns the stored access token and, once it is about to
// expire, refreshes it at the provider and stores the new one sealed.
func TestTokenForRefreshes(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{})
	a.IDP.user("sub-tok", "tok@example.com", true)
	want(t, "sign-up", handshake(t, a, a.Client(t)), http.StatusSeeOther)
	u := a.User(t, "tok@example.com")
	ctx := context.Background()
	first, err := a.OAuth.TokenFor(ctx, u.ID, "local")
	if err != nil || first.AccessToken == "" {
		t.Fatalf("TokenFor: got %v, %v", first, err)
	}
	again, err := a.OAuth.TokenFor(ctx, u.ID, "local")
	if err != nil || again.AccessToken != first.AccessToken {
		t.Fatalf("TokenFor before expiry: got a different token (%v)", err)
	}
	// The access token expires (mockoidc's expires_in is not in seconds,
	// so the expiry is set in the store); the provider's clock moves on,
	// so that the new token differs.
	id := identities(t, a, u.ID)[0]
	if err := a.Store.(store.Identities).SetIdentityTokens(ctx, id.ID, id.AccessToken, id.RefreshToken, a.Clock.Now().Add(30*time.Second), a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	a.IDP.FastForward(time.Minute)
	fresh, err := a.OAuth.TokenFor(ctx, u.ID, "local")
	if err != nil {
		t.Fatalf("TokenFor after expiry: %v", err)
	}
	if fresh.AccessToken == first.AccessToken {
		t.Fatal("TokenFor after expiry: got the expired token, want a refreshed one")
	}
	stored := identities(t, a, u.ID)[0]
	if strings.Contains(string(stored.AccessToken), fresh.AccessToken) {
		t.Error("the refreshed token is stored raw")
	}
	again, err = a.OAuth.TokenFor(ctx, u.ID, "local")
	if err != nil || again.AccessToken != fresh.AccessToken {
		t.Errorf("TokenFor after the refresh: got %v, %v; want the refreshed token", again, err)
	}
	if _, err := a.OAuth.TokenFor(ctx, u.ID, "github"); err == nil {
		t.Error("TokenFor of an unconfigured provider: got nil error")
	}
}

// A user who signs in only with a provider sets a password from the
// settings page behind sudo, re-authenticating with the provider; or with
// a password reset. Re-authenticating with another provider account is
// refused.
func TestProviderOnlyUserSetsPassword(t *testing.T) {
	t.Parallel()
	each(t, options{}, func(t *testing.T, a *app) {
		a.IDP.user("sub-pwless", "pwless@example.com", true)
		c := a.Client(t)
		want(t, "sign-up", handshake(t, a, c), http.StatusSeeOther)
		a.Clock.Advance(15 * time.Minute) // past the sudo window, within the idle timeout

		const newPW = "a brand new passphrase 42"
		res := c.Post(a.Path("/password"), url.Values{"password": {newPW}})
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), a.Path("/sudo")) {
			t.Fatalf("set a password without sudo: got %d %s, want the re-authentication page", res.StatusCode, res.Header.Get("Location"))
		}
		sudoPage := c.Get(res.Header.Get("Location"))
		if !strings.Contains(sudoPage.Body, a.Path("/oauth/sudo")) {
			t.Fatalf("re-authentication page: no way to confirm with a linked account\n%s", sudoPage.Body)
		}
		page := c.Get(a.Path("/oauth/sudo") + "?return_to=" + url.QueryEscape(a.Path("/settings")))
		if !strings.Contains(page.Body, "Confirm with Local ID") {
			t.Fatalf("oauth sudo page: no button\n%s", page.Body)
		}

		// Another account at the provider does not count.
		a.IDP.user("sub-someone-else", "else@example.com", true)
		res = c.Post(a.Path("/oauth/local/sudo"), url.Values{"return_to": {a.Path("/settings")}})
		want(t, "start sudo", res, http.StatusSeeOther)
		res = c.Get(authorize(t, res.Header.Get("Location")))
		want(t, "sudo with another identity", res, http.StatusForbidden)
		if got := errorCode(res); got != "identity_mismatch" {
			t.Errorf("sudo with another identity: got %q, want identity_mismatch", got)
		}

		a.IDP.user("sub-pwless", "pwless@example.com", true)
		res = c.Post(a.Path("/oauth/local/sudo"), url.Values{"return_to": {a.Path("/settings")}})
		res = c.Get(authorize(t, res.Header.Get("Location")))
		want(t, "sudo with the linked identity", res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != a.Path("/settings") {
			t.Errorf("sudo: got Location %q, want back to the settings", loc)
		}
		want(t, "set a password", c.Post(a.Path("/password"), url.Values{"password": {newPW}}), http.StatusSeeOther)
		if a.User(t, "pwless@example.com").PasswordHash == "" {
			t.Fatal("no password after setting one")
		}
		c2 := a.Client(t)
		c2.SignIn("pwless@example.com", newPW)

		// Another provider-only user sets one with a password reset.
		a.IDP.user("sub-reset", "reset@example.com", true)
		want(t, "sign-up", handshake(t, a, a.Client(t)), http.StatusSeeOther)
		c3 := a.Client(t)
		want(t, "forgot", c3.Post(a.Path("/password/forgot"), url.Values{"email": {"reset@example.com"}}), http.StatusOK)
		a.Flush(t)
		link := apptest.Link(t, a.LastMail(t, "reset@example.com"), a.Path("/password/reset"))
		c3.Get(link)
		res = c3.Post(a.Path("/password/reset"), url.Values{"token": {apptest.TokenOf(link)}, "password": {newPW}})
		want(t, "reset", res, http.StatusSeeOther)
		a.Client(t).SignIn("reset@example.com", newPW)
	})
}

// Unlinking revokes the identity's tokens at an OpenID provider that
// announces a revocation endpoint (RFC 7009): the refresh and the access
// token, with the client's credentials.
func TestUnlinkRevokes(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var revoked []string
	rev := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		id, _, ok := r.BasicAuth()
		mu.Lock()
		defer mu.Unlock()
		if !ok || id == "" || r.Method != http.MethodPost {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		revoked = append(revoked, r.Form.Get("token_type_hint")+":"+r.Form.Get("token"))
	}))
	t.Cleanup(rev.Close)
	a := newApp(t, options{})
	a.IDP.mu.Lock()
	a.IDP.revocation = rev.URL
	a.IDP.mu.Unlock()

	a.CreateUser(t, "rev@example.com", pw)
	c := a.Client(t)
	c.SignIn("rev@example.com", pw)
	a.IDP.user("sub-rev", "rev@example.com", true)
	res := c.Post(a.Path("/oauth/local/link"), nil)
	want(t, "link", c.Get(authorize(t, res.Header.Get("Location"))), http.StatusSeeOther)
	u := a.User(t, "rev@example.com")
	tok, err := a.OAuth.TokenFor(context.Background(), u.ID, "local")
	if err != nil {
		t.Fatal(err)
	}
	ids := identities(t, a, u.ID)
	want(t, "unlink", c.Post(a.Path("/oauth/unlink"), url.Values{"id": {ids[0].ID}}), http.StatusSeeOther)
	mu.Lock()
	defer mu.Unlock()
	if len(revoked) != 2 || !strings.HasPrefix(revoked[0], "refresh_token:") || revoked[1] != "access_token:"+tok.AccessToken {
		t.Errorf("revoked: got %v, want the refresh token then the access token", revoked)
	}
}
