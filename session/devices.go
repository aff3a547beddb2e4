package session

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/store"
)

// Device is one of a user's live sessions, as shown in a device list.
type Device struct {
	// ID is the session's public identifier, used to revoke it.
	ID string
	// Current marks the session of the request that asked for the list.
	Current bool
	// Browser, OS and Kind are parsed from the user agent ("Chrome",
	// "Windows", "Desktop"); empty when unknown.
	Browser string
	OS      string
	Kind    string
	// UserAgent is the raw user agent string.
	UserAgent string
	IP        string
	// Pending marks a session waiting for a second factor.
	Pending    bool
	AAL        sigra.AAL
	Methods    []sigra.Method
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// ParseUserAgent returns the browser and operating system named by a user
// agent string ("Chrome", "Windows"); empty when unknown.
func ParseUserAgent(ua string) (browser, os string) {
	browser, os, _ = parseUA(ua)
	return browser, os
}

// Devices lists the live sessions of the request's user (signed in or
// pending): the current one first, then the others, most recently seen
// first.
// ErrNotSignedIn if the session has no user.
func (m *Manager) Devices(ctx context.Context) ([]Device, error) {
	h := holderFrom(ctx)
	if h == nil {
		return nil, ErrNoSession
	}
	h.mu.Lock()
	userID, cur := h.userID, h.digest
	h.mu.Unlock()
	if userID == "" {
		return nil, ErrNotSignedIn
	}
	rows, err := m.st.UserSessions(ctx, userID, m.now())
	if err != nil {
		return nil, err
	}
	out := make([]Device, 0, len(rows))
	for _, s := range rows {
		d := Device{
			ID:         s.ID,
			Current:    cur != nil && bytes.Equal(s.Digest, cur),
			UserAgent:  s.UserAgent,
			IP:         s.IP,
			Pending:    s.State == store.SessionPending,
			AAL:        sigra.AAL(s.AAL),
			CreatedAt:  s.CreatedAt,
			LastSeenAt: s.LastSeenAt,
			ExpiresAt:  s.ExpiresAt,
		}
		for _, v := range s.Methods {
			d.Methods = append(d.Methods, sigra.Method(v))
		}
		if s.UserAgent != "" {
			d.Browser, d.OS, d.Kind = parseUA(s.UserAgent)
		}
		out = append(out, d)
	}
	// This device first, then the others, most recently seen first.
	slices.SortStableFunc(out, func(a, b Device) int {
		switch {
		case a.Current == b.Current:
			return 0
		case a.Current:
			return -1
		default:
			return 1
		}
	})
	return out, nil
}

// RevokeDevice revokes the request user's session with the public id. If
// it is the current session, the request is signed out. store.ErrNotFound
// if the user has no such live session (another user's id included).
func (m *Manager) RevokeDevice(ctx context.Context, id string) error {
	h := holderFrom(ctx)
	if h == nil {
		return ErrNoSession
	}
	h.mu.Lock()
	userID, curID := h.userID, h.id
	h.mu.Unlock()
	if userID == "" {
		return ErrNotSignedIn
	}
	if id == curID {
		return m.SignOut(ctx)
	}
	return m.st.RevokeSessionByID(ctx, userID, id, m.now())
}

// RevokeOtherDevices revokes every live session of the request's user but
// the current one and returns how many.
func (m *Manager) RevokeOtherDevices(ctx context.Context) (int, error) {
	h := holderFrom(ctx)
	if h == nil {
		return 0, ErrNoSession
	}
	h.mu.Lock()
	userID, cur := h.userID, h.digest
	h.mu.Unlock()
	if userID == "" {
		return 0, ErrNotSignedIn
	}
	return m.st.RevokeUserSessions(ctx, userID, cur, m.now())
}

// RevokeAll revokes every session of userID (for example after a password
// reset, or by an administrator) and returns how many. It needs no request.
func (m *Manager) RevokeAll(ctx context.Context, userID string) (int, error) {
	return m.st.RevokeUserSessions(ctx, userID, nil, m.now())
}

// CurrentDigest returns the digest of the request's session token, after
// any renewal in this request; nil if the request has no session yet.
func (m *Manager) CurrentDigest(ctx context.Context) []byte {
	h := holderFrom(ctx)
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.digest
}
