package password

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestCheckHash checks every fixture of testdata/interop.tsv without
// computing: the verifiable ones give their format, the unsafe ones
// ErrUnsafeHash, the rest ErrUnsupportedHash, as Verify would.
func TestCheckHash(t *testing.T) {
	t.Parallel()
	h := newHasher(t, Config{})
	for _, fx := range readFixtures(t) {
		format, err := h.CheckHash(fx.hash)
		switch fx.expect {
		case "current", "rehash", "over72":
			if err != nil || format == "" {
				t.Errorf("CheckHash(%q): got (%q, %v), want a format and nil", fx.hash, format, err)
			}
		case "unsafe":
			if !errors.Is(err, ErrUnsafeHash) || format != "" {
				t.Errorf("CheckHash(%q): got (%q, %v), want ErrUnsafeHash", fx.hash, format, err)
			}
		default:
			if !errors.Is(err, ErrUnsupportedHash) || errors.Is(err, ErrUnsafeHash) {
				t.Errorf("CheckHash(%q): got (%q, %v), want ErrUnsupportedHash", fx.hash, format, err)
			}
		}
	}
	if s := h.Stats(); s != (Stats{}) {
		t.Errorf("CheckHash computed: got %+v, want no computation", s)
	}
}

func TestCheckHashFormats(t *testing.T) {
	t.Parallel()
	h := newHasher(t, Config{})
	byPrefix := map[string]string{
		"$argon2id$":       "argon2id",
		"$argon2i$":        "argon2i",
		"$2a$":             "bcrypt",
		"$2b$":             "bcrypt",
		"$2y$":             "bcrypt",
		"pbkdf2_sha256$":   "pbkdf2_sha256",
		"pbkdf2_sha1$":     "pbkdf2_sha1",
		"argon2$argon2id$": "django argon2",
		"bcrypt_sha256$":   "django bcrypt_sha256",
	}
	seen := map[string]bool{}
	for _, fx := range readFixtures(t) {
		if fx.expect != "current" && fx.expect != "rehash" {
			continue
		}
		format, err := h.CheckHash(fx.hash)
		if err != nil {
			t.Fatalf("CheckHash(%q): %v", fx.hash, err)
		}
		want := ""
		for p := range byPrefix {
			if strings.HasPrefix(fx.hash, p) && len(p) > len(want) {
				want = p
			}
		}
		switch {
		case want != "":
			if format != byPrefix[want] {
				t.Errorf("CheckHash(%q): got %q, want %q", fx.hash, format, byPrefix[want])
			}
		case strings.Contains(fx.hash, ":"):
			if format != "better-auth scrypt" {
				t.Errorf("CheckHash(%q): got %q, want better-auth scrypt", fx.hash, format)
			}
		}
		seen[format] = true
	}
	for _, f := range []string{"argon2id", "argon2i", "bcrypt", "pbkdf2_sha256", "pbkdf2_sha1", "better-auth scrypt", "django bcrypt_sha256"} {
		if !seen[f] {
			t.Errorf("no fixture had the format %q", f)
		}
	}
}

func TestCheckHashRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	wrapping := newHasher(t, Config{AllowWrapped: true})
	wrapped, err := wrapping.Wrap(ctx, "5f4dcc3b5aa765d61d8327deb882cf99")
	if err != nil {
		t.Fatal(err)
	}
	if f, err := wrapping.CheckHash(wrapped); f != "sigra-wrap" || err != nil {
		t.Errorf("CheckHash(wrapped) with AllowWrapped: got (%q, %v), want (sigra-wrap, nil)", f, err)
	}
	plain := newHasher(t, Config{})
	limited := newHasher(t, Config{Limits: Limits{MaxMemory: 1024}})
	for _, tc := range []struct {
		name string
		h    *Hasher
		hash string
		want error
	}{
		{"empty", plain, "", ErrMalformedHash},
		{"garbage", plain, "not a hash", ErrMalformedHash},
		{"too long", plain, "$argon2id$" + strings.Repeat("a", 600), ErrMalformedHash},
		{"unknown algorithm", plain, "$scrypt$ln=16,r=8,p=1$c2FsdA$a2V5", ErrUnsupportedHash},
		{"unsalted md5", plain, "5f4dcc3b5aa765d61d8327deb882cf99", ErrUnsafeHash},
		{"wrapped without AllowWrapped", plain, wrapped, ErrUnsupportedHash},
		{"above the memory limit", limited, "$argon2id$v=19$m=65536,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5", ErrUnsupportedHash},
	} {
		if f, err := tc.h.CheckHash(tc.hash); !errors.Is(err, tc.want) || f != "" {
			t.Errorf("%s: CheckHash(%q): got (%q, %v), want %v", tc.name, tc.hash, f, err, tc.want)
		}
	}
}
