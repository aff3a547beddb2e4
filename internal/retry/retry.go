// Package retry holds what the durable queues (mail's outbox, webhook's
// deliveries) share between attempts: the delay before the next attempt
// and the bounded error text stored with a failed one.
package retry

import (
	"math/rand/v2"
	"time"
	"unicode/utf8"
)

// MaxErrorText bounds the error text stored with a failed attempt.
const MaxErrorText = 1000

// Delay returns the delay before the attempt after the n-th failure:
// base*2^(n-1) capped at max, less a random jitter of up to half, so
// attempts that failed together do not retry together. base must be
// positive and at most max.
func Delay(base, max time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		if d > max/2 {
			d = max
			break
		}
		d *= 2
	}
	d = min(d, max)
	return d - time.Duration(rand.Int64N(int64(d/2)+1))
}

// ErrorText bounds text to MaxErrorText bytes, cutting before a
// character rather than inside one.
func ErrorText(text string) string {
	if len(text) <= MaxErrorText {
		return text
	}
	cut := MaxErrorText
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut]
}
