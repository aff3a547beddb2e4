package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

func txChecks() []check {
	return []check{
		checkEnv("Commit", testTxCommit),
		checkEnv("Rollback", testTxRollback),
		checkEnv("Panic", testTxPanic),
		checkEnv("Nested", testTxNested),
		checkEnv("NestedRollback", testTxNestedRollback),
		checkEnv("ReadOwnWrites", testTxReadOwnWrites),
		checkEnv("WithoutTx", testTxWithoutTx),
		checkEnv("OtherStore", testTxOtherStore),
		checkEnv("Conflict", testTxConflict),
		checkEnv("Concurrent", testTxConcurrent),
	}
}

var errAbort = errors.New("storetest: abort")

// ctxKey is the key of a value the checks add to a transaction's context,
// to derive a context from it.
type ctxKey struct{}

// txKinds are the interfaces whose records the transaction checks write
// besides users.
func txKinds() []reflect.Type {
	return []reflect.Type{
		reflect.TypeFor[store.Sessions](),
		reflect.TypeFor[store.Tokens](),
		reflect.TypeFor[store.AuditLog](),
		reflect.TypeFor[store.Outbox](),
		reflect.TypeFor[store.Limiter](),
		reflect.TypeFor[store.TOTP](),
		reflect.TypeFor[store.RecoveryCodes](),
		reflect.TypeFor[store.TrustedBrowsers](),
	}
}

// txCodes is how many recovery codes writeAll stores.
const txCodes = 3

// writeAll makes, with ctx, one write of each kind the suite's type has
// among users, sessions, tokens, audit events, outbox messages, limiter
// hits, TOTP secrets (saved pending, then confirmed, as enrollment does),
// recovery codes and trusted browsers, all named by tag, and reads the
// user, the session and the second factors back.
func writeAll(ctx context.Context, s txStore, e env, tag string) error {
	u := &store.User{Email: tag + "@example.com", CreatedAt: t0}
	if err := s.CreateUser(ctx, u); err != nil {
		return err
	}
	if ss, ok := as[store.Sessions](e); ok {
		if err := ss.SaveSession(ctx, liveSession(digest(tag), u.ID)); err != nil {
			return err
		}
	}
	if ts, ok := as[store.Tokens](e); ok {
		if err := ts.CreateToken(ctx, newToken(store.PurposeConfirm, tag, u.ID, at(time.Hour))); err != nil {
			return err
		}
	}
	if al, ok := as[store.AuditLog](e); ok {
		if err := al.AppendAudit(ctx, &store.AuditEvent{At: t0, Action: tag, SubjectID: u.ID, Outcome: "success"}); err != nil {
			return err
		}
	}
	if ob, ok := as[store.Outbox](e); ok {
		if err := ob.Enqueue(ctx, newMessage(tag+"@example.com", t0)); err != nil {
			return err
		}
	}
	if ls, ok := as[store.Limiter](e); ok {
		if _, err := ls.Hit(ctx, tag, 10, time.Hour, t0); err != nil {
			return err
		}
	}
	if ts, ok := as[store.TOTP](e); ok {
		if err := ts.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("sealed " + tag), CreatedAt: t0}); err != nil {
			return err
		}
		if err := ts.UseTOTPStep(ctx, u.ID, 1000, true, t0); err != nil {
			return err
		}
	}
	if rs, ok := as[store.RecoveryCodes](e); ok {
		if err := rs.ReplaceRecoveryCodes(ctx, u.ID, codes(tag, txCodes), t0); err != nil {
			return err
		}
	}
	if bs, ok := as[store.TrustedBrowsers](e); ok {
		if err := bs.CreateTrustedBrowser(ctx, newBrowser(u.ID, tag, t0, at(time.Hour))); err != nil {
			return err
		}
	}
	if got, err := s.UserByEmail(ctx, tag+"@example.com"); err != nil || got.ID != u.ID {
		return fmt.Errorf("UserByEmail after CreateUser with the same context: got (%v, %v), want user %s", got, err, u.ID)
	}
	if ss, ok := as[store.Sessions](e); ok {
		if _, got, err := ss.SessionWithUser(ctx, digest(tag), t0, 0); err != nil || got == nil || got.ID != u.ID {
			return fmt.Errorf("SessionWithUser after SaveSession with the same context: got (%v, %v), want user %s", got, err, u.ID)
		}
	}
	if ts, ok := as[store.TOTP](e); ok {
		if got, err := ts.TOTPByUser(ctx, u.ID); err != nil || got.ConfirmedAt.IsZero() || got.LastStep != 1000 {
			return fmt.Errorf("TOTPByUser after SavePendingTOTP and UseTOTPStep with the same context: got (%+v, %v), want a secret confirmed at step 1000", got, err)
		}
	}
	if rs, ok := as[store.RecoveryCodes](e); ok {
		if n, err := rs.CountRecoveryCodes(ctx, u.ID); err != nil || n != txCodes {
			return fmt.Errorf("CountRecoveryCodes after ReplaceRecoveryCodes with the same context: got (%d, %v), want %d", n, err, txCodes)
		}
	}
	if bs, ok := as[store.TrustedBrowsers](e); ok {
		if _, err := bs.TrustedBrowserByDigest(ctx, u.ID, digest(tag), t0); err != nil {
			return fmt.Errorf("TrustedBrowserByDigest after CreateTrustedBrowser with the same context: %w", err)
		}
	}
	return nil
}

