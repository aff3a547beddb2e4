package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/retry"
	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/store"
)

// Defaults of [OutboxConfig].
const (
	DefaultPollInterval  = 2 * time.Second
	DefaultLease         = 2 * time.Minute
	DefaultBatch         = 10
	DefaultBaseDelay     = 5 * time.Second
	DefaultMaxDelay      = time.Hour
	DefaultMaxAttempts   = 20
	DefaultShutdownGrace = 10 * time.Second
	DefaultRetention     = 7 * 24 * time.Hour
)

// purgeInterval is how often Run deletes the rows older than the
// retention period, by the configured clock.
const purgeInterval = time.Hour

// OutboxConfig configures [NewOutbox]. Store, Keys and Sender are
// required; every other zero field takes the default named beside it.
type OutboxConfig struct {
	// Store holds the queue: Send queues into it (inside the caller's
	// transaction when its context carries one), and the worker claims
	// from it.
	Store store.Outbox
	// Keys are the keys that seal queued bodies: keys written "id:base64"
	// (32 random bytes), separated by commas, the one sealing new messages
	// first; the others still open older messages, so keys can rotate.
	Keys string
	// Sender delivers claimed messages, typically an [SMTP].
	Sender Sender
	// Now returns the current time; nil means time.Now. The worker reads
	// it for every decision (due times, leases, backoff), so a test can
	// move time forward without sleeping.
	Now func() time.Time
	// PollInterval is how often the worker looks for due messages when
	// nothing wakes it (DefaultPollInterval, 2 s): messages queued by other
	// instances and retries are found this way.
	PollInterval time.Duration
	// Lease is how long a claimed message is reserved for the worker that
	// claimed it (DefaultLease, 2 min). A worker that dies leaves it to be
	// claimed again after the lease; a worker sends a claimed message only
	// within the first half of its lease, so one send must take less than
	// Lease/2 (the SMTP sender's Timeout bounds it).
	Lease time.Duration
	// Batch is how many messages one claim takes (DefaultBatch, 10).
	Batch int
	// BaseDelay and MaxDelay shape the retry backoff: after the n-th failed
	// attempt the next one waits BaseDelay*2^(n-1), capped at MaxDelay,
	// then a random jitter takes off up to half of it (defaults 5 s and
	// 1 h).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxAttempts is how many failed attempts end the retries
	// (DefaultMaxAttempts, 20: about ten hours with the default delays).
	MaxAttempts int
	// ShutdownGrace is how long a send in flight when Run's context is
	// cancelled may still take before it is abandoned
	// (DefaultShutdownGrace, 10 s).
	ShutdownGrace time.Duration
	// Retention is how long the rows of sent messages and of messages
	// given up on (recipient, attempts, last error; never the body) are
	// kept before they are deleted (DefaultRetention, 7 days). Run deletes
	// them when it starts and then once an hour; see [Outbox.Purge]. A
	// negative Retention keeps them forever. Queued messages are never
	// deleted.
	Retention time.Duration
	// Logger receives delivery failures and store errors; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Outbox is a durable [Sender]: Send stores the message, its
// body sealed, and return; [Outbox.Run] delivers queued messages through
// the configured Sender, retrying with backoff. See the package
// documentation for the delivery guarantees. It is safe for concurrent use.
type Outbox struct {
	store  store.Outbox
	keys   *seal.Keyring
	mailer Sender
	now    func() time.Time
	poll   time.Duration
	lease  time.Duration
	batch  int
	base   time.Duration
	max    time.Duration
	tries  int
	grace  time.Duration
	keep   time.Duration // negative: keep forever
	log    *slog.Logger
	wake   chan struct{}
	jobs   jobs
}

// NewOutbox returns an outbox, or an error wrapping sigra.ErrConfig.
func NewOutbox(cfg OutboxConfig) (*Outbox, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: mail: outbox Store is required", sigra.ErrConfig)
	}
	if cfg.Sender == nil {
		return nil, fmt.Errorf("%w: mail: outbox Sender is required", sigra.ErrConfig)
	}
	if cfg.Keys == "" {
		return nil, fmt.Errorf("%w: mail: outbox Keys are required", sigra.ErrConfig)
	}
	keys, err := seal.ParseKeyring(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("%w: mail: outbox Keys: %w", sigra.ErrConfig, err)
	}
	o := &Outbox{
		store: cfg.Store, keys: keys, mailer: cfg.Sender, now: cfg.Now, log: cfg.Logger,
		poll:  orDefault(cfg.PollInterval, DefaultPollInterval),
		lease: orDefault(cfg.Lease, DefaultLease),
		base:  orDefault(cfg.BaseDelay, DefaultBaseDelay),
		max:   orDefault(cfg.MaxDelay, DefaultMaxDelay),
		grace: orDefault(cfg.ShutdownGrace, DefaultShutdownGrace),
		batch: orDefault(cfg.Batch, DefaultBatch),
		tries: orDefault(cfg.MaxAttempts, DefaultMaxAttempts),
		keep:  cfg.Retention,
		wake:  make(chan struct{}, 1),
	}
	if o.keep == 0 {
		o.keep = DefaultRetention
	}
	if cfg.PollInterval < 0 || cfg.Lease < 0 || cfg.BaseDelay < 0 || cfg.MaxDelay < 0 ||
		cfg.ShutdownGrace < 0 || cfg.Batch < 0 || cfg.MaxAttempts < 0 {
		return nil, fmt.Errorf("%w: mail: negative outbox setting", sigra.ErrConfig)
	}
	if o.max < o.base {
		return nil, fmt.Errorf("%w: mail: MaxDelay %v is below BaseDelay %v", sigra.ErrConfig, o.max, o.base)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	return o, nil
}

func orDefault[T time.Duration | int](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// body is the sealed part of a queued message.
type body struct {
	Subject string `json:"s"`
	Text    string `json:"t"`
	HTML    string `json:"h,omitempty"`
	ReplyTo string `json:"r,omitempty"`
}

// envelope is the sealed part of a row: a message's body, or a job.
type envelope struct {
	body
	Job *jobBody `json:"j,omitempty"`
}

// associatedData binds a sealed body to its row and recipient: a body
// copied to another row, or a row whose address was changed, does not
// open.
func associatedData(id, to string) []byte {
	return []byte("sigra/mail outbox v1\x00" + id + "\x00" + to)
}

// Send queues m in the outbox's store and wakes the worker. It returns
// once the message is stored, not delivered. The body (subject, text,
// HTML) is sealed; only the recipient and the delivery bookkeeping are
// stored in the clear.
//
// Called with a context that carries a transaction of the outbox's store
// (inside [store.Transactor.InTx]), the message is queued in that
// transaction: it commits or rolls back with the change it announces. The
// worker cannot see it before the commit, so call [Outbox.Notify] after
// committing for prompt delivery; otherwise the next poll finds it.
func (o *Outbox) Send(ctx context.Context, m *Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	plain, err := json.Marshal(body{Subject: m.Subject, Text: m.Text, HTML: m.HTML, ReplyTo: m.ReplyTo})
	if err != nil {
		return fmt.Errorf("sigra/mail: outbox: encode body: %w", err)
	}
	return o.enqueue(ctx, m.To, plain)
}

// Notify wakes this process's worker to look for due messages now. It
// never blocks.
func (o *Outbox) Notify() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run delivers queued messages until ctx is cancelled, then returns nil.
// It looks for due messages at once, whenever Send or Notify wakes it,
// and every PollInterval. Several workers, in one process or many, may run
// on one store: the store's leases give each message to one of them.
//
// Run also deletes the rows of messages sent or given up more than
// Retention ago ([Outbox.Purge]): after its first delivery round, then
// once an hour by the configured clock. A failed purge is logged and tried
// again an hour later.
//
// When ctx is cancelled, a send in flight may finish within ShutdownGrace
// and is recorded; after that it is abandoned and the message is queued
// again, due at once. Messages claimed but not yet attempted become due
// again when their lease ends. Nothing queued is lost.
func (o *Outbox) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var purged time.Time // when Run last purged; zero before the first time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-o.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-timer.C:
		}
		if _, _, err := o.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			o.log.Error("sigra/mail: outbox", "err", err)
		}
		if ctx.Err() == nil {
			purged = o.purgeIfDue(ctx, purged)
		}
		timer.Reset(o.poll)
	}
}

