// BenchmarkEqualWork measures what TestSignInEqualWork and
// TestEmailRequestsEqualWork (hardening_test.go) count. For a sign-in with
// a wrong password (POST /auth/login), a password reset request (forgot),
// a sign-in link request (magic) and a confirmation resend, it sends
// requests for an existing account (A) and for an address in another
// state (B: unknown, unconfirmed, locked, disabled, without a password)
// interleaved in pairs whose order alternates, A B, B A, A B, ..., so that
// machine noise and the position in a pair hit both alike; it times each
// request and reports the two medians and their ratio. Timing is
// reported, never asserted. Every answer must be the first answer to an
// existing account (same status and body), with one password computation
// for a sign-in and none for an email request, so an error page is never
// measured. Passwords are hashed with the production parameters of
// password.New; the request limits are lifted, the lockout is the default.
//
// Run it on SQLite, and on PostgreSQL too when SIGRA_TEST_POSTGRES is set
// (-v prints the benchmark's log: a table of every comparison's medians):
//
//	go test -run '^$' -bench EqualWork -benchtime 200x -v ./account/
//
// -benchtime Nx sends N pairs per comparison; -bench EqualWork/sqlite/login
// narrows the run. Each comparison reports the metrics "existing-ms",
// "<state>-ms" and "<state>/existing". bench/equalwork.sh runs it with
// -count and prints, for each comparison, the median of each metric over
// the runs:
//
//	bench/equalwork.sh [count] [benchtime]   # default 5 runs of 200x

package account_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/store"
)

// maxFailures is the password lockout's threshold, set explicitly (it is
// the default): a sign-in address takes at most maxFailures-1 wrong
// passwords in a benchmark, so that only the locked account is locked.
const maxFailures = 5

// unlimited lifts the request limits the timed requests meet far beyond
// any benchmark's count, and keeps the default lockout.
func unlimited(_ *apptest.App, c *account.Config) {
	many := middleware.Limit{N: 1 << 30, Window: 15 * time.Minute}
	c.Limits.LoginPerIP, c.Limits.LoginPerAccount = many, many
	c.Limits.EmailPerIP, c.Limits.EmailPerAddress = many, many
	c.MaxFailures = maxFailures
}

// timedStates are the states compared with an existing account, in the
// order of the table.
var timedStates = []string{"unknown", "unconfirmed", "locked", "disabled", "no-password"}

// timedRequest is a kind of request whose timing is compared across the
// states of its address.
type timedRequest struct {
	name, path string
	// signIn marks a sign-in with a wrong password (one password
	// computation); the others are email requests (none).
	signIn bool
}

var timedRequests = []timedRequest{
	{name: "login", path: "/auth/login", signIn: true},
	{name: "forgot", path: "/auth/password/forgot"},
	{name: "magic", path: "/auth/magic"},
	{name: "resend", path: "/auth/confirm/resend"},
}

// send posts the request for addr as JSON.
func (rq timedRequest) send(c *apptest.Client, addr string) *apptest.Response {
	if rq.signIn {
		return loginJSON(c, addr, "a wrong password")
	}
	return c.JSON("POST", rq.path, jsonOf(map[string]string{"email": addr}))
}

// population makes addresses in the states of addressStates for a
// benchmark. Accounts are written directly to the store with one password
// hash made by the app's hasher, so making one costs no hashing.
type population struct {
	a      *app
	hash   string
	locked string
	n      int
}

// newPopulation makes the one locked account (locked by maxFailures wrong
// passwords, as addressStates does) and the hash of the others.
func newPopulation(b *testing.B, a *app) *population {
	b.Helper()
	h, err := a.Hasher.Hash(ctx, pw)
	if err != nil {
		b.Fatal(err)
	}
	p := &population{a: a, hash: h, locked: "locked@example.com"}
	newUser(b, a, p.locked)
	for range maxFailures {
		loginJSON(a.Client(b), p.locked, "wrong password")
	}
	a.Flush(b)
	if !a.User(b, p.locked).LockedUntil.After(a.Clock.Now()) {
		b.Fatal("the locked account is not locked")
	}
	return p
}

// address returns an address in state that no request has used, except
// for "locked": the one locked account, whose lock holds while the test
// clock stands still.
func (p *population) address(b *testing.B, state string) string {
	b.Helper()
	if state == "locked" {
		return p.locked
	}
	p.n++
	addr := fmt.Sprintf("%s-%d@example.com", state, p.n)
	now := p.a.Clock.Now()
	u := &store.User{Email: addr, PasswordHash: p.hash, EmailConfirmedAt: now, CreatedAt: now}
	switch state {
	case "unknown":
		return addr
	case "existing", "disabled":
	case "unconfirmed":
		u.EmailConfirmedAt = time.Time{}
	case "no-password":
		u.PasswordHash = ""
	default:
		b.Fatalf("no state %q", state)
	}
	if err := p.a.Store.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	if state == "disabled" {
		if err := p.a.Store.SetDisabled(ctx, u.ID, now, now); err != nil {
			b.Fatal(err)
		}
	}
	return addr
}

