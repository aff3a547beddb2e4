package token

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// failingReader fails every read.
type failingReader struct{}

var errRandom = errors.New("random source failed")

func (failingReader) Read([]byte) (int, error) { return 0, errRandom }

func TestNew(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	for range 1000 {
		tok, err := New()
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if len(tok) != Len {
			t.Fatalf("len(%q) = %d, want %d", tok, len(tok), Len)
		}
		if !Valid(tok) {
			t.Fatalf("Valid(%q) = false, want true", tok)
		}
		raw, err := Parse(tok)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tok, err)
		}
		if got := base64.RawURLEncoding.EncodeToString(raw); got != tok {
			t.Fatalf("re-encoded %q, want %q", got, tok)
		}
		if seen[tok] {
			t.Fatalf("New returned %q twice", tok)
		}
		seen[tok] = true
	}
}

func TestNewEncodesReaderBytes(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte{0xfb}, Size)
	tok, err := newToken(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.RawURLEncoding.EncodeToString(raw); tok != want {
		t.Errorf("got %q, want %q", tok, want)
	}
}

func TestNewReaderError(t *testing.T) {
	t.Parallel()
	if _, err := newToken(failingReader{}); !errors.Is(err, errRandom) {
		t.Errorf("newToken with failing reader: got %v, want %v", err, errRandom)
	}
	if _, err := newToken(bytes.NewReader(make([]byte, Size-1))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("newToken with short reader: got %v, want %v", err, io.ErrUnexpectedEOF)
	}
}

func TestValid(t *testing.T) {
	t.Parallel()
	good := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"zero bytes", good, true},
		{"all alphabet", "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE", true},
		{"last char low bits zero", good[:42] + "w", true},
		{"empty", "", false},
		{"one short", good[:42], false},
		{"one long", good + "A", false},
		{"padded", good + "=", false},
		{"std alphabet plus", good[:10] + "+" + good[11:], false},
		{"std alphabet slash", good[:10] + "/" + good[11:], false},
		{"space", good[:10] + " " + good[11:], false},
		{"newline inside", good[:10] + "\n" + good[11:], false},
		{"newline at end", good[:42] + "\n", false},
		{"dot", good[:42] + ".", false},
		{"non-ASCII", good[:41] + "é", false},
		{"NUL", good[:42] + "\x00", false},
		{"last char low bits set", good[:42] + "B", false},
		{"last char low bits set 2", good[:42] + "_", false},
		{"percent-encoded", good[:40] + "%2D", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Valid(tt.in); got != tt.want {
				t.Errorf("Valid(%q) = %v, want %v", tt.in, got, tt.want)
			}
			raw, err := Parse(tt.in)
			if tt.want {
				if err != nil || len(raw) != Size {
					t.Errorf("Parse(%q) = %d bytes, %v; want %d bytes, nil", tt.in, len(raw), err, Size)
				}
			} else if !errors.Is(err, ErrMalformed) || raw != nil {
				t.Errorf("Parse(%q) = %x, %v; want nil, ErrMalformed", tt.in, raw, err)
			}
		})
	}
}

// TestValidAgreesWithStrictDecoder checks every possible last character
// against the standard library's strict decoder.
func TestValidAgreesWithStrictDecoder(t *testing.T) {
	t.Parallel()
	prefix := strings.Repeat("x", Len-1)
	for c := 0; c < 256; c++ {
		s := prefix + string([]byte{byte(c)})
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		want := err == nil && len(b) == Size
		if got := Valid(s); got != want {
			t.Errorf("Valid(...%q) = %v, want %v (strict decoder)", byte(c), got, want)
		}
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	// FIPS 180-2 test vector.
	want, _ := hex.DecodeString("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
	if got := Digest("abc"); !bytes.Equal(got, want) {
		t.Errorf("Digest(abc) = %x, want %x", got, want)
	}
	tok, _ := New()
	sum := sha256.Sum256([]byte(tok))
	if got := Digest(tok); len(got) != DigestSize || !bytes.Equal(got, sum[:]) {
		t.Errorf("Digest(%q) = %x, want %x", tok, got, sum)
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
		{"ab", "abc", false},
		{"", "a", false},
	}
	for _, tt := range tests {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestEqualDigest(t *testing.T) {
	t.Parallel()
	a, b := Digest("a"), Digest("b")
	tests := []struct {
		name string
		x, y []byte
		want bool
	}{
		{"same", a, Digest("a"), true},
		{"different", a, b, false},
		{"prefix", a, a[:16], false},
		{"both empty", nil, []byte{}, false},
		{"one empty", a, nil, false},
	}
	for _, tt := range tests {
		if got := EqualDigest(tt.x, tt.y); got != tt.want {
			t.Errorf("%s: EqualDigest = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nA")
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := Parse(s)
		if valid := Valid(s); valid != (err == nil) {
			t.Fatalf("Valid(%q) = %v but Parse error = %v", s, valid, err)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrMalformed", s, err)
			}
			return
		}
		// Accepted tokens have exactly one spelling.
		if len(raw) != Size {
			t.Fatalf("Parse(%q) returned %d bytes, want %d", s, len(raw), Size)
		}
		if got := base64.RawURLEncoding.EncodeToString(raw); got != s {
			t.Fatalf("Parse(%q) re-encodes to %q", s, got)
		}
	})
}

func BenchmarkNew(b *testing.B) {
	b.Run("New", func(b *testing.B) {
		for b.Loop() {
			if _, err := New(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Baseline: the same random bytes and encoding without the wrapper.
	b.Run("baseline/rand.Read+encode", func(b *testing.B) {
		var raw [Size]byte
		for b.Loop() {
			rand.Read(raw[:])
			_ = base64.RawURLEncoding.EncodeToString(raw[:])
		}
	})
}

func BenchmarkValid(b *testing.B) {
	tok, _ := New()
	b.Run("Valid", func(b *testing.B) {
		for b.Loop() {
			if !Valid(tok) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("baseline/strict-decode", func(b *testing.B) {
		enc := base64.RawURLEncoding.Strict()
		for b.Loop() {
			if _, err := enc.DecodeString(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
