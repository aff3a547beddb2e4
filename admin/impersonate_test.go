package admin_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
)

// auditRows returns the audit rows of action whose subject is u, newest
// first.
func (a *app) auditRows(t *testing.T, u *store.User, action string) []*store.AuditEvent {
	t.Helper()
	evs, _, err := a.St.SearchAudit(context.Background(), store.AuditSearch{SubjectID: u.ID, Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// impersonate has adm start impersonating u with a form, and fails unless
// it lands on the site's home.
func (a *app) impersonate(t *testing.T, adm *apptest.Client, u *store.User) {
	t.Helper()
	res := adm.Post(a.Path("/admin/users/"+u.ID+"/impersonate"), url.Values{"reason": {"Support ticket 4242: the invoices page is empty"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != a.Site.Home() {
		t.Fatalf("impersonate: got %d to %q, want 303 to the home\n%.1000s", res.StatusCode, res.Header.Get("Location"), res.Body)
	}
}

// TestImpersonateRefused: without a reason, with one too short or too
// long, on an administrator, on a disabled user or one whose deletion is
// scheduled, the start is refused with its code; nothing starts, no row
// is written and no email leaves.
func TestImpersonateRefused(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, root := a.admin(t, "root@example.com")
		_, other := a.admin(t, "other-admin@example.com")
		u := a.CreateUser(t, "user@example.com", pw)
		disabled := a.CreateUser(t, "disabled@example.com", pw)
		leaving := a.CreateUser(t, "leaving@example.com", pw)
		ctx := context.Background()
		if err := a.St.SetDisabled(ctx, disabled.ID, a.Clock.Now(), a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		if err := a.St.ScheduleDeletion(ctx, leaving.ID, a.Clock.Now().Add(24*time.Hour), a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		before, mails := a.auditCount(t), len(a.Mails(t, u.Email))
		long := strings.Repeat("x", admin.MaxReasonLen+1)
		for _, tt := range []struct {
			name, id, body string
			status         int
			code           string
		}{
			{"no reason", u.ID, `{}`, http.StatusBadRequest, "invalid_input"},
			{"blank reason", u.ID, `{"reason": "          "}`, http.StatusBadRequest, "invalid_input"},
			{"short reason", u.ID, `{"reason": "ticket 1"}`, http.StatusBadRequest, "invalid_input"},
			{"long reason", u.ID, `{"reason": "` + long + `"}`, http.StatusBadRequest, "invalid_input"},
			{"another administrator", other.ID, `{"reason": "Support ticket 4242"}`, http.StatusForbidden, "admin_protected"},
			{"themself", root.ID, `{"reason": "Support ticket 4242"}`, http.StatusForbidden, "admin_protected"},
			{"disabled user", disabled.ID, `{"reason": "Support ticket 4242"}`, http.StatusConflict, "disabled"},
			{"deletion pending", leaving.ID, `{"reason": "Support ticket 4242"}`, http.StatusConflict, "deletion_pending"},
			{"unknown user", "nobody", `{"reason": "Support ticket 4242"}`, http.StatusNotFound, "not_found"},
		} {
			res := adm.JSON("POST", a.Path("/admin/users/"+tt.id+"/impersonate"), tt.body)
			if res.StatusCode != tt.status || errCode(t, res) != tt.code {
				t.Errorf("%s: got %d %q, want %d %q", tt.name, res.StatusCode, errCode(t, res), tt.status, tt.code)
			}
			if tt.status == http.StatusBadRequest {
				if msg, _ := errFields(t, res)["reason"].(string); !strings.Contains(msg, "10 to 500 characters") {
					t.Errorf("%s: the reason's message is %q, want the bounds", tt.name, msg)
				}
			}
			if _, email, _ := adm.Whoami(); email != root.Email {
				t.Fatalf("%s: the session is %q's, want the administrator's", tt.name, email)
			}
		}
		// A form without a reason gets the user's page with the field marked.
		res := adm.Post(a.Path("/admin/users/"+u.ID+"/impersonate"), nil)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, "10 to 500 characters") || !strings.Contains(res.Body, `aria-invalid="true"`) {
			t.Errorf("form without a reason: got %d, want 400 with the field's message\n%.2000s", res.StatusCode, res.Body)
		}
		// The form is offered only where the start can succeed.
		for _, x := range []*store.User{other, disabled, leaving} {
			if page := adm.Get(a.Path("/admin/users/" + x.ID)); strings.Contains(page.Body, "/impersonate") {
				t.Errorf("the page of %s offers impersonation", x.Email)
			}
		}
		if page := adm.Get(a.Path("/admin/users/" + u.ID)); !strings.Contains(page.Body, `action="`+a.Path("/admin/users/"+u.ID+"/impersonate")+`"`) {
			t.Error("the user's page does not offer impersonation")
		}
		// Past the sudo window: JSON is refused, a form is sent to
		// re-authenticate, and nothing starts.
		a.Clock.Advance(15 * time.Minute)
		if res := adm.JSON("POST", a.Path("/admin/users/"+u.ID+"/impersonate"), `{"reason": "Support ticket 4242"}`); res.StatusCode != http.StatusForbidden || errCode(t, res) != "sudo_required" {
			t.Errorf("out of sudo (JSON): got %d %q, want 403 sudo_required", res.StatusCode, errCode(t, res))
		}
		res = adm.Post(a.Path("/admin/users/"+u.ID+"/impersonate"), url.Values{"reason": {"Support ticket 4242"}})
		if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "/sudo") {
			t.Errorf("out of sudo (form): got %d to %q, want a redirect to re-authenticate", res.StatusCode, res.Header.Get("Location"))
		}
		if _, email, _ := adm.Whoami(); email != root.Email {
			t.Fatalf("out of sudo: the session is %q's, want the administrator's", email)
		}
		if n := a.auditCount(t); n != before {
			t.Errorf("refused starts wrote %d audit rows", n-before)
		}
		if n := len(a.Mails(t, u.Email)); n != mails {
			t.Errorf("refused starts sent %d emails", n-mails)
		}
	})
}

// TestImpersonate: the whole round trip. The administrator in sudo
// starts with a reason: the row (admin as actor and impersonator, the
// reason) and the user's email (without the reason) commit; the next
// request is the user's, with the banner and its stop button; the console
// is closed and a blocked action answers 403 impersonation_forbidden; a
// feature's row carries both IDs. Stopping lands on the user's detail in
// the console, at the administrator's level, without a new sign-in, and
// is audited.
func TestImpersonate(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, root := a.admin(t, "root@example.com")
		u := a.CreateUser(t, "user@example.com", pw)
		a.impersonate(t, adm, u)

		rows := a.auditRows(t, u, admin.ActionImpersonateStart)
		if len(rows) != 1 || rows[0].ActorID != root.ID || rows[0].ImpersonatorID != root.ID ||
			rows[0].Metadata["reason"] != "Support ticket 4242: the invoices page is empty" {
			t.Fatalf("start rows: got %+v, want one by the administrator with the reason", rows)
		}
		m := a.LastMail(t, u.Email)
		if !strings.Contains(m.Text, root.Email) || !strings.Contains(m.Subject, "acting as you") || strings.Contains(m.Text+m.HTML, "4242") {
			t.Errorf("the user's email: got %q\n%s\nwant who acts, and not the reason", m.Subject, m.Text)
		}

		if _, email, _ := adm.Whoami(); email != u.Email {
			t.Fatalf("impersonating: the session is %q's, want the user's", email)
		}
		page := adm.Get("/auth/settings")
		for _, want := range []string{"You are acting as " + u.Email, `action="` + a.Path("/admin/impersonation/stop") + `"`, "Stop impersonating"} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("the settings page has no %q", want)
			}
		}
		if res := adm.JSON("GET", a.Path("/admin/users"), ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("the console while impersonating: got %d, want 404", res.StatusCode)
		}
		res := adm.JSON("POST", "/auth/password", `{"current_password": "x", "new_password": "a brand new passphrase"}`)
		if res.StatusCode != http.StatusForbidden || errCode(t, res) != "impersonation_forbidden" {
			t.Errorf("password change while impersonating: got %d %q, want 403 impersonation_forbidden", res.StatusCode, errCode(t, res))
		}
		if res := adm.JSON("POST", "/auth/sessions/revoke-others", `{}`); res.StatusCode != http.StatusOK {
			t.Fatalf("revoke other sessions: got %d %s", res.StatusCode, res.Body)
		}
		rows = a.auditRows(t, u, audit.ActionSessionRevokeOthers)
		if len(rows) != 1 || rows[0].ActorID != u.ID || rows[0].ImpersonatorID != root.ID {
			t.Errorf("a feature's row while impersonating: got %+v, want actor %s and impersonator %s", rows, u.ID, root.ID)
		}

		res = adm.Post(a.Path("/admin/impersonation/stop"), nil)
		want := a.Path("/admin/users/"+u.ID) + "?notice=admin_returned"
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Fatalf("stop: got %d to %q, want 303 to %q\n%.500s", res.StatusCode, res.Header.Get("Location"), want, res.Body)
		}
		if _, email, _ := adm.Whoami(); email != root.Email {
			t.Fatalf("stopped: the session is %q's, want the administrator's", email)
		}
		page = adm.Get(want)
		if page.StatusCode != http.StatusOK || strings.Contains(page.Body, "You are acting as") || !strings.Contains(page.Body, "back in your own session") {
			t.Errorf("the user's page after stopping: got %d, want it without the banner, with the notice", page.StatusCode)
		}
		// Still in sudo: the administrator's own session came back as it was.
		if res := adm.JSON("POST", a.Path("/admin/users/"+u.ID+"/lock"), `{}`); res.StatusCode != http.StatusOK {
			t.Errorf("an action after stopping: got %d %s, want it allowed", res.StatusCode, res.Body)
		}
		rows = a.auditRows(t, u, admin.ActionImpersonateStop)
		if len(rows) != 1 || rows[0].ActorID != root.ID || rows[0].Metadata["reason"] != "stopped" || rows[0].Metadata["restored"] != "true" {
			t.Errorf("stop rows: got %+v, want one by the administrator, stopped and restored", rows)
		}
		if res := adm.JSON("POST", a.Path("/admin/impersonation/stop"), `{}`); res.StatusCode != http.StatusConflict || errCode(t, res) != "not_impersonating" {
			t.Errorf("stop when not impersonating: got %d %q, want 409 not_impersonating", res.StatusCode, errCode(t, res))
		}
		if res := a.Client(t).JSON("POST", a.Path("/admin/impersonation/stop"), `{}`); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("stop, anonymous: got %d, want 401", res.StatusCode)
		}
	})
}

