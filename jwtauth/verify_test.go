package jwtauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sigra-go/sigra/jwtauth"
)

func mustKey(t testing.TB, id string) jwtauth.Key {
	t.Helper()
	k, err := jwtauth.GenerateKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(t testing.TB, id string) jwtauth.Key {
	t.Helper()
	p, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jwtauth.Key{ID: id, Private: p}
}

// TestKeyRotation: Keys[0] signs and every key verifies; a token of a key
// that was removed no longer verifies. ES256 keys work as EdDSA ones.
func TestKeyRotation(t *testing.T) {
	old, next := mustKey(t, "2026-01"), ecKey(t, "2026-02")
	a := newApp(t, "sqlite", func(c *jwtauth.Config) { c.Keys = []jwtauth.Key{old} })
	c, _ := a.signedIn(t, "rotation@example.com")
	byOld := a.exchange(t, c, `{}`).AccessToken

	// Step 1: the new key is published second; step 2: it signs.
	published := a.instance(t, func(c *jwtauth.Config) { c.Keys = []jwtauth.Key{old, next} })
	rotated := a.instance(t, func(c *jwtauth.Config) { c.Keys = []jwtauth.Key{next, old} })
	for name, j := range map[string]*jwtauth.JWT{"published": published, "rotated": rotated} {
		if _, err := j.Verify(context.Background(), byOld); err != nil {
			t.Errorf("%s: a token of the old key: %v, want it verified", name, err)
		}
	}
	var jwks struct{ Keys []map[string]string }
	if err := json.Unmarshal(rotated.JWKS(), &jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 2 || jwks.Keys[0]["kid"] != "2026-02" || jwks.Keys[0]["alg"] != "ES256" || jwks.Keys[1]["alg"] != "EdDSA" {
		t.Errorf("JWKS after rotation: %v", jwks.Keys)
	}
	for _, k := range jwks.Keys {
		if k["d"] != "" {
			t.Errorf("JWKS publishes a private key part: %v", k)
		}
	}

	// Tokens of the new key, from the rotated instance's endpoint.
	b := newApp(t, "sqlite", func(c *jwtauth.Config) { c.Keys = []jwtauth.Key{next, old} })
	c2, _ := b.signedIn(t, "rotation2@example.com")
	byNext := b.exchange(t, c2, `{}`).AccessToken
	if _, err := b.JWT.Verify(context.Background(), byNext); err != nil {
		t.Errorf("a token of the new ES256 key: %v", err)
	}
	hdr := decodeSegment(t, byNext, 0)
	if hdr["kid"] != "2026-02" || hdr["alg"] != "ES256" || hdr["typ"] != "at+jwt" {
		t.Errorf("header of a token of the new key: %v", hdr)
	}

	// Step 3: the old key is removed.
	retired := a.instance(t, func(c *jwtauth.Config) { c.Keys = []jwtauth.Key{next} })
	if _, err := retired.Verify(context.Background(), byOld); !errors.Is(err, jwtauth.ErrInvalidToken) {
		t.Errorf("a token of a removed key: got %v, want ErrInvalidToken", err)
	}
}

// decodeSegment decodes segment i (0 header, 1 claims) of a JWT.
func decodeSegment(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestForgedTokens: tampered tokens, algorithm confusion (none, HS256 with
// the public key as secret, ES256 under an EdDSA key's ID), unknown or
// missing key IDs, the wrong type, issuer or audience, tokens not yet
// valid or issued in the future, and missing claims are all refused
// with 401 invalid_token.
func TestForgedTokens(t *testing.T) {
	key := mustKey(t, "k1")
	a := newApp(t, "sqlite", func(c *jwtauth.Config) { c.Keys = []jwtauth.Key{key} })
	c, _ := a.signedIn(t, "forged@example.com")
	good := a.exchange(t, c, `{"scope":"read"}`).AccessToken
	wantStatus(t, "the genuine token", a.bearer(t, "/api/me", good), http.StatusOK)
	claims := decodeSegment(t, good, 1)
	now := a.Clock.Now()

	// sign makes a token of claims edited by edit, with header values hdr,
	// signed by method with signKey.
	sign := func(method jwt.SigningMethod, signKey any, hdr map[string]any, edit func(m jwt.MapClaims)) string {
		m := jwt.MapClaims{}
		for k, v := range claims {
			m[k] = v
		}
		if edit != nil {
			edit(m)
		}
		tok := jwt.NewWithClaims(method, m)
		tok.Header["kid"] = "k1"
		tok.Header["typ"] = "at+jwt"
		for k, v := range hdr {
			if v == nil {
				delete(tok.Header, k)
			} else {
				tok.Header[k] = v
			}
		}
		s, err := tok.SignedString(signKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The genuine key re-signing the same claims verifies: the cases
	// below fail for their one difference.
	if resigned := sign(jwt.SigningMethodEdDSA, key.Private, nil, nil); a.bearer(t, "/api/me", resigned).StatusCode != http.StatusOK {
		t.Fatal("a token re-signed with the genuine key and claims does not verify: the cases below prove nothing")
	}
	pub := []byte(key.Private.Public().(ed25519.PublicKey))
	other := mustKey(t, "k1")
	ec := ecKey(t, "k1")
	parts := strings.Split(good, ".")
	tamperedClaims := func() string {
		m := decodeSegment(t, good, 1)
		m["scope"] = "read write"
		b, _ := json.Marshal(m)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}
	cases := map[string]string{
		"tampered claims":                 tamperedClaims(),
		"tampered signature":              parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"no signature":                    parts[0] + "." + parts[1] + ".",
		"alg none":                        sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"alg": "none"}, nil),
		"HS256 keyed with the public key": sign(jwt.SigningMethodHS256, pub, nil, nil),
		"ES256 under the EdDSA key's ID":  sign(jwt.SigningMethodES256, ec.Private, nil, nil),
		"another key with the same ID":    sign(jwt.SigningMethodEdDSA, other.Private, nil, nil),
		"unknown key ID":                  sign(jwt.SigningMethodEdDSA, key.Private, map[string]any{"kid": "k9"}, nil),
		"no key ID":                       sign(jwt.SigningMethodEdDSA, key.Private, map[string]any{"kid": nil}, nil),
		"no typ":                          sign(jwt.SigningMethodEdDSA, key.Private, map[string]any{"typ": nil}, nil),
		"typ JWT (an ID token)":           sign(jwt.SigningMethodEdDSA, key.Private, map[string]any{"typ": "JWT"}, nil),
		"wrong issuer":                    sign(jwt.SigningMethodEdDSA, key.Private, nil, func(m jwt.MapClaims) { m["iss"] = "https://evil.example" }),
		"no issuer":                       sign(jwt.SigningMethodEdDSA, key.Private, nil, func(m jwt.MapClaims) { delete(m, "iss") }),
		"wrong audience":                  sign(jwt.SigningMethodEdDSA, key.Private, nil, func(m jwt.MapClaims) { m["aud"] = []string{"https://other.example"} }),
		"no audience":                     sign(jwt.SigningMethodEdDSA, key.Private, nil, func(m jwt.MapClaims) { delete(m, "aud") }),
		"no expiry":                       sign(jwt.SigningMethodEdDSA, key.Private, nil, func(m jwt.MapClaims) { delete(m, "exp") }),
		"expired":                         sign(jwt.SigningMethodEdDSA, key.Private, nil, func(m jwt.MapClaims) { m["exp"] = now.Add(-time.Minute).Unix() }),
		"not yet valid":                   sign(jwt.SigningMethodEdDSA, key.Private, nil, func(m jwt.MapClaims) { m["nbf"] = now.Add(time.Hour).Unix() }),
		"issued in the future":            sign(jwt.SigningMethodEdDSA, key.Private, nil, func(m jwt.MapClaims) { m["iat"] = now.Add(time.Hour).Unix() }),
		"no subject":                      sign(jwt.SigningMethodEdDSA, key.Private, nil, func(m jwt.MapClaims) { delete(m, "sub") }),
		"no family":                       sign(jwt.SigningMethodEdDSA, key.Private, nil, func(m jwt.MapClaims) { delete(m, "fid") }),
		"unknown family":                  sign(jwt.SigningMethodEdDSA, key.Private, nil, func(m jwt.MapClaims) { m["fid"] = "no-such-family" }),
		"aal 3":                           sign(jwt.SigningMethodEdDSA, key.Private, nil, func(m jwt.MapClaims) { m["aal"] = 3 }),
		"not a JWT":                       "hello",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			res := a.bearer(t, "/api/me", tok)
			wantStatus(t, name, res, http.StatusUnauthorized)
			if code := errCode(t, res); code != "invalid_token" {
				t.Errorf("%s: code %q, want invalid_token", name, code)
			}
		})
	}
}

// TestJWKSEndpoint: the public keys at the well-known path, cacheable.
func TestJWKSEndpoint(t *testing.T) {
	a := newApp(t, "sqlite", nil)
	res := a.Client(t).Get("/.well-known/jwks.json")
	wantStatus(t, "GET /.well-known/jwks.json", res, http.StatusOK)
	if ct, cc := res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"); ct != "application/jwk-set+json" || cc != "public, max-age=300" {
		t.Errorf("JWKS headers: Content-Type %q, Cache-Control %q", ct, cc)
	}
	var set struct{ Keys []map[string]string }
	if err := json.Unmarshal([]byte(res.Body), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0]["kty"] != "OKP" || set.Keys[0]["crv"] != "Ed25519" || set.Keys[0]["kid"] != "k1" || set.Keys[0]["x"] == "" || set.Keys[0]["d"] != "" {
		t.Errorf("JWKS: %v", set.Keys)
	}
}

// TestStoreOutage: when the store cannot be reached to check a token's
// family, the answer is 503 with Retry-After, never 500 or a pass.
func TestStoreOutage(t *testing.T) {
	a := newApp(t, "sqlite", func(c *jwtauth.Config) { c.CheckEveryRequest = true })
	c, _ := a.signedIn(t, "outage@example.com")
	tk := a.exchange(t, c, `{}`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	req, _ := http.NewRequestWithContext(ctx, "GET", "/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
	rec := httptest.NewRecorder()
	a.JWT.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("the handler ran") })).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("a store past its deadline: got %d (Retry-After %q), want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}
