package sqlite

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The session cache keeps, in this process, the rows that the session
// lookup of recent requests read (the session and its user), each with the
// version of the database it was read at: the header of the WAL index,
// which every commit to the file rewrites, whoever makes it (this process's
// writer, another DB on the file, another process such as the sigra
// command, a plain SQLite client). A lookup reads that header from shared
// memory (a few loads, no lock, no system call) and answers from the cache
// only while it is the version the row was read at; otherwise it runs the
// query as before. So no write path has to invalidate anything, and a
// revocation or a disabled user, committed by anyone, is seen by the very
// next lookup.
//
// The price is that any commit to the file makes every cached row stale:
// the cache pays off between writes (a steady stream of authenticated
// reads), and costs one header read per lookup otherwise.

// Header layout of the WAL index (SQLite's WalIndexHdr): two copies of
// walCopySize bytes; isInit is the byte at offset 12.
const (
	walCopySize   = 48
	walHeaderSize = 2 * walCopySize
)

// walVersion is one copy of the WAL index header, as 32-bit words.
type walVersion [walCopySize / 4]uint32

// initialised reports whether SQLite has initialised the header (isInit).
func (v *walVersion) initialised() bool {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], v[3])
	return b[0] == 1
}

// DefaultCacheSessions is the number of sessions whose rows the session
// cache holds when [Config.CacheSessions] is zero.
const DefaultCacheSessions = 10000

// cacheShards spreads the cache over locks, so lookups of different
// sessions from different cores do not contend.
const cacheShards = 32

// sessionCache is the cache described above.
type sessionCache struct {
	watch    *walWatch
	conn     *lookupConn // keeps the WAL index open while watch maps it
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu     sync.RWMutex
	closed bool
	m      map[[sha256.Size]byte]*cachedRow
	_      [40]byte // keeps shards' locks on separate cache lines
}

// cachedRow is a row as the lookup read it, with the version it was read
// at. Its records are those the lookup returned, and a hit returns them
// again: nothing changes them (the records of SessionWithUser are
// read-only to its callers; see store.Sessions).
type cachedRow struct {
	v walVersion
	x sessionUser
}

// newSessionCache opens the connection that holds the WAL index of the
// file at uri open, and maps its header. It fails when the file is not in
// WAL mode or its index cannot be mapped; the caller then runs without a
// cache.
func newSessionCache(uri string, busy time.Duration, size int) (_ *sessionCache, err error) {
	c, err := openLookupConn(uri, busy)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	// A read maps the WAL index, which the connection keeps until it
	// closes.
	mode, err := c.queryText("PRAGMA journal_mode")
	if err != nil {
		return nil, err
	}
	if mode != "wal" {
		return nil, fmt.Errorf("journal mode %q, want wal", mode)
	}
	if _, err := c.queryText("SELECT count(*) FROM sqlite_schema"); err != nil {
		return nil, err
	}
	path, err := c.filename()
	if err != nil {
		return nil, err
	}
	w, err := openWalWatch(path)
	if err != nil {
		return nil, err
	}
	sc := &sessionCache{watch: w, conn: c, perShard: max(1, size/cacheShards)}
	for i := range sc.shards {
		sc.shards[i].m = make(map[[sha256.Size]byte]*cachedRow)
	}
	return sc, nil
}

func (sc *sessionCache) shard(key *[sha256.Size]byte) *cacheShard {
	return &sc.shards[key[0]%cacheShards]
}

// get returns the row cached for key if the database is still at the
// version it was read at. Otherwise it returns nil and the current
// version, for the row the caller is about to read; ok is false when the
// version could not be read or the cache is closed, and the caller must
// not put its row.
func (sc *sessionCache) get(key *[sha256.Size]byte) (row *cachedRow, v walVersion, ok bool) {
	sh := sc.shard(key)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if sh.closed {
		return nil, v, false
	}
	// The version is read under the shard's lock: close unmaps only
	// with every shard's lock held.
	if v, ok = sc.watch.version(); !ok {
		return nil, v, false
	}
	if r := sh.m[*key]; r != nil && r.v == v {
		return r, v, true
	}
	return nil, v, true
}

// put caches r, read at version v (as get returned it before the read
// began). r must not change afterwards.
func (sc *sessionCache) put(key *[sha256.Size]byte, v walVersion, r *cachedRow) {
	sh := sc.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		return
	}
	if _, ok := sh.m[*key]; !ok && len(sh.m) >= sc.perShard {
		// Full: make room, first from rows of older versions.
		evicted := false
		for k, old := range sh.m {
			if old.v != v {
				delete(sh.m, k)
				evicted = true
			}
		}
		if !evicted {
			for k := range sh.m {
				delete(sh.m, k)
				break
			}
		}
	}
	sh.m[*key] = r
}

// close empties the cache, unmaps the header and closes the connection.
// Lookups after it run their query (or fail, the DB being closed).
func (sc *sessionCache) close() error {
	for i := range sc.shards {
		sc.shards[i].mu.Lock()
	}
	defer func() {
		for i := range sc.shards {
			sc.shards[i].mu.Unlock()
		}
	}()
	if sc.shards[0].closed {
		return nil
	}
	for i := range sc.shards {
		sc.shards[i].closed = true
		sc.shards[i].m = nil
	}
	return errors.Join(sc.watch.close(), sc.conn.close())
}

// live reports whether the cached session is still live at now with the
// idle timeout idle, as the lookup query's condition decides (the row
// itself is unchanged since it was read live).
func (r *cachedRow) live(now time.Time, idle time.Duration) bool {
	s := &r.x.s
	if s.ExpiresAt.UnixMilli() <= now.UnixMilli() {
		return false
	}
	return idle <= 0 || s.LastSeenAt.UnixMilli() > now.Add(-idle).UnixMilli()
}

// queryText runs a query of one row on c and returns its first column as
// text.
func (c *lookupConn) queryText(query string) (text string, err error) {
	err = c.withQuery(query, func(q uintptr) error {
		if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, q, -1, c.buf, 0); rc != sqlite3.SQLITE_OK {
			return c.error(query, rc)
		}
		stmt := c.ptr(0)
		defer sqlite3.Xsqlite3_finalize(c.tls, stmt)
		if rc := sqlite3.Xsqlite3_step(c.tls, stmt); rc != sqlite3.SQLITE_ROW {
			return c.error(query, rc)
		}
		text = libc.GoString(sqlite3.Xsqlite3_column_text(c.tls, stmt, 0))
		return nil
	})
	return text, err
}

// filename returns the path of the main database file, as SQLite resolved
// it.
func (c *lookupConn) filename() (string, error) {
	main, err := libc.CString("main")
	if err != nil {
		return "", err
	}
	defer libc.Xfree(c.tls, main)
	p := sqlite3.Xsqlite3_db_filename(c.tls, c.db, main)
	if p == 0 {
		return "", errors.New("no file name")
	}
	return libc.GoString(p), nil
}
