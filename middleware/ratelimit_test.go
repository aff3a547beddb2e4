package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
)

func TestIPKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		same bool
	}{
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2:bbbb::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"192.0.2.1", "192.0.2.2", false},
		{"::ffff:192.0.2.1", "192.0.2.1", true},
	}
	for _, tt := range tests {
		ka, kb := middleware.IPKey(tt.a), middleware.IPKey(tt.b)
		if (ka == kb) != tt.same {
			t.Errorf("IPKey(%s) = %s, IPKey(%s) = %s: got same=%v, want %v", tt.a, ka, tt.b, kb, ka == kb, tt.same)
		}
	}
	if got := middleware.IPKey("::ffff:192.0.2.1"); got != "ip:192.0.2.1" {
		t.Errorf("IPKey of a mapped IPv4 address: got %s, want ip:192.0.2.1", got)
	}
}

func TestLimitOr(t *testing.T) {
	t.Parallel()
	def := middleware.Limit{N: 5, Window: 15 * time.Minute}
	if got := (middleware.Limit{}).Or(def); got != def {
		t.Errorf("zero Limit.Or: got %+v, want %+v", got, def)
	}
	own := middleware.Limit{N: 1, Window: time.Second}
	if got := own.Or(def); got != own {
		t.Errorf("Limit.Or: got %+v, want %+v", got, own)
	}
}

// newSite returns a local site on clock, logging to log (discarded when
// nil), behind the given trusted proxies.
func newSite(t *testing.T, clock func() time.Time, log slog.Handler, proxies ...string) *site.Site {
	t.Helper()
	if log == nil {
		log = slog.DiscardHandler
	}
	s, err := site.New(site.Config{BaseURL: "http://localhost", Now: clock, Logger: slog.New(log), TrustedProxies: proxies})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRateLimitMiddleware runs a per-address rule over the store's limiter
// and the memory limiter, on the site's clock.
func TestRateLimitMiddleware(t *testing.T) {
	t.Parallel()
	db := openSQLite(t)
	for _, lim := range []struct {
		name string
		l    middleware.Limiter
	}{{"sqlite", db}, {"memory", middleware.NewMemoryLimiter(0)}} {
		t.Run(lim.name, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			rl, err := middleware.NewRateLimiter(newSite(t, clock.Now, nil), middleware.RateLimiterConfig{Limiter: lim.l})
			if err != nil {
				t.Fatal(err)
			}
			h := rl.Limit(middleware.Rule{Name: "t" + lim.name, Limit: middleware.Limit{N: 3, Window: time.Minute}})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			hit := func(ip string, hdr map[string]string) *httptest.ResponseRecorder {
				req := httptest.NewRequest("POST", "/", nil)
				req.RemoteAddr = ip + ":1"
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}
			for i := range 3 {
				if rec := hit("192.0.2.1", nil); rec.Code != 200 {
					t.Fatalf("hit %d: got %d, want 200", i+1, rec.Code)
				}
			}
			rec := hit("192.0.2.1", nil)
			if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "60" {
				t.Fatalf("over the limit: got %d with Retry-After %q, want 429 with 60", rec.Code, rec.Header().Get("Retry-After"))
			}
			// A forwarding header from an untrusted peer changes nothing.
			if rec := hit("192.0.2.1", map[string]string{"X-Forwarded-For": "198.51.100.9"}); rec.Code != http.StatusTooManyRequests {
				t.Fatalf("spoofed X-Forwarded-For: got %d, want 429", rec.Code)
			}
			if rec := hit("192.0.2.2", nil); rec.Code != 200 {
				t.Fatalf("another address: got %d, want 200", rec.Code)
			}
			clock.Advance(time.Minute)
			if rec := hit("192.0.2.1", nil); rec.Code != 200 {
				t.Fatalf("after the window: got %d, want 200", rec.Code)
			}
		})
	}
}

