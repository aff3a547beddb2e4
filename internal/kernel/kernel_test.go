package kernel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// packName is the test feature's pack, as a feature passes it to New.
const packName = "feature"

// thingData is the data of the test pack's page.
type thingData struct{ Name string }

// testPack is a small feature pack: a page, a dead-link page, a notice
// email, and the routes the guards and the kernel look up.
func testPack() ui.Pack {
	return ui.Pack{
		Name: packName,
		Files: fstest.MapFS{
			"pages/thing.html":   {Data: []byte(`{{define "title"}}Thing{{end}}{{define "content"}}<p>thing {{.Data.Name}}</p>{{end}}`)},
			"pages/dead.html":    {Data: []byte(`{{define "title"}}Expired{{end}}{{define "content"}}<p>This link has expired.</p>{{end}}`)},
			"emails/notice.txt":  {Data: []byte("Subject: Sign-in paused\nSign-in is paused for {{.ExpiresIn}} after attempts from {{.IP}}.\n")},
			"emails/notice.html": {Data: []byte(`{{define "content"}}<p>Sign-in is paused for {{.ExpiresIn}}.</p>{{end}}`)},
		},
		Pages:  map[string]any{"thing": &thingData{}, "dead": nil},
		Emails: map[string]any{"notice": nil},
		Routes: map[string]string{ui.RouteSignIn: "/login", ui.RouteSudo: "/sudo", "thing": "/thing"},
	}
}

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// find returns the records at level whose message contains msg.
func (h *logRecorder) find(level slog.Level, msg string) []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []slog.Record
	for _, r := range h.recs {
		if r.Level == level && strings.Contains(r.Message, msg) {
			out = append(out, r)
		}
	}
	return out
}

// text returns every record as text, for searching.
func (h *logRecorder) text() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, r := range h.recs {
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		b.WriteString("\n")
	}
	return b.String()
}

// clock is a clock the tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is a feature's world: a real SQLite store, one site, sessions,
// a UI with the test pack, a guard and the kernel.
type harness struct {
	st     *sqlite.DB
	clock  *clock
	log    *logRecorder
	site   *site.Site
	sess   *session.Manager
	ui     *ui.UI
	guard  *middleware.Guard
	box    *mail.Mailbox
	outbox *mail.Outbox // over st, delivering into box
	k      *kernel.Kernel
}

type options struct {
	prefix  string
	proxies []string
	// mail returns the kernel's sender; default the outbox.
	mail func(h *harness) mail.Sender
}

