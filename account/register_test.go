package account_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
)

// TestRegisterEnumerationSafe: registering a taken address answers exactly
// as registering a new one; the owner is told by email, gets no
// confirmation, and no second account appears.
func TestRegisterEnumerationSafe(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		owner := newUser(t, a, "owner@example.com")

		// HTML: same status and the same page but for the address shown.
		fresh := a.Client(t).Post("/auth/register", form("email", "new@example.com", "password", "another fine passphrase"))
		taken := a.Client(t).Post("/auth/register", form("email", "owner@example.com", "password", "another fine passphrase"))
		wantStatus(t, "register a new address", fresh, http.StatusOK)
		wantStatus(t, "register a taken address", taken, http.StatusOK)
		if page(fresh.Body) != page(taken.Body) {
			t.Errorf("taken address: got the page\n%s\nwant the page of a new address\n%s", taken.Body, fresh.Body)
		}
		// The address differs only in case: still taken.
		taken2 := a.Client(t).Post("/auth/register", form("email", "OWNER@Example.com", "password", "another fine passphrase"))
		if taken2.StatusCode != fresh.StatusCode || page(taken2.Body) != page(fresh.Body) {
			t.Errorf("registering the address in other case: got %d, want the same answer as a new address", taken2.StatusCode)
		}

		// JSON: byte for byte the same body.
		jf := a.Client(t).JSON("POST", "/auth/register", `{"email":"other@example.com","password":"another fine passphrase"}`)
		jt := a.Client(t).JSON("POST", "/auth/register", `{"email":"owner@example.com","password":"another fine passphrase"}`)
		if jf.StatusCode != http.StatusOK || jt.StatusCode != jf.StatusCode || jf.Body != jt.Body {
			t.Errorf("JSON: got taken %d %s, want 200 and the answer to a new address: %d %s", jt.StatusCode, jt.Body, jf.StatusCode, jf.Body)
		}

		// The owner was told (three attempts, within the per-address limit
		// of three "someone tried" emails) and got no confirmation.
		got := subjects(t, a, "owner@example.com")
		if len(got) != 3 {
			t.Fatalf("owner got %d emails %q, want 3", len(got), got)
		}
		for _, s := range got {
			if !strings.Contains(s, "You already have") {
				t.Errorf("owner got %q, want only the register_exists email", s)
			}
		}
		if n := a.Count(t, "sigra_users", "email_norm = ?", "owner@example.com"); n != 1 {
			t.Errorf("got %d accounts for the owner's address, want 1", n)
		}
		if u := a.User(t, "owner@example.com"); u.PasswordHash != owner.PasswordHash || u.ID != owner.ID {
			t.Error("got the owner's account changed, want it kept")
		}
		if n := tokenCount(t, a, owner.ID, ""); n != 0 {
			t.Errorf("got %d tokens for the owner, want 0", n)
		}
		wantAudit(t, a, audit.ActionRegister, owner.ID, 3, auditWant{Subject: owner.ID, Outcome: "failure", Metadata: map[string]string{"reason": "address_taken"}})

		// The new addresses got their confirmation and an account.
		for _, addr := range []string{"new@example.com", "other@example.com"} {
			if got := subjects(t, a, addr); len(got) != 1 || !strings.Contains(got[0], "Confirm your email") {
				t.Errorf("%s got %q, want one confirmation email", addr, got)
			}
			u := a.User(t, addr)
			if !u.EmailConfirmedAt.IsZero() {
				t.Errorf("%s: got confirmed before confirming, want unconfirmed", addr)
			}
			if !u.CreatedAt.Equal(a.Clock.Now()) {
				t.Errorf("%s created at %v, want the injected clock's %v", addr, u.CreatedAt, a.Clock.Now())
			}
			wantAudit(t, a, audit.ActionRegister, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})
		}

		// A fourth attempt within the window stays silent toward the owner.
		res := a.Client(t).Post("/auth/register", form("email", "owner@example.com", "password", "another fine passphrase"))
		if res.StatusCode != fresh.StatusCode || page(res.Body) != page(fresh.Body) {
			t.Errorf("fourth attempt: got %d, want the same answer", res.StatusCode)
		}
		if n := mailCount(t, a, "owner@example.com"); n != 3 {
			t.Errorf("owner has %d emails after a fourth attempt, want still 3", n)
		}
	})
}

