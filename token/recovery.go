package token

import (
	"crypto/rand"
	"fmt"
	"io"
)

// recoveryAlphabet is the digits and upper-case letters without the
// ambiguous 0, O, 1, I and L: 31 characters.
const recoveryAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// RecoveryCodeLen is the length of a recovery code in its canonical form
// "XXXX-XXXX".
const RecoveryCodeLen = 9

const recoveryChars = 8

// NewRecoveryCode returns a new recovery code such as "7KQM-X4RD": two
// groups of four characters drawn uniformly from the 31 characters
// 2-9 and A-Z without I, L and O (31^8 codes, about 39.6 bits).
func NewRecoveryCode() (string, error) {
	return newRecoveryCode(rand.Reader)
}

func newRecoveryCode(r io.Reader) (string, error) {
	// 31^8 < 2^40: one uniform draw yields all eight characters.
	const n = 31 * 31 * 31 * 31 * 31 * 31 * 31 * 31
	v, err := uniform(r, n)
	if err != nil {
		return "", err
	}
	var out [RecoveryCodeLen]byte
	for i := RecoveryCodeLen - 1; i >= 0; i-- {
		if i == 4 {
			out[i] = '-'
			continue
		}
		out[i] = recoveryAlphabet[v%31]
		v /= 31
	}
	return string(out[:]), nil
}

// NormalizeRecoveryCode returns the canonical form ("XXXX-XXXX", upper
// case) of a recovery code a user typed. Lower case is folded to upper
// case, and spaces, tabs and dashes anywhere are removed; nothing else is
// changed. In particular 0, O, 1, I and L are refused rather than guessed
// at, since none of them occurs in a code. Anything that is not then eight
// characters of the code alphabet returns an error wrapping ErrMalformed.
func NormalizeRecoveryCode(input string) (string, error) {
	if len(input) > maxInput {
		return "", fmt.Errorf("%w: recovery code too long", ErrMalformed)
	}
	var out [RecoveryCodeLen]byte
	n := 0
	for i := 0; i < len(input); i++ {
		c := input[i]
		if c == ' ' || c == '\t' || c == '-' {
			continue
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if !isRecoveryChar(c) {
			return "", fmt.Errorf("%w: recovery code contains %q", ErrMalformed, input[i])
		}
		if n == recoveryChars {
			return "", fmt.Errorf("%w: recovery code too long", ErrMalformed)
		}
		if n == 4 {
			out[4] = '-'
		}
		out[n+n/4] = c
		n++
	}
	if n != recoveryChars {
		return "", fmt.Errorf("%w: recovery code has %d characters, want %d", ErrMalformed, n, recoveryChars)
	}
	return string(out[:]), nil
}

func isRecoveryChar(c byte) bool {
	return '2' <= c && c <= '9' || 'A' <= c && c <= 'Z' && c != 'I' && c != 'L' && c != 'O'
}

// RecoveryCodeDigest returns the SHA-256 digest under which a user's
// recovery code is stored, bound to the user as [CodeDigest] binds codes:
// one precomputed table cannot unmask every user's codes at once. Pass the
// code in its canonical form, as returned by [NewRecoveryCode] or
// [NormalizeRecoveryCode].
func RecoveryCodeDigest(userID, code string) []byte {
	return boundDigest("sigra/token recovery code v1", userID, code)
}
