package main

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/oauth2-proxy/mockoidc"
)

// The local OpenID provider is oauth2-proxy/mockoidc with a consent page
// in front of its authorization endpoint, on the provider's own listener:
// the browser's authorization request shows which application asks and
// which test account it will get, and waits for "Allow" or "Deny".
//
//   - Allow is a POST to the same URL (the query, and so the state, nonce
//     and PKCE challenge, untouched), which mockoidc answers as it would
//     the GET: a redirect to the client with a code, for the chosen
//     account. mockoidc sees the query alone, never a field of the body.
//   - Deny redirects to the client's redirect URI with
//     error=access_denied and the state (RFC 6749, section 4.1.2.1).
//
// Before either, the client ID and the redirect URI must be the ones
// registered: otherwise the page says so and redirects nowhere (RFC 6749,
// section 4.1.2.1 again). The decision is refused from another origin
// (http.CrossOriginProtection), so a page elsewhere cannot consent for
// the user.

// localClientName is the name the demo registered its client under at
// the local provider, which the consent page shows.
const localClientName = "Sigra Demo"

// localAccounts are the test accounts the consent page offers; the first
// is mockoidc's default user and is chosen unless the user picks another.
var localAccounts = []*mockoidc.MockUser{
	mockoidc.DefaultUser(),
	{Subject: "2345678901", Email: "john.roe@example.com", EmailVerified: true, PreferredUsername: "john.roe"},
}

// localIDP is a running local provider: mockoidc behind the consent page.
type localIDP struct {
	m *mockoidc.MockOIDC
	// redirect is the redirect URI registered for the client.
	redirect string
	// formAction is the page's CSP form-action: the provider itself and
	// the client's origin, where its redirects lead (a browser applies
	// form-action to the redirects after a form).
	formAction string
	// mu lets one request at a time into mockoidc, whose session map is
	// not safe for concurrent use, and holds the chosen account in its
	// user queue from the push to the authorization that pops it, so that
	// two consents at once each get their own account.
	mu sync.Mutex
	// origins refuses a decision posted from another origin.
	origins *http.CrossOriginProtection
}

// startLocalIDP starts mockoidc on a free local port with the consent page
// in front of it, for a client whose redirect URI is redirect.
func startLocalIDP(redirect string) (*localIDP, error) {
	ru, err := url.Parse(redirect)
	if err != nil {
		return nil, err
	}
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		return nil, err
	}
	l := &localIDP{m: m, redirect: redirect, origins: http.NewCrossOriginProtection(),
		formAction: "'self' " + ru.Scheme + "://" + ru.Host}
	if err := m.AddMiddleware(l.consent); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if err := m.Start(ln, nil); err != nil {
		ln.Close()
		return nil, err
	}
	return l, nil
}

// close stops the provider.
func (l *localIDP) close() { _ = l.m.Shutdown() }

// consentData is what the consent page shows.
type consentData struct {
	App      string               // the client's registered name
	Action   string               // the authorization URL the decision is posted to
	Scopes   []string             // the scopes asked for
	Accounts []*mockoidc.MockUser // the test accounts to choose from
	Error    string               // why the request cannot be answered, instead of the form
}

// consent is mockoidc middleware: it serves the consent page at the
// authorization endpoint and passes every other request through, one at
// a time.
func (l *localIDP) consent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != mockoidc.AuthorizationEndpoint {
			l.mu.Lock()
			defer l.mu.Unlock()
			next.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		if q.Get("client_id") != l.m.ClientID {
			l.page(w, http.StatusBadRequest, consentData{Error: "This application is not registered with Local ID."})
			return
		}
		if q.Get("redirect_uri") != l.redirect {
			l.page(w, http.StatusBadRequest, consentData{Error: "The address this application asked to return to is not the one it registered. Nothing was shared."})
			return
		}
		switch r.Method {
		case http.MethodGet:
			l.page(w, http.StatusOK, consentData{
				Action:   r.URL.RequestURI(),
				Scopes:   strings.Fields(q.Get("scope")),
				Accounts: localAccounts,
			})
		case http.MethodPost:
			if err := l.origins.Check(r); err != nil {
				l.page(w, http.StatusForbidden, consentData{Error: "This decision was sent from another site. Start again from the application."})
				return
			}
			if err := r.ParseForm(); err != nil {
				l.page(w, http.StatusBadRequest, consentData{Error: "The form could not be read. Start again from the application."})
				return
			}
			decision, email := r.PostForm.Get("decision"), r.PostForm.Get("account")
			// mockoidc reads the request's form, where a body field
			// would come before the query's: it gets the query alone,
			// the one checked above.
			r.Form = q
			switch decision {
			case "deny":
				l.deny(w, r, q.Get("state"))
			case "allow":
				u := localAccount(email)
				if u == nil {
					l.page(w, http.StatusBadRequest, consentData{Error: "Choose one of the test accounts. Start again from the application."})
					return
				}
				l.allow(w, r, u, next)
			default:
				l.page(w, http.StatusBadRequest, consentData{Error: "Choose Allow or Deny. Start again from the application."})
			}
		default:
			w.Header().Set("Allow", "GET, POST")
			l.page(w, http.StatusMethodNotAllowed, consentData{Error: "Open this page from the application."})
		}
	})
}

