package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
)

// IPKey returns the rate-limit key of a client address: the address itself
// for IPv4, its /64 network for IPv6 (one subscriber usually holds a whole
// /64, so limiting single IPv6 addresses would limit nothing).
func IPKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "ip:" + ip
	}
	a = a.Unmap()
	if a.Is4() {
		return "ip:" + a.String()
	}
	p, _ := a.Prefix(64)
	return "ip:" + p.String()
}

// Limiter counts hits against limits. store.Limiter (every Sigra store)
// satisfies it and holds across instances; [MemoryLimiter] is the
// single-process alternative.
type Limiter interface {
	Hit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (store.LimitResult, error)
}

// Limit is a rate limit: at most N events per fixed Window. It is the one
// limit type of the module: rules, and the limits of every feature's
// configuration.
type Limit struct {
	// N is the number of events allowed per window.
	N int
	// Window is the length of a fixed window.
	Window time.Duration
}

// valid reports whether both fields are positive.
func (l Limit) valid() bool { return l.N > 0 && l.Window > 0 }

// Or returns l, or def when l is the zero Limit: a configuration's zero
// field takes the default.
func (l Limit) Or(def Limit) Limit {
	if l == (Limit{}) {
		return def
	}
	return l
}

// Rule is one rate limit applied by middleware: at most Limit.N requests
// per Limit.Window for each key.
type Rule struct {
	// Name prefixes the keys, so rules do not share counters ("login").
	Name  string
	Limit Limit
	// Key derives the key from the request. Default: the client address,
	// IPv6 grouped by /64 (see IPKey). Return a constant for a global limit,
	// or "" to skip the rule for this request.
	Key func(r *http.Request) string
}

// RateLimiter applies limits over a [Limiter], with the site's clock and
// client addresses. Safe for concurrent use.
type RateLimiter struct {
	limiter  Limiter
	site     *site.Site
	logger   *slog.Logger
	failOpen bool
}

// RateLimiterConfig configures a [RateLimiter].
type RateLimiterConfig struct {
	// Limiter counts hits. Required: pass the store for limits that hold
	// across instances, or a MemoryLimiter.
	Limiter Limiter
	// FailOpen lets requests through when the limiter fails (store down).
	// Default false: they get 503. A password sign-in counts its limits
	// with its attempt place in one write of the store (see package
	// account): a failure there fails the sign-in, with 503, even with
	// FailOpen set, since no attempt place could be taken either.
	FailOpen bool
}

// NewRateLimiter returns a RateLimiter for the site s. Errors wrap
// [sigra.ErrConfig].
func NewRateLimiter(s *site.Site, cfg RateLimiterConfig) (*RateLimiter, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: middleware: RateLimiter needs a site", sigra.ErrConfig)
	}
	if cfg.Limiter == nil {
		return nil, fmt.Errorf("%w: middleware: RateLimiter needs a Limiter", sigra.ErrConfig)
	}
	return &RateLimiter{limiter: cfg.Limiter, site: s, logger: s.Logger(), failOpen: cfg.FailOpen}, nil
}

// ErrLimited is returned by Check when the limit is reached; the
// [*LimitError] carries when to retry.
var ErrLimited = errors.New("sigra/middleware: rate limit reached")

// ErrLimiterUnavailable is wrapped, with the limiter's own error, by the
// error Check returns when the limiter fails (its store is unreachable or
// too slow) and FailOpen is not set. It wraps [sigra.ErrBusy] itself, so
// handlers answer it, as a full hashing pool, with 503 and Retry-After, as
// [WriteLimitError] does: an outage is not a fault of the request.
var ErrLimiterUnavailable error = limiterUnavailable{}

// limiterUnavailable is the type of ErrLimiterUnavailable.
type limiterUnavailable struct{}

func (limiterUnavailable) Error() string { return "sigra/middleware: rate limiter unavailable" }

// Unwrap returns sigra.ErrBusy.
func (limiterUnavailable) Unwrap() error { return sigra.ErrBusy }

// limiterError is the error of a failed limiter.
type limiterError struct{ err error }

func (e *limiterError) Error() string { return ErrLimiterUnavailable.Error() + ": " + e.err.Error() }

// Unwrap returns ErrLimiterUnavailable and the limiter's error.
func (e *limiterError) Unwrap() []error { return []error{ErrLimiterUnavailable, e.err} }

// LimitError reports a reached limit.
type LimitError struct {
	Key        string
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("sigra/middleware: rate limit reached for %q; retry in %s", e.Key, e.RetryAfter)
}

