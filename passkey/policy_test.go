package passkey_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/passkey"
)

// A counter that does not move past the stored one is a cloned
// authenticator: every policy records it; warn lets the sign-in through,
// reauthenticate refuses it and keeps the passkey, revoke refuses it and
// removes the passkey (even the last one) and tells the user. A passkey
// that keeps 0 (synced) never counts as cloned.
func TestClonePolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		policy   passkey.ClonePolicy
		status   int
		keyLeft  bool
		notified bool
	}{
		{passkey.CloneWarn, http.StatusOK, true, false},
		{passkey.CloneReauthenticate, http.StatusUnauthorized, true, false},
		{passkey.CloneRevoke, http.StatusUnauthorized, false, true},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			t.Parallel()
			eachWith(t, options{passkey: func(c *passkey.Config) { c.ClonePolicy = tc.policy }}, func(t *testing.T, a *app) {
				_, u, au := newPasskeyUser(t, a, "clone@example.com")
				if err := a.Store.SetPasswordHash(t.Context(), u.ID, "", a.Clock.Now()); err != nil {
					t.Fatal(err)
				}
				_, res := signInDiscoverable(t, a, au, nil) // count 1
				want(t, "first sign-in", res, http.StatusOK)
				one := uint32(1)
				au.fixedCount = &one // the clone reports what the original did
				_, res = signInDiscoverable(t, a, au, nil)
				want(t, "cloned sign-in", res, tc.status)
				if tc.status != http.StatusOK && errCode(t, res) != "passkey_cloned" {
					t.Errorf("code: got %q, want passkey_cloned", errCode(t, res))
				}
				if n := auditCount(t, a, passkey.ActionClone, audit.OutcomeFailure, u.ID, map[string]string{"policy": tc.policy.String()}); n != 1 {
					t.Errorf("clone rows: got %d, want 1", n)
				}
				if left := len(passkeys(t, a, u.ID)) == 1; left != tc.keyLeft {
					t.Errorf("passkey left: got %v, want %v", left, tc.keyLeft)
				}
				a.Flush(t)
				removed := strings.Contains(a.LastMail(t, u.Email).Subject, "passkey was removed")
				if removed != tc.notified {
					t.Errorf("removal notice: got %v, want %v", removed, tc.notified)
				}
			})
		})
	}
}

// Synced passkeys report a counter of 0 at every use: never a clone.
func TestSyncedPasskeyCounterZero(t *testing.T) {
	t.Parallel()
	eachWith(t, options{passkey: func(c *passkey.Config) { c.ClonePolicy = passkey.CloneRevoke }}, func(t *testing.T, a *app) {
		_, u, au := newPasskeyUser(t, a, "synced@example.com")
		zero := uint32(0)
		au.fixedCount = &zero
		for range 3 {
			_, res := signInDiscoverable(t, a, au, nil)
			want(t, "synced sign-in", res, http.StatusOK)
		}
		if n := auditCount(t, a, passkey.ActionClone, audit.OutcomeFailure, u.ID, nil); n != 0 {
			t.Errorf("clone rows: got %d, want 0", n)
		}
	})
}

// The backup state is written back at each sign-in and its changes are
// recorded.
func TestBackupStateChange(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		_, u, au := newPasskeyUser(t, a, "backup@example.com")
		au.bs = true
		_, res := signInDiscoverable(t, a, au, nil)
		want(t, "sign-in, backed up", res, http.StatusOK)
		if k := passkeys(t, a, u.ID)[0]; !k.BackupState {
			t.Errorf("backup state: got false, want true")
		}
		_, res = signInDiscoverable(t, a, au, nil)
		want(t, "sign-in, still backed up", res, http.StatusOK)
		if n := auditCount(t, a, passkey.ActionBackupState, audit.OutcomeSuccess, u.ID, map[string]string{"backed_up": "true"}); n != 1 {
			t.Errorf("backup-state rows: got %d, want 1 (only the change)", n)
		}
		// The BE flag never changes: a passkey that now says it cannot be
		// backed up is refused.
		au.be, au.bs = false, false
		_, res = signInDiscoverable(t, a, au, nil)
		wantError(t, "BE flipped", res, http.StatusUnauthorized, "invalid_credentials")
	})
}
