package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/store"
)

// Defaults of [Config].
const (
	DefaultPollInterval     = 2 * time.Second
	DefaultLease            = 2 * time.Minute
	DefaultBatch            = 10
	DefaultBaseDelay        = 5 * time.Second
	DefaultMaxDelay         = 10 * time.Hour
	DefaultMaxAttempts      = 12
	DefaultTimeout          = 15 * time.Second
	DefaultConnectTimeout   = 5 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	DefaultMaxPayloadBytes  = 256 << 10
	DefaultSecretOverlap    = 24 * time.Hour
	DefaultUserAgent        = "sigra-webhook/1"
)

// Limits on what Subscribe and Enqueue accept.
const (
	// MaxURLBytes is the longest endpoint URL.
	MaxURLBytes = 2048
	// MaxEventTypeBytes is the longest event type.
	MaxEventTypeBytes = 100
	// MaxEventTypes is how many event types one endpoint may subscribe to.
	MaxEventTypes = 100
)

// Errors callers branch on. Test with errors.Is.
var (
	// ErrInvalid is wrapped by the error of a call given bad input (a URL
	// that is not http or https, an empty or malformed event type, a
	// payload that is not JSON or is too large); nothing was changed.
	ErrInvalid = errors.New("sigra/webhook: invalid input")
	// ErrNotFound: no endpoint or delivery has the id. It wraps
	// store.ErrNotFound.
	ErrNotFound = fmt.Errorf("sigra/webhook: %w", store.ErrNotFound)
	// ErrQueued: Replay was asked for a delivery still queued.
	ErrQueued = errors.New("sigra/webhook: delivery still queued")
)

