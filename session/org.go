package session

import (
	"context"

	"github.com/sigra-go/sigra/store"
)

// SetActiveOrg records orgID as the session's active organization ("" clears
// it): the request's [sigra.Auth] shows it at once, and the session's commit
// at the end of the request writes it. It is not a privilege change, so the
// token is not renewed. ErrNotSignedIn if no user is fully signed in (an
// anonymous session, or one pending its second factor).
//
// It does not check that the user is a member of the organization: the
// caller does. The store keeps the active organization only while the user
// is a member of it (see [store.Sessions]), so one the user was removed from
// meanwhile is written as none.
func (m *Manager) SetActiveOrg(ctx context.Context, orgID string) error {
	h := holderFrom(ctx)
	if h == nil {
		return ErrNoSession
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != store.SessionAuthenticated || h.userID == "" {
		return ErrNotSignedIn
	}
	h.activeOrg = orgID
	// Setting the deadline it has marks the session modified, so the
	// commit writes the row with its token unchanged.
	m.scs.SetDeadline(ctx, m.scs.Deadline(ctx))
	h.syncAuth()
	return nil
}
