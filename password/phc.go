package password

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// maxEncodedLen bounds the length of a stored hash string the parser looks
// at. The longest string it accepts (64-byte salt, 64-byte key, ten-digit
// parameters) is well under it.
const maxEncodedLen = 512

// kind is the algorithm of a parsed hash.
type kind int

const (
	kindArgon2id kind = iota + 1
	kindArgon2i
	kindBcrypt
	kindDjangoPBKDF2SHA256
	kindDjangoPBKDF2SHA1
	kindBetterAuthScrypt
	kindWrapped
)

func (k kind) String() string {
	switch k {
	case kindArgon2id:
		return "argon2id"
	case kindArgon2i:
		return "argon2i"
	case kindBcrypt:
		return "bcrypt"
	case kindDjangoPBKDF2SHA256:
		return "pbkdf2_sha256"
	case kindDjangoPBKDF2SHA1:
		return "pbkdf2_sha1"
	case kindBetterAuthScrypt:
		return "better-auth scrypt"
	case kindWrapped:
		return wrapID
	}
	return "unknown"
}

// argon2Version is the only Argon2 version golang.org/x/crypto/argon2
// implements (1.3, 0x13).
const argon2Version = 19

// Bounds on salt and key lengths accepted from a stored Argon2 hash. The
// Argon2 specification allows salts from 8 bytes and keys from 4 bytes;
// shorter ones cannot come from a conforming implementation and are
// malformed. Keys shorter than 16 bytes are too easy to match by chance and
// salts or keys longer than 64 bytes are not produced by common
// implementations; both are refused as unsupported.
const (
	minSpecSaltLen = 8
	maxSaltLen     = 64
	minSpecKeyLen  = 4
	minKeyLen      = 16
	maxKeyLen      = 64
)

// hashLenBcrypt is the length of every modular-crypt bcrypt hash:
// "$2b$" + two-digit cost + "$" + 22 salt characters + 31 hash characters.
const hashLenBcrypt = 60

// parsedHash is a stored hash taken apart.
type parsedHash struct {
	kind kind
	// Argon2: cost parameters (threads as parsed, before the uint8 bound
	// is applied), salt and key.
	memory, time, threads uint32
	salt, key             []byte
	// bcrypt: cost and the whole encoded string, which
	// golang.org/x/crypto/bcrypt parses itself.
	cost    int
	encoded string
	// PBKDF2: iterations (salt and key above; the salt is Django's salt
	// string as bytes). Better Auth's scrypt uses salt (its hex string as
	// bytes) and key, at fixed parameters.
	iterations uint32
	// Wrapped: the legacy digest under the Argon2id wrapper, whose
	// parameters, salt and key are the Argon2 fields above.
	legacy legacyDigest
	// django is the name of the Django hasher whose prefix is in front of
	// an Argon2 or bcrypt hash ("argon2", "bcrypt", "bcrypt_sha256"), or
	// empty.
	django string
}

// parseHash parses a stored password hash: an Argon2id or Argon2i PHC
// string ($argon2id$v=19$m=...,t=...,p=...$salt$key), a bcrypt hash
// ($2a$, $2b$, $2y$), a Django PBKDF2 hash (pbkdf2_sha256$..., pbkdf2_sha1$...),
// a Better Auth scrypt hash (salt:key in hex) or a wrapped legacy digest
// ($sigra-wrap$md5$argon2id$...). Parsing is strict: the only accepted
// encoding of a given hash is the canonical one. Errors wrap
// ErrMalformedHash (not a valid hash) or ErrUnsupportedHash (valid, but an
// algorithm, version or length this package does not verify; unsalted
// digests wrap ErrUnsafeHash as well). It never panics.
func parseHash(s string) (parsedHash, error) {
	if s == "" {
		return parsedHash{}, fmt.Errorf("%w: empty", ErrMalformedHash)
	}
	if len(s) > maxEncodedLen {
		return parsedHash{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHash, maxEncodedLen)
	}
	if s[0] != '$' {
		return parseForeign(s)
	}
	parts := strings.Split(s[1:], "$")
	switch id := parts[0]; id {
	case wrapID:
		return parseWrapped(s)
	case "argon2id":
		return parseArgon2(kindArgon2id, parts)
	case "argon2i":
		return parseArgon2(kindArgon2i, parts)
	case "2a", "2b", "2y":
		return parseBcrypt(s)
	default:
		if validPHCID(id) {
			return parsedHash{}, fmt.Errorf("%w: algorithm %q", ErrUnsupportedHash, id)
		}
		return parsedHash{}, fmt.Errorf("%w: invalid algorithm identifier", ErrMalformedHash)
	}
}

