package account_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/password"
)

// rangeServer is a Pwned Passwords range API over real HTTP: GET
// /range/{prefix} answers the suffixes of the SHA-1 hashes it knows under
// that prefix, with their counts, plus padding lines of count 0, as the
// real service does. It counts the requests, and fails them while failing
// is set.
type rangeServer struct {
	*httptest.Server
	mu      sync.Mutex
	counts  map[string]int // upper-case SHA-1 hex → times seen
	calls   int
	failing bool
}

func newRangeServer(t testing.TB, breached ...string) *rangeServer {
	rs := &rangeServer{counts: map[string]int{}}
	for _, p := range breached {
		rs.breach(p)
	}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		rs.calls++
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if rs.failing || !ok || len(prefix) != 5 {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		// Padding first, then the known suffixes.
		fmt.Fprintf(w, "%035X:0\r\n", 1)
		for h, n := range rs.counts {
			if s, ok := strings.CutPrefix(h, strings.ToUpper(prefix)); ok {
				fmt.Fprintf(w, "%s:%d\r\n", s, n)
			}
		}
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *rangeServer) breach(p string) {
	sum := sha1.Sum([]byte(p))
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.counts[strings.ToUpper(hex.EncodeToString(sum[:]))] = 12345
}

func (rs *rangeServer) requests() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.calls
}

func (rs *rangeServer) fail(on bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.failing = on
}

