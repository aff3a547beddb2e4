package mfa_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// Example wires two-factor authentication into an application: one site,
// a UI built with the account and mfa packs, the MFA as the account flows'
// second factor with its section on the settings page, both mounted on one
// mux, and a route that needs two factors behind RequireAAL2. A user then
// signs in, is sent to set up an authenticator app, enrolls with a code,
// and reaches the route.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sigra-mfa-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	srv := httptest.NewUnstartedServer(nil) // its address is the base URL
	base := "http://" + srv.Listener.Addr().String()
	s, err := site.New(site.Config{BaseURL: base})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(s, db, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	views, err := ui.New(s, ui.Config{Brand: ui.Brand{ProductName: "Example"}, Packs: []ui.Pack{account.Pages(), mfa.Pages()}})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := middleware.New(sessions, middleware.Config{Routes: views})
	if err != nil {
		log.Fatal(err)
	}
	// Both keys come from the environment in a real application, and are
	// kept: the mail key seals queued messages, the TOTP keys seal the
	// authenticator secrets (a secret sealed with a lost key cannot be
	// opened).
	mailKey, err := token.NewSealKey("m1")
	if err != nil {
		log.Fatal(err)
	}
	totpKeys, err := token.NewSealKey("t1")
	if err != nil {
		log.Fatal(err)
	}
	outbox, err := mail.NewOutbox(mail.OutboxConfig{Store: db, Keys: mailKey, Sender: mail.NewMailbox(mail.MailboxConfig{})})
	if err != nil {
		log.Fatal(err)
	}
	hasher, err := password.New(password.Config{})
	if err != nil {
		log.Fatal(err)
	}

	second, err := mfa.New(mfa.Config{Store: db, Sessions: sessions, Guard: guard, UI: views, Mail: outbox, Keys: totpKeys})
	if err != nil {
		log.Fatal(err)
	}
	accounts, err := account.New(account.Config{
		Store: db, Sessions: sessions, Guard: guard, UI: views, Passwords: hasher, Mail: outbox,
		SecondFactor: second,                         // enrolled users are asked for a code after their password
		Sections:     []ui.Section{second.Section()}, // two-factor status on the settings page
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	accounts.Mount(mux) // /auth/login, /auth/register, /auth/settings, ...
	second.Mount(mux)   // /auth/mfa, /auth/mfa/setup, /auth/mfa/challenge, ...
	views.Mount(mux)    // /auth/assets/
	mux.Handle("GET /admin", guard.RequireAAL2(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "signed in with two factors")
	})))
	csrf, err := middleware.CSRF(s, middleware.CSRFConfig{})
	if err != nil {
		log.Fatal(err)
	}
	srv.Config.Handler = middleware.SecureHeaders(s, middleware.HeadersConfig{})(csrf(sessions.LoadAndSave(mux)))
	srv.Start()
	defer srv.Close()

	// A JSON client with a cookie jar plays the browser.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	call := func(method, path, body string) (int, map[string]any) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	user := `{"email":"user@example.com","password":"correct horse battery staple"}`
	call("POST", "/auth/register", user)
	call("POST", "/auth/login", user)

	status, out := call("GET", "/admin", "")
	fmt.Println("one factor:", status, out["error"].(map[string]any)["code"])

	_, setup := call("GET", "/auth/mfa/setup", "")
	secret := setup["secret"].(string) // shown to the user as a QR code and a key
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	_, enrolled := call("POST", "/auth/mfa/setup", fmt.Sprintf(`{"code":%q,"enrollment":%q}`, code, setup["enrollment"]))
	fmt.Println("recovery codes:", len(enrolled["recovery_codes"].([]any)))

	req, _ := http.NewRequest("GET", base+"/admin", nil)
	res, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println("two factors:", res.StatusCode, string(page))
	// Output:
	// one factor: 403 aal2_required
	// recovery codes: 10
	// two factors: 200 signed in with two factors
}

// ExampleNew shows that New checks its configuration instead of
// panicking: the error wraps sigra.ErrConfig and names the field.
func ExampleNew() {
	_, err := mfa.New(mfa.Config{})
	fmt.Println(errors.Is(err, sigra.ErrConfig))
	fmt.Println(err)
	// Output:
	// true
	// sigra: invalid config: mfa: Config.Store is required
}

// Keys rotate: the first key seals new TOTP secrets, the others still open
// secrets sealed before. To rotate, put a new key first and keep the old
// one after it as long as any secret sealed with it may remain.
func ExampleConfig_keys() {
	newKey, err := token.NewSealKey("t2") // made once, then kept with the others
	if err != nil {
		log.Fatal(err)
	}
	oldKey := os.Getenv("SIGRA_TOTP_KEYS") // "t1:<base64 of 32 bytes>" until now
	cfg := mfa.Config{
		// Store, Sessions, Guard, UI and Mail as in the package example.
		Keys: newKey + "," + oldKey,
	}
	_ = cfg
}
