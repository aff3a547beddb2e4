package sigratest

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// TOTP parameters the mfa package uses.
const (
	totpPeriod = mfa.Period
	totpDigits = otp.Digits(mfa.Digits)
)

// RecoveryCodeCount is how many recovery codes [App.CreateUser] gives a
// user who has them, as many as the mfa package gives.
const RecoveryCodeCount = mfa.RecoveryCodeCount

// LockDuration is how long the password sign-in of a user created with
// UserOptions.Locked stays locked: the account flows' default lockout.
const LockDuration = 15 * time.Minute

// UserOptions describe the user [App.CreateUser] creates. The zero value
// apart from Email is a confirmed user without a password.
type UserOptions struct {
	// Email is the user's address. Required.
	Email string
	// Password is the user's password, hashed with the application's
	// hasher; empty for a user without one.
	Password string
	// Unconfirmed leaves the address unconfirmed.
	Unconfirmed bool
	// TOTP enrolls a TOTP authenticator (two-factor authentication on).
	TOTP bool
	// RecoveryCodes gives the user a set of recovery codes.
	RecoveryCodes bool
	// Locked locks the user's password sign-in for [LockDuration] from
	// the site's clock, as the attempt that reaches the limit does.
	Locked bool
	// Disabled disables the account, as an administrator does.
	Disabled bool
}

// User is a user created by [App.CreateUser]: the stored record, and the
// secrets a test needs to act as the user.
type User struct {
	// User is the record as stored after every change (ID, Email,
	// EmailConfirmedAt, LockedUntil, DisabledAt, ...).
	*store.User
	// Password is the password in clear; empty if the user has none.
	Password string
	// TOTPSecret is the enrolled TOTP secret in base32 (what an
	// authenticator app is given); empty without TOTP.
	TOTPSecret string
	// RecoveryCodes are the user's unused recovery codes as shown to the
	// user; nil without them.
	RecoveryCodes []string

	now func() time.Time
}

// TOTPCode returns the user's TOTP code at the site's clock (the test
// clock when the site was given one). It fails t if the user has no TOTP.
// A code is accepted once per time step: after a sign-in with it, advance
// the clock by 30 seconds for a fresh one.
func (u *User) TOTPCode(t testing.TB) string {
	t.Helper()
	if u.TOTPSecret == "" {
		t.Fatalf("sigratest: TOTPCode: the user %q has no TOTP (create it with UserOptions.TOTP)", u.Email)
	}
	if u.now == nil {
		t.Fatalf("sigratest: TOTPCode: the user %q was not made by App.CreateUser or App.User, so it knows no clock", u.Email)
	}
	c, err := TOTPCodeAt(u.TOTPSecret, u.now())
	if err != nil {
		t.Fatalf("sigratest: TOTPCode: %v", err)
	}
	return c
}

// TOTPCodeAt returns the TOTP code of a base32 secret at the given time,
// with the parameters of the mfa package (SHA-1, six digits, 30-second
// steps). A test that enrolls through the application's own set-up page
// computes the code of the secret that page shows with it.
func TOTPCodeAt(secret string, at time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
}

