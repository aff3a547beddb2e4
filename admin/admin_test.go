package admin_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
)

// route is one of the console's POST routes on a user, with a JSON body
// the route accepts.
type route struct {
	path string
	body string
	// destructive routes refuse an administrator's account.
	destructive bool
}

func routes() []route {
	return []route{
		{"/lock", `{}`, true},
		{"/unlock", `{}`, false},
		{"/disable", `{}`, true},
		{"/enable", `{}`, false},
		{"/sessions/revoke", `{"session_id": "s"}`, true},
		{"/sessions/revoke-all", `{}`, true},
		{"/password-reset", `{}`, true},
		{"/confirmation", `{}`, false},
		{"/two-factor/reset", `{}`, true},
		{"/passkeys/remove", `{"passkey_id": "p"}`, true},
		{"/identities/unlink", `{"identity_id": "i"}`, true},
		{"/deletion/cancel", `{}`, false},
		{"/deletion/run", `{"confirm_email": "x@example.com"}`, true},
		{"/impersonate", `{"reason": "support ticket"}`, true},
		{"/admin/grant", `{}`, false},
		{"/admin/revoke", `{}`, false},
	}
}

// TestRequire: the console answers 404 to everyone but administrators,
// as a page and as JSON, on every page, so its existence does not show.
func TestRequire(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		user, u := a.signedIn(t, "user@example.com")
		adm, _ := a.admin(t, "root@example.com")
		anon := a.Client(t)
		pages := []string{"/admin/users", "/admin/users/" + u.ID, "/admin/audit", "/admin/audit/export?format=csv", "/admin/audit/x"}
		for _, p := range pages {
			for name, c := range map[string]*apptest.Client{"anonymous": anon, "user": user} {
				if res := c.Get(a.Path(p)); res.StatusCode != http.StatusNotFound || strings.Contains(res.Body, "Users") {
					t.Errorf("%s GET %s (HTML): got %d, want 404 that says nothing of the console", name, p, res.StatusCode)
				}
				if res := c.JSON("GET", a.Path(p), ""); res.StatusCode != http.StatusNotFound || errCode(t, res) != "not_found" {
					t.Errorf("%s GET %s (JSON): got %d %q, want 404 not_found", name, p, res.StatusCode, errCode(t, res))
				}
			}
		}
		if res := adm.JSON("GET", a.Path("/admin/users"), ""); res.StatusCode != http.StatusOK {
			t.Errorf("admin GET /admin/users: got %d\n%s", res.StatusCode, res.Body)
		}
		// Revoking the role closes the console at once (another
		// administrator remains: the last one's role is never revoked).
		a.admin(t, "second@example.com")
		if err := a.St.RevokeAdmin(context.Background(), a.User(t, "root@example.com").ID); err != nil {
			t.Fatal(err)
		}
		if res := adm.JSON("GET", a.Path("/admin/users"), ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("former admin GET /admin/users: got %d, want 404", res.StatusCode)
		}
	})
}

