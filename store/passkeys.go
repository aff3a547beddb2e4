package store

import (
	"context"
	"errors"
	"time"
)

// ErrPasskeyLimit is returned, wrapped, by [Passkeys.CreatePasskey] when the
// user already holds as many passkeys for the relying party as the limit
// allows. Nothing is stored.
var ErrPasskeyLimit = errors.New("sigra/store: passkey limit reached")

// Passkey is a WebAuthn credential registered to a user (package passkey).
// Nothing in it is secret: the private key never leaves the authenticator.
type Passkey struct {
	// ID is the library's identifier of the record (a UUIDv7), used in
	// pages and routes; the authenticator's identifier is CredentialID.
	ID     string
	UserID string
	// RPID is the relying party the credential is scoped to.
	RPID string
	// CredentialID is the authenticator's credential ID. It belongs to one
	// user: (RPID, CredentialID) is unique.
	CredentialID []byte
	// PublicKey is the credential's public key, COSE encoded.
	PublicKey []byte
	// AttestationType and AttestationFormat are what the registration's
	// attestation said ("none" unless attestation is asked for).
	AttestationType   string
	AttestationFormat string
	// AAGUID identifies the authenticator's model (16 bytes, all zero when
	// the authenticator does not say).
	AAGUID []byte
	// Transports are the transports the browser reported ("internal",
	// "hybrid", "usb", ...).
	Transports []string
	// Attachment is "platform", "cross-platform" or "".
	Attachment string
	// SignCount is the authenticator's signature counter at the last
	// sign-in (0 for authenticators without one, such as synced passkeys).
	SignCount uint32
	// UserVerified is the UV flag of the registration.
	UserVerified bool
	// BackupEligible (BE) says the credential may be synced; it never
	// changes. BackupState (BS) says it is backed up now; it may change at
	// each sign-in.
	BackupEligible bool
	BackupState    bool
	// Name is the user's name for the passkey.
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// PasskeyUse is what a sign-in with a passkey writes back to its record.
type PasskeyUse struct {
	// SignCount is the counter the authenticator reported. The stored
	// counter becomes the greater of the stored one and SignCount.
	SignCount uint32
	// BackupState is the BS flag of the sign-in.
	BackupState bool
	// At is the time of the sign-in (LastUsedAt).
	At time.Time
}

// Passkeys stores users' WebAuthn credentials and their WebAuthn user
// handles.
//
// Rows belong to their user: DeleteUser and AnonymizeUser remove them.
type Passkeys interface {
	// PasskeyUserHandle returns the user's WebAuthn user handle. A user
	// who has none gets fresh (random bytes chosen by the caller, 1 to 64
	// long), which is stored and returned; later calls return it. Of
	// concurrent first calls, all return the one handle stored.
	// ErrNotFound if there is no such user; ErrConflict if fresh is another
	// user's handle. With fresh nil it only reads: ErrNotFound if the user
	// has no handle (or does not exist), and nothing is stored.
	PasskeyUserHandle(ctx context.Context, userID string, fresh []byte) ([]byte, error)
	// UserIDByPasskeyHandle returns the ID of the user whose handle is
	// handle, or ErrNotFound.
	UserIDByPasskeyHandle(ctx context.Context, handle []byte) (string, error)
	// CreatePasskey stores p, filling an empty ID and a zero CreatedAt.
	// ErrConflict if the credential ID is already registered for p.RPID
	// (to anyone); ErrPasskeyLimit if the user already has limit passkeys
	// for p.RPID (limit <= 0: no limit), decided atomically; ErrNotFound if
	// there is no such user. Nothing is stored on an error.
	CreatePasskey(ctx context.Context, p *Passkey, limit int) error
	// PasskeysByUser lists the user's passkeys for rpID, oldest first.
	PasskeysByUser(ctx context.Context, userID, rpID string) ([]*Passkey, error)
	// PasskeyByCredentialID returns the passkey with the credential ID for
	// rpID, or ErrNotFound.
	PasskeyByCredentialID(ctx context.Context, rpID string, credentialID []byte) (*Passkey, error)
	// UsePasskey records a sign-in with the user's passkey id (see
	// [PasskeyUse]). ErrNotFound if the user has no such passkey.
	UsePasskey(ctx context.Context, userID, id string, use PasskeyUse) error
	// RenamePasskey sets the name of the user's passkey id. ErrNotFound if
	// the user has no such passkey.
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// DeletePasskey removes the user's passkey id. With guard, it refuses
	// (ErrLastSignInMethod, nothing removed) when the user would be left
	// with no way to sign in: no password hash, no other passkey (for any
	// relying party) and no other method the store knows of; this is
	// decided in the removal's transaction with the user's row locked, so
	// of two concurrent guarded removals of a user's last two methods at
	// most one succeeds. Without guard (a credential revoked by policy)
	// it always removes. ErrNotFound if the user has no such passkey.
	DeletePasskey(ctx context.Context, userID, id string, guard bool) error
}
