package password

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Hashes made by the original software (see testdata/make-fixtures.sh),
// with their passwords.
const (
	djangoPW     = "correct horse battery staple"
	djangoSHA256 = "pbkdf2_sha256$260000$RGyFNNgH3fxqRq3zTouRR2$GP0SAgEci4f6gS8Ei1AoWU66vWnxWHf27SO2qf+rgqs="
	djangoSHA1PW = "django sha1 pbkdf2"
	djangoSHA1   = "pbkdf2_sha1$260000$zgvbroLJ4hZl92Ohgnw7d5$aYRNd1gYzjyTCKMbdEzkR1Hp8rY="
	betterAuthPW = "correct horse battery staple"
	betterAuth   = "326e18582cc1f1a63d0994c2f7909a40:ffe958317cf147885c2c70ce641b737662389b497041cd8a9745b1bb9af3c160399475b636c7ee6439dc50ec3b9fa933eba24192ebb955651593a8a276f38650"
)

var (
	hex32  = strings.Repeat("0123456789abcdef", 2)
	hex128 = strings.Repeat("0123456789abcdef", 8)
	key32d = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	key20d = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 20)))
	inner  = "$argon2id$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32
)

func TestParseForeign(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    kind
		wantErr error // nil, ErrMalformedHash, ErrUnsupportedHash or ErrUnsafeHash
	}{
		{"django pbkdf2_sha256", djangoSHA256, kindDjangoPBKDF2SHA256, nil},
		{"django pbkdf2_sha1", djangoSHA1, kindDjangoPBKDF2SHA1, nil},
		{"django pbkdf2 1 iteration", "pbkdf2_sha256$1$salt$" + key32d, kindDjangoPBKDF2SHA256, nil},
		{"django pbkdf2 max uint32 parses (limits apply later)", "pbkdf2_sha256$4294967295$salt$" + key32d, kindDjangoPBKDF2SHA256, nil},
		{"django argon2", "argon2" + goodID, kindArgon2id, nil},
		{"django argon2i", "argon2$argon2i$v=19$m=512,t=2,p=2$" + salt16 + "$" + key32, kindArgon2i, nil},
		{"django bcrypt", "bcrypt$" + goodBc, kindBcrypt, nil},
		{"django bcrypt_sha256", "bcrypt_sha256$" + goodBc, kindBcrypt, nil},
		{"better auth", betterAuth, kindBetterAuthScrypt, nil},
		{"wrapped md5", "$sigra-wrap$md5" + inner, kindWrapped, nil},
		{"wrapped sha1", "$sigra-wrap$sha1" + inner, kindWrapped, nil},

		{"django iterations zero", "pbkdf2_sha256$0$salt$" + key32d, 0, ErrMalformedHash},
		{"django iterations negative", "pbkdf2_sha256$-1$salt$" + key32d, 0, ErrMalformedHash},
		{"django iterations leading zero", "pbkdf2_sha256$0260000$salt$" + key32d, 0, ErrMalformedHash},
		{"django iterations above 2^32", "pbkdf2_sha256$4294967296$salt$" + key32d, 0, ErrMalformedHash},
		{"django iterations absurd", "pbkdf2_sha256$99999999999999999999$salt$" + key32d, 0, ErrMalformedHash},
		{"django iterations not a number", "pbkdf2_sha256$many$salt$" + key32d, 0, ErrMalformedHash},
		{"django missing hash", "pbkdf2_sha256$260000$salt", 0, ErrMalformedHash},
		{"django extra field", djangoSHA256 + "$", 0, ErrMalformedHash},
		{"django empty salt", "pbkdf2_sha256$260000$$" + key32d, 0, ErrMalformedHash},
		{"django salt with space", "pbkdf2_sha256$260000$sa lt$" + key32d, 0, ErrMalformedHash},
		{"django salt too long", "pbkdf2_sha256$260000$" + strings.Repeat("s", 65) + "$" + key32d, 0, ErrMalformedHash},
		{"django hash unpadded", "pbkdf2_sha256$260000$salt$" + strings.TrimRight(key32d, "="), 0, ErrMalformedHash},
		{"django hash bad base64", "pbkdf2_sha256$260000$salt$" + strings.Repeat("!", 44), 0, ErrMalformedHash},
		{"django hash url alphabet", "pbkdf2_sha256$260000$salt$" + strings.NewReplacer("+", "-", "/", "_").Replace(djangoSHA256[len(djangoSHA256)-44:]), 0, ErrMalformedHash},
		{"django sha256 hash of 20 bytes", "pbkdf2_sha256$260000$salt$" + key20d, 0, ErrMalformedHash},
		{"django sha1 hash of 32 bytes", "pbkdf2_sha1$260000$salt$" + key32d, 0, ErrMalformedHash},
		{"django argon2 without version", "argon2$argon2i$m=512,t=2,p=2$" + salt16 + "$" + key32, 0, ErrUnsupportedHash},
		{"django argon2d", "argon2$argon2d$v=19$m=512,t=2,p=2$" + salt16 + "$" + key32, 0, ErrUnsupportedHash},
		{"django argon2 broken", "argon2$argon2id$v=19$m=512,t=2,p=2$" + salt16, 0, ErrMalformedHash},
		{"django bcrypt without its dollar", "bcrypt$" + goodBc[1:], 0, ErrMalformedHash},
		{"django bcrypt short", "bcrypt_sha256$" + goodBc[:59], 0, ErrMalformedHash},
		{"django scrypt", "scrypt$16384$salt$8$1$" + key32d, 0, ErrUnsupportedHash},
		{"django salted sha1", "sha1$LfTlqLvh7CRIfiWnFS38b4$607e131efd832ae55d9ee58113b4ca7426e31427", 0, ErrUnsupportedHash},
		{"django unknown algorithm", "whirlpool$1$salt$" + key32d, 0, ErrMalformedHash},
		{"better auth upper-case", strings.ToUpper(betterAuth), 0, ErrMalformedHash},
		{"better auth short salt", hex32[:30] + ":" + hex128, 0, ErrMalformedHash},
		{"better auth long salt", hex32 + "00:" + hex128, 0, ErrMalformedHash},
		{"better auth short key", hex32 + ":" + hex128[:126], 0, ErrMalformedHash},
		{"better auth odd key", hex32 + ":" + hex128[:127], 0, ErrMalformedHash},
		{"better auth not hex", hex32 + ":" + strings.Repeat("g", 128), 0, ErrMalformedHash},
		{"better auth two colons", hex32 + ":" + hex128 + ":", 0, ErrMalformedHash},
		{"better auth empty salt", ":" + hex128, 0, ErrMalformedHash},
		{"wrapped unknown digest", "$sigra-wrap$sha256" + inner, 0, ErrUnsupportedHash},
		{"wrapped invalid digest name", "$sigra-wrap$MD5" + inner, 0, ErrMalformedHash},
		{"wrapped no inner", "$sigra-wrap$md5", 0, ErrMalformedHash},
		{"wrapped argon2i", "$sigra-wrap$md5$argon2i$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32, 0, ErrMalformedHash},
		{"wrapped bcrypt", "$sigra-wrap$md5" + goodBc, 0, ErrMalformedHash},
		{"wrapped broken argon2", "$sigra-wrap$md5" + inner[:40], 0, ErrMalformedHash},
		{"unsalted md5 hex", "5f4dcc3b5aa765d61d8327deb882cf99", 0, ErrUnsafeHash},
		{"unsalted md5 upper-case hex", "5F4DCC3B5AA765D61D8327DEB882CF99", 0, ErrUnsafeHash},
		{"unsalted sha1 hex", "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", 0, ErrUnsafeHash},
		{"unsalted md5 base64", "X03MO1qnZdYdgyfeuILPmQ==", 0, ErrUnsafeHash},
		{"unsalted md5 raw base64", "X03MO1qnZdYdgyfeuILPmQ", 0, ErrUnsafeHash},
		{"unsalted sha1 base64", "W6ph5Mm5Pz8GgiULbPgzG37mj9g=", 0, ErrUnsafeHash},
		{"django unsalted sha1", "sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", 0, ErrUnsafeHash},
		{"django unsalted md5", "md5$$5f4dcc3b5aa765d61d8327deb882cf99", 0, ErrUnsafeHash},
		{"django unsalted md5 short", "md5$$5f4dcc3b5aa765d61d8327deb882cf9", 0, ErrMalformedHash},
		{"hex of another length", strings.Repeat("ab", 32), 0, ErrMalformedHash},
		{"plain text", "hunter2", 0, ErrMalformedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := parseHash(tt.in)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("parseHash(%q): got error %v, want nil", tt.in, err)
				}
				if h.kind != tt.want {
					t.Errorf("parseHash(%q): got kind %v, want %v", tt.in, h.kind, tt.want)
				}
				if got := h.String(); got != tt.in {
					t.Errorf("String(): got %q, want %q", got, tt.in)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("parseHash(%q): got error %v, want %v", tt.in, err, tt.wantErr)
			}
			if tt.wantErr != ErrUnsafeHash && errors.Is(err, ErrUnsafeHash) {
				t.Errorf("parseHash(%q): got error %v, want it not to be ErrUnsafeHash", tt.in, err)
			}
		})
	}
}