// TestRegisterPasswordPolicy: a refused password is reported next to the
// password field (HTML) or in fields.password with a weak_password code
// (JSON), and nothing is created.
func TestRegisterPasswordPolicy(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		before := snapshot(t, a)
		cases := []struct{ password, reason, message string }{
			{"short", "too_short", "Use at least 8 characters."},
			{"password123", "common", "too common"},
			{"someone2024", "contains_context", "too close to your email address"},
		}
		for _, c := range cases {
			res := a.Client(t).Post("/auth/register", form("email", "someone@example.com", "password", c.password))
			wantStatus(t, "register with "+c.password, res, http.StatusUnprocessableEntity)
			// The message sits in the password field's error element, which
			// the input names in aria-describedby.
			if !strings.Contains(res.Body, `id="password-error"`) || !strings.Contains(res.Body, c.message) {
				t.Errorf("%s: got no password field error with %q, want one:\n%s", c.password, c.message, res.Body)
			}
			errEl := res.Body[strings.Index(res.Body, `id="password-error"`):]
			if i := strings.Index(errEl, "</p>"); i < 0 || !strings.Contains(errEl[:i], c.message) {
				t.Errorf("%s: got the message outside the password field's error element, want it inside", c.password)
			}
			input := res.Body[strings.Index(res.Body, `name="password"`):]
			input = input[:strings.Index(input, ">")]
			if !strings.Contains(input, `aria-invalid="true"`) || !strings.Contains(input, "password-error") {
				t.Errorf("%s: got input %s, want aria-invalid and aria-describedby with password-error", c.password, input)
			}
			// The typed address is kept; the password never is.
			if !strings.Contains(res.Body, `value="someone@example.com"`) || strings.Contains(res.Body, `value="`+c.password+`"`) {
				t.Errorf("%s: got the form values kept wrong, want the address kept and the password not", c.password)
			}

			j := a.Client(t).JSON("POST", "/auth/register", jsonOf(map[string]string{"email": "someone@example.com", "password": c.password}))
			fields := wantError(t, "JSON register with "+c.password, j, http.StatusUnprocessableEntity, "weak_password:"+c.reason)
			if !strings.Contains(fields["password"], c.message) {
				t.Errorf("%s: got fields %v, want fields.password with %q", c.password, fields, c.message)
			}
		}
		wantUnchanged(t, "refused registrations", a, before)
		if _, err := a.Store.UserByEmail(ctx, "someone@example.com"); err == nil {
			t.Error("got an account with a refused password, want none")
		}
		if n := mailCount(t, a, "someone@example.com"); n != 0 {
			t.Errorf("got %d emails, want 0", n)
		}
	})
}

// TestRequireConfirmation: with RequireConfirmation, sign-in is refused
// (email_unconfirmed) until the address is confirmed.
func TestRequireConfirmation(t *testing.T) {
	t.Parallel()
	requireConfirmation := func(_ *apptest.App, c *account.Config) { c.RequireConfirmation = true }
	each(t, opts{Config: requireConfirmation}, func(t *testing.T, a *app) {
		c := a.Client(t)
		wantStatus(t, "register", c.Post("/auth/register", form("email", "new@example.com", "password", pw)), http.StatusOK)
		code := apptest.Code(t, a.LastMail(t, "new@example.com"))

		wantError(t, "JSON sign-in before confirming", c.JSON("POST", "/auth/login", jsonOf(map[string]string{"email": "new@example.com", "password": pw})),
			http.StatusForbidden, "email_unconfirmed")
		res := c.Post("/auth/login", form("email", "new@example.com", "password", pw))
		wantStatus(t, "HTML sign-in before confirming", res, http.StatusForbidden)
		if !strings.Contains(res.Body, "Confirm your email address first") {
			t.Errorf("HTML refusal: got no reason, want \"Confirm your email address first\":\n%s", res.Body)
		}
		wantAnonymous(t, c)
		// A wrong password is still the generic refusal, not a hint.
		wantError(t, "wrong password before confirming", c.JSON("POST", "/auth/login", jsonOf(map[string]string{"email": "new@example.com", "password": "wrong password here"})),
			http.StatusUnauthorized, "invalid_credentials")

		// Confirm by email and code, anonymously.
		res = c.JSON("POST", "/auth/confirm", jsonOf(map[string]string{"email": "new@example.com", "code": code}))
		if d := decode(t, res); res.StatusCode != http.StatusOK || !d.OK || d.Next != "/auth/login?notice=confirmed" {
			t.Fatalf("confirm by code: got %d %s, want ok and next /auth/login?notice=confirmed", res.StatusCode, res.Body)
		}
		c.SignIn("new@example.com", pw)
		wantSignedIn(t, c, "new@example.com")
	})
}

