package store

import (
	"context"
	"errors"
	"time"
)

// Admin is a user who holds the administrator role of the admin console
// (package admin). The role is a row of its own, which goes with the user
// when the account is deleted.
type Admin struct {
	UserID string
	// Email is the user's address as entered, read with the role.
	Email string
	// GrantedBy is the administrator who granted the role; empty when it
	// was granted by an operator (the command-line tool), or when that
	// administrator's account was deleted.
	GrantedBy string
	GrantedAt time.Time
}

// ErrLastAdmin is returned, wrapped, by a revocation that would leave the
// console without an administrator. Nothing changes.
var ErrLastAdmin = errors.New("sigra/store: the last administrator")

// Admins stores who is an administrator of the console.
type Admins interface {
	// GrantAdmin makes the user an administrator, granted by grantedBy
	// (empty for an operator) at now. ErrConflict if the user already is
	// one; ErrNotFound if there is no such user. Nothing changes on error.
	GrantAdmin(ctx context.Context, userID, grantedBy string, now time.Time) error
	// RevokeAdmin removes the user's administrator role. ErrNotFound if
	// the user is not an administrator; ErrLastAdmin if the user is the
	// only one, decided atomically (of two administrators revoking each
	// other at once, one wins). Nothing changes on error.
	RevokeAdmin(ctx context.Context, userID string) error
	// IsAdmin reports whether the user is an administrator. A user that
	// does not exist is not one (false, nil).
	IsAdmin(ctx context.Context, userID string) (bool, error)
	// HoldAdmin reports whether the user is an administrator and, inside
	// a transaction, holds the answer until the transaction ends: a
	// GrantAdmin of the user in another transaction waits for it (so a
	// change that must never happen to an administrator's account checks
	// with HoldAdmin in the change's transaction). ErrNotFound if there
	// is no such user.
	HoldAdmin(ctx context.Context, userID string) (bool, error)
	// ListAdmins returns every administrator, in the order the role was
	// granted (by GrantedAt, then user ID).
	ListAdmins(ctx context.Context) ([]*Admin, error)
}

// UserState selects users by the state of their account in a [UserQuery].
type UserState string

// User states a [UserQuery] selects.
const (
	// UserAny selects every user.
	UserAny UserState = ""
	// UserUnconfirmed: the address is not confirmed.
	UserUnconfirmed UserState = "unconfirmed"
	// UserLocked: a password or second-factor lock holds at the query's
	// Now.
	UserLocked UserState = "locked"
	// UserDisabled: an administrator disabled the account.
	UserDisabled UserState = "disabled"
	// UserDeletionPending: a deletion of the account is scheduled.
	UserDeletionPending UserState = "deletion_pending"
)

// UserStates lists the states a [UserQuery] accepts, UserAny aside.
var UserStates = []UserState{UserUnconfirmed, UserLocked, UserDisabled, UserDeletionPending}

// UserQuery selects users for the admin console's list. Users come in the
// order of their address key ([NormalizeEmail]), which is unique and
// stable; pages are keyset pages over it, so the thousandth page costs
// what the first does. Zero fields do not filter; filters combine with
// AND.
type UserQuery struct {
	// EmailPrefix selects users whose address key begins with the key of
	// EmailPrefix: the normalised form, so "Alice@" finds "alice@...".
	// A prefix of the local part or of the whole address works; a
	// fragment from the middle does not.
	EmailPrefix string
	// State selects by account state; see [UserState].
	State UserState
	// TwoFactor selects users with a confirmed TOTP authenticator.
	TwoFactor bool
	// Passkeys selects users with at least one passkey.
	Passkeys bool
	// OrgID selects the members of that organization.
	OrgID string
	// Now is the time UserLocked compares lock ends with.
	Now time.Time
	// After is the cursor returned with the previous page; "" for the
	// first. A cursor the store did not return is refused with an error
	// wrapping ErrNotFound.
	After string
	// Limit is the page size; zero or over 100 means 100.
	Limit int
}

// UserRow is one user in the console's list, with what the list shows of
// the user's factors and role.
type UserRow struct {
	User
	// Admin is whether the user is an administrator.
	Admin bool
	// TwoFactor is whether the user has a confirmed TOTP authenticator.
	TwoFactor bool
	// Passkeys is whether the user has at least one passkey.
	Passkeys bool
}

// UserDirectory lists users for the admin console.
type UserDirectory interface {
	// ListUsers returns one page of the users q selects, in the order of
	// their address key, and the cursor of the next page ("" on the
	// last). An unknown State is refused with an error.
	ListUsers(ctx context.Context, q UserQuery) (rows []*UserRow, next string, err error)
}

// AuditSearch selects audit events for the admin console's explorer,
// newest first. It is [AuditQuery] with more filters; zero fields do not
// filter and filters combine with AND.
type AuditSearch struct {
	// ActorID and SubjectID match the event's actor and subject exactly.
	ActorID   string
	SubjectID string
	// UserID matches events whose actor or subject is the user.
	UserID  string
	Action  string
	Outcome string
	// OrgID matches events of that organization.
	OrgID string
	// IP matches the client address exactly.
	IP    string
	Since time.Time // inclusive
	Until time.Time // exclusive
	// After is the cursor returned by the previous page; a cursor the
	// store did not return is refused with an error.
	After string
	// Limit is the page size; zero or over 100 means 100.
	Limit int
}

// AuditExplorer searches the audit log and reads one event, seal
// included.
type AuditExplorer interface {
	// SearchAudit returns one page of the events q selects, newest first
	// (by At, then ID), and the cursor of the next page ("" on the last).
	SearchAudit(ctx context.Context, q AuditSearch) (events []*AuditEvent, next string, err error)
	// AuditEventByID returns the event with id, with its seal (Seq,
	// PrevHash, Hash) once sealed, or ErrNotFound.
	AuditEventByID(ctx context.Context, id string) (*AuditEvent, error)
}
