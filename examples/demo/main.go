// Command demo is a small application wired with every Sigra package, in
// one call to package kit: a home page, a private page, a page behind sudo
// and one behind two-factor authentication, every account and two-factor
// flow under /auth, and the development mailbox at /dev/mail/, where every
// email the app sends can be read.
//
//	go run ./examples/demo                     # SQLite file sigra-demo.db, http://localhost:8080
//	go run ./examples/demo -addr localhost:0   # any free port
//	go run ./examples/demo -postgres "$DSN"    # PostgreSQL instead (or SIGRA_DEMO_POSTGRES)
//	go run ./examples/demo -sudo-window 30s    # re-authentication lasts 30 s, not 10 min
//	go run ./examples/demo -breach-api https://api.pwnedpasswords.com  # check passwords against breaches
//	go run ./examples/demo -smtp 'smtp://127.0.0.1:1025?from=demo@example.com&tls=none'
//	go run ./examples/demo -pprof localhost:6060  # profiles at http://localhost:6060/debug/pprof/
//
// At start it seeds a confirmed demo account and prints its address and
// password (-no-seed leaves it out).
//
// Sealing keys (for queued emails and TOTP secrets) come from -keys or
// SIGRA_KEYS ("id:base64key[,...]"); without either, a development key is
// kept in a file beside the database (sigra-demo.keys for sigra-demo.db;
// sigra-demo-postgres.keys with -postgres), created on first run, so
// two-factor users and queued email survive a restart.
//
// Sign-in with providers: each of Google, GitHub, Microsoft, GitLab and
// Apple is offered when its environment variables are set
// (GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET, and so on; see oauth.go).
// With none set and a local base URL, a local OpenID provider runs in the
// process and "Continue with Local ID" shows its consent page, where
// "Allow" signs in jane.doe@example.com (or a second test account) and
// "Deny" returns access_denied (-no-local-idp leaves it out).
//
// Email goes to the development mailbox unless -smtp or SIGRA_SMTP_URL
// names an SMTP server (mail.ParseSMTPURL: smtp://user:pass@host:port?from=...,
// tls=none only for a server on this machine); then every message is
// queued in the database and delivered by the outbox's worker, with
// retries.
//
// The API: GET /api/me answers, as JSON, the user of a JWT access token
// with the scope profile:read (package jwtauth). A client signs in and
// exchanges its session for tokens, then refreshes and signs out:
//
//	curl -c jar -H 'Content-Type: application/json' -d '{"email":"demo@example.com","password":"..."}' http://localhost:8080/auth/login
//	curl -b jar -H 'Content-Type: application/json' -d '{"client_name":"curl"}' http://localhost:8080/auth/token
//	curl -H "Authorization: Bearer $ACCESS" http://localhost:8080/api/me
//	curl -H 'Content-Type: application/json' -d "{\"refresh_token\":\"$REFRESH\"}" http://localhost:8080/auth/token/refresh
//	curl -H 'Content-Type: application/json' -d "{\"refresh_token\":\"$REFRESH\"}" http://localhost:8080/auth/token/revoke
//	curl http://localhost:8080/.well-known/jwks.json
//
// The signing key comes from -jwt-key or SIGRA_JWT_KEY (PEM or JWK);
// without either, a development Ed25519 key is kept beside the sealing
// keys (sigra-demo.jwt.pem), created on first run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, os.Stdout); err != nil {
		log.Error("demo stopped", "err", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line; getenv supplies the defaults that
// come from the environment (SIGRA_DEMO_POSTGRES, SIGRA_KEYS,
// SIGRA_SMTP_URL). Usage and errors go to out.
func parseFlags(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.Addr, "addr", "localhost:8080", "address to listen on (host:port; port 0 picks a free one)")
	fs.StringVar(&cfg.DB, "db", "sigra-demo.db", "SQLite database file")
	fs.StringVar(&cfg.Postgres, "postgres", getenv(EnvPostgres), "PostgreSQL DSN, instead of SQLite (default $"+EnvPostgres+")")
	fs.StringVar(&cfg.Keys, "keys", getenv(EnvKeys), "sealing keys, id:base64key[,id:base64key...] (default $"+EnvKeys+", else a key file beside the database)")
	fs.StringVar(&cfg.AuditChainKey, "audit-chain-key", getenv(EnvAuditChainKey), "the audit chain's secret key, base64 (default $"+EnvAuditChainKey+"; none: plain SHA-256)")
	fs.StringVar(&cfg.SMTP, "smtp", getenv(EnvSMTP), "SMTP server URL, smtp://user:pass@host:port?from=addr (default $"+EnvSMTP+", else the development mailbox)")
	fs.StringVar(&cfg.JWTKey, "jwt-key", getenv(EnvJWTKey), "private key signing the API's access tokens, PEM or JWK (default $"+EnvJWTKey+", else a key file beside the sealing keys)")
	fs.StringVar(&cfg.BaseURL, "base-url", "", "external URL of the app (default: http://<addr>)")
	fs.BoolVar(&cfg.NoSeed, "no-seed", false, "do not create the demo account")
	fs.DurationVar(&cfg.SudoWindow, "sudo-window", 10*time.Minute, "how long a re-authentication lasts for pages behind RequireSudo")
	fs.StringVar(&cfg.BreachAPI, "breach-api", "", "base URL of a Pwned Passwords range API to check passwords against at sign-up, change and sign-in (off by default)")
	fs.BoolVar(&cfg.NoLocalIDP, "no-local-idp", false, "without provider credentials in the environment, offer no sign-in with a local OpenID provider")
	fs.StringVar(&cfg.Pprof, "pprof", "", "serve the runtime's profiles (net/http/pprof) at this address on this machine (localhost:6060), apart from the app (off by default)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	cfg.Providers = ProvidersFromEnv(getenv)
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments: %q", fs.Args())
		fmt.Fprintln(out, err)
		fs.Usage()
		return Config{}, err
	}
	if cfg.Pprof != "" {
		if err := checkPprofAddr(cfg.Pprof); err != nil {
			fmt.Fprintln(out, err)
			fs.Usage()
			return Config{}, err
		}
	}
	return cfg, nil
}

