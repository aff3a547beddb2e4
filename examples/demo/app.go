package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// DemoEmail is the address of the seeded demo account.
const DemoEmail = "demo@example.com"

// Config configures the demo.
type Config struct {
	Addr     string
	BaseURL  string
	DB       string
	Postgres string
	KeysFile string
	NoSeed   bool
	// SudoWindow is how long a re-authentication lasts for pages behind
	// RequireSudo. Zero means the default, 10 minutes.
	SudoWindow time.Duration
}

//go:embed templates
var templates embed.FS

// App is the demo application.
type App struct {
	cfg      Config
	log      *slog.Logger
	st       store.Store
	closeDB  func()
	sessions *session.Manager
	guard    *middleware.Guard
	accounts *account.Handler
	mfa      *mfa.MFA
	outbox   *mail.Outbox
	mailbox  *mail.Mailbox
	views    *ui.UI
	handler  http.Handler
	// Seeded is the demo account's password when it was created now.
	Seeded string
}

// NewApp opens the store and wires every package.
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
	keys, err := a.loadKeys()
	if err != nil {
		return nil, err
	}

	// Sessions, guards and the middleware around every request.
	if a.sessions, err = session.New(a.st, session.Config{BaseURL: cfg.BaseURL, Logger: log}); err != nil {
		return nil, err
	}
	if a.guard, err = middleware.New(a.sessions, middleware.Config{SudoWindow: cfg.SudoWindow, Logger: log}); err != nil {
		return nil, err
	}
	// A refused browser form gets the site's error page (a.csrfFailed).
	csrf, err := middleware.CSRF(middleware.CSRFConfig{BaseURL: cfg.BaseURL, FailureHandler: http.HandlerFunc(a.csrfFailed)})
	if err != nil {
		return nil, err
	}

	// Passwords, pages, email.
	hasher, err := password.New(password.Config{Policy: password.Policy{ContextWords: []string{"sigra", "demo"}}})
	if err != nil {
		return nil, err
	}
	pages, err := fs.Sub(templates, "templates")
	if err != nil {
		return nil, err
	}
	if a.views, err = ui.New(ui.Config{Brand: ui.Brand{ProductName: "Sigra Demo", AccentColor: "#4f46e5"}, Overrides: pages, Logger: log}); err != nil {
		return nil, err
	}
	a.mailbox = mail.NewMailbox(mail.MailboxConfig{})
	if a.outbox, err = mail.NewOutbox(mail.OutboxConfig{Store: a.st, Keys: keys.mail, Mailer: a.mailbox, PollInterval: 500 * time.Millisecond, Logger: log}); err != nil {
		return nil, err
	}

	// The flows.
	if a.mfa, err = mfa.New(mfa.Config{Store: a.st, Sessions: a.sessions, Guard: a.guard, UI: a.views, Mailer: a.outbox, Keys: keys.totp, Logger: log}); err != nil {
		return nil, err
	}
	a.accounts, err = account.New(account.Config{
		Store: a.st, Sessions: a.sessions, Guard: a.guard, Passwords: hasher, Mailer: a.outbox, UI: a.views,
		BaseURL: cfg.BaseURL, SecondFactor: a.mfa, Logger: log,
		Hooks: account.Hooks{
			AfterRegister: func(ctx context.Context, u *store.User) { log.Info("registered", "user", u.ID) },
			AfterSignIn:   func(ctx context.Context, u *store.User) { log.Info("signed in", "user", u.ID) },
		},
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	a.accounts.Mount(mux, "/auth")
	a.mfa.Mount(mux, "/auth")
	mux.Handle("GET /auth/assets/", a.views.Assets())
	a.mailbox.Mount(mux, "/dev/mail/")
	mux.HandleFunc("GET /{$}", a.page("home", "Sigra Demo"))
	mux.Handle("GET /private", a.guard.RequireUser(a.page("private", "Your private page")))
	mux.Handle("GET /private/billing", a.guard.RequireSudo(a.page("billing", "Billing")))
	mux.Handle("GET /private/vault", a.guard.RequireAAL2(a.page("vault", "Vault")))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })

	a.handler = middleware.SecureHeaders(middleware.HeadersConfig{HTTPS: strings.HasPrefix(cfg.BaseURL, "https://")})(
		middleware.LimitBody(0)(csrf(a.sessions.LoadAndSave(a.guard.Load(mux)))))

	if !cfg.NoSeed {
		if a.Seeded, err = a.seed(ctx, hasher); err != nil {
			return nil, err
		}
	}
	ok = true
	return a, nil
}

// Handler returns the application's handler.
func (a *App) Handler() http.Handler { return a.handler }

// RunWorkers delivers queued email and purges due deletions and expired
// rows until ctx ends.
func (a *App) RunWorkers(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := a.outbox.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("mail worker stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		a.accounts.RunPurge(ctx, time.Hour)
	}()
	wg.Wait()
}

