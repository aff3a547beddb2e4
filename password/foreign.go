package password

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrUnsafeHash: a stored hash is an unsalted digest (MD5 or SHA-1, in
// hexadecimal or base64), which Verify refuses: anyone holding the table
// could reverse most of them with precomputed tables. Import such hashes
// with [Hasher.Wrap]. Errors wrapping ErrUnsafeHash also wrap
// ErrUnsupportedHash.
var ErrUnsafeHash = fmt.Errorf("%w: unsafe format (an unsalted digest)", ErrUnsupportedHash)

// wrapID is the PHC identifier of a wrapped legacy digest:
//
//	$sigra-wrap$<digest>$argon2id$v=19$m=...,t=...,p=...$<salt>$<key>
//
// where <digest> is md5 or sha1 and the rest is the Argon2id PHC string of
// the raw legacy digest bytes.
const wrapID = "sigra-wrap"

// legacyDigest is the unsalted digest under a wrapped hash.
type legacyDigest int

const (
	legacyMD5 legacyDigest = iota + 1
	legacySHA1
)

func (d legacyDigest) String() string {
	switch d {
	case legacyMD5:
		return "md5"
	case legacySHA1:
		return "sha1"
	}
	return "unknown"
}

// size is the length of the digest in bytes.
func (d legacyDigest) size() int {
	if d == legacyMD5 {
		return md5.Size
	}
	return sha1.Size
}

// sum computes the legacy digest of b.
func (d legacyDigest) sum(b []byte) []byte {
	if d == legacyMD5 {
		s := md5.Sum(b)
		return s[:]
	}
	s := sha1.Sum(b)
	return s[:]
}

// Better Auth's scrypt parameters (package @better-auth/utils, password.ts):
// N=16384, r=16, p=1, a 64-byte key, and a salt that is 16 random bytes in
// lower-case hexadecimal, used as the 32 bytes of that text. The stored form
// is "<salt>:<key in hex>" and carries no parameters.
const (
	betterAuthN       = 16384
	betterAuthR       = 16
	betterAuthP       = 1
	betterAuthKeyLen  = 64
	betterAuthSaltHex = 32
)

// betterAuthMemory is scrypt's memory cost at Better Auth's parameters, in
// KiB (128·N·r bytes), compared with Limits.MaxMemory.
const betterAuthMemory = 128 * betterAuthN * betterAuthR / 1024

// maxDjangoSaltLen bounds the salt of a Django hash. Django makes salts of
// 12 (before 3.1) or 22 alphanumeric characters.
const maxDjangoSaltLen = 64

// parseForeign parses a stored hash that does not start with '$': Django
// ("<algorithm>$..."), Better Auth ("<salt>:<key>"), or a bare unsalted
// digest, which is refused with ErrUnsafeHash.
func parseForeign(s string) (parsedHash, error) {
	if alg, rest, ok := strings.Cut(s, "$"); ok {
		switch alg {
		case "pbkdf2_sha256":
			return parseDjangoPBKDF2(kindDjangoPBKDF2SHA256, rest)
		case "pbkdf2_sha1":
			return parseDjangoPBKDF2(kindDjangoPBKDF2SHA1, rest)
		case "argon2":
			return parseDjangoArgon2(rest)
		case "bcrypt", "bcrypt_sha256":
			return parseDjangoBcrypt(alg, rest)
		case "md5", "sha1":
			if strings.HasPrefix(rest, "$") {
				// Django's unsalted_md5 and unsalted_sha1.
				d, enc, err := parseLegacy(s)
				if err != nil {
					return parsedHash{}, err
				}
				return parsedHash{}, unsafeError(d, enc)
			}
			return parsedHash{}, fmt.Errorf("%w: Django salted %s (a single fast digest)", ErrUnsupportedHash, alg)
		}
		if djangoAlgorithm(alg) {
			return parsedHash{}, fmt.Errorf("%w: Django algorithm %q", ErrUnsupportedHash, alg)
		}
		return parsedHash{}, fmt.Errorf("%w: unrecognized format (invalid algorithm name before '$')", ErrMalformedHash)
	}
	if salt, key, ok := strings.Cut(s, ":"); ok {
		return parseBetterAuth(salt, key)
	}
	if d, enc, err := parseLegacy(s); err == nil {
		return parsedHash{}, unsafeError(d, enc)
	}
	return parsedHash{}, fmt.Errorf("%w: unrecognized format (not a PHC string, bcrypt, Django or Better Auth hash)", ErrMalformedHash)
}

func unsafeError(d legacyDigest, enc string) error {
	return fmt.Errorf("%w: unsalted %s in %s; import it wrapped (Hasher.Wrap)", ErrUnsafeHash, strings.ToUpper(d.String()), enc)
}

// djangoAlgorithm reports whether alg names one of Django's other
// password hashers, refused as unsupported rather than malformed.
func djangoAlgorithm(alg string) bool {
	switch alg {
	case "scrypt", "unsalted_md5", "unsalted_sha1", "crypt":
		return true
	}
	return false
}

// parseDjangoPBKDF2 parses the part after "pbkdf2_sha256$" or
// "pbkdf2_sha1$": "<iterations>$<salt>$<base64 key>", the key in padded
// standard base64 and as long as the digest (Django's default dklen).
func parseDjangoPBKDF2(k kind, rest string) (parsedHash, error) {
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return parsedHash{}, fmt.Errorf("%w: %s: want <iterations>$<salt>$<hash>", ErrMalformedHash, k)
	}
	iter, ok := parseDecimal(parts[0])
	if !ok || iter < 1 {
		return parsedHash{}, fmt.Errorf("%w: %s: iterations must be a decimal number from 1 to 4294967295", ErrMalformedHash, k)
	}
	salt := parts[1]
	if salt == "" || len(salt) > maxDjangoSaltLen {
		return parsedHash{}, fmt.Errorf("%w: %s: salt of %d characters (accepted: 1 to %d)", ErrMalformedHash, k, len(salt), maxDjangoSaltLen)
	}
	for i := 0; i < len(salt); i++ {
		if salt[i] <= ' ' || salt[i] > '~' {
			return parsedHash{}, fmt.Errorf("%w: %s: salt must be printable ASCII", ErrMalformedHash, k)
		}
	}
	key, err := base64.StdEncoding.Strict().DecodeString(parts[2])
	if err != nil || base64.StdEncoding.EncodeToString(key) != parts[2] {
		return parsedHash{}, fmt.Errorf("%w: %s: hash must be padded standard base64", ErrMalformedHash, k)
	}
	want := 32
	if k == kindDjangoPBKDF2SHA1 {
		want = 20
	}
	if len(key) != want {
		return parsedHash{}, fmt.Errorf("%w: %s: hash of %d bytes, want %d", ErrMalformedHash, k, len(key), want)
	}
	return parsedHash{kind: k, iterations: iter, salt: []byte(salt), key: key}, nil
}

