package passkey_test

import (
	"slices"
	"testing"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/passkey"
)

// TestActions: a strict audit logger accepts every action of the
// package, each listed once, and the catalogue lists none of them.
func TestActions(t *testing.T) {
	as := passkey.Actions()
	if _, err := audit.New(audit.Config{Strict: true, Actions: as}); err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(as)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(as) || len(as) != 6 {
		t.Errorf("Actions: %q", as)
	}
	want := []string{"passkey.add", "passkey.add.failure", "passkey.rename", "passkey.remove", "security.passkey_clone", "passkey.backup_state"}
	if !slices.Equal(as, want) {
		t.Errorf("Actions: got %q, want %q", as, want)
	}
	for _, a := range audit.Actions() {
		if slices.Contains(as, a) {
			t.Errorf("audit.Actions() lists %q, an action of package passkey", a)
		}
	}
}
