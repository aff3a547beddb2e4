package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/store"
)

var _ store.Webhooks = (*DB)(nil)

const endpointCols = `id, url, event_types, secret, secret_key_id, secret_created_at,
	old_secret, old_secret_key_id, old_secret_created_at, old_secret_expires_at, enabled, created_at, updated_at`

func scanEndpoint(row pgx.Row) (*store.WebhookEndpoint, error) {
	e := new(store.WebhookEndpoint)
	var oldKey *string
	err := row.Scan(&e.ID, &e.URL, &e.EventTypes, &e.Secret.Sealed, &e.Secret.KeyID, ts(&e.Secret.CreatedAt),
		&e.OldSecret.Sealed, &oldKey, ts(&e.OldSecret.CreatedAt), ts(&e.OldSecret.ExpiresAt),
		&e.Enabled, ts(&e.CreatedAt), ts(&e.UpdatedAt))
	if err != nil {
		return nil, err
	}
	if oldKey != nil {
		e.OldSecret.KeyID = *oldKey
	}
	if len(e.EventTypes) == 0 {
		e.EventTypes = nil
	}
	return e, nil
}

// nullBytes is the argument for a nullable bytea column: NULL when empty.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CreateWebhookEndpoint implements [store.Webhooks].
func (db *DB) CreateWebhookEndpoint(ctx context.Context, e *store.WebhookEndpoint) error {
	id, created, updated := e.ID, e.CreatedAt, e.UpdatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = nowUTC()
	}
	if updated.IsZero() {
		updated = created
	}
	secretCreated := e.Secret.CreatedAt
	if secretCreated.IsZero() {
		secretCreated = created
	}
	types := e.EventTypes
	if types == nil {
		types = []string{}
	}
	_, err := db.q(ctx).Exec(ctx, `INSERT INTO sigra_webhook_endpoints (`+endpointCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		id, e.URL, types, bytesArg(e.Secret.Sealed), e.Secret.KeyID, secretCreated,
		nullBytes(e.OldSecret.Sealed), textArg(e.OldSecret.KeyID), tsArg(e.OldSecret.CreatedAt), tsArg(e.OldSecret.ExpiresAt),
		e.Enabled, created, updated)
	if err != nil {
		return wrap("create webhook endpoint", err)
	}
	e.ID, e.CreatedAt, e.UpdatedAt, e.Secret.CreatedAt = id, created, updated, secretCreated
	return nil
}

// WebhookEndpoint implements [store.Webhooks].
func (db *DB) WebhookEndpoint(ctx context.Context, id string) (*store.WebhookEndpoint, error) {
	e, err := scanEndpoint(db.q(ctx).QueryRow(ctx, `SELECT `+endpointCols+` FROM sigra_webhook_endpoints WHERE id = $1`, id))
	if err != nil {
		return nil, wrap("webhook endpoint", err)
	}
	return e, nil
}

// WebhookEndpoints implements [store.Webhooks].
func (db *DB) WebhookEndpoints(ctx context.Context) ([]*store.WebhookEndpoint, error) {
	rows, err := db.q(ctx).Query(ctx, `SELECT `+endpointCols+` FROM sigra_webhook_endpoints ORDER BY created_at, id`)
	if err != nil {
		return nil, wrap("webhook endpoints", err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.WebhookEndpoint, error) { return scanEndpoint(r) })
	return es, wrap("webhook endpoints", err)
}

// RotateWebhookSecret implements [store.Webhooks] in one statement.
func (db *DB) RotateWebhookSecret(ctx context.Context, id string, secret store.WebhookSecret, oldExpires, now time.Time) error {
	created := secret.CreatedAt
	if created.IsZero() {
		created = now
	}
	return db.execOne(ctx, "rotate webhook secret", `UPDATE sigra_webhook_endpoints SET
			old_secret = secret, old_secret_key_id = secret_key_id, old_secret_created_at = secret_created_at,
			old_secret_expires_at = $2, secret = $3, secret_key_id = $4, secret_created_at = $5, updated_at = $6
		WHERE id = $1`, id, tsArg(oldExpires), bytesArg(secret.Sealed), secret.KeyID, created, now)
}

