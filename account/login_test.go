package account_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/password"
	"github.com/sigra-go/sigra/store"
)

// loginJSON posts a JSON sign-in.
func loginJSON(c *apptest.Client, email, password string) *apptest.Response {
	return c.JSON("POST", "/auth/login", jsonOf(map[string]string{"email": email, "password": password}))
}

// TestLockout: five wrong passwords lock password sign-in for 15 minutes;
// during the lockout even the right password gets the generic refusal;
// the owner is emailed once and the lockout is audited.
func TestLockout(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		u := newUser(t, a, "user@example.com")
		c := a.Client(t)
		wrong := loginJSON(c, "user@example.com", "wrong password one")
		wantError(t, "wrong password", wrong, http.StatusUnauthorized, "invalid_credentials")
		htmlWrong := c.Post("/auth/login", form("email", "user@example.com", "password", "wrong password two"))
		wantStatus(t, "HTML wrong password", htmlWrong, http.StatusUnauthorized)
		for range 2 {
			loginJSON(c, "user@example.com", "wrong password three")
		}
		a.Flush(t)
		if got := a.User(t, "user@example.com"); !got.LockedUntil.IsZero() {
			t.Fatalf("after 4 failures: got LockedUntil %v; want no lock", got.LockedUntil)
		}
		fifth := loginJSON(c, "user@example.com", "wrong password five")
		if fifth.StatusCode != wrong.StatusCode || fifth.Body != wrong.Body {
			t.Errorf("the locking failure answers %d %s, want the same as any failure", fifth.StatusCode, fifth.Body)
		}
		// The lock and its notice are a job run after the answer.
		a.Flush(t)
		locked := a.User(t, "user@example.com")
		if want := a.Clock.Now().Add(15 * time.Minute); !locked.LockedUntil.Equal(want) {
			t.Fatalf("LockedUntil %v, want %v", locked.LockedUntil, want)
		}

		// The right password during the lockout: the same answer as a wrong
		// one, JSON and HTML, and nothing counted.
		right := loginJSON(c, "user@example.com", pw)
		if right.StatusCode != wrong.StatusCode || right.Body != wrong.Body {
			t.Errorf("right password while locked: got %d %s, want %d %s", right.StatusCode, right.Body, wrong.StatusCode, wrong.Body)
		}
		htmlRight := c.Post("/auth/login", form("email", "user@example.com", "password", pw))
		if htmlRight.StatusCode != htmlWrong.StatusCode || page(htmlRight.Body) != page(htmlWrong.Body) {
			t.Errorf("HTML right password while locked: got %d, want the page of a wrong password", htmlRight.StatusCode)
		}
		for range 5 {
			loginJSON(c, "user@example.com", "still guessing")
		}
		wantAnonymous(t, c)
		if got := a.User(t, "user@example.com"); got.FailedLogins != 0 || !got.LockedUntil.Equal(locked.LockedUntil) {
			t.Errorf("attempts during the lockout: got FailedLogins %d, LockedUntil %v; want 0 and %v", got.FailedLogins, got.LockedUntil, locked.LockedUntil)
		}
		if got := subjects(t, a, "user@example.com"); len(got) != 1 || !strings.Contains(got[0], "paused") {
			t.Errorf("owner got %q, want one lockout email", got)
		}
		lockMail := a.LastMail(t, "user@example.com")
		if link := apptest.Link(t, lockMail, "/auth/password/forgot"); !strings.HasPrefix(link, a.URL) {
			t.Errorf("lockout email links to %q, want the reset page under %s", link, a.URL)
		}
		wantAudit(t, a, audit.ActionLockout, u.ID, 1, auditWant{Subject: u.ID, Outcome: "success"})
		wantAudit(t, a, audit.ActionLoginFailure, u.ID, 12, auditWant{Subject: u.ID, Outcome: "failure", Metadata: map[string]string{"reason": "locked"}})

		// The lockout ends on time.
		a.Clock.Advance(15*time.Minute - ms)
		wantError(t, "right password a moment before the end", loginJSON(c, "user@example.com", pw), http.StatusUnauthorized, "invalid_credentials")
		a.Clock.Advance(ms)
		c.SignIn("user@example.com", pw)
		wantSignedIn(t, c, "user@example.com")
		if got := a.User(t, "user@example.com"); got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
			t.Errorf("after sign-in: FailedLogins %d, LockedUntil %v, want cleared", got.FailedLogins, got.LockedUntil)
		}
	})
}

