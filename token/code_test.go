package token

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"strconv"
	"testing"
)

// words returns a reader yielding the given 64-bit values big-endian, as
// uniform reads them.
func words(vs ...uint64) *bytes.Reader {
	b := make([]byte, 0, 8*len(vs))
	for _, v := range vs {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return bytes.NewReader(b)
}

// chiSquare returns Pearson's statistic for counts against a uniform
// expectation.
func chiSquare(counts []int, total int) float64 {
	exp := float64(total) / float64(len(counts))
	var x float64
	for _, c := range counts {
		d := float64(c) - exp
		x += d * d / exp
	}
	return x
}

// bucket maps v in [0, n) to one of k equal-width buckets: floor(v*k/n).
func bucket(v, n, k uint64) int {
	hi, lo := bits.Mul64(v, k)
	q, _ := bits.Div64(hi, lo, n)
	return int(q)
}

func TestUniformRejects(t *testing.T) {
	t.Parallel()
	const max = ^uint64(0)
	tests := []struct {
		name  string
		n     uint64
		draws []uint64
		want  uint64
	}{
		// 2^64 = 4*2^62, so for n = 3*2^62 the top quarter is rejected.
		{"top quarter rejected", 3 << 62, []uint64{max, 3 << 62, 5}, 5},
		{"just below limit accepted", 3 << 62, []uint64{3<<62 - 1}, 3<<62 - 1},
		// 2^64 mod 10 = 6: the six values at the top are rejected.
		{"decimal top rejected", 10, []uint64{max, max - 5, max - 6}, (max - 6) % 10},
		{"power of two never rejects", 1 << 10, []uint64{max}, max % (1 << 10)},
		{"n = 1", 1, []uint64{max}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := words(tt.draws...)
			got, err := uniform(r, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
			if r.Len() != 0 {
				t.Errorf("%d bytes left unread, want 0 (every draw but the last rejected)", r.Len())
			}
		})
	}
}

func TestUniformReaderError(t *testing.T) {
	t.Parallel()
	if _, err := uniform(failingReader{}, 10); !errors.Is(err, errRandom) {
		t.Errorf("got %v, want %v", err, errRandom)
	}
}

// TestUniformUnbiased draws from bounds where a plain modulo is heavily
// biased and checks that three equal-width ranges are hit equally often.
// With n = 3*2^62 a modulo of 64-bit draws lands in the lowest third twice
// as often as in the others; with n = 3*2^30 a modulo of 32-bit draws does
// the same. The threshold (60, for 2 degrees of freedom) is far beyond
// chance (p < 1e-13) yet far below the statistic of a biased draw (in the
// thousands), so the test neither flakes nor misses a bias.
func TestUniformUnbiased(t *testing.T) {
	t.Parallel()
	const samples = 30000
	for _, n := range []uint64{3 << 62, 3 << 30, 3 * 1e9, 1e10, 3} {
		t.Run(strconv.FormatUint(n, 10), func(t *testing.T) {
			t.Parallel()
			counts := make([]int, 3)
			for range samples {
				v, err := uniform(rand.Reader, n)
				if err != nil {
					t.Fatal(err)
				}
				if v >= n {
					t.Fatalf("uniform(%d) = %d, out of range", n, v)
				}
				counts[bucket(v, n, 3)]++
			}
			if x := chiSquare(counts, samples); x > 60 {
				t.Errorf("chi-square %.1f over buckets %v, want at most 60", x, counts)
			}
		})
	}
}

// TestChiSquareDetectsModuloBias checks that the statistic used above does
// reject a naive modulo draw, so TestUniformUnbiased can fail.
func TestChiSquareDetectsModuloBias(t *testing.T) {
	t.Parallel()
	const samples = 30000
	for _, tt := range []struct {
		n    uint64
		draw func() uint64
	}{
		{3 << 62, func() uint64 { var b [8]byte; rand.Read(b[:]); return binary.BigEndian.Uint64(b[:]) }},
		{3 << 30, func() uint64 { var b [4]byte; rand.Read(b[:]); return uint64(binary.BigEndian.Uint32(b[:])) }},
	} {
		counts := make([]int, 3)
		for range samples {
			counts[bucket(tt.draw()%tt.n, tt.n, 3)]++
		}
		if x := chiSquare(counts, samples); x <= 60 {
			t.Errorf("n=%d: naive modulo gave chi-square %.1f over %v, want > 60", tt.n, x, counts)
		}
	}
}

func TestNewCode(t *testing.T) {
	t.Parallel()
	for digits := MinDigits; digits <= MaxDigits; digits++ {
		for range 200 {
			c, err := NewCode(digits)
			if err != nil {
				t.Fatalf("NewCode(%d): %v", digits, err)
			}
			if got, err := NormalizeCode(c, digits); err != nil || got != c {
				t.Fatalf("NewCode(%d) = %q, which normalizes to %q, %v", digits, c, got, err)
			}
		}
	}
}

func TestNewCodeDigitsOutOfRange(t *testing.T) {
	t.Parallel()
	for _, digits := range []int{-1, 0, 1, 3, 11, 20} {
		if c, err := NewCode(digits); !errors.Is(err, ErrDigits) {
			t.Errorf("NewCode(%d) = %q, %v; want ErrDigits", digits, c, err)
		}
	}
}

func TestNewCodeFromReader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		digits int
		draw   uint64
		want   string
	}{
		{4, 0, "0000"},
		{4, 7, "0007"},
		{6, 42, "000042"},
		{6, 999999, "999999"},
		{6, 1000000, "000000"},
		{10, 9999999999, "9999999999"},
		{10, 1, "0000000001"},
	}
	for _, tt := range tests {
		got, err := newCode(words(tt.draw), tt.digits)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("newCode(%d) from %d = %q, want %q", tt.digits, tt.draw, got, tt.want)
		}
	}
	if _, err := newCode(failingReader{}, 6); !errors.Is(err, errRandom) {
		t.Errorf("newCode with failing reader: got %v, want %v", err, errRandom)
	}
}

