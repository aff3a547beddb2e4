package token

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// base62 is the alphabet of the random part and checksum of an API key, in
// the order of its digit values.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Lengths of the parts of an API key (see the package documentation).
const (
	// APIKeyRandomLen is the number of base62 characters of randomness.
	APIKeyRandomLen = 43
	// APIKeyChecksumLen is the number of base62 characters of the checksum.
	APIKeyChecksumLen = 6

	minPrefix = 2
	maxPrefix = 10
)

// NewAPIKey returns a new API key "<prefix>_<random>_<checksum>" (see the
// package documentation for the format). prefix must be 2 to 10 lowercase
// ASCII letters, such as "sigra"; otherwise NewAPIKey returns an error
// wrapping ErrPrefix.
func NewAPIKey(prefix string) (string, error) {
	return newAPIKey(rand.Reader, prefix)
}

func newAPIKey(r io.Reader, prefix string) (string, error) {
	if !validPrefix(prefix) {
		return "", fmt.Errorf("%w: %q", ErrPrefix, prefix)
	}
	var b strings.Builder
	b.Grow(len(prefix) + 2 + APIKeyRandomLen + APIKeyChecksumLen)
	b.WriteString(prefix)
	b.WriteByte('_')
	var random [APIKeyRandomLen]byte
	// Bytes below 248 = 4*62 map uniformly onto the alphabet; the rest are
	// rejected. Read in batches: about 3% of bytes are rejected.
	var buf [64]byte
	n := 0
	for n < APIKeyRandomLen {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("sigra/token: reading random bytes: %w", err)
		}
		for _, c := range buf {
			if c >= 248 {
				continue
			}
			random[n] = base62[c%62]
			n++
			if n == APIKeyRandomLen {
				break
			}
		}
	}
	b.Write(random[:])
	b.WriteByte('_')
	cs := checksum(random[:])
	b.Write(cs[:])
	return b.String(), nil
}

// checksum returns the CRC-32 (IEEE) of random as APIKeyChecksumLen base62
// digits, most significant first. 62^6 > 2^32, so every checksum fits.
func checksum(random []byte) [APIKeyChecksumLen]byte {
	v := crc32.ChecksumIEEE(random)
	var out [APIKeyChecksumLen]byte
	for i := APIKeyChecksumLen - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return out
}

func validPrefix(p string) bool {
	if len(p) < minPrefix || len(p) > maxPrefix {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 'a' || p[i] > 'z' {
			return false
		}
	}
	return true
}

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// ParseAPIKey checks that key has the format of a key from [NewAPIKey] and
// a matching checksum, and returns its prefix. It returns an error wrapping
// ErrMalformed for anything else, also wrapping ErrChecksum when only the
// checksum is wrong. The checksum catches typing and copying mistakes and
// lets scanners find keys; it is not a secret and proves nothing about the
// key's validity, which only a lookup of [APIKeyDigest] can.
func ParseAPIKey(key string) (prefix string, err error) {
	if len(key) > maxPrefix+2+APIKeyRandomLen+APIKeyChecksumLen {
		return "", fmt.Errorf("%w: API key too long", ErrMalformed)
	}
	prefix, rest, ok := strings.Cut(key, "_")
	if !ok || !validPrefix(prefix) {
		return "", fmt.Errorf("%w: API key prefix", ErrMalformed)
	}
	if len(rest) != APIKeyRandomLen+1+APIKeyChecksumLen || rest[APIKeyRandomLen] != '_' {
		return "", fmt.Errorf("%w: API key length", ErrMalformed)
	}
	random, sum := rest[:APIKeyRandomLen], rest[APIKeyRandomLen+1:]
	if !isBase62(random) || !isBase62(sum) {
		return "", fmt.Errorf("%w: API key alphabet", ErrMalformed)
	}
	want := checksum([]byte(random))
	if string(want[:]) != sum {
		return "", fmt.Errorf("%w: %w", ErrMalformed, ErrChecksum)
	}
	return prefix, nil
}

// APIKeyDigest returns the SHA-256 digest of the whole key, the form in
// which an API key is stored and looked up. Check the key with
// [ParseAPIKey] first so malformed input never reaches the store.
func APIKeyDigest(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}
