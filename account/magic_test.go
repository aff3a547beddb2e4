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
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/store"
)

// requestMagic asks for a sign-in link for email and returns it.
func requestMagic(t *testing.T, a *app, email string) string {
	t.Helper()
	wantStatus(t, "magic link request", a.Client(t).Post("/auth/magic", form("email", email)), http.StatusOK)
	return apptest.Link(t, a.LastMail(t, email), "/auth/magic/verify")
}

// TestMagicLinkFlow: the link opens a confirm page (GET signs nothing in
// and consumes nothing); its POST signs in, confirms the address and
// spends the link.
func TestMagicLinkFlow(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := &store.User{Email: "user@example.com", CreatedAt: a.Clock.Now()} // unconfirmed, no password
		if err := a.Store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		link := requestMagic(t, a, "user@example.com")
		if !strings.HasPrefix(link, a.URL+"/auth/magic/verify?token=") {
			t.Fatalf("got link %q, want %s/auth/magic/verify?token=...", link, a.URL)
		}
		tok := apptest.TokenOf(link)
		c := a.Client(t)
		before := snapshot(t, a, "user@example.com")
		res := c.Get(link)
		wantStatus(t, "confirm page", res, http.StatusOK)
		if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("Referrer-Policy %q, want no-referrer", got)
		}
		if !strings.Contains(res.Body, `name="token" value="`+tok+`"`) {
			t.Errorf("confirm page: got no token field, want one:\n%s", res.Body)
		}
		// A scanner following the link twice changes nothing.
		a.Client(t).Get(link)
		wantAnonymous(t, c)
		wantUnchanged(t, "GET of the magic link", a, before, "user@example.com")

		res = c.Post("/auth/magic/verify", form("token", tok))
		wantRedirect(t, "magic link", res, "/")
		wantSignedIn(t, c, "user@example.com")
		state := c.JSON("GET", "/auth/session", "")
		if !strings.Contains(state.Body, `"methods":["magic_link"]`) {
			t.Errorf("session: got %s, want methods [magic_link]", state.Body)
		}
		if got := a.User(t, "user@example.com"); !got.EmailConfirmedAt.Equal(a.Clock.Now()) {
			t.Errorf("address confirmed at %v, want now", got.EmailConfirmedAt)
		}
		wantAudit(t, a, audit.ActionMagicLinkRequest, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success"})
		wantAudit(t, a, audit.ActionMagicLinkLogin, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})
		wantAudit(t, a, audit.ActionLoginSuccess, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success", Metadata: map[string]string{"method": "magic_link"}})

		// Single use.
		other := a.Client(t)
		wantStatus(t, "used link page", other.Get(link), http.StatusGone)
		wantStatus(t, "used link", other.Post("/auth/magic/verify", form("token", tok)), http.StatusGone)
		wantAnonymous(t, other)

		// JSON request and verification.
		j := a.Client(t).JSON("POST", "/auth/magic", `{"email":"user@example.com"}`)
		if d := decode(t, j); j.StatusCode != http.StatusOK || !d.OK {
			t.Fatalf("JSON request: got %d %s, want 200 ok", j.StatusCode, j.Body)
		}
		tok = apptest.TokenOf(apptest.Link(t, a.LastMail(t, "user@example.com"), "/auth/magic/verify"))
		jc := a.Client(t)
		j = jc.JSON("POST", "/auth/magic/verify", jsonOf(map[string]string{"token": tok, "return_to": "/private"}))
		if d := decode(t, j); !d.OK || d.Next != "/private" {
			t.Fatalf("JSON verify: got %d %s, want ok and next /private", j.StatusCode, j.Body)
		}
		wantSignedIn(t, jc, "user@example.com")
	})
}

// TestMagicLinkTTL: the link lives 15 minutes.
func TestMagicLinkTTL(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "a@example.com")
		newUser(t, a, "b@example.com")
		la, lb := requestMagic(t, a, "a@example.com"), requestMagic(t, a, "b@example.com")
		a.Clock.Advance(15*time.Minute - ms)
		c := a.Client(t)
		wantRedirect(t, "before expiry", c.Post("/auth/magic/verify", form("token", apptest.TokenOf(la))), "/")
		a.Clock.Advance(ms)
		c2 := a.Client(t)
		wantStatus(t, "page at expiry", c2.Get(lb), http.StatusGone)
		wantStatus(t, "link at expiry", c2.Post("/auth/magic/verify", form("token", apptest.TokenOf(lb))), http.StatusGone)
		wantAnonymous(t, c2)
	})
}

