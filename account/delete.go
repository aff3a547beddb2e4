package account

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

func (h *Handler) deletePage(w http.ResponseWriter, r *http.Request) {
	u := h.k.Sess.User(r.Context())
	h.k.Render(w, r, http.StatusOK, "delete", h.k.Page(r, "Delete your account", &DeleteAccountData{Grace: h.cfg.DeletionGrace, Email: u.Email}),
		map[string]any{"ok": true, "email": u.Email, "grace_seconds": int64(h.cfg.DeletionGrace / time.Second)})
}

// deleteAccount schedules the account's deletion after the grace period.
// Requires sudo and the account's address typed again. Every session is
// revoked at once; signing in before the due time cancels the deletion.
func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := h.k.Sess.User(ctx)
	in, err := kernel.ReadInput(r)
	p := h.k.Page(r, "Delete your account", &DeleteAccountData{Grace: h.cfg.DeletionGrace, Email: u.Email})
	if err != nil {
		h.k.BadForm(w, r, "delete", kernel.Built(p))
		return
	}
	if store.NormalizeEmail(in["confirm_email"]) != store.NormalizeEmail(u.Email) {
		h.k.FormError(w, r, http.StatusUnprocessableEntity, "delete", kernel.Built(p), "confirmation_mismatch", "Type your email address to confirm.", map[string]string{"confirm_email": "Type " + u.Email + " to confirm."})
		return
	}
	now := h.k.Now()
	due := now.Add(h.cfg.DeletionGrace)
	err = h.k.InTx(ctx, func(ctx context.Context) error {
		if err := h.st.ScheduleDeletion(ctx, u.ID, due, now); err != nil {
			return err
		}
		if _, err := h.st.RevokeUserSessions(ctx, u.ID, nil, now); err != nil {
			return err
		}
		if _, err := h.st.DeleteUserTokens(ctx, u.ID); err != nil {
			return err
		}
		if err := h.k.Record(ctx, audit.ActionDeleteSchedule, u.ID, u.ID, map[string]string{"due": due.UTC().Format(time.RFC3339)}); err != nil {
			return err
		}
		data := h.k.RequestEmail(r)
		data.Link = h.k.Absolute(h.k.Path(pathLogin))
		data.Data = &DeletionMail{DueAt: due}
		return h.k.Queue(ctx, "deletion_scheduled", u.Email, data)
	})
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	if err := h.k.Sess.SignOut(ctx); err != nil {
		h.k.LogFailure(ctx, "sign out after scheduling deletion failed", err)
	}
	h.k.Render(w, r, http.StatusOK, "delete_scheduled", h.k.Page(r, "Account deletion scheduled", &DeleteScheduledData{DueAt: due}),
		map[string]any{"ok": true, "due_at": due})
}

// PurgeDeleted deletes or anonymises (per Config.DeletionMode) up to limit
// accounts whose deletion is due, and returns how many it handled. Each
// account is handled in one transaction with its audit row and a goodbye
// email; Hooks.BeforeDelete can postpone one by returning an error. Run it
// periodically (see RunPurge) on one or more instances: a row handled by
// another instance meanwhile is skipped.
func (h *Handler) PurgeDeleted(ctx context.Context, limit int) (int, error) {
	now := h.k.Now()
	due, err := h.st.UsersDueForDeletion(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range due {
		if h.cfg.Hooks.BeforeDelete != nil {
			if err := h.cfg.Hooks.BeforeDelete(ctx, publicUser(u)); err != nil {
				h.k.Log.WarnContext(ctx, "account deletion postponed by hook", "user", u.ID, "err", err)
				continue
			}
		}
		err := h.k.InTx(ctx, func(ctx context.Context) error {
			cur, err := h.st.UserByID(ctx, u.ID)
			if err != nil {
				return err
			}
			if cur.DeletionDueAt.IsZero() || cur.DeletionDueAt.After(now) {
				return store.ErrNotFound // cancelled meanwhile
			}
			mode := "delete"
			if h.cfg.DeletionMode == AnonymizeData {
				mode = "anonymize"
				err = h.st.AnonymizeUser(ctx, u.ID, now)
			} else {
				err = h.st.DeleteUser(ctx, u.ID)
			}
			if err != nil {
				return err
			}
			if err := h.k.Record(ctx, audit.ActionDeleteComplete, "", u.ID, map[string]string{"mode": mode}); err != nil {
				return err
			}
			return h.k.Queue(ctx, "account_deleted", cur.Email, &ui.Email{When: now})
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

// RunPurge calls PurgeDeleted every interval (default one hour) until ctx
// ends, logging failures. It also purges expired sessions, tokens and
// limiter counters.
func (h *Handler) RunPurge(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := h.PurgeDeleted(ctx, 100); err != nil && ctx.Err() == nil {
			h.k.Log.ErrorContext(ctx, "purging deleted accounts failed", "err", err)
		}
		before := h.k.Now().Add(-time.Hour)
		if _, err := h.st.PurgeSessions(ctx, before); err != nil && ctx.Err() == nil {
			h.k.Log.ErrorContext(ctx, "purging sessions failed", "err", err)
		}
		if _, err := h.st.PurgeTokens(ctx, before); err != nil && ctx.Err() == nil {
			h.k.Log.ErrorContext(ctx, "purging tokens failed", "err", err)
		}
		if _, err := h.st.PurgeLimits(ctx, before); err != nil && ctx.Err() == nil {
			h.k.Log.ErrorContext(ctx, "purging rate limits failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
