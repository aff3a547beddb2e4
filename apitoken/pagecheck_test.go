package apitoken_test

import (
	"testing"
	"time"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/apitoken"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/htmlcheck"
	"github.com/sigra-go/sigra/ui"
)

// The page checks: every page, settings section and email of the API
// tokens pack, rendered through a ui.UI with realistic data (beside the
// account pack), passes the checks of apptest.PageCheck and shows what it
// is for.

var pcT0 = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

func pcCheck(t testing.TB) *apptest.PageCheck {
	t.Helper()
	return apptest.NewPageCheck(t, apitoken.Pages(), account.Pages())
}

const pcSecret = "sigrapat_0123456789abcdefghijABCDEFGHIJ0123456789k_AbCdEf"

func pcCases() []apptest.PageCase {
	type want = htmlcheck.Want
	type list = []string
	type fields = map[string]string
	expiries := []apitoken.ExpiryOption{{Value: "30", Label: "30 days"}, {Value: "90", Label: "90 days", Default: true}, {Value: "never", Label: "No expiry"}}
	return []apptest.PageCase{
		{Page: "api_tokens", User: true, Data: &apitoken.TokensData{
			Tokens: []apitoken.TokenView{
				{ID: "t1", Name: "deploy script", Scopes: []string{"notes:read", "notes:write"}, CreatedAt: pcT0, ExpiresAt: pcT0.Add(90 * 24 * time.Hour), LastUsedAt: pcT0},
				{ID: "t2", Name: "backup", CreatedAt: pcT0},
			},
			Scopes:          scopes,
			Expiries:        expiries,
			ServiceAccounts: true,
		}, Fields: fields{"name": "token-name", "expires_in_days": "token-expiry"},
			Want: want{Text: list{"deploy script", "notes:read, notes:write", "Never expires", "Never used", "Last used", "Read notes", "Service accounts"}, Times: true,
				Links: list{"/auth/settings/service-accounts"},
				Forms: list{"/auth/settings/tokens", "/auth/settings/tokens/revoke", "/auth/settings/tokens/revoke-all"}}},
		{Page: "api_tokens", Label: "none", User: true, Data: &apitoken.TokensData{Expiries: expiries},
			Want: want{Text: list{"You have no tokens."}, Forms: list{"/auth/settings/tokens"}, NoForms: list{"/auth/settings/tokens/revoke-all"}}},
		{Page: "api_token_created", User: true, Data: &apitoken.CreatedData{Token: pcSecret, Name: "deploy script", Scopes: []string{"notes:read"}, ExpiresAt: pcT0},
			Want: want{Text: list{pcSecret, "won't see this token again", "deploy script"}, Times: true, Links: list{"/auth/settings/tokens"}}},
		{Page: "service_accounts", User: true, Data: &apitoken.AccountsData{
			Owners: []apitoken.OwnerView{{OrgID: "o1", Name: "Acme Corp", Accounts: []apitoken.AccountView{{
				ID: "01900000-0000-7000-8000-0000000000c3", Name: "deployer", Scopes: []string{"notes:read"}, CreatedAt: pcT0,
				Secrets: []apitoken.SecretView{{CreatedAt: pcT0}, {CreatedAt: pcT0, ExpiresAt: pcT0.Add(24 * time.Hour)}},
			}}}, {Name: "Sigra Test"}},
			Scopes: scopes, TokenEndpoint: "https://app.example.com/auth/oauth/token",
		}, Want: want{Text: list{"Acme Corp", "deployer", "01900000-0000-7000-8000-0000000000c3", "Previous secret works until", "No service accounts yet."},
			Times: true, Forms: list{"/auth/settings/service-accounts", "/auth/settings/service-accounts/rotate", "/auth/settings/service-accounts/delete"}}},
		{Page: "service_accounts", Label: "none", User: true, Data: &apitoken.AccountsData{},
			Want: want{Text: list{"You manage no service accounts."}, NoForms: list{"/auth/settings/service-accounts"}}},
		{Page: "service_account_secret", User: true, Data: &apitoken.SecretData{ClientID: "c1", Secret: "sigracs_x", Name: "deployer",
			PreviousUntil: pcT0, TokenEndpoint: "https://app.example.com/auth/oauth/token"},
			Want: want{Text: list{"c1", "sigracs_x", "previous secret keeps working"}, Times: true, Links: list{"/auth/settings/service-accounts"}}},
	}
}

func TestPageChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Pages(t, pcCases())
}

func TestSectionChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Sections(t, []apptest.SectionCase{
		{Section: "api_tokens", Label: "some", Data: &apitoken.TokensSection{Count: 2},
			Want: htmlcheck.Want{Text: []string{"2 active tokens"}, Links: []string{"/auth/settings/tokens"}}},
		{Section: "api_tokens", Label: "none", Data: &apitoken.TokensSection{},
			Want: htmlcheck.Want{Text: []string{"Create tokens"}, Links: []string{"/auth/settings/tokens"}}},
	})
}

func TestSettingsPageChecks(t *testing.T) {
	t.Parallel()
	pcCheck(t).Settings(t, []apptest.SettingsCase{{Label: "with tokens", Sections: []ui.Section{
		apptest.FixedSection("email", 10, &account.EmailSection{Email: "user@example.com", Confirmed: true}),
		apptest.FixedSection("api_tokens", 60, &apitoken.TokensSection{Count: 1}),
	}, Want: htmlcheck.Want{Text: []string{"API tokens", "1 active token"}, Links: []string{"/auth/settings/tokens"}}}})
}

func TestEmailChecks(t *testing.T) {
	t.Parallel()
	type list = []string
	const link = "https://app.example.com/auth/settings/tokens"
	pcCheck(t).Emails(t, map[string]apptest.EmailCase{
		"api_token_created": {Link: link, Data: &apitoken.CreatedMail{Name: "deploy script", Scopes: "notes:read, notes:write", ExpiresAt: pcT0},
			Want: list{"deploy script", "notes:read, notes:write", "Mar 14, 2026", link}},
	})
}

func TestPageChecksZeroData(t *testing.T) {
	t.Parallel()
	pcCheck(t).ZeroData(t)
}

func TestEmailChecksUntrusted(t *testing.T) {
	t.Parallel()
	pcCheck(t).EmailsUntrusted(t)
}
