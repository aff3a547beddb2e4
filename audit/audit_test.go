package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/store"
)

func newLogger(t *testing.T, cfg audit.Config) *audit.Logger {
	t.Helper()
	l, err := audit.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  audit.Config
		want []error
	}{
		{"zero", audit.Config{}, nil},
		{"store", audit.Config{Store: openSQLite(t)}, nil},
		{"strict with own actions", audit.Config{Strict: true, Actions: []string{"billing.card.update"}}, nil},
		{"negative timeout", audit.Config{WriteTimeout: -time.Second}, []error{sigra.ErrConfig}},
		{"malformed own action", audit.Config{Actions: []string{"Billing.Update"}}, []error{sigra.ErrConfig, audit.ErrInvalidAction}},
		{"own action without dot", audit.Config{Actions: []string{"billing"}}, []error{sigra.ErrConfig, audit.ErrInvalidAction}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := audit.New(tt.cfg)
			if (err != nil) != (len(tt.want) > 0) {
				t.Fatalf("New: got error %v, want %v", err, tt.want)
			}
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("New: got error %v, want it to wrap %v", err, want)
				}
			}
			if (l == nil) == (err == nil) {
				t.Errorf("New: got logger %v with error %v, want exactly one", l, err)
			}
		})
	}
}

// TestRecordAndQuery records events of two users and checks that queries by
// user, action and time select the right ones, newest first, and that
// cursor paging visits each exactly once.
func TestRecordAndQuery(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st auditStore) {
		ctx := context.Background()
		l := newLogger(t, audit.Config{Store: st, Now: newClock().Now})

		const a, b, admin = "user-a", "user-b", "admin-1"
		events := []audit.Event{
			{Action: audit.ActionRegister, ActorID: a, SubjectID: a, Outcome: audit.OutcomeSuccess, Metadata: map[string]string{"method": "password"}},
			{Action: audit.ActionLoginFailure, SubjectID: a, Outcome: audit.OutcomeFailure, Metadata: map[string]string{"method": "password", "reason": "bad_password"}},
			{Action: audit.ActionLoginSuccess, ActorID: a, SubjectID: a, Outcome: audit.OutcomeSuccess, IP: "192.0.2.10", UserAgent: "Browser/1.0"},
			{Action: audit.ActionRegister, ActorID: b, SubjectID: b, Outcome: audit.OutcomeSuccess},
			{Action: audit.ActionSessionRevokeAll, ActorID: admin, SubjectID: a, Outcome: audit.OutcomeSuccess, Metadata: map[string]string{"revoked": "3", "reason": "admin"}},
			{Action: audit.ActionLoginSuccess, ActorID: b, SubjectID: b, ImpersonatorID: admin, Outcome: audit.OutcomeSuccess},
			{Action: audit.ActionLogout, ActorID: a, SubjectID: a, Outcome: audit.OutcomeSuccess},
		}
		for i, e := range events {
			if err := l.Record(ctx, e); err != nil {
				t.Fatalf("Record #%d (%s): %v", i, e.Action, err)
			}
		}

		// Every field comes back as recorded, with the Logger's time.
		got := all(t, st)
		if len(got) != len(events) {
			t.Fatalf("stored events: got %d, want %d", len(got), len(events))
		}
		for i, row := range got {
			want := events[len(events)-1-i]
			wantAt := t0.Add(time.Duration(len(events)-i) * time.Second)
			if row.ID == "" {
				t.Errorf("row %d: empty ID", i)
			}
			if !row.At.Equal(wantAt) {
				t.Errorf("row %d (%s): At got %v, want %v", i, want.Action, row.At, wantAt)
			}
			if row.Action != want.Action || row.ActorID != want.ActorID || row.SubjectID != want.SubjectID ||
				row.ImpersonatorID != want.ImpersonatorID || row.Outcome != want.Outcome ||
				row.IP != want.IP || row.UserAgent != want.UserAgent {
				t.Errorf("row %d: got %+v, want %+v", i, *row, want)
			}
			if len(row.Metadata) != len(want.Metadata) || !maps.Equal(row.Metadata, want.Metadata) {
				t.Errorf("row %d (%s): metadata got %v, want %v", i, want.Action, row.Metadata, want.Metadata)
			}
		}

		tests := []struct {
			name string
			q    store.AuditQuery
			want []int // indexes into events, newest first
		}{
			{"user a as actor or subject", store.AuditQuery{UserID: a}, []int{6, 4, 2, 1, 0}},
			{"user b", store.AuditQuery{UserID: b}, []int{5, 3}},
			{"admin as actor", store.AuditQuery{UserID: admin}, []int{4}},
			{"action", store.AuditQuery{Action: audit.ActionLoginSuccess}, []int{5, 2}},
			{"user and action", store.AuditQuery{UserID: a, Action: audit.ActionRegister}, []int{0}},
			{"since inclusive", store.AuditQuery{Since: t0.Add(5 * time.Second)}, []int{6, 5, 4}},
			{"until exclusive", store.AuditQuery{Until: t0.Add(3 * time.Second)}, []int{1, 0}},
			{"window", store.AuditQuery{Since: t0.Add(2 * time.Second), Until: t0.Add(5 * time.Second)}, []int{3, 2, 1}},
			{"window and user", store.AuditQuery{UserID: b, Since: t0.Add(2 * time.Second), Until: t0.Add(5 * time.Second)}, []int{3}},
			{"no match", store.AuditQuery{Action: "auth.nothing"}, nil},
		}
		for _, tt := range tests {
			for _, limit := range []int{0, 1, 2, 100} {
				t.Run(fmt.Sprintf("%s/limit=%d", tt.name, limit), func(t *testing.T) {
					q := tt.q
					q.Limit = limit
					var got []string
					for page := 0; ; page++ {
						rows, next, err := l.Query(ctx, q)
						if err != nil {
							t.Fatalf("Query page %d: %v", page, err)
						}
						if limit > 0 && len(rows) > limit {
							t.Fatalf("page %d: got %d rows, want at most %d", page, len(rows), limit)
						}
						for _, r := range rows {
							got = append(got, describe(r))
						}
						if next == "" {
							break
						}
						if page > len(events) {
							t.Fatal("cursor never ended")
						}
						q.After = next
					}
					var want []string
					for _, i := range tt.want {
						want = append(want, describeEvent(events[i], t0.Add(time.Duration(i+1)*time.Second)))
					}
					if !slices.Equal(got, want) {
						t.Errorf("got  %q\nwant %q", got, want)
					}
				})
			}
		}
	})
}

