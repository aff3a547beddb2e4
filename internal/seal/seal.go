// Package seal encrypts secrets at rest (TOTP seeds, OAuth tokens, queued
// email bodies) with AES-256-GCM in a small envelope that names its key, so
// keys can rotate: a [Keyring] seals with its primary key and opens values
// sealed with any of its keys.
//
// # Envelope
//
// A sealed value is
//
//	version (1 byte, 0x01)
//	key id length (1 byte, 1..32) and key id
//	nonce (12 random bytes)
//	ciphertext and 16-byte GCM tag
//
// The GCM additional data is the header (version, id length and id)
// followed by the caller's associated data, so neither the key id nor the
// context a value was sealed for can be changed without Open failing.
//
// # Associated data
//
// The associated data binds a sealed value to where it belongs, such as
// "totp:"+userID: a value copied to another user's row does not open there.
// It is not stored in the envelope; the caller passes the same bytes to
// [Keyring.Seal] and [Keyring.Open].
//
// # Keys and rotation
//
// A [Key] is 32 random bytes with an id of 1 to 32 characters from
// A-Z a-z 0-9 . _ -. In configuration a key is written "id:base64"
// ([ParseKey], [Key.Encode]) and a keyring as such keys separated by commas,
// primary first ([ParseKeyring]). To rotate, generate a key, make it the
// primary and keep the old one in the ring until every value sealed with it
// has been re-sealed ([KeyID] tells which key sealed a value).
//
// Each seal draws a random nonce, so one key should seal at most 2^32
// values (NIST SP 800-38D); rotate long before that.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Errors returned by this package. Test with errors.Is.
var (
	// ErrUnknownKey: the value was sealed with a key that is not in the ring.
	ErrUnknownKey = errors.New("sigra/seal: unknown key")
	// ErrMalformed: the value is not an envelope of a known version.
	ErrMalformed = errors.New("sigra/seal: malformed sealed value")
	// ErrDecrypt: the value does not authenticate under its key and the
	// given associated data: it was changed, or sealed for another context.
	ErrDecrypt = errors.New("sigra/seal: decryption failed")
	// ErrInvalidKey: a key or keyring is badly formed or configured.
	ErrInvalidKey = errors.New("sigra/seal: invalid key")
)

// Sizes of keys and of the envelope.
const (
	// KeySize is the size of a key: AES-256.
	KeySize = 32
	// MaxKeyIDLen is the longest key id.
	MaxKeyIDLen = 32
	// NonceSize is the size of the random GCM nonce.
	NonceSize = 12
	// Overhead is the envelope's size beyond the plaintext, excluding the key
	// id: version, id length, nonce and tag.
	Overhead = 2 + NonceSize + 16

	version1 = 0x01
)

// Key is a named AES-256 key. The zero Key is not valid. Its String and
// GoString methods print only the id, so a Key in a log line or an error
// does not leak the secret.
type Key struct {
	id     string
	secret []byte
}

// NewKey returns a key with the given id and 32-byte secret (copied). It
// returns an error wrapping ErrInvalidKey for a bad id or secret length.
func NewKey(id string, secret []byte) (Key, error) {
	if err := checkID(id); err != nil {
		return Key{}, err
	}
	if len(secret) != KeySize {
		return Key{}, fmt.Errorf("%w: key %q has %d bytes, want %d", ErrInvalidKey, id, len(secret), KeySize)
	}
	return Key{id: id, secret: append([]byte(nil), secret...)}, nil
}

// GenerateKey returns a new random key with the given id.
func GenerateKey(id string) (Key, error) {
	secret := make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, secret); err != nil {
		return Key{}, fmt.Errorf("sigra/seal: reading random bytes: %w", err)
	}
	return NewKey(id, secret)
}

// ParseKey parses a key written "id:base64", the form [Key.Encode] returns.
// The secret may be in standard or URL-safe base64, padded or not, and must
// decode to 32 bytes. Surrounding spaces are ignored.
func ParseKey(s string) (Key, error) {
	id, b64, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Key{}, fmt.Errorf("%w: want \"id:base64\"", ErrInvalidKey)
	}
	if err := checkID(id); err != nil {
		return Key{}, err
	}
	secret, err := decodeBase64(b64)
	if err != nil {
		return Key{}, fmt.Errorf("%w: key %q: secret is not base64", ErrInvalidKey, id)
	}
	return NewKey(id, secret)
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// ID returns the key's id.
func (k Key) ID() string { return k.id }

// Encode returns the key as "id:base64" (standard base64, padded), the
// form [ParseKey] reads. The result is the secret: keep it out of logs.
func (k Key) Encode() string {
	return k.id + ":" + base64.StdEncoding.EncodeToString(k.secret)
}

// String returns a redacted form that names only the id.
func (k Key) String() string { return "seal.Key(" + k.id + ")" }

// GoString returns the same redacted form as String.
func (k Key) GoString() string { return k.String() }

