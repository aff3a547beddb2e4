package password

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
	"golang.org/x/text/unicode/norm"

	"github.com/sigra-go/sigra"
)

// Errors returned by this package. Test with errors.Is; returned errors wrap
// them with detail.
var (
	// ErrMalformedHash: a stored hash is not a valid hash of any format
	// this package knows (see Verify).
	ErrMalformedHash = errors.New("sigra/password: malformed hash")
	// ErrUnsupportedHash: a stored hash is well formed but uses an algorithm,
	// version or parameters this package does not verify (argon2d, Argon2
	// 1.0, other Django algorithms, costs above the configured Limits,
	// unsalted digests (ErrUnsafeHash), ...).
	ErrUnsupportedHash = errors.New("sigra/password: unsupported hash")
)

// Default Argon2id parameters: the OWASP recommendation of m=19 MiB, t=2,
// p=1, with a 16-byte salt and a 32-byte key.
const (
	DefaultMemory     = 19456 // KiB
	DefaultTime       = 2
	DefaultThreads    = 1
	DefaultSaltLength = 16
	DefaultKeyLength  = 32
)

// The parameter floor New enforces unless Config.InsecureAllowWeakParams is
// set. It admits every configuration in OWASP's table of equivalent Argon2id
// settings (from m=7 MiB, t=5 to m=46 MiB, t=1) and nothing weaker.
const (
	// MinMemory is the smallest memory cost accepted, in KiB (7 MiB).
	MinMemory = 7168
	// MinMemoryTime is the smallest product of memory cost (KiB) and time
	// cost accepted: m=7 MiB needs t=5, m=9 MiB t=4, m=19 MiB t=2.
	MinMemoryTime = 7168 * 5
	// MinSaltLength and MinKeyLength are the smallest salt and key, in bytes.
	MinSaltLength = 16
	MinKeyLength  = 16
)

// DefaultMaxPBKDF2Iterations is the default of Limits.MaxPBKDF2Iterations.
const DefaultMaxPBKDF2Iterations = 2_000_000

// DefaultMaxWait is how long a caller waits for a free hashing slot by
// default.
const DefaultMaxWait = 2 * time.Second

// Params are Argon2id cost parameters. A zero field takes its default.
type Params struct {
	// Memory is the memory cost in KiB. Default 19456 (19 MiB).
	Memory uint32
	// Time is the number of passes over the memory. Default 2.
	Time uint32
	// Threads is the Argon2 parallelism (lanes). Default 1. Each
	// computation runs that many goroutines.
	Threads uint8
	// SaltLength is the length of the random salt in bytes. Default 16.
	SaltLength uint32
	// KeyLength is the length of the derived key in bytes. Default 32.
	KeyLength uint32
}

func (p Params) withDefaults() Params {
	if p.Memory == 0 {
		p.Memory = DefaultMemory
	}
	if p.Time == 0 {
		p.Time = DefaultTime
	}
	if p.Threads == 0 {
		p.Threads = DefaultThreads
	}
	if p.SaltLength == 0 {
		p.SaltLength = DefaultSaltLength
	}
	if p.KeyLength == 0 {
		p.KeyLength = DefaultKeyLength
	}
	return p
}

// Limits bound the cost of verifying a stored hash. Parameters come from the
// stored string, so without bounds a tampered or imported hash could make
// one verification allocate gigabytes or run for minutes. A hash beyond
// them fails with ErrUnsupportedHash. A zero field takes its default.
type Limits struct {
	// MaxMemory is the largest Argon2 memory cost verified, in KiB.
	// Default 262144 (256 MiB).
	MaxMemory uint32
	// MaxTime is the largest Argon2 time cost verified. Default 10.
	MaxTime uint32
	// MaxThreads is the largest Argon2 parallelism verified. Default 16.
	MaxThreads uint8
	// MaxBcryptCost is the largest bcrypt cost verified. Default 15.
	MaxBcryptCost int
	// MaxPBKDF2Iterations is the largest PBKDF2 iteration count verified
	// (Django's pbkdf2_sha256 and pbkdf2_sha1). Default 2,000,000, above
	// the default of every Django release so far (each release raises it;
	// Django 3.2 used 260,000). Raise it for hashes made with more.
	// Scrypt hashes (Better Auth) are bounded by MaxMemory.
	MaxPBKDF2Iterations uint32
}

