package account_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/store"
)

const grace = 14 * 24 * time.Hour

// scheduleDeletion schedules the deletion of the signed-in user's account
// through the form.
func scheduleDeletion(t *testing.T, c *apptest.Client, email string) {
	t.Helper()
	res := c.Post("/auth/delete", form("confirm_email", email))
	wantStatus(t, "delete", res, http.StatusOK)
	if !strings.Contains(strings.ToLower(res.Body), "deletion scheduled") {
		t.Fatalf("delete: got a page without \"deletion scheduled\", want it:\n%s", res.Body)
	}
}

// TestDeleteAccount: deletion needs sudo and the address typed again; it
// is scheduled after the grace period, signs out every session at once
// and emails the owner.
func TestDeleteAccount(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		c, other := signedIn(t, a, "user@example.com"), signedIn(t, a, "user@example.com")
		wantStatus(t, "delete page", c.Get("/auth/delete"), http.StatusOK)

		before := snapshot(t, a, "user@example.com")
		res := c.Post("/auth/delete", form("confirm_email", "someone@example.com"))
		wantStatus(t, "wrong address", res, http.StatusUnprocessableEntity)
		if !strings.Contains(res.Body, `id="confirm_email-error"`) {
			t.Errorf("wrong address: got no error at confirm_email, want one:\n%s", res.Body)
		}
		wantError(t, "wrong address JSON", c.JSON("POST", "/auth/delete", `{"confirm_email":""}`), http.StatusUnprocessableEntity, "confirmation_mismatch")
		wantUnchanged(t, "refused deletion", a, before, "user@example.com")

		// Stale sudo.
		a.Clock.Advance(11 * time.Minute)
		wantError(t, "stale sudo", c.JSON("POST", "/auth/delete", `{"confirm_email":"user@example.com"}`), http.StatusForbidden, "sudo_required")
		wantRedirect(t, "stale sudo page", c.Get("/auth/delete"), "/auth/sudo?return_to=%2Fauth%2Fdelete")
		wantUnchanged(t, "deletion without sudo", a, before, "user@example.com")
		c.Post("/auth/sudo", form("password", pw))

		j := c.JSON("POST", "/auth/delete", `{"confirm_email":"USER@example.com"}`)
		d := decode(t, j)
		due := a.Clock.Now().Add(grace)
		if j.StatusCode != http.StatusOK || !d.OK {
			t.Fatalf("delete: got %d %s, want 200 ok", j.StatusCode, j.Body)
		}
		if got, _ := time.Parse(time.RFC3339Nano, d.Rest["due_at"].(string)); !got.Equal(due) {
			t.Errorf("due_at %v, want %v", d.Rest["due_at"], due)
		}
		if got := a.User(t, "user@example.com").DeletionDueAt; !got.Equal(due) {
			t.Errorf("DeletionDueAt %v, want %v", got, due)
		}
		wantAnonymous(t, c)
		wantAnonymous(t, other)
		if n := a.Count(t, "sigra_sessions", "user_id = ? AND revoked_at IS NULL", u.ID); n != 0 {
			t.Errorf("got %d live sessions, want 0", n)
		}
		m := a.LastMail(t, "user@example.com")
		if !strings.Contains(m.Subject, "scheduled for deletion") || !strings.Contains(m.Text, a.URL+"/auth/login") {
			t.Errorf("deletion email: got %q\n%s\nwant the scheduled-deletion email linking to sign-in", m.Subject, m.Text)
		}
		wantAudit(t, a, audit.ActionDeleteSchedule, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success", Metadata: map[string]string{"due": due.UTC().Format(time.RFC3339)}})
	})
}

// TestDeleteCancelledBySignIn: signing in during the grace period cancels
// the deletion.
func TestDeleteCancelledBySignIn(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		scheduleDeletion(t, signedIn(t, a, "user@example.com"), "user@example.com")
		a.Clock.Advance(grace - time.Minute)
		c := a.Client(t)
		c.SignIn("user@example.com", pw)
		wantSignedIn(t, c, "user@example.com")
		if got := a.User(t, "user@example.com").DeletionDueAt; !got.IsZero() {
			t.Errorf("DeletionDueAt %v after sign-in, want none", got)
		}
		wantAudit(t, a, audit.ActionDeleteCancel, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success", Metadata: map[string]string{"method": "sign_in"}})
		a.Clock.Advance(time.Hour)
		if n, err := a.Account.PurgeDeleted(ctx, 10); err != nil || n != 0 {
			t.Errorf("PurgeDeleted: %d, %v; want 0", n, err)
		}
		a.User(t, "user@example.com")
	})
}

