package account

import (
	"context"
	"errors"

	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/store"
)

// The kinds of the jobs account queues with kernel.Kernel.Later: the work
// of a request that names an address, done after the answer so that the
// request does the same whatever the address's state.
const (
	jobReset   = "account.reset"
	jobMagic   = "account.magic_link"
	jobConfirm = "account.confirm"
	jobLockout = "account.lockout"
)

// registerJobs registers the functions that run account's jobs.
func (h *Handler) registerJobs() {
	h.k.HandleLater(jobReset, func(ctx context.Context, j *mail.Job) error {
		return h.emailTokenJob(ctx, j, store.PurposeReset)
	})
	h.k.HandleLater(jobMagic, func(ctx context.Context, j *mail.Job) error {
		return h.emailTokenJob(ctx, j, store.PurposeMagicLink)
	})
	h.k.HandleLater(jobConfirm, h.confirmJob)
	h.k.HandleLater(jobLockout, h.lockoutJob)
}

// jobUser returns the enabled account that holds the job's address, or
// nil when there is none.
func (h *Handler) jobUser(ctx context.Context, j *mail.Job) (*store.User, error) {
	u, err := h.st.UserByEmail(ctx, j.To)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil || !u.DisabledAt.IsZero() {
		return nil, err
	}
	return u, nil
}

// emailTokenJob sends the reset or sign-in link that a request for the
// job's address asked for, if an enabled account holds it.
func (h *Handler) emailTokenJob(ctx context.Context, j *mail.Job, purpose string) error {
	u, err := h.jobUser(ctx, j)
	if u == nil {
		return err
	}
	return h.sendEmailToken(ctx, u, purpose, h.k.JobEmail(j))
}

// confirmJob sends a new confirmation email if an enabled account whose
// address is unconfirmed holds the job's address.
func (h *Handler) confirmJob(ctx context.Context, j *mail.Job) error {
	u, err := h.jobUser(ctx, j)
	if u == nil || !u.EmailConfirmedAt.IsZero() {
		return err
	}
	return h.k.InTx(ctx, func(ctx context.Context) error {
		return h.sendConfirmation(ctx, h.k.JobEmail(j), u.ID, u.Email)
	})
}