func newHarness(t *testing.T, o options) *harness {
	t.Helper()
	h := &harness{clock: &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, log: &logRecorder{}}
	var err error
	h.st, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.st.Close() })
	h.site, err = site.New(site.Config{BaseURL: "http://localhost", Prefix: o.prefix, TrustedProxies: o.proxies, Now: h.clock.Now, Logger: slog.New(h.log)})
	if err != nil {
		t.Fatal(err)
	}
	if h.sess, err = session.New(h.site, h.st, session.Config{}); err != nil {
		t.Fatal(err)
	}
	if h.ui, err = ui.New(h.site, ui.Config{Packs: []ui.Pack{testPack()}}); err != nil {
		t.Fatal(err)
	}
	if h.guard, err = middleware.New(h.sess, middleware.Config{Routes: h.ui}); err != nil {
		t.Fatal(err)
	}
	h.box = mail.NewMailbox(mail.MailboxConfig{Now: h.clock.Now})
	key, err := seal.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	if h.outbox, err = mail.NewOutbox(mail.OutboxConfig{Store: h.st, Keys: key.Encode(), Sender: h.box, Now: h.clock.Now, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	var sender mail.Sender = h.outbox
	if o.mail != nil {
		sender = o.mail(h)
	}
	if h.k, err = kernel.New(packName, packName, h.st, h.deps(sender)); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) deps(m mail.Sender) kernel.Deps {
	return kernel.Deps{Sessions: h.sess, Guard: h.guard, UI: h.ui, Mail: m}
}

// user creates a user with a password hashed by hasher.
func (h *harness) user(t *testing.T, hasher *password.Hasher, email, pw string) *store.User {
	t.Helper()
	hash, err := hasher.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	u := &store.User{Email: email, PasswordHash: hash, CreatedAt: h.clock.Now()}
	if err := h.st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// places returns the password attempt places of address taken in the
// current window (see Kernel.Admit).
func (h *harness) places(t *testing.T, address string) int {
	t.Helper()
	var n int
	err := h.st.QueryRowContext(context.Background(), "SELECT coalesce(sum(count), 0) FROM sigra_rate_limits WHERE key = ? AND reset_at > ?",
		kernel.PasswordKey(address), h.clock.Now().UnixMilli()).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (h *harness) reload(t *testing.T, u *store.User) *store.User {
	t.Helper()
	got, err := h.st.UserByID(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (h *harness) auditRows(t *testing.T, action string) []*store.AuditEvent {
	t.Helper()
	rows, _, err := h.st.QueryAudit(context.Background(), store.AuditQuery{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (h *harness) pending(t *testing.T) int {
	t.Helper()
	n, err := h.st.PendingMessages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// delivered delivers the queued email and returns what reached to.
func (h *harness) delivered(t *testing.T, to string) []mail.Captured {
	t.Helper()
	if _, _, err := h.outbox.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h.box.Messages(to)
}

func cheapHasher(t *testing.T) *password.Hasher {
	t.Helper()
	hs, err := password.New(password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, InsecureAllowWeakParams: true})
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

// ---- New ----

func TestNewChecksDependencies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	otherSite, err := site.New(site.Config{BaseURL: "http://localhost"})
	if err != nil {
		t.Fatal(err)
	}
	otherUI, err := ui.New(otherSite, ui.Config{Packs: []ui.Pack{testPack()}})
	if err != nil {
		t.Fatal(err)
	}
	bareUI, err := ui.New(h.site, ui.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		st   kernel.Store
		deps func(d *kernel.Deps)
		want string
	}{
		{"no store", nil, func(*kernel.Deps) {}, "Config.Store"},
		{"no sessions", h.st, func(d *kernel.Deps) { d.Sessions = nil }, "Config.Sessions"},
		{"no guard", h.st, func(d *kernel.Deps) { d.Guard = nil }, "Config.Guard"},
		{"no UI", h.st, func(d *kernel.Deps) { d.UI = nil }, "Config.UI"},
		{"no mail", h.st, func(d *kernel.Deps) { d.Mail = nil }, "Config.Mail"},
		{"UI of another site", h.st, func(d *kernel.Deps) { d.UI = otherUI }, "different sites"},
		{"UI without the pack", h.st, func(d *kernel.Deps) { d.UI = bareUI }, `"feature" pack`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := h.deps(h.outbox)
			tt.deps(&d)
			k, err := kernel.New(packName, packName, tt.st, d)
			if !errors.Is(err, sigra.ErrConfig) || k != nil {
				t.Fatalf("New: got %v, %v; want nil and an error wrapping sigra.ErrConfig", k, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), packName+":") {
				t.Errorf("error %q: want it to name the feature and %s", err, tt.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	if h.k.Site != h.site || h.k.Audit == nil || h.k.Limiter == nil || h.k.Log != h.site.Logger() {
		t.Fatalf("kernel: got site %p audit %v limiter %v, want the sessions' site and default audit and limiter", h.k.Site, h.k.Audit, h.k.Limiter)
	}
	own, err := audit.New(audit.Config{Store: h.st, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	rl, err := middleware.NewRateLimiter(h.site, middleware.RateLimiterConfig{Limiter: middleware.NewMemoryLimiter(0)})
	if err != nil {
		t.Fatal(err)
	}
	d := h.deps(h.outbox)
	d.Audit, d.Limiter = own, rl
	k, err := kernel.New(packName, packName, h.st, d)
	if err != nil {
		t.Fatal(err)
	}
	if k.Audit != own || k.Limiter != rl {
		t.Errorf("kernel: got audit %p limiter %p, want the given %p and %p", k.Audit, k.Limiter, own, rl)
	}
	// The default logger writes through the store and stamps with the
	// site's clock.
	if err := h.k.Record(context.Background(), audit.ActionLogout, "u1", "u1", nil); err != nil {
		t.Fatal(err)
	}
	rows := h.auditRows(t, audit.ActionLogout)
	if len(rows) != 1 || !rows[0].At.Equal(h.clock.Now()) {
		t.Errorf("audit rows: got %d (%v), want one at the site clock's %v", len(rows), rows, h.clock.Now())
	}
}

// ---- routes ----

func TestHandle(t *testing.T) {
	t.Parallel()
	type seen struct {
		ip, ua, order string
		n             int
		readErr       error
	}
	for _, prefix := range []string{"", "/auth", "/account"} {
		t.Run(fmt.Sprintf("prefix %q", prefix), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, options{prefix: prefix, proxies: []string{"10.0.0.0/8"}})
			var got seen
			handler := func(w http.ResponseWriter, r *http.Request) {
				got = seen{order: w.Header().Get("X-Order")}
				got.ip, got.ua = audit.RequestInfo(r.Context())
				b, err := io.ReadAll(r.Body)
				got.n, got.readErr = len(b), err
				if err := h.k.Record(r.Context(), audit.ActionLogout, "u1", "u1", nil); err != nil {
					t.Error(err)
				}
			}
			guard := func(name string) func(http.Handler) http.Handler {
				return func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						w.Header().Add("X-Order", name)
						next.ServeHTTP(w, r)
					})
				}
			}
			mux := http.NewServeMux()
			h.k.Handle(mux, http.MethodPost, "/thing", handler, guard("outer"), guard("inner"))
			h.k.Handle(mux, http.MethodGet, "/thing", handler)

			big := strings.Repeat("x", middleware.DefaultBodyLimit+1)
			tests := []struct {
				name     string
				method   string
				path     string
				body     string
				declared bool
				peer     string
				xff      string
				status   int
				want     seen
			}{
				{"POST under the prefix", "POST", h.site.Path("/thing"), "a=1", true, "192.0.2.7:1234", "", 200, seen{ip: "192.0.2.7", ua: "agent/1", order: "outer", n: 3}},
				{"GET under the prefix, body not limited", "GET", h.site.Path("/thing"), big, true, "192.0.2.7:1234", "", 200, seen{ip: "192.0.2.7", ua: "agent/1", n: len(big)}},
				{"declared oversize POST", "POST", h.site.Path("/thing"), big, true, "192.0.2.7:1234", "", http.StatusRequestEntityTooLarge, seen{}},
				{"undeclared oversize POST", "POST", h.site.Path("/thing"), big, false, "192.0.2.7:1234", "", 200, seen{ip: "192.0.2.7", ua: "agent/1", order: "outer", n: middleware.DefaultBodyLimit}},
				{"behind a trusted proxy", "POST", h.site.Path("/thing"), "", true, "10.1.2.3:5000", "198.51.100.4", 200, seen{ip: "198.51.100.4", ua: "agent/1", order: "outer"}},
				{"forwarded address from an untrusted peer", "POST", h.site.Path("/thing"), "", true, "192.0.2.8:5000", "198.51.100.4", 200, seen{ip: "192.0.2.8", ua: "agent/1", order: "outer"}},
			}
			if prefix != "" {
				tests = append(tests, struct {
					name     string
					method   string
					path     string
					body     string
					declared bool
					peer     string
					xff      string
					status   int
					want     seen
				}{"outside the prefix", "POST", "/thing", "", true, "192.0.2.7:1234", "", http.StatusNotFound, seen{}})
			}
			for _, tt := range tests {
				got = seen{}
				req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
				if !tt.declared {
					req.ContentLength = -1
				}
				req.RemoteAddr = tt.peer
				req.Header.Set("User-Agent", "agent/1")
				if tt.xff != "" {
					req.Header.Set("X-Forwarded-For", tt.xff)
				}
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != tt.status {
					t.Errorf("%s: status got %d, want %d", tt.name, rec.Code, tt.status)
					continue
				}
				var mbe *http.MaxBytesError
				tooLarge := errors.As(got.readErr, &mbe)
				got.readErr = nil
				if got != tt.want {
					t.Errorf("%s: handler saw %+v, want %+v", tt.name, got, tt.want)
				}
				if want := !tt.declared; tooLarge != want {
					t.Errorf("%s: body read failed with MaxBytesError: got %v, want %v", tt.name, tooLarge, want)
				}
				if tt.method == "POST" && tt.status == 200 {
					if order := rec.Header().Values("X-Order"); strings.Join(order, ",") != "outer,inner" {
						t.Errorf("%s: guards ran in order %q, want outer,inner", tt.name, order)
					}
				}
			}
			// The audit rows carry the request's address.
			rows := h.auditRows(t, audit.ActionLogout)
			if len(rows) == 0 || rows[0].IP != "192.0.2.8" || rows[0].UserAgent != "agent/1" {
				t.Errorf("newest audit row: got %+v, want IP 192.0.2.8 and agent/1", rows)
			}
		})
	}
}

func TestPathsAndLinks(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "/auth", "/account"} {
		t.Run(fmt.Sprintf("prefix %q", prefix), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, options{prefix: prefix})
			p := h.site.Prefix()
			tests := []struct{ name, got, want string }{
				{"Path", h.k.Path("/reset"), p + "/reset"},
				{"Route of a pack", h.k.Route(ui.RouteSignIn), p + "/login"},
				{"Route nobody declares", h.k.Route(ui.RouteStepUp), "/"},
				{"Link", h.k.Link("/reset", "tok_en"), "http://localhost" + p + "/reset?token=tok_en"},
				{"Absolute", h.k.Absolute(p + "/settings"), "http://localhost" + p + "/settings"},
			}
			for _, tt := range tests {
				if tt.got != tt.want {
					t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
				}
			}
		})
	}
}

func TestNeed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tests := []struct {
		route string
		ok    bool
	}{
		{ui.RouteSignIn, true},
		{"thing", true},
		{ui.RouteStepUp, false},
		{"nosuch", false},
	}
	for _, tt := range tests {
		err := h.k.Need(tt.route, "the thing pack (thing.Pages())")
		if tt.ok {
			if err != nil {
				t.Errorf("Need(%q): got %v, want nil", tt.route, err)
			}
			continue
		}
		if !errors.Is(err, sigra.ErrConfig) {
			t.Fatalf("Need(%q): got %v, want an error wrapping sigra.ErrConfig", tt.route, err)
		}
		for _, want := range []string{packName + ":", fmt.Sprintf("%q", tt.route), "thing.Pages()"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Need(%q): got %q, want it to name %s", tt.route, err, want)
			}
		}
	}
}

// ---- answers ----

func TestError(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tests := []struct {
		name   string
		err    error
		status int
		retry  string
		code   string
		logged bool
	}{
		{"reached limit", &middleware.LimitError{Key: "k", RetryAfter: 90 * time.Second}, http.StatusTooManyRequests, "90", "rate_limited", false},
		{"reached limit, wrapped, rounded up", fmt.Errorf("login: %w", &middleware.LimitError{Key: "k", RetryAfter: 1500 * time.Millisecond}), http.StatusTooManyRequests, "2", "rate_limited", false},
		{"hashing pool full", fmt.Errorf("verify: %w", sigra.ErrBusy), http.StatusServiceUnavailable, "2", "busy", false},
		{"limiter's store down", fmt.Errorf("%w: connection refused", middleware.ErrLimiterUnavailable), http.StatusServiceUnavailable, "2", "busy", false},
		{"anything else", errors.New("disk on fire"), http.StatusInternalServerError, "", "internal", true},
	}
	for _, tt := range tests {
		for _, asJSON := range []bool{false, true} {
			name := tt.name + map[bool]string{false: " (HTML)", true: " (JSON)"}[asJSON]
			req := httptest.NewRequest("POST", "/auth/thing", nil)
			if asJSON {
				req.Header.Set("Accept", "application/json")
			}
			before := len(h.log.find(slog.LevelError, "request failed"))
			rec := httptest.NewRecorder()
			h.k.Error(rec, req, tt.err)
			if rec.Code != tt.status || rec.Header().Get("Retry-After") != tt.retry {
				t.Errorf("%s: got %d with Retry-After %q, want %d with %q", name, rec.Code, rec.Header().Get("Retry-After"), tt.status, tt.retry)
			}
			if asJSON {
				var body struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != tt.code {
					t.Errorf("%s: body got %s, want the code %q", name, rec.Body.String(), tt.code)
				}
			} else if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(rec.Body.String(), "<html") {
				t.Errorf("%s: got %s %q, want the error page", name, ct, rec.Body.String())
			}
			if strings.Contains(rec.Body.String(), "disk on fire") {
				t.Errorf("%s: body got %q, want the error kept out of the answer", name, rec.Body.String())
			}
			logged := len(h.log.find(slog.LevelError, "request failed")) > before
			if logged != tt.logged {
				t.Errorf("%s: logged at ERROR got %v, want %v", name, logged, tt.logged)
			}
		}
	}
	if !strings.Contains(h.log.text(), "disk on fire") || !strings.Contains(h.log.text(), "feature="+packName) {
		t.Errorf("log: got %q, want the error and the feature", h.log.text())
	}
}

func TestRenderAndFail(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tests := []struct {
		name   string
		json   bool
		do     func(w http.ResponseWriter, r *http.Request)
		status int
		want   string
	}{
		{"Render HTML", false, func(w http.ResponseWriter, r *http.Request) {
			h.k.Render(w, r, http.StatusOK, "thing", h.k.Page(r, "", &thingData{Name: "widget"}), nil)
		}, 200, "thing widget"},
		{"Render JSON default", true, func(w http.ResponseWriter, r *http.Request) {
			h.k.Render(w, r, http.StatusCreated, "thing", nil, nil)
		}, 201, `{"ok":true}`},
		{"Render JSON body", true, func(w http.ResponseWriter, r *http.Request) {
			h.k.Render(w, r, http.StatusOK, "thing", nil, map[string]string{"name": "widget"})
		}, 200, `{"name":"widget"}`},
		{"FormError HTML", false, func(w http.ResponseWriter, r *http.Request) {
			h.k.FormError(w, r, http.StatusUnprocessableEntity, "thing", kernel.Built(h.k.Page(r, "", &thingData{Name: "widget"})), "invalid", "Check the name.", map[string]string{"name": "Too short."})
		}, 422, "thing widget"},
		{"FormError HTML without a page", false, func(w http.ResponseWriter, r *http.Request) {
			h.k.FormError(w, r, http.StatusUnprocessableEntity, "thing", nil, "invalid", "Check the name.", nil)
		}, 422, "Check the name."},
		{"FormError JSON", true, func(w http.ResponseWriter, r *http.Request) {
			h.k.FormError(w, r, http.StatusUnprocessableEntity, "thing", nil, "invalid", "Check the name.", map[string]string{"name": "Too short."})
		}, 422, `"fields":{"name":"Too short."}`},
		{"Fail HTML", false, func(w http.ResponseWriter, r *http.Request) {
			h.k.Fail(w, r, http.StatusGone, "gone", "It went away.")
		}, 410, "It went away."},
		{"Fail JSON", true, func(w http.ResponseWriter, r *http.Request) {
			h.k.Fail(w, r, http.StatusGone, "gone", "It went away.")
		}, 410, `"code":"gone"`},
		{"BadInput", true, func(w http.ResponseWriter, r *http.Request) { h.k.BadInput(w, r) }, 400, `"code":"invalid_input"`},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/auth/thing", nil)
		if tt.json {
			req.Header.Set("Accept", "application/json")
		}
		rec := httptest.NewRecorder()
		tt.do(rec, req)
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s: got %d %q, want %d with %q", tt.name, rec.Code, rec.Body.String(), tt.status, tt.want)
		}
	}
}

// TestFormErrorBuildsLazily: the page of a refused form is built only for
// an HTML answer; a page that cannot be built is answered as an error.
func TestFormErrorBuildsLazily(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	errBuild := errors.New("store is down")
	tests := []struct {
		name      string
		json      bool
		bad       bool // BadForm rather than FormError
		buildErr  error
		status    int
		want      []string // in the body
		wantBuilt int
	}{
		{"HTML", false, false, nil, http.StatusUnprocessableEntity, []string{"thing widget", "Check the name."}, 1},
		{"JSON", true, false, nil, http.StatusUnprocessableEntity, []string{`"code":"invalid"`, `"fields":{"name":"Too short."}`}, 0},
		{"HTML, the page fails", false, false, errBuild, http.StatusInternalServerError, []string{"Something went wrong on our side."}, 1},
		{"JSON, the page would fail", true, false, errBuild, http.StatusUnprocessableEntity, []string{`"code":"invalid"`}, 0},
		{"BadForm HTML", false, true, nil, http.StatusBadRequest, []string{"thing widget", "The form could not be read."}, 1},
		{"BadForm JSON", true, true, nil, http.StatusBadRequest, []string{`"code":"invalid_input"`}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/auth/thing", nil)
			if tt.json {
				req.Header.Set("Accept", "application/json")
			}
			built := 0
			page := func() (*ui.Page, error) {
				built++
				if tt.buildErr != nil {
					return nil, tt.buildErr
				}
				return h.k.Page(req, "Thing", &thingData{Name: "widget"}), nil
			}
			rec := httptest.NewRecorder()
			if tt.bad {
				h.k.BadForm(rec, req, "thing", page)
			} else {
				h.k.FormError(rec, req, http.StatusUnprocessableEntity, "thing", page, "invalid", "Check the name.", map[string]string{"name": "Too short."})
			}
			if rec.Code != tt.status {
				t.Errorf("status: got %d, want %d", rec.Code, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("body: got %q, want it to hold %q", rec.Body.String(), w)
				}
			}
			if built != tt.wantBuilt {
				t.Errorf("page built %d times, want %d", built, tt.wantBuilt)
			}
		})
	}
}

func TestReadable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tests := []struct {
		name, ct, body string
		ok             bool
	}{
		{"form", "application/x-www-form-urlencoded", "csrf_token=x", true},
		{"JSON object", "application/json", `{"csrf_token":"x"}`, true},
		{"JSON array", "application/json", `[1]`, false},
		{"repeated field", "application/x-www-form-urlencoded", "a=1&a=2", false},
		{"other type", "text/plain", "hello", false},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("POST", "/auth/thing", strings.NewReader(tt.body))
		req.Header.Set("Content-Type", tt.ct)
		rec := httptest.NewRecorder()
		if got := h.k.Readable(rec, req); got != tt.ok {
			t.Errorf("%s: Readable got %v, want %v", tt.name, got, tt.ok)
		}
		if !tt.ok && rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status got %d, want 400", tt.name, rec.Code)
		}
	}
}

