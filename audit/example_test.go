package audit_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
)

// openExampleStore opens a SQLite store in a temporary directory and
// returns it with a function that closes and removes it.
func openExampleStore() (*sqlite.DB, func()) {
	dir, err := os.MkdirTemp("", "audit-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	return db, func() {
		_ = db.Close()
		_ = os.RemoveAll(dir)
	}
}

// A change and its audit row commit together; a failed attempt is recorded
// on its own.
func Example() {
	ctx := context.Background()
	db, done := openExampleStore()
	defer done()

	logger, err := audit.New(audit.Config{Store: db})
	if err != nil {
		log.Fatal(err)
	}

	// Registration: the user and the audit row in one transaction, which
	// travels in the context.
	var userID string
	err = db.InTx(ctx, func(ctx context.Context) error {
		u := &store.User{Email: "user@example.com", CreatedAt: time.Now()}
		if err := db.CreateUser(ctx, u); err != nil {
			return err
		}
		userID = u.ID
		return logger.Record(ctx, audit.Event{
			Action:    audit.ActionRegister,
			ActorID:   u.ID,
			SubjectID: u.ID,
			Outcome:   audit.OutcomeSuccess,
			Metadata:  map[string]string{"method": "password"},
		})
	})
	if err != nil {
		log.Fatal(err)
	}

	// A wrong password: nothing to commit it with, so it is written alone.
	_ = logger.RecordFailure(ctx, audit.Event{
		Action:    audit.ActionLoginFailure,
		SubjectID: userID,
		Metadata:  map[string]string{"method": "password", "reason": "bad_password"},
	})

	events, _, err := logger.Query(ctx, store.AuditQuery{UserID: userID})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range events {
		fmt.Println(e.Action, e.Outcome, e.Metadata["reason"])
	}
	// Output:
	// auth.login.failure failure bad_password
	// auth.register success
}

// Secret-looking metadata keys are refused, and nothing is written.
func ExampleLogger_Record_secretMetadata() {
	ctx := context.Background()
	db, done := openExampleStore()
	defer done()

	logger, _ := audit.New(audit.Config{Store: db})
	err := logger.Record(ctx, audit.Event{
		Action:   audit.ActionPasswordResetRequest,
		Outcome:  audit.OutcomeSuccess,
		Metadata: map[string]string{"resetToken": "…"},
	})
	fmt.Println(errors.Is(err, audit.ErrSecretMetadata))

	events, _, _ := logger.Query(ctx, store.AuditQuery{})
	fmt.Println(len(events))
	// Output:
	// true
	// 0
}

// Middleware puts the client's address and user agent in the request's
// context once; every event recorded below it carries them.
func ExampleWithRequest() {
	db, done := openExampleStore()
	defer done()
	logger, _ := audit.New(audit.Config{Store: db})

	withAudit := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// clientIP would come from the application's proxy settings.
			next.ServeHTTP(w, r.WithContext(audit.WithRequest(r.Context(), r, "")))
		})
	}
	logout := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = logger.Record(r.Context(), audit.Event{
			Action: audit.ActionLogout, ActorID: "user-1", SubjectID: "user-1", Outcome: audit.OutcomeSuccess,
		})
	})

	r := httptest.NewRequest(http.MethodPost, "https://example.com/auth/logout", nil)
	r.RemoteAddr = "192.0.2.7:40000"
	r.Header.Set("User-Agent", "ExampleBrowser/1.0")
	withAudit(logout).ServeHTTP(httptest.NewRecorder(), r)

	events, _, _ := logger.Query(context.Background(), store.AuditQuery{UserID: "user-1"})
	fmt.Println(events[0].Action, events[0].IP, events[0].UserAgent)
	// Output: auth.logout 192.0.2.7 ExampleBrowser/1.0
}

// A strict Logger catches misspelt actions.
func ExampleNew_strict() {
	logger, err := audit.New(audit.Config{Strict: true, Actions: []string{"billing.card.update"}})
	if err != nil {
		log.Fatal(err)
	}
	// The action is checked before the store is needed.
	err = logger.Record(context.Background(), audit.Event{Action: "auth.login.sucess", Outcome: audit.OutcomeSuccess})
	fmt.Println(errors.Is(err, audit.ErrUnknownAction))
	// Output: true
}

// Cells a spreadsheet would run as formulas are exported as text.
func ExampleWriteCSV() {
	at := time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)
	events := []*store.AuditEvent{{
		ID: "0195a1b2", At: at, Action: audit.ActionLoginFailure, Outcome: audit.OutcomeFailure,
		SubjectID: "user-1", IP: "192.0.2.7", UserAgent: "=HYPERLINK(\"http://example.com\")",
		Metadata: map[string]string{"reason": "bad_password"},
	}}
	if err := audit.WriteCSV(os.Stdout, events); err != nil {
		log.Fatal(err)
	}
	// Output:
	// id,at,action,outcome,actor_id,subject_id,impersonator_id,org_id,ip,user_agent,metadata
	// 0195a1b2,2026-03-14T15:09:26Z,auth.login.failure,failure,,user-1,,,192.0.2.7,"'=HYPERLINK(""http://example.com"")","{""reason"":""bad_password""}"
}

func ExampleWriteJSONLines() {
	at := time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)
	events := []*store.AuditEvent{{
		ID: "0195a1b2", At: at, Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess,
		ActorID: "user-1", SubjectID: "user-1",
	}}
	if err := audit.WriteJSONLines(os.Stdout, events); err != nil {
		log.Fatal(err)
	}
	// Output:
	// {"id":"0195a1b2","at":"2026-03-14T15:09:26Z","action":"auth.logout","outcome":"success","actor_id":"user-1","subject_id":"user-1","impersonator_id":"","org_id":"","ip":"","user_agent":"","metadata":{}}
}