// forgetFactors deletes, with ctx, the second factors writeAll(tag) gave
// its user (as a password reset forgets the trusted browsers, and as
// turning off two-step verification deletes the secret and the codes), and
// reads back that they are gone.
func forgetFactors(ctx context.Context, s txStore, e env, tag string) error {
	u, err := s.UserByEmail(ctx, tag+"@example.com")
	if err != nil {
		return fmt.Errorf("UserByEmail(%q): %w", tag+"@example.com", err)
	}
	if ts, ok := as[store.TOTP](e); ok {
		if err := ts.DeleteTOTP(ctx, u.ID); err != nil {
			return err
		}
		if _, err := ts.TOTPByUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("TOTPByUser after DeleteTOTP with the same context: got %v, want ErrNotFound", err)
		}
	}
	if rs, ok := as[store.RecoveryCodes](e); ok {
		if err := rs.DeleteRecoveryCodes(ctx, u.ID); err != nil {
			return err
		}
		if n, err := rs.CountRecoveryCodes(ctx, u.ID); err != nil || n != 0 {
			return fmt.Errorf("CountRecoveryCodes after DeleteRecoveryCodes with the same context: got (%d, %v), want 0", n, err)
		}
	}
	if bs, ok := as[store.TrustedBrowsers](e); ok {
		if n, err := bs.RevokeTrustedBrowsers(ctx, u.ID); err != nil || n != 1 {
			return fmt.Errorf("RevokeTrustedBrowsers: got (%d, %v), want 1", n, err)
		}
		if _, err := bs.TrustedBrowserByDigest(ctx, u.ID, digest(tag), t0); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("TrustedBrowserByDigest after RevokeTrustedBrowsers with the same context: got %v, want ErrNotFound", err)
		}
	}
	return nil
}

// factorsPresent returns how many kinds of second factors the suite's type
// has, and how many of the ones writeAll(tag) gave its user are visible
// outside any transaction (none when the user is not).
func factorsPresent(t *testing.T, s txStore, e env, tag string) (kinds, found int) {
	t.Helper()
	ctx := t.Context()
	var userID string
	if u, err := s.UserByEmail(ctx, tag+"@example.com"); err == nil {
		userID = u.ID
	}
	if ts, ok := as[store.TOTP](e); ok {
		kinds++
		if got, err := ts.TOTPByUser(ctx, userID); err == nil && !got.ConfirmedAt.IsZero() {
			found++
		}
	}
	if rs, ok := as[store.RecoveryCodes](e); ok {
		kinds++
		if n, err := rs.CountRecoveryCodes(ctx, userID); err == nil && n == txCodes {
			found++
		}
	}
	if bs, ok := as[store.TrustedBrowsers](e); ok {
		kinds++
		if _, err := bs.TrustedBrowserByDigest(ctx, userID, digest(tag), t0); err == nil {
			found++
		}
	}
	return kinds, found
}

