package jwtauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/htmlcheck"
	"github.com/sigra-go/sigra/jwtauth"
	"github.com/sigra-go/sigra/ui"
)

// TestSettingsSection: the settings page lists the apps holding tokens for
// the user (HTML and JSON); revoking one ends its family and its access
// tokens at once; another user's family is not found; bad input changes
// nothing.
func TestSettingsSection(t *testing.T) {
	each(t, nil, func(t *testing.T, a *app) {
		c, u := a.signedIn(t, "section@example.com")
		settings, ok := a.UI.Route(ui.RouteSettings)
		if !ok {
			t.Fatal("no settings route")
		}
		if res := c.Get(settings); strings.Contains(res.Body, "Apps with access") {
			t.Errorf("the section shows without any app")
		}
		phone := a.exchange(t, c, `{"client_name":"a phone"}`)
		tablet := a.exchange(t, c, `{"client_name":"a tablet"}`)
		res := c.Get(settings)
		for _, want := range []string{"Apps with access", "a phone", "a tablet", jwtauth.PathRevokeClient} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("settings page lacks %q", want)
			}
		}
		js := c.JSON("GET", settings, "")
		if !strings.Contains(js.Body, `"api_access"`) || !strings.Contains(js.Body, `"name":"a phone"`) {
			t.Errorf("settings JSON lacks the section: %s", js.Body)
		}
		fams, err := a.st.UserRefreshFamilies(t.Context(), u.ID, a.Clock.Now())
		if err != nil || len(fams) != 2 {
			t.Fatalf("families: %d, %v", len(fams), err)
		}
		phoneID := fams[1].ID // newest first
		if fams[1].ClientName != "a phone" {
			t.Fatalf("families: %q first, want the tablet's newest", fams[0].ClientName)
		}

		// Another user cannot revoke it; bad input is refused.
		other, _ := a.signedIn(t, "other@example.com")
		wantStatus(t, "another user's family", other.JSON("POST", a.Path(jwtauth.PathRevokeClient), `{"id":"`+phoneID+`"}`), http.StatusNotFound)
		res = c.JSON("POST", a.Path(jwtauth.PathRevokeClient), `{"id":"`+phoneID+`","x":1}`)
		if res.StatusCode != http.StatusBadRequest || errCode(t, res) != "unknown_field" {
			t.Errorf("unknown field: %d %s", res.StatusCode, res.Body)
		}
		wantStatus(t, "access still", a.bearer(t, "/api/me", phone.AccessToken), http.StatusOK)
		// Anonymous: sent to sign in.
		if res := a.Client(t).Post(a.Path(jwtauth.PathRevokeClient), url.Values{"id": {phoneID}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("anonymous revoke: got %d, want a redirect to sign in", res.StatusCode)
		}

		res = c.Post(a.Path(jwtauth.PathRevokeClient), url.Values{"id": {phoneID}})
		wantStatus(t, "revoke from the settings page", res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != settings+"?notice=api_access_revoked" {
			t.Errorf("revoke: Location %q", loc)
		}
		wantStatus(t, "the phone's access", a.bearer(t, "/api/me", phone.AccessToken), http.StatusUnauthorized)
		wantStatus(t, "the phone's refresh", a.refresh(t, phone.RefreshToken), http.StatusBadRequest)
		wantStatus(t, "the tablet's access", a.bearer(t, "/api/me", tablet.AccessToken), http.StatusOK)
		wantStatus(t, "revoke again", c.JSON("POST", a.Path(jwtauth.PathRevokeClient), `{"id":"`+phoneID+`"}`), http.StatusNotFound)
		if got := a.actions(t, u.ID); len(got) == 0 || got[0] != "jwt.revoke:success" {
			t.Errorf("audit: got %q, want jwt.revoke first", got)
		}
	})
}

func pcCheck(t testing.TB) *apptest.PageCheck {
	t.Helper()
	return apptest.NewPageCheck(t, jwtauth.Pages(), account.Pages())
}

var pcT0 = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

// TestSectionChecks: the section passes the page checks and shows what
// it is for.
func TestSectionChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Sections(t, []apptest.SectionCase{
		{Section: "api_access", Label: "two", Data: &jwtauth.AccessSection{Clients: []jwtauth.Client{
			{ID: "f1", Name: "a phone", Scopes: []string{"read", "write"}, CreatedAt: pcT0},
			{ID: "f2", CreatedAt: pcT0},
		}}, Want: htmlcheck.Want{Text: []string{"2 apps hold", "a phone", "read, write", "An unnamed app"}, Times: true,
			Forms: []string{"/auth" + jwtauth.PathRevokeClient}}},
	})
}

func TestSettingsPageChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Settings(t, []apptest.SettingsCase{{Label: "with apps", Sections: []ui.Section{
		apptest.FixedSection("email", 10, &account.EmailSection{Email: "user@example.com", Confirmed: true}),
		apptest.FixedSection("api_access", 35, &jwtauth.AccessSection{Clients: []jwtauth.Client{{ID: "f1", Name: "a phone", CreatedAt: pcT0}}}),
	}, Want: htmlcheck.Want{Text: []string{"Apps with access", "a phone"}}}})
}

func TestPageChecksZeroData(t *testing.T) {
	t.Parallel()
	pcCheck(t).ZeroData(t)
}
