package mfa_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// goneRecords is a slog.Handler that keeps every record.
type goneRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *goneRecords) Enabled(context.Context, slog.Level) bool { return true }

func (h *goneRecords) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

func (h *goneRecords) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *goneRecords) WithGroup(string) slog.Handler      { return h }

// levels returns the levels of the records whose message is msg, and the
// messages of every record above Debug.
func (h *goneRecords) levels(msg string) (at []slog.Level, aboveDebug []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		if r.Message == msg {
			at = append(at, r.Level)
		}
		if r.Level > slog.LevelDebug {
			aboveDebug = append(aboveDebug, r.Level.String()+" "+r.Message)
		}
	}
	return at, aboveDebug
}

// The points of a request at which goneStore lets the client go away.
const (
	goneAfterCommit = "commit"  // once a transaction (the outermost) committed
	goneAtSuccess   = "success" // when a passed challenge is audited
)

// goneStore is the application's real store, which cancels the request
// being served at one armed point: as when the client goes away there.
type goneStore struct {
	mfa.Store
	mu     sync.Mutex
	at     string
	cancel context.CancelFunc
}

// arm makes the request served with the returned context go away at the
// point at.
func (s *goneStore) arm(at string) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.at, s.cancel = at, cancel
	return ctx
}

func (s *goneStore) reach(at string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil && s.at == at {
		s.cancel()
		s.cancel = nil
	}
}

// inGoneTx marks a context inside a transaction of goneStore.
type inGoneTx struct{}

func (s *goneStore) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if ctx.Value(inGoneTx{}) != nil {
		return s.Store.InTx(ctx, fn)
	}
	err := s.Store.InTx(context.WithValue(ctx, inGoneTx{}, true), fn)
	if err == nil {
		s.reach(goneAfterCommit)
	}
	return err
}

func (s *goneStore) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	if e.Action == audit.ActionMFAChallengeSuccess {
		s.reach(goneAtSuccess)
	}
	return s.Store.AppendAudit(ctx, e)
}

// goneApp starts an application with account and mfa, as newApp does,
// whose MFA runs over a goneStore and whose records go to log.
func goneApp(t *testing.T, backend string, log *goneRecords) (*app, *goneStore) {
	t.Helper()
	x := &app{}
	var st *goneStore
	opt := apptest.Options{Backend: backend, Logger: slog.New(log), Packs: []ui.Pack{account.Pages(), mfa.Pages()}}
	x.App = apptest.New(t, opt, func(a *apptest.App) {
		x.Keys = a.Keys
		st = &goneStore{Store: a.Store}
		m, err := mfa.New(mfa.Config{Store: st, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, Keys: x.Keys, RateLimiter: a.Limiter})
		if err != nil {
			t.Fatalf("mfa.New: %v", err)
		}
		acc, err := account.New(account.Config{
			Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Passwords: a.Hasher, Mail: a.Outbox, RateLimiter: a.Limiter,
			SecondFactor: m, Sections: []ui.Section{m.Section()},
		})
		if err != nil {
			t.Fatalf("account.New: %v", err)
		}
		m.Mount(a.Mux)
		acc.Mount(a.Mux)
		x.MFA = m
	})
	return x, st
}

// serveForm serves one form POST of browser c in process, with ctx as the
// request's context, and returns the answer.
func serveForm(t *testing.T, a *app, c *apptest.Client, ctx context.Context, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	form.Set("csrf_token", c.CSRF())
	r := httptest.NewRequest("POST", a.Server.URL+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", a.Server.URL)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("User-Agent", c.UserAgent)
	base, _ := url.Parse(a.Server.URL)
	for _, ck := range c.Jar.Cookies(base) {
		r.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	a.Server.Config.Handler.ServeHTTP(rec, r.WithContext(ctx))
	return rec
}

// wantGone checks the answer to a request whose client went away: never a
// server error, msg logged once at Debug, and nothing logged above Debug.
func wantGone(t *testing.T, what string, rec *httptest.ResponseRecorder, log *goneRecords, msg string) {
	t.Helper()
	if rec.Code == http.StatusInternalServerError || rec.Code == http.StatusServiceUnavailable {
		t.Errorf("%s: got %d %s, want no error answer: the client went away", what, rec.Code, rec.Body)
	}
	at, above := log.levels(msg)
	if len(at) != 1 || at[0] != slog.LevelDebug {
		t.Errorf("%s: got %q logged at %v, want once at DEBUG", what, msg, at)
	}
	if len(above) != 0 {
		t.Errorf("%s: got %q logged, want nothing above DEBUG", what, above)
	}
}

// TestClientGoneAfterEnrollment: the client goes away once its enrollment
// is stored; raising its session to AAL2 then fails, which is logged at
// Debug and answered with no server error. Two-factor authentication is
// on.
func TestClientGoneAfterEnrollment(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			log := &goneRecords{}
			a, st := goneApp(t, b, log)
			u := a.CreateUser(t, "gone@example.com", pw)
			c := a.Client(t)
			c.SignIn(u.Email, pw)
			e := startEnrollment(t, a, c)
			c.Get(a.Path("/mfa/setup")) // the form's token
			form := url.Values{"code": {code(t, a, e.Secret)}, "enrollment": {e.Enrollment}}
			rec := serveForm(t, a, c, st.arm(goneAfterCommit), a.Path("/mfa/setup"), form)
			wantGone(t, "setup", rec, log, "raising the session to AAL2 failed")
			totpRow(t, a, u.ID)
		})
	}
}

// TestClientGoneWhileTrusting: a client that passed the challenge asking
// to be trusted goes away as the success is audited; the audit rows are
// written all the same (the sign-in happened), the trust that cannot be
// written is logged at Debug, and the answer is no server error. The
// browser is not trusted.
func TestClientGoneWhileTrusting(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			log := &goneRecords{}
			a, st := goneApp(t, b, log)
			_, u, secret, _ := newEnrolledUser(t, a, "gone@example.com")
			p := a.Client(t)
			signInPending(t, a, p, u.Email)
			form := url.Values{"code": {code(t, a, secret)}, "trust": {"on"}}
			rec := serveForm(t, a, p, st.arm(goneAtSuccess), a.Path("/mfa/challenge"), form)
			wantGone(t, "challenge with trust", rec, log, "trusting the browser failed")
			if at, _ := log.levels("audit row not written"); len(at) != 0 {
				t.Errorf("got audit failures logged at %v, want the rows written", at)
			}
			if n := len(audits(t, a, u.ID, audit.ActionLoginSuccess)); n != 2 {
				t.Errorf("got %d sign-in rows, want 2 (enrollment's and this one)", n)
			}
			if n := trustedCount(t, a, u.ID); n != 0 {
				t.Errorf("got %d trusted browsers, want none", n)
			}
		})
	}
}