func describe(r *store.AuditEvent) string {
	return fmt.Sprintf("%s %s actor=%s subject=%s", r.At.UTC().Format(time.TimeOnly), r.Action, r.ActorID, r.SubjectID)
}

func describeEvent(e audit.Event, at time.Time) string {
	return fmt.Sprintf("%s %s actor=%s subject=%s", at.Format(time.TimeOnly), e.Action, e.ActorID, e.SubjectID)
}

// TestRecordRejects checks that every invalid event is refused with the
// right error and that nothing reaches the store.
func TestRecordRejects(t *testing.T) {
	t.Parallel()
	ok := audit.Event{Action: audit.ActionLoginSuccess, ActorID: "u1", SubjectID: "u1", Outcome: audit.OutcomeSuccess}
	with := func(f func(e *audit.Event)) audit.Event {
		e := ok
		f(&e)
		return e
	}
	many := map[string]string{}
	for i := range audit.MaxMetadataKeys + 1 {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	tests := []struct {
		name string
		e    audit.Event
		want error
	}{
		{"empty action", with(func(e *audit.Event) { e.Action = "" }), audit.ErrInvalidAction},
		{"upper case", with(func(e *audit.Event) { e.Action = "Auth.login.success" }), audit.ErrInvalidAction},
		{"no dot", with(func(e *audit.Event) { e.Action = "login" }), audit.ErrInvalidAction},
		{"leading dot", with(func(e *audit.Event) { e.Action = ".auth.login" }), audit.ErrInvalidAction},
		{"trailing dot", with(func(e *audit.Event) { e.Action = "auth.login." }), audit.ErrInvalidAction},
		{"double dot", with(func(e *audit.Event) { e.Action = "auth..login" }), audit.ErrInvalidAction},
		{"digit first", with(func(e *audit.Event) { e.Action = "auth.2fa" }), audit.ErrInvalidAction},
		{"space", with(func(e *audit.Event) { e.Action = "auth.log in" }), audit.ErrInvalidAction},
		{"dash", with(func(e *audit.Event) { e.Action = "auth.log-in" }), audit.ErrInvalidAction},
		{"unicode", with(func(e *audit.Event) { e.Action = "auth.lögin" }), audit.ErrInvalidAction},
		{"too long", with(func(e *audit.Event) { e.Action = "a." + strings.Repeat("b", audit.MaxActionLen-1) }), audit.ErrInvalidAction},
		{"empty outcome", with(func(e *audit.Event) { e.Outcome = "" }), audit.ErrInvalidOutcome},
		{"other outcome", with(func(e *audit.Event) { e.Outcome = "ok" }), audit.ErrInvalidOutcome},
		{"outcome case", with(func(e *audit.Event) { e.Outcome = "Success" }), audit.ErrInvalidOutcome},
		{"too many keys", with(func(e *audit.Event) { e.Metadata = many }), audit.ErrInvalidMetadata},
		{"empty key", with(func(e *audit.Event) { e.Metadata = map[string]string{"": "x"} }), audit.ErrInvalidMetadata},
		{"long key", with(func(e *audit.Event) { e.Metadata = map[string]string{strings.Repeat("k", audit.MaxKeyLen+1): "x"} }), audit.ErrInvalidMetadata},
		{"key with space", with(func(e *audit.Event) { e.Metadata = map[string]string{"the reason": "x"} }), audit.ErrInvalidMetadata},
		{"look-alike key", with(func(e *audit.Event) { e.Metadata = map[string]string{"tοken": "x"} }), audit.ErrInvalidMetadata}, // Greek omicron
		{"long value", with(func(e *audit.Event) {
			e.Metadata = map[string]string{"reason": strings.Repeat("v", audit.MaxValueLen+1)}
		}), audit.ErrInvalidMetadata},
		{"invalid UTF-8 value", with(func(e *audit.Event) { e.Metadata = map[string]string{"reason": "bad\xff"} }), audit.ErrInvalidMetadata},
		{"NUL in value", with(func(e *audit.Event) { e.Metadata = map[string]string{"reason": "a\x00b"} }), audit.ErrInvalidMetadata},
		{"secret key", with(func(e *audit.Event) { e.Metadata = map[string]string{"method": "password", "resetToken": "x"} }), audit.ErrSecretMetadata},
		{"long actor", with(func(e *audit.Event) { e.ActorID = strings.Repeat("u", audit.MaxIDLen+1) }), audit.ErrInvalidEvent},
		{"control in subject", with(func(e *audit.Event) { e.SubjectID = "u1\n" }), audit.ErrInvalidEvent},
		{"invalid UTF-8 impersonator", with(func(e *audit.Event) { e.ImpersonatorID = "\xc3" }), audit.ErrInvalidEvent},
	}
	forEachBackend(t, func(t *testing.T, st auditStore) {
		l := newLogger(t, audit.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := l.Record(context.Background(), tt.e)
				if !errors.Is(err, tt.want) {
					t.Errorf("Record: got error %v, want %v", err, tt.want)
				}
				err = l.RecordFailure(context.Background(), tt.e)
				if tt.want == audit.ErrInvalidOutcome {
					// RecordFailure sets the outcome itself.
					if err != nil {
						t.Errorf("RecordFailure: got error %v, want nil", err)
					}
				} else if !errors.Is(err, tt.want) {
					t.Errorf("RecordFailure: got error %v, want %v", err, tt.want)
				}
			})
		}
		// Only the RecordFailure calls of the three outcome cases wrote.
		got := all(t, st)
		if len(got) != 3 {
			t.Fatalf("stored events: got %d, want 3 (one per bad-outcome case via RecordFailure)", len(got))
		}
		for _, r := range got {
			if r.Outcome != audit.OutcomeFailure {
				t.Errorf("stored outcome: got %q, want %q", r.Outcome, audit.OutcomeFailure)
			}
		}
	})
}