// TestSignInLimitsTakeNothingAfter: a sign-in refused by a limit counts
// against that limit and takes nothing after it: refused by the per-address
// limit, it is not counted against the account and takes none of its
// password attempt places; refused by the per-account limit, it takes no
// place. Each case ends one place short of the lockout and below the other
// limit, so a request that took more than it should would turn the last
// sign-in, with the right password once the refusing limit's window has
// passed, into a refusal. Over the store, the limits and the place are one
// write of it (store.SequenceLimiter); with a rate limiter over another
// store (a MemoryLimiter), the limits count there and the place in the
// store.
func TestSignInLimitsTakeNothingAfter(t *testing.T) {
	t.Parallel()
	minute := middleware.Limit{N: 4, Window: time.Minute}
	cases := []struct {
		name   string
		limits func(c *account.Config)
	}{
		{"per address", func(c *account.Config) {
			c.Limits.LoginPerIP = minute
			c.Limits.LoginPerAccount = middleware.Limit{N: 5, Window: 15 * time.Minute}
		}},
		{"per account", func(c *account.Config) {
			c.Limits.LoginPerIP = middleware.Limit{N: 1000, Window: 15 * time.Minute}
			c.Limits.LoginPerAccount = minute
		}},
	}
	limiters := []struct {
		name string
		set  func(t *testing.T, a *apptest.App, c *account.Config)
	}{
		{"store", func(*testing.T, *apptest.App, *account.Config) {}},
		{"memory", func(t *testing.T, a *apptest.App, c *account.Config) {
			rl, err := middleware.NewRateLimiter(a.Site, middleware.RateLimiterConfig{Limiter: middleware.NewMemoryLimiter(0)})
			if err != nil {
				t.Fatal(err)
			}
			c.RateLimiter = rl
		}},
	}
	for _, tc := range cases {
		for _, lim := range limiters {
			t.Run(tc.name+"/"+lim.name, func(t *testing.T) {
				t.Parallel()
				limitsTakeNothingAfter(t, func(a *apptest.App, c *account.Config) {
					tc.limits(c)
					lim.set(t, a, c)
				})
			})
		}
	}
}

// limitsTakeNothingAfter is a case of TestSignInLimitsTakeNothingAfter:
// config sets the limits, one of them 4 a minute.
func limitsTakeNothingAfter(t *testing.T, config func(a *apptest.App, c *account.Config)) {
	each(t, opts{Config: config}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		c := a.Client(t)
		v0, _ := hashing(a)
		for i := range 4 {
			wantError(t, fmt.Sprintf("wrong password %d", i+1), loginJSON(c, "user@example.com", "a wrong password"), http.StatusUnauthorized, "invalid_credentials")
		}
		wantError(t, "over the limit", loginJSON(c, "user@example.com", "a wrong password"), http.StatusTooManyRequests, "rate_limited")
		if v1, _ := hashing(a); v1-v0 != 4 {
			t.Errorf("passwords verified: got %d, want 4 (none for the refused request)", v1-v0)
		}
		a.Clock.Advance(time.Minute + time.Second)
		res := loginJSON(c, "user@example.com", pw)
		wantStatus(t, "right password once the limit's window has passed", res, http.StatusOK)
		wantSignedIn(t, c, "user@example.com")
	})
}