// Config configures [New]. Store and Keys are required; every other zero
// field takes the default named beside it.
type Config struct {
	// Store holds endpoints and the delivery queue. Enqueue queues into it
	// inside the caller's transaction when its context carries one.
	Store store.Webhooks
	// Keys seal the endpoints' signing secrets at rest: keys written
	// "id:base64" (32 random bytes), separated by commas, the one sealing
	// new secrets first (see the mail outbox's Keys; the same ring may
	// serve both).
	Keys string
	// Now returns the current time; nil means time.Now. The worker reads
	// it for every decision (due times, leases, backoff, signature
	// timestamps), so a test can move time without sleeping.
	Now func() time.Time
	// PollInterval is how often Run looks for due deliveries when nothing
	// wakes it (DefaultPollInterval, 2 s).
	PollInterval time.Duration
	// Lease is how long a claimed delivery is reserved for the worker that
	// claimed it (DefaultLease, 2 min). A worker attempts a claimed
	// delivery only within the first half of its lease, and Timeout must
	// be at most Lease/2, so an attempt ends before another worker may
	// claim the delivery again.
	Lease time.Duration
	// Batch is how many deliveries one claim takes (DefaultBatch, 10).
	Batch int
	// BaseDelay and MaxDelay shape the retry backoff: after the n-th failed
	// attempt the next waits BaseDelay*2^(n-1), capped at MaxDelay, less a
	// random jitter of up to half (defaults 5 s and 10 h).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxAttempts is how many failed attempts move a delivery to the dead
	// letter (DefaultMaxAttempts, 12: about a day and a half with the
	// default delays). [Webhooks.Replay] queues it again.
	MaxAttempts int
	// Timeout bounds one attempt, from dialling to reading the response
	// (DefaultTimeout, 15 s); ConnectTimeout bounds the connection and TLS
	// handshake (DefaultConnectTimeout, 5 s).
	Timeout        time.Duration
	ConnectTimeout time.Duration
	// MaxResponseBytes bounds the response body read
	// (DefaultMaxResponseBytes, 64 KiB): a larger response fails the
	// attempt.
	MaxResponseBytes int64
	// MaxPayloadBytes bounds the request body Enqueue builds
	// (DefaultMaxPayloadBytes, 256 KiB).
	MaxPayloadBytes int
	// SecretOverlap is how long the secret RotateSecret replaces keeps
	// signing beside the new one (DefaultSecretOverlap, 24 h).
	SecretOverlap time.Duration
	// AllowNetworks are networks deliveries may reach although they are
	// private, loopback, link-local or otherwise refused; by default none.
	// Tests allow loopback (127.0.0.0/8 and ::1/128); a deployment whose
	// receivers live on a private network names that network.
	AllowNetworks []netip.Prefix
	// UserAgent is sent with every attempt (DefaultUserAgent).
	UserAgent string
	// Logger receives delivery failures and store errors; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Webhooks subscribes endpoints, queues events for them and delivers them,
// signed as Standard Webhooks says. It is safe for concurrent use.
type Webhooks struct {
	store      store.Webhooks
	keys       *seal.Keyring
	now        func() time.Time
	poll       time.Duration
	lease      time.Duration
	batch      int
	base, max  time.Duration
	tries      int
	maxResp    int64
	maxPayload int
	overlap    time.Duration
	agent      string
	log        *slog.Logger
	client     *http.Client
	wake       chan struct{}
}

// New returns a Webhooks, or an error wrapping sigra.ErrConfig.
func New(cfg Config) (*Webhooks, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: webhook: Store is required", sigra.ErrConfig)
	}
	if cfg.Keys == "" {
		return nil, fmt.Errorf("%w: webhook: Keys are required", sigra.ErrConfig)
	}
	keys, err := seal.ParseKeyring(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("%w: webhook: Keys: %w", sigra.ErrConfig, err)
	}
	if cfg.PollInterval < 0 || cfg.Lease < 0 || cfg.Batch < 0 || cfg.BaseDelay < 0 || cfg.MaxDelay < 0 ||
		cfg.MaxAttempts < 0 || cfg.Timeout < 0 || cfg.ConnectTimeout < 0 || cfg.MaxResponseBytes < 0 ||
		cfg.MaxPayloadBytes < 0 || cfg.SecretOverlap < 0 {
		return nil, fmt.Errorf("%w: webhook: negative setting", sigra.ErrConfig)
	}
	for _, p := range cfg.AllowNetworks {
		if !p.IsValid() {
			return nil, fmt.Errorf("%w: webhook: AllowNetworks holds an invalid prefix", sigra.ErrConfig)
		}
	}
	w := &Webhooks{
		store: cfg.Store, keys: keys, now: cfg.Now, log: cfg.Logger, agent: cfg.UserAgent,
		poll:       orDefault(cfg.PollInterval, DefaultPollInterval),
		lease:      orDefault(cfg.Lease, DefaultLease),
		batch:      orDefault(cfg.Batch, DefaultBatch),
		base:       orDefault(cfg.BaseDelay, DefaultBaseDelay),
		max:        orDefault(cfg.MaxDelay, DefaultMaxDelay),
		tries:      orDefault(cfg.MaxAttempts, DefaultMaxAttempts),
		maxResp:    orDefault(cfg.MaxResponseBytes, DefaultMaxResponseBytes),
		maxPayload: orDefault(cfg.MaxPayloadBytes, DefaultMaxPayloadBytes),
		overlap:    orDefault(cfg.SecretOverlap, DefaultSecretOverlap),
		wake:       make(chan struct{}, 1),
	}
	timeout := orDefault(cfg.Timeout, DefaultTimeout)
	connect := orDefault(cfg.ConnectTimeout, DefaultConnectTimeout)
	if w.max < w.base {
		return nil, fmt.Errorf("%w: webhook: MaxDelay %v is below BaseDelay %v", sigra.ErrConfig, w.max, w.base)
	}
	if timeout > w.lease/2 {
		return nil, fmt.Errorf("%w: webhook: Timeout %v is over half the Lease %v", sigra.ErrConfig, timeout, w.lease)
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.agent == "" {
		w.agent = DefaultUserAgent
	}
	dialer := &net.Dialer{Timeout: connect, Control: dialControl(slices.Clone(cfg.AllowNetworks))}
	w.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil, // a proxy would dial on our behalf, past the address check
			DialContext:            dialer.DialContext,
			TLSHandshakeTimeout:    connect,
			ResponseHeaderTimeout:  timeout,
			MaxResponseHeaderBytes: 16 << 10,
			MaxIdleConns:           16,
			IdleConnTimeout:        90 * time.Second,
			ForceAttemptHTTP2:      true,
		},
		Timeout: timeout,
		// A redirect is not followed: the 3xx answer fails the attempt.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return w, nil
}

