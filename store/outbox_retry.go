package store

import (
	"context"
	"time"
)

// OutboxRetrier brings forward queued email that waits for a later
// attempt: an operator's "send it now" after the mail server came back
// (cmd/sigra's outbox retry). Both adapters implement it.
type OutboxRetrier interface {
	// RetryMessages makes due at now the queued messages (neither sent nor
	// given up) whose next attempt is after notBefore, and returns how
	// many. A message a worker has claimed is due again no later than the
	// end of its lease, so a notBefore of now plus the workers' lease
	// leaves every claimed message alone: it is never sent twice at
	// once. Given-up messages are not retried: their bodies were erased
	// when they were given up.
	RetryMessages(ctx context.Context, now, notBefore time.Time) (int, error)
}
