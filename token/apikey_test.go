package token

import (
	"bytes"
	"errors"
	"hash/crc32"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// keyPattern is the regular expression from the package documentation.
var keyPattern = regexp.MustCompile(`\b[a-z]{2,10}_[0-9A-Za-z]{43}_[0-9A-Za-z]{6}\b`)

// independentChecksum computes the checksum with math/big, whose base-62
// digits are 0-9a-zA-Z; swapping the letter case gives this package's
// 0-9A-Za-z.
func independentChecksum(random string) string {
	s := new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(random)))).Text(62)
	s = strings.Repeat("0", APIKeyChecksumLen-len(s)) + s
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, s)
}

func TestNewAPIKey(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	for range 500 {
		key, err := NewAPIKey("sigra")
		if err != nil {
			t.Fatal(err)
		}
		if want := len("sigra") + 2 + APIKeyRandomLen + APIKeyChecksumLen; len(key) != want {
			t.Fatalf("len(%q) = %d, want %d", key, len(key), want)
		}
		if m := keyPattern.FindString("key=" + key + ";"); m != key {
			t.Fatalf("documented pattern finds %q in %q", m, key)
		}
		random, sum := key[6:6+APIKeyRandomLen], key[len(key)-APIKeyChecksumLen:]
		if want := independentChecksum(random); sum != want {
			t.Fatalf("key %q has checksum %q, want %q", key, sum, want)
		}
		prefix, err := ParseAPIKey(key)
		if err != nil || prefix != "sigra" {
			t.Fatalf("ParseAPIKey(%q) = %q, %v; want sigra, nil", key, prefix, err)
		}
		if seen[key] {
			t.Fatalf("NewAPIKey returned %q twice", key)
		}
		seen[key] = true
	}
}

func TestNewAPIKeyFromReader(t *testing.T) {
	t.Parallel()
	// Bytes at or above 248 are skipped; 0..61 map to the alphabet in order.
	raw := make([]byte, 0, 128)
	for i := range 64 {
		raw = append(raw, 255, byte(i%62))
	}
	key, err := newAPIKey(bytes.NewReader(raw), "ab")
	if err != nil {
		t.Fatal(err)
	}
	random := base62[:APIKeyRandomLen]
	if want := "ab_" + random + "_" + independentChecksum(random); key != want {
		t.Errorf("got %q, want %q", key, want)
	}
	if _, err := newAPIKey(failingReader{}, "ab"); !errors.Is(err, errRandom) {
		t.Errorf("failing reader: got %v, want %v", err, errRandom)
	}
}

func TestNewAPIKeyPrefix(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"ab", "sigra", "abcdefghij"} {
		if _, err := NewAPIKey(p); err != nil {
			t.Errorf("NewAPIKey(%q): %v", p, err)
		}
	}
	for _, p := range []string{"", "a", "abcdefghijk", "Sigra", "sig_ra", "sig1", "sig-ra", "sïgra", "sigra "} {
		if key, err := NewAPIKey(p); !errors.Is(err, ErrPrefix) {
			t.Errorf("NewAPIKey(%q) = %q, %v; want ErrPrefix", p, key, err)
		}
	}
}

