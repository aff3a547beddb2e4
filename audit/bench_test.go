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
