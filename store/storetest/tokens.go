package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

func tokenChecks() []check {
	return []check{
		checkOf("CreateToken", testCreateToken),
		checkOf("PeekToken", testPeekToken),
		checkOf("ConsumeToken", testConsumeToken),
		checkOf("ConsumeToken/Concurrent", testConsumeTokenConcurrent),
		checkOf("ConsumeCode", testConsumeCode),
		checkOf("ConsumeCode/Concurrent", testConsumeCodeConcurrent),
		checkOf("DeleteUserTokens", testDeleteUserTokens),
		checkOf("PurgeTokens", testPurgeTokens),
	}
}

func newToken(purpose, secret, userID string, expires time.Time) *store.Token {
	return &store.Token{
		Digest:    digest(secret),
		Purpose:   purpose,
		UserID:    userID,
		SentTo:    "sent.to@example.com",
		Data:      `{"new":"next@example.com"}`,
		CreatedAt: t0,
		ExpiresAt: expires,
	}
}

func sameToken(t *testing.T, what string, got, want *store.Token) {
	t.Helper()
	if !bytes.Equal(got.Digest, want.Digest) || got.Purpose != want.Purpose || got.UserID != want.UserID {
		t.Errorf("%s: (Digest, Purpose, UserID): got (%x, %q, %q), want (%x, %q, %q)", what, got.Digest, got.Purpose, got.UserID, want.Digest, want.Purpose, want.UserID)
	}
	if got.SentTo != want.SentTo || got.Data != want.Data || got.Attempts != want.Attempts {
		t.Errorf("%s: (SentTo, Data, Attempts): got (%q, %q, %d), want (%q, %q, %d)", what, got.SentTo, got.Data, got.Attempts, want.SentTo, want.Data, want.Attempts)
	}
	sameTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+": ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

func testCreateToken(t *testing.T, s tokenStore) {
	ctx := t.Context()
	u := newUser(t, s, "token@example.com")
	tok := newToken(store.PurposeConfirm, "secret", u.ID, at(48*time.Hour))
	must(t, "CreateToken", s.CreateToken(ctx, tok))
	got, err := s.PeekToken(ctx, store.PurposeConfirm, tok.Digest, t0)
	must(t, "PeekToken", err)
	sameToken(t, "created token", got, tok)

	// The same digest is unique per purpose.
	dup := newToken(store.PurposeConfirm, "secret", u.ID, at(time.Hour))
	wantErr(t, "CreateToken(duplicate)", s.CreateToken(ctx, dup), store.ErrConflict)
	must(t, "CreateToken(same digest, other purpose)", s.CreateToken(ctx, newToken(store.PurposeReset, "secret", u.ID, at(time.Hour))))

	// A zero CreatedAt is filled.
	filled := newToken(store.PurposeMagicLink, "filled", u.ID, at(time.Hour))
	filled.CreatedAt = time.Time{}
	must(t, "CreateToken(zero CreatedAt)", s.CreateToken(ctx, filled))
	if filled.CreatedAt.IsZero() {
		t.Fatal("CreateToken left a zero CreatedAt unfilled")
	}
	got, err = s.PeekToken(ctx, store.PurposeMagicLink, filled.Digest, t0)
	must(t, "PeekToken", err)
	sameTime(t, "filled CreatedAt", got.CreatedAt, filled.CreatedAt)
}

func testPeekToken(t *testing.T, s tokenStore) {
	ctx := t.Context()
	u := newUser(t, s, "peek@example.com")
	tok := newToken(store.PurposeMagicLink, "peek", u.ID, at(15*time.Minute))
	must(t, "CreateToken", s.CreateToken(ctx, tok))
	tests := []struct {
		name    string
		purpose string
		d       []byte
		now     time.Time
		want    error
	}{
		{"live", store.PurposeMagicLink, tok.Digest, at(time.Minute), nil},
		{"peeked again", store.PurposeMagicLink, tok.Digest, at(time.Minute), nil},
		{"wrong purpose", store.PurposeReset, tok.Digest, at(time.Minute), store.ErrNotFound},
		{"unknown digest", store.PurposeMagicLink, digest("other"), at(time.Minute), store.ErrNotFound},
		{"just before expiry", store.PurposeMagicLink, tok.Digest, at(15*time.Minute - time.Millisecond), nil},
		{"at expiry", store.PurposeMagicLink, tok.Digest, at(15 * time.Minute), store.ErrNotFound},
	}
	for _, tt := range tests {
		got, err := s.PeekToken(ctx, tt.purpose, tt.d, tt.now)
		wantErr(t, "PeekToken: "+tt.name, err, tt.want)
		if err == nil {
			sameToken(t, "PeekToken: "+tt.name, got, tok)
		}
	}
}

func testConsumeToken(t *testing.T, s tokenStore) {
	ctx := t.Context()
	u := newUser(t, s, "consume@example.com")
	tok := newToken(store.PurposeReset, "consume", u.ID, at(time.Hour))
	must(t, "CreateToken", s.CreateToken(ctx, tok))

	_, err := s.ConsumeToken(ctx, store.PurposeConfirm, tok.Digest, at(time.Minute))
	wantErr(t, "ConsumeToken(wrong purpose)", err, store.ErrNotFound)
	got, err := s.ConsumeToken(ctx, store.PurposeReset, tok.Digest, at(time.Minute))
	must(t, "ConsumeToken", err)
	sameToken(t, "consumed token", got, tok)
	_, err = s.ConsumeToken(ctx, store.PurposeReset, tok.Digest, at(time.Minute))
	wantErr(t, "ConsumeToken(twice)", err, store.ErrNotFound)
	_, err = s.PeekToken(ctx, store.PurposeReset, tok.Digest, at(time.Minute))
	wantErr(t, "PeekToken(consumed)", err, store.ErrNotFound)

	expired := newToken(store.PurposeReset, "expired", u.ID, at(time.Hour))
	must(t, "CreateToken", s.CreateToken(ctx, expired))
	_, err = s.ConsumeToken(ctx, store.PurposeReset, expired.Digest, at(time.Hour))
	wantErr(t, "ConsumeToken(at expiry)", err, store.ErrNotFound)
}

func testConsumeTokenConcurrent(t *testing.T, s tokenStore) {
	ctx := t.Context()
	u := newUser(t, s, "once@example.com")
	tok := newToken(store.PurposeMagicLink, "once", u.ID, at(time.Hour))
	must(t, "CreateToken", s.CreateToken(ctx, tok))
	const n = 24
	errs := race(n, func(int) error {
		_, err := s.ConsumeToken(ctx, store.PurposeMagicLink, tok.Digest, at(time.Minute))
		return err
	})
	won, lost := countOutcomes(t, "ConsumeToken", errs, store.ErrNotFound)
	if won != 1 || lost != n-1 {
		t.Errorf("%d concurrent ConsumeToken: got %d winners and %d ErrNotFound, want 1 and %d", n, won, lost, n-1)
	}
}

func testConsumeCode(t *testing.T, s tokenStore) {
	ctx := t.Context()
	u := newUser(t, s, "code@example.com")
	other := newUser(t, s, "other@example.com")
	const max = 3
	peek := func(secret, purpose string) *store.Token {
		t.Helper()
		got, err := s.PeekToken(ctx, purpose, digest(secret), at(time.Minute))
		must(t, "PeekToken("+secret+")", err)
		return got
	}

	code := newToken(store.PurposeConfirmCode, "123456", u.ID, at(15*time.Minute))
	sibling := newToken(store.PurposeConfirmCode, "654321", u.ID, at(15*time.Minute))
	otherPurpose := newToken("other_code", "111111", u.ID, at(15*time.Minute))
	otherUser := newToken(store.PurposeConfirmCode, "222222", other.ID, at(15*time.Minute))
	for _, tok := range []*store.Token{code, sibling, otherPurpose, otherUser} {
		must(t, "CreateToken", s.CreateToken(ctx, tok))
	}

	// Each miss counts one attempt on every live code of the user and
	// purpose, and on nothing else. Another user's code is a miss.
	for _, guess := range []string{"000000", "222222"} {
		_, err := s.ConsumeCode(ctx, u.ID, store.PurposeConfirmCode, digest(guess), max, at(time.Minute))
		wantErr(t, "ConsumeCode("+guess+")", err, store.ErrNotFound)
	}
	if got := peek("123456", store.PurposeConfirmCode).Attempts; got != 2 {
		t.Errorf("Attempts after 2 misses: got %d, want 2", got)
	}
	if got := peek("654321", store.PurposeConfirmCode).Attempts; got != 2 {
		t.Errorf("sibling code's Attempts after 2 misses: got %d, want 2", got)
	}
	if got := peek("111111", "other_code").Attempts; got != 0 {
		t.Errorf("other purpose's Attempts: got %d, want 0", got)
	}
	if got := peek("222222", store.PurposeConfirmCode).Attempts; got != 0 {
		t.Errorf("other user's Attempts: got %d, want 0", got)
	}

	// Below the limit the right code works, with the right scope only.
	_, err := s.ConsumeCode(ctx, other.ID, store.PurposeConfirmCode, digest("123456"), max, at(time.Minute))
	wantErr(t, "ConsumeCode(another user's code)", err, store.ErrNotFound)
	_, err = s.ConsumeCode(ctx, u.ID, "other_code", digest("123456"), max, at(time.Minute))
	wantErr(t, "ConsumeCode(wrong purpose)", err, store.ErrNotFound)
	got, err := s.ConsumeCode(ctx, u.ID, store.PurposeConfirmCode, digest("123456"), max, at(time.Minute))
	must(t, "ConsumeCode", err)
	want := *code
	want.Attempts = 2
	sameToken(t, "consumed code", got, &want)
	_, err = s.ConsumeCode(ctx, u.ID, store.PurposeConfirmCode, digest("123456"), max, at(time.Minute))
	wantErr(t, "ConsumeCode(twice)", err, store.ErrNotFound)

	// The sibling now has 3 failed attempts (the miss just above): used up.
	_, err = s.ConsumeCode(ctx, u.ID, store.PurposeConfirmCode, digest("654321"), max, at(time.Minute))
	wantErr(t, "ConsumeCode(attempts used up)", err, store.ErrNotFound)

	// Expired codes are not found.
	late := newToken(store.PurposeConfirmCode, "999999", u.ID, at(15*time.Minute))
	must(t, "CreateToken", s.CreateToken(ctx, late))
	_, err = s.ConsumeCode(ctx, u.ID, store.PurposeConfirmCode, digest("999999"), max, at(15*time.Minute))
	wantErr(t, "ConsumeCode(at expiry)", err, store.ErrNotFound)
}

func testConsumeCodeConcurrent(t *testing.T, s tokenStore) {
	ctx := t.Context()
	u := newUser(t, s, "codes@example.com")
	const n = 16

	// n concurrent misses count exactly n attempts.
	counted := newToken(store.PurposeConfirmCode, "424242", u.ID, at(time.Hour))
	must(t, "CreateToken", s.CreateToken(ctx, counted))
	errs := race(n, func(i int) error {
		_, err := s.ConsumeCode(ctx, u.ID, store.PurposeConfirmCode, digest("miss"), 1000, at(time.Minute))
		return err
	})
	if _, misses := countOutcomes(t, "ConsumeCode misses", errs, store.ErrNotFound); misses != n {
		t.Errorf("concurrent misses: got %d ErrNotFound, want %d", misses, n)
	}
	got, err := s.PeekToken(ctx, store.PurposeConfirmCode, counted.Digest, at(time.Minute))
	must(t, "PeekToken", err)
	if got.Attempts != n {
		t.Errorf("Attempts after %d concurrent misses: got %d, want %d (lost updates)", n, got.Attempts, n)
	}

	// Of n concurrent uses of one code, exactly one wins.
	errs = race(n, func(int) error {
		_, err := s.ConsumeCode(ctx, u.ID, store.PurposeConfirmCode, counted.Digest, 1000, at(time.Minute))
		return err
	})
	won, lost := countOutcomes(t, "ConsumeCode", errs, store.ErrNotFound)
	if won != 1 || lost != n-1 {
		t.Errorf("%d concurrent ConsumeCode: got %d winners and %d ErrNotFound, want 1 and %d", n, won, lost, n-1)
	}
}

func testDeleteUserTokens(t *testing.T, s tokenStore) {
	ctx := t.Context()
	u := newUser(t, s, "tokens@example.com")
	other := newUser(t, s, "other@example.com")
	for i, p := range []string{store.PurposeConfirm, store.PurposeReset, store.PurposeReset, store.PurposeMagicLink, store.PurposeEmailChange} {
		must(t, "CreateToken", s.CreateToken(ctx, newToken(p, "mine"+string(rune('a'+i)), u.ID, at(time.Hour))))
	}
	must(t, "CreateToken(other)", s.CreateToken(ctx, newToken(store.PurposeReset, "theirs", other.ID, at(time.Hour))))

	n, err := s.DeleteUserTokens(ctx, u.ID, store.PurposeReset, store.PurposeMagicLink)
	must(t, "DeleteUserTokens(reset, magic link)", err)
	if n != 3 {
		t.Errorf("DeleteUserTokens(reset, magic link): got %d, want 3", n)
	}
	if _, err := s.PeekToken(ctx, store.PurposeConfirm, digest("minea"), t0); err != nil {
		t.Errorf("confirm token after deleting other purposes: %v", err)
	}
	n, err = s.DeleteUserTokens(ctx, u.ID)
	must(t, "DeleteUserTokens(all)", err)
	if n != 2 {
		t.Errorf("DeleteUserTokens(all): got %d, want 2", n)
	}
	if _, err := s.PeekToken(ctx, store.PurposeReset, digest("theirs"), t0); err != nil {
		t.Errorf("other user's token after DeleteUserTokens: %v", err)
	}
	n, err = s.DeleteUserTokens(ctx, u.ID)
	must(t, "DeleteUserTokens(none left)", err)
	if n != 0 {
		t.Errorf("DeleteUserTokens(none left): got %d, want 0", n)
	}
}

func testPurgeTokens(t *testing.T, s tokenStore) {
	ctx := t.Context()
	u := newUser(t, s, "purge@example.com")
	must(t, "CreateToken", s.CreateToken(ctx, newToken(store.PurposeMagicLink, "a", u.ID, at(time.Hour))))
	must(t, "CreateToken", s.CreateToken(ctx, newToken(store.PurposeReset, "b", u.ID, at(time.Hour))))
	must(t, "CreateToken", s.CreateToken(ctx, newToken(store.PurposeConfirm, "c", u.ID, at(48*time.Hour))))
	steps := []struct {
		before time.Time
		want   int
	}{
		{at(time.Hour), 0},
		{at(time.Hour + time.Millisecond), 2},
		{at(2 * time.Hour), 0},
		{at(49 * time.Hour), 1},
	}
	for _, st := range steps {
		n, err := s.PurgeTokens(ctx, st.before)
		must(t, "PurgeTokens", err)
		if n != st.want {
			t.Errorf("PurgeTokens(%v): got %d, want %d", st.before.Sub(t0), n, st.want)
		}
	}
}
