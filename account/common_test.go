package account_test

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// pw is the password of the users the tests create.
const pw = "correct horse battery"

// sessionCookie is the session cookie's name on a localhost base URL.
const sessionCookie = "sigra_session"

// ms is a millisecond, the stores' time precision.
const ms = time.Millisecond

// ctx is the context of direct store calls.
var ctx = context.Background()

// opts select a test application's variant.
type opts struct {
	// Backend is "sqlite" (default) or "postgres".
	Backend string
	// Prefix is the site's mount prefix (default "/auth").
	Prefix string
	// Passwords replaces the test hasher.
	Passwords *password.Hasher
	// Logger receives the application's log records.
	Logger *slog.Logger
	// Second gives the application a second factor of the tests' own
	// (see secondFactor) and a pack that declares the route of the second
	// step of a sign-in, <prefix>/mfa/challenge.
	Second bool
	// Packs are added to the UI beside the account pack.
	Packs []ui.Pack
	// Config adjusts the account configuration before account.New.
	Config func(a *apptest.App, cfg *account.Config)
}

// app is a running test application with the account flows mounted.
type app struct {
	*apptest.App
	Account *account.Handler
	// Second is the application's second factor; nil without opts.Second.
	Second *secondFactor
	// Hooks records the calls of the account hooks.
	Hooks *hooks
}

// newApp starts an application with the account flows mounted under the
// site's prefix. Every After hook records its calls in the app's Hooks.
func newApp(t testing.TB, o opts) *app {
	t.Helper()
	x := &app{Hooks: &hooks{}}
	packs := append([]ui.Pack{account.Pages()}, o.Packs...)
	if o.Second {
		x.Second = newSecondFactor()
		packs = append(packs, ui.Pack{Name: "second_step", Routes: map[string]string{ui.RouteSecondFactor: "/mfa/challenge"}})
	}
	x.App = apptest.New(t, apptest.Options{Backend: o.Backend, Prefix: o.Prefix, Packs: packs, Passwords: o.Passwords, Logger: o.Logger}, func(a *apptest.App) {
		cfg := account.Config{
			Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Passwords: a.Hasher,
			Mail: a.Outbox, RateLimiter: a.Limiter, Hooks: x.Hooks.recorder(),
		}
		if x.Second != nil {
			cfg.SecondFactor = x.Second
		}
		if o.Config != nil {
			o.Config(a, &cfg)
		}
		h, err := account.New(cfg)
		if err != nil {
			t.Fatalf("account.New: %v", err)
		}
		h.Mount(a.Mux)
		x.Account = h
	})
	return x
}

// each runs f on a fresh application on every backend, in parallel
// subtests named after the backend.
func each(t *testing.T, o opts, f func(t *testing.T, a *app)) {
	t.Helper()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			o := o
			o.Backend = b
			f(t, newApp(t, o))
		})
	}
}

// form builds form values from key/value pairs.
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// jsonOf encodes v as a JSON request body.
func jsonOf(v map[string]string) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// wantStatus fails the test when res does not have the status want.
func wantStatus(t testing.TB, what string, res *apptest.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s: got status %d, want %d\n%s", what, res.StatusCode, want, res.Body)
	}
}

