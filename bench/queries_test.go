package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
)

// clock is a settable clock for the session manager.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// countingSessions records the calls that reach a store.Sessions.
type countingSessions struct {
	store.Sessions
	mu    sync.Mutex
	calls []string
}

func (c *countingSessions) call(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, name)
}

// take returns the calls since the last take and forgets them.
func (c *countingSessions) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	return calls
}

func (c *countingSessions) SessionByDigest(ctx context.Context, digest []byte, now time.Time, idle time.Duration) (*store.Session, error) {
	c.call("SessionByDigest")
	return c.Sessions.SessionByDigest(ctx, digest, now, idle)
}

func (c *countingSessions) SessionWithUser(ctx context.Context, digest []byte, now time.Time, idle time.Duration) (*store.Session, *store.User, error) {
	c.call("SessionWithUser")
	return c.Sessions.SessionWithUser(ctx, digest, now, idle)
}

func (c *countingSessions) SaveSession(ctx context.Context, s *store.Session) error {
	c.call("SaveSession")
	return c.Sessions.SaveSession(ctx, s)
}

func (c *countingSessions) TouchSession(ctx context.Context, digest []byte, seen time.Time, ip, userAgent string) error {
	c.call("TouchSession")
	return c.Sessions.TouchSession(ctx, digest, seen, ip, userAgent)
}

func (c *countingSessions) RevokeSession(ctx context.Context, digest []byte, now time.Time) error {
	c.call("RevokeSession")
	return c.Sessions.RevokeSession(ctx, digest, now)
}

func (c *countingSessions) RevokeSessionByID(ctx context.Context, userID, id string, now time.Time) error {
	c.call("RevokeSessionByID")
	return c.Sessions.RevokeSessionByID(ctx, userID, id, now)
}

func (c *countingSessions) RevokeUserSessions(ctx context.Context, userID string, except []byte, now time.Time) (int, error) {
	c.call("RevokeUserSessions")
	return c.Sessions.RevokeUserSessions(ctx, userID, except, now)
}

func (c *countingSessions) UserSessions(ctx context.Context, userID string, now time.Time) ([]*store.Session, error) {
	c.call("UserSessions")
	return c.Sessions.UserSessions(ctx, userID, now)
}

func (c *countingSessions) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	c.call("PurgeSessions")
	return c.Sessions.PurgeSessions(ctx, before)
}

// TestQueriesPerRequest pins the database work of an authenticated
// request: in the steady state exactly one store call (the session and
// its user read together) and, on PostgreSQL, exactly one round trip; the
// last-seen touch adds one write once per TouchInterval (default one
// minute), or at once when the user agent changes. A regression to two
// lookups per request fails here.
func TestQueriesPerRequest(t *testing.T) {
	const lookup, touch = "SessionWithUser", "TouchSession"
	otherAgent := "Mozilla/5.0 (Macintosh; Intel Mac OS X 15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15"
	// Each step is a request at the given time after sign-in. The
	// first request on a PostgreSQL connection prepares the lookup; the
	// steps run after one such warm-up request at +1s.
	const home, away = "192.0.2.1:1234", "198.51.100.7:4321" // client addresses
	steps := []struct {
		name   string
		after  time.Duration
		remote string
		agent  string
		want   []string
	}{
		{"steady", 2 * time.Second, home, userAgent, []string{lookup}},
		{"steady, 30s later", 32 * time.Second, home, userAgent, []string{lookup}},
		{"steady, just before TouchInterval", 59 * time.Second, home, userAgent, []string{lookup}},
		{"first request a minute after the last touch", 61 * time.Second, home, userAgent, []string{lookup, touch}},
		{"steady after the touch", 62 * time.Second, home, userAgent, []string{lookup}},
		{"steady, a minute after sign-in but not after the touch", 120 * time.Second, home, userAgent, []string{lookup}},
		{"new user agent", 121 * time.Second, home, otherAgent, []string{lookup, touch}},
		{"steady with the new user agent", 122 * time.Second, home, otherAgent, []string{lookup}},
		{"new client address", 123 * time.Second, away, otherAgent, []string{lookup, touch}},
		{"steady from the new address", 124 * time.Second, away, otherAgent, []string{lookup}},
	}

	backends := []struct {
		name string
		// open returns a store and, for PostgreSQL, the round-trip counter
		// installed on its pool.
		open func(t *testing.T) (benchStore, *roundTrips)
	}{
		{"sqlite", func(t *testing.T) (benchStore, *roundTrips) { return openSQLite(t), nil }},
		{"postgres", func(t *testing.T) (benchStore, *roundTrips) {
			trips := &roundTrips{keep: true}
			// One connection, so that the warm-up request prepares the
			// lookup on the connection every later request uses.
			return openPostgres(t, postgres.Config{Tracer: trips, MaxConns: 1}), trips
		}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			st, trips := be.open(t)
			counted := &countingSessions{Sessions: st}
			start := time.Now().UTC().Truncate(time.Millisecond)
			clk := &clock{t: start}
			a := newSigraApp(t, st, counted, clk.Now)

			request := func(after time.Duration, remote, agent string) {
				t.Helper()
				clk.set(start.Add(after))
				r := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
				r.RemoteAddr = remote
				r.Header.Set("User-Agent", agent)
				r.AddCookie(a.cookie)
				w := httptest.NewRecorder()
				a.h.ServeHTTP(w, r)
				if w.Code != http.StatusOK || w.Body.String() != a.email {
					t.Fatalf("GET /dashboard at +%v: got %d %q, want 200 %q", after, w.Code, w.Body.String(), a.email)
				}
				if c := w.Result().Cookies(); len(c) != 0 {
					t.Errorf("GET /dashboard at +%v: got Set-Cookie %v, want none (nothing changed)", after, c)
				}
			}

			counted.take()
			request(time.Second, home, userAgent) // warm-up
			if got := counted.take(); !slices.Equal(got, []string{lookup}) {
				t.Fatalf("warm-up request: got store calls %q, want %q", got, []string{lookup})
			}
			if trips != nil {
				trips.take()
			}
			touchPrepared := false
			for _, s := range steps {
				request(s.after, s.remote, s.agent)
				if got := counted.take(); !slices.Equal(got, s.want) {
					t.Errorf("%s: got store calls %q, want %q", s.name, got, s.want)
				}
				if trips == nil {
					continue
				}
				// Each store call is one statement; the touch is prepared
				// on its first use, one more round trip.
				want := int64(len(s.want))
				if slices.Contains(s.want, touch) && !touchPrepared {
					want++
					touchPrepared = true
				}
				if n, log := trips.take(); n != want {
					t.Errorf("%s: got %d round trips, want %d: %q", s.name, n, want, log)
				}
			}
		})
	}
}

