package apitoken_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/apitoken"
	"github.com/sigra-go/sigra/token"
)

// TestCreateAndUse: a token made on the settings page (a form) is shown
// once, stored as a digest, notified by email, audited, and authenticates
// API requests as its user with its scopes, without a session.
func TestCreateAndUse(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "ann@example.com")
		res := c.Post(a.Path("/settings/tokens"), url.Values{
			"name": {"deploy"}, "scope:notes:read": {"1"}, "scope:admin": {"on"}, "expires_in_days": {"30"},
		})
		wantStatus(t, "create", res, http.StatusCreated)
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}
		i := strings.Index(res.Body, "sigrapat_")
		if i < 0 {
			t.Fatalf("the page shows no token:\n%s", res.Body)
		}
		tok := res.Body[i : i+len("sigrapat_")+token.APIKeyRandomLen+1+token.APIKeyChecksumLen]
		if _, err := token.ParseAPIKey(tok); err != nil {
			t.Fatalf("shown token %q: %v", tok, err)
		}

		// Only the digest is stored.
		ts, err := a.St.UserAPITokens(context.Background(), u.ID, a.Clock.Now())
		if err != nil || len(ts) != 1 {
			t.Fatalf("UserAPITokens: %d, %v", len(ts), err)
		}
		if string(ts[0].Digest) != string(token.APIKeyDigest(tok)) {
			t.Error("the stored digest is not the token's")
		}
		if n := a.Count(t, "sigra_api_tokens", "name = ?", tok); n != 0 {
			t.Error("the raw token is stored")
		}
		if !slices.Equal(ts[0].Scopes, []string{"notes:read", "admin"}) {
			t.Errorf("scopes: got %q, want [notes:read admin] (declared order)", ts[0].Scopes)
		}
		if d := ts[0].ExpiresAt.Sub(a.Clock.Now()); d != 30*24*time.Hour {
			t.Errorf("expiry: got %v from now, want 30 days", d)
		}
		if n := a.audits(t, "apitoken.create", "success"); n != 1 {
			t.Errorf("apitoken.create rows: got %d, want 1", n)
		}
		a.Flush(t)
		m := a.LastMail(t, "ann@example.com")
		if !strings.Contains(m.Subject, "API token") || !strings.Contains(m.Text, "deploy") || strings.Contains(m.Text, tok) {
			t.Errorf("notice: subject %q, text %q: want the token's name, never the token", m.Subject, m.Text)
		}

		// The token signs requests in as Ann, without a session.
		w := a.whoami(t, tok)
		if w.ID != u.ID || w.Email != u.Email || w.ServiceAccount || w.Session != "" {
			t.Errorf("whoami: got %+v, want Ann without a session", w)
		}
		if !slices.Equal(w.Methods, []string{"api_token"}) || !slices.Equal(w.Scopes, []string{"notes:read", "admin"}) {
			t.Errorf("whoami: methods %q scopes %q", w.Methods, w.Scopes)
		}
		res = a.bearer(t, "GET", "/api/whoami", tok)
		for _, ck := range res.Cookies() {
			if strings.Contains(ck.Name, "session") {
				t.Errorf("a bearer request got a session cookie: %v", ck)
			}
		}
		// A browser that also carries a session (Bob's) is the token's
		// user, and its session cookie is left alone.
		bob, _ := a.signedIn(t, "bob@example.com")
		res = bob.Do("GET", "/api/whoami", http.Header{"Authorization": {"Bearer " + tok}}, nil)
		wantStatus(t, "bearer with a session", res, http.StatusOK)
		var w2 who
		decode(t, res.Body, &w2)
		if w2.ID != u.ID || w2.Session != "" {
			t.Errorf("bearer with Bob's session: got %+v, want Ann without a session", w2)
		}
		for _, ck := range res.Cookies() {
			if strings.Contains(ck.Name, "session") {
				t.Errorf("a bearer request with a session cookie got %v", ck)
			}
		}
		if email := whoamiSession(t, bob); email != "bob@example.com" {
			t.Errorf("Bob's session after the bearer request: %q", email)
		}

		// The list shows it, in HTML and JSON.
		page := c.Get(a.Path("/settings/tokens"))
		wantStatus(t, "tokens page", page, http.StatusOK)
		if !strings.Contains(page.Body, "deploy") || strings.Contains(page.Body, tok) {
			t.Error("the tokens page must list the token's name and never the token")
		}
		list := c.JSON("GET", a.Path("/settings/tokens"), "")
		if !strings.Contains(list.Body, `"name":"deploy"`) || !strings.Contains(list.Body, `"last_used_at"`) {
			t.Errorf("tokens JSON: %s", list.Body)
		}
		// The settings page shows the section.
		if s := c.Get(a.Path("/settings")); !strings.Contains(s.Body, "1 active token") {
			t.Errorf("settings section: no count in\n%s", s.Body)
		}
	})
}

