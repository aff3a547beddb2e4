package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// checkPprofAddr checks the address given to -pprof: host:port with a
// loopback host (localhost, 127.0.0.1, ::1). Profiles show the program's
// internals and the profiled requests' timing, so they are never served
// beyond this machine.
func checkPprofAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-pprof %q: want host:port on this machine (localhost:6060): %w", addr, err)
	}
	if port == "" {
		return fmt.Errorf("-pprof %q: no port (localhost:6060)", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-pprof %q: the host must be localhost, 127.0.0.1 or ::1: profiles are not served beyond this machine", addr)
}

// pprofHandler serves the runtime's profiles (net/http/pprof) under
// /debug/pprof/, on a mux of its own: the demo's handler never serves
// them.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// servePprof listens on addr (checked by checkPprofAddr) and serves the
// profiles there until the returned function is called. It returns the
// address it listens on (a port 0 is chosen by the system).
func servePprof(addr string, log *slog.Logger) (string, func(), error) {
	if err := checkPprofAddr(addr); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler:           pprofHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server stopped", "err", err)
		}
	}()
	return ln.Addr().String(), func() { srv.Close() }, nil
}
