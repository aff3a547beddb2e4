package session

import (
	"context"
	"sync"

	"github.com/sigra-go/sigra"
)

// SignInFunc is told of a completed sign-in: a is the request's Auth just
// after it, signed in (a.User, a.SessionID, a.Methods and a.AAL are set).
// ctx is the request's context. It runs in the request, before the
// answer: a listener that has slow work to do queues it.
type SignInFunc func(ctx context.Context, a *sigra.Auth)

// listeners holds the functions told of sign-ins and of the ends of
// impersonations.
type listeners struct {
	mu  sync.RWMutex
	fns []SignInFunc
	// ends are told of impersonations that ended (see impersonate.go).
	ends []ImpersonationEndFunc
	// allowed are asked whether an impersonation's admin may go on (see
	// impersonate.go).
	allowed []ImpersonatorFunc
}

// OnSignIn registers f, called after every completed sign-in through this
// manager, whichever feature completed it: [Manager.SignIn], and
// [Manager.CompleteSecondFactor] when it ends a pending sign-in. A feature
// that must act on every sign-in (cancel a scheduled deletion, warn of a
// new device) registers here when it is built, so that sign-ins by other
// features (a second factor, a passkey, an OAuth provider) reach it too.
// Listeners run in the order registered.
func (m *Manager) OnSignIn(f SignInFunc) {
	if f == nil {
		return
	}
	m.listen.mu.Lock()
	defer m.listen.mu.Unlock()
	m.listen.fns = append(m.listen.fns, f)
}

// signedIn tells the listeners of the sign-in ctx now carries.
func (m *Manager) signedIn(ctx context.Context) {
	m.listen.mu.RLock()
	fns := m.listen.fns
	m.listen.mu.RUnlock()
	if len(fns) == 0 {
		return
	}
	a := sigra.AuthFrom(ctx)
	if !a.SignedIn() {
		return
	}
	for _, f := range fns {
		f(ctx, a)
	}
}