// present reports whether the writes of writeAll(tag) are visible outside
// any transaction, and fails the test if only some are. (Outbox messages
// are counted by the checks, with PendingMessages.)
func present(t *testing.T, s txStore, e env, tag string) bool {
	t.Helper()
	ctx := t.Context()
	kinds, found := 1, 0
	if _, err := s.UserByEmail(ctx, tag+"@example.com"); err == nil {
		found++
	}
	if ss, ok := as[store.Sessions](e); ok {
		kinds++
		if _, err := ss.SessionByDigest(ctx, digest(tag), t0, 0); err == nil {
			found++
		}
	}
	if ts, ok := as[store.Tokens](e); ok {
		kinds++
		if _, err := ts.PeekToken(ctx, store.PurposeConfirm, digest(tag), t0); err == nil {
			found++
		}
	}
	if al, ok := as[store.AuditLog](e); ok {
		kinds++
		if events, _, err := al.QueryAudit(ctx, store.AuditQuery{Action: tag}); err == nil && len(events) == 1 {
			found++
		}
	}
	if ls, ok := as[store.Limiter](e); ok {
		kinds++
		if l, err := ls.Hit(ctx, tag, 10, time.Hour, t0); err == nil && l.Count == 2 {
			found++ // the probe hit is the second
		}
	}
	fk, ff := factorsPresent(t, s, e, tag)
	kinds, found = kinds+fk, found+ff
	switch found {
	case 0:
		return false
	case kinds:
		return true
	}
	t.Errorf("writes of %q: %d of %d kinds visible, want all or none", tag, found, kinds)
	return false
}

// pending checks the number of queued outbox messages, when the store has
// an outbox.
func pending(t *testing.T, e env, what string, want int) {
	t.Helper()
	ob, ok := as[store.Outbox](e)
	if !ok {
		return
	}
	n, err := ob.PendingMessages(t.Context())
	must(t, "PendingMessages", err)
	if n != want {
		t.Errorf("PendingMessages %s: got %d, want %d", what, n, want)
	}
}

func testTxCommit(t *testing.T, s txStore, e env) {
	e.logLacking(t, "writes in transactions of the records", txKinds()...)
	err := s.InTx(t.Context(), func(ctx context.Context) error { return writeAll(ctx, s, e, "commit") })
	must(t, "InTx", err)
	if !present(t, s, e, "commit") {
		t.Error("writes of a committed transaction: not visible")
	}
	pending(t, e, "after commit", 1)

	// Deletions of second factors commit too.
	must(t, "InTx deleting the second factors", s.InTx(t.Context(), func(ctx context.Context) error { return forgetFactors(ctx, s, e, "commit") }))
	if _, found := factorsPresent(t, s, e, "commit"); found != 0 {
		t.Errorf("second factors deleted in a committed transaction: %d kinds still visible, want 0", found)
	}
}

func testTxRollback(t *testing.T, s txStore, e env) {
	must(t, "InTx", s.InTx(t.Context(), func(ctx context.Context) error { return writeAll(ctx, s, e, "kept") }))
	err := s.InTx(t.Context(), func(ctx context.Context) error {
		if err := writeAll(ctx, s, e, "rollback"); err != nil {
			return err
		}
		// Deletions roll back too: a password reset that fails after
		// forgetting the trusted browsers keeps them.
		if err := forgetFactors(ctx, s, e, "kept"); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errAbort)
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx: got %v, want fn's error", err)
	}
	if present(t, s, e, "rollback") {
		t.Error("writes of a rolled back transaction: visible")
	}
	if !present(t, s, e, "kept") {
		t.Error("records deleted in a rolled back transaction: gone, want them kept")
	}
	pending(t, e, "after rollback", 1)
	// The store is usable afterwards.
	must(t, "InTx after a rollback", s.InTx(t.Context(), func(ctx context.Context) error { return writeAll(ctx, s, e, "after") }))
	if !present(t, s, e, "after") {
		t.Error("writes after a rollback: not visible")
	}
	pending(t, e, "after a rollback and a commit", 2)
}

