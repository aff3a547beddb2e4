package mfa_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// pw is every test user's password.
const pw = "correct horse battery staple"

// trustName is the trusted-browser cookie's name on the test site (plain
// HTTP on localhost: no __Host- prefix).
const trustName = "sigra_trust"

// options select a variant of the test application.
type options struct {
	backend string
	prefix  string
	// dbPath opens an existing SQLite file (see apptest.Options.DBPath).
	dbPath string
	// keys replaces the application's TOTP keys.
	keys string
	// mfa and account change the features' configurations before they are
	// built; account sees the MFA it will be given.
	mfa     func(c *mfa.Config)
	account func(c *account.Config, m *mfa.MFA)
}

// app is a running test application with the account and mfa features.
type app struct {
	*apptest.App
	MFA *mfa.MFA
	// Keys are the keys the MFA seals TOTP secrets with.
	Keys string
}

// newApp starts an application with account and mfa mounted together, as a
// host wires them: the MFA is account's second factor and contributes its
// settings section.
func newApp(t *testing.T, o options) *app {
	t.Helper()
	x := &app{}
	opt := apptest.Options{Backend: o.backend, Prefix: o.prefix, DBPath: o.dbPath, Packs: []ui.Pack{account.Pages(), mfa.Pages()}}
	x.App = apptest.New(t, opt, func(a *apptest.App) {
		x.Keys = a.Keys
		if o.keys != "" {
			x.Keys = o.keys
		}
		mc := mfa.Config{Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, Keys: x.Keys, RateLimiter: a.Limiter}
		if o.mfa != nil {
			o.mfa(&mc)
		}
		m, err := mfa.New(mc)
		if err != nil {
			t.Fatalf("mfa.New: %v", err)
		}
		ac := account.Config{
			Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Passwords: a.Hasher, Mail: a.Outbox, RateLimiter: a.Limiter,
			SecondFactor: m, Sections: []ui.Section{m.Section()},
		}
		if o.account != nil {
			o.account(&ac, m)
		}
		acc, err := account.New(ac)
		if err != nil {
			t.Fatalf("account.New: %v", err)
		}
		m.Mount(a.Mux)
		acc.Mount(a.Mux)
		x.MFA = m
	})
	return x
}

// each runs f on every backend, in parallel.
func each(t *testing.T, f func(t *testing.T, a *app)) {
	t.Helper()
	eachWith(t, options{}, f)
}

// eachWith is each with application options.
func eachWith(t *testing.T, o options, f func(t *testing.T, a *app)) {
	t.Helper()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			o := o
			o.backend = b
			f(t, newApp(t, o))
		})
	}
}

// code is the TOTP code of secret at the app's clock, from pquerna/otp's
// totp package (the package under test uses hotp and its own step loop).
func code(t testing.TB, a *app, secret string) string {
	t.Helper()
	return codeAt(t, secret, a.Clock.Now())
}

func codeAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode returns a well-formed code that is not valid now.
func wrongCode(t testing.TB, a *app, secret string) string {
	t.Helper()
	now := a.Clock.Now()
	valid := map[string]bool{}
	for d := -1; d <= 1; d++ {
		valid[codeAt(t, secret, now.Add(time.Duration(d)*30*time.Second))] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !valid[c] {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// oathtool is the code of secret at the given time from Debian's oathtool,
// an implementation that shares nothing with ours. It skips t without it.
func oathtool(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	if _, err := exec.LookPath("oathtool"); err != nil {
		if os.Getenv("SIGRA_E2E_REQUIRED") != "" {
			t.Fatal("oathtool not found: install Debian package oathtool")
		}
		t.Skip("oathtool not found: install Debian package oathtool")
	}
	out, err := exec.Command("oathtool", "--totp", "-b", secret, "--now", at.UTC().Format("2006-01-02 15:04:05 UTC")).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// nextStep moves the clock to the next TOTP time step, so a fresh code
// exists.
func nextStep(a *app) { a.Clock.Advance(30 * time.Second) }

// body decodes a JSON response body.
func body(t testing.TB, res *apptest.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(res.Body), &m); err != nil {
		t.Fatalf("response %d is not JSON: %v\n%s", res.StatusCode, err, res.Body)
	}
	return m
}

// errCode returns the error code of a JSON error body.
func errCode(t testing.TB, res *apptest.Response) string {
	t.Helper()
	e, _ := body(t, res)["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// post sends a JSON body built from fields.
func post(t testing.TB, c *apptest.Client, path string, fields map[string]any) *apptest.Response {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return c.JSON("POST", path, string(b))
}

// want checks a response's status.
func want(t testing.TB, what string, res *apptest.Response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s: got %d, want %d\n%s", what, res.StatusCode, status, res.Body)
	}
}

// wantRedirect checks a 303 to a path (query ignored unless given).
func wantRedirect(t testing.TB, what string, res *apptest.Response, target string) {
	t.Helper()
	want(t, what, res, http.StatusSeeOther)
	loc := res.Header.Get("Location")
	if !strings.Contains(target, "?") {
		loc, _, _ = strings.Cut(loc, "?")
	}
	if loc != target {
		t.Fatalf("%s: got redirect to %q, want %q", what, res.Header.Get("Location"), target)
	}
}

// info is the request's auth state as the session-info route reports it.
type info struct {
	State    string   `json:"state"`
	SignedIn bool     `json:"signed_in"`
	AAL      int      `json:"aal"`
	Methods  []string `json:"methods"`
	User     struct {
		Email string `json:"email"`
	} `json:"user"`
}

func whoami(t testing.TB, a *app, c *apptest.Client) info {
	t.Helper()
	p, ok := a.UI.Route("session_info")
	if !ok {
		t.Fatal("no session_info route")
	}
	res := c.JSON("GET", p, "")
	var i info
	if err := json.Unmarshal([]byte(res.Body), &i); err != nil {
		t.Fatalf("session info: %v\n%s", err, res.Body)
	}
	return i
}

func wantState(t testing.TB, a *app, c *apptest.Client, state string, aal int, methods ...string) {
	t.Helper()
	i := whoami(t, a, c)
	if i.State != state || i.AAL != aal || (methods != nil && strings.Join(i.Methods, ",") != strings.Join(methods, ",")) {
		t.Fatalf("session: got %s AAL%d %v, want %s AAL%d %v", i.State, i.AAL, i.Methods, state, aal, methods)
	}
}

// enrollment is the set-up page's JSON answer.
type enrollment struct {
	Secret     string `json:"secret"`
	URI        string `json:"uri"`
	QR         string `json:"qr_png"`
	Enrollment string `json:"enrollment"`
	Digits     int    `json:"digits"`
	Period     int    `json:"period"`
}

func startEnrollment(t testing.TB, a *app, c *apptest.Client) enrollment {
	t.Helper()
	res := c.JSON("GET", a.Path("/mfa/setup"), "")
	want(t, "GET setup", res, http.StatusOK)
	var e enrollment
	if err := json.Unmarshal([]byte(res.Body), &e); err != nil || e.Secret == "" || e.Enrollment == "" {
		t.Fatalf("setup answer: %v\n%s", err, res.Body)
	}
	return e
}

// enroll turns MFA on for the user signed in on c and returns the secret
// and the recovery codes. The clock then moves to the next step, so the
// next code is fresh.
func enroll(t testing.TB, a *app, c *apptest.Client) (secret string, codes []string) {
	t.Helper()
	e := startEnrollment(t, a, c)
	res := post(t, c, a.Path("/mfa/setup"), map[string]any{"code": code(t, a, e.Secret), "enrollment": e.Enrollment})
	want(t, "POST setup", res, http.StatusOK)
	var out struct {
		Codes []string `json:"recovery_codes"`
	}
	if err := json.Unmarshal([]byte(res.Body), &out); err != nil || len(out.Codes) != 10 {
		t.Fatalf("setup answer: %v\n%s", err, res.Body)
	}
	nextStep(a)
	return e.Secret, out.Codes
}

// newEnrolledUser creates a user, signs in on a new browser and enrolls.
func newEnrolledUser(t testing.TB, a *app, email string) (c *apptest.Client, u *store.User, secret string, codes []string) {
	t.Helper()
	u = a.CreateUser(t, email, pw)
	c = a.Client(t)
	c.SignIn(email, pw)
	secret, codes = enroll(t, a, c)
	return c, u, secret, codes
}

// signInPending signs in with the password on c and expects to be asked
// for the second factor.
func signInPending(t testing.TB, a *app, c *apptest.Client, email string) {
	t.Helper()
	res := c.SignIn(email, pw)
	wantRedirect(t, "password sign-in", res, a.Path("/mfa/challenge"))
	wantState(t, a, c, "pending", 0)
}

// signInMFA signs in with the password and a fresh TOTP code.
func signInMFA(t testing.TB, a *app, c *apptest.Client, email, secret string) {
	t.Helper()
	signInPending(t, a, c, email)
	res := c.Post(a.Path("/mfa/challenge"), url.Values{"code": {code(t, a, secret)}})
	wantRedirect(t, "challenge", res, "/")
	nextStep(a)
}

// audits returns the user's audit events with action, newest first.
func audits(t testing.TB, a *app, userID, action string) []*store.AuditEvent {
	t.Helper()
	ev, _, err := a.Store.QueryAudit(context.Background(), store.AuditQuery{UserID: userID, Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func wantAudits(t testing.TB, a *app, userID, action string, n int) []*store.AuditEvent {
	t.Helper()
	ev := audits(t, a, userID, action)
	if len(ev) != n {
		t.Fatalf("audit %s: got %d events, want %d", action, len(ev), n)
	}
	return ev
}

// subjects returns the subjects of the emails sent to addr, newest first.
func subjects(t testing.TB, a *app, addr string) []string {
	t.Helper()
	var s []string
	for _, m := range a.Mails(t, addr) {
		s = append(s, m.Subject)
	}
	return s
}

// countMails counts the emails to addr whose subject contains part.
func countMails(t testing.TB, a *app, addr, part string) int {
	t.Helper()
	n := 0
	for _, s := range subjects(t, a, addr) {
		if strings.Contains(s, part) {
			n++
		}
	}
	return n
}

// totpRow reads the user's TOTP secret row.
func totpRow(t testing.TB, a *app, userID string) *store.TOTPSecret {
	t.Helper()
	s, err := a.Store.TOTPByUser(context.Background(), userID)
	if err != nil {
		t.Fatalf("TOTP row: %v", err)
	}
	return s
}

func recoveryLeft(t testing.TB, a *app, userID string) int {
	t.Helper()
	n, err := a.Store.CountRecoveryCodes(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func trustedCount(t testing.TB, a *app, userID string) int {
	t.Helper()
	l, err := a.Store.TrustedBrowsersByUser(context.Background(), userID, a.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

// race sends one JSON POST from each client at once and returns the
// statuses. It does not use testing.T in the goroutines.
func race(t testing.TB, a *app, clients []*apptest.Client, path string, fields map[string]any) []int {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	type result struct {
		i, status int
		err       error
	}
	out := make(chan result, len(clients))
	for i, c := range clients {
		go func() {
			req, err := http.NewRequest("POST", a.Server.URL+path, bytes.NewReader(b))
			if err != nil {
				out <- result{i, 0, err}
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.Header.Set("User-Agent", c.UserAgent)
			<-start
			res, err := c.HTTP.Do(req)
			if err != nil {
				out <- result{i, 0, err}
				return
			}
			res.Body.Close()
			out <- result{i, res.StatusCode, nil}
		}()
	}
	close(start)
	statuses := make([]int, len(clients))
	for range clients {
		r := <-out
		if r.err != nil {
			t.Fatal(r.err)
		}
		statuses[r.i] = r.status
	}
	return statuses
}

// countStatus counts the statuses equal to s.
func countStatus(statuses []int, s int) int {
	n := 0
	for _, v := range statuses {
		if v == s {
			n++
		}
	}
	return n
}

// openSecret opens a stored TOTP secret with keys.
func openSecret(t testing.TB, keys, userID string, sealed []byte) string {
	t.Helper()
	kr, err := seal.ParseKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	b, err := kr.Open(sealed, []byte("sigra.totp:"+userID))
	if err != nil {
		t.Fatalf("open the stored secret: %v", err)
	}
	return string(b)
}

// sloppy writes a recovery code the way a user might type it: lower case,
// no dash, spaces around.
func sloppy(code string) string {
	return "  " + strings.ToLower(strings.ReplaceAll(code, "-", " ")) + " "
}
