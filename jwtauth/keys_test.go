package jwtauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/jwtauth"
)

func pemOf(t testing.TB, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParseKey(t *testing.T) {
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaPriv, _ := rsa.GenerateKey(rand.Reader, 2048)
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf(t, "PRIVATE KEY", der)
	}
	sec1, err := x509.MarshalECPrivateKey(ecPriv)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	ecPub, _ := ecPriv.PublicKey.Bytes()
	edJWK := `{"kty":"OKP","crv":"Ed25519","kid":"from-jwk","d":"` + b64(edPriv.Seed()) + `","x":"` + b64(edPriv.Public().(ed25519.PublicKey)) + `"}`
	ecD, _ := ecPriv.Bytes()
	ecJWK := `{"kty":"EC","crv":"P-256","d":"` + b64(ecD) + `","x":"` + b64(ecPub[1:33]) + `","y":"` + b64(ecPub[33:]) + `"}`
	otherX := b64(make([]byte, 32))

	good := []struct {
		name, id string
		data     []byte
		alg, kid string
	}{
		{"Ed25519 PKCS#8", "a", pkcs8(edPriv), jwtauth.AlgEdDSA, "a"},
		{"P-256 PKCS#8", "b", pkcs8(ecPriv), jwtauth.AlgES256, "b"},
		{"P-256 SEC 1", "c", pemOf(t, "EC PRIVATE KEY", sec1), jwtauth.AlgES256, "c"},
		{"Ed25519 JWK, kid from the JWK", "", []byte(edJWK), jwtauth.AlgEdDSA, "from-jwk"},
		{"Ed25519 JWK, kid given", "given", []byte(edJWK), jwtauth.AlgEdDSA, "given"},
		{"P-256 JWK", "d", []byte("\n" + ecJWK + "\n"), jwtauth.AlgES256, "d"},
	}
	for _, c := range good {
		k, err := jwtauth.ParseKey(c.id, c.data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if k.Alg() != c.alg || k.ID != c.kid {
			t.Errorf("%s: (alg, kid) = (%q, %q), want (%q, %q)", c.name, k.Alg(), k.ID, c.alg, c.kid)
		}
	}
	if k, _ := jwtauth.ParseKey("", []byte(edJWK)); !k.Private.(ed25519.PrivateKey).Equal(edPriv) {
		t.Error("Ed25519 JWK: a different key came back")
	}

	bad := []struct {
		name, id string
		data     []byte
	}{
		{"RSA", "r", pkcs8(rsaPriv)},
		{"P-384", "p", pkcs8(ec384)},
		{"public key", "p", pemOf(t, "PUBLIC KEY", []byte{1, 2, 3})},
		{"garbage PEM", "g", pemOf(t, "PRIVATE KEY", []byte("junk"))},
		{"two PEM blocks", "g", append(pkcs8(edPriv), pkcs8(edPriv)...)},
		{"neither", "n", []byte("hello")},
		{"empty", "n", nil},
		{"JWK without d", "j", []byte(`{"kty":"OKP","crv":"Ed25519","x":"` + otherX + `"}`)},
		{"JWK with a mismatched x", "j", []byte(strings.Replace(edJWK, b64(edPriv.Public().(ed25519.PublicKey)), otherX, 1))},
		{"EC JWK with a mismatched y", "j", []byte(strings.Replace(ecJWK, b64(ecPub[33:]), otherX, 1))},
		{"JWK of another curve", "j", []byte(`{"kty":"EC","crv":"P-384","d":"` + b64(make([]byte, 48)) + `"}`)},
		{"JWK with a short d", "j", []byte(`{"kty":"OKP","crv":"Ed25519","d":"` + b64(make([]byte, 5)) + `"}`)},
		{"not JSON", "j", []byte(`{"kty":`)},
		{"no key ID", "", pkcs8(edPriv)},
		{"key ID with a space", "a b", pkcs8(edPriv)},
	}
	for _, c := range bad {
		k, err := jwtauth.ParseKey(c.id, c.data)
		if !errors.Is(err, jwtauth.ErrKey) {
			t.Errorf("%s: got (%v, %v), want ErrKey", c.name, k.ID, err)
		}
		if err != nil && strings.Contains(err.Error(), b64(edPriv.Seed())) {
			t.Errorf("%s: the error repeats the key", c.name)
		}
	}
}

// TestNewConfig: New refuses unusable configurations with an error that
// wraps sigra.ErrConfig and names the field.
func TestNewConfig(t *testing.T) {
	a := newApp(t, "sqlite", nil)
	base := a.JWT.Config()
	ed := mustKey(t, "ok")
	cases := map[string]func(c *jwtauth.Config){
		"Store":         func(c *jwtauth.Config) { c.Store = nil },
		"Sessions":      func(c *jwtauth.Config) { c.Sessions = nil },
		"Keys":          func(c *jwtauth.Config) { c.Keys = nil },
		"Keys[0]":       func(c *jwtauth.Config) { c.Keys = []jwtauth.Key{{ID: "x"}} },
		"Keys[1]":       func(c *jwtauth.Config) { c.Keys = []jwtauth.Key{ed, ed} },
		"Issuer":        func(c *jwtauth.Config) { c.Issuer = "not a url" },
		"Scopes":        func(c *jwtauth.Config) { c.Scopes = []string{"has space"} },
		"DefaultScopes": func(c *jwtauth.Config) { c.DefaultScopes = []string{"admin"} },
		"AccessTTL":     func(c *jwtauth.Config) { c.AccessTTL = 2 * time.Hour },
		"Leeway":        func(c *jwtauth.Config) { c.Leeway = -time.Second },
		"RefreshTTL":    func(c *jwtauth.Config) { c.RefreshTTL, c.FamilyTTL = 48*time.Hour, 24*time.Hour },
		"JWKSPath":      func(c *jwtauth.Config) { c.JWKSPath = "jwks.json" },
	}
	for field, edit := range cases {
		c := base
		edit(&c)
		_, err := jwtauth.New(c)
		if !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: got %v, want an ErrConfig naming it", field, err)
		}
	}
	if _, err := jwtauth.New(base); err != nil {
		t.Errorf("the base configuration: %v", err)
	}
}

