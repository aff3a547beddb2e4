package main

import (
	"context"
	"crypto/x509"
	"embed"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/apitoken"
	"github.com/sigra-go/sigra/jwtauth"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/org"
	"github.com/sigra-go/sigra/passkey"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/ui"
	"github.com/sigra-go/sigra/webhook"
)

// DemoEmail is the address of the seeded demo account.
const DemoEmail = "demo@example.com"

// demoPassword is the seeded demo account's password.
const demoPassword = "correct-horse-battery"

// TeammateEmail is the seeded second account, a member of the demo
// organization; it has the demo account's password.
const TeammateEmail = "teammate@example.com"

// AdminEmail is the seeded administrator of the admin console (at
// /auth/admin/users); it has the demo account's password.
const AdminEmail = "admin@example.com"

// DemoOrgSlug is the seeded organization's slug: the demo account owns
// it, the teammate is a member.
const DemoOrgSlug = "demo-team"

// Environment variables the demo reads when the matching flag is not
// given.
const (
	EnvPostgres = "SIGRA_DEMO_POSTGRES" // -postgres
	EnvKeys     = "SIGRA_KEYS"          // -keys
	EnvSMTP     = "SIGRA_SMTP_URL"      // -smtp
	EnvJWTKey   = "SIGRA_JWT_KEY"       // -jwt-key
	// EnvAuditChainKey gives -audit-chain-key.
	EnvAuditChainKey = "SIGRA_AUDIT_CHAIN_KEY"
)

// Config configures the demo.
type Config struct {
	// Addr is the address to listen on (host:port; port 0 picks a free one).
	Addr string
	// BaseURL is the external URL of the app; empty means http://<addr>.
	BaseURL string
	// DB is the SQLite database file (unless Postgres is set).
	DB string
	// Postgres is a PostgreSQL DSN; when set, the demo keeps its data
	// there instead of in DB.
	Postgres string
	// Keys is the keyring that seals queued email and TOTP secrets
	// ("id:base64key[,...]"). Empty means a development key kept in a file
	// (see [Config.KeysPath]).
	Keys string
	// AuditChainKey is the secret key of the audit log's hash chain (32
	// bytes in base64, see kit.Config.AuditChainKey); empty chains with
	// plain SHA-256. "sigra audit verify" checks the chain with it.
	AuditChainKey string
	// SMTP is an SMTP server's URL (see mail.ParseSMTPURL); empty keeps
	// every email in the development mailbox at /dev/mail/.
	SMTP string
	// NoSeed leaves the demo account out.
	NoSeed bool
	// SudoWindow is how long a re-authentication lasts for pages behind
	// RequireSudo. Zero means the default, 10 minutes.
	SudoWindow time.Duration
	// Passwords configures hashing and the password policy; the zero
	// value is the library's defaults. The demo adds "sigra" and "demo" to
	// the words a password may not be built on.
	Passwords password.Config
	// BreachAPI is the base URL of a Pwned Passwords range API
	// (password.DefaultRangeBaseURL for the public service). When set,
	// passwords are checked against it when they are set and at sign-in;
	// a sign-in with a breached password is sent to choose a new one.
	BreachAPI string
	// JWTKey is the private key that signs the API's access tokens, as
	// PEM or a JWK (see jwtauth.ParseKey). Empty means a development key
	// kept in a file (see [Config.JWTKeyPath]).
	JWTKey string
	// Pprof is an address on this machine (localhost:6060) where the
	// runtime's profiles (net/http/pprof) are served, apart from the
	// app's handler; empty serves none.
	Pprof string
	// Providers are the sign-in providers offered (ProvidersFromEnv
	// reads them from the environment). With none, a local OpenID
	// provider stands in on a local base URL, unless NoLocalIDP.
	Providers  []oauth.Provider
	NoLocalIDP bool
}

// KeysPath is where the development keys are kept when Keys is empty:
// beside the SQLite database, named after it ("sigra-demo.keys" for
// "sigra-demo.db"), or "sigra-demo-postgres.keys" in the working
// directory with PostgreSQL.
func (c Config) KeysPath() string {
	if c.Postgres != "" {
		return "sigra-demo-postgres.keys"
	}
	return strings.TrimSuffix(c.DB, filepath.Ext(c.DB)) + ".keys"
}

