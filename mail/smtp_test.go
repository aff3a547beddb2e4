package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/mail"
)

var fixedNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// smtpConfig returns a sender config for ts with the given mode.
func smtpConfig(t *testing.T, ts *testServer, mode mail.TLSMode) mail.SMTPConfig {
	host, port := ts.hostPort()
	return mail.SMTPConfig{
		Host: host, Port: port, From: "noreply@example.com", FromName: "Sigra Example",
		TLS: mode, TLSConfig: trustingTLS(t), Timeout: 10 * time.Second,
		HELO: "client.example.com", Now: func() time.Time { return fixedNow },
	}
}

func newSMTP(t *testing.T, cfg mail.SMTPConfig) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

// parsed is a received message taken apart.
type parsed struct {
	Header   netmail.Header
	Subject  string
	Text     string
	HTML     string
	Parts    []string // content types in order
	MIMEType string
}

func parseMessage(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	p := parsed{Header: msg.Header}
	dec := new(mime.WordDecoder)
	if p.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	p.MIMEType = mt
	readPart := func(ct, cte string, r io.Reader) {
		if strings.EqualFold(cte, "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		pt, _, _ := mime.ParseMediaType(ct)
		p.Parts = append(p.Parts, pt)
		switch pt {
		case "text/plain":
			p.Text = string(b)
		case "text/html":
			p.HTML = string(b)
		}
	}
	if !strings.HasPrefix(mt, "multipart/") {
		readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		// multipart.Reader decodes quoted-printable itself and drops the
		// header.
		cte := part.Header.Get("Content-Transfer-Encoding")
		readPart(part.Header.Get("Content-Type"), cte, part)
	}
	return p
}

// crlf converts a body's line endings to the wire form.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

var messageIDPattern = regexp.MustCompile(`^<[a-z2-7]{24}@example\.com>$`)

func TestSMTPDelivers(t *testing.T) {
	t.Parallel()
	longLink := "https://example.com/auth/reset?token=" + strings.Repeat("A", 1200)
	msg := &mail.Message{
		To:      "user@example.com",
		Subject: "Réinitialisez votre mot de passe ✓",
		Text:    "Hello,\n\nReset your password:\n" + longLink + "\n\n.\nA line with a lone dot above.\n",
		HTML:    "<p>Hello,</p>\n<p><a href=\"" + longLink + "\">Reset your password</a></p>\n",
		ReplyTo: "support@example.com",
	}
	tests := []struct {
		name    string
		server  serverMode
		mode    mail.TLSMode
		wantTLS bool
	}{
		{"insecure loopback", plainServer, mail.InsecureNoTLS, false},
		{"STARTTLS", startTLSServer, mail.StartTLS, true},
		{"implicit TLS", implicitServer, mail.ImplicitTLS, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, serverOptions{mode: tt.server, users: map[string]string{"app": "s3cret"}, requireAuth: true})
			cfg := smtpConfig(t, ts, tt.mode)
			cfg.Username, cfg.Password = "app", "s3cret"
			if err := newSMTP(t, cfg).Send(context.Background(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := ts.messages()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}
			r := got[0]
			if r.From != "noreply@example.com" || len(r.To) != 1 || r.To[0] != "user@example.com" {
				t.Errorf("envelope from %q to %q, want noreply@example.com to [user@example.com]", r.From, r.To)
			}
			if r.AuthUser != "app" {
				t.Errorf("authenticated as %q, want app", r.AuthUser)
			}
			if r.TLS != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", r.TLS, tt.wantTLS)
			}
			if containsBareLF(r.Data) {
				t.Errorf("message contains a bare LF:\n%q", r.Data)
			}
			for i, line := range strings.Split(string(r.Data), "\r\n") {
				if len(line) > 998 {
					t.Errorf("line %d is %d bytes long, over the 998 limit", i, len(line))
				}
			}
			p := parseMessage(t, r.Data)
			if from := p.Header.Get("From"); from != `"Sigra Example" <noreply@example.com>` {
				t.Errorf("From = %q", from)
			}
			if to := p.Header.Get("To"); to != "<user@example.com>" && to != "user@example.com" {
				t.Errorf("To = %q, want user@example.com", to)
			}
			if rt := p.Header.Get("Reply-To"); !strings.Contains(rt, "support@example.com") {
				t.Errorf("Reply-To = %q, want support@example.com", rt)
			}
			if p.Subject != msg.Subject {
				t.Errorf("Subject = %q, want %q", p.Subject, msg.Subject)
			}
			if date, err := p.Header.Date(); err != nil || !date.Equal(fixedNow) {
				t.Errorf("Date = %v, %v; want %v", date, err, fixedNow)
			}
			if id := p.Header.Get("Message-Id"); !messageIDPattern.MatchString(id) {
				t.Errorf("Message-ID = %q, want <random@example.com>", id)
			}
			if p.MIMEType != "multipart/alternative" {
				t.Errorf("Content-Type = %q, want multipart/alternative", p.MIMEType)
			}
			if strings.Join(p.Parts, ",") != "text/plain,text/html" {
				t.Errorf("parts = %v, want text/plain then text/html", p.Parts)
			}
			if p.Text != crlf(msg.Text) {
				t.Errorf("text part = %q, want %q", p.Text, crlf(msg.Text))
			}
			if p.HTML != crlf(msg.HTML) {
				t.Errorf("HTML part = %q, want %q", p.HTML, crlf(msg.HTML))
			}
			if h := headerBlock(r.Data); strings.Contains(h, "go-mail") {
				t.Errorf("headers advertise the library:\n%s", h)
			}
		})
	}
}

