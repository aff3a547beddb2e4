package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// This file runs a real SMTP server (emersion/go-smtp) on a loopback
// listener for the tests.

// received is one message as the server got it.
type received struct {
	From     string
	To       []string
	Data     []byte
	AuthUser string
	TLS      bool
}

// serverMode is how the test server listens.
type serverMode int

const (
	plainServer    serverMode = iota // no TLS at all
	startTLSServer                   // plain, offering STARTTLS
	implicitServer                   // TLS from the first byte
)

type serverOptions struct {
	mode serverMode
	// users maps accepted usernames to passwords; nil offers no AUTH.
	users map[string]string
	// requireAuth refuses MAIL FROM before AUTH.
	requireAuth bool
	// rcpt, when set, may refuse a recipient.
	rcpt func(to string) error
	// data, when set, runs before the message is recorded and may refuse
	// it or stall.
	data func() error
	// cert is the server's certificate; nil means testCert.
	cert *tls.Certificate
	// addr is the address to listen on; empty means a free port.
	addr string
}

type testServer struct {
	t    testing.TB
	addr string
	opts serverOptions

	mu        sync.Mutex
	msgs      []received
	authTries int
	arrived   chan struct{} // closed and replaced on each message
}

// testPKI is a self-signed certificate for 127.0.0.1 and localhost, made
// once per test binary, and a pool that trusts it.
type testPKI struct {
	cert tls.Certificate
	pool *x509.CertPool
}

var (
	pkiOnce sync.Once
	pki     testPKI
	pkiErr  error
)

func newTestPKI() (testPKI, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return testPKI{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sigra test SMTP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return testPKI{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return testPKI{}, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return testPKI{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool: pool}, nil
}

func getPKI(t testing.TB) testPKI {
	t.Helper()
	pkiOnce.Do(func() { pki, pkiErr = newTestPKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki
}

// trustingTLS returns a client TLS config that trusts the test certificate.
func trustingTLS(t testing.TB) *tls.Config {
	return &tls.Config{RootCAs: getPKI(t).pool}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func startServer(t testing.TB, opts serverOptions) *testServer {
	t.Helper()
	ts := &testServer{t: t, opts: opts, arrived: make(chan struct{})}
	addr := opts.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = l.Addr().String()

	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: ts, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ErrorLog = discardLogger{}
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	cert := getPKI(t).cert
	if opts.cert != nil {
		cert = *opts.cert
	}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}}
	switch opts.mode {
	case plainServer:
		srv.AllowInsecureAuth = true
	case startTLSServer:
		srv.TLSConfig = tlsConfig
	case implicitServer:
		l = tls.NewListener(l, tlsConfig)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		// Serve may not have registered the listener with srv yet.
		l.Close()
		<-done
	})
	return ts
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

// host and port of the server.
func (ts *testServer) hostPort() (string, int) {
	host, port, _ := net.SplitHostPort(ts.addr)
	p, _ := net.LookupPort("tcp", port)
	return host, p
}

// messages returns a copy of what arrived.
func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

func (ts *testServer) authAttempts() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.authTries
}

// waitFor waits until at least n messages arrived or ctx is done.
func (ts *testServer) waitFor(ctx context.Context, n int) ([]received, error) {
	for {
		ts.mu.Lock()
		msgs, ch := append([]received(nil), ts.msgs...), ts.arrived
		ts.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return msgs, ctx.Err()
		}
	}
}

type session struct {
	srv  *testServer
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string {
	if s.srv.opts.users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		s.srv.mu.Lock()
		s.srv.authTries++
		s.srv.mu.Unlock()
		if want, ok := s.srv.opts.users[username]; !ok || want != password {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opts.requireAuth && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if f := s.srv.opts.rcpt; f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if f := s.srv.opts.data; f != nil {
		if err := f(); err != nil {
			return err
		}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.msgs = append(s.srv.msgs, received{From: s.from, To: s.to, Data: b, AuthUser: s.user, TLS: isTLS})
	close(s.srv.arrived)
	s.srv.arrived = make(chan struct{})
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

// smtpError builds a server reply error.
func smtpError(code int, msg string) error {
	class := code / 100
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{class, 1, 1}, Message: msg}
}

var errStalled = errors.New("stalled")

// containsBareLF reports whether b has a LF not preceded by CR.
func containsBareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// headerLines returns the header block of a raw message.
func headerBlock(b []byte) string {
	s := string(b)
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