// parseDjangoArgon2 parses the part after Django's "argon2" prefix: an
// Argon2id or Argon2i PHC string without its leading '$'.
func parseDjangoArgon2(rest string) (parsedHash, error) {
	parts := strings.Split(rest, "$")
	var k kind
	switch parts[0] {
	case "argon2id":
		k = kindArgon2id
	case "argon2i":
		k = kindArgon2i
	default:
		return parsedHash{}, fmt.Errorf("%w: Django argon2: want argon2id or argon2i after the prefix", ErrUnsupportedHash)
	}
	ph, err := parseArgon2(k, parts)
	if err != nil {
		return parsedHash{}, fmt.Errorf("%w (in the Django argon2 format)", err)
	}
	ph.django = "argon2"
	return ph, nil
}

// parseDjangoBcrypt parses the part after Django's "bcrypt$" or
// "bcrypt_sha256$" prefix: a bcrypt hash. bcrypt_sha256 hashes the
// hexadecimal SHA-256 of the password rather than the password.
func parseDjangoBcrypt(alg, rest string) (parsedHash, error) {
	if len(rest) < 4 || (rest[:4] != "$2a$" && rest[:4] != "$2b$" && rest[:4] != "$2y$") {
		return parsedHash{}, fmt.Errorf("%w: Django %s: want a $2a$, $2b$ or $2y$ bcrypt hash after the prefix", ErrMalformedHash, alg)
	}
	ph, err := parseBcrypt(rest)
	if err != nil {
		return parsedHash{}, fmt.Errorf("%w (in the Django %s format)", err, alg)
	}
	ph.django = alg
	return ph, nil
}

