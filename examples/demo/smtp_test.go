package main

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// smtpServer is a real SMTP server (emersion/go-smtp) on a loopback port,
// without TLS or authentication, keeping what it receives.
type smtpServer struct {
	addr string

	mu      sync.Mutex
	got     []received
	arrived chan struct{} // closed and replaced on each message
}

// received is one message as the server got it.
type received struct {
	To      []string // envelope recipients
	Header  netmail.Header
	Subject string
	Text    string // the text/plain part, decoded
}

// startSMTP starts a server that stops when t ends.
func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{addr: ln.Addr().String(), arrived: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		ln.Close()
		<-done
	})
	return s
}

// url is the demo's -smtp value for this server.
func (s *smtpServer) url() string {
	return "smtp://" + s.addr + "?from=demo@example.com&tls=none"
}

// wait returns the first message to the address to whose subject contains
// subject, waiting up to 20 seconds for it.
func (s *smtpServer) wait(t *testing.T, to, subject string) received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		s.mu.Lock()
		for _, m := range s.got {
			if slices.Contains(m.To, to) && strings.Contains(m.Subject, subject) {
				s.mu.Unlock()
				return m
			}
		}
		ch, n := s.arrived, len(s.got)
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("no message to %s with subject %q reached the SMTP server within 20 s (it got %d)", to, subject, n)
		}
	}
}

type smtpSession struct {
	srv *smtpServer
	to  []string
}

func (*smtpSession) Mail(string, *smtp.MailOptions) error { return nil }

func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *smtpSession) Data(r io.Reader) error {
	m, err := netmail.ReadMessage(r)
	if err != nil {
		return err
	}
	got := received{To: x.to, Header: m.Header}
	if got.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		return err
	}
	if got.Text, err = textPart(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body); err != nil {
		return err
	}
	x.srv.mu.Lock()
	defer x.srv.mu.Unlock()
	x.srv.got = append(x.srv.got, got)
	close(x.srv.arrived)
	x.srv.arrived = make(chan struct{})
	return nil
}

// textPart returns the decoded text/plain part of a body of the given
// content type and transfer encoding.
func textPart(contentType, encoding string, body io.Reader) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart() // decodes quoted-printable itself
			if err != nil {
				return "", err // io.EOF: no text part
			}
			if pt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); pt == "text/plain" {
				b, err := io.ReadAll(part)
				return string(b), err
			}
		}
	}
	if strings.EqualFold(encoding, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	return string(b), err
}

func (x *smtpSession) Reset() { x.to = nil }

func (*smtpSession) Logout() error { return nil }
