// Package storetest is the conformance suite for implementations of
// [store.Store]. Every adapter in this module runs it, and so should a host
// application that keeps Sigra's data in its own database: passing it is
// what "implements store.Store" means.
//
// # Running the suite
//
// Call [Run] from a test in the adapter's package, with a function that
// returns a fresh, empty, migrated store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			db, err := mystore.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
//
// Run calls open once per subtest, from inside that subtest, and the subtests
// run in parallel (t.Parallel), so open must return a store that shares no
// rows with any other call: a new file, a new schema or a new database. It
// must be safe to call open from several goroutines at once. Register any
// cleanup with t.Cleanup on the t that open receives.
//
// Subtests are named interface/method/case, for example
// "Sessions/SaveSession/Tombstone", so one can be run alone with
// go test -run.
//
// # What it checks
//
// Every method of every interface in package store: results, not-found
// errors, uniqueness conflicts (including case-insensitive and non-ASCII
// addresses), expiry at its exact boundary, the session tombstone contract,
// atomic single use under concurrency (tokens, codes, recovery codes, TOTP
// steps), limiter exactness under concurrency, outbox leasing, giving up
// and retention, audit paging,
// transactions (commit, rollback on error and on panic, nesting), and that
// times come back in UTC with at least millisecond precision and zero times
// stay zero.
//
// The suite never sleeps: every method receives its "now" explicitly, so
// expiry is tested by passing later times. The concurrency checks start a few
// dozen goroutines at once and count the outcomes; they assert exact counts,
// never durations.
//
// # Optional interfaces
//
// Some guarantees cannot be observed through [store.Store] alone. When the
// store under test also implements [MessageReader], the suite checks that
// [store.Outbox.MarkSent] and [store.Outbox.GiveUp] erase the sealed body
// and that [store.Outbox.PurgeMessages] deletes exactly the rows it should;
// otherwise the checks that need it are skipped with a message saying so,
// and the purge is checked through counts and claims alone.
package storetest