// TestForeignLimits: a foreign hash whose cost is beyond the configured
// Limits, and a wrapped hash without Config.AllowWrapped, are refused with
// ErrUnsupportedHash before any computation.
func TestForeignLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  Config
		pw   string
		hash string
	}{
		{"pbkdf2 above the default limit", Config{}, djangoPW, "pbkdf2_sha256$2000001$salt$" + key32d},
		{"pbkdf2 at 2^32-1", Config{}, djangoPW, "pbkdf2_sha1$4294967295$salt$" + key20d},
		{"pbkdf2 above a configured limit", Config{Limits: Limits{MaxPBKDF2Iterations: 100000}}, djangoPW, djangoSHA256},
		{"pbkdf2_sha1 above a configured limit", Config{Limits: Limits{MaxPBKDF2Iterations: 100000}}, djangoSHA1PW, djangoSHA1},
		{"scrypt above a configured memory limit", Config{Limits: Limits{MaxMemory: 16384}}, betterAuthPW, betterAuth},
		{"wrapped without AllowWrapped", Config{}, "password", "$sigra-wrap$md5" + inner},
		{"wrapped above the memory limit", Config{AllowWrapped: true}, "password", "$sigra-wrap$md5$argon2id$v=19$m=262145,t=1,p=1$" + salt16 + "$" + key32},
		{"wrapped above the time limit", Config{AllowWrapped: true}, "password", "$sigra-wrap$sha1$argon2id$v=19$m=64,t=11,p=1$" + salt16 + "$" + key32},
		{"django argon2 above the memory limit", Config{}, "password", "argon2$argon2id$v=19$m=262145,t=1,p=1$" + salt16 + "$" + key32},
		{"django bcrypt above the cost limit", Config{}, "password", "bcrypt_sha256$$2b$16" + goodBc[6:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHasher(t, tt.cfg)
			ok, rehash, err := h.Verify(ctx, tt.pw, tt.hash)
			if ok || rehash || !errors.Is(err, ErrUnsupportedHash) {
				t.Errorf("Verify: got (%v, %v, %v), want (false, false, ErrUnsupportedHash)", ok, rehash, err)
			}
			if s := h.Stats(); s != (Stats{}) {
				t.Errorf("Stats after a refusal: got %+v, want no computation", s)
			}
		})
	}
}