// TestImpersonateJSON: the start and the stop answer JSON with where to
// go next; the impersonation ends after the default 30 minutes at most.
func TestImpersonateJSON(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, root := a.admin(t, "root@example.com")
		u := a.CreateUser(t, "user@example.com", pw)
		res := adm.JSON("POST", a.Path("/admin/users/"+u.ID+"/impersonate"), `{"reason": "Support ticket 4242"}`)
		body := jsonBody(t, res)
		imp, _ := body["impersonating"].(map[string]any)
		ends, _ := time.Parse(time.RFC3339Nano, str(imp["ends_at"]))
		if res.StatusCode != http.StatusOK || body["ok"] != true || body["next"] != a.Site.Home() || imp["user_id"] != u.ID ||
			!ends.Equal(a.Clock.Now().Add(30*time.Minute)) {
			t.Fatalf("start: got %d %s", res.StatusCode, res.Body)
		}
		res = adm.JSON("POST", a.Path("/admin/impersonation/stop"), `{}`)
		body = jsonBody(t, res)
		if res.StatusCode != http.StatusOK || body["restored"] != true || body["next"] != a.Path("/admin/users/"+u.ID)+"?notice=admin_returned" {
			t.Errorf("stop: got %d %s", res.StatusCode, res.Body)
		}
		if _, email, _ := adm.Whoami(); email != root.Email {
			t.Errorf("stopped: the session is %q's, want the administrator's", email)
		}
	})
}

