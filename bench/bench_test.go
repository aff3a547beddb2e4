package bench

import (
	"testing"
	"time"

	"github.com/sigra-go/sigra/store/postgres"
)

// backends are the applications compared: the bare handler (the
// benchmark's own cost, see newBareApp), then the baseline, then ours.
var backends = []struct {
	name string
	new  func(b *testing.B) (*app, *roundTrips)
}{
	{"bare-handler", func(b *testing.B) (*app, *roundTrips) { return newBareApp(), nil }},
	{"scs-sqlite3store", func(b *testing.B) (*app, *roundTrips) { return newSCSApp(b), nil }},
	{"sigra-sqlite", func(b *testing.B) (*app, *roundTrips) {
		db := openSQLite(b)
		return newSigraApp(b, db, db, nil), nil
	}},
	{"sigra-postgres", func(b *testing.B) (*app, *roundTrips) {
		trips := &roundTrips{}
		db := openPostgres(b, postgres.Config{Tracer: trips})
		return newSigraApp(b, db, db, nil), trips
	}},
}

// warmUp serves a few requests before timing, so that statement caches
// and pools are in their steady state, and forgets their round trips.
func warmUp(b *testing.B, a *app, trips *roundTrips) {
	b.Helper()
	for range 10 {
		if err := a.serve(); err != nil {
			b.Fatal(err)
		}
	}
	if trips != nil {
		trips.take()
	}
}

// BenchmarkAuthenticatedRequest measures one authenticated request through
// each application's whole chain, serially; see the package comment.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			a, trips := be.new(b)
			warmUp(b, a, trips)
			b.ReportAllocs()
			defer reportCores(b)()
			for b.Loop() {
				if err := a.serve(); err != nil {
					b.Fatal(err)
				}
			}
			if trips != nil {
				n, _ := trips.take()
				b.ReportMetric(float64(n)/float64(b.N), "queries/op")
			}
		})
	}
}

// BenchmarkAuthenticatedRequestParallel is BenchmarkAuthenticatedRequest
// with requests served from GOMAXPROCS goroutines at once.
func BenchmarkAuthenticatedRequestParallel(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			a, trips := be.new(b)
			warmUp(b, a, trips)
			b.ReportAllocs()
			defer reportCores(b)()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := a.serve(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			if trips != nil {
				n, _ := trips.take()
				b.ReportMetric(float64(n)/float64(b.N), "queries/op")
			}
		})
	}
}

// BenchmarkAuthenticatedRequestRatio serves the baseline's request and
// sigra-sqlite's alternately, in one loop, timing each, and reports their
// mean times and the ratio sigra-sqlite / scs-sqlite3store (the design
// budget is at most 0.5). Load from other processes hits both alike, so
// the ratio is steadier than the one between two sub-benchmarks run one
// after the other. The order alternates each iteration.
func BenchmarkAuthenticatedRequestRatio(b *testing.B) {
	base := newSCSApp(b)
	db := openSQLite(b)
	ours := newSigraApp(b, db, db, nil)
	warmUp(b, base, nil)
	warmUp(b, ours, nil)
	var baseTime, oursTime time.Duration
	timed := func(a *app, total *time.Duration) {
		start := time.Now()
		err := a.serve()
		*total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
	}
	odd := false
	for b.Loop() {
		if odd {
			timed(ours, &oursTime)
			timed(base, &baseTime)
		} else {
			timed(base, &baseTime)
			timed(ours, &oursTime)
		}
		odd = !odd
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(baseTime.Nanoseconds())/float64(b.N), "scs-ns/op")
	b.ReportMetric(float64(oursTime.Nanoseconds())/float64(b.N), "sigra-ns/op")
	b.ReportMetric(float64(oursTime)/float64(baseTime), "ratio")
}