// breachOpts are the options of an application whose password policy asks
// rs (cheap hashing parameters, as every test's).
func breachOpts(t testing.TB, rs *rangeServer, o opts) opts {
	t.Helper()
	rc, err := password.NewRangeClient(password.RangeConfig{BaseURL: rs.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	o.Passwords, err = password.New(password.Config{
		Params:                  password.Params{Memory: 64, Time: 1, Threads: 1},
		InsecureAllowWeakParams: true,
		Policy:                  password.Policy{Breach: rc},
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

const newPW = "a fresh unbreached passphrase"

// A password found in a breach at sign-in signs the user in, sends them to
// choose a new one, and keeps them there on every guarded route until
// they do; the change revokes their other sessions and ends the detour.
func TestBreachedPasswordAtSignIn(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			rs := newRangeServer(t, pw)
			a := newApp(t, breachOpts(t, rs, opts{Backend: b}))
			u := newUser(t, a, "user@example.com")
			other := a.Client(t)
			other.SignIn("user@example.com", pw)

			c := a.Client(t)
			res := c.SignIn("user@example.com", pw)
			wantRedirect(t, "sign-in", res, "/auth/password/renew")
			if state, _, _ := c.Whoami(); state != "authenticated" {
				t.Fatalf("got state %q, want authenticated: the sign-in goes on", state)
			}
			wantAudit(t, a, audit.ActionPasswordBreached, u.ID, 2, auditWant{Actor: u.ID, Subject: u.ID, Outcome: audit.OutcomeSuccess})

			// Every guarded route sends the user to the page first.
			wantRedirect(t, "GET /private", c.Get("/private"), "/auth/password/renew?return_to=%2Fprivate")
			wantRedirect(t, "GET settings", c.Get("/auth/settings"), "/auth/password/renew?return_to=%2Fauth%2Fsettings")
			wantRedirect(t, "GET /billing", c.Get("/billing"), "/auth/password/renew?return_to=%2Fbilling")
			wantError(t, "JSON GET /private", c.JSON("GET", "/private", ""), http.StatusForbidden, "password_change_required")
			res = c.Get("/auth/password/renew?return_to=%2Fprivate")
			wantStatus(t, "GET renew", res, http.StatusOK)
			if !strings.Contains(res.Body, "data breach") || strings.Contains(res.Body, `name="current_password"`) {
				t.Fatalf("renew page: want the breach explained and no current password within the sudo window:\n%s", res.Body)
			}

			// The breached password again is refused by the policy, and
			// nothing changes.
			before := a.User(t, "user@example.com").PasswordHash
			res = c.Post("/auth/password/renew", form("password", pw, "return_to", "/private"))
			wantStatus(t, "renew with the breached password", res, http.StatusUnprocessableEntity)
			if a.User(t, "user@example.com").PasswordHash != before {
				t.Fatal("a refused renewal changed the password")
			}
			wantRedirect(t, "GET /private after a refused renewal", c.Get("/private"), "/auth/password/renew?return_to=%2Fprivate")

			res = c.Post("/auth/password/renew", form("password", newPW, "return_to", "/private"))
			wantRedirect(t, "renew", res, "/private?notice=password_changed")
			wantStatus(t, "GET /private after the change", c.Get("/private"), http.StatusOK)
			wantStatus(t, "GET /billing after the change", c.Get("/billing"), http.StatusOK)
			wantAudit(t, a, audit.ActionPasswordChange, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: audit.OutcomeSuccess, Metadata: map[string]string{"reason": "breached"}})
			if ok, _, err := a.Hasher.Verify(ctx, newPW, a.User(t, "user@example.com").PasswordHash); err != nil || !ok {
				t.Fatalf("the new password does not verify: %v", err)
			}
			// The other browser, signed in with the breached password, is
			// signed out.
			wantRedirect(t, "other session's GET /private", other.Get("/private"), "/auth/login?return_to=%2Fprivate")
			a.Flush(t)
			if got := subjects(t, a, "user@example.com"); len(got) == 0 || !strings.Contains(strings.ToLower(got[len(got)-1]), "password") {
				t.Fatalf("got mails %q, want the password-changed notice last", got)
			}

			// The new password is clean: a sign-in with it goes straight on.
			res = a.Client(t).SignIn("user@example.com", newPW)
			wantRedirect(t, "sign-in with the new password", res, "/")
		})
	}
}

// A clean answer is remembered for BreachCheck.Every; a breached password
// and a failed check are asked again at the next sign-in.
func TestBreachCheckThrottle(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, backend string) {
		rs := newRangeServer(t, "breached passphrase one")
		a := newApp(t, breachOpts(t, rs, opts{Backend: backend}))
		newUser(t, a, "clean@example.com")
		for i := range 3 {
			wantRedirect(t, fmt.Sprintf("clean sign-in %d", i), a.Client(t).SignIn("clean@example.com", pw), "/")
		}
		if n := rs.requests(); n != 1 {
			t.Fatalf("three clean sign-ins asked the service %d times, want 1", n)
		}
		a.Clock.Advance(25 * time.Hour)
		a.Client(t).SignIn("clean@example.com", pw)
		if n := rs.requests(); n != 2 {
			t.Fatalf("a sign-in after a day: %d requests in all, want 2", n)
		}

		a.CreateUser(t, "breached@example.com", "breached passphrase one")
		for range 3 {
			wantRedirect(t, "breached sign-in", a.Client(t).SignIn("breached@example.com", "breached passphrase one"), "/auth/password/renew")
		}
		if n := rs.requests(); n != 5 {
			t.Fatalf("three breached sign-ins: %d requests in all, want 5 (each asked)", n)
		}

		rs.fail(true)
		newUser(t, a, "flaky@example.com")
		a.Client(t).SignIn("flaky@example.com", pw)
		rs.fail(false)
		a.Client(t).SignIn("flaky@example.com", pw)
		a.Client(t).SignIn("flaky@example.com", pw)
		if n := rs.requests(); n != 7 {
			t.Fatalf("a failed check, then two sign-ins: %d requests in all, want 7 (asked after the failure, then remembered)", n)
		}
	})
}

// backends runs f for every backend, in parallel subtests named after it.
func backends(t *testing.T, f func(t *testing.T, backend string)) {
	t.Helper()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// Fail-open (the default): a failed check lets the sign-in through, with a
// warning in the log and an audit event.
func TestBreachCheckFailOpen(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			rs := newRangeServer(t, pw)
			rs.fail(true)
			var logs syncBuffer
			a := newApp(t, breachOpts(t, rs, opts{Backend: b, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}))
			u := newUser(t, a, "user@example.com")
			c := a.Client(t)
			wantRedirect(t, "sign-in", c.SignIn("user@example.com", pw), "/")
			wantStatus(t, "GET /private", c.Get("/private"), http.StatusOK)
			wantAudit(t, a, audit.ActionBreachCheckFailed, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: audit.OutcomeFailure, Metadata: map[string]string{"mode": "open"}})
			if !strings.Contains(logs.String(), "level=WARN msg=\"sign-in: breach check failed\"") {
				t.Fatalf("want a warning in the log, got:\n%s", logs.String())
			}
		})
	}
}

