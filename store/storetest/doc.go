// Package storetest is the conformance suite for implementations of the
// interfaces of package store. The suite comes in parts, one per interface
// ([Users], [Sessions], [Tokens], [Limiter], [LimitSequence], [Outbox], [AuditLog], [TOTP],
// [RecoveryCodes], [TrustedBrowsers], [SignIns], [Webhooks], [WebhookDeliveries], [Orgs],
// [Identities], [Passkeys], [SealedSecrets], [RefreshTokens], [AuditChain], [APITokens], [Transactions], [Times]). Every adapter
// in this module runs all of them, and so should a host application that
// keeps Sigra's data in its own database, for the parts its store
// implements: passing a part is what implementing its interface means.
//
// # Running the suite
//
// Call [Run] from a test in the store's package, with a function that
// returns a fresh, empty, migrated store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) *mystore.DB {
//			db, err := mystore.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
//
// Run calls open from inside each subtest, and the subtests run in parallel
// (t.Parallel), so open must return a store that shares no rows with any
// other call: a new file, a new schema or a new database. It must be safe
// to call open from several goroutines at once. Register any cleanup with
// t.Cleanup on the t that open receives.
//
// Subtests are named Part/Method/Case, for example
// "Sessions/SaveSession/Tombstone", so one can be run alone with
// go test -run.
//
// # Running only some parts
//
// A host that uses only some features implements only the interfaces they
// need: a store for the account feature, say, keeps users, sessions,
// tokens, limiter counters, the outbox and the audit log, and runs
// transactions, but no second factors. Run decides which parts apply from
// the type its open function returns, which may be an interface:
//
//	// accountStore is what the host's store implements.
//	type accountStore interface {
//		store.Users
//		store.Sessions
//		store.Tokens
//		store.Limiter
//		store.Outbox
//		store.AuditLog
//		store.Transactor
//	}
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) accountStore { return openTestStore(t) })
//	}
//
// With no parts named, Run runs every part the type implements and logs
// each part it leaves out with the interface that is missing; here
// TOTP, RecoveryCodes and TrustedBrowsers. Checks that involve the records
// of several interfaces keep to those the type has: DeleteUser is checked to
// remove the user's sessions and tokens, not factors the store does not
// keep. To run chosen parts, name them:
//
//	storetest.Run(t, open, storetest.Users, storetest.Sessions, storetest.Transactions)
//
// Run then fails before running anything if the type lacks an interface a
// named part needs.
//
// # What it checks
//
// Every method of every interface the store has: results, not-found
// errors, uniqueness conflicts (including case-insensitive and non-ASCII
// addresses), expiry at its exact boundary, the session tombstone contract,
// atomic single use under concurrency (tokens, codes, recovery codes, TOTP
// steps), limiter exactness under concurrency, outbox leasing, giving up
// and retention, audit paging, and that times come back in UTC with at
// least millisecond precision and zero times stay zero.
//
// The Transactions part checks [store.Transactor]: commit, rollback on error
// and on panic, nested calls joining the outer transaction (and rolling
// back with it), contexts derived from a transaction's context, reads
// inside a transaction seeing its writes, a context passed through
// [store.WithoutTx] writing outside the transaction, another store's
// transaction in the context not being joined, conflicts and concurrent
// transactions that read before they write. Its writes cover every
// interface the store has among those of the other parts, the second
// factors included (a TOTP secret saved and confirmed as enrollment does,
// recovery codes, a trusted browser), and so do its deletions: second
// factors deleted in a transaction that rolls back, as a password reset
// that fails after forgetting the trusted browsers, are kept.
//
// The suite never sleeps: every method receives its "now" explicitly, so
// expiry is tested by passing later times. The concurrency checks start a few
// dozen goroutines at once and count the outcomes; they assert exact counts,
// never durations.
//
// # Optional interfaces
//
// Some guarantees cannot be observed through package store's interfaces
// alone. When the store's type also implements [MessageReader], the suite
// checks that [store.Outbox.MarkSent] and [store.Outbox.GiveUp] erase the
// sealed body and that [store.Outbox.PurgeMessages] deletes exactly the rows
// it should; otherwise the checks that need it are skipped with a message
// saying so, and the purge is checked through counts and claims alone.
package storetest