func testTxPanic(t *testing.T, s txStore, e env) {
	var err error
	recovered := func() (r any) {
		defer func() { r = recover() }()
		err = s.InTx(t.Context(), func(ctx context.Context) error {
			if err := writeAll(ctx, s, e, "panic"); err != nil {
				return err
			}
			panic(errAbort)
		})
		return nil
	}()
	// InTx may re-panic or turn the panic into an error; either way the
	// transaction must roll back.
	if recovered == nil && err == nil {
		t.Fatal("InTx with a panicking fn: got neither a panic nor an error")
	}
	if present(t, s, e, "panic") {
		t.Error("writes of a transaction whose fn panicked: visible")
	}
	pending(t, e, "after a panic", 0)
	// The connection or lock it held is released.
	must(t, "InTx after a panic", s.InTx(t.Context(), func(ctx context.Context) error { return writeAll(ctx, s, e, "after-panic") }))
	newUser(t, s, "outside@example.com")
	if !present(t, s, e, "after-panic") {
		t.Error("writes after a panic: not visible")
	}
}

func testTxNested(t *testing.T, s txStore, e env) {
	err := s.InTx(t.Context(), func(ctx context.Context) error {
		if err := writeAll(ctx, s, e, "outer"); err != nil {
			return err
		}
		// A context derived from the transaction's carries the
		// transaction too.
		derived, cancel := context.WithCancel(context.WithValue(ctx, ctxKey{}, "derived"))
		defer cancel()
		return s.InTx(derived, func(ctx context.Context) error {
			// The inner function joins the outer transaction: it sees
			// the outer writes.
			if _, err := s.UserByEmail(ctx, "outer@example.com"); err != nil {
				return fmt.Errorf("inner transaction cannot see the outer one's writes: %w", err)
			}
			return writeAll(ctx, s, e, "inner")
		})
	})
	must(t, "nested InTx", err)
	if !present(t, s, e, "outer") || !present(t, s, e, "inner") {
		t.Error("writes of committed nested transactions: not visible")
	}
	pending(t, e, "after nested transactions", 2)
}