// Fail-closed: a failed check refuses the sign-in with 503 and
// Retry-After; nobody is signed in.
func TestBreachCheckFailClosed(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			rs := newRangeServer(t)
			rs.fail(true)
			a := newApp(t, breachOpts(t, rs, opts{Backend: b, Config: func(_ *apptest.App, cfg *account.Config) {
				cfg.BreachCheck.FailClosed = true
			}}))
			u := newUser(t, a, "user@example.com")
			c := a.Client(t)
			res := c.JSON("POST", "/auth/login", jsonOf(map[string]string{"email": "user@example.com", "password": pw}))
			wantError(t, "sign-in", res, http.StatusServiceUnavailable, "breach_check_unavailable")
			if res.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if state, _, _ := c.Whoami(); state != "anonymous" {
				t.Fatalf("got state %q after a refused sign-in, want anonymous", state)
			}
			wantAudit(t, a, audit.ActionBreachCheckFailed, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: audit.OutcomeFailure, Metadata: map[string]string{"mode": "closed"}})
			wantAudit(t, a, audit.ActionLoginSuccess, u.ID, 0, auditWant{})

			rs.fail(false)
			res = c.JSON("POST", "/auth/login", jsonOf(map[string]string{"email": "user@example.com", "password": pw}))
			wantStatus(t, "sign-in once the service answers", res, http.StatusOK)
		})
	}
}

// With a second factor, the user goes through it first and then to the
// page; JSON clients are told at each step.
func TestBreachCheckSecondFactor(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, backend string) {
		rs := newRangeServer(t, pw)
		a := newApp(t, breachOpts(t, rs, opts{Backend: backend, Second: true}))
		u := newUser(t, a, "user@example.com")
		a.Second.enroll(u.ID, "123456")
		c := a.Client(t)
		res := c.JSON("POST", "/auth/login", jsonOf(map[string]string{"email": "user@example.com", "password": pw}))
		wantStatus(t, "sign-in", res, http.StatusOK)
		d := decode(t, res)
		if d.Rest["mfa_required"] != true || d.Rest["password_change_required"] != true {
			t.Fatalf("got %s, want mfa_required and password_change_required", res.Body)
		}
		want := "/auth/mfa/challenge?" + url.Values{"return_to": {"/auth/password/renew"}}.Encode()
		if d.Next != want {
			t.Fatalf("got next %q, want %q: the renewal page after the second factor", d.Next, want)
		}
		if state, _, _ := c.Whoami(); state != "pending" {
			t.Fatalf("got state %q, want pending", state)
		}
		// Pending is not signed in: the renewal page sends to sign in.
		wantRedirect(t, "GET renew while pending", c.Get("/auth/password/renew"), "/auth/login")
	})
}

// The mark belongs to the user who signed in with the breached password:
// another user signing in on the same browser is not sent to change
// theirs.
func TestBreachMarkIsPerUser(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, backend string) {
		rs := newRangeServer(t, pw)
		a := newApp(t, breachOpts(t, rs, opts{Backend: backend}))
		newUser(t, a, "breached@example.com")
		a.CreateUser(t, "clean@example.com", newPW)
		c := a.Client(t)
		wantRedirect(t, "breached sign-in", c.SignIn("breached@example.com", pw), "/auth/password/renew")
		wantRedirect(t, "clean sign-in on the same browser", c.SignIn("clean@example.com", newPW), "/")
		res := c.Get("/private")
		wantStatus(t, "GET /private as the clean user", res, http.StatusOK)
		if !strings.Contains(res.Body, "clean@example.com") {
			t.Fatalf("got %q, want the clean user's page", res.Body)
		}
		wantRedirect(t, "GET renew as the clean user", c.Get("/auth/password/renew?return_to=%2Fprivate"), "/private")
	})
}

