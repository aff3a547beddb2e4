package mail_test

import (
	"context"
	"testing"

	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/store"
)

// BenchmarkOutboxQueue measures queuing (validate, seal, insert) on SQLite
// beside the bare store insert of an unsealed body of the same size.
func BenchmarkOutboxQueue(b *testing.B) {
	db := sqliteDBForBench(b)
	msg := &mail.Message{To: "user@example.com", Subject: "Reset your password", Text: "https://example.com/reset?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", HTML: "<p>html</p>"}
	o, err := mail.NewOutbox(mail.OutboxConfig{Store: db, Keys: testKeys(b, "k1"), Sender: mail.NewMailbox(mail.MailboxConfig{}), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("Outbox.Send", func(b *testing.B) {
		for b.Loop() {
			if err := o.Send(ctx, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline/store.Enqueue", func(b *testing.B) {
		body := make([]byte, 180)
		for b.Loop() {
			if err := db.Enqueue(ctx, &store.Message{To: msg.To, Sealed: body}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
