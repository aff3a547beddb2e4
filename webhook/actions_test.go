package webhook_test

import (
	"slices"
	"testing"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/webhook"
)

// TestActions: a strict audit logger accepts every action of the
// package, each listed once.
func TestActions(t *testing.T) {
	as := webhook.Actions()
	if _, err := audit.New(audit.Config{Strict: true, Actions: as}); err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(as)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(as) || len(as) != 1 {
		t.Errorf("Actions: %q", as)
	}
}
