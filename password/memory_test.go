package password

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
)

// heapSampler records the peak of the heap (live and not yet freed
// objects) while it runs.
type heapSampler struct {
	stop chan struct{}
	peak chan uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), peak: make(chan uint64)}
	go func() {
		var peak uint64
		sample := []metrics.Sample{{Name: heapMetric}}
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-s.stop:
				s.peak <- peak
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the peak.
func (s *heapSampler) Stop() uint64 {
	close(s.stop)
	return <-s.peak
}

// TestPoolBoundsPeakMemory starts 500 concurrent verifications at the
// default parameters (m = 19 MiB) on a pool of 2 with the default wait of
// 2s, as 500 simultaneous sign-ins would, and checks two things. Memory:
// the heap peak stays within a small multiple of pool × 19 MiB, where the
// 500 computations without the pool would need 9.5 GiB. The bound allows
// (pool+1) × 19 MiB of live blocks, as much again of garbage (GOGC=100 lets
// the heap grow to twice its live size before collecting), and twice that
// again for a collector that lags under CPU contention: 228 MiB for a pool
// of 2, where 4 to 6 blocks (76 to 115 MiB) are typical. Behaviour: every
// call either answers correctly or fails with sigra.ErrBusy, and at least
// the calls that found a free slot answer. Not parallel: it measures the
// process heap. BenchmarkConcurrentVerify runs all 500 to completion.
func TestPoolBoundsPeakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Argon2 at the default parameters for a few seconds; skipped with -short")
	}
	if raceEnabled {
		t.Skip("Argon2 at 19 MiB is too slow under the race detector for this measurement; run without -race")
	}
	const (
		pool    = 2
		callers = 500
	)
	ctx := context.Background()
	h, err := New(Config{PoolSize: pool})
	if err != nil {
		t.Fatal(err)
	}
	const pw = "a user's password"
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	run := runConcurrentVerify(t, h, enc, pw, callers)

	var busy, wrong int
	for _, err := range run.errs {
		switch {
		case err == nil:
		case errors.Is(err, sigra.ErrBusy):
			busy++
		default:
			wrong++
			if wrong <= 3 {
				t.Errorf("verification: %v", err)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d verifications gave a wrong answer or an unexpected error", wrong, callers)
	}
	if answered := callers - busy - wrong; answered < pool {
		t.Errorf("%d verifications answered, want at least the pool size %d", answered, pool)
	}
	bound := run.baseline + 4*(pool+1)*block
	t.Logf("%d callers, %d answered, %d busy, in %v; peak heap %.1f MiB over a %.1f MiB baseline; pool × m = %.1f MiB; bound %.1f MiB; without the pool %.1f MiB",
		callers, callers-busy-wrong, busy, run.elapsed.Round(time.Millisecond), mib(run.peak), mib(run.baseline),
		mib(pool*block), mib(bound), mib(callers*block))
	if run.peak > bound {
		t.Errorf("peak heap %.1f MiB, want at most %.1f MiB (baseline + 4 × (pool+1) × 19 MiB)", mib(run.peak), mib(bound))
	}
	if run.peak < run.baseline+block {
		t.Errorf("peak heap %.1f MiB never held one 19 MiB block over the %.1f MiB baseline: the sampler missed the work", mib(run.peak), mib(run.baseline))
	}
}

// block is the Argon2 memory of one computation at the default parameters.
const block = DefaultMemory << 10

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

type concurrentRun struct {
	errs           []error
	baseline, peak uint64
	elapsed        time.Duration
}

// runConcurrentVerify starts callers goroutines that verify at once, half
// with the right password, half with a wrong one, and records the heap
// peak. An error is recorded for a wrong answer.
func runConcurrentVerify(tb testing.TB, h *Hasher, enc, pw string, callers int) concurrentRun {
	tb.Helper()
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	run := concurrentRun{errs: make([]error, callers), baseline: heapNow()}
	sampler := startHeapSampler()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			try := pw
			if i%2 == 1 {
				try = "a wrong password"
			}
			ok, _, err := h.Verify(context.Background(), try, enc)
			if err == nil && ok != (try == pw) {
				err = fmt.Errorf("Verify(%q): got %v, want %v", try, ok, !ok)
			}
			run.errs[i] = err
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	run.elapsed = time.Since(began)
	run.peak = sampler.Stop()
	return run
}