func (l Limits) withDefaults() Limits {
	if l.MaxMemory == 0 {
		l.MaxMemory = 256 << 10
	}
	if l.MaxTime == 0 {
		l.MaxTime = 10
	}
	if l.MaxThreads == 0 {
		l.MaxThreads = 16
	}
	if l.MaxBcryptCost == 0 {
		l.MaxBcryptCost = 15
	}
	if l.MaxPBKDF2Iterations == 0 {
		l.MaxPBKDF2Iterations = DefaultMaxPBKDF2Iterations
	}
	return l
}

// Config configures a Hasher. The zero value is the recommended
// configuration.
type Config struct {
	// Params are the Argon2id parameters of new hashes. Stored hashes made
	// with other parameters still verify and report needsRehash.
	Params Params
	// Limits bound the parameters of stored hashes that Verify accepts.
	Limits Limits
	// PoolSize is the number of hash or verify computations that may run at
	// once. Default runtime.GOMAXPROCS(0) at New. Peak hashing memory is
	// about PoolSize × Params.Memory (PoolSize × Limits.MaxMemory for
	// imported hashes with larger costs).
	PoolSize int
	// MaxWait is how long a call waits for a free slot in the pool before it
	// fails with an error wrapping sigra.ErrBusy. Default 2s. The context's
	// deadline applies as well.
	MaxWait time.Duration
	// Policy is the password policy applied by Hasher.Check. Its MaxBytes
	// also bounds the passwords Hash and Verify accept.
	Policy Policy
	// InsecureAllowWeakParams lets Params go below the floor (MinMemory,
	// MinMemoryTime, MinSaltLength, MinKeyLength). Only for tests.
	InsecureAllowWeakParams bool
	// AllowWrapped lets Hasher.Wrap make, and Hasher.Verify accept,
	// wrapped legacy hashes ($sigra-wrap$...): unsalted MD5 or SHA-1
	// digests imported under Argon2id (see the package documentation).
	// Off by default: such hashes are then refused with
	// ErrUnsupportedHash. Turn it on while imported users still hold them.
	AllowWrapped bool
}

// Hasher hashes and verifies passwords through a bounded pool. It is safe
// for concurrent use; create one per application with New and share it.
type Hasher struct {
	params  Params
	limits  Limits
	policy  Policy
	maxWait time.Duration
	// allowWrapped is Config.AllowWrapped.
	allowWrapped bool
	// sem holds one token per running computation.
	sem chan struct{}
	// dummy is a hash at the configured parameters that no password
	// matches (its key is random), verified by DummyVerify.
	dummy parsedHash
	// stats count the computations (see Stats).
	hashes, verifications, dummies atomic.Uint64
}

// Stats counts the password computations a [Hasher] has run since it was
// built: each is one key derivation holding a slot of the pool.
type Stats struct {
	// Hashes are the derivations of new hashes (Hash).
	Hashes uint64
	// Verifications are the derivations checking a password against a
	// stored hash (Verify; one per form of the password tried).
	Verifications uint64
	// Dummies are the derivations of DummyVerify, done where there is no
	// stored hash to check so that the answer costs the same.
	Dummies uint64
}

// Stats returns the counts of the computations run so far, for metrics
// and for checking that two paths do the same hashing work.
func (h *Hasher) Stats() Stats {
	return Stats{Hashes: h.hashes.Load(), Verifications: h.verifications.Load(), Dummies: h.dummies.Load()}
}