// TestAuthorization: every action, by every kind of caller, as a table:
// anonymous, a user, an organization's admin whose organization holds the
// target (the console is not theirs) answer 404; an administrator on
// another administrator is refused the destructive actions with 403; a
// refused request changes nothing and writes no audit row.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, root := a.admin(t, "root@example.com")
		_, other := a.admin(t, "other-admin@example.com")
		target := a.CreateUser(t, "target@example.com", pw)
		user, _ := a.signedIn(t, "user@example.com")
		orgAdmin, oa := a.signedIn(t, "org-admin@example.com")
		o := a.org(t, "acme", oa)
		a.member(t, o, target, store.RoleMember)
		anon := a.Client(t)
		for _, r := range routes() {
			before := a.auditCount(t)
			for name, c := range map[string]*apptest.Client{"anonymous": anon, "user": user, "org admin": orgAdmin} {
				res := c.JSON("POST", a.Path("/admin/users/"+target.ID+r.path), r.body)
				if res.StatusCode != http.StatusNotFound {
					t.Errorf("%s POST %s: got %d, want 404", name, r.path, res.StatusCode)
				}
			}
			res := adm.JSON("POST", a.Path("/admin/users/"+other.ID+r.path), r.body)
			switch {
			case r.destructive && (res.StatusCode != http.StatusForbidden || errCode(t, res) != "admin_protected"):
				t.Errorf("admin on admin POST %s: got %d %q, want 403 admin_protected", r.path, res.StatusCode, errCode(t, res))
			case !r.destructive && (res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusForbidden):
				t.Errorf("admin on admin POST %s: got %d, want it allowed", r.path, res.StatusCode)
			}
			if r.destructive {
				if n := a.auditCount(t); n != before {
					t.Errorf("refused POST %s wrote %d audit rows", r.path, n-before)
				}
			}
			// The acting administrator's own account is protected too.
			if res := adm.JSON("POST", a.Path("/admin/users/"+root.ID+r.path), r.body); r.destructive && res.StatusCode != http.StatusForbidden {
				t.Errorf("admin on self POST %s: got %d, want 403", r.path, res.StatusCode)
			}
		}
		if a.reload(t, other).DisabledAt.IsZero() == false || a.liveSessions(t, other) != 1 {
			t.Error("the other administrator's account changed")
		}
		ok, err := a.St.IsAdmin(context.Background(), other.ID)
		if err != nil || ok {
			// The last route revoked the other admin's role: allowed, and
			// then the account is no longer protected.
			t.Errorf("admin/revoke on another admin: IsAdmin got %v, %v; want false", ok, err)
		}
		if res := adm.JSON("POST", a.Path("/admin/users/"+root.ID+"/admin/revoke"), `{}`); res.StatusCode != http.StatusConflict || errCode(t, res) != "self" {
			t.Errorf("admin revoking own role: got %d %q, want 409 self", res.StatusCode, errCode(t, res))
		}
		if res := adm.JSON("POST", a.Path("/admin/users/"+other.ID+"/disable"), `{}`); res.StatusCode != http.StatusOK {
			t.Errorf("disable a former admin: got %d\n%s", res.StatusCode, res.Body)
		}
	})
}

// TestSudo: every action needs sudo; past the window it answers 403
// sudo_required (JSON) or sends the browser to re-authenticate, and
// nothing changes.
func TestSudo(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, _ := a.admin(t, "root@example.com")
		target, _ := a.signedIn(t, "target@example.com")
		_ = target
		u := a.User(t, "target@example.com")
		a.Clock.Advance(15 * time.Minute) // past the sudo window, within the idle timeout
		before := a.auditCount(t)
		for _, r := range routes() {
			res := adm.JSON("POST", a.Path("/admin/users/"+u.ID+r.path), r.body)
			if res.StatusCode != http.StatusForbidden || errCode(t, res) != "sudo_required" {
				t.Errorf("POST %s out of sudo: got %d %q, want 403 sudo_required", r.path, res.StatusCode, errCode(t, res))
			}
		}
		if res := adm.Post(a.Path("/admin/users/"+u.ID+"/disable"), nil); res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "/sudo") {
			t.Errorf("form POST out of sudo: got %d to %q, want a redirect to re-authenticate", res.StatusCode, res.Header.Get("Location"))
		}
		if res := adm.Get(a.Path("/admin/audit/export?format=csv")); res.StatusCode != http.StatusSeeOther {
			t.Errorf("export out of sudo: got %d, want a redirect to re-authenticate", res.StatusCode)
		}
		if n := a.auditCount(t); n != before {
			t.Errorf("requests out of sudo wrote %d audit rows", n-before)
		}
		if !a.reload(t, u).DisabledAt.IsZero() || a.liveSessions(t, u) != 1 {
			t.Error("the target changed")
		}
	})
}