func TestRedirect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		json   bool
		body   map[string]any
		status int
		loc    string
		want   string
	}{
		{"HTML", false, nil, http.StatusSeeOther, "/auth/done?x=1", ""},
		{"JSON", true, nil, http.StatusOK, "", `{"next":"/auth/done?x=1","ok":true}`},
		{"JSON with a body", true, map[string]any{"count": 2}, http.StatusOK, "", `{"count":2,"next":"/auth/done?x=1","ok":true}`},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("POST", "/auth/thing", nil)
		if tt.json {
			req.Header.Set("Accept", "application/json")
		}
		rec := httptest.NewRecorder()
		kernel.Redirect(rec, req, "/auth/done?x=1", tt.body)
		if rec.Code != tt.status || rec.Header().Get("Location") != tt.loc || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: got %d Location %q Cache-Control %q, want %d %q no-store", tt.name, rec.Code, rec.Header().Get("Location"), rec.Header().Get("Cache-Control"), tt.status, tt.loc)
		}
		if got := strings.TrimSpace(rec.Body.String()); tt.want != "" && got != tt.want {
			t.Errorf("%s: body got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestWithNotice(t *testing.T) {
	t.Parallel()
	tests := []struct{ path, notice, want string }{
		{"/auth/settings", "saved", "/auth/settings?notice=saved"},
		{"/auth/settings?tab=1", "saved", "/auth/settings?tab=1&notice=saved"},
		{"/", "a b&c=d", "/?notice=a+b%26c%3Dd"},
	}
	for _, tt := range tests {
		if got := kernel.WithNotice(tt.path, tt.notice); got != tt.want {
			t.Errorf("WithNotice(%q, %q): got %q, want %q", tt.path, tt.notice, got, tt.want)
		}
	}
}

func TestReturnTo(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tests := []struct {
		name  string
		input string
		query string
		want  string
	}{
		{"form's local path", "/billing?tab=2", "", "/billing?tab=2"},
		{"form's wins over the query's", "/billing", "/other", "/billing"},
		{"query's local path", "", "/billing", "/billing"},
		{"form's foreign URL, query's local path", "https://evil.example/", "/billing", "/billing"},
		{"protocol-relative", "//evil.example", "", "/"},
		{"backslash", "/\\evil.example", "", "/"},
		{"encoded slashes", "/%2F%2Fevil.example", "", "/"},
		{"scheme", "javascript:alert(1)", "", "/"},
		{"none", "", "", "/"},
	}
	for _, tt := range tests {
		target := "/auth/thing"
		if tt.query != "" {
			target += "?" + url.Values{"return_to": {tt.query}}.Encode()
		}
		req := httptest.NewRequest("POST", target, nil)
		if got := h.k.ReturnTo(req, kernel.Input{"return_to": tt.input}); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRedirectSudo(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{prefix: "/account"})
	rec := httptest.NewRecorder()
	h.k.RedirectSudo(rec, httptest.NewRequest("POST", "/account/thing", nil), "/account/settings?tab=1")
	if want := "/account/sudo?return_to=%2Faccount%2Fsettings%3Ftab%3D1"; rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
		t.Errorf("HTML: got %d %q, want 303 %q", rec.Code, rec.Header().Get("Location"), want)
	}
	req := httptest.NewRequest("POST", "/account/thing", nil)
	req.Header.Set("Accept", "application/json")
	rec = httptest.NewRecorder()
	h.k.RedirectSudo(rec, req, "/account/settings")
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"sudo_required"`) {
		t.Errorf("JSON: got %d %s, want 403 sudo_required", rec.Code, rec.Body.String())
	}
}

// ---- transactions and mail ----

// notifier is a Sender that wakes a worker: it counts its sends and its
// wake-ups.
type notifier struct {
	sent, woken atomic.Int32
}

func (n *notifier) Send(context.Context, *mail.Message) error { n.sent.Add(1); return nil }
func (n *notifier) Notify()                                   { n.woken.Add(1) }

func TestInTxWakesSenderAfterCommit(t *testing.T) {
	t.Parallel()
	n := &notifier{}
	h := newHarness(t, options{mail: func(*harness) mail.Sender { return n }})
	errBoom := errors.New("boom")
	tests := []struct {
		name  string
		fail  error
		woken int32
	}{
		{"rolled back", errBoom, 0},
		{"committed", nil, 1},
	}
	for _, tt := range tests {
		before := n.woken.Load()
		err := h.k.InTx(context.Background(), func(ctx context.Context) error {
			if err := h.k.Queue(ctx, "notice", "user@example.com", &ui.Email{ExpiresIn: "15 minutes"}); err != nil {
				return err
			}
			if got := n.woken.Load() - before; got != 0 {
				t.Errorf("%s: woken inside the transaction %d times, want 0", tt.name, got)
			}
			return tt.fail
		})
		if !errors.Is(err, tt.fail) {
			t.Fatalf("%s: InTx got %v, want %v", tt.name, err, tt.fail)
		}
		if got := n.woken.Load() - before; got != tt.woken {
			t.Errorf("%s: woken after InTx %d times, want %d", tt.name, got, tt.woken)
		}
	}
	// A sender without Notify is simply not woken.
	h2 := newHarness(t, options{mail: func(*harness) mail.Sender {
		return mail.SenderFunc(func(context.Context, *mail.Message) error { return nil })
	}})
	if err := h2.k.InTx(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestQueueInTx(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	tests := []struct {
		name string
		fail error
		want int
	}{
		{"rolled back", errBoom, 0},
		{"committed", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, options{})
			err := h.k.InTx(context.Background(), func(ctx context.Context) error {
				data := &ui.Email{ExpiresIn: "15 minutes", IP: "192.0.2.7"}
				if err := h.k.Queue(ctx, "notice", "user@example.com", data); err != nil {
					return err
				}
				if err := h.k.Record(ctx, audit.ActionLockout, "", "u1", nil); err != nil {
					return err
				}
				return tt.fail
			})
			if !errors.Is(err, tt.fail) {
				t.Fatalf("InTx: got %v, want %v", err, tt.fail)
			}
			if got := h.pending(t); got != tt.want {
				t.Errorf("queued: got %d, want %d", got, tt.want)
			}
			if got := len(h.auditRows(t, audit.ActionLockout)); got != tt.want {
				t.Errorf("audit rows: got %d, want %d", got, tt.want)
			}
			msgs := h.delivered(t, "user@example.com")
			if len(msgs) != tt.want {
				t.Fatalf("delivered: got %d, want %d", len(msgs), tt.want)
			}
			if tt.want == 1 && (msgs[0].Subject != "Sign-in paused" || !strings.Contains(msgs[0].Text, "paused for 15 minutes after attempts from 192.0.2.7") || !strings.Contains(msgs[0].HTML, "paused for 15 minutes")) {
				t.Errorf("email: got %q / %q, want the rendered notice", msgs[0].Subject, msgs[0].Text)
			}
		})
	}
}

func TestQueueUnknownEmail(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	err := h.k.Queue(context.Background(), "nope", "user@example.com", &ui.Email{})
	if !errors.Is(err, ui.ErrUnknownEmail) {
		t.Fatalf("Queue of an undeclared email: got %v, want ui.ErrUnknownEmail", err)
	}
	if h.pending(t) != 0 {
		t.Fatal("Queue of an undeclared email queued something")
	}
}

// ---- lockouts ----

func lockout() kernel.Lockout {
	return kernel.Lockout{Lock: store.LockPassword, Max: 3, Duration: 15 * time.Minute, Action: audit.ActionLockout, Email: "notice",
		Data: func() *ui.Email { return &ui.Email{ExpiresIn: "15 minutes", IP: "192.0.2.7"} }}
}

func requestFrom(ip string) *http.Request {
	r := httptest.NewRequest("POST", "/auth/login", nil)
	r.RemoteAddr = ip + ":1234"
	return r.WithContext(audit.WithRequest(r.Context(), r, ip))
}

// TestCountFailure: the lock engages on the Nth failure, with its audit
// row and the notice to the user, in one transaction.
func TestCountFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	u := h.user(t, cheapHasher(t), "user@example.com", "right password")
	r := requestFrom("192.0.2.7")
	l := lockout()
	for i := 1; i <= 3; i++ {
		locked, err := h.k.CountFailure(r.Context(), r, u, l)
		if err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
		if locked != (i == 3) {
			t.Fatalf("failure %d: locked got %v, want %v", i, locked, i == 3)
		}
		got := h.reload(t, u)
		if i < 3 {
			if got.FailedLogins != i || !got.LockedUntil.IsZero() || len(h.auditRows(t, audit.ActionLockout)) != 0 || h.pending(t) != 0 {
				t.Fatalf("after failure %d: got count %d, locked until %v, want the count only", i, got.FailedLogins, got.LockedUntil)
			}
			continue
		}
		if want := h.clock.Now().Add(15 * time.Minute); !got.LockedUntil.Equal(want) {
			t.Errorf("locked until: got %v, want %v", got.LockedUntil, want)
		}
	}
	rows := h.auditRows(t, audit.ActionLockout)
	if len(rows) != 1 || rows[0].SubjectID != u.ID || rows[0].Metadata["until"] == "" || rows[0].IP != "192.0.2.7" {
		t.Fatalf("audit: got %+v, want one lockout row for the user with its end and the request's address", rows)
	}
	msgs := h.delivered(t, u.Email)
	if len(msgs) != 1 || msgs[0].Subject != "Sign-in paused" || !strings.Contains(msgs[0].Text, "192.0.2.7") {
		t.Fatalf("notice: got %d emails (%v), want one lockout notice", len(msgs), msgs)
	}
}

// TestCountFailureDefaultData: without Lockout.Data the notice carries the
// request's address.
func TestCountFailureDefaultData(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	u := h.user(t, cheapHasher(t), "user@example.com", "right password")
	r := requestFrom("203.0.113.44")
	l := lockout()
	l.Max, l.Data = 1, nil
	if locked, err := h.k.CountFailure(r.Context(), r, u, l); err != nil || !locked {
		t.Fatalf("CountFailure: got %v, %v; want locked", locked, err)
	}
	if msgs := h.delivered(t, u.Email); len(msgs) != 1 || !strings.Contains(msgs[0].Text, "from 203.0.113.44") {
		t.Fatalf("notice: got %v, want it to carry the request's address", msgs)
	}
}

// TestCountFailureWithoutNotice: when the notice cannot be queued, the lock
// still commits (with its audit row, without the notice) and the failure
// to queue is logged.
func TestCountFailureWithoutNotice(t *testing.T) {
	t.Parallel()
	var tries atomic.Int32
	h := newHarness(t, options{mail: func(*harness) mail.Sender {
		return mail.SenderFunc(func(context.Context, *mail.Message) error {
			tries.Add(1)
			return errors.New("mail server down")
		})
	}})
	u := h.user(t, cheapHasher(t), "user@example.com", "right password")
	r := requestFrom("192.0.2.7")
	l := lockout()
	l.Max = 2
	for i := 1; i <= 2; i++ {
		locked, err := h.k.CountFailure(r.Context(), r, u, l)
		if err != nil || locked != (i == 2) {
			t.Fatalf("failure %d: got %v, %v; want locked %v and no error", i, locked, err, i == 2)
		}
	}
	got := h.reload(t, u)
	if got.LockedUntil.IsZero() || got.FailedLogins != 0 {
		t.Errorf("user: got locked until %v with count %d, want locked and the count reset", got.LockedUntil, got.FailedLogins)
	}
	if rows := h.auditRows(t, audit.ActionLockout); len(rows) != 1 {
		t.Errorf("audit: got %d lockout rows, want exactly 1", len(rows))
	}
	if tries.Load() != 1 {
		t.Errorf("notice attempts: got %d, want 1", tries.Load())
	}
	logged := h.log.find(slog.LevelError, "lockout notice not queued")
	if len(logged) != 1 || !strings.Contains(h.log.text(), "mail server down") {
		t.Errorf("log: got %q, want one ERROR about the notice with its cause", h.log.text())
	}
}

// TestCountFailureAtomic: the count, the lock and the audit row are one
// transaction: an audit row that cannot be written leaves no lock.
func TestCountFailureAtomic(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	u := h.user(t, cheapHasher(t), "user@example.com", "right password")
	r := requestFrom("192.0.2.7")
	l := lockout()
	l.Max, l.Action = 1, "Not An Action"
	locked, err := h.k.CountFailure(r.Context(), r, u, l)
	if !errors.Is(err, audit.ErrInvalidAction) {
		t.Fatalf("CountFailure: got %v, %v; want the audit error", locked, err)
	}
	if got := h.reload(t, u); !got.LockedUntil.IsZero() || got.FailedLogins != 0 {
		t.Errorf("user: got locked until %v with count %d, want nothing changed", got.LockedUntil, got.FailedLogins)
	}
	if h.pending(t) != 0 {
		t.Error("a notice was queued for a lock that did not commit")
	}
}

// countingHasher is a real hasher that counts its verifications.
type countingHasher struct {
	*password.Hasher
	n atomic.Int32
}

func (c *countingHasher) Verify(ctx context.Context, pw, encoded string) (bool, bool, error) {
	c.n.Add(1)
	return c.Hasher.Verify(ctx, pw, encoded)
}

// TestCheckPassword: locked answers ErrLockedOut without hashing; a wrong
// password is counted and may lock; a right one clears the count.
func TestCheckPassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	hasher := &countingHasher{Hasher: cheapHasher(t)}
	u := h.user(t, hasher.Hasher, "user@example.com", "right password")
	r := requestFrom("192.0.2.7")
	l := lockout()
	steps := []struct {
		name    string
		advance time.Duration
		pw      string
		want    error
		hashes  int32
		count   int
		locked  bool
	}{
		{"wrong", 0, "wrong", sigra.ErrInvalidCredentials, 1, 1, false},
		{"right frees the places", 0, "right password", nil, 1, 0, false},
		{"wrong again", 0, "wrong", sigra.ErrInvalidCredentials, 1, 1, false},
		{"wrong twice", 0, "wrong", sigra.ErrInvalidCredentials, 1, 2, false},
		{"wrong a third time: the lock engages", 0, "wrong", sigra.ErrInvalidCredentials, 1, 3, true},
		{"locked, right password", 0, "right password", sigra.ErrLockedOut, 0, 3, true},
		{"locked, wrong password: not counted", 0, "wrong", sigra.ErrLockedOut, 0, 3, true},
		{"locked until the last instant", 15*time.Minute - time.Millisecond, "right password", sigra.ErrLockedOut, 0, 3, true},
		{"after the lock", time.Millisecond, "right password", nil, 1, 0, true},
	}
	for _, s := range steps {
		h.clock.Advance(s.advance)
		before := hasher.n.Load()
		err := h.k.CheckPassword(r.Context(), r, hasher, h.reload(t, u), s.pw, l)
		if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Fatalf("%s: got %v, want %v", s.name, err, s.want)
		}
		if got := hasher.n.Load() - before; got != s.hashes {
			t.Errorf("%s: hashes got %d, want %d", s.name, got, s.hashes)
		}
		got := h.reload(t, u)
		if n := h.places(t, u.Email); n != s.count || got.LockedUntil.IsZero() == s.locked {
			t.Fatalf("%s: got %d places taken, locked until %v; want %d, locked %v", s.name, n, got.LockedUntil, s.count, s.locked)
		}
	}
	if rows := h.auditRows(t, audit.ActionLockout); len(rows) != 1 {
		t.Errorf("audit: got %d lockout rows, want 1", len(rows))
	}
	if msgs := h.delivered(t, u.Email); len(msgs) != 1 {
		t.Errorf("lockout notices: got %d, want 1", len(msgs))
	}
}

// TestCheckPasswordLocks: CheckPassword reads and clears the lock its
// Lockout names, and only that one.
func TestCheckPasswordLocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	state := func(u *store.User, l store.Lock) (time.Time, int) {
		if l == store.LockMFA {
			return u.MFALockedUntil, u.FailedMFA
		}
		return u.LockedUntil, u.FailedLogins
	}
	other := map[store.Lock]store.Lock{store.LockPassword: store.LockMFA, store.LockMFA: store.LockPassword}
	for _, lock := range []store.Lock{store.LockPassword, store.LockMFA} {
		t.Run(fmt.Sprintf("lock %d", lock), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, options{})
			hasher := &countingHasher{Hasher: cheapHasher(t)}
			r := requestFrom("192.0.2.7")
			l := lockout()
			l.Lock = lock

			// Locked on the other counter only: the password is checked,
			// and a wrong one counts on this lock's counter.
			u := h.user(t, hasher.Hasher, "user@example.com", "right password")
			if _, err := h.st.RecordFailure(ctx, u.ID, other[lock], 1, time.Hour, h.clock.Now()); err != nil {
				t.Fatal(err)
			}
			if err := h.k.CheckPassword(ctx, r, hasher, h.reload(t, u), "wrong", l); !errors.Is(err, sigra.ErrInvalidCredentials) {
				t.Fatalf("locked on the other counter, wrong password: got %v, want ErrInvalidCredentials", err)
			}
			if until, _ := state(h.reload(t, u), lock); !until.IsZero() || h.places(t, u.Email) != 1 {
				t.Fatalf("after a wrong password: got this lock until %v with %d places taken, want unlocked with 1", until, h.places(t, u.Email))
			}
			if until, _ := state(h.reload(t, u), other[lock]); until.IsZero() {
				t.Fatal("the other lock was cleared, want it kept")
			}
			// A right password clears this counter, not the other lock.
			if err := h.k.CheckPassword(ctx, r, hasher, h.reload(t, u), "right password", l); err != nil {
				t.Fatalf("right password: got %v, want nil", err)
			}
			if n := h.places(t, u.Email); n != 0 {
				t.Fatalf("after the right password: got %d places taken, want 0", n)
			}
			if until, _ := state(h.reload(t, u), other[lock]); until.IsZero() {
				t.Fatal("the right password cleared the other lock, want it kept")
			}

			// Locked on this counter: refused without hashing.
			v := h.user(t, hasher.Hasher, "locked@example.com", "right password")
			if _, err := h.st.RecordFailure(ctx, v.ID, lock, 1, time.Hour, h.clock.Now()); err != nil {
				t.Fatal(err)
			}
			before := hasher.n.Load()
			if err := h.k.CheckPassword(ctx, r, hasher, h.reload(t, v), "right password", l); !errors.Is(err, sigra.ErrLockedOut) {
				t.Fatalf("locked: got %v, want ErrLockedOut", err)
			}
			if got := hasher.n.Load() - before; got != 0 {
				t.Errorf("locked: hashes got %d, want 0", got)
			}
		})
	}

	// A lock the store does not know: an error, without hashing.
	h := newHarness(t, options{})
	hasher := &countingHasher{Hasher: cheapHasher(t)}
	u := h.user(t, hasher.Hasher, "user@example.com", "right password")
	l := lockout()
	l.Lock = store.Lock(99)
	r := requestFrom("192.0.2.7")
	before := hasher.n.Load()
	if err := h.k.CheckPassword(ctx, r, hasher, u, "right password", l); err == nil || errors.Is(err, sigra.ErrLockedOut) || errors.Is(err, sigra.ErrInvalidCredentials) {
		t.Errorf("unknown lock: got %v, want another error", err)
	}
	if got := hasher.n.Load() - before; got != 0 {
		t.Errorf("unknown lock: hashes got %d, want 0", got)
	}
}

// TestCheckPasswordBadHash: a stored hash that cannot be verified counts
// as a wrong password, and is logged.
func TestCheckPasswordBadHash(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	u := &store.User{Email: "user@example.com", PasswordHash: "$unknown$hash", CreatedAt: h.clock.Now()}
	if err := h.st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	r := requestFrom("192.0.2.7")
	err := h.k.CheckPassword(r.Context(), r, cheapHasher(t), u, "anything", lockout())
	if !errors.Is(err, sigra.ErrInvalidCredentials) {
		t.Fatalf("got %v, want ErrInvalidCredentials", err)
	}
	if got := h.places(t, u.Email); got != 1 {
		t.Errorf("places taken: got %d, want 1", got)
	}
	if len(h.log.find(slog.LevelWarn, "could not be verified")) != 1 {
		t.Errorf("log: got %q, want one warning", h.log.text())
	}
}

// ---- emailed links ----

func deadHandler(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusGone)
	_, _ = io.WriteString(w, "dead")
}

func TestOpenLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tok, err := token.New()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ct     string
		body   string
		ok     bool
		status int
	}{
		{"well-formed token", "application/x-www-form-urlencoded", url.Values{"token": {tok}, "x": {"1"}}.Encode(), true, 200},
		{"well-formed token in JSON", "application/json", `{"token":"` + tok + `"}`, true, 200},
		{"malformed token", "application/x-www-form-urlencoded", "token=not-a-token", false, http.StatusGone},
		{"no token", "application/x-www-form-urlencoded", "x=1", false, http.StatusGone},
		{"unreadable body", "application/json", `{"token": 1}`, false, http.StatusBadRequest},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("POST", "/auth/magic/verify", strings.NewReader(tt.body))
		req.Header.Set("Content-Type", tt.ct)
		rec := httptest.NewRecorder()
		in, got, ok := h.k.OpenLink(rec, req, deadHandler)
		if ok != tt.ok || rec.Code != tt.status {
			t.Errorf("%s: got ok %v status %d, want %v %d", tt.name, ok, rec.Code, tt.ok, tt.status)
		}
		if ok && (got != tok || in["token"] != tok) {
			t.Errorf("%s: token got %q, want %q", tt.name, got, tok)
		}
		if rp := rec.Header().Get("Referrer-Policy"); rp != "no-referrer" {
			t.Errorf("%s: Referrer-Policy got %q, want no-referrer", tt.name, rp)
		}
	}
}

func TestLiveLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	ctx := context.Background()
	u := h.user(t, cheapHasher(t), "user@example.com", "pw")
	newToken := func(purpose string, ttl time.Duration) string {
		tok, err := token.New()
		if err != nil {
			t.Fatal(err)
		}
		now := h.clock.Now()
		if err := h.st.CreateToken(ctx, &store.Token{Digest: token.Digest(tok), Purpose: purpose, UserID: u.ID, SentTo: u.Email, CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	live := newToken(store.PurposeMagicLink, 15*time.Minute)
	expired := newToken(store.PurposeMagicLink, time.Minute)
	other := newToken(store.PurposeReset, 15*time.Minute)
	unknown, _ := token.New()
	h.clock.Advance(2 * time.Minute)

	tests := []struct {
		name   string
		tok    string
		ok     bool
		status int
	}{
		{"live", live, true, 200},
		{"live again (the GET consumes nothing)", live, true, 200},
		{"malformed", "not-a-token", false, http.StatusGone},
		{"empty", "", false, http.StatusGone},
		{"unknown", unknown, false, http.StatusGone},
		{"expired", expired, false, http.StatusGone},
		{"another purpose", other, false, http.StatusGone},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/auth/magic/verify?token="+url.QueryEscape(tt.tok), nil)
		rec := httptest.NewRecorder()
		got, ok := h.k.LiveLink(rec, req, h.st, tt.tok, store.PurposeMagicLink, deadHandler)
		if ok != tt.ok || rec.Code != tt.status {
			t.Errorf("%s: got ok %v status %d, want %v %d", tt.name, ok, rec.Code, tt.ok, tt.status)
		}
		if ok && (got == nil || got.UserID != u.ID) {
			t.Errorf("%s: token got %+v, want the user's", tt.name, got)
		}
		if rp := rec.Header().Get("Referrer-Policy"); rp != "no-referrer" {
			t.Errorf("%s: Referrer-Policy got %q, want no-referrer", tt.name, rp)
		}
	}

	// A store that fails answers 500, not a dead link.
	h.st.Close()
	rec := httptest.NewRecorder()
	if _, ok := h.k.LiveLink(rec, httptest.NewRequest("GET", "/auth/magic/verify", nil), h.st, live, store.PurposeMagicLink, deadHandler); ok || rec.Code != http.StatusInternalServerError {
		t.Errorf("closed store: got ok %v status %d, want false 500", ok, rec.Code)
	}
}

func TestTTLText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{48 * time.Hour, "48 hours"},
		{time.Hour, "1 hour"},
		{15 * time.Minute, "15 minutes"},
		{time.Minute, "1 minute"},
		{30 * 24 * time.Hour, "30 days"},
		{7 * 24 * time.Hour, "7 days"},
		{24 * time.Hour, "24 hours"},
	}
	for _, tt := range tests {
		if got := kernel.TTLText(tt.d); got != tt.want {
			t.Errorf("TTLText(%v): got %q, want %q", tt.d, got, tt.want)
		}
	}
}

// busyHasher answers every verification as a full hashing pool does,
// without computing anything.
type busyHasher struct{ n atomic.Int32 }

func (b *busyHasher) Verify(context.Context, string, string) (bool, bool, error) {
	b.n.Add(1)
	return false, false, fmt.Errorf("pool full: %w", sigra.ErrBusy)
}

// TestCheckPasswordBusyRefunds: a verification the hashing pool refused
// gives its place back, so an overloaded server cannot use up (and lock)
// an account's attempts without checking a password; the places taken by
// real failures stay taken.
func TestCheckPasswordBusyRefunds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	real := cheapHasher(t)
	u := h.user(t, real, "user@example.com", "right password")
	r := requestFrom("192.0.2.7")
	l := lockout()
	if err := h.k.CheckPassword(r.Context(), r, real, h.reload(t, u), "wrong", l); !errors.Is(err, sigra.ErrInvalidCredentials) {
		t.Fatalf("wrong password: got %v", err)
	}
	busy := &busyHasher{}
	for i := range 2 * l.Max {
		if err := h.k.CheckPassword(r.Context(), r, busy, h.reload(t, u), "right password", l); !errors.Is(err, sigra.ErrBusy) {
			t.Fatalf("busy %d: got %v, want ErrBusy", i, err)
		}
	}
	if n := h.places(t, u.Email); n != 1 {
		t.Fatalf("after %d busy answers: got %d places taken, want 1 (the wrong password's)", busy.n.Load(), n)
	}
	if got := h.reload(t, u); !got.LockedUntil.IsZero() {
		t.Fatalf("busy answers locked the account until %v", got.LockedUntil)
	}
	if err := h.k.CheckPassword(r.Context(), r, real, h.reload(t, u), "right password", l); err != nil {
		t.Fatalf("right password after the busy answers: got %v", err)
	}
}

// TestHandleUnderSession: under the session middleware, a route without a
// body takes the client the middleware recorded (sigra.ClientFrom) and
// adds no context of its own, a route with a body its own as before; the
// audit rows of both carry the same address, resolved through the trusted
// proxy, user agent and impersonator.
func TestHandleUnderSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{proxies: []string{"10.0.0.0/8"}})
	type seen struct {
		ip, ua     string
		sameReq    bool
		hasClient  bool
		recordedIP string
	}
	var got seen
	var outer *http.Request
	handler := func(w http.ResponseWriter, r *http.Request) {
		got.ip, got.ua = audit.RequestInfo(r.Context())
		got.sameReq = r == outer
		got.hasClient = sigra.ClientFrom(r.Context()) != nil
		if err := h.k.Record(r.Context(), audit.ActionLogout, "u1", "u1", nil); err != nil {
			t.Error(err)
		}
		rows := h.auditRows(t, audit.ActionLogout)
		if len(rows) > 0 {
			got.recordedIP = rows[0].IP
		}
	}
	mux := http.NewServeMux()
	h.k.Handle(mux, http.MethodGet, "/thing", handler)
	h.k.Handle(mux, http.MethodPost, "/thing", handler)
	// The handler below the session middleware sees the request it passed
	// on, unless a route made a copy.
	app := h.sess.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outer = r
		mux.ServeHTTP(w, r)
	}))
	for _, tt := range []struct {
		method  string
		sameReq bool
	}{{"GET", true}, {"POST", false}} {
		got = seen{}
		req := httptest.NewRequest(tt.method, h.site.Path("/thing"), strings.NewReader("a=1"))
		req.RemoteAddr = "10.1.2.3:5000"
		req.Header.Set("X-Forwarded-For", "198.51.100.4")
		req.Header.Set("User-Agent", "agent/\x01two")
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", tt.method, rec.Code)
		}
		want := seen{ip: "198.51.100.4", ua: "agent/two", sameReq: tt.sameReq, hasClient: true, recordedIP: "198.51.100.4"}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", tt.method, got, want)
		}
	}
}
