package account_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/testapp"
	"github.com/sigra-go/sigra/store"
)

// requestMagic asks for a sign-in link for email and returns it.
func requestMagic(t *testing.T, a *testapp.App, email string) string {
	t.Helper()
	wantStatus(t, "magic link request", a.Client().Post("/auth/magic", form("email", email)), http.StatusOK)
	return a.Link(a.LastMail(email), "/auth/magic/verify")
}

// TestMagicLinkFlow: the link opens a confirm page (GET signs nothing in
// and consumes nothing); its POST signs in, confirms the address and
// spends the link.
func TestMagicLinkFlow(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		u := &store.User{Email: "user@example.com", CreatedAt: a.Clock.Now()} // unconfirmed, no password
		if err := a.Store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		link := requestMagic(t, a, "user@example.com")
		if !strings.HasPrefix(link, a.URL+"/auth/magic/verify?token=") {
			t.Fatalf("link %q", link)
		}
		tok := testapp.TokenOf(link)
		c := a.Client()
		before := snapshot(t, a, "user@example.com")
		res := c.Get(link)
		wantStatus(t, "confirm page", res, http.StatusOK)
		if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("Referrer-Policy %q, want no-referrer", got)
		}
		if !strings.Contains(res.Body, `name="token" value="`+tok+`"`) {
			t.Errorf("confirm page does not post the token:\n%s", res.Body)
		}
		// A scanner following the link twice changes nothing.
		a.Client().Get(link)
		wantAnonymous(t, c)
		wantUnchanged(t, "GET of the magic link", a, before, "user@example.com")

		res = c.Post("/auth/magic/verify", form("token", tok))
		wantRedirect(t, "magic link", res, "/")
		wantSignedIn(t, c, "user@example.com")
		state := c.JSON("GET", "/auth/session", "")
		if !strings.Contains(state.Body, `"methods":["magic_link"]`) {
			t.Errorf("session methods: %s", state.Body)
		}
		if got := a.User("user@example.com"); !got.EmailConfirmedAt.Equal(a.Clock.Now()) {
			t.Errorf("address confirmed at %v, want now", got.EmailConfirmedAt)
		}
		wantAudit(t, a, audit.ActionMagicLinkRequest, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success"})
		wantAudit(t, a, audit.ActionMagicLinkLogin, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})
		wantAudit(t, a, audit.ActionLoginSuccess, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success", Metadata: map[string]string{"method": "magic_link"}})

		// Single use.
		other := a.Client()
		wantStatus(t, "used link page", other.Get(link), http.StatusGone)
		wantStatus(t, "used link", other.Post("/auth/magic/verify", form("token", tok)), http.StatusGone)
		wantAnonymous(t, other)

		// JSON request and verification.
		j := a.Client().JSON("POST", "/auth/magic", `{"email":"user@example.com"}`)
		if d := decode(t, j); j.StatusCode != http.StatusOK || !d.OK {
			t.Fatalf("JSON request: %d %s", j.StatusCode, j.Body)
		}
		tok = testapp.TokenOf(a.Link(a.LastMail("user@example.com"), "/auth/magic/verify"))
		jc := a.Client()
		j = jc.JSON("POST", "/auth/magic/verify", jsonOf(map[string]string{"token": tok, "return_to": "/private"}))
		if d := decode(t, j); !d.OK || d.Next != "/private" {
			t.Fatalf("JSON verify: %d %s", j.StatusCode, j.Body)
		}
		wantSignedIn(t, jc, "user@example.com")
	})
}

// TestMagicLinkTTL: the link lives 15 minutes.
func TestMagicLinkTTL(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		newUser(a, "a@example.com")
		newUser(a, "b@example.com")
		la, lb := requestMagic(t, a, "a@example.com"), requestMagic(t, a, "b@example.com")
		a.Clock.Advance(15*time.Minute - ms)
		c := a.Client()
		wantRedirect(t, "before expiry", c.Post("/auth/magic/verify", form("token", testapp.TokenOf(la))), "/")
		a.Clock.Advance(ms)
		c2 := a.Client()
		wantStatus(t, "page at expiry", c2.Get(lb), http.StatusGone)
		wantStatus(t, "link at expiry", c2.Post("/auth/magic/verify", form("token", testapp.TokenOf(lb))), http.StatusGone)
		wantAnonymous(t, c2)
	})
}

