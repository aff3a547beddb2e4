package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/oauth"
)

// hooks records the calls of Config.AfterRegister and AfterSignIn.
type hooks struct {
	mu       sync.Mutex
	profiles []oauth.Profile
	signIns  []string // the signed-in users' addresses
}

func (h *hooks) set(c *oauth.Config) {
	c.AfterRegister = func(_ context.Context, u *sigra.User, p oauth.Profile) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if u == nil || u.ID == "" || u.Email != p.Email {
			p.Email = "mismatch: " + p.Email
		}
		h.profiles = append(h.profiles, p)
	}
	c.AfterSignIn = func(_ context.Context, u *sigra.User) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.signIns = append(h.signIns, u.Email)
	}
}

func (h *hooks) get() ([]oauth.Profile, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]oauth.Profile(nil), h.profiles...), append([]string(nil), h.signIns...)
}

// namedUser is a provider account whose ID token carries the names of the
// scope "profile".
type namedUser struct {
	*mockoidc.MockUser
	name, given, family string
}

func (u *namedUser) Claims(_ []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &struct {
		*mockoidc.IDTokenClaims
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Name          string `json:"name"`
		GivenName     string `json:"given_name"`
		FamilyName    string `json:"family_name"`
	}{c, u.Email, u.EmailVerified, u.name, u.given, u.family}, nil
}

// A provider sign-in that creates an account gives the application the
// provider's profile (AfterRegister, once); every completed provider
// sign-in runs AfterSignIn, and one that goes on to the second factor
// does not. A name too long to be one is dropped.
func TestHooksAfterRegisterAndSignIn(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			h := &hooks{}
			a := newApp(t, options{backend: b, oauth: h.set})
			mu := &mockoidc.MockUser{Subject: "sub-named", Email: "named@example.com", EmailVerified: true}
			a.IDP.QueueUser(&namedUser{mu, "Ada Lovelace", "Ada", strings.Repeat("L", 101)})
			want(t, "sign-up", handshake(t, a, a.Client(t)), http.StatusSeeOther)
			profiles, signIns := h.get()
			wantProfile := oauth.Profile{Provider: "local", Subject: "sub-named", Email: "named@example.com", EmailVerified: true, Name: "Ada Lovelace", GivenName: "Ada"}
			if len(profiles) != 1 || profiles[0] != wantProfile {
				t.Fatalf("AfterRegister: got %+v, want [%+v]", profiles, wantProfile)
			}
			if strings.Join(signIns, ",") != "named@example.com" {
				t.Errorf("AfterSignIn after the sign-up: got %q, want the new user once", signIns)
			}

			a.IDP.QueueUser(&namedUser{mu, "Ada Lovelace", "Ada", "Lovelace"})
			want(t, "sign-in", handshake(t, a, a.Client(t)), http.StatusSeeOther)
			profiles, signIns = h.get()
			if len(profiles) != 1 || len(signIns) != 2 {
				t.Errorf("after a second sign-in: got %d AfterRegister and %d AfterSignIn calls, want 1 and 2", len(profiles), len(signIns))
			}

			enrollTOTP(t, a, a.User(t, "named@example.com"))
			a.IDP.QueueUser(&namedUser{mu, "Ada Lovelace", "Ada", "Lovelace"})
			c := a.Client(t)
			want(t, "sign-in with a second factor to come", handshake(t, a, c), http.StatusSeeOther)
			if state, _, _ := c.Whoami(); state != "pending" {
				t.Fatalf("with TOTP: got state %s, want pending", state)
			}
			if _, signIns = h.get(); len(signIns) != 2 {
				t.Errorf("a sign-in waiting for its second factor ran AfterSignIn: %d calls, want 2", len(signIns))
			}
		})
	}
}

// Sign in with Apple sends the user's name only in the first callback's
// form_post body ("user"). It reaches the application through
// AfterRegister; on its way from the form_post to the callback it is
// sealed and bound to the state, so it is not in the URL in clear and a
// "user" carried to another handshake's callback is ignored.
func TestAppleNameOnFirstCallback(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			h := &hooks{}
			a := newApp(t, options{backend: b, oauth: h.set, extra: func(p *idp) []oauth.Provider {
				ap := oauth.Apple(p.ClientID, p.ClientSecret)
				ap.Issuer = p.Issuer() // the in-process provider stands for Apple
				ap.Scopes = []string{"email", "profile"}
				return []oauth.Provider{ap}
			}})
			formPost := func(c *http.Client, back url.Values, user string) string {
				t.Helper()
				form := url.Values{"code": {back.Get("code")}, "state": {back.Get("state")}}
				if user != "" {
					form.Set("user", user)
				}
				req, _ := http.NewRequest(http.MethodPost, a.Server.URL+a.Path("/oauth/apple/callback"), strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", "https://appleid.apple.com")
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				res, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusSeeOther {
					t.Fatalf("form_post: got %d, want 303", res.StatusCode)
				}
				return res.Header.Get("Location")
			}
			user, _ := json.Marshal(map[string]any{"name": map[string]string{"firstName": "Grace", "lastName": "Hopper"}, "email": "grace@example.com"})

			a.IDP.user("apple-grace", "grace@example.com", true)
			c := a.Client(t)
			loc := formPost(noFollow, mustQuery(t, authorize(t, start(t, a, c, "apple", nil))), string(user))
			if strings.Contains(loc, "Grace") || strings.Contains(loc, "Hopper") || mustQuery(t, loc).Get("user") == "" {
				t.Fatalf("form_post: got Location %q, want the user field sealed", loc)
			}
			sealed := mustQuery(t, loc).Get("user")
			want(t, "GET callback", c.Get(loc), http.StatusSeeOther)
			profiles, _ := h.get()
			if len(profiles) != 1 || profiles[0].GivenName != "Grace" || profiles[0].FamilyName != "Hopper" || profiles[0].Name != "Grace Hopper" ||
				profiles[0].Provider != "apple" || profiles[0].Subject != "apple-grace" {
				t.Fatalf("AfterRegister: got %+v, want Grace Hopper from apple", profiles)
			}

			// Another sign-up whose callback carries the first one's sealed
			// user: it does not open for this state.
			a.IDP.user("apple-other", "other@example.com", true)
			c2 := a.Client(t)
			loc = formPost(noFollow, mustQuery(t, authorize(t, start(t, a, c2, "apple", nil))), "")
			q := mustQuery(t, loc)
			q.Set("user", sealed)
			want(t, "GET callback with another handshake's user", c2.Get(a.Path("/oauth/apple/callback")+"?"+q.Encode()), http.StatusSeeOther)
			profiles, _ = h.get()
			if len(profiles) != 2 || profiles[1].Subject != "apple-other" || profiles[1].Name != "" || profiles[1].GivenName != "" {
				t.Errorf("AfterRegister with another handshake's user: got %+v, want no name", profiles)
			}
		})
	}
}
