// Package password hashes and verifies passwords with Argon2id, migrates
// hashes made by other systems (bcrypt, Django, Better Auth, other Argon2),
// and checks new passwords against a NIST SP 800-63B policy. It has no HTTP handlers and no storage: the account flows
// call it and keep the resulting string in store.User.PasswordHash.
//
// # Hashing
//
// [New] returns a [Hasher]; share one per application. [Hasher.Hash]
// returns a PHC string:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with the salt and key in unpadded standard base64. [Hasher.Verify] takes
// the password and a stored hash and returns (ok, needsRehash, err). It
// verifies Argon2id and Argon2i PHC strings at any parameters within
// [Limits], and the foreign formats listed under "Migrating users in"
// below. Argon2d and Argon2 1.0
// (v=16) are not implemented by golang.org/x/crypto/argon2 and are refused
// with [ErrUnsupportedHash]; neither is used for passwords in practice.
// Parsing is strict: one canonical encoding per hash, with the version,
// the parameters m, t, p in that order, unpadded base64 and bounded salt
// and key lengths; anything else is [ErrMalformedHash], never a panic.
// Derived keys are compared in constant time.
//
// Before hashing, and before verifying, a password is normalized to NFKC
// (Unicode compatibility composition), as NIST SP 800-63B asks. A password
// typed in composed or decomposed form ("é" as one code point or as "e"
// and a combining accent), or with full-width letters, gives the same
// hash. Verify also tries the password exactly as typed when that differs,
// so hashes imported from systems that did not normalize still verify; such
// a match reports needsRehash.
//
// # Parameters and the pool
//
// The defaults are OWASP's Argon2id recommendation: m=19456 KiB (19 MiB),
// t=2, p=1, a 16-byte salt and a 32-byte key; one hash takes a few tens of
// milliseconds on a server core. [New] refuses parameters weaker than the
// weakest of OWASP's equivalent settings ([MinMemory], [MinMemoryTime])
// unless [Config.InsecureAllowWeakParams] is set, which is meant for tests.
//
// Each Argon2id computation allocates its whole memory cost, so unbounded
// concurrency is a denial of service: 500 simultaneous sign-ins would need
// about 9.5 GiB. Every Hash, Verify and DummyVerify therefore runs in a
// bounded pool of [Config.PoolSize] slots (default GOMAXPROCS), which caps
// hashing memory at about PoolSize × m. A call that finds the pool full
// waits up to [Config.MaxWait] (default 2s) or until its context ends,
// whichever is first, then fails with an error wrapping [sigra.ErrBusy]
// (and the context's error, if it ended); an HTTP handler answers 503
// Service Unavailable, ideally with Retry-After. A call whose context has
// already ended fails with that context's error without waiting.
//
// The pool bounds the memory in use, but cannot reuse it:
// golang.org/x/crypto/argon2 takes no buffer and allocates the memory cost
// afresh at every computation. A server that signs users in steadily thus
// allocates 19 MiB per hash, and with Go's default GOGC=100 its garbage
// collector runs every two or three hashes, marking the application's
// whole heap each time (in the sign-in benchmark of package bench, 5 to 7%
// of the server's CPU, where argon2.IDKey alone in a small program spends
// 2%). A server whose load is mostly password sign-ins can trade memory
// for that time with GOGC=400: a collection every nine or ten hashes, for
// a heap that grows to about five times what is live at a collection (the
// computations in flight count as live: about 230 MiB at the default
// parameters and a pool of 2, against 100 MiB), with GOMEMLIMIT (or
// [runtime/debug.SetMemoryLimit]) set below the memory the process may use
// so that the collector still runs early when memory runs short. Both are
// settings of the whole process, which this package leaves alone.
//
// On Linux the runtime also hands freed memory back to the kernel, above
// what it expects the heap to need, and by default does so with
// MADV_DONTNEED: the next hash to use those pages takes a page fault for
// each, and the kernel maps and zeroes a fresh page. A server's heap swings
// with the number of hashes in flight at each collection, so it hands back
// and touches again much of the hashes' memory: in the sign-in benchmark of
// package bench, on a 2-core virtual machine, 140 to 350 page faults per
// sign-in, and 28 to 35 ms of server CPU per sign-in where the hash alone
// took 23 to 28. Started with GODEBUG=madvdontneed=0 (an environment
// variable: the runtime reads it only at start-up), the runtime uses
// MADV_FREE instead, and the kernel takes such pages back only when it runs
// short of memory: 7 to 26 faults and 25 to 26 ms per sign-in on the same
// machine, the hash alone 22 to 23 ms. How much it spares depends on how
// much the runtime hands back: on another machine of the same kind, with
// 92 to 151 faults per sign-in by default, sign-ins ran as fast either
// way. The cost is in what the process
// appears to use: its resident size (RSS) stays near its peak until the
// kernel needs the memory (under memory pressure, a container's limit
// included, it reclaims such pages without swapping them), so monitoring
// that reads RSS sees more than the heap holds.
//
// [Hasher.DummyVerify] does the work of a failed verification at the
// configured parameters, through the pool. Call it when a sign-in names an
// unknown account, so that the answer takes as long as for a known one.
//
// # Policy
//
// [Policy.Check] (or [Hasher.Check], with the policy of [Config.Policy])
// follows NIST SP 800-63B: at least [Policy.MinLength] characters (default
// 8; revision 4 recommends 15 where the password is the only factor), at
// most [Policy.MaxLength] (default 256) and [Policy.MaxBytes] (default
// 1024, which bounds hashing cost), no composition rules, and refusal of
// common passwords, of passwords built on context words, and optionally of
// breached passwords. Lengths count Unicode code points after NFKC
// normalization. A refusal is a [*PolicyError] with a stable [Reason]
// code (too_short, too_long, invalid_utf8, common, contains_context,
// breached, breach_check_unavailable) and a message a form can show.
//
// The blocklist holds the 17,950 entries of at least 8 characters from the
// common-password list of zxcvbn-ts (npm package @zxcvbn-ts/language-common
// 4.1.3, MIT licence), itself derived from the ten-million-password corpus
// published on xato.net and ranked by frequency. It is embedded, folded to
// NFKC lower case, and compared with the folded password; the command in
// internal/blocklistgen regenerates it (go generate). See [Policy.Check]
// for how context words (the email's local part, the service's name, words
// the caller passes) are matched.
//
// # Breach check
//
// [Policy.Breach] takes any [BreachChecker]. [RangeClient] implements one
// for the k-anonymity range API of Have I Been Pwned's Pwned Passwords and
// compatible services: it sends only the first five hexadecimal characters
// of the password's SHA-1, asks for padded answers, bounds the time and
// size of the answer, and refuses malformed answers. When the check fails,
// [Policy.BreachFailOpen] decides: fail-open accepts the password,
// fail-closed (the default) refuses it with breach_check_unavailable.
//
// # Migrating users in
//
// Keep the hashes of the previous system as they are. At sign-in,
// [Hasher.Verify] checks them and always reports needsRehash; the caller
// then stores Hash(password), so each user moves to Argon2id at their next
// sign-in (the account package does this). The same applies after changing
// [Config.Params]. Verify accepts:
//
//   - Argon2id and Argon2i PHC strings from any system ($argon2id$...,
//     $argon2i$...): the reference argon2 tool, argon2-cffi, PHP's
//     password_hash and others.
//   - bcrypt with each prefix in use: $2a$ (Ruby's bcrypt gem under Devise,
//     Auth0 and Supabase exports), $2b$ (bcrypt_elixir under Phoenix's
//     phx.gen.auth, Python's bcrypt, Supabase exports), $2y$ (PHP's
//     password_hash, Apache's htpasswd).
//   - Django: pbkdf2_sha256$<iterations>$<salt>$<base64 hash> (Django's
//     default) and pbkdf2_sha1$...; Django's argon2$argon2id$... and
//     bcrypt_sha256$$2b$... (bcrypt of the hexadecimal SHA-256 of the
//     password, so without bcrypt's 72-byte limit) and bcrypt$$2b$....
//   - Better Auth: <salt>:<key>, scrypt with N=16384, r=16, p=1 and a 64-byte
//     key, over the NFKC form of the password, the salt being the text of 32
//     hexadecimal characters and the key in hexadecimal (the parameters are
//     fixed by the better-auth package and not stored in the hash).
//
// Every verification runs in the pool and compares in constant time. The
// cost of a stored hash is bounded before any computation: Argon2 by
// [Limits.MaxMemory], [Limits.MaxTime] and [Limits.MaxThreads], bcrypt by
// [Limits.MaxBcryptCost], PBKDF2 by [Limits.MaxPBKDF2Iterations], Better
// Auth's scrypt (32 MiB) by [Limits.MaxMemory]; a hash beyond them fails
// with [ErrUnsupportedHash]. The tests verify hashes made by the original
// software (Debian's argon2, python3-argon2, python3-bcrypt, apache2-utils,
// php-cli and python3-django, and the better-auth npm package); the
// commands that made them are in testdata/make-fixtures.sh.
// [Hasher.CheckHash] tells, without computing, whether Verify would accept
// a hash and in which format: an import validates each hash with it before
// storing it.
//
// Unsalted digests (MD5 or SHA-1, in hexadecimal or base64, or Django's
// unsalted_md5 and unsalted_sha1) are refused with [ErrUnsafeHash], which
// wraps [ErrUnsupportedHash]: stored as they are, most could be reversed
// from a leaked table. Import them wrapped instead. With
// [Config.AllowWrapped] set, [Hasher.Wrap] turns such a digest into
//
//	$sigra-wrap$md5$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// that is "$sigra-wrap$", the digest's name (md5 or sha1), and the Argon2id
// PHC string of the raw digest bytes at the configured parameters, so
// nothing weak is stored. Verify of a wrapped hash computes the legacy
// digest of the password, verifies it against the Argon2id wrapper, and
// reports needsRehash, so the user's next sign-in stores a plain Argon2id
// hash. Config.AllowWrapped is off by default, and wrapped hashes are then
// refused with ErrUnsupportedHash; keep it on while imported users still
// hold wrapped hashes.
//
// Two caveats. bcrypt reads at most 72 bytes of a password and many
// libraries silently drop the rest; Verify never truncates, so a password
// longer than 72 bytes never matches a bcrypt hash and such users must
// reset their password. And a foreign hash does not cost the same time as
// DummyVerify, so while such hashes remain, sign-in timing can tell an
// imported account from an unknown one; choose Argon2id parameters of
// similar cost or finish the migration with resets.
package password