// SetWebhookEndpointEnabled implements [store.Webhooks].
func (db *DB) SetWebhookEndpointEnabled(ctx context.Context, id string, enabled bool, now time.Time) error {
	return db.execOne(ctx, "set webhook endpoint enabled",
		`UPDATE sigra_webhook_endpoints SET enabled = $2, updated_at = $3 WHERE id = $1`, id, enabled, now)
}

// DeleteWebhookEndpoint implements [store.Webhooks]; the foreign key
// deletes the deliveries.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return db.execOne(ctx, "delete webhook endpoint", `DELETE FROM sigra_webhook_endpoints WHERE id = $1`, id)
}

const deliveryCols = `id, endpoint_id, event_type, payload, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at, dead_at`

func scanDelivery(row pgx.Row) (*store.WebhookDelivery, error) {
	d := new(store.WebhookDelivery)
	err := row.Scan(&d.ID, &d.EndpointID, &d.EventType, &d.Payload, &d.Attempts, ts(&d.NextAttemptAt),
		&d.LastStatus, &d.LastError, ts(&d.CreatedAt), ts(&d.DeliveredAt), ts(&d.DeadAt))
	if err != nil {
		return nil, err
	}
	return d, nil
}

// EnqueueWebhook implements [store.Webhooks]. An unknown endpoint fails
// the foreign key (store.ErrNotFound).
func (db *DB) EnqueueWebhook(ctx context.Context, d *store.WebhookDelivery) error {
	id, created := d.ID, d.CreatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = nowUTC()
	}
	next := d.NextAttemptAt
	if next.IsZero() {
		next = created
	}
	_, err := db.q(ctx).Exec(ctx, `INSERT INTO sigra_webhook_deliveries (`+deliveryCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		id, d.EndpointID, d.EventType, bytesArg(d.Payload), d.Attempts, next, d.LastStatus, d.LastError,
		created, tsArg(d.DeliveredAt), tsArg(d.DeadAt))
	if err != nil {
		return wrap("enqueue webhook", err)
	}
	d.ID, d.CreatedAt, d.NextAttemptAt = id, created, next
	return nil
}

// claimWebhooksSQL selects due deliveries of enabled endpoints with FOR
// UPDATE SKIP LOCKED (workers of every instance never wait for each other
// nor take the same row) and moves their next attempt to the lease's end.
const claimWebhooksSQL = `WITH due AS (
		SELECT d.id FROM sigra_webhook_deliveries d
		JOIN sigra_webhook_endpoints e ON e.id = d.endpoint_id
		WHERE d.delivered_at IS NULL AND d.dead_at IS NULL AND d.next_attempt_at <= $1 AND e.enabled
		ORDER BY d.next_attempt_at, d.created_at, d.id
		LIMIT $3
		FOR UPDATE OF d SKIP LOCKED
	), claimed AS (
		UPDATE sigra_webhook_deliveries w SET next_attempt_at = $2
		FROM due WHERE w.id = due.id
		RETURNING w.id, w.endpoint_id, w.event_type, w.payload, w.attempts, w.next_attempt_at, w.last_status,
			w.last_error, w.created_at, w.delivered_at, w.dead_at
	)
	SELECT ` + deliveryCols + ` FROM claimed ORDER BY created_at, id`

// ClaimWebhooks implements [store.Webhooks] in one statement; the
// returned deliveries carry the lease's end as NextAttemptAt, oldest
// created first. Under READ COMMITTED, a row another claim updated
// meanwhile is re-checked against the WHERE clause before it is locked,
// so a delivery whose lease was just taken is skipped.
func (db *DB) ClaimWebhooks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.WebhookDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.q(ctx).Query(ctx, claimWebhooksSQL, now, now.Add(lease), limit)
	if err != nil {
		return nil, wrap("claim webhooks", err)
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.WebhookDelivery, error) { return scanDelivery(r) })
	return ds, wrap("claim webhooks", err)
}

// queued is the condition of a delivery neither delivered nor dead.
const queued = ` AND delivered_at IS NULL AND dead_at IS NULL`

