package audit

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The fuzz targets check the validators against independent statements of
// the documented rules.

var (
	actionRule = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)
	keyRule    = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	unseparate = strings.NewReplacer("_", "", "-", "", ".", "")
)

func looksSecret(key string) bool {
	folded := strings.ToLower(unseparate.Replace(key))
	for _, w := range []string{"password", "passwd", "secret", "token", "code", "otp", "totp", "key",
		"hash", "cookie", "session", "authorization", "credential", "recovery"} {
		if strings.Contains(folded, w) {
			return true
		}
	}
	return false
}

func FuzzMetadata(f *testing.F) {
	for _, seed := range [][2]string{
		{"method", "password"}, {"reason", "bad_password"}, {"resetToken", "x"}, {"Pass_Word", ""},
		{"t.o.k.e.n", "v"}, {"", "v"}, {"tοken", "v"}, {"count", "\xff"}, {"count", "a\x00"},
		{strings.Repeat("k", 65), "v"}, {"k", strings.Repeat("v", 513)}, {"device_id", "0192d0c4-7e8a"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		err := checkMetadata(map[string]string{key: value})

		keyOK := keyRule.MatchString(key)
		secret := keyOK && looksSecret(key)
		valueOK := len(value) <= MaxValueLen && utf8.ValidString(value) && !strings.ContainsRune(value, 0)
		switch {
		case !keyOK || (!secret && !valueOK):
			if !errors.Is(err, ErrInvalidMetadata) {
				t.Fatalf("checkMetadata(%q: %q): got error %v, want ErrInvalidMetadata", key, value, err)
			}
		case secret:
			if !errors.Is(err, ErrSecretMetadata) {
				t.Fatalf("checkMetadata(%q: %q): got error %v, want ErrSecretMetadata", key, value, err)
			}
		default:
			if err != nil {
				t.Fatalf("checkMetadata(%q: %q): got error %v, want nil", key, value, err)
			}
		}
		if err != nil && len(value) >= 8 && !strings.Contains(strconv.Quote(key), value) && strings.Contains(err.Error(), value) {
			t.Fatalf("error %q contains the value %q", err, value)
		}
		if err != nil && len(err.Error()) > 400 { // a 64-byte excerpt, escaped, plus the message
			t.Fatalf("error is %d bytes long, want a bounded message", len(err.Error()))
		}
	})
}

func FuzzAction(f *testing.F) {
	for _, seed := range []string{
		"auth.login.success", "a.b", "auth", "auth.", ".auth", "auth..x", "Auth.x", "auth.2fa", "auth.x2",
		"auth.log-in", "auth.lögin", "a." + strings.Repeat("b", 62), "a." + strings.Repeat("b", 63),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, action string) {
		err := checkAction(action)
		want := len(action) <= MaxActionLen && actionRule.MatchString(action)
		if (err == nil) != want {
			t.Fatalf("checkAction(%q): got error %v, want valid=%v", action, err, want)
		}
		if err != nil && !errors.Is(err, ErrInvalidAction) {
			t.Fatalf("checkAction(%q): got error %v, want ErrInvalidAction", action, err)
		}
	})
}

func FuzzClean(f *testing.F) {
	for _, seed := range []string{"Mozilla/5.0", "", "\xff\xfe", "a\x00b\r\n", strings.Repeat("€", 200), "\u0085x\u009f"} {
		f.Add(seed, 64)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 0 || limit > 4096 {
			return
		}
		got := clean(s, limit)
		if len(got) > limit || !utf8.ValidString(got) || strings.IndexFunc(got, unicode.IsControl) >= 0 {
			t.Fatalf("clean(%q, %d) = %q: want valid UTF-8 without controls, at most %d bytes", s, limit, got, limit)
		}
		if len(s) <= limit && utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0 && got != s {
			t.Fatalf("clean(%q, %d) = %q: want clean input unchanged", s, limit, got)
		}
		if valid := strings.ToValidUTF8(s, "\uFFFD"); len(got) > len(valid) {
			t.Fatalf("clean(%q, %d) = %q: longer than its repaired input %q", s, limit, got, valid)
		}
	})
}

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"short", `"short"`},
		{strings.Repeat("a", 64), `"` + strings.Repeat("a", 64) + `"`},
		{strings.Repeat("a", 65), `"` + strings.Repeat("a", 64) + `"...`},
		{strings.Repeat("a", 63) + "€€", `"` + strings.Repeat("a", 63) + `"...`},
	}
	for _, tt := range tests {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q): got %s, want %s", tt.in, got, tt.want)
		}
	}
}