// TestMagicLinkEnumerationAndLimit: the request answers the same for known
// and unknown addresses, and a fourth request for one address within 15
// minutes sends nothing.
func TestMagicLinkEnumerationAndLimit(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		newUser(a, "user@example.com")
		known := a.Client().Post("/auth/magic", form("email", "user@example.com"))
		unknown := a.Client().Post("/auth/magic", form("email", "nobody@example.com"))
		if known.StatusCode != http.StatusOK || unknown.StatusCode != known.StatusCode || page(known.Body) != page(unknown.Body) {
			t.Errorf("answers differ: known %d, unknown %d", known.StatusCode, unknown.StatusCode)
		}
		jk := a.Client().JSON("POST", "/auth/magic", `{"email":"user@example.com"}`)
		ju := a.Client().JSON("POST", "/auth/magic", `{"email":"nobody@example.com"}`)
		if jk.StatusCode != http.StatusOK || jk.Body != ju.Body {
			t.Errorf("JSON answers differ: %s / %s", jk.Body, ju.Body)
		}
		a.Client().Post("/auth/magic", form("email", "user@example.com"))
		if n := mailCount(a, "user@example.com"); n != 3 {
			t.Fatalf("got %d emails, want 3", n)
		}
		fourth := a.Client().Post("/auth/magic", form("email", "user@example.com"))
		if fourth.StatusCode != known.StatusCode || page(fourth.Body) != page(known.Body) {
			t.Errorf("fourth request: got %d, want the same answer", fourth.StatusCode)
		}
		if n := mailCount(a, "user@example.com"); n != 3 {
			t.Errorf("got %d emails after the limit, want 3", n)
		}
	})
}

// TestMagicLinkConcurrent: of several browsers posting one link at once,
// exactly one is signed in.
func TestMagicLinkConcurrent(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		newUser(a, "user@example.com")
		tok := testapp.TokenOf(requestMagic(t, a, "user@example.com"))
		const n = 6
		type result struct {
			status int
			jar    http.CookieJar
			err    error
		}
		results := make([]result, n)
		var start, done sync.WaitGroup
		start.Add(1)
		for i := range n {
			done.Add(1)
			go func() {
				defer done.Done()
				jar, _ := cookiejar.New(nil)
				hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				req, err := http.NewRequest("POST", a.Server.URL+"/auth/magic/verify", strings.NewReader(jsonOf(map[string]string{"token": tok})))
				if err != nil {
					results[i].err = err
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json")
				start.Wait()
				res, err := hc.Do(req)
				if err != nil {
					results[i].err = err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				results[i] = result{status: res.StatusCode, jar: jar}
			}()
		}
		start.Done()
		done.Wait()
		won, gone := 0, 0
		u, _ := url.Parse(a.Server.URL)
		for _, r := range results {
			if r.err != nil {
				t.Fatal(r.err)
			}
			switch r.status {
			case http.StatusOK:
				won++
				hasSession := false
				for _, ck := range r.jar.Cookies(u) {
					hasSession = hasSession || ck.Name == sessionCookie
				}
				if !hasSession {
					t.Error("the winner has no session cookie")
				}
			case http.StatusGone:
				gone++
			default:
				t.Errorf("unexpected status %d", r.status)
			}
		}
		if won != 1 || gone != n-1 {
			t.Fatalf("got %d sign-ins and %d expired, want 1 and %d", won, gone, n-1)
		}
		if got := a.Count("sigra_sessions", "user_id = ? AND revoked_at IS NULL", a.User("user@example.com").ID); got != 1 {
			t.Errorf("got %d live sessions, want 1", got)
		}
	})
}

// TestMagicLinkKeepsSecondFactor: a magic link passes only the first
// factor of a user with a second factor.
func TestMagicLinkKeepsSecondFactor(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		u := newUser(a, "user@example.com")
		enrollTOTP(t, a, u.ID)
		link := requestMagic(t, a, "user@example.com")
		c := a.Client()
		wantRedirect(t, "magic link of an MFA user", c.Post("/auth/magic/verify", form("token", testapp.TokenOf(link))), "/auth/mfa/challenge")
		if state, _ := whoami(c); state != "pending" {
			t.Errorf("state %q, want pending", state)
		}
		wantAudit(t, a, audit.ActionLoginSuccess, u.ID, 0, auditWant{})
	})
}

// TestMagicLinkWhileLockedOut: a password lockout does not keep the owner
// out: a magic link signs in and ends the lockout.
func TestMagicLinkWhileLockedOut(t *testing.T) {
	t.Parallel()
	each(t, testapp.Options{}, func(t *testing.T, a *testapp.App) {
		newUser(a, "user@example.com")
		for range 5 {
			loginJSON(a.Client(), "user@example.com", "wrong password")
		}
		if !a.User("user@example.com").LockedUntil.After(a.Clock.Now()) {
			t.Fatal("not locked")
		}
		c := a.Client()
		wantRedirect(t, "magic link while locked", c.Post("/auth/magic/verify", form("token", testapp.TokenOf(requestMagic(t, a, "user@example.com")))), "/")
		wantSignedIn(t, c, "user@example.com")
		if u := a.User("user@example.com"); !u.LockedUntil.IsZero() || u.FailedLogins != 0 {
			t.Errorf("lockout not cleared: %v %d", u.LockedUntil, u.FailedLogins)
		}
		a.Client().SignIn("user@example.com", pw)
	})
}