// TestUnknownAccountSameAsWrongPassword: an unknown address is refused
// exactly as a wrong password is, and audited without a subject.
func TestUnknownAccountSameAsWrongPassword(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		c := a.Client(t)
		wrong := loginJSON(c, "user@example.com", "wrong password")
		unknown := loginJSON(c, "nobody@example.com", "wrong password")
		if wrong.StatusCode != http.StatusUnauthorized || unknown.StatusCode != wrong.StatusCode || unknown.Body != wrong.Body {
			t.Errorf("JSON: got unknown address %d %s, want 401 as a wrong password: %d %s", unknown.StatusCode, unknown.Body, wrong.StatusCode, wrong.Body)
		}
		hw := c.Post("/auth/login", form("email", "user@example.com", "password", "wrong password"))
		hu := c.Post("/auth/login", form("email", "nobody@example.com", "password", "wrong password"))
		if hw.StatusCode != http.StatusUnauthorized || hu.StatusCode != hw.StatusCode || page(hu.Body) != page(hw.Body) {
			t.Errorf("HTML: got unknown address %d, wrong password %d, same page %v; want 401 and the same page", hu.StatusCode, hw.StatusCode, page(hu.Body) == page(hw.Body))
		}
		// A user without a password is refused the same way too.
		nopw := &store.User{Email: "nopw@example.com", CreatedAt: a.Clock.Now()}
		if err := a.Store.CreateUser(ctx, nopw); err != nil {
			t.Fatal(err)
		}
		if res := loginJSON(c, "nopw@example.com", "any password"); res.StatusCode != wrong.StatusCode || res.Body != wrong.Body {
			t.Errorf("user without a password: got %d %s, want the answer to a wrong password", res.StatusCode, res.Body)
		}
		wantAudit(t, a, audit.ActionLoginFailure, "", 5, auditWant{Subject: nopw.ID, Outcome: "failure", Metadata: map[string]string{"reason": "bad_password"}})
		var unknownRows int
		for _, e := range auditRows(t, a, audit.ActionLoginFailure, "") {
			if e.Metadata["reason"] == "unknown_account" {
				unknownRows++
				if e.SubjectID != "" || e.ActorID != "" {
					t.Errorf("unknown-account row: got %+v, want no actor or subject", e)
				}
			}
		}
		if unknownRows != 2 {
			t.Errorf("got %d unknown_account rows, want 2", unknownRows)
		}
	})
}

