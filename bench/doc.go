// Package bench measures the cost of an authenticated request, the budget
// of the design's performance section, beside a baseline in the same run.
//
// The package has no API: it holds benchmarks and the tests that pin the
// number of database round trips and of allocations per request. Run them
// with
//
//	go test -run '^$' -bench AuthenticatedRequest -benchmem -count 6 ./bench/
//
// and summarize the runs with benchstat (six or more for a confidence
// interval). PostgreSQL variants run when SIGRA_TEST_POSTGRES holds a DSN
// and are skipped otherwise.
//
// # What is measured
//
// BenchmarkAuthenticatedRequest serves GET /dashboard in process with the
// same session cookie every time, through the whole handler chain, and
// checks that every answer is 200 with the user's email address. The
// request and the response writer are new for every request and made as
// net/http's server makes them (not with httptest's NewRequest, whose new
// 4 KiB reader a server keeps per connection, nor its recorder, which
// copies the header map and keeps the body). Each database holds 1,000
// users with one session each.
//
//   - bare-handler, the control: the same request and writer with only the
//     handler that writes the address. Its time is the benchmark's own
//     share of every figure, and its scaling across cores (see below) the
//     ceiling of every application's on the machine.
//   - scs-sqlite3store, the baseline: plain github.com/alexedwards/scs/v2
//     with its default settings and its official sqlite3store on
//     modernc.org/sqlite (WAL), the session holding a user ID; a middleware
//     loads the user row by that ID from a users table of the same
//     database, as an application would, and the handler writes the email.
//   - sigra-sqlite: one site, session.Manager.LoadAndSave over
//     store/sqlite (which reads the session and its user together and
//     puts the auth state in the request's context), then
//     middleware.Guard's RequireUser, and the same handler body reading
//     sigra.UserFrom. The guard is given a table of routes rather than a
//     UI: the UI is not on the request's path, and the baseline holds no
//     templates either. (In an application the template sets of the
//     pages and emails it has rendered, up to 2 MB with the kit's packs,
//     stay in the process and the garbage collector's cycles mark them:
//     on a small benchmark heap that adds about a tenth to both figures
//     alike.)
//   - sigra-postgres: the same over store/postgres; it also reports
//     queries/op, the database round trips per request (statements,
//     batches and statement preparations, counted by a pgx tracer).
//
// BenchmarkAuthenticatedRequestParallel runs the same requests from
// GOMAXPROCS goroutines. Compare each application's parallel time with its
// serial one, and with the bare handler's: a request that allocates scales
// only as far as the runtime's allocation and garbage collection do on the
// machine, and a single goroutine already leaves the collector's work to
// the idle cores. The serial and parallel benchmarks report cores, the CPU
// time the process used per unit of wall time, and cpu-ns/op, the CPU time
// per request: a serial run at c cores takes at best c/GOMAXPROCS of its
// time from GOMAXPROCS goroutines, reached only if they spend no more CPU
// per request than it does. BenchmarkMachineScaling
// measures the machine's own scaling of pure computation and of pure
// allocation. The mutex and block profiles (-mutexprofile, -blockprofile)
// show whether anything of ours makes the
// goroutines wait. BenchmarkAuthenticatedRequestRatio serves the
// baseline's and sigra-sqlite's requests alternately in one loop and
// reports the ratio of their times (the design's budget is at most 0.2):
// on a machine shared with other work it is steadier than comparing two
// sub-benchmarks that ran one after the other.
//
// # Sign-in throughput
//
// BenchmarkSignInThroughput compares, in one run, the raw Argon2id hash
// rate of the machine (argon2.IDKey at the library's default parameters
// from as many goroutines as the hashing pool has slots) with the
// password sign-ins per second of a real http.Server on 127.0.0.1, many
// clients posting the JSON sign-in through the kit's whole chain, and
// reports their ratio (the goal is at least 0.85). The server runs in a
// child process, this test binary running TestSignInServerProcess (which
// does nothing in an ordinary test run), so the raw rate is measured
// apart from the server's heap. Where Linux's /proc can be read, it also
// reports the CPU time per hash and per sign-in of this process, the
// server, its clients and, for PostgreSQL on the same machine, the
// database's backends serving it, the page faults per hash and per
// sign-in, and the garbage collections and the collector's CPU on each
// side (see the benchmark's documentation). Run it with
//
//	go test -run '^$' -bench SignInThroughput -benchtime 4x -count 5 ./bench/
//
// and with GODEBUG=madvdontneed=0 in the environment to measure a server
// started as package kit advises.
//
// SIGRA_BENCH_SIGNIN_CPUPROFILE names a file for the server's CPU profile,
// SIGRA_BENCH_SIGNIN_HEAPPROFILE one for a heap profile of what the server
// holds live when its run ends (every allocation recorded, which slows
// the server: not for the run's figures); SIGRA_BENCH_SIGNIN_MAXCONNS
// sizes the server's PostgreSQL pool, for comparing pool sizes where the
// database shares the machine's cores.
//
// TestSignInCommits pins the transactions that one sign-in commits on
// PostgreSQL, how many of them wait for a WAL flush (two: the rate limits
// are in an unlogged table, and the device record commits
// asynchronously), and its round trips.
//
// # Garbage collection
//
// BenchmarkCollection times a forced collection in a process serving the
// kit against the same process before the kit is built, and reports the
// collector's CPU per collection and what the live heap holds for it to
// scan: a sign-in pays for about a third of a collection (each hash
// allocates its 19 MiB), so what the application keeps live is part of
// every sign-in's cost. package ui builds a page's, section's or email's
// template set when it is first rendered, so it measures the kit twice:
// as built (kit), and once every page, section and email has rendered
// (kit-every-page).
//
// # Allocations
//
// TestAllocationsPerRequest pins the allocations of a steady authenticated
// request through sigra-sqlite's chain, as the benchmark serves it, to a
// budget (28; the request and the response writer make 12 of them, the
// bare handler's count).
//
// # Round trips
//
// TestQueriesPerRequest asserts, with an injected clock, that a
// steady-state authenticated request reaches the store exactly once (the
// session and its user are read together) and that the last-seen touch
// adds one write at most once per TouchInterval, or at once when the
// client's address or user agent changes. On PostgreSQL the count is of
// the statements seen on the wire; on SQLite, of calls into the store.
package bench
