package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/store"
)

// githubAPI is an HTTP server shaped like GitHub's OAuth endpoints and
// its API's user and emails endpoints.
type githubAPI struct {
	*httptest.Server
	mu     sync.Mutex
	emails []map[string]any
	// revoked records the tokens revoked through the grant API.
	revoked []string
}

const ghToken = "gho_test_access_token"

func newGitHubAPI(t *testing.T) *githubAPI {
	t.Helper()
	g := &githubAPI{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != "gh-client" {
			http.Error(w, "bad client", http.StatusBadRequest)
			return
		}
		to, _ := url.Parse(q.Get("redirect_uri"))
		to.RawQuery = url.Values{"code": {"gh-code"}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, to.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
		}
		if r.Form.Get("code") != "gh-code" || id != "gh-client" || secret != "gh-secret" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"error":"bad_verification_code"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + ghToken + `","token_type":"bearer","scope":"read:user,user:email"}`))
	})
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer "+ghToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return false
		}
		return true
	}
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		if auth(w, r) {
			_, _ = w.Write([]byte(`{"id":4242,"login":"octocat","email":null}`))
		}
	})
	mux.HandleFunc("GET /user/emails", func(w http.ResponseWriter, r *http.Request) {
		if auth(w, r) {
			g.mu.Lock()
			defer g.mu.Unlock()
			_ = json.NewEncoder(w).Encode(g.emails)
		}
	})
	mux.HandleFunc("DELETE /applications/gh-client/grant", func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		var body struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if id != "gh-client" || secret != "gh-secret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		g.mu.Lock()
		g.revoked = append(g.revoked, body.AccessToken)
		g.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	g.Server = httptest.NewServer(mux)
	t.Cleanup(g.Close)
	return g
}

func (g *githubAPI) setEmails(e ...map[string]any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.emails = e
}

func (g *githubAPI) provider() oauth.Provider {
	p := oauth.GitHub("gh-client", "gh-secret")
	p.AuthURL, p.TokenURL, p.APIURL = g.URL+"/login/oauth/authorize", g.URL+"/login/oauth/access_token", g.URL
	return p
}

// The GitHub path (no OpenID Connect): the account is read from the API,
// keyed by its numeric id; only the primary address counts, and it is
// taken as verified only when GitHub says so. Unlinking revokes the grant.
func TestGitHub(t *testing.T) {
	t.Parallel()
	gh := newGitHubAPI(t)
	a := newApp(t, options{
		extra: func(*idp) []oauth.Provider { return []oauth.Provider{gh.provider()} },
		oauth: func(c *oauth.Config) { c.AllowUnverifiedEmail = true },
	})

	// A secondary verified address and an unverified primary one: the
	// primary is used, unverified (AllowUnverifiedEmail lets it make an
	// account).
	gh.setEmails(
		map[string]any{"email": "second@example.com", "primary": false, "verified": true},
		map[string]any{"email": "octo@example.com", "primary": true, "verified": false},
	)
	c := a.Client(t)
	res := c.Get(authorize(t, start(t, a, c, "github", nil)))
	want(t, "GitHub sign-up", res, http.StatusSeeOther)
	u := a.User(t, "octo@example.com")
	if !u.EmailConfirmedAt.IsZero() {
		t.Error("an unverified primary address: got it confirmed")
	}
	if _, err := a.Store.(store.Users).UserByEmail(t.Context(), "second@example.com"); err == nil {
		t.Error("a secondary address was used")
	}
	id, err := a.Store.(store.Identities).IdentityBySubject(t.Context(), "github", "4242")
	if err != nil || id.UserID != u.ID {
		t.Fatalf("identity: got %+v, %v; want github/4242 of the new user", id, err)
	}
	tok, err := a.OAuth.TokenFor(t.Context(), u.ID, "github")
	if err != nil || tok.AccessToken != ghToken {
		t.Fatalf("TokenFor: got %v, %v", tok, err)
	}

	// A verified primary address held by an account: the link waits.
	a.CreateUser(t, "held@example.com", pw)
	gh.setEmails(map[string]any{"email": "held@example.com", "primary": true, "verified": true})
	if err := a.Store.(store.Users).DeleteUser(t.Context(), u.ID); err != nil {
		t.Fatal(err)
	}
	c = a.Client(t)
	res = c.Get(authorize(t, start(t, a, c, "github", nil)))
	want(t, "GitHub with a held address", res, http.StatusSeeOther)
	if !strings.HasPrefix(res.Header.Get("Location"), a.Path("/login")) {
		t.Fatalf("GitHub with a held address: got Location %q, want the sign-in page", res.Header.Get("Location"))
	}
	c.SignIn("held@example.com", pw)
	want(t, "confirm", c.Post(a.Path("/oauth/link"), nil), http.StatusSeeOther)
	holder := a.User(t, "held@example.com")
	ids := identities(t, a, holder.ID)
	if len(ids) != 1 {
		t.Fatalf("identities: got %d, want 1", len(ids))
	}
	want(t, "unlink", c.Post(a.Path("/oauth/unlink"), url.Values{"id": {ids[0].ID}}), http.StatusSeeOther)
	gh.mu.Lock()
	revoked := append([]string(nil), gh.revoked...)
	gh.mu.Unlock()
	if len(revoked) != 1 || revoked[0] != ghToken {
		t.Errorf("revoked at GitHub: got %v, want the access token", revoked)
	}
}

