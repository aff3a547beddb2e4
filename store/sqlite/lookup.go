package sqlite

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/store"
)

// The session lookup of every request, [DB.SessionWithUser] outside a
// transaction, runs on a pool of its own: read-only connections opened
// with SQLite's C API (modernc.org/sqlite/lib, the code the driver itself
// runs) rather than through database/sql. Through database/sql, the
// driver reads the name and the declared type of each of the query's 28
// columns as new Go strings on every call and boxes every value in an
// interface, and database/sql locks the pool, the statement and the
// connection: about a hundred allocations and most of the request's time.
// Here the statement is prepared once per connection, its parameters bound
// in place, and its columns read straight into the records; each
// connection is used by one goroutine at a time, so it is opened without
// SQLite's connection mutex.
//
// A call that the session cache (cache.go) cannot answer runs the query:
// a new read transaction that sees every commit made before it, by this
// process or another, so a revoked session or a disabled user is seen at
// once. The cache answers only while nothing has been committed since its
// row was read.

// lookupConn is one connection of the lookup pool. Only the goroutine that
// took it from the pool uses it.
type lookupConn struct {
	tls  *libc.TLS
	db   uintptr // sqlite3*
	stmt uintptr // qSessionWithUser, prepared on first use; 0 until then
	buf  uintptr // lookupBuf bytes of C memory: out-parameters and the bound digest
	busy int32   // the busy timeout set on db, in milliseconds
}

// lookupBuf is the size of a lookupConn's buffer: a digest up to this long
// is bound from it (a SHA-256 digest is 32 bytes).
const lookupBuf = 64

// lookupPool holds the lookup connections. conns has one entry per
// connection the pool may open, nil until it is opened: taking an entry is
// the right to use (or open) that connection.
type lookupPool struct {
	uri     string // file: URI of the database
	busy    time.Duration
	conns   chan *lookupConn
	done    chan struct{} // closed by close
	closing sync.Once
}

func newLookupPool(uri string, size int, busy time.Duration) *lookupPool {
	p := &lookupPool{uri: uri, busy: busy, conns: make(chan *lookupConn, size), done: make(chan struct{})}
	for range size {
		p.conns <- nil
	}
	return p
}

// errClosed is the error of a lookup on a closed DB.
var errClosed = errors.New("database is closed")

// get takes a connection from the pool, opening it if needed. It waits for
// one while all are in use, until ctx is done or the pool is closed.
func (p *lookupPool) get(ctx context.Context) (*lookupConn, error) {
	var c *lookupConn
	select {
	case c = <-p.conns:
	default:
		select {
		case c = <-p.conns:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.done:
			return nil, errClosed
		}
	}
	select {
	case <-p.done:
		p.conns <- c
		return nil, errClosed
	default:
	}
	if c == nil {
		var err error
		if c, err = openLookupConn(p.uri, p.busy); err != nil {
			p.conns <- nil
			return nil, err
		}
	}
	return c, nil
}

// put gives c back to the pool.
func (p *lookupPool) put(c *lookupConn) { p.conns <- c }

// close waits for the connections in use and closes every connection.
// Later calls do nothing.
func (p *lookupPool) close() error {
	var err error
	p.closing.Do(func() {
		close(p.done)
		var errs []error
		for range cap(p.conns) {
			if c := <-p.conns; c != nil {
				errs = append(errs, c.close())
			}
		}
		err = errors.Join(errs...)
	})
	return err
}

// openLookupConn opens a read-only (query_only) connection to uri, with
// busy as its busy timeout.
func openLookupConn(uri string, busy time.Duration) (_ *lookupConn, err error) {
	c := &lookupConn{tls: libc.NewTLS(), busy: int32(min(max(busy.Milliseconds(), 1), 1<<31-1))}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	if c.buf = libc.Xmalloc(c.tls, lookupBuf); c.buf == 0 {
		return nil, errors.New("open lookup connection: out of memory")
	}
	name, err := libc.CString(uri)
	if err != nil {
		return nil, fmt.Errorf("open lookup connection: %w", err)
	}
	defer libc.Xfree(c.tls, name)
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, c.buf, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_URI|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.db = c.ptr(0)
	if rc != sqlite3.SQLITE_OK {
		return nil, c.error("open lookup connection", rc)
	}
	sqlite3.Xsqlite3_extended_result_codes(c.tls, c.db, 1)
	if rc := sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, c.busy); rc != sqlite3.SQLITE_OK {
		return nil, c.error("open lookup connection", rc)
	}
	if err := c.exec("PRAGMA query_only = 1"); err != nil {
		return nil, err
	}
	return c, nil
}