// TestRehashForeign: a hash imported from another system verifies, a
// wrong password leaves it in place, and the successful sign-in replaces it
// with an Argon2id hash, on both backends. The fixed hashes were made for
// pw by the original software (see password/testdata/make-fixtures.sh).
func TestRehashForeign(t *testing.T) {
	t.Parallel()
	fixed := func(h string) func(*testing.T, *app) string {
		return func(*testing.T, *app) string { return h }
	}
	tests := []struct {
		name string
		// wrapped: the hash is an unsalted digest wrapped at import, which
		// the hasher must be configured to accept.
		wrapped bool
		hash    func(t *testing.T, a *app) string
	}{
		{"bcrypt (x/crypto)", false, func(t *testing.T, a *app) string {
			h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(h), "$2a$") && !strings.HasPrefix(string(h), "$2b$") {
				t.Fatalf("bcrypt: got hash %q, want $2a$ or $2b$", h)
			}
			return string(h)
		}},
		// python bcrypt with the prefix of Devise, Auth0 and Supabase.
		{"bcrypt $2a$", false, fixed("$2a$04$uyp8ZmyrdG1ISSjg52y.lezh1A5YzioSB2mLKMLXeD4SNhbiM4vxO")},
		// PHP 8.2 password_hash(pw, PASSWORD_BCRYPT, ["cost" => 4]).
		{"bcrypt $2y$ (PHP)", false, fixed("$2y$04$GmzOiddMD326Gle1OEqKB.5SopMR7gAPiXcl3ygtEz7R1Gokn/zuS")},
		// Django 3.2 make_password(pw).
		{"Django pbkdf2_sha256", false, fixed("pbkdf2_sha256$260000$02heVUeB3SxC9Zqfa2oIqJ$ewqCzvUzOfkp4XdWo8gJT0u3KASugDOG/ZFR/xapPC0=")},
		// better-auth 1.7.29 hashPassword(pw).
		{"Better Auth scrypt", false, fixed("01552c9e01a685978d32056361b3d20a:54dfad1d4924b4abf5ea5444abf96801b12f80b65b9649e71d5902458c86030bdca3b54afa2e97c9a1b5375d8bf44233710b4cdae1779048f8833797dffb71a8")},
		// PHP md5(pw), wrapped at import.
		{"wrapped MD5", true, func(t *testing.T, a *app) string {
			h, err := a.Hasher.Wrap(ctx, "88e4ddd2402d92d50e1879d6ecd9ffd4")
			if err != nil {
				t.Fatal(err)
			}
			return h
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var o opts
			if tt.wrapped {
				var err error
				o.Passwords, err = password.New(password.Config{
					Params:                  password.Params{Memory: 64, Time: 1, Threads: 1},
					InsecureAllowWeakParams: true,
					AllowWrapped:            true,
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			each(t, o, func(t *testing.T, a *app) {
				h := tt.hash(t, a)
				u := &store.User{Email: "legacy@example.com", PasswordHash: h, EmailConfirmedAt: a.Clock.Now(), CreatedAt: a.Clock.Now()}
				if err := a.Store.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
				// A wrong password does not rehash.
				wantError(t, "wrong password", loginJSON(a.Client(t), "legacy@example.com", "not the password"), http.StatusUnauthorized, "invalid_credentials")
				if got := a.User(t, "legacy@example.com").PasswordHash; got != h {
					t.Fatalf("after a failure: got hash %q, want the imported hash %q kept", got, h)
				}
				c := a.Client(t)
				c.SignIn("legacy@example.com", pw)
				got := a.User(t, "legacy@example.com").PasswordHash
				if !strings.HasPrefix(got, "$argon2id$") {
					t.Fatalf("stored hash %q, want $argon2id$", got)
				}
				ok, rehash, err := a.Hasher.Verify(ctx, pw, got)
				if err != nil || !ok || rehash {
					t.Fatalf("new hash: got ok %v rehash %v err %v, want true false nil", ok, rehash, err)
				}
				// And the next sign-in uses it.
				a.Client(t).SignIn("legacy@example.com", pw)
				if again := a.User(t, "legacy@example.com").PasswordHash; again != got {
					t.Error("second sign-in: got the up-to-date hash replaced, want it kept")
				}
			})
		})
	}
}

// TestRememberMe: "remember me" makes the session cookie persistent (30
// days); otherwise it is a browser-session cookie.
func TestRememberMe(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		res := a.Client(t).Post("/auth/login", form("email", "user@example.com", "password", pw))
		ck := cookieOf(res, sessionCookie)
		if ck == nil {
			t.Fatal("got no session cookie, want one")
		}
		if ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Errorf("session cookie without remember me: MaxAge %d Expires %v, want neither", ck.MaxAge, ck.Expires)
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
			t.Errorf("session cookie: got %+v, want HttpOnly, SameSite=Lax, Path /", ck)
		}

		c := a.Client(t)
		res = c.Post("/auth/login", form("email", "user@example.com", "password", pw, "remember", "1"))
		ck = cookieOf(res, sessionCookie)
		if ck == nil {
			t.Fatal("got no session cookie, want one")
		}
		// scs computes the cookie lifetime from the wall clock.
		if d := time.Until(ck.Expires); d < 29*24*time.Hour || d > 31*24*time.Hour {
			t.Errorf("remembered cookie expires in %v, want about 30 days", d)
		}
		if ck.MaxAge < 29*24*3600 {
			t.Errorf("remembered cookie Max-Age %d, want about 30 days", ck.MaxAge)
		}
		// The session rows: 30 days for the remembered one, 24 hours for
		// the other.
		rows, err := a.Store.UserSessions(ctx, a.User(t, "user@example.com").ID, a.Clock.Now())
		if err != nil || len(rows) != 2 {
			t.Fatalf("sessions: got %d, %v; want 2", len(rows), err)
		}
		var remembered, plain int
		for _, s := range rows {
			switch {
			case s.Remember && s.ExpiresAt.Equal(a.Clock.Now().Add(30*24*time.Hour)):
				remembered++
			case !s.Remember && s.ExpiresAt.Equal(a.Clock.Now().Add(24*time.Hour)):
				plain++
			default:
				t.Errorf("session: got remember %v expiring in %v, want 30 days when remembered, 24 hours otherwise", s.Remember, s.ExpiresAt.Sub(a.Clock.Now()))
			}
		}
		if remembered != 1 || plain != 1 {
			t.Errorf("got %d remembered and %d plain sessions, want 1 and 1", remembered, plain)
		}
	})
}

