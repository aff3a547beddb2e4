package jwtauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// The signing algorithms a Key may use (the JWS "alg" values).
const (
	// AlgEdDSA is Ed25519 (RFC 8037), the default.
	AlgEdDSA = "EdDSA"
	// AlgES256 is ECDSA on P-256 with SHA-256.
	AlgES256 = "ES256"
)

// ErrKey is a key that cannot be used: not Ed25519 or ECDSA P-256, not a
// private key, or unreadable. Errors of [ParseKey] wrap it.
var ErrKey = errors.New("sigra/jwtauth: unusable key")

// Key is one signing key with its key ID. Only the public half is ever
// published (in the JWKS); the private half stays in the application's
// configuration, never in the database.
type Key struct {
	// ID is the key ID ("kid") that tokens signed with the key carry in
	// their header; 1 to 64 characters of letters, digits, '-', '_' and
	// '.'. IDs are unique among the configured keys.
	ID string
	// Private is the private key: an ed25519.PrivateKey (algorithm
	// EdDSA) or an *ecdsa.PrivateKey on P-256 (algorithm ES256).
	Private crypto.Signer
}

// Alg returns the key's algorithm (AlgEdDSA or AlgES256), or "" for a
// key of any other kind.
func (k Key) Alg() string {
	switch p := k.Private.(type) {
	case ed25519.PrivateKey:
		if len(p) == ed25519.PrivateKeySize {
			return AlgEdDSA
		}
	case *ecdsa.PrivateKey:
		if p != nil && p.Curve == elliptic.P256() {
			return AlgES256
		}
	}
	return ""
}

// GenerateKey returns a new Ed25519 key with id, for development and
// tests. In production, generate a key once (for example with
// "openssl genpkey -algorithm ed25519"), keep it with the application's
// other secrets, and load it with [ParseKey].
func GenerateKey(id string) (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: id, Private: priv}, nil
}

// ParseKey reads a private key given as PEM (PKCS #8 "PRIVATE KEY", or
// SEC 1 "EC PRIVATE KEY") or as a JWK (a JSON object with "kty" "OKP" and
// "crv" "Ed25519", or "kty" "EC" and "crv" "P-256", and the private "d").
// A JWK's "kid" is the key ID when id is empty. Errors wrap [ErrKey] and
// never repeat the key.
func ParseKey(id string, data []byte) (Key, error) {
	trimmed := strings.TrimSpace(string(data))
	var (
		k   Key
		err error
	)
	switch {
	case strings.HasPrefix(trimmed, "{"):
		k, err = parseJWK([]byte(trimmed))
		if id != "" {
			k.ID = id
		}
	case strings.HasPrefix(trimmed, "-----BEGIN"):
		k, err = parsePEM([]byte(trimmed))
		k.ID = id
	default:
		err = fmt.Errorf("%w: neither PEM nor a JWK", ErrKey)
	}
	if err != nil {
		return Key{}, err
	}
	if k.Alg() == "" {
		return Key{}, fmt.Errorf("%w: not an Ed25519 or ECDSA P-256 private key", ErrKey)
	}
	if !validKID(k.ID) {
		return Key{}, fmt.Errorf("%w: key ID %q: want 1 to 64 letters, digits, '-', '_' or '.'", ErrKey, k.ID)
	}
	return k, nil
}

func parsePEM(data []byte) (Key, error) {
	block, rest := pem.Decode(data)
	if block == nil || strings.TrimSpace(string(rest)) != "" {
		return Key{}, fmt.Errorf("%w: not one PEM block", ErrKey)
	}
	var priv any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		priv, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return Key{}, fmt.Errorf("%w: PEM block %q is not a private key", ErrKey, block.Type)
	}
	if err != nil {
		return Key{}, fmt.Errorf("%w: %s", ErrKey, "the PEM block could not be parsed")
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return Key{}, fmt.Errorf("%w: not a signing key", ErrKey)
	}
	return Key{Private: signer}, nil
}

// jwk is the subset of RFC 7517 (and RFC 8037) keys this package reads
// and writes.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	D   string `json:"d,omitempty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

var b64 = base64.RawURLEncoding

func parseJWK(data []byte) (Key, error) {
	var j jwk
	if err := json.Unmarshal(data, &j); err != nil {
		return Key{}, fmt.Errorf("%w: the JWK is not a JSON object", ErrKey)
	}
	if j.D == "" {
		return Key{}, fmt.Errorf("%w: the JWK has no private part (\"d\")", ErrKey)
	}
	d, err := b64.DecodeString(j.D)
	if err != nil {
		return Key{}, fmt.Errorf("%w: the JWK's \"d\" is not base64url", ErrKey)
	}
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		if len(d) != ed25519.SeedSize {
			return Key{}, fmt.Errorf("%w: the Ed25519 JWK's \"d\" is not 32 bytes", ErrKey)
		}
		priv := ed25519.NewKeyFromSeed(d)
		if x, err := b64.DecodeString(j.X); j.X != "" && (err != nil || !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(x))) {
			return Key{}, fmt.Errorf("%w: the Ed25519 JWK's \"x\" does not match \"d\"", ErrKey)
		}
		return Key{ID: j.Kid, Private: priv}, nil
	case j.Kty == "EC" && j.Crv == "P-256":
		if len(d) != 32 {
			return Key{}, fmt.Errorf("%w: the P-256 JWK's \"d\" is not 32 bytes", ErrKey)
		}
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
		if err != nil {
			return Key{}, fmt.Errorf("%w: the P-256 JWK's \"d\" is not a valid scalar", ErrKey)
		}
		if j.X != "" || j.Y != "" {
			x, errX := b64.DecodeString(j.X)
			y, errY := b64.DecodeString(j.Y)
			pub, errP := priv.PublicKey.Bytes() // 0x04 || X || Y
			if errX != nil || errY != nil || errP != nil || string(pub[1:]) != string(x)+string(y) {
				return Key{}, fmt.Errorf("%w: the P-256 JWK's \"x\" and \"y\" do not match \"d\"", ErrKey)
			}
		}
		return Key{ID: j.Kid, Private: priv}, nil
	default:
		return Key{}, fmt.Errorf("%w: JWK kty %q crv %q: want OKP Ed25519 or EC P-256", ErrKey, j.Kty, j.Crv)
	}
}

// publicJWK returns the public JWK of k.
func publicJWK(k Key) jwk {
	j := jwk{Kid: k.ID, Use: "sig", Alg: k.Alg()}
	switch p := k.Private.(type) {
	case ed25519.PrivateKey:
		j.Kty, j.Crv = "OKP", "Ed25519"
		j.X = b64.EncodeToString(p.Public().(ed25519.PublicKey))
	case *ecdsa.PrivateKey:
		pub, _ := p.PublicKey.Bytes() // uncompressed: 0x04 || X || Y
		j.Kty, j.Crv = "EC", "P-256"
		j.X = b64.EncodeToString(pub[1:33])
		j.Y = b64.EncodeToString(pub[33:65])
	}
	return j
}

func validKID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
