package kit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/jwtauth"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/org"
	"github.com/sigra-go/sigra/passkey"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/ui"
)

// cheap keeps the tests fast: Argon2id with tiny parameters.
var cheap = password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, InsecureAllowWeakParams: true}

// openDB opens a fresh SQLite store for t.
func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// withoutMFA is a store that implements what the kit needs and nothing of
// the two-factor flows'.
type withoutMFA struct{ kit.Store }

// start builds a kit from cfg on a test server: the server's URL as the
// base URL, a fresh SQLite store (seen without its two-factor methods when
// cfg.DisableMFA is set), fresh keys, cheap hashing. app, when set, adds
// the application's routes before the handler is served.
func start(t *testing.T, cfg kit.Config, app func(k *kit.Kit)) (*apptest.App, *kit.Kit) {
	t.Helper()
	var k *kit.Kit
	a := apptest.Host(t, func(a *apptest.App) http.Handler {
		db := openDB(t)
		cfg.Store = db
		if cfg.DisableMFA {
			cfg.Store = withoutMFA{db}
		}
		cfg.Site.BaseURL = a.URL
		cfg.Keys = apptest.NewKey("k1")
		cfg.Passwords = cheap
		var err error
		if k, err = kit.New(cfg); err != nil {
			t.Fatalf("kit.New: %v", err)
		}
		a.Site, a.Sessions, a.UI, a.Guard, a.Limiter = k.Site, k.Sessions, k.UI, k.Guard, k.Limiter
		a.Outbox, a.Mailbox, a.Hasher = k.Outbox, k.Mailbox, k.Hasher
		a.Store, a.DBPath = db, db.Path()
		if app != nil {
			app(k)
		}
		return k.Handler()
	})
	return a, k
}

// TestConfigErrors checks that a configuration kit cannot use is refused
// with an error wrapping sigra.ErrConfig that says what to change.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	keys := apptest.NewKey("k1")
	local := site.Config{BaseURL: "http://localhost:8080"}
	tests := []struct {
		name string
		cfg  kit.Config
		want string // in the message
	}{
		{"no store", kit.Config{Site: local, Keys: keys}, "sigra: invalid config: kit: Config.Store is required"},
		{"no keys", kit.Config{Store: db, Site: local}, "sigra: invalid config: kit: Config.Keys is required"},
		{"keys that are not a keyring", kit.Config{Store: db, Site: local, Keys: "not-a-keyring"}, "Keys"},
		{"store without mfa.Store", kit.Config{Store: withoutMFA{db}, Site: local, Keys: keys},
			"sigra: invalid config: kit: Config.Store does not implement mfa.Store (TOTP, recovery codes, trusted browsers): implement it, or set DisableMFA"},
		{"https without SMTP", kit.Config{Store: db, Site: site.Config{BaseURL: "https://app.example.com"}, Keys: keys},
			"sigra: invalid config: kit: no SMTP server is configured for https://app.example.com: set Config.SMTP"},
		{"no base URL", kit.Config{Store: db, Keys: keys}, "BaseURL is required"},
		{"bad SMTP", kit.Config{Store: db, Site: local, Keys: keys, SMTP: &mail.SMTPConfig{}}, "mail"},
		{"store without org.Store", kit.Config{Store: withoutMFA{db}, Site: local, Keys: keys, DisableMFA: true, Orgs: &org.Config{}},
			"sigra: invalid config: kit: Config.Store does not implement org.Store (organizations, memberships, invitations): implement it, or leave Config.Orgs nil"},
		{"bad role", kit.Config{Store: db, Site: local, Keys: keys, Orgs: &org.Config{Roles: map[string][]string{"Team Lead": {"x"}}}},
			`sigra: invalid config: org: Roles: role "Team Lead": want lower-case letters, digits and underscores`},
		{"bad permission", kit.Config{Store: db, Site: local, Keys: keys, Orgs: &org.Config{Roles: map[string][]string{"lead": {"has space"}}}},
			`sigra: invalid config: org: Roles: role "lead": invalid permission "has space"`},
		{"chain key that is not base64", kit.Config{Store: db, Site: local, Keys: keys, AuditChainKey: "not a key!"},
			"sigra: invalid config: kit: AuditChainKey: sigra/audit: invalid chain key: not base64"},
		{"chain key too short", kit.Config{Store: db, Site: local, Keys: keys, AuditChainKey: "c2hvcnQ="},
			"sigra: invalid config: kit: AuditChainKey: sigra/audit: invalid chain key: 5 bytes, want at least 32"},
		{"chain key without store.AuditChain", kit.Config{Store: withoutMFA{db}, Site: local, Keys: keys, DisableMFA: true, AuditChainKey: chainKey},
			"sigra: invalid config: kit: Config.Store does not implement store.AuditChain, which AuditChainKey needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Passwords = cheap
			k, err := kit.New(tt.cfg)
			if k != nil || !errors.Is(err, sigra.ErrConfig) {
				t.Fatalf("kit.New: got %v, %v; want nil and an error wrapping sigra.ErrConfig", k, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("kit.New: got error %q, want it to contain %q", err, tt.want)
			}
		})
	}

	// The same store is accepted once two-factor authentication is off,
	// and an https site is accepted with an SMTP server.
	accepted := []kit.Config{
		{Store: withoutMFA{db}, Site: local, Keys: keys, DisableMFA: true},
		{Store: db, Site: site.Config{BaseURL: "https://app.example.com"}, Keys: keys, SMTP: &mail.SMTPConfig{Host: "smtp.example.com", From: "noreply@example.com"}},
	}
	for i, cfg := range accepted {
		cfg.Passwords = cheap
		if _, err := kit.New(cfg); err != nil {
			t.Errorf("accepted config %d: kit.New: %v", i, err)
		}
	}
}

