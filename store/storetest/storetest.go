package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// Part names one part of the suite: the checks of one store interface.
type Part string

// The parts of the suite. Each needs its own interface and, where its
// records belong to users, [store.Users]; [Run] says which.
const (
	// Users checks [store.Users]. Needs store.Users.
	Users Part = "Users"
	// Sessions checks [store.Sessions]. Needs store.Users and store.Sessions.
	Sessions Part = "Sessions"
	// Tokens checks [store.Tokens]. Needs store.Users and store.Tokens.
	Tokens Part = "Tokens"
	// Limiter checks [store.Limiter]. Needs store.Limiter.
	Limiter Part = "Limiter"
	// Outbox checks [store.Outbox]. Needs store.Outbox; uses
	// [MessageReader] when the store's type has it.
	Outbox Part = "Outbox"
	// AuditLog checks [store.AuditLog]. Needs store.AuditLog.
	AuditLog Part = "AuditLog"
	// TOTP checks [store.TOTP]. Needs store.Users and store.TOTP.
	TOTP Part = "TOTP"
	// RecoveryCodes checks [store.RecoveryCodes]. Needs store.Users and
	// store.RecoveryCodes.
	RecoveryCodes Part = "RecoveryCodes"
	// TrustedBrowsers checks [store.TrustedBrowsers]. Needs store.Users
	// and store.TrustedBrowsers.
	TrustedBrowsers Part = "TrustedBrowsers"
	// SignIns checks [store.SignIns], with the removal of a user's devices
	// by DeleteUser and AnonymizeUser (and, when the store is a
	// [store.Transactor], in a transaction). Needs store.Users and
	// store.SignIns.
	SignIns Part = "SignIns"
	// Passkeys checks [store.Passkeys]: user handles, the limit, unique
	// credential IDs, the last-method guard (with concurrent removals), and
	// the removal of a user's passkeys by DeleteUser and AnonymizeUser.
	// Needs store.Users and store.Passkeys.
	Passkeys Part = "Passkeys"
	// Transactions checks [store.Transactor] with a write of each kind the
	// store has among users, sessions, tokens, audit events, outbox
	// messages, limiter hits, TOTP secrets, recovery codes and trusted
	// browsers (and deletions of the last three). Needs store.Transactor
	// and store.Users.
	Transactions Part = "Transactions"
	// Times checks that times come back as the same instant in UTC, at
	// millisecond precision or better, and that zero times stay zero, in
	// the records of every interface the store has. Needs store.Users.
	Times Part = "Times"
)

// MessageReader is implemented by stores that can return one outbox message
// by ID, whether queued, sent or given up. The Outbox part uses it to check
// that MarkSent and GiveUp erase the sealed body and which rows
// PurgeMessages deletes; it is not part of [store.Outbox].
type MessageReader interface {
	// MessageByID returns the message with id, or an error wrapping
	// store.ErrNotFound.
	MessageByID(ctx context.Context, id string) (*store.Message, error)
}

// Run runs parts of the conformance suite against fresh stores returned by
// open.
//
// With parts named, it runs those, and fails at once, before running any,
// if S lacks an interface a part needs (saying which) or a name is not a
// part. With none, it runs every part that S implements and logs (t.Logf)
// each part it skipped and the interface missing. Which interfaces the
// store has is decided from the type S, not from the values open returns:
// S may be an interface type (a feature's store interface, or one the host
// composes) or a concrete type. Checks that involve records of several
// interfaces (DeleteUser removing sessions and factors, a transaction
// writing one row of each kind) check those of S's interfaces and leave
// out the others.
//
// open is called from inside each subtest, at least once per subtest, and
// must return a fresh, empty, migrated store that shares nothing with the
// stores of other calls: the subtests run in parallel. It must be safe to
// call from several goroutines at once, and should register the store's
// cleanup with t.Cleanup. Subtests are named Part/Method/Case, for example
// "Sessions/SaveSession/Tombstone".
func Run[S any](t *testing.T, open func(t *testing.T) S, parts ...Part) {
	t.Helper()
	typ := reflect.TypeFor[S]()
	run, err := selectParts(t, typ, parts)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	openAny := func(t *testing.T) any {
		t.Helper()
		s := open(t)
		if isNil(s) {
			t.Fatal("storetest: open returned a nil store")
		}
		return s
	}
	for _, p := range run {
		t.Run(string(p.name), func(t *testing.T) {
			t.Parallel()
			for _, c := range p.checks {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					s := openAny(t)
					c.run(t, s, env{s: s, typ: typ, open: openAny})
				})
			}
		})
	}
}

