package account

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/flow"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

func (h *Handler) deletePage(w http.ResponseWriter, r *http.Request) {
	u := h.sess.User(r.Context())
	h.ui.Render(w, r, http.StatusOK, "delete", h.x.Page(r, "Delete your account", &ui.DeleteData{Grace: h.cfg.DeletionGrace, Email: u.Email}))
}

// deleteAccount schedules the account's deletion after the grace period.
// Requires sudo and the account's address typed again. Every session is
// revoked at once; signing in before the due time cancels the deletion.
func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := h.sess.User(ctx)
	p := h.x.Page(r, "Delete your account", &ui.DeleteData{Grace: h.cfg.DeletionGrace, Email: u.Email})
	in, err := flow.ReadInput(r)
	if err != nil {
		h.x.FormError(w, r, http.StatusBadRequest, "delete", p, "invalid_input", "The form could not be read. Reload the page and try again.", nil)
		return
	}
	if store.NormalizeEmail(in["confirm_email"]) != store.NormalizeEmail(u.Email) {
		h.x.FormError(w, r, http.StatusUnprocessableEntity, "delete", p, "confirmation_mismatch", "Type your email address to confirm.", map[string]string{"confirm_email": "Type " + u.Email + " to confirm."})
		return
	}
	now := h.now()
	due := now.Add(h.cfg.DeletionGrace)
	err = h.st.WithTx(ctx, func(tx store.Store) error {
		if err := tx.ScheduleDeletion(ctx, u.ID, due, now); err != nil {
			return err
		}
		if _, err := tx.RevokeUserSessions(ctx, u.ID, nil, now); err != nil {
			return err
		}
		if _, err := tx.DeleteUserTokens(ctx, u.ID); err != nil {
			return err
		}
		if err := h.record(ctx, tx, audit.ActionDeleteSchedule, u.ID, u.ID, map[string]string{"due": due.UTC().Format(time.RFC3339)}); err != nil {
			return err
		}
		data := h.reqEmail(r)
		data.DueAt = due
		data.Link = h.absolute(h.links.Login)
		return h.queue(ctx, tx, "deletion_scheduled", u.Email, data)
	})
	if err != nil {
		h.x.Error(w, r, err)
		return
	}
	if err := h.sess.SignOut(ctx); err != nil {
		h.log.ErrorContext(ctx, "sign out after scheduling deletion failed", "err", err)
	}
	h.x.Render(w, r, http.StatusOK, "delete_scheduled", h.x.Page(r, "Account deletion scheduled", &ui.DeleteScheduledData{DueAt: due}),
		map[string]any{"ok": true, "due_at": due})
}

// PurgeDeleted deletes or anonymises (per Config.DeletionMode) up to limit
// accounts whose deletion is due, and returns how many it handled. Each
// account is handled in one transaction with its audit row and a goodbye
// email; Hooks.BeforeDelete can postpone one by returning an error. Run it
// periodically (see RunPurge) on one or more instances: a row handled by
// another instance meanwhile is skipped.
func (h *Handler) PurgeDeleted(ctx context.Context, limit int) (int, error) {
	now := h.now()
	due, err := h.st.UsersDueForDeletion(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range due {
		if h.cfg.Hooks.BeforeDelete != nil {
			if err := h.cfg.Hooks.BeforeDelete(ctx, u); err != nil {
				h.log.WarnContext(ctx, "account deletion postponed by hook", "user", u.ID, "err", err)
				continue
			}
		}
		err := h.st.WithTx(ctx, func(tx store.Store) error {
			cur, err := tx.UserByID(ctx, u.ID)
			if err != nil {
				return err
			}
			if cur.DeletionDueAt.IsZero() || cur.DeletionDueAt.After(now) {
				return store.ErrNotFound // cancelled meanwhile
			}
			mode := "delete"
			if h.cfg.DeletionMode == AnonymizeData {
				mode = "anonymize"
				err = tx.AnonymizeUser(ctx, u.ID, now)
			} else {
				err = tx.DeleteUser(ctx, u.ID)
			}
			if err != nil {
				return err
			}
			if err := h.audit.Record(ctx, tx, audit.Event{Action: audit.ActionDeleteComplete, SubjectID: u.ID, Outcome: audit.OutcomeSuccess, Metadata: map[string]string{"mode": mode}}); err != nil {
				return err
			}
			return h.queue(ctx, tx, "account_deleted", cur.Email, &ui.Email{When: now})
		})
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
		if h.cfg.Hooks.AfterDelete != nil {
			h.cfg.Hooks.AfterDelete(ctx, u.ID)
		}
	}
	return n, nil
}

// RunPurge calls PurgeDeleted every interval until ctx ends, logging
// failures. It also purges expired sessions, tokens and limiter counters.
func (h *Handler) RunPurge(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := h.PurgeDeleted(ctx, 100); err != nil && ctx.Err() == nil {
			h.log.ErrorContext(ctx, "purging deleted accounts failed", "err", err)
		}
		before := h.now().Add(-time.Hour)
		if _, err := h.st.PurgeSessions(ctx, before); err != nil && ctx.Err() == nil {
			h.log.ErrorContext(ctx, "purging sessions failed", "err", err)
		}
		if _, err := h.st.PurgeTokens(ctx, before); err != nil && ctx.Err() == nil {
			h.log.ErrorContext(ctx, "purging tokens failed", "err", err)
		}
		if _, err := h.st.PurgeLimits(ctx, before); err != nil && ctx.Err() == nil {
			h.log.ErrorContext(ctx, "purging rate limits failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