// Close closes the store.
func (a *App) Close() {
	if a.closeDB != nil {
		a.closeDB()
	}
}

func (a *App) openStore(ctx context.Context) error {
	if a.cfg.Postgres != "" {
		db, err := postgres.Open(ctx, a.cfg.Postgres)
		if err != nil {
			return err
		}
		a.st, a.closeDB = db, db.Close
		return nil
	}
	db, err := sqlite.Open(ctx, a.cfg.DB)
	if err != nil {
		return err
	}
	a.st, a.closeDB = db, func() { db.Close() }
	return nil
}

type keys struct{ mail, totp string }

// loadKeys reads the sealing keys from the keys file, creating it with
// new keys on first run. A real deployment would read them from its
// secret store or the environment.
func (a *App) loadKeys() (keys, error) {
	path := a.cfg.KeysFile
	if path == "" {
		base := a.cfg.DB
		if a.cfg.Postgres != "" {
			base = "sigra-demo-postgres"
		}
		path = strings.TrimSuffix(base, filepath.Ext(base)) + ".keys"
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		m, err1 := token.NewSealKey("mail1")
		t, err2 := token.NewSealKey("totp1")
		if err := errors.Join(err1, err2); err != nil {
			return keys{}, err
		}
		b = []byte(m + "\n" + t + "\n")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return keys{}, fmt.Errorf("writing keys file: %w", err)
		}
	} else if err != nil {
		return keys{}, err
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		return keys{}, fmt.Errorf("keys file %s: want two lines (mail key, TOTP key)", path)
	}
	return keys{mail: lines[0], totp: lines[1]}, nil
}

// seed creates the confirmed demo account if it does not exist and
// returns its password ("" if it existed).
func (a *App) seed(ctx context.Context, hasher *password.Hasher) (string, error) {
	if _, err := a.st.UserByEmail(ctx, DemoEmail); err == nil {
		return "", nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	const pw = "correct-horse-battery"
	hash, err := hasher.Hash(ctx, pw)
	if err != nil {
		return "", err
	}
	now := time.Now()
	err = a.st.CreateUser(ctx, &store.User{Email: DemoEmail, PasswordHash: hash, EmailConfirmedAt: now, CreatedAt: now})
	if errors.Is(err, store.ErrConflict) {
		return "", nil
	}
	return pw, err
}

// page renders one of the demo's own pages in Sigra's layout.
func (a *App) page(name, title string) http.HandlerFunc {
	links := a.accounts.Links()
	return func(w http.ResponseWriter, r *http.Request) {
		au := sigra.AuthFrom(r.Context())
		data := &pageData{Auth: au, Now: time.Now(), SudoWindow: a.sudoWindow()}
		p := &ui.Page{
			Title: title, User: sigra.UserFrom(r.Context()), Links: links, Data: data,
			CSRFField: middleware.CSRFFieldName, CSRFToken: middleware.CSRFToken(r),
		}
		if p.User != nil && !p.User.EmailConfirmed() {
			p.Banner = "Confirm your email address: we sent a link and a code to " + p.User.Email + "."
		}
		a.views.Render(w, r, http.StatusOK, name, p)
	}
}

// csrfFailed answers a request the CSRF checks refused. A browser
// navigation (a submitted form) gets the site's error page, with a title,
// a language and a way back, rather than the middleware's default line of
// plain text; a client that wants JSON gets the error as JSON; others
// the plain message.
func (a *App) csrfFailed(w http.ResponseWriter, r *http.Request) {
	const msg = "This form has expired or was sent from another site. Go back, reload the page and try again."
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case r.Header.Get("Sec-Fetch-Dest") == "document":
		a.views.Render(w, r, http.StatusForbidden, "error", &ui.Page{
			Title: "Request refused", Links: a.accounts.Links(),
			Data: &ui.ErrorData{Status: http.StatusForbidden, Message: msg},
		})
	case strings.Contains(r.Header.Get("Accept"), "application/json") || strings.Contains(r.Header.Get("Content-Type"), "application/json"):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "csrf_failed", "message": msg}})
	default:
		http.Error(w, msg, http.StatusForbidden)
	}
}

// sudoWindow describes how long a re-authentication lasts, for the pages.
func (a *App) sudoWindow() string {
	d := a.cfg.SudoWindow
	if d <= 0 {
		d = 10 * time.Minute
	}
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

// pageData is what the demo's pages show.
type pageData struct {
	Auth *sigra.Auth
	Now  time.Time
	// SudoWindow is how long a re-authentication lasts ("10 minutes").
	SudoWindow string
}

// Methods lists the authentication methods of the session.
func (d *pageData) Methods() string {
	var s []string
	for _, m := range d.Auth.Methods {
		s = append(s, strings.ReplaceAll(string(m), "_", " "))
	}
	return strings.Join(s, ", ")
}
