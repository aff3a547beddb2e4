package account_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/store"
)

// The points of a request at which goneStore lets the client go away.
const (
	goneAfterCommit = "commit" // once a transaction (the outermost) committed
	goneAtDevice    = "device" // when the sign-in's device is recorded
	goneAtAlert     = "alert"  // when a new-device alert's link is stored
)

// goneStore is the application's real store, which cancels the request
// being served at one armed point: as when the client goes away there. It
// can also make recording a sign-in's device fail, as a broken store
// would, for a client still there.
type goneStore struct {
	account.Store
	mu         sync.Mutex
	at         string
	cancel     context.CancelFunc
	deviceFail error
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

// reach cancels the armed request when it reaches the point at.
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
		return s.Store.InTx(ctx, fn) // joins the outer one, which alone commits
	}
	err := s.Store.InTx(context.WithValue(ctx, inGoneTx{}, true), fn)
	if err == nil {
		s.reach(goneAfterCommit)
	}
	return err
}

func (s *goneStore) SeenDevice(ctx context.Context, userID, fingerprint string, now, forgetBefore time.Time) (bool, time.Time, error) {
	s.reach(goneAtDevice)
	s.mu.Lock()
	fail := s.deviceFail
	s.mu.Unlock()
	if fail != nil {
		return false, time.Time{}, fail
	}
	return s.Store.SeenDevice(ctx, userID, fingerprint, now, forgetBefore)
}

func (s *goneStore) CreateToken(ctx context.Context, t *store.Token) error {
	if t.Purpose == "new_device" {
		s.reach(goneAtAlert)
	}
	return s.Store.CreateToken(ctx, t)
}

// goneApp starts an application over a goneStore on backend, logging
// into log.
func goneApp(t *testing.T, backend string, log *logRecords) (*app, *goneStore) {
	t.Helper()
	var st *goneStore
	a := newApp(t, opts{Backend: backend, Logger: slog.New(log), Config: func(_ *apptest.App, cfg *account.Config) {
		st = &goneStore{Store: cfg.Store}
		cfg.Store = st
	}})
	return a, st
}

// serveJSON serves one JSON POST of browser c in process, with ctx as the
// request's context, and returns the answer.
func serveJSON(t *testing.T, a *app, c *apptest.Client, ctx context.Context, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", a.Server.URL+path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("User-Agent", c.UserAgent)
	base, _ := url.Parse(a.Server.URL)
	for _, ck := range c.Jar.Cookies(base) {
		r.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	a.Server.Config.Handler.ServeHTTP(rec, r.WithContext(ctx))
	return rec
}

// at returns the levels of the records whose message is msg.
func (h *logRecords) at(msg string) []slog.Level {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []slog.Level
	for _, r := range h.recs {
		if r.Message == msg {
			out = append(out, r.Level)
		}
	}
	return out
}

// wantGone checks the answer to a request whose client went away: never a
// server error, msg logged once at Debug, and nothing logged above Debug.
func wantGone(t *testing.T, what string, rec *httptest.ResponseRecorder, log *logRecords, msg string) {
	t.Helper()
	if rec.Code == http.StatusInternalServerError || rec.Code == http.StatusServiceUnavailable {
		t.Errorf("%s: got %d %s, want no error answer: the client went away", what, rec.Code, rec.Body)
	}
	if got := log.at(msg); len(got) != 1 || got[0] != slog.LevelDebug {
		t.Errorf("%s: got %q logged at %v, want once at DEBUG", what, msg, got)
	}
	if got := log.above(slog.LevelDebug); len(got) != 0 {
		t.Errorf("%s: got %q logged, want nothing above DEBUG", what, got)
	}
}

// TestClientGoneAfterDeletionScheduled: the client goes away once its
// account's deletion is scheduled; signing its browser out then fails,
// which is logged at Debug and answered with no server error. The
// deletion stays scheduled and every session revoked.
func TestClientGoneAfterDeletionScheduled(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			log := &logRecords{}
			a, st := goneApp(t, b, log)
			u := newUser(t, a, "gone@example.com")
			c := signedIn(t, a, "gone@example.com")
			rec := serveJSON(t, a, c, st.arm(goneAfterCommit), "/auth/delete", `{"confirm_email":"gone@example.com"}`)
			wantGone(t, "delete", rec, log, "sign out after scheduling deletion failed")
			if got := a.User(t, u.Email); got.DeletionDueAt.IsZero() {
				t.Error("got no deletion scheduled, want one")
			}
			wantAnonymous(t, c)
		})
	}
}

