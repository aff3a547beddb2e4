package store

import (
	"context"
	"time"
)

// Reasons a refresh family was revoked (RefreshFamily.RevokeReason).
const (
	// RevokeReasonReuse: a refresh token of the family was presented again
	// after it had been used (reuse detection).
	RevokeReasonReuse = "reuse"
	// RevokeReasonSession: the session the family was bound to was no
	// longer live when the family was used.
	RevokeReasonSession = "session"
	// RevokeReasonClient: the client revoked its own family (signed out).
	RevokeReasonClient = "client"
	// RevokeReasonUser: the user or an administrator revoked it.
	RevokeReasonUser = "user"
)

// RefreshFamily is the chain of refresh tokens issued to one client from
// one signed-in session (package jwtauth). Each refresh uses one token of
// the family and adds the next; the family ends when it is revoked, when
// it expires, or when its session is no longer live.
type RefreshFamily struct {
	// ID identifies the family (a UUIDv7 string); access tokens carry it.
	ID string
	// UserID is the user the tokens were issued to.
	UserID string
	// SessionID is the public ID of the session row the family is bound
	// to (store.Session.ID): the family is live only while that session
	// is live (not revoked, not expired, authenticated, of UserID).
	SessionID string
	// Scopes are the scopes granted to the family's access tokens.
	Scopes []string
	// AAL and Methods are the session's assurance level and methods when
	// the family was created.
	AAL     int
	Methods []string
	// AuthTime is when the user completed the sign-in of the session.
	AuthTime time.Time
	// ClientName is a label the client gave itself ("iPhone app"); it is
	// shown in lists, never trusted.
	ClientName string
	CreatedAt  time.Time
	// ExpiresAt is the absolute end of the family.
	ExpiresAt time.Time
	// RevokedAt is when the family was revoked; zero while live.
	RevokedAt time.Time
	// RevokeReason says why (one of the RevokeReason constants); empty
	// while live.
	RevokeReason string
}

// RefreshToken is one single-use refresh token of a family. Only the
// SHA-256 digest of the opaque token is stored.
type RefreshToken struct {
	// Digest is the SHA-256 digest of the token (32 bytes); it is the key.
	Digest []byte
	// FamilyID is the family the token belongs to.
	FamilyID  string
	CreatedAt time.Time
	// ExpiresAt is when the token stops being usable (its idle lifetime).
	ExpiresAt time.Time
	// UsedAt is when the token was exchanged for the next one; zero while
	// unused. A used token presented again is a reuse.
	UsedAt time.Time
}

// RefreshTokens stores the refresh-token families of package jwtauth.
//
// The rule of reuse: a refresh token is used at most once. Presenting a
// token that was already used, whoever presents it, revokes its whole
// family (reason [RevokeReasonReuse]): the store cannot tell the
// legitimate client from a thief holding a copy, so neither keeps the
// family. Of concurrent rotations of one token exactly one succeeds and
// the others are reuses, so a race ends the family too, winner included.
type RefreshTokens interface {
	// CreateRefreshFamily inserts f and its first token t (whose FamilyID
	// it sets to f.ID), filling an empty f.ID and zero CreatedAt fields.
	// The session f.SessionID must be live at now: not revoked, ExpiresAt
	// after now, authenticated, and belonging to f.UserID; otherwise
	// nothing is written and ErrNotFound is returned.
	CreateRefreshFamily(ctx context.Context, f *RefreshFamily, t *RefreshToken, now time.Time) error
	// RotateRefreshToken exchanges the refresh token with digest for next
	// (whose FamilyID it sets), atomically, and returns the family:
	//
	//   - the token was used already (a reuse), or a concurrent rotation
	//     of it won: the family is revoked at now with reason
	//     RevokeReasonReuse (unless it was revoked before, which stays as
	//     it was), and the family is returned with ErrReplay;
	//   - no token has digest, or it expired, or its family is revoked or
	//     expired: ErrNotFound, nothing changes;
	//   - the family's session is no longer live: the family is revoked
	//     with reason RevokeReasonSession, and the family is returned with
	//     ErrNotFound;
	//   - otherwise the token is marked used at now and next is stored.
	//
	// The revocations are written even though an error is returned: the
	// method runs in its own transaction (or in a savepoint of the one ctx
	// carries, which the caller must then commit).
	RotateRefreshToken(ctx context.Context, digest []byte, next *RefreshToken, now time.Time) (*RefreshFamily, error)
	// RevokeRefreshFamily revokes the family with id at now with reason,
	// if it is not revoked already, and returns it. If userID is not
	// empty, the family must belong to that user. ErrNotFound if there is
	// no such family.
	RevokeRefreshFamily(ctx context.Context, userID, id, reason string, now time.Time) (*RefreshFamily, error)
	// RefreshFamilyByToken returns the family of the refresh token with
	// digest, used or not, live or not, or ErrNotFound.
	RefreshFamilyByToken(ctx context.Context, digest []byte) (*RefreshFamily, error)
	// LiveRefreshFamily returns the family with id if it is live at now:
	// not revoked, ExpiresAt after now, and its session live (as
	// CreateRefreshFamily requires). Otherwise ErrNotFound.
	LiveRefreshFamily(ctx context.Context, id string, now time.Time) (*RefreshFamily, error)
	// UserRefreshFamilies lists the live families of userID (as
	// LiveRefreshFamily decides), newest first.
	UserRefreshFamilies(ctx context.Context, userID string, now time.Time) ([]*RefreshFamily, error)
	// PurgeRefreshFamilies deletes the families (and their tokens) that
	// expired, or were revoked, before before, and returns how many.
	PurgeRefreshFamilies(ctx context.Context, before time.Time) (int, error)
}
