package mail_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/mail"
)

func TestMessageValidate(t *testing.T) {
	t.Parallel()
	ok := mail.Message{To: "user@example.com", Subject: "Hello", Text: "Body"}
	tests := []struct {
		name  string
		edit  func(*mail.Message)
		valid bool
	}{
		{"minimal", func(*mail.Message) {}, true},
		{"unicode subject", func(m *mail.Message) { m.Subject = "Grüße ✓" }, true},
		{"empty subject", func(m *mail.Message) { m.Subject = "" }, true},
		{"html and reply-to", func(m *mail.Message) { m.HTML, m.ReplyTo = "<p>x</p>", "support@example.com" }, true},
		{"plus address", func(m *mail.Message) { m.To = "user+tag@example.com" }, true},
		{"no text", func(m *mail.Message) { m.Text = "" }, false},
		{"no recipient", func(m *mail.Message) { m.To = "" }, false},
		{"display name", func(m *mail.Message) { m.To = "A User <user@example.com>" }, false},
		{"angle brackets", func(m *mail.Message) { m.To = "<user@example.com>" }, false},
		{"two recipients", func(m *mail.Message) { m.To = "a@example.com, b@example.com" }, false},
		{"header injection in To", func(m *mail.Message) { m.To = "user@example.com\r\nBcc: x@example.com" }, false},
		{"LF in subject", func(m *mail.Message) { m.Subject = "Hi\nBcc: x@example.com" }, false},
		{"CR in subject", func(m *mail.Message) { m.Subject = "Hi\rthere" }, false},
		{"not an address", func(m *mail.Message) { m.To = "user" }, false},
		{"spaces around", func(m *mail.Message) { m.To = " user@example.com" }, false},
		{"bad reply-to", func(m *mail.Message) { m.ReplyTo = "Support <support@example.com>" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := ok
			tt.edit(&m)
			err := m.Validate()
			if tt.valid && err != nil {
				t.Errorf("Validate: %v, want nil", err)
			}
			if !tt.valid && !errors.Is(err, mail.ErrInvalidMessage) {
				t.Errorf("Validate: %v, want ErrInvalidMessage", err)
			}
		})
	}
	var nilMsg *mail.Message
	if err := nilMsg.Validate(); !errors.Is(err, mail.ErrInvalidMessage) {
		t.Errorf("nil message: got %v, want ErrInvalidMessage", err)
	}
}

// TestSenderFunc: a function is a Sender, and the features take any
// Sender.
func TestSenderFunc(t *testing.T) {
	t.Parallel()
	var got string
	var m mail.Sender = mail.SenderFunc(func(_ context.Context, m *mail.Message) error {
		got = m.To
		return nil
	})
	if err := m.Send(context.Background(), &mail.Message{To: "user@example.com", Text: "x"}); err != nil || got != "user@example.com" {
		t.Errorf("SenderFunc: got %q, %v; want user@example.com, nil", got, err)
	}
}

// FuzzMessageValidate checks that whatever Validate accepts cannot smuggle
// a header: no line break in the recipient, reply-to or subject.
func FuzzMessageValidate(f *testing.F) {
	f.Add("user@example.com", "Hello", "support@example.com")
	f.Add("\"a b\"@example.com", "x", "")
	f.Add("user@example.com\r\nBcc: x@example.com", "x", "")
	f.Add("=?utf-8?q?x?= <a@example.com>", "=?utf-8?q?=0D=0A?=", "")
	f.Fuzz(func(t *testing.T, to, subject, replyTo string) {
		m := &mail.Message{To: to, Subject: subject, Text: "body", ReplyTo: replyTo}
		err := m.Validate()
		if err != nil {
			if !errors.Is(err, mail.ErrInvalidMessage) {
				t.Fatalf("error %v does not wrap ErrInvalidMessage", err)
			}
			return
		}
		for _, s := range []string{to, subject, replyTo} {
			if strings.ContainsAny(s, "\r\n") {
				t.Fatalf("accepted a line break in %q", s)
			}
		}
		if !strings.Contains(to, "@") {
			t.Fatalf("accepted %q as an address", to)
		}
	})
}