func TestSMTPTextOnly(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{mode: plainServer})
	cfg := smtpConfig(t, ts, mail.InsecureNoTLS)
	cfg.FromName = ""
	err := newSMTP(t, cfg).Send(context.Background(), &mail.Message{To: "user@example.com", Subject: "Code", Text: "Your code is 123456."})
	if err != nil {
		t.Fatal(err)
	}
	got := ts.messages()
	if len(got) != 1 {
		t.Fatalf("got %d messages, want 1", len(got))
	}
	if got[0].AuthUser != "" {
		t.Errorf("authenticated as %q without credentials", got[0].AuthUser)
	}
	p := parseMessage(t, got[0].Data)
	// The body ends with the line break that ends its last line.
	if p.MIMEType != "text/plain" || strings.TrimSuffix(p.Text, "\r\n") != "Your code is 123456." {
		t.Errorf("got %s %q, want a single text/plain part", p.MIMEType, p.Text)
	}
	if from := p.Header.Get("From"); from != "<noreply@example.com>" && from != "noreply@example.com" {
		t.Errorf("From = %q", from)
	}
}

func TestSMTPAuthRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		server serverMode
		mode   mail.TLSMode
	}{
		{"STARTTLS", startTLSServer, mail.StartTLS},
		{"insecure loopback", plainServer, mail.InsecureNoTLS},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, serverOptions{mode: tt.server, users: map[string]string{"app": "s3cret"}, requireAuth: true})
			cfg := smtpConfig(t, ts, tt.mode)
			cfg.Username, cfg.Password = "app", "wrong"
			err := newSMTP(t, cfg).Send(context.Background(), &mail.Message{To: "user@example.com", Text: "x"})
			if !errors.Is(err, mail.ErrAuth) {
				t.Fatalf("got %v, want ErrAuth", err)
			}
			if errors.Is(err, mail.ErrRejected) {
				t.Errorf("auth failure %v also wraps ErrRejected", err)
			}
			if !strings.Contains(err.Error(), ts.addr) {
				t.Errorf("error %q does not name the server %s", err, ts.addr)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("error %q contains the password", err)
			}
			if n := len(ts.messages()); n != 0 {
				t.Errorf("server received %d messages, want 0", n)
			}
		})
	}
}

