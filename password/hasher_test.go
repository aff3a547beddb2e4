package password

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/sigra-go/sigra"
)

// cheap are parameters for tests that do not measure cost.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

// newHasher returns a Hasher for cfg, with cheap parameters when cfg sets
// none.
func newHasher(t testing.TB, cfg Config) *Hasher {
	t.Helper()
	if cfg.Params == (Params{}) {
		cfg.Params = cheap
		cfg.InsecureAllowWeakParams = true
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	h, err := New(Config{})
	if err != nil {
		t.Fatalf("New(Config{}): %v", err)
	}
	want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLength: 16, KeyLength: 32}
	if got := h.Params(); got != want {
		t.Errorf("Params(): got %+v, want %+v", got, want)
	}
	if got, want := cap(h.sem), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("pool size: got %d, want GOMAXPROCS %d", got, want)
	}
	if h.maxWait != DefaultMaxWait {
		t.Errorf("MaxWait: got %v, want %v", h.maxWait, DefaultMaxWait)
	}
	wantLimits := Limits{MaxMemory: 262144, MaxTime: 10, MaxThreads: 16, MaxBcryptCost: 15, MaxPBKDF2Iterations: 2000000}
	if h.limits != wantLimits {
		t.Errorf("Limits: got %+v, want %+v", h.limits, wantLimits)
	}
	if h.policy.MinLength != 8 || h.policy.MaxLength != 256 || h.policy.MaxBytes != 1024 {
		t.Errorf("Policy: got %+v, want MinLength 8, MaxLength 256, MaxBytes 1024", h.policy)
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"OWASP m=46MiB t=1", Config{Params: Params{Memory: 47104, Time: 1}}, true},
		{"OWASP m=7MiB t=5", Config{Params: Params{Memory: 7168, Time: 5}}, true},
		{"OWASP m=12MiB t=3", Config{Params: Params{Memory: 12288, Time: 3}}, true},
		{"RFC 9106 m=64MiB t=3 p=4", Config{Params: Params{Memory: 65536, Time: 3, Threads: 4}}, true},
		{"m below floor", Config{Params: Params{Memory: 7167, Time: 10}}, false},
		{"m=7MiB t=4 below m×t floor", Config{Params: Params{Memory: 7168, Time: 4}}, false},
		{"m=19MiB t=1 below m×t floor", Config{Params: Params{Memory: 19456, Time: 1}}, false},
		{"salt 8 bytes below floor", Config{Params: Params{SaltLength: 8}}, false},
		{"salt 7 bytes", Config{Params: Params{SaltLength: 7}, InsecureAllowWeakParams: true}, false},
		{"salt 65 bytes", Config{Params: Params{SaltLength: 65}}, false},
		{"key 15 bytes", Config{Params: Params{KeyLength: 15}, InsecureAllowWeakParams: true}, false},
		{"key 65 bytes", Config{Params: Params{KeyLength: 65}}, false},
		{"weak allowed", Config{Params: Params{Memory: 64, Time: 1}, InsecureAllowWeakParams: true}, true},
		{"weak allowed 8-byte salt", Config{Params: Params{SaltLength: 8}, InsecureAllowWeakParams: true}, true},
		{"m below 8 per thread even when weak allowed", Config{Params: Params{Memory: 16, Time: 1, Threads: 4}, InsecureAllowWeakParams: true}, false},
		{"params above limits", Config{Params: Params{Memory: 1 << 20}}, false},
		{"params within raised limits", Config{Params: Params{Memory: 1 << 20}, Limits: Limits{MaxMemory: 1 << 20}}, true},
		{"time above limits", Config{Params: Params{Time: 11}}, false},
		{"threads above limits", Config{Params: Params{Threads: 17}}, false},
		{"bcrypt cost limit too low", Config{Limits: Limits{MaxBcryptCost: 3}}, false},
		{"bcrypt cost limit too high", Config{Limits: Limits{MaxBcryptCost: 32}}, false},
		{"negative pool", Config{PoolSize: -1}, false},
		{"negative wait", Config{MaxWait: -time.Second}, false},
		{"bad policy", Config{Policy: Policy{MinLength: 6}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := New(tt.cfg)
			if tt.ok {
				if err != nil || h == nil {
					t.Fatalf("New: got (%v, %v), want a Hasher", h, err)
				}
				return
			}
			if !errors.Is(err, sigra.ErrConfig) || h != nil {
				t.Fatalf("New: got (%v, %v), want (nil, sigra.ErrConfig)", h, err)
			}
		})
	}
}

func TestHashVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(t, Config{})
	for _, pw := range []string{"correct horse battery staple", "pässwörd-ünïcödé", "日本語のパスワード", "🔑🔐", " spaces  inside ", strings.Repeat("é", 512)} {
		enc, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatalf("Hash(%q): %v", pw, err)
		}
		if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Errorf("Hash(%q): got %q, want prefix $argon2id$v=19$m=64,t=1,p=1$", pw, enc)
		}
		ok, rehash, err := h.Verify(ctx, pw, enc)
		if !ok || rehash || err != nil {
			t.Errorf("Verify(%q, own hash): got (%v, %v, %v), want (true, false, nil)", pw, ok, rehash, err)
		}
		for _, wrong := range []string{pw + "x", pw[1:], strings.ToUpper(pw[:1]) + pw[1:] + "!", "x"} {
			if ok, _, err := h.Verify(ctx, wrong, enc); ok || err != nil {
				t.Errorf("Verify(%q, hash of %q): got (%v, %v), want (false, nil)", wrong, pw, ok, err)
			}
		}
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	t.Parallel()
	h := newHasher(t, Config{})
	a, err := h.Hash(context.Background(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(context.Background(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two hashes of one password are equal (%q): salts are not random", a)
	}
	pa, _ := parseHash(a)
	if len(pa.salt) != DefaultSaltLength || len(pa.key) != DefaultKeyLength {
		t.Errorf("got salt %d bytes, key %d bytes, want %d and %d", len(pa.salt), len(pa.key), DefaultSaltLength, DefaultKeyLength)
	}
}

func TestNormalization(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(t, Config{})
	tests := []struct {
		name, hashed, typed string
	}{
		{"decomposed typed, composed stored", "café", "cafe\u0301"},
		{"composed typed, decomposed stored", "cafe\u0301", "café"},
		{"full-width typed", "password-fw", "ｐａｓｓｗｏｒｄ－ｆｗ"},
		{"ligature", "ﬁnance ﬁle", "finance file"},
		{"hangul jamo", "\u1112\u1161\u11ab", "한"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			enc, err := h.Hash(ctx, tt.hashed)
			if err != nil {
				t.Fatal(err)
			}
			ok, rehash, err := h.Verify(ctx, tt.typed, enc)
			if !ok || rehash || err != nil {
				t.Errorf("Verify(%q, Hash(%q)): got (%v, %v, %v), want (true, false, nil)", tt.typed, tt.hashed, ok, rehash, err)
			}
		})
	}
}

// TestVerifyAsTyped: a hash made elsewhere from a non-normalized password
// verifies with the password as typed, and asks for a rehash.
func TestVerifyAsTyped(t *testing.T) {
	t.Parallel()
	h := newHasher(t, Config{})
	raw := "cafe\u0301 au lait" // decomposed
	key := deriveForTest(raw, []byte("0123456789abcdef"))
	enc := encodeArgon2(kindArgon2id, cheap.Memory, cheap.Time, uint32(cheap.Threads), []byte("0123456789abcdef"), key)
	ok, rehash, err := h.Verify(context.Background(), raw, enc)
	if !ok || !rehash || err != nil {
		t.Errorf("Verify(decomposed, foreign hash of decomposed): got (%v, %v, %v), want (true, true, nil)", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(context.Background(), "café au lait", enc); ok {
		t.Error("Verify(composed, foreign hash of decomposed): got true, want false (the foreign hash is of other bytes)")
	}
}

func TestNeedsRehash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	current := newHasher(t, Config{Params: Params{Memory: 64, Time: 1, Threads: 1}, InsecureAllowWeakParams: true})
	enc, err := current.Hash(ctx, "a password here")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		params Params
		rehash bool
	}{
		{"same params", Params{Memory: 64, Time: 1, Threads: 1}, false},
		{"memory raised", Params{Memory: 128, Time: 1, Threads: 1}, true},
		{"time raised", Params{Memory: 64, Time: 2, Threads: 1}, true},
		{"threads changed", Params{Memory: 64, Time: 1, Threads: 2}, true},
		{"key length changed", Params{Memory: 64, Time: 1, Threads: 1, KeyLength: 64}, true},
		{"salt length raised", Params{Memory: 64, Time: 1, Threads: 1, SaltLength: 32}, true},
		{"salt length lowered", Params{Memory: 64, Time: 1, Threads: 1, SaltLength: 8}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHasher(t, Config{Params: tt.params, InsecureAllowWeakParams: true})
			ok, rehash, err := h.Verify(ctx, "a password here", enc)
			if !ok || rehash != tt.rehash || err != nil {
				t.Errorf("Verify: got (%v, %v, %v), want (true, %v, nil)", ok, rehash, err, tt.rehash)
			}
		})
	}
	// argon2i verifies and always asks for a rehash.
	salt := []byte("0123456789abcdef")
	argon2i := encodeArgon2(kindArgon2i, 64, 1, 1, salt, argon2iForTest("a password here", salt))
	ok, rehash, err := current.Verify(ctx, "a password here", argon2i)
	if !ok || !rehash || err != nil {
		t.Errorf("Verify(argon2i): got (%v, %v, %v), want (true, true, nil)", ok, rehash, err)
	}
}