// The stores the checks of a part take: the part's interface and, where
// its records belong to users, store.Users.
type (
	sessionStore interface {
		store.Users
		store.Sessions
	}
	tokenStore interface {
		store.Users
		store.Tokens
	}
	totpStore interface {
		store.Users
		store.TOTP
	}
	recoveryStore interface {
		store.Users
		store.RecoveryCodes
	}
	trustedStore interface {
		store.Users
		store.TrustedBrowsers
	}
	txStore interface {
		store.Transactor
		store.Users
	}
)

// part is one part of the suite: the interfaces it needs and its checks.
type part struct {
	name   Part
	needs  []reflect.Type
	checks []check
}

// allParts returns every part, in the order Run runs them.
func allParts() []part {
	var (
		users    = reflect.TypeFor[store.Users]()
		sessions = reflect.TypeFor[store.Sessions]()
		tokens   = reflect.TypeFor[store.Tokens]()
		limiter  = reflect.TypeFor[store.Limiter]()
		outbox   = reflect.TypeFor[store.Outbox]()
		audit    = reflect.TypeFor[store.AuditLog]()
		totp     = reflect.TypeFor[store.TOTP]()
		recovery = reflect.TypeFor[store.RecoveryCodes]()
		trusted  = reflect.TypeFor[store.TrustedBrowsers]()
		tx       = reflect.TypeFor[store.Transactor]()
	)
	return []part{
		{Users, []reflect.Type{users}, userChecks()},
		{Sessions, []reflect.Type{users, sessions}, sessionChecks()},
		{Tokens, []reflect.Type{users, tokens}, tokenChecks()},
		{Limiter, []reflect.Type{limiter}, limiterChecks()},
		{LimitSequence, []reflect.Type{limiter, reflect.TypeFor[store.SequenceLimiter]()}, limitSequenceChecks()},
		{Outbox, []reflect.Type{outbox}, outboxChecks()},
		{AuditLog, []reflect.Type{audit}, auditChecks()},
		{TOTP, []reflect.Type{users, totp}, totpChecks()},
		{RecoveryCodes, []reflect.Type{users, recovery}, recoveryChecks()},
		{TrustedBrowsers, []reflect.Type{users, trusted}, trustedChecks()},
		{SignIns, []reflect.Type{users, reflect.TypeFor[store.SignIns]()}, signInChecks()},
		{Webhooks, []reflect.Type{reflect.TypeFor[store.Webhooks]()}, webhookChecks()},
		{WebhookDeliveries, []reflect.Type{reflect.TypeFor[store.Webhooks](), reflect.TypeFor[store.WebhookDeliveries]()}, webhookDeliveryChecks()},
		{AuditChain, []reflect.Type{audit, reflect.TypeFor[store.AuditChain]()}, auditChainChecks()},
		{Orgs, []reflect.Type{users, reflect.TypeFor[store.Orgs](), reflect.TypeFor[store.Memberships](), reflect.TypeFor[store.Invitations]()}, orgChecks()},
		{Identities, []reflect.Type{users, reflect.TypeFor[store.Identities]()}, identityChecks()},
		{Passkeys, []reflect.Type{users, reflect.TypeFor[store.Passkeys]()}, passkeyChecks()},
		{SealedSecrets, []reflect.Type{users, totp, reflect.TypeFor[store.Identities](), reflect.TypeFor[store.SealedSecrets]()}, sealedChecks()},
		{RefreshTokens, []reflect.Type{users, sessions, reflect.TypeFor[store.RefreshTokens]()}, refreshChecks()},
		{APITokens, []reflect.Type{users, reflect.TypeFor[store.APITokens](), reflect.TypeFor[store.ServiceAccounts]()}, apiTokenChecks()},
		{Admins, []reflect.Type{users, reflect.TypeFor[store.Admins]()}, adminChecks()},
		{UserDirectory, []reflect.Type{users, reflect.TypeFor[store.UserDirectory]()}, directoryChecks()},
		{AuditExplorer, []reflect.Type{audit, reflect.TypeFor[store.AuditExplorer]()}, explorerChecks()},
		{Transactions, []reflect.Type{tx, users}, txChecks()},
		{Times, []reflect.Type{users}, timeChecks()},
	}
}

// missing returns the interfaces p needs that typ does not implement, as
// "store.X and store.Y".
func (p part) missing(typ reflect.Type) string {
	var names []string
	for _, need := range p.needs {
		if !typ.Implements(need) {
			names = append(names, need.String())
		}
	}
	return strings.Join(names, " and ")
}

