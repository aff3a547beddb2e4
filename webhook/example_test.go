package webhook_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/webhook"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// The receiver, another system: it verifies each request with the
	// secret it was given, and processes each webhook-id once.
	var secret string
	received := make(chan string, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify([]string{secret}, r.Header, body, 0); err != nil {
			http.Error(w, "not a genuine delivery", http.StatusUnauthorized)
			return
		}
		received <- string(body)
	}))
	defer receiver.Close()

	// The sender: keys seal the endpoints' secrets at rest. (A real
	// application reads them from its configuration; the receiver here
	// is on loopback, which deliveries may not reach unless allowed.)
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		log.Fatal(err)
	}
	hooks, err := webhook.New(webhook.Config{
		Store:         db,
		Keys:          "k1:" + base64.StdEncoding.EncodeToString(raw),
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	if err != nil {
		log.Fatal(err)
	}
	_, secret, err = hooks.Subscribe(ctx, receiver.URL+"/hooks", []string{"user.registered"})
	if err != nil {
		log.Fatal(err)
	}

	// Run the worker.
	ctx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- hooks.Run(ctx) }()
	defer func() { stop(); <-done }()

	// Enqueue the event in the transaction of the change it announces.
	err = db.InTx(ctx, func(ctx context.Context) error {
		// ... create the user, write the audit row ...
		_, err := hooks.Enqueue(ctx, "user.registered", map[string]string{"user_id": "0190a1b2"})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	hooks.Notify() // deliver now rather than at the next poll

	select {
	case body := <-received:
		fmt.Println(len(body) > 0)
	case <-time.After(time.Minute):
		fmt.Println("not delivered")
	}
	// Output: true
}

func ExampleVerify() {
	// A receiver's handler: refuse anything that does not verify.
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // as Subscribe returned it
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify([]string{secret}, r.Header, body, 5*time.Minute); err != nil {
			http.Error(w, "not a genuine delivery", http.StatusUnauthorized)
			return
		}
		// Process the event once per r.Header.Get("webhook-id").
	})

	// A forged request is refused.
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hooks", nil))
	fmt.Println(rec.Code)
	// Output: 401
}

// The features' events, sent with no code in the application: the audit
// logger given to every feature (their Config.Audit) queues each success
// event it records for the endpoints subscribed to its action, in the
// transaction of the change. The kit does this when kit.Config.Webhooks
// is set.
func ExampleWebhooks_OnAudit() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	received := make(chan []byte, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		received <- body
	}))
	defer receiver.Close()

	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		log.Fatal(err)
	}
	hooks, err := webhook.New(webhook.Config{
		Store: db, Keys: "k1:" + base64.StdEncoding.EncodeToString(raw),
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, _, err := hooks.Subscribe(ctx, receiver.URL, []string{audit.ActionPasswordChange}); err != nil {
		log.Fatal(err)
	}
	// One logger for every feature: account.Config{Audit: logger, ...},
	// mfa.Config{Audit: logger, ...}, and so on.
	logger, err := audit.New(audit.Config{Store: db, OnRecord: hooks.OnAudit})
	if err != nil {
		log.Fatal(err)
	}

	// What a feature does when a user changes their password.
	err = db.InTx(ctx, func(ctx context.Context) error {
		// ... change the password ...
		return logger.Record(ctx, audit.Event{Action: audit.ActionPasswordChange, ActorID: "0190a1b2", SubjectID: "0190a1b2", Outcome: audit.OutcomeSuccess})
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, _, err := hooks.DeliverDue(ctx); err != nil {
		log.Fatal(err)
	}
	var ev struct {
		Type string            `json:"type"`
		Data webhook.AuditData `json:"data"`
	}
	if err := json.Unmarshal(<-received, &ev); err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Type, ev.Data.SubjectID, ev.Data.Outcome)
	// Output: account.password_change 0190a1b2 success
}