func TestVerifyBcrypt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(t, Config{})
	pw72 := strings.Repeat("a", 71) + "!"
	hash72, err := bcrypt.GenerateFromPassword([]byte(pw72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	short, err := bcrypt.GenerateFromPassword([]byte("pässwörd"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, password string
		hash           []byte
		ok             bool
	}{
		{"72 bytes", pw72, hash72, true},
		{"73 bytes, first 72 match", pw72 + "x", hash72, false},
		{"100 bytes, first 72 match", pw72 + strings.Repeat("x", 28), hash72, false},
		{"71 bytes", pw72[:71], hash72, false},
		{"non-ASCII", "pässwörd", short, true},
		{"non-ASCII wrong", "passwörd", short, false},
		{"2y prefix", "pässwörd", append([]byte("$2y"), short[3:]...), true},
		{"2a prefix", "pässwörd", append([]byte("$2a"), short[3:]...), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := h.Verify(ctx, tt.password, string(tt.hash))
			if ok != tt.ok || rehash != tt.ok || err != nil {
				t.Errorf("Verify(%d bytes): got (%v, %v, %v), want (%v, %v, nil)", len(tt.password), ok, rehash, err, tt.ok, tt.ok)
			}
		})
	}
}

func TestVerifyRefusedInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(t, Config{Policy: Policy{MaxBytes: 300}})
	enc, err := h.Hash(ctx, strings.Repeat("a", 300))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, password string
	}{
		{"empty", ""},
		{"invalid UTF-8", "caf\xe9 latin-1"},
		{"over MaxBytes", strings.Repeat("a", 301)},
		{"normalized form over MaxBytes", strings.Repeat("\ufdfa", 20)}, // 60 bytes, 18 characters each once normalized
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := h.Verify(ctx, tt.password, enc)
			if ok || rehash || err != nil {
				t.Errorf("Verify: got (%v, %v, %v), want (false, false, nil)", ok, rehash, err)
			}
		})
	}
	ok, _, err := h.Verify(ctx, strings.Repeat("a", 300), enc)
	if !ok || err != nil {
		t.Errorf("Verify(300 bytes, MaxBytes 300): got (%v, %v), want (true, nil)", ok, err)
	}
}

