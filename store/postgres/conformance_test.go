package postgres_test

import (
	"testing"

	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/storetest"
)

// TestConformance runs the store conformance suite, each subtest on a
// fresh schema.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *postgres.DB { return openDB(t) })
}