// TestMagicLinkEnumerationAndLimit: the request answers the same for known
// and unknown addresses, and a fourth request for one address within 15
// minutes sends nothing.
func TestMagicLinkEnumerationAndLimit(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		known := a.Client(t).Post("/auth/magic", form("email", "user@example.com"))
		unknown := a.Client(t).Post("/auth/magic", form("email", "nobody@example.com"))
		if known.StatusCode != http.StatusOK || unknown.StatusCode != known.StatusCode || page(known.Body) != page(unknown.Body) {
			t.Errorf("got known %d, unknown %d, want 200 and the same page", known.StatusCode, unknown.StatusCode)
		}
		jk := a.Client(t).JSON("POST", "/auth/magic", `{"email":"user@example.com"}`)
		ju := a.Client(t).JSON("POST", "/auth/magic", `{"email":"nobody@example.com"}`)
		if jk.StatusCode != http.StatusOK || jk.Body != ju.Body {
			t.Errorf("JSON: got known %s, unknown %s, want the same", jk.Body, ju.Body)
		}
		a.Client(t).Post("/auth/magic", form("email", "user@example.com"))
		if n := mailCount(t, a, "user@example.com"); n != 3 {
			t.Fatalf("got %d emails, want 3", n)
		}
		fourth := a.Client(t).Post("/auth/magic", form("email", "user@example.com"))
		if fourth.StatusCode != known.StatusCode || page(fourth.Body) != page(known.Body) {
			t.Errorf("fourth request: got %d, want the same answer", fourth.StatusCode)
		}
		if n := mailCount(t, a, "user@example.com"); n != 3 {
			t.Errorf("got %d emails after the limit, want 3", n)
		}
	})
}

// TestMagicLinkConcurrent: of several browsers posting one link at once,
// exactly one is signed in.
func TestMagicLinkConcurrent(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		tok := apptest.TokenOf(requestMagic(t, a, "user@example.com"))
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
				hc := &http.Client{Jar: jar, Transport: http.DefaultTransport.(*http.Transport).Clone(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
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
					t.Error("the winner: got no session cookie, want one")
				}
			case http.StatusGone:
				gone++
			default:
				t.Errorf("got status %d, want 200 or 410", r.status)
			}
		}
		if won != 1 || gone != n-1 {
			t.Fatalf("got %d sign-ins and %d expired, want 1 and %d", won, gone, n-1)
		}
		if got := a.Count(t, "sigra_sessions", "user_id = ? AND revoked_at IS NULL", a.User(t, "user@example.com").ID); got != 1 {
			t.Errorf("got %d live sessions, want 1", got)
		}
	})
}

// TestMagicLinkKeepsSecondFactor: a magic link passes only the first
// factor of a user with a second factor.
func TestMagicLinkKeepsSecondFactor(t *testing.T) {
	t.Parallel()
	each(t, opts{Second: true}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		a.Second.enroll(u.ID, "424242")
		link := requestMagic(t, a, "user@example.com")
		c := a.Client(t)
		wantRedirect(t, "magic link of an MFA user", c.Post("/auth/magic/verify", form("token", apptest.TokenOf(link))), "/auth/mfa/challenge")
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
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		for range 5 {
			loginJSON(a.Client(t), "user@example.com", "wrong password")
		}
		a.Flush(t)
		if !a.User(t, "user@example.com").LockedUntil.After(a.Clock.Now()) {
			t.Fatal("after 5 wrong passwords: got no lock, want one")
		}
		c := a.Client(t)
		wantRedirect(t, "magic link while locked", c.Post("/auth/magic/verify", form("token", apptest.TokenOf(requestMagic(t, a, "user@example.com")))), "/")
		wantSignedIn(t, c, "user@example.com")
		if u := a.User(t, "user@example.com"); !u.LockedUntil.IsZero() || u.FailedLogins != 0 {
			t.Errorf("after the magic link: got LockedUntil %v FailedLogins %d, want both cleared", u.LockedUntil, u.FailedLogins)
		}
		a.Client(t).SignIn("user@example.com", pw)
	})
}