// localAccount returns the test account of email, or nil.
func localAccount(email string) *mockoidc.MockUser {
	for _, u := range localAccounts {
		if u.Email == email {
			return u
		}
	}
	return nil
}

// allow hands the authorization request to mockoidc for account u.
func (l *localIDP) allow(w http.ResponseWriter, r *http.Request, u *mockoidc.MockUser, next http.Handler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m.QueueUser(u)
	next.ServeHTTP(w, r)
	// A request mockoidc refused did not pop the account: drop it, so
	// that it does not go to the next authorization.
	q := l.m.UserQueue
	q.Lock()
	q.Queue = nil
	q.Unlock()
}

// deny sends the browser back to the client with error=access_denied and
// the state, keeping the redirect URI's own query.
func (l *localIDP) deny(w http.ResponseWriter, r *http.Request, state string) {
	u, _ := url.Parse(l.redirect) // parsed when the provider started
	v := u.Query()
	v.Set("error", "access_denied")
	v.Set("error_description", "The user denied the request.")
	if state != "" {
		v.Set("state", state)
	}
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// page writes the consent page (or its error) with a policy that allows
// its own style and forms only to the provider and the client.
func (l *localIDP) page(w http.ResponseWriter, status int, d consentData) {
	d.App = localClientName
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src '"+consentStyleHash+"'; form-action "+l.formAction+"; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_ = consentPage.Execute(w, d)
}

// consentStyle is the page's style sheet: light and dark, with contrast
// above WCAG AA in both.
const consentStyle = `
:root { color-scheme: light dark; --bg: #f4f4f5; --card: #ffffff; --fg: #18181b; --muted: #52525b; --line: #d4d4d8; --accent: #0f766e; --on-accent: #ffffff; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #18181b; --card: #27272a; --fg: #fafafa; --muted: #d4d4d8; --line: #52525b; --accent: #5eead4; --on-accent: #042f2e; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 16px/1.5 system-ui, sans-serif; }
main { max-width: 28rem; margin: 3rem auto; padding: 1.5rem; background: var(--card); border: 1px solid var(--line); border-radius: 0.5rem; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
.brand { color: var(--muted); font-size: 0.9rem; margin: 0 0 0.25rem; }
fieldset { border: 1px solid var(--line); border-radius: 0.375rem; margin: 1rem 0; padding: 0.5rem 1rem 0.75rem; }
legend { padding: 0 0.25rem; font-weight: 600; }
label { display: block; padding: 0.25rem 0; }
.actions { display: flex; gap: 0.75rem; }
button { font: inherit; padding: 0.5rem 1.25rem; border-radius: 0.375rem; border: 1px solid var(--accent); cursor: pointer; }
button[value=allow] { background: var(--accent); color: var(--on-accent); }
button[value=deny] { background: transparent; color: var(--fg); border-color: var(--line); }
button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.note { color: var(--muted); font-size: 0.9rem; margin-top: 1.25rem; }
`

// consentStyleHash is consentStyle's CSP hash source.
var consentStyleHash = func() string {
	sum := sha256.Sum256([]byte(consentStyle))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}()

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Error}}Local ID: request refused{{else}}Sign in to {{.App}} with Local ID{{end}}</title>
<style>` + consentStyle + `</style>
</head>
<body>
<main>
<p class="brand">Local ID, the demo's test provider</p>
{{if .Error}}
<h1>This request cannot be answered</h1>
<p role="alert">{{.Error}}</p>
{{else}}
<h1>Sign in to {{.App}}</h1>
<p><strong>{{.App}}</strong> asks to sign you in with your Local ID account.{{if .Scopes}} It asks for: {{range $i, $s := .Scopes}}{{if $i}}, {{end}}{{$s}}{{end}}.{{end}}</p>
<form method="post" action="{{.Action}}">
<fieldset>
<legend>Account</legend>
{{range $i, $a := .Accounts}}<label><input type="radio" name="account" value="{{$a.Email}}"{{if eq $i 0}} checked{{end}}> {{$a.Email}}</label>
{{end}}</fieldset>
<div class="actions">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>
<p class="note">Local ID runs inside the demo for development: it signs in a test account without a password.</p>
{{end}}
</main>
</body>
</html>
`))
