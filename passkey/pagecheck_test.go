package passkey_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/htmlcheck"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/passkey"
	"github.com/sigra-go/sigra/ui"
)

// The page checks: every page, settings section and email of the passkey
// pack, and the pages of other packs it adds to (sign-in, sudo, second
// factor), rendered through a ui.UI with realistic data, pass the checks
// of apptest.PageCheck and show what they are for.

var pcT0 = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

func pcCheck(t testing.TB) *apptest.PageCheck {
	t.Helper()
	return apptest.NewPageCheck(t, passkey.Pages(), account.Pages(), mfa.Pages())
}

// wantScript checks that the page loads the passkey script from the
// assets and carries the element it drives, with the routes it posts to.
func wantScript(kind string, routes ...string) func(t testing.TB, doc *html.Node, _ *ui.Page) {
	return func(t testing.TB, doc *html.Node, _ *ui.Page) {
		t.Helper()
		var found bool
		for _, s := range htmlcheck.ByTag(doc, "script") {
			if src := htmlcheck.AttrOr(s, "src", ""); strings.HasPrefix(src, "/auth/assets/passkey.") && strings.HasSuffix(src, ".js") {
				found = true
			}
		}
		if !found {
			t.Error("got no passkey script from the assets")
		}
		var el *html.Node
		for _, n := range htmlcheck.Elements(doc) {
			if htmlcheck.AttrOr(n, "data-passkey", "") == kind && el == nil {
				el = n
			}
		}
		if el == nil {
			t.Fatalf("got no element with data-passkey=%q", kind)
		}
		if _, hidden := htmlcheck.Attr(el, "hidden"); !hidden {
			t.Error("the passkey element shows before the script finds passkeys")
		}
		for _, r := range routes {
			if !strings.Contains(htmlcheck.AttrOr(el, "data-options", "")+" "+htmlcheck.AttrOr(el, "data-finish", "")+" "+htmlcheck.AttrOr(el, "action", ""), r) {
				t.Errorf("data-passkey=%q: no route %s", kind, r)
			}
		}
	}
}

func TestPageChecks(t *testing.T) {
	t.Parallel()
	type want = htmlcheck.Want
	type list = []string
	one := []passkey.Passkey{
		{ID: "pk-1", Name: "Work laptop", CreatedAt: pcT0, LastUsedAt: pcT0.Add(time.Hour), Synced: true, BackedUp: true},
		{ID: "pk-2", Name: "Security key", CreatedAt: pcT0},
	}
	pcCheck(t).Pages(t, []apptest.PageCase{
		{Page: "passkeys", User: true, Data: &passkey.ManageData{Passkeys: one, Max: 10, HasPassword: true},
			Fields: map[string]string{"name": "passkey-name"},
			Want: want{Text: list{"Work laptop", "Synced", "Security key", "This device only", "Never used", "2 passkeys of at most 10"},
				Forms: list{"/auth/passkeys/rename", "/auth/passkeys/delete", "/auth/passkeys/register"}},
			Check: wantScript("register", "/auth/passkeys/register/options", "/auth/passkeys/register")},
		{Page: "passkeys", Label: "full", User: true, Data: &passkey.ManageData{Passkeys: one, Max: 2},
			Want: want{NoForms: list{"/auth/passkeys/register"}}},
		{Page: "passkeys", Label: "none", User: true, Data: &passkey.ManageData{Max: 10},
			Fields: map[string]string{"name": "passkey-name"},
			Want:   want{Text: list{"You have no passkeys yet"}}},
		{Page: "passkey_signin", Want: want{Autocomplete: map[string]string{"email": "username webauthn"}, Links: list{"/auth/login"}},
			Check: wantScript("signin", "/auth/passkeys/signin/options", "/auth/passkeys/signin")},
	})
}

// The pack fills the slots of the sign-in, sudo, second-factor and
// step-up pages of the other packs with the elements the script drives.
func TestSlotsOnOtherPages(t *testing.T) {
	t.Parallel()
	pc := pcCheck(t)
	for _, tc := range []struct {
		page  string
		data  any
		user  bool
		check func(t testing.TB, doc *html.Node, _ *ui.Page)
		want  htmlcheck.Want
	}{
		{"login", &account.LoginData{}, false, wantScript("signin", "/auth/passkeys/signin/options", "/auth/passkeys/signin"),
			htmlcheck.Want{Autocomplete: map[string]string{"email": "username webauthn"}, Links: []string{"/auth/passkeys/signin"}}},
		{"sudo", &account.SudoData{HasPassword: true}, true, wantScript("verify", "/auth/passkeys/sudo/options", "/auth/passkeys/sudo"), htmlcheck.Want{}},
		{"mfa_challenge", &mfa.ChallengeData{}, false, wantScript("verify", "/auth/passkeys/challenge/options", "/auth/passkeys/challenge"), htmlcheck.Want{}},
		{"mfa_setup", &mfa.SetupData{Secret: "JBSWY3DPEHPK3PXP", Enrollment: "e", Passkey: true}, true,
			wantScript("verify", "/auth/passkeys/challenge/options", "/auth/passkeys/challenge"), htmlcheck.Want{Text: []string{"Use a passkey"}}},
	} {
		t.Run(tc.page, func(t *testing.T) {
			p := &ui.Page{Data: tc.data, CSRFToken: "token"}
			if tc.user {
				p.User = pc.User
			}
			rec := httptest.NewRecorder()
			pc.UI.Render(rec, httptest.NewRequest("GET", "/", nil), 200, tc.page, p)
			doc := htmlcheck.Page(t, rec.Body.String(), htmlcheck.Options{CSRFToken: "token"})
			htmlcheck.Expect(t, doc, tc.want)
			tc.check(t, doc, p)
		})
	}
}

func TestSectionChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Sections(t, []apptest.SectionCase{
		{Section: "passkeys", Label: "some", Data: &passkey.PasskeysSection{Count: 2, Max: 10},
			Want: htmlcheck.Want{Text: []string{"2 passkeys", "Manage"}, Links: []string{"/auth/passkeys"}}},
		{Section: "passkeys", Label: "none", Data: &passkey.PasskeysSection{Max: 10},
			Want: htmlcheck.Want{Text: []string{"Add"}, Links: []string{"/auth/passkeys"}}},
	})
}

func TestEmailChecks(t *testing.T) {
	t.Parallel()
	type list = []string
	pcCheck(t).Emails(t, map[string]apptest.EmailCase{
		"passkey_added":   {Data: &passkey.PasskeyMail{Name: "Work laptop"}, Want: list{"Work laptop", "was added", "192.0.2.10"}},
		"passkey_removed": {Data: &passkey.PasskeyMail{Name: "Work laptop"}, Want: list{"Work laptop", "was removed", "192.0.2.10"}},
	})
	pcCheck(t).EmailsUntrusted(t)
	pcCheck(t).ZeroData(t)
}

// Every POST route has a schema, and every schema a route.
func TestFormsCoverEveryRoute(t *testing.T) {
	t.Parallel()
	a := newApp(t, options{})
	unschemed, unused := a.Passkeys.FormsCheck()
	if len(unschemed) > 0 || len(unused) > 0 {
		t.Errorf("got routes without a schema %q and schemas without a route %q, want none", unschemed, unused)
	}
}
