package audit_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
)

// BenchmarkRecord measures Record against the bare AppendAudit it wraps, on
// the same SQLite store in the same run: the difference is the cost of
// validation and completion from the context.
func BenchmarkRecord(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	md := map[string]string{"method": "password", "reason": "bad_password", "aal": "1"}
	ctx = audit.WithRequest(ctx, nil, "192.0.2.1")

	b.Run("baseline=AppendAudit", func(b *testing.B) {
		for b.Loop() {
			err := db.AppendAudit(ctx, &store.AuditEvent{Action: audit.ActionLoginFailure, SubjectID: "user-1",
				Outcome: audit.OutcomeFailure, IP: "192.0.2.1", Metadata: md})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Record", func(b *testing.B) {
		l, err := audit.New(audit.Config{Store: db})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			err := l.Record(ctx, audit.Event{Action: audit.ActionLoginFailure, SubjectID: "user-1",
				Outcome: audit.OutcomeFailure, Metadata: md})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkChain measures sealing and verifying on SQLite, per row, beside
// the AppendAudit that wrote the row in the same run: sealing a row should
// cost a fraction of writing it.
func BenchmarkChain(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	chain, err := audit.NewChain(audit.ChainConfig{Store: db, Key: make([]byte, audit.MinChainKeyLen)})
	if err != nil {
		b.Fatal(err)
	}
	md := map[string]string{"method": "password", "aal": "1"}
	appendRows := func(n int) {
		for range n {
			if err := db.AppendAudit(ctx, &store.AuditEvent{Action: audit.ActionLoginSuccess, SubjectID: "user-1",
				Outcome: audit.OutcomeSuccess, IP: "192.0.2.1", Metadata: md}); err != nil {
				b.Fatal(err)
			}
		}
	}
	const batch = audit.DefaultSealBatch
	b.Run("baseline=AppendAudit", func(b *testing.B) {
		for b.Loop() {
			appendRows(1)
		}
	})
	if _, err := chain.Seal(ctx); err != nil { // the baseline's rows
		b.Fatal(err)
	}
	for {
		if n, err := chain.Seal(ctx); err != nil {
			b.Fatal(err)
		} else if n == 0 {
			break
		}
	}
	b.Run("Seal", func(b *testing.B) {
		b.StopTimer()
		for range b.N {
			appendRows(batch)
			b.StartTimer()
			if n, err := chain.Seal(ctx); err != nil || n != batch {
				b.Fatalf("Seal: %d, %v", n, err)
			}
			b.StopTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
	})
	b.Run("Verify", func(b *testing.B) {
		var rows int64
		for b.Loop() {
			r, err := chain.Verify(ctx, audit.VerifyOptions{})
			if err != nil || !r.OK() {
				b.Fatalf("Verify: %+v, %v", r, err)
			}
			rows += r.Checked
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
	})
}