// wantRedirect fails the test unless res is a 303 to location.
func wantRedirect(t testing.TB, what string, res *apptest.Response, location string) {
	t.Helper()
	wantStatus(t, what, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != location {
		t.Fatalf("%s: got Location %q, want %q", what, got, location)
	}
}

// decoded is a JSON response body.
type decoded struct {
	OK    bool           `json:"ok"`
	Next  string         `json:"next"`
	Error *errorDetail   `json:"error"`
	Rest  map[string]any `json:"-"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields"`
}

// decode reads a JSON response body.
func decode(t testing.TB, res *apptest.Response) decoded {
	t.Helper()
	var d decoded
	if err := json.Unmarshal([]byte(res.Body), &d); err != nil {
		t.Fatalf("got %d %s, want a JSON body (%v)", res.StatusCode, res.Body, err)
	}
	if err := json.Unmarshal([]byte(res.Body), &d.Rest); err != nil {
		t.Fatal(err)
	}
	return d
}

// wantError fails the test unless res is a JSON error with status and
// code; it returns the error's field messages.
func wantError(t testing.TB, what string, res *apptest.Response, status int, code string) map[string]string {
	t.Helper()
	d := decode(t, res)
	if res.StatusCode != status || d.Error == nil || d.Error.Code != code {
		t.Fatalf("%s: got %d %s, want %d with code %q", what, res.StatusCode, res.Body, status, code)
	}
	return d.Error.Fields
}

// newUser creates a confirmed user with password pw.
func newUser(t testing.TB, a *app, email string) *store.User { return a.CreateUser(t, email, pw) }

// signedIn returns a new client, reporting on t, signed in as email with
// password pw.
func signedIn(t testing.TB, a *app, email string) *apptest.Client {
	c := a.Client(t)
	c.SignIn(email, pw)
	return c
}

// whoami returns the client's auth state and user address.
func whoami(c *apptest.Client) (state, email string) {
	state, email, _ = c.Whoami()
	return state, email
}

// wantSignedIn fails the test unless c is signed in as email.
func wantSignedIn(t testing.TB, c *apptest.Client, email string) {
	t.Helper()
	if state, got := whoami(c); state != "authenticated" || got != email {
		t.Fatalf("got state %q as %q, want authenticated as %q", state, got, email)
	}
}

// wantAnonymous fails the test unless c is signed out.
func wantAnonymous(t testing.TB, c *apptest.Client) {
	t.Helper()
	if state, got := whoami(c); state != "anonymous" {
		t.Fatalf("got state %q as %q, want anonymous", state, got)
	}
}

// mailCount flushes the outbox and counts the messages to addr.
func mailCount(t testing.TB, a *app, addr string) int { return len(a.Mails(t, addr)) }

// subjects lists the subjects of the messages to addr, newest first.
func subjects(t testing.TB, a *app, addr string) []string {
	var out []string
	for _, m := range a.Mails(t, addr) {
		out = append(out, m.Subject)
	}
	return out
}

// auditRows returns the audit rows with action about userID (as actor or
// subject; every user when empty), newest first.
func auditRows(t testing.TB, a *app, action, userID string) []*store.AuditEvent {
	t.Helper()
	evs, _, err := a.Store.QueryAudit(ctx, store.AuditQuery{Action: action, UserID: userID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// auditWant is what an audit row must hold. Metadata lists entries that
// must be present; other entries are allowed.
type auditWant struct {
	Actor, Subject, Outcome string
	Metadata                map[string]string
	// System marks an event without a request: no address or user agent.
	System bool
}

// wantAudit fails the test unless exactly n rows with action exist for
// userID (every user when empty), and checks the newest against want: its
// actor, subject, outcome, metadata, and the client's address and user
// agent.
func wantAudit(t testing.TB, a *app, action, userID string, n int, want auditWant) *store.AuditEvent {
	t.Helper()
	evs := auditRows(t, a, action, userID)
	if len(evs) != n {
		t.Fatalf("audit %s for %q: got %d rows, want %d", action, userID, len(evs), n)
	}
	if n == 0 {
		return nil
	}
	e := evs[0]
	if e.ActorID != want.Actor || e.SubjectID != want.Subject || e.Outcome != want.Outcome {
		t.Errorf("audit %s: got actor %q subject %q outcome %q, want %q %q %q", action, e.ActorID, e.SubjectID, e.Outcome, want.Actor, want.Subject, want.Outcome)
	}
	switch {
	case want.System && (e.IP != "" || e.UserAgent != ""):
		t.Errorf("audit %s: got IP %q and user agent %q for a system event, want none", action, e.IP, e.UserAgent)
	case !want.System && e.IP != "127.0.0.1":
		t.Errorf("audit %s: got IP %q, want 127.0.0.1", action, e.IP)
	case !want.System && !strings.Contains(e.UserAgent, "Mozilla/5.0"):
		t.Errorf("audit %s: got user agent %q, want the client's", action, e.UserAgent)
	}
	for k, v := range want.Metadata {
		if e.Metadata[k] != v {
			t.Errorf("audit %s: got metadata %s=%q, want %q (all: %v)", action, k, e.Metadata[k], v, e.Metadata)
		}
	}
	return e
}

// tokenCount counts the user's stored tokens with purpose (all purposes
// when empty).
func tokenCount(t testing.TB, a *app, userID, purpose string) int {
	t.Helper()
	if purpose == "" {
		return a.Count(t, "sigra_tokens", "user_id = ?", userID)
	}
	return a.Count(t, "sigra_tokens", "user_id = ? AND purpose = ?", userID, purpose)
}

// state is what the store holds, for tests that a request changed nothing.
type state struct {
	Users        []string
	Tokens       int
	Outbox       int
	Sessions     int
	Revoked      int
	Reservations int
	Audit        int
}

// snapshot reads the state of the store: every listed user's row in full,
// and how many tokens, queued emails, sessions (and revoked ones) and
// reservations exist.
func snapshot(t testing.TB, a *app, emails ...string) state {
	t.Helper()
	s := state{
		Tokens:       a.Count(t, "sigra_tokens", ""),
		Outbox:       a.Count(t, "sigra_outbox", ""),
		Sessions:     a.Count(t, "sigra_sessions", ""),
		Revoked:      a.Count(t, "sigra_sessions", "revoked_at IS NOT NULL"),
		Reservations: a.Count(t, "sigra_email_reservations", ""),
	}
	for _, e := range emails {
		u, err := a.Store.UserByEmail(ctx, e)
		if err != nil {
			s.Users = append(s.Users, e+": "+err.Error())
			continue
		}
		s.Users = append(s.Users, fmt.Sprintf("%+v", *u))
	}
	return s
}

// wantUnchanged fails the test if the store changed since before.
func wantUnchanged(t testing.TB, what string, a *app, before state, emails ...string) {
	t.Helper()
	if after := snapshot(t, a, emails...); !reflect.DeepEqual(before, after) {
		t.Errorf("%s: got the store\n%+v\nwant it unchanged\n%+v", what, after, before)
	}
}

var (
	linkRE      = regexp.MustCompile(`https?://[^\s"'<>]+`)
	csrfValueRE = regexp.MustCompile(`name="csrf_token" value="[^"]*"`)
	emailRE     = regexp.MustCompile(`(?i)[a-z0-9._%+-]+@example\.com`)
)

// page normalises an HTML page for comparison: CSRF tokens and example
// addresses are replaced by placeholders.
func page(body string) string {
	body = csrfValueRE.ReplaceAllString(body, `name="csrf_token" value="X"`)
	return emailRE.ReplaceAllString(body, "ADDRESS")
}

// logBuffer collects log records for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newLogger returns a logger writing text records into a new buffer.
func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// cookieOf returns the named cookie set by res, or nil.
func cookieOf(res *apptest.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// replay returns a new client, reporting on t, that holds only the session
// cookie value tok, to check whether an old token still works.
func replay(t testing.TB, a *app, tok string) *apptest.Client {
	c := a.Client(t)
	u, _ := url.Parse(a.Server.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: tok, Path: "/"}})
	return c
}

// hooks records the calls of account hooks.
type hooks struct {
	mu    sync.Mutex
	calls []string
	// fields are the fields each AfterRegister call received.
	fields []map[string]string
}

func (h *hooks) add(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, fmt.Sprintf(format, args...))
}

func (h *hooks) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// registered returns the fields of every AfterRegister call.
func (h *hooks) registered() []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.fields)
}