// run serves the demo on cfg.Addr until ctx ends, printing its address,
// the demo account and where email goes to out.
func run(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.BaseURL == "" {
		port := ln.Addr().(*net.TCPAddr).Port
		host, _, _ := net.SplitHostPort(cfg.Addr)
		if host == "" || host == "0.0.0.0" || host == "::" || host == "127.0.0.1" || host == "::1" {
			host = "localhost"
		}
		cfg.BaseURL = fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(port)))
	}

	app, err := NewApp(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer app.Close()

	if cfg.Pprof != "" {
		addr, stop, err := servePprof(cfg.Pprof, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
		fmt.Fprintf(out, "Profiles: http://%s/debug/pprof/\n", addr)
	}

	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	workers, stopWorkers := context.WithCancel(context.Background())
	workersDone := make(chan struct{})
	go func() {
		defer close(workersDone)
		if err := app.Run(workers); err != nil {
			log.Error("background work stopped", "err", err)
		}
	}()

	fmt.Fprintf(out, "Sigra demo listening on %s\n", cfg.BaseURL)
	if app.Seeded != "" {
		fmt.Fprintf(out, "Demo account: %s  password: %s\n", DemoEmail, app.Seeded)
		fmt.Fprintf(out, "Admin account: %s  password: %s  console: %s/auth/admin/users\n", AdminEmail, app.Seeded, cfg.BaseURL)
	}
	if app.Kit.Mailbox != nil {
		fmt.Fprintf(out, "Emails the app sends: %s/dev/mail/\n", cfg.BaseURL)
	} else {
		where := "the SMTP server"
		if u, err := url.Parse(cfg.SMTP); err == nil {
			where += " " + u.Redacted()
		}
		fmt.Fprintf(out, "Emails the app sends: %s\n", where)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shutdown)
		cancel()
	}
	// The workers stop after the server, so email queued by the last
	// requests is still sent; what they do not send stays queued.
	stopWorkers()
	<-workersDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