// userReads counts the calls to UserByID that reach an account.Store.
type userReads struct {
	account.Store
	byID atomic.Int64
}

func (s *userReads) UserByID(ctx context.Context, id string) (*store.User, error) {
	s.byID.Add(1)
	return s.Store.UserByID(ctx, id)
}

// TestPasswordSignInReadsUserOnce: a password sign-in reads its user's
// row once, by address, and the check for a scheduled deletion uses that
// row rather than reading it again by ID; a deletion it finds scheduled
// is still cancelled.
func TestPasswordSignInReadsUserOnce(t *testing.T) {
	t.Parallel()
	for _, backend := range apptest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			reads := &userReads{}
			a := newApp(t, opts{Backend: backend, Config: func(_ *apptest.App, cfg *account.Config) {
				reads.Store = cfg.Store
				cfg.Store = reads
			}})
			newUser(t, a, "user@example.com")
			c := a.Client(t)
			before := reads.byID.Load()
			c.SignIn("user@example.com", pw)
			wantSignedIn(t, c, "user@example.com")
			if n := reads.byID.Load() - before; n != 0 {
				t.Errorf("a password sign-in read its user by ID %d times, want none", n)
			}
			scheduleDeletion(t, c, "user@example.com")
			signedIn(t, a, "user@example.com")
			if got := a.User(t, "user@example.com").DeletionDueAt; !got.IsZero() {
				t.Errorf("DeletionDueAt %v after a password sign-in, want none", got)
			}
		})
	}
}

// TestDeleteCancelledByOtherSignIn: a sign-in that another feature
// completes through the session manager (a passkey's, an OAuth
// provider's) cancels a scheduled deletion too, with its audit row.
func TestDeleteCancelledByOtherSignIn(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		scheduleDeletion(t, signedIn(t, a, "user@example.com"), "user@example.com")
		a.Mux.HandleFunc("POST /auth/test/passkey-sign-in", func(w http.ResponseWriter, r *http.Request) {
			su := &sigra.User{ID: u.ID, Email: u.Email, EmailConfirmedAt: u.EmailConfirmedAt, CreatedAt: u.CreatedAt}
			if err := a.Sessions.SignIn(r.Context(), su, []sigra.Method{sigra.MethodPasskey}, sigra.AAL1, false); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		c := a.Client(t)
		wantStatus(t, "passkey sign-in", c.JSON("POST", "/auth/test/passkey-sign-in", "{}"), http.StatusNoContent)
		if got := a.User(t, "user@example.com").DeletionDueAt; !got.IsZero() {
			t.Errorf("DeletionDueAt %v after a passkey sign-in, want none", got)
		}
		// The test's route is not behind a feature's handler, which would
		// give the audit rows the client's address: the row itself.
		if evs := auditRows(t, a, audit.ActionDeleteCancel, u.ID); len(evs) != 1 || evs[0].ActorID != u.ID || evs[0].Metadata["method"] != "sign_in" {
			t.Errorf("audit %s: got %d rows (%+v), want one by the user with method sign_in", audit.ActionDeleteCancel, len(evs), evs)
		}
	})
}