// New returns a Hasher for cfg, with defaults filled in. It returns an error
// wrapping sigra.ErrConfig if cfg is invalid, for example parameters below
// the floor without InsecureAllowWeakParams.
func New(cfg Config) (*Hasher, error) {
	p := cfg.Params.withDefaults()
	l := cfg.Limits.withDefaults()
	if err := validateParams(p, cfg.InsecureAllowWeakParams); err != nil {
		return nil, err
	}
	switch {
	case p.Memory > l.MaxMemory:
		return nil, fmt.Errorf("%w: password: Params.Memory %d KiB exceeds Limits.MaxMemory %d KiB", sigra.ErrConfig, p.Memory, l.MaxMemory)
	case p.Time > l.MaxTime:
		return nil, fmt.Errorf("%w: password: Params.Time %d exceeds Limits.MaxTime %d", sigra.ErrConfig, p.Time, l.MaxTime)
	case p.Threads > l.MaxThreads:
		return nil, fmt.Errorf("%w: password: Params.Threads %d exceeds Limits.MaxThreads %d", sigra.ErrConfig, p.Threads, l.MaxThreads)
	case l.MaxBcryptCost < bcrypt.MinCost || l.MaxBcryptCost > bcrypt.MaxCost:
		return nil, fmt.Errorf("%w: password: Limits.MaxBcryptCost %d outside %d to %d", sigra.ErrConfig, l.MaxBcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	pool := cfg.PoolSize
	switch {
	case pool < 0:
		return nil, fmt.Errorf("%w: password: negative PoolSize %d", sigra.ErrConfig, pool)
	case pool == 0:
		pool = runtime.GOMAXPROCS(0)
	}
	wait := cfg.MaxWait
	switch {
	case wait < 0:
		return nil, fmt.Errorf("%w: password: negative MaxWait %v", sigra.ErrConfig, wait)
	case wait == 0:
		wait = DefaultMaxWait
	}
	policy, err := cfg.Policy.resolve()
	if err != nil {
		return nil, err
	}
	h := &Hasher{
		params:       p,
		limits:       l,
		policy:       policy,
		maxWait:      wait,
		allowWrapped: cfg.AllowWrapped,
		sem:          make(chan struct{}, pool),
		dummy: parsedHash{
			kind:    kindArgon2id,
			memory:  p.Memory,
			time:    p.Time,
			threads: uint32(p.Threads),
			salt:    make([]byte, p.SaltLength),
			key:     make([]byte, p.KeyLength),
		},
	}
	rand.Read(h.dummy.salt)
	rand.Read(h.dummy.key)
	return h, nil
}

func validateParams(p Params, allowWeak bool) error {
	if p.SaltLength < minSpecSaltLen || p.SaltLength > maxSaltLen {
		return fmt.Errorf("%w: password: SaltLength %d outside %d to %d", sigra.ErrConfig, p.SaltLength, minSpecSaltLen, maxSaltLen)
	}
	if p.KeyLength < minKeyLen || p.KeyLength > maxKeyLen {
		return fmt.Errorf("%w: password: KeyLength %d outside %d to %d", sigra.ErrConfig, p.KeyLength, minKeyLen, maxKeyLen)
	}
	if p.Memory < 8*uint32(p.Threads) {
		return fmt.Errorf("%w: password: Memory %d KiB below 8 KiB per thread", sigra.ErrConfig, p.Memory)
	}
	if allowWeak {
		return nil
	}
	switch {
	case p.Memory < MinMemory:
		return fmt.Errorf("%w: password: Memory %d KiB below the floor of %d KiB (set InsecureAllowWeakParams only in tests)", sigra.ErrConfig, p.Memory, MinMemory)
	case uint64(p.Memory)*uint64(p.Time) < MinMemoryTime:
		return fmt.Errorf("%w: password: Memory×Time %d below the floor of %d (m=%d KiB needs t≥%d)", sigra.ErrConfig,
			uint64(p.Memory)*uint64(p.Time), MinMemoryTime, p.Memory, (MinMemoryTime+p.Memory-1)/p.Memory)
	case p.SaltLength < MinSaltLength:
		return fmt.Errorf("%w: password: SaltLength %d below the floor of %d", sigra.ErrConfig, p.SaltLength, MinSaltLength)
	case p.KeyLength < MinKeyLength:
		return fmt.Errorf("%w: password: KeyLength %d below the floor of %d", sigra.ErrConfig, p.KeyLength, MinKeyLength)
	}
	return nil
}

// Params returns the Argon2id parameters of new hashes, defaults filled in.
func (h *Hasher) Params() Params { return h.params }

// Policy returns the Hasher's password policy with defaults filled in, for
// forms that show the length rules.
func (h *Hasher) Policy() Policy { return h.policy }

// MinLength returns the policy's minimum password length in characters.
func (h *Hasher) MinLength() int { return h.policy.MinLength }

// Hash returns the Argon2id hash of password in PHC format, computed over
// its NFKC normalization. It waits for a slot in the pool as described in
// the package documentation: past Config.MaxWait, or when ctx ends while
// waiting, the error wraps sigra.ErrBusy.
//
// Hash does not apply the policy; call Check on new passwords first. It
// refuses only what cannot be hashed safely, with a *PolicyError: invalid
// UTF-8, the empty password, and passwords over Policy.MaxBytes.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.policy.checkEncoding(password); err != nil {
		return "", err
	}
	if password == "" {
		return "", &PolicyError{Reason: ReasonTooShort, Limit: 1, Message: "Enter a password."}
	}
	n := norm.NFKC.String(password)
	if len(n) > h.policy.MaxBytes {
		return "", h.policy.tooLong()
	}
	salt := make([]byte, h.params.SaltLength)
	rand.Read(salt)
	return h.hashWithSalt(ctx, n, salt)
}