// TestDisableMFA checks that DisableMFA leaves the two-factor routes,
// pages and settings section out, and that RequireAAL2 then panics when it
// wraps a route, naming the route no pack provides.
func TestDisableMFA(t *testing.T) {
	t.Parallel()
	a, k := start(t, kit.Config{DisableMFA: true}, nil)
	if k.MFA != nil {
		t.Errorf("got an MFA with DisableMFA")
	}
	for _, name := range []string{ui.RouteStepUp, ui.RouteSecondFactor, "mfa"} {
		if p, ok := k.UI.Route(name); ok {
			t.Errorf("route %q is declared (%s) with DisableMFA", name, p)
		}
	}
	c := a.Client(t)
	for _, p := range []string{"/auth/mfa", "/auth/mfa/setup", "/auth/mfa/challenge"} {
		if res := c.Get(p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: got %d, want 404", p, res.StatusCode)
		}
	}
	a.CreateUser(t, "user@example.com", "plum-otter-lantern-42")
	c.SignIn("user@example.com", "plum-otter-lantern-42")
	res := c.Get("/auth/settings")
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `id="password-heading"`) {
		t.Fatalf("GET /auth/settings: got %d, want 200 with the password section\n%.1000s", res.StatusCode, res.Body)
	}
	if strings.Contains(res.Body, "two-factor-heading") || strings.Contains(res.Body, `href="/auth/mfa"`) {
		t.Errorf("settings page shows two-factor authentication with DisableMFA")
	}

	defer func() {
		msg := fmt.Sprint(recover())
		for _, want := range []string{"RequireAAL2", `"step_up"`} {
			if !strings.Contains(msg, want) {
				t.Errorf("RequireAAL2 with DisableMFA: got panic %q, want it to name %s", msg, want)
			}
		}
	}()
	k.RequireAAL2(http.NotFoundHandler())
	t.Errorf("RequireAAL2 with DisableMFA did not panic")
}

