package bench

import (
	"testing"
)

// maxAllocsPerRequest is the budget of allocations of one authenticated
// request on SQLite as BenchmarkAuthenticatedRequest serves it, the
// request and response writer made as net/http's server makes them
// included (12 of them: the bare handler's count). It was 153 before the
// session lookup left database/sql, 43 before the session cache, 29 with
// httptest's recorder as the response writer, 24 while a cache hit copied
// the cached records, 22 while every request loaded the session's values
// through scs.Load, 15 while the Auth and the Client took a context value
// of their own; 14 now, the budget leaving room for two.
const maxAllocsPerRequest = 16

// TestAllocationsPerRequest pins the allocations of a steady authenticated
// request through sigra-sqlite's whole chain to the budget.
func TestAllocationsPerRequest(t *testing.T) {
	db := openSQLite(t)
	a := newSigraApp(t, db, db, nil)
	for range 10 {
		if err := a.serve(); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	n := testing.AllocsPerRun(200, func() {
		if e := a.serve(); e != nil && err == nil {
			err = e
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v allocations per authenticated request", n)
	if n > maxAllocsPerRequest {
		t.Errorf("allocations per authenticated request: got %v, want at most %d", n, maxAllocsPerRequest)
	}
}
