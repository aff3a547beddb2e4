package store

import (
	"context"
	"time"
)

// SignIns remembers the devices each user signs in from, so that a sign-in
// from a device not seen lately can be reported to the user (the account
// package's new-device alert). A device is an opaque fingerprint chosen by
// the caller (a digest of the network, browser and operating system, never
// the raw address); per user, the store keeps each fingerprint with the
// time it was last seen, and nothing else.
//
// Rows belong to their user: DeleteUser and AnonymizeUser remove them. A
// record lost to a crash of the database costs at most one alert too
// many, so an implementation may commit SeenDevice without waiting for the
// disk (the PostgreSQL adapter does).
type SignIns interface {
	// SeenDevice records a sign-in of userID at now from the device
	// fingerprint, and returns when that device was last seen before
	// (lastSeen, the zero time if never, or if it was forgotten) and
	// whether this is the first sign-in recorded for the user (first: the
	// store held no device of the user at all). The device's last-seen
	// time becomes the later of the stored one and now. The user's other
	// devices last seen before forgetBefore, and those forgotten with
	// ForgetDevice, are deleted; the device signing in never is, so a
	// user who signed in once is never taken for a new one again.
	//
	// It is atomic per user: of concurrent calls for one user, exactly one
	// reports first when the user had no device, and of concurrent calls
	// for one device exactly one reports it unseen (the others see the
	// winner's time). ErrNotFound if there is no such user; then nothing
	// is stored.
	SeenDevice(ctx context.Context, userID, fingerprint string, now, forgetBefore time.Time) (first bool, lastSeen time.Time, err error)
	// ForgetDevice makes the user's device fingerprint unseen: the next
	// SeenDevice for it returns a zero lastSeen. The user still counts as
	// having signed in (SeenDevice does not report first again). A device
	// or user that does not exist is not an error.
	ForgetDevice(ctx context.Context, userID, fingerprint string) error
}
