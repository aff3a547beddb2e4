package session

import "context"

// pwChangeKey is the session value that marks a required password change:
// it holds the ID of the user who must change their password, so that the
// mark never passes to another user signing in on the same browser.
const pwChangeKey = "sigra.pw_change"

// RequirePasswordChange marks the request's session: userID must choose a
// new password before reaching any route behind the guards (see
// middleware.Guard.RequireUser). The account feature sets it when a
// password used to sign in is found in a breach; an application may set it
// for its own reasons (a password older than its policy allows). The mark
// is a session value: it survives the token renewals of the sign-in and
// ends with the session, or with [Manager.ClearPasswordChange].
// ErrNoSession outside [Manager.LoadAndSave].
func (m *Manager) RequirePasswordChange(ctx context.Context, userID string) error {
	if holderFrom(ctx) == nil {
		return ErrNoSession
	}
	m.scs.Put(ctx, pwChangeKey, userID)
	return nil
}

// PasswordChangeRequired reports whether the session's user, signed in or
// with a pending sign-in, was marked by [Manager.RequirePasswordChange].
// A mark left for another user does not count.
func (m *Manager) PasswordChangeRequired(ctx context.Context) bool {
	h := holderFrom(ctx)
	if h == nil || h.valuesUnread() {
		return false
	}
	id := m.scs.GetString(ctx, pwChangeKey)
	if id == "" {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return id == h.userID
}

// ClearPasswordChange removes the mark of [Manager.RequirePasswordChange],
// once the user has chosen a new password.
func (m *Manager) ClearPasswordChange(ctx context.Context) {
	if holderFrom(ctx) == nil {
		return
	}
	m.scs.Remove(ctx, pwChangeKey)
}
