package kernel

import (
	"errors"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/store"
)

// TestEmailProblem: ParseEmail refuses what store.CheckEmail refuses, and
// EmailProblem says why in words fit for the form field.
func TestEmailProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, addr string
		problem  string // "" when accepted; a prefix of the message otherwise
	}{
		{"kim@example.com", "kim@example.com", ""},
		{"  Kim@Example.com ", "Kim@Example.com", ""},
		{"élise@example.com", "élise@example.com", ""},
		{"e\u0301lise@example.com", "e\u0301lise@example.com", ""}, // kept as entered
		{"иван@пример.рф", "иван@пример.рф", ""},
		{"kim@bücher.de", "kim@bücher.de", ""},
		{"yamada.たろう@example.jp", "yamada.たろう@example.jp", ""},
		{"", "", InvalidEmailMessage},
		{"kim", "", InvalidEmailMessage},
		{"kim@localhost", "", InvalidEmailMessage},
		{"Kim <kim@example.com>", "", InvalidEmailMessage},
		{"kim＠example.com", "", InvalidEmailMessage},
		{"\u212Aim@example.com", "", "The address contains a character that only looks like an ordinary one"},
		{"ｋｉｍ@example.com", "", "The address contains a character that only looks like an ordinary one"},
		{"kim@ｅｘａｍｐｌｅ.com", "", "The address contains a character that only looks like an ordinary one"},
		{"k\u200Bim@example.com", "", "The address contains a character that is not allowed"},
		{"кim@example.com", "", "The part before @ mixes letters of different alphabets (Cyrillic and Latin)."},
		{"pаypal@example.com", "", "The part before @ mixes letters of different alphabets"},
		{"ΑΒc@example.com", "", "The part before @ mixes letters of different alphabets (Greek and Latin)."},
		{"kim@exаmple.com", "", "The part after @ mixes letters of different alphabets"},
		{"kim@exa_mple.com", "", "The part after @ is not a valid domain name."},
		{"kim@[192.0.2.1]", "", "The part after @ is not a valid domain name."},
		{"kim@xn--zz.example", "", "The part after @ is not a valid domain name."},
	}
	for _, tt := range tests {
		addr, ok := ParseEmail(tt.in)
		problem := EmailProblem(tt.in)
		if addr != tt.addr || ok != (tt.problem == "") {
			t.Errorf("ParseEmail(%q): got (%q, %v), want (%q, %v)", tt.in, addr, ok, tt.addr, tt.problem == "")
		}
		if tt.problem == "" && problem != "" || !strings.HasPrefix(problem, tt.problem) {
			t.Errorf("EmailProblem(%q): got %q, want %q", tt.in, problem, tt.problem)
		}
	}
}

// FuzzEmailProblem: ParseEmail accepts exactly what EmailProblem finds no
// problem with, and an accepted address passes store.CheckEmail; a refused
// one has a message.
func FuzzEmailProblem(f *testing.F) {
	for _, s := range []string{"kim@example.com", "\u212Aim@example.com", "кim@example.com", "kim@bücher.de", "a@[1.2.3.4]", " kim@example.com", "\"a b\"@example.com", "a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addr, ok := ParseEmail(s)
		problem := EmailProblem(s)
		if ok != (problem == "") {
			t.Fatalf("%q: ParseEmail says %v, EmailProblem says %q", s, ok, problem)
		}
		if !ok {
			return
		}
		if err := store.CheckEmail(addr); err != nil {
			t.Fatalf("ParseEmail(%q) accepted %q, which CheckEmail refuses: %v", s, addr, err)
		}
		if err := store.CheckEmail(s); err != nil && !errors.Is(err, store.ErrEmailRefused) {
			t.Fatalf("CheckEmail(%q): %v does not wrap ErrEmailRefused", s, err)
		}
	})
}