// TestReturnTo: a local return_to is honoured; anything that could leave
// the site falls back to the default.
func TestReturnTo(t *testing.T) {
	t.Parallel()
	// Many sign-ins of one account: lift the per-account limit.
	opt := opts{Config: func(_ *apptest.App, c *account.Config) {
		c.Limits.LoginPerAccount = middleware.Limit{N: 1000, Window: 15 * time.Minute}
	}}
	each(t, opt, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		cases := []struct{ returnTo, want string }{
			{"/private?tab=1", "/private?tab=1"},
			{"/auth/settings", "/auth/settings"},
			{"//evil.example/x", "/"},
			{"https://evil.example/", "/"},
			{`/\evil.example`, "/"},
			{"/%2F/evil.example", "/"},
			{"javascript:alert(1)", "/"},
			{"private", "/"},
		}
		for _, tc := range cases {
			// In the form.
			res := a.Client(t).Post("/auth/login", form("email", "user@example.com", "password", pw, "return_to", tc.returnTo))
			wantRedirect(t, "form return_to "+tc.returnTo, res, tc.want)
			// In the query of the form's action.
			res = a.Client(t).Post("/auth/login?return_to="+url.QueryEscape(tc.returnTo), form("email", "user@example.com", "password", pw))
			wantRedirect(t, "query return_to "+tc.returnTo, res, tc.want)
			// JSON.
			j := a.Client(t).JSON("POST", "/auth/login", jsonOf(map[string]string{"email": "user@example.com", "password": pw, "return_to": tc.returnTo}))
			if d := decode(t, j); !d.OK || d.Next != tc.want {
				t.Errorf("JSON return_to %q: got %s, want next %q", tc.returnTo, j.Body, tc.want)
			}
		}
		// A guarded page sends the browser to sign in with return_to set,
		// and the sign-in page carries it into its form.
		c := a.Client(t)
		res := c.Get("/private?tab=2")
		wantRedirect(t, "guarded page", res, "/auth/login?return_to=%2Fprivate%3Ftab%3D2")
		login := c.Get(res.Header.Get("Location"))
		if !strings.Contains(login.Body, `name="return_to" value="/private?tab=2"`) {
			t.Errorf("sign-in page: got no return_to field, want one:\n%s", login.Body)
		}
		wantRedirect(t, "sign in from the guarded page", c.Post("/auth/login", form("email", "user@example.com", "password", pw, "return_to", "/private?tab=2")), "/private?tab=2")
	})
}

// TestSignInAudit: a sign-in is audited with the actor, subject, address,
// user agent and method; it renews the session token.
func TestSignInAudit(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		h := a.Hooks
		u := newUser(t, a, "user@example.com")
		c := a.Client(t)
		c.Get("/auth/login")
		// Give the anonymous browser a session first, then sign in.
		c.SignIn("user@example.com", pw)
		first := c.Cookie(sessionCookie)
		res := c.Post("/auth/login", form("email", "user@example.com", "password", pw))
		wantRedirect(t, "second sign-in", res, "/")
		second := c.Cookie(sessionCookie)
		if first == "" || second == "" || first == second {
			t.Fatalf("sign-in: got token %q then %q, want a new one", first, second)
		}
		wantAnonymous(t, replay(t, a, first))
		wantSignedIn(t, replay(t, a, second), "user@example.com")
		wantAudit(t, a, audit.ActionLoginSuccess, u.ID, 2, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success", Metadata: map[string]string{"method": "password", "aal": "1"}})
		if h.count("signin "+u.ID) != 2 {
			t.Errorf("AfterSignIn called %d times, want 2", h.count("signin "+u.ID))
		}
		// The JSON answer names the user.
		j := loginJSON(a.Client(t), "user@example.com", pw)
		d := decode(t, j)
		if user, _ := d.Rest["user"].(map[string]any); user["email"] != "user@example.com" || user["id"] != u.ID || user["email_confirmed"] != true {
			t.Errorf("JSON sign-in: got %s, want the user's id, email and email_confirmed", j.Body)
		}
	})
}

// TestSignInDisabled: a disabled account is refused after the password
// (a wrong password still gets the generic refusal).
func TestSignInDisabled(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		d := newUser(t, a, "disabled@example.com")
		if err := a.Store.SetDisabled(ctx, d.ID, a.Clock.Now(), a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		c := a.Client(t)
		wantError(t, "disabled", loginJSON(c, "disabled@example.com", pw), http.StatusForbidden, "account_disabled")
		wantError(t, "disabled, wrong password", loginJSON(c, "disabled@example.com", "wrong password"), http.StatusUnauthorized, "invalid_credentials")
		wantAnonymous(t, c)
		wantAudit(t, a, audit.ActionLoginFailure, d.ID, 2, auditWant{Subject: d.ID, Outcome: "failure", Metadata: map[string]string{"reason": "bad_password"}})
	})
}

