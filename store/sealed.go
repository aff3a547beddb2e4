package store

import "context"

// SealedKind names a column of sealed secrets (internal/seal envelopes)
// that a key rotation re-seals with the new primary key.
type SealedKind string

// The kinds of sealed secrets a store keeps for the features of this
// module.
const (
	// SealedTOTP is a user's TOTP secret ([TOTPSecret].Sealed); the row
	// is the user's ID.
	SealedTOTP SealedKind = "totp"
	// SealedOAuthAccess and SealedOAuthRefresh are a linked identity's
	// provider tokens ([Identity].AccessToken and RefreshToken); the row
	// is the identity's ID.
	SealedOAuthAccess  SealedKind = "oauth_access"
	SealedOAuthRefresh SealedKind = "oauth_refresh"
)

// SealedKinds returns every kind, in the order a re-sealing visits them.
func SealedKinds() []SealedKind {
	return []SealedKind{SealedTOTP, SealedOAuthAccess, SealedOAuthRefresh}
}

// SealedValue is one stored sealed secret with what its sealing is bound
// to (the associated data its feature derives from them).
type SealedValue struct {
	// Row identifies the row that holds it: the user's ID for
	// SealedTOTP, the identity's ID for the OAuth kinds.
	Row string
	// UserID is the user the secret belongs to.
	UserID string
	// Provider and Subject are the identity's (the OAuth kinds only).
	Provider, Subject string
	// Sealed is the envelope as stored.
	Sealed []byte
}

// SealedSecrets reads and replaces stored sealed secrets, so that an
// operator can re-seal them with the primary key after adding a new one,
// before the old key leaves the ring (cmd/sigra keys reseal). Rows are
// visited in batches in the order of Row; a row whose value is absent (an
// identity without a refresh token) is not listed.
type SealedSecrets interface {
	// SealedAfter returns at most limit values of kind whose Row sorts
	// after after ("" for the first batch), in the order of Row. An
	// unknown kind is an error.
	SealedAfter(ctx context.Context, kind SealedKind, after string, limit int) ([]SealedValue, error)
	// ReplaceSealed sets the value of kind in row to sealed if it still
	// holds old, and reports whether it did: a value that changed since it
	// was read (a new enrollment, a refreshed token) or a row that is gone
	// is left as it is (false, no error). An unknown kind is an error.
	ReplaceSealed(ctx context.Context, kind SealedKind, row string, old, sealed []byte) (bool, error)
}