// TestPasskeys checks that Config.Passkeys mounts the passkey routes and
// adds their section to the settings, with the two-factor flows as their
// second factor, and that the step-up and sudo pages know of a user's
// passkey; without it the routes are absent.
func TestPasskeys(t *testing.T) {
	t.Parallel()
	a, k := start(t, kit.Config{Passkeys: &passkey.Config{MaxPasskeys: 3}}, nil)
	if k.Passkeys == nil || k.Passkeys.RPID() != "localhost" {
		t.Fatalf("Passkeys: got %v, want one for the RP ID localhost", k.Passkeys)
	}
	a.CreateUser(t, "user@example.com", "plum-otter-lantern-42")
	c := a.Client(t)
	c.SignIn("user@example.com", "plum-otter-lantern-42")
	res := c.Get("/auth/settings")
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `href="/auth/passkeys"`) {
		t.Fatalf("GET /auth/settings: got %d, want the passkeys section\n%.1000s", res.StatusCode, res.Body)
	}
	if res := c.JSON("GET", "/auth/passkeys", ""); res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `"max":3`) {
		t.Errorf("GET /auth/passkeys: got %d %s", res.StatusCode, res.Body)
	}
	if res := a.Client(t).Get("/auth/login"); !strings.Contains(res.Body, "data-passkey=\"signin\"") {
		t.Errorf("sign-in page: no passkey sign-in")
	}
	// The step-up page and the sudo page know of the user's passkey.
	if res := c.JSON("GET", "/auth/mfa/setup", ""); !strings.Contains(res.Body, `"passkey":false`) {
		t.Errorf("step-up page without a passkey: got %s, want passkey false", res.Body)
	}
	u := a.User(t, "user@example.com")
	st := a.Store.(store.Passkeys)
	if _, err := st.PasskeyUserHandle(t.Context(), u.ID, []byte("handle-of-the-user")); err != nil {
		t.Fatal(err)
	}
	key := &store.Passkey{UserID: u.ID, RPID: "localhost", CredentialID: []byte("credential-1"), PublicKey: []byte{1}, AAGUID: make([]byte, 16), Name: "Laptop"}
	if err := st.CreatePasskey(t.Context(), key, 3); err != nil {
		t.Fatal(err)
	}
	if res := c.Get("/auth/mfa/setup?return_to=/"); !strings.Contains(res.Body, `data-finish="/auth/passkeys/challenge"`) {
		t.Errorf("step-up page of a user with a passkey: no passkey offered\n%.1500s", res.Body)
	}
	if res := c.JSON("GET", "/auth/sudo", ""); !strings.Contains(res.Body, `"has_passkey":true`) {
		t.Errorf("sudo page of a user with a passkey: got %s, want has_passkey true", res.Body)
	}

	b, _ := start(t, kit.Config{}, nil)
	if res := b.Client(t).Get("/auth/passkeys/signin"); res.StatusCode != http.StatusNotFound {
		t.Errorf("without Passkeys: GET /auth/passkeys/signin: got %d, want 404", res.StatusCode)
	}
}

// TestKeysFile checks that KeysFile creates the file once (mode 0600),
// reuses it, refuses an empty one, and gives processes that start at once
// the same key.
func TestKeysFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "app.keys")

	created, err := kit.KeysFile(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if id, key, ok := strings.Cut(created, ":"); !ok || id == "" || len(key) < 40 {
		t.Errorf("create: got keys %q, want id:base64key", created)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("create: got mode %v, want -rw-------", mode)
	}
	if b, _ := os.ReadFile(path); string(b) != created+"\n" {
		t.Errorf("create: file holds %q, want %q", b, created+"\n")
	}
	if _, err := kit.New(kit.Config{Store: openDB(t), Site: site.Config{BaseURL: "http://localhost:8080"}, Keys: created, Passwords: cheap}); err != nil {
		t.Errorf("kit.New with the created keys: %v", err)
	}

	again, err := kit.KeysFile(path)
	if err != nil || again != created {
		t.Errorf("reuse: got %q, %v; want %q", again, err, created)
	}

	rotated := filepath.Join(dir, "rotated.keys")
	ring := apptest.NewKey("k2") + "," + created
	if err := os.WriteFile(rotated, []byte(ring+"\n# notes below the first line are ignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := kit.KeysFile(rotated); err != nil || got != ring {
		t.Errorf("rotated keyring: got %q, %v; want %q", got, err, ring)
	}

	for _, body := range []string{"", "\n", "  \n" + created + "\n"} {
		empty := filepath.Join(dir, "empty.keys")
		if err := os.WriteFile(empty, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := kit.KeysFile(empty)
		if !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), "is empty") {
			t.Errorf("file holding %q: got %v, want an error wrapping sigra.ErrConfig saying it is empty", body, err)
		}
	}

	// Many starts at once on a missing file: one key for all.
	shared := filepath.Join(dir, "shared.keys")
	got := make([]string, 16)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			k, err := kit.KeysFile(shared)
			if err != nil {
				t.Errorf("concurrent KeysFile: %v", err)
			}
			got[i] = k
		})
	}
	wg.Wait()
	for i, k := range got {
		if k != got[0] || k == "" {
			t.Fatalf("concurrent KeysFile: caller %d got %q, caller 0 got %q", i, k, got[0])
		}
	}
	if b, _ := os.ReadFile(shared); string(b) != got[0]+"\n" {
		t.Errorf("concurrent KeysFile: file holds %q, want %q", b, got[0]+"\n")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".sigra-keys-*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %q", left)
	}
}

