package oauth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sigra-go/sigra/oauth"
)

// msHost is Microsoft's identity platform, which the test's HTTP client
// sends to a small provider of the test's own.
const msHost = "login.microsoftonline.com"

// microsoft is a provider shaped like Microsoft's multi-tenant endpoint
// ("common"): its discovery document names the issuer with the
// placeholder {tenantid}, and each ID token carries the issuer of the
// user's tenant with the tenant's id in tid. The test sets the claims of
// the next ID token; the token endpoint checks the PKCE verifier.
type microsoft struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	mu     sync.Mutex
	claims map[string]map[string]any // by code
	// challenge is the code challenge of each code.
	challenge map[string]string
}

func newMicrosoft(t *testing.T) *microsoft {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	m := &microsoft{t: t, key: key, claims: map[string]map[string]any{}, challenge: map[string]string{}}
	base := "https://" + msHost
	mux := http.NewServeMux()
	mux.HandleFunc("GET /common/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                base + "/{tenantid}/v2.0",
			"authorization_endpoint":                base + "/common/oauth2/v2.0/authorize",
			"token_endpoint":                        base + "/common/oauth2/v2.0/token",
			"jwks_uri":                              base + "/common/discovery/v2.0/keys",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"code_challenge_methods_supported":      []string{"plain", "S256"},
		})
	})
	mux.HandleFunc("GET /common/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding
		writeJSON(w, map[string]any{"keys": []map[string]any{{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "ms-1",
			"n": b64.EncodeToString(key.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("POST /common/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		code := r.PostForm.Get("code")
		m.mu.Lock()
		claims, challenge := m.claims[code], m.challenge[code]
		delete(m.claims, code)
		m.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if claims == nil || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
		tok.Header["kid"] = "ms-1"
		signed, err := tok.SignedString(key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]any{"access_token": "ms-access-" + code, "token_type": "Bearer", "expires_in": 3600, "id_token": signed})
	})
	m.srv = httptest.NewServer(mux)
	t.Cleanup(m.srv.Close)
	return m
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// client returns an HTTP client that sends Microsoft's requests to m and
// the others where they go.
func (m *microsoft) client() *http.Client {
	target, _ := url.Parse(m.srv.URL)
	return &http.Client{Timeout: 10 * time.Second, Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host == msHost {
			r = r.Clone(r.Context())
			r.URL.Scheme, r.URL.Host, r.Host = target.Scheme, target.Host, target.Host
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// authorize plays the user's consent for the authorization URL: it makes
// a code whose ID token has the request's audience and nonce, the given
// issuer and tenant (tid, left out when ""), and returns the callback's
// query.
func (m *microsoft) authorize(t *testing.T, authURL, subject, issuer, tid string) url.Values {
	t.Helper()
	q := mustQuery(t, authURL)
	if q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" {
		t.Fatalf("authorization request without PKCE S256 or nonce: %s", authURL)
	}
	now := time.Now()
	claims := map[string]any{
		"iss": issuer, "aud": q.Get("client_id"), "sub": subject, "nonce": q.Get("nonce"),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"email": subject + "@example.com", "email_verified": true,
	}
	if tid != "" {
		claims["tid"] = tid
	}
	code := rand.Text()
	m.mu.Lock()
	m.claims[code], m.challenge[code] = claims, q.Get("code_challenge")
	m.mu.Unlock()
	return url.Values{"code": {code}, "state": {q.Get("state")}}
}

// Microsoft's multi-tenant endpoint ("common") signs ID tokens with the
// issuer of the user's tenant: the token's tid decides which issuer is
// accepted. A token whose issuer is another tenant's, or is not
// Microsoft's, or that carries no tid, is refused (id_token_invalid,
// audited); one whose issuer matches its tid signs the user in.
func TestMicrosoftMultiTenantIssuer(t *testing.T) {
	t.Parallel()
	ms := newMicrosoft(t)
	a := newApp(t, options{
		extra: func(*idp) []oauth.Provider {
			return []oauth.Provider{oauth.Microsoft("common", "ms-client", "ms-secret")}
		},
		oauth: func(c *oauth.Config) { c.HTTPClient = ms.client() },
	})
	tenant := func(id string) string { return "https://" + msHost + "/" + id + "/v2.0" }
	for _, tc := range []struct {
		name, subject, issuer, tid string
		ok                         bool
	}{
		{"another tenant's issuer", "mallory", tenant("tenant-b"), "tenant-a", false},
		{"no tid", "notid", tenant("tenant-a"), "", false},
		{"not Microsoft's issuer", "elsewhere", "https://evil.example/tenant-a/v2.0", "tenant-a", false},
		{"the placeholder issuer", "placeholder", tenant("{tenantid}"), "{tenantid}", false},
		{"the tenant's issuer", "ada", tenant("tenant-a"), "tenant-a", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := a.Client(t)
			back := ms.authorize(t, start(t, a, c, "microsoft", nil), tc.subject, tc.issuer, tc.tid)
			res := c.Get(a.Path("/oauth/microsoft/callback") + "?" + back.Encode())
			if !tc.ok {
				if code := errorCode(res); code != "id_token_invalid" {
					t.Fatalf("callback: got %d %q, want id_token_invalid\n%.600s", res.StatusCode, code, res.Body)
				}
				if state, _, _ := c.Whoami(); state != "anonymous" {
					t.Errorf("after a refused ID token: got state %q, want anonymous", state)
				}
				if n := a.Count(t, "sigra_users", "email = ?", tc.subject+"@example.com"); n != 0 {
					t.Errorf("a refused ID token created %d accounts", n)
				}
				return
			}
			want(t, "callback", res, http.StatusSeeOther)
			if _, email, _ := c.Whoami(); email != "ada@example.com" {
				t.Errorf("after the callback: got %q, want ada@example.com", email)
			}
		})
	}
	if n := a.Count(t, "sigra_audit_log", "action = ? AND metadata LIKE ?", oauth.ActionCallbackFailure, "%id_token_invalid%"); n != 4 {
		t.Errorf("refused ID tokens audited: got %d, want 4", n)
	}
}
