package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sigra-go/sigra/examples/profile/profile"
	"github.com/sigra-go/sigra/kit"
	"github.com/sigra-go/sigra/sigratest"
	"github.com/sigra-go/sigra/store"
)

const pw = "plum-otter-lantern-42"

// startProfile starts the example on a test server with cheap hashing,
// through package sigratest as any host's tests would.
func startProfile(t *testing.T) (*sigratest.App, *App) {
	t.Helper()
	var app *App
	dir := t.TempDir()
	a := sigratest.Start(t, func(baseURL string) sigratest.Host {
		keysFile := filepath.Join(dir, "profile.keys")
		var err error
		app, err = New(context.Background(), Config{
			BaseURL: baseURL, DB: filepath.Join(dir, "profile.db"), Keys: keysFile,
			Passwords: sigratest.PasswordConfig(),
		})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { app.Close() })
		keys, err := kit.KeysFile(keysFile) // the keys New made
		if err != nil {
			t.Fatal(err)
		}
		return sigratest.Kit(app.Kit, app.DB, keys)
	})
	return a, app
}

// names returns the number of rows of profile_names, for the user when
// userID is set.
func names(t *testing.T, app *App, userID string) int {
	t.Helper()
	q, args := "SELECT count(*) FROM profile_names", []any{}
	if userID != "" {
		q, args = q+" WHERE user_id = ?", []any{userID}
	}
	var n int
	if err := app.DB.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// fieldError returns the error shown at the field name of an HTML page, or
// "".
func fieldError(body, name string) string {
	re := regexp.MustCompile(`id="` + regexp.QuoteMeta(name) + `-error">.*?<span>([^<]*)</span>`)
	if m := re.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// wantStatus fails t unless res has the status.
func wantStatus(t *testing.T, what string, res *sigratest.Response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s: got status %d, want %d\n%.2000s", what, res.StatusCode, status, res.Body)
	}
}

// TestProfile drives the feature over HTTP: registration with and without
// a display name, confirmation and sign-in, the settings section and the
// feature's page, saving and refusing names, the navigation entry, and
// the rows going with a deleted account.
func TestProfile(t *testing.T) {
	a, app := startProfile(t)
	c := a.Client(t)
	const email = "ada@example.com"

	// Without a display name, the registration is refused at the field
	// and nothing is stored.
	res := c.PostForm("/auth/register", url.Values{"email": {email}, "password": {pw}})
	wantStatus(t, "register without a display name", res, http.StatusUnprocessableEntity)
	if got, want := fieldError(res.Body, "display_name"), "Enter a display name."; got != want {
		t.Errorf("register without a display name: got field error %q, want %q", got, want)
	}
	if _, err := app.DB.UserByEmail(context.Background(), email); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("register without a display name: the user was stored (%v)", err)
	}
	if n := names(t, app, ""); n != 0 {
		t.Fatalf("register without a display name: got %d profile rows, want 0", n)
	}

	// With one, the account is created and the hook stores the name.
	res = c.PostForm("/auth/register", url.Values{"email": {email}, "password": {pw}, "display_name": {"  Ada L.  "}})
	wantStatus(t, "register with a display name", res, http.StatusOK)
	u := a.User(t, email, pw)
	if got, err := app.Store.DisplayName(context.Background(), u.ID); err != nil || got != "Ada L." {
		t.Fatalf("display name after registration: got %q (%v), want %q", got, err, "Ada L.")
	}

	// Confirm from the emailed link (its page, then the page's form), and
	// sign in.
	link := sigratest.FirstLink(t, a.LastMail(t, email))
	if !strings.Contains(link, "/auth/confirm") {
		t.Fatalf("the first link of the confirmation email is %q, want the confirm page", link)
	}
	res = a.FollowLink(t, c, link)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: got %d, want 303\n%.1000s", res.StatusCode, res.Body)
	}
	a.SignIn(t, c, u, sigratest.AAL1)

	// The settings page: the profile section first, with the name.
	res = c.Get("/auth/settings")
	wantStatus(t, "GET /auth/settings", res, http.StatusOK)
	order := []string{`id="profile-heading"`, `id="email-heading"`, `id="password-heading"`, `id="two-factor-heading"`, `id="danger-heading"`}
	last := -1
	for _, id := range order {
		i := strings.Index(res.Body, id)
		if i < 0 {
			t.Fatalf("settings page lacks the section %s", id)
		}
		if i < last {
			t.Errorf("settings page: section %s comes before the one above it in %q", id, order)
		}
		last = i
	}
	if !strings.Contains(res.Body, `name="display_name" type="text" value="Ada L."`) {
		t.Errorf("settings page: the profile section does not show the name %q", "Ada L.")
	}

	// Saving a name lands on the settings page with the feature's notice.
	res = c.PostForm("/auth/profile/name", url.Values{"display_name": {"Ada Lovelace"}})
	if got, want := res.Header.Get("Location"), "/auth/settings?notice=profile_saved"; res.StatusCode != http.StatusSeeOther || got != want {
		t.Fatalf("save name: got %d to %q, want 303 to %q\n%.1000s", res.StatusCode, got, want, res.Body)
	}
	res = c.Get(res.Header.Get("Location"))
	wantStatus(t, "settings after saving", res, http.StatusOK)
	if !strings.Contains(res.Body, "Your display name was saved.") {
		t.Errorf("settings after saving: notice %q not shown", "Your display name was saved.")
	}
	if !strings.Contains(res.Body, `value="Ada Lovelace"`) {
		t.Errorf("settings after saving: new name not shown")
	}

	// The feature's own page.
	res = c.Get("/auth/profile")
	wantStatus(t, "GET /auth/profile", res, http.StatusOK)
	for _, s := range []string{"<h2 id=\"card-heading\">Ada Lovelace</h2>", email} {
		if !strings.Contains(res.Body, s) {
			t.Errorf("profile page lacks %q", s)
		}
	}

	// Refused names: the page again, the message at the field, the name
	// unchanged.
	refused := []struct{ name, value, msg string }{
		{"empty", "   ", "Enter a display name."},
		{"too long", strings.Repeat("x", profile.MaxName+1), "Use at most 60 characters."},
		{"control character", "Ada\x07", "Use ordinary characters."},
	}
	for _, tt := range refused {
		t.Run("refused "+tt.name, func(t *testing.T) {
			res := c.For(t).PostForm("/auth/profile/name", url.Values{"display_name": {tt.value}})
			wantStatus(t, "save "+tt.name, res, http.StatusUnprocessableEntity)
			if got := fieldError(res.Body, "display_name"); got != tt.msg {
				t.Errorf("got field error %q, want %q", got, tt.msg)
			}
			if got, _ := app.Store.DisplayName(context.Background(), u.ID); got != "Ada Lovelace" {
				t.Errorf("name after a refused save: got %q, want %q", got, "Ada Lovelace")
			}
		})
	}

	// The navigation entry is on every settings page, marked current on
	// the profile page.
	for _, p := range []string{"/auth/settings", "/auth/sessions", "/auth/mfa", "/auth/profile"} {
		res := c.Get(p)
		wantStatus(t, "GET "+p, res, http.StatusOK)
		nav := regexp.MustCompile(`<a href="/auth/profile"( aria-current="page")?><svg[^>]*>.*?</svg><span>Profile</span></a>`).FindStringSubmatch(res.Body)
		if nav == nil {
			t.Errorf("GET %s: no Profile entry in the settings navigation", p)
			continue
		}
		if current := nav[1] != ""; current != (p == "/auth/profile") {
			t.Errorf("GET %s: Profile entry marked current %v, want %v", p, current, p == "/auth/profile")
		}
	}

	// The JSON answer of the settings page carries the section's data.
	res = c.JSON("GET", "/auth/settings", "")
	var settings map[string]json.RawMessage
	if err := json.Unmarshal([]byte(res.Body), &settings); err != nil {
		t.Fatalf("settings as JSON: %v\n%s", err, res.Body)
	}
	if !strings.Contains(res.Body, `"display_name":"Ada Lovelace"`) {
		t.Errorf("settings as JSON lacks the profile section's name: %s", res.Body)
	}

	// The profile row goes with the account.
	if err := app.DB.DeleteUser(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	if n := names(t, app, u.ID); n != 0 {
		t.Errorf("after DeleteUser: got %d profile rows for the user, want 0", n)
	}
}

