package kernel

import (
	"context"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/ui"
)

// Job data keys that Later fills from the request.
const (
	jobIP        = "ip"
	jobUserAgent = "ua"
	jobWhen      = "when"
)

// Later hands the work that depends on the address to (is there an
// account? is it locked? confirmed?) to a job of kind, run after the
// answer: the request does the same work, one write, whatever the
// address's state, so neither its answer nor its timing tells whether an
// account exists. The job carries the request's client address, user
// agent and time (see [Kernel.JobContext] and [JobEmail]) and data.
//
// With a sender that is a [mail.Deferrer] (the outbox), the job is queued
// durably, in the transaction ctx carries if any, and run by the outbox's
// worker, which retries it on failure. With another sender it runs in its
// own goroutine at once (not durable: a development setup).
func (k *Kernel) Later(ctx context.Context, kind, to string, data map[string]string) error {
	j := &mail.Job{Kind: kind, To: to, Data: map[string]string{}}
	for key, v := range data {
		j.Data[key] = v
	}
	ip, ua := audit.RequestInfo(ctx)
	j.Data[jobIP], j.Data[jobUserAgent] = ip, ua
	j.Data[jobWhen] = k.Now().UTC().Format(time.RFC3339Nano)
	if d, ok := k.Mail.(mail.Deferrer); ok {
		return d.Defer(ctx, j)
	}
	fn := k.jobs[kind]
	if fn == nil {
		return nil
	}
	go func() {
		jctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := fn(jctx, j); err != nil {
			k.Log.Error("job failed", "feature", k.name, "kind", kind, "err", err)
		}
	}()
	return nil
}

// HandleLater registers fn as the function that runs the jobs of kind
// queued with [Kernel.Later]; a feature calls it when it is built. fn runs
// with a context that carries the request's client address and user
// agent for audit rows (see [Kernel.JobContext]).
func (k *Kernel) HandleLater(kind string, fn mail.JobFunc) {
	run := func(ctx context.Context, j *mail.Job) error {
		return fn(k.JobContext(ctx, j), j)
	}
	if k.jobs == nil {
		k.jobs = map[string]mail.JobFunc{}
	}
	k.jobs[kind] = run
	if d, ok := k.Mail.(mail.Deferrer); ok {
		d.HandleJob(kind, run)
	}
}

// JobContext returns ctx carrying the client address and user agent of
// the request that queued j, for audit rows written by the job.
func (k *Kernel) JobContext(ctx context.Context, j *mail.Job) context.Context {
	return audit.WithClient(ctx, j.Data[jobIP], j.Data[jobUserAgent])
}

// JobEmail is the email data of a notice about the request that queued
// j: its client address, user agent and time.
func (k *Kernel) JobEmail(j *mail.Job) *ui.Email {
	when, err := time.Parse(time.RFC3339Nano, j.Data[jobWhen])
	if err != nil {
		when = k.Now()
	}
	return &ui.Email{IP: j.Data[jobIP], UserAgent: j.Data[jobUserAgent], When: when}
}
