package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/store"
)

// Outcomes of an event.
const (
	// OutcomeSuccess: the action happened.
	OutcomeSuccess = "success"
	// OutcomeFailure: the action was attempted and refused.
	OutcomeFailure = "failure"
)

// MaxQueryLimit is the largest page size [Logger.Query] accepts; zero
// selects it.
const MaxQueryLimit = 100

// DefaultWriteTimeout is how long [Logger.RecordFailure] waits for the
// store when Config.WriteTimeout is zero.
const DefaultWriteTimeout = 5 * time.Second

// Errors returned by [New], [Logger.Record], [Logger.RecordFailure] and
// [Logger.Query]. They are wrapped with detail (never a metadata value);
// test with errors.Is.
var (
	// ErrInvalidAction: the action is empty, malformed (see [Event.Action])
	// or longer than MaxActionLen.
	ErrInvalidAction = errors.New("sigra/audit: invalid action")
	// ErrUnknownAction: a strict Logger was given an action that is neither
	// in the catalogue nor in Config.Actions.
	ErrUnknownAction = errors.New("sigra/audit: action not in the catalogue")
	// ErrInvalidOutcome: the outcome is neither OutcomeSuccess nor
	// OutcomeFailure.
	ErrInvalidOutcome = errors.New("sigra/audit: invalid outcome")
	// ErrInvalidMetadata: too many metadata entries, or a key or value out
	// of bounds (see [Event.Metadata]).
	ErrInvalidMetadata = errors.New("sigra/audit: invalid metadata")
	// ErrSecretMetadata: a metadata key looks like it names a secret (see
	// the package documentation for the list of words).
	ErrSecretMetadata = errors.New("sigra/audit: secret-looking metadata key")
	// ErrInvalidEvent: an actor, subject, impersonator or organization ID
	// is malformed.
	ErrInvalidEvent = errors.New("sigra/audit: invalid event")
	// ErrInvalidQuery: a query's limit, time range, action, user,
	// organization or cursor is out of bounds.
	ErrInvalidQuery = errors.New("sigra/audit: invalid query")
	// ErrNoStore: the Logger has no store (Config.Store is nil).
	ErrNoStore = errors.New("sigra/audit: no store")
)

// Event is what a caller records. The Logger adds the time, and fills IP,
// UserAgent and ImpersonatorID from the context when they are empty (see
// [WithRequest]).
type Event struct {
	// Action names what happened: one of the catalogue's constants, or an
	// application's own action of the same form: two or more segments
	// joined by dots, each a lowercase ASCII letter followed by lowercase
	// letters, digits or underscores ("billing.card.update"), at most
	// MaxActionLen bytes.
	Action string
	// ActorID is the user who did it; empty for an anonymous actor or the
	// system.
	ActorID string
	// SubjectID is the user it was done to or for; empty when no account
	// matched (a sign-in with an unknown address).
	SubjectID string
	// ImpersonatorID is the administrator acting as ActorID. When empty it
	// is taken from the impersonator of the request's [sigra.Auth].
	ImpersonatorID string
	// OrgID is the organization the event happened in (the tenant whose
	// data was read or changed); empty when none. It is what an audit
	// query's OrgID selects. It is validated as the other IDs are.
	OrgID string
	// Outcome is OutcomeSuccess or OutcomeFailure; nothing else is
	// accepted, not even empty.
	Outcome string
	// Metadata carries details that are not secret, such as "method",
	// "reason" or "count". At most MaxMetadataKeys entries; keys are 1 to
	// MaxKeyLen bytes of ASCII letters, digits, '_', '-' and '.', and must
	// not contain a secret word (see the package documentation); values
	// are valid UTF-8 without NUL bytes, at most MaxValueLen bytes. An
	// event that breaks a rule is refused, never trimmed. Values are not
	// inspected for secrets: never put a password, token, code or cookie
	// in one.
	Metadata map[string]string
	// IP is the client address; when empty it comes from [WithRequest].
	IP string
	// UserAgent is the client's User-Agent; when empty it comes from
	// [WithRequest].
	UserAgent string
}

