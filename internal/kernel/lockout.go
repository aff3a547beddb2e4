package kernel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// Lockout describes one lockout counter of a user.
type Lockout struct {
	// Lock is the counter (password or second factor).
	Lock store.Lock
	// Max failures lock the account for Duration.
	Max      int
	Duration time.Duration
	// Action is the audit action recorded when the lock engages.
	Action string
	// Email is the notice sent to the user when the lock engages; Data
	// fills its data (nil: the request's address, agent and time).
	Email string
	Data  func() *ui.Email
}

// CountFailure counts one failure on l for u. When it engages the lock, the
// lock, its audit row and the notice to the user commit together; if the
// notice cannot be queued, the lock still commits (without it) and the
// failure to queue is logged: a broken mailer must not turn a lockout off.
// It reports whether this failure engaged the lock. It runs its own
// transactions, so it is called outside InTx.
func (k *Kernel) CountFailure(ctx context.Context, r *http.Request, u *store.User, l Lockout) (locked bool, err error) {
	now := k.Now()
	count := func(notify bool) error {
		locked = false
		return k.InTx(ctx, func(ctx context.Context) error {
			until, err := k.Store.RecordFailure(ctx, u.ID, l.Lock, l.Max, l.Duration, now)
			if err != nil || until.IsZero() {
				return err
			}
			locked = true
			if err := k.Record(ctx, l.Action, "", u.ID, map[string]string{"until": until.UTC().Format(time.RFC3339)}); err != nil {
				return err
			}
			if !notify || l.Email == "" {
				return nil
			}
			data := k.RequestEmail(r)
			if l.Data != nil {
				data = l.Data()
			}
			if err := k.Queue(ctx, l.Email, u.Email, data); err != nil {
				return &mailError{err}
			}
			return nil
		})
	}
	err = count(true)
	var me *mailError
	if errors.As(err, &me) {
		k.Log.ErrorContext(ctx, "lockout notice not queued; locking without it", "user", u.ID, "err", me.err)
		err = count(false)
	}
	return locked, err
}

// Verifier checks a password against a stored hash. *password.Hasher is
// the one the features use.
type Verifier interface {
	Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error)
}

var _ Verifier = (*password.Hasher)(nil)

// CheckPassword re-checks the current password of a signed-in user u
// (before a sensitive change): while the lockout l holds it answers
// sigra.ErrLockedOut without hashing; a wrong password counts toward l (and
// may engage it) and answers sigra.ErrInvalidCredentials; a right one ends
// the run of failures and answers nil. A full hashing pool answers
// sigra.ErrBusy. Every user here has a password (callers check).
//
// The lock and its count are the ones l.Lock names: the password lockout
// (store.LockPassword: u.LockedUntil, u.FailedLogins) or the second-factor
// lockout (store.LockMFA: u.MFALockedUntil, u.FailedMFA). Another lock
// answers an error without hashing.
func (k *Kernel) CheckPassword(ctx context.Context, r *http.Request, pw Verifier, u *store.User, plain string, l Lockout) error {
	until, failures, err := lockState(u, l.Lock)
	if err != nil {
		return err
	}
	if k.Now().Before(until) {
		return sigra.ErrLockedOut
	}
	ok, _, err := pw.Verify(ctx, plain, u.PasswordHash)
	if errors.Is(err, sigra.ErrBusy) {
		return err
	}
	if !ok {
		if err != nil {
			k.Log.WarnContext(ctx, "stored password hash could not be verified", "user", u.ID, "err", err)
		}
		if _, err := k.CountFailure(ctx, r, u, l); err != nil {
			return err
		}
		return sigra.ErrInvalidCredentials
	}
	if failures > 0 {
		return k.Store.ClearFailures(ctx, u.ID, l.Lock, k.Now())
	}
	return nil
}

// lockState returns the end of u's lockout lock and its count of
// failures.
func lockState(u *store.User, lock store.Lock) (until time.Time, failures int, err error) {
	switch lock {
	case store.LockPassword:
		return u.LockedUntil, u.FailedLogins, nil
	case store.LockMFA:
		return u.MFALockedUntil, u.FailedMFA, nil
	}
	return time.Time{}, 0, fmt.Errorf("sigra/kernel: unknown lock %d", lock)
}

// mailError marks a failure to queue an email inside a transaction.
type mailError struct{ err error }

func (e *mailError) Error() string { return e.err.Error() }
func (e *mailError) Unwrap() error { return e.err }
