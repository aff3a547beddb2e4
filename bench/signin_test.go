package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
)

const (
	// signInAccounts is how many accounts the sign-in benchmark signs in
	// to, in turn: each comes from an address of its own, so the per-IP
	// and per-account limits (100 and 20 per 15 minutes by default) allow
	// 20 sign-ins per account and run, 20,000 in all.
	signInAccounts = 1000
	// signInPassword is every benchmark account's password.
	signInPassword = "violet tractor anthem"

	// serverEnv asks TestSignInServerProcess to serve, with the store it
	// names ("sqlite" or "postgres").
	serverEnv = "SIGRA_BENCH_SIGNIN_SERVER"
	// serverProfileEnv names a file where the sign-in server writes the
	// CPU profile of its whole run, for finding what a sign-in costs
	// besides the hash.
	serverProfileEnv = "SIGRA_BENCH_SIGNIN_CPUPROFILE"
)

// TestSignInServerProcess is not a test of its own: in the child process
// that BenchmarkSignInThroughput starts (serverEnv set), it builds the
// sign-in server, prints its URL and session cookie name, and serves
// until its standard input is closed. Otherwise it does nothing.
func TestSignInServerProcess(t *testing.T) {
	kind := os.Getenv(serverEnv)
	if kind == "" {
		return
	}
	var st kit.Store
	switch kind {
	case "sqlite":
		st = openSQLite(t)
	case "postgres":
		st = openPostgres(t, postgres.Config{})
	default:
		t.Fatalf("%s: got %q, want sqlite or postgres", serverEnv, kind)
	}
	if path := os.Getenv(serverProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}
	url, cookie := serveSignIns(t, st)
	fmt.Printf("serving %s %s\n", url, cookie)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// serveSignIns builds the kit over st with the default hashing parameters
// and pool (password.Config{}, as the demo and a production application
// use), seeds signInAccounts confirmed accounts and serves the kit's
// handler with a real http.Server on 127.0.0.1 until t ends. The server
// trusts 127.0.0.1 as a proxy, so each client request names its own
// address in X-Forwarded-For, as requests from many users through a
// reverse proxy do. It returns the server's URL and the session cookie's
// name.
func serveSignIns(t testing.TB, st kit.Store) (url, cookie string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	k, err := kit.New(kit.Config{
		Store: st,
		Site: site.Config{
			BaseURL:        fmt.Sprintf("http://localhost:%d", port),
			TrustedProxies: []string{"127.0.0.1"},
			Logger:         slog.New(slog.DiscardHandler),
		},
		Keys: apptest.NewKey("k1"),
	})
	if err != nil {
		ln.Close()
		t.Fatalf("kit.New: %v", err)
	}
	if got, want := k.Hasher.Params(), signInParams(); got != want {
		ln.Close()
		t.Fatalf("hashing parameters: got %+v, want the defaults %+v", got, want)
	}
	hash, err := k.Hasher.Hash(context.Background(), signInPassword)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	now := time.Now()
	err = st.InTx(context.Background(), func(ctx context.Context) error {
		for i := range signInAccounts {
			u := &store.User{Email: signInEmail(i), PasswordHash: hash, EmailConfirmedAt: now, CreatedAt: now}
			if err := st.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		ln.Close()
		t.Fatalf("seed: %v", err)
	}
	srv := &http.Server{Handler: k.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), k.Sessions.CookieName()
}

// startSignInServer runs TestSignInServerProcess in a child process with
// the store kind and GOMAXPROCS procs, and returns a client of it. The
// child ends with b.
func startSignInServer(b *testing.B, kind string, procs int) *signInClient {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignInServerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), serverEnv+"="+kind, "GOMAXPROCS="+strconv.Itoa(procs))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("sign-in server: %v", err)
		}
	})
	out := bufio.NewScanner(stdout)
	for out.Scan() {
		if line, ok := strings.CutPrefix(out.Text(), "serving "); ok {
			url, cookie, _ := strings.Cut(line, " ")
			go io.Copy(io.Discard, stdout)
			return &signInClient{url: url, cookie: cookie}
		}
	}
	stdin.Close()
	b.Fatalf("sign-in server did not start (%v)", out.Err())
	return nil
}

// signInClient signs in to the accounts of a sign-in server in turn.
type signInClient struct {
	url    string // http://127.0.0.1:port
	cookie string // the session cookie's name
	next   atomic.Int64
}

func signInEmail(i int) string { return fmt.Sprintf("user%d@example.com", i) }

// signInAddr is the client address of account i's sign-ins: each account
// signs in from a network of its own, always the same.
func signInAddr(i int) string { return fmt.Sprintf("10.%d.%d.1", i>>8&255, i&255) }

