package store

import (
	"context"
	"time"
)

// APIToken is a bearer token of package apitoken: a user's personal access
// token, or the short-lived access token a service account got for its
// client credentials. Only the digest of the token is stored.
type APIToken struct {
	ID string
	// Digest is the SHA-256 digest of the whole token (see
	// token.APIKeyDigest).
	Digest []byte
	// UserID is the user a personal access token belongs to; empty for a
	// service account's token. Exactly one of UserID and ServiceAccountID
	// is set.
	UserID string
	// ServiceAccountID is the service account an access token was issued
	// to; empty for a personal access token.
	ServiceAccountID string
	// Name is the label the user gave the token.
	Name string
	// Scopes are the scopes the token grants. A scope is a non-empty word
	// without spaces.
	Scopes []string
	// CreatedAt is when the token was created.
	CreatedAt time.Time
	// ExpiresAt is when the token stops working; zero for a token that
	// never expires.
	ExpiresAt time.Time
	// LastUsedAt is when the token was last used, as written by
	// [APITokens.TouchAPIToken]; zero if never.
	LastUsedAt time.Time
	// RevokedAt is when the token was revoked; zero while it is not.
	RevokedAt time.Time
}

// ServiceAccount is a non-human client of the application, owned by an
// organization or by the application itself. It authenticates with its ID
// (the client ID) and a secret, whose digests are [ServiceAccountSecret]s.
type ServiceAccount struct {
	ID string
	// OrgID is the organization that owns the account; empty for an
	// account of the application itself.
	OrgID string
	// Name is the label given at creation.
	Name string
	// Scopes are the scopes the account's access tokens may carry.
	Scopes []string
	// CreatedBy is the user who created the account; it becomes empty when
	// that user is deleted.
	CreatedBy string
	CreatedAt time.Time
}

// ServiceAccountSecret is the digest of one client secret of a service
// account. An account has one current secret (ExpiresAt zero) and, after
// a rotation, earlier ones that keep working until their ExpiresAt.
type ServiceAccountSecret struct {
	// Digest is the SHA-256 digest of the secret.
	Digest    []byte
	CreatedAt time.Time
	// ExpiresAt is when the secret stops working; zero for the current
	// secret.
	ExpiresAt time.Time
}

// APITokens stores bearer tokens: personal access tokens and the access
// tokens of service accounts.
//
// A token is live at now while it is not revoked, its ExpiresAt is zero or
// after now, and its owner can use it: a personal token's user exists and
// is not disabled, a service account's token's account exists. Disabling a
// user ([Users.SetDisabled]) revokes the user's tokens at once, in the same
// transaction, and enabling the user again revives none. Deleting a user
// or anonymizing them removes their tokens; deleting a service account or
// its organization removes the account's tokens and secrets.
type APITokens interface {
	// CreateAPIToken inserts t, filling an empty ID and a zero CreatedAt.
	// ErrConflict if the digest is taken; ErrNotFound if there is no such
	// user or service account. A token with an empty digest or name, with
	// both or neither of UserID and ServiceAccountID, or with a scope that
	// is empty or holds a space, is refused with an error; nothing is
	// stored.
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// APITokenByDigest returns the live token with digest and its owner in
	// one round trip: the user of a personal token (with a nil account),
	// or the service account of an access token (with a nil user).
	// ErrNotFound if there is no live token with digest (also when its
	// user is disabled).
	APITokenByDigest(ctx context.Context, digest []byte, now time.Time) (*APIToken, *User, *ServiceAccount, error)
	// UserAPITokens returns the live personal tokens of the user, newest
	// first.
	UserAPITokens(ctx context.Context, userID string, now time.Time) ([]*APIToken, error)
	// RevokeAPIToken revokes the user's personal token with id at now.
	// ErrNotFound if the user has no such unrevoked token: another user's
	// token is not found.
	RevokeAPIToken(ctx context.Context, userID, id string, now time.Time) error
	// RevokeUserAPITokens revokes every unrevoked personal token of the
	// user at now and returns how many.
	RevokeUserAPITokens(ctx context.Context, userID string, now time.Time) (int, error)
	// TouchAPIToken sets the LastUsedAt of the token with id to now, but
	// only if it is unset or at or before now-every, in one atomic step:
	// of concurrent touches within every, one writes. It reports whether
	// it wrote. A missing or revoked token is not an error (false).
	TouchAPIToken(ctx context.Context, id string, now time.Time, every time.Duration) (bool, error)
	// PurgeAPITokens deletes the tokens that expired, or were revoked,
	// before before, and returns how many.
	PurgeAPITokens(ctx context.Context, before time.Time) (int, error)
}

// ServiceAccounts stores service accounts and their secrets.
//
// Every method that names an account takes the organization it must
// belong to ("" for the application's own accounts): an account of
// another organization is not found.
type ServiceAccounts interface {
	// CreateServiceAccount inserts sa with its first secret, filling an
	// empty ID and zero CreatedAt of both (the secret is current: its
	// ExpiresAt is stored zero). ErrNotFound if there is no organization
	// sa.OrgID; ErrConflict if the secret's digest is taken. An empty
	// name or digest, or a scope that is empty or holds a space, is
	// refused with an error; nothing is stored.
	CreateServiceAccount(ctx context.Context, sa *ServiceAccount, secret *ServiceAccountSecret) error
	// ServiceAccount returns the account with id owned by orgID, or
	// ErrNotFound.
	ServiceAccount(ctx context.Context, orgID, id string) (*ServiceAccount, error)
	// ServiceAccounts returns the accounts owned by orgID, oldest first.
	ServiceAccounts(ctx context.Context, orgID string) ([]*ServiceAccount, error)
	// ServiceAccountSecrets returns the secrets of the account with id
	// owned by orgID that still work at now, newest first. ErrNotFound if
	// there is no such account.
	ServiceAccountSecrets(ctx context.Context, orgID, id string, now time.Time) ([]*ServiceAccountSecret, error)
	// RotateServiceAccountSecret makes secret the account's current secret
	// (filling a zero CreatedAt; its ExpiresAt is stored zero) and ends
	// the earlier secrets at overlapUntil (those ending sooner keep their
	// end), atomically. ErrNotFound if there is no such account;
	// ErrConflict if the digest is taken. An empty digest is refused;
	// nothing changes.
	RotateServiceAccountSecret(ctx context.Context, orgID, id string, secret *ServiceAccountSecret, overlapUntil time.Time) error
	// ServiceAccountBySecret returns the account with id if digest is the
	// digest of one of its secrets that works at now (ExpiresAt zero or
	// after now), or ErrNotFound.
	ServiceAccountBySecret(ctx context.Context, id string, digest []byte, now time.Time) (*ServiceAccount, error)
	// DeleteServiceAccount removes the account owned by orgID with its
	// secrets and tokens. ErrNotFound if there is no such account.
	DeleteServiceAccount(ctx context.Context, orgID, id string) error
}
