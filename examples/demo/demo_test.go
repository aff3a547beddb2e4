package main

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// running is a demo application started by startDemo.
type running struct {
	*apptest.App
	app *App
	// stop stops the application as a process that ends would: the
	// server, the background workers, the database. Safe to call twice.
	stop func()
}

// startDemo starts the demo as NewApp wires it, on a test server whose URL
// is the base URL, with its background workers (mail delivery, purges)
// when workers is set. It stops when t ends.
func startDemo(t testing.TB, cfg Config, workers bool) *running {
	t.Helper()
	x := &running{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if cfg.Postgres != "" && cfg.JWTKey == "" {
		// Without a database file the development key file would be made
		// in the working directory: the package's source.
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		cfg.JWTKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	x.App = apptest.Host(t, func(a *apptest.App) http.Handler {
		cfg.BaseURL = a.URL
		cfg.Passwords = cheapHashing
		app, err := NewApp(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("NewApp: %v", err)
		}
		x.app = app
		k := app.Kit
		a.Site, a.Sessions, a.UI, a.Guard, a.Limiter = k.Site, k.Sessions, k.UI, k.Guard, k.Limiter
		a.Outbox, a.Mailbox, a.Hasher = k.Outbox, k.Mailbox, k.Hasher
		a.Store = app.Store.(apptest.Store)
		a.DBPath = cfg.DB
		if cfg.Postgres != "" {
			a.Backend, a.DBPath = "postgres", ""
		}
		return app.Handler()
	})
	go func() {
		defer close(done)
		if workers {
			if err := x.app.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}()
	x.stop = func() {
		x.Server.Close()
		cancel()
		<-done
		x.app.Close()
	}
	t.Cleanup(x.stop)
	return x
}

// cheapHashing keeps the tests fast: Argon2id with tiny parameters.
var cheapHashing = password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, InsecureAllowWeakParams: true}

// codeAt is the TOTP code of secret for the time step of at, from
// pquerna/otp's totp package (the mfa package checks codes with its own
// step loop over hotp).
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// route returns the path of a route of the running demo's UI.
func (x *running) route(t *testing.T, name string) string {
	t.Helper()
	p, ok := x.UI.Route(name)
	if !ok {
		t.Fatalf("no route %q", name)
	}
	return p
}

// wantStatus fails t unless res has the status.
func wantStatus(t *testing.T, what string, res *apptest.Response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s: got status %d, want %d\n%.2000s", what, res.StatusCode, status, res.Body)
	}
}

// wantRedirect fails t unless res is a 303 to target.
func wantRedirect(t *testing.T, what string, res *apptest.Response, target string) {
	t.Helper()
	if got := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || got != target {
		t.Fatalf("%s: got %d to %q, want 303 to %q", what, res.StatusCode, got, target)
	}
}

// enrollTOTP turns on two-factor authentication for the client's user
// (signed in, sudo fresh) through the JSON API of the set-up page, and
// returns the secret and the time at which its code was accepted.
func enrollTOTP(t *testing.T, x *running, c *apptest.Client) (string, time.Time) {
	t.Helper()
	setup := x.route(t, ui.RouteStepUp)
	res := c.JSON("GET", setup, "")
	wantStatus(t, "GET set-up page", res, http.StatusOK)
	var page struct{ Secret, Enrollment string }
	if err := json.Unmarshal([]byte(res.Body), &page); err != nil || page.Secret == "" || page.Enrollment == "" {
		t.Fatalf("set-up page: got %s (%v), want a secret and an enrollment", res.Body, err)
	}
	now := time.Now()
	body, _ := json.Marshal(map[string]string{"code": codeAt(t, page.Secret, now), "enrollment": page.Enrollment})
	res = c.JSON("POST", setup, string(body))
	wantStatus(t, "POST set-up code", res, http.StatusOK)
	var done struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	if err := json.Unmarshal([]byte(res.Body), &done); err != nil || len(done.RecoveryCodes) == 0 {
		t.Fatalf("enrollment: got %s (%v), want recovery codes", res.Body, err)
	}
	return page.Secret, now
}

// TestRestartKeepsTwoFactorAndQueuedMail stops the demo with a two-factor
// user and an email still queued, and starts it again on the same SQLite
// file and key file: the user signs in with a TOTP code (its secret,
// sealed before the restart, still opens), and the new process's worker
// delivers the email queued by the old one.
func TestRestartKeepsTwoFactorAndQueuedMail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := Config{DB: filepath.Join(dir, "demo.db")}

	// First run, without the mail worker: what it queues stays queued.
	first := startDemo(t, cfg, false)
	if first.app.Seeded != demoPassword {
		t.Fatalf("first start: got seeded password %q, want %q", first.app.Seeded, demoPassword)
	}
	keys, err := os.ReadFile(filepath.Join(dir, "demo.keys"))
	if err != nil {
		t.Fatalf("first start: no key file beside the database: %v", err)
	}
	c := first.Client(t)
	c.SignIn(DemoEmail, demoPassword)
	secret, enrolled := enrollTOTP(t, first, c)
	if n := first.Count(t, "sigra_outbox", "recipient = ? AND sent_at IS NULL", DemoEmail); n != 1 {
		t.Fatalf("after enrollment: got %d queued emails to %s, want 1 (the two-factor notice)", n, DemoEmail)
	}
	if got := first.app.Kit.Mailbox.Messages(DemoEmail); len(got) != 0 {
		t.Fatalf("first run delivered %d emails without a worker, want 0", len(got))
	}
	first.stop()

	// Second run on the same file, with its worker.
	second := startDemo(t, cfg, true)
	if second.app.Seeded != "" {
		t.Errorf("second start: seeded the demo account again (password %q)", second.app.Seeded)
	}
	if again, err := os.ReadFile(filepath.Join(dir, "demo.keys")); err != nil || string(again) != string(keys) {
		t.Fatalf("second start: key file changed or unreadable (%v)", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := second.app.Kit.Mailbox.Wait(ctx, DemoEmail)
	if err != nil {
		t.Fatalf("the queued email was not delivered after the restart: %v", err)
	}
	if want := "Two-factor authentication is on"; !strings.Contains(m.Subject, want) {
		t.Errorf("delivered email: got subject %q, want it to contain %q", m.Subject, want)
	}
	// The worker marks the message sent once the mailbox has it: wait
	// for that too.
	for n := second.Count(t, "sigra_outbox", "recipient = ? AND sent_at IS NULL", DemoEmail); n != 0; n = second.Count(t, "sigra_outbox", "recipient = ? AND sent_at IS NULL", DemoEmail) {
		if ctx.Err() != nil {
			t.Fatalf("after delivery: got %d queued emails, want 0", n)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Sign in with the password, then a TOTP code of the next time step
	// (the enrollment used this one; one step of drift is accepted).
	c = second.Client(t)
	res := c.SignIn(DemoEmail, demoPassword)
	challenge := second.route(t, ui.RouteSecondFactor)
	if got := res.Header.Get("Location"); !strings.HasPrefix(got, challenge) {
		t.Fatalf("password sign-in of a two-factor user: got redirect to %q, want %s", got, challenge)
	}
	res = c.Post(challenge, url.Values{"code": {codeAt(t, secret, enrolled.Add(30*time.Second))}})
	wantRedirect(t, "TOTP code after the restart", res, "/")
	if state, email, aal := c.Whoami(); state != "authenticated" || email != DemoEmail || aal != 2 {
		t.Fatalf("after the TOTP code: got %s %s AAL%d, want authenticated %s AAL2", state, email, aal, DemoEmail)
	}
	wantStatus(t, "GET /private/vault", c.Get("/private/vault"), http.StatusOK)
}

// TestKeys checks where the sealing keys come from: -keys, else
// SIGRA_KEYS, else a key file beside the database, created once with mode
// 0600 and reused.
func TestKeys(t *testing.T) {
	flagKey, envKey := newKey(t, "f1"), newKey(t, "e1")
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		want     string // the keys, or "" for the file's
		wantFile string // the key file expected, relative to the test's folder; "" for none
	}{
		{"flag", []string{"-keys", flagKey}, nil, flagKey, ""},
		{"environment", nil, map[string]string{EnvKeys: envKey}, envKey, ""},
		{"flag over environment", []string{"-keys", flagKey}, map[string]string{EnvKeys: envKey}, flagKey, ""},
		{"key file beside the database", nil, nil, "", "app.keys"},
		{"key file with PostgreSQL", []string{"-postgres", "postgres://localhost/none"}, nil, "", "sigra-demo-postgres.keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir) // the PostgreSQL key file lives in the working directory
			args := append([]string{"-db", filepath.Join(dir, "app.db")}, tt.args...)
			cfg, err := parseFlags(args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", args, err)
			}
			got, err := cfg.LoadKeys()
			if err != nil {
				t.Fatalf("LoadKeys: %v", err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.keys"))
			if tt.wantFile == "" {
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got keys %q, want %q", got, tt.want)
				}
				if len(files) != 0 {
					t.Errorf("got key files %q, want none", files)
				}
				return
			}
			path := filepath.Join(dir, tt.wantFile)
			if len(files) != 1 || files[0] != path {
				t.Fatalf("got key files %q, want [%s]", files, path)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("key file mode: got %v, want -rw-------", mode)
			}
			b, _ := os.ReadFile(path)
			if line := strings.TrimSpace(string(b)); line != got || !strings.Contains(got, ":") {
				t.Errorf("got keys %q, want the key file's line %q", got, line)
			}
			again, err := cfg.LoadKeys()
			if err != nil || again != got {
				t.Errorf("second LoadKeys: got %q (%v), want the same keys %q", again, err, got)
			}
			if b2, _ := os.ReadFile(path); string(b2) != string(b) {
				t.Errorf("second LoadKeys rewrote the key file")
			}
		})
	}
}

// newKey returns a fresh keyring spec with one key.
func newKey(t *testing.T, id string) string {
	t.Helper()
	k, err := token.NewSealKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeysInUse checks that NewApp uses the keys given (writing no key
// file) and refuses keys that are not a keyring.
func TestKeysInUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	x := startDemo(t, Config{DB: filepath.Join(dir, "demo.db"), Keys: newKey(t, "k9")}, false)
	wantStatus(t, "GET /healthz", x.Client(t).Get("/healthz"), http.StatusOK)
	if files, _ := filepath.Glob(filepath.Join(dir, "*.keys")); len(files) != 0 {
		t.Errorf("got key files %q with -keys given, want none", files)
	}

	_, err := NewApp(context.Background(), Config{DB: filepath.Join(dir, "other.db"), BaseURL: "http://localhost:8080", Keys: "not-a-keyring", Passwords: cheapHashing}, slog.New(slog.DiscardHandler))
	if !errors.Is(err, sigra.ErrConfig) {
		t.Fatalf("NewApp with keys %q: got %v, want an error wrapping sigra.ErrConfig", "not-a-keyring", err)
	}
}

// TestSMTP sends the demo's email through a real SMTP server: the
// message is queued, delivered by the worker, and arrives with a link
// built from the base URL. No development mailbox is served.
func TestSMTP(t *testing.T) {
	t.Parallel()
	server := startSMTP(t)
	x := startDemo(t, Config{DB: filepath.Join(t.TempDir(), "demo.db"), SMTP: server.url()}, true)
	if x.app.Kit.Mailbox != nil {
		t.Fatal("with -smtp, the demo still has a development mailbox")
	}
	c := x.Client(t)
	wantStatus(t, "GET /dev/mail/", c.Get("/dev/mail/"), http.StatusNotFound)

	res := c.Post(x.route(t, "forgot"), url.Values{"email": {DemoEmail}})
	if res.StatusCode >= 400 {
		t.Fatalf("POST forgot: got %d\n%s", res.StatusCode, res.Body)
	}
	m := server.wait(t, DemoEmail, "Reset your")
	if from := m.Header.Get("From"); !strings.Contains(from, "<demo@example.com>") || !strings.Contains(from, "Sigra Demo") {
		t.Errorf("From: got %q, want the brand's name and demo@example.com", from)
	}
	if link := x.URL + x.route(t, "reset") + "?token="; !strings.Contains(m.Text, link) {
		t.Errorf("email text has no link starting %q:\n%s", link, m.Text)
	}
}

// TestPages checks the demo's own pages and their guards.
func TestPages(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			cfg := Config{DB: filepath.Join(t.TempDir(), "demo.db")}
			if backend == "postgres" {
				cfg.Postgres, cfg.Keys = pgtest.DSN(t), newKey(t, "k1")
			}
			x := startDemo(t, cfg, false)
			anon := x.Client(t)
			user := x.Client(t)
			user.SignIn(DemoEmail, demoPassword)

			tests := []struct {
				name     string
				c        *apptest.Client
				path     string
				status   int
				location string   // for a redirect
				contains []string // for a page
			}{
				{"home, anonymous", anon, "/", 200, "", []string{`href="/auth/login"`, `href="/auth/register"`, `href="/dev/mail/"`, `href="/private/vault"`, "10 minutes"}},
				{"private, anonymous", anon, "/private", 303, "/auth/login?return_to=%2Fprivate", nil},
				{"billing, anonymous", anon, "/private/billing", 303, "/auth/login?return_to=%2Fprivate%2Fbilling", nil},
				{"vault, anonymous", anon, "/private/vault", 303, "/auth/login?return_to=%2Fprivate%2Fvault", nil},
				{"health", anon, "/healthz", 200, "", []string{"ok"}},
				{"home, signed in", user, "/", 200, "", []string{"Signed in as <strong>" + DemoEmail + "</strong> with password (assurance level 1).", `href="/auth/settings"`}},
				{"private, signed in", user, "/private", 200, "", []string{"Your private page", "at assurance level 1", `href="/auth/sessions"`}},
				{"billing, sudo fresh from sign-in", user, "/private/billing", 200, "", []string{"within the last 10 minutes"}},
				{"vault, one factor", user, "/private/vault", 303, "/auth/mfa/setup?return_to=%2Fprivate%2Fvault", nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					res := tt.c.For(t).Get(tt.path)
					if res.StatusCode != tt.status {
						t.Fatalf("GET %s: got %d, want %d\n%.1000s", tt.path, res.StatusCode, tt.status, res.Body)
					}
					if got := res.Header.Get("Location"); got != tt.location {
						t.Errorf("GET %s: got Location %q, want %q", tt.path, got, tt.location)
					}
					for _, s := range tt.contains {
						if !strings.Contains(res.Body, s) {
							t.Errorf("GET %s: page lacks %q", tt.path, s)
						}
					}
				})
			}
		})
	}
}

