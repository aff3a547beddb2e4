// Package postgres is the PostgreSQL adapter of Sigra for Go: one [DB]
// over a pgx connection pool implements every interface of package
// [github.com/sigra-go/sigra/store], for applications that run several
// instances against one database. Every instance sees every
// other's sessions, revocations, rate-limit counters, tokens and audit
// rows as soon as they commit; nothing is cached in process memory.
//
// # Opening
//
//	db, err := postgres.Open(ctx, "postgres://app@db.example.com:5432/app?sslmode=verify-full")
//	if err != nil { ... }
//	defer db.Close()
//
// [Open] and [New] create a pgxpool.Pool and apply pending migrations.
// [Config] sizes the pool and bounds the wait for a connection (see Pool
// and outages), or skips migrating. [DB.Pool] returns the pool so the host
// can share it; code written for database/sql can run on the same pool
// through github.com/jackc/pgx/v5/stdlib.OpenDBFromPool.
//
// # Pool and outages
//
// The pool holds at most Config.MaxConns connections: by default the DSN's
// pool_max_conns, else [DefaultMaxConns] (four per GOMAXPROCS, from
// [MinMaxConns] to [MaxMaxConns]). The pools of all instances share the
// server's max_connections (100 by default): size them together below it.
//
// When every connection is in use, a call waits for one at most
// Config.AcquireTimeout ([DefaultAcquireTimeout], 2 seconds, like the
// password hashing pool's wait), then fails. A burst the pool cannot serve
// thus gets quick 503 answers rather than a queue that grows without
// bound; the bound also covers opening a connection to a server that does
// not answer, and the liveness ping of a connection idle for a while.
// Opening one connection gives up after the DSN's connect_timeout
// ([DefaultConnectTimeout] when it sets none). PostgreSQL's
// statement_timeout and lock_timeout, set in the DSN, bound the statements
// themselves.
//
// Every error that means the server cannot be reached or did not answer in
// time wraps [store.ErrUnavailable] (and through it sigra.ErrBusy), which
// the handlers of every Sigra package answer with 503 and Retry-After: a
// connection refused, lost or terminated by the server (SQLSTATE classes
// 08 and 57, such as 57P01 when an administrator or a restart ends it), a
// server out of resources (class 53), the acquire timeout, a statement or
// lock timeout (57014, 55P03), a deadline of the caller's context. The
// driver's error stays in the chain. A call whose own context was
// cancelled fails with context.Canceled instead: the caller went away,
// the database did not fail. Nothing is kept from a failed connection: the
// pool replaces it, so calls succeed again as soon as the server answers,
// without restarting anything.
//
// # Migrations
//
// The schema is embedded SQL ([Migrations]), applied by [DB.Migrate] with a
// small runner: one transaction that takes pg_advisory_xact_lock (keyed by
// the current schema), creates sigra_schema_migrations if needed, reads
// the applied versions, applies the pending files in order and commits.
// Instances that start at once wait on the lock, then find nothing left to
// do. Tables are created unqualified, so the adapter lives in whatever
// schema the connection's search_path names first (set search_path in the
// DSN to keep it apart from the application's tables); every table name
// starts with sigra_.
//
// # Statements and round trips
//
// pgx's default query mode (QueryExecModeCacheStatement) prepares each
// statement once per connection and reuses it, so the hot paths,
// [DB.SessionWithUser] (run on every authenticated request: the session
// and its user in one LEFT JOIN, one round trip) and [DB.UserByID], run as
// prepared statements without any extra code. Operations made of several
// statements send them as one pgx.Batch: one round trip, and outside a
// transaction one implicit transaction, since PostgreSQL commits a batch
// at its single Sync message. Config.Tracer installs a pgx tracer on
// every connection, to log or trace the statements or to count them.
//
// # Durability
//
// Every commit is visible to every connection, and so to every instance,
// at once. Most also wait until PostgreSQL has flushed its write-ahead log
// to disk, so that a crash of the database server loses none of them. Two
// kinds of write do not wait, since a crash may lose them without harm,
// and a flush is most of what a short write costs the database (a rate
// limit's hit: about 115 µs instead of 250 µs on a 2-core machine,
// BenchmarkHit):
//
//   - The rate limits' counters, with the lockout's attempt places, live in
//     an unlogged table (sigra_rate_limits, migration 0014). After a crash
//     of the server, or on a standby promoted by a failover (unlogged
//     tables are not replicated), the table is empty: every window starts
//     again. The lockout's failure counts and locks are on sigra_users,
//     which is logged: a locked account stays locked.
//   - A device record ([DB.SeenDevice], for new-device alerts) commits with
//     synchronous_commit off when it runs on its own, for that transaction
//     only. A record lost to a crash costs one new-device alert too many.
//     The sign-in's later commits (the audit row, the session) wait for
//     the flush, which carries the device record too.
//
// Everything else (sessions, users, tokens, factors, the audit log, the
// outbox) is logged, and its commits wait for the flush, as
// synchronous_commit's default has them do.
//
// # Concurrency
//
// The guarantees of the store contracts hold across instances, under
// PostgreSQL's default READ COMMITTED isolation (New sets it on its
// connections unless the DSN chooses otherwise):
//
//   - ConsumeToken is one DELETE ... RETURNING; ConsumeCode one statement
//     (a DELETE and, only if it deleted nothing, an UPDATE of the attempt
//     counters).
//   - UseTOTPStep is UPDATE ... WHERE last_step < step; a second query runs
//     only when nothing was updated, to tell a replay from a missing secret.
//   - Hit is one INSERT ... ON CONFLICT DO UPDATE ... RETURNING: exact under
//     any concurrency. [DB.HitSequence] chains those upserts in one
//     statement (data-modifying WITH clauses, each inserting from the row
//     of the one before only when it was within its limit): a password
//     sign-in's two limits and its attempt place in one round trip.
//   - ClaimMessages selects with FOR UPDATE SKIP LOCKED and leases by moving
//     the message's next attempt to the end of the lease.
//   - SaveSession is an upsert that skips revoked rows: revocation is a
//     tombstone a request in flight cannot undo.
//
// Email addresses are unique on a column holding store.NormalizeEmail of
// the address. CreateUser, ReserveEmail and ChangeEmail take a
// transaction-scoped advisory lock on the normalized address before
// checking the other table, so a user can never be created with an address
// another user holds an unexpired reservation for, nor the reverse; the
// unique index on users backs ChangeEmail up.
//
// # Transactions
//
// A transaction travels in the context (see [store.Transactor]). [DB.InTx]
// begins a READ COMMITTED transaction and gives its function a context
// bound to it: every method of the DB called with that context, or with one
// derived from it, runs in the transaction, and a nested InTx joins it. A
// context without it (or passed through [store.WithoutTx]) runs on another
// connection of the pool, outside the transaction. Conflicts, missing rows
// (including a missing user behind a new session, token or factor) and
// replays are reported without failing a statement, so a transaction stays
// usable after them. Any other error, including a caller-chosen ID that is
// already taken, leaves PostgreSQL's transaction aborted, and the function
// should return it.
//
// # The host's own tables
//
// A host application may keep its own tables in the same database, beside
// Sigra's (whose names all start with sigra_), and change them together
// with Sigra's records in one transaction. [DB.Exec], [DB.Query] and
// [DB.QueryRow] run the host's statements where the store's own methods
// would: in the context's transaction when it carries one, otherwise on a
// connection of the pool. [DB.Pool] gives the pool itself, for code that
// does not take part in Sigra's transactions.
//
// # Errors
//
// [New] refuses an unusable Config with an error wrapping
// [sigra.ErrConfig]. Every other error of the package starts with
// "sigra/postgres: " and wraps pgx's error; lookups that match nothing wrap
// store.ErrNotFound, writes that break a uniqueness rule
// store.ErrConflict, and a server that cannot be reached or did not answer
// in time store.ErrUnavailable (see Pool and outages). [DB.Exec],
// [DB.Query] and [DB.QueryRow] return pgx's errors as they are.
//
// # Data
//
// Times are timestamptz, stored and returned in UTC at microsecond
// precision; an optional time that is zero is NULL. Digests are bytea,
// session methods text[], audit metadata jsonb. Rows of a user reference
// it with ON DELETE CASCADE, so [DB.DeleteUser] is one statement; audit
// rows hold no reference and stay. An audit row's seal (seq, prev_hash,
// hash) is NULL until a sealer sets it ([DB.SealAudit]), in one
// transaction that first moves the one-row sigra_audit_chain_head only if
// it still holds the head the seals continue: sealers of several instances
// queue on that row's lock, and the loser finds the head moved and gets
// store.ErrConflict. Writers of audit rows never touch it.
package postgres
