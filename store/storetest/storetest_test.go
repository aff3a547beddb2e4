package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/store/storetest"
)

// recorder collects the names of the subtests that opened a store: Run
// opens one in every check it runs.
type recorder struct {
	mu    sync.Mutex
	names []string
}

func (r *recorder) open(t *testing.T) hostStore {
	r.mu.Lock()
	r.names = append(r.names, t.Name())
	r.mu.Unlock()
	return openHostStore(t)
}

// parts returns the parts whose checks opened a store, in order, and the
// check names seen, without the prefix (the name of the test that called
// Run, and a slash).
func (r *recorder) parts(prefix string) (parts []string, checks []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range r.names {
		rest, ok := strings.CutPrefix(name, prefix+"/")
		if !ok {
			continue
		}
		checks = append(checks, rest)
		part, _, _ := strings.Cut(rest, "/")
		if !slices.Contains(parts, part) {
			parts = append(parts, part)
		}
	}
	slices.Sort(parts)
	return parts, checks
}

// TestRunPartialStore: with no parts named, Run runs the parts the type
// implements, and only those.
func TestRunPartialStore(t *testing.T) {
	var rec recorder
	t.Run("suite", func(t *testing.T) {
		storetest.Run(t, rec.open)
	})
	parts, checks := rec.parts(t.Name() + "/suite")
	want := []string{"AuditLog", "Limiter", "Outbox", "Sessions", "Times", "Tokens", "Transactions", "Users"}
	if !slices.Equal(parts, want) {
		t.Errorf("parts run for hostStore: got %v, want %v", parts, want)
	}
	// Subtests are named Part/Method/Case.
	for _, name := range []string{"Users/CreateUser/Fills", "Sessions/SaveSession/Tombstone", "Transactions/WithoutTx", "Times/RoundTrip"} {
		if !slices.Contains(checks, name) {
			t.Errorf("checks run: no %q among %d", name, len(checks))
		}
	}
}

// TestRunNamedParts: with parts named, Run runs those only.
func TestRunNamedParts(t *testing.T) {
	var rec recorder
	t.Run("suite", func(t *testing.T) {
		storetest.Run(t, rec.open, storetest.Limiter, storetest.AuditLog, storetest.Limiter)
	})
	parts, _ := rec.parts(t.Name() + "/suite")
	if want := []string{"AuditLog", "Limiter"}; !slices.Equal(parts, want) {
		t.Errorf("parts run: got %v, want %v", parts, want)
	}
}

// The failures of Run are observed in a child process: the test binary
// run again with helperEnv set runs TestHelperProcess alone.
const helperEnv = "STORETEST_HELPER"

type (
	usersOnly   interface{ store.Users }
	limiterOnly interface{ store.Limiter }
)

// detachedFactors is a broken store: its second-factor methods do not join
// the transaction of their context. With writes set they write outside it
// (on SQLite they wait for the writer connection the transaction holds,
// and give up after the busy timeout); otherwise they read outside it,
// and miss its writes.
type detachedFactors struct {
	*sqlite.DB
	writes bool
}

// openDetached returns a fresh detachedFactors over SQLite.
func openDetached(t *testing.T, writes bool) *detachedFactors {
	db, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "detached.db"), BusyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &detachedFactors{DB: db, writes: writes}
}

// w and r return the context the methods write and read with.
func (d *detachedFactors) w(ctx context.Context) context.Context {
	if d.writes {
		return store.WithoutTx(ctx)
	}
	return ctx
}

func (d *detachedFactors) r(ctx context.Context) context.Context {
	if d.writes {
		return ctx
	}
	return store.WithoutTx(ctx)
}

func (d *detachedFactors) SavePendingTOTP(ctx context.Context, s *store.TOTPSecret) error {
	return d.DB.SavePendingTOTP(d.w(ctx), s)
}

func (d *detachedFactors) TOTPByUser(ctx context.Context, userID string) (*store.TOTPSecret, error) {
	return d.DB.TOTPByUser(d.r(ctx), userID)
}

func (d *detachedFactors) UseTOTPStep(ctx context.Context, userID string, step int64, confirm bool, now time.Time) error {
	return d.DB.UseTOTPStep(d.w(ctx), userID, step, confirm, now)
}

func (d *detachedFactors) DeleteTOTP(ctx context.Context, userID string) error {
	return d.DB.DeleteTOTP(d.w(ctx), userID)
}

func (d *detachedFactors) ReplaceRecoveryCodes(ctx context.Context, userID string, digests [][]byte, now time.Time) error {
	return d.DB.ReplaceRecoveryCodes(d.w(ctx), userID, digests, now)
}

func (d *detachedFactors) UseRecoveryCode(ctx context.Context, userID string, digest []byte, now time.Time) (int, error) {
	return d.DB.UseRecoveryCode(d.w(ctx), userID, digest, now)
}

func (d *detachedFactors) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	return d.DB.CountRecoveryCodes(d.r(ctx), userID)
}

func (d *detachedFactors) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	return d.DB.DeleteRecoveryCodes(d.w(ctx), userID)
}

func (d *detachedFactors) CreateTrustedBrowser(ctx context.Context, b *store.TrustedBrowser) error {
	return d.DB.CreateTrustedBrowser(d.w(ctx), b)
}