// Config configures a [Logger]. Store is required to record; the other
// zero fields are the defaults.
type Config struct {
	// Store receives the events. Record writes with the caller's context,
	// so inside [store.Transactor.InTx] of the same store the row commits
	// or rolls back with the change it describes.
	Store store.AuditLog
	// Now returns the current time; it stamps every event. Default
	// time.Now.
	Now func() time.Time
	// Logger receives the events that RecordFailure could not store.
	// Default slog.Default().
	Logger *slog.Logger
	// Strict refuses actions that are neither in the catalogue ([Actions])
	// nor listed in Actions, so that a misspelt action fails in tests
	// instead of landing in the log. Default false: any well-formed action
	// is accepted.
	Strict bool
	// Actions lists an application's own actions that a strict Logger
	// accepts besides the catalogue. Each must be well formed.
	Actions []string
	// WriteTimeout bounds how long RecordFailure waits for the store.
	// Default DefaultWriteTimeout; negative is an error.
	WriteTimeout time.Duration
	// OnRecord, when set, is called by Record with the row of every
	// success event once the store has appended it, with the same context:
	// inside a transaction of the store it runs in that transaction, so
	// what it writes (a queued webhook, for instance) commits or rolls back
	// with the change and its audit row. An error it returns fails the
	// Record (wrapped), so the caller's transaction rolls back. Failure
	// events (OutcomeFailure, and so every RecordFailure) are not passed
	// to it. It must not change e, and must not write outside the
	// transaction ctx carries (on SQLite, the open transaction holds the
	// only writer connection). Default nil: nothing is called.
	OnRecord func(ctx context.Context, e *store.AuditEvent) error
}

// Logger validates audit events and writes them through a [store.AuditLog].
// Writes take the caller's context: inside a transaction of the store (see
// [store.Transactor]), the change and its audit row commit together or not
// at all.
//
// A Logger is safe for concurrent use. The zero Logger validates events but
// has no store: Record returns ErrNoStore.
type Logger struct {
	st      store.AuditLog
	now     func() time.Time
	log     *slog.Logger
	strict  bool
	extra   map[string]bool
	timeout time.Duration
	hook    func(context.Context, *store.AuditEvent) error
}

// New returns a Logger configured by cfg, with defaults filled in. It
// returns an error wrapping sigra.ErrConfig (and ErrInvalidAction) if cfg is
// invalid.
func New(cfg Config) (*Logger, error) {
	if cfg.WriteTimeout < 0 {
		return nil, fmt.Errorf("%w: audit: WriteTimeout %v is negative", sigra.ErrConfig, cfg.WriteTimeout)
	}
	l := &Logger{
		st:      cfg.Store,
		now:     cfg.Now,
		log:     cfg.Logger,
		strict:  cfg.Strict,
		timeout: cfg.WriteTimeout,
		hook:    cfg.OnRecord,
	}
	if len(cfg.Actions) > 0 {
		l.extra = make(map[string]bool, len(cfg.Actions))
		for _, a := range cfg.Actions {
			if err := checkAction(a); err != nil {
				return nil, fmt.Errorf("%w: audit: Actions: %w", sigra.ErrConfig, err)
			}
			l.extra[a] = true
		}
	}
	return l, nil
}

func (l *Logger) clock() time.Time {
	if l.now == nil {
		return time.Now().UTC()
	}
	return l.now().UTC()
}

func (l *Logger) logger() *slog.Logger {
	if l.log == nil {
		return slog.Default()
	}
	return l.log
}

func (l *Logger) writeTimeout() time.Duration {
	if l.timeout == 0 {
		return DefaultWriteTimeout
	}
	return l.timeout
}

