package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

func totpChecks() []check {
	return []check{
		checkOf("SavePendingTOTP", testSavePendingTOTP),
		checkOf("TOTPByUser", testTOTPByUser),
		checkOf("UseTOTPStep", testUseTOTPStep),
		checkOf("UseTOTPStep/Concurrent", testUseTOTPStepConcurrent),
		checkOf("DeleteTOTP", testDeleteTOTP),
	}
}

func getTOTP(t *testing.T, s store.TOTP, userID string) *store.TOTPSecret {
	t.Helper()
	got, err := s.TOTPByUser(t.Context(), userID)
	must(t, "TOTPByUser", err)
	return got
}

func testSavePendingTOTP(t *testing.T, s totpStore) {
	ctx := t.Context()
	u := newUser(t, s, "totp@example.com")
	first := &store.TOTPSecret{UserID: u.ID, Sealed: []byte{1, 0, 2, 0xfe}, CreatedAt: t0}
	must(t, "SavePendingTOTP", s.SavePendingTOTP(ctx, first))
	got := getTOTP(t, s, u.ID)
	if got.UserID != u.ID || !bytes.Equal(got.Sealed, first.Sealed) || got.LastStep != 0 {
		t.Errorf("pending secret: got (%q, %x, %d), want (%q, %x, 0)", got.UserID, got.Sealed, got.LastStep, u.ID, first.Sealed)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, t0)
	sameTime(t, "ConfirmedAt of a pending secret", got.ConfirmedAt, time.Time{})

	// Enrollment started again: the pending secret is replaced.
	second := &store.TOTPSecret{UserID: u.ID, Sealed: []byte("second"), CreatedAt: at(time.Minute)}
	must(t, "SavePendingTOTP(replace)", s.SavePendingTOTP(ctx, second))
	got = getTOTP(t, s, u.ID)
	if !bytes.Equal(got.Sealed, second.Sealed) {
		t.Errorf("replaced secret: got %q, want %q", got.Sealed, second.Sealed)
	}
	sameTime(t, "replaced CreatedAt", got.CreatedAt, at(time.Minute))

	// A confirmed secret is never replaced by a pending one.
	must(t, "UseTOTPStep(confirm)", s.UseTOTPStep(ctx, u.ID, 1000, true, at(2*time.Minute)))
	third := &store.TOTPSecret{UserID: u.ID, Sealed: []byte("third"), CreatedAt: at(3 * time.Minute)}
	wantErr(t, "SavePendingTOTP over a confirmed secret", s.SavePendingTOTP(ctx, third), store.ErrConflict)
	got = getTOTP(t, s, u.ID)
	if !bytes.Equal(got.Sealed, second.Sealed) || got.ConfirmedAt.IsZero() {
		t.Errorf("confirmed secret after a refused SavePendingTOTP: got (%q, %v), want (%q, confirmed)", got.Sealed, got.ConfirmedAt, second.Sealed)
	}

	filled := newUser(t, s, "filled@example.com")
	f := &store.TOTPSecret{UserID: filled.ID, Sealed: []byte("x")}
	must(t, "SavePendingTOTP(zero CreatedAt)", s.SavePendingTOTP(ctx, f))
	if f.CreatedAt.IsZero() {
		t.Fatal("SavePendingTOTP left a zero CreatedAt unfilled")
	}
	sameTime(t, "filled CreatedAt", getTOTP(t, s, filled.ID).CreatedAt, f.CreatedAt)
}

func testTOTPByUser(t *testing.T, s totpStore) {
	ctx := t.Context()
	u := newUser(t, s, "nototp@example.com")
	_, err := s.TOTPByUser(ctx, u.ID)
	wantErr(t, "TOTPByUser(none)", err, store.ErrNotFound)
	_, err = s.TOTPByUser(ctx, store.NewID())
	wantErr(t, "TOTPByUser(missing user)", err, store.ErrNotFound)
}