// TestRecordBoundaries checks that values exactly at each limit pass.
func TestRecordBoundaries(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st auditStore) {
		l := newLogger(t, audit.Config{Store: st})
		md := map[string]string{}
		for i := range audit.MaxMetadataKeys - 1 {
			md[fmt.Sprintf("k%02d", i)] = strings.Repeat("é", audit.MaxValueLen/2)
		}
		md[strings.Repeat("k", audit.MaxKeyLen)] = "x"
		e := audit.Event{
			Action:    "a." + strings.Repeat("b", audit.MaxActionLen-2),
			ActorID:   strings.Repeat("u", audit.MaxIDLen),
			SubjectID: "ü-subject",
			Outcome:   audit.OutcomeSuccess,
			Metadata:  md,
		}
		if err := l.Record(context.Background(), e); err != nil {
			t.Fatalf("Record at the limits: %v", err)
		}
		got := all(t, st)
		if len(got) != 1 {
			t.Fatalf("stored events: got %d, want 1", len(got))
		}
		if got[0].Action != e.Action || got[0].ActorID != e.ActorID || !maps.Equal(got[0].Metadata, md) {
			t.Errorf("stored event differs: got action %q actor %d bytes, %d metadata keys", got[0].Action, len(got[0].ActorID), len(got[0].Metadata))
		}
	})
}

