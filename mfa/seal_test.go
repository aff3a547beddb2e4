package mfa_test

import (
	"errors"
	"testing"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mfa"
)

// SealSecret and OpenSecret round-trip a secret for its user only, and
// refuse unusable keys as a configuration error.
func TestSealSecret(t *testing.T) {
	t.Parallel()
	keys := apptest.NewKey("k1")
	sealed, err := mfa.SealSecret(keys, "user-1", "JBSWY3DPEHPK3PXP")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := mfa.OpenSecret(keys, "user-1", sealed); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("OpenSecret: got %q, %v", got, err)
	}
	if _, err := mfa.OpenSecret(keys, "user-2", sealed); err == nil {
		t.Fatal("OpenSecret for another user: got the secret, want an error")
	}
	if _, err := mfa.OpenSecret(apptest.NewKey("k1"), "user-1", sealed); err == nil {
		t.Fatal("OpenSecret with other keys: got the secret, want an error")
	}
	if _, err := mfa.SealSecret("not a keyring", "user-1", "JBSWY3DPEHPK3PXP"); !errors.Is(err, sigra.ErrConfig) {
		t.Fatalf("SealSecret with bad keys: got %v, want ErrConfig", err)
	}
}
