package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
)

// Errors returned by this package. Test with errors.Is.
var (
	// ErrInvalidMessage: a Message fails [Message.Validate].
	ErrInvalidMessage = errors.New("sigra/mail: invalid message")
	// ErrAuth: the SMTP server refused the configured credentials.
	ErrAuth = errors.New("sigra/mail: SMTP authentication refused")
	// ErrRejected: the SMTP server permanently (5xx) refused the sender,
	// the recipient or the message. Sending it again will not help; the
	// [Outbox] gives up on such a message at once.
	ErrRejected = errors.New("sigra/mail: message rejected")
	// ErrUndeliverable: a queued message cannot be delivered at all (its
	// sealed body does not open with the configured keys).
	ErrUndeliverable = errors.New("sigra/mail: message undeliverable")
)

// Message is an email to one recipient: a subject, a plain-text body and
// an optional HTML alternative. It carries no attachments.
type Message struct {
	// To is the recipient's bare address, such as "user@example.com" (no
	// display name).
	To string
	// Subject is the subject line. It may hold any Unicode text but no line
	// breaks.
	Subject string
	// Text is the plain-text body. It is required: every message has a text
	// part that clients without HTML (and screen readers) show.
	Text string
	// HTML is the optional HTML body, sent as an alternative to Text.
	HTML string
	// ReplyTo is an optional bare address for replies.
	ReplyTo string
}

// Validate reports whether m can be sent: To (and ReplyTo, when set) is a
// single bare address without a display name, Subject has no line breaks
// and Text is not empty. The error wraps ErrInvalidMessage.
func (m *Message) Validate() error {
	if m == nil {
		return fmt.Errorf("%w: nil message", ErrInvalidMessage)
	}
	if err := checkAddress(m.To); err != nil {
		return fmt.Errorf("%w: To: %w", ErrInvalidMessage, err)
	}
	if m.ReplyTo != "" {
		if err := checkAddress(m.ReplyTo); err != nil {
			return fmt.Errorf("%w: ReplyTo: %w", ErrInvalidMessage, err)
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return fmt.Errorf("%w: Subject contains a line break", ErrInvalidMessage)
	}
	if m.Text == "" {
		return fmt.Errorf("%w: Text is empty", ErrInvalidMessage)
	}
	return nil
}

// checkAddress accepts a single bare address.
func checkAddress(s string) error {
	if s == "" {
		return errors.New("empty address")
	}
	if strings.ContainsAny(s, "\r\n\x00") {
		return errors.New("address contains a control character")
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return fmt.Errorf("address %q: %w", s, err)
	}
	if a.Name != "" || a.Address != s {
		return fmt.Errorf("address %q is not a bare address", s)
	}
	return nil
}

// Sender sends email. Implementations are safe for concurrent use. The
// features take a Sender: in production an [Outbox] (durable, and part of
// the caller's transaction), in development a [Mailbox], or an [SMTP]
// sender directly (not durable: a message is lost if the server is down).
//
// A nil error means the message was handed over: to the SMTP server for
// [SMTP], to memory for [Mailbox], to the store's queue for [Outbox].
type Sender interface {
	// Send sends m, or returns why it could not. It returns an error
	// wrapping ErrInvalidMessage if m fails Validate, and stops when ctx
	// is done.
	Send(ctx context.Context, m *Message) error
}

// SenderFunc adapts a function to the Sender interface.
type SenderFunc func(ctx context.Context, m *Message) error

// Send calls f(ctx, m).
func (f SenderFunc) Send(ctx context.Context, m *Message) error { return f(ctx, m) }