// count reports how many recorded calls equal call.
func (h *hooks) count(call string) int {
	n := 0
	for _, c := range h.list() {
		if c == call {
			n++
		}
	}
	return n
}

// has reports whether a call was recorded.
func (h *hooks) has(call string) bool { return slices.Contains(h.list(), call) }

// recorder returns account hooks that record their calls in h.
func (h *hooks) recorder() (hk account.Hooks) {
	// The application's own registration fields of the tests.
	hk.Fields = []string{"display_name", "terms", "newsletter"}
	hk.AfterRegister = func(_ context.Context, u *sigra.User, fields map[string]string) {
		h.mu.Lock()
		h.fields = append(h.fields, maps.Clone(fields))
		h.mu.Unlock()
		h.add("register %s", u.ID)
	}
	hk.AfterConfirm = func(_ context.Context, u *sigra.User) { h.add("confirm %s", u.ID) }
	hk.AfterSignIn = func(_ context.Context, u *sigra.User) { h.add("signin %s", u.ID) }
	hk.AfterSignOut = func(_ context.Context, id string) { h.add("signout %s", id) }
	hk.AfterPasswordReset = func(_ context.Context, u *sigra.User) { h.add("reset %s", u.ID) }
	hk.AfterEmailChange = func(_ context.Context, u *sigra.User, old string) {
		h.add("email %s %s->%s", u.ID, old, u.Email)
	}
	hk.AfterDelete = func(_ context.Context, id string) { h.add("delete %s", id) }
	return hk
}