// TestSecondFactor: the password of a user with a second factor leaves
// the session pending and sends the browser to the second step (with
// return_to), where the guards send it too; on a browser the user trusts,
// the sign-in completes at AAL2; sudo accepts the second factor's code.
func TestSecondFactor(t *testing.T) {
	t.Parallel()
	each(t, opts{Second: true}, func(t *testing.T, a *app) {
		m := newUser(t, a, "mfa@example.com")
		a.Second.enroll(m.ID, "424242")
		plain := newUser(t, a, "plain@example.com")

		c := a.Client(t)
		res := c.Post("/auth/login", form("email", "mfa@example.com", "password", pw, "return_to", "/private"))
		wantRedirect(t, "password of an enrolled user", res, "/auth/mfa/challenge?return_to=%2Fprivate")
		if state, _ := whoami(c); state != "pending" {
			t.Errorf("after the password of an enrolled user: got state %q, want pending", state)
		}
		wantRedirect(t, "guarded page while pending", c.Get("/private"), "/auth/mfa/challenge?return_to=%2Fprivate")
		wantRedirect(t, "without return_to", a.Client(t).Post("/auth/login", form("email", "mfa@example.com", "password", pw)), "/auth/mfa/challenge")
		j := loginJSON(a.Client(t), "mfa@example.com", pw)
		if d := decode(t, j); !d.OK || d.Next != "/auth/mfa/challenge" || d.Rest["mfa_required"] != true {
			t.Errorf("JSON sign-in of an enrolled user: got %s, want next /auth/mfa/challenge and mfa_required", j.Body)
		}
		wantAudit(t, a, audit.ActionLoginSuccess, m.ID, 0, auditWant{})
		if a.Hooks.has("signin " + m.ID) {
			t.Error("AfterSignIn called for a pending sign-in, want no call")
		}

		// A user without a second factor signs in at AAL1.
		p := a.Client(t)
		p.SignIn("plain@example.com", pw)
		if state, _, aal := p.Whoami(); state != "authenticated" || aal != 1 {
			t.Errorf("user without a second factor: got %s AAL%d, want authenticated AAL1", state, aal)
		}
		if got := a.Second.recorded("Trusted"); slices.Contains(got, "Trusted "+plain.ID) {
			t.Errorf("second factor asked whether the browser of a user without one is trusted: %q", got)
		}

		// A trusted browser skips the second step, at AAL2.
		a.Second.trust(m.ID)
		tc := a.Client(t)
		wantRedirect(t, "trusted browser", tc.Post("/auth/login", form("email", "mfa@example.com", "password", pw)), "/")
		if state, email, aal := tc.Whoami(); state != "authenticated" || email != "mfa@example.com" || aal != 2 {
			t.Errorf("trusted browser: got %s %s AAL%d, want authenticated mfa@example.com AAL2", state, email, aal)
		}
		info := tc.JSON("GET", "/auth/session", "")
		if !strings.Contains(info.Body, `"methods":["password","trusted_browser"]`) {
			t.Errorf("trusted browser: got session %s, want methods password and trusted_browser", info.Body)
		}
		wantAudit(t, a, audit.ActionLoginSuccess, m.ID, 1, auditWant{Actor: m.ID, Subject: m.ID, Outcome: "success", Metadata: map[string]string{"method": "password", "aal": "2"}})

		// Sudo by the second factor's code.
		a.Clock.Advance(11 * time.Minute)
		sudo := tc.JSON("GET", "/auth/sudo", "")
		if d := decode(t, sudo); !d.OK || d.Rest["has_password"] != true || d.Rest["has_totp"] != true {
			t.Errorf("sudo form: got %s, want has_password and has_totp", sudo.Body)
		}
		if page := tc.Get("/auth/sudo"); !strings.Contains(page.Body, `name="code"`) {
			t.Errorf("sudo page: got no code field:\n%s", page.Body)
		}
		res = tc.Post("/auth/sudo", form("code", "000000", "return_to", "/billing"))
		wantStatus(t, "wrong code", res, http.StatusUnauthorized)
		if !strings.Contains(res.Body, `id="sudo-code-error"`) {
			t.Errorf("wrong code: got no error at the code field:\n%s", res.Body)
		}
		wantError(t, "wrong code JSON", tc.JSON("POST", "/auth/sudo", `{"code":"111111"}`), http.StatusUnauthorized, "invalid_code")
		wantAudit(t, a, audit.ActionSudo, m.ID, 2, auditWant{Actor: m.ID, Subject: m.ID, Outcome: "failure", Metadata: map[string]string{"method": "totp"}})
		wantRedirect(t, "still guarded", tc.Get("/billing"), "/auth/sudo?return_to=%2Fbilling")
		wantRedirect(t, "sudo by code", tc.Post("/auth/sudo", form("code", "424242", "return_to", "/billing")), "/billing")
		wantStatus(t, "billing after sudo", tc.Get("/billing"), http.StatusOK)
		wantAudit(t, a, audit.ActionSudo, m.ID, 3, auditWant{Actor: m.ID, Subject: m.ID, Outcome: "success", Metadata: map[string]string{"method": "totp"}})
		// Without a second factor a code checks nothing.
		a.Clock.Advance(11 * time.Minute)
		wantError(t, "code of a user without a second factor", p.JSON("POST", "/auth/sudo", `{"code":"424242"}`), http.StatusUnprocessableEntity, "invalid_input")
		if got := a.Second.recorded("VerifySudo"); slices.Contains(got, "VerifySudo "+plain.ID) {
			t.Errorf("got a VerifySudo call for a user without a second factor: %q", got)
		}
	})
}

