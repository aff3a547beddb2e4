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

// The rows an application records are sealed into a hash chain and
// verified; an anchor exported earlier also guards the end of the chain.
func ExampleChain() {
	ctx := context.Background()
	db, done := openExampleStore()
	defer done()

	logger, err := audit.New(audit.Config{Store: db})
	if err != nil {
		log.Fatal(err)
	}
	// In production the key comes from a secret store, never from the
	// database: audit.ParseChainKey(os.Getenv("AUDIT_CHAIN_KEY")).
	key := make([]byte, audit.MinChainKeyLen)
	chain, err := audit.NewChain(audit.ChainConfig{Store: db, Key: key})
	if err != nil {
		log.Fatal(err)
	}
	for _, action := range []string{audit.ActionRegister, audit.ActionLoginSuccess, audit.ActionLogout} {
		if err := logger.Record(ctx, audit.Event{Action: action, Outcome: audit.OutcomeSuccess}); err != nil {
			log.Fatal(err)
		}
	}
	// An application runs chain.Run(ctx, 0) beside its server; here one
	// batch is enough.
	n, err := chain.Seal(ctx)
	if err != nil {
		log.Fatal(err)
	}
	anchor, err := chain.Anchor(ctx) // keep it somewhere else
	if err != nil {
		log.Fatal(err)
	}
	report, err := chain.Verify(ctx, audit.VerifyOptions{Anchors: []audit.Anchor{anchor}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sealed", n, "rows; head at", anchor.Seq)
	fmt.Println("checked", report.Checked, "rows; intact:", report.OK())
	// Output:
	// sealed 3 rows; head at 3
	// checked 3 rows; intact: true
}

// Verify reports the first broken link: here a row deleted directly in the
// database.
func ExampleChain_Verify() {
	ctx := context.Background()
	db, done := openExampleStore()
	defer done()

	logger, _ := audit.New(audit.Config{Store: db})
	chain, _ := audit.NewChain(audit.ChainConfig{Store: db, Key: make([]byte, audit.MinChainKeyLen)})
	for range 5 {
		_ = logger.Record(ctx, audit.Event{Action: audit.ActionLoginSuccess, Outcome: audit.OutcomeSuccess})
	}
	if _, err := chain.Seal(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM sigra_audit_log WHERE seq = 2`); err != nil {
		log.Fatal(err)
	}
	report, err := chain.Verify(ctx, audit.VerifyOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(report.OK(), report.Broken.Seq, report.Broken.Reason)
	// Output: false 2 missing
}

// An anchor travels as one line of text.
func ExampleParseAnchor() {
	a, err := audit.ParseAnchor("sigra-audit-anchor/v1 seq=1234 hash=" +
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 at=2026-03-14T15:09:26.535Z")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Seq, a.At.Format(time.RFC3339))
	// Output: 1234 2026-03-14T15:09:26Z
}