// TestNewCodeDigitsUniform checks each digit position of 4-digit codes for
// uniformity (9 degrees of freedom; 80 is beyond p < 1e-12).
func TestNewCodeDigitsUniform(t *testing.T) {
	t.Parallel()
	const samples = 20000
	counts := make([][]int, 4)
	for i := range counts {
		counts[i] = make([]int, 10)
	}
	for range samples {
		c, err := NewCode(4)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			counts[i][c[i]-'0']++
		}
	}
	for i, cs := range counts {
		if x := chiSquare(cs, samples); x > 80 {
			t.Errorf("digit %d: chi-square %.1f over %v, want at most 80", i, x, cs)
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		digits int
		want   string
		err    error
	}{
		{"123456", 6, "123456", nil},
		{"123 456", 6, "123456", nil},
		{"123-456", 6, "123456", nil},
		{" 12 34-56\t", 6, "123456", nil},
		{"000000", 6, "000000", nil},
		{"0042", 4, "0042", nil},
		{"1234567890", 10, "1234567890", nil},
		{"12345", 6, "", ErrMalformed},
		{"1234567", 6, "", ErrMalformed},
		{"", 6, "", ErrMalformed},
		{"   ", 6, "", ErrMalformed},
		{"12345a", 6, "", ErrMalformed},
		{"12345O", 6, "", ErrMalformed},
		{"123.456", 6, "", ErrMalformed},
		{"123_456", 6, "", ErrMalformed},
		{"123456\n", 6, "", ErrMalformed},
		{"+123456", 6, "", ErrMalformed},
		{"１２３４５６", 6, "", ErrMalformed}, // full-width digits
		{"١٢٣٤٥٦", 6, "", ErrMalformed}, // Arabic-Indic digits
		{"123\u00a0456", 6, "", ErrMalformed},
		{"1\x00" + "23456", 6, "", ErrMalformed},
		{"123456" + string(make([]byte, 100)), 6, "", ErrMalformed},
		{"123", 3, "", ErrDigits},
		{"12345678901", 11, "", ErrDigits},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%d", tt.in, tt.digits), func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeCode(tt.in, tt.digits)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("got %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestCodeDigest(t *testing.T) {
	t.Parallel()
	base := CodeDigest("confirm_code", "user-1", "123456")
	if len(base) != DigestSize {
		t.Fatalf("len = %d, want %d", len(base), DigestSize)
	}
	if !bytes.Equal(base, CodeDigest("confirm_code", "user-1", "123456")) {
		t.Error("CodeDigest is not deterministic")
	}
	others := map[string][]byte{
		"other purpose":   CodeDigest("reset", "user-1", "123456"),
		"other user":      CodeDigest("confirm_code", "user-2", "123456"),
		"other code":      CodeDigest("confirm_code", "user-1", "123457"),
		"shifted fields":  CodeDigest("confirm_cod", "euser-1", "123456"),
		"shifted fields2": CodeDigest("confirm_code", "user-11", "23456"),
		"plain digest":    Digest("123456"),
		"recovery digest": RecoveryCodeDigest("user-1", "123456"),
	}
	for name, d := range others {
		if bytes.Equal(base, d) {
			t.Errorf("%s: digest equals the base digest %x", name, d)
		}
	}
}

func FuzzNormalizeCode(f *testing.F) {
	f.Add("123456", 6)
	f.Add("123 456", 6)
	f.Add("12-34", 4)
	f.Add("１２３４５６", 6)
	f.Add("", 0)
	f.Fuzz(func(t *testing.T, in string, digits int) {
		got, err := NormalizeCode(in, digits)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDigits) {
				t.Fatalf("NormalizeCode(%q, %d) error %v wraps neither ErrMalformed nor ErrDigits", in, digits, err)
			}
			return
		}
		if len(got) != digits {
			t.Fatalf("NormalizeCode(%q, %d) = %q, wrong length", in, digits, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < '0' || got[i] > '9' {
				t.Fatalf("NormalizeCode(%q, %d) = %q, not all digits", in, digits, got)
			}
		}
		if again, err := NormalizeCode(got, digits); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
	})
}

func BenchmarkNewCode(b *testing.B) {
	b.Run("NewCode6", func(b *testing.B) {
		for b.Loop() {
			if _, err := NewCode(6); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Baseline: crypto/rand.Int, the standard library's unbiased draw.
	b.Run("baseline/rand.Int+Sprintf", func(b *testing.B) {
		for b.Loop() {
			v, err := randInt(1e6)
			if err != nil {
				b.Fatal(err)
			}
			_ = fmt.Sprintf("%06d", v)
		}
	})
}

func randInt(n int64) (int64, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		return 0, err
	}
	return v.Int64(), nil
}