// Sign in with Apple posts its callback cross-site (form_post), without
// the session cookie or a CSRF token: the POST changes nothing and sends
// the browser on to the same-site GET callback, where the state is checked
// against the session. Another route's cross-site POST is still refused,
// and so is the callback's POST from another origin.
func TestAppleFormPost(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{extra: func(p *idp) []oauth.Provider {
		ap := oauth.Apple(p.ClientID, p.ClientSecret)
		ap.Issuer = p.Issuer() // the in-process provider stands for Apple
		ap.Scopes = []string{"email", "profile"}
		return []oauth.Provider{ap}
	}})
	a.IDP.user("apple-sub", "apple@example.com", true)
	c := a.Client(t)
	authURL := start(t, a, c, "apple", nil)
	if mustQuery(t, authURL).Get("response_mode") != "form_post" {
		t.Fatalf("Apple's authorization request: got %s, want response_mode=form_post", authURL)
	}
	back := mustQuery(t, authorize(t, authURL))

	crossSite := func(origin, path string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, a.Server.URL+path,
			strings.NewReader(url.Values{"code": {back.Get("code")}, "state": {back.Get("state")}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := noFollow.Do(req) // no cookies: SameSite=Lax keeps them home
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := crossSite("https://evil.example", a.Path("/oauth/apple/callback")); res.StatusCode != http.StatusForbidden {
		t.Errorf("form_post from another origin: got %d, want 403", res.StatusCode)
	}
	if res := crossSite("https://appleid.apple.com", a.Path("/oauth/unlink")); res.StatusCode != http.StatusForbidden {
		t.Errorf("Apple's origin posting to another route: got %d, want 403", res.StatusCode)
	}
	res := crossSite("https://appleid.apple.com", a.Path("/oauth/apple/callback"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("form_post: got %d, want 303", res.StatusCode)
	}
	loc := res.Header.Get("Location")
	if q := mustQuery(t, loc); !strings.HasPrefix(loc, a.Path("/oauth/apple/callback")+"?") || q.Get("state") != back.Get("state") {
		t.Fatalf("form_post: got Location %q, want the GET callback with the state", loc)
	}
	if n := a.Count(t, "sigra_users", ""); n != 0 {
		t.Fatalf("the form_post changed something: %d users", n)
	}
	// Another browser following the redirect has no session that started it.
	if res := a.Client(t).Get(loc); errorCode(res) != "state_mismatch" {
		t.Errorf("the GET callback in another browser: got %d %q, want state_mismatch", res.StatusCode, errorCode(res))
	}
	want(t, "GET callback", c.Get(loc), http.StatusSeeOther)
	if _, email, _ := c.Whoami(); email != "apple@example.com" {
		t.Errorf("after Apple's callback: got %q, want apple@example.com", email)
	}
	// The form_post of a provider that does not use it is refused.
	if res := crossSite("https://appleid.apple.com", a.Path("/oauth/local/callback")); res.StatusCode != http.StatusForbidden {
		t.Errorf("form_post to another provider's callback: got %d, want 403", res.StatusCode)
	}
}