// purgeIfDue purges unless Run last did so (at last) less than
// purgeInterval ago, and returns when Run last purged. A clock that went
// back before last counts as due.
func (o *Outbox) purgeIfDue(ctx context.Context, last time.Time) time.Time {
	if o.keep < 0 {
		return last
	}
	now := o.now()
	if !last.IsZero() && !now.Before(last) && now.Sub(last) < purgeInterval {
		return last
	}
	n, err := o.Purge(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		o.log.Error("sigra/mail: outbox: purge failed; trying again in an hour", "err", err)
	case n > 0:
		o.log.Info("sigra/mail: outbox: deleted old messages", "count", n, "retention", o.keep)
	}
	return now
}

// Purge deletes the rows of messages sent or given up more than Retention
// ago, by the configured clock, and returns how many; with a negative
// Retention it deletes nothing. Queued messages are never deleted. Run
// calls it once an hour; a host that drives delivery itself with
// [Outbox.DeliverDue] calls it on its own schedule.
func (o *Outbox) Purge(ctx context.Context) (int, error) {
	if o.keep < 0 {
		return 0, nil
	}
	n, err := o.store.PurgeMessages(ctx, o.now().UTC().Add(-o.keep))
	if err != nil {
		return n, fmt.Errorf("sigra/mail: outbox: purge: %w", err)
	}
	return n, nil
}

