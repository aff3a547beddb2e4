package account_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/store"
)

// wide lifts the per-IP and per-account request limits, so that only the
// lockout stands between a burst of guesses and the password.
func wide(_ *apptest.App, c *account.Config) {
	many := middleware.Limit{N: 1000, Window: 15 * time.Minute}
	c.Limits.LoginPerIP, c.Limits.LoginPerAccount = many, many
	c.Limits.EmailPerIP, c.Limits.EmailPerAddress = many, many
}

// hashing returns the password computations of a's hasher so far that a
// sign-in makes: verifications and dummy verifications.
func hashing(a *app) (verified, dummies uint64) {
	s := a.Hasher.Stats()
	return s.Verifications, s.Dummies
}

// TestLockoutRace: fifty wrong guesses sent at once, then the right
// password. Attempt places are taken atomically before any hashing, so at
// most MaxFailures (5) passwords are verified, the right one is refused
// while the lock holds, and the lock engages once with one notice.
func TestLockoutRace(t *testing.T) {
	t.Parallel()
	each(t, opts{Config: wide}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		v0, _ := hashing(a)
		var wg sync.WaitGroup
		codes := make(chan int, 50)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := loginJSON(a.Client(t), "user@example.com", fmt.Sprintf("wrong guess %d", i))
				codes <- res.StatusCode
			}()
		}
		wg.Wait()
		close(codes)
		for c := range codes {
			if c != http.StatusUnauthorized {
				t.Fatalf("a wrong guess answered %d, want 401", c)
			}
		}
		right := loginJSON(a.Client(t), "user@example.com", pw)
		wantError(t, "right password after the burst", right, http.StatusUnauthorized, "invalid_credentials")
		v1, _ := hashing(a)
		if got := v1 - v0; got > 5 || got == 0 {
			t.Fatalf("passwords verified: got %d, want at most 5 (and some)", got)
		}
		a.Flush(t)
		if got := a.User(t, "user@example.com"); !got.LockedUntil.After(a.Clock.Now()) {
			t.Fatalf("after the burst: got LockedUntil %v, want a lock", got.LockedUntil)
		}
		if got := subjects(t, a, "user@example.com"); len(got) != 1 {
			t.Errorf("lockout notices: got %q, want one", got)
		}
		wantAudit(t, a, audit.ActionLockout, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success"})
		// The lock lifts on time, and the right password then signs in.
		a.Clock.Advance(15 * time.Minute)
		c := a.Client(t)
		c.SignIn("user@example.com", pw)
		wantSignedIn(t, c, "user@example.com")
	})
}