// MarkWebhookDelivered implements [store.Webhooks].
func (db *DB) MarkWebhookDelivered(ctx context.Context, id string, status int, now time.Time) error {
	return db.execOne(ctx, "mark webhook delivered", `UPDATE sigra_webhook_deliveries
		SET delivered_at = $2, last_status = $3, last_error = '' WHERE id = $1`+queued, id, now, status)
}

// MarkWebhookFailed implements [store.Webhooks].
func (db *DB) MarkWebhookFailed(ctx context.Context, id string, status int, errText string, next time.Time) error {
	return db.execOne(ctx, "mark webhook failed", `UPDATE sigra_webhook_deliveries
		SET attempts = attempts + 1, last_status = $2, last_error = $3, next_attempt_at = $4 WHERE id = $1`+queued,
		id, status, errText, next)
}

// MarkWebhookDead implements [store.Webhooks].
func (db *DB) MarkWebhookDead(ctx context.Context, id string, status int, errText string, now time.Time) error {
	return db.execOne(ctx, "mark webhook dead", `UPDATE sigra_webhook_deliveries
		SET attempts = attempts + 1, last_status = $2, last_error = $3, dead_at = $4 WHERE id = $1`+queued,
		id, status, errText, now)
}

// ReplayWebhook implements [store.Webhooks] in one statement, which also
// tells a queued delivery (ErrConflict) from a missing one (ErrNotFound).
func (db *DB) ReplayWebhook(ctx context.Context, id string, now time.Time) error {
	var found, replayed bool
	err := db.q(ctx).QueryRow(ctx, `WITH r AS (
			UPDATE sigra_webhook_deliveries SET attempts = 0, next_attempt_at = $2, delivered_at = NULL, dead_at = NULL
			WHERE id = $1 AND (delivered_at IS NOT NULL OR dead_at IS NOT NULL)
			RETURNING id
		)
		SELECT EXISTS (SELECT 1 FROM sigra_webhook_deliveries WHERE id = $1), EXISTS (SELECT 1 FROM r)`,
		id, now).Scan(&found, &replayed)
	switch {
	case err != nil:
		return wrap("replay webhook", err)
	case !found:
		return notFound("replay webhook")
	case !replayed:
		return fmt.Errorf("sigra/postgres: replay webhook: delivery %q is still queued: %w", id, store.ErrConflict)
	}
	return nil
}

// WebhookDelivery implements [store.Webhooks].
func (db *DB) WebhookDelivery(ctx context.Context, id string) (*store.WebhookDelivery, error) {
	d, err := scanDelivery(db.q(ctx).QueryRow(ctx, `SELECT `+deliveryCols+` FROM sigra_webhook_deliveries WHERE id = $1`, id))
	if err != nil {
		return nil, wrap("webhook delivery", err)
	}
	return d, nil
}

// PendingWebhooks implements [store.Webhooks].
func (db *DB) PendingWebhooks(ctx context.Context) (int, error) {
	var n int
	err := db.q(ctx).QueryRow(ctx, `SELECT count(*) FROM sigra_webhook_deliveries WHERE delivered_at IS NULL AND dead_at IS NULL`).Scan(&n)
	return n, wrap("pending webhooks", err)
}

var _ store.WebhookDeliveries = (*DB)(nil)

// WebhookDeliveries implements [store.WebhookDeliveries].
func (db *DB) WebhookDeliveries(ctx context.Context, q store.WebhookDeliveryQuery) ([]*store.WebhookDelivery, error) {
	if q.Limit <= 0 {
		return nil, nil
	}
	rows, err := db.q(ctx).Query(ctx, `SELECT `+deliveryCols+` FROM sigra_webhook_deliveries
		WHERE ($1 = '' OR endpoint_id = $1) AND (NOT $2::boolean OR dead_at IS NOT NULL) AND ($3 = '' OR id < $3 COLLATE "C")
		ORDER BY id COLLATE "C" DESC LIMIT $4`, q.EndpointID, q.Dead, q.Before, q.Limit)
	if err != nil {
		return nil, wrap("webhook deliveries", err)
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.WebhookDelivery, error) { return scanDelivery(r) })
	return ds, wrap("webhook deliveries", err)
}