func orDefault[T time.Duration | int | int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Endpoint is a subscribed URL, as [Webhooks.Endpoints] lists it. Its
// secrets are not part of it: Subscribe and RotateSecret return them once.
type Endpoint struct {
	ID         string
	URL        string
	EventTypes []string
	// Enabled is false once the receiver answered 410 Gone: its
	// deliveries stay queued until [Webhooks.Enable].
	Enabled   bool
	CreatedAt time.Time
	// OldSecretExpiresAt is when the secret replaced by the last rotation
	// stops signing; zero when it has already, or there was none.
	OldSecretExpiresAt time.Time
}

// secretAD binds a sealed secret to its endpoint: a secret copied to
// another endpoint's row does not open.
func secretAD(endpointID string) []byte {
	return []byte("sigra/webhook secret v1\x00" + endpointID)
}

// sealSecret returns a new secret, as given to the receiver and sealed for
// the store.
func (w *Webhooks) sealSecret(endpointID string, now time.Time) (string, store.WebhookSecret, error) {
	secret, err := newSecret()
	if err != nil {
		return "", store.WebhookSecret{}, err
	}
	sealed, err := w.keys.Seal([]byte(secret), secretAD(endpointID))
	if err != nil {
		return "", store.WebhookSecret{}, fmt.Errorf("sigra/webhook: seal secret: %w", err)
	}
	return secret, store.WebhookSecret{Sealed: sealed, KeyID: w.keys.PrimaryID(), CreatedAt: now}, nil
}

// checkURL refuses a URL deliveries cannot go to: not absolute http or
// https with a host, with user information, or too long. (The address it
// resolves to is checked at each attempt.)
func checkURL(raw string) error {
	if len(raw) > MaxURLBytes {
		return fmt.Errorf("%w: URL longer than %d bytes", ErrInvalid, MaxURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: URL %q: %v", ErrInvalid, raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%w: URL %q: the scheme must be http or https", ErrInvalid, raw)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%w: URL %q has no host", ErrInvalid, raw)
	case u.User != nil:
		return fmt.Errorf("%w: URL %q holds user information", ErrInvalid, raw)
	case u.Fragment != "":
		return fmt.Errorf("%w: URL %q has a fragment", ErrInvalid, raw)
	}
	return nil
}

// checkEventType refuses an empty event type, or one with spaces, control
// characters or invalid UTF-8, or longer than MaxEventTypeBytes.
func checkEventType(t string) error {
	if t == "" || len(t) > MaxEventTypeBytes || !utf8.ValidString(t) {
		return fmt.Errorf("%w: event type %q: want 1 to %d bytes of text", ErrInvalid, t, MaxEventTypeBytes)
	}
	if strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r == 0x7f || r == utf8.RuneError }) {
		return fmt.Errorf("%w: event type %q holds a space or control character", ErrInvalid, t)
	}
	return nil
}

// Subscribe adds an endpoint that receives the given event types, enabled,
// and returns it with its signing secret ("whsec_..."), which the receiver
// passes to [Verify]. The secret is stored sealed and never shown again:
// [Webhooks.RotateSecret] replaces it. The URL must be absolute http or
// https, without user information; the addresses it resolves to are
// checked at each attempt. Event types are strings: the actions of the
// audit package's catalogue ("user.registered", "session.signed_in", ...)
// are the natural ones, so that a host enqueues what it audits. Bad input
// is an error wrapping [ErrInvalid], and nothing is stored.
func (w *Webhooks) Subscribe(ctx context.Context, rawURL string, eventTypes []string) (Endpoint, string, error) {
	if err := checkURL(rawURL); err != nil {
		return Endpoint{}, "", err
	}
	if len(eventTypes) == 0 || len(eventTypes) > MaxEventTypes {
		return Endpoint{}, "", fmt.Errorf("%w: want 1 to %d event types, got %d", ErrInvalid, MaxEventTypes, len(eventTypes))
	}
	types := slices.Clone(eventTypes)
	for _, t := range types {
		if err := checkEventType(t); err != nil {
			return Endpoint{}, "", err
		}
	}
	slices.Sort(types)
	types = slices.Compact(types)
	now := w.now().UTC()
	id := store.NewID()
	secret, sealed, err := w.sealSecret(id, now)
	if err != nil {
		return Endpoint{}, "", err
	}
	e := &store.WebhookEndpoint{ID: id, URL: rawURL, EventTypes: types, Secret: sealed, Enabled: true, CreatedAt: now, UpdatedAt: now}
	if err := w.store.CreateWebhookEndpoint(ctx, e); err != nil {
		return Endpoint{}, "", fmt.Errorf("sigra/webhook: subscribe: %w", err)
	}
	return w.endpoint(e, now), secret, nil
}

func (w *Webhooks) endpoint(e *store.WebhookEndpoint, now time.Time) Endpoint {
	out := Endpoint{ID: e.ID, URL: e.URL, EventTypes: e.EventTypes, Enabled: e.Enabled, CreatedAt: e.CreatedAt}
	if e.OldSecret.Sealed != nil && now.Before(e.OldSecret.ExpiresAt) {
		out.OldSecretExpiresAt = e.OldSecret.ExpiresAt
	}
	return out
}

// notFound maps the store's not-found onto ErrNotFound.
func notFound(what, id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s %q", ErrNotFound, what, id)
	}
	return err
}

// Unsubscribe removes the endpoint and its deliveries, queued or not. An
// unknown id is an error wrapping [ErrNotFound].
func (w *Webhooks) Unsubscribe(ctx context.Context, id string) error {
	if err := w.store.DeleteWebhookEndpoint(ctx, id); err != nil {
		return fmt.Errorf("sigra/webhook: unsubscribe: %w", notFound("endpoint", id, err))
	}
	return nil
}