// CreateUser creates a user in the state opt describes, through the
// application's store and hasher, in one transaction: a refused user
// leaves nothing behind. A TOTP secret is sealed with the application's
// keys as the mfa package seals it, and its enrollment counts as done
// before the current time step, so the current code signs in. CreateUser
// fails t when opt.Email is empty, when a part opt needs is missing from
// the Host (Store, Hasher for a password, Keys for TOTP), or when the
// address is taken.
func (a *App) CreateUser(t testing.TB, opt UserOptions) *User {
	t.Helper()
	ctx := context.Background()
	switch {
	case strings.TrimSpace(opt.Email) == "":
		t.Fatal("sigratest: CreateUser: UserOptions.Email is required")
	case a.Store == nil:
		t.Fatal("sigratest: CreateUser: the Host has no Store")
	case opt.Password != "" && a.Hasher == nil:
		t.Fatalf("sigratest: CreateUser %q: a password needs the Host's Hasher", opt.Email)
	case opt.TOTP && a.Keys == "":
		t.Fatalf("sigratest: CreateUser %q: TOTP needs the Host's Keys (the keys the application seals TOTP secrets with)", opt.Email)
	}
	now := a.Site.Now()
	u := &User{User: &store.User{Email: opt.Email, CreatedAt: now}, Password: opt.Password, now: a.Site.Now}
	if !opt.Unconfirmed {
		u.EmailConfirmedAt = now
	}
	if opt.Password != "" {
		h, err := a.Hasher.Hash(ctx, opt.Password)
		if err != nil {
			t.Fatalf("sigratest: CreateUser %q: hash the password: %v", opt.Email, err)
		}
		u.PasswordHash = h
	}
	if opt.TOTP {
		if _, err := mfa.SealSecret(a.Keys, "check", "check"); err != nil {
			t.Fatalf("sigratest: CreateUser %q: the Host's Keys: %v", opt.Email, err)
		}
		b := make([]byte, 20)
		if _, err := rand.Read(b); err != nil {
			t.Fatalf("sigratest: CreateUser %q: TOTP secret: %v", opt.Email, err)
		}
		u.TOTPSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
	}
	err := a.Store.InTx(ctx, func(ctx context.Context) error {
		if err := a.Store.CreateUser(ctx, u.User); err != nil {
			return err
		}
		if opt.TOTP {
			sealed, err := mfa.SealSecret(a.Keys, u.ID, u.TOTPSecret)
			if err != nil {
				return err
			}
			if err := a.Store.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: sealed, CreatedAt: now}); err != nil {
				return err
			}
			// Confirmed with a step before those the challenge accepts now
			// (the current one and one on either side).
			if err := a.Store.UseTOTPStep(ctx, u.ID, now.Unix()/totpPeriod-2, true, now); err != nil {
				return err
			}
		}
		if opt.RecoveryCodes {
			codes, digests, err := recoveryCodes(u.ID)
			if err != nil {
				return err
			}
			if err := a.Store.ReplaceRecoveryCodes(ctx, u.ID, digests, now); err != nil {
				return err
			}
			u.RecoveryCodes = codes
		}
		if opt.Locked {
			if _, err := a.Store.RecordFailure(ctx, u.ID, store.LockPassword, 1, LockDuration, now); err != nil {
				return err
			}
		}
		if opt.Disabled {
			if err := a.Store.SetDisabled(ctx, u.ID, now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		t.Fatalf("sigratest: CreateUser: a user with the address %q already exists", opt.Email)
	}
	if err != nil {
		t.Fatalf("sigratest: CreateUser %q: %v", opt.Email, err)
	}
	stored, err := a.Store.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("sigratest: CreateUser %q: read it back: %v", opt.Email, err)
	}
	u.User = stored
	return u
}

// recoveryCodes makes a set of codes and their digests for userID, as the
// mfa package does.
func recoveryCodes(userID string) (codes []string, digests [][]byte, err error) {
	for range RecoveryCodeCount {
		c, err := token.NewRecoveryCode()
		if err != nil {
			return nil, nil, err
		}
		norm, err := token.NormalizeRecoveryCode(c)
		if err != nil {
			return nil, nil, err
		}
		codes = append(codes, c)
		digests = append(digests, token.RecoveryCodeDigest(userID, norm))
	}
	return codes, digests, nil
}

// User returns the stored user with the address email, for a user the
// application created itself (registered through its pages in the test),
// as a [User] the sign-in helpers take: password is the password the test
// registered with (empty if none), and when the user has enrolled TOTP
// the secret is unsealed with the Host's Keys. Recovery codes are not
// known (only their digests are stored). It fails t when there is no such
// user.
func (a *App) User(t testing.TB, email, password string) *User {
	t.Helper()
	if a.Store == nil {
		t.Fatal("sigratest: User: the Host has no Store")
	}
	ctx := context.Background()
	stored, err := a.Store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		t.Fatalf("sigratest: User: no user has the address %q", email)
	}
	if err != nil {
		t.Fatalf("sigratest: User %q: %v", email, err)
	}
	u := &User{User: stored, Password: password, now: a.Site.Now}
	s, err := a.Store.TOTPByUser(ctx, stored.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.ConfirmedAt.IsZero()) {
		return u
	}
	if err != nil {
		t.Fatalf("sigratest: User %q: TOTP state: %v", email, err)
	}
	secret, err := mfa.OpenSecret(a.Keys, stored.ID, s.Sealed)
	if err != nil {
		t.Fatalf("sigratest: User %q has TOTP on, and the Host's Keys do not open it: %v", email, err)
	}
	u.TOTPSecret = secret
	return u
}