// TestActions: each action does what it says, in the store, with its
// audit row (the administrator as actor, the user as subject) and, where
// it affects the user, an email.
func TestActions(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		adm, root := a.admin(t, "root@example.com")
		victim, u := a.signedIn(t, "user@example.com")
		post := func(path, body string) map[string]any {
			t.Helper()
			res := adm.JSON("POST", a.Path("/admin/users/"+u.ID+path), body)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("POST %s: got %d\n%s", path, res.StatusCode, res.Body)
			}
			return jsonBody(t, res)
		}
		// Lock, then unlock.
		post("/lock", `{}`)
		if got := a.reload(t, u).LockedUntil; !got.Equal(a.Clock.Now().Add(24*time.Hour).Truncate(time.Millisecond)) && got.Sub(a.Clock.Now()) < 23*time.Hour {
			t.Errorf("LockedUntil after lock: got %v", got)
		}
		if m := a.LastMail(t, u.Email); !strings.Contains(m.Subject, "locked") {
			t.Errorf("lock email: got %q", m.Subject)
		}
		post("/unlock", `{}`)
		if !a.reload(t, u).LockedUntil.IsZero() {
			t.Error("LockedUntil after unlock: not cleared")
		}
		// Revoke all: the user's browser is signed out at once.
		body := post("/sessions/revoke-all", `{}`)
		if body["revoked"] != float64(1) {
			t.Errorf("revoke-all: got %v revoked, want 1", body["revoked"])
		}
		if state, _, _ := victim.Whoami(); state == "authenticated" {
			t.Error("the user's session survived revoke-all")
		}
		if m := a.LastMail(t, u.Email); !strings.Contains(m.Subject, "signed out everywhere") {
			t.Errorf("revoke-all email: got %q", m.Subject)
		}
		// Disable signs out and refuses sign-in; enable lets it back.
		victim.SignIn(u.Email, pw)
		post("/disable", `{}`)
		if a.reload(t, u).DisabledAt.IsZero() || a.liveSessions(t, u) != 0 {
			t.Error("disable: the account is not disabled, or a session lives")
		}
		if m := a.LastMail(t, u.Email); !strings.Contains(m.Subject, "disabled") {
			t.Errorf("disable email: got %q", m.Subject)
		}
		if res := adm.JSON("POST", a.Path("/admin/users/"+u.ID+"/disable"), `{}`); res.StatusCode != http.StatusConflict {
			t.Errorf("disable twice: got %d, want 409", res.StatusCode)
		}
		post("/enable", `{}`)
		if m := a.LastMail(t, u.Email); !strings.Contains(m.Subject, "was enabled") {
			t.Errorf("enable email: got %q", m.Subject)
		}
		// Force a password reset: sessions revoked, a working link sent.
		victim.SignIn(u.Email, pw)
		post("/password-reset", `{}`)
		if a.liveSessions(t, u) != 0 {
			t.Error("password reset: a session lives")
		}
		link := apptest.Link(t, a.LastMail(t, u.Email), "/password/reset")
		if _, err := a.St.PeekToken(ctx, store.PurposeReset, tokenDigest(apptest.TokenOf(link)), a.Clock.Now()); err != nil {
			t.Errorf("the reset link's token: %v", err)
		}
		if res := a.Client(t).Get(link); res.StatusCode != http.StatusOK {
			t.Errorf("the reset link's page: got %d", res.StatusCode)
		}
		// Two-factor reset.
		if err := a.St.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("x"), CreatedAt: a.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := a.St.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{tokenDigest("a"), tokenDigest("b")}, a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		post("/two-factor/reset", `{}`)
		if _, err := a.St.TOTPByUser(ctx, u.ID); err == nil {
			t.Error("two-factor reset: the TOTP secret remains")
		}
		if n, _ := a.St.CountRecoveryCodes(ctx, u.ID); n != 0 {
			t.Errorf("two-factor reset: %d recovery codes remain", n)
		}
		// Grant and revoke.
		post("/admin/grant", `{}`)
		if ok, _ := a.St.IsAdmin(ctx, u.ID); !ok {
			t.Error("grant: not an administrator")
		}
		post("/admin/revoke", `{}`)
		// Deletion: cancel, then run.
		if err := a.St.ScheduleDeletion(ctx, u.ID, a.Clock.Now().Add(time.Hour), a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		post("/deletion/cancel", `{}`)
		if !a.reload(t, u).DeletionDueAt.IsZero() {
			t.Error("deletion cancel: still scheduled")
		}
		if err := a.St.ScheduleDeletion(ctx, u.ID, a.Clock.Now().Add(time.Hour), a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		want := []string{
			audit.ActionDeleteCancel, admin.ActionRevoke, admin.ActionGrant, admin.ActionTwoFactorReset, admin.ActionPasswordReset,
			audit.ActionUserEnable, audit.ActionUserDisable, audit.ActionSessionRevokeAll, audit.ActionUnlock, admin.ActionLock,
		}
		if got := a.events(t, u, root.ID); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("audit rows with the admin as actor and the user as subject:\ngot  %q\nwant %q", got, want)
		}
		if res := adm.JSON("POST", a.Path("/admin/users/"+u.ID+"/deletion/run"), `{"confirm_email": "someone@example.com"}`); res.StatusCode != http.StatusBadRequest || errFields(t, res)["confirm_email"] == nil {
			t.Errorf("deletion run with the wrong address: got %d %s", res.StatusCode, res.Body)
		}
		res := adm.JSON("POST", a.Path("/admin/users/"+u.ID+"/deletion/run"), `{"confirm_email": "USER@example.com"}`)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("deletion run: got %d\n%s", res.StatusCode, res.Body)
		}
		if _, err := a.St.UserByID(ctx, u.ID); err == nil {
			t.Error("deletion run: the user remains")
		}
		if res := adm.JSON("GET", a.Path("/admin/users/"+u.ID), ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("the deleted user's page: got %d, want 404", res.StatusCode)
		}
	})
}