// validPHCID reports whether id is a syntactically valid PHC algorithm
// identifier: 1 to 32 characters of [a-z0-9-].
func validPHCID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func parseArgon2(k kind, parts []string) (parsedHash, error) {
	// parts: id, v=19, m=..,t=..,p=.., salt, key
	if len(parts) == 4 && strings.HasPrefix(parts[1], "m=") {
		// No version field: Argon2 1.0 (0x10), which x/crypto does not
		// implement.
		return parsedHash{}, fmt.Errorf("%w: argon2 version 16 (no v= field)", ErrUnsupportedHash)
	}
	if len(parts) != 5 {
		return parsedHash{}, fmt.Errorf("%w: %s: want 5 '$'-separated fields, got %d", ErrMalformedHash, k, len(parts))
	}

	v, ok := strings.CutPrefix(parts[1], "v=")
	if !ok {
		return parsedHash{}, fmt.Errorf("%w: %s: missing version field", ErrMalformedHash, k)
	}
	version, ok := parseDecimal(v)
	if !ok {
		return parsedHash{}, fmt.Errorf("%w: %s: invalid version %q", ErrMalformedHash, k, v)
	}
	if version != argon2Version {
		return parsedHash{}, fmt.Errorf("%w: %s: version %d (only %d)", ErrUnsupportedHash, k, version, argon2Version)
	}

	params := strings.Split(parts[2], ",")
	if len(params) > 3 && hasPrefixes(params[:3], "m=", "t=", "p=") && optionalArgon2Params(params[3:]) {
		return parsedHash{}, fmt.Errorf("%w: %s: keyid or data parameters", ErrUnsupportedHash, k)
	}
	if len(params) != 3 || !hasPrefixes(params, "m=", "t=", "p=") {
		return parsedHash{}, fmt.Errorf("%w: %s: parameters must be exactly m=,t=,p= in that order", ErrMalformedHash, k)
	}
	var vals [3]uint32
	for i, p := range params {
		n, ok := parseDecimal(p[2:])
		if !ok {
			return parsedHash{}, fmt.Errorf("%w: %s: invalid parameter %q", ErrMalformedHash, k, p)
		}
		vals[i] = n
	}
	h := parsedHash{kind: k, memory: vals[0], time: vals[1], threads: vals[2]}
	switch {
	case h.time < 1:
		return parsedHash{}, fmt.Errorf("%w: %s: t must be at least 1", ErrMalformedHash, k)
	case h.threads < 1 || h.threads > 1<<24-1:
		return parsedHash{}, fmt.Errorf("%w: %s: p must be between 1 and 2^24-1", ErrMalformedHash, k)
	case uint64(h.memory) < 8*uint64(h.threads):
		return parsedHash{}, fmt.Errorf("%w: %s: m must be at least 8*p", ErrMalformedHash, k)
	}

	var err error
	if h.salt, err = decodeB64(parts[3]); err != nil {
		return parsedHash{}, fmt.Errorf("%w: %s: salt: %v", ErrMalformedHash, k, err)
	}
	if h.key, err = decodeB64(parts[4]); err != nil {
		return parsedHash{}, fmt.Errorf("%w: %s: key: %v", ErrMalformedHash, k, err)
	}
	switch n := len(h.salt); {
	case n < minSpecSaltLen:
		return parsedHash{}, fmt.Errorf("%w: %s: salt of %d bytes (minimum %d)", ErrMalformedHash, k, n, minSpecSaltLen)
	case n > maxSaltLen:
		return parsedHash{}, fmt.Errorf("%w: %s: salt of %d bytes (maximum %d)", ErrUnsupportedHash, k, n, maxSaltLen)
	}
	switch n := len(h.key); {
	case n < minSpecKeyLen:
		return parsedHash{}, fmt.Errorf("%w: %s: key of %d bytes (minimum %d)", ErrMalformedHash, k, n, minSpecKeyLen)
	case n < minKeyLen || n > maxKeyLen:
		return parsedHash{}, fmt.Errorf("%w: %s: key of %d bytes (accepted: %d to %d)", ErrUnsupportedHash, k, n, minKeyLen, maxKeyLen)
	}
	return h, nil
}

