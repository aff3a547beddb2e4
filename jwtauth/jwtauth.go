package jwtauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// Store is what the package needs of a store: the refresh-token families
// and the audit log. Both adapters implement it.
type Store interface {
	store.RefreshTokens
	store.AuditLog
}

// Audit actions of the package. Each row has the user as actor and
// subject, and the family's ID in the metadata ("family").
const (
	// ActionIssue: a signed-in session was exchanged for tokens.
	ActionIssue = "jwt.issue"
	// ActionRefresh: a refresh token was exchanged for the next one.
	ActionRefresh = "jwt.refresh"
	// ActionReuse: a refresh token was presented again after its use; the
	// family was revoked (outcome failure).
	ActionReuse = "jwt.reuse_detected"
	// ActionRevoke: a family was revoked: by its client signing out, by
	// the user, or because its session had ended ("reason").
	ActionRevoke = "jwt.revoke"
)

// Defaults and bounds of [Config].
const (
	DefaultAccessTTL    = 10 * time.Minute
	MaxAccessTTL        = time.Hour
	DefaultRefreshTTL   = 14 * 24 * time.Hour
	DefaultFamilyTTL    = 30 * 24 * time.Hour
	DefaultLeeway       = 30 * time.Second
	MaxLeeway           = 2 * time.Minute
	DefaultRecheckAfter = time.Minute
	// DefaultJWKSPath is where [JWT.Mount] serves the public keys: at the
	// site's root, not under its prefix.
	DefaultJWKSPath = "/.well-known/jwks.json"
)

// tokenType is the "typ" header of the access tokens (RFC 9068), which
// the verifier requires: a JWT of another kind signed with the same key
// (an ID token, say) is not an access token.
const tokenType = "at+jwt"

// Config configures [New]. The zero value of every optional field is the
// safe default.
type Config struct {
	// Store holds the refresh-token families and the audit log: the
	// application's store (both adapters implement Store).
	Store Store
	// Sessions is the application's session manager: the token endpoint
	// exchanges the session it loaded, and its site gives the clock, the
	// base URL, the prefix and the client address.
	Sessions *session.Manager
	// Keys are the signing keys: Keys[0] signs, every key verifies. To
	// rotate, put a new key first and keep the old one after it until
	// every token it signed has expired (Config.AccessTTL plus Leeway),
	// then remove it: tokens of a removed key no longer verify. At least
	// one key; IDs unique.
	Keys []Key
	// Issuer is the "iss" of the tokens, checked on verification.
	// Default: the site's origin (its base URL without a path).
	Issuer string
	// Audience is the "aud" of the tokens, checked on verification.
	// Default: Issuer.
	Audience string
	// Scopes are the scopes the application declares, which a client
	// may ask for (each 1 to 64 printable ASCII characters without
	// spaces, quotes or backslashes). May be empty.
	Scopes []string
	// DefaultScopes are granted when a client asks for none. They must be
	// among Scopes. Default: none.
	DefaultScopes []string
	// AccessTTL is the lifetime of an access token. Default 10 minutes, at
	// most MaxAccessTTL.
	AccessTTL time.Duration
	// RefreshTTL is how long a refresh token stays usable unused (the
	// idle lifetime of a family). Default 14 days.
	RefreshTTL time.Duration
	// FamilyTTL is the absolute lifetime of a family, counted from the
	// exchange. Default 30 days. A family also ends with its session.
	FamilyTTL time.Duration
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	// Default 30 seconds, at most MaxLeeway.
	Leeway time.Duration
	// RecheckAfter bounds how long a verifier trusts its last look at a
	// token's family: after that it checks again in the store that the
	// family is live (not revoked, its session not revoked or expired).
	// So a revoked family's access tokens stop being accepted within
	// RecheckAfter (on every instance), and in any case at their expiry.
	// Default 1 minute; ignored when CheckEveryRequest is set.
	RecheckAfter time.Duration
	// CheckEveryRequest makes the verifier check the family in the store
	// on every request (one indexed read): revocation is then immediate.
	CheckEveryRequest bool
	// JWKSPath is where Mount serves the JWKS. Default DefaultJWKSPath.
	JWKSPath string
	// Audit records the events. Default: a Logger over Store.
	Audit *audit.Logger
	// UI and Guard, when set, serve the settings section that lists the
	// apps holding tokens for the user ([JWT.Section]) and its revoke
	// route. The UI must hold [Pages]. Both or neither.
	UI    *ui.UI
	Guard *middleware.Guard
}

