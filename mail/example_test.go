package mail_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/store/sqlite"
)

func ExampleNewSMTP() {
	sender, err := mail.NewSMTP(mail.SMTPConfig{
		Host:     "smtp.example.com",
		Username: "apikey",
		Password: os.Getenv("SMTP_PASSWORD"),
		From:     "noreply@example.com",
		FromName: "Example",
		// TLS: the zero value requires STARTTLS on port 587.
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(sender.Addr())
	// Output: smtp.example.com:587
}

// A development server captures mail in a Mailbox and shows it under
// /dev/mail/. Tests read it with Wait.
func ExampleMailbox() {
	box := mail.NewMailbox(mail.MailboxConfig{})
	mux := http.NewServeMux()
	box.Mount(mux, "/dev/mail") // development only

	_ = box.Send(context.Background(), &mail.Message{
		To: "user@example.com", Subject: "Confirm your address", Text: "Open https://example.com/confirm?token=...",
	})

	m, err := box.Wait(context.Background(), "user@example.com")
	fmt.Println(m.Subject, err)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/dev/mail/messages.json?to=user@example.com", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output:
	// Confirm your address <nil>
	// 200 application/json
}

// An Outbox queues mail in the store, in the caller's transaction, and
// its worker delivers it through another Sender.
func ExampleOutbox() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()

	// Keys come from configuration: "id:" and 32 random bytes in base64
	// (for example from `openssl rand -base64 32`).
	secret := make([]byte, 32)
	rand.Read(secret)
	keys := "2026-01:" + base64.StdEncoding.EncodeToString(secret)

	delivered := mail.NewMailbox(mail.MailboxConfig{}) // an *mail.SMTP in production
	outbox, err := mail.NewOutbox(mail.OutboxConfig{
		Store: db, Keys: keys, Sender: delivered,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go outbox.Run(runCtx) // usually for the life of the process

	// The email commits with the change it announces: the transaction
	// travels in the context Send is given.
	err = db.InTx(ctx, func(ctx context.Context) error {
		// ... create the token, write the audit row, with this ctx ...
		return outbox.Send(ctx, &mail.Message{
			To: "user@example.com", Subject: "Reset your password", Text: "https://example.com/reset?token=...",
		})
	})
	if err != nil {
		panic(err)
	}
	outbox.Notify() // committed: deliver now rather than at the next poll

	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := delivered.Wait(waitCtx, "user@example.com")
	fmt.Println(m.Subject, err)
	// Output: Reset your password <nil>
}

// A host that runs delivery from its own scheduled job, rather than
// Outbox.Run, calls DeliverDue and, for retention, Purge.
func ExampleOutbox_Purge() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	secret := make([]byte, 32)
	rand.Read(secret)

	outbox, err := mail.NewOutbox(mail.OutboxConfig{
		Store: db, Keys: "2026-01:" + base64.StdEncoding.EncodeToString(secret),
		Sender:    mail.NewMailbox(mail.MailboxConfig{}), // an *mail.SMTP in production
		Retention: 30 * 24 * time.Hour,                   // keep delivery records for 30 days
	})
	if err != nil {
		panic(err)
	}
	if err := outbox.Send(ctx, &mail.Message{To: "user@example.com", Subject: "Welcome", Text: "Hello."}); err != nil {
		panic(err)
	}

	// The scheduled job:
	sent, failed, err := outbox.DeliverDue(ctx)
	fmt.Println("sent", sent, "failed", failed, err)
	deleted, err := outbox.Purge(ctx) // rows sent or given up more than 30 days ago
	fmt.Println("deleted", deleted, err)
	// Output:
	// sent 1 failed 0 <nil>
	// deleted 0 <nil>
}
