package store

import (
	"context"
	"time"
)

// Identity is an account of a user at an OAuth or OpenID Connect provider
// ("github", "google", an issuer of the application's own), linked to the
// user so that it signs them in. It is keyed by (Provider, Subject), the
// provider's stable identifier of the account, never by an email address.
// The provider's tokens are stored sealed (see internal/seal), never raw.
type Identity struct {
	ID     string
	UserID string
	// Provider is the provider's name as the application configured it.
	Provider string
	// Subject is the provider's identifier of the account (the ID token's
	// "sub", or the user id of a provider without OpenID Connect).
	Subject string
	// Email is the address the provider gave when the identity was linked
	// or last used, for display only; EmailVerified is whether the
	// provider said it had verified it. Neither is used to find the user.
	Email         string
	EmailVerified bool
	// AccessToken and RefreshToken are the provider's tokens, sealed;
	// nil when the provider gave none. TokenExpiresAt is when the access
	// token expires; zero if the provider did not say.
	AccessToken    []byte
	RefreshToken   []byte
	TokenExpiresAt time.Time
	CreatedAt      time.Time
	// UpdatedAt is when the tokens or the address last changed
	// (SetIdentityTokens, TouchIdentity).
	UpdatedAt time.Time
	// LastUsedAt is when the identity last signed the user in; zero if
	// never (it was linked from the settings page).
	LastUsedAt time.Time
}

// Identities stores the provider identities linked to users.
//
// A (Provider, Subject) pair is linked to one user at most, and a user has
// at most one identity per provider. Rows belong to their user:
// DeleteUser and AnonymizeUser remove them.
//
// Removing an identity never leaves a user without a way to sign in:
// [Identities.DeleteIdentity] decides it inside its own transaction with
// the user's row locked, so that concurrent removals of a user's last two
// methods cannot both succeed.
type Identities interface {
	// CreateIdentity links id to id.UserID, filling an empty ID and zero
	// CreatedAt and UpdatedAt. ErrConflict if (Provider, Subject) is
	// linked already (to this user or another) or the user has an
	// identity of Provider; ErrNotFound if there is no such user. An
	// empty UserID, Provider or Subject is refused with an error; nothing
	// is stored.
	CreateIdentity(ctx context.Context, id *Identity) error
	// IdentityBySubject returns the identity (provider, subject), or
	// ErrNotFound.
	IdentityBySubject(ctx context.Context, provider, subject string) (*Identity, error)
	// UserIdentities returns the user's identities, oldest first (none
	// for an unknown user).
	UserIdentities(ctx context.Context, userID string) ([]*Identity, error)
	// SetIdentityTokens replaces the sealed tokens and their expiry of the
	// identity with id (nil removes a token), and sets UpdatedAt to now.
	// ErrNotFound if there is no such identity.
	SetIdentityTokens(ctx context.Context, id string, access, refresh []byte, expires, now time.Time) error
	// TouchIdentity records a sign-in with the identity with id at now:
	// LastUsedAt and UpdatedAt become now, and Email and EmailVerified the
	// provider's current answer. ErrNotFound if there is no such identity.
	TouchIdentity(ctx context.Context, id, email string, verified bool, now time.Time) error
	// DeleteIdentity unlinks the user's identity with id and returns it as
	// it was (for revoking its tokens). ErrNotFound if the user has no such
	// identity (another user's is not found); ErrLastSignInMethod if it is
	// the user's last way to sign in (no password hash and no other
	// identity, passkey or other method the store counts). Then nothing
	// changes. Of concurrent removals of a user's last two methods, one
	// succeeds.
	DeleteIdentity(ctx context.Context, userID, id string) (*Identity, error)
}