// JWT issues and verifies access tokens and rotates refresh tokens.
// Create it with [New]; mount its endpoints with [JWT.Mount]; guard routes
// with [JWT.Require] and [RequireScopes]. Safe for concurrent use.
type JWT struct {
	cfg    Config
	st     Store
	site   *site.Site
	audit  *audit.Logger
	log    *slog.Logger
	signer Key
	keys   map[string]Key // by ID
	jwks   []byte
	parser *jwt.Parser
	scopes map[string]bool

	// seen remembers, per family ID, when the store last said the family
	// was live (a time) or that it had ended (the zero time): see
	// Config.RecheckAfter. It is bounded by maxSeen.
	mu   sync.Mutex
	seen map[string]time.Time

	// verified remembers the claims of tokens whose signature and claims
	// verified, by the SHA-256 of the token, so that a client's next
	// requests with the same token skip the signature check; their times
	// are checked on every use. Bounded by maxVerified. The keys of a JWT
	// never change, so a remembered token is one a configured key signed.
	vmu      sync.Mutex
	verified map[[sha256.Size]byte]*Claims
}

// maxVerified bounds the tokens a verifier remembers as verified; past it
// the memory is cleared.
const maxVerified = 10_000

// Config returns j's configuration with the defaults filled in: the
// configuration of another instance of the same application.
func (j *JWT) Config() Config { return j.cfg }

// maxSeen bounds the families a verifier remembers; past it the memory is
// cleared, which costs one store read per family.
const maxSeen = 100_000

// New validates cfg and returns a JWT. Errors wrap [sigra.ErrConfig] and
// name the field.
func New(cfg Config) (*JWT, error) {
	bad := func(format string, args ...any) (*JWT, error) {
		return nil, fmt.Errorf("%w: jwtauth: %s", sigra.ErrConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case cfg.Store == nil:
		return bad("Config.Store is required")
	case cfg.Sessions == nil:
		return bad("Config.Sessions is required")
	case len(cfg.Keys) == 0:
		return bad("Config.Keys needs at least one key (see GenerateKey and ParseKey)")
	}
	s := cfg.Sessions.Site()
	j := &JWT{st: cfg.Store, site: s, log: s.Logger(), keys: map[string]Key{}, scopes: map[string]bool{}, seen: map[string]time.Time{}, verified: map[[sha256.Size]byte]*Claims{}}
	for i, k := range cfg.Keys {
		if k.Alg() == "" {
			return bad("Config.Keys[%d] (%q) is not an Ed25519 or ECDSA P-256 private key", i, k.ID)
		}
		if !validKID(k.ID) {
			return bad("Config.Keys[%d]: key ID %q: want 1 to 64 letters, digits, '-', '_' or '.'", i, k.ID)
		}
		if _, dup := j.keys[k.ID]; dup {
			return bad("Config.Keys[%d]: key ID %q is used twice", i, k.ID)
		}
		j.keys[k.ID] = k
	}
	j.signer = cfg.Keys[0]
	if cfg.Issuer == "" {
		cfg.Issuer = s.Origin()
	}
	if u, err := url.Parse(cfg.Issuer); err != nil || u.Scheme == "" || u.Host == "" {
		return bad("Config.Issuer %q is not an absolute URL", cfg.Issuer)
	}
	if cfg.Audience == "" {
		cfg.Audience = cfg.Issuer
	}
	for _, sc := range cfg.Scopes {
		if !validScope(sc) {
			return bad("Config.Scopes: %q is not a valid scope (1 to 64 printable ASCII characters, no spaces, quotes or backslashes)", sc)
		}
		j.scopes[sc] = true
	}
	for _, sc := range cfg.DefaultScopes {
		if !j.scopes[sc] {
			return bad("Config.DefaultScopes: %q is not among Config.Scopes", sc)
		}
	}
	for _, d := range []struct {
		name     string
		v        *time.Duration
		def, max time.Duration
	}{
		{"AccessTTL", &cfg.AccessTTL, DefaultAccessTTL, MaxAccessTTL},
		{"RefreshTTL", &cfg.RefreshTTL, DefaultRefreshTTL, 0},
		{"FamilyTTL", &cfg.FamilyTTL, DefaultFamilyTTL, 0},
		{"Leeway", &cfg.Leeway, DefaultLeeway, MaxLeeway},
		{"RecheckAfter", &cfg.RecheckAfter, DefaultRecheckAfter, 0},
	} {
		switch {
		case *d.v < 0:
			return bad("Config.%s %v is negative", d.name, *d.v)
		case *d.v == 0:
			*d.v = d.def
		case d.max > 0 && *d.v > d.max:
			return bad("Config.%s %v is longer than %v", d.name, *d.v, d.max)
		}
	}
	if cfg.RefreshTTL > cfg.FamilyTTL {
		return bad("Config.RefreshTTL %v is longer than Config.FamilyTTL %v", cfg.RefreshTTL, cfg.FamilyTTL)
	}
	switch {
	case (cfg.UI == nil) != (cfg.Guard == nil):
		return bad("Config.UI and Config.Guard go together: set both (for the settings section) or neither")
	case cfg.UI != nil && cfg.UI.Site() != s:
		return bad("Config.UI was built with another site than Config.Sessions; build both from one *site.Site")
	case cfg.UI != nil && !cfg.UI.HasPack(PackName):
		return bad("the UI has no %q pack: add jwtauth.Pages() to ui.Config.Packs", PackName)
	}
	if cfg.JWKSPath == "" {
		cfg.JWKSPath = DefaultJWKSPath
	}
	if !strings.HasPrefix(cfg.JWKSPath, "/") {
		return bad("Config.JWKSPath %q is not an absolute path", cfg.JWKSPath)
	}
	j.audit = cfg.Audit
	if j.audit == nil {
		var err error
		if j.audit, err = audit.New(audit.Config{Store: cfg.Store, Now: s.Clock(), Logger: j.log}); err != nil {
			return nil, err
		}
	}
	j.cfg = cfg
	j.jwks = j.buildJWKS()
	j.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{AlgEdDSA, AlgES256}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(s.Now),
		jwt.WithStrictDecoding(),
	)
	return j, nil
}

