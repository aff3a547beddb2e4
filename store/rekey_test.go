package store

import (
	"strings"
	"testing"
)

// FuzzRekeyTempKey checks what the two-step update of a rekeying relies
// on: no address has a key, of either version, that is a temporary key,
// and the temporary keys of two rows differ.
func FuzzRekeyTempKey(f *testing.F) {
	for _, s := range []string{
		"a user@example.com",
		"\u2126@example.com",
		"\u2126rekey u-1",
		"\u2126REKEY U-1",
		" \u2126rekey u-1 ",
		"\u200B\u2126rekey u-1",
		"\u03A9rekey u-1",
		"\uFF37@example.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, key := range map[string]string{
			"NormalizeEmail": NormalizeEmail(s),
			"LegacyEmailKey": LegacyEmailKey(s),
		} {
			if strings.Contains(key, "\u2126") {
				t.Errorf("%s(%q) = %q: got U+2126 in a key, want none", name, s, key)
			}
		}
		if !strings.HasPrefix(rekeyTempKey(s), "\u2126") {
			t.Errorf("rekeyTempKey(%q) = %q: want it to start with U+2126", s, rekeyTempKey(s))
		}
		if other := s + "x"; rekeyTempKey(s) == rekeyTempKey(other) {
			t.Errorf("rekeyTempKey(%q) = rekeyTempKey(%q) = %q, want them to differ", s, other, rekeyTempKey(s))
		}
	})
}

// TestRekeyBatchMustBePositive: a batch size below 1 panics rather than
// loop on batches of no rows.
func TestRekeyBatchMustBePositive(t *testing.T) {
	for _, batch := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("checkBatch(%d): got no panic, want one", batch)
				}
			}()
			checkBatch(batch)
		}()
	}
	checkBatch(1) // does not panic
}
