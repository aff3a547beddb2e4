package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
)

// attrsOf returns a record's attributes as text, by key.
func attrsOf(r slog.Record) map[string]string {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

// TestLogFailureLevels: LogFailure logs at the level the request's state
// and the error call for: Debug when the client went away (whatever the
// error), Warn for a busy or unreachable store, Error otherwise; with the
// feature, the caller's attributes and the error.
func TestLogFailureLevels(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		err   error
		level slog.Level
	}{
		{"client gone, cancelled query", gone, fmt.Errorf("sigra/sqlite: delete session: %w", context.Canceled), slog.LevelDebug},
		{"client gone, any error", gone, errors.New("disk on fire"), slog.LevelDebug},
		{"client gone, store unreachable", gone, fmt.Errorf("%w: connection refused", store.ErrUnavailable), slog.LevelDebug},
		{"store unreachable", live, fmt.Errorf("%w: connection refused", store.ErrUnavailable), slog.LevelWarn},
		{"store too slow", live, fmt.Errorf("query: %w", context.DeadlineExceeded), slog.LevelWarn},
		{"store failure", live, errors.New("disk on fire"), slog.LevelError},
		{"cancellation of another context", live, context.Canceled, slog.LevelError},
	} {
		msg := "step failed: " + tc.name
		attrs := make([]any, 2, 8) // room to grow: LogFailure must not write into it
		attrs[0], attrs[1] = "user", "u1"
		h.k.LogFailure(tc.ctx, msg, tc.err, attrs...)
		recs := h.log.find(tc.level, msg)
		if len(recs) != 1 {
			t.Errorf("%s: got %d records at %v, want 1 (log:\n%s)", tc.name, len(recs), tc.level, h.log.text())
			continue
		}
		got := attrsOf(recs[0])
		if got["feature"] != packName || got["user"] != "u1" || got["err"] != tc.err.Error() {
			t.Errorf("%s: got attributes %v, want feature %q, user u1 and err %q", tc.name, got, packName, tc.err)
		}
		if full := attrs[:cap(attrs)]; full[2] != nil {
			t.Errorf("%s: LogFailure wrote into the caller's attributes: %v", tc.name, full)
		}
	}
}

// TestRecordOutsideClientGone: an event that follows a change already
// made is written even when the client went away (its context is
// cancelled): a client that hangs up cannot keep the change out of the
// log. Nothing is logged.
func TestRecordOutsideClientGone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.k.RecordOutside(ctx, audit.ActionSessionRevoke, "u1", "u1", map[string]string{"device": "d1"})
	if text := h.log.text(); text != "" {
		t.Errorf("got log records, want none:\n%s", text)
	}
	if rows := h.auditRows(t, audit.ActionSessionRevoke); len(rows) != 1 {
		t.Errorf("got %d audit rows, want 1", len(rows))
	}
}

// failingAudit is a real SQLite store whose audit log fails: a store
// failure that is not the client's doing.
type failingAudit struct{ *sqlite.DB }

func (failingAudit) AppendAudit(context.Context, *store.AuditEvent) error {
	return errors.New("sigra/sqlite: append audit: disk I/O error")
}

// TestRecordOutsideStoreFailure: a store that fails to write the audit
// row, for a client still there, is logged at Error with the action and
// the error.
func TestRecordOutsideStoreFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	k, err := kernel.New(packName, packName, failingAudit{h.st}, h.deps(h.outbox))
	if err != nil {
		t.Fatal(err)
	}
	k.RecordOutside(context.Background(), audit.ActionSessionRevoke, "u1", "u1", nil)
	recs := h.log.find(slog.LevelError, "audit row not written")
	if len(recs) != 1 {
		t.Fatalf("got %d records at ERROR, want 1 (log:\n%s)", len(recs), h.log.text())
	}
	if got := attrsOf(recs[0]); got["action"] != audit.ActionSessionRevoke || got["feature"] != packName || got["err"] == "" {
		t.Errorf("got attributes %v, want the action, the feature and the error", got)
	}
}