func encodeDjangoPBKDF2(h parsedHash) string {
	return fmt.Sprintf("%s$%d$%s$%s", h.kind, h.iterations, h.salt, base64.StdEncoding.EncodeToString(h.key))
}

// parseBetterAuth parses Better Auth's "<salt>:<key>": 32 and 128
// lower-case hexadecimal characters.
func parseBetterAuth(salt, key string) (parsedHash, error) {
	if len(salt) != betterAuthSaltHex || !lowerHex(salt) {
		return parsedHash{}, fmt.Errorf("%w: %s: salt must be %d lower-case hexadecimal characters", ErrMalformedHash, kindBetterAuthScrypt, betterAuthSaltHex)
	}
	if len(key) != 2*betterAuthKeyLen || !lowerHex(key) {
		return parsedHash{}, fmt.Errorf("%w: %s: key must be %d lower-case hexadecimal characters", ErrMalformedHash, kindBetterAuthScrypt, 2*betterAuthKeyLen)
	}
	k, _ := hex.DecodeString(key)
	return parsedHash{kind: kindBetterAuthScrypt, salt: []byte(salt), key: k}, nil
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parseLegacy recognizes an unsalted MD5 or SHA-1 digest: hexadecimal
// (either case) or standard base64 (padded or not), optionally behind
// Django's "md5$$" or "sha1$$" (then hexadecimal). It returns the digest
// algorithm and the name of the encoding.
func parseLegacy(s string) (legacyDigest, string, error) {
	for _, d := range []legacyDigest{legacyMD5, legacySHA1} {
		if rest, ok := strings.CutPrefix(s, d.String()+"$$"); ok {
			if len(rest) == 2*d.size() && isHex([]byte(rest)) {
				return d, "hexadecimal", nil
			}
			return 0, "", fmt.Errorf("%w: Django unsalted %s: digest must be %d hexadecimal characters", ErrMalformedHash, d, 2*d.size())
		}
	}
	if isHex([]byte(s)) {
		switch len(s) {
		case 2 * md5.Size:
			return legacyMD5, "hexadecimal", nil
		case 2 * sha1.Size:
			return legacySHA1, "hexadecimal", nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding.Strict(), base64.RawStdEncoding.Strict()} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		switch len(b) {
		case md5.Size:
			return legacyMD5, "base64", nil
		case sha1.Size:
			return legacySHA1, "base64", nil
		}
	}
	return 0, "", fmt.Errorf("%w: not an unsalted MD5 or SHA-1 digest in hexadecimal or base64", ErrMalformedHash)
}

// decodeLegacy returns the raw bytes of a digest parseLegacy recognized.
func decodeLegacy(s string, d legacyDigest) []byte {
	s = strings.TrimPrefix(s, d.String()+"$$")
	if b, err := hex.DecodeString(s); err == nil && len(b) == d.size() {
		return b
	}
	if b, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
		return b
	}
	b, _ := base64.RawStdEncoding.Strict().DecodeString(s)
	return b
}

