package password

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/sigra-go/sigra"
)

func TestPolicyCheck(t *testing.T) {
	t.Parallel()
	service := Policy{ContextWords: []string{"Sigra"}}
	user := Context{Email: "Jane.Doe+news@example.com", Words: []string{"Janie"}}
	tests := []struct {
		name     string
		policy   Policy
		password string
		c        Context
		want     Reason // "" for accepted
		limit    int
	}{
		{"accepted", Policy{}, "violet tractor anthem", Context{}, "", 0},
		{"exactly 8", Policy{}, "vt9!qz2#", Context{}, "", 0},
		{"7 characters", Policy{}, "vt9!qz2", Context{}, ReasonTooShort, 8},
		{"empty", Policy{}, "", Context{}, ReasonTooShort, 8},
		{"15 required", Policy{MinLength: 15}, "violet tractor", Context{}, ReasonTooShort, 15},
		{"15 met", Policy{MinLength: 15}, "violet tractor!", Context{}, "", 0},
		{"multi-byte characters count once", Policy{}, "日本語のパスワ", Context{}, ReasonTooShort, 8},
		{"8 multi-byte characters", Policy{}, "日本語のパスワー", Context{}, "", 0},
		{"counted after normalization", Policy{}, "e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301", Context{}, ReasonTooShort, 8}, // 14 code points typed, 7 once composed
		{"64 characters accepted", Policy{MaxLength: 64}, strings.Repeat("ab", 32), Context{}, "", 0},
		{"over MaxLength", Policy{MaxLength: 64}, strings.Repeat("ab", 32) + "c", Context{}, ReasonTooLong, 64},
		{"256 characters accepted", Policy{}, strings.Repeat("abcd", 64), Context{}, "", 0},
		{"over default MaxLength", Policy{}, strings.Repeat("abcd", 64) + "e", Context{}, ReasonTooLong, 256},
		{"over MaxBytes", Policy{MaxLength: 1000, MaxBytes: 300}, strings.Repeat("é", 151), Context{}, ReasonTooLong, 1000},
		{"over MaxBytes once normalized", Policy{MaxLength: 1000, MaxBytes: 300}, strings.Repeat("\ufdfa", 20), Context{}, ReasonTooLong, 1000},
		{"64 four-byte characters accepted", Policy{MaxLength: 64, MaxBytes: 256}, strings.Repeat("🔑", 64), Context{}, "", 0},
		{"invalid UTF-8", Policy{}, "caf\xe9 au lait", Context{}, ReasonInvalidUTF8, 0},
		{"common", Policy{}, "password", Context{}, ReasonCommon, 0},
		{"common any case", Policy{}, "PassWord", Context{}, ReasonCommon, 0},
		{"common full-width", Policy{}, "ｐａｓｓｗｏｒｄ", Context{}, ReasonCommon, 0},
		{"common 12345678", Policy{}, "12345678", Context{}, ReasonCommon, 0},
		{"common qwertyuiop", Policy{}, "qwertyuiop", Context{}, ReasonCommon, 0},
		{"common iloveyou", Policy{}, "iloveyou", Context{}, ReasonCommon, 0},
		{"common sunshine", Policy{}, "Sunshine", Context{}, ReasonCommon, 0},
		{"common 1qaz2wsx", Policy{}, "1qaz2wsx", Context{}, ReasonCommon, 0},
		{"common football", Policy{}, "football", Context{}, ReasonCommon, 0},
		{"product name", service, "Sigra2024!", Context{}, ReasonContainsContext, 0},
		{"product name alone", Policy{MinLength: 8, ContextWords: []string{"ProductName"}}, "productname", Context{}, ReasonContainsContext, 0},
		{"product name repeated", service, "sigrasigrasigra", Context{}, ReasonContainsContext, 0},
		{"product name in a passphrase", service, "my sigra account is safe", Context{}, "", 0},
		{"email local part", service, "jane.doe+news", user, ReasonContainsContext, 0},
		{"email piece", service, "JaneJane!1", user, ReasonContainsContext, 0},
		{"email pieces joined", service, "janedoe-99", user, ReasonContainsContext, 0},
		{"email piece and product", service, "Doe!Sigra", user, ReasonContainsContext, 0},
		{"email pieces with a long rest", service, "jane and doe walk the dog", user, "", 0},
		{"caller word", service, "janie4ever", user, ReasonContainsContext, 0},
		{"caller word normalized", service, "ＪＡＮＩＥ4ever", user, ReasonContainsContext, 0},
		{"two-letter piece ignored", Policy{}, "jo-vt9!qz2#", Context{Email: "jo@example.com"}, "", 0},
		{"no email", service, "quiet lantern", Context{}, "", 0},
		{"email without @", service, "jane.doe2024", Context{Email: "jane.doe"}, ReasonContainsContext, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.policy.Check(context.Background(), tt.password, tt.c)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check: got %v, want nil", err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Check: got %v, want a *PolicyError %s", err, tt.want)
			}
			if pe.Reason != tt.want || pe.Limit != tt.limit || pe.Message == "" {
				t.Errorf("Check: got reason %s, limit %d, message %q; want reason %s, limit %d and a message", pe.Reason, pe.Limit, pe.Message, tt.want, tt.limit)
			}
			// The error is built from the reason and message only, never
			// from the password.
			if want := "sigra/password: password refused (" + string(tt.want) + "): " + pe.Message; err.Error() != want {
				t.Errorf("Error(): got %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestPolicyInvalid(t *testing.T) {
	t.Parallel()
	for _, p := range []Policy{
		{MinLength: 7},
		{MinLength: -1},
		{MaxLength: 63},
		{MinLength: 100, MaxLength: 99},
		{MaxBytes: 255},
	} {
		err := p.Check(context.Background(), "violet tractor anthem", Context{})
		if !errors.Is(err, sigra.ErrConfig) {
			t.Errorf("%+v.Check: got %v, want sigra.ErrConfig", p, err)
		}
	}
}

func TestHasherCheckUsesPolicy(t *testing.T) {
	t.Parallel()
	h := newHasher(t, Config{Policy: Policy{MinLength: 15}})
	var pe *PolicyError
	if err := h.Check(context.Background(), "violet tractor", Context{}); !errors.As(err, &pe) || pe.Reason != ReasonTooShort || pe.Limit != 15 {
		t.Errorf("Check with MinLength 15: got %v, want too_short with limit 15", err)
	}
	if err := h.Check(context.Background(), "violet tractor anthem", Context{}); err != nil {
		t.Errorf("Check: got %v, want nil", err)
	}
}

// TestBlocklistFile checks the embedded list: the size the package
// documents, sorted and unique (binary search depends on it), folded as
// Check folds passwords, no entry shorter than the smallest MinLength, and
// every entry found by the lookup.
func TestBlocklistFile(t *testing.T) {
	t.Parallel()
	if !strings.HasSuffix(commonPasswords, "\n") {
		t.Fatal("common-passwords.txt does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")
	if len(lines) != 17950 {
		t.Errorf("entries: got %d, want 17950 (the count in doc.go)", len(lines))
	}
	for i, l := range lines {
		if i > 0 && lines[i-1] >= l {
			t.Fatalf("line %d %q is not after %q: list not sorted and unique", i+1, l, lines[i-1])
		}
		if fold(l) != l || strings.TrimSpace(l) != l || l == "" {
			t.Errorf("line %d %q is not folded (NFKC, lower case, trimmed)", i+1, l)
		}
		if utf8.RuneCountInString(l) < DefaultMinLength {
			t.Errorf("line %d %q is shorter than %d characters", i+1, l, DefaultMinLength)
		}
		if !isCommon(l) {
			t.Errorf("isCommon(%q): got false for an entry of the list", l)
		}
		for _, near := range []string{l + "\x00", l[:len(l)-1], l + "~"} {
			if isCommon(near) && !contains(lines, near) {
				t.Errorf("isCommon(%q): got true for a string not in the list", near)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func TestSortedLinesContain(t *testing.T) {
	t.Parallel()
	list := "b\nd\nf\nhh\n"
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"a", false}, {"b", true}, {"c", false}, {"d", true}, {"e", false}, {"f", true},
		{"g", false}, {"h", false}, {"hh", true}, {"hhh", false}, {"z", false}, {"", false},
	} {
		if got := sortedLinesContain(list, tt.s); got != tt.want {
			t.Errorf("sortedLinesContain(%q): got %v, want %v", tt.s, got, tt.want)
		}
	}
	if sortedLinesContain("", "a") {
		t.Error("empty list contains \"a\"")
	}
	if !sortedLinesContain("a\nb", "b") {
		t.Error("last line without a newline not found")
	}
}

// FuzzPolicyCheck checks that Check never panics and that its answer is
// consistent with its rules: invalid UTF-8 is always refused as such, and an
// accepted password has a length within bounds and is not in the
// blocklist.
func FuzzPolicyCheck(f *testing.F) {
	for _, s := range []string{"password", "violet tractor anthem", "caf\xe9", "e\u0301", "\ufdfa", "jane.doe+x", "Sigra2024!", ""} {
		f.Add(s, "jane.doe@example.com")
	}
	p := Policy{ContextWords: []string{"Sigra"}}
	f.Fuzz(func(t *testing.T, password, email string) {
		err := p.Check(context.Background(), password, Context{Email: email})
		var pe *PolicyError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("Check(%q): got %v, want nil or a *PolicyError", password, err)
		}
		if !utf8.ValidString(password) && len(password) <= DefaultMaxBytes {
			if pe == nil || pe.Reason != ReasonInvalidUTF8 {
				t.Fatalf("Check(%q): got %v, want invalid_utf8", password, err)
			}
		}
		if err == nil {
			n := norm.NFKC.String(password)
			if c := utf8.RuneCountInString(n); c < DefaultMinLength || c > DefaultMaxLength {
				t.Fatalf("Check(%q) accepted %d characters", password, c)
			}
			if isCommon(fold(password)) {
				t.Fatalf("Check(%q) accepted a common password", password)
			}
		}
	})
}
