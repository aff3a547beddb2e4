package bench

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkMachineScaling measures how far the machine lets work scale
// from one goroutine to GOMAXPROCS, apart from any application: "compute"
// is a loop that only computes (no memory), "alloc" one that only
// allocates 128-byte objects and drops them (the garbage collector's
// work). Compare each parallel ns/op with its serial one, as for
// BenchmarkAuthenticatedRequestParallel: a request that allocates cannot
// scale better than "alloc" does on the same machine. Each sub-benchmark
// also reports cores, the CPU time this process used per unit of wall
// time while it ran (where Linux's /proc can be read): a serial loop that
// allocates uses more than one core, the collector running beside it.
func BenchmarkMachineScaling(b *testing.B) {
	var sink atomic.Uint64
	compute := func() uint64 {
		x := uint64(1)
		for range 2000 {
			x = x*6364136223846793005 + 1442695040888963407
			x ^= x >> 17
		}
		return x
	}
	for _, tc := range []struct {
		name string
		work func() uint64
	}{
		{"compute", compute},
		{"alloc", func() uint64 { return uint64(len(allocate())) }},
	} {
		b.Run(tc.name+"/serial", func(b *testing.B) {
			defer reportCores(b)()
			var s uint64
			for b.Loop() {
				s += tc.work()
			}
			sink.Add(s)
		})
		b.Run(tc.name+"/parallel", func(b *testing.B) {
			defer reportCores(b)()
			b.RunParallel(func(pb *testing.PB) {
				var s uint64
				for pb.Next() {
					s += tc.work()
				}
				sink.Add(s)
			})
		})
	}
}

// allocate returns a new 128-byte slice on the heap.
//
//go:noinline
func allocate() []byte { return make([]byte, 128) }

// reportCores starts measuring this process's CPU time and wall time; the
// function it returns reports their ratio as the metric cores, and the CPU
// time per operation as cpu-ns/op, when the CPU time can be read.
//
// Together they bound what running in parallel can gain: a serial run
// that uses c cores (its goroutine, and the garbage collector on the idle
// ones) takes at best c/GOMAXPROCS of its time when every core runs it at
// the same CPU per operation, and a parallel run's cpu-ns/op above the
// serial one's is what the cores lose to each other.
func reportCores(b *testing.B) func() {
	u0, ok0 := selfUsage()
	start := time.Now()
	return func() {
		wall := time.Since(start)
		u1, ok1 := selfUsage()
		if cpu := u1.cpu - u0.cpu; ok0 && ok1 && wall > 0 && b.N > 0 {
			b.ReportMetric(float64(cpu)/float64(wall), "cores")
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		}
	}
}