// TestRun checks that Run delivers what is queued, before it started and
// while it runs, and returns nil when its context ends.
func TestRun(t *testing.T) {
	t.Parallel()
	_, k := start(t, kit.Config{}, nil)
	ctx := context.Background()
	send := func(to string) {
		t.Helper()
		if err := k.Outbox.Send(ctx, &mail.Message{To: to, Subject: "Hello " + to, Text: "Hello.\n"}); err != nil {
			t.Fatal(err)
		}
	}
	send("before@example.com")
	time.Sleep(50 * time.Millisecond)
	if got := k.Mailbox.Messages(""); len(got) != 0 {
		t.Fatalf("before Run: got %d delivered messages, want 0", len(got))
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- k.Run(runCtx) }()
	wait := func(to string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		m, err := k.Mailbox.Wait(wctx, to)
		if err != nil {
			t.Fatalf("message to %s not delivered: %v", to, err)
		}
		if m.Subject != "Hello "+to {
			t.Errorf("got subject %q, want %q", m.Subject, "Hello "+to)
		}
	}
	wait("before@example.com")
	send("during@example.com")
	wait("during@example.com")

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after its context ended: got %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return within 15 s of its context ending")
	}
	send("after@example.com")
	time.Sleep(50 * time.Millisecond)
	if got := k.Mailbox.Messages("after@example.com"); len(got) != 0 {
		t.Errorf("after Run stopped: got %d deliveries, want 0", len(got))
	}
}

