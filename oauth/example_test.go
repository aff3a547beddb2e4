package oauth_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store/sqlite"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// Example wires provider sign-in into an application beside the account
// flows, with an OpenID Connect issuer found by discovery (here a local
// one, standing for Google or a company's identity provider). A browser
// then presses "Continue with", signs in at the provider, and comes back
// signed in to a new account.
func Example() {
	ctx := context.Background()
	idp, err := mockoidc.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Shutdown()
	idp.QueueUser(&mockoidc.MockUser{Subject: "248289761001", Email: "user@example.com", EmailVerified: true})

	dir, err := os.MkdirTemp("", "sigra-oauth-example")
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
	base := "http://localhost:" + strings.TrimPrefix(srv.Listener.Addr().String(), "127.0.0.1:")
	s, err := site.New(site.Config{BaseURL: base})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(s, db, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	u, err := ui.New(s, ui.Config{Packs: []ui.Pack{account.Pages(), oauth.Pages()}})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := middleware.New(sessions, middleware.Config{Routes: u})
	if err != nil {
		log.Fatal(err)
	}
	hasher, err := password.New(password.Config{})
	if err != nil {
		log.Fatal(err)
	}
	keys, err := token.NewSealKey("k1")
	if err != nil {
		log.Fatal(err)
	}
	mailbox := mail.NewMailbox(mail.MailboxConfig{})

	providers, err := oauth.New(oauth.Config{
		Store: db, Sessions: sessions, Guard: guard, UI: u, Mail: mailbox, Keys: keys,
		Providers: []oauth.Provider{
			oauth.OIDC("corp", "Corp ID", idp.Issuer(), idp.ClientID, idp.ClientSecret),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	accounts, err := account.New(account.Config{
		Store: db, Sessions: sessions, Guard: guard, UI: u, Passwords: hasher, Mail: mailbox,
		Sections: []ui.Section{providers.Section()},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	accounts.Mount(mux)
	providers.Mount(mux)
	u.Mount(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if u := sigra.UserFrom(r.Context()); u != nil {
			fmt.Fprintf(w, "signed in as %s", u.Email)
		}
	})
	csrf, err := middleware.CSRF(s, middleware.CSRFConfig{
		TrustedOrigins: providers.TrustedOrigins(),
		Exempt:         func(r *http.Request) bool { return providers.CSRFExempt(r) || middleware.TokenExempt(r) },
	})
	if err != nil {
		log.Fatal(err)
	}
	srv.Config.Handler = csrf(sessions.LoadAndSave(mux))
	srv.Start()
	defer srv.Close()

	// The browser: the button's form, the provider, and back.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	page, err := browser.Get(base + "/auth/oauth")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	tok := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/auth/oauth/corp/start",
		strings.NewReader(url.Values{"csrf_token": {html.UnescapeString(string(tok[1]))}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err := browser.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	landed, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(string(landed))
	// Output: signed in as user@example.com
}

// Example_providers configures the built-in providers from the
// environment: each is offered only when its client ID is set.
func Example_providers() {
	var ps []oauth.Provider
	if id := os.Getenv("GOOGLE_CLIENT_ID"); id != "" {
		ps = append(ps, oauth.Google(id, os.Getenv("GOOGLE_CLIENT_SECRET")))
	}
	if id := os.Getenv("GITHUB_CLIENT_ID"); id != "" {
		ps = append(ps, oauth.GitHub(id, os.Getenv("GITHUB_CLIENT_SECRET")))
	}
	if id := os.Getenv("MICROSOFT_CLIENT_ID"); id != "" {
		ps = append(ps, oauth.Microsoft("common", id, os.Getenv("MICROSOFT_CLIENT_SECRET")))
	}
	if id := os.Getenv("GITLAB_CLIENT_ID"); id != "" {
		ps = append(ps, oauth.GitLab(id, os.Getenv("GITLAB_CLIENT_SECRET")))
	}
	if id := os.Getenv("APPLE_CLIENT_ID"); id != "" {
		// The secret is a JWT signed with the team's key (goth's
		// apple.MakeSecret), renewed before it expires.
		ps = append(ps, oauth.Apple(id, os.Getenv("APPLE_CLIENT_SECRET")))
	}
	_ = ps // oauth.Config.Providers
}

// A stored provider token is sealed with the application's keys and bound
// to its identity; after a new key is put first, the token opens with the
// ring and seals again under the new key (what "sigra keys reseal" does
// for every stored token).
func ExampleSealToken() {
	oldKeys := "old:" + strings.Repeat("A", 43) + "="
	rotated := "new:" + strings.Repeat("B", 43) + "=," + oldKeys
	sealed, err := oauth.SealToken(oldKeys, "google", "subject-1", oauth.TokenAccess, "ya29.token")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := oauth.OpenToken(rotated, "google", "subject-1", oauth.TokenAccess, sealed)
	if err != nil {
		log.Fatal(err)
	}
	resealed, err := oauth.SealToken(rotated, "google", "subject-1", oauth.TokenAccess, tok)
	if err != nil {
		log.Fatal(err)
	}
	_, err = oauth.OpenToken(oldKeys, "google", "subject-1", oauth.TokenAccess, resealed)
	fmt.Println(tok, err != nil)
	// Another identity's token does not open as this one's.
	_, err = oauth.OpenToken(rotated, "google", "subject-2", oauth.TokenAccess, resealed)
	fmt.Println(err != nil)
	// Output:
	// ya29.token true
	// true
}

// AfterRegister receives what the provider said of the person whose
// sign-in created an account, such as the name Sign in with Apple sends
// only at the first authorization; AfterSignIn runs after each completed
// provider sign-in.
func ExampleConfig_hooks() {
	cfg := oauth.Config{
		AfterRegister: func(ctx context.Context, u *sigra.User, p oauth.Profile) {
			if p.Name != "" {
				fmt.Printf("store the display name %q of user %s\n", p.Name, u.ID)
			}
		},
		AfterSignIn: func(ctx context.Context, u *sigra.User) {
			fmt.Printf("user %s signed in\n", u.ID)
		},
	}
	cfg.AfterRegister(context.Background(), &sigra.User{ID: "u1", Email: "grace@example.com"},
		oauth.Profile{Provider: "apple", GivenName: "Grace", FamilyName: "Hopper", Name: "Grace Hopper"})
	// Output:
	// store the display name "Grace Hopper" of user u1
}
