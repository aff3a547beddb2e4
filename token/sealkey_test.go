package token_test

import (
	"testing"

	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/token"
)

func TestNewSealKey(t *testing.T) {
	k1, err := token.NewSealKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := token.NewSealKey("k2")
	if k1 == k2 {
		t.Fatal("two keys are equal")
	}
	ring, err := seal.ParseKeyring(k1 + "," + k2)
	if err != nil {
		t.Fatalf("generated keys do not parse: %v", err)
	}
	if ring.PrimaryID() != "k1" {
		t.Fatalf("primary: got %q", ring.PrimaryID())
	}
	for _, bad := range []string{"", "a:b", "a,b", "with space", "0123456789012345678901234567890123"} {
		if _, err := token.NewSealKey(bad); err == nil {
			t.Errorf("id %q accepted", bad)
		}
	}
}