// Past the sudo window the page asks for the current password too, and a
// wrong one changes nothing.
func TestBreachRenewAfterSudoWindow(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, backend string) {
		rs := newRangeServer(t, pw)
		a := newApp(t, breachOpts(t, rs, opts{Backend: backend}))
		u := newUser(t, a, "user@example.com")
		c := a.Client(t)
		c.SignIn("user@example.com", pw)
		a.Clock.Advance(11 * time.Minute)
		res := c.Get("/auth/password/renew")
		if !strings.Contains(res.Body, `name="current_password"`) {
			t.Fatalf("renew page past the sudo window: want a current password field:\n%s", res.Body)
		}
		before := a.User(t, "user@example.com").PasswordHash
		fields := wantError(t, "renew without the current password", c.JSON("POST", "/auth/password/renew", jsonOf(map[string]string{"password": newPW})), http.StatusUnprocessableEntity, "invalid_input")
		if fields["current_password"] == "" {
			t.Fatalf("got fields %v, want current_password", fields)
		}
		w0 := a.Writes(t)
		wantError(t, "renew with a wrong current password", c.JSON("POST", "/auth/password/renew", jsonOf(map[string]string{"current_password": "not it at all", "password": newPW})), http.StatusUnauthorized, "invalid_credentials")
		// The change's limit and the password's attempt place in one
		// statement, then the audit row.
		if w := a.Writes(t) - w0; a.Backend == "postgres" && w != 2 {
			t.Errorf("renew with a wrong current password: %d statements that change rows, want 2", w)
		}
		if n := limitCount(t, a, "pwchange:"+u.ID); n != 2 {
			t.Errorf("password change limit: counted %d times, want 2 (the missing field's and the wrong password's)", n)
		}
		if n := attempts(t, a, "user@example.com"); n != 1 {
			t.Errorf("password attempt places: got %d, want 1", n)
		}
		if a.User(t, "user@example.com").PasswordHash != before {
			t.Fatal("a refused renewal changed the password")
		}
		wantStatus(t, "renew", c.JSON("POST", "/auth/password/renew", jsonOf(map[string]string{"current_password": pw, "password": newPW})), http.StatusOK)
		wantStatus(t, "GET /private", c.Get("/private"), http.StatusOK)
	})
}

// Bad input, a request without a sign-in and a user with nothing to change
// get clear answers and change nothing.
func TestBreachRenewRefusals(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, backend string) {
		rs := newRangeServer(t, pw)
		a := newApp(t, breachOpts(t, rs, opts{Backend: backend}))
		newUser(t, a, "user@example.com")
		before := a.User(t, "user@example.com").PasswordHash

		anon := a.Client(t)
		wantError(t, "anonymous JSON renew", anon.JSON("POST", "/auth/password/renew", jsonOf(map[string]string{"password": newPW})), http.StatusUnauthorized, "unauthenticated")
		wantRedirect(t, "anonymous GET renew", anon.Get("/auth/password/renew"), "/auth/login")

		c := a.Client(t)
		c.SignIn("user@example.com", pw)
		for _, body := range []string{
			`{"password": "` + newPW + `", "is_admin": true}`,
			`{"password": true}`,
			`{"password": "\udc00bad"}`,
		} {
			res := c.JSON("POST", "/auth/password/renew", body)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("renew with %s: got %d %s, want 400", body, res.StatusCode, res.Body)
			}
		}
		if a.User(t, "user@example.com").PasswordHash != before {
			t.Fatal("bad input changed the password")
		}
		wantRedirect(t, "GET /private after bad input", c.Get("/private"), "/auth/password/renew?return_to=%2Fprivate")

		// Nothing to change: the page sends the user on.
		rs2 := newRangeServer(t)
		b := newApp(t, breachOpts(t, rs2, opts{Backend: backend}))
		b.CreateUser(t, "fine@example.com", pw)
		f := b.Client(t)
		f.SignIn("fine@example.com", pw)
		wantRedirect(t, "GET renew with nothing to change", f.Get("/auth/password/renew?return_to=%2Fprivate"), "/private")
		wantRedirect(t, "POST renew with nothing to change", f.Post("/auth/password/renew", form("password", newPW)), "/")
		if ok, _, _ := b.Hasher.Verify(ctx, pw, b.User(t, "fine@example.com").PasswordHash); !ok {
			t.Fatal("a renewal with nothing to change changed the password")
		}
	})
}

// Disabled, or without a breach checker, sign-ins are not checked.
func TestBreachCheckOff(t *testing.T) {
	t.Parallel()
	rs := newRangeServer(t, pw)
	a := newApp(t, breachOpts(t, rs, opts{Config: func(_ *apptest.App, cfg *account.Config) { cfg.BreachCheck.Disabled = true }}))
	newUser(t, a, "user@example.com")
	wantRedirect(t, "sign-in", a.Client(t).SignIn("user@example.com", pw), "/")
	if n := rs.requests(); n != 0 {
		t.Fatalf("disabled check: %d requests, want 0", n)
	}
	b := newApp(t, opts{})
	newUser(t, b, "user@example.com")
	wantRedirect(t, "sign-in without a checker", b.Client(t).SignIn("user@example.com", pw), "/")
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
