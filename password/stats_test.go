package password

import (
	"context"
	"testing"
)

// TestStats: each kind of computation is counted, one per derivation.
func TestStats(t *testing.T) {
	h := newHasher(t, Config{})
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Verify(ctx, "correct horse battery", enc); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Verify(ctx, "wrong", enc); err != nil {
		t.Fatal(err)
	}
	if err := h.DummyVerify(ctx, "anything"); err != nil {
		t.Fatal(err)
	}
	// Nothing to derive: an empty password is refused without hashing.
	if _, _, err := h.Verify(ctx, "", enc); err != nil {
		t.Fatal(err)
	}
	if got, want := h.Stats(), (Stats{Hashes: 1, Verifications: 2, Dummies: 1}); got != want {
		t.Errorf("Stats: got %+v, want %+v", got, want)
	}
}
