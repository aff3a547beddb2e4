package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/sigra-go/sigra"
)

// TLSMode says how the SMTP sender protects its connection.
type TLSMode int

// TLS modes. The zero value, StartTLS, is the safe default.
const (
	// StartTLS connects in plain text and upgrades with STARTTLS before
	// anything else is sent; a server that does not offer STARTTLS is an
	// error. Default port 587.
	StartTLS TLSMode = iota
	// ImplicitTLS speaks TLS from the first byte ("SMTPS"). Default port
	// 465.
	ImplicitTLS
	// InsecureNoTLS sends everything, credentials included, in plain text.
	// It is accepted only for a loopback Host (localhost, 127.0.0.0/8,
	// ::1), such as a local development mail catcher. Default port 25.
	InsecureNoTLS
)

// String returns the mode's name.
func (m TLSMode) String() string {
	switch m {
	case StartTLS:
		return "StartTLS"
	case ImplicitTLS:
		return "ImplicitTLS"
	case InsecureNoTLS:
		return "InsecureNoTLS"
	}
	return "TLSMode(" + strconv.Itoa(int(m)) + ")"
}

// DefaultSMTPTimeout is the default of SMTPConfig.Timeout.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig configures [NewSMTP].
type SMTPConfig struct {
	// Host is the SMTP server's host name (required). It is also the name
	// the server's certificate is verified against.
	Host string
	// Port is the server's port; zero means 587 for StartTLS, 465 for
	// ImplicitTLS and 25 for InsecureNoTLS.
	Port int
	// Username and Password, when Username is set, authenticate with AUTH
	// PLAIN, which the TLS modes protect.
	Username string
	Password string
	// From is the sender's bare address (required), used both as the
	// envelope sender and in the From header; its domain also names the
	// Message-ID.
	From string
	// FromName is an optional display name for the From header.
	FromName string
	// TLS is the connection's protection; the zero value requires
	// STARTTLS.
	TLS TLSMode
	// TLSConfig overrides the TLS settings, for example to trust a private
	// CA. It is cloned; an empty ServerName is set to Host, and a
	// MinVersion below TLS 1.2 is raised to it.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each step of the SMTP exchange; zero
	// means DefaultSMTPTimeout. The context passed to Send bounds the
	// whole exchange.
	Timeout time.Duration
	// HELO is the name the client gives in EHLO; empty means the local
	// host name.
	HELO string
	// Now returns the current time for the Date header; nil means
	// time.Now.
	Now func() time.Time
}

// SMTP sends each message over a new connection to an SMTP server, as a
// multipart/alternative message (text, then HTML when there is some) with
// Date and Message-ID headers, encoded quoted-printable in UTF-8 with CRLF
// line endings. It is safe for concurrent use.
//
// Errors wrap ErrAuth when the server refuses the credentials and
// ErrRejected when it permanently refuses the sender, the recipient or the
// message; network failures keep their cause (errors.Is with
// syscall.ECONNREFUSED works), and every error names the server.
type SMTP struct {
	cfg    SMTPConfig
	tls    *tls.Config
	domain string
	now    func() time.Time
}