func TestHashRefusedInput(t *testing.T) {
	t.Parallel()
	h := newHasher(t, Config{Policy: Policy{MaxBytes: 300}})
	tests := []struct {
		name, password string
		reason         Reason
	}{
		{"empty", "", ReasonTooShort},
		{"invalid UTF-8", "caf\xe9", ReasonInvalidUTF8},
		{"over MaxBytes", strings.Repeat("a", 301), ReasonTooLong},
		{"normalized form over MaxBytes", strings.Repeat("\ufdfa", 20), ReasonTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			enc, err := h.Hash(context.Background(), tt.password)
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Reason != tt.reason || enc != "" {
				t.Errorf("Hash: got (%q, %v), want a *PolicyError with reason %s", enc, err, tt.reason)
			}
		})
	}
}

func TestVerifyBadHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(t, Config{})
	strict := newHasher(t, Config{Limits: Limits{MaxMemory: 4096, MaxTime: 2, MaxThreads: 2, MaxBcryptCost: 9}})
	salt := b64(16, 's')
	tests := []struct {
		name string
		h    *Hasher
		hash string
		want error
	}{
		{"malformed", h, "$argon2id$v=19$m=19456,t=2,p=1$" + salt, ErrMalformedHash},
		{"empty", h, "", ErrMalformedHash},
		{"argon2d", h, "$argon2d$v=19$m=4096,t=3,p=1$" + salt + "$" + key32, ErrUnsupportedHash},
		{"m above default limit", h, "$argon2id$v=19$m=262145,t=1,p=1$" + salt + "$" + key32, ErrUnsupportedHash},
		{"m = 4 GiB", h, "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key32, ErrUnsupportedHash},
		{"t above default limit", h, "$argon2id$v=19$m=4096,t=11,p=1$" + salt + "$" + key32, ErrUnsupportedHash},
		{"p above default limit", h, "$argon2id$v=19$m=4096,t=1,p=17$" + salt + "$" + key32, ErrUnsupportedHash},
		{"p above uint8", h, "$argon2id$v=19$m=4096,t=1,p=257$" + salt + "$" + key32, ErrUnsupportedHash},
		{"bcrypt cost above default limit", h, "$2b$16" + goodBc[6:], ErrUnsupportedHash},
		{"m above configured limit", strict, "$argon2id$v=19$m=4097,t=1,p=1$" + salt + "$" + key32, ErrUnsupportedHash},
		{"t above configured limit", strict, "$argon2id$v=19$m=4096,t=3,p=1$" + salt + "$" + key32, ErrUnsupportedHash},
		{"p above configured limit", strict, "$argon2id$v=19$m=4096,t=1,p=3$" + salt + "$" + key32, ErrUnsupportedHash},
		{"bcrypt above configured limit", strict, goodBc, ErrUnsupportedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := tt.h.Verify(ctx, "password", tt.hash)
			if ok || rehash || !errors.Is(err, tt.want) {
				t.Errorf("Verify: got (%v, %v, %v), want (false, false, %v)", ok, rehash, err, tt.want)
			}
		})
	}
}

// fill takes every slot of h's pool and returns a function giving one back.
func fill(t *testing.T, h *Hasher) (releaseOne func()) {
	t.Helper()
	for range cap(h.sem) {
		if _, err := h.acquire(context.Background()); err != nil {
			t.Fatalf("acquire: %v", err)
		}
	}
	return h.release
}