// TestFlags checks the command line and the environment variables
// behind its defaults.
func TestFlags(t *testing.T) {
	env := map[string]string{EnvPostgres: "postgres://env", EnvKeys: "env-keys", EnvSMTP: "smtp://env"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    Config
		wantErr bool
	}{
		{"defaults", nil, nil, Config{Addr: "localhost:8080", DB: "sigra-demo.db", SudoWindow: 10 * time.Minute}, false},
		{"environment", nil, env, Config{Addr: "localhost:8080", DB: "sigra-demo.db", Postgres: "postgres://env", Keys: "env-keys", SMTP: "smtp://env", SudoWindow: 10 * time.Minute}, false},
		{"flags over environment",
			[]string{"-addr", "localhost:0", "-db", "x.db", "-postgres", "postgres://flag", "-keys", "flag-keys", "-smtp", "smtp://flag", "-base-url", "https://demo.example.com", "-no-seed", "-sudo-window", "30s", "-breach-api", "https://breach.example.com"},
			env,
			Config{Addr: "localhost:0", DB: "x.db", Postgres: "postgres://flag", Keys: "flag-keys", SMTP: "smtp://flag", BaseURL: "https://demo.example.com", NoSeed: true, SudoWindow: 30 * time.Second, BreachAPI: "https://breach.example.com"}, false},
		{"unknown flag", []string{"-nope"}, nil, Config{}, true},
		{"stray argument", []string{"extra"}, nil, Config{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseFlags(%q): got error %v, want error %v", tt.args, err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseFlags(%q):\ngot  %+v\nwant %+v", tt.args, got, tt.want)
			}
		})
	}
}

