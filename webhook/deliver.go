package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sigra-go/sigra/internal/retry"
	"github.com/sigra-go/sigra/store"
)

// Run delivers queued deliveries until ctx is cancelled, then returns nil.
// It looks for due deliveries at once, whenever Notify, Replay or Enable
// wakes it, and every PollInterval. Several workers, in one process or in
// many instances, may run on one store: the store's leases give each
// delivery to one of them at a time.
func (w *Webhooks) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-timer.C:
		}
		if _, _, err := w.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("sigra/webhook: deliveries", "err", err)
		}
		timer.Reset(w.poll)
	}
}

// DeliverDue claims the deliveries due now and attempts each once,
// claiming again until none are due, and reports how many were delivered
// and how many failed. It is one round of [Webhooks.Run], for hosts that
// drive delivery themselves. The error reports a store failure; failed
// attempts are recorded on the deliveries.
//
// An attempt is a POST of the delivery's body with the headers
// webhook-id, webhook-timestamp and webhook-signature. A 2xx answer
// delivers it; 410 Gone disables the endpoint and moves the delivery to the
// dead letter; any other answer (a 3xx included: redirects are not
// followed), a refused address, a timeout or a response larger than
// MaxResponseBytes fails the attempt, retried with backoff until
// MaxAttempts failures move it to the dead letter.
func (w *Webhooks) DeliverDue(ctx context.Context) (delivered, failed int, err error) {
	endpoints := map[string]*store.WebhookEndpoint{}
	for {
		claimedAt := w.now().UTC()
		ds, err := w.store.ClaimWebhooks(ctx, claimedAt, w.lease, w.batch)
		if err != nil {
			return delivered, failed, fmt.Errorf("sigra/webhook: claim: %w", err)
		}
		for _, d := range ds {
			if ctx.Err() != nil || w.now().Sub(claimedAt) > w.lease/2 {
				// Left claimed: due again when the lease ends.
				return delivered, failed, nil
			}
			ok, err := w.deliver(ctx, d, endpoints)
			if err != nil {
				return delivered, failed, err
			}
			if ok {
				delivered++
			} else {
				failed++
			}
		}
		if len(ds) < w.batch {
			return delivered, failed, nil
		}
	}
}

// deliver attempts one claimed delivery and records the outcome. It
// reports whether it was delivered; the error is a store failure.
func (w *Webhooks) deliver(ctx context.Context, d *store.WebhookDelivery, endpoints map[string]*store.WebhookEndpoint) (bool, error) {
	// Recording the outcome must happen even when ctx is being cancelled.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()

	e, ok := endpoints[d.EndpointID]
	if !ok {
		var err error
		e, err = w.store.WebhookEndpoint(ctx, d.EndpointID)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil // unsubscribed meanwhile: its deliveries went with it
		}
		if err != nil {
			return false, fmt.Errorf("sigra/webhook: endpoint %s: %w", d.EndpointID, err)
		}
		endpoints[d.EndpointID] = e
	}

	status, attemptErr := w.attempt(ctx, e, d)
	now := w.now().UTC()
	switch {
	case attemptErr == nil:
		err := w.store.MarkWebhookDelivered(rctx, d.ID, status, now)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil // settled by another worker after this one's lease ended
		}
		if err != nil {
			return true, fmt.Errorf("sigra/webhook: mark %s delivered: %w", d.ID, err)
		}
		return true, nil
	case status == http.StatusGone:
		w.log.Warn("sigra/webhook: endpoint answered 410 Gone: disabling it", "endpoint", e.ID, "delivery", d.ID)
		if err := w.store.SetWebhookEndpointEnabled(rctx, e.ID, false, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, fmt.Errorf("sigra/webhook: disable endpoint %s: %w", e.ID, err)
		}
		e.Enabled = false
		return false, w.dead(rctx, d, status, "endpoint gone (410): disabled", now)
	case ctx.Err() != nil:
		// Interrupted by shutdown: not the receiver's fault, due again at once.
		return false, w.failed(rctx, d, status, "interrupted by shutdown: "+attemptErr.Error(), now)
	case d.Attempts+1 >= w.tries:
		return false, w.dead(rctx, d, status, fmt.Sprintf("%d attempts failed, the last: %v", d.Attempts+1, attemptErr), now)
	}
	w.log.Warn("sigra/webhook: delivery failed, will retry", "delivery", d.ID, "endpoint", e.ID, "attempt", d.Attempts+1, "err", attemptErr)
	return false, w.failed(rctx, d, status, attemptErr.Error(), now.Add(w.backoff(d.Attempts+1)))
}

func (w *Webhooks) failed(ctx context.Context, d *store.WebhookDelivery, status int, text string, next time.Time) error {
	err := w.store.MarkWebhookFailed(ctx, d.ID, status, retry.ErrorText(text), next)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("sigra/webhook: mark %s failed: %w", d.ID, err)
	}
	return nil
}

func (w *Webhooks) dead(ctx context.Context, d *store.WebhookDelivery, status int, text string, now time.Time) error {
	w.log.Error("sigra/webhook: delivery moved to the dead letter", "delivery", d.ID, "endpoint", d.EndpointID, "err", text)
	err := w.store.MarkWebhookDead(ctx, d.ID, status, retry.ErrorText(text), now)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("sigra/webhook: mark %s dead: %w", d.ID, err)
	}
	return nil
}

// signatures returns the webhook-signature value: one signature per live
// secret of the endpoint (two during a rotation's overlap).
func (w *Webhooks) signatures(e *store.WebhookEndpoint, id string, ts time.Time, body []byte) (string, error) {
	secrets := []store.WebhookSecret{e.Secret}
	if e.OldSecret.Sealed != nil && ts.Before(e.OldSecret.ExpiresAt) {
		secrets = append(secrets, e.OldSecret)
	}
	var b bytes.Buffer
	for _, s := range secrets {
		plain, err := w.keys.Open(s.Sealed, secretAD(e.ID))
		if err != nil {
			return "", fmt.Errorf("open the endpoint's secret: %w", err)
		}
		key, err := parseSecret(string(plain))
		if err != nil {
			return "", err
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("v1," + sign(key, id, ts.Unix(), body))
	}
	return b.String(), nil
}

// attempt posts the delivery once and returns the answer's status (0 when
// there was none) and nil when it was a 2xx.
func (w *Webhooks) attempt(ctx context.Context, e *store.WebhookEndpoint, d *store.WebhookDelivery) (int, error) {
	now := w.now()
	sig, err := w.signatures(e, d.ID, now, d.Payload)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return 0, fmt.Errorf("%w: scheme %q", ErrInvalid, req.URL.Scheme)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.agent)
	req.Header.Set(HeaderID, d.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := w.client.Do(req)
	if err != nil {
		// Without the URL, which may hold a receiver's token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, w.maxResp+1))
	switch {
	case n > w.maxResp:
		return resp.StatusCode, fmt.Errorf("response larger than %d bytes (status %d)", w.maxResp, resp.StatusCode)
	case err != nil:
		return resp.StatusCode, fmt.Errorf("read response (status %d): %w", resp.StatusCode, err)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, fmt.Errorf("redirect (status %d) not followed", resp.StatusCode)
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		return resp.StatusCode, fmt.Errorf("status %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// backoff returns the delay before the attempt after the n-th failure
// (see retry.Delay).
func (w *Webhooks) backoff(n int) time.Duration { return retry.Delay(w.base, w.max, n) }