// TestChecksumRejectedWithoutLookup: a token whose checksum or prefix is
// wrong never reaches the store; a well-formed unknown token costs one
// lookup and is audited.
func TestChecksumRejectedWithoutLookup(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, _ := a.signedIn(t, "ann@example.com")
		tok := a.createToken(t, c, "ci", "notes:read", "")
		other, _ := token.NewAPIKey("other")
		secret, _ := token.NewAPIKey("sigracs")
		typo := tok[:len(tok)-1] + string(flip(tok[len(tok)-1]))
		swapped := tok[:12] + string(flip(tok[12])) + tok[13:]
		before := a.St.lookups.Load()
		for name, bad := range map[string]string{
			"checksum":     typo,
			"random part":  swapped,
			"other prefix": other,
			"a secret":     secret,
			"garbage":      "hello",
			"truncated":    tok[:20],
		} {
			res := a.bearer(t, "GET", "/api/whoami", bad)
			wantStatus(t, name, res, http.StatusUnauthorized)
			if h := res.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) || !strings.HasPrefix(h, "Bearer realm=") {
				t.Errorf("%s: WWW-Authenticate %q", name, h)
			}
			if code, _ := errorCode(t, res.Body); code != "invalid_token" {
				t.Errorf("%s: code %q", name, code)
			}
		}
		if n := a.St.lookups.Load() - before; n != 0 {
			t.Errorf("malformed tokens caused %d store lookups, want 0", n)
		}
		if n := a.audits(t, "apitoken.use.failure", "failure"); n != 0 {
			t.Errorf("malformed tokens wrote %d audit rows, want 0", n)
		}
		unknown, _ := token.NewAPIKey("sigrapat")
		wantStatus(t, "unknown", a.bearer(t, "GET", "/api/whoami", unknown), http.StatusUnauthorized)
		if n := a.St.lookups.Load() - before; n != 1 {
			t.Errorf("an unknown well-formed token: %d lookups, want 1", n)
		}
		if n := a.audits(t, "apitoken.use.failure", "failure"); n != 1 {
			t.Errorf("an unknown token: %d failure rows, want 1", n)
		}

		// No token, and malformed headers.
		res := a.bearer(t, "GET", "/api/whoami", "")
		wantStatus(t, "no token", res, http.StatusUnauthorized)
		if h := res.Header.Get("WWW-Authenticate"); h != `Bearer realm="Sigra Test"` {
			t.Errorf("no token: WWW-Authenticate %q, want a bare challenge", h)
		}
		h := http.Header{"Authorization": {"Bearer " + tok + " extra"}}
		res = a.Client(t).Do("GET", "/api/whoami", h, nil)
		wantStatus(t, "two tokens", res, http.StatusBadRequest)
		if h := res.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_request"`) {
			t.Errorf("malformed header: WWW-Authenticate %q", h)
		}
	})
}

func flip(b byte) byte {
	if b == 'a' {
		return 'b'
	}
	return 'a'
}

