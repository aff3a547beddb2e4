// Package store defines the persisted records of Sigra for Go and the small,
// context-first interfaces the feature packages use to read and write them.
//
// The adapters in store/sqlite and store/postgres implement every interface
// here and are the only packages that know SQL. Each feature package declares
// the store it needs as a composition of these interfaces (account.Store,
// mfa.Store, ...), so a host application that keeps Sigra's data in its own
// database implements only what the features it uses need, and runs the
// matching parts of the conformance suite in store/storetest.
//
// # Contracts
//
// Every method takes a [context.Context] first. Lookups return an error
// wrapping [ErrNotFound] when nothing matches, and writes that would break a
// uniqueness rule return an error wrapping [ErrConflict]; test with
// errors.Is. Times are stored and returned in UTC with at least millisecond
// precision. IDs are UUIDv7 strings; a method that creates a record fills in
// an empty ID and zero CreatedAt (from the wall clock, the one place a store
// reads it), writing the filled values back into the record it was given.
//
// A record with an expiry is live while its expiry is after now: at the
// expiry instant it has expired. Purge methods delete what expired strictly
// before their cutoff.
//
// Secrets are never stored raw: tokens, codes, session tokens, recovery
// codes and trusted-browser tokens arrive as SHA-256 digests (see package
// token), passwords as Argon2id hashes, TOTP secrets sealed.
//
// Time is always passed in by the caller ("now"), never read from the clock
// inside the store, so callers can inject a clock and tests do not sleep.
//
// # Transactions
//
// A transaction travels in the context. [Transactor.InTx] runs a function
// with a context bound to one transaction; every method of the same store
// called with that context, or with one derived from it, runs inside the
// transaction. So a change, its audit row and its queued email commit
// together or not at all, whichever small interfaces the caller holds: a
// transaction never requires the whole store, and adding an interface later
// changes no existing store.
//
// [ContextWithTx] and [TxFromContext] are the helpers an implementation uses
// to carry its transaction handle; [WithoutTx] hides every transaction of a
// context, for writes that must not roll back with it (a failed attempt).
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Errors returned by every implementation. Implementations wrap them with
// detail; callers test with errors.Is.
var (
	// ErrNotFound: no record matches (or it is expired, revoked or used up,
	// where the method says so).
	ErrNotFound = errors.New("sigra/store: not found")
	// ErrConflict: the write would break a uniqueness rule, such as an
	// email address already taken (compared by key: see NormalizeEmail).
	ErrConflict = errors.New("sigra/store: conflict")
	// ErrReplay: a one-time value (a TOTP time step) was already used.
	ErrReplay = errors.New("sigra/store: already used")
	// ErrUnavailable: the store cannot be reached or did not answer in
	// time (connection refused or lost, no connection free within the
	// adapter's wait, a statement, lock or busy timeout, the deadline of
	// the caller's context). It is transient: the same call may succeed
	// later. It wraps [sigra.ErrBusy], so errors.Is(err, sigra.ErrBusy)
	// holds too and handlers answer it as they answer a full hashing pool,
	// with 503 and Retry-After. A call whose own context was cancelled
	// fails with an error wrapping context.Canceled instead, not
	// ErrUnavailable: the caller went away, the store did not fail.
	ErrUnavailable error = unavailableError{}
)