func TestSMTPConnectionRefused(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	ts := &testServer{addr: addr}
	err := newSMTP(t, smtpConfig(t, ts, mail.InsecureNoTLS)).Send(context.Background(), &mail.Message{To: "user@example.com", Text: "x"})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("got %v, want connection refused", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the server %s", err, addr)
	}
	if errors.Is(err, mail.ErrRejected) || errors.Is(err, mail.ErrAuth) {
		t.Errorf("connection failure %v wraps ErrRejected or ErrAuth", err)
	}
}

func TestSMTPServerRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      serverOptions
		permanent bool
	}{
		{"recipient unknown", serverOptions{rcpt: func(string) error { return smtpError(550, "no such user") }}, true},
		{"recipient deferred", serverOptions{rcpt: func(string) error { return smtpError(450, "mailbox busy") }}, false},
		{"message refused", serverOptions{data: func() error { return smtpError(554, "content refused") }}, true},
		{"message deferred", serverOptions{data: func() error { return smtpError(451, "try later") }}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, tt.opts)
			err := newSMTP(t, smtpConfig(t, ts, mail.InsecureNoTLS)).Send(context.Background(), &mail.Message{To: "user@example.com", Text: "x"})
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if got := errors.Is(err, mail.ErrRejected); got != tt.permanent {
				t.Errorf("errors.Is(%v, ErrRejected) = %v, want %v", err, got, tt.permanent)
			}
			if n := len(ts.messages()); n != 0 {
				t.Errorf("server recorded %d messages, want 0", n)
			}
		})
	}
}

// TestSMTPRequiresTLS checks that StartTLS mode never falls back to plain
// text, and that credentials are not sent over an unverified connection.
func TestSMTPRequiresTLS(t *testing.T) {
	t.Parallel()
	users := map[string]string{"app": "s3cret"}
	t.Run("no STARTTLS offered", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, serverOptions{mode: plainServer, users: users})
		cfg := smtpConfig(t, ts, mail.StartTLS)
		cfg.Username, cfg.Password = "app", "s3cret"
		err := newSMTP(t, cfg).Send(context.Background(), &mail.Message{To: "user@example.com", Text: "x"})
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("got %v, want an error about STARTTLS", err)
		}
		if n, a := len(ts.messages()), ts.authAttempts(); n != 0 || a != 0 {
			t.Errorf("server saw %d messages and %d AUTH attempts, want 0 and 0", n, a)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, serverOptions{mode: startTLSServer, users: users})
		cfg := smtpConfig(t, ts, mail.StartTLS)
		cfg.TLSConfig = nil // system roots do not trust the test certificate
		cfg.Username, cfg.Password = "app", "s3cret"
		err := newSMTP(t, cfg).Send(context.Background(), &mail.Message{To: "user@example.com", Text: "x"})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("got %v, want a certificate error", err)
		}
		if n, a := len(ts.messages()), ts.authAttempts(); n != 0 || a != 0 {
			t.Errorf("server saw %d messages and %d AUTH attempts, want 0 and 0", n, a)
		}
	})
	t.Run("implicit TLS, wrong server name", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, serverOptions{mode: implicitServer})
		cfg := smtpConfig(t, ts, mail.ImplicitTLS)
		cfg.TLSConfig = &tls.Config{RootCAs: trustingTLS(t).RootCAs, ServerName: "mail.example.com"}
		err := newSMTP(t, cfg).Send(context.Background(), &mail.Message{To: "user@example.com", Text: "x"})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("got %v, want a certificate error", err)
		}
	})
}