// validScope reports whether s is a scope token of RFC 6749 section 3.3,
// at most 64 bytes.
func validScope(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Claims are the claims of an access token. The registered ones are
// "iss", "sub" (the user's ID), "aud", "exp", "nbf", "iat" and "jti".
type Claims struct {
	jwt.RegisteredClaims
	// SessionID ("sid") is the public ID of the session the tokens were
	// exchanged from.
	SessionID string `json:"sid"`
	// FamilyID ("fid") is the refresh family the token belongs to; the
	// verifier checks it is live (see Config.RecheckAfter).
	FamilyID string `json:"fid"`
	// AAL ("aal") is the session's assurance level: 1 or 2.
	AAL int `json:"aal"`
	// Methods ("amr") are the authentication methods of the session.
	Methods []string `json:"amr"`
	// AuthTime ("auth_time") is when the user completed sign-in, in Unix
	// seconds.
	AuthTime int64 `json:"auth_time,omitempty"`
	// Scope ("scope") is the space-separated list of granted scopes.
	Scope string `json:"scope,omitempty"`
}

// issue signs an access token for family f at now.
func (j *JWT) issue(f *store.RefreshFamily, now time.Time) (string, error) {
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    j.cfg.Issuer,
			Subject:   f.UserID,
			Audience:  jwt.ClaimStrings{j.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(j.cfg.AccessTTL)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        store.NewID(),
		},
		SessionID: f.SessionID,
		FamilyID:  f.ID,
		AAL:       f.AAL,
		Methods:   f.Methods,
		Scope:     strings.Join(f.Scopes, " "),
	}
	if c.Methods == nil {
		c.Methods = []string{}
	}
	if !f.AuthTime.IsZero() {
		c.AuthTime = f.AuthTime.Unix()
	}
	t := jwt.NewWithClaims(jwt.GetSigningMethod(j.signer.Alg()), c)
	t.Header["kid"] = j.signer.ID
	t.Header["typ"] = tokenType
	return t.SignedString(j.signer.Private)
}

// Errors of [JWT.Verify]. Each wraps [sigra.ErrUnauthenticated].
var (
	// ErrNoToken: the request carries no bearer token.
	ErrNoToken = fmt.Errorf("sigra/jwtauth: no bearer token: %w", sigra.ErrUnauthenticated)
	// ErrInvalidToken: the token is malformed, signed by an unknown or
	// removed key or with another algorithm than its key's, expired, not
	// yet valid, or of another issuer or audience.
	ErrInvalidToken = fmt.Errorf("sigra/jwtauth: invalid access token: %w", sigra.ErrUnauthenticated)
	// ErrRevoked: the token's family was revoked or its session ended.
	ErrRevoked = fmt.Errorf("sigra/jwtauth: access token revoked: %w", sigra.ErrUnauthenticated)
)

// keyFor is the parser's Keyfunc: the token must name a configured key
// and use that key's algorithm (the algorithm is pinned per key, so a
// token cannot pick another one, such as HS256 with the public key as
// secret, or none).
func (j *JWT) keyFor(t *jwt.Token) (any, error) {
	if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, tokenType) && !strings.EqualFold(typ, "application/"+tokenType) {
		return nil, errors.New("not an access token (typ)")
	}
	kid, _ := t.Header["kid"].(string)
	k, ok := j.keys[kid]
	if !ok {
		return nil, errors.New("unknown key ID")
	}
	if t.Method.Alg() != k.Alg() {
		return nil, errors.New("algorithm does not match the key's")
	}
	return k.Private.Public(), nil
}