// Transactor runs functions in one transaction of a store. Implementations
// are safe for concurrent use.
type Transactor interface {
	// InTx runs fn with a context bound to a new transaction: every method
	// of this store called with that context (or one derived from it) runs
	// in the transaction. If fn returns an error or panics, the transaction
	// rolls back; otherwise it commits and InTx returns the commit's error.
	// Called with a context that already carries a transaction of this
	// store, InTx runs fn in that transaction (nested calls join the outer
	// one, which alone commits). A context carrying another store's
	// transaction, or one hidden by [WithoutTx], does not join it.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// User is a user account record.
type User struct {
	ID string
	// Email is the address as entered. Uniqueness is on its key
	// ([NormalizeEmail]): two users cannot hold addresses that differ only
	// in case, width, Unicode normalisation or the IDNA form of the domain.
	Email string
	// PasswordHash is a PHC string (see package password); empty when the
	// user has no password (magic link or OAuth only).
	PasswordHash string
	// EmailConfirmedAt is when Email was confirmed; zero if not.
	EmailConfirmedAt time.Time

	// FailedLogins is the counter of the password lock ([LockPassword]),
	// which [Users.RecordFailure] counts and [Users.ClearFailures] resets;
	// LockedUntil is when a password lockout ends. The library's flows do
	// not count password failures here: every password attempt first
	// reserves a slot of a [Limiter] window kept for the address, before
	// any hashing (a right password frees the slots), and only when the
	// attempt that took the window's last slot fails is the lock engaged,
	// through RecordFailure with a limit of one, which sets LockedUntil and
	// leaves the counter at zero. So FailedLogins is zero unless something
	// else counted here (a host calling RecordFailure itself, or an earlier
	// version that counted failures here). The flows read it only to decide
	// whether to reset it after a right password; an emailed sign-in link,
	// a password reset and a password change reset it either way.
	FailedLogins int
	LockedUntil  time.Time
	// FailedMFA counts consecutive second-factor failures since the last
	// success or lockout ([LockMFA]); MFALockedUntil is when a
	// second-factor lockout ends.
	FailedMFA      int
	MFALockedUntil time.Time

	// DisabledAt is when an administrator disabled the account; zero if
	// enabled. A disabled user cannot sign in and is signed out.
	DisabledAt time.Time
	// DeletionDueAt is when a scheduled deletion takes effect; zero if none
	// is scheduled.
	DeletionDueAt time.Time

	CreatedAt time.Time
	// UpdatedAt is when the account last changed: SetPasswordHash,
	// ConfirmEmail (when it confirms), SetDisabled, ScheduleDeletion,
	// ChangeEmail and AnonymizeUser set it to their now.
	UpdatedAt time.Time
}

// Lock names a lockout counter on a user.
type Lock int

// Lockout counters.
const (
	// LockPassword counts password failures.
	LockPassword Lock = iota
	// LockMFA counts second-factor failures (TOTP and recovery codes).
	LockMFA
)

// Users stores user accounts.
//
// Addresses are compared by their keys: two addresses are the same when
// [NormalizeEmail] gives them one key (case, width, invisible characters,
// Unicode normalization and the IDNA form of the domain aside). An
// implementation stores the key beside the address as entered, and keeps
// keys unique among users and among unexpired reservations.
type Users interface {
	// CreateUser inserts u, filling an empty ID and zero CreatedAt and
	// UpdatedAt. It returns ErrConflict if the email is held by another user
	// or reserved by another user's pending email change, compared by key.
	// A reservation counts while it is unexpired at u.CreatedAt (CreateUser
	// has no other "now").
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns the user with id, or ErrNotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail returns the user whose address has the key of email, or
	// ErrNotFound. (A user who kept an older key in a collision when keys
	// were recomputed is found by their own address as entered then.)
	UserByEmail(ctx context.Context, email string) (*User, error)
	// SetPasswordHash replaces the user's password hash (empty removes the
	// password). ErrNotFound if there is no such user.
	SetPasswordHash(ctx context.Context, id, hash string, now time.Time) error
	// ConfirmEmail marks the user's address confirmed at now, but only if
	// the user's current address has the key of email: a link sent to an
	// old address confirms nothing. Confirming an already
	// confirmed address keeps the first time. ErrNotFound if the user does
	// not exist or holds another address.
	ConfirmEmail(ctx context.Context, id, email string, now time.Time) error
	// RecordFailure atomically counts one failure on the given lock. When the
	// count reaches limit, the counter resets to zero and the lock holds
	// until now+lockFor, which is returned; otherwise the zero time is
	// returned. ErrNotFound if there is no such user.
	RecordFailure(ctx context.Context, id string, lock Lock, limit int, lockFor time.Duration, now time.Time) (lockedUntil time.Time, err error)
	// ClearFailures resets the counter and lock time of the given lock.
	ClearFailures(ctx context.Context, id string, lock Lock, now time.Time) error
	// SetDisabled disables the user at the given time, or enables the user
	// when at is zero. Disabling also revokes every live session of the user
	// at now, in the same transaction, as Sessions.RevokeUserSessions does
	// (tombstones that saving cannot undo): the next request of any of them
	// finds no session. Enabling revives none. ErrNotFound if there is no
	// such user; then nothing changes.
	SetDisabled(ctx context.Context, id string, at time.Time, now time.Time) error
	// ScheduleDeletion sets when the user's deletion takes effect, or cancels
	// a scheduled deletion when due is zero. ErrNotFound if no such user.
	ScheduleDeletion(ctx context.Context, id string, due time.Time, now time.Time) error
	// UsersDueForDeletion returns up to limit users whose deletion is due at
	// or before now, oldest due first.
	UsersDueForDeletion(ctx context.Context, now time.Time, limit int) ([]*User, error)
	// DeleteUser removes the user and everything that belongs to it
	// (sessions, tokens, factors, reservations, memberships). Audit rows
	// stay. An organization the user owned alone passes to its
	// longest-standing admin, else member, and one left without members is
	// scheduled for deletion (see [Memberships]). ErrNotFound if there is no
	// such user.
	DeleteUser(ctx context.Context, id string) error
	// AnonymizeUser replaces the user's address with a unique placeholder,
	// removes the password, cancels the scheduled deletion, disables the
	// account and removes everything that belongs to it as DeleteUser does,
	// keeping the row (and its ID) for records that refer to it.
	AnonymizeUser(ctx context.Context, id string, now time.Time) error

	// ReserveEmail records a pending change of the user's address to email,
	// valid until expires, replacing any earlier reservation of the user.
	// ErrConflict if email is held by another user or reserved by another
	// user's unexpired reservation (compared by key).
	ReserveEmail(ctx context.Context, id, email string, expires, now time.Time) error
	// EmailReservation returns the user's unexpired reserved address and its
	// expiry, or ErrNotFound.
	EmailReservation(ctx context.Context, id string, now time.Time) (email string, expires time.Time, err error)
	// CancelEmailReservation removes the user's reservation, if any.
	CancelEmailReservation(ctx context.Context, id string) error
	// ChangeEmail makes the user's unexpired reservation for email the
	// user's address, confirmed at now, and removes the reservation.
	// ErrNotFound if the user has no such unexpired reservation;
	// ErrConflict if another user took the address meanwhile.
	ChangeEmail(ctx context.Context, id, email string, now time.Time) error
}

// SessionState is a session's position in the auth state machine; it uses
// the same strings as sigra.State.
type SessionState string

// Session states.
const (
	SessionAnonymous     SessionState = "anonymous"
	SessionPending       SessionState = "pending"
	SessionAuthenticated SessionState = "authenticated"
)

// Session is a browser session row. The row is keyed by the SHA-256 digest
// of the token in the cookie; the token itself is never stored.
type Session struct {
	// Digest is the SHA-256 digest of the session token (32 bytes).
	Digest []byte
	// ID is a public identifier for the row, used in device lists and
	// revocation forms. It is not a credential.
	ID string
	// Data is the session's encoded values (the scs blob).
	Data []byte

	UserID string // empty while anonymous
	State  SessionState
	AAL    int
	// Methods are the authentication methods used, in order.
	Methods      []string
	AuthTime     time.Time
	SudoTime     time.Time
	ActiveOrg    string
	Impersonator string
	// Remember marks a "remember me" session (long absolute lifetime,
	// persistent cookie).
	Remember bool

	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end of the session.
	ExpiresAt time.Time
	// RevokedAt is when the session was revoked; zero while live.
	RevokedAt time.Time

	IP        string
	UserAgent string
}

// Sessions stores browser sessions.
//
// Revocation is a tombstone: a revoked row stays (until it expires and is
// purged) so that a request in flight when it was revoked cannot bring it
// back by saving.
type Sessions interface {
	// SessionByDigest returns the live session with the given digest: not
	// revoked, ExpiresAt after now, and LastSeenAt after now-idle when idle
	// is positive. Otherwise ErrNotFound.
	SessionByDigest(ctx context.Context, digest []byte, now time.Time, idle time.Duration) (*Session, error)
	// SessionWithUser is SessionByDigest that also returns the session's
	// user (nil for an anonymous session) in the same round trip.
	//
	// The records it returns are read-only: the caller must not change
	// them, nor the slices they hold (Data, Digest, Methods), and copies
	// what it wants to change. A store may thus return the same records
	// to several calls, and to concurrent ones: the SQLite adapter's
	// session cache answers every request of a session with the records
	// it read once. This is the lookup of every authenticated request.
	SessionWithUser(ctx context.Context, digest []byte, now time.Time, idle time.Duration) (*Session, *User, error)
	// SaveSession inserts s, or updates the row with its digest: every field
	// but Digest, ID, CreatedAt and RevokedAt. It never clears RevokedAt and
	// never re-creates a revoked row: saving a revoked session changes
	// nothing and returns nil. An empty ID and zero CreatedAt are filled on
	// insert.
	//
	// ActiveOrg is stored only while the user is a member of it: the store
	// checks the membership in the statement that writes the row and
	// stores "" when s.UserID is not (or no longer) a member of
	// s.ActiveOrg, so a request that loaded the session before the user was
	// removed from the organization cannot write it back. s itself is left
	// as it is.
	SaveSession(ctx context.Context, s *Session) error
	// TouchSession sets LastSeenAt, IP and user agent of a live session.
	// Revoked or missing rows are left alone and nil is returned.
	TouchSession(ctx context.Context, digest []byte, seen time.Time, ip, userAgent string) error
	// RevokeSession sets RevokedAt on the session with digest if it is not
	// already revoked. Missing rows are not an error.
	RevokeSession(ctx context.Context, digest []byte, now time.Time) error
	// RevokeSessionByID revokes the session with the public id that belongs
	// to userID. ErrNotFound if the user has no such live session: another
	// user's id is not found.
	RevokeSessionByID(ctx context.Context, userID, id string, now time.Time) error
	// RevokeUserSessions revokes every live session of userID except the
	// one whose digest is except (nil revokes all), and returns how many.
	RevokeUserSessions(ctx context.Context, userID string, except []byte, now time.Time) (int, error)
	// UserSessions lists the live (unrevoked, unexpired) sessions of
	// userID, most recently seen first.
	UserSessions(ctx context.Context, userID string, now time.Time) ([]*Session, error)
	// PurgeSessions deletes rows that expired, or were revoked, before
	// before, and returns how many.
	PurgeSessions(ctx context.Context, before time.Time) (int, error)
}

// Token purposes used by the account flows. Purposes are free-form strings;
// a token consumed with the wrong purpose is not found.
const (
	PurposeConfirm      = "confirm"
	PurposeConfirmCode  = "confirm_code"
	PurposeReset        = "reset"
	PurposeMagicLink    = "magic_link"
	PurposeEmailChange  = "email_change"
	PurposeDeleteCancel = "delete_cancel"
)

// Token is a single-use emailed token or code. Only its digest is stored.
type Token struct {
	// Digest is the SHA-256 digest of the token or code.
	Digest  []byte
	Purpose string
	UserID  string
	// SentTo is the address the token was sent to; flows refuse a token
	// whose address no longer matches the user's.
	SentTo string
	// Data is purpose-specific, non-secret payload (for example the new
	// address of an email change).
	Data      string
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Tokens stores single-use tokens and codes.
type Tokens interface {
	// CreateToken stores t. ErrConflict if a token with the same purpose and
	// digest exists.
	CreateToken(ctx context.Context, t *Token) error
	// PeekToken returns the unexpired token with purpose and digest without
	// consuming it, or ErrNotFound.
	PeekToken(ctx context.Context, purpose string, digest []byte, now time.Time) (*Token, error)
	// ConsumeToken deletes and returns the unexpired token with purpose and
	// digest in one atomic step: of concurrent consumers of one token,
	// exactly one gets it and the others get ErrNotFound.
	ConsumeToken(ctx context.Context, purpose string, digest []byte, now time.Time) (*Token, error)
	// ConsumeCode is ConsumeToken for short codes, scoped to one user: the
	// user's unexpired code with purpose and digest is deleted and returned
	// if it has had fewer than maxAttempts failed attempts. When no code
	// matches, every unexpired code of that user and purpose counts one
	// failed attempt and ErrNotFound is returned.
	ConsumeCode(ctx context.Context, userID, purpose string, digest []byte, maxAttempts int, now time.Time) (*Token, error)
	// DeleteUserTokens deletes the user's tokens with the given purposes (all
	// purposes when none are given) and returns how many.
	DeleteUserTokens(ctx context.Context, userID string, purposes ...string) (int, error)
	// PurgeTokens deletes tokens that expired before before.
	PurgeTokens(ctx context.Context, before time.Time) (int, error)
}

// LimitResult is the outcome of one limiter hit.
type LimitResult struct {
	// Allowed reports whether this hit is within the limit.
	Allowed bool
	// Count is the number of hits in the current window, this one included.
	Count int
	// Reset is when the current window ends.
	Reset time.Time
}

// Limiter is a fixed-window rate-limit counter held in the store, so limits
// hold across every instance of an application.
//
// The counters must be exact under concurrency and visible to every
// instance as soon as they commit, but they need not survive a crash of
// the database: one that loses them only starts every window again, and
// the lockout's lasting state is the user's ([Users.RecordFailure]). An
// implementation may keep them where commits are cheaper for that (the
// PostgreSQL adapter keeps them in an unlogged table).
type Limiter interface {
	// Hit atomically counts one hit on key in the window that contains now
	// (a window starts at the first hit after the previous one ended and
	// lasts window). The hit is allowed when the window's count, this hit
	// included, is at most limit: of M concurrent hits on a fresh key,
	// exactly min(M, limit) are allowed.
	Hit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (LimitResult, error)
	// ResetLimit forgets key's counter.
	ResetLimit(ctx context.Context, key string) error
	// Refund gives back one hit of key's window that ends at reset (the
	// Reset a Hit returned), atomically: for a hit whose work was never
	// done (the server was too busy). Nothing changes when that window
	// has ended (a later window is never touched) or its count is zero.
	Refund(ctx context.Context, key string, reset time.Time) error
	// PurgeLimits deletes counters whose window ended before before.
	PurgeLimits(ctx context.Context, before time.Time) (int, error)
}

// LimitHit is one hit of a [SequenceLimiter]'s sequence: one count on Key
// in a window of Window, allowed while the window's count, this hit
// included, is at most Limit (as [Limiter.Hit] counts it).
type LimitHit struct {
	// Key names the counter, its rule's name first ("login-ip:...").
	Key string
	// Limit is the most hits the window allows; zero refuses every hit.
	Limit int
	// Window is the length of the counter's fixed window; it must be
	// positive.
	Window time.Duration
}

// SequenceLimiter is an optional capability of a [Limiter]: it counts a
// sequence of hits, each guarding the next, in one write of the store. A
// password sign-in is such a sequence: the client's address, the account,
// then a place of the account's password attempts. Both adapters
// implement it; on PostgreSQL the sequence is one statement, one round trip
// where a transaction of hits one by one takes two more than the hits.
type SequenceLimiter interface {
	// HitSequence counts hits in order, each as Hit would count it at now,
	// and stops after the first refused one: the hits after it are not
	// counted. It returns the results of the hits counted, in order, so a
	// hit was refused exactly when the last result is not Allowed. The
	// hits are written together or not at all, in the transaction ctx
	// carries if any. Hits whose keys repeat, whose window is not positive
	// or whose limit is negative are refused with an error before anything
	// is counted (see [CheckLimitHits]); an empty sequence counts nothing
	// and returns no results. Sequences that share keys should list them
	// in the same order: the hits hold their counters until the write
	// commits, so two sequences taking the same two counters in opposite
	// orders can deadlock, and a database that detects it fails one of
	// them (PostgreSQL does).
	HitSequence(ctx context.Context, hits []LimitHit, now time.Time) ([]LimitResult, error)
}

// CheckLimitHits returns an error naming the first hit of a
// [SequenceLimiter] sequence that is not valid: a repeated key, a window
// that is not positive or a negative limit. Adapters call it before
// counting anything.
func CheckLimitHits(hits []LimitHit) error {
	for i, h := range hits {
		if h.Window <= 0 || h.Limit < 0 {
			return fmt.Errorf("sigra/store: limit hit %d (%q): invalid limit %d or window %v", i, h.Key, h.Limit, h.Window)
		}
		for _, prev := range hits[:i] {
			if prev.Key == h.Key {
				return fmt.Errorf("sigra/store: limit hit %d: key %q is already in the sequence", i, h.Key)
			}
		}
	}
	return nil
}

// Message is an outgoing email. Body fields may carry secrets (an emailed
// link); the mail package seals them before they reach the store, and
// MarkSent and GiveUp erase them.
type Message struct {
	ID string
	// To is the recipient address.
	To string
	// Sealed is the sealed message body (subject, text and HTML parts).
	Sealed []byte
	// Attempts counts failed delivery attempts.
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	// SentAt is when the message was delivered; zero while queued.
	SentAt time.Time
	// GivenUpAt is when delivery was abandoned for good (see
	// [Outbox.GiveUp]); zero while queued.
	GivenUpAt time.Time
}

// Outbox is a durable queue of outgoing email.
//
// A message is queued from Enqueue until it is either sent (MarkSent) or
// given up on (GiveUp). Only queued messages are claimed and counted as
// pending. Sent and given-up rows keep the recipient and the delivery
// record, without the sealed body, until PurgeMessages deletes them.
type Outbox interface {
	// Enqueue queues m for delivery at m.NextAttemptAt (at m.CreatedAt if
	// zero), filling an empty ID and zero CreatedAt.
	Enqueue(ctx context.Context, m *Message) error
	// ClaimMessages returns up to limit queued messages (neither sent nor
	// given up) due at or before now and not claimed by another worker,
	// and leases them until now+lease: another worker cannot claim them
	// before then. A worker that dies leaves its messages to be claimed
	// again after the lease.
	ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Message, error)
	// MarkSent records delivery and erases the sealed body.
	MarkSent(ctx context.Context, id string, now time.Time) error
	// MarkFailed records a failed attempt: Attempts+1, LastError, and the
	// time of the next attempt.
	MarkFailed(ctx context.Context, id string, errText string, next time.Time) error
	// GiveUp records the final failure of the queued message with id:
	// Attempts+1, LastError set to errText, GivenUpAt set to now, and the
	// sealed body erased (it will never be sent). The message is never
	// claimed again and no longer counts as pending; any lease on it ends.
	// ErrNotFound if no queued message has id: none at all, or it was
	// already sent or given up (of concurrent calls for one message,
	// exactly one succeeds).
	GiveUp(ctx context.Context, id string, errText string, now time.Time) error
	// PendingMessages counts queued messages: neither sent nor given up,
	// whether due or not, leased or not.
	PendingMessages(ctx context.Context) (int, error)
	// PurgeMessages deletes the messages sent before before and those
	// given up before before (strictly), and returns how many. Queued
	// messages are never deleted, however old.
	PurgeMessages(ctx context.Context, before time.Time) (int, error)
}

// AuditEvent is one row of the audit log.
type AuditEvent struct {
	ID     string
	At     time.Time
	Action string
	// ActorID is who did it (empty for anonymous); SubjectID is the user it
	// was done to or for; ImpersonatorID is the admin acting as ActorID.
	ActorID        string
	SubjectID      string
	ImpersonatorID string
	IP             string
	UserAgent      string
	// Outcome is "success" or "failure".
	Outcome  string
	Metadata map[string]string
	// OrgID is the organization the event happened in; empty when none.
	OrgID string
	// Seq is the row's place in the audit chain, from 1; 0 while the row
	// is not sealed yet (see [AuditChain]). AppendAudit ignores it.
	Seq int64
	// PrevHash is the hash of the row sealed before this one (empty for
	// the first); Hash is this row's own. Both are nil while the row is
	// not sealed. AppendAudit ignores them.
	PrevHash, Hash []byte
}

// AuditQuery selects audit events, newest first. Zero fields do not filter.
type AuditQuery struct {
	// UserID matches events whose actor or subject is the user.
	UserID string
	// OrgID matches events of that organization (AuditEvent.OrgID).
	OrgID  string
	Action string
	Since  time.Time // inclusive
	Until  time.Time // exclusive
	// After is the cursor returned by the previous page.
	After string
	// Limit is the page size; implementations cap it (default and maximum
	// 100 when zero or larger).
	Limit int
}

// AuditLog stores audit events. Rows are append-only.
type AuditLog interface {
	// AppendAudit stores e, filling an empty ID and zero At.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// QueryAudit returns one page of matching events, newest first, and the
	// cursor of the next page ("" on the last page).
	QueryAudit(ctx context.Context, q AuditQuery) (events []*AuditEvent, next string, err error)
}

// TOTPSecret is a user's TOTP authenticator. The secret is sealed.
type TOTPSecret struct {
	UserID string
	// Sealed is the sealed secret (see internal/seal).
	Sealed []byte
	// ConfirmedAt is when enrollment was confirmed; zero while pending.
	ConfirmedAt time.Time
	// LastStep is the last accepted time step (RFC 6238); steps at or
	// below it are refused.
	LastStep  int64
	CreatedAt time.Time
}

// TOTP stores TOTP secrets.
type TOTP interface {
	// SavePendingTOTP stores s as the user's pending (unconfirmed) secret,
	// replacing an earlier pending one. ErrConflict if the user already has
	// a confirmed secret.
	SavePendingTOTP(ctx context.Context, s *TOTPSecret) error
	// TOTPByUser returns the user's secret, pending or confirmed, or
	// ErrNotFound.
	TOTPByUser(ctx context.Context, userID string) (*TOTPSecret, error)
	// UseTOTPStep atomically advances LastStep to step if step is greater
	// than LastStep, and marks a pending secret confirmed at now when
	// confirm is true. ErrReplay if step is at or below LastStep (of two
	// concurrent calls with one step, exactly one succeeds); ErrNotFound if
	// the user has no secret, or confirm is false and the secret is pending.
	UseTOTPStep(ctx context.Context, userID string, step int64, confirm bool, now time.Time) error
	// DeleteTOTP removes the user's secret. Missing is not an error.
	DeleteTOTP(ctx context.Context, userID string) error
}

// RecoveryCodes stores MFA recovery codes as digests.
type RecoveryCodes interface {
	// ReplaceRecoveryCodes replaces the user's codes with digests.
	ReplaceRecoveryCodes(ctx context.Context, userID string, digests [][]byte, now time.Time) error
	// UseRecoveryCode atomically marks the user's unused code with digest
	// used and returns how many unused codes remain. ErrNotFound if no
	// unused code matches (of concurrent uses of one code, one succeeds).
	UseRecoveryCode(ctx context.Context, userID string, digest []byte, now time.Time) (remaining int, err error)
	// CountRecoveryCodes returns how many unused codes the user has.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	// DeleteRecoveryCodes removes all of the user's codes.
	DeleteRecoveryCodes(ctx context.Context, userID string) error
}

// TrustedBrowser is a browser on which the user chose to skip the second
// factor for a while. Only the digest of the cookie token is stored.
type TrustedBrowser struct {
	ID        string
	UserID    string
	Digest    []byte
	UserAgent string
	IP        string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TrustedBrowsers stores trusted-browser grants.
type TrustedBrowsers interface {
	// CreateTrustedBrowser stores b, filling an empty ID and zero CreatedAt.
	CreateTrustedBrowser(ctx context.Context, b *TrustedBrowser) error
	// TrustedBrowserByDigest returns the user's unexpired grant with digest,
	// or ErrNotFound (a grant of another user is not found).
	TrustedBrowserByDigest(ctx context.Context, userID string, digest []byte, now time.Time) (*TrustedBrowser, error)
	// TrustedBrowsersByUser lists the user's unexpired grants, newest first.
	TrustedBrowsersByUser(ctx context.Context, userID string, now time.Time) ([]*TrustedBrowser, error)
	// RevokeTrustedBrowser deletes the user's grant with id. ErrNotFound if
	// the user has no such grant.
	RevokeTrustedBrowser(ctx context.Context, userID, id string) error
	// RevokeTrustedBrowsers deletes all of the user's grants and returns
	// how many.
	RevokeTrustedBrowsers(ctx context.Context, userID string) (int, error)
}

// WebhookSecret is one signing secret of a webhook endpoint, sealed with
// internal/seal (package webhook seals and opens it).
type WebhookSecret struct {
	// Sealed is the sealed secret.
	Sealed []byte
	// KeyID is the id of the seal key that sealed it, so that values
	// sealed with a retiring key can be found and re-sealed.
	KeyID     string
	CreatedAt time.Time
	// ExpiresAt is when an old secret stops signing (the end of a
	// rotation's overlap); zero for the current secret.
	ExpiresAt time.Time
}

// WebhookEndpoint is a URL subscribed to event types. Deliveries to it are
// signed with Secret and, during a rotation's overlap (until
// OldSecret.ExpiresAt), with OldSecret too.
type WebhookEndpoint struct {
	ID  string
	URL string
	// EventTypes are the event types the endpoint receives.
	EventTypes []string
	Secret     WebhookSecret
	// OldSecret is the secret Secret replaced; its Sealed is nil when
	// there is none.
	OldSecret WebhookSecret
	// Enabled endpoints receive deliveries; deliveries to a disabled one
	// stay queued, and are not claimed, until it is enabled again.
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// WebhookDelivery is one event queued for one endpoint. Its ID is the
// delivery's webhook-id, the receiver's idempotency key: every attempt,
// retries and replays included, carries it.
type WebhookDelivery struct {
	ID         string
	EndpointID string
	EventType  string
	// Payload is the request body, sent as is.
	Payload []byte
	// Attempts counts failed attempts since the delivery was queued or
	// last replayed.
	Attempts      int
	NextAttemptAt time.Time
	// LastStatus is the HTTP status of the last attempt (0 when it got no
	// response); LastError says why it failed.
	LastStatus int
	LastError  string
	CreatedAt  time.Time
	// DeliveredAt is when an attempt succeeded; zero otherwise.
	DeliveredAt time.Time
	// DeadAt is when delivery was abandoned (the dead letter); zero
	// otherwise.
	DeadAt time.Time
}

// Webhooks stores webhook endpoints and the queue of their deliveries.
//
// A delivery is queued from EnqueueWebhook until it is delivered
// (MarkWebhookDelivered) or dead (MarkWebhookDead); ReplayWebhook queues a
// delivered or dead one again, with the same ID. Deleting an endpoint
// deletes its deliveries.
type Webhooks interface {
	// CreateWebhookEndpoint stores e, filling an empty ID and zero
	// CreatedAt and UpdatedAt.
	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// WebhookEndpoint returns the endpoint with id, or ErrNotFound.
	WebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error)
	// WebhookEndpoints returns every endpoint, oldest first.
	WebhookEndpoints(ctx context.Context) ([]*WebhookEndpoint, error)
	// RotateWebhookSecret makes secret the endpoint's current secret, and
	// the current one its OldSecret, signing until oldExpires (any
	// earlier OldSecret is dropped). ErrNotFound if there is no such
	// endpoint.
	RotateWebhookSecret(ctx context.Context, id string, secret WebhookSecret, oldExpires, now time.Time) error
	// SetWebhookEndpointEnabled enables or disables the endpoint.
	// ErrNotFound if there is no such endpoint.
	SetWebhookEndpointEnabled(ctx context.Context, id string, enabled bool, now time.Time) error
	// DeleteWebhookEndpoint deletes the endpoint and its deliveries.
	// ErrNotFound if there is no such endpoint.
	DeleteWebhookEndpoint(ctx context.Context, id string) error

	// EnqueueWebhook queues d, due at d.NextAttemptAt (at d.CreatedAt if
	// zero), filling an empty ID and zero CreatedAt. With a context that
	// carries a transaction it is queued in it, and commits or rolls back
	// with it. ErrNotFound if d.EndpointID names no endpoint; ErrConflict
	// if the ID is taken.
	EnqueueWebhook(ctx context.Context, d *WebhookDelivery) error
	// ClaimWebhooks returns up to limit queued deliveries (neither
	// delivered nor dead) of enabled endpoints, due at or before now and
	// not claimed by another worker, and leases them until now+lease:
	// another worker, of this process or another, cannot claim them
	// before then. Of concurrent claims, each delivery goes to one.
	ClaimWebhooks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*WebhookDelivery, error)
	// MarkWebhookDelivered records the successful attempt of a queued
	// delivery: DeliveredAt, LastStatus, and LastError cleared; the lease
	// ends. ErrNotFound if no queued delivery has id.
	MarkWebhookDelivered(ctx context.Context, id string, status int, now time.Time) error
	// MarkWebhookFailed records a failed attempt of a queued delivery:
	// Attempts+1, LastStatus, LastError, and when to try next; the lease
	// ends. ErrNotFound if no queued delivery has id.
	MarkWebhookFailed(ctx context.Context, id string, status int, errText string, next time.Time) error
	// MarkWebhookDead records the last failed attempt of a queued
	// delivery: Attempts+1, LastStatus, LastError and DeadAt. It is never
	// claimed again unless replayed. ErrNotFound if no queued delivery has
	// id (of concurrent calls, one succeeds).
	MarkWebhookDead(ctx context.Context, id string, status int, errText string, now time.Time) error
	// ReplayWebhook queues a delivered or dead delivery again, due at now,
	// with its ID and payload, Attempts zero and DeliveredAt and DeadAt
	// cleared. ErrNotFound if there is no such delivery; ErrConflict if it
	// is still queued.
	ReplayWebhook(ctx context.Context, id string, now time.Time) error
	// WebhookDelivery returns the delivery with id, in any state, or
	// ErrNotFound.
	WebhookDelivery(ctx context.Context, id string) (*WebhookDelivery, error)
	// PendingWebhooks counts queued deliveries: neither delivered nor
	// dead, due or not, leased or not.
	PendingWebhooks(ctx context.Context) (int, error)
}

// MigrationState is one schema migration of a store adapter and whether a
// database has it, as the adapters' MigrationStatus methods report it.
type MigrationState struct {
	// Version is the migration's number (0001_init.sql is 1).
	Version int
	// Name is the file's name without the number and extension ("init").
	Name string
	// AppliedAt is when the database applied it; zero while pending.
	AppliedAt time.Time
	// Unknown marks a version the database has that this build does not
	// embed: applied by a newer build.
	Unknown bool
}

// MergeMigrationStates is for store adapters: it returns the embedded
// migrations in order, each with the AppliedAt of the applied state of the
// same version, then the applied versions that are not embedded, marked
// Unknown, in order of version.
func MergeMigrationStates(embedded, applied []MigrationState) []MigrationState {
	byVersion := make(map[int]MigrationState, len(applied))
	for _, a := range applied {
		byVersion[a.Version] = a
	}
	out := make([]MigrationState, 0, len(embedded)+len(applied))
	for _, m := range embedded {
		if a, ok := byVersion[m.Version]; ok {
			m.AppliedAt = a.AppliedAt
			delete(byVersion, m.Version)
		}
		out = append(out, m)
	}
	rest := make([]MigrationState, 0, len(byVersion))
	for _, a := range byVersion {
		a.Unknown = true
		rest = append(rest, a)
	}
	slices.SortFunc(rest, func(a, b MigrationState) int { return a.Version - b.Version })
	return append(out, rest...)
}

// Built-in organization roles. Roles are free-form strings: an application
// may give members roles of its own beside these. Only RoleOwner means
// something to the store (the last-owner guard, see [Memberships]).
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// SlugRedirectFor is how long an organization's old slug keeps redirecting
// to it after a rename: [Orgs.RenameOrg] keeps the old slug until
// now+SlugRedirectFor, and no other organization can take it before then.
const SlugRedirectFor = 90 * 24 * time.Hour

// ErrLastOwner is returned, wrapped, by a change of membership that would
// leave an organization without an owner: removing, demoting, or the
// leaving of its last owner. Nothing changes.
var ErrLastOwner = errors.New("sigra/store: the organization's last owner")

// Org is an organization (a tenant): a group of users who share the
// application's data.
type Org struct {
	ID   string
	Name string
	// Slug names the organization in URLs. Slugs are unique and
	// case-insensitive: the store keeps them lower-case (strings.ToLower)
	// and lower-cases the slugs it is given, writing the stored form back
	// into the record. Checking a slug's form (URL-safe characters,
	// reserved words) is the caller's; the store refuses only an empty
	// slug and one with spaces around it.
	Slug string
	// CreatedBy is the user who created the organization; it becomes
	// empty when that user is deleted.
	CreatedBy string
	CreatedAt time.Time
	// UpdatedAt is when the name, the slug, the policy or the scheduled
	// deletion last changed.
	UpdatedAt time.Time
	// DeletionDueAt is when a scheduled deletion takes effect; zero if none
	// is scheduled.
	DeletionDueAt time.Time
	// Policy is what the organization asks of its members. CreateOrg
	// stores it as given; SetOrgPolicy changes it.
	Policy OrgPolicy
}

// OrgPolicy is what an organization asks of its members.
type OrgPolicy struct {
	// RequireTwoFactor sends members who signed in with one factor to add
	// a second before they reach the organization.
	RequireTwoFactor bool
}

// Orgs stores organizations and their slugs.
//
// Slugs are one namespace: an organization's current slug and the old
// slugs that still redirect to it (for [SlugRedirectFor] after a rename)
// are each held by one organization at a time.
type Orgs interface {
	// CreateOrg inserts o, filling an empty ID and zero CreatedAt and
	// UpdatedAt, and makes o.CreatedBy its first member, with RoleOwner,
	// in the same transaction. ErrConflict if the slug is another
	// organization's current slug or an old slug whose redirect is live at
	// o.CreatedAt; ErrNotFound if there is no user o.CreatedBy. An empty
	// name, slug or CreatedBy is refused with an error, and nothing is
	// stored.
	CreateOrg(ctx context.Context, o *Org) error
	// OrgByID returns the organization with id, or ErrNotFound.
	OrgByID(ctx context.Context, id string) (*Org, error)
	// OrgBySlug returns the organization whose current slug is slug
	// (compared lower-cased), with old false, or the one an old slug
	// still redirects to at now, with old true (the caller redirects to
	// the current slug). ErrNotFound otherwise.
	OrgBySlug(ctx context.Context, slug string, now time.Time) (o *Org, old bool, err error)
	// UserOrgBySlug is OrgBySlug and the user's Membership in one read:
	// the organization slug names at now (old true when slug is an old
	// slug whose redirect is live), with userID's membership of it.
	// ErrNotFound alike when slug names no organization and when the user
	// is not a member of the one it names.
	UserOrgBySlug(ctx context.Context, userID, slug string, now time.Time) (uo *UserOrg, old bool, err error)
	// UserOrg is OrgByID and the user's Membership in one read: the
	// organization with id, with userID's membership of it. ErrNotFound
	// alike when there is no such organization and when the user is not a
	// member of it.
	UserOrg(ctx context.Context, userID, id string) (*UserOrg, error)
	// RenameOrg sets the organization's name and slug. When the slug
	// changes, the old one redirects to the organization until
	// now+SlugRedirectFor; taking back one of its own old slugs ends that
	// redirect. ErrConflict if another organization holds slug (current,
	// or old and live at now); ErrNotFound if there is no such
	// organization. An empty name or slug is refused; nothing changes.
	RenameOrg(ctx context.Context, id, name, slug string, now time.Time) error
	// ScheduleOrgDeletion sets when the organization's deletion takes
	// effect, or cancels a scheduled deletion when due is zero.
	// ErrNotFound if there is no such organization.
	ScheduleOrgDeletion(ctx context.Context, id string, due, now time.Time) error
	// SetOrgPolicy sets the organization's policy, and its UpdatedAt to
	// now. ErrNotFound if there is no such organization.
	SetOrgPolicy(ctx context.Context, id string, p OrgPolicy, now time.Time) error
	// PurgeOrgSlugs deletes the old slugs whose redirect ended before
	// before, and returns how many it deleted. Current slugs are never
	// deleted.
	PurgeOrgSlugs(ctx context.Context, before time.Time) (int, error)
	// OrgsDueForDeletion returns up to limit organizations whose deletion
	// is due at or before now, oldest due first.
	OrgsDueForDeletion(ctx context.Context, now time.Time, limit int) ([]*Org, error)
	// DeleteOrg removes the organization with its slugs, memberships and
	// invitations, and clears the active organization of every session
	// that had it, in one transaction. ErrNotFound if there is no such
	// organization.
	DeleteOrg(ctx context.Context, id string) error
}

// Membership is a user's membership of an organization.
type Membership struct {
	OrgID  string
	UserID string
	// Role is RoleOwner, RoleAdmin, RoleMember or a role of the
	// application's own.
	Role      string
	CreatedAt time.Time
}

// UserOrg is one organization of a user, with the user's membership.
type UserOrg struct {
	Org        Org
	Membership Membership
}

// Memberships stores who belongs to which organization, with which role.
//
// Every organization keeps at least one owner: RemoveMember and
// SetMemberRole refuse, with [ErrLastOwner], to remove or demote its last
// owner, atomically (of concurrent demotions of an organization's N owners,
// at most N-1 succeed). Deleting a user ([Users.DeleteUser]) is never
// refused: the user's memberships go with the account. When they held the
// last owner's membership of an organization, ownership passes to its
// longest-standing admin, or, with no admin, to its longest-standing
// member; an organization left with no member at all is scheduled for
// deletion, due at the time of the account's deletion (read from the
// database's clock), so that [Orgs.OrgsDueForDeletion] finds it at once.
type Memberships interface {
	// AddMember inserts m, filling a zero CreatedAt. ErrConflict if the
	// user is already a member; ErrNotFound if there is no such
	// organization or user. An empty role is refused; nothing is stored.
	AddMember(ctx context.Context, m *Membership) error
	// Membership returns the user's membership of the organization, or
	// ErrNotFound (also for an organization or user that does not exist).
	Membership(ctx context.Context, orgID, userID string) (*Membership, error)
	// SetMemberRole changes a member's role. ErrNotFound if the user is
	// not a member; ErrLastOwner if it would demote the organization's
	// last owner. An empty role is refused; nothing changes.
	SetMemberRole(ctx context.Context, orgID, userID, role string) error
	// RemoveMember removes the user from the organization (a member
	// leaving is their own removal) and clears the active organization of
	// the user's sessions that had this one, in the same transaction, so
	// the user's access to it ends at once. ErrNotFound if the user is not
	// a member; ErrLastOwner if the user is the last owner.
	RemoveMember(ctx context.Context, orgID, userID string) error
	// Members returns one page of the organization's members, oldest
	// first (by CreatedAt, then user ID), and the cursor of the next page
	// ("" on the last page). after is "" for the first page, or a cursor
	// returned before; a malformed cursor is refused with an error. limit
	// is capped: zero or over 100 means 100. An organization that does
	// not exist has no members.
	Members(ctx context.Context, orgID, after string, limit int) (ms []*Membership, next string, err error)
	// UserOrgs returns the organizations the user belongs to, with the
	// user's membership of each, in the order the user joined them.
	UserOrgs(ctx context.Context, userID string) ([]*UserOrg, error)
}

// Invitation is an invitation to join an organization, emailed to an
// address. Only the digest of its token is stored.
type Invitation struct {
	ID    string
	OrgID string
	// Email is the invited address as entered; EmailKey is its key
	// ([NormalizeEmail]), which the store computes.
	Email    string
	EmailKey string
	// Role is the role the invitee gets on accepting.
	Role string
	// Digest is the SHA-256 digest of the invitation's token.
	Digest []byte
	// InvitedBy is the user who sent it; it becomes empty when that user is
	// deleted.
	InvitedBy string
	CreatedAt time.Time
	// ExpiresAt is when it stops being accepted (7 days after it was sent,
	// by the caller's choice).
	ExpiresAt time.Time
	// AcceptedAt and AcceptedBy record its use; zero and empty until then
	// (AcceptedBy becomes empty again when that user is deleted).
	AcceptedAt time.Time
	AcceptedBy string
	// RevokedAt is when it was revoked; zero if it was not.
	RevokedAt time.Time
}

// Invitations stores invitations to organizations.
//
// An invitation is pending while it is neither accepted nor revoked and
// its expiry is after now. An organization has at most one pending
// invitation per address key.
type Invitations interface {
	// CreateInvitation inserts inv, filling an empty ID, a zero CreatedAt
	// and EmailKey. An earlier invitation of the organization to the same
	// address key that expired by inv.CreatedAt, unaccepted and
	// unrevoked, is deleted. ErrConflict if a pending one remains (or the
	// digest is taken); ErrNotFound if there is no such organization. An
	// empty address, role or digest, or a zero expiry, is refused; nothing
	// is stored.
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// InvitationByDigest returns the pending invitation with digest, or
	// ErrNotFound.
	InvitationByDigest(ctx context.Context, digest []byte, now time.Time) (*Invitation, error)
	// AcceptInvitation atomically uses the pending invitation with digest
	// for the user: it is marked accepted at now by userID and the user
	// becomes a member with its role (a user who already is a member keeps
	// their role), in one transaction, and the invitation is returned.
	// ErrNotFound if no pending invitation has digest, or the user's
	// address does not have the invitation's address key: an invitation
	// is bound to the address it was sent to. Of concurrent accepts, one
	// succeeds.
	AcceptInvitation(ctx context.Context, digest []byte, userID string, now time.Time) (*Invitation, error)
	// PendingInvitations returns the organization's pending invitations,
	// newest first.
	PendingInvitations(ctx context.Context, orgID string, now time.Time) ([]*Invitation, error)
	// RevokeInvitation revokes the organization's invitation with id at
	// now. ErrNotFound if the organization has no such invitation that is
	// neither accepted nor revoked (another organization's is not found).
	RevokeInvitation(ctx context.Context, orgID, id string, now time.Time) error
	// ResendInvitation replaces the digest and expiry of the
	// organization's invitation with id, which must be neither accepted
	// nor revoked (an expired one is revived): the old token stops
	// working. ErrNotFound if there is no such invitation; ErrConflict if
	// the digest is taken. An empty digest or a zero expiry is refused;
	// nothing changes.
	ResendInvitation(ctx context.Context, orgID, id string, digest []byte, expires, now time.Time) error
	// PurgeInvitations deletes the invitations that are no longer
	// pending since before: accepted, revoked or expired before it. It
	// returns how many it deleted.
	PurgeInvitations(ctx context.Context, before time.Time) (int, error)
}