func testUseTOTPStep(t *testing.T, s totpStore) {
	ctx := t.Context()
	u := newUser(t, s, "steps@example.com")
	wantErr(t, "UseTOTPStep(no secret)", s.UseTOTPStep(ctx, u.ID, 10, true, t0), store.ErrNotFound)
	must(t, "SavePendingTOTP", s.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("s"), CreatedAt: t0}))

	// A pending secret only answers an enrollment (confirm) call.
	wantErr(t, "UseTOTPStep(pending, no confirm)", s.UseTOTPStep(ctx, u.ID, 100, false, t0), store.ErrNotFound)
	wantErr(t, "UseTOTPStep(pending, no confirm, old step)", s.UseTOTPStep(ctx, u.ID, 0, false, t0), store.ErrNotFound)
	if got := getTOTP(t, s, u.ID); got.LastStep != 0 || !got.ConfirmedAt.IsZero() {
		t.Fatalf("pending secret after refused steps: got (step %d, confirmed %v), want (0, zero)", got.LastStep, got.ConfirmedAt)
	}
	must(t, "UseTOTPStep(enrollment)", s.UseTOTPStep(ctx, u.ID, 100, true, at(time.Minute)))
	got := getTOTP(t, s, u.ID)
	if got.LastStep != 100 {
		t.Errorf("LastStep after enrollment: got %d, want 100", got.LastStep)
	}
	sameTime(t, "ConfirmedAt", got.ConfirmedAt, at(time.Minute))

	// The enrollment code's step cannot be replayed at sign-in.
	wantErr(t, "UseTOTPStep(replay of the enrollment step)", s.UseTOTPStep(ctx, u.ID, 100, false, at(time.Minute)), store.ErrReplay)
	wantErr(t, "UseTOTPStep(older step)", s.UseTOTPStep(ctx, u.ID, 99, false, at(time.Minute)), store.ErrReplay)
	must(t, "UseTOTPStep(next)", s.UseTOTPStep(ctx, u.ID, 101, false, at(2*time.Minute)))
	// confirm on a confirmed secret keeps the first confirmation.
	must(t, "UseTOTPStep(confirm again)", s.UseTOTPStep(ctx, u.ID, 103, true, at(3*time.Minute)))
	got = getTOTP(t, s, u.ID)
	if got.LastStep != 103 {
		t.Errorf("LastStep: got %d, want 103", got.LastStep)
	}
	sameTime(t, "ConfirmedAt after confirming again", got.ConfirmedAt, at(time.Minute))
	wantErr(t, "UseTOTPStep(skipped step after a later one)", s.UseTOTPStep(ctx, u.ID, 102, false, at(3*time.Minute)), store.ErrReplay)
	wantErr(t, "UseTOTPStep(another user)", s.UseTOTPStep(ctx, store.NewID(), 500, false, at(3*time.Minute)), store.ErrNotFound)
}

func testUseTOTPStepConcurrent(t *testing.T, s totpStore) {
	ctx := t.Context()
	u := newUser(t, s, "concurrent@example.com")
	must(t, "SavePendingTOTP", s.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("s"), CreatedAt: t0}))
	must(t, "UseTOTPStep(enrollment)", s.UseTOTPStep(ctx, u.ID, 1, true, t0))
	const n = 16
	errs := race(n, func(int) error {
		return s.UseTOTPStep(ctx, u.ID, 2, false, t0)
	})
	won, replays := countOutcomes(t, "UseTOTPStep", errs, store.ErrReplay)
	if won != 1 || replays != n-1 {
		t.Errorf("%d concurrent uses of one step: got %d accepted and %d ErrReplay, want 1 and %d", n, won, replays, n-1)
	}

	// The same holds for the enrollment code of a pending secret.
	v := newUser(t, s, "enrolling@example.com")
	must(t, "SavePendingTOTP", s.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: v.ID, Sealed: []byte("s"), CreatedAt: t0}))
	errs = race(n, func(int) error {
		return s.UseTOTPStep(ctx, v.ID, 7, true, t0)
	})
	won, replays = countOutcomes(t, "UseTOTPStep(enrollment)", errs, store.ErrReplay)
	if won != 1 || replays != n-1 {
		t.Errorf("%d concurrent enrollments with one step: got %d accepted and %d ErrReplay, want 1 and %d", n, won, replays, n-1)
	}
}

func testDeleteTOTP(t *testing.T, s totpStore) {
	ctx := t.Context()
	u := newUser(t, s, "delete@example.com")
	v := newUser(t, s, "keep@example.com")
	must(t, "DeleteTOTP(none)", s.DeleteTOTP(ctx, u.ID))
	for _, x := range []*store.User{u, v} {
		must(t, "SavePendingTOTP", s.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: x.ID, Sealed: []byte("s"), CreatedAt: t0}))
		must(t, "UseTOTPStep", s.UseTOTPStep(ctx, x.ID, 5, true, t0))
	}
	must(t, "DeleteTOTP", s.DeleteTOTP(ctx, u.ID))
	_, err := s.TOTPByUser(ctx, u.ID)
	wantErr(t, "TOTPByUser after DeleteTOTP", err, store.ErrNotFound)
	getTOTP(t, s, v.ID)
	// Enrollment can start again.
	must(t, "SavePendingTOTP after DeleteTOTP", s.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("new"), CreatedAt: t0}))
	if got := getTOTP(t, s, u.ID); got.LastStep != 0 || !got.ConfirmedAt.IsZero() {
		t.Errorf("new pending secret: got (step %d, confirmed %v), want (0, zero)", got.LastStep, got.ConfirmedAt)
	}
}