// TestExpiredAndRevoked: a token stops at its expiry, when revoked (one or
// all), and another user cannot revoke it.
func TestExpiredAndRevoked(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, _ := a.signedIn(t, "ann@example.com")
		short := a.createToken(t, c, "short", "", "1")
		one := a.createToken(t, c, "one", "", "")
		two := a.createToken(t, c, "two", "", "")
		a.whoami(t, short)
		a.Clock.Advance(24*time.Hour + time.Second)
		res := a.bearer(t, "GET", "/api/whoami", short)
		wantStatus(t, "expired", res, http.StatusUnauthorized)

		var list struct {
			Tokens []struct{ ID, Name string } `json:"tokens"`
		}
		c = a.Client(t) // the session ended with the day
		c.SignIn("ann@example.com", pw)
		c2, _ := a.signedIn(t, "bob@example.com")
		decode(t, c.JSON("GET", a.Path("/settings/tokens"), "").Body, &list)
		if len(list.Tokens) != 2 {
			t.Fatalf("list: got %d tokens, want 2 (the expired one left out)", len(list.Tokens))
		}
		id := list.Tokens[0].ID // "two", newest first
		res = c2.JSON("POST", a.Path("/settings/tokens/revoke"), mustJSON(map[string]string{"id": id}))
		wantStatus(t, "another user's revoke", res, http.StatusNotFound)
		a.whoami(t, two)

		res = c.Post(a.Path("/settings/tokens/revoke"), url.Values{"id": {id}})
		wantStatus(t, "revoke", res, http.StatusSeeOther)
		wantStatus(t, "revoked", a.bearer(t, "GET", "/api/whoami", two), http.StatusUnauthorized)
		a.whoami(t, one)
		if n := a.audits(t, "apitoken.revoke", "success"); n != 1 {
			t.Errorf("revoke rows: %d", n)
		}
		res = c.JSON("POST", a.Path("/settings/tokens/revoke-all"), "{}")
		wantStatus(t, "revoke all", res, http.StatusOK)
		if !strings.Contains(res.Body, `"revoked":2`) { // "one" and the expired "short"
			t.Errorf("revoke all: %s", res.Body)
		}
		wantStatus(t, "all revoked", a.bearer(t, "GET", "/api/whoami", one), http.StatusUnauthorized)
	})
}

// TestDisabledUser: disabling the user stops their tokens at once, and
// enabling them again does not bring them back.
func TestDisabledUser(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "ann@example.com")
		tok := a.createToken(t, c, "ci", "", "")
		a.whoami(t, tok)
		ctx := context.Background()
		if err := a.Store.SetDisabled(ctx, u.ID, a.Clock.Now(), a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "disabled", a.bearer(t, "GET", "/api/whoami", tok), http.StatusUnauthorized)
		if err := a.Store.SetDisabled(ctx, u.ID, time.Time{}, a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "enabled again", a.bearer(t, "GET", "/api/whoami", tok), http.StatusUnauthorized)
		if err := a.Store.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if n := a.Count(t, "sigra_api_tokens", "user_id = ?", u.ID); n != 0 {
			t.Errorf("a deleted user's tokens: %d rows left", n)
		}
	})
}

// TestScopes: RequireScopes lets a token through with every scope and
// answers 403 insufficient_scope naming the missing one otherwise.
func TestScopes(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "ann@example.com")
		read := a.createToken(t, c, "read", "notes:read", "")
		wantStatus(t, "read with notes:read", a.bearer(t, "GET", "/api/notes", read), http.StatusOK)
		res := a.bearer(t, "POST", "/api/notes", read)
		wantStatus(t, "write with notes:read", res, http.StatusForbidden)
		if h := res.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) || !strings.Contains(h, `scope="notes:write"`) {
			t.Errorf("WWW-Authenticate %q", h)
		}
		var body struct {
			Error struct{ Code, Scope string } `json:"error"`
		}
		decode(t, res.Body, &body)
		if body.Error.Code != "insufficient_scope" || body.Error.Scope != "notes:write" {
			t.Errorf("body %s", res.Body)
		}
		if n := a.Count(t, "sigra_audit_log", "action = ? AND actor_id = ?", "apitoken.use.failure", u.ID); n != 1 {
			t.Errorf("scope refusal rows: %d, want 1", n)
		}
		none := a.createToken(t, c, "none", "", "")
		res = a.bearer(t, "GET", "/api/notes", none)
		wantStatus(t, "no scopes", res, http.StatusForbidden)
		both := a.createToken(t, c, "both", "notes:write notes:read", "")
		wantStatus(t, "both scopes", a.bearer(t, "POST", "/api/notes", both), http.StatusOK)
		// A session alone does not pass a scope check.
		res = c.Get("/api/notes")
		wantStatus(t, "session on a bearer route", res, http.StatusUnauthorized)
	})
}

