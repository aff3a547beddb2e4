package kit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/webhook"
)

// received is one request a webhook receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a real HTTP receiver of webhooks that keeps what it gets.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []received
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Clone(), body})
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// startOn builds a kit from cfg on a test server over a fresh store of
// backend, as start does on SQLite.
func startOn(t *testing.T, backend string, cfg kit.Config) (*apptest.App, *kit.Kit) {
	t.Helper()
	var k *kit.Kit
	a := apptest.Host(t, func(a *apptest.App) http.Handler {
		db, path := apptest.OpenStore(t, backend)
		cfg.Store = db
		cfg.Site.BaseURL = a.URL
		cfg.Keys = apptest.NewKey("k1")
		cfg.Passwords = cheap
		var err error
		if k, err = kit.New(cfg); err != nil {
			t.Fatalf("kit.New: %v", err)
		}
		a.Site, a.Sessions, a.UI, a.Guard, a.Limiter = k.Site, k.Sessions, k.UI, k.Guard, k.Limiter
		a.Outbox, a.Mailbox, a.Hasher = k.Outbox, k.Mailbox, k.Hasher
		a.Store, a.DBPath, a.Backend = db, path, backend
		return k.Handler()
	})
	return a, k
}

// loopback lets the test's deliveries reach the receiver on 127.0.0.1.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// TestWebhooksFromAudit checks that the features' success events reach
// the subscribed endpoints with no code in the application: a user
// registers and changes their password through the real routes, the
// worker delivers both events, signed, with the audit payload; failure
// events and events of other actions are not sent, and a change that
// rolls back queues nothing.
func TestWebhooksFromAudit(t *testing.T) {
	t.Parallel()
	for _, backend := range apptest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a, k := startOn(t, backend, kit.Config{Webhooks: &webhook.Config{AllowNetworks: loopback}})
			if k.Webhooks == nil || k.Audit == nil {
				t.Fatal("kit.New with Config.Webhooks: Kit.Webhooks or Kit.Audit is nil")
			}
			ctx := context.Background()
			rc := newReceiver(t)
			_, secret, err := k.Webhooks.Subscribe(ctx, rc.srv.URL+"/hooks", []string{audit.ActionRegister, audit.ActionPasswordChange})
			if err != nil {
				t.Fatalf("Subscribe: %v", err)
			}

			const email, pw, newPW = "a.user@example.com", "a long enough passphrase", "a brand new passphrase"
			c := a.Client(t)
			if res := c.Post("/auth/register", url.Values{"email": {email}, "password": {pw}}); res.StatusCode != http.StatusOK {
				t.Fatalf("register: got %d\n%s", res.StatusCode, res.Body)
			}
			// The same address again: a failure event, not sent.
			if res := a.Client(t).Post("/auth/register", url.Values{"email": {email}, "password": {pw}}); res.StatusCode != http.StatusOK {
				t.Fatalf("second register: got %d\n%s", res.StatusCode, res.Body)
			}
			c = a.Client(t)
			c.SignIn(email, pw)
			// A wrong current password: a failure event, not sent.
			if res := c.Post("/auth/password", url.Values{"current_password": {"not the password"}, "password": {newPW}}); res.StatusCode == http.StatusSeeOther {
				t.Fatalf("password change with a wrong password: got %d, want a refusal", res.StatusCode)
			}
			if res := c.Post("/auth/password", url.Values{"current_password": {pw}, "password": {newPW}}); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("password change: got %d\n%s", res.StatusCode, res.Body)
			}
			u := a.User(t, email)

			delivered, failed, err := k.Webhooks.DeliverDue(ctx)
			if err != nil || failed != 0 || delivered != 2 {
				t.Fatalf("DeliverDue: got %d delivered, %d failed, error %v; want 2, 0, nil", delivered, failed, err)
			}
			got := rc.all()
			if len(got) != 2 {
				t.Fatalf("receiver: got %d requests, want 2", len(got))
			}
			wantActions := []string{audit.ActionRegister, audit.ActionPasswordChange}
			for i, r := range got {
				if err := webhook.Verify([]string{secret}, r.header, r.body, time.Minute); err != nil {
					t.Errorf("request %d: Verify: %v", i, err)
				}
				var ev struct {
					Type      string            `json:"type"`
					Timestamp time.Time         `json:"timestamp"`
					Data      webhook.AuditData `json:"data"`
				}
				dec := json.NewDecoder(bytes.NewReader(r.body))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&ev); err != nil {
					t.Fatalf("request %d: body %s: %v", i, r.body, err)
				}
				d := ev.Data
				if ev.Type != wantActions[i] || d.Action != wantActions[i] || d.Outcome != audit.OutcomeSuccess ||
					d.SubjectID != u.ID || d.ActorID != u.ID || d.At.IsZero() || d.Metadata == nil {
					t.Errorf("request %d: got %s, want %s of the user %s, success", i, r.body, wantActions[i], u.ID)
				}
			}
			// Every field of the shape is present, even when empty.
			var raw struct {
				Data map[string]json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(got[0].body, &raw); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"action", "at", "actor_id", "subject_id", "impersonator_id", "org_id", "outcome", "metadata"} {
				if _, ok := raw.Data[f]; !ok {
					t.Errorf("payload %s: no %q", got[0].body, f)
				}
			}
			if _, ok := raw.Data["ip"]; ok {
				t.Errorf("payload %s carries the client's IP address", got[0].body)
			}

			// A change that rolls back queues nothing.
			st := a.Store.(interface {
				store.Transactor
				store.Webhooks
			})
			errBoom := errors.New("boom")
			err = st.InTx(ctx, func(ctx context.Context) error {
				if err := k.Audit.Record(ctx, audit.Event{Action: audit.ActionPasswordChange, ActorID: u.ID, SubjectID: u.ID, Outcome: audit.OutcomeSuccess}); err != nil {
					return err
				}
				if n, err := st.PendingWebhooks(ctx); err != nil || n != 1 {
					t.Errorf("inside the transaction: got %d pending deliveries (error %v), want 1", n, err)
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("InTx: got %v, want %v", err, errBoom)
			}
			if n, err := st.PendingWebhooks(ctx); err != nil || n != 0 {
				t.Errorf("after the rollback: got %d pending deliveries (error %v), want 0", n, err)
			}
			if delivered, _, err := k.Webhooks.DeliverDue(ctx); err != nil || delivered != 0 {
				t.Errorf("DeliverDue after the rollback: got %d delivered (error %v), want 0", delivered, err)
			}
			if got := rc.all(); len(got) != 2 {
				t.Errorf("receiver after the rollback: got %d requests, want still 2", len(got))
			}
		})
	}
}

