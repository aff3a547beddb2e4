package sqlite

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/sigra-go/sigra/store"
)

var _ store.Webhooks = (*DB)(nil)

const endpointCols = `id, url, event_types, secret, secret_key_id, secret_created_at,
	old_secret, old_secret_key_id, old_secret_created_at, old_secret_expires_at, enabled, created_at, updated_at`

// eventTypesDest scans the JSON array of event types.
type eventTypesDest struct{ p *[]string }

func (d eventTypesDest) Scan(src any) error {
	var s string
	if err := (strDest{&s}).Scan(src); err != nil {
		return err
	}
	*d.p = nil
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), d.p); err != nil {
		return fmt.Errorf("scan event types: %w", err)
	}
	return nil
}

func endpointDest(e *store.WebhookEndpoint) []any {
	return []any{&e.ID, &e.URL, eventTypesDest{&e.EventTypes}, &e.Secret.Sealed, strDest{&e.Secret.KeyID}, timeDest{&e.Secret.CreatedAt},
		&e.OldSecret.Sealed, strDest{&e.OldSecret.KeyID}, timeDest{&e.OldSecret.CreatedAt}, timeDest{&e.OldSecret.ExpiresAt},
		boolDest{&e.Enabled}, timeDest{&e.CreatedAt}, timeDest{&e.UpdatedAt}}
}

// nullBlob stores an empty blob as NULL, for nullable blob columns.
func nullBlob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CreateWebhookEndpoint implements [store.Webhooks].
func (db *DB) CreateWebhookEndpoint(ctx context.Context, e *store.WebhookEndpoint) error {
	types, err := json.Marshal(e.EventTypes)
	if err != nil {
		return fmt.Errorf("sigra/sqlite: CreateWebhookEndpoint: %w", err)
	}
	id, created, updated := e.ID, e.CreatedAt, e.UpdatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = clock()
	}
	if updated.IsZero() {
		updated = created
	}
	secretCreated := e.Secret.CreatedAt
	if secretCreated.IsZero() {
		secretCreated = created
	}
	_, err = db.exec(ctx, `INSERT INTO sigra_webhook_endpoints (`+endpointCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, e.URL, string(types), blob(e.Secret.Sealed), e.Secret.KeyID, ms(secretCreated),
		nullBlob(e.OldSecret.Sealed), nullStr(e.OldSecret.KeyID), ms(e.OldSecret.CreatedAt), ms(e.OldSecret.ExpiresAt),
		e.Enabled, ms(created), ms(updated))
	if err != nil {
		return wrap("CreateWebhookEndpoint", err)
	}
	e.ID, e.CreatedAt, e.UpdatedAt, e.Secret.CreatedAt = id, created, updated, secretCreated
	return nil
}

// WebhookEndpoint implements [store.Webhooks].
func (db *DB) WebhookEndpoint(ctx context.Context, id string) (*store.WebhookEndpoint, error) {
	e := new(store.WebhookEndpoint)
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+endpointCols+` FROM sigra_webhook_endpoints WHERE id = ?`, id).Scan(endpointDest(e)...)
	if err != nil {
		return nil, wrap("WebhookEndpoint", err)
	}
	return e, nil
}

// WebhookEndpoints implements [store.Webhooks].
func (db *DB) WebhookEndpoints(ctx context.Context) ([]*store.WebhookEndpoint, error) {
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+endpointCols+` FROM sigra_webhook_endpoints ORDER BY created_at, id`)
	if err != nil {
		return nil, wrap("WebhookEndpoints", err)
	}
	defer rows.Close()
	var out []*store.WebhookEndpoint
	for rows.Next() {
		e := new(store.WebhookEndpoint)
		if err := rows.Scan(endpointDest(e)...); err != nil {
			return nil, wrap("WebhookEndpoints", err)
		}
		out = append(out, e)
	}
	return out, wrap("WebhookEndpoints", rows.Err())
}