// TestResendConfirmation: an unconfirmed user gets a working link; a
// confirmed one is refused with 409 and nothing is sent.
func TestResendConfirmation(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, _ := a.admin(t, "root@example.com")
		u := &store.User{Email: "new@example.com", CreatedAt: a.Clock.Now()}
		if err := a.St.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		res := adm.JSON("POST", a.Path("/admin/users/"+u.ID+"/confirmation"), `{}`)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("resend: got %d\n%s", res.StatusCode, res.Body)
		}
		link := apptest.Link(t, a.LastMail(t, u.Email), "/confirm")
		c := a.Client(t)
		if res := c.Get(link); res.StatusCode != http.StatusOK {
			t.Fatalf("the confirmation page: got %d", res.StatusCode)
		}
		if res := c.Post(a.Path("/confirm"), url.Values{"token": {apptest.TokenOf(link)}}); res.StatusCode >= 400 {
			t.Fatalf("confirming: got %d\n%s", res.StatusCode, res.Body)
		}
		if a.reload(t, u).EmailConfirmedAt.IsZero() {
			t.Fatal("the address is not confirmed")
		}
		n := len(a.Mails(t, u.Email))
		if res := adm.JSON("POST", a.Path("/admin/users/"+u.ID+"/confirmation"), `{}`); res.StatusCode != http.StatusConflict || errCode(t, res) != "already_confirmed" {
			t.Errorf("resend to a confirmed address: got %d %q", res.StatusCode, errCode(t, res))
		}
		if got := len(a.Mails(t, u.Email)); got != n {
			t.Errorf("resend to a confirmed address sent %d emails", got-n)
		}
	})
}