func str(v any) string { s, _ := v.(string); return s }

// TestImpersonationTimeBox: with the site's clock moved on, an
// impersonation left idle for 15 minutes, and one kept busy past its 30,
// ends on the next request, which is the administrator's again; each end
// is audited with its cause.
func TestImpersonationTimeBox(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, root := a.admin(t, "root@example.com")
		u := a.CreateUser(t, "user@example.com", pw)

		a.impersonate(t, adm, u)
		a.Clock.Advance(16 * time.Minute)
		if _, email, _ := adm.Whoami(); email != root.Email {
			t.Fatalf("idle: the session is %q's, want the administrator's", email)
		}
		rows := a.auditRows(t, u, admin.ActionImpersonateEnd)
		if len(rows) != 1 || rows[0].ActorID != root.ID || rows[0].Metadata["reason"] != "idle" || rows[0].Metadata["restored"] != "true" {
			t.Fatalf("idle end rows: got %+v, want one with the reason idle", rows)
		}

		// In sudo again, then busy for more than 30 minutes.
		adm.Post("/auth/sudo", url.Values{"password": {pw}})
		a.impersonate(t, adm, u)
		for range 2 {
			a.Clock.Advance(10 * time.Minute)
			if _, email, _ := adm.Whoami(); email != u.Email {
				t.Fatalf("busy within the box: the session is %q's, want the user's", email)
			}
		}
		a.Clock.Advance(10 * time.Minute)
		if _, email, _ := adm.Whoami(); email != root.Email {
			t.Fatalf("past 30 minutes: the session is %q's, want the administrator's", email)
		}
		// The expired impersonation's row is gone by then: the end names
		// the administrator only.
		evs, _, err := a.St.SearchAudit(context.Background(), store.AuditSearch{ActorID: root.ID, Action: admin.ActionImpersonateEnd})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Metadata["reason"] != "expired" || evs[0].Metadata["restored"] != "true" {
			t.Errorf("end rows: got %+v, want a second with the reason expired", evs)
		}

		// The user's deletion scheduled meanwhile (by the user, say): the
		// next request is the administrator's again.
		adm.Post("/auth/sudo", url.Values{"password": {pw}})
		a.impersonate(t, adm, u)
		if err := a.St.ScheduleDeletion(context.Background(), u.ID, a.Clock.Now().Add(24*time.Hour), a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		if _, email, _ := adm.Whoami(); email != root.Email {
			t.Fatalf("deletion scheduled: the session is %q's, want the administrator's", email)
		}
		rows = a.auditRows(t, u, admin.ActionImpersonateEnd)
		if len(rows) != 2 || rows[0].Metadata["reason"] != "user_barred" || rows[0].ImpersonatorID != root.ID {
			t.Errorf("end rows of the user: got %+v, want the newest with the reason user_barred", rows)
		}
	})
}

