package account_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/testapp"
	"github.com/sigra-go/sigra/store"
)

// Short names for hook signatures.
type (
	ctxT         = context.Context
	accountHooks = account.Hooks
)

// pw is the password of the users the tests create.
const pw = "correct horse battery"

// sessionCookie is the session cookie's name on a localhost base URL.
const sessionCookie = "sigra_session"

// ctx is the context of direct store calls.
var ctx = context.Background()

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
func wantStatus(t *testing.T, what string, res *testapp.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s: got status %d, want %d\n%s", what, res.StatusCode, want, res.Body)
	}
}

// wantRedirect fails the test unless res is a 303 to location.
func wantRedirect(t *testing.T, what string, res *testapp.Response, location string) {
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
func decode(t *testing.T, res *testapp.Response) decoded {
	t.Helper()
	var d decoded
	if err := json.Unmarshal([]byte(res.Body), &d); err != nil {
		t.Fatalf("response is not JSON (%v): %d %s", err, res.StatusCode, res.Body)
	}
	if err := json.Unmarshal([]byte(res.Body), &d.Rest); err != nil {
		t.Fatal(err)
	}
	return d
}

// wantError fails the test unless res is a JSON error with status and
// code; it returns the error's field messages.
func wantError(t *testing.T, what string, res *testapp.Response, status int, code string) map[string]string {
	t.Helper()
	d := decode(t, res)
	if res.StatusCode != status || d.Error == nil || d.Error.Code != code {
		t.Fatalf("%s: got %d %s, want %d with code %q", what, res.StatusCode, res.Body, status, code)
	}
	return d.Error.Fields
}

// newUser creates a confirmed user with password pw.
func newUser(a *testapp.App, email string) *store.User { return a.CreateUser(email, pw) }

// signedIn returns a new client signed in as email with password pw.
func signedIn(a *testapp.App, email string) *testapp.Client {
	c := a.Client()
	c.SignIn(email, pw)
	return c
}

// whoami returns the client's auth state and user address.
func whoami(c *testapp.Client) (state, email string) {
	state, email, _ = c.Whoami()
	return state, email
}

// wantSignedIn fails the test unless c is signed in as email.
func wantSignedIn(t *testing.T, c *testapp.Client, email string) {
	t.Helper()
	if state, got := whoami(c); state != "authenticated" || got != email {
		t.Fatalf("got state %q as %q, want authenticated as %q", state, got, email)
	}
}

// wantAnonymous fails the test unless c is signed out.
func wantAnonymous(t *testing.T, c *testapp.Client) {
	t.Helper()
	if state, got := whoami(c); state != "anonymous" {
		t.Fatalf("got state %q as %q, want anonymous", state, got)
	}
}

// mailCount flushes the outbox and counts the messages to addr.
func mailCount(a *testapp.App, addr string) int { return len(a.Mails(addr)) }

// subjects lists the subjects of the messages to addr, newest first.
func subjects(a *testapp.App, addr string) []string {
	var out []string
	for _, m := range a.Mails(addr) {
		out = append(out, m.Subject)
	}
	return out
}

// auditRows returns the audit rows with action about userID (as actor or
// subject; every user when empty), newest first.
func auditRows(t *testing.T, a *testapp.App, action, userID string) []*store.AuditEvent {
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
func wantAudit(t *testing.T, a *testapp.App, action, userID string, n int, want auditWant) *store.AuditEvent {
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
func tokenCount(a *testapp.App, userID, purpose string) int {
	if purpose == "" {
		return a.Count("sigra_tokens", "user_id = ?", userID)
	}
	return a.Count("sigra_tokens", "user_id = ? AND purpose = ?", userID, purpose)
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
func snapshot(t *testing.T, a *testapp.App, emails ...string) state {
	t.Helper()
	s := state{
		Tokens:       a.Count("sigra_tokens", ""),
		Outbox:       a.Count("sigra_outbox", ""),
		Sessions:     a.Count("sigra_sessions", ""),
		Revoked:      a.Count("sigra_sessions", "revoked_at IS NOT NULL"),
		Reservations: a.Count("sigra_email_reservations", ""),
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
func wantUnchanged(t *testing.T, what string, a *testapp.App, before state, emails ...string) {
	t.Helper()
	if after := snapshot(t, a, emails...); !reflect.DeepEqual(before, after) {
		t.Errorf("%s changed the store:\nbefore %+v\nafter  %+v", what, before, after)
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
func cookieOf(res *testapp.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// replay returns a new client that holds only the session cookie value
// tok, to check whether an old token still works.
func replay(a *testapp.App, tok string) *testapp.Client {
	c := a.Client()
	u, _ := url.Parse(a.Server.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: tok, Path: "/"}})
	return c
}

// hooks records the calls of account hooks.
type hooks struct {
	mu    sync.Mutex
	calls []string
}

func (h *hooks) add(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, fmt.Sprintf(format, args...))
}

func (h *hooks) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

// ms is a millisecond, the stores' time precision.
const ms = time.Millisecond