// TestBadInput: refused input answers 400 with the field, and changes
// nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, _ := a.admin(t, "root@example.com")
		_, u := a.signedIn(t, "user@example.com")
		before := a.auditCount(t)
		for _, c := range []struct {
			method, path, body string
			field              string
		}{
			{"POST", "/admin/users/" + u.ID + "/sessions/revoke", `{}`, "session_id"},
			{"POST", "/admin/users/" + u.ID + "/sessions/revoke", `{"session_id": "not-a-session"}`, "session_id"},
			{"POST", "/admin/users/" + u.ID + "/sessions/revoke", `{"session_id": 7}`, "session_id"},
			{"POST", "/admin/users/" + u.ID + "/disable", `{"reason": "x"}`, "reason"},
			{"POST", "/admin/users/" + u.ID + "/lock", `[]`, ""},
			{"POST", "/admin/users/" + u.ID + "/passkeys/remove", `{"passkey_id": ""}`, "passkey_id"},
			{"POST", "/admin/users/" + u.ID + "/identities/unlink", `{"identity_id": "nope"}`, "identity_id"},
			{"GET", "/admin/users?state=sleeping", "", "state"},
			{"GET", "/admin/users?after=garbage", "", "after"},
			{"GET", "/admin/users?two_factor=maybe", "", "two_factor"},
			{"GET", "/admin/users?org=no-such-org", "", "org"},
			{"GET", "/admin/users?q=" + strings.Repeat("a", 300), "", "q"},
			{"GET", "/admin/audit?since=yesterday", "", "since"},
			{"GET", "/admin/audit?since=2026-03-14&until=2026-03-13", "", "until"},
			{"GET", "/admin/audit?outcome=maybe", "", "outcome"},
			{"GET", "/admin/audit?actor=nobody@example.com", "", "actor"},
			{"GET", "/admin/audit?after=garbage", "", "after"},
			{"GET", "/admin/audit/export?format=xlsx", "", "format"},
		} {
			res := adm.JSON(c.method, a.Path(c.path), c.body)
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("%s %s %s: got %d, want 400\n%s", c.method, c.path, c.body, res.StatusCode, res.Body)
				continue
			}
			if c.field != "" && errFields(t, res)[c.field] == nil {
				t.Errorf("%s %s %s: no message for field %q in %s", c.method, c.path, c.body, c.field, res.Body)
			}
		}
		if n := a.auditCount(t); n != before {
			t.Errorf("refused input wrote %d audit rows", n-before)
		}
		if a.liveSessions(t, u) != 1 || !a.reload(t, u).DisabledAt.IsZero() || !a.reload(t, u).LockedUntil.IsZero() {
			t.Error("refused input changed the user")
		}
		// An unknown user is 404, on pages and actions.
		for _, p := range []string{"/admin/users/nobody", "/admin/audit/nobody"} {
			if res := adm.JSON("GET", a.Path(p), ""); res.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: got %d, want 404", p, res.StatusCode)
			}
		}
		if res := adm.JSON("POST", a.Path("/admin/users/nobody/disable"), `{}`); res.StatusCode != http.StatusNotFound {
			t.Errorf("disable an unknown user: got %d, want 404", res.StatusCode)
		}
	})
}

func tokenDigest(s string) []byte { return token.Digest(s) }

// TestProtectedRace: a grant of the role that is not committed yet when
// a destructive action arrives still protects the account: the action's
// transaction waits for the grant and then refuses (403), and nothing
// changes.
func TestProtectedRace(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		adm, _ := a.admin(t, "root@example.com")
		_, u := a.signedIn(t, "user@example.com")
		answered := make(chan *apptest.Response, 1)
		err := a.St.InTx(context.Background(), func(ctx context.Context) error {
			if err := a.St.GrantAdmin(ctx, u.ID, "", a.Clock.Now()); err != nil {
				return err
			}
			go func() { answered <- adm.JSON("POST", a.Path("/admin/users/"+u.ID+"/disable"), `{}`) }()
			select {
			case res := <-answered:
				t.Errorf("the action answered %d while the grant was open", res.StatusCode)
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
			t.Errorf("disable racing a grant: got %d %q, want 403 admin_protected", res.StatusCode, errCode(t, res))
		}
		if !a.reload(t, u).DisabledAt.IsZero() || a.liveSessions(t, u) != 1 {
			t.Error("the new administrator's account changed")
		}
	})
}