func testTxNestedRollback(t *testing.T, s txStore, e env) {
	err := s.InTx(t.Context(), func(ctx context.Context) error {
		if err := writeAll(ctx, s, e, "outer"); err != nil {
			return err
		}
		if err := s.InTx(ctx, func(ctx context.Context) error {
			return writeAll(ctx, s, e, "inner")
		}); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx: got %v, want fn's error", err)
	}
	if present(t, s, e, "outer") || present(t, s, e, "inner") {
		t.Error("writes of a rolled back outer transaction (or of the inner one it joined): visible")
	}

	err = s.InTx(t.Context(), func(ctx context.Context) error {
		if err := writeAll(ctx, s, e, "outer2"); err != nil {
			return err
		}
		return s.InTx(ctx, func(ctx context.Context) error { return errAbort })
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx: got %v, want the inner fn's error", err)
	}
	if present(t, s, e, "outer2") {
		t.Error("writes of an outer transaction that returned the inner error: visible")
	}
	pending(t, e, "after rolled back nested transactions", 0)
}

// testTxReadOwnWrites: every read inside a transaction, with its context or
// one derived from it, sees the transaction's writes, including the
// lookups of the authenticated request (which a store may serve from
// statements prepared outside any transaction).
func testTxReadOwnWrites(t *testing.T, s txStore, e env) {
	e.logLacking(t, "reads in transactions of the records", txKinds()...)
	err := s.InTx(t.Context(), func(txCtx context.Context) error {
		ctx, cancel := context.WithCancel(context.WithValue(txCtx, ctxKey{}, "derived"))
		defer cancel()
		u := &store.User{Email: "Own.Writes@example.com", CreatedAt: t0}
		if err := s.CreateUser(ctx, u); err != nil {
			return err
		}
		if got, err := s.UserByID(ctx, u.ID); err != nil || got.Email != u.Email {
			return fmt.Errorf("UserByID in the transaction: got (%v, %v), want the new user", got, err)
		}
		if got, err := s.UserByEmail(ctx, "own.writes@example.com"); err != nil || got.ID != u.ID {
			return fmt.Errorf("UserByEmail in the transaction: got (%v, %v), want the new user", got, err)
		}
		if err := s.SetPasswordHash(ctx, u.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", at(time.Second)); err != nil {
			return err
		}
		if got, err := s.UserByID(ctx, u.ID); err != nil || got.PasswordHash == "" {
			return fmt.Errorf("UserByID after SetPasswordHash in the transaction: got (%v, %v), want the new hash", got, err)
		}

		if ss, ok := as[store.Sessions](e); ok {
			sess := liveSession(digest("own"), u.ID)
			if err := ss.SaveSession(ctx, sess); err != nil {
				return err
			}
			if got, err := ss.SessionByDigest(ctx, sess.Digest, t0, time.Hour); err != nil || got.ID != sess.ID {
				return fmt.Errorf("SessionByDigest in the transaction: got (%v, %v), want the new session", got, err)
			}
			if got, gotU, err := ss.SessionWithUser(ctx, sess.Digest, t0, time.Hour); err != nil || got.ID != sess.ID || gotU == nil || gotU.PasswordHash == "" {
				return fmt.Errorf("SessionWithUser in the transaction: got (%v, %v, %v), want the new session and the changed user", got, gotU, err)
			}
			if list, err := ss.UserSessions(ctx, u.ID, t0); err != nil || len(list) != 1 {
				return fmt.Errorf("UserSessions in the transaction: got (%d sessions, %v), want 1", len(list), err)
			}
			if err := ss.RevokeSession(ctx, sess.Digest, at(time.Second)); err != nil {
				return err
			}
			if _, _, err := ss.SessionWithUser(ctx, sess.Digest, at(time.Second), 0); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("SessionWithUser after RevokeSession in the transaction: got %v, want ErrNotFound", err)
			}
		}
		if ts, ok := as[store.Tokens](e); ok {
			tok := newToken(store.PurposeMagicLink, "own", u.ID, at(time.Hour))
			if err := ts.CreateToken(ctx, tok); err != nil {
				return err
			}
			if _, err := ts.PeekToken(ctx, tok.Purpose, tok.Digest, t0); err != nil {
				return fmt.Errorf("PeekToken in the transaction: %w", err)
			}
			if _, err := ts.ConsumeToken(ctx, tok.Purpose, tok.Digest, t0); err != nil {
				return fmt.Errorf("ConsumeToken in the transaction: %w", err)
			}
			if _, err := ts.PeekToken(ctx, tok.Purpose, tok.Digest, t0); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("PeekToken after ConsumeToken in the transaction: got %v, want ErrNotFound", err)
			}
		}
		if al, ok := as[store.AuditLog](e); ok {
			if err := al.AppendAudit(ctx, &store.AuditEvent{At: t0, Action: "own.write", SubjectID: u.ID, Outcome: "success"}); err != nil {
				return err
			}
			if events, _, err := al.QueryAudit(ctx, store.AuditQuery{UserID: u.ID}); err != nil || len(events) != 1 {
				return fmt.Errorf("QueryAudit in the transaction: got (%d events, %v), want 1", len(events), err)
			}
		}
		if ob, ok := as[store.Outbox](e); ok {
			if err := ob.Enqueue(ctx, newMessage("own@example.com", t0)); err != nil {
				return err
			}
			if n, err := ob.PendingMessages(ctx); err != nil || n != 1 {
				return fmt.Errorf("PendingMessages in the transaction: got (%d, %v), want 1", n, err)
			}
		}
		if ls, ok := as[store.Limiter](e); ok {
			for want := 1; want <= 2; want++ {
				if l, err := ls.Hit(ctx, "own", 10, time.Hour, t0); err != nil || l.Count != want {
					return fmt.Errorf("hit %d on the limiter in the transaction: got (count %d, %v), want count %d", want, l.Count, err, want)
				}
			}
		}
		if ts, ok := as[store.TOTP](e); ok {
			// Enrollment: a pending secret, then confirmed by its first
			// code; that step cannot be used twice.
			if err := ts.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("own"), CreatedAt: t0}); err != nil {
				return err
			}
			if got, err := ts.TOTPByUser(ctx, u.ID); err != nil || !got.ConfirmedAt.IsZero() || string(got.Sealed) != "own" {
				return fmt.Errorf("TOTPByUser in the transaction: got (%+v, %v), want the pending secret", got, err)
			}
			if err := ts.UseTOTPStep(ctx, u.ID, 500, true, at(time.Second)); err != nil {
				return fmt.Errorf("UseTOTPStep(confirm) in the transaction: %w", err)
			}
			if got, err := ts.TOTPByUser(ctx, u.ID); err != nil || got.ConfirmedAt.IsZero() || got.LastStep != 500 {
				return fmt.Errorf("TOTPByUser after UseTOTPStep in the transaction: got (%+v, %v), want a secret confirmed at step 500", got, err)
			}
			if err := ts.UseTOTPStep(ctx, u.ID, 500, false, at(time.Second)); !errors.Is(err, store.ErrReplay) {
				return fmt.Errorf("UseTOTPStep of the same step in the transaction: got %v, want ErrReplay", err)
			}
		}
		if rs, ok := as[store.RecoveryCodes](e); ok {
			cs := codes("own", 4)
			if err := rs.ReplaceRecoveryCodes(ctx, u.ID, cs, t0); err != nil {
				return err
			}
			if n, err := rs.CountRecoveryCodes(ctx, u.ID); err != nil || n != 4 {
				return fmt.Errorf("CountRecoveryCodes in the transaction: got (%d, %v), want 4", n, err)
			}
			if n, err := rs.UseRecoveryCode(ctx, u.ID, cs[1], t0); err != nil || n != 3 {
				return fmt.Errorf("UseRecoveryCode in the transaction: got (%d remaining, %v), want 3", n, err)
			}
			if _, err := rs.UseRecoveryCode(ctx, u.ID, cs[1], t0); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("UseRecoveryCode of a code used in the transaction: got %v, want ErrNotFound", err)
			}
		}
		if bs, ok := as[store.TrustedBrowsers](e); ok {
			b := newBrowser(u.ID, "own", t0, at(time.Hour))
			if err := bs.CreateTrustedBrowser(ctx, b); err != nil {
				return err
			}
			if got, err := bs.TrustedBrowserByDigest(ctx, u.ID, b.Digest, t0); err != nil || got.ID != b.ID {
				return fmt.Errorf("TrustedBrowserByDigest in the transaction: got (%v, %v), want the new grant", got, err)
			}
			if list, err := bs.TrustedBrowsersByUser(ctx, u.ID, t0); err != nil || len(list) != 1 {
				return fmt.Errorf("TrustedBrowsersByUser in the transaction: got (%d grants, %v), want 1", len(list), err)
			}
		}
		// The second factors this transaction cannot see any more once
		// it deletes them (and the other records of writeAll).
		if err := writeAll(ctx, s, e, "own-forget"); err != nil {
			return err
		}
		if err := forgetFactors(ctx, s, e, "own-forget"); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx: got %v, want fn's error", err)
	}
	// None of it outlives the rollback.
	_, err = s.UserByEmail(t.Context(), "own.writes@example.com")
	wantErr(t, "UserByEmail after the rollback", err, store.ErrNotFound)
	if ss, ok := as[store.Sessions](e); ok {
		_, err := ss.SessionByDigest(t.Context(), digest("own"), t0, 0)
		wantErr(t, "SessionByDigest after the rollback", err, store.ErrNotFound)
	}
	pending(t, e, "after the rollback", 0)
	if present(t, s, e, "own-forget") {
		t.Error("writes of the rolled back transaction: visible")
	}
	if ls, ok := as[store.Limiter](e); ok {
		l, err := ls.Hit(t.Context(), "own", 10, time.Hour, t0)
		must(t, "Hit", err)
		if l.Count != 1 {
			t.Errorf("Hit after the rollback: got count %d, want 1 (the hits inside were rolled back)", l.Count)
		}
	}
}

