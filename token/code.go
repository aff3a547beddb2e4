package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Bounds of the length of a numeric code.
const (
	MinDigits = 4
	MaxDigits = 10
)

// maxInput bounds what the normalizers look at: longer input is refused
// before any work is done on it.
const maxInput = 64

// uniform returns a number drawn uniformly from [0, n) using random bytes
// from r. It draws 64-bit values and rejects those at or above the largest
// multiple of n that fits, so no value is more likely than another (a plain
// modulo would favour the low values). Each draw is rejected with
// probability below one half, so the expected number of draws is below two.
// n must be positive.
func uniform(r io.Reader, n uint64) (uint64, error) {
	if n == 0 {
		panic("token: uniform with n == 0")
	}
	// limit is the largest multiple of n not above 2^64; values at or
	// above it are rejected. When n divides 2^64, nothing is rejected.
	rem := (math.MaxUint64%n + 1) % n // 2^64 mod n
	var b [8]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("sigra/token: reading random bytes: %w", err)
		}
		v := binary.BigEndian.Uint64(b[:])
		if rem == 0 || v < -rem { // -rem == 2^64 - rem (mod 2^64)
			return v % n, nil
		}
	}
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10}

// NewCode returns a numeric code of digits decimal digits (MinDigits to
// MaxDigits), zero-padded, each of the 10^digits codes equally likely.
// It returns ErrDigits for another length.
func NewCode(digits int) (string, error) {
	return newCode(rand.Reader, digits)
}

func newCode(r io.Reader, digits int) (string, error) {
	if digits < MinDigits || digits > MaxDigits {
		return "", fmt.Errorf("%w: %d", ErrDigits, digits)
	}
	v, err := uniform(r, pow10[digits])
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%0*d", digits, v), nil
}

// NormalizeCode returns the code a user typed in its canonical form: the
// digits alone. Spaces, tabs and dashes anywhere are removed ("123 456" and
// "123-456" become "123456"); any other character, or a number of digits
// other than digits, returns an error wrapping ErrMalformed. It returns
// ErrDigits if digits is out of range.
func NormalizeCode(input string, digits int) (string, error) {
	if digits < MinDigits || digits > MaxDigits {
		return "", fmt.Errorf("%w: %d", ErrDigits, digits)
	}
	if len(input) > maxInput {
		return "", fmt.Errorf("%w: code too long", ErrMalformed)
	}
	var out [maxInput]byte
	n := 0
	for i := 0; i < len(input); i++ {
		switch c := input[i]; {
		case c == ' ' || c == '\t' || c == '-':
		case '0' <= c && c <= '9':
			out[n] = c
			n++
		default:
			return "", fmt.Errorf("%w: code contains %q", ErrMalformed, c)
		}
	}
	if n != digits {
		return "", fmt.Errorf("%w: code has %d digits, want %d", ErrMalformed, n, digits)
	}
	return string(out[:n]), nil
}

// CodeDigest returns the SHA-256 digest under which a code is stored,
// bound to the purpose and the user it was issued for: the same code issued
// to two users, or for two purposes, has two unrelated digests, so a stored
// digest cannot be replayed across them, two users can hold the same code
// at once without colliding in the store, and one precomputed table of all
// codes does not unmask every user's code at once.
//
// The digest is SHA-256 over a domain-separation label and the
// length-prefixed purpose, userID and code. Pass the code as returned by
// [NewCode] or [NormalizeCode]. A code has few possible values, so its
// digest does not resist an offline search by someone who can read the
// store; expiry and attempt limits are what protect it.
func CodeDigest(purpose, userID, code string) []byte {
	return boundDigest("sigra/token code v1", purpose, userID, code)
}

// boundDigest hashes label and fields, each field prefixed with its length
// so that no two different field lists hash the same input.
func boundDigest(label string, fields ...string) []byte {
	h := sha256.New()
	h.Write([]byte(label))
	var n [8]byte
	for _, f := range fields {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}