// answer is the status and body every request of a kind must get.
type answer struct {
	status int
	body   string
}

// comparison is the outcome of one pair of states: the median times of
// the requests for an existing account and for the other state.
type comparison struct {
	backend, request, state string
	existing, other         time.Duration
	pairs                   int
}

// ratio is the other state's median over the existing account's.
func (c comparison) ratio() float64 { return float64(c.other) / float64(c.existing) }

// millis converts d to milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median returns the median of ds (sorting it).
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

// comparePair sends b.N pairs of requests of kind rq, one for an existing
// account and one for an address in state, the existing account first in
// even pairs and second in odd ones; it times each request, and checks
// each answer against *ref (set from the first answer when nil).
func comparePair(b *testing.B, a *app, p *population, rq timedRequest, state string, ref **answer) comparison {
	// Addresses: a sign-in address takes maxFailures-1 wrong passwords at
	// most; an email request's address is asked for again and again.
	per := b.N
	computations := uint64(0)
	if rq.signIn {
		per, computations = maxFailures-1, 1
	}
	n := (b.N + per - 1) / per
	addrs := [2][]string{make([]string, n), make([]string, n)}
	for i := range n {
		addrs[0][i], addrs[1][i] = p.address(b, "existing"), p.address(b, state)
	}
	names := [2]string{"existing", state}
	times := [2][]time.Duration{make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)}

	b.ResetTimer()
	for i := range b.N {
		// Each state goes first in every other pair: what tracks the
		// position in a pair (the collection of the garbage a previous
		// hashing left, say) falls on both alike.
		for k := range 2 {
			side := k ^ i%2
			addr := addrs[side][i/per]
			c := a.Client(b)
			v0, d0 := hashing(a)
			start := time.Now()
			res := rq.send(c, addr)
			elapsed := time.Since(start)
			v1, d1 := hashing(a)
			times[side] = append(times[side], elapsed)

			if *ref == nil {
				ok := res.StatusCode == http.StatusUnauthorized
				if !rq.signIn {
					ok = res.StatusCode == http.StatusOK || res.StatusCode == http.StatusSeeOther
				}
				if !ok {
					b.Fatalf("%s, %s: answered %d %s, want 401 for a sign-in, success for an email request", rq.name, names[side], res.StatusCode, res.Body)
				}
				*ref = &answer{status: res.StatusCode, body: res.Body}
			}
			if res.StatusCode != (*ref).status || res.Body != (*ref).body {
				b.Fatalf("%s, %s (%s): answered %d %s; want the first answer, %d %s",
					rq.name, names[side], addr, res.StatusCode, res.Body, (*ref).status, (*ref).body)
			}
			if got := (v1 - v0) + (d1 - d0); got != computations {
				b.Fatalf("%s, %s: %d password computations, want %d", rq.name, names[side], got, computations)
			}
		}
	}
	b.StopTimer()

	c := comparison{request: rq.name, state: state, existing: median(times[0]), other: median(times[1]), pairs: b.N}
	b.ReportMetric(millis(c.existing), "existing-ms")
	b.ReportMetric(millis(c.other), state+"-ms")
	b.ReportMetric(c.ratio(), state+"/existing")
	return c
}

// BenchmarkEqualWork reports, for each request kind and each state of an
// address other than an existing account, the median times of
// interleaved requests for an existing account and for that state, and
// their ratio (see the comment at the top of this file). The sign-ins
// verify against hashes made with the production parameters of
// password.New; limits are lifted (see unlimited).
func BenchmarkEqualWork(b *testing.B) {
	var order []string
	results := map[string]comparison{}
	for _, backend := range apptest.Backends {
		b.Run(backend, func(b *testing.B) {
			hasher, err := password.New(password.Config{})
			if err != nil {
				b.Fatal(err)
			}
			a := newApp(b, opts{Backend: backend, Passwords: hasher, Config: unlimited})
			p := newPopulation(b, a)
			for _, rq := range timedRequests {
				b.Run(rq.name, func(b *testing.B) {
					var ref *answer
					for _, state := range timedStates {
						b.Run(state, func(b *testing.B) {
							c := comparePair(b, a, p, rq, state, &ref)
							c.backend = backend
							// The last run, with the full b.N, stays.
							key := backend + "/" + rq.name + "/" + state
							if _, ok := results[key]; !ok {
								order = append(order, key)
							}
							results[key] = c
						})
					}
				})
			}
		})
	}
	if len(order) == 0 || b.Failed() {
		return
	}
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "backend\trequest\tstate\texisting ms\tstate ms\tstate/existing\tpairs\t")
	for _, key := range order {
		c := results[key]
		fmt.Fprintf(w, "%s\t%s\t%s\t%.3f\t%.3f\t%.3f\t%d\t\n", c.backend, c.request, c.state, millis(c.existing), millis(c.other), c.ratio(), c.pairs)
	}
	w.Flush()
	b.Log("medians of interleaved requests, an existing account beside each other state:\n" + strings.TrimRight(sb.String(), "\n"))
}