// hashWithSalt hashes an already normalized password with the given salt.
func (h *Hasher) hashWithSalt(ctx context.Context, normalized string, salt []byte) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	h.hashes.Add(1)
	p := h.params
	key := argon2.IDKey([]byte(normalized), salt, p.Time, p.Memory, p.Threads, p.KeyLength)
	return encodeArgon2(kindArgon2id, p.Memory, p.Time, uint32(p.Threads), salt, key), nil
}

// Verify reports whether password matches the stored hash encoded, and
// whether the hash should be replaced by Hash(password) after a successful
// sign-in (needsRehash). It verifies Argon2id and Argon2i PHC strings with
// any parameters within Config.Limits, bcrypt hashes ($2a$, $2b$, $2y$),
// Django's pbkdf2_sha256 and pbkdf2_sha1, Better Auth's scrypt "salt:key",
// and, with Config.AllowWrapped, wrapped legacy digests (see Wrap); the
// package documentation lists the formats. needsRehash is true for every
// format but Argon2id, for Argon2id hashes whose parameters differ from the
// configured ones, and when the password matched only in the form it was
// typed, not its NFKC normalization. A hash whose cost parameters exceed
// Config.Limits is refused with ErrUnsupportedHash without computing, and
// an unsalted digest with ErrUnsafeHash.
//
// A wrong password is (false, false, nil). A password that no hash of this
// package could match (invalid UTF-8, empty, longer than Policy.MaxBytes)
// is also (false, false, nil), without hashing work. An unparsable stored
// hash is an error wrapping ErrMalformedHash or ErrUnsupportedHash; that
// includes the empty hash of an account without a password, for which the
// caller should use DummyVerify instead so the timing matches. Waiting for
// the pool fails as for Hash, with an error wrapping sigra.ErrBusy.
//
// Verification never truncates: bcrypt reads at most 72 bytes, so a
// password longer than 72 bytes never matches a bcrypt hash, even when its
// first 72 bytes do (otherwise every password sharing those 72 bytes would
// sign in). Users whose legacy password was longer must reset it.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	ph, err := parseHash(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.checkLimits(ph); err != nil {
		return false, false, err
	}
	return h.verify(ctx, password, ph, false)
}