// TestConfirmByLink: GET shows a confirm page and changes nothing; POST
// confirms; the link works once.
func TestConfirmByLink(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		h := a.Hooks
		c := a.Client(t)
		c.Post("/auth/register", form("email", "new@example.com", "password", pw))
		link := apptest.Link(t, a.LastMail(t, "new@example.com"), "/auth/confirm")
		tok := apptest.TokenOf(link)
		u := a.User(t, "new@example.com")

		before := snapshot(t, a, "new@example.com")
		res := a.Client(t).Get(link)
		wantStatus(t, "confirm page", res, http.StatusOK)
		if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("confirm page Referrer-Policy %q, want no-referrer", got)
		}
		if !strings.Contains(res.Body, `name="token" value="`+tok+`"`) {
			t.Errorf("confirm page: got no token field, want one:\n%s", res.Body)
		}
		wantUnchanged(t, "GET of the confirm link", a, before, "new@example.com")

		res = c.Post("/auth/confirm", form("token", tok))
		wantRedirect(t, "confirm", res, "/auth/login?notice=confirmed")
		if got := a.User(t, "new@example.com"); !got.EmailConfirmedAt.Equal(a.Clock.Now()) {
			t.Errorf("confirmed at %v, want %v", got.EmailConfirmedAt, a.Clock.Now())
		}
		if n := tokenCount(t, a, u.ID, ""); n != 0 {
			t.Errorf("got %d tokens after confirming, want 0 (link and code both spent)", n)
		}
		wantAudit(t, a, audit.ActionConfirm, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})

		// Used: the page and the POST both say the link expired.
		wantStatus(t, "used link page", a.Client(t).Get(link), http.StatusGone)
		wantStatus(t, "used link", c.Post("/auth/confirm", form("token", tok)), http.StatusGone)
		wantError(t, "used link JSON", c.JSON("POST", "/auth/confirm", jsonOf(map[string]string{"token": tok})), http.StatusGone, "link_expired")
		if got := h.count("confirm " + u.ID); got != 1 {
			t.Errorf("AfterConfirm called %d times, want 1", got)
		}
	})
}

