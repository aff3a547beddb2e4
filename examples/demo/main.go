// Command demo is a small application wired with every Sigra package: a
// home page, a private page, a page behind sudo and one behind two-factor
// authentication, every account and MFA flow under /auth, and the
// development mailbox at /dev/mail, where every email the app sends can be
// read.
//
//	go run ./examples/demo                     # SQLite file sigra-demo.db, http://localhost:8080
//	go run ./examples/demo -addr localhost:0   # any free port
//	go run ./examples/demo -postgres "$DSN"    # PostgreSQL instead (or SIGRA_DEMO_POSTGRES)
//	go run ./examples/demo -sudo-window 30s    # re-authentication lasts 30 s, not 10 min
//
// At start it seeds a confirmed demo account and prints its address and
// password. Sealing keys (for queued emails and TOTP secrets) are kept in
// a file beside the database (sigra-demo.keys), created on first run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var cfg Config
	flag.StringVar(&cfg.Addr, "addr", "localhost:8080", "address to listen on (host:port; port 0 picks a free one)")
	flag.StringVar(&cfg.DB, "db", "sigra-demo.db", "SQLite database file")
	flag.StringVar(&cfg.Postgres, "postgres", os.Getenv("SIGRA_DEMO_POSTGRES"), "PostgreSQL DSN (instead of SQLite)")
	flag.StringVar(&cfg.KeysFile, "keys", "", "file holding the sealing keys (default: beside the database)")
	flag.StringVar(&cfg.BaseURL, "base-url", "", "external URL of the app (default: http://<addr>)")
	flag.BoolVar(&cfg.NoSeed, "no-seed", false, "do not create the demo account")
	flag.DurationVar(&cfg.SudoWindow, "sudo-window", 10*time.Minute, "how long a re-authentication lasts for pages behind RequireSudo")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(cfg, log); err != nil {
		log.Error("demo stopped", "err", err)
		os.Exit(1)
	}
}

func run(cfg Config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.BaseURL == "" {
		port := ln.Addr().(*net.TCPAddr).Port
		host, _, _ := net.SplitHostPort(cfg.Addr)
		if host == "" || host == "0.0.0.0" || host == "::" || host == "127.0.0.1" {
			host = "localhost"
		}
		cfg.BaseURL = fmt.Sprintf("http://%s:%d", host, port)
	}

	app, err := NewApp(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer app.Close()

	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go app.RunWorkers(ctx)

	fmt.Printf("Sigra demo listening on %s\n", cfg.BaseURL)
	if app.Seeded != "" {
		fmt.Printf("Demo account: %s  password: %s\n", DemoEmail, app.Seeded)
	}
	fmt.Printf("Emails the app sends: %s/dev/mail/\n", cfg.BaseURL)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