// Unwrap returns ErrLimited.
func (e *LimitError) Unwrap() error { return ErrLimited }

// Check counts one hit on key (Name-prefixed by the caller) and returns a
// *LimitError when it is over limit. When the limiter fails it returns an
// error wrapping ErrLimiterUnavailable (and so sigra.ErrBusy) and the
// limiter's error; with FailOpen set it logs the failure and returns nil instead,
// unless ctx was cancelled (the client went away: there is nothing to let
// through). Handlers use it for limits keyed by what they parse from the
// body, such as the account an attempt targets.
func (rl *RateLimiter) Check(ctx context.Context, key string, limit Limit) error {
	now := rl.site.Now()
	res, err := rl.limiter.Hit(ctx, key, limit.N, limit.Window, now)
	if err != nil {
		if rl.failOpen && ctx.Err() == nil {
			rl.logger.WarnContext(ctx, "rate limiter failed; letting the request through", "key", key, "err", err)
			return nil
		}
		return &limiterError{err: err}
	}
	if !res.Allowed {
		return Refusal(key, res, now)
	}
	return nil
}

// KeyLimit is one limit of a [RateLimiter.CheckAll] sequence: Limit
// counted on Key (Name-prefixed by the caller, as for Check).
type KeyLimit struct {
	// Key names the counter, the rule's name first ("email-ip:...").
	Key string
	// Limit is the most hits Key's window allows.
	Limit Limit
}

// CheckAll counts one hit on each of limits in order, as Check does, and
// stops at the first that is over its limit: it returns that limit's
// index and its *LimitError, and counts nothing after it. Otherwise it
// returns -1 and nil, or -1 and the error of a limiter that failed (as
// Check: an error wrapping ErrLimiterUnavailable, or nil with FailOpen
// set). When the Limiter is a store.SequenceLimiter (every Sigra store
// is), the hits are one call of it: one write of the store, on PostgreSQL
// one statement, where hits one by one are a write each. Limits whose
// keys repeat, or whose N or Window is not positive, are refused with an
// error before anything is counted: a programming error. Every sequence
// that shares keys with another should list them in the same order (see
// store.SequenceLimiter).
func (rl *RateLimiter) CheckAll(ctx context.Context, limits []KeyLimit) (int, error) {
	hits := make([]store.LimitHit, len(limits))
	for i, kl := range limits {
		if !kl.Limit.valid() {
			return -1, fmt.Errorf("sigra/middleware: CheckAll: limit %d (%q) needs a positive N and Window", i, kl.Key)
		}
		hits[i] = store.LimitHit{Key: kl.Key, Limit: kl.Limit.N, Window: kl.Limit.Window}
	}
	if err := store.CheckLimitHits(hits); err != nil {
		return -1, fmt.Errorf("sigra/middleware: CheckAll: %w", err)
	}
	seq, ok := rl.limiter.(store.SequenceLimiter)
	if !ok || len(limits) < 2 {
		for i, kl := range limits {
			if err := rl.Check(ctx, kl.Key, kl.Limit); errors.Is(err, ErrLimited) {
				return i, err
			} else if err != nil {
				return -1, err
			}
		}
		return -1, nil
	}
	now := rl.site.Now()
	res, err := seq.HitSequence(ctx, hits, now)
	if err == nil && (len(res) == 0 || len(res) > len(hits) || len(res) < len(hits) && res[len(res)-1].Allowed) {
		err = fmt.Errorf("%d results for %d hits", len(res), len(hits))
	}
	if err != nil {
		if rl.failOpen && ctx.Err() == nil {
			rl.logger.WarnContext(ctx, "rate limiter failed; letting the request through", "keys", len(limits), "key", limits[0].Key, "err", err)
			return -1, nil
		}
		return -1, &limiterError{err: err}
	}
	if last := res[len(res)-1]; !last.Allowed {
		i := len(res) - 1
		return i, Refusal(limits[i].Key, last, now)
	}
	return -1, nil
}

// Limiter returns the [Limiter] rl counts on. A feature that counts other
// hits in its store (attempt places) tells by it whether rl counts in the
// same store, and so whether both may be counted in one write.
func (rl *RateLimiter) Limiter() Limiter { return rl.limiter }

// Refusal returns the *LimitError of a hit on key that a limiter refused
// (res.Allowed false) at now, as Check returns it: retry when the window
// ends, in a second at the soonest.
func Refusal(key string, res store.LimitResult, now time.Time) *LimitError {
	retry := res.Reset.Sub(now)
	if retry < time.Second {
		retry = time.Second
	}
	return &LimitError{Key: key, RetryAfter: retry}
}