// LoadKeys returns the sealing keys: Keys when given, else the key file at
// KeysPath, created on first use.
func (c Config) LoadKeys() (string, error) {
	if c.Keys != "" {
		return c.Keys, nil
	}
	return kit.KeysFile(c.KeysPath())
}

// JWTKeyPath is where the development JWT signing key is kept when
// JWTKey is empty: beside the sealing key file ("sigra-demo.jwt.pem").
func (c Config) JWTKeyPath() string {
	return strings.TrimSuffix(c.KeysPath(), ".keys") + ".jwt.pem"
}

// LoadJWTKey returns the key that signs access tokens: JWTKey when given,
// else the key file at JWTKeyPath, created on first use.
func (c Config) LoadJWTKey() (jwtauth.Key, error) {
	const id = "demo-1"
	if c.JWTKey != "" {
		return jwtauth.ParseKey(id, []byte(c.JWTKey))
	}
	path := c.JWTKeyPath()
	if b, err := os.ReadFile(path); err == nil {
		return jwtauth.ParseKey(id, b)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return jwtauth.Key{}, err
	}
	k, err := jwtauth.GenerateKey(id)
	if err != nil {
		return jwtauth.Key{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return jwtauth.Key{}, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return jwtauth.Key{}, err
	}
	if err := errors.Join(pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}), f.Close()); err != nil {
		return jwtauth.Key{}, err
	}
	return k, nil
}

//go:embed templates
var templates embed.FS

// Pages returns the demo's own pages as a UI pack: home, private, billing
// and vault, each with a *PageData. The demo serves them itself, outside
// the site's prefix, so the pack declares no routes; the pages link to
// each other with plain paths.
func Pages() ui.Pack {
	files, _ := fs.Sub(templates, "templates")
	return ui.Pack{
		Name:  "demo",
		Files: files,
		Pages: map[string]any{
			"home": &PageData{}, "private": &PageData{}, "billing": &PageData{}, "vault": &PageData{}, "team": &PageData{},
		},
	}
}

// PageData is what the demo's pages show.
type PageData struct {
	// Auth is the request's authentication state.
	Auth *sigra.Auth
	// Methods lists the authentication methods of the session ("password,
	// totp"), and AAL is its assurance level (0 when anonymous): computed
	// once per request by the handler, so the templates read fields
	// rather than call methods.
	Methods string
	AAL     int
	// SudoWindow is how long a re-authentication lasts ("10 minutes").
	SudoWindow string
	// Mailbox is the development mailbox's path, or "" when email goes
	// through an SMTP server.
	Mailbox string
	// Tenant is the organization of the team page, nil elsewhere.
	Tenant *org.Tenant
}

// methodsText lists the authentication methods of a, for people
// ("password, totp").
func methodsText(a *sigra.Auth) string {
	s := make([]string, 0, len(a.Methods))
	for _, m := range a.Methods {
		s = append(s, strings.ReplaceAll(string(m), "_", " "))
	}
	return strings.Join(s, ", ")
}

// Store is what the demo needs of its database: everything the kit,
// organizations and API tokens use. Both adapters implement it.
type Store interface {
	kit.Store
	org.Store
	jwtauth.Store
	apitoken.Store
	admin.Store
}

// App is the demo application.
type App struct {
	// Kit is every Sigra part, built by package kit.
	Kit *kit.Kit
	// Store is the database.
	Store Store
	// Seeded is the demo account's password when this start created the
	// account, "" otherwise.
	Seeded string

	cfg      Config
	log      *slog.Logger
	closeDB  func()
	closeIDP func()
}

