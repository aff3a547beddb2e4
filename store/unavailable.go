package store

import "github.com/sigra-go/sigra"

// unavailableError is the type of [ErrUnavailable]: a sentinel that also
// wraps sigra.ErrBusy.
type unavailableError struct{}

func (unavailableError) Error() string { return "sigra/store: unavailable" }

// Unwrap returns sigra.ErrBusy.
func (unavailableError) Unwrap() error { return sigra.ErrBusy }