// NewSMTP returns an SMTP sender, or an error wrapping sigra.ErrConfig.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, fmt.Errorf("%w: mail: SMTP Host is required", sigra.ErrConfig)
	}
	if strings.ContainsAny(cfg.Host, " /\r\n") {
		return nil, fmt.Errorf("%w: mail: SMTP Host %q", sigra.ErrConfig, cfg.Host)
	}
	if err := checkAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("%w: mail: From: %w", sigra.ErrConfig, err)
	}
	if strings.ContainsAny(cfg.FromName, "\r\n") {
		return nil, fmt.Errorf("%w: mail: FromName contains a line break", sigra.ErrConfig)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("%w: mail: SMTP Port %d", sigra.ErrConfig, cfg.Port)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: mail: negative Timeout", sigra.ErrConfig)
	}
	switch cfg.TLS {
	case StartTLS, ImplicitTLS:
	case InsecureNoTLS:
		if !isLoopback(cfg.Host) {
			return nil, fmt.Errorf("%w: mail: InsecureNoTLS is only allowed for a loopback host, not %q", sigra.ErrConfig, cfg.Host)
		}
	default:
		return nil, fmt.Errorf("%w: mail: unknown %v", sigra.ErrConfig, cfg.TLS)
	}
	if cfg.Port == 0 {
		cfg.Port = map[TLSMode]int{StartTLS: 587, ImplicitTLS: 465, InsecureNoTLS: 25}[cfg.TLS]
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	s := &SMTP{cfg: cfg, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	s.domain = cfg.From[strings.LastIndexByte(cfg.From, '@')+1:]
	if cfg.TLSConfig != nil {
		s.tls = cfg.TLSConfig.Clone()
	} else {
		s.tls = &tls.Config{}
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = cfg.Host
	}
	if s.tls.MinVersion < tls.VersionTLS12 {
		s.tls.MinVersion = tls.VersionTLS12
	}
	return s, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Addr returns the server address the sender connects to, "host:port".
func (s *SMTP) Addr() string {
	return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
}

// Send delivers m to the server. Cancelling ctx aborts the exchange at
// once, closing the connection.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	msg, err := s.build(m)
	if err != nil {
		return err
	}

	// The connection is closed when ctx is done, so that cancelling aborts
	// a stalled exchange and not only the dial.
	var (
		mu   sync.Mutex
		stop []func() bool
	)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range stop {
			f()
		}
	}()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var conn net.Conn
		var err error
		if s.cfg.TLS == ImplicitTLS {
			conn, err = (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		stop = append(stop, context.AfterFunc(ctx, func() { conn.Close() }))
		mu.Unlock()
		return conn, nil
	}

	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSConfig(s.tls),
		gomail.WithDialContextFunc(dial),
	}
	switch s.cfg.TLS {
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.NoTLS))
	case InsecureNoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		auth := gomail.SMTPAuthPlain
		if s.cfg.TLS == InsecureNoTLS {
			// The host is loopback (checked in NewSMTP), so nothing leaves
			// the machine; go-mail would otherwise refuse 127.0.0.2.
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	if s.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(s.cfg.HELO))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("sigra/mail: smtp %s: %w", s.Addr(), err)
	}

	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return s.wrap(ctx, "connect", err)
	}
	sendErr := client.SendWithSMTPClient(conn, msg)
	closeErr := client.CloseWithSMTPClient(conn)
	if sendErr != nil {
		return s.wrap(ctx, "send", sendErr)
	}
	if closeErr != nil && !msg.IsDelivered() {
		return s.wrap(ctx, "quit", closeErr)
	}
	// The server accepted the message; a failed QUIT does not undo that.
	return nil
}

// wrap classifies an error of one stage of the exchange.
func (s *SMTP) wrap(ctx context.Context, stage string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("sigra/mail: smtp %s: %s: %w (%w)", s.Addr(), stage, context.Cause(ctx), err)
	}
	var tp *textproto.Error
	if stage == "connect" && errors.As(err, &tp) && isAuthCode(tp.Code) {
		return fmt.Errorf("%w: mail: smtp %s: %w", ErrAuth, s.Addr(), err)
	}
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		switch se.Reason {
		case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
			return fmt.Errorf("%w: mail: smtp %s: %w", ErrRejected, s.Addr(), err)
		}
	}
	return fmt.Errorf("sigra/mail: smtp %s: %s: %w", s.Addr(), stage, err)
}

// isAuthCode reports whether an SMTP reply code refuses authentication
// (RFC 4954: 530 required, 534 mechanism too weak, 535 invalid
// credentials, 538 encryption required).
func isAuthCode(code int) bool {
	return code == 530 || code == 534 || code == 535 || code == 538
}

// build turns m into a go-mail message.
func (s *SMTP) build(m *Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	var err error
	if s.cfg.FromName != "" {
		msg.FromMailAddress(&netmail.Address{Name: s.cfg.FromName, Address: s.cfg.From})
	} else {
		err = msg.From(s.cfg.From)
	}
	if err == nil {
		err = msg.To(m.To)
	}
	if err == nil && m.ReplyTo != "" {
		err = msg.ReplyTo(m.ReplyTo)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: mail: %w", ErrInvalidMessage, err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(s.now())
	id, err := messageID(s.domain)
	if err != nil {
		return nil, err
	}
	msg.SetMessageIDWithValue(id)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// messageID returns a unique Message-ID value (without angle brackets):
// 120 random bits at the sender's domain.
func messageID(domain string) (string, error) {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("sigra/mail: reading random bytes: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:])) + "@" + domain, nil
}