// TestSMTPCancel checks that cancelling the context aborts an exchange the
// server stalls, and not only the dial.
func TestSMTPCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	stalled := make(chan struct{}, 1)
	ts := startServer(t, serverOptions{data: func() error {
		stalled <- struct{}{}
		<-release
		return errStalled
	}})
	t.Cleanup(func() { close(release) })
	cfg := smtpConfig(t, ts, mail.InsecureNoTLS)
	cfg.Timeout = time.Hour // only the context can end the exchange
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- newSMTP(t, cfg).Send(ctx, &mail.Message{To: "user@example.com", Text: "x"}) }()
	<-stalled
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestSMTPInvalidMessage(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	s := newSMTP(t, smtpConfig(t, ts, mail.InsecureNoTLS))
	for _, m := range []*mail.Message{
		nil,
		{To: "", Text: "x"},
		{To: "user@example.com\r\nBcc: victim@example.com", Text: "x"},
		{To: "user@example.com", Subject: "Hi\r\nBcc: victim@example.com", Text: "x"},
		{To: "user@example.com"},
	} {
		if err := s.Send(context.Background(), m); !errors.Is(err, mail.ErrInvalidMessage) {
			t.Errorf("Send(%+v): got %v, want ErrInvalidMessage", m, err)
		}
	}
	if n := len(ts.messages()); n != 0 {
		t.Errorf("server received %d messages, want 0", n)
	}
}

func TestNewSMTP(t *testing.T) {
	t.Parallel()
	valid := mail.SMTPConfig{Host: "smtp.example.com", From: "noreply@example.com"}
	tests := []struct {
		name     string
		edit     func(*mail.SMTPConfig)
		wantAddr string // empty: want sigra.ErrConfig
	}{
		{"defaults", func(*mail.SMTPConfig) {}, "smtp.example.com:587"},
		{"implicit default port", func(c *mail.SMTPConfig) { c.TLS = mail.ImplicitTLS }, "smtp.example.com:465"},
		{"explicit port", func(c *mail.SMTPConfig) { c.Port = 2525 }, "smtp.example.com:2525"},
		{"insecure localhost", func(c *mail.SMTPConfig) { c.Host, c.TLS = "localhost", mail.InsecureNoTLS }, "localhost:25"},
		{"insecure 127.0.0.2", func(c *mail.SMTPConfig) { c.Host, c.TLS = "127.0.0.2", mail.InsecureNoTLS }, "127.0.0.2:25"},
		{"insecure ::1", func(c *mail.SMTPConfig) { c.Host, c.TLS, c.Port = "::1", mail.InsecureNoTLS, 1025 }, "[::1]:1025"},
		{"insecure remote host", func(c *mail.SMTPConfig) { c.TLS = mail.InsecureNoTLS }, ""},
		{"insecure private IP", func(c *mail.SMTPConfig) { c.Host, c.TLS = "10.0.0.5", mail.InsecureNoTLS }, ""},
		{"unknown mode", func(c *mail.SMTPConfig) { c.TLS = 7 }, ""},
		{"no host", func(c *mail.SMTPConfig) { c.Host = "" }, ""},
		{"host with space", func(c *mail.SMTPConfig) { c.Host = "smtp example" }, ""},
		{"no from", func(c *mail.SMTPConfig) { c.From = "" }, ""},
		{"from with name", func(c *mail.SMTPConfig) { c.From = "Me <noreply@example.com>" }, ""},
		{"from not an address", func(c *mail.SMTPConfig) { c.From = "noreply" }, ""},
		{"from name with newline", func(c *mail.SMTPConfig) { c.FromName = "A\nBcc: x@example.com" }, ""},
		{"negative port", func(c *mail.SMTPConfig) { c.Port = -1 }, ""},
		{"port too large", func(c *mail.SMTPConfig) { c.Port = 70000 }, ""},
		{"negative timeout", func(c *mail.SMTPConfig) { c.Timeout = -time.Second }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tt.edit(&cfg)
			s, err := mail.NewSMTP(cfg)
			if tt.wantAddr == "" {
				if !errors.Is(err, sigra.ErrConfig) || s != nil {
					t.Fatalf("got %v, %v; want nil, sigra.ErrConfig", s, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Addr() != tt.wantAddr {
				t.Errorf("Addr = %q, want %q", s.Addr(), tt.wantAddr)
			}
		})
	}
}

func TestTLSModeString(t *testing.T) {
	t.Parallel()
	for m, want := range map[mail.TLSMode]string{
		mail.StartTLS: "StartTLS", mail.ImplicitTLS: "ImplicitTLS", mail.InsecureNoTLS: "InsecureNoTLS", 9: "TLSMode(9)",
	} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(m), got, want)
		}
	}
}