// DeliverDue claims the messages due now and attempts each once, claiming
// again until none are due, and reports how many were sent and how many
// failed. It is one round of [Outbox.Run], for hosts that drive delivery
// themselves (from a scheduled job, for example). The error reports a
// store failure; delivery failures are recorded on the messages.
func (o *Outbox) DeliverDue(ctx context.Context) (sent, failed int, err error) {
	for {
		claimedAt := o.now().UTC()
		msgs, err := o.store.ClaimMessages(ctx, claimedAt, o.lease, o.batch)
		if err != nil {
			return sent, failed, fmt.Errorf("sigra/mail: outbox: claim: %w", err)
		}
		for _, m := range msgs {
			if ctx.Err() != nil {
				// Left claimed: due again when the lease ends.
				return sent, failed, nil
			}
			if o.now().Sub(claimedAt) > o.lease/2 {
				// Too late in the lease to send safely: another worker may
				// claim these once it ends.
				return sent, failed, nil
			}
			ok, err := o.deliver(ctx, m)
			if err != nil {
				return sent, failed, err
			}
			if ok {
				sent++
			} else {
				failed++
			}
		}
		if len(msgs) < o.batch {
			return sent, failed, nil
		}
	}
}

// deliver attempts one claimed message and records the outcome. It
// reports whether the message was sent; the error is a store failure.
func (o *Outbox) deliver(ctx context.Context, sm *store.Message) (bool, error) {
	// Recording the outcome must happen even when ctx is being cancelled.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()

	m, jb, err := o.open(sm)
	if err != nil {
		return false, o.giveUp(rctx, sm, err)
	}

	var sendErr error
	if jb != nil {
		sendErr = o.run(ctx, sm.To, jb)
		if errors.Is(sendErr, ErrNoJobHandler) {
			return false, o.giveUp(rctx, sm, sendErr)
		}
	} else {
		sendErr = o.send(ctx, m)
	}
	if sendErr == nil {
		if err := o.store.MarkSent(rctx, sm.ID, o.now().UTC()); err != nil {
			// Delivered but not recorded: the message is sent again after
			// its lease (at least once).
			return true, fmt.Errorf("sigra/mail: outbox: mark %s sent: %w", sm.ID, err)
		}
		return true, nil
	}

	attempts := sm.Attempts + 1
	switch {
	case ctx.Err() != nil:
		// Abandoned at shutdown: due again at once for the next worker.
		return false, o.markFailed(rctx, sm, "interrupted by shutdown: "+sendErr.Error(), o.now().UTC())
	case errors.Is(sendErr, ErrRejected) || errors.Is(sendErr, ErrInvalidMessage):
		return false, o.giveUp(rctx, sm, sendErr)
	case attempts >= o.tries:
		return false, o.giveUp(rctx, sm, fmt.Errorf("%d attempts failed, the last: %w", attempts, sendErr))
	}
	o.log.Warn("sigra/mail: outbox: delivery failed, will retry", "id", sm.ID, "attempt", attempts, "err", sendErr)
	return false, o.markFailed(rctx, sm, sendErr.Error(), o.now().UTC().Add(o.backoff(attempts)))
}

// send runs the inner Sender with a context that outlives ctx by the
// shutdown grace.
func (o *Outbox) send(ctx context.Context, m *Message) error {
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(o.grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel(fmt.Errorf("sigra/mail: outbox: send abandoned after a %v shutdown grace", o.grace))
		case <-sctx.Done():
		}
	})
	defer stop()
	return o.mailer.Send(sctx, m)
}

// open unseals a claimed row: a message, or a job (jb not nil).
func (o *Outbox) open(sm *store.Message) (m *Message, jb *jobBody, err error) {
	plain, err := o.keys.Open(sm.Sealed, associatedData(sm.ID, sm.To))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: mail: %w", ErrUndeliverable, err)
	}
	var e envelope
	if err := json.Unmarshal(plain, &e); err != nil {
		return nil, nil, fmt.Errorf("%w: mail: decode body: %w", ErrUndeliverable, err)
	}
	if e.Job != nil {
		return nil, e.Job, nil
	}
	b := e.body
	return &Message{To: sm.To, Subject: b.Subject, Text: b.Text, HTML: b.HTML, ReplyTo: b.ReplyTo}, nil, nil
}

// giveUp records the final failure of a claimed message: the store erases
// its body, and it is never claimed again.
func (o *Outbox) giveUp(ctx context.Context, sm *store.Message, cause error) error {
	o.log.Error("sigra/mail: outbox: giving up on message", "id", sm.ID, "err", cause)
	err := o.store.GiveUp(ctx, sm.ID, retry.ErrorText("gave up: "+cause.Error()), o.now().UTC())
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Another worker claimed it after this one's lease ended and
		// already recorded it sent or given up: nothing is left to do.
		o.log.Warn("sigra/mail: outbox: message already settled by another worker", "id", sm.ID)
		return nil
	case err != nil:
		return fmt.Errorf("sigra/mail: outbox: give up on %s: %w", sm.ID, err)
	}
	return nil
}

func (o *Outbox) markFailed(ctx context.Context, sm *store.Message, text string, next time.Time) error {
	if err := o.store.MarkFailed(ctx, sm.ID, retry.ErrorText(text), next); err != nil {
		return fmt.Errorf("sigra/mail: outbox: mark %s failed: %w", sm.ID, err)
	}
	return nil
}

// backoff returns the delay before the attempt after the n-th failure
// (see retry.Delay).
func (o *Outbox) backoff(n int) time.Duration { return retry.Delay(o.base, o.max, n) }