func recoveryChecks() []check {
	return []check{
		checkOf("ReplaceRecoveryCodes", testReplaceRecoveryCodes),
		checkOf("UseRecoveryCode", testUseRecoveryCode),
		checkOf("UseRecoveryCode/Concurrent", testUseRecoveryCodeConcurrent),
		checkOf("DeleteRecoveryCodes", testDeleteRecoveryCodes),
	}
}

func codes(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = digest(prefix + string(rune('a'+i)))
	}
	return out
}

func countCodes(t *testing.T, s store.RecoveryCodes, userID string, want int) {
	t.Helper()
	n, err := s.CountRecoveryCodes(t.Context(), userID)
	must(t, "CountRecoveryCodes", err)
	if n != want {
		t.Errorf("CountRecoveryCodes: got %d, want %d", n, want)
	}
}

func testReplaceRecoveryCodes(t *testing.T, s recoveryStore) {
	ctx := t.Context()
	u := newUser(t, s, "codes@example.com")
	countCodes(t, s, u.ID, 0)
	countCodes(t, s, store.NewID(), 0)
	old := codes("old", 10)
	must(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, u.ID, old, t0))
	countCodes(t, s, u.ID, 10)
	_, err := s.UseRecoveryCode(ctx, u.ID, old[0], t0)
	must(t, "UseRecoveryCode", err)

	fresh := codes("new", 8)
	must(t, "ReplaceRecoveryCodes(again)", s.ReplaceRecoveryCodes(ctx, u.ID, fresh, at(time.Minute)))
	countCodes(t, s, u.ID, 8)
	_, err = s.UseRecoveryCode(ctx, u.ID, old[1], at(time.Minute))
	wantErr(t, "UseRecoveryCode(replaced code)", err, store.ErrNotFound)
	remaining, err := s.UseRecoveryCode(ctx, u.ID, fresh[7], at(time.Minute))
	must(t, "UseRecoveryCode(new code)", err)
	if remaining != 7 {
		t.Errorf("remaining: got %d, want 7", remaining)
	}
}

func testUseRecoveryCode(t *testing.T, s recoveryStore) {
	ctx := t.Context()
	u := newUser(t, s, "use@example.com")
	v := newUser(t, s, "other@example.com")
	mine, theirs := codes("mine", 3), codes("theirs", 3)
	must(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, u.ID, mine, t0))
	must(t, "ReplaceRecoveryCodes(other)", s.ReplaceRecoveryCodes(ctx, v.ID, theirs, t0))

	_, err := s.UseRecoveryCode(ctx, u.ID, theirs[0], t0)
	wantErr(t, "UseRecoveryCode(another user's code)", err, store.ErrNotFound)
	_, err = s.UseRecoveryCode(ctx, u.ID, digest("unknown"), t0)
	wantErr(t, "UseRecoveryCode(unknown)", err, store.ErrNotFound)
	for i, want := range []int{2, 1, 0} {
		remaining, err := s.UseRecoveryCode(ctx, u.ID, mine[i], at(time.Duration(i)*time.Minute))
		must(t, "UseRecoveryCode", err)
		if remaining != want {
			t.Errorf("remaining after using code %d: got %d, want %d", i, remaining, want)
		}
	}
	_, err = s.UseRecoveryCode(ctx, u.ID, mine[1], at(time.Hour))
	wantErr(t, "UseRecoveryCode(used)", err, store.ErrNotFound)
	countCodes(t, s, u.ID, 0)
	countCodes(t, s, v.ID, 3)
}