// secretWords is the documented list, written out independently of the
// package's own.
var secretWords = []string{
	"password", "passwd", "secret", "token", "code", "otp", "totp", "key",
	"hash", "cookie", "session", "authorization", "credential", "recovery",
}

func TestSecretMetadata(t *testing.T) {
	t.Parallel()
	var refused []string
	for _, w := range secretWords {
		refused = append(refused, w, strings.ToUpper(w), strings.ToUpper(w[:1])+w[1:], "x_"+w+"_y", "my"+strings.ToUpper(w[:1])+w[1:])
	}
	refused = append(refused,
		"resetToken", "ResetTOKEN", "reset_token", "api-key", "apiKey", "Pass_Word", "pass.word", "pass-wd",
		"to_ken", "t.o.k.e.n", "sessionId", "session_id", "Set-Cookie", "AUTHORIZATION", "x-authorization",
		"recovery_codes", "totpSeed", "otp_uri", "password_hash", "client_secret", "refreshtoken", "credentialID",
		"zip_code", "monkey",
	)
	allowed := []string{
		"method", "reason", "count", "aal", "failures", "until", "revoked", "remaining", "due", "mode",
		"device_id", "browser_id", "new_email", "old_email", "ip_country", "provider", "org_id", "role",
		"Method", "REASON", "a-b.c_d", "k",
	}
	forEachBackend(t, func(t *testing.T, st auditStore) {
		l := newLogger(t, audit.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
		for _, key := range refused {
			t.Run("refuse/"+key, func(t *testing.T) {
				e := audit.Event{Action: audit.ActionLoginFailure, Outcome: audit.OutcomeFailure, Metadata: map[string]string{"reason": "x", key: "v"}}
				if err := l.Record(context.Background(), e); !errors.Is(err, audit.ErrSecretMetadata) {
					t.Errorf("Record with key %q: got error %v, want ErrSecretMetadata", key, err)
				}
				if err := l.RecordFailure(context.Background(), e); !errors.Is(err, audit.ErrSecretMetadata) {
					t.Errorf("RecordFailure with key %q: got error %v, want ErrSecretMetadata", key, err)
				}
			})
		}
		if got := all(t, st); len(got) != 0 {
			t.Fatalf("after refused keys: got %d stored events, want 0", len(got))
		}
		for _, key := range allowed {
			e := audit.Event{Action: audit.ActionLoginSuccess, Outcome: audit.OutcomeSuccess, Metadata: map[string]string{key: "v"}}
			if err := l.Record(context.Background(), e); err != nil {
				t.Errorf("Record with key %q: got error %v, want nil", key, err)
			}
		}
		if got := all(t, st); len(got) != len(allowed) {
			t.Errorf("after allowed keys: got %d stored events, want %d", len(got), len(allowed))
		}
	})
}

// TestSecretMetadataNoLeak checks that a refused event's error names the
// key but never the value.
func TestSecretMetadataNoLeak(t *testing.T) {
	t.Parallel()
	var l audit.Logger
	const value = "hunter2-very-secret-value"
	err := l.Record(context.Background(), audit.Event{
		Action: audit.ActionLoginFailure, Outcome: audit.OutcomeFailure,
		Metadata: map[string]string{"password": value},
	})
	if !errors.Is(err, audit.ErrSecretMetadata) {
		t.Fatalf("Record: got error %v, want ErrSecretMetadata", err)
	}
	if strings.Contains(err.Error(), value) {
		t.Errorf("error %q contains the metadata value", err)
	}
	if !strings.Contains(err.Error(), `"password"`) {
		t.Errorf("error %q does not name the key", err)
	}
}

// TestRecordInTransaction checks that an audit row recorded with the
// context of a store transaction commits and rolls back with it.
func TestRecordInTransaction(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st auditStore) {
		ctx := context.Background()
		l := newLogger(t, audit.Config{Store: st, Now: newClock().Now})
		errBoom := errors.New("boom")
		register := func(ctx context.Context, email string, meta map[string]string) (string, error) {
			u := &store.User{Email: email, CreatedAt: t0}
			if err := st.CreateUser(ctx, u); err != nil {
				return "", err
			}
			return u.ID, l.Record(ctx, audit.Event{Action: audit.ActionRegister, ActorID: u.ID, SubjectID: u.ID, Outcome: audit.OutcomeSuccess, Metadata: meta})
		}
		tests := []struct {
			name    string
			email   string
			meta    map[string]string
			fail    error // returned by the transaction after the record
			wantErr error
			kept    bool
		}{
			{"rolled back", "rollback@example.com", nil, errBoom, errBoom, false},
			{"refused event aborts the change", "refused@example.com", map[string]string{"password": "x"}, nil, audit.ErrSecretMetadata, false},
			{"committed", "commit@example.com", nil, nil, nil, true},
		}
		for _, tt := range tests {
			var id string
			err := st.InTx(ctx, func(ctx context.Context) error {
				var err error
				if id, err = register(ctx, tt.email, tt.meta); err != nil {
					return err
				}
				return tt.fail
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s: InTx got error %v, want %v", tt.name, err, tt.wantErr)
			}
			_, uerr := st.UserByEmail(ctx, tt.email)
			if (uerr == nil) != tt.kept {
				t.Errorf("%s: UserByEmail got error %v, want the user kept: %v", tt.name, uerr, tt.kept)
			}
			rows, _, err := l.Query(ctx, store.AuditQuery{UserID: id})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 1, false: 0}[tt.kept]; id != "" && len(rows) != want {
				t.Errorf("%s: audit rows of the user got %d, want %d", tt.name, len(rows), want)
			}
		}
		if got := all(t, st); len(got) != 1 || got[0].Action != audit.ActionRegister {
			t.Errorf("audit log: got %d rows, want only the committed registration", len(got))
		}
	})
}

