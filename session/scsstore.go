package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"
	"unsafe"

	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// scsStore is the scs.CtxStore over store.Sessions. The cookie holds the
// token; rows are keyed by its SHA-256 digest. The auth columns come from
// the request's holder, which the Manager's transitions keep current.
type scsStore struct{ m *Manager }

// FindCtx loads the live session for tok together with its user, in one
// store round trip, and records both in the request's holder. Malformed,
// unknown, expired, idle and revoked tokens are "not found".
//
// The lookup is made once per request: LoadAndSave makes it, and FindCtx,
// which scs calls when it loads the values (see values.go), answers from
// the row found for the same token.
func (s *scsStore) FindCtx(ctx context.Context, tok string) ([]byte, bool, error) {
	h := holderFrom(ctx)
	if h == nil {
		return nil, false, ErrNoSession
	}
	if tok != h.tok {
		if err := s.m.find(h, tok); err != nil {
			return nil, false, err
		}
	}
	if h.found == nil {
		return nil, false, nil
	}
	return h.found.Data, true, nil
}

// find looks up the live session for tok together with its user, in one
// store round trip, and records both in h (h.found is nil when there is
// none).
func (m *Manager) find(h *holder, tok string) error {
	h.tok, h.found = tok, nil
	if !token.Valid(tok) {
		return nil
	}
	idle := max(m.cfg.IdleTimeout, 0)
	row, u, err := m.st.SessionWithUser(h, digest(&h.digestv, tok), h.now, idle)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	h.load(row, u)
	h.found = row
	return nil
}

// digest returns token.Digest(tok), computed into buf.
func digest(buf *[sha256.Size]byte, tok string) []byte {
	// Sum256 only reads its input: the token's bytes need no copy.
	*buf = sha256.Sum256(unsafe.Slice(unsafe.StringData(tok), len(tok)))
	return buf[:]
}

// CommitCtx saves the session row for tok: the values blob and the auth
// state of the request. A row revoked meanwhile stays revoked (the store's
// SaveSession never clears the tombstone).
func (s *scsStore) CommitCtx(ctx context.Context, tok string, b []byte, _ time.Time) error {
	h := holderFrom(ctx)
	if h == nil {
		return ErrNoSession
	}
	now := s.m.now()
	if h.createdAt.IsZero() {
		h.createdAt = now
	}
	if h.expiresAt.IsZero() {
		h.expiresAt = now.Add(s.m.cfg.Lifetime)
	}
	state := h.state
	if state == "" {
		state = store.SessionAnonymous
	}
	if h.id == "" {
		h.id = store.NewID()
	}
	row := &store.Session{
		Digest:       token.Digest(tok),
		ID:           h.id,
		Data:         b,
		UserID:       h.userID,
		State:        state,
		AAL:          h.aal,
		Methods:      h.methods,
		AuthTime:     h.authTime,
		SudoTime:     h.sudoTime,
		ActiveOrg:    h.activeOrg,
		Impersonator: h.impersonator,
		Remember:     h.remember,
		CreatedAt:    h.createdAt,
		LastSeenAt:   now,
		ExpiresAt:    h.expiresAt,
		IP:           h.ip,
		UserAgent:    h.ua,
	}
	return s.m.st.SaveSession(ctx, row)
}

// DeleteCtx revokes the row for tok (scs calls it when the token is renewed
// and on Destroy), except the admin's own session when an impersonation
// starts. It tombstones rather than deletes, so a concurrent
// request still holding the old token cannot re-create the row.
func (s *scsStore) DeleteCtx(ctx context.Context, tok string) error {
	if !token.Valid(tok) {
		return nil
	}
	if h := holderFrom(ctx); h != nil && h.keep != "" && tok == h.keep {
		// An impersonation starting: the admin's own session stays live,
		// to be restored when it stops.
		return nil
	}
	return s.m.st.RevokeSession(ctx, token.Digest(tok), s.m.now())
}

// Find, Commit and Delete satisfy scs.Store; scs always calls the Ctx
// forms on a CtxStore.
func (s *scsStore) Find(tok string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), tok)
}

func (s *scsStore) Commit(tok string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), tok, b, expiry)
}

func (s *scsStore) Delete(tok string) error { return s.DeleteCtx(context.Background(), tok) }