func testUseRecoveryCodeConcurrent(t *testing.T, s recoveryStore) {
	ctx := t.Context()
	u := newUser(t, s, "race@example.com")
	cs := codes("race", 5)
	must(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, u.ID, cs, t0))
	const n = 16
	remaining := make([]int, n)
	errs := race(n, func(i int) error {
		var err error
		remaining[i], err = s.UseRecoveryCode(ctx, u.ID, cs[2], t0)
		return err
	})
	won, lost := countOutcomes(t, "UseRecoveryCode", errs, store.ErrNotFound)
	if won != 1 || lost != n-1 {
		t.Errorf("%d concurrent uses of one code: got %d accepted and %d ErrNotFound, want 1 and %d", n, won, lost, n-1)
	}
	for i, err := range errs {
		if err == nil && remaining[i] != 4 {
			t.Errorf("remaining for the winner: got %d, want 4", remaining[i])
		}
	}
	countCodes(t, s, u.ID, 4)
}

func testDeleteRecoveryCodes(t *testing.T, s recoveryStore) {
	ctx := t.Context()
	u := newUser(t, s, "del@example.com")
	v := newUser(t, s, "keep@example.com")
	must(t, "DeleteRecoveryCodes(none)", s.DeleteRecoveryCodes(ctx, u.ID))
	must(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, u.ID, codes("u", 4), t0))
	must(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, v.ID, codes("v", 4), t0))
	must(t, "DeleteRecoveryCodes", s.DeleteRecoveryCodes(ctx, u.ID))
	countCodes(t, s, u.ID, 0)
	countCodes(t, s, v.ID, 4)
	_, err := s.UseRecoveryCode(ctx, u.ID, codes("u", 1)[0], t0)
	wantErr(t, "UseRecoveryCode after DeleteRecoveryCodes", err, store.ErrNotFound)
}

func trustedChecks() []check {
	return []check{
		checkOf("CreateTrustedBrowser", testCreateTrustedBrowser),
		checkOf("TrustedBrowserByDigest", testTrustedBrowserByDigest),
		checkOf("TrustedBrowsersByUser", testTrustedBrowsersByUser),
		checkOf("RevokeTrustedBrowser", testRevokeTrustedBrowser),
		checkOf("RevokeTrustedBrowsers", testRevokeTrustedBrowsers),
	}
}

func newBrowser(userID, secret string, created, expires time.Time) *store.TrustedBrowser {
	return &store.TrustedBrowser{UserID: userID, Digest: digest(secret), UserAgent: "Firefox/140", IP: "192.0.2.4", CreatedAt: created, ExpiresAt: expires}
}

func sameBrowser(t *testing.T, what string, got, want *store.TrustedBrowser) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || !bytes.Equal(got.Digest, want.Digest) || got.UserAgent != want.UserAgent || got.IP != want.IP {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
	sameTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+": ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

func testCreateTrustedBrowser(t *testing.T, s trustedStore) {
	ctx := t.Context()
	u := newUser(t, s, "trust@example.com")
	b := newBrowser(u.ID, "browser", t0, at(30*24*time.Hour))
	must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, b))
	if b.ID == "" {
		t.Fatal("CreateTrustedBrowser left an empty ID unfilled")
	}
	got, err := s.TrustedBrowserByDigest(ctx, u.ID, b.Digest, t0)
	must(t, "TrustedBrowserByDigest", err)
	sameBrowser(t, "trusted browser", got, b)

	filled := newBrowser(u.ID, "filled", time.Time{}, at(time.Hour))
	must(t, "CreateTrustedBrowser(zero CreatedAt)", s.CreateTrustedBrowser(ctx, filled))
	if filled.CreatedAt.IsZero() || filled.ID == b.ID {
		t.Fatalf("CreateTrustedBrowser fills: got ID %q, CreatedAt %v", filled.ID, filled.CreatedAt)
	}
}

func testTrustedBrowserByDigest(t *testing.T, s trustedStore) {
	ctx := t.Context()
	u := newUser(t, s, "trust@example.com")
	v := newUser(t, s, "other@example.com")
	b := newBrowser(u.ID, "browser", t0, at(time.Hour))
	must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, b))
	tests := []struct {
		name   string
		userID string
		d      []byte
		now    time.Time
		want   error
	}{
		{"live", u.ID, b.Digest, at(time.Hour - time.Millisecond), nil},
		{"at expiry", u.ID, b.Digest, at(time.Hour), store.ErrNotFound},
		{"another user's grant", v.ID, b.Digest, t0, store.ErrNotFound},
		{"unknown digest", u.ID, digest("unknown"), t0, store.ErrNotFound},
	}
	for _, tt := range tests {
		_, err := s.TrustedBrowserByDigest(ctx, tt.userID, tt.d, tt.now)
		wantErr(t, "TrustedBrowserByDigest("+tt.name+")", err, tt.want)
	}
}