// TestRecordFailureInTransaction: a failed attempt recorded inside a
// transaction is written on its own and survives the transaction's
// rollback. On a store whose writes queue behind the open transaction (the
// SQLite adapter's single writer connection) it cannot be written before
// the transaction ends: RecordFailure then gives up after WriteTimeout and
// logs the event, so the transaction is never blocked for longer.
func TestRecordFailureInTransaction(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			ctx := context.Background()
			var logs bytes.Buffer
			l := newLogger(t, audit.Config{Store: st, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), WriteTimeout: 500 * time.Millisecond})
			errBoom := errors.New("boom")
			var failErr error
			err := st.InTx(ctx, func(ctx context.Context) error {
				if err := l.Record(ctx, audit.Event{Action: audit.ActionPasswordChange, SubjectID: "u1", Outcome: audit.OutcomeSuccess}); err != nil {
					return err
				}
				failErr = l.RecordFailure(ctx, audit.Event{Action: audit.ActionLoginFailure, SubjectID: "u1", Metadata: map[string]string{"reason": "bad_password"}})
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("InTx: got error %v, want %v", err, errBoom)
			}
			got := all(t, st)
			if b.name == "sqlite" {
				if !errors.Is(failErr, context.DeadlineExceeded) {
					t.Errorf("RecordFailure inside a SQLite transaction: got error %v, want the write timeout", failErr)
				}
				if len(got) != 0 {
					t.Errorf("audit log: got %d rows, want none", len(got))
				}
				if out := logs.String(); !strings.Contains(out, audit.ActionLoginFailure) || !strings.Contains(out, `"level":"ERROR"`) {
					t.Errorf("log: got %q, want an ERROR naming %s", out, audit.ActionLoginFailure)
				}
				return
			}
			if failErr != nil {
				t.Fatalf("RecordFailure inside a transaction: got %v, want nil", failErr)
			}
			if len(got) != 1 || got[0].Action != audit.ActionLoginFailure || got[0].Outcome != audit.OutcomeFailure {
				t.Errorf("audit log after the rollback: got %d rows, want only the failure", len(got))
			}
		})
	}
}

