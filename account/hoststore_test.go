package account_test

import (
	"net/http"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/storetest"
)

// TestHostStoreConformance: a store that has exactly account.Store (the
// hostStore of the examples, over the SQLite adapter) has none of the
// second factors' or the outbox's interfaces, and passes the parts of the
// conformance suite for the interfaces it has: exactly those run.
func TestHostStoreConformance(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[hostStore]()
	for _, other := range []reflect.Type{reflect.TypeFor[store.Outbox](), reflect.TypeFor[store.TOTP](), reflect.TypeFor[store.RecoveryCodes](), reflect.TypeFor[store.TrustedBrowsers]()} {
		if typ.Implements(other) {
			t.Errorf("hostStore implements %v, want only account.Store", other)
		}
	}

	var mu sync.Mutex
	ran := map[string]bool{}
	t.Run("conformance", func(t *testing.T) {
		prefix := t.Name() + "/"
		storetest.Run(t, func(t *testing.T) hostStore {
			part, _, _ := strings.Cut(strings.TrimPrefix(t.Name(), prefix), "/")
			mu.Lock()
			ran[part] = true
			mu.Unlock()
			db, _ := apptest.OpenStore(t, "sqlite")
			return hostStore{db}
		})
	})
	// t.Run returns once the parallel checks have finished.
	var got []string
	for p := range ran {
		got = append(got, p)
	}
	slices.Sort(got)
	want := []string{string(storetest.AuditLog), string(storetest.Limiter), string(storetest.Sessions), string(storetest.SignIns), string(storetest.Times), string(storetest.Tokens), string(storetest.Transactions), string(storetest.Users)}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("parts run: got %q, want %q", got, want)
	}
}

// TestHostStoreFlows: the account flows run on a store that has only
// account.Store (the outbox keeps the application's store, whose
// transactions the host store's share): registration, confirmation,
// sign-in and a password reset.
func TestHostStoreFlows(t *testing.T) {
	t.Parallel()
	onHostStore := func(a *apptest.App, c *account.Config) { c.Store = hostStore{a.Store} }
	each(t, opts{Config: onHostStore}, func(t *testing.T, a *app) {
		c := a.Client(t)
		wantStatus(t, "register", c.Post("/auth/register", form("email", "new@example.com", "password", pw)), http.StatusOK)
		link := apptest.Link(t, a.LastMail(t, "new@example.com"), "/auth/confirm")
		wantRedirect(t, "confirm", c.Post("/auth/confirm", form("token", apptest.TokenOf(link))), "/auth/login?notice=confirmed")
		if a.User(t, "new@example.com").EmailConfirmedAt.IsZero() {
			t.Fatal("after confirming: got an unconfirmed address, want it confirmed")
		}
		c.SignIn("new@example.com", pw)
		wantSignedIn(t, c, "new@example.com")

		reset := requestReset(t, a, "new@example.com")
		wantRedirect(t, "reset", a.Client(t).Post("/auth/password/reset", form("token", apptest.TokenOf(reset), "password", "a brand new passphrase")), "/auth/login?notice=reset")
		wantAnonymous(t, c)
		if m := a.LastMail(t, "new@example.com"); !strings.Contains(m.Subject, "password was reset") {
			t.Errorf("last email: got %q, want the reset notice", m.Subject)
		}
		c.SignIn("new@example.com", "a brand new passphrase")
		wantSignedIn(t, c, "new@example.com")
	})
}

// TestNoSecondFactorDependency: the account package does not depend on the
// mfa package; they meet through the SecondFactor interface.
func TestNoSecondFactorDependency(t *testing.T) {
	t.Parallel()
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH, so the package's dependencies cannot be listed")
	}
	out, err := exec.Command(gotool, "list", "-deps", "github.com/sigra-go/sigra/account").Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	for _, want := range []string{"github.com/sigra-go/sigra/account", "github.com/sigra-go/sigra/internal/kernel", "github.com/sigra-go/sigra/session"} {
		if !slices.Contains(deps, want) {
			t.Fatalf("go list -deps: got no %s in %q: the listing is not the account package's", want, deps)
		}
	}
	for _, d := range deps {
		if d == "github.com/sigra-go/sigra/mfa" || strings.HasPrefix(d, "github.com/sigra-go/sigra/mfa/") {
			t.Errorf("account depends on %s, want no dependency on the mfa package", d)
		}
	}
}