// FuzzParseKey: ParseKey never panics, and a key it returns is usable.
func FuzzParseKey(f *testing.F) {
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	f.Add(string(pemOf(f, "PRIVATE KEY", der)))
	f.Add(`{"kty":"OKP","crv":"Ed25519","d":"` + base64.RawURLEncoding.EncodeToString(edPriv.Seed()) + `"}`)
	f.Add(`{"kty":"EC","crv":"P-256","d":"AAAA"}`)
	f.Add("-----BEGIN EC PRIVATE KEY-----\n-----END EC PRIVATE KEY-----\n")
	f.Fuzz(func(t *testing.T, data string) {
		k, err := jwtauth.ParseKey("k", []byte(data))
		if err != nil {
			return
		}
		if k.Alg() == "" || k.Private == nil {
			t.Fatalf("ParseKey returned an unusable key without an error")
		}
		b, err := json.Marshal(map[string]string{"kid": k.ID})
		if err != nil || len(b) == 0 {
			t.Fatal(err)
		}
	})
}

// FuzzVerify: nothing but the genuine token verifies (any change to it
// is refused), and no input panics the verifier.
func FuzzVerify(f *testing.F) {
	a := newApp(f, "sqlite", nil)
	c, _ := a.signedIn(f, "fuzz@example.com")
	good := a.exchange(f, c, `{}`).AccessToken
	if _, err := a.JWT.Verify(context.Background(), good); err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".." + parts[2])
	f.Add(strings.ToUpper(good))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := a.JWT.Verify(context.Background(), raw)
		if raw == good {
			return
		}
		if err == nil {
			t.Fatalf("a token other than the genuine one verified: %q", raw)
		}
	})
}
