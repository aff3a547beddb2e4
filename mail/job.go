package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sigra-go/sigra/store"
)

// ErrNoJobHandler is a job whose kind no function was registered for with
// [Outbox.HandleJob]. The outbox gives such a job up.
var ErrNoJobHandler = errors.New("sigra/mail: no handler for this job kind")

// A Job is work that depends on an address a request named (is there an
// account? is it locked?) and that a request hands over instead of doing
// it: the request then does the same work, and takes the same time,
// whatever the address's state, so its answer reveals nothing. A feature
// queues a job with [Deferrer.Defer] and registers the function that runs
// it with [Deferrer.HandleJob].
type Job struct {
	// Kind names the function that runs the job ("account.reset").
	Kind string
	// To is the address the request named, as entered.
	To string
	// Data holds the request's facts the job needs (the client address,
	// the user agent, the time): short, non-secret strings. It is sealed
	// in the queue like a message's body.
	Data map[string]string
}

// JobFunc runs a job. It looks the address up and does what the request
// would have done, usually queueing an email (in its own transaction).
// A nil error settles the job; an error is retried with the outbox's
// backoff, as a failed delivery is, so a JobFunc must be safe to run again
// after a failure.
type JobFunc func(ctx context.Context, j *Job) error

// Deferrer is a Sender that can also queue jobs: [Outbox] durably, in the
// store, run by its worker.
type Deferrer interface {
	Sender
	// Defer queues j (in the transaction ctx carries, if any) and returns
	// once it is stored.
	Defer(ctx context.Context, j *Job) error
	// HandleJob registers fn as the function that runs the jobs of kind.
	// Features register when they are built; a kind registered twice
	// keeps the last function.
	HandleJob(kind string, fn JobFunc)
}

var _ Deferrer = (*Outbox)(nil)

// jobs holds the registered job functions.
type jobs struct {
	mu  sync.RWMutex
	fns map[string]JobFunc
}

func (js *jobs) set(kind string, fn JobFunc) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.fns == nil {
		js.fns = map[string]JobFunc{}
	}
	js.fns[kind] = fn
}

func (js *jobs) get(kind string) JobFunc {
	js.mu.RLock()
	defer js.mu.RUnlock()
	return js.fns[kind]
}

// jobBody is the sealed part of a queued job.
type jobBody struct {
	Kind string            `json:"k"`
	Data map[string]string `json:"d,omitempty"`
}

// HandleJob registers fn as the function that runs the jobs of kind; see
// [Deferrer]. A nil fn removes the registration.
func (o *Outbox) HandleJob(kind string, fn JobFunc) {
	if fn == nil {
		o.jobs.mu.Lock()
		delete(o.jobs.fns, kind)
		o.jobs.mu.Unlock()
		return
	}
	o.jobs.set(kind, fn)
}

// Defer queues j in the outbox's store, sealed like a message's body, and
// wakes the worker: the worker runs it with the function registered for
// its kind, retrying with backoff on failure and giving it up after
// MaxAttempts or when no function is registered. Called with a context
// that carries a transaction of the outbox's store, the job is queued in
// that transaction.
func (o *Outbox) Defer(ctx context.Context, j *Job) error {
	if j == nil || j.Kind == "" || strings.ContainsAny(j.Kind, "\r\n") {
		return fmt.Errorf("%w: a job needs a kind", ErrInvalidMessage)
	}
	if err := checkAddress(j.To); err != nil {
		return fmt.Errorf("%w: job To: %w", ErrInvalidMessage, err)
	}
	plain, err := json.Marshal(envelope{Job: &jobBody{Kind: j.Kind, Data: j.Data}})
	if err != nil {
		return fmt.Errorf("sigra/mail: outbox: encode job: %w", err)
	}
	return o.enqueue(ctx, j.To, plain)
}

// enqueue seals plain for a new row addressed to to and queues it.
func (o *Outbox) enqueue(ctx context.Context, to string, plain []byte) error {
	id := store.NewID()
	sealed, err := o.keys.Seal(plain, associatedData(id, to))
	if err != nil {
		return fmt.Errorf("sigra/mail: outbox: %w", err)
	}
	now := o.now().UTC()
	if err := o.store.Enqueue(ctx, &store.Message{ID: id, To: to, Sealed: sealed, NextAttemptAt: now, CreatedAt: now}); err != nil {
		return fmt.Errorf("sigra/mail: outbox: queue: %w", err)
	}
	o.Notify()
	return nil
}

// run runs a claimed job with its registered function.
func (o *Outbox) run(ctx context.Context, to string, jb *jobBody) error {
	fn := o.jobs.get(jb.Kind)
	if fn == nil {
		return fmt.Errorf("%w: %q", ErrNoJobHandler, jb.Kind)
	}
	return fn(ctx, &Job{Kind: jb.Kind, To: to, Data: jb.Data})
}
