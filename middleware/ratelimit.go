package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/store"
)

// IPResolver finds a request's client address. Forwarded headers are
// believed only when the connection comes from a trusted proxy, and only
// as far back as the chain of trusted proxies goes. The zero value trusts
// no proxy and uses r.RemoteAddr. Safe for concurrent use.
type IPResolver struct {
	// TrustedProxies are the networks of the reverse proxies in front of
	// the application ("10.0.0.0/8", "127.0.0.1/32", ...).
	TrustedProxies []netip.Prefix
	// Header is the forwarding header to read. Default "X-Forwarded-For".
	Header string
}

// ParsePrefixes parses CIDR prefixes or single addresses, for
// IPResolver.TrustedProxies.
func ParsePrefixes(list ...string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("sigra/middleware: trusted proxy %q is not an address or CIDR prefix", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (p *IPResolver) trusted(a netip.Addr) bool {
	for _, pr := range p.TrustedProxies {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the client address of r: the peer address, or, when the
// peer is a trusted proxy, the right-most address in the forwarding header
// that is not itself a trusted proxy.
func (p *IPResolver) ClientIP(r *http.Request) string {
	peer := remoteAddr(r)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if p == nil || len(p.TrustedProxies) == 0 || !p.trusted(peer) {
		return peer.String()
	}
	header := p.Header
	if header == "" {
		header = "X-Forwarded-For"
	}
	values := r.Header.Values(header)
	client := peer
	for i := len(values) - 1; i >= 0; i-- {
		hops := strings.Split(values[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				return client.String()
			}
			client = a.Unmap()
			if !p.trusted(client) {
				return client.String()
			}
		}
	}
	return client.String()
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

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
	Hit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (store.Limit, error)
}

// Rule is one rate limit: at most Limit requests per Window for each key.
type Rule struct {
	// Name prefixes the keys, so rules do not share counters ("login").
	Name   string
	Limit  int
	Window time.Duration
	// Key derives the key from the request. Default: the client address,
	// IPv6 grouped by /64 (see IPKey). Return a constant for a global limit,
	// or "" to skip the rule for this request.
	Key func(r *http.Request) string
}

// RateLimiter applies [Rule]s over a [Limiter]. Safe for concurrent use.
type RateLimiter struct {
	limiter  Limiter
	clientIP func(*http.Request) string
	now      func() time.Time
	logger   *slog.Logger
	failOpen bool
}

// RateLimiterConfig configures a [RateLimiter].
type RateLimiterConfig struct {
	// Limiter counts hits. Required: pass the store for limits that hold
	// across instances, or a MemoryLimiter.
	Limiter Limiter
	// ClientIP resolves the client address. Default: the zero IPResolver's
	// (the peer address).
	ClientIP func(*http.Request) string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// FailOpen lets requests through when the limiter fails (store down).
	// Default false: they get 503.
	FailOpen bool
	// Logger receives limiter failures. Default slog.Default().
	Logger *slog.Logger
}

// NewRateLimiter returns a RateLimiter.
func NewRateLimiter(cfg RateLimiterConfig) (*RateLimiter, error) {
	if cfg.Limiter == nil {
		return nil, errors.New("sigra/middleware: RateLimiter needs a Limiter")
	}
	rl := &RateLimiter{limiter: cfg.Limiter, clientIP: cfg.ClientIP, now: cfg.Now, logger: cfg.Logger, failOpen: cfg.FailOpen}
	if rl.clientIP == nil {
		rl.clientIP = (&IPResolver{}).ClientIP
	}
	if rl.now == nil {
		rl.now = time.Now
	}
	if rl.logger == nil {
		rl.logger = slog.Default()
	}
	return rl, nil
}

// ErrLimited is returned by Check when the limit is reached; the
// [*LimitError] carries when to retry.
var ErrLimited = errors.New("sigra/middleware: rate limit reached")

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
// *LimitError when it is over limit, or the limiter's error (nil when the
// limiter fails and FailOpen is set). Handlers use it for limits keyed by
// what they parse from the body, such as the account an attempt targets.
func (rl *RateLimiter) Check(ctx context.Context, key string, limit int, window time.Duration) error {
	now := rl.now()
	res, err := rl.limiter.Hit(ctx, key, limit, window, now)
	if err != nil {
		if rl.failOpen {
			rl.logger.WarnContext(ctx, "rate limiter failed; letting the request through", "key", key, "err", err)
			return nil
		}
		return fmt.Errorf("sigra/middleware: rate limiter: %w", err)
	}
	if !res.Allowed {
		retry := res.Reset.Sub(now)
		if retry < time.Second {
			retry = time.Second
		}
		return &LimitError{Key: key, RetryAfter: retry}
	}
	return nil
}

// ClientIP returns the client address of r as the limiter resolves it.
func (rl *RateLimiter) ClientIP(r *http.Request) string { return rl.clientIP(r) }

// Limit returns middleware enforcing rule. Requests over the limit get 429
// with Retry-After, as JSON ("rate_limited") or plain text; a limiter
// failure gets 503 unless FailOpen. Limit panics when rule.Limit or
// rule.Window is not positive: a programming error, caught at startup.
func (rl *RateLimiter) Limit(rule Rule) func(http.Handler) http.Handler {
	if rule.Limit <= 0 || rule.Window <= 0 {
		panic("sigra/middleware: Rule needs a positive Limit and Window")
	}
	keyFn := rule.Key
	if keyFn == nil {
		keyFn = func(r *http.Request) string { return IPKey(rl.clientIP(r)) }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := keyFn(r)
			if k == "" {
				next.ServeHTTP(w, r)
				return
			}
			if err := rl.Check(r.Context(), rule.Name+":"+k, rule.Limit, rule.Window); err != nil {
				WriteLimitError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// WriteLimitError answers a request refused by Check: 429 with
// Retry-After for a *LimitError, 503 for a limiter failure.
func WriteLimitError(w http.ResponseWriter, r *http.Request, err error) {
	var le *LimitError
	if errors.As(err, &le) {
		w.Header().Set("Retry-After", strconv.Itoa(int((le.RetryAfter+time.Second-1)/time.Second)))
		web.PlainError(w, r, http.StatusTooManyRequests, "rate_limited", "Too many attempts. Try again later.")
		return
	}
	web.PlainError(w, r, http.StatusServiceUnavailable, "unavailable", "The service is busy. Try again shortly.")
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
func (m *MemoryLimiter) Hit(_ context.Context, key string, limit int, window time.Duration, now time.Time) (store.Limit, error) {
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
	return store.Limit{Allowed: e.count <= limit, Count: e.count, Reset: e.reset}, nil
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