// TestConfirmByCode: the emailed code confirms the address for a
// signed-in user, and for an anonymous user naming the address.
func TestConfirmByCode(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		// Signed in (unconfirmed users may sign in by default).
		c := a.Client(t)
		c.Post("/auth/register", form("email", "in@example.com", "password", pw))
		code := apptest.Code(t, a.LastMail(t, "in@example.com"))
		c.SignIn("in@example.com", pw)
		page := c.Get("/auth/confirm")
		if !strings.Contains(page.Body, "in@example.com") || strings.Contains(page.Body, `name="email"`) {
			t.Errorf("signed-in code page: got it without the address or asking for it, want the address named:\n%s", page.Body)
		}
		// A signed-in user resends without naming the address.
		wantRedirect(t, "signed-in resend", c.Post("/auth/confirm/resend", nil), "/auth/confirm?notice=resent")
		if n := mailCount(t, a, "in@example.com"); n != 2 {
			t.Fatalf("got %d emails after a resend, want 2", n)
		}
		if fresh := apptest.Code(t, a.LastMail(t, "in@example.com")); fresh != code { // equal once in a million
			wantError(t, "replaced code", c.JSON("POST", "/auth/confirm", jsonOf(map[string]string{"code": code})), http.StatusUnprocessableEntity, "invalid_code")
			code = fresh
		}
		wantRedirect(t, "signed-in code", c.Post("/auth/confirm", form("code", code)), "/?notice=confirmed")
		if a.User(t, "in@example.com").EmailConfirmedAt.IsZero() {
			t.Error("signed-in code: got the address unconfirmed, want it confirmed")
		}

		// Anonymous, HTML: the page asks for the address.
		c2 := a.Client(t)
		c2.Post("/auth/register", form("email", "anon@example.com", "password", pw))
		code = apptest.Code(t, a.LastMail(t, "anon@example.com"))
		page = c2.Get("/auth/confirm")
		if !strings.Contains(page.Body, `name="email"`) {
			t.Errorf("anonymous code page: got no address field, want one:\n%s", page.Body)
		}
		res := c2.Post("/auth/confirm", form("code", code))
		wantStatus(t, "anonymous code without address", res, http.StatusUnprocessableEntity)
		if !strings.Contains(res.Body, `id="email-error"`) {
			t.Errorf("missing address: got no error at the address field, want one:\n%s", res.Body)
		}
		wantRedirect(t, "anonymous code", c2.Post("/auth/confirm", form("email", "Anon@Example.com", "code", code)), "/auth/login?notice=confirmed")
		u := a.User(t, "anon@example.com")
		if u.EmailConfirmedAt.IsZero() {
			t.Error("anonymous code: got the address unconfirmed, want it confirmed")
		}
		wantAudit(t, a, audit.ActionConfirm, u.ID, 1, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "success"})
		// Spent with the link.
		wantError(t, "code reused", c2.JSON("POST", "/auth/confirm", jsonOf(map[string]string{"email": "anon@example.com", "code": code})),
			http.StatusUnprocessableEntity, "invalid_code")
		// Another user's code does not confirm this user.
		c3 := a.Client(t)
		c3.Post("/auth/register", form("email", "third@example.com", "password", pw))
		c4 := a.Client(t)
		c4.Post("/auth/register", form("email", "fourth@example.com", "password", pw))
		code4 := apptest.Code(t, a.LastMail(t, "fourth@example.com"))
		wantError(t, "someone else's code", c3.JSON("POST", "/auth/confirm", jsonOf(map[string]string{"email": "third@example.com", "code": code4})),
			http.StatusUnprocessableEntity, "invalid_code")
		if !a.User(t, "third@example.com").EmailConfirmedAt.IsZero() || !a.User(t, "fourth@example.com").EmailConfirmedAt.IsZero() {
			t.Error("got an account confirmed by another's code, want both unconfirmed")
		}
	})
}

// wrongCode returns a 6-digit code other than code.
func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// TestConfirmCodeAttempts: five guesses per 15 minutes (for known and
// unknown addresses alike), and CodeMaxAttempts wrong guesses kill the
// code for good while the link keeps working.
func TestConfirmCodeAttempts(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		c := a.Client(t)
		c.Post("/auth/register", form("email", "new@example.com", "password", pw))
		m := a.LastMail(t, "new@example.com")
		code, link := apptest.Code(t, m), apptest.Link(t, m, "/auth/confirm")
		try := func(email, code string) *apptest.Response {
			return c.JSON("POST", "/auth/confirm", jsonOf(map[string]string{"email": email, "code": code}))
		}
		for range 5 {
			wantError(t, "wrong code", try("new@example.com", wrongCode(code)), http.StatusUnprocessableEntity, "invalid_code")
			wantError(t, "unknown address", try("nobody@example.com", "123456"), http.StatusUnprocessableEntity, "invalid_code")
		}
		// The sixth attempt is refused even with the right code, and an
		// unknown address is limited the same way.
		wantError(t, "right code over the limit", try("new@example.com", code), http.StatusTooManyRequests, "rate_limited")
		wantError(t, "unknown address over the limit", try("nobody@example.com", "123456"), http.StatusTooManyRequests, "rate_limited")
		if !a.User(t, "new@example.com").EmailConfirmedAt.IsZero() {
			t.Fatal("over the limit: got the address confirmed, want it unconfirmed")
		}
		u := a.User(t, "new@example.com")
		wantAudit(t, a, audit.ActionConfirm, u.ID, 5, auditWant{Actor: u.ID, Subject: u.ID, Outcome: "failure", Metadata: map[string]string{"method": "code"}})

		// Next window: five more wrong guesses reach CodeMaxAttempts (10):
		// the code is dead even with the limit fresh.
		a.Clock.Advance(15 * time.Minute)
		for range 5 {
			wantError(t, "wrong code", try("new@example.com", wrongCode(code)), http.StatusUnprocessableEntity, "invalid_code")
		}
		a.Clock.Advance(15 * time.Minute)
		wantError(t, "right code after too many guesses", try("new@example.com", code), http.StatusUnprocessableEntity, "invalid_code")
		if !a.User(t, "new@example.com").EmailConfirmedAt.IsZero() {
			t.Fatal("after CodeMaxAttempts wrong guesses: got the address confirmed by the code, want it unconfirmed")
		}
		// The link is another secret, not worn by code guesses.
		wantRedirect(t, "link", c.Post("/auth/confirm", form("token", apptest.TokenOf(link))), "/auth/login?notice=confirmed")
		if a.User(t, "new@example.com").EmailConfirmedAt.IsZero() {
			t.Fatal("link: got the address unconfirmed, want it confirmed")
		}
	})
}