// secondFactor is a second factor of the tests' own, kept in memory: each
// enrolled user has one fixed code, a user may be marked as trusting the
// browser (every browser, for simplicity), and every call account makes is
// recorded. It is safe for concurrent use.
type secondFactor struct {
	mu      sync.Mutex
	codes   map[string]string // user ID → the code that passes
	trusted map[string]bool
	// failForget makes ForgetTrust fail (and forget nothing).
	failForget bool
	calls      []string
}

// errForgetFailed is ForgetTrust's error while failForget is set.
var errForgetFailed = errors.New("second factor store unavailable")

func newSecondFactor() *secondFactor {
	return &secondFactor{codes: map[string]string{}, trusted: map[string]bool{}}
}

// enroll gives userID a second factor whose code is code.
func (s *secondFactor) enroll(userID, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[userID] = code
}

// trust marks userID as trusting the browser to skip the second factor.
func (s *secondFactor) trust(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trusted[userID] = true
}

// isTrusted reports whether userID still trusts the browser.
func (s *secondFactor) isTrusted(userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trusted[userID]
}

// setFailForget makes ForgetTrust fail while on.
func (s *secondFactor) setFailForget(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failForget = on
}

// recorded returns the calls made with a name among names (every call
// when none), as "Name userID".
func (s *secondFactor) recorded(names ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		name, _, _ := strings.Cut(c, " ")
		if len(names) == 0 || slices.Contains(names, name) {
			out = append(out, c)
		}
	}
	return out
}

func (s *secondFactor) record(name, userID string) {
	s.calls = append(s.calls, name+" "+userID)
}

func (s *secondFactor) Required(_ context.Context, userID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("Required", userID)
	_, ok := s.codes[userID]
	return ok, nil
}

func (s *secondFactor) Trusted(_ *http.Request, userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("Trusted", userID)
	return s.trusted[userID]
}

func (s *secondFactor) VerifySudo(_ context.Context, _ *http.Request, userID, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("VerifySudo", userID)
	want, ok := s.codes[userID]
	if !ok || subtle.ConstantTimeCompare([]byte(code), []byte(want)) != 1 {
		return sigra.ErrInvalidCredentials
	}
	return nil
}

func (s *secondFactor) ForgetTrust(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("ForgetTrust", userID)
	if s.failForget {
		return errForgetFailed
	}
	delete(s.trusted, userID)
	return nil
}