// ptr reads the pointer that SQLite stored at offset off of c.buf.
func (c *lookupConn) ptr(off uintptr) uintptr {
	b := libc.GoBytes(c.buf+off, int(unsafe.Sizeof(uintptr(0))))
	if len(b) == 8 {
		return uintptr(binary.NativeEndian.Uint64(b))
	}
	return uintptr(binary.NativeEndian.Uint32(b))
}

// withQuery calls f with query copied to C memory, NUL-terminated, and
// frees the copy when f returns. If the copy cannot be allocated, the
// error names the query.
func (c *lookupConn) withQuery(query string, f func(q uintptr) error) error {
	q, err := libc.CString(query)
	if err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	defer libc.Xfree(c.tls, q)
	return f(q)
}

// exec runs query, one or more statements whose rows are discarded, on c.
func (c *lookupConn) exec(query string) error {
	return c.withQuery(query, func(q uintptr) error {
		if rc := sqlite3.Xsqlite3_exec(c.tls, c.db, q, 0, 0, 0); rc != sqlite3.SQLITE_OK {
			return c.error(query, rc)
		}
		return nil
	})
}

// prepare prepares qSessionWithUser unless it is already.
func (c *lookupConn) prepare() error {
	if c.stmt != 0 {
		return nil
	}
	q, err := libc.CString(qSessionWithUser)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	defer libc.Xfree(c.tls, q)
	if rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, q, -1, sqlite3.SQLITE_PREPARE_PERSISTENT, c.buf, 0); rc != sqlite3.SQLITE_OK {
		return c.error("prepare", rc)
	}
	c.stmt = c.ptr(0)
	return nil
}

func (c *lookupConn) close() error {
	var err error
	if c.stmt != 0 {
		sqlite3.Xsqlite3_finalize(c.tls, c.stmt)
		c.stmt = 0
	}
	if c.db != 0 {
		if rc := sqlite3.Xsqlite3_close_v2(c.tls, c.db); rc != sqlite3.SQLITE_OK {
			err = c.error("close lookup connection", rc)
		}
		c.db = 0
	}
	if c.buf != 0 {
		libc.Xfree(c.tls, c.buf)
		c.buf = 0
	}
	c.tls.Close()
	return err
}

// resultError is an SQLite result code that the C API returned, with the
// connection's message.
type resultError struct {
	code int
	msg  string
}

func (e *resultError) Error() string { return e.msg }

// Code returns the (extended) SQLite result code, as sqlite.Error's Code
// does.
func (e *resultError) Code() int { return e.code }

// error returns the error of rc, which op returned on c.
func (c *lookupConn) error(op string, rc int32) error {
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	return fmt.Errorf("%s: %w", op, &resultError{code: int(rc), msg: fmt.Sprintf("%s (%d)", msg, rc)})
}

// text returns column i as a string: empty for NULL.
func (c *lookupConn) text(i int32) string {
	p := sqlite3.Xsqlite3_column_text(c.tls, c.stmt, i)
	n := sqlite3.Xsqlite3_column_bytes(c.tls, c.stmt, i)
	if p == 0 || n <= 0 {
		return ""
	}
	return string(libc.GoBytes(p, int(n)))
}

// view returns column i's bytes as SQLite holds them, valid until the
// statement steps or is reset. NULL is empty.
func (c *lookupConn) view(i int32) []byte {
	p := sqlite3.Xsqlite3_column_blob(c.tls, c.stmt, i)
	n := sqlite3.Xsqlite3_column_bytes(c.tls, c.stmt, i)
	if p == 0 || n <= 0 {
		return nil
	}
	return libc.GoBytes(p, int(n))
}

func (c *lookupConn) int(i int32) int { return int(sqlite3.Xsqlite3_column_int64(c.tls, c.stmt, i)) }

// time returns column i, unix milliseconds, as a UTC time; NULL is the
// zero time.
func (c *lookupConn) time(i int32) time.Time {
	if sqlite3.Xsqlite3_column_type(c.tls, c.stmt, i) == sqlite3.SQLITE_NULL {
		return time.Time{}
	}
	return time.UnixMilli(sqlite3.Xsqlite3_column_int64(c.tls, c.stmt, i)).UTC()
}