// addressStates makes one account in each state a request can find at an
// address, and returns the addresses by state ("unknown" has none).
func addressStates(t *testing.T, a *app) map[string]string {
	t.Helper()
	ctx := context.Background()
	states := map[string]string{
		"existing":    "existing@example.com",
		"unknown":     "unknown@example.com",
		"unconfirmed": "unconfirmed@example.com",
		"locked":      "locked@example.com",
		"disabled":    "disabled@example.com",
		"no password": "nopassword@example.com",
	}
	newUser(t, a, states["existing"])
	a.Clock.Advance(time.Millisecond)
	un := &store.User{Email: states["unconfirmed"], PasswordHash: a.User(t, states["existing"]).PasswordHash, CreatedAt: a.Clock.Now()}
	if err := a.Store.CreateUser(ctx, un); err != nil {
		t.Fatal(err)
	}
	newUser(t, a, states["locked"])
	for range 5 {
		loginJSON(a.Client(t), states["locked"], "wrong password")
	}
	a.Flush(t)
	if !a.User(t, states["locked"]).LockedUntil.After(a.Clock.Now()) {
		t.Fatal("the locked account is not locked")
	}
	d := newUser(t, a, states["disabled"])
	if err := a.Store.SetDisabled(ctx, d.ID, a.Clock.Now(), a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	np := &store.User{Email: states["no password"], EmailConfirmedAt: a.Clock.Now(), CreatedAt: a.Clock.Now()}
	if err := a.Store.CreateUser(ctx, np); err != nil {
		t.Fatal(err)
	}
	return states
}

// work is what a request did before its answer.
type work struct {
	status         int
	body           string
	writes         int64
	hashes, dummys uint64
}

// measure sends one request and returns the work it did.
func measure(t *testing.T, a *app, send func() *apptest.Response) work {
	t.Helper()
	w0 := a.Writes(t)
	v0, d0 := hashing(a)
	res := send()
	v1, d1 := hashing(a)
	return work{status: res.StatusCode, body: res.Body, writes: a.Writes(t) - w0, hashes: v1 - v0, dummys: d1 - d0}
}

// TestSignInEqualWork: a wrong password costs the same work whatever the
// address's state: the same answer, one password computation (a dummy
// one where there is no hash to check or the account is locked) and the
// same number of store writes, all counted before the answer.
func TestSignInEqualWork(t *testing.T) {
	t.Parallel()
	each(t, opts{Config: wide}, func(t *testing.T, a *app) {
		states := addressStates(t, a)
		var first *work
		firstState := ""
		for state, addr := range states {
			got := measure(t, a, func() *apptest.Response { return loginJSON(a.Client(t), addr, "a wrong password") })
			if got.hashes+got.dummys != 1 {
				t.Errorf("%s: %d password computations, want 1", state, got.hashes+got.dummys)
			}
			if first == nil {
				first, firstState = &got, state
				continue
			}
			if got.status != first.status || got.body != first.body || got.writes != first.writes {
				t.Errorf("%s: answered %d with %d writes; %s: %d with %d writes; want the same\n%s\n%s",
					state, got.status, got.writes, firstState, first.status, first.writes, got.body, first.body)
			}
		}
		if first.status != http.StatusUnauthorized || first.writes == 0 {
			t.Errorf("got %d with %d writes, want 401 with the limits' and the audit row's writes", first.status, first.writes)
		}
	})
}

// TestEmailRequestsEqualWork: a password reset, a sign-in link or a new
// confirmation email asked for an address does the same work before the
// answer whatever the address's state (no hashing, the same writes: the
// limits and one queued job); the email itself is sent by the job, and
// only where an account should get it.
func TestEmailRequestsEqualWork(t *testing.T) {
	t.Parallel()
	requests := []struct {
		name, path string
		// gets lists the states whose address receives an email.
		gets map[string]bool
	}{
		{"reset", "/auth/password/forgot", map[string]bool{"existing": true, "unconfirmed": true, "locked": true, "no password": true}},
		{"magic link", "/auth/magic", map[string]bool{"existing": true, "unconfirmed": true, "locked": true, "no password": true}},
		{"resend", "/auth/confirm/resend", map[string]bool{"unconfirmed": true}},
	}
	each(t, opts{Config: wide}, func(t *testing.T, a *app) {
		states := addressStates(t, a)
		for _, rq := range requests {
			a.Flush(t)
			sent := map[string]int{}
			for _, addr := range states {
				sent[addr] = len(a.Mails(t, addr))
			}
			var first *work
			firstState := ""
			for state, addr := range states {
				got := measure(t, a, func() *apptest.Response {
					return a.Client(t).JSON("POST", rq.path, jsonOf(map[string]string{"email": addr}))
				})
				if got.hashes+got.dummys != 0 {
					t.Errorf("%s, %s: %d password computations, want none", rq.name, state, got.hashes+got.dummys)
				}
				if first == nil {
					first, firstState = &got, state
					continue
				}
				if got.status != first.status || got.body != first.body || got.writes != first.writes {
					t.Errorf("%s: %s answered %d with %d writes; %s: %d with %d writes; want the same\n%s\n%s",
						rq.name, state, got.status, got.writes, firstState, first.status, first.writes, got.body, first.body)
				}
			}
			if first.status != http.StatusOK && first.status != http.StatusSeeOther {
				t.Errorf("%s: answered %d %s, want success", rq.name, first.status, first.body)
			}
			a.Flush(t)
			for state, addr := range states {
				n := len(a.Mails(t, addr)) - sent[addr]
				if want := rq.gets[state]; (n == 1) != want || n > 1 {
					t.Errorf("%s: %s got %d emails, want one: %v", rq.name, state, n, want)
				}
			}
		}
	})
}

// TestPasswordAloneKeepsDeletion: a password sign-in of a user with a
// second factor does not cancel a scheduled deletion until the second
// factor completes the sign-in: someone with the password alone cannot
// keep an account its owner asked to delete.
func TestPasswordAloneKeepsDeletion(t *testing.T) {
	t.Parallel()
	each(t, opts{Second: true}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		scheduleDeletion(t, signedIn(t, a, "user@example.com"), "user@example.com")
		a.Second.enroll(u.ID, "123456")
		// The second step: the tests' second factor completes the sign-in.
		a.Mux.HandleFunc("POST /auth/test/second-factor-done", func(w http.ResponseWriter, r *http.Request) {
			if err := a.Sessions.CompleteSecondFactor(r.Context(), sigra.MethodTOTP); err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		c := a.Client(t)
		res := c.Post("/auth/login", form("email", "user@example.com", "password", pw))
		wantRedirect(t, "password of an enrolled user", res, "/auth/mfa/challenge")
		if got := a.User(t, "user@example.com").DeletionDueAt; got.IsZero() {
			t.Fatal("the password alone cancelled the scheduled deletion")
		}
		wantStatus(t, "second factor", c.JSON("POST", "/auth/test/second-factor-done", "{}"), http.StatusNoContent)
		if got := a.User(t, "user@example.com").DeletionDueAt; !got.IsZero() {
			t.Errorf("after the second factor: DeletionDueAt %v, want cancelled", got)
		}
	})
}

// TestPendingEmailRevealsNothing: asking to change to an address another
// account holds answers as for a free address, and the settings page then
// shows it as pending as it shows a free one; cancelling clears it.
func TestPendingEmailRevealsNothing(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		newUser(t, a, "other@example.com")
		newUser(t, a, "taken@example.com")
		pages := map[string]string{}
		answers := map[string]string{}
		for who, target := range map[string]string{"user@example.com": "taken@example.com", "other@example.com": "free@example.com"} {
			c := signedIn(t, a, who)
			res := c.JSON("POST", "/auth/email", jsonOf(map[string]string{"email": target}))
			answers[target] = fmt.Sprint(res.StatusCode, res.Body)
			page := c.Get("/auth/settings")
			wantStatus(t, "settings", page, http.StatusOK)
			if !strings.Contains(page.Body, target) {
				t.Errorf("settings after asking for %s: the address is not shown as pending", target)
			}
			pages[target] = strings.ReplaceAll(strings.ReplaceAll(page.Body, target, "TARGET"), who, "WHO")
			if target == "taken@example.com" {
				c.Post("/auth/email/cancel", form())
				if page := c.Get("/auth/settings"); strings.Contains(page.Body, target) {
					t.Errorf("settings after cancelling: %s still shown as pending", target)
				}
			}
		}
		if answers["taken@example.com"] != answers["free@example.com"] {
			t.Errorf("answers differ: taken %s, free %s", answers["taken@example.com"], answers["free@example.com"])
		}
		if len(subjects(t, a, "taken@example.com")) != 0 {
			t.Error("the holder of the taken address got an email")
		}
	})
}