// NewApp opens the store and wires every package with package kit, adds
// the demo's pages and seeds the demo account. cfg.BaseURL is required.
func NewApp(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log}
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	keys, err := cfg.LoadKeys()
	if err != nil {
		return nil, err
	}
	jwtKey, err := cfg.LoadJWTKey()
	if err != nil {
		return nil, err
	}
	var smtp *mail.SMTPConfig
	if cfg.SMTP != "" {
		c, err := mail.ParseSMTPURL(cfg.SMTP)
		if err != nil {
			return nil, err
		}
		smtp = &c
	}

	kc := kit.Config{
		Store:      a.Store,
		Site:       site.Config{BaseURL: cfg.BaseURL, Logger: log},
		Keys:       keys,
		SMTP:       smtp,
		Brand:      ui.Brand{ProductName: "Sigra Demo", AccentColor: "#4f46e5"},
		Packs:      []ui.Pack{Pages()},
		Passwords:  cfg.Passwords,
		SudoWindow: cfg.SudoWindow,
		// Organizations, with a role of the demo's own: "billing" may
		// manage billing (a permission the demo declares) and see members.
		Orgs: &org.Config{Roles: map[string][]string{"billing": {"billing:manage", org.PermMembersRead}}},
		// Passkeys for the base URL's host: localhost in development.
		Passkeys: &passkey.Config{},
		// JWT access tokens for the demo's API (GET /api/me): a client
		// signs in with POST /auth/login (JSON) and exchanges its session
		// at POST /auth/token (see package jwtauth for the curl lines).
		JWT: &jwtauth.Config{Keys: []jwtauth.Key{jwtKey}, Scopes: []string{"profile:read"}, DefaultScopes: []string{"profile:read"}},
		// API tokens: the settings page makes them; GET /api/whoami takes
		// them.
		APITokens: &apitoken.Config{Scopes: []apitoken.Scope{{Name: "profile:read", Description: "Read your profile"}}},
		// The admin console at /auth/admin/users, for the seeded
		// administrator.
		Admin: &admin.Config{},
		// Webhooks: the features' audited events go to the endpoints
		// subscribed with App.Kit.Webhooks.Subscribe; the console shows
		// them at /auth/admin/webhooks.
		Webhooks: &webhook.Config{},
	}
	// The kit's Run seals the audit rows into the audit chain, keyed.
	kc.AuditChainKey = cfg.AuditChainKey
	kc.Passwords.Policy.ContextWords = append(slices.Clip(kc.Passwords.Policy.ContextWords), "sigra", "demo")
	if cfg.BreachAPI != "" {
		rc, err := password.NewRangeClient(password.RangeConfig{BaseURL: cfg.BreachAPI})
		if err != nil {
			return nil, err
		}
		kc.Passwords.Policy.Breach = rc
	}
	s, err := site.New(kc.Site)
	if err != nil {
		return nil, err
	}
	if kc.OAuth.Providers, a.closeIDP, err = a.providers(s); err != nil {
		return nil, err
	}
	kc.Account.Hooks = account.Hooks{
		AfterRegister: func(ctx context.Context, u *sigra.User, _ map[string]string) {
			log.InfoContext(ctx, "registered", "user", u.ID)
		},
		AfterConfirm: func(ctx context.Context, u *sigra.User) { log.InfoContext(ctx, "confirmed", "user", u.ID) },
		AfterSignIn:  func(ctx context.Context, u *sigra.User) { log.InfoContext(ctx, "signed in", "user", u.ID) },
		AfterSignOut: func(ctx context.Context, userID string) { log.InfoContext(ctx, "signed out", "user", userID) },
	}
	if a.Kit, err = kit.New(kc); err != nil {
		return nil, err
	}

	// The demo's own pages, outside the prefix.
	k := a.Kit
	k.Handle("GET /{$}", a.page("home"))
	k.Handle("GET /private", k.RequireUser(a.page("private")))
	k.Handle("GET /private/billing", k.RequireSudo(a.page("billing")))
	k.Handle("GET /private/vault", k.RequireAAL2(a.page("vault")))
	// The team page shows the session's active organization; the team
	// billing page, by slug, needs the "billing:manage" permission.
	k.Handle("GET /team", k.RequireMember(a.page("team")))
	k.Handle("GET /o/{org}/billing", k.RequirePermission("billing:manage")(a.page("team")))
	// The API, for clients with a JWT access token.
	k.Handle("GET /api/me", k.JWT.Require(jwtauth.RequireScopes("profile:read")(http.HandlerFunc(apiMe))))
	// A JSON route for programs, behind a token with "profile:read".
	k.Handle("GET /api/whoami", k.APITokens.Bearer(k.APITokens.RequireScopes("profile:read")(http.HandlerFunc(apiWhoami))))
	k.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	}))

	if !cfg.NoSeed {
		if a.Seeded, err = a.seed(ctx); err != nil {
			return nil, err
		}
	}
	ok = true
	return a, nil
}

// apiMe answers the access token's user and assurance as JSON.
func apiMe(w http.ResponseWriter, r *http.Request) {
	a := sigra.AuthFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"user_id": a.User.ID, "aal": a.AAL, "methods": a.Methods, "scopes": a.Scopes})
}