// TestWebhooksConfig: Config.Webhooks with a store that keeps no webhooks,
// or with a bad setting, is refused with sigra.ErrConfig; the console gets
// the webhooks page only with webhooks.
func TestWebhooksConfig(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	base := kit.Config{Site: site.Config{BaseURL: "http://localhost:8080"}, Keys: apptest.NewKey("k1"), Passwords: cheap}
	for name, cfg := range map[string]kit.Config{
		"store without webhooks": {Store: withoutMFA{db}, DisableMFA: true, Webhooks: &webhook.Config{}},
		"negative batch":         {Store: db, Webhooks: &webhook.Config{Batch: -1}},
	} {
		cfg.Site, cfg.Keys, cfg.Passwords = base.Site, base.Keys, base.Passwords
		if _, err := kit.New(cfg); !errors.Is(err, sigra.ErrConfig) {
			t.Errorf("%s: got %v, want an error wrapping sigra.ErrConfig", name, err)
		}
	}
	for _, on := range []bool{false, true} {
		cfg := base
		cfg.Store, cfg.Admin = db, &admin.Config{}
		if on {
			cfg.Webhooks = &webhook.Config{}
		}
		k, err := kit.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if (k.Webhooks != nil) != on {
			t.Errorf("webhooks %v: Kit.Webhooks is %v", on, k.Webhooks)
		}
		if _, ok := k.UI.Route("admin_webhooks"); !ok {
			t.Error("the admin pack lacks the admin_webhooks route")
		}
		r := httptest.NewRequest(http.MethodGet, "/auth/admin/webhooks", nil)
		if _, pattern := k.Mux.Handler(r); (pattern != "") != on {
			t.Errorf("webhooks %v: the webhooks page is mounted at %q", on, pattern)
		}
	}
}

// TestRunDeliversWebhooks: Kit.Run runs the webhooks' worker, which sends
// a feature's event queued by a request.
func TestRunDeliversWebhooks(t *testing.T) {
	t.Parallel()
	a, k := startOn(t, "sqlite", kit.Config{Webhooks: &webhook.Config{AllowNetworks: loopback, PollInterval: 20 * time.Millisecond}})
	rc := newReceiver(t)
	if _, _, err := k.Webhooks.Subscribe(context.Background(), rc.srv.URL, []string{audit.ActionRegister}); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	if res := a.Client(t).Post("/auth/register", url.Values{"email": {"a.user@example.com"}, "password": {"a long enough passphrase"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("register: got %d", res.StatusCode)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(rc.all()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the registration's webhook was not delivered within 10 s of Run")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