// TestRateLimitBehindProxy: behind a trusted proxy the rule's key is the
// forwarded client address, as the site resolves it.
func TestRateLimitBehindProxy(t *testing.T) {
	t.Parallel()
	rl, err := middleware.NewRateLimiter(newSite(t, nil, nil, "10.0.0.0/8"), middleware.RateLimiterConfig{Limiter: middleware.NewMemoryLimiter(0)})
	if err != nil {
		t.Fatal(err)
	}
	h := rl.Limit(middleware.Rule{Name: "login", Limit: middleware.Limit{N: 1, Window: time.Hour}})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tests := []struct {
		xff  string
		want int
	}{
		{"198.51.100.1", 200},
		{"198.51.100.2", 200},
		{"198.51.100.1", http.StatusTooManyRequests},
		{"203.0.113.5, 198.51.100.2", http.StatusTooManyRequests}, // the left part is the client's word
	}
	for _, tt := range tests {
		req := httptest.NewRequest("POST", "/", nil)
		req.RemoteAddr = "10.1.2.3:5000"
		req.Header.Set("X-Forwarded-For", tt.xff)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("X-Forwarded-For %q: got %d, want %d", tt.xff, rec.Code, tt.want)
		}
	}
}

func TestRateLimitRuleKey(t *testing.T) {
	t.Parallel()
	rl, err := middleware.NewRateLimiter(newSite(t, nil, nil), middleware.RateLimiterConfig{Limiter: middleware.NewMemoryLimiter(0)})
	if err != nil {
		t.Fatal(err)
	}
	var reached atomic.Int32
	h := rl.Limit(middleware.Rule{Name: "global", Limit: middleware.Limit{N: 1, Window: time.Hour}, Key: func(r *http.Request) string {
		return r.URL.Query().Get("k")
	}})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	tests := []struct {
		path string
		want int
	}{
		{"/?k=a", 200},
		{"/?k=a", http.StatusTooManyRequests},
		{"/?k=b", 200},
		{"/", 200}, // an empty key skips the rule
		{"/", 200},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
		if rec.Code != tt.want {
			t.Errorf("GET %s: got %d, want %d", tt.path, rec.Code, tt.want)
		}
	}
	if got := reached.Load(); got != 4 {
		t.Errorf("handler reached: got %d times, want 4", got)
	}
}