// signIn posts one JSON password sign-in for the next account and checks
// that it succeeded: 200, "ok": true and a session cookie. The client
// keeps no cookies, so every sign-in starts from a new browser session.
func (s *signInClient) signIn(c *http.Client) error {
	i := int(s.next.Add(1)-1) % signInAccounts
	body := `{"email":"` + signInEmail(i) + `","password":"` + signInPassword + `"}`
	req, err := http.NewRequest(http.MethodPost, s.url+"/auth/login", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("X-Forwarded-For", signInAddr(i))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(got, []byte(`"ok":true`)) {
		return fmt.Errorf("sign-in of %s: got %d %s, want 200 and ok", signInEmail(i), resp.StatusCode, bytes.TrimSpace(got))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == s.cookie && ck.Value != "" {
			return nil
		}
	}
	return fmt.Errorf("sign-in of %s: no %s cookie in %q", signInEmail(i), s.cookie, resp.Header.Values("Set-Cookie"))
}

// signIns runs n sign-ins from clients concurrent clients, each on a
// keep-alive connection of its own, and returns how long they took.
func (s *signInClient) signIns(n, clients int) (time.Duration, error) {
	var (
		left = int64(n)
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	tr := &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: time.Minute}
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for atomic.AddInt64(&left, -1) >= 0 {
				if err := s.signIn(c); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// signInParams are the library's default Argon2id parameters, those of
// the sign-in server's hasher.
func signInParams() password.Params {
	return password.Params{
		Memory: password.DefaultMemory, Time: password.DefaultTime, Threads: password.DefaultThreads,
		SaltLength: password.DefaultSaltLength, KeyLength: password.DefaultKeyLength,
	}
}

// rawHashes computes n Argon2id keys with p from workers goroutines, each
// taking the next while any is left, and returns how long they took.
func rawHashes(p password.Params, n, workers int) time.Duration {
	left := int64(n)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			salt := make([]byte, p.SaltLength)
			for atomic.AddInt64(&left, -1) >= 0 {
				rand.Read(salt)
				argon2.IDKey([]byte(signInPassword), salt, p.Time, p.Memory, p.Threads, p.KeyLength)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkSignInThroughput measures, in one run, the raw Argon2id hash
// rate of this machine and the password sign-ins per second over loopback
// HTTP, at the same parameters: the library's defaults (m=19 MiB, t=2,
// p=1), which the demo uses.
//
// The raw rate is that of argon2.IDKey called in this process from as many
// goroutines as the hashing pool has slots (GOMAXPROCS, the pool's default
// size), with nothing else running. The sign-in rate is that of POST
// /auth/login with a JSON body, from four concurrent clients per pool
// slot on keep-alive connections to a real http.Server on 127.0.0.1 in a
// child process (this test binary again, running
// TestSignInServerProcess), through the whole handler chain of package
// kit: rate limits, the lockout's attempt places, the user read, the
// verification in the pool, the places freed, the new session, the audit
// row and the device record. Every sign-in succeeds (checked: 200 and a
// session cookie); accounts are taken in turn, each from an address of
// its own. Four clients per slot keep the pool busy without queueing past
// its MaxWait (2 s): more clients only wait longer, or are refused with
// 503 as the pool's bound intends.
//
// Each iteration runs both phases, 16 hashes or sign-ins per pool slot,
// the phases in alternating order so that load from elsewhere on the
// machine hits both alike. It reports hashes/s, signins/s and their ratio
// (the design's budget: sign-ins within 10% of the hash rate; the goal at
// least 0.85). The clients share the machine with the server, as wrk does
// in loopback.sh. Run it with
//
//	go test -run '^$' -bench SignInThroughput -benchtime 10x ./bench/
//
// and set SIGRA_BENCH_SIGNIN_CPUPROFILE to a file name for the server's
// CPU profile.
func BenchmarkSignInThroughput(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			if kind == "postgres" {
				pgtest.BaseDSN(b) // skips without a server, as the child would
			}
			pool := runtime.GOMAXPROCS(0)
			s := startSignInServer(b, kind, pool)
			clients := 4 * pool
			per := 16 * pool
			params := signInParams()
			// Warm up: connections, statement caches, the heaps.
			if _, err := s.signIns(clients, clients); err != nil {
				b.Fatal(err)
			}
			rawHashes(params, pool, pool)
			var hashTime, signInTime time.Duration
			odd := false
			for b.Loop() {
				var d time.Duration
				var err error
				if odd {
					d, err = s.signIns(per, clients)
					hashTime += rawHashes(params, per, pool)
				} else {
					hashTime += rawHashes(params, per, pool)
					d, err = s.signIns(per, clients)
				}
				if err != nil {
					b.Fatal(err)
				}
				signInTime += d
				odd = !odd
			}
			n := float64(b.N * per)
			hashes := n / hashTime.Seconds()
			signIns := n / signInTime.Seconds()
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(hashes, "hashes/s")
			b.ReportMetric(signIns, "signins/s")
			b.ReportMetric(signIns/hashes, "ratio")
		})
	}
}