// Endpoints lists the endpoints, oldest first.
func (w *Webhooks) Endpoints(ctx context.Context) ([]Endpoint, error) {
	es, err := w.store.WebhookEndpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("sigra/webhook: endpoints: %w", err)
	}
	now := w.now().UTC()
	out := make([]Endpoint, len(es))
	for i, e := range es {
		out[i] = w.endpoint(e, now)
	}
	return out, nil
}

// RotateSecret gives the endpoint a new signing secret and returns it.
// For SecretOverlap after the rotation, deliveries carry two signatures,
// one with each secret, so the receiver can switch to the new secret at
// any time in that window; a secret replaced earlier stops signing at
// once. An unknown id is an error wrapping [ErrNotFound].
func (w *Webhooks) RotateSecret(ctx context.Context, id string) (string, error) {
	now := w.now().UTC()
	secret, sealed, err := w.sealSecret(id, now)
	if err != nil {
		return "", err
	}
	if err := w.store.RotateWebhookSecret(ctx, id, sealed, now.Add(w.overlap), now); err != nil {
		return "", fmt.Errorf("sigra/webhook: rotate secret: %w", notFound("endpoint", id, err))
	}
	return secret, nil
}

// Enable enables an endpoint again (after a 410 Gone disabled it): its
// queued deliveries resume. An unknown id is an error wrapping
// [ErrNotFound].
func (w *Webhooks) Enable(ctx context.Context, id string) error {
	if err := w.store.SetWebhookEndpointEnabled(ctx, id, true, w.now().UTC()); err != nil {
		return fmt.Errorf("sigra/webhook: enable: %w", notFound("endpoint", id, err))
	}
	w.Notify()
	return nil
}

// event is the body of a delivery, as Standard Webhooks suggests.
type event struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Enqueue queues one delivery of the event for every enabled endpoint
// subscribed to eventType, and returns their ids (the webhook-id each
// attempt carries). The body of each is the JSON object
// {"type": eventType, "timestamp": now, "data": payload}, payload encoded
// with encoding/json.
//
// Called with a context that carries a transaction of the store (inside
// store.Transactor.InTx), the deliveries are queued in it: they commit or
// roll back with the change they announce. The worker cannot see them
// before the commit; call [Webhooks.Notify] after committing for prompt
// delivery, or the next poll finds them. An invalid event type, or a
// payload that does not encode or is larger than MaxPayloadBytes, is an
// error wrapping [ErrInvalid], and nothing is queued.
func (w *Webhooks) Enqueue(ctx context.Context, eventType string, payload any) ([]string, error) {
	if err := checkEventType(eventType); err != nil {
		return nil, err
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrInvalid, err)
	}
	now := w.now().UTC()
	body, err := json.Marshal(event{Type: eventType, Timestamp: now, Data: data})
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrInvalid, err)
	}
	if len(body) > w.maxPayload {
		return nil, fmt.Errorf("%w: payload of %d bytes, limit %d", ErrInvalid, len(body), w.maxPayload)
	}
	es, err := w.store.WebhookEndpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("sigra/webhook: enqueue: %w", err)
	}
	var ids []string
	for _, e := range es {
		if !e.Enabled || !slices.Contains(e.EventTypes, eventType) {
			continue
		}
		d := &store.WebhookDelivery{EndpointID: e.ID, EventType: eventType, Payload: body, CreatedAt: now, NextAttemptAt: now}
		if err := w.store.EnqueueWebhook(ctx, d); err != nil {
			return nil, fmt.Errorf("sigra/webhook: enqueue: %w", err)
		}
		ids = append(ids, d.ID)
	}
	return ids, nil
}

// Notify wakes this process's worker to look for due deliveries now. It
// never blocks.
func (w *Webhooks) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Replay queues a delivered or dead delivery again, due now, with its id
// and body: the receiver sees the same webhook-id, signed afresh. An
// unknown id is an error wrapping [ErrNotFound]; a delivery still queued,
// one wrapping [ErrQueued].
func (w *Webhooks) Replay(ctx context.Context, deliveryID string) error {
	err := w.store.ReplayWebhook(ctx, deliveryID, w.now().UTC())
	switch {
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("%w: %q", ErrQueued, deliveryID)
	case err != nil:
		return fmt.Errorf("sigra/webhook: replay: %w", notFound("delivery", deliveryID, err))
	}
	w.Notify()
	return nil
}

// Delivery returns the delivery with id, in any state, for an operator's
// view (attempts, last status and error, delivered or dead). An unknown id
// is an error wrapping [ErrNotFound].
func (w *Webhooks) Delivery(ctx context.Context, id string) (*store.WebhookDelivery, error) {
	d, err := w.store.WebhookDelivery(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("sigra/webhook: delivery: %w", notFound("delivery", id, err))
	}
	return d, nil
}