func TestPoolBusy(t *testing.T) {
	t.Parallel()
	enc := "$argon2id$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32
	calls := []struct {
		name string
		call func(*Hasher, context.Context) error
	}{
		{"Hash", func(h *Hasher, ctx context.Context) error { _, err := h.Hash(ctx, "a password"); return err }},
		{"Verify", func(h *Hasher, ctx context.Context) error { _, _, err := h.Verify(ctx, "a password", enc); return err }},
		{"DummyVerify", func(h *Hasher, ctx context.Context) error { return h.DummyVerify(ctx, "a password") }},
	}
	for _, c := range calls {
		t.Run(c.name+"/MaxWait", func(t *testing.T) {
			t.Parallel()
			h := newHasher(t, Config{PoolSize: 2, MaxWait: 10 * time.Millisecond})
			fill(t, h)
			err := c.call(h, context.Background())
			if !errors.Is(err, sigra.ErrBusy) {
				t.Errorf("full pool: got %v, want an error wrapping sigra.ErrBusy", err)
			}
		})
		t.Run(c.name+"/context deadline", func(t *testing.T) {
			t.Parallel()
			h := newHasher(t, Config{PoolSize: 1, MaxWait: time.Hour})
			fill(t, h)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			err := c.call(h, ctx)
			if !errors.Is(err, sigra.ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("full pool, context deadline: got %v, want an error wrapping sigra.ErrBusy and context.DeadlineExceeded", err)
			}
		})
		t.Run(c.name+"/context already done", func(t *testing.T) {
			t.Parallel()
			h := newHasher(t, Config{PoolSize: 1})
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := c.call(h, ctx)
			if !errors.Is(err, context.Canceled) || errors.Is(err, sigra.ErrBusy) {
				t.Errorf("canceled context, free pool: got %v, want context.Canceled without sigra.ErrBusy", err)
			}
		})
		t.Run(c.name+"/waits for a slot", func(t *testing.T) {
			t.Parallel()
			h := newHasher(t, Config{PoolSize: 1, MaxWait: time.Hour})
			releaseOne := fill(t, h)
			done := make(chan error, 1)
			go func() { done <- c.call(h, context.Background()) }()
			releaseOne()
			if err := <-done; err != nil {
				t.Errorf("after a slot was freed: got %v, want nil", err)
			}
			if n := len(h.sem); n != 0 {
				t.Errorf("slots held after the call: got %d, want 0", n)
			}
		})
	}
}

// TestPoolConcurrency runs many calls on a small pool and checks that all
// complete and every slot is given back.
func TestPoolConcurrency(t *testing.T) {
	t.Parallel()
	h := newHasher(t, Config{PoolSize: 3, MaxWait: time.Minute})
	enc, err := h.Hash(context.Background(), "a password")
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	errs := make(chan error, n)
	for i := range n {
		go func() {
			ok, _, err := h.Verify(context.Background(), "a password", enc)
			if err == nil && !ok {
				err = errors.New("did not verify")
			}
			if i%2 == 0 && err == nil {
				err = h.DummyVerify(context.Background(), "a password")
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Verify: %v", err)
		}
	}
	if got := len(h.sem); got != 0 {
		t.Errorf("slots held after all calls: got %d, want 0", got)
	}
}

// TestDummyVerifyWork checks that DummyVerify does the work of a real
// failed verification: the same memory allocated, at the configured cost,
// and twice when the password is not in normalized form, like Verify.
// Not parallel: it reads process-wide allocation counters.
func TestDummyVerifyWork(t *testing.T) {
	ctx := context.Background()
	const memKiB = 4096
	h := newHasher(t, Config{Params: Params{Memory: memKiB, Time: 1, Threads: 1}, InsecureAllowWeakParams: true})
	enc, err := h.Hash(ctx, "the real password")
	if err != nil {
		t.Fatal(err)
	}
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	for _, pw := range []string{"a wrong password", "cafe\u0301 wrong"} {
		verify := allocated(func() { h.Verify(ctx, pw, enc) })
		dummy := allocated(func() {
			if err := h.DummyVerify(ctx, pw); err != nil {
				t.Fatal(err)
			}
		})
		if verify < memKiB<<10 {
			t.Fatalf("Verify(%q) allocated %d bytes, want at least the memory cost %d", pw, verify, memKiB<<10)
		}
		if ratio := float64(dummy) / float64(verify); ratio < 0.95 || ratio > 1.05 {
			t.Errorf("DummyVerify(%q) allocated %d bytes, Verify %d: ratio %.3f, want within 5%% of 1", pw, dummy, verify, ratio)
		}
	}
}

// deriveForTest computes an Argon2id key at the cheap parameters directly
// with x/crypto, as another implementation would, without normalization.
func deriveForTest(password string, salt []byte) []byte {
	return argon2.IDKey([]byte(password), salt, cheap.Time, cheap.Memory, cheap.Threads, DefaultKeyLength)
}

// argon2iForTest computes an Argon2i key at the cheap parameters.
func argon2iForTest(password string, salt []byte) []byte {
	return argon2.Key([]byte(password), salt, cheap.Time, cheap.Memory, cheap.Threads, DefaultKeyLength)
}
