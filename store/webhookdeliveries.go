package store

import "context"

// WebhookDeliveryQuery selects the deliveries [WebhookDeliveries] lists.
type WebhookDeliveryQuery struct {
	// EndpointID keeps the deliveries of one endpoint; empty keeps every
	// endpoint's.
	EndpointID string
	// Dead keeps only the dead letter: deliveries abandoned after their
	// last attempt (DeadAt set).
	Dead bool
	// Before keeps the deliveries whose ID sorts before it: the ID of the
	// last delivery of the previous page. Empty starts from the newest.
	Before string
	// Limit is the most deliveries returned; it must be positive.
	Limit int
}

// WebhookDeliveries lists webhook deliveries for an operator's view (the
// command-line tool, the admin console). It is an optional capability of
// a store that implements [Webhooks]; both adapters implement it.
type WebhookDeliveries interface {
	// WebhookDeliveries returns up to q.Limit deliveries q selects, in any
	// state, newest first (by ID: IDs are UUIDv7, ordered by creation). A
	// Limit that is not positive returns none.
	WebhookDeliveries(ctx context.Context, q WebhookDeliveryQuery) ([]*WebhookDelivery, error)
}
