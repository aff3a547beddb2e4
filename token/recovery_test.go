package token

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestNewRecoveryCode(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	counts := make(map[byte]int)
	const samples = 4000
	for range samples {
		c, err := NewRecoveryCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != RecoveryCodeLen || c[4] != '-' {
			t.Fatalf("NewRecoveryCode() = %q, want XXXX-XXXX", c)
		}
		for i := 0; i < len(c); i++ {
			if i == 4 {
				continue
			}
			if !strings.ContainsRune(recoveryAlphabet, rune(c[i])) {
				t.Fatalf("NewRecoveryCode() = %q, %q not in alphabet", c, c[i])
			}
			counts[c[i]]++
		}
		if got, err := NormalizeRecoveryCode(c); err != nil || got != c {
			t.Fatalf("NormalizeRecoveryCode(%q) = %q, %v; want it unchanged", c, got, err)
		}
		if seen[c] {
			t.Fatalf("NewRecoveryCode returned %q twice", c)
		}
		seen[c] = true
	}
	// Every character of the alphabet is used, and evenly (30 degrees of
	// freedom; 120 is beyond p < 1e-11).
	cs := make([]int, 0, len(recoveryAlphabet))
	for i := 0; i < len(recoveryAlphabet); i++ {
		cs = append(cs, counts[recoveryAlphabet[i]])
	}
	if x := chiSquare(cs, samples*8); x > 120 {
		t.Errorf("chi-square %.1f over %v, want at most 120", x, cs)
	}
}

func TestRecoveryAlphabet(t *testing.T) {
	t.Parallel()
	if len(recoveryAlphabet) != 31 {
		t.Errorf("alphabet has %d characters, want 31", len(recoveryAlphabet))
	}
	if strings.ContainsAny(recoveryAlphabet, "0O1IL") {
		t.Errorf("alphabet %q contains an ambiguous character", recoveryAlphabet)
	}
	for c := 0; c < 256; c++ {
		if got, want := isRecoveryChar(byte(c)), strings.IndexByte(recoveryAlphabet, byte(c)) >= 0; got != want {
			t.Errorf("isRecoveryChar(%q) = %v, want %v", byte(c), got, want)
		}
	}
}

func TestNewRecoveryCodeFromReader(t *testing.T) {
	t.Parallel()
	const n = 852891037441 // 31^8
	tests := []struct {
		draw uint64
		want string
	}{
		{0, "2222-2222"},
		{1, "2222-2223"},
		{30, "2222-222Z"},
		{31, "2222-2232"},
		{n - 1, "ZZZZ-ZZZZ"},
	}
	for _, tt := range tests {
		got, err := newRecoveryCode(words(tt.draw))
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("from %d: got %q, want %q", tt.draw, got, tt.want)
		}
	}
	if _, err := newRecoveryCode(failingReader{}); !errors.Is(err, errRandom) {
		t.Errorf("failing reader: got %v, want %v", err, errRandom)
	}
}

func TestNormalizeRecoveryCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{"7KQM-X4RD", "7KQM-X4RD"},
		{"7kqm-x4rd", "7KQM-X4RD"},
		{"7KQMX4RD", "7KQM-X4RD"},
		{" 7kq m x4-rd ", "7KQM-X4RD"},
		{"7KQM--X4RD", "7KQM-X4RD"},
		{"7-K-Q-M-X-4-R-D", "7KQM-X4RD"},
		{"\t7KQM X4RD\t", "7KQM-X4RD"},
		{"ZZZZ-2222", "ZZZZ-2222"},
		// Refused: ambiguous characters are not guessed at.
		{"7KQM-X4R0", ""},
		{"7KQM-X4RO", ""},
		{"7KQM-X4Ro", ""},
		{"7KQM-X4R1", ""},
		{"7KQM-X4RI", ""},
		{"7KQM-X4Ri", ""},
		{"7KQM-X4RL", ""},
		{"7KQM-X4Rl", ""},
		// Refused: wrong length or other characters.
		{"", ""},
		{"7KQM-X4R", ""},
		{"7KQM-X4RDD", ""},
		{"7KQM_X4RD", ""},
		{"7KQM.X4RD", ""},
		{"7KQM-X4RD\n", ""},
		{"7KQM-X4RÉ", ""},
		{"7KQM\u00a0X4RD", ""},
		{"7KQM-X4RD" + strings.Repeat(" ", 100), ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeRecoveryCode(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrMalformed) || got != "" {
					t.Errorf("got %q, %v; want \"\", ErrMalformed", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q, nil", got, err, tt.want)
			}
		})
	}
}

func TestRecoveryCodeDigest(t *testing.T) {
	t.Parallel()
	a := RecoveryCodeDigest("user-1", "7KQM-X4RD")
	if len(a) != DigestSize {
		t.Fatalf("len = %d, want %d", len(a), DigestSize)
	}
	if !bytes.Equal(a, RecoveryCodeDigest("user-1", "7KQM-X4RD")) {
		t.Error("not deterministic")
	}
	for name, d := range map[string][]byte{
		"other user":   RecoveryCodeDigest("user-2", "7KQM-X4RD"),
		"other code":   RecoveryCodeDigest("user-1", "7KQM-X4RF"),
		"plain digest": Digest("7KQM-X4RD"),
		"code digest":  CodeDigest("recovery", "user-1", "7KQM-X4RD"),
	} {
		if bytes.Equal(a, d) {
			t.Errorf("%s: digest equals %x", name, a)
		}
	}
}

func FuzzNormalizeRecoveryCode(f *testing.F) {
	f.Add("7KQM-X4RD")
	f.Add("7kqm x4rd")
	f.Add("0OIL-1234")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeRecoveryCode(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(got) != RecoveryCodeLen || got[4] != '-' {
			t.Fatalf("NormalizeRecoveryCode(%q) = %q, not XXXX-XXXX", in, got)
		}
		for i := 0; i < len(got); i++ {
			if i != 4 && !isRecoveryChar(got[i]) {
				t.Fatalf("NormalizeRecoveryCode(%q) = %q, %q not in alphabet", in, got, got[i])
			}
		}
		// The output is the input's code characters, upper-cased, in order.
		var stripped strings.Builder
		for _, r := range strings.ToUpper(in) {
			if r != ' ' && r != '\t' && r != '-' {
				stripped.WriteRune(r)
			}
		}
		if want := strings.Replace(got, "-", "", 1); stripped.String() != want {
			t.Fatalf("NormalizeRecoveryCode(%q) = %q, want the characters %q", in, got, stripped.String())
		}
		if again, err := NormalizeRecoveryCode(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
	})
}
