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
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
	// 20 sign-ins per account and run, 80,000 in all.
	signInAccounts = 4000
	// signInPassword is every benchmark account's password.
	signInPassword = "violet tractor anthem"

	// serverEnv asks TestSignInServerProcess to serve, with the store it
	// names ("sqlite" or "postgres").
	serverEnv = "SIGRA_BENCH_SIGNIN_SERVER"
	// serverProfileEnv names a file where the sign-in server writes the
	// CPU profile of its whole run, for finding what a sign-in costs
	// besides the hash.
	serverProfileEnv = "SIGRA_BENCH_SIGNIN_CPUPROFILE"
	// serverHeapEnv names a file where the sign-in server writes a heap
	// profile when its run ends: what its heap holds live, which every
	// cycle of the garbage collector marks. Every allocation is recorded
	// (runtime.MemProfileRate 1), which slows the server: the profile is
	// for what the heap holds, not for the run's figures.
	serverHeapEnv = "SIGRA_BENCH_SIGNIN_HEAPPROFILE"
	// serverMaxConnsEnv, when set, is the size of the sign-in server's
	// PostgreSQL pool (postgres.Config.MaxConns) instead of the default,
	// for comparing pool sizes where the database shares the cores.
	serverMaxConnsEnv = "SIGRA_BENCH_SIGNIN_MAXCONNS"
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
		// Named, so that the benchmark finds the server's connections
		// among the database's (see signInClient.cpu).
		dsn := withAppName(pgtest.DSN(t), signInAppName(os.Getpid()))
		var maxConns int32
		if v := os.Getenv(serverMaxConnsEnv); v != "" {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n < 1 {
				t.Fatalf("%s: got %q, want a positive number of connections", serverMaxConnsEnv, v)
			}
			maxConns = int32(n)
		}
		db, err := postgres.New(context.Background(), postgres.Config{DSN: dsn, MaxConns: maxConns})
		if err != nil {
			t.Fatalf("postgres.New: %v", err)
		}
		t.Cleanup(db.Close)
		st = db
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
	heapPath := os.Getenv(serverHeapEnv)
	if heapPath != "" {
		runtime.MemProfileRate = 1
	}
	url, cookie := serveSignIns(t, st, signInAccounts)
	// Registered after the server, so it runs while the server is still
	// up (cleanups run last first).
	if path := heapPath; path != "" {
		t.Cleanup(func() {
			f, err := os.Create(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			runtime.GC() // the profile's live heap: as of the last cycle
			if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
				t.Error(err)
			}
		})
	}
	fmt.Printf("serving %s %s\n", url, cookie)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// serveSignIns builds the kit over st with the default hashing parameters
// and pool (password.Config{}, as the demo and a production application
// use), seeds a confirmed account for each of the first accounts
// addresses of signInEmail and serves the kit's handler with a real
// http.Server on 127.0.0.1 until t ends. The server trusts 127.0.0.1 as a
// proxy, so each client request names its own address in X-Forwarded-For,
// as requests from many users through a reverse proxy do. It returns the
// server's URL and the session cookie's name. GET gcPath answers the
// server's garbage collection so far (see readGC), for the benchmark.
func serveSignIns(t testing.TB, st kit.Store, accounts int) (url, cookie string) {
	t.Helper()
	_, url, cookie = serveKit(t, st, accounts)
	return url, cookie
}