// RotateWebhookSecret implements [store.Webhooks] in one statement.
func (db *DB) RotateWebhookSecret(ctx context.Context, id string, secret store.WebhookSecret, oldExpires, now time.Time) error {
	created := secret.CreatedAt
	if created.IsZero() {
		created = now
	}
	return op("RotateWebhookSecret").one(db.exec(ctx, `UPDATE sigra_webhook_endpoints SET
			old_secret = secret, old_secret_key_id = secret_key_id, old_secret_created_at = secret_created_at,
			old_secret_expires_at = ?, secret = ?, secret_key_id = ?, secret_created_at = ?, updated_at = ?
		WHERE id = ?`, ms(oldExpires), blob(secret.Sealed), secret.KeyID, ms(created), ms(now), id))
}

// SetWebhookEndpointEnabled implements [store.Webhooks].
func (db *DB) SetWebhookEndpointEnabled(ctx context.Context, id string, enabled bool, now time.Time) error {
	return op("SetWebhookEndpointEnabled").one(db.exec(ctx,
		`UPDATE sigra_webhook_endpoints SET enabled = ?, updated_at = ? WHERE id = ?`, enabled, ms(now), id))
}

// DeleteWebhookEndpoint implements [store.Webhooks]; the foreign key
// deletes the deliveries.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return op("DeleteWebhookEndpoint").one(db.exec(ctx, `DELETE FROM sigra_webhook_endpoints WHERE id = ?`, id))
}

const deliveryCols = `id, endpoint_id, event_type, payload, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at, dead_at`

func deliveryDest(d *store.WebhookDelivery) []any {
	return []any{&d.ID, &d.EndpointID, &d.EventType, &d.Payload, intDest{&d.Attempts}, timeDest{&d.NextAttemptAt},
		intDest{&d.LastStatus}, &d.LastError, timeDest{&d.CreatedAt}, timeDest{&d.DeliveredAt}, timeDest{&d.DeadAt}}
}

// EnqueueWebhook implements [store.Webhooks]. An unknown endpoint fails
// the foreign key (store.ErrNotFound).
func (db *DB) EnqueueWebhook(ctx context.Context, d *store.WebhookDelivery) error {
	id, created := d.ID, d.CreatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = clock()
	}
	next := d.NextAttemptAt
	if next.IsZero() {
		next = created
	}
	_, err := db.exec(ctx, `INSERT INTO sigra_webhook_deliveries (`+deliveryCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, d.EndpointID, d.EventType, blob(d.Payload), d.Attempts, ms(next), d.LastStatus, d.LastError,
		ms(created), ms(d.DeliveredAt), ms(d.DeadAt))
	if err != nil {
		return wrap("EnqueueWebhook", err)
	}
	d.ID, d.CreatedAt, d.NextAttemptAt = id, created, next
	return nil
}

// claimWebhooksSQL leases due deliveries of enabled endpoints by moving
// their next attempt to the lease's end. Writes are serialized on the one
// writer connection (and by SQLite's lock across processes), so two claims
// never take one row.
const claimWebhooksSQL = `UPDATE sigra_webhook_deliveries SET next_attempt_at = ?1
	WHERE id IN (SELECT d.id FROM sigra_webhook_deliveries d
		JOIN sigra_webhook_endpoints e ON e.id = d.endpoint_id
		WHERE d.delivered_at IS NULL AND d.dead_at IS NULL AND d.next_attempt_at <= ?2 AND e.enabled
		ORDER BY d.next_attempt_at, d.created_at, d.id LIMIT ?3)
	RETURNING ` + deliveryCols