// Record validates e, completes it from ctx and writes it through the
// store with ctx: inside a transaction of the store, the row commits or
// rolls back with the change it describes. An invalid event is refused before
// anything is written, with an error wrapping ErrInvalidAction,
// ErrUnknownAction, ErrInvalidOutcome, ErrInvalidMetadata, ErrSecretMetadata
// or ErrInvalidEvent; a store failure is returned wrapped. Once a success
// event is appended, Config.OnRecord is called with it and ctx, and its
// error is returned wrapped.
func (l *Logger) Record(ctx context.Context, e Event) error {
	row, err := l.build(ctx, e)
	if err != nil {
		return err
	}
	if l.st == nil {
		return ErrNoStore
	}
	if err := l.st.AppendAudit(ctx, row); err != nil {
		return fmt.Errorf("sigra/audit: record %s: %w", row.Action, err)
	}
	if l.hook != nil && row.Outcome == OutcomeSuccess {
		if err := l.hook(ctx, row); err != nil {
			return fmt.Errorf("sigra/audit: record %s: on record: %w", row.Action, err)
		}
	}
	return nil
}

// RecordFailure records a failed attempt (a wrong password, a wrong second
// factor) on its own, outside any transaction ctx carries (see
// [store.WithoutTx]), so a rollback cannot erase it. Call it after the
// request's transactions have ended, never from inside one (the write
// would wait for the transaction's locks). The outcome is always
// OutcomeFailure, whatever e.Outcome says; the rest is validated as by
// Record.
//
// The write ignores the cancellation of ctx (a client that hangs up cannot
// keep its failure out of the log) and is bounded by Config.WriteTimeout. If
// the event is invalid or cannot be written, RecordFailure logs it (action,
// actor, subject, impersonator, organization, IP and the error; never
// metadata) at level Error and returns the error. (Inside a transaction of
// a store whose writes wait for it, such as the SQLite adapter's single
// writer, that is what happens: the write times out after WriteTimeout and
// is only logged.)
func (l *Logger) RecordFailure(ctx context.Context, e Event) error {
	e = complete(ctx, e)
	e.Outcome = OutcomeFailure
	wctx, cancel := context.WithTimeout(store.WithoutTx(context.WithoutCancel(ctx)), l.writeTimeout())
	defer cancel()
	err := l.Record(wctx, e)
	if err != nil {
		l.logger().LogAttrs(ctx, slog.LevelError, "sigra/audit: failure event not recorded",
			slog.String("action", clean(e.Action, MaxActionLen)),
			slog.String("actor", clean(e.ActorID, MaxIDLen)),
			slog.String("subject", clean(e.SubjectID, MaxIDLen)),
			slog.String("impersonator", clean(e.ImpersonatorID, MaxIDLen)),
			slog.String("org", clean(e.OrgID, MaxIDLen)),
			slog.String("ip", e.IP),
			slog.String("error", err.Error()),
		)
	}
	return err
}

// RecordAfter records an event that follows a change already made (a
// sign-in, a sign-out, a revocation): outside any transaction ctx carries,
// ignoring the cancellation of ctx (a client that hangs up once the change
// is made cannot keep it out of the log), bounded by Config.WriteTimeout.
// Unlike RecordFailure it keeps e.Outcome and logs nothing: the caller
// decides what a failure to write means. Call it after the request's
// transactions have ended, never from inside one.
func (l *Logger) RecordAfter(ctx context.Context, e Event) error {
	wctx, cancel := context.WithTimeout(store.WithoutTx(context.WithoutCancel(ctx)), l.writeTimeout())
	defer cancel()
	return l.Record(wctx, e)
}

