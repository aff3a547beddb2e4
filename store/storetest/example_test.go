package storetest_test

import (
	"path/filepath"
	"testing"

	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/store/storetest"
)

// hostStore is the store of a host application that uses only the account
// feature: it keeps users, sessions, tokens, limiter counters, outgoing
// email and the audit log, and runs transactions, but keeps no second
// factors. It also reads outbox messages back by ID (storetest's optional
// MessageReader), so the suite can check that sent mail is erased.
type hostStore interface {
	store.Users
	store.Sessions
	store.Tokens
	store.Limiter
	store.Outbox
	store.AuditLog
	store.Transactor
	storetest.MessageReader
}

// openHostStore returns a fresh, empty store for one subtest. The SQLite
// adapter stands in here for the host's own implementation.
func openHostStore(t *testing.T) hostStore {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "host.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A host whose store implements only some of package store's interfaces
// runs the parts of the suite it implements. Run decides from the type
// openHostStore returns: here it runs Users, Sessions, Tokens, Limiter,
// Outbox, AuditLog, Transactions and Times, and logs that it leaves out
// TOTP, RecoveryCodes and TrustedBrowsers.
func ExampleRun() {
	// In one of the host's _test.go files:
	//
	//	func TestConformance(t *testing.T) {
	//		storetest.Run(t, openHostStore)
	//	}
	//
	// or, for chosen parts only (Run fails at once if hostStore lacks an
	// interface one of them needs):
	//
	//	func TestSessionStore(t *testing.T) {
	//		storetest.Run(t, openHostStore, storetest.Users, storetest.Sessions, storetest.Transactions)
	//	}
	var _ func(*testing.T, func(*testing.T) hostStore, ...storetest.Part) = storetest.Run[hostStore]
}
