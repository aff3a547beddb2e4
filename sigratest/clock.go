package sigratest

import (
	"sync"
	"time"
)

// Clock is a time source a test controls: give its Now method to
// site.Config.Now, and everything built on that site (sessions, tokens,
// lockouts, TOTP codes, the outbox) reads the test's time. It is safe for
// concurrent use. Use [NewClock]; the zero value stands at the zero time.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to the current time in UTC, truncated to
// the millisecond. It starts at the real time because some parts (cookie
// lifetimes computed by the session library) read the real clock.
func NewClock() *Clock {
	return &Clock{t: time.Now().UTC().Truncate(time.Millisecond)}
}

// Now returns the clock's time. It does not move by itself.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d (backwards when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set sets the clock to t, in UTC.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t.UTC()
}