// TestLogoutPostOnly: GET does not sign out (405); POST does, revoking the
// session row.
func TestLogoutPostOnly(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		h := a.Hooks
		u := newUser(t, a, "user@example.com")
		c := signedIn(t, a, "user@example.com")
		tok := c.Cookie(sessionCookie)
		res := c.Get("/auth/logout")
		wantStatus(t, "GET /auth/logout", res, http.StatusMethodNotAllowed)
		if allow := res.Header.Get("Allow"); !strings.Contains(allow, "POST") {
			t.Errorf("Allow %q, want POST", allow)
		}
		wantSignedIn(t, c, "user@example.com")
		// A cross-site POST is refused before the handler.
		wantStatus(t, "cross-site logout", c.Do("POST", "/auth/logout", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader("")), http.StatusForbidden)
		wantSignedIn(t, c, "user@example.com")

		wantRedirect(t, "POST /auth/logout", c.Post("/auth/logout", nil), "/auth/login?notice=signed_out")
		wantAnonymous(t, c)
		wantAnonymous(t, replay(t, a, tok))
		if n := a.Count(t, "sigra_sessions", "user_id = ? AND revoked_at IS NULL", u.ID); n != 0 {
			t.Errorf("got %d live sessions after sign-out, want 0", n)
		}
		wantAudit(t, a, audit.ActionLogout, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})
		if !h.has("signout " + u.ID) {
			t.Error("got no AfterSignOut call, want one")
		}
	})
}

// TestRefusedFormsKeepReturnTo: a sign-in or sudo form refused after its
// POST shows again with the return_to it posted, which wins over the
// query's, so the user still lands where they were going.
func TestRefusedFormsKeepReturnTo(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		newUser(t, a, "user@example.com")
		anon := a.Client(t)
		user := signedIn(t, a, "user@example.com")
		tests := []struct {
			name   string
			c      *apptest.Client
			path   string
			fields url.Values
			status int
			want   string
		}{
			{"wrong password", anon, "/auth/login", form("email", "user@example.com", "password", "wrong password", "return_to", "/private?tab=2"), http.StatusUnauthorized, "/private?tab=2"},
			{"no password", anon, "/auth/login", form("email", "user@example.com", "return_to", "/private?tab=2"), http.StatusUnprocessableEntity, "/private?tab=2"},
			{"the form's over the query's", anon, "/auth/login?return_to=%2Ffrom-query", form("email", "user@example.com", "password", "wrong password", "return_to", "/from-form"), http.StatusUnauthorized, "/from-form"},
			{"the query's when the form has none", anon, "/auth/login?return_to=%2Ffrom-query", form("email", "user@example.com", "password", "wrong password"), http.StatusUnauthorized, "/from-query"},
			{"sudo, wrong password", user, "/auth/sudo", form("password", "wrong password", "return_to", "/billing"), http.StatusUnauthorized, "/billing"},
			{"sudo, nothing entered", user, "/auth/sudo", form("return_to", "/billing"), http.StatusUnprocessableEntity, "/billing"},
		}
		for _, tc := range tests {
			res := tc.c.Post(tc.path, tc.fields)
			wantStatus(t, tc.name, res, tc.status)
			if field := `name="return_to" value="` + tc.want + `"`; !strings.Contains(res.Body, field) || strings.Count(res.Body, `name="return_to"`) != 1 {
				t.Errorf("%s: got a page without exactly one %s:\n%s", tc.name, field, res.Body)
			}
		}
	})
}