// TestLastUsedThrottled: the last use is written at most once a minute,
// and requests in between do not even try.
func TestLastUsedThrottled(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "ann@example.com")
		tok := a.createToken(t, c, "ci", "", "")
		first := a.Clock.Now()
		a.whoami(t, tok)
		for range 5 {
			a.Clock.Advance(5 * time.Second)
			a.whoami(t, tok)
		}
		if n := a.St.touches.Load(); n != 1 {
			t.Errorf("six requests within a minute: %d last-use writes, want 1", n)
		}
		lastUsed := func() time.Time {
			ts, err := a.St.UserAPITokens(context.Background(), u.ID, a.Clock.Now())
			if err != nil || len(ts) != 1 {
				t.Fatalf("UserAPITokens: %v", err)
			}
			return ts[0].LastUsedAt
		}
		if got := lastUsed(); !got.Equal(first) {
			t.Errorf("LastUsedAt: got %v, want the first use %v", got, first)
		}
		a.Clock.Advance(35 * time.Second)
		a.whoami(t, tok)
		if got := lastUsed(); !got.Equal(a.Clock.Now()) {
			t.Errorf("LastUsedAt a minute later: got %v, want %v", got, a.Clock.Now())
		}
	})
}

// TestRateLimit: a token over its limit gets 429 with Retry-After; another
// token is not affected.
func TestRateLimit(t *testing.T) {
	eachWith(t, options{cfg: func(c *apitokenConfig) { c.RateLimit.N, c.RateLimit.Window = 3, time.Minute }}, func(t *testing.T, a *app) {
		c, _ := a.signedIn(t, "ann@example.com")
		tok := a.createToken(t, c, "ci", "", "")
		other := a.createToken(t, c, "other", "", "")
		for range 3 {
			a.whoami(t, tok)
		}
		res := a.bearer(t, "GET", "/api/whoami", tok)
		wantStatus(t, "fourth", res, http.StatusTooManyRequests)
		if res.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		a.whoami(t, other)
		a.Clock.Advance(time.Minute)
		a.whoami(t, tok)
	})
}

// TestBadInput: refused input is 400 with a field code, and nothing is
// stored or sent.
func TestBadInput(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "ann@example.com")
		for _, tc := range []struct {
			name, body, code, field string
		}{
			{"unknown field", `{"name":"x","owner":"y"}`, "unknown_field", "owner"},
			{"wrong type", `{"name":7}`, "invalid_type", "name"},
			{"no name", `{"name":"  "}`, "invalid_input", "name"},
			{"long name", mustJSON(map[string]string{"name": strings.Repeat("n", 101)}), "invalid_input", "name"},
			{"unknown scope", `{"name":"x","scopes":"notes:read root"}`, "invalid_input", "scopes"},
			{"never", `{"name":"x","expires_in_days":"never"}`, "invalid_input", "expires_in_days"},
			{"zero days", `{"name":"x","expires_in_days":"0"}`, "invalid_input", "expires_in_days"},
			{"too many days", `{"name":"x","expires_in_days":"400"}`, "invalid_input", "expires_in_days"},
			{"days not a number", `{"name":"x","expires_in_days":"3e1"}`, "invalid_input", "expires_in_days"},
			{"control character", `{"name":"a\u0007b"}`, "invalid_text", "name"},
		} {
			res := c.JSON("POST", a.Path("/settings/tokens"), tc.body)
			wantStatus(t, tc.name, res, http.StatusBadRequest)
			code, fields := errorCode(t, res.Body)
			if code != tc.code || fields[tc.field] == "" {
				t.Errorf("%s: got %s %v, want %s at %s", tc.name, code, fields, tc.code, tc.field)
			}
		}
		// A form with an unknown scope re-renders the page with the error.
		res := c.Post(a.Path("/settings/tokens"), url.Values{"name": {"x"}, "expires_in_days": {"never"}})
		wantStatus(t, "form never", res, http.StatusBadRequest)
		if !strings.Contains(res.Body, "Tokens must expire.") {
			t.Errorf("the form page does not show the error:\n%s", res.Body)
		}
		ts, err := a.St.UserAPITokens(context.Background(), u.ID, a.Clock.Now())
		if err != nil || len(ts) != 0 {
			t.Errorf("refused input stored %d tokens (%v)", len(ts), err)
		}
		if n := a.audits(t, "apitoken.create", "success"); n != 0 {
			t.Errorf("refused input wrote %d create rows", n)
		}
		a.Flush(t)
		if ms := a.Mails(t, "ann@example.com"); len(ms) != 0 {
			t.Errorf("refused input sent %d emails", len(ms))
		}
		// Revoke without an id.
		res = c.JSON("POST", a.Path("/settings/tokens/revoke"), `{}`)
		wantStatus(t, "revoke without id", res, http.StatusBadRequest)
		if _, fields := errorCode(t, res.Body); fields["id"] == "" {
			t.Errorf("revoke without id: %s", res.Body)
		}
	})
}

