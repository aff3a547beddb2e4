package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
	"github.com/sigra-go/sigra/webhook"
)

// WebhookStore is what the console's webhooks page needs of storage: the
// endpoints and their deliveries (package webhook's store, with the
// listing of deliveries). Both adapters implement it.
type WebhookStore interface {
	store.Webhooks
	store.WebhookDeliveries
}

// Paths and names of the webhooks page.
const (
	pathWebhooks      = "/admin/webhooks"
	pathWebhookReplay = "/admin/webhooks/replay"
	titleWebhooks     = "Webhooks"
	// deadLetterSize is how many dead deliveries the page shows, newest
	// first.
	deadLetterSize = 50
)

// ActionWebhookReplay is the audit action of a dead or delivered webhook
// delivery an administrator queued again from the console (the
// administrator as actor; the delivery and its event type in the
// metadata). It is webhook.ActionReplay, which the command-line tool
// records too.
const ActionWebhookReplay = webhook.ActionReplay

// WebhooksData is the Data of the "admin_webhooks" page.
type WebhooksData struct {
	// Endpoints are the subscribed endpoints, oldest first.
	Endpoints []WebhookEndpointItem `json:"endpoints"`
	// Dead is the dead letter: the newest deliveries given up after their
	// last attempt, at most 50.
	Dead []WebhookDeliveryItem `json:"dead"`
	// ReplayURL is the path of the replay form (it takes "delivery_id").
	ReplayURL string `json:"-"`
}

// WebhookEndpointItem is one endpoint on the webhooks page. Its secrets
// are never shown.
type WebhookEndpointItem struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	EventTypes []string  `json:"event_types"`
	Enabled    bool      `json:"enabled"`
	CreatedAt  time.Time `json:"created_at"`
	// Rotating is true while a replaced secret still signs beside the new
	// one.
	Rotating bool `json:"rotating"`
}

// WebhookDeliveryItem is one delivery on the webhooks page.
type WebhookDeliveryItem struct {
	ID          string    `json:"id"`
	EndpointID  string    `json:"endpoint_id"`
	EndpointURL string    `json:"endpoint_url"`
	EventType   string    `json:"event_type"`
	Attempts    int       `json:"attempts"`
	LastStatus  int       `json:"last_status"`
	LastError   string    `json:"last_error"`
	CreatedAt   time.Time `json:"created_at"`
	DeadAt      time.Time `json:"dead_at"`
}

// webhookForms returns the schema of the replay action, added to the
// console's when Config.Webhooks is set.
func webhookForms() map[string]kernel.Fields {
	return map[string]kernel.Fields{http.MethodPost + " " + pathWebhookReplay: {"delivery_id": kernel.Text}}
}

// mountWebhooks registers the webhooks page and its replay action.
func (c *Console) mountWebhooks(mux *http.ServeMux) {
	c.k.Handle(mux, http.MethodGet, pathWebhooks, c.webhooksPage, c.Require)
	c.k.Handle(mux, http.MethodPost, pathWebhookReplay, c.replayWebhook, c.Require, c.k.Guard.RequireSudo)
}

// webhooksData reads the endpoints and the dead letter.
func (c *Console) webhooksData(ctx context.Context) (*WebhooksData, error) {
	st := c.cfg.Webhooks
	es, err := st.WebhookEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	now := c.k.Now()
	d := &WebhooksData{Endpoints: []WebhookEndpointItem{}, Dead: []WebhookDeliveryItem{}, ReplayURL: c.k.Path(pathWebhookReplay)}
	urls := make(map[string]string, len(es))
	for _, e := range es {
		urls[e.ID] = e.URL
		types := e.EventTypes
		if types == nil {
			types = []string{}
		}
		d.Endpoints = append(d.Endpoints, WebhookEndpointItem{ID: e.ID, URL: e.URL, EventTypes: types, Enabled: e.Enabled,
			CreatedAt: e.CreatedAt, Rotating: e.OldSecret.Sealed != nil && now.Before(e.OldSecret.ExpiresAt)})
	}
	ds, err := st.WebhookDeliveries(ctx, store.WebhookDeliveryQuery{Dead: true, Limit: deadLetterSize})
	if err != nil {
		return nil, err
	}
	for _, dl := range ds {
		d.Dead = append(d.Dead, WebhookDeliveryItem{ID: dl.ID, EndpointID: dl.EndpointID, EndpointURL: urls[dl.EndpointID],
			EventType: dl.EventType, Attempts: dl.Attempts, LastStatus: dl.LastStatus, LastError: dl.LastError,
			CreatedAt: dl.CreatedAt, DeadAt: dl.DeadAt})
	}
	return d, nil
}

// webhooksPage serves the endpoints and the dead letter.
func (c *Console) webhooksPage(w http.ResponseWriter, r *http.Request) {
	d, err := c.webhooksData(r.Context())
	if err != nil {
		c.k.Error(w, r, err)
		return
	}
	c.k.Render(w, r, http.StatusOK, "admin_webhooks", c.k.Page(r, titleWebhooks, d), d)
}

// replayWebhook queues the delivery "delivery_id" again, with its
// webhook-id, and records it with the administrator as actor, in one
// transaction. A delivery still queued is refused with 409.
func (c *Console) replayWebhook(w http.ResponseWriter, r *http.Request) {
	in, err := kernel.ReadInput(r)
	if err != nil {
		c.k.BadInput(w, r)
		return
	}
	id := in["delivery_id"]
	refuse := func(status int, code, msg string) {
		c.k.FormError(w, r, status, "admin_webhooks", func() (*ui.Page, error) {
			d, err := c.webhooksData(r.Context())
			if err != nil {
				return nil, err
			}
			return c.k.Page(r, titleWebhooks, d), nil
		}, code, msg, map[string]string{"delivery_id": msg})
	}
	if id == "" {
		refuse(http.StatusBadRequest, "invalid_input", "Choose a delivery.")
		return
	}
	st := c.cfg.Webhooks
	var dl *store.WebhookDelivery
	err = c.k.InTx(r.Context(), func(ctx context.Context) error {
		var err error
		if dl, err = st.WebhookDelivery(ctx, id); err != nil {
			return err
		}
		if err := st.ReplayWebhook(ctx, id, c.k.Now()); err != nil {
			return err
		}
		return c.record(ctx, ActionWebhookReplay, "", map[string]string{"delivery": dl.ID, "event_type": dl.EventType})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		refuse(http.StatusNotFound, "not_found", "There is no such delivery.")
		return
	case errors.Is(err, store.ErrConflict):
		refuse(http.StatusConflict, "webhook_queued", "This delivery is still queued: it will be attempted again.")
		return
	case err != nil:
		c.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(c.k.Path(pathWebhooks), "admin_webhook_replayed"), map[string]any{"replayed": dl.ID})
}
