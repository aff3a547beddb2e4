// Package sqlite is the SQLite adapter of Sigra for Go: one [DB] over one
// database file implements every interface of package store, on the pure-Go
// driver modernc.org/sqlite (no cgo).
//
//	db, err := sqlite.Open(ctx, "app.db") // creates and migrates the file
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//
// # Connections and locking
//
// [Open] and [New] set, on every connection, busy_timeout and foreign_keys;
// the file is put in WAL mode with synchronous=NORMAL. A [DB] keeps three
// pools on the file:
//
//   - one writer connection, through which every write and every
//     transaction of [DB.InTx] goes, with transactions begun by BEGIN
//     IMMEDIATE;
//   - a pool of read-only connections (query_only) for lookups,
//     [Config.ReadConns] of them;
//   - as many read-only connections for the session lookup of every
//     request, [DB.SessionWithUser] outside a transaction (see below).
//
// Writes inside one process queue for the writer connection instead of
// racing for SQLite's lock, so none fails with SQLITE_BUSY however many
// goroutines write at once; a transaction that reads and then writes holds
// the write lock from its first statement, so it cannot be invalidated
// half-way. The wait in that queue is bounded: a write (or a transaction)
// that has waited [Config.BusyTimeout] for the writer connection fails
// with an error wrapping [ErrWriterBusy] and [sigra.ErrBusy], instead of
// waiting as long as its context allows. Readers never wait for the writer
// (WAL). Several processes may share a file: their writers then wait on
// each other's lock for up to [Config.BusyTimeout] too.
//
// The lookup of every authenticated request, [DB.SessionWithUser] (one
// query joining the session and its user), runs on connections of its own
// that the package drives through SQLite's C API (modernc.org/sqlite/lib,
// the code the driver runs) instead of database/sql: the statement is
// prepared once per connection and its columns are read straight into the
// records, where database/sql and the driver would make about a hundred
// allocations per call. Each query is a new read transaction, so it sees
// every commit made before it, by this process or another: a revoked
// session or a disabled user shows on the very next request. A context
// deadline bounds that call's wait for a lock; a cancelled context ends
// its wait for a connection.
//
// # Session cache
//
// Between commits, the lookup answers from a cache of the rows it read
// recently ([Config.CacheSessions] of them, 10,000 by default; a negative
// value turns it off). A cached row is used only while the database is at
// the version it was read at: each lookup reads the header of SQLite's WAL
// index, the shared memory beside the file (the "-shm" file) that every
// commit rewrites, whichever connection or process makes it, and that
// SQLite's own readers consult to see commits. Reading it takes a few
// memory loads, no lock and no system call. So the cache needs no
// invalidation from any write path: a revocation, a disabled user or any
// other change committed by this process, another [DB] on the file, the
// sigra command or a plain SQLite client is seen by the very next lookup
// (tests in this package run each, the last two in another process).
// Any commit makes every cached row stale, so the cache pays off between
// writes: a steady stream of authenticated requests. A hit returns the
// records the lookup read, without a copy: the records of
// SessionWithUser are read-only to the caller ([store.Sessions] says so).
//
// The cache maps the first page of the -shm file read-only and keeps a
// connection of its own open, so SQLite never truncates or removes that
// file while it is mapped (SQLite does so only when no connection of any
// process has it open). It needs WAL mode (which [New] sets) and a Unix
// system; elsewhere every lookup runs its query.
//
// [DB.SessionByDigest] and [DB.UserByID] run statements prepared once on
// the reader pool, and so do the reads of a password sign-in
// ([DB.UserByEmail], [DB.TOTPByUser], [DB.TrustedBrowserByDigest]); the
// sign-in's writes, and its reads inside a transaction, run statements
// prepared once on the writer connection. Single-use tokens are consumed
// by one DELETE ... RETURNING statement, limiter hits by one upsert with
// RETURNING, TOTP steps by one conditional UPDATE.
//
// # Transactions
//
// A transaction travels in the context (see [store.Transactor]). [DB.InTx]
// begins one on the writer connection and gives its function a context
// bound to it: every method of the DB called with that context, or with one
// derived from it, runs in the transaction, reads included, and a nested
// InTx joins it. A context without the transaction (or passed through
// [store.WithoutTx]) reads from the reader pool, which sees only what was
// committed, and writes on the writer connection, which the transaction
// holds: from inside the function such a write cannot proceed before the
// transaction ends, so it fails after [Config.BusyTimeout] with an error
// wrapping [ErrWriterBusy] (or earlier, when its context ends). Inside a
// transaction, write only with the context it gave; record what must
// survive a rollback after InTx returns.
//
// # The host's own tables
//
// A host application may keep its own tables in the same file, beside
// Sigra's (whose names all start with sigra_), and change them together with
// Sigra's records in one transaction. [DB.ExecContext], [DB.QueryContext]
// and [DB.QueryRowContext] run the host's statements where the store's own
// methods would: in the context's transaction when it carries one, and
// otherwise on the writer connection (ExecContext) or the reader pool (the
// queries). Inside InTx every write must go through them: a *sql.DB the host
// opened on the same file would wait for the write lock the transaction
// holds and fail with SQLITE_BUSY.
//
// # Migrations
//
// The schema is embedded as SQL files ([Migrations]) and applied by
// [DB.Migrate], which Open and New call unless [Config.SkipMigrate] is set.
// Migrate holds the database's write lock from reading the applied versions
// (table sigra_schema_migrations) to committing, so processes starting together on
// one file apply each migration once. A host with its own migration tool
// can apply the files itself and open with SkipMigrate.
//
// # Storage format
//
// Times are INTEGER unix milliseconds in UTC, NULL for the zero time; they
// come back in UTC, truncated to the millisecond. Addresses are unique on an
// email_norm column computed in Go with [store.NormalizeEmail] (Unicode
// case folding, not SQLite's ASCII lower()). Digests and sealed secrets are
// BLOBs; session methods are comma-separated text; audit metadata is a JSON
// object. An audit row's seal (seq, prev_hash, hash) is NULL until a sealer
// sets it ([DB.SealAudit]), in one transaction that also moves the one-row
// sigra_audit_chain_head only if it still holds the head the seals continue.
//
// # Paths and errors
//
// [Config.Path] is a file path, never a DSN: it is made absolute and
// percent-encoded into a file: URI, so a name containing '?', '#' or '%'
// names a file rather than adding driver options. In-memory databases are
// refused: the two pools must share one file.
//
// [New] refuses an unusable Config with an error wrapping [sigra.ErrConfig].
// Every other error of the package starts with "sigra/sqlite: " and wraps
// the driver's error; lookups that match nothing wrap [store.ErrNotFound],
// and writes that break a uniqueness rule [store.ErrConflict].
package sqlite