// TestNeverAllowed: "never" works only when the application allows it.
func TestNeverAllowed(t *testing.T) {
	eachWith(t, options{cfg: func(c *apitokenConfig) { c.AllowNoExpiry = true }}, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "ann@example.com")
		a.createToken(t, c, "forever", "", "never")
		ts, err := a.St.UserAPITokens(context.Background(), u.ID, a.Clock.Now())
		if err != nil || len(ts) != 1 || !ts[0].ExpiresAt.IsZero() {
			t.Fatalf("a token without expiry: %v", err)
		}
		a.Clock.Advance(3 * 365 * 24 * time.Hour)
		if _, _, _, err := a.St.APITokenByDigest(context.Background(), ts[0].Digest, a.Clock.Now()); err != nil {
			t.Errorf("three years later: %v", err)
		}
	})
}

// TestCreateNeedsSudo: creating a token outside the sudo window asks for
// a re-authentication and creates nothing.
func TestCreateNeedsSudo(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "ann@example.com")
		a.Clock.Advance(15 * time.Minute)
		res := c.JSON("POST", a.Path("/settings/tokens"), `{"name":"late"}`)
		wantStatus(t, "create outside sudo", res, http.StatusForbidden)
		if code, _ := errorCode(t, res.Body); code != "sudo_required" {
			t.Errorf("code %q", code)
		}
		if ts, _ := a.St.UserAPITokens(context.Background(), u.ID, a.Clock.Now()); len(ts) != 0 {
			t.Error("a token was created outside sudo")
		}
	})
}

// TestUnknownTokensLimited: past the limit of unknown tokens from one
// address, Bearer answers 429 and records no more failures.
func TestUnknownTokensLimited(t *testing.T) {
	eachWith(t, options{cfg: func(c *apitokenConfig) { c.UnknownLimit.N, c.UnknownLimit.Window = 3, time.Minute }}, func(t *testing.T, a *app) {
		for i := range 5 {
			tok, _ := token.NewAPIKey("sigrapat")
			res := a.bearer(t, "GET", "/api/whoami", tok)
			want := http.StatusUnauthorized
			if i >= 3 {
				want = http.StatusTooManyRequests
			}
			wantStatus(t, "unknown token", res, want)
		}
		if n := a.audits(t, "apitoken.use.failure", "failure"); n != 3 {
			t.Errorf("failure rows: got %d, want 3 (the rest limited)", n)
		}
		// A known token from the same address still works.
		c, _ := a.signedIn(t, "ann@example.com")
		a.whoami(t, a.createToken(t, c, "ci", "", ""))
	})
}

// TestPurgeExpired: revoked and expired tokens stay a week, then go.
func TestPurgeExpired(t *testing.T) {
	each(t, func(t *testing.T, a *app) {
		c, _ := a.signedIn(t, "ann@example.com")
		a.createToken(t, c, "short", "", "1")
		a.createToken(t, c, "live", "", "90")
		ctx := context.Background()
		a.Clock.Advance(24*time.Hour + apitoken.PurgeRetention - time.Minute)
		if n, err := a.Tokens.PurgeExpired(ctx); err != nil || n != 0 {
			t.Fatalf("PurgeExpired within the retention: %d, %v", n, err)
		}
		a.Clock.Advance(2 * time.Minute)
		if n, err := a.Tokens.PurgeExpired(ctx); err != nil || n != 1 {
			t.Fatalf("PurgeExpired after the retention: %d, %v; want 1", n, err)
		}
		if n := a.Count(t, "sigra_api_tokens", ""); n != 1 {
			t.Errorf("tokens left: %d, want the live one", n)
		}
	})
}