// sessionWithUser runs qSessionWithUser with the arguments of liveArgs and
// reads the row into x. found is false when no row matched.
func (c *lookupConn) sessionWithUser(ctx context.Context, x *sessionUser, digest []byte, now time.Time, idle time.Duration) (found bool, err error) {
	if err := c.prepare(); err != nil {
		return false, err
	}
	// A deadline nearer than the busy timeout bounds the wait for a lock.
	busy := c.busy
	if d, ok := ctx.Deadline(); ok {
		busy = int32(min(max(time.Until(d).Milliseconds(), 1), int64(c.busy)))
	}
	if busy != c.busy {
		sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, busy)
		defer sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, c.busy)
	}

	s := c.stmt
	switch {
	case len(digest) == 0:
		sqlite3.Xsqlite3_bind_null(c.tls, s, 1)
	case len(digest) <= lookupBuf:
		// The buffer stays as it is until the next lookup binds it again.
		copy(libc.GoBytes(c.buf, len(digest)), digest)
		sqlite3.Xsqlite3_bind_blob(c.tls, s, 1, c.buf, int32(len(digest)), 0)
	default:
		// Too long to be a digest the store wrote; look it up all the
		// same, from a copy SQLite makes.
		p, err := libc.CString(string(digest))
		if err != nil {
			return false, err
		}
		sqlite3.Xsqlite3_bind_blob(c.tls, s, 1, p, int32(len(digest)), sqlite3.SQLITE_TRANSIENT)
		libc.Xfree(c.tls, p)
	}
	noIdle := int64(0)
	var cutoff int64
	if idle <= 0 {
		noIdle = 1
	} else {
		cutoff = now.Add(-idle).UnixMilli()
	}
	sqlite3.Xsqlite3_bind_int64(c.tls, s, 2, now.UnixMilli())
	sqlite3.Xsqlite3_bind_int64(c.tls, s, 3, noIdle)
	sqlite3.Xsqlite3_bind_int64(c.tls, s, 4, cutoff)
	defer sqlite3.Xsqlite3_reset(c.tls, s)

	switch rc := sqlite3.Xsqlite3_step(c.tls, s); rc {
	case sqlite3.SQLITE_ROW:
	case sqlite3.SQLITE_DONE:
		return false, nil
	default:
		if err := ctx.Err(); err != nil && rc&0xff == sqlite3.SQLITE_BUSY {
			return false, err
		}
		return false, c.error("step", rc)
	}

	ss, u := &x.s, &x.u
	ss.ID = c.text(0)
	if b := c.view(1); b != nil {
		ss.Data = append([]byte(nil), b...)
	}
	ss.UserID = c.text(2)
	ss.State = sessionState(c.view(3))
	ss.AAL = c.int(4)
	ss.Methods = x.splitMethods(c.view(5))
	ss.AuthTime, ss.SudoTime = c.time(6), c.time(7)
	ss.ActiveOrg, ss.Impersonator = c.text(8), c.text(9)
	ss.Remember = c.int(10) != 0
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = c.time(11), c.time(12), c.time(13)
	ss.IP, ss.UserAgent = c.text(14), c.text(15)

	// The user's columns are NULL for an anonymous session. Its ID is the
	// session's user_id: the string is shared.
	if id := c.view(16); string(id) == ss.UserID {
		u.ID = ss.UserID
	} else {
		u.ID = string(id)
	}
	u.Email, u.PasswordHash = c.text(17), c.text(18)
	u.EmailConfirmedAt = c.time(19)
	u.FailedLogins, u.LockedUntil = c.int(20), c.time(21)
	u.FailedMFA, u.MFALockedUntil = c.int(22), c.time(23)
	u.DisabledAt, u.DeletionDueAt = c.time(24), c.time(25)
	u.CreatedAt, u.UpdatedAt = c.time(26), c.time(27)
	return true, nil
}

// sessionState returns the state named b, without a new string for the
// states of the store's state machine.
func sessionState(b []byte) store.SessionState {
	switch string(b) {
	case string(store.SessionAuthenticated):
		return store.SessionAuthenticated
	case string(store.SessionPending):
		return store.SessionPending
	case string(store.SessionAnonymous):
		return store.SessionAnonymous
	}
	return store.SessionState(b)
}

// methodName returns the method named b, without a new string for the
// methods Sigra defines.
func methodName(b []byte) string {
	for _, m := range [...]sigra.Method{
		sigra.MethodPassword, sigra.MethodMagicLink, sigra.MethodTOTP, sigra.MethodRecoveryCode,
		sigra.MethodPasskey, sigra.MethodOAuth, sigra.MethodAPIToken, sigra.MethodTrustedBrowser,
	} {
		if string(b) == string(m) {
			return string(m)
		}
	}
	return string(b)
}

// splitMethods decodes the comma-separated methods column as strings.Split
// does; up to two methods are kept in x itself. The slice's capacity is its
// length, so an append copies it.
func (x *sessionUser) splitMethods(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	n := 1 + bytes.Count(b, []byte{','})
	ms := x.methods2[:0:min(n, len(x.methods2))]
	if n > len(x.methods2) {
		ms = make([]string, 0, n)
	}
	for range n {
		i := bytes.IndexByte(b, ',')
		if i < 0 {
			ms = append(ms, methodName(b))
			break
		}
		ms = append(ms, methodName(b[:i]))
		b = b[i+1:]
	}
	return ms
}
