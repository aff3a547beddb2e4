//go:build unix

package sqlite

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// walWatch maps, read-only, the start of the database's WAL index (the
// "-shm" file SQLite keeps beside a database in WAL mode and maps into
// every process that uses the file) and reads its header.
//
// SQLite makes a commit visible by rewriting that header: a reader finds
// the committed frames through it, so a commit that a new read
// transaction would see has changed it, in whichever process the commit
// was made. The header holds the WAL's last frame, the checksum of the
// frames and the WAL's salts (new on every restart of the WAL), so two
// readings are equal only while nothing was committed in between.
// SQLite writes the header's two copies in turn, the second first, and
// reads them in the other order, taking unequal copies for a header being
// written; the watch does the same (see SQLite's file format notes,
// "WAL-index format").
//
// The mapping stays valid while a connection of this process keeps the
// file open: SQLite truncates or deletes the -shm file only when no
// connection of any process has it (the "DMS" lock). The cache owns such
// a connection and unmaps before closing it.
type walWatch struct {
	mem []byte
}

// openWalWatch maps the WAL index of the database file SQLite names path
// (as sqlite3_db_filename reports it).
func openWalWatch(path string) (*walWatch, error) {
	f, err := os.Open(path + "-shm")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < walHeaderSize {
		return nil, fmt.Errorf("%s-shm: %d bytes, want at least %d", path, fi.Size(), walHeaderSize)
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, os.Getpagesize(), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map %s-shm: %w", path, err)
	}
	return &walWatch{mem: mem}, nil
}

// version reads the header. ok is false when its two copies differ (a
// commit is being published) or it is not initialised.
func (w *walWatch) version() (v walVersion, ok bool) {
	for i := range v {
		v[i] = atomic.LoadUint32((*uint32)(unsafe.Pointer(&w.mem[4*i])))
	}
	for i := range v {
		if atomic.LoadUint32((*uint32)(unsafe.Pointer(&w.mem[walCopySize+4*i]))) != v[i] {
			return v, false
		}
	}
	return v, v.initialised()
}

// close unmaps the header. The watch must not be used after.
func (w *walWatch) close() error {
	mem := w.mem
	w.mem = nil
	return syscall.Munmap(mem)
}