// serveKit is serveSignIns, returning the kit too.
func serveKit(t testing.TB, st kit.Store, accounts int) (k *kit.Kit, url, cookie string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	k, err = kit.New(kit.Config{
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
		for i := range accounts {
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
	mux := http.NewServeMux()
	mux.Handle("/", k.Handler())
	mux.HandleFunc("GET "+gcPath, func(w http.ResponseWriter, r *http.Request) {
		g := readGC()
		fmt.Fprintf(w, "%d %d %d", g.cycles, g.cpu, g.scavenge)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return k, "http://" + ln.Addr().String(), k.Sessions.CookieName()
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
	var said []string // what the child printed before serving: its failure, if any
	for out.Scan() {
		if line, ok := strings.CutPrefix(out.Text(), "serving "); ok {
			url, cookie, _ := strings.Cut(line, " ")
			go io.Copy(io.Discard, stdout)
			return &signInClient{url: url, cookie: cookie, pid: cmd.Process.Pid}
		}
		said = append(said, out.Text())
	}
	stdin.Close()
	b.Fatalf("sign-in server did not start (%v):\n%s", out.Err(), strings.Join(said, "\n"))
	return nil
}

// signInClient signs in to the accounts of a sign-in server in turn.
type signInClient struct {
	url    string // http://127.0.0.1:port
	cookie string // the session cookie's name
	pid    int    // the server's process
	next   atomic.Int64
}

// signInAppName is the PostgreSQL application_name of the connections of
// the sign-in server with process ID pid.
func signInAppName(pid int) string { return fmt.Sprintf("sigra-bench-signin-%d", pid) }

// withAppName returns dsn with its application_name set to name, in the
// URL or the keyword/value form.
func withAppName(dsn, name string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("application_name", name)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " application_name=" + name
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

// usage is what a process has used so far.
type usage struct {
	cpu time.Duration // user and system
	// faults counts its minor page faults: pages of memory it touched that
	// the kernel had to map first. In the sign-in server nearly all are the
	// hashes' memory, which the Go runtime hands back to the kernel between
	// garbage collections and then touches again (see
	// BenchmarkSignInThroughput).
	faults int64
	gc     gcUsage // the garbage collector's share
}

// gcUsage is what a Go process's garbage collector has done so far, as
// its runtime counts it (runtime/metrics; the CPU times are the runtime's
// estimates).
type gcUsage struct {
	cycles   int64         // collections completed
	cpu      time.Duration // marking, assists and pauses
	scavenge time.Duration // handing free memory back to the kernel
}

// gcPath is where the sign-in server answers its gcUsage.
const gcPath = "/_bench/gc"

// readGC returns this process's gcUsage.
func readGC() gcUsage {
	s := []metrics.Sample{
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/scavenge/total:cpu-seconds"},
	}
	metrics.Read(s)
	seconds := func(v metrics.Value) time.Duration {
		if v.Kind() != metrics.KindFloat64 {
			return 0
		}
		return time.Duration(v.Float64() * float64(time.Second))
	}
	var cycles int64
	if s[0].Value.Kind() == metrics.KindUint64 {
		cycles = int64(s[0].Value.Uint64())
	}
	return gcUsage{cycles: cycles, cpu: seconds(s[1].Value), scavenge: seconds(s[2].Value)}
}

// sub returns u less v.
func (u usage) sub(v usage) usage {
	return usage{cpu: u.cpu - v.cpu, faults: u.faults - v.faults, gc: u.gc.sub(v.gc)}
}

// add returns u plus v.
func (u usage) add(v usage) usage {
	return usage{cpu: u.cpu + v.cpu, faults: u.faults + v.faults, gc: u.gc.add(v.gc)}
}

// sub returns g less h.
func (g gcUsage) sub(h gcUsage) gcUsage {
	return gcUsage{cycles: g.cycles - h.cycles, cpu: g.cpu - h.cpu, scavenge: g.scavenge - h.scavenge}
}

// add returns g plus h.
func (g gcUsage) add(h gcUsage) gcUsage {
	return gcUsage{cycles: g.cycles + h.cycles, cpu: g.cpu + h.cpu, scavenge: g.scavenge + h.scavenge}
}

// gc returns the sign-in server's gcUsage, asked of it over HTTP.
func (s *signInClient) gc() (gcUsage, bool) {
	resp, err := http.Get(s.url + gcPath)
	if err != nil {
		return gcUsage{}, false
	}
	defer resp.Body.Close()
	var g gcUsage
	var cpu, scavenge int64
	if _, err := fmt.Fscanf(resp.Body, "%d %d %d", &g.cycles, &cpu, &scavenge); err != nil || resp.StatusCode != http.StatusOK {
		return gcUsage{}, false
	}
	g.cpu, g.scavenge = time.Duration(cpu), time.Duration(scavenge)
	return g, true
}

// usage returns what the sign-in server has used so far and, when its
// store is PostgreSQL on this machine, the CPU time of the database's
// backends serving its connections (found by their application_name in
// pg_stat_activity, through pg). ok is false where the server's usage
// cannot be read: only Linux's /proc is read.
func (s *signInClient) usage(pg *pgx.Conn) (server usage, db time.Duration, ok bool) {
	server, _, ok = processUsage(s.pid)
	if ok {
		server.gc, ok = s.gc()
	}
	if pg == nil || !ok {
		return server, 0, ok
	}
	rows, err := pg.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, signInAppName(s.pid))
	if err != nil {
		return server, 0, ok
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return server, 0, ok
	}
	for _, pid := range pids {
		// A process of this machine with that ID, if it is PostgreSQL.
		if u, name, found := processUsage(int(pid)); found && strings.HasPrefix(name, "postgres") {
			db += u.cpu
		}
	}
	return server, db, ok
}

// phase adds up the elapsed time of one side of the sign-in benchmark and
// the CPU time and page faults meanwhile.
type phase struct {
	wall   time.Duration // elapsed
	self   usage         // this process: the raw hashes, or the clients
	server usage         // the sign-in server
	db     time.Duration // the database's backends serving the server
	// noCPU: the usage could not be read at some measure.
	noCPU bool
}

// measure runs fn and adds its elapsed time and what was used meanwhile
// by this process, the sign-in server s and its database backends (see
// signInClient.usage).
func (p *phase) measure(s *signInClient, pg *pgx.Conn, fn func() error) error {
	self0, ok0 := selfUsage()
	server0, db0, ok1 := s.usage(pg)
	start := time.Now()
	err := fn()
	p.wall += time.Since(start)
	self1, ok2 := selfUsage()
	server1, db1, ok3 := s.usage(pg)
	p.self = p.self.add(self1.sub(self0))
	p.server = p.server.add(server1.sub(server0))
	p.db += db1 - db0
	p.noCPU = p.noCPU || !(ok0 && ok1 && ok2 && ok3)
	return err
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
// Each iteration runs both phases, 64 hashes or sign-ins per pool slot,
// the phases in alternating order so that load from elsewhere on the
// machine hits both alike. A sign-in phase has a ramp at each end that
// the raw one has not (before the first hash, the first requests' reads
// and writes; after the last, the answer, and the slots finishing their
// last hashes one after the other): a fixed cost per phase, which phases
// of 16 per slot made about 3% of the sign-in time. It reports hashes/s,
// signins/s and their ratio (the design's budget: sign-ins within 10% of
// the hash rate; the goal at least 0.85). The clients share the machine
// with the server, as wrk does in loopback.sh, and so does PostgreSQL.
//
// On a machine busy with other work the ratio comes out too high: the
// sign-in phase, with more threads ready to run (the server's, the
// clients', the database's), gets a larger share of the cores than the
// raw phase's two. Where Linux's /proc can be read, the benchmark also
// reports where the CPU went, in milliseconds per hash or sign-in, which
// such load changes less: hash-cpu-ms, this process's during the raw
// phases; signin-cpu-ms, the server's; client-cpu-ms, the clients'; for
// PostgreSQL on this machine db-cpu-ms, that of the backends serving the
// server; and cpu-ratio, hash-cpu-ms over the sum of the other three, the
// ratio the sign-ins would reach if both phases kept the cores busy.
// hash-faults and signin-faults count the minor page faults per hash of
// this process (in the raw phases) and per sign-in of the server: nearly
// all are pages of the hashes' memory that the Go runtime had handed back
// to the kernel and a hash touched again (see "Parameters and the pool"
// in package password). The server's heap swings more from one
// collection to the next than the raw process's, so it takes more of
// them. hash-gcs and signin-gcs count the garbage collections per hash
// (this process, in the raw phases) and per sign-in (the server, which
// answers its own figures at gcPath), and hash-gc-ms and signin-gc-ms the
// CPU time the collector and the scavenger took meanwhile, as the runtime
// estimates it (runtime/metrics): each hash allocates its 19 MiB, so both
// sides collect every two or three hashes, but a cycle of the server
// marks the heap of a whole application. Run it with
//
//	go test -run '^$' -bench SignInThroughput -benchtime 4x -count 5 ./bench/
//
// and, for a server started as package kit advises, with
// GODEBUG=madvdontneed=0 in the environment, which both processes
// inherit:
//
//	GODEBUG=madvdontneed=0 go test -run '^$' -bench SignInThroughput -benchtime 4x -count 5 ./bench/
//
// (at most 1200/GOMAXPROCS iterations a run: the limits let each account
// sign in 20 times) and set SIGRA_BENCH_SIGNIN_CPUPROFILE to a file name
// for the server's CPU profile, SIGRA_BENCH_SIGNIN_HEAPPROFILE for a
// profile of its live heap at the end, SIGRA_BENCH_SIGNIN_MAXCONNS to
// size the server's PostgreSQL pool.
func BenchmarkSignInThroughput(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			var pg *pgx.Conn
			if kind == "postgres" {
				// Skips without a server, as the child would.
				conn, err := pgx.Connect(context.Background(), pgtest.BaseDSN(b))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { conn.Close(context.Background()) })
				pg = conn
			}
			pool := runtime.GOMAXPROCS(0)
			s := startSignInServer(b, kind, pool)
			clients := 4 * pool
			per := 64 * pool
			params := signInParams()
			// Warm up: connections, statement caches, the heaps.
			if _, err := s.signIns(clients, clients); err != nil {
				b.Fatal(err)
			}
			rawHashes(params, pool, pool)
			var hashes, signIns phase
			hash := func() error {
				return hashes.measure(s, pg, func() error { rawHashes(params, per, pool); return nil })
			}
			signIn := func() error {
				return signIns.measure(s, pg, func() error { _, err := s.signIns(per, clients); return err })
			}
			odd := false
			for b.Loop() {
				first, second := hash, signIn
				if odd {
					first, second = signIn, hash
				}
				if err := first(); err != nil {
					b.Fatal(err)
				}
				if err := second(); err != nil {
					b.Fatal(err)
				}
				odd = !odd
			}
			n := float64(b.N * per)
			hashRate := n / hashes.wall.Seconds()
			signInRate := n / signIns.wall.Seconds()
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(hashRate, "hashes/s")
			b.ReportMetric(signInRate, "signins/s")
			b.ReportMetric(signInRate/hashRate, "ratio")
			if !hashes.noCPU && !signIns.noCPU {
				ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / n }
				b.ReportMetric(ms(hashes.self.cpu), "hash-cpu-ms")
				b.ReportMetric(ms(signIns.server.cpu), "signin-cpu-ms")
				b.ReportMetric(ms(signIns.self.cpu), "client-cpu-ms")
				if pg != nil {
					b.ReportMetric(ms(signIns.db), "db-cpu-ms")
				}
				b.ReportMetric(hashes.self.cpu.Seconds()/(signIns.server.cpu+signIns.self.cpu+signIns.db).Seconds(), "cpu-ratio")
				b.ReportMetric(float64(hashes.self.faults)/n, "hash-faults")
				b.ReportMetric(float64(signIns.server.faults)/n, "signin-faults")
				b.ReportMetric(float64(hashes.self.gc.cycles)/n, "hash-gcs")
				b.ReportMetric(float64(signIns.server.gc.cycles)/n, "signin-gcs")
				b.ReportMetric(ms(hashes.self.gc.cpu+hashes.self.gc.scavenge), "hash-gc-ms")
				b.ReportMetric(ms(signIns.server.gc.cpu+signIns.server.gc.scavenge), "signin-gc-ms")
			}
		})
	}
}