// testTxWithoutTx: a context passed through store.WithoutTx inside InTx
// writes outside the transaction, so the write survives its rollback.
func testTxWithoutTx(t *testing.T, s txStore, e env) {
	outside := make(chan error, 1)
	err := s.InTx(t.Context(), func(ctx context.Context) error {
		if err := writeAll(ctx, s, e, "inside"); err != nil {
			return err
		}
		// A store may carry out the outside write at once, or only once
		// the transaction has ended (SQLite's single writer connection is
		// held by the transaction): it runs on another goroutine and is
		// waited for after InTx returns.
		out := store.WithoutTx(ctx)
		go func() { outside <- writeAll(out, s, e, "outside") }()
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx: got %v, want fn's error", err)
	}
	must(t, "writes with store.WithoutTx(ctx) inside InTx", <-outside)
	if present(t, s, e, "inside") {
		t.Error("writes of the rolled back transaction: visible")
	}
	if !present(t, s, e, "outside") {
		t.Error("writes with store.WithoutTx(ctx) inside a transaction that rolled back: not visible, want them kept")
	}
	pending(t, e, "after the rollback", 1)
}

// testTxOtherStore: a context carrying one store's transaction does not
// make another store's methods join it, nor another store's InTx.
func testTxOtherStore(t *testing.T, s txStore, e env) {
	other, ok := e.open(t).(txStore)
	if !ok {
		t.Fatal("storetest: the second store does not implement store.Transactor and store.Users")
	}
	oe := env{s: other, typ: e.typ, open: e.open}
	err := s.InTx(t.Context(), func(ctx context.Context) error {
		if err := writeAll(ctx, s, e, "mine"); err != nil {
			return err
		}
		if err := other.InTx(ctx, func(ctx context.Context) error {
			return writeAll(ctx, other, oe, "theirs")
		}); err != nil {
			return fmt.Errorf("the other store's InTx inside this one's: %w", err)
		}
		if err := writeAll(ctx, other, oe, "theirs-alone"); err != nil {
			return fmt.Errorf("writes to the other store inside this one's transaction: %w", err)
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx: got %v, want fn's error", err)
	}
	if present(t, s, e, "mine") {
		t.Error("writes of the rolled back transaction: visible")
	}
	if !present(t, other, oe, "theirs") {
		t.Error("writes of the other store's transaction, committed inside this one's: not visible")
	}
	if !present(t, other, oe, "theirs-alone") {
		t.Error("writes to the other store with this one's transaction context: rolled back with it, want them kept")
	}
	pending(t, e, "of the store that rolled back", 0)
	pending(t, oe, "of the other store", 2)
}

func testTxConflict(t *testing.T, s txStore, e env) {
	newUser(t, s, "taken@example.com")
	err := s.InTx(t.Context(), func(ctx context.Context) error {
		if err := s.CreateUser(ctx, &store.User{Email: "first@example.com", CreatedAt: t0}); err != nil {
			return err
		}
		if al, ok := as[store.AuditLog](e); ok {
			if err := al.AppendAudit(ctx, &store.AuditEvent{At: t0, Action: "conflict", Outcome: "failure"}); err != nil {
				return err
			}
		}
		return s.CreateUser(ctx, &store.User{Email: "TAKEN@example.com", CreatedAt: t0})
	})
	wantErr(t, "InTx with a conflicting CreateUser", err, store.ErrConflict)
	_, err = s.UserByEmail(t.Context(), "first@example.com")
	wantErr(t, "user created before the conflict, after the rollback", err, store.ErrNotFound)
	if al, ok := as[store.AuditLog](e); ok {
		events, _, err := al.QueryAudit(t.Context(), store.AuditQuery{Action: "conflict"})
		must(t, "QueryAudit", err)
		if len(events) != 0 {
			t.Errorf("audit row of a rolled back transaction: got %d, want 0", len(events))
		}
	}
}

func testTxConcurrent(t *testing.T, s txStore, e env) {
	const n = 12
	errs := race(n, func(i int) error {
		return s.InTx(t.Context(), func(ctx context.Context) error {
			// Read, then write: the pattern that fails under deferred
			// locking.
			if _, err := s.UserByEmail(ctx, "shared@example.com"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("UserByEmail: %w", err)
			}
			return writeAll(ctx, s, e, fmt.Sprintf("tx%d", i))
		})
	})
	countOutcomes(t, "concurrent InTx", errs, nil)
	for i := range n {
		if !present(t, s, e, fmt.Sprintf("tx%d", i)) {
			t.Errorf("writes of concurrent transaction %d: not visible", i)
		}
	}
	pending(t, e, "after concurrent transactions", n)
}
