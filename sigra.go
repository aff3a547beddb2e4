// Package sigra is the shared vocabulary of Sigra for Go, production-grade
// authentication for plain net/http.
//
// This package holds only what every other package agrees on: the signed-in
// [User] as an application sees it, the per-request [Auth] state, the
// request's [Client], typed context accessors ([UserFrom], [AuthFrom],
// [ClientFrom], [WithAuth], [WithAuthClient]) and the shared error values. It imports nothing else from the module, so application code can
// depend on it without pulling in storage or HTTP machinery.
//
// # Composition
//
// An application composes the packages it needs:
//
//   - store/sqlite or store/postgres: storage (or the host's own, implementing
//     the store interfaces and passing store/storetest);
//   - session: browser sessions and the auth state machine;
//   - middleware: Load, RequireUser, RequireSudo, CSRF, rate limits, headers;
//   - account, mfa: the flows, mounted on the application's ServeMux.
//
// Below the session middleware, handlers read the signed-in user with
// [UserFrom] and the full state (assurance level, methods, sudo time) with
// [AuthFrom].
package sigra

import (
	"context"
	"errors"
	"slices"
	"time"
)

// User is the signed-in user as the application sees it. It carries no
// secrets: password hashes and lockout counters stay in the store.
type User struct {
	// ID is the user's stable identifier (a UUIDv7 string).
	ID string
	// Email is the user's address as entered; it is unique case-insensitively.
	Email string
	// EmailConfirmedAt is when the address was confirmed; zero if never.
	EmailConfirmedAt time.Time
	// CreatedAt is when the account was created.
	CreatedAt time.Time
}

// EmailConfirmed reports whether the user's current address is confirmed.
func (u *User) EmailConfirmed() bool { return u != nil && !u.EmailConfirmedAt.IsZero() }

// State is a browser session's position in the auth state machine.
type State string

// The states of the auth state machine. Every transition renews the session
// token.
const (
	// StateAnonymous: no user is signed in.
	StateAnonymous State = "anonymous"
	// StatePending: the first factor passed and a second factor is required.
	// A pending session has a user but is not signed in.
	StatePending State = "pending"
	// StateAuthenticated: the user is signed in, at AAL1 or AAL2.
	StateAuthenticated State = "authenticated"
)

// AAL is an authenticator assurance level as in NIST SP 800-63B.
type AAL int

// Assurance levels.
const (
	AAL0 AAL = 0 // not authenticated
	AAL1 AAL = 1 // one factor
	AAL2 AAL = 2 // two distinct factors
)

// Method names a way the user proved who they are in this session.
type Method string

// Authentication methods recorded in a session.
const (
	MethodPassword     Method = "password"
	MethodMagicLink    Method = "magic_link"
	MethodTOTP         Method = "totp"
	MethodRecoveryCode Method = "recovery_code"
	MethodPasskey      Method = "passkey"
	MethodOAuth        Method = "oauth"
	MethodAPIToken     Method = "api_token"
	// MethodTrustedBrowser: the second factor was skipped on a browser the
	// user marked as trusted after passing it there before.
	MethodTrustedBrowser Method = "trusted_browser"
	// MethodImpersonation: an admin is acting as the user (see
	// Auth.Impersonator); the user proved nothing.
	MethodImpersonation Method = "impersonation"
)

// Auth is the authentication state of one request. The zero value is an
// anonymous request. Auth values placed in a context are shared by the
// handlers of that request and must be treated as read-only.
type Auth struct {
	// User is the user the session belongs to: the signed-in user when
	// State is StateAuthenticated, the user half-way through sign-in when
	// State is StatePending, nil when anonymous.
	User *User
	// SessionID is the public identifier of the session row (not its token).
	SessionID string
	// State is the session's auth state.
	State State
	// AAL is the assurance level reached in this session.
	AAL AAL
	// Methods are the authentication methods used, in order.
	Methods []Method
	// AuthTime is when the user last completed sign-in.
	AuthTime time.Time
	// SudoTime is when the user last re-entered a credential.
	SudoTime time.Time
	// Impersonator is the ID of the admin acting as User; empty otherwise.
	Impersonator string
	// ImpersonationEnds is when the impersonation's time box closes at the
	// latest (a session left idle ends sooner); zero unless impersonating.
	ImpersonationEnds time.Time
	// ActiveOrg is the ID of the organization the user is acting in.
	ActiveOrg string
	// Scopes are the scopes of the API token that authenticated the request.
	Scopes []string
	// ServiceAccount reports that User is a service account (a program
	// that authenticated with an API token), not a person: User.ID is the
	// service account's ID, User.Email is empty, and ActiveOrg is the
	// organization that owns the account ("" for the application's own).
	ServiceAccount bool
}