// TestRateLimiterCheck: Check counts under the caller's key and reports a
// reached limit as a *LimitError wrapping ErrLimited.
func TestRateLimiterCheck(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rl, err := middleware.NewRateLimiter(newSite(t, clock.Now, nil), middleware.RateLimiterConfig{Limiter: openSQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lim := middleware.Limit{N: 2, Window: 10 * time.Minute}
	for i := range 2 {
		if err := rl.Check(ctx, "account:u1", lim); err != nil {
			t.Fatalf("check %d: got %v, want nil", i+1, err)
		}
	}
	clock.Advance(4 * time.Minute)
	err = rl.Check(ctx, "account:u1", lim)
	var le *middleware.LimitError
	if !errors.As(err, &le) || !errors.Is(err, middleware.ErrLimited) {
		t.Fatalf("third check: got %v, want a *LimitError wrapping ErrLimited", err)
	}
	if le.Key != "account:u1" || le.RetryAfter != 6*time.Minute {
		t.Errorf("LimitError: got key %q retry %v, want account:u1 and 6m0s", le.Key, le.RetryAfter)
	}
	if err := rl.Check(ctx, "account:u2", lim); err != nil {
		t.Errorf("another key: got %v, want nil", err)
	}
	rec := httptest.NewRecorder()
	middleware.WriteLimitError(rec, httptest.NewRequest("POST", "/", nil), err)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "360" {
		t.Errorf("WriteLimitError: got %d with Retry-After %q, want 429 with 360", rec.Code, rec.Header().Get("Retry-After"))
	}
}

type failingLimiter struct{}

func (failingLimiter) Hit(context.Context, string, int, time.Duration, time.Time) (store.LimitResult, error) {
	return store.LimitResult{}, errors.New("down")
}

func TestRateLimitFailure(t *testing.T) {
	t.Parallel()
	for _, open := range []bool{false, true} {
		t.Run(fmt.Sprintf("FailOpen=%v", open), func(t *testing.T) {
			t.Parallel()
			log := &logRecorder{}
			rl, err := middleware.NewRateLimiter(newSite(t, nil, log), middleware.RateLimiterConfig{Limiter: failingLimiter{}, FailOpen: open})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			rl.Limit(middleware.Rule{Name: "x", Limit: middleware.Limit{N: 1, Window: time.Second}})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			want := http.StatusServiceUnavailable
			if open {
				want = 200
			}
			if rec.Code != want {
				t.Errorf("status: got %d, want %d", rec.Code, want)
			}
			if !open && rec.Header().Get("Retry-After") == "" {
				t.Errorf("Retry-After: got none, want one on 503")
			}
			if got, wantLogs := len(log.records()), map[bool]int{false: 0, true: 1}[open]; got != wantLogs {
				t.Errorf("log: got %d records, want %d", got, wantLogs)
			}
			err = rl.Check(context.Background(), "k", middleware.Limit{N: 1, Window: time.Second})
			if open && err != nil {
				t.Errorf("Check: got %v, want nil (fail open)", err)
			}
			if !open && (!errors.Is(err, middleware.ErrLimiterUnavailable) || !strings.Contains(err.Error(), "down")) {
				t.Errorf("Check: got %v, want an error wrapping ErrLimiterUnavailable and the limiter's error", err)
			}
		})
	}
}

func TestRateLimiterConfig(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil, nil)
	for _, tt := range []struct {
		name string
		site *site.Site
		cfg  middleware.RateLimiterConfig
	}{
		{"nil site", nil, middleware.RateLimiterConfig{Limiter: middleware.NewMemoryLimiter(0)}},
		{"nil limiter", s, middleware.RateLimiterConfig{}},
	} {
		rl, err := middleware.NewRateLimiter(tt.site, tt.cfg)
		if !errors.Is(err, sigra.ErrConfig) || rl != nil {
			t.Errorf("%s: got %v, want an error wrapping sigra.ErrConfig", tt.name, err)
		}
	}
	rl, err := middleware.NewRateLimiter(s, middleware.RateLimiterConfig{Limiter: middleware.NewMemoryLimiter(0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, lim := range []middleware.Limit{{}, {N: 1}, {Window: time.Second}, {N: -1, Window: time.Second}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Limit(%+v): got no panic, want one", lim)
				}
			}()
			rl.Limit(middleware.Rule{Name: "x", Limit: lim})
		}()
	}
}

func TestMemoryLimiterBounded(t *testing.T) {
	t.Parallel()
	m := middleware.NewMemoryLimiter(1000)
	now := time.Now()
	for i := range 50_000 {
		if _, err := m.Hit(context.Background(), fmt.Sprint("k", i), 5, time.Hour, now); err != nil {
			t.Fatal(err)
		}
		if m.Len() > 1000 {
			t.Fatalf("after %d keys: got %d counters, want at most 1000", i+1, m.Len())
		}
	}
	// A key under attack keeps its count while others churn below the bound.
	for range 5 {
		_, _ = m.Hit(context.Background(), "victim", 5, time.Hour, now)
	}
	res, _ := m.Hit(context.Background(), "victim", 5, time.Hour, now)
	if res.Allowed || res.Count != 6 {
		t.Fatalf("sixth hit: got %+v, want refused with count 6", res)
	}
}

func TestMemoryLimiterExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	m := middleware.NewMemoryLimiter(0)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	now := time.Now()
	for range 200 {
		wg.Go(func() {
			if res, _ := m.Hit(context.Background(), "k", 37, time.Minute, now); res.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 37 {
		t.Fatalf("allowed: got %d of 200, want 37", allowed.Load())
	}
}

// countingLimiter counts the calls into a store's limiter: Hit one by one,
// HitSequence for a sequence.
type countingLimiter struct {
	*sqlite.DB
	hits, sequences atomic.Int64
}

func (c *countingLimiter) Hit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (store.LimitResult, error) {
	c.hits.Add(1)
	return c.DB.Hit(ctx, key, limit, window, now)
}

func (c *countingLimiter) HitSequence(ctx context.Context, hits []store.LimitHit, now time.Time) ([]store.LimitResult, error) {
	c.sequences.Add(1)
	return c.DB.HitSequence(ctx, hits, now)
}

// TestRateLimiterCheckAll: CheckAll counts its limits in order and stops
// at the first over its limit, which it names by index with its
// *LimitError; the limits after it are not counted. Over a store (a
// store.SequenceLimiter) the whole sequence is one call of HitSequence;
// over a MemoryLimiter, a Check each. Limits that repeat a key or are not
// positive are refused before anything is counted.
func TestRateLimiterCheckAll(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"store", "memory"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			var lim middleware.Limiter
			counting := &countingLimiter{DB: openSQLite(t)}
			if name == "store" {
				lim = counting
			} else {
				lim = middleware.NewMemoryLimiter(100)
			}
			rl, err := middleware.NewRateLimiter(newSite(t, clock.Now, nil), middleware.RateLimiterConfig{Limiter: lim})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			w := 10 * time.Minute
			limits := []middleware.KeyLimit{{Key: "a", Limit: middleware.Limit{N: 3, Window: w}}, {Key: "b", Limit: middleware.Limit{N: 1, Window: w}}}
			// count returns how many hits key has had in its window (by
			// counting one more under a limit that allows it).
			count := func(key string) int {
				res, err := lim.Hit(ctx, key, 1000, w, clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				return res.Count - 1
			}
			// want: the index refused (-1 for none) at each call; a is
			// refused at its fourth hit, b from its second on.
			for call, want := range []int{-1, 1, 1, 0} {
				got, err := rl.CheckAll(ctx, limits)
				if got != want {
					t.Fatalf("call %d: got index %d (%v), want %d", call+1, got, err, want)
				}
				var le *middleware.LimitError
				switch {
				case want < 0 && err != nil:
					t.Fatalf("call %d: got %v, want nil", call+1, err)
				case want >= 0 && (!errors.As(err, &le) || le.Key != limits[want].Key || le.RetryAfter != w):
					t.Fatalf("call %d: got %v, want a *LimitError for %q retrying in %v", call+1, err, limits[want].Key, w)
				}
			}
			if a, b := count("a"), count("b"); a != 4 || b != 3 {
				t.Errorf("counts: got a %d and b %d, want 4 and 3 (b not counted once a refused)", a, b)
			}
			if name == "store" {
				if h, s := counting.hits.Load(), counting.sequences.Load(); h != 2 || s != 4 {
					t.Errorf("store calls: got %d Hit and %d HitSequence, want 2 (this test's own) and 4", h, s)
				}
			}
			for _, bad := range [][]middleware.KeyLimit{
				{{Key: "c", Limit: middleware.Limit{N: 1, Window: w}}, {Key: "c", Limit: middleware.Limit{N: 1, Window: w}}},
				{{Key: "c", Limit: middleware.Limit{N: 1, Window: w}}, {Key: "d", Limit: middleware.Limit{}}},
			} {
				if i, err := rl.CheckAll(ctx, bad); i != -1 || err == nil || errors.Is(err, middleware.ErrLimited) || errors.Is(err, middleware.ErrLimiterUnavailable) {
					t.Errorf("invalid limits %v: got %d, %v; want -1 and an error of its own", bad, i, err)
				}
			}
			if c := count("c"); c != 0 {
				t.Errorf("invalid limits: c counted %d times, want 0", c)
			}
			if i, err := rl.CheckAll(ctx, nil); i != -1 || err != nil {
				t.Errorf("no limits: got %d, %v; want -1, nil", i, err)
			}
		})
	}
}

// failingSequence is a SequenceLimiter whose store is down.
type failingSequence struct{ failingLimiter }

func (failingSequence) HitSequence(context.Context, []store.LimitHit, time.Time) ([]store.LimitResult, error) {
	return nil, errors.New("down")
}

// TestRateLimiterCheckAllFailure: a sequence whose store fails answers an
// error wrapping ErrLimiterUnavailable and the store's, or, with
// FailOpen, lets the request through and logs it, as Check does.
func TestRateLimiterCheckAllFailure(t *testing.T) {
	t.Parallel()
	for _, open := range []bool{false, true} {
		t.Run(fmt.Sprintf("FailOpen=%v", open), func(t *testing.T) {
			t.Parallel()
			log := &logRecorder{}
			rl, err := middleware.NewRateLimiter(newSite(t, nil, log), middleware.RateLimiterConfig{Limiter: failingSequence{}, FailOpen: open})
			if err != nil {
				t.Fatal(err)
			}
			limits := []middleware.KeyLimit{{Key: "a", Limit: middleware.Limit{N: 1, Window: time.Second}}, {Key: "b", Limit: middleware.Limit{N: 1, Window: time.Second}}}
			i, err := rl.CheckAll(context.Background(), limits)
			if open && (i != -1 || err != nil || len(log.records()) != 1) {
				t.Errorf("got %d, %v and %d log records; want -1, nil and 1", i, err, len(log.records()))
			}
			if !open && (i != -1 || !errors.Is(err, middleware.ErrLimiterUnavailable) || !strings.Contains(err.Error(), "down")) {
				t.Errorf("got %d, %v; want -1 and an error wrapping ErrLimiterUnavailable and the store's", i, err)
			}
		})
	}
}
