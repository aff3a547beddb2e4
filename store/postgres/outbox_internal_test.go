package postgres

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/internal/pgtest"
)

// TestOutboxQueryPlans checks that the outbox's recurring statements can
// read the partial indexes of migration 0002: with sequential scans
// disabled, each plan names its index and scans no table whole. (On a
// tiny test table the planner would rightly prefer a scan.)
func TestOutboxQueryPlans(t *testing.T) {
	t.Parallel()
	db, err := Open(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(db.Close)
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	tests := []struct {
		name, query string
		args        []any
		indexes     []string
	}{
		{"claim", claimMessagesSQL, []any{now, now.Add(time.Minute), 10}, []string{"sigra_outbox_due_idx"}},
		{"pending", pendingMessagesSQL, nil, []string{"sigra_outbox_due_idx"}},
		{"purge", purgeMessagesSQL, []any{now}, []string{"sigra_outbox_sent_idx", "sigra_outbox_given_up_idx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var plan string
			err := pgx.BeginFunc(context.Background(), db.pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(context.Background(), `SET LOCAL enable_seqscan = off`); err != nil {
					return err
				}
				rows, err := tx.Query(context.Background(), `EXPLAIN `+tt.query, tt.args...)
				if err != nil {
					return err
				}
				lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
				plan = strings.Join(lines, "\n")
				return err
			})
			if err != nil {
				t.Fatalf("EXPLAIN: %v", err)
			}
			for _, index := range tt.indexes {
				if !slices.Contains(strings.Fields(plan), index) {
					t.Errorf("plan:\n%s\nwant it to use index %s", plan, index)
				}
			}
			if strings.Contains(plan, "Seq Scan on sigra_outbox") {
				t.Errorf("plan:\n%s\nwant no sequential scan of sigra_outbox", plan)
			}
		})
	}
}
