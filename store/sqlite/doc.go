// Package sqlite is the SQLite adapter of Sigra for Go: a [store.Store] over
// one database file, on the pure-Go driver modernc.org/sqlite (no cgo).
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
// the file is put in WAL mode with synchronous=NORMAL. A [DB] keeps two
// pools on the file:
//
//   - one writer connection, through which every write and every
//     [DB.WithTx] goes, with transactions begun by BEGIN IMMEDIATE;
//   - a pool of read-only connections (query_only) for lookups,
//     [Config.ReadConns] of them.
//
// Writes inside one process queue for the writer connection instead of
// racing for SQLite's lock, so none fails with SQLITE_BUSY however many
// goroutines write at once; a transaction that reads and then writes holds
// the write lock from its first statement, so it cannot be invalidated
// half-way. Readers never wait for the writer (WAL). Several processes may
// share a file: their writers then wait on each other for up to
// [Config.BusyTimeout].
//
// The lookups on every authenticated request, [DB.SessionWithUser] (one
// query joining the session and its user), [DB.SessionByDigest] and
// [DB.UserByID], run statements prepared once on the reader pool. Single-use
// tokens are consumed by one DELETE ... RETURNING statement, limiter hits by
// one upsert with RETURNING, TOTP steps by one conditional UPDATE.
//
// # Transactions
//
// [DB.WithTx] gives its function a Store bound to one transaction on the
// writer connection: every method, reads included, runs in it, and calling
// WithTx on that Store joins it. Code inside the function must use only that
// Store. Calling the DB itself from inside would wait for the writer
// connection that the transaction holds, until the context ends.
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
// object.
//
// # Paths
//
// [Config.Path] is a file path, never a DSN: it is made absolute and
// percent-encoded into a file: URI, so a name containing '?', '#' or '%'
// names a file rather than adding driver options. In-memory databases are
// refused: the two pools must share one file.
package sqlite