// TestConfirmCodeWithinLimit: within the limit the right code still
// confirms after wrong guesses, and a new window allows the right code
// after the limit was reached.
func TestConfirmCodeWithinLimit(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		c := a.Client(t)
		c.Post("/auth/register", form("email", "new@example.com", "password", pw))
		code := apptest.Code(t, a.LastMail(t, "new@example.com"))
		try := func(code string) *apptest.Response {
			return c.JSON("POST", "/auth/confirm", jsonOf(map[string]string{"email": "new@example.com", "code": code}))
		}
		for range 5 {
			try(wrongCode(code))
		}
		wantError(t, "over the limit", try(code), http.StatusTooManyRequests, "rate_limited")
		a.Clock.Advance(15 * time.Minute)
		if res := try(code); res.StatusCode != http.StatusOK {
			t.Fatalf("right code in a new window: got %d %s, want 200", res.StatusCode, res.Body)
		}
	})
}

// TestResendLimited: resending replaces the link and code, and at most
// three emails per address go out per 15 minutes; the answer never
// changes.
func TestResendLimited(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		c := a.Client(t)
		c.Post("/auth/register", form("email", "new@example.com", "password", pw))
		first := apptest.Link(t, a.LastMail(t, "new@example.com"), "/auth/confirm")

		want := c.Post("/auth/confirm/resend", form("email", "new@example.com"))
		wantRedirect(t, "resend", want, "/auth/login?notice=resent")
		a.Flush(t)
		// The earlier link was replaced.
		wantStatus(t, "replaced link", c.Post("/auth/confirm", form("token", apptest.TokenOf(first))), http.StatusGone)
		c.Post("/auth/confirm/resend", form("email", "new@example.com"))
		c.Post("/auth/confirm/resend", form("email", "new@example.com"))
		if n := mailCount(t, a, "new@example.com"); n != 4 {
			t.Fatalf("got %d emails, want 4 (registration and three resends)", n)
		}
		latest := apptest.Link(t, a.LastMail(t, "new@example.com"), "/auth/confirm")
		// The fourth resend answers the same and sends nothing; so do an
		// unknown and an already confirmed address.
		newUser(t, a, "done@example.com")
		for _, addr := range []string{"new@example.com", "nobody@example.com", "done@example.com"} {
			res := c.Post("/auth/confirm/resend", form("email", addr))
			if res.StatusCode != want.StatusCode || res.Header.Get("Location") != want.Header.Get("Location") {
				t.Errorf("resend to %s: got %d %q, want the same answer", addr, res.StatusCode, res.Header.Get("Location"))
			}
			j := c.JSON("POST", "/auth/confirm/resend", jsonOf(map[string]string{"email": addr}))
			if d := decode(t, j); j.StatusCode != http.StatusOK || !d.OK {
				t.Errorf("JSON resend to %s: got %d %s, want 200 ok", addr, j.StatusCode, j.Body)
			}
		}
		if n := mailCount(t, a, "new@example.com"); n != 4 {
			t.Errorf("got %d emails after the limit, want 4", n)
		}
		if n := mailCount(t, a, "nobody@example.com") + mailCount(t, a, "done@example.com"); n != 0 {
			t.Errorf("unknown or confirmed addresses: got %d emails, want none", n)
		}
		// The limit left the latest link intact.
		wantRedirect(t, "latest link", c.Post("/auth/confirm", form("token", apptest.TokenOf(latest))), "/auth/login?notice=confirmed")
	})
}