// TestRun starts the demo as main does, on a free port, reads what it
// prints, asks it for /healthz and stops it through its context.
func TestRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, Config{Addr: "127.0.0.1:0", DB: filepath.Join(dir, "demo.db"), SudoWindow: time.Minute, Passwords: cheapHashing}, slog.New(slog.DiscardHandler), pw)
		pw.Close()
	}()

	lines := bufio.NewScanner(pr)
	var base string
	var printed []string
	for lines.Scan() {
		line := lines.Text()
		printed = append(printed, line)
		if u, ok := strings.CutPrefix(line, "Sigra demo listening on "); ok {
			base = u
		}
		if strings.HasPrefix(line, "Emails the app sends:") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	want := []string{
		"Sigra demo listening on " + base,
		"Demo account: " + DemoEmail + "  password: " + demoPassword,
		"Admin account: " + AdminEmail + "  password: " + demoPassword + "  console: " + base + "/auth/admin/users",
		"Emails the app sends: " + base + "/dev/mail/",
	}
	if !strings.HasPrefix(base, "http://localhost:") || strings.Join(printed, "\n") != strings.Join(want, "\n") {
		var runErr error
		select {
		case runErr = <-done:
		case <-time.After(time.Second):
		}
		t.Fatalf("run printed:\n%s\nwant:\n%s\nwith a base URL on localhost (run returned %v)", strings.Join(printed, "\n"), strings.Join(want, "\n"), runErr)
	}
	// A transport of its own: closing any test's server closes the idle
	// connections of http.DefaultTransport, which breaks a parallel
	// test's request about to reuse one.
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer hc.CloseIdleConnections()
	res, err := hc.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: got %d, want 200", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after its context ended: got %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return within 15 s of its context ending")
	}
}