// SignedIn reports whether a user is fully signed in.
func (a *Auth) SignedIn() bool {
	return a != nil && a.State == StateAuthenticated && a.User != nil
}

// InSudo reports whether the user re-authenticated within window before now.
func (a *Auth) InSudo(now time.Time, window time.Duration) bool {
	if !a.SignedIn() || a.SudoTime.IsZero() {
		return false
	}
	return !now.Before(a.SudoTime) && now.Sub(a.SudoTime) < window
}

// Used reports whether method was used in this session.
func (a *Auth) Used(m Method) bool { return a != nil && slices.Contains(a.Methods, m) }

type authKey struct{}

// WithAuth returns a copy of ctx carrying a.
func WithAuth(ctx context.Context, a *Auth) context.Context {
	return context.WithValue(ctx, authKey{}, a)
}

// Client describes who sent a request, as the middleware that loaded its
// auth state saw it when the request arrived, before the handler ran: for
// records of who did what (audit rows, notices), which would otherwise
// each resolve it again.
type Client struct {
	// IP is the client's address as the site resolves it (its trusted
	// proxies applied), as given: not cleaned or cut.
	IP string
	// UserAgent is the request's User-Agent header, as sent.
	UserAgent string
	// Impersonator is the impersonating admin's user ID when the request
	// reached the handler, "" if none: an impersonation the request ends
	// still marks what the request did.
	Impersonator string
}

type clientKey struct{}

// authClientCtx carries an Auth and a Client in one context value.
type authClientCtx struct {
	context.Context
	auth   *Auth
	client *Client
}

func (c *authClientCtx) Value(key any) any {
	if v, ok := AuthClientValue(key, c.auth, c.client); ok {
		return v
	}
	return c.Context.Value(key)
}

// AuthClientValue answers the context keys of AuthFrom, UserFrom and
// ClientFrom for a context type that carries a request's Auth and Client
// itself, instead of wrapping its parent with WithAuthClient (the session
// middleware's per-request context does this). The type's Value method
// returns v when ok is true, and asks its parent otherwise.
func AuthClientValue(key any, a *Auth, c *Client) (v any, ok bool) {
	switch key.(type) {
	case authKey:
		return a, true
	case clientKey:
		return c, true
	}
	return nil, false
}

// WithAuthClient returns a copy of ctx carrying a, as WithAuth does, and c
// (see ClientFrom), in one value. The caller may fill c until the request
// reaches the next handler, and must not change it afterwards.
func WithAuthClient(ctx context.Context, a *Auth, c *Client) context.Context {
	return &authClientCtx{Context: ctx, auth: a, client: c}
}

// ClientFrom returns the request's Client recorded with WithAuthClient (by
// the session middleware), or nil.
func ClientFrom(ctx context.Context) *Client {
	c, _ := ctx.Value(clientKey{}).(*Client)
	return c
}

// AuthFrom returns the request's auth state. It never returns nil: a context
// without one yields an anonymous Auth.
func AuthFrom(ctx context.Context) *Auth {
	if a, ok := ctx.Value(authKey{}).(*Auth); ok && a != nil {
		return a
	}
	return &Auth{State: StateAnonymous}
}

// UserFrom returns the signed-in user, or nil when no user is fully signed
// in (anonymous, or pending a second factor).
func UserFrom(ctx context.Context) *User {
	a := AuthFrom(ctx)
	if !a.SignedIn() {
		return nil
	}
	return a.User
}

// Shared errors. Packages wrap them with detail; test with errors.Is.
var (
	// ErrConfig: a constructor was given an unusable configuration. Every
	// New in the module wraps it with the package and the reason, so
	// errors.Is(err, sigra.ErrConfig) tells a configuration mistake from a
	// failure to reach a service.
	ErrConfig = errors.New("sigra: invalid config")
	// ErrUnauthenticated: the request has no signed-in user.
	ErrUnauthenticated = errors.New("sigra: not signed in")
	// ErrForbidden: the user may not do this.
	ErrForbidden = errors.New("sigra: forbidden")
	// ErrRateLimited: too many attempts; retry later.
	ErrRateLimited = errors.New("sigra: rate limited")
	// ErrBusy: the server is at capacity (for example the password hashing
	// pool); handlers answer 503.
	ErrBusy = errors.New("sigra: server busy")
	// ErrInvalidCredentials: a password, code or token did not verify. It is
	// deliberately unspecific.
	ErrInvalidCredentials = errors.New("sigra: invalid credentials")
	// ErrLockedOut: too many failures; the account is locked for a while.
	ErrLockedOut = errors.New("sigra: temporarily locked")
)
