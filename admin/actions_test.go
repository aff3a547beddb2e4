package admin_test

import (
	"slices"
	"testing"

	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/audit"
)

// TestAuditActions: a strict audit logger accepts every action of the
// package, each listed once.
func TestAuditActions(t *testing.T) {
	as := admin.AuditActions()
	if _, err := audit.New(audit.Config{Strict: true, Actions: as}); err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(as)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(as) || len(as) != 13 {
		t.Errorf("Actions: %q", as)
	}
}