// TestClientGoneAfterReset: the browser that completes a reset, signed in
// as the user, goes away once the password is set; signing it out then
// fails, which is logged at Debug and answered with no server error. The
// new password works; the browser's session was revoked with the others.
func TestClientGoneAfterReset(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			log := &logRecords{}
			a, st := goneApp(t, b, log)
			newUser(t, a, "gone@example.com")
			c := signedIn(t, a, "gone@example.com")
			link := requestReset(t, a, "gone@example.com")
			body := jsonOf(map[string]string{"token": apptest.TokenOf(link), "password": "a brand new passphrase"})
			rec := serveJSON(t, a, c, st.arm(goneAfterCommit), "/auth/password/reset", body)
			wantGone(t, "reset", rec, log, "sign out after reset failed")
			wantAnonymous(t, c)
			a.Client(t).SignIn("gone@example.com", "a brand new passphrase")
		})
	}
}

// TestClientGoneDuringNewDeviceCheck: a client that goes away while its
// sign-in's device is recorded: the failed check is logged at Debug, and
// the sign-in is answered with no server error.
func TestClientGoneDuringNewDeviceCheck(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			log := &logRecords{}
			a, st := goneApp(t, b, log)
			newUser(t, a, "gone@example.com")
			c := a.Client(t)
			rec := serveJSON(t, a, c, st.arm(goneAtDevice), "/auth/login", `{"email":"gone@example.com","password":"`+pw+`"}`)
			wantGone(t, "sign-in", rec, log, "new-device check failed")
		})
	}
}

// TestNewDeviceCheckStoreFailure: a store that fails to record a sign-in's
// device, for a client still there, is logged at Error; the sign-in
// completes.
func TestNewDeviceCheckStoreFailure(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			log := &logRecords{}
			a, st := goneApp(t, b, log)
			newUser(t, a, "user@example.com")
			st.mu.Lock()
			st.deviceFail = errors.New("sigra/store: seen device: disk I/O error")
			st.mu.Unlock()
			c := signedIn(t, a, "user@example.com")
			wantSignedIn(t, c, "user@example.com")
			if got := log.at("new-device check failed"); len(got) != 1 || got[0] != slog.LevelError {
				t.Errorf("got the failed check logged at %v, want once at ERROR", got)
			}
		})
	}
}

// TestClientGoneDuringNewDeviceAlert: a sign-in from a new device whose
// client goes away while the alert is stored: the alert that could not be
// sent is logged at Debug, and nothing of it is left behind.
func TestClientGoneDuringNewDeviceAlert(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			log := &logRecords{}
			a, st := goneApp(t, b, log)
			u := newUser(t, a, "gone@example.com")
			signedIn(t, a, "gone@example.com") // the account's first device
			// In process the client's address is another network's: a
			// new device.
			rec := serveJSON(t, a, browserAs(t, a, firefoxUA), st.arm(goneAtAlert), "/auth/login", `{"email":"gone@example.com","password":"`+pw+`"}`)
			wantGone(t, "sign-in from a new device", rec, log, "new-device alert not sent")
			if n := tokenCount(t, a, u.ID, "new_device"); n != 0 {
				t.Errorf("got %d alert links stored, want none", n)
			}
		})
	}
}

// TestClientGoneAfterNotMe: the browser the alert was about opens its "this
// wasn't me" link and goes away once its session is revoked; signing it
// out then fails, which is logged at Debug and answered with no server
// error.
func TestClientGoneAfterNotMe(t *testing.T) {
	t.Parallel()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			log := &logRecords{}
			a, st := goneApp(t, b, log)
			u := newUser(t, a, "gone@example.com")
			signedIn(t, a, "gone@example.com")
			stranger := browserAs(t, a, firefoxUA)
			stranger.SignIn("gone@example.com", pw)
			wantAlerts(t, a, "another browser", u.Email, 1)
			link := apptest.Link(t, alerts(t, a, u.Email)[0], "/auth/not-me")
			rec := serveJSON(t, a, stranger, st.arm(goneAfterCommit), "/auth/not-me", jsonOf(map[string]string{"token": apptest.TokenOf(link)}))
			wantGone(t, "not me", rec, log, "sign out after a disowned sign-in failed")
			wantAnonymous(t, stranger)
			if got := tokenCount(t, a, u.ID, "reset"); got != 1 {
				t.Errorf("reset tokens: got %d, want 1", got)
			}
		})
	}
}