// TestPublicAPIOnly checks that the feature is built on Sigra's public
// packages alone: it imports nothing under internal/ (which only code
// inside this module may import), so an application outside the module
// could write it as it is.
func TestPublicAPIOnly(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go tool is not on PATH")
	}
	const module = "github.com/sigra-go/sigra"
	const pkg = module + "/examples/profile/profile"
	out, err := exec.Command("go", "list", "-deps", "-json", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var imports []string
	found := false
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.ImportPath == pkg {
			imports, found = p.Imports, true
		}
	}
	if !found {
		t.Fatalf("go list -deps %s does not list the package itself", pkg)
	}
	var ours []string
	for _, imp := range imports {
		if imp != module && !strings.HasPrefix(imp, module+"/") {
			continue
		}
		ours = append(ours, strings.TrimPrefix(imp, module+"/"))
		if strings.Contains(imp+"/", "/internal/") {
			t.Errorf("the profile feature imports %s, which is not public", imp)
		}
	}
	if len(ours) == 0 {
		t.Fatalf("the profile feature imports none of the module's packages (imports: %q): the listing is wrong", imports)
	}
	t.Logf("the profile feature imports %q", ours)
}

// TestTestsUsePublicAPI checks that these tests drive the example through
// public packages only (package sigratest among them), as the tests of an
// application outside the module must.
func TestTestsUsePublicAPI(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go tool is not on PATH")
	}
	const pkg = "github.com/sigra-go/sigra/examples/profile"
	out, err := exec.Command("go", "list", "-json", pkg).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var p struct{ TestImports []string }
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, imp := range p.TestImports {
		if strings.Contains(imp+"/", "/internal/") {
			t.Errorf("the example's tests import %s, which is not public", imp)
		}
		found = found || imp == "github.com/sigra-go/sigra/sigratest"
	}
	if !found {
		t.Errorf("the example's tests do not import sigratest (imports: %q): the listing is wrong", p.TestImports)
	}
}