// ClaimWebhooks implements [store.Webhooks] in one statement; the
// returned deliveries carry the lease's end as NextAttemptAt, oldest
// created first.
func (db *DB) ClaimWebhooks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.WebhookDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*store.WebhookDelivery
	err := db.write(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, claimWebhooksSQL, ms(now.Add(lease)), ms(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d := new(store.WebhookDelivery)
			if err := rows.Scan(deliveryDest(d)...); err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap("ClaimWebhooks", err)
	}
	slices.SortFunc(out, func(a, b *store.WebhookDelivery) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// queued is the condition of a delivery neither delivered nor dead.
const queued = ` AND delivered_at IS NULL AND dead_at IS NULL`

// MarkWebhookDelivered implements [store.Webhooks].
func (db *DB) MarkWebhookDelivered(ctx context.Context, id string, status int, now time.Time) error {
	return op("MarkWebhookDelivered").one(db.exec(ctx, `UPDATE sigra_webhook_deliveries
		SET delivered_at = ?, last_status = ?, last_error = '' WHERE id = ?`+queued, ms(now), status, id))
}

// MarkWebhookFailed implements [store.Webhooks].
func (db *DB) MarkWebhookFailed(ctx context.Context, id string, status int, errText string, next time.Time) error {
	return op("MarkWebhookFailed").one(db.exec(ctx, `UPDATE sigra_webhook_deliveries
		SET attempts = attempts + 1, last_status = ?, last_error = ?, next_attempt_at = ? WHERE id = ?`+queued,
		status, errText, ms(next), id))
}

// MarkWebhookDead implements [store.Webhooks].
func (db *DB) MarkWebhookDead(ctx context.Context, id string, status int, errText string, now time.Time) error {
	return op("MarkWebhookDead").one(db.exec(ctx, `UPDATE sigra_webhook_deliveries
		SET attempts = attempts + 1, last_status = ?, last_error = ?, dead_at = ? WHERE id = ?`+queued,
		status, errText, ms(now), id))
}

// ReplayWebhook implements [store.Webhooks].
func (db *DB) ReplayWebhook(ctx context.Context, id string, now time.Time) error {
	return db.inTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE sigra_webhook_deliveries
			SET attempts = 0, next_attempt_at = ?, delivered_at = NULL, dead_at = NULL
			WHERE id = ? AND (delivered_at IS NOT NULL OR dead_at IS NOT NULL)`, ms(now), id)
		n, err := op("ReplayWebhook").count(res, err)
		if err != nil || n == 1 {
			return err
		}
		var one int
		err = q.QueryRowContext(ctx, `SELECT 1 FROM sigra_webhook_deliveries WHERE id = ?`, id).Scan(&one)
		if err != nil {
			return wrap("ReplayWebhook", err)
		}
		return fmt.Errorf("sigra/sqlite: ReplayWebhook: delivery %q is still queued: %w", id, store.ErrConflict)
	})
}

// WebhookDelivery implements [store.Webhooks].
func (db *DB) WebhookDelivery(ctx context.Context, id string) (*store.WebhookDelivery, error) {
	d := new(store.WebhookDelivery)
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM sigra_webhook_deliveries WHERE id = ?`, id).Scan(deliveryDest(d)...)
	if err != nil {
		return nil, wrap("WebhookDelivery", err)
	}
	return d, nil
}

// PendingWebhooks implements [store.Webhooks].
func (db *DB) PendingWebhooks(ctx context.Context) (int, error) {
	var n int
	err := db.r(ctx).QueryRowContext(ctx, `SELECT count(*) FROM sigra_webhook_deliveries WHERE delivered_at IS NULL AND dead_at IS NULL`).Scan(intDest{&n})
	return n, wrap("PendingWebhooks", err)
}

var _ store.WebhookDeliveries = (*DB)(nil)

// WebhookDeliveries implements [store.WebhookDeliveries].
func (db *DB) WebhookDeliveries(ctx context.Context, q store.WebhookDeliveryQuery) ([]*store.WebhookDelivery, error) {
	if q.Limit <= 0 {
		return nil, nil
	}
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+deliveryCols+` FROM sigra_webhook_deliveries
		WHERE (?1 = '' OR endpoint_id = ?1) AND (NOT ?2 OR dead_at IS NOT NULL) AND (?3 = '' OR id < ?3)
		ORDER BY id DESC LIMIT ?4`, q.EndpointID, q.Dead, q.Before, q.Limit)
	if err != nil {
		return nil, wrap("WebhookDeliveries", err)
	}
	defer rows.Close()
	var out []*store.WebhookDelivery
	for rows.Next() {
		d := new(store.WebhookDelivery)
		if err := rows.Scan(deliveryDest(d)...); err != nil {
			return nil, wrap("WebhookDeliveries", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("WebhookDeliveries", err)
	}
	return out, nil
}
