// Package token generates, encodes, checks and digests the secrets that
// Sigra hands out: bearer tokens, short numeric codes, recovery codes and API
// keys. It has no storage and no HTTP; other packages store only the digests
// it computes and compare secrets with its constant-time helpers.
//
// Every function is safe for concurrent use. Randomness comes from
// crypto/rand; the error results of the generators report a failure of
// [crypto/rand.Reader], which the standard reader never returns.
//
// # Tokens
//
// [New] returns a 256-bit random token encoded as unpadded base64url: exactly
// [Len] (43) characters from A-Z a-z 0-9 - _. It is what emailed links,
// session cookies and trusted-browser cookies carry. [Valid] and [Parse] are
// strict: they accept only strings that [New] could have produced, so
// garbage from a URL or a cookie is refused before it reaches the store.
// [Digest] is the SHA-256 digest stored in place of the token.
//
// # Numeric codes
//
// [NewCode] returns a code of 4 to 10 decimal digits, zero-padded, drawn
// uniformly (by rejection sampling, so every code is equally likely).
// [NormalizeCode] accepts what a user types: it strips spaces and dashes and
// refuses anything else. [CodeDigest] binds the digest of a code to the user
// and purpose it was issued for.
//
// A short code has little entropy (a 6-digit code is one of a million): its
// digest protects it from being read back, not from an offline search. What
// keeps codes safe is that they expire quickly and allow few attempts; see
// the store's ConsumeCode.
//
// # Recovery codes
//
// [NewRecoveryCode] returns a code such as "7KQM-X4RD": 8 characters from a
// 31-character alphabet without the ambiguous 0, O, 1, I and L, so about
// 39.6 bits of entropy per code. [NormalizeRecoveryCode] accepts lower case,
// spaces and dashes, and returns the canonical form that
// [RecoveryCodeDigest] digests.
//
// # API keys
//
// [NewAPIKey] returns a key formatted as
//
//	<prefix>_<random>_<checksum>
//
// for example "sigra_3kP0...Qz_1a2B3c", where
//
//   - prefix is 2 to 10 lowercase ASCII letters chosen by the application;
//   - random is 43 base62 characters (0-9, A-Z, a-z) drawn uniformly:
//     62^43 > 2^256, so at least 256 bits of entropy;
//   - checksum is the CRC-32 (IEEE) of the random part, as a big-endian
//     base62 number in the same alphabet, left-padded with '0' to 6
//     characters.
//
// A key therefore matches the regular expression
//
//	\b[a-z]{2,10}_[0-9A-Za-z]{43}_[0-9A-Za-z]{6}\b
//
// and the checksum lets a secret scanner tell a real key from a random
// string of that shape offline, without the database. [ParseAPIKey] checks
// the format and the checksum before any lookup; [APIKeyDigest] is the
// SHA-256 digest stored in place of the key.
//
// # Comparisons
//
// Secrets are looked up by digest and compared with [Equal] or
// [EqualDigest], which take time independent of where the inputs differ.
package token
