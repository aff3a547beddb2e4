package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// MessageReader is implemented by stores that can return one outbox message
// by ID, whether queued, sent or given up. The suite uses it to check that
// MarkSent and GiveUp erase the sealed body and which rows PurgeMessages
// deletes; it is not part of [store.Store].
type MessageReader interface {
	// MessageByID returns the message with id, or an error wrapping
	// store.ErrNotFound.
	MessageByID(ctx context.Context, id string) (*store.Message, error)
}

// check is one subtest: it receives a fresh store of its own.
type check struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// Run runs the conformance suite against the store returned by open.
//
// open is called once per subtest, from inside the subtest, and must return a
// fresh, empty, migrated store that shares nothing with the stores of other
// subtests: the subtests run in parallel. open should register the store's
// cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name   string
		checks []check
	}{
		{"Users", userChecks()},
		{"Sessions", sessionChecks()},
		{"Tokens", tokenChecks()},
		{"Limiter", limiterChecks()},
		{"Outbox", outboxChecks()},
		{"AuditLog", auditChecks()},
		{"TOTP", totpChecks()},
		{"RecoveryCodes", recoveryChecks()},
		{"TrustedBrowsers", trustedChecks()},
		{"WithTx", txChecks()},
		{"Times", timeChecks()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range g.checks {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					s := open(t)
					if s == nil {
						t.Fatal("open returned a nil store")
					}
					c.fn(t, s)
				})
			}
		})
	}
}

// t0 is the suite's reference "now": millisecond precision, UTC.
var t0 = time.Date(2026, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// digest returns a 32-byte digest standing for the secret s.
func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// newUser creates a user with email, created at t0.
func newUser(t *testing.T, s store.Store, email string) *store.User {
	t.Helper()
	u := &store.User{Email: email, CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	if u.ID == "" {
		t.Fatalf("CreateUser(%q) left ID empty", email)
	}
	return u
}

// getUser reads a user that must exist.
func getUser(t *testing.T, s store.Store, id string) *store.User {
	t.Helper()
	u, err := s.UserByID(t.Context(), id)
	if err != nil {
		t.Fatalf("UserByID(%q): %v", id, err)
	}
	return u
}

// sameTime reports a failure unless got and want are both zero, or are the
// same instant and got is in UTC.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Errorf("%s: got %v, want the zero time", what, got)
		}
		return
	}
	if !got.Equal(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s: got location %v, want UTC", what, got.Location())
	}
}

// wantErr reports a failure unless err wraps target (or is nil when target
// is nil).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Errorf("%s: got error %v, want nil", what, err)
	case target != nil && !errors.Is(err, target):
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// must fails the test at once on err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// race runs fn(i) for i in [0, n) on n goroutines released together, and
// returns their errors by index.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// countOutcomes counts nil errors and errors wrapping target; any other
// error fails the test.
func countOutcomes(t *testing.T, what string, errs []error, target error) (ok, matched int) {
	t.Helper()
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, target):
			matched++
		default:
			t.Errorf("%s: goroutine %d: unexpected error %v", what, i, err)
		}
	}
	return ok, matched
}