// TestConfirmLinkTTL: the link lives 48 hours.
func TestConfirmLinkTTL(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		c := a.Client(t)
		c.Post("/auth/register", form("email", "a@example.com", "password", pw))
		c.Post("/auth/register", form("email", "b@example.com", "password", pw))
		linkA := apptest.Link(t, a.LastMail(t, "a@example.com"), "/auth/confirm")
		linkB := apptest.Link(t, a.LastMail(t, "b@example.com"), "/auth/confirm")
		codeB := apptest.Code(t, a.LastMail(t, "b@example.com"))

		a.Clock.Advance(48*time.Hour - ms)
		wantStatus(t, "page just before expiry", c.Get(linkA), http.StatusOK)
		wantRedirect(t, "just before expiry", c.Post("/auth/confirm", form("token", apptest.TokenOf(linkA))), "/auth/login?notice=confirmed")

		a.Clock.Advance(ms)
		wantStatus(t, "page at expiry", c.Get(linkB), http.StatusGone)
		wantStatus(t, "link at expiry", c.Post("/auth/confirm", form("token", apptest.TokenOf(linkB))), http.StatusGone)
		wantError(t, "code at expiry", c.JSON("POST", "/auth/confirm", jsonOf(map[string]string{"email": "b@example.com", "code": codeB})),
			http.StatusUnprocessableEntity, "invalid_code")
		if !a.User(t, "b@example.com").EmailConfirmedAt.IsZero() {
			t.Error("got the address confirmed by an expired link or code, want it unconfirmed")
		}
	})
}

// TestConfirmTokenBoundToAddress: a link or code sent to an address the
// account no longer has confirms nothing.
func TestConfirmTokenBoundToAddress(t *testing.T) {
	t.Parallel()
	each(t, opts{}, func(t *testing.T, a *app) {
		h := a.Hooks
		c := a.Client(t)
		c.Post("/auth/register", form("email", "old@example.com", "password", pw))
		m := a.LastMail(t, "old@example.com")
		link, code := apptest.Link(t, m, "/auth/confirm"), apptest.Code(t, m)
		u := a.User(t, "old@example.com")
		// The address changes below the flows (tokens left in place), so
		// only the binding to the address can refuse them.
		now := a.Clock.Now()
		if err := a.Store.ReserveEmail(ctx, u.ID, "new@example.com", now.Add(time.Hour), now); err != nil {
			t.Fatal(err)
		}
		if err := a.Store.ChangeEmail(ctx, u.ID, "new@example.com", now); err != nil {
			t.Fatal(err)
		}
		if n := tokenCount(t, a, u.ID, ""); n != 2 {
			t.Fatalf("got %d tokens, want the link and the code still stored", n)
		}
		a.Clock.Advance(time.Minute)
		c.SignIn("new@example.com", pw)
		wantError(t, "old code", c.JSON("POST", "/auth/confirm", jsonOf(map[string]string{"code": code})), http.StatusGone, "link_expired")
		wantStatus(t, "old link", c.Post("/auth/confirm", form("token", apptest.TokenOf(link))), http.StatusGone)
		if got := a.User(t, "new@example.com").EmailConfirmedAt; !got.Equal(now) {
			t.Errorf("confirmation time %v, want the change's %v", got, now)
		}
		wantAudit(t, a, audit.ActionConfirm, u.ID, 0, auditWant{})
		if h.count("confirm "+u.ID) != 0 {
			t.Error("got an AfterConfirm call for a stale token, want none")
		}
	})
}