// Limit returns middleware enforcing rule. Requests over the limit get 429
// with Retry-After, as JSON ("rate_limited") or a minimal HTML page; a
// limiter failure gets 503 with Retry-After ("busy") unless FailOpen (see
// [WriteLimitError]). Limit panics when rule.Limit's N or Window is not
// positive: a programming error, caught at startup.
func (rl *RateLimiter) Limit(rule Rule) func(http.Handler) http.Handler {
	if !rule.Limit.valid() {
		panic("sigra/middleware: Rule needs a positive Limit.N and Limit.Window")
	}
	keyFn := rule.Key
	if keyFn == nil {
		keyFn = func(r *http.Request) string { return IPKey(rl.site.ClientIP(r)) }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := keyFn(r)
			if k == "" {
				next.ServeHTTP(w, r)
				return
			}
			if err := rl.Check(r.Context(), rule.Name+":"+k, rule.Limit); err != nil {
				WriteLimitError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// WriteLimitError answers a request refused by Check: 429 with
// Retry-After for a *LimitError. Any other error is answered as every
// Sigra handler answers an unexpected error: 503 with Retry-After and the
// code "busy" for a limiter failure (or any error wrapping
// sigra.ErrBusy), only the status 499 when the client went away (its
// request's context was cancelled: it reads nothing), 500 otherwise. It
// does not log.
func WriteLimitError(w http.ResponseWriter, r *http.Request, err error) {
	var le *LimitError
	if errors.As(err, &le) {
		web.SetRetryAfter(w.Header(), le.RetryAfter)
		web.PlainError(w, r, http.StatusTooManyRequests, "rate_limited", "Too many attempts. Try again later.")
		return
	}
	web.Classify(r, err).Write(w, r)
}

// MemoryLimiter is a bounded in-process [Limiter] for single-instance
// applications: its limits do not hold across instances. It keeps at most
// MaxKeys counters; when full, expired counters are dropped first and then
// the counters closest to their reset, so memory stays bounded under a
// flood of distinct keys. Safe for concurrent use.
type MemoryLimiter struct {
	mu      sync.Mutex
	max     int
	entries map[string]*memEntry
}

type memEntry struct {
	count int
	reset time.Time
}

// NewMemoryLimiter returns a MemoryLimiter holding at most maxKeys counters
// (default 100,000 when maxKeys <= 0).
func NewMemoryLimiter(maxKeys int) *MemoryLimiter {
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	return &MemoryLimiter{max: maxKeys, entries: make(map[string]*memEntry)}
}

// Hit implements Limiter with the same fixed-window semantics as
// store.Limiter.
func (m *MemoryLimiter) Hit(_ context.Context, key string, limit int, window time.Duration, now time.Time) (store.LimitResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok || !now.Before(e.reset) {
		if !ok && len(m.entries) >= m.max {
			m.evict(now)
		}
		if !ok {
			e = &memEntry{}
			m.entries[key] = e
		}
		e.count, e.reset = 0, now.Add(window)
	}
	e.count++
	return store.LimitResult{Allowed: e.count <= limit, Count: e.count, Reset: e.reset}, nil
}

// Len returns how many counters are held.
func (m *MemoryLimiter) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// evict frees room: every expired counter, and if none expired, the tenth
// of the counters that reset soonest (they hold the least information).
func (m *MemoryLimiter) evict(now time.Time) {
	for k, e := range m.entries {
		if !now.Before(e.reset) {
			delete(m.entries, k)
		}
	}
	if len(m.entries) < m.max {
		return
	}
	n := max(1, m.max/10)
	// Find the reset time below which n counters fall, by sampling; exact
	// order is not needed, only a bounded table.
	var oldest []time.Time
	for _, e := range m.entries {
		oldest = append(oldest, e.reset)
	}
	cut := nthSmallest(oldest, n)
	for k, e := range m.entries {
		if n == 0 {
			break
		}
		if !e.reset.After(cut) {
			delete(m.entries, k)
			n--
		}
	}
}

// nthSmallest returns the n-th smallest time (1-based) with quickselect.
func nthSmallest(ts []time.Time, n int) time.Time {
	lo, hi, k := 0, len(ts)-1, n-1
	for lo < hi {
		p := ts[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for ts[i].Before(p) {
				i++
			}
			for ts[j].After(p) {
				j--
			}
			if i <= j {
				ts[i], ts[j] = ts[j], ts[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return ts[k]
		}
	}
	return ts[k]
}
