package mail

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	o := &Outbox{base: DefaultBaseDelay, max: DefaultMaxDelay}
	for n := 1; n <= 40; n++ {
		want := DefaultMaxDelay
		if n <= 10 {
			want = min(DefaultBaseDelay<<(n-1), DefaultMaxDelay)
		}
		lo, hi := want, time.Duration(0)
		for range 200 {
			d := o.backoff(n)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < want/2 || hi > want {
			t.Errorf("attempt %d: delays in [%v, %v], want within [%v, %v]", n, lo, hi, want/2, want)
		}
		// The jitter spreads retries: 200 draws are not all equal.
		if lo == hi {
			t.Errorf("attempt %d: every delay is %v, want jitter", n, lo)
		}
	}
}

func TestBackoffExtremes(t *testing.T) {
	t.Parallel()
	o := &Outbox{base: time.Hour, max: time.Duration(1<<63 - 1)}
	for _, n := range []int{0, 1, 62, 63, 64, 1000} {
		if d := o.backoff(n); d <= 0 {
			t.Errorf("backoff(%d) = %v, want positive (no overflow)", n, d)
		}
	}
	o = &Outbox{base: time.Second, max: time.Second}
	for n := 1; n < 5; n++ {
		if d := o.backoff(n); d < time.Second/2 || d > time.Second {
			t.Errorf("backoff(%d) with base = max = 1s: %v", n, d)
		}
	}
}