// selectParts returns the parts Run runs for the type typ: the named ones,
// or, when none are named, those typ implements (logging the others).
func selectParts(t *testing.T, typ reflect.Type, names []Part) ([]part, error) {
	t.Helper()
	all := allParts()
	var run []part
	if len(names) == 0 {
		for _, p := range all {
			if missing := p.missing(typ); missing != "" {
				t.Logf("storetest: skipping part %s: %s does not implement %s", p.name, typeName(typ), missing)
				continue
			}
			run = append(run, p)
		}
		if len(run) == 0 {
			return nil, fmt.Errorf("%s implements none of the interfaces the parts need", typeName(typ))
		}
		return run, nil
	}
	var problems []string
	seen := map[Part]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		i := slices.IndexFunc(all, func(p part) bool { return p.name == name })
		if i < 0 {
			problems = append(problems, fmt.Sprintf("%q is not a part of the suite", name))
			continue
		}
		if missing := all[i].missing(typ); missing != "" {
			problems = append(problems, fmt.Sprintf("part %s needs %s, which %s does not implement", name, missing, typeName(typ)))
			continue
		}
		run = append(run, all[i])
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return run, nil
}

// typeName names typ in messages: its Go name, or its kind when it has
// none (the method list of an interface literal is too long to print).
func typeName(typ reflect.Type) string {
	if typ.Name() != "" || (typ.Kind() == reflect.Pointer && typ.Elem().Name() != "") {
		return typ.String()
	}
	return "the store type (an unnamed " + typ.Kind().String() + ")"
}

// isNil reports whether s is a nil interface, pointer, map, slice, channel
// or function.
func isNil(s any) bool {
	if s == nil {
		return true
	}
	switch v := reflect.ValueOf(s); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// check is one subtest: it receives a fresh store of its own.
type check struct {
	name string
	run  func(t *testing.T, s any, e env)
}

// env is what a check may use beyond the interface its part is about: the
// store's other interfaces, as the suite's type S has them, and a way to
// open another store.
type env struct {
	s    any
	typ  reflect.Type
	open func(t *testing.T) any
}

// as returns the store under test as I when the suite's type implements I.
func as[I any](e env) (I, bool) {
	var zero I
	if !e.typ.Implements(reflect.TypeFor[I]()) {
		return zero, false
	}
	i, ok := e.s.(I)
	return i, ok
}

// logLacking logs which of kinds the suite's type does not implement:
// the check leaves out those records (what names them).
func (e env) logLacking(t *testing.T, what string, kinds ...reflect.Type) {
	t.Helper()
	var names []string
	for _, k := range kinds {
		if !e.typ.Implements(k) {
			names = append(names, k.String())
		}
	}
	if len(names) > 0 {
		t.Logf("storetest: %s not checked: %s does not implement %s", what, typeName(e.typ), strings.Join(names, ", "))
	}
}

// checkOf makes a check of fn, which needs the store as I (what its part
// needs).
func checkOf[I any](name string, fn func(t *testing.T, s I)) check {
	return checkEnv(name, func(t *testing.T, s I, _ env) { fn(t, s) })
}

// checkEnv is checkOf for a check that also uses the env.
func checkEnv[I any](name string, fn func(t *testing.T, s I, e env)) check {
	return check{name, func(t *testing.T, s any, e env) {
		t.Helper()
		i, ok := s.(I)
		if !ok {
			t.Fatalf("storetest: the store (%T) does not implement %v", s, reflect.TypeFor[I]())
		}
		fn(t, i, e)
	}}
}

// t0 is the suite's reference "now": millisecond precision, UTC.
var t0 = time.Date(2026, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// digest returns a 32-byte digest standing for the secret s.
func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// newUser creates a user with email, created at t0.
func newUser(t *testing.T, s store.Users, email string) *store.User {
	t.Helper()
	u := &store.User{Email: email, CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	if u.ID == "" {
		t.Fatalf("CreateUser(%q) left ID empty", email)
	}
	return u
}

// getUser reads a user that must exist.
func getUser(t *testing.T, s store.Users, id string) *store.User {
	t.Helper()
	u, err := s.UserByID(t.Context(), id)
	if err != nil {
		t.Fatalf("UserByID(%q): %v", id, err)
	}
	return u
}

// sameTime reports a failure unless got and want are both zero, or are the
// same instant and got is in UTC.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Errorf("%s: got %v, want the zero time", what, got)
		}
		return
	}
	if !got.Equal(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s: got location %v, want UTC", what, got.Location())
	}
}

// wantErr reports a failure unless err wraps target (or is nil when target
// is nil).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Errorf("%s: got error %v, want nil", what, err)
	case target != nil && !errors.Is(err, target):
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// must fails the test at once on err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// race runs fn(i) for i in [0, n) on n goroutines released together, and
// returns their errors by index.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// countOutcomes counts nil errors and errors wrapping target; any other
// error fails the test.
func countOutcomes(t *testing.T, what string, errs []error, target error) (ok, matched int) {
	t.Helper()
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, target):
			matched++
		default:
			t.Errorf("%s: goroutine %d: unexpected error %v", what, i, err)
		}
	}
	return ok, matched
}