// TestTeam checks the seeded organization: the demo account owns it, the
// teammate is a member, and the demo's organization routes answer by
// role, with 404 for someone who is not a member.
func TestTeam(t *testing.T) {
	t.Parallel()
	x := startDemo(t, Config{DB: filepath.Join(t.TempDir(), "demo.db")}, false)
	owner, mate, stranger := x.Client(t), x.Client(t), x.Client(t)
	owner.SignIn(DemoEmail, demoPassword)
	mate.SignIn(TeammateEmail, demoPassword)
	x.CreateUser(t, "stranger@example.com", demoPassword)
	stranger.SignIn("stranger@example.com", demoPassword)

	wantRedirect(t, "team before choosing", owner.Get("/team"), x.route(t, "orgs")+"?return_to=%2Fteam")
	for _, c := range []*apptest.Client{owner, mate} {
		res := c.Post(x.route(t, "org_switch"), url.Values{"org": {DemoOrgSlug}, "return_to": {"/team"}})
		wantRedirect(t, "switch", res, "/team")
	}
	for _, tt := range []struct {
		name   string
		c      *apptest.Client
		path   string
		status int
		text   string
	}{
		{"owner's team page", owner, "/team", 200, "Your role: owner"},
		{"owner's billing", owner, "/o/" + DemoOrgSlug + "/billing", 200, "You may manage this team"},
		{"teammate's team page", mate, "/team", 200, "Your role: member"},
		{"teammate's billing", mate, "/o/" + DemoOrgSlug + "/billing", 403, ""},
		{"stranger's billing", stranger, "/o/" + DemoOrgSlug + "/billing", 404, ""},
	} {
		res := tt.c.For(t).Get(tt.path)
		wantStatus(t, tt.name, res, tt.status)
		if !strings.Contains(res.Body, tt.text) {
			t.Errorf("%s: page lacks %q", tt.name, tt.text)
		}
	}
}

