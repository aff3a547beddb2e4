package bench

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/sigra-go/sigra/ui"
)

// BenchmarkCollection measures what one garbage collection costs in a
// process that serves the kit (the sign-in benchmark's server: every
// feature's pages and emails, over SQLite), against the same process
// before the kit is built. Each collection marks the whole live heap, and
// a server that signs users in collects about once every three sign-ins,
// since each hash allocates its 19 MiB (see BenchmarkSignInThroughput's
// signin-gcs), so what the application keeps live costs every sign-in.
// Each sub-benchmark reports, besides the time of a forced collection
// (runtime.GC, which waits for the whole cycle), gc-cpu-ns/op, the CPU time
// the collector took per collection as the runtime estimates it, and what
// the live heap holds: scan-bytes, the part the collector must read for
// pointers, and objects. Run it with
//
//	go test -run '^$' -bench Collection -count 5 ./bench/
func BenchmarkCollection(b *testing.B) {
	measure := func(b *testing.B) {
		runtime.GC()
		s := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}, {Name: "/gc/heap/objects:objects"}}
		metrics.Read(s)
		g0 := readGC()
		for b.Loop() {
			runtime.GC()
		}
		g := readGC().sub(g0)
		b.ReportMetric(float64(g.cpu.Nanoseconds())/float64(b.N), "gc-cpu-ns/op")
		for i, unit := range []string{"scan-bytes", "objects"} {
			if s[i].Value.Kind() == metrics.KindUint64 {
				b.ReportMetric(float64(s[i].Value.Uint64()), unit)
			}
		}
	}
	b.Run("bare", measure)
	// Built here rather than in the sub-benchmark, which may run more than
	// once (each run would keep its own kit until the last ends).
	k, _, _ := serveKit(b, openSQLite(b), 10)
	b.Run("kit", measure)
	// A page's, section's or email's set is built when first used (see
	// package ui): a process that has rendered every one keeps them all.
	renderEverything(b, k.UI)
	b.Run("kit-every-page", measure)
}

// renderEverything renders every page, settings section and email of u
// once, so that u holds the template set of each.
func renderEverything(tb testing.TB, u *ui.UI) {
	tb.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, name := range u.Pages() {
		w := httptest.NewRecorder()
		u.Render(w, r, http.StatusOK, name, nil)
		if w.Code != http.StatusOK {
			tb.Fatalf("page %q: got %d, want 200", name, w.Code)
		}
	}
	for _, name := range u.Sections() {
		if _, err := u.RenderSection(name, nil, nil); err != nil {
			tb.Fatalf("section %q: %v", name, err)
		}
	}
	for _, name := range u.Emails() {
		if _, _, _, err := u.RenderEmail(name, nil); err != nil {
			tb.Fatalf("email %q: %v", name, err)
		}
	}
}