// TestSignInCommits pins the transactions a steady password sign-in
// commits on PostgreSQL, through the kit's whole chain over HTTP (as
// BenchmarkSignInThroughput serves it): on a database that flushes its log
// at every commit, each costs the database more CPU than several reads.
// Before the hash, the two limits and the attempt place commit together,
// in one statement (store.SequenceLimiter); after it, the places freed,
// the device record, the audit row and the new session commit one by one.
// Of these five commits, only the audit row's and the session's wait for
// the WAL to be flushed: the limits and the places are in an unlogged
// table (sigra_rate_limits), and the device record commits
// asynchronously. A sign-in that commits more, or waits for more flushes,
// fails here, with its statements. So does one that makes more than 7
// round trips: the limits and the place, the user's row, the places freed,
// the second factor's read, the device record, the audit row and the
// session (the check for a scheduled deletion reads nothing more: it has
// the user's row).
func TestSignInCommits(t *testing.T) {
	const want, wantFlushes, wantTrips = 5, 2, 7
	trips := &roundTrips{keep: true}
	st := openPostgres(t, postgres.Config{Tracer: trips})
	url, cookie := serveSignIns(t, st, 3)
	s := &signInClient{url: url, cookie: cookie}
	c := &http.Client{}
	defer c.CloseIdleConnections()
	// The first sign-ins prepare the statements on the pool's connections.
	for range 2 {
		if err := s.signIn(c); err != nil {
			t.Fatal(err)
		}
	}
	trips.take()
	if err := s.signIn(c); err != nil {
		t.Fatal(err)
	}
	_, log := trips.take()
	commits, flushes, inTx := 0, 0, false
	for _, l := range log {
		kind, sql, _ := strings.Cut(l, " ")
		verb := strings.ToUpper(strings.Fields(sql + " -")[0])
		switch {
		case verb == "BEGIN":
			inTx = true
		case verb == "COMMIT":
			inTx = false
			commits++
			flushes++
		case verb == "ROLLBACK":
			inTx = false
		case inTx:
		case kind == "batch" || verb == "INSERT" || verb == "UPDATE" || verb == "DELETE" || verb == "WITH":
			// A write on its own, or a batch: one implicit transaction.
			commits++
			if !unloggedOnly(sql) && !strings.Contains(sql, "set_config('synchronous_commit', 'off', true)") {
				flushes++
			}
		}
	}
	if commits != want {
		t.Errorf("a sign-in committed %d transactions, want %d:\n%s", commits, want, strings.Join(log, "\n"))
	}
	if flushes != wantFlushes {
		t.Errorf("a sign-in waited for %d WAL flushes, want %d:\n%s", flushes, wantFlushes, strings.Join(log, "\n"))
	}
	if len(log) > wantTrips {
		t.Errorf("a sign-in made %d round trips, want %d:\n%s", len(log), wantTrips, strings.Join(log, "\n"))
	}
}

// unloggedOnly reports whether the statement sql writes only to
// sigra_rate_limits, the one unlogged table (store/postgres's
// TestOnlyRateLimitsUnlogged checks that it is): its commit writes nothing
// to the WAL that must be flushed.
func unloggedOnly(sql string) bool {
	writes := 0
	for _, m := range writtenTable.FindAllStringSubmatch(sql, -1) {
		if strings.EqualFold(m[1], "SET") {
			continue // ON CONFLICT ... DO UPDATE SET: the INSERT's table
		}
		if m[1] != "sigra_rate_limits" {
			return false
		}
		writes++
	}
	return writes > 0
}

// writtenTable matches a table that a statement writes to.
var writtenTable = regexp.MustCompile(`(?i)\b(?:INSERT\s+INTO|DELETE\s+FROM|UPDATE)\s+(\w+)`)
