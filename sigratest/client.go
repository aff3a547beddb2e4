package sigratest

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/ui"
)

// userAgent is the browser a Client claims to be.
const userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"

// Client is one browser on the application: a cookie jar, the form token
// of the last page it read, and the headers a browser sends with a
// same-origin form. Redirects are not followed, so a test sees each
// answer (a guard's redirect to the sign-in page, a form's 303). Its
// failures are reported on the test that made it (see [Client.For]). A
// Client is for one goroutine at a time.
type Client struct {
	// HTTP is the client's http.Client, with its cookie jar: requests
	// sent with it to the test server's address (App.Server.URL) carry
	// the session.
	HTTP *http.Client
	// UserAgent is sent with every request.
	UserAgent string

	t testing.TB
	a *App
	// shared is what copies made by For share with the original.
	shared *shared
}

// shared is the state a Client shares with its copies.
type shared struct {
	csrf string // the form token of the last page read
}

// Response is an answer read in full.
type Response struct {
	*http.Response
	// Body is the response body.
	Body string
}

// Client returns a new browser, signed out, whose failures are reported
// on t.
func (a *App) Client(t testing.TB) *Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("sigratest: cookie jar: %v", err)
	}
	return &Client{
		t: t, a: a, UserAgent: userAgent, shared: &shared{},
		HTTP: &http.Client{Transport: a.transport, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// For returns the browser with its failures reported on t, for use inside
// a subtest: the copy shares the cookies and form token of c.
func (c *Client) For(t testing.TB) *Client {
	d := *c
	d.t = t
	return &d
}

// target resolves a path of the application ("/auth/login"), or an
// absolute URL on its base URL or its server, to the server's address.
func (c *Client) target(path string) string {
	c.t.Helper()
	switch {
	case strings.HasPrefix(path, "/"):
		return c.a.Server.URL + path
	case path == c.a.URL || strings.HasPrefix(path, c.a.URL+"/") || strings.HasPrefix(path, c.a.URL+"?"):
		return c.a.Server.URL + strings.TrimPrefix(path, c.a.URL)
	case strings.HasPrefix(path, c.a.Server.URL):
		return path
	}
	c.t.Fatalf("sigratest: %q is neither a path nor a URL of the application (%s)", path, c.a.URL)
	return ""
}

// NewRequest returns a request to the application carrying the browser's
// cookies (its session) and User-Agent; a request that is not a GET, HEAD
// or OPTIONS also carries the form token (in middleware.CSRFHeaderName)
// and the headers of a same-origin form, so the CSRF checks let it
// through. Send it with any client, or serve it with App.Handler and an
// httptest.ResponseRecorder; path is as for [Client.Do]. Cookies the
// answer sets do not reach the browser.
func (c *Client) NewRequest(method, path string, body io.Reader) *http.Request {
	c.t.Helper()
	req, err := http.NewRequest(method, c.target(path), body)
	if err != nil {
		c.t.Fatalf("sigratest: request %s %s: %v", method, path, err)
	}
	if body == nil {
		req.Body = http.NoBody // as a server gives it to handlers
	}
	req.RemoteAddr = "127.0.0.1:1234" // what a handler served directly sees
	for _, ck := range c.HTTP.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	req.Header.Set("User-Agent", c.UserAgent)
	if method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions {
		req.Header.Set(middleware.CSRFHeaderName, c.CSRF())
		c.sameOrigin(req.Header)
	}
	return req
}

// sameOrigin sets the headers a browser sends with a same-origin request.
func (c *Client) sameOrigin(h http.Header) {
	h.Set("Origin", c.a.Server.URL)
	h.Set("Sec-Fetch-Site", "same-origin")
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// Do sends a request with the browser (path is a path of the application
// or an absolute URL on its base URL) and reads the answer. The form token
// of an HTML answer is kept for the next POST.
func (c *Client) Do(method, path string, header http.Header, body io.Reader) *Response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.target(path), body)
	if err != nil {
		c.t.Fatalf("sigratest: request %s %s: %v", method, path, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.UserAgent)
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("sigratest: %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("sigratest: %s %s: read the answer: %v", method, path, err)
	}
	if m := csrfRE.FindSubmatch(b); m != nil {
		c.shared.csrf = html.UnescapeString(string(m[1]))
	}
	return &Response{Response: res, Body: string(b)}
}

// Get fetches a page (path as for [Client.Do]).
func (c *Client) Get(path string) *Response {
	c.t.Helper()
	return c.Do(http.MethodGet, path, nil, nil)
}

// PostForm submits a same-origin form, adding the form token (csrf_token)
// unless form has one.
func (c *Client) PostForm(path string, form url.Values) *Response {
	c.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	if f.Get("csrf_token") == "" {
		f.Set("csrf_token", c.CSRF())
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	c.sameOrigin(h)
	return c.Do(http.MethodPost, path, h, strings.NewReader(f.Encode()))
}

// JSON sends a request asking for JSON, with body as a JSON body when it
// is not empty, and the headers of a same-origin request.
func (c *Client) JSON(method, path, body string) *Response {
	c.t.Helper()
	h := http.Header{}
	h.Set("Accept", "application/json")
	var rd io.Reader
	if body != "" {
		h.Set("Content-Type", "application/json")
		rd = strings.NewReader(body)
	}
	if method != http.MethodGet && method != http.MethodHead {
		c.sameOrigin(h)
	}
	return c.Do(method, path, h, rd)
}

// CSRF returns the form token of the last page the browser read. If it
// has read none, it fetches the sign-in page, or the settings page when
// signed in, for one.
func (c *Client) CSRF() string {
	c.t.Helper()
	if c.shared.csrf != "" {
		return c.shared.csrf
	}
	if c.a.UI == nil {
		c.t.Fatal("sigratest: no form token yet, and the Host has no UI to find a page with one: Get a page with a form first")
	}
	var tried []string
	for _, name := range []string{ui.RouteSignIn, ui.RouteSettings} {
		if p, ok := c.a.UI.Route(name); ok {
			tried = append(tried, p)
			if c.Get(p); c.shared.csrf != "" {
				return c.shared.csrf
			}
		}
	}
	c.t.Fatalf("sigratest: no form token on the pages %q: Get a page with a form first", tried)
	return ""
}

// Cookie returns the value of the browser's cookie name, or "".
func (c *Client) Cookie(name string) string {
	u, _ := url.Parse(c.a.Server.URL)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// Level is how far [App.SignIn] takes a sign-in.
type Level int

// Sign-in levels.
const (
	// AAL1 is a sign-in with the password alone, for a user without a
	// second factor.
	AAL1 Level = iota + 1
	// AAL2 is a sign-in with the password then the TOTP challenge.
	AAL2
	// Pending stops after the password of a user with TOTP: the session
	// waits for the second factor.
	Pending
)

// String returns the level's name.
func (l Level) String() string {
	switch l {
	case AAL1:
		return "AAL1"
	case AAL2:
		return "AAL2"
	case Pending:
		return "Pending"
	}
	return "Level(" + strconv.Itoa(int(l)) + ")"
}

// SignIn signs the browser in as u through the application's routes: it
// posts the sign-in form (email and password, with the form token) and,
// for AAL2, the TOTP challenge with a code valid at the site's clock and
// not used yet. Then, when the application has a session-information
// route, it checks that the session is what level asks for. A fresh
// sign-in also counts as a re-authentication: the session is in sudo for
// the guard's sudo window (see [App.Sudo]).
//
// SignIn fails t when the level does not fit the user (AAL1 for a user
// with TOTP, AAL2 or Pending for one without, any level for a user
// without a password), when the application refuses the sign-in (a locked,
// disabled or, where confirmation is required, unconfirmed user; a wrong
// password), or when the session is not what level asks for.
func (a *App) SignIn(t testing.TB, c *Client, u *User, level Level) {
	t.Helper()
	c = c.For(t)
	switch {
	case u == nil:
		t.Fatal("sigratest: SignIn: no user")
	case level != AAL1 && level != AAL2 && level != Pending:
		t.Fatalf("sigratest: SignIn %q: unknown level %v", u.Email, level)
	case u.Password == "":
		t.Fatalf("sigratest: SignIn %q: the user has no password", u.Email)
	case level == AAL1 && u.TOTPSecret != "":
		t.Fatalf("sigratest: SignIn %q at AAL1: the user has TOTP on, so the application asks for a second factor: sign in at AAL2 or Pending", u.Email)
	case level != AAL1 && u.TOTPSecret == "":
		t.Fatalf("sigratest: SignIn %q at %v: the user has no TOTP (create it with UserOptions.TOTP)", u.Email, level)
	case a.UI == nil:
		t.Fatal("sigratest: SignIn: the Host has no UI to find the sign-in route")
	}
	signIn, ok := a.UI.Route(ui.RouteSignIn)
	if !ok {
		t.Fatal("sigratest: SignIn: the application has no sign-in route (mount the account feature)")
	}
	res := c.PostForm(signIn, url.Values{"email": {u.Email}, "password": {u.Password}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sigratest: SignIn %q: the application refused the sign-in: %s", u.Email, refusal(res))
	}
	challenge, hasChallenge := a.UI.Route(ui.RouteSecondFactor)
	loc, _, _ := strings.Cut(res.Header.Get("Location"), "?")
	asked := hasChallenge && loc == challenge
	if level == AAL1 {
		if asked {
			t.Fatalf("sigratest: SignIn %q at AAL1: the application asks for a second factor", u.Email)
		}
		a.checkSession(t, c, u, "authenticated", 1)
		return
	}
	if !asked {
		t.Fatalf("sigratest: SignIn %q at %v: after the password the application sent the browser to %q, not to the second-factor challenge", u.Email, level, res.Header.Get("Location"))
	}
	if level == Pending {
		a.checkSession(t, c, u, "pending", 0)
		return
	}
	res = c.PostForm(challenge, url.Values{"code": {a.freshCode(t, u)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sigratest: SignIn %q at AAL2: the application refused the TOTP code: %s", u.Email, refusal(res))
	}
	a.checkSession(t, c, u, "authenticated", 2)
}

// SignedIn returns a new browser signed in as u at level (see
// [App.SignIn]).
func (a *App) SignedIn(t testing.TB, u *User, level Level) *Client {
	t.Helper()
	c := a.Client(t)
	a.SignIn(t, c, u, level)
	return c
}

// SignedInRequest returns a request to the application from a new browser
// signed in as u at level (see [App.SignIn] and [Client.NewRequest]).
func (a *App) SignedInRequest(t testing.TB, u *User, level Level, method, path string, body io.Reader) *http.Request {
	t.Helper()
	return a.SignedIn(t, u, level).NewRequest(method, path, body)
}

// Sudo re-authenticates the browser, signed in as u, at the application's
// sudo route with u's password (or, for a user without one, a TOTP code),
// so that routes behind RequireSudo let it through for the guard's sudo
// window from the site's clock. It fails t when the application refuses.
func (a *App) Sudo(t testing.TB, c *Client, u *User) {
	t.Helper()
	c = c.For(t)
	if u == nil {
		t.Fatal("sigratest: Sudo: no user")
	}
	if a.UI == nil {
		t.Fatal("sigratest: Sudo: the Host has no UI to find the sudo route")
	}
	p, ok := a.UI.Route(ui.RouteSudo)
	if !ok {
		t.Fatal("sigratest: Sudo: the application has no sudo route (mount the account feature)")
	}
	form := url.Values{}
	switch {
	case u.Password != "":
		form.Set("password", u.Password)
	case u.TOTPSecret != "":
		form.Set("code", a.freshCode(t, u))
	default:
		t.Fatalf("sigratest: Sudo %q: the user has neither a password nor TOTP", u.Email)
	}
	c.Get(p) // the page's form token
	res := c.PostForm(p, form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sigratest: Sudo %q: the application refused the re-authentication: %s", u.Email, refusal(res))
	}
}

// freshCode returns a TOTP code of u that the challenge accepts at the
// site's clock: of the steps it accepts (the current one and one on
// either side), the first after the last used one.
func (a *App) freshCode(t testing.TB, u *User) string {
	t.Helper()
	if a.Store == nil {
		t.Fatal("sigratest: the Host has no Store to read the user's TOTP state")
	}
	s, err := a.Store.TOTPByUser(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("sigratest: the TOTP state of %q: %v", u.Email, err)
	}
	now := a.Site.Now()
	cur := now.Unix() / totpPeriod
	for step := cur; step <= cur+1; step++ {
		if step <= s.LastStep {
			continue
		}
		c, err := TOTPCodeAt(u.TOTPSecret, now.Add(time.Duration(step-cur)*totpPeriod*time.Second))
		if err != nil {
			t.Fatalf("sigratest: TOTP code of %q: %v", u.Email, err)
		}
		return c
	}
	t.Fatalf("sigratest: every TOTP code of %q that the application accepts now was used already: advance the clock by 30 seconds", u.Email)
	return ""
}

// checkSession checks the browser's session at the session-information
// route, when the application has one.
func (a *App) checkSession(t testing.TB, c *Client, u *User, state string, aal int) {
	t.Helper()
	p, ok := a.UI.Route("session_info")
	if !ok {
		return
	}
	res := c.JSON(http.MethodGet, p, "")
	var got struct {
		State string `json:"state"`
		AAL   int    `json:"aal"`
		User  struct {
			Email string `json:"email"`
		} `json:"user"`
	}
	if err := json.Unmarshal([]byte(res.Body), &got); err != nil {
		t.Fatalf("sigratest: session information at %s: %v (%d: %.300s)", p, err, res.StatusCode, res.Body)
	}
	if got.State != state || got.AAL != aal || (state == "authenticated" && got.User.Email != u.Email) {
		t.Fatalf("sigratest: sign in as %q: got a session %s at AAL%d for %q, want %s at AAL%d", u.Email, got.State, got.AAL, got.User.Email, state, aal)
	}
}

var alertRE = regexp.MustCompile(`(?s)role="alert"[^>]*>(.*?)</div>`)
var tagRE = regexp.MustCompile(`<[^>]*>`)

// refusal describes an answer that refused a request: its status and the
// page's error message, or the start of its body.
func refusal(res *Response) string {
	msg := ""
	if m := alertRE.FindStringSubmatch(res.Body); m != nil {
		msg = strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(m[1], " "))), " ")
	}
	if msg == "" {
		msg = strings.Join(strings.Fields(res.Body), " ")
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
	}
	if loc := res.Header.Get("Location"); loc != "" {
		msg += " (to " + loc + ")"
	}
	return res.Status + ": " + msg
}