// complete fills the empty IP, UserAgent and ImpersonatorID of e from ctx
// and cleans IP and UserAgent (see [WithRequest]). An impersonator is
// taken first from the request's [sigra.Auth], then from [WithRequest].
func complete(ctx context.Context, e Event) Event {
	ip, ua, imp := fromContext(ctx)
	if e.IP != "" {
		ip = clean(e.IP, MaxIPLen)
	}
	if e.UserAgent != "" {
		ua = clean(e.UserAgent, MaxUserAgentLen)
	}
	e.IP, e.UserAgent = ip, ua
	if e.ImpersonatorID == "" {
		if a := sigra.AuthFrom(ctx); a.Impersonator != "" {
			e.ImpersonatorID = a.Impersonator
		} else {
			e.ImpersonatorID = imp
		}
	}
	return e
}

// build validates e, completes it from ctx and turns it into the row to
// store.
func (l *Logger) build(ctx context.Context, e Event) (*store.AuditEvent, error) {
	if err := checkAction(e.Action); err != nil {
		return nil, err
	}
	if l.strict && !inCatalogue(e.Action) && !l.extra[e.Action] {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAction, e.Action)
	}
	if e.Outcome != OutcomeSuccess && e.Outcome != OutcomeFailure {
		return nil, fmt.Errorf("%w: %s (want %q or %q)", ErrInvalidOutcome, quote(e.Outcome), OutcomeSuccess, OutcomeFailure)
	}
	if err := checkMetadata(e.Metadata); err != nil {
		return nil, err
	}
	e = complete(ctx, e)
	for _, f := range [...]struct{ name, id string }{
		{"actor ID", e.ActorID}, {"subject ID", e.SubjectID}, {"impersonator ID", e.ImpersonatorID},
		{"org ID", e.OrgID},
	} {
		if err := checkID(f.name, f.id); err != nil {
			return nil, err
		}
	}

	return &store.AuditEvent{
		At:             l.clock(),
		Action:         e.Action,
		ActorID:        e.ActorID,
		SubjectID:      e.SubjectID,
		ImpersonatorID: e.ImpersonatorID,
		OrgID:          e.OrgID,
		IP:             e.IP,
		UserAgent:      e.UserAgent,
		Outcome:        e.Outcome,
		Metadata:       e.Metadata,
	}, nil
}

// Query returns one page of the events q selects, newest first, and the
// cursor of the next page ("" on the last page). It checks q before asking
// the store: Limit must be between 0 and MaxQueryLimit (0 means MaxQueryLimit),
// Since must be before Until when both are set, Action must be well formed
// when set, and UserID, OrgID and After must be of reasonable length. A
// query out of bounds returns an error wrapping ErrInvalidQuery.
func (l *Logger) Query(ctx context.Context, q store.AuditQuery) ([]*store.AuditEvent, string, error) {
	if err := checkQuery(q); err != nil {
		return nil, "", err
	}
	if l.st == nil {
		return nil, "", ErrNoStore
	}
	if q.Limit == 0 {
		q.Limit = MaxQueryLimit
	}
	events, next, err := l.st.QueryAudit(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("sigra/audit: query: %w", err)
	}
	return events, next, nil
}

// maxCursorLen bounds the opaque cursor accepted by Query; cursors come
// back from clients in URLs.
const maxCursorLen = 512

func checkQuery(q store.AuditQuery) error {
	if q.Limit < 0 || q.Limit > MaxQueryLimit {
		return fmt.Errorf("%w: limit %d is outside 0..%d", ErrInvalidQuery, q.Limit, MaxQueryLimit)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return fmt.Errorf("%w: since %s is not before until %s", ErrInvalidQuery,
			q.Since.UTC().Format(time.RFC3339Nano), q.Until.UTC().Format(time.RFC3339Nano))
	}
	if q.Action != "" {
		if err := checkAction(q.Action); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidQuery, err)
		}
	}
	if err := checkID("user ID", q.UserID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	}
	if err := checkID("org ID", q.OrgID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	}
	if len(q.After) > maxCursorLen {
		return fmt.Errorf("%w: cursor longer than %d bytes", ErrInvalidQuery, maxCursorLen)
	}
	return nil
}