func testTrustedBrowsersByUser(t *testing.T, s trustedStore) {
	ctx := t.Context()
	u := newUser(t, s, "list@example.com")
	v := newUser(t, s, "other@example.com")
	list, err := s.TrustedBrowsersByUser(ctx, u.ID, t0)
	must(t, "TrustedBrowsersByUser(none)", err)
	if len(list) != 0 {
		t.Fatalf("TrustedBrowsersByUser(none): got %d, want 0", len(list))
	}
	older := newBrowser(u.ID, "older", at(-2*time.Hour), at(time.Hour))
	newest := newBrowser(u.ID, "newest", at(-time.Minute), at(time.Hour))
	middle := newBrowser(u.ID, "middle", at(-time.Hour), at(time.Hour))
	expired := newBrowser(u.ID, "expired", at(-3*time.Hour), t0)
	theirs := newBrowser(v.ID, "theirs", t0, at(time.Hour))
	for _, b := range []*store.TrustedBrowser{older, newest, middle, expired, theirs} {
		must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, b))
	}
	list, err = s.TrustedBrowsersByUser(ctx, u.ID, t0)
	must(t, "TrustedBrowsersByUser", err)
	want := []*store.TrustedBrowser{newest, middle, older}
	if len(list) != len(want) {
		t.Fatalf("TrustedBrowsersByUser: got %d grants, want %d (unexpired, own)", len(list), len(want))
	}
	for i := range want {
		sameBrowser(t, "TrustedBrowsersByUser entry (newest first)", list[i], want[i])
	}
}

func testRevokeTrustedBrowser(t *testing.T, s trustedStore) {
	ctx := t.Context()
	u := newUser(t, s, "revoke@example.com")
	v := newUser(t, s, "other@example.com")
	mine := newBrowser(u.ID, "mine", t0, at(time.Hour))
	theirs := newBrowser(v.ID, "theirs", t0, at(time.Hour))
	must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, mine))
	must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, theirs))

	wantErr(t, "RevokeTrustedBrowser(another user's id)", s.RevokeTrustedBrowser(ctx, u.ID, theirs.ID), store.ErrNotFound)
	if _, err := s.TrustedBrowserByDigest(ctx, v.ID, theirs.Digest, t0); err != nil {
		t.Errorf("other user's grant after a refused revoke: %v", err)
	}
	wantErr(t, "RevokeTrustedBrowser(unknown)", s.RevokeTrustedBrowser(ctx, u.ID, store.NewID()), store.ErrNotFound)
	must(t, "RevokeTrustedBrowser", s.RevokeTrustedBrowser(ctx, u.ID, mine.ID))
	_, err := s.TrustedBrowserByDigest(ctx, u.ID, mine.Digest, t0)
	wantErr(t, "TrustedBrowserByDigest after revoke", err, store.ErrNotFound)
	wantErr(t, "RevokeTrustedBrowser(twice)", s.RevokeTrustedBrowser(ctx, u.ID, mine.ID), store.ErrNotFound)
}

func testRevokeTrustedBrowsers(t *testing.T, s trustedStore) {
	ctx := t.Context()
	u := newUser(t, s, "all@example.com")
	v := newUser(t, s, "other@example.com")
	for _, name := range []string{"a", "b", "c"} {
		must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, newBrowser(u.ID, name, t0, at(time.Hour))))
	}
	theirs := newBrowser(v.ID, "theirs", t0, at(time.Hour))
	must(t, "CreateTrustedBrowser", s.CreateTrustedBrowser(ctx, theirs))
	n, err := s.RevokeTrustedBrowsers(ctx, u.ID)
	must(t, "RevokeTrustedBrowsers", err)
	if n != 3 {
		t.Errorf("RevokeTrustedBrowsers: got %d, want 3", n)
	}
	list, err := s.TrustedBrowsersByUser(ctx, u.ID, t0)
	must(t, "TrustedBrowsersByUser", err)
	if len(list) != 0 {
		t.Errorf("grants after RevokeTrustedBrowsers: got %d, want 0", len(list))
	}
	if _, err := s.TrustedBrowserByDigest(ctx, v.ID, theirs.Digest, t0); err != nil {
		t.Errorf("other user's grant after RevokeTrustedBrowsers: %v", err)
	}
	n, err = s.RevokeTrustedBrowsers(ctx, u.ID)
	must(t, "RevokeTrustedBrowsers(none left)", err)
	if n != 0 {
		t.Errorf("RevokeTrustedBrowsers(none left): got %d, want 0", n)
	}
}