// chainKey is a valid audit chain key: 32 bytes in base64.
const chainKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// TestRunSealsAudit checks that Run seals the audit rows into a chain that
// verifies with the configured key, and only with it.
func TestRunSealsAudit(t *testing.T) {
	t.Parallel()
	a, k := start(t, kit.Config{AuditChainKey: chainKey, AuditSealInterval: 10 * time.Millisecond}, nil)
	if k.AuditChain == nil {
		t.Fatal("Kit.AuditChain is nil with a store that keeps a chain")
	}
	db := a.Store.(*sqlite.DB)
	ctx := context.Background()
	for range 3 {
		if err := db.AppendAudit(ctx, &store.AuditEvent{Action: audit.ActionLoginSuccess, Outcome: audit.OutcomeSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- k.Run(runCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		anchor, err := k.AuditChain.Anchor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if anchor.Seq == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Run sealed %d rows in 10 s, want 3", anchor.Seq)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	key, err := audit.ParseChainKey(chainKey)
	if err != nil {
		t.Fatal(err)
	}
	good, err := audit.NewChain(audit.ChainConfig{Store: db, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := good.Verify(ctx, audit.VerifyOptions{}); err != nil || !r.OK() || r.Checked != 3 {
		t.Errorf("Verify with the kit's key: got %+v, %v; want 3 rows checked, intact", r, err)
	}
	other, err := audit.NewChain(audit.ChainConfig{Store: db, Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := other.Verify(ctx, audit.VerifyOptions{}); err != nil || r.OK() || r.Broken.Reason != audit.ReasonEdited {
		t.Errorf("Verify with another key: got %+v, %v; want row 1 not matching its hash", r, err)
	}
}

// TestPrefix mounts everything under /account: every route, link and
// redirect follows, the emailed links included, and nothing is left
// under /auth.
func TestPrefix(t *testing.T) {
	t.Parallel()
	a, _ := start(t, kit.Config{Site: site.Config{Prefix: "/account"}}, func(k *kit.Kit) {
		k.Handle("GET /dashboard", k.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "dashboard of "+sigra.UserFrom(r.Context()).Email)
		})))
		k.Handle("GET /vault", k.RequireAAL2(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "vault")
		})))
	})
	anon := a.Client(t)
	const email, pw = "user@example.com", "plum-otter-lantern-42"

	pages := []struct {
		path     string
		status   int
		location string
		contains []string
	}{
		{"/account/login", 200, "", []string{`action="/account/login"`, `href="/account/register"`, `href="/account/password/forgot"`, `href="/account/assets/`}},
		{"/account/register", 200, "", []string{`action="/account/register"`}},
		{"/dashboard", 303, "/account/login?return_to=%2Fdashboard", nil},
		{"/vault", 303, "/account/login?return_to=%2Fvault", nil},
		{"/account/settings", 303, "/account/login?return_to=%2Faccount%2Fsettings", nil},
		{"/auth/login", 404, "", nil},
		{"/auth/assets/sigra.css", 404, "", nil},
	}
	for _, p := range pages {
		t.Run("GET "+p.path, func(t *testing.T) {
			res := anon.For(t).Get(p.path)
			if res.StatusCode != p.status || res.Header.Get("Location") != p.location {
				t.Fatalf("got %d to %q, want %d to %q", res.StatusCode, res.Header.Get("Location"), p.status, p.location)
			}
			for _, s := range p.contains {
				if !strings.Contains(res.Body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
		})
	}

	// The emailed confirmation link is under the prefix, on the base URL.
	res := anon.Post("/account/register", url.Values{"email": {email}, "password": {pw}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("register: got %d\n%.1000s", res.StatusCode, res.Body)
	}
	link := apptest.Link(t, a.LastMail(t, email), "/confirm")
	if want := a.URL + "/account/confirm?"; !strings.HasPrefix(link, want) {
		t.Errorf("confirmation link %q, want it to start with %q", link, want)
	}
	res = anon.Post("/account/confirm", url.Values{"token": {apptest.TokenOf(link)}})
	if got := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(got, "/account/login") {
		t.Errorf("confirm: got %d to %q, want 303 to /account/login", res.StatusCode, got)
	}

	// The reset link too.
	if res := anon.Post("/account/password/forgot", url.Values{"email": {email}}); res.StatusCode >= 400 {
		t.Fatalf("forgot: got %d", res.StatusCode)
	}
	reset := apptest.Link(t, a.LastMail(t, email), "/password/reset")
	if want := a.URL + "/account/password/reset?"; !strings.HasPrefix(reset, want) {
		t.Errorf("reset link %q, want it to start with %q", reset, want)
	}

	// Signed in: the sign-in lands on the page asked for, the settings
	// pages link under the prefix, the step-up redirect too.
	user := a.Client(t)
	user.Get("/account/login?return_to=%2Fdashboard")
	res = user.Post("/account/login", url.Values{"email": {email}, "password": {pw}, "return_to": {"/dashboard"}})
	if got := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || got != "/dashboard" {
		t.Fatalf("sign in: got %d to %q, want 303 to /dashboard", res.StatusCode, got)
	}
	if res := user.Get("/dashboard"); res.Body != "dashboard of "+email {
		t.Errorf("GET /dashboard: got %d %q", res.StatusCode, res.Body)
	}
	if res := user.Get("/vault"); res.Header.Get("Location") != "/account/mfa/setup?return_to=%2Fvault" {
		t.Errorf("GET /vault with one factor: got %d to %q, want 303 to /account/mfa/setup?return_to=%%2Fvault", res.StatusCode, res.Header.Get("Location"))
	}
	res = user.Get("/account/settings")
	for _, s := range []string{`href="/account/sessions"`, `href="/account/mfa"`, `action="/account/password"`, `action="/account/logout"`} {
		if !strings.Contains(res.Body, s) {
			t.Errorf("settings page lacks %q", s)
		}
	}
	if strings.Contains(res.Body, `"/auth/`) {
		t.Errorf("settings page links under /auth")
	}
}

// TestOrgs checks that Config.Orgs adds organizations: their routes and
// settings section, and the guard for the application's own routes.
func TestOrgs(t *testing.T) {
	t.Parallel()
	a, k := start(t, kit.Config{Orgs: &org.Config{}}, func(k *kit.Kit) {
		k.Handle("GET /team", k.RequireMember(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "team "+org.From(r.Context()).Org.Name)
		})))
	})
	if k.Orgs == nil {
		t.Fatal("no Orgs with Config.Orgs set")
	}
	a.CreateUser(t, "user@example.com", "correct horse battery staple")
	c := a.Client(t)
	c.SignIn("user@example.com", "correct horse battery staple")
	if res := c.Get("/auth/settings"); !strings.Contains(res.Body, "Organizations") {
		t.Error("the settings page has no organizations section")
	}
	if res := c.Post("/auth/orgs", url.Values{"name": {"Acme"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", res.StatusCode)
	}
	if res := c.Get("/team"); res.Body != "team Acme" {
		t.Fatalf("team route: %d %q", res.StatusCode, res.Body)
	}
	// Without Config.Orgs there is no organization route.
	_, plain := start(t, kit.Config{}, nil)
	if plain.Orgs != nil {
		t.Error("Orgs without Config.Orgs")
	}
	if _, ok := plain.UI.Route("orgs"); ok {
		t.Error("the orgs route is declared without Config.Orgs")
	}
	for name, wrap := range map[string]func(){
		"RequireMember":     func() { plain.RequireMember(http.NotFoundHandler()) },
		"RequirePermission": func() { plain.RequirePermission("x")(http.NotFoundHandler()) },
	} {
		func() {
			defer func() {
				if msg, _ := recover().(string); !strings.Contains(msg, name+" needs organizations: set kit.Config.Orgs") {
					t.Errorf("%s without Config.Orgs: panic %q", name, msg)
				}
			}()
			wrap()
		}()
	}
}

// TestJWT checks that Config.JWT adds the token endpoints and the JWKS,
// and that its access tokens open the application's API routes.
func TestJWT(t *testing.T) {
	t.Parallel()
	key, err := jwtauth.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	a, k := start(t, kit.Config{JWT: &jwtauth.Config{Keys: []jwtauth.Key{key}}}, func(k *kit.Kit) {
		k.Handle("GET /api/me", k.JWT.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "api "+sigra.UserFrom(r.Context()).ID)
		})))
	})
	if k.JWT == nil {
		t.Fatal("no JWT with Config.JWT set")
	}
	u := a.CreateUser(t, "api@example.com", "correct horse battery staple")
	c := a.Client(t)
	c.SignIn("api@example.com", "correct horse battery staple")
	res := c.JSON("POST", "/auth/token", `{}`)
	var tk jwtauth.TokenResponse
	if err := json.Unmarshal([]byte(res.Body), &tk); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("POST /auth/token: %d %v\n%s", res.StatusCode, err, res.Body)
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+tk.AccessToken)
	if res := a.Client(t).Do("GET", "/api/me", h, nil); res.Body != "api "+u.ID {
		t.Errorf("GET /api/me with the token: %d %q", res.StatusCode, res.Body)
	}
	if res := c.Get("/auth/settings"); !strings.Contains(res.Body, "Apps with access") {
		t.Error("the settings page has no section of the apps holding tokens")
	}
	if res := c.Get("/.well-known/jwks.json"); res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `"kid":"k1"`) {
		t.Errorf("JWKS: %d %s", res.StatusCode, res.Body)
	}
	// Without keys the kit refuses to start.
	_, err = kit.New(kit.Config{Store: openDB(t), Site: site.Config{BaseURL: "http://localhost:8080"}, Keys: apptest.NewKey("k1"), JWT: &jwtauth.Config{}})
	if !errors.Is(err, sigra.ErrConfig) || !strings.Contains(err.Error(), "Config.Keys") {
		t.Errorf("kit with JWT and no keys: got %v, want an ErrConfig naming Config.Keys", err)
	}
}