// TestForeignVerify: each foreign format verifies the right password with
// needsRehash, even a Django Argon2 hash at the configured parameters.
func TestForeignVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(t, Config{})
	current, err := h.Hash(ctx, "violet tractor anthem")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, pw, hash string
	}{
		{"django pbkdf2_sha256", djangoPW, djangoSHA256},
		{"django pbkdf2_sha1", djangoSHA1PW, djangoSHA1},
		{"django argon2 at the configured parameters", "violet tractor anthem", "argon2" + current},
		{"better auth", betterAuthPW, betterAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if ok, rehash, err := h.Verify(ctx, tt.pw, tt.hash); !ok || !rehash || err != nil {
				t.Errorf("Verify(%q, %q): got (%v, %v, %v), want (true, true, nil)", tt.pw, tt.hash, ok, rehash, err)
			}
			if ok, _, err := h.Verify(ctx, wrongPassword(tt.pw), tt.hash); ok || err != nil {
				t.Errorf("Verify(wrong password): got (%v, %v), want (false, nil)", ok, err)
			}
		})
	}
}

func TestWrap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const pw = "legacy password"
	md5Sum := md5.Sum([]byte(pw))
	sha1Sum := sha1.Sum([]byte(pw))
	h := newHasher(t, Config{AllowWrapped: true})

	t.Run("encodings", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct{ legacy, digest string }{
			{hex.EncodeToString(md5Sum[:]), "md5"},
			{strings.ToUpper(hex.EncodeToString(md5Sum[:])), "md5"},
			{base64.StdEncoding.EncodeToString(md5Sum[:]), "md5"},
			{base64.RawStdEncoding.EncodeToString(md5Sum[:]), "md5"},
			{"md5$$" + hex.EncodeToString(md5Sum[:]), "md5"},
			{hex.EncodeToString(sha1Sum[:]), "sha1"},
			{base64.StdEncoding.EncodeToString(sha1Sum[:]), "sha1"},
			{base64.RawStdEncoding.EncodeToString(sha1Sum[:]), "sha1"},
			{"sha1$$" + hex.EncodeToString(sha1Sum[:]), "sha1"},
		} {
			legacy := tt.legacy
			wrapped, err := h.Wrap(ctx, legacy)
			if err != nil {
				t.Fatalf("Wrap(%q): %v", legacy, err)
			}
			if want := "$sigra-wrap$" + tt.digest + "$argon2id$v=19$m=64,t=1,p=1$"; !strings.HasPrefix(wrapped, want) {
				t.Errorf("Wrap(%q): got %q, want prefix %q", legacy, wrapped, want)
			}
			if ok, rehash, err := h.Verify(ctx, pw, wrapped); !ok || !rehash || err != nil {
				t.Errorf("Verify(wrapped %q): got (%v, %v, %v), want (true, true, nil)", legacy, ok, rehash, err)
			}
			if ok, _, err := h.Verify(ctx, pw+"!", wrapped); ok || err != nil {
				t.Errorf("Verify(wrong password, wrapped %q): got (%v, %v), want (false, nil)", legacy, ok, err)
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		h := newHasher(t, Config{AllowWrapped: true})
		for _, legacy := range []string{
			"",
			"hunter2",
			hex.EncodeToString(md5Sum[:])[:31],
			hex.EncodeToString(md5Sum[:]) + "0",
			strings.Repeat("ab", 32), // SHA-256: not wrapped
			"md5$$" + hex.EncodeToString(sha1Sum[:]),
			"sha1$$" + base64.StdEncoding.EncodeToString(sha1Sum[:]),
			" " + hex.EncodeToString(md5Sum[:]),
			base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xff}),
			goodBc,                    // already verifiable
			goodID,                    // already verifiable
			djangoSHA256,              // already verifiable
			"$sigra-wrap$md5" + inner, // already wrapped
			strings.Repeat("a", maxEncodedLen+1),
		} {
			wrapped, err := h.Wrap(ctx, legacy)
			if wrapped != "" || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("Wrap(%q): got (%q, %v), want ErrMalformedHash", legacy, wrapped, err)
			}
		}
		if s := h.Stats(); s != (Stats{}) {
			t.Errorf("Stats after refusals: got %+v, want no computation", s)
		}
	})

	t.Run("disabled", func(t *testing.T) {
		t.Parallel()
		off := newHasher(t, Config{})
		wrapped, err := off.Wrap(ctx, hex.EncodeToString(md5Sum[:]))
		if wrapped != "" || !errors.Is(err, ErrWrapDisabled) {
			t.Errorf("Wrap without AllowWrapped: got (%q, %v), want ErrWrapDisabled", wrapped, err)
		}
	})

	t.Run("busy", func(t *testing.T) {
		t.Parallel()
		h := newHasher(t, Config{AllowWrapped: true, PoolSize: 1, MaxWait: 1})
		release := fill(t, h)
		defer release()
		if _, err := h.Wrap(ctx, hex.EncodeToString(md5Sum[:])); err == nil {
			t.Error("Wrap with a full pool: got nil error, want sigra.ErrBusy")
		}
	})
}

// FuzzWrap checks that Wrap never panics, refuses with ErrMalformedHash,
// and makes only hashes that parse as wrapped and verify the digest they
// came from.
func FuzzWrap(f *testing.F) {
	f.Add("5f4dcc3b5aa765d61d8327deb882cf99")
	f.Add("X03MO1qnZdYdgyfeuILPmQ==")
	f.Add("W6ph5Mm5Pz8GgiULbPgzG37mj9g")
	f.Add("sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8")
	f.Add(goodBc)
	for _, fx := range readFixtures(f) {
		f.Add(fx.hash)
	}
	h := newHasher(f, Config{AllowWrapped: true})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, s string) {
		wrapped, err := h.Wrap(ctx, s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Wrap(%q): error %v does not wrap ErrMalformedHash", s, err)
			}
			return
		}
		ph, err := parseHash(wrapped)
		if err != nil || ph.kind != kindWrapped {
			t.Fatalf("Wrap(%q) = %q: parses as %v, %v; want a wrapped hash", s, wrapped, ph.kind, err)
		}
		if got, want := len(decodeLegacy(s, ph.legacy)), ph.legacy.size(); got != want {
			t.Fatalf("Wrap(%q): digest of %d bytes, want %d", s, got, want)
		}
	})
}