// Handler returns the application's handler.
func (a *App) Handler() http.Handler { return a.Kit.Handler() }

// Run delivers queued email and purges due deletions and expired rows
// until ctx ends.
func (a *App) Run(ctx context.Context) error { return a.Kit.Run(ctx) }

// Close closes the store.
func (a *App) Close() {
	if a.closeIDP != nil {
		a.closeIDP()
		a.closeIDP = nil
	}
	if a.closeDB != nil {
		a.closeDB()
		a.closeDB = nil
	}
}

func (a *App) openStore(ctx context.Context) error {
	if a.cfg.Postgres != "" {
		db, err := postgres.Open(ctx, a.cfg.Postgres)
		if err != nil {
			return err
		}
		a.Store, a.closeDB = db, db.Close
		return nil
	}
	db, err := sqlite.Open(ctx, a.cfg.DB)
	if err != nil {
		return err
	}
	a.Store, a.closeDB = db, func() { db.Close() }
	return nil
}

// seed creates the confirmed demo account, a teammate, the demo
// organization (the demo account its owner, the teammate a member) and
// the console's administrator if
// they do not exist, and returns the demo password ("" if the demo
// account existed).
func (a *App) seed(ctx context.Context) (string, error) {
	if _, err := a.Store.UserByEmail(ctx, DemoEmail); err == nil {
		return "", nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	hash, err := a.Kit.Hasher.Hash(ctx, demoPassword)
	if err != nil {
		return "", err
	}
	now := a.Kit.Site.Now()
	owner := &store.User{Email: DemoEmail, PasswordHash: hash, EmailConfirmedAt: now, CreatedAt: now}
	mate := &store.User{Email: TeammateEmail, PasswordHash: hash, EmailConfirmedAt: now, CreatedAt: now}
	root := &store.User{Email: AdminEmail, PasswordHash: hash, EmailConfirmedAt: now, CreatedAt: now}
	err = a.Store.InTx(ctx, func(ctx context.Context) error {
		if err := a.Store.CreateUser(ctx, owner); err != nil {
			return err
		}
		if err := a.Store.CreateUser(ctx, mate); err != nil {
			return err
		}
		if err := a.Store.CreateUser(ctx, root); err != nil {
			return err
		}
		if err := a.Store.GrantAdmin(ctx, root.ID, "", now); err != nil {
			return err
		}
		team := &store.Org{Name: "Demo Team", Slug: DemoOrgSlug, CreatedBy: owner.ID, CreatedAt: now}
		if err := a.Store.CreateOrg(ctx, team); err != nil {
			return err
		}
		return a.Store.AddMember(ctx, &store.Membership{OrgID: team.ID, UserID: mate.ID, Role: org.RoleMember, CreatedAt: now})
	})
	if errors.Is(err, store.ErrConflict) {
		return "", nil // another instance seeded it meanwhile
	}
	if err != nil {
		return "", err
	}
	return demoPassword, nil
}

// page renders one of the demo's own pages in Sigra's layout.
func (a *App) page(name string) http.Handler {
	window := sudoWindowText(a.Kit.Guard.SudoWindow())
	mailbox := ""
	if a.Kit.Mailbox != nil {
		mailbox = kit.DevMailboxPath
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := sigra.AuthFrom(r.Context())
		a.Kit.UI.Render(w, r, http.StatusOK, name, &ui.Page{Data: &PageData{
			Auth: auth, Methods: methodsText(auth), AAL: int(auth.AAL),
			SudoWindow: window, Mailbox: mailbox, Tenant: org.From(r.Context()),
		}})
	})
}

// sudoWindowText describes a duration in whole hours, minutes or seconds
// ("10 minutes", "1 hour", "90 seconds").
func sudoWindowText(d time.Duration) string {
	unit, n := "second", int64(d/time.Second)
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		unit, n = "hour", int64(d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		unit, n = "minute", int64(d/time.Minute)
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// apiWhoami answers who the request's token belongs to, as JSON.
func apiWhoami(w http.ResponseWriter, r *http.Request) {
	a, u := sigra.AuthFrom(r.Context()), sigra.UserFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": u.ID, "email": u.Email, "service_account": a.ServiceAccount, "org": a.ActiveOrg, "scopes": a.Scopes,
	})
}
