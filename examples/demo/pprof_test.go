package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestPprofFlag: -pprof takes an address on this machine only; anything
// else is refused with a message saying why, and no configuration.
func TestPprofFlag(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"localhost:6060", "127.0.0.1:0", "[::1]:6060", "127.1.2.3:6060"} {
		cfg, err := parseFlags([]string{"-pprof", addr}, func(string) string { return "" }, io.Discard)
		if err != nil || cfg.Pprof != addr {
			t.Errorf("-pprof %s: got %q, %v; want it accepted", addr, cfg.Pprof, err)
		}
	}
	tests := []struct{ addr, want string }{
		{"0.0.0.0:6060", "the host must be localhost"},
		{":6060", "the host must be localhost"},
		{"[::]:6060", "the host must be localhost"},
		{"192.0.2.1:6060", "the host must be localhost"},
		{"example.com:6060", "the host must be localhost"},
		{"localhost", "want host:port"},
		{"localhost:", "no port"},
	}
	for _, tt := range tests {
		var out strings.Builder
		cfg, err := parseFlags([]string{"-pprof", tt.addr}, func(string) string { return "" }, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("-pprof %q: got error %v, want one saying %q", tt.addr, err, tt.want)
		}
		if !reflect.DeepEqual(cfg, Config{}) {
			t.Errorf("-pprof %q: got configuration %+v, want none", tt.addr, cfg)
		}
		if !strings.Contains(out.String(), tt.want) {
			t.Errorf("-pprof %q: printed %q, want the reason %q", tt.addr, out.String(), tt.want)
		}
	}
}

// TestRunPprof: with -pprof, run serves the profiles at that address and
// says where; the app's own handler does not serve them; both stop with
// run.
func TestRunPprof(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, Config{Addr: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "demo.db"), SudoWindow: time.Minute, Passwords: cheapHashing, Pprof: "127.0.0.1:0"},
			slog.New(slog.DiscardHandler), pw)
		pw.Close()
	}()
	var base, profiles string
	lines := bufio.NewScanner(pr)
	for lines.Scan() && (base == "" || profiles == "") {
		if u, ok := strings.CutPrefix(lines.Text(), "Sigra demo listening on "); ok {
			base = u
		}
		if u, ok := strings.CutPrefix(lines.Text(), "Profiles: "); ok {
			profiles = u
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if base == "" || !strings.HasPrefix(profiles, "http://127.0.0.1:") || !strings.HasSuffix(profiles, "/debug/pprof/") {
		cancel()
		t.Fatalf("run printed base %q and profiles %q, want both, the profiles on 127.0.0.1", base, profiles)
	}

	// A transport of its own: closing any test's server closes the idle
	// connections of http.DefaultTransport, which breaks a parallel
	// test's request about to reuse one.
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer hc.CloseIdleConnections()
	get := func(url string) (int, string) {
		t.Helper()
		res, err := hc.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	if code, body := get(profiles); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("GET %s: got %d, want 200 and the list of profiles", profiles, code)
	}
	if code, _ := get(profiles + "heap?debug=1"); code != http.StatusOK {
		t.Errorf("GET %sheap: got %d, want 200", profiles, code)
	}
	if code, body := get(base + "/debug/pprof/"); code == http.StatusOK && strings.Contains(body, "goroutine") {
		t.Errorf("GET %s/debug/pprof/ on the app: got the profiles, want them only at -pprof's address", base)
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
	if res, err := hc.Get(profiles); err == nil {
		res.Body.Close()
		t.Errorf("GET %s after run returned: got %d, want the server closed", profiles, res.StatusCode)
	}
}