func TestParseAPIKey(t *testing.T) {
	t.Parallel()
	key, err := NewAPIKey("sigra")
	if err != nil {
		t.Fatal(err)
	}
	random, sum := key[6:6+APIKeyRandomLen], key[len(key)-APIKeyChecksumLen:]
	// flip changes one character of s at i to another base62 character.
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	tests := []struct {
		name     string
		key      string
		checksum bool // the error also wraps ErrChecksum
	}{
		{"empty", "", false},
		{"no separators", strings.ReplaceAll(key, "_", ""), false},
		{"upper-case prefix", "SIGRA" + key[5:], false},
		{"short prefix", "s" + key[5:], false},
		{"long prefix", "abcdefghijk" + key[5:], false},
		{"missing checksum", key[:len(key)-APIKeyChecksumLen-1], false},
		{"short checksum", key[:len(key)-1], false},
		{"long checksum", key + "0", false},
		{"short random", "sigra_" + random[1:] + "_" + sum, false},
		{"bad char in random", "sigra_" + random[:5] + "-" + random[6:] + "_" + sum, false},
		{"bad char in checksum", "sigra_" + random + "_" + sum[:5] + "+", false},
		{"space", " " + key, false},
		{"trailing newline", key + "\n", false},
		{"three underscores", "sigra_" + random + "__" + sum[1:], false},
		{"changed random", "sigra_" + flip(random, 20) + "_" + sum, true},
		{"changed first random", "sigra_" + flip(random, 0) + "_" + sum, true},
		{"changed checksum", "sigra_" + random + "_" + flip(sum, 5), true},
		{"swapped halves", "sigra_" + random[22:] + random[:22] + "_" + sum, true},
		{"very long", key + strings.Repeat("a", 1000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prefix, err := ParseAPIKey(tt.key)
			if !errors.Is(err, ErrMalformed) || prefix != "" {
				t.Fatalf("ParseAPIKey(%q) = %q, %v; want \"\", ErrMalformed", tt.key, prefix, err)
			}
			if got := errors.Is(err, ErrChecksum); got != tt.checksum {
				t.Errorf("errors.Is(%v, ErrChecksum) = %v, want %v", err, got, tt.checksum)
			}
		})
	}
	// Another prefix parses and is returned.
	other, _ := NewAPIKey("acme")
	if p, err := ParseAPIKey(other); err != nil || p != "acme" {
		t.Errorf("ParseAPIKey(%q) = %q, %v; want acme, nil", other, p, err)
	}
}

// TestParseAPIKeyDetectsEverySingleChange checks that the CRC catches every
// single-character substitution in the random part of one key.
func TestParseAPIKeyDetectsEverySingleChange(t *testing.T) {
	t.Parallel()
	key, _ := NewAPIKey("sigra")
	for i := len("sigra_"); i < len("sigra_")+APIKeyRandomLen; i++ {
		for j := 0; j < len(base62); j++ {
			if base62[j] == key[i] {
				continue
			}
			changed := key[:i] + string(base62[j]) + key[i+1:]
			if _, err := ParseAPIKey(changed); !errors.Is(err, ErrChecksum) {
				t.Fatalf("ParseAPIKey(%q): got %v, want ErrChecksum", changed, err)
			}
		}
	}
}

func TestAPIKeyDigest(t *testing.T) {
	t.Parallel()
	a, _ := NewAPIKey("sigra")
	b, _ := NewAPIKey("sigra")
	if !bytes.Equal(APIKeyDigest(a), Digest(a)) || len(APIKeyDigest(a)) != DigestSize {
		t.Errorf("APIKeyDigest(%q) = %x, want the SHA-256 of the key", a, APIKeyDigest(a))
	}
	if bytes.Equal(APIKeyDigest(a), APIKeyDigest(b)) {
		t.Error("two keys share a digest")
	}
}

func FuzzParseAPIKey(f *testing.F) {
	valid := "ab_" + strings.Repeat("A", APIKeyRandomLen) + "_" + independentChecksum(strings.Repeat("A", APIKeyRandomLen))
	f.Add(valid)
	f.Add("sigra_" + strings.Repeat("z", APIKeyRandomLen) + "_000000")
	f.Add("")
	f.Add("__")
	f.Fuzz(func(t *testing.T, key string) {
		prefix, err := ParseAPIKey(key)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || prefix != "" {
				t.Fatalf("ParseAPIKey(%q) = %q, %v", key, prefix, err)
			}
			return
		}
		// Accepted keys match the documented pattern whole and carry the
		// checksum an independent implementation computes.
		if m := keyPattern.FindString(key); m != key {
			t.Fatalf("accepted %q, which the documented pattern does not match", key)
		}
		if !validPrefix(prefix) || !strings.HasPrefix(key, prefix+"_") {
			t.Fatalf("ParseAPIKey(%q) returned prefix %q", key, prefix)
		}
		random := key[len(prefix)+1 : len(prefix)+1+APIKeyRandomLen]
		if want := independentChecksum(random); !strings.HasSuffix(key, "_"+want) {
			t.Fatalf("accepted %q, want checksum %q", key, want)
		}
	})
}