// parseWrapped parses "$sigra-wrap$<digest>$argon2id$v=19$...".
func parseWrapped(s string) (parsedHash, error) {
	rest := strings.TrimPrefix(s, "$"+wrapID+"$")
	if rest == s {
		return parsedHash{}, fmt.Errorf("%w: %s: want $%s$<digest>$argon2id$<parameters>$<salt>$<key>", ErrMalformedHash, wrapID, wrapID)
	}
	alg, inner, ok := strings.Cut(rest, "$")
	if !ok {
		return parsedHash{}, fmt.Errorf("%w: %s: want $%s$<digest>$argon2id$<parameters>$<salt>$<key>", ErrMalformedHash, wrapID, wrapID)
	}
	var d legacyDigest
	switch alg {
	case "md5":
		d = legacyMD5
	case "sha1":
		d = legacySHA1
	default:
		if validPHCID(alg) {
			return parsedHash{}, fmt.Errorf("%w: %s: digest %q (accepted: md5, sha1)", ErrUnsupportedHash, wrapID, alg)
		}
		return parsedHash{}, fmt.Errorf("%w: %s: invalid digest name", ErrMalformedHash, wrapID)
	}
	parts := strings.Split(inner, "$")
	if parts[0] != "argon2id" {
		return parsedHash{}, fmt.Errorf("%w: %s: the wrapper must be argon2id", ErrMalformedHash, wrapID)
	}
	ph, err := parseArgon2(kindArgon2id, parts)
	if err != nil {
		return parsedHash{}, fmt.Errorf("%w (in the %s wrapper)", err, wrapID)
	}
	ph.kind = kindWrapped
	ph.legacy = d
	return ph, nil
}

// ErrWrapDisabled is returned by [Hasher.Wrap] when the Hasher was built
// without [Config.AllowWrapped]: it would not verify the result.
var ErrWrapDisabled = errors.New("sigra/password: wrapped legacy hashes are disabled (Config.AllowWrapped)")

// Wrap makes a stored hash from an unsafe legacy one, for importing users
// whose passwords were kept as unsalted MD5 or SHA-1 digests: it hashes the
// raw digest with Argon2id at the configured parameters, so the weak digest
// itself is never stored. legacy is the digest in hexadecimal (either case)
// or standard base64 (padded or not), or Django's "md5$$<hex>" or
// "sha1$$<hex>". The result has the form
//
//	$sigra-wrap$md5$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// and [Hasher.Verify] accepts it (computing the digest of the password,
// then Argon2id over it) when [Config.AllowWrapped] is set, always with
// needsRehash, so the user's next sign-in stores a plain Argon2id hash.
//
// Wrap fails with [ErrWrapDisabled] unless Config.AllowWrapped is set, with
// an error wrapping [ErrMalformedHash] when legacy is not such a digest (a
// hash Verify already accepts is refused too: store it as it is), and as
// [Hasher.Hash] does when the pool stays full. It is safe for concurrent
// use.
func (h *Hasher) Wrap(ctx context.Context, legacy string) (string, error) {
	if !h.allowWrapped {
		return "", ErrWrapDisabled
	}
	if len(legacy) > maxEncodedLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrMalformedHash, maxEncodedLen)
	}
	if _, err := parseHash(legacy); err == nil {
		return "", fmt.Errorf("%w: already a verifiable hash: store it as it is", ErrMalformedHash)
	}
	d, _, err := parseLegacy(legacy)
	if err != nil {
		return "", err
	}
	digest := decodeLegacy(legacy, d)
	p := h.params
	salt := make([]byte, p.SaltLength)
	rand.Read(salt)
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	h.hashes.Add(1)
	key := argon2.IDKey(digest, salt, p.Time, p.Memory, p.Threads, p.KeyLength)
	return "$" + wrapID + "$" + d.String() + encodeArgon2(kindArgon2id, p.Memory, p.Time, uint32(p.Threads), salt, key), nil
}

// errWrappedDisabled is the refusal of Verify for a wrapped hash without
// Config.AllowWrapped.
func errWrappedDisabled() error {
	return fmt.Errorf("%w: %s: wrapped legacy hashes are verified only with Config.AllowWrapped", ErrUnsupportedHash, wrapID)
}
