package postgres

import "testing"

// FuzzUserCursor: a users-list cursor comes back from clients; decoding
// never panics, and what it accepts encodes back to the same cursor.
func FuzzUserCursor(f *testing.F) {
	for _, s := range []string{"", "u", "uYWxpY2VAZXhhbXBsZS5jb20", "x", "u!!", encodeUserCursor("bob@example.com")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := decodeUserCursor(s)
		if err != nil {
			return
		}
		if got := encodeUserCursor(key); got != s {
			t.Fatalf("round trip of %q: got %q", s, got)
		}
	})
}