func checkID(id string) error {
	if len(id) == 0 || len(id) > MaxKeyIDLen {
		return fmt.Errorf("%w: key id %q must have 1 to %d characters", ErrInvalidKey, id, MaxKeyIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: key id %q has a character outside A-Z a-z 0-9 . _ -", ErrInvalidKey, id)
		}
	}
	return nil
}

// Keyring seals with its primary key and opens values sealed with any of
// its keys. It is safe for concurrent use. Build one with [New] or
// [ParseKeyring]; the zero Keyring holds no keys and every call fails.
type Keyring struct {
	primary string
	aeads   map[string]cipher.AEAD
}

// New returns a keyring that seals with primary and opens with primary and
// others. Key ids must be distinct; a zero or duplicate key returns an error
// wrapping ErrInvalidKey.
func New(primary Key, others ...Key) (*Keyring, error) {
	r := &Keyring{primary: primary.id, aeads: make(map[string]cipher.AEAD, 1+len(others))}
	for _, k := range append([]Key{primary}, others...) {
		if err := checkID(k.id); err != nil {
			return nil, err
		}
		if len(k.secret) != KeySize {
			return nil, fmt.Errorf("%w: key %q has %d bytes, want %d", ErrInvalidKey, k.id, len(k.secret), KeySize)
		}
		if _, dup := r.aeads[k.id]; dup {
			return nil, fmt.Errorf("%w: duplicate key id %q", ErrInvalidKey, k.id)
		}
		block, err := aes.NewCipher(k.secret)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		r.aeads[k.id] = aead
	}
	return r, nil
}

// ParseKeyring parses a comma-separated list of keys written "id:base64",
// the primary first, as found in an environment variable, and returns
// their keyring.
func ParseKeyring(spec string) (*Keyring, error) {
	var keys []Key
	for part := range strings.SplitSeq(spec, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, err := ParseKey(part)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrInvalidKey)
	}
	return New(keys[0], keys[1:]...)
}

// PrimaryID returns the id of the key that Seal uses.
func (r *Keyring) PrimaryID() string { return r.primary }

// header returns the envelope header for key id.
func header(id string) []byte {
	h := make([]byte, 0, 2+len(id))
	h = append(h, version1, byte(len(id)))
	return append(h, id...)
}

// Seal encrypts plaintext with the primary key, bound to ad, and returns
// the envelope. The error is non-nil only if the keyring is empty or the
// random source fails.
func (r *Keyring) Seal(plaintext, ad []byte) ([]byte, error) {
	aead, ok := r.aeads[r.primary]
	if !ok {
		return nil, fmt.Errorf("%w: keyring has no primary key", ErrUnknownKey)
	}
	h := header(r.primary)
	out := make([]byte, len(h)+NonceSize, len(h)+NonceSize+len(plaintext)+aead.Overhead())
	copy(out, h)
	nonce := out[len(h):]
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, fmt.Errorf("sigra/seal: reading random bytes: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, additionalData(h, ad)), nil
}

// Open authenticates and decrypts an envelope made by Seal with any key of
// the ring and the same ad. It returns an error wrapping ErrMalformed if
// sealed is not an envelope, ErrUnknownKey if its key is not in the ring,
// and ErrDecrypt if it was altered or ad differs.
func (r *Keyring) Open(sealed, ad []byte) ([]byte, error) {
	id, body, err := split(sealed)
	if err != nil {
		return nil, err
	}
	aead, ok := r.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, id)
	}
	nonce, ct := body[:NonceSize], body[NonceSize:]
	h := sealed[:len(sealed)-len(body)]
	pt, err := aead.Open(nil, nonce, ct, additionalData(h, ad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// KeyID returns the id of the key that sealed an envelope, without
// decrypting it; a value whose id is not the primary's needs re-sealing
// before its key leaves the ring.
func KeyID(sealed []byte) (string, error) {
	id, _, err := split(sealed)
	return id, err
}

// split checks the envelope's framing and returns its key id and the
// nonce, ciphertext and tag that follow the header.
func split(sealed []byte) (id string, body []byte, err error) {
	if len(sealed) < 2 {
		return "", nil, fmt.Errorf("%w: too short", ErrMalformed)
	}
	if sealed[0] != version1 {
		return "", nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, sealed[0])
	}
	n := int(sealed[1])
	if n == 0 || n > MaxKeyIDLen || len(sealed) < 2+n+NonceSize+16 {
		return "", nil, fmt.Errorf("%w: bad length", ErrMalformed)
	}
	id = string(sealed[2 : 2+n])
	if checkID(id) != nil {
		return "", nil, fmt.Errorf("%w: bad key id", ErrMalformed)
	}
	return id, sealed[2+n:], nil
}

func additionalData(header, ad []byte) []byte {
	out := make([]byte, 0, len(header)+len(ad))
	return append(append(out, header...), ad...)
}