// TestRemovePasskeyAndUnlink: removing a passkey and unlinking a sign-in
// provider take them from the user, are audited, and tell the user;
// unlinking the last way to sign in is refused (the store's guard), and
// changes nothing.
func TestRemovePasskeyAndUnlink(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		adm, _ := a.admin(t, "root@example.com")
		_, u := a.signedIn(t, "user@example.com")
		pk := &store.Passkey{
			UserID: u.ID, RPID: "localhost", CredentialID: []byte("credential-1"), PublicKey: []byte("public-key-1"),
			AttestationType: "none", AttestationFormat: "none", AAGUID: make([]byte, 16), Name: "Laptop", CreatedAt: a.Clock.Now(),
		}
		if err := a.St.CreatePasskey(ctx, pk, 10); err != nil {
			t.Fatal(err)
		}
		id := &store.Identity{UserID: u.ID, Provider: "github", Subject: "4242", Email: u.Email, CreatedAt: a.Clock.Now()}
		if err := a.St.CreateIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
		post := func(path, body string) *apptest.Response {
			t.Helper()
			return adm.JSON("POST", a.Path("/admin/users/"+u.ID+path), body)
		}
		if res := post("/passkeys/remove", `{"passkey_id": "`+pk.ID+`"}`); res.StatusCode != http.StatusOK {
			t.Fatalf("remove passkey: %d %s", res.StatusCode, res.Body)
		}
		if ps, err := a.St.PasskeysByUser(ctx, u.ID, "localhost"); err != nil || len(ps) != 0 {
			t.Fatalf("passkeys after the removal: %d (%v)", len(ps), err)
		}
		if m := a.LastMail(t, u.Email); !strings.Contains(m.Subject, "passkey was removed") {
			t.Errorf("passkey email: got %q", m.Subject)
		}
		if res := post("/identities/unlink", `{"identity_id": "`+id.ID+`"}`); res.StatusCode != http.StatusOK {
			t.Fatalf("unlink: %d %s", res.StatusCode, res.Body)
		}
		if _, err := a.St.IdentityBySubject(ctx, "github", "4242"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("identity after the unlink: %v", err)
		}
		if m := a.LastMail(t, u.Email); !strings.Contains(m.Subject, "github was unlinked") {
			t.Errorf("unlink email: got %q", m.Subject)
		}
		for _, action := range []string{admin.ActionPasskeyRemove, admin.ActionIdentityUnlink} {
			evs, _, err := a.St.QueryAudit(ctx, store.AuditQuery{UserID: u.ID, Action: action})
			if err != nil || len(evs) != 1 {
				t.Errorf("%s rows: %d (%v)", action, len(evs), err)
			}
		}
	})
}

// TestRevokeOneSession: signing out one of the user's sessions ends it,
// is audited, and leaves the user's other sessions.
func TestRevokeOneSession(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		adm, _ := a.admin(t, "root@example.com")
		first, u := a.signedIn(t, "user@example.com")
		second := a.Client(t)
		second.SignIn(u.Email, pw)
		sessions, err := a.St.UserSessions(ctx, u.ID, a.Clock.Now())
		if err != nil || len(sessions) != 2 {
			t.Fatalf("sessions: %d (%v)", len(sessions), err)
		}
		res := adm.JSON("POST", a.Path("/admin/users/"+u.ID+"/sessions/revoke"), `{"session_id": "`+sessions[0].ID+`"}`)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("revoke one session: %d %s", res.StatusCode, res.Body)
		}
		if n := a.liveSessions(t, u); n != 1 {
			t.Errorf("live sessions after revoking one: %d, want 1", n)
		}
		live := 0
		for _, c := range []*apptest.Client{first, second} {
			if state, _, _ := c.Whoami(); state == "authenticated" {
				live++
			}
		}
		if live != 1 {
			t.Errorf("browsers still signed in: %d, want 1", live)
		}
		evs, _, err := a.St.QueryAudit(ctx, store.AuditQuery{UserID: u.ID, Action: audit.ActionSessionRevoke})
		if err != nil || len(evs) != 1 {
			t.Errorf("session.revoke rows: %d (%v)", len(evs), err)
		}
	})
}
