//go:build !unix

package sqlite

import "errors"

// walWatch is not available on this system: the session cache stays off
// and every lookup runs its query.
type walWatch struct{}

func openWalWatch(string) (*walWatch, error) {
	return nil, errors.New("the WAL index is not mapped on this system")
}

func (w *walWatch) version() (walVersion, bool) { return walVersion{}, false }

func (w *walWatch) close() error { return nil }