// DummyVerify does the work of a failed Verify at the configured parameters
// (against a random key, which no password matches) and returns only the
// errors of waiting for the pool or of an ended context. Call it when a
// sign-in names an unknown user, so that the response takes as long, and
// uses the pool the same way, as for a known user with a wrong password.
func (h *Hasher) DummyVerify(ctx context.Context, password string) error {
	_, _, err := h.verify(ctx, password, h.dummy, true)
	return err
}

func (h *Hasher) verify(ctx context.Context, password string, ph parsedHash, dummy bool) (ok, needsRehash bool, err error) {
	// The normalized form first (what Hash stores), then the form as typed
	// if it differs, for hashes made elsewhere without normalization.
	type candidate struct {
		password   string
		normalized bool
	}
	var candidates []candidate
	if password != "" && len(password) <= h.policy.MaxBytes && utf8.ValidString(password) {
		c := norm.NFKC.String(password)
		if len(c) <= h.policy.MaxBytes {
			candidates = append(candidates, candidate{c, true})
		}
		if c != password {
			candidates = append(candidates, candidate{password, false})
		}
	}
	if len(candidates) == 0 {
		return false, false, nil
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	for _, c := range candidates {
		if dummy {
			h.dummies.Add(1)
		} else {
			h.verifications.Add(1)
		}
		if h.matches(ph, c.password) {
			return true, !c.normalized || h.needsRehash(ph), nil
		}
	}
	return false, false, nil
}

// matches computes the hash of password with the parameters of ph and
// compares it in constant time. The caller holds a pool slot.
func (h *Hasher) matches(ph parsedHash, password string) bool {
	switch ph.kind {
	case kindArgon2id, kindArgon2i:
		derive := argon2.IDKey
		if ph.kind == kindArgon2i {
			derive = argon2.Key
		}
		key := derive([]byte(password), ph.salt, ph.time, ph.memory, uint8(ph.threads), uint32(len(ph.key)))
		return subtle.ConstantTimeCompare(key, ph.key) == 1
	case kindBcrypt:
		if ph.django == "bcrypt_sha256" {
			// Django's bcrypt_sha256: bcrypt of the hexadecimal SHA-256.
			sum := sha256.Sum256([]byte(password))
			password = hex.EncodeToString(sum[:])
		}
		// bcrypt silently ignores bytes past 72: refuse instead.
		if len(password) > 72 {
			return false
		}
		// CompareHashAndPassword compares in constant time.
		return bcrypt.CompareHashAndPassword([]byte(ph.encoded), []byte(password)) == nil
	case kindDjangoPBKDF2SHA256, kindDjangoPBKDF2SHA1:
		digest := sha256.New
		if ph.kind == kindDjangoPBKDF2SHA1 {
			digest = sha1.New
		}
		key, err := pbkdf2.Key(digest, password, ph.salt, int(ph.iterations), len(ph.key))
		return err == nil && subtle.ConstantTimeCompare(key, ph.key) == 1
	case kindBetterAuthScrypt:
		key, err := scrypt.Key([]byte(password), ph.salt, betterAuthN, betterAuthR, betterAuthP, betterAuthKeyLen)
		return err == nil && subtle.ConstantTimeCompare(key, ph.key) == 1
	case kindWrapped:
		digest := ph.legacy.sum([]byte(password))
		key := argon2.IDKey(digest, ph.salt, ph.time, ph.memory, uint8(ph.threads), uint32(len(ph.key)))
		return subtle.ConstantTimeCompare(key, ph.key) == 1
	}
	return false
}

func (h *Hasher) checkLimits(ph parsedHash) error {
	l := h.limits
	switch ph.kind {
	case kindBcrypt:
		if ph.cost > l.MaxBcryptCost {
			return fmt.Errorf("%w: bcrypt cost %d above Limits.MaxBcryptCost %d", ErrUnsupportedHash, ph.cost, l.MaxBcryptCost)
		}
	case kindDjangoPBKDF2SHA256, kindDjangoPBKDF2SHA1:
		if ph.iterations > l.MaxPBKDF2Iterations {
			return fmt.Errorf("%w: %s: %d iterations above Limits.MaxPBKDF2Iterations %d", ErrUnsupportedHash, ph.kind, ph.iterations, l.MaxPBKDF2Iterations)
		}
	case kindBetterAuthScrypt:
		if betterAuthMemory > l.MaxMemory {
			return fmt.Errorf("%w: %s: %d KiB above Limits.MaxMemory %d KiB", ErrUnsupportedHash, ph.kind, betterAuthMemory, l.MaxMemory)
		}
	default:
		if ph.kind == kindWrapped && !h.allowWrapped {
			return errWrappedDisabled()
		}
		switch {
		case ph.memory > l.MaxMemory:
			return fmt.Errorf("%w: %s: m=%d KiB above Limits.MaxMemory %d KiB", ErrUnsupportedHash, ph.kind, ph.memory, l.MaxMemory)
		case ph.time > l.MaxTime:
			return fmt.Errorf("%w: %s: t=%d above Limits.MaxTime %d", ErrUnsupportedHash, ph.kind, ph.time, l.MaxTime)
		case ph.threads > uint32(l.MaxThreads):
			return fmt.Errorf("%w: %s: p=%d above Limits.MaxThreads %d", ErrUnsupportedHash, ph.kind, ph.threads, l.MaxThreads)
		}
	}
	return nil
}

func (h *Hasher) needsRehash(ph parsedHash) bool {
	p := h.params
	return ph.kind != kindArgon2id || ph.django != "" ||
		ph.memory != p.Memory || ph.time != p.Time || ph.threads != uint32(p.Threads) ||
		uint32(len(ph.key)) != p.KeyLength || uint32(len(ph.salt)) < p.SaltLength
}

// acquire takes a slot in the pool, waiting up to MaxWait or until ctx
// ends. The returned function gives the slot back.
func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sigra/password: %w", context.Cause(ctx))
	}
	select {
	case h.sem <- struct{}{}:
		return h.release, nil
	default:
	}
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		return h.release, nil
	case <-t.C:
		return nil, fmt.Errorf("sigra/password: no hashing slot free within %v: %w", h.maxWait, sigra.ErrBusy)
	case <-ctx.Done():
		return nil, fmt.Errorf("sigra/password: no hashing slot free before the context ended: %w: %w", sigra.ErrBusy, context.Cause(ctx))
	}
}

func (h *Hasher) release() { <-h.sem }

// Check applies the Hasher's policy (Config.Policy) to a new password; see
// Policy.Check.
func (h *Hasher) Check(ctx context.Context, password string, c Context) error {
	return h.policy.check(ctx, password, c)
}

// ErrNoBreachCheck is returned by [Hasher.BreachCount] when the policy has
// no breach checker (Policy.Breach is nil).
var ErrNoBreachCheck = errors.New("sigra/password: no breach checker configured")

// BreachCount asks the policy's breach checker (Policy.Breach) how many
// times password appeared in a breach, with the password normalized as
// [Policy] gives it to the checker when a password is set. It is for
// checking a password that is already in use, at sign-in: no other rule of
// the policy is applied (a password that is not valid UTF-8 is given as it
// is). Errors: [ErrNoBreachCheck] without a checker, the
// checker's own error otherwise (for [RangeClient], wrapping
// [ErrBreachCheck]).
func (h *Hasher) BreachCount(ctx context.Context, password string) (int, error) {
	if h.policy.Breach == nil {
		return 0, ErrNoBreachCheck
	}
	if utf8.ValidString(password) {
		password = norm.NFKC.String(password)
	}
	return h.policy.Breach.BreachCount(ctx, password)
}