func (d *detachedFactors) TrustedBrowserByDigest(ctx context.Context, userID string, digest []byte, now time.Time) (*store.TrustedBrowser, error) {
	return d.DB.TrustedBrowserByDigest(d.r(ctx), userID, digest, now)
}

func (d *detachedFactors) TrustedBrowsersByUser(ctx context.Context, userID string, now time.Time) ([]*store.TrustedBrowser, error) {
	return d.DB.TrustedBrowsersByUser(d.r(ctx), userID, now)
}

func (d *detachedFactors) RevokeTrustedBrowser(ctx context.Context, userID, id string) error {
	return d.DB.RevokeTrustedBrowser(d.w(ctx), userID, id)
}

func (d *detachedFactors) RevokeTrustedBrowsers(ctx context.Context, userID string) (int, error) {
	return d.DB.RevokeTrustedBrowsers(d.w(ctx), userID)
}

// TestHelperProcess is not a test of its own: it runs Run as the child
// process of TestRunRefuses asks, and does nothing otherwise.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	users := func(t *testing.T) usersOnly { return openHostStore(t) }
	limiter := func(t *testing.T) limiterOnly { return openHostStore(t) }
	switch mode {
	case "missing":
		storetest.Run(t, users, storetest.Users, storetest.Sessions, storetest.Transactions)
	case "unknown":
		storetest.Run(t, users, storetest.Users, "Carrier pigeons")
	case "none":
		storetest.Run(t, func(t *testing.T) error { return errors.New("not a store") })
	case "skipping":
		storetest.Run(t, limiter)
	case "detached-writes":
		storetest.Run(t, func(t *testing.T) *detachedFactors { return openDetached(t, true) }, storetest.Transactions)
	case "detached-reads":
		storetest.Run(t, func(t *testing.T) *detachedFactors { return openDetached(t, false) }, storetest.Transactions)
	default:
		t.Fatalf("unknown %s %q", helperEnv, mode)
	}
}

// runHelper runs TestHelperProcess in a child process in the given mode
// and returns its output and whether it failed.
func runHelper(t *testing.T, mode string) (string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the test binary: %v", err)
	}
	return string(out), err != nil
}

func TestRunRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode string
		want []string // in the output
	}{
		{"missing", []string{
			"part Sessions needs store.Sessions, which storetest_test.usersOnly does not implement",
			"part Transactions needs store.Transactor, which storetest_test.usersOnly does not implement",
		}},
		{"unknown", []string{`"Carrier pigeons" is not a part of the suite`}},
		{"none", []string{"error implements none of the interfaces the parts need"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			out, failed := runHelper(t, tt.mode)
			if !failed {
				t.Fatalf("Run in mode %s: passed, want it to fail; output:\n%s", tt.mode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output of mode %s: no %q in:\n%s", tt.mode, w, out)
				}
			}
			// It fails before running anything, even the parts it could.
			if strings.Contains(out, "=== RUN   TestHelperProcess/") {
				t.Errorf("output of mode %s: subtests ran, want none:\n%s", tt.mode, out)
			}
		})
	}
}

// TestTransactionsCheckFactors: the Transactions part writes and reads the
// second factors in transactions, so a store whose second-factor methods
// do not join the context's transaction fails it.
func TestTransactionsCheckFactors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode string
		want []string // in the output
	}{
		{"detached-writes", []string{
			"--- FAIL: TestHelperProcess/Transactions/Commit",
			"--- FAIL: TestHelperProcess/Transactions/Rollback",
			"--- FAIL: TestHelperProcess/Transactions/ReadOwnWrites",
			"SavePendingTOTP: the writer connection stayed busy",
		}},
		{"detached-reads", []string{
			"--- FAIL: TestHelperProcess/Transactions/Commit",
			"--- FAIL: TestHelperProcess/Transactions/ReadOwnWrites",
			"TOTPByUser after SavePendingTOTP and UseTOTPStep with the same context",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			out, failed := runHelper(t, tt.mode)
			if !failed {
				t.Fatalf("Transactions part with second factors outside the transaction (%s): passed, want it to fail; output:\n%s", tt.mode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output of mode %s: no %q in:\n%s", tt.mode, w, out)
				}
			}
		})
	}
}

func TestRunLogsSkippedParts(t *testing.T) {
	t.Parallel()
	out, failed := runHelper(t, "skipping")
	if failed {
		t.Fatalf("Run with a Limiter-only store: failed, want it to pass; output:\n%s", out)
	}
	for _, w := range []string{
		"skipping part Users: storetest_test.limiterOnly does not implement store.Users",
		"skipping part Sessions: storetest_test.limiterOnly does not implement store.Users and store.Sessions",
		"skipping part Transactions: storetest_test.limiterOnly does not implement store.Transactor and store.Users",
		"skipping part Times: storetest_test.limiterOnly does not implement store.Users",
		"--- PASS: TestHelperProcess/Limiter/Hit/Concurrent",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output: no %q in:\n%s", w, out)
		}
	}
	if strings.Contains(out, "=== RUN   TestHelperProcess/Users") {
		t.Errorf("output: the Users part ran for a Limiter-only store:\n%s", out)
	}
}
