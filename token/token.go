package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Sizes of a token.
const (
	// Size is the number of random bytes in a token (256 bits).
	Size = 32
	// Len is the length of an encoded token: Size bytes as unpadded
	// base64url.
	Len = 43
	// DigestSize is the length of every digest this package returns.
	DigestSize = sha256.Size
)

// Errors returned by this package. Test with errors.Is.
var (
	// ErrMalformed: the input is not a well-formed token, code or key.
	ErrMalformed = errors.New("sigra/token: malformed")
	// ErrChecksum: an API key is well formed but its checksum does not
	// match. Errors wrapping ErrChecksum also wrap ErrMalformed.
	ErrChecksum = errors.New("sigra/token: checksum mismatch")
	// ErrDigits: a code length outside MinDigits..MaxDigits.
	ErrDigits = errors.New("sigra/token: code digits out of range")
	// ErrPrefix: an API key prefix that is not 2 to 10 lowercase letters.
	ErrPrefix = errors.New("sigra/token: invalid API key prefix")
)

var encoding = base64.RawURLEncoding.Strict()

// New returns a new token: Size random bytes as Len characters of unpadded
// base64url. The error is non-nil only if crypto/rand's Reader fails.
func New() (string, error) {
	return newToken(rand.Reader)
}

func newToken(r io.Reader) (string, error) {
	var b [Size]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("sigra/token: reading random bytes: %w", err)
	}
	return encoding.EncodeToString(b[:]), nil
}

// Parse decodes a token produced by [New] and returns its Size random bytes.
// It is strict: exactly Len characters of the base64url alphabet, no
// padding, no whitespace, and unused trailing bits zero, so each token has
// exactly one accepted spelling. Anything else returns an error wrapping
// ErrMalformed.
func Parse(token string) ([]byte, error) {
	if !Valid(token) {
		return nil, ErrMalformed
	}
	b, err := encoding.DecodeString(token)
	if err != nil || len(b) != Size {
		// Unreachable after Valid; kept so Parse never returns a short slice.
		return nil, ErrMalformed
	}
	return b, nil
}

// Valid reports whether token is well formed, with the rules of [Parse]. It
// does not allocate.
func Valid(token string) bool {
	if len(token) != Len {
		return false
	}
	for i := 0; i < len(token); i++ {
		if !isBase64URL(token[i]) {
			return false
		}
	}
	// 43 characters carry 258 bits; the last character's low two bits are
	// padding and must be zero (what the strict decoder requires).
	return base64Value(token[Len-1])&0x3 == 0
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// base64Value returns the 6-bit value of a base64url character.
func base64Value(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 26
	case '0' <= c && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	default: // '_'
		return 63
	}
}

// Digest returns the SHA-256 digest of token (DigestSize bytes), the form
// in which a token is stored and looked up. It accepts any string; check
// the token with [Valid] first so malformed input never reaches the store.
func Digest(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// Equal reports whether a and b are equal, in time that depends on their
// lengths but not on their contents. Use it for secrets that are compared
// directly rather than looked up by digest.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// EqualDigest reports whether two digests are equal, in time that depends
// on their lengths but not on their contents. Two empty digests are not
// equal: an empty digest is never a valid one.
func EqualDigest(a, b []byte) bool {
	return len(a) > 0 && subtle.ConstantTimeCompare(a, b) == 1
}

// NewSealKey returns a new 256-bit key for sealing secrets at rest, in the
// "id:base64" form that mail.OutboxConfig.Keys and mfa.Config.Keys take
// (comma-separated, primary first, to rotate). id names the key: letters,
// digits, '-' and '_'. Store keys apart from the database, for example in
// an environment variable or a file readable only by the application.
func NewSealKey(id string) (string, error) {
	if id == "" || len(id) > 32 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return "", fmt.Errorf("sigra/token: key id %q: use 1 to 32 letters, digits, '-' or '_'", id)
	}
	var b [32]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return "", fmt.Errorf("sigra/token: reading random bytes: %w", err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(b[:]), nil
}
