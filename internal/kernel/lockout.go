package kernel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/middleware"
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
			var data *ui.Email
			if l.Data != nil {
				data = l.Data()
			} else {
				data = k.RequestEmail(r)
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

// Attempt is one place taken in a lockout's window by [Kernel.Admit].
type Attempt struct {
	// Allowed reports whether the verification may run: false while the
	// window's places are all taken (the account is locked).
	Allowed bool
	// Last reports that this attempt took the window's last place: if it
	// fails, the lock engages.
	Last  bool
	key   string
	reset time.Time // the end of the window the place was taken in
}

// Admit takes one of l.Max places in the current window of l.Duration for
// the account that key names, before any verification. The lockout is
// read before a request's verification, so guesses sent at once would
// all pass that check before any of their failures is counted; places
// are taken atomically in the store (and so across instances), so of any
// number of attempts, sent at once or one by one, at most l.Max are
// verified per window. [Kernel.Release] frees the places after a success.
//
// key names the account the same way for every state of it, existing or
// not ("password:" and the address's key for a sign-in), so that an
// unknown address takes a place as an existing one does.
func (k *Kernel) Admit(ctx context.Context, key string, l Lockout) (Attempt, error) {
	res, err := k.Store.Hit(ctx, key, l.Max, l.Duration, k.Now())
	if err != nil {
		return Attempt{}, fmt.Errorf("sigra/%s: attempt places: %w", k.name, err)
	}
	return attempt(key, l, res), nil
}

// attempt is the Attempt of a hit with result res on key's places.
func attempt(key string, l Lockout, res store.LimitResult) Attempt {
	return Attempt{Allowed: res.Allowed, Last: res.Allowed && res.Count >= l.Max, key: key, reset: res.Reset}
}

// KeyLimit is one rate limit that [Kernel.AdmitAfter] counts: Limit on Key
// (the rule's name prefixed by the caller, as for RateLimiter.Check).
type KeyLimit = middleware.KeyLimit

// AdmitAfter counts one hit on each of limits in order, as the rate
// limiter's Check does, then takes a place of l for key, as [Kernel.Admit]
// does. A limit that refuses ends the sequence with its
// *middleware.LimitError: the refused hit counts, as it would on its own,
// and nothing after it is counted or taken.
//
// When the rate limiter counts in the kernel's own store and the store is
// a store.SequenceLimiter, the whole sequence is one write of the store (on
// PostgreSQL one statement: one round trip, where hits one by one in a
// transaction take five for a sign-in's two limits and place); a failure
// then fails it all, even with the limiter's FailOpen set, since the place
// cannot be taken. Otherwise the hits on the store run in one transaction
// (one commit), and a rate limiter over another store (a MemoryLimiter)
// counts on its own, outside it. Without limits it is [Kernel.Admit].
func (k *Kernel) AdmitAfter(ctx context.Context, limits []KeyLimit, key string, l Lockout) (Attempt, error) {
	if len(limits) == 0 {
		return k.Admit(ctx, key, l)
	}
	if seq, ok := k.Store.(store.SequenceLimiter); ok && sameStore(k.Limiter.Limiter(), k.Store) {
		now := k.Now()
		hits := make([]store.LimitHit, 0, len(limits)+1)
		for _, kl := range limits {
			hits = append(hits, store.LimitHit{Key: kl.Key, Limit: kl.Limit.N, Window: kl.Limit.Window})
		}
		hits = append(hits, store.LimitHit{Key: key, Limit: l.Max, Window: l.Duration})
		res, err := seq.HitSequence(ctx, hits, now)
		if err != nil {
			return Attempt{}, fmt.Errorf("sigra/%s: limits and attempt places: %w", k.name, err)
		}
		if len(res) == 0 {
			return Attempt{}, fmt.Errorf("sigra/%s: limits and attempt places: no results for %d hits", k.name, len(hits))
		}
		last := res[len(res)-1]
		if i := len(res) - 1; i < len(limits) {
			if last.Allowed {
				return Attempt{}, fmt.Errorf("sigra/%s: limits and attempt places: %d results for %d hits", k.name, len(res), len(hits))
			}
			return Attempt{}, middleware.Refusal(limits[i].Key, last, now)
		}
		return attempt(key, l, last), nil
	}
	var a Attempt
	var refused error
	err := k.Store.InTx(ctx, func(ctx context.Context) error {
		for _, kl := range limits {
			if err := k.Limiter.Check(ctx, kl.Key, kl.Limit); errors.Is(err, middleware.ErrLimited) {
				refused = err // committed: the refused hit counts, as it would on its own
				return nil
			} else if err != nil {
				return err
			}
		}
		var err error
		a, err = k.Admit(ctx, key, l)
		return err
	})
	if err == nil {
		err = refused
	}
	return a, err
}

// sameStore reports whether a and b are the same store: the same pointer.
// Stores of other kinds are never the same (an interface comparison of
// values whose type cannot be compared would panic).
func sameStore(a, b any) bool {
	ta := reflect.TypeOf(a)
	return ta != nil && ta.Kind() == reflect.Pointer && ta == reflect.TypeOf(b) && a == b
}

// Refund gives back the place a took, when its verification never ran
// (the hashing pool answered sigra.ErrBusy): an overloaded server must not
// use up an account's attempts, and so lock it, without checking a single
// password. A place taken in a window that has since ended is not given
// back to the next one. ctx may be cancelled: the refund is written all
// the same.
func (k *Kernel) Refund(ctx context.Context, a Attempt) error {
	if a.key == "" || !a.Allowed {
		return nil
	}
	return k.Store.Refund(context.WithoutCancel(ctx), a.key, a.reset)
}

// Release frees the places of a's window after a verified secret.
func (k *Kernel) Release(ctx context.Context, a Attempt) error {
	if a.key == "" {
		return nil
	}
	return k.Store.ResetLimit(ctx, a.key)
}

// PasswordKey is the key of a user's password attempt places (see
// [Kernel.Admit]): the same for a sign-in by address and for a signed-in
// user re-entering a password.
func PasswordKey(email string) string { return "password:" + store.NormalizeEmail(email) }

// CheckPassword re-checks the current password of a signed-in user u
// (before a sensitive change). It takes a place of u's password attempts
// first (see [Kernel.Admit]); while none is free, or while the lock l
// names holds, it answers sigra.ErrLockedOut without hashing. A wrong
// password answers sigra.ErrInvalidCredentials; when it took the window's
// last place, the lock engages (see [Kernel.Engage]). A right one frees
// the places, ends the run of failures and answers nil. A full hashing
// pool answers sigra.ErrBusy. Every user here has a password (callers
// check).
func (k *Kernel) CheckPassword(ctx context.Context, r *http.Request, pw Verifier, u *store.User, plain string, l Lockout) error {
	return k.CheckPasswordAfter(ctx, r, pw, u, plain, l, nil)
}

// CheckPasswordAfter is [Kernel.CheckPassword] with rate limits counted
// first, in order, with the attempt place, as [Kernel.AdmitAfter] counts
// them: over the kernel's own store one write (on PostgreSQL one
// statement). A limit that refuses answers its *middleware.LimitError, and
// takes no place. While the lock l names holds, nothing is counted.
func (k *Kernel) CheckPasswordAfter(ctx context.Context, r *http.Request, pw Verifier, u *store.User, plain string, l Lockout, limits []KeyLimit) error {
	until, failures, err := lockState(u, l.Lock)
	if err != nil {
		return err
	}
	if k.Now().Before(until) {
		return sigra.ErrLockedOut
	}
	a, err := k.AdmitAfter(ctx, limits, PasswordKey(u.Email), l)
	if err != nil {
		return err
	}
	if !a.Allowed {
		return sigra.ErrLockedOut
	}
	ok, _, err := pw.Verify(ctx, plain, u.PasswordHash)
	if errors.Is(err, sigra.ErrBusy) {
		return errors.Join(err, k.Refund(ctx, a))
	}
	if !ok {
		if err != nil {
			k.Log.WarnContext(ctx, "stored password hash could not be verified", "user", u.ID, "err", err)
		}
		if a.Last {
			if err := k.Engage(ctx, r, u, l); err != nil {
				return err
			}
		}
		return sigra.ErrInvalidCredentials
	}
	if err := k.Release(ctx, a); err != nil {
		return err
	}
	if failures > 0 {
		return k.Store.ClearFailures(ctx, u.ID, l.Lock, k.Now())
	}
	return nil
}

// ClearPasswordLock ends u's password lockout and frees its attempt
// places (in the transaction ctx carries, if any): after a new password
// is set, or a sign-in proved the owner's control of the account another
// way (an emailed link).
func (k *Kernel) ClearPasswordLock(ctx context.Context, u *store.User) error {
	if err := k.Store.ClearFailures(ctx, u.ID, store.LockPassword, k.Now()); err != nil {
		return err
	}
	return k.Store.ResetLimit(ctx, PasswordKey(u.Email))
}

// Engage locks l for u now, for l.Duration, after a failure took the last
// place of its window: the lock, its audit row and the notice commit
// together, as in [Kernel.CountFailure] (a notice that cannot be queued
// does not undo the lock). r may be nil when l.Data builds the notice's
// data (a job run after the request).
func (k *Kernel) Engage(ctx context.Context, r *http.Request, u *store.User, l Lockout) error {
	l.Max = 1
	_, err := k.CountFailure(ctx, r, u, l)
	return err
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