// TestImpersonateRace: a grant of the role that is not committed yet when
// the start arrives still protects the account: the start's transaction
// waits for the grant and then refuses (403), and nothing starts.
func TestImpersonateRace(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, root := a.admin(t, "root@example.com")
		u := a.CreateUser(t, "user@example.com", pw)
		answered := make(chan *apptest.Response, 1)
		err := a.St.InTx(context.Background(), func(ctx context.Context) error {
			if err := a.St.GrantAdmin(ctx, u.ID, "", a.Clock.Now()); err != nil {
				return err
			}
			go func() {
				answered <- adm.JSON("POST", a.Path("/admin/users/"+u.ID+"/impersonate"), `{"reason": "Support ticket 4242"}`)
			}()
			select {
			case res := <-answered:
				t.Errorf("the start answered %d while the grant was open", res.StatusCode)
				answered <- res
			case <-time.After(300 * time.Millisecond):
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		res := <-answered
		if res.StatusCode != http.StatusForbidden || errCode(t, res) != "admin_protected" {
			t.Errorf("start racing a grant: got %d %q, want 403 admin_protected", res.StatusCode, errCode(t, res))
		}
		if _, email, _ := adm.Whoami(); email != root.Email {
			t.Errorf("the session is %q's, want the administrator's", email)
		}
		if rows := a.auditRows(t, u, admin.ActionImpersonateStart); len(rows) != 0 {
			t.Errorf("a refused start wrote %d rows", len(rows))
		}
	})
}

// sameBrowser returns a browser holding the cookies and form token that
// c holds now, with a cookie jar of its own: what one browser sends with
// each of two requests made at once.
func (a *app) sameBrowser(t *testing.T, c *apptest.Client) *apptest.Client {
	t.Helper()
	u, err := url.Parse(a.Server.URL)
	if err != nil {
		t.Fatal(err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	jar.SetCookies(u, c.Jar.Cookies(u))
	d := c.For(t)
	d.Jar = jar
	d.HTTP = &http.Client{Transport: c.HTTP.Transport, Jar: jar, CheckRedirect: c.HTTP.CheckRedirect}
	return d
}

// TestImpersonateTwiceAtOnce: two starts sent at once from one
// administrator's session (a double-click) each start an impersonation,
// each audited and told to the user, and each answer carries a whole
// state: the user's session and the administrator's own session to come
// back to. The browser keeps whichever answer it shows, and nothing can
// tell which: refusing either start could leave it with neither. The
// impersonation it did not keep cannot outlast the one it kept: ending
// that one renews the administrator's session, so the other ends on its
// next request, audited as the administrator's session gone.
func TestImpersonateTwiceAtOnce(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, root := a.admin(t, "root@example.com")
		u := a.CreateUser(t, "user@example.com", pw)
		mails := len(a.Mails(t, u.Email))
		browsers := []*apptest.Client{a.sameBrowser(t, adm), a.sameBrowser(t, adm)}
		answers := make([]*apptest.Response, len(browsers))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, b := range browsers {
			wg.Go(func() {
				<-start
				answers[i] = b.JSON("POST", a.Path("/admin/users/"+u.ID+"/impersonate"), `{"reason": "Support ticket 4242"}`)
			})
		}
		close(start)
		wg.Wait()
		for i, res := range answers {
			if res.StatusCode != http.StatusOK {
				t.Fatalf("start %d: got %d %s, want 200", i, res.StatusCode, res.Body)
			}
		}
		if rows := a.auditRows(t, u, admin.ActionImpersonateStart); len(rows) != 2 {
			t.Errorf("start rows: got %d, want one for each start", len(rows))
		}
		if got := len(a.Mails(t, u.Email)) - mails; got != 2 {
			t.Errorf("emails to the user: got %d, want one for each start", got)
		}
		cookie, adminCookie := a.Sessions.CookieName(), a.Sessions.ImpersonatorCookieName()
		if browsers[0].Cookie(cookie) == browsers[1].Cookie(cookie) {
			t.Fatal("both starts answered the same session")
		}
		for i, b := range browsers {
			if _, email, _ := b.Whoami(); email != u.Email {
				t.Fatalf("answer %d: the session is %q's, want the user's", i, email)
			}
			if b.Cookie(adminCookie) != adm.Cookie(cookie) {
				t.Errorf("answer %d: the administrator's cookie does not hold the session it started from", i)
			}
		}

		kept, other := browsers[0], browsers[1]
		if res := kept.JSON("POST", a.Path("/admin/impersonation/stop"), `{}`); res.StatusCode != http.StatusOK {
			t.Fatalf("stop: got %d %s", res.StatusCode, res.Body)
		}
		if _, email, _ := kept.Whoami(); email != root.Email {
			t.Fatalf("stopped: the session is %q's, want the administrator's", email)
		}
		if state, email, _ := other.Whoami(); email != "" {
			t.Errorf("the other impersonation after the stop: %s as %q, want it ended and signed out", state, email)
		}
		ends := a.auditRows(t, u, admin.ActionImpersonateEnd)
		if len(ends) != 1 || ends[0].Metadata["reason"] != string(session.EndAdminGone) || ends[0].Metadata["restored"] != "false" {
			t.Errorf("end rows: got %+v, want one, admin_gone, not restored", ends)
		}
		if _, email, _ := kept.Whoami(); email != root.Email {
			t.Errorf("after the other ended: the kept session is %q's, want the administrator's", email)
		}
	})
}

// TestStopWithoutAdminSession: when the administrator's own session was
// revoked meanwhile, the impersonation ends on the next request, the stop
// button's included: the browser is signed out, the stop acts on nothing
// (409 impersonation_ended), and the end is audited as the administrator's
// session gone, not restored.
func TestStopWithoutAdminSession(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, root := a.admin(t, "root@example.com")
		u := a.CreateUser(t, "user@example.com", pw)
		a.impersonate(t, adm, u)
		if _, err := a.St.RevokeUserSessions(context.Background(), root.ID, nil, a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		res := adm.JSON("POST", a.Path("/admin/impersonation/stop"), `{}`)
		if res.StatusCode != http.StatusConflict || errCode(t, res) != "impersonation_ended" || !strings.Contains(string(res.Body), "sign in again") {
			t.Errorf("stop: got %d %s, want 409 impersonation_ended, signed out", res.StatusCode, res.Body)
		}
		if state, email, _ := adm.Whoami(); email != "" {
			t.Errorf("after the stop: %s as %q, want signed out", state, email)
		}
		if rows := a.auditRows(t, u, admin.ActionImpersonateStop); len(rows) != 0 {
			t.Errorf("stop rows: got %+v, want none: the impersonation had ended", rows)
		}
		rows := a.auditRows(t, u, admin.ActionImpersonateEnd)
		if len(rows) != 1 || rows[0].ActorID != root.ID || rows[0].Metadata["reason"] != string(session.EndAdminGone) || rows[0].Metadata["restored"] != "false" {
			t.Errorf("end rows: got %+v, want one, admin_gone, not restored", rows)
		}
	})
}

// TestRoleRevokedEndsImpersonation: revoking the administrator's role
// while an impersonation runs ends it on the next request: the browser is
// back in the administrator's own session, and the end is audited with
// its cause.
func TestRoleRevokedEndsImpersonation(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, root := a.admin(t, "root@example.com")
		a.admin(t, "other-admin@example.com") // not the last administrator
		u := a.CreateUser(t, "user@example.com", pw)
		a.impersonate(t, adm, u)
		if _, email, _ := adm.Whoami(); email != u.Email {
			t.Fatalf("impersonating: the session is %q's, want %q's", email, u.Email)
		}
		if err := a.St.RevokeAdmin(context.Background(), root.ID); err != nil {
			t.Fatal(err)
		}
		if _, email, _ := adm.Whoami(); email != root.Email {
			t.Errorf("after the role was revoked: the session is %q's, want the administrator's own", email)
		}
		rows := a.auditRows(t, u, admin.ActionImpersonateEnd)
		if len(rows) != 1 || rows[0].ActorID != root.ID || rows[0].Metadata["reason"] != string(session.EndAdminRevoked) || rows[0].Metadata["restored"] != "true" {
			t.Errorf("end rows: got %+v, want one, admin_revoked, restored", rows)
		}
	})
}