// Verify checks an access token: signature by a configured key with its
// own algorithm, "typ" at+jwt, issuer, audience, expiry, not-before and
// issued-at (with Config.Leeway), the claims this package needs, and
// that its family is live (looked up in the store at most every
// Config.RecheckAfter per family, or every time with
// Config.CheckEveryRequest). The errors are ErrInvalidToken, ErrRevoked,
// or a store error (store.ErrUnavailable when the store is down).
func (j *JWT) Verify(ctx context.Context, raw string) (*Claims, error) {
	sum := sha256.Sum256([]byte(raw))
	j.vmu.Lock()
	c := j.verified[sum]
	j.vmu.Unlock()
	if c == nil || !j.timely(c) {
		// Not verified before, or its times no longer hold: the full
		// check, which says why it fails.
		c = new(Claims)
		if _, err := j.parser.ParseWithClaims(raw, c, j.keyFor); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
		if c.Subject == "" || c.FamilyID == "" || c.SessionID == "" || c.NotBefore == nil || c.AAL < 1 || c.AAL > 2 {
			return nil, fmt.Errorf("%w: missing claims", ErrInvalidToken)
		}
		j.vmu.Lock()
		if len(j.verified) >= maxVerified {
			clear(j.verified)
		}
		j.verified[sum] = c
		j.vmu.Unlock()
	}
	if err := j.checkFamily(ctx, c.FamilyID); err != nil {
		return nil, err
	}
	cc := *c
	return &cc, nil
}

// timely reports whether the times of verified claims c still hold now,
// as the parser checks them: exp after now, nbf and iat not after now,
// each with the leeway.
func (j *JWT) timely(c *Claims) bool {
	now, l := j.site.Now(), j.cfg.Leeway
	return c.ExpiresAt != nil && now.Before(c.ExpiresAt.Add(l)) &&
		c.NotBefore != nil && !now.Before(c.NotBefore.Add(-l)) &&
		c.IssuedAt != nil && !now.Before(c.IssuedAt.Add(-l))
}

// checkFamily checks that the family is live, from memory when the store
// said so less than RecheckAfter ago.
func (j *JWT) checkFamily(ctx context.Context, id string) error {
	now := j.site.Now()
	if !j.cfg.CheckEveryRequest {
		j.mu.Lock()
		at, ok := j.seen[id]
		j.mu.Unlock()
		switch {
		case ok && at.IsZero():
			return ErrRevoked
		case ok && now.Sub(at) < j.cfg.RecheckAfter && !now.Before(at):
			return nil
		}
	}
	_, err := j.st.LiveRefreshFamily(ctx, id, now)
	var mark time.Time
	switch {
	case errors.Is(err, store.ErrNotFound):
		// mark stays zero: ended for good (families never come back).
	case err != nil:
		return err
	default:
		mark = now
	}
	if !j.cfg.CheckEveryRequest {
		j.mu.Lock()
		if len(j.seen) >= maxSeen {
			clear(j.seen)
		}
		j.seen[id] = mark
		j.mu.Unlock()
	}
	if mark.IsZero() {
		return ErrRevoked
	}
	return nil
}

// forget drops what the verifier remembers of a family it just saw
// revoked, so that this instance refuses its access tokens at once.
func (j *JWT) forget(id string) {
	if j.cfg.CheckEveryRequest {
		return
	}
	j.mu.Lock()
	j.seen[id] = time.Time{}
	j.mu.Unlock()
}

// authOf returns the request auth state that claims c stand for.
func authOf(c *Claims) *sigra.Auth {
	a := &sigra.Auth{
		User:      &sigra.User{ID: c.Subject},
		SessionID: c.SessionID,
		State:     sigra.StateAuthenticated,
		AAL:       sigra.AAL(c.AAL),
		Scopes:    strings.Fields(c.Scope),
	}
	a.Methods = make([]sigra.Method, len(c.Methods))
	for i, m := range c.Methods {
		a.Methods[i] = sigra.Method(m)
	}
	if c.AuthTime > 0 {
		a.AuthTime = time.Unix(c.AuthTime, 0).UTC()
	}
	return a
}

// grant returns the scopes of a request's "scope" field: the defaults
// when empty; ok is false when a scope is not declared.
func (j *JWT) grant(field string) (scopes []string, ok bool) {
	if strings.TrimSpace(field) == "" {
		return slices.Clone(j.cfg.DefaultScopes), true
	}
	for _, sc := range strings.Fields(field) {
		if !j.scopes[sc] {
			return nil, false
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	return scopes, true
}

// Actions returns the audit actions this package records besides the
// audit catalogue's, for audit.Config.Actions of a strict logger.
func Actions() []string {
	return []string{
		ActionIssue,
		ActionRefresh,
		ActionReuse,
		ActionRevoke,
	}
}