func TestStrict(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st auditStore) {
		ctx := context.Background()
		l := newLogger(t, audit.Config{Store: st, Strict: true, Actions: []string{"billing.card.update"}})
		for _, a := range audit.Actions() {
			if err := l.Record(ctx, audit.Event{Action: a, Outcome: audit.OutcomeSuccess}); err != nil {
				t.Errorf("strict Record(%s): %v", a, err)
			}
		}
		if err := l.Record(ctx, audit.Event{Action: "billing.card.update", Outcome: audit.OutcomeSuccess}); err != nil {
			t.Errorf("strict Record of a configured action: %v", err)
		}
		for _, a := range []string{"billing.card.delete", "auth.login.sucess", "auth.login"} {
			if err := l.Record(ctx, audit.Event{Action: a, Outcome: audit.OutcomeSuccess}); !errors.Is(err, audit.ErrUnknownAction) {
				t.Errorf("strict Record(%s): got error %v, want ErrUnknownAction", a, err)
			}
		}
		if got, want := len(all(t, st)), len(audit.Actions())+1; got != want {
			t.Errorf("stored events: got %d, want %d", got, want)
		}

		lax := newLogger(t, audit.Config{Store: st})
		if err := lax.Record(ctx, audit.Event{Action: "billing.card.delete", Outcome: audit.OutcomeSuccess}); err != nil {
			t.Errorf("non-strict Record of an application action: %v", err)
		}
	})
}

// TestRecordFailure checks that RecordFailure forces the outcome, writes
// even when the request's context is cancelled, and logs (without
// metadata) what it could not write.
func TestRecordFailure(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st auditStore) {
		var logs bytes.Buffer
		l := newLogger(t, audit.Config{Store: st, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the client hung up
		ctx = audit.WithRequest(ctx, nil, "198.51.100.7")
		err := l.RecordFailure(ctx, audit.Event{
			Action: audit.ActionLoginFailure, SubjectID: "u1", Outcome: audit.OutcomeSuccess,
			Metadata: map[string]string{"reason": "bad_password"},
		})
		if err != nil {
			t.Fatalf("RecordFailure with a cancelled context: %v", err)
		}
		got := all(t, st)
		if len(got) != 1 {
			t.Fatalf("stored events: got %d, want 1", len(got))
		}
		if got[0].Outcome != audit.OutcomeFailure || got[0].IP != "198.51.100.7" || got[0].SubjectID != "u1" {
			t.Errorf("stored event: got outcome %q ip %q subject %q, want failure 198.51.100.7 u1", got[0].Outcome, got[0].IP, got[0].SubjectID)
		}
		if logs.Len() != 0 {
			t.Errorf("log after a successful write: got %q, want nothing", logs.String())
		}

		// An invalid event is logged and returned.
		err = l.RecordFailure(ctx, audit.Event{Action: "Bad Action", SubjectID: "u2"})
		if !errors.Is(err, audit.ErrInvalidAction) {
			t.Errorf("RecordFailure of an invalid event: got error %v, want ErrInvalidAction", err)
		}
		if !strings.Contains(logs.String(), `"subject":"u2"`) || !strings.Contains(logs.String(), `"level":"ERROR"`) {
			t.Errorf("log of an invalid failure event: got %q, want an ERROR naming subject u2", logs.String())
		}
	})
}

// TestRecordFailureStoreDown checks that a failed write is logged with the
// event's identity and returned, and that metadata never reaches the log.
func TestRecordFailureStoreDown(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			closeStore(t, st) // every later write fails

			var logs bytes.Buffer
			l := newLogger(t, audit.Config{Store: st, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			ctx := audit.WithRequest(context.Background(), nil, "203.0.113.9")
			err := l.RecordFailure(ctx, audit.Event{
				Action: audit.ActionMFAChallengeFailure, SubjectID: "user-42",
				Metadata: map[string]string{"reason": "metadata-value-not-logged"},
			})
			if err == nil {
				t.Fatal("RecordFailure on a closed store: got nil error, want the store's error")
			}
			out := logs.String()
			for _, want := range []string{`"level":"ERROR"`, audit.ActionMFAChallengeFailure, "user-42", "203.0.113.9"} {
				if !strings.Contains(out, want) {
					t.Errorf("log: got %q, want it to contain %q", out, want)
				}
			}
			if strings.Contains(out, "metadata-value-not-logged") {
				t.Errorf("log: got %q, which contains a metadata value", out)
			}
		})
	}
}

func TestQueryValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		q    store.AuditQuery
		want error
	}{
		{"zero", store.AuditQuery{}, nil},
		{"max limit", store.AuditQuery{Limit: audit.MaxQueryLimit}, nil},
		{"negative limit", store.AuditQuery{Limit: -1}, audit.ErrInvalidQuery},
		{"limit too large", store.AuditQuery{Limit: audit.MaxQueryLimit + 1}, audit.ErrInvalidQuery},
		{"since only", store.AuditQuery{Since: t0}, nil},
		{"until only", store.AuditQuery{Until: t0}, nil},
		{"since before until", store.AuditQuery{Since: t0, Until: t0.Add(time.Millisecond)}, nil},
		{"since equals until", store.AuditQuery{Since: t0, Until: t0}, audit.ErrInvalidQuery},
		{"since after until", store.AuditQuery{Since: t0.Add(time.Hour), Until: t0}, audit.ErrInvalidQuery},
		{"malformed action", store.AuditQuery{Action: "auth login"}, audit.ErrInvalidQuery},
		{"application action", store.AuditQuery{Action: "billing.card.update"}, nil},
		{"huge user id", store.AuditQuery{UserID: strings.Repeat("u", audit.MaxIDLen+1)}, audit.ErrInvalidQuery},
		{"huge cursor", store.AuditQuery{After: strings.Repeat("c", 10_000)}, audit.ErrInvalidQuery},
	}
	forEachBackend(t, func(t *testing.T, st auditStore) {
		l := newLogger(t, audit.Config{Store: st})
		if err := l.Record(context.Background(), audit.Event{Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess}); err != nil {
			t.Fatalf("Record: %v", err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, next, err := l.Query(context.Background(), tt.q)
				if !errors.Is(err, tt.want) {
					t.Fatalf("Query: got error %v, want %v", err, tt.want)
				}
				if err != nil && (rows != nil || next != "") {
					t.Errorf("Query with error: got %d rows and cursor %q, want none", len(rows), next)
				}
			})
		}
	})
}

func TestNilStore(t *testing.T) {
	t.Parallel()
	ok := audit.Event{Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess}
	var zero audit.Logger
	var logs bytes.Buffer
	noStore := newLogger(t, audit.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for name, l := range map[string]*audit.Logger{"zero Logger": &zero, "Logger without a store": noStore} {
		if err := l.Record(context.Background(), ok); !errors.Is(err, audit.ErrNoStore) {
			t.Errorf("%s: Record got error %v, want ErrNoStore", name, err)
		}
		if _, _, err := l.Query(context.Background(), store.AuditQuery{}); !errors.Is(err, audit.ErrNoStore) {
			t.Errorf("%s: Query got error %v, want ErrNoStore", name, err)
		}
		// An invalid event is refused as such, store or not.
		if err := l.Record(context.Background(), audit.Event{Action: "bad", Outcome: audit.OutcomeSuccess}); !errors.Is(err, audit.ErrInvalidAction) {
			t.Errorf("%s: Record of an invalid event got error %v, want ErrInvalidAction", name, err)
		}
	}
	if err := noStore.RecordFailure(context.Background(), ok); !errors.Is(err, audit.ErrNoStore) {
		t.Errorf("RecordFailure without a store: got error %v, want ErrNoStore", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("RecordFailure without a store: log got %q, want an ERROR record", logs.String())
	}
}

// TestDefaultClock checks that a Logger without Now records with the wall
// clock, in UTC.
func TestDefaultClock(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st auditStore) {
		l := newLogger(t, audit.Config{Store: st})
		before := time.Now().Add(-time.Second)
		if err := l.Record(context.Background(), audit.Event{Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess}); err != nil {
			t.Fatalf("Record: %v", err)
		}
		got := all(t, st)
		if len(got) != 1 {
			t.Fatalf("stored events: got %d, want 1", len(got))
		}
		if got[0].At.Before(before) || got[0].At.Location() != time.UTC {
			t.Errorf("At: got %v, want a UTC time after %v", got[0].At, before)
		}
	})
}