// TestAPI: a client signs in with the JSON endpoint, exchanges its
// session for tokens and reads GET /api/me with the access token; the
// signing key is kept in its development file across restarts.
func TestAPI(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "demo.db")
	x := startDemo(t, Config{DB: db}, false)
	c := x.Client(t)
	wantStatus(t, "sign in", c.JSON("POST", "/auth/login", `{"email":"`+DemoEmail+`","password":"`+demoPassword+`"}`), http.StatusOK)
	res := c.JSON("POST", "/auth/token", `{"client_name":"demo test"}`)
	wantStatus(t, "token", res, http.StatusOK)
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(res.Body), &tk); err != nil || tk.AccessToken == "" {
		t.Fatalf("token answer: %v\n%s", err, res.Body)
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+tk.AccessToken)
	me := x.Client(t).Do("GET", "/api/me", h, nil)
	wantStatus(t, "GET /api/me", me, http.StatusOK)
	if !strings.Contains(me.Body, `"scopes":["profile:read"]`) {
		t.Errorf("GET /api/me: %s", me.Body)
	}
	wantStatus(t, "GET /api/me without a token", x.Client(t).Get("/api/me"), http.StatusUnauthorized)
	// The key file was made once and is read back.
	cfg := Config{DB: db}
	k1, err := cfg.LoadJWTKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := cfg.LoadJWTKey()
	if err != nil || !k1.Private.(interface{ Equal(crypto.PrivateKey) bool }).Equal(k2.Private) {
		t.Errorf("the development JWT key changed between loads: %v", err)
	}
}