// TestPurgeDeleted: after the grace period, PurgeDeleted deletes (or
// anonymises) the account in one step with its audit row and a goodbye
// email; a BeforeDelete error postpones it.
func TestPurgeDeleted(t *testing.T) {
	t.Parallel()
	for _, mode := range []account.DeletionMode{account.DeleteData, account.AnonymizeData} {
		name := map[account.DeletionMode]string{account.DeleteData: "delete", account.AnonymizeData: "anonymize"}[mode]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, b := range apptest.Backends {
				t.Run(b, func(t *testing.T) {
					var refuse atomic.Bool
					refuse.Store(true)
					var h *hooks
					a := newApp(t, opts{Backend: b, Config: func(_ *apptest.App, c *account.Config) {
						c.DeletionMode = mode
						c.Hooks.BeforeDelete = func(_ context.Context, u *sigra.User) error {
							h.add("before %s", u.ID)
							if refuse.Load() {
								return errors.New("export not finished")
							}
							return nil
						}
					}})
					h = a.Hooks
					u := newUser(t, a, "user@example.com")
					keep := newUser(t, a, "keep@example.com")
					scheduleDeletion(t, signedIn(t, a, "user@example.com"), "user@example.com")
					a.Clock.Advance(grace - ms)
					if n, err := a.Account.PurgeDeleted(ctx, 10); err != nil || n != 0 {
						t.Fatalf("before due: got PurgeDeleted %d, %v; want 0, nil", n, err)
					}
					a.Clock.Advance(ms)
					// The hook postpones.
					if n, err := a.Account.PurgeDeleted(ctx, 10); err != nil || n != 0 {
						t.Fatalf("hook refusing: got PurgeDeleted %d, %v; want 0, nil", n, err)
					}
					if !h.has("before "+u.ID) || h.has("delete "+u.ID) {
						t.Fatalf("hook refusing: got hook calls %q, want BeforeDelete and no AfterDelete", h.list())
					}
					a.User(t, "user@example.com")
					refuse.Store(false)
					if n, err := a.Account.PurgeDeleted(ctx, 10); err != nil || n != 1 {
						t.Fatalf("PurgeDeleted %d, %v; want 1", n, err)
					}
					if !h.has("delete " + u.ID) {
						t.Errorf("got hook calls %q, want AfterDelete", h.list())
					}
					if _, err := a.Store.UserByEmail(ctx, "user@example.com"); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("UserByEmail after the purge: got %v, want not found", err)
					}
					row, err := a.Store.UserByID(ctx, u.ID)
					switch mode {
					case account.DeleteData:
						if !errors.Is(err, store.ErrNotFound) {
							t.Errorf("deleted user row: got %v, %v; want not found", row, err)
						}
					case account.AnonymizeData:
						if err != nil || row.PasswordHash != "" || row.DisabledAt.IsZero() || !row.DeletionDueAt.IsZero() || strings.Contains(row.Email, "user@") {
							t.Errorf("anonymised user row: got %+v, %v; want it disabled, without password, address or deletion time", row, err)
						}
					}
					if n := tokenCount(t, a, u.ID, ""); n != 0 {
						t.Errorf("got %d tokens left, want 0", n)
					}
					// Anonymised: session tombstones may stay until purged, but
					// revoked and without personal details.
					if n := a.Count(t, "sigra_sessions", "user_id = ? AND (revoked_at IS NULL OR ip <> '' OR user_agent <> '')", u.ID); n != 0 {
						t.Errorf("got %d sessions left live or with personal details, want 0", n)
					}
					if got := subjects(t, a, "user@example.com"); len(got) == 0 || !strings.Contains(got[0], "was deleted") {
						t.Errorf("got emails %q, want the goodbye email last", got)
					}
					wantAudit(t, a, audit.ActionDeleteComplete, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success", System: true, Metadata: map[string]string{"mode": name}})
					// Only the due account went; a second run does nothing.
					if a.User(t, "keep@example.com").ID != keep.ID {
						t.Error("got another account changed, want it kept")
					}
					if n, err := a.Account.PurgeDeleted(ctx, 10); err != nil || n != 0 {
						t.Errorf("second run: got %d, %v; want 0, nil", n, err)
					}
					// The address can be used again.
					a.Client(t).Post("/auth/register", form("email", "user@example.com", "password", pw))
					if n := a.Count(t, "sigra_users", "email_norm = ?", "user@example.com"); n != 1 {
						t.Errorf("registering the address again: got %d accounts, want 1", n)
					}
				})
			}
		})
	}
}

// TestHooks: every After hook runs once its change committed.
func TestHooks(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		h := a.Hooks
		c := a.Client(t)
		c.Post("/auth/register", form("email", "user@example.com", "password", pw))
		u := a.User(t, "user@example.com")
		link := apptest.Link(t, a.LastMail(t, "user@example.com"), "/auth/confirm")
		c.Post("/auth/confirm", form("token", apptest.TokenOf(link)))
		c.SignIn("user@example.com", pw)
		c.Post("/auth/email", form("email", "new@example.com"))
		c.Post("/auth/email/confirm", form("token", apptest.TokenOf(apptest.Link(t, a.LastMail(t, "new@example.com"), "/auth/email/confirm"))))
		c.Post("/auth/logout", nil)
		reset := requestReset(t, a, "new@example.com")
		c.Post("/auth/password/reset", form("token", apptest.TokenOf(reset), "password", "a brand new passphrase"))
		want := []string{
			"register " + u.ID,
			"confirm " + u.ID,
			"signin " + u.ID,
			"email " + u.ID + " user@example.com->new@example.com",
			"signout " + u.ID,
			"reset " + u.ID,
		}
		for _, w := range want {
			if h.count(w) != 1 {
				t.Errorf("hook call %q made %d times, want 1 (all: %q)", w, h.count(w), h.list())
			}
		}
	})
}