// optionalArgon2Params reports whether params are the optional keyid and
// data parameters of the PHC Argon2 format, in order, each at most once.
func optionalArgon2Params(params []string) bool {
	switch len(params) {
	case 1:
		return strings.HasPrefix(params[0], "keyid=") || strings.HasPrefix(params[0], "data=")
	case 2:
		return hasPrefixes(params, "keyid=", "data=")
	}
	return false
}

func hasPrefixes(items []string, prefixes ...string) bool {
	for i, p := range prefixes {
		if !strings.HasPrefix(items[i], p) {
			return false
		}
	}
	return true
}

// parseDecimal parses a PHC decimal: ASCII digits, no sign, no leading
// zero (except "0" itself), fitting in 32 bits.
func parseDecimal(s string) (uint32, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

// decodeB64 decodes PHC "B64": standard alphabet, no padding. Only the
// canonical encoding is accepted (no trailing bits set, no CR or LF, which
// encoding/base64 would otherwise skip).
func decodeB64(s string) ([]byte, error) {
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid base64 (standard alphabet, no padding)")
	}
	if base64.RawStdEncoding.EncodeToString(b) != s {
		return nil, fmt.Errorf("non-canonical base64")
	}
	return b, nil
}

// encodeArgon2 formats an Argon2 hash as a PHC string.
func encodeArgon2(k kind, memory, time, threads uint32, salt, key []byte) string {
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", k, argon2Version, memory, time, threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// String formats h back into its canonical encoding. For every string s
// that parseHash accepts, parseHash(s).String() == s.
func (h parsedHash) String() string {
	switch h.kind {
	case kindBcrypt:
		if h.django != "" {
			return h.django + "$" + h.encoded
		}
		return h.encoded
	case kindDjangoPBKDF2SHA256, kindDjangoPBKDF2SHA1:
		return encodeDjangoPBKDF2(h)
	case kindBetterAuthScrypt:
		return string(h.salt) + ":" + hex.EncodeToString(h.key)
	case kindWrapped:
		return "$" + wrapID + "$" + h.legacy.String() + encodeArgon2(kindArgon2id, h.memory, h.time, h.threads, h.salt, h.key)
	}
	return h.django + encodeArgon2(h.kind, h.memory, h.time, h.threads, h.salt, h.key)
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseBcrypt checks the modular-crypt form of a bcrypt hash:
// $2a$, $2b$ or $2y$, a two-digit cost from 04 to 31, '$', then 53
// characters of bcrypt's base64 alphabet.
func parseBcrypt(s string) (parsedHash, error) {
	if len(s) != hashLenBcrypt {
		return parsedHash{}, fmt.Errorf("%w: bcrypt: length %d, want %d", ErrMalformedHash, len(s), hashLenBcrypt)
	}
	if s[6] != '$' {
		return parsedHash{}, fmt.Errorf("%w: bcrypt: cost must be two digits followed by '$'", ErrMalformedHash)
	}
	cost, ok := 0, true
	for _, c := range []byte(s[4:6]) {
		ok = ok && c >= '0' && c <= '9'
		cost = cost*10 + int(c-'0')
	}
	if !ok || cost < 4 || cost > 31 {
		return parsedHash{}, fmt.Errorf("%w: bcrypt: cost %q (accepted: 04 to 31)", ErrMalformedHash, s[4:6])
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(bcryptAlphabet, s[i]) < 0 {
			return parsedHash{}, fmt.Errorf("%w: bcrypt: invalid character at offset %d", ErrMalformedHash, i)
		}
	}
	return parsedHash{kind: kindBcrypt, cost: cost, encoded: s}, nil
}
