package passkey_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/passkey"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// Example wires passkeys beside the account and two-factor flows: one
// site, a UI with the three packs, the two-factor flows as the passkey
// sign-in's second factor, both sections on the settings page, everything
// mounted on one mux. A script (or the pack's own passkey.js) then asks
// for the options of a sign-in without an address and hands them to
// navigator.credentials.get.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sigra-passkey-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	srv := httptest.NewUnstartedServer(nil)
	// WebAuthn needs a domain: the relying party ID defaults to the base
	// URL's host, localhost in development.
	_, port, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	base := "http://localhost:" + port
	s, err := site.New(site.Config{BaseURL: base})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(s, db, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	views, err := ui.New(s, ui.Config{Packs: []ui.Pack{account.Pages(), mfa.Pages(), passkey.Pages()}})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := middleware.New(sessions, middleware.Config{Routes: views})
	if err != nil {
		log.Fatal(err)
	}
	keys, err := token.NewSealKey("k1") // from the environment in a real application, and kept
	if err != nil {
		log.Fatal(err)
	}
	outbox, err := mail.NewOutbox(mail.OutboxConfig{Store: db, Keys: keys, Sender: mail.NewMailbox(mail.MailboxConfig{})})
	if err != nil {
		log.Fatal(err)
	}
	hasher, err := password.New(password.Config{})
	if err != nil {
		log.Fatal(err)
	}
	second, err := mfa.New(mfa.Config{Store: db, Sessions: sessions, Guard: guard, UI: views, Mail: outbox, Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	keysOf, err := passkey.New(passkey.Config{
		Store: db, Sessions: sessions, Guard: guard, UI: views, Mail: outbox, Keys: keys,
		SecondFactor: second, // a passkey without user verification is one factor
	})
	if err != nil {
		log.Fatal(err)
	}
	accounts, err := account.New(account.Config{
		Store: db, Sessions: sessions, Guard: guard, UI: views, Passwords: hasher, Mail: outbox,
		SecondFactor: second, Sections: []ui.Section{second.Section(), keysOf.Section()},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	accounts.Mount(mux)
	second.Mount(mux)
	keysOf.Mount(mux) // /auth/passkeys, /auth/passkeys/signin, ...
	views.Mount(mux)  // /auth/assets/passkey.js among them
	csrf, err := middleware.CSRF(s, middleware.CSRFConfig{})
	if err != nil {
		log.Fatal(err)
	}
	srv.Config.Handler = middleware.SecureHeaders(s, middleware.HeadersConfig{})(csrf(sessions.LoadAndSave(mux)))
	srv.Start()
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/auth/passkeys/signin/options", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	var options struct {
		PublicKey struct {
			RPID             string `json:"rpId"`
			UserVerification string `json:"userVerification"`
			Challenge        string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.NewDecoder(res.Body).Decode(&options); err != nil {
		log.Fatal(err)
	}
	fmt.Println("status:", res.StatusCode)
	fmt.Println("rpId:", options.PublicKey.RPID)
	fmt.Println("userVerification:", options.PublicKey.UserVerification)
	fmt.Println("challenge:", len(options.PublicKey.Challenge) > 0)
	// Output:
	// status: 200
	// rpId: localhost
	// userVerification: preferred
	// challenge: true
}

// ExampleNew shows that New checks its configuration instead of
// panicking: the error wraps sigra.ErrConfig and names the field. The
// relying party is checked the same way at start (an IP address as the
// RP ID, an origin with a path or on another domain).
func ExampleNew() {
	_, err := passkey.New(passkey.Config{})
	fmt.Println(errors.Is(err, sigra.ErrConfig))
	fmt.Println(err)
	// Output:
	// true
	// sigra: invalid config: passkey: Config.Store is required
}
