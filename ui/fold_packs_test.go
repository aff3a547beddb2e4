package ui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/apitoken"
	"github.com/sigra-go/sigra/jwtauth"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/oauth"
	"github.com/sigra-go/sigra/org"
	"github.com/sigra-go/sigra/passkey"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/ui"
)

// TestFoldKeepsEveryPage: every page, settings section and email of the
// features' packs renders the same, byte for byte, from the UI New builds
// (the templates' constants folded, the sets' common nodes shared) and
// from one built without either: anonymous and signed in, with the notices, field errors and
// sticky values of a form sent back, with the banner of an unconfirmed
// address, and during an impersonation; with the default brand and with
// a brand whose name needs escaping everywhere it appears, a logo and a
// support link; at the default prefix and another.
func TestFoldKeepsEveryPage(t *testing.T) {
	t.Parallel()
	packs := []ui.Pack{account.Pages(), mfa.Pages(), org.Pages(), oauth.Pages(), passkey.Pages(),
		jwtauth.Pages(), admin.Pages(), apitoken.Pages()}
	t0 := time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)
	confirmed := &sigra.User{ID: "u1", Email: "user@example.com", EmailConfirmedAt: t0, CreatedAt: t0}
	unconfirmed := &sigra.User{ID: "u2", Email: `o'brien+<b>@example.com`, CreatedAt: t0}
	form := func(p *ui.Page) {
		p.Error = `Check the <fields> & try "again"`
		p.FieldErrors = map[string]string{"email": "Enter an <email>", "password": "Too short", "code": "Wrong code", "name": "Required"}
		p.Values = map[string]string{"email": `x"><script>@example.com`, "name": "Ada & co", "code": "123"}
		p.ReturnTo = "/back?x=1&y=<2>"
	}
	variants := []struct {
		name string
		auth *sigra.Auth
		edit func(p *ui.Page)
	}{
		{"anonymous", nil, func(*ui.Page) {}},
		{"anonymous form", nil, form},
		{"signed in", &sigra.Auth{User: confirmed, State: sigra.StateAuthenticated, AAL: sigra.AAL1},
			func(p *ui.Page) { p.Flash = "Saved <ok>." }},
		{"unconfirmed form", &sigra.Auth{User: unconfirmed, State: sigra.StateAuthenticated, AAL: sigra.AAL1}, form},
		{"impersonation", &sigra.Auth{User: confirmed, State: sigra.StateAuthenticated, AAL: sigra.AAL1,
			Methods: []sigra.Method{sigra.MethodImpersonation}, Impersonator: "admin", ImpersonationEnds: time.Now().Add(time.Hour)},
			func(*ui.Page) {}},
	}
	brands := []ui.Brand{{}, {ProductName: `Acme <script>alert(1)</script> & "Co" 'Ltd'`,
		LogoURL: "https://cdn.example.com/logo.png?a=1&b=2", SupportURL: "mailto:help@example.com"}}
	for _, prefix := range []string{"", "/account"} {
		for bi, brand := range brands {
			s, err := site.New(site.Config{BaseURL: "https://app.example.com", Prefix: prefix, Home: "/start?from=<x>"})
			if err != nil {
				t.Fatal(err)
			}
			cfg := ui.Config{Brand: brand, Packs: packs}
			folded, err := ui.New(s, cfg)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := ui.NewUnfolded(s, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(fmt.Sprintf("prefix %q brand %d", prefix, bi), func(t *testing.T) {
				for _, v := range variants {
					req := httptest.NewRequest(http.MethodGet, "/page", nil)
					if v.auth != nil {
						req = req.WithContext(sigra.WithAuth(req.Context(), v.auth))
					}
					page := func() *ui.Page {
						p := &ui.Page{CSRFToken: "tok+/=", Title: ""}
						v.edit(p)
						return p
					}
					for _, name := range folded.Pages() {
						got, want := httptest.NewRecorder(), httptest.NewRecorder()
						folded.Render(got, req, http.StatusOK, name, page())
						plain.Render(want, req, http.StatusOK, name, page())
						if got.Code != http.StatusOK {
							t.Errorf("%s, page %q: got status %d, want 200", v.name, name, got.Code)
						}
						if got.Code != want.Code || got.Body.String() != want.Body.String() {
							t.Errorf("%s, page %q: folded and unfolded differ:\n%s", v.name, name, diff(got.Body.String(), want.Body.String()))
						}
					}
					for _, name := range folded.Emails() {
						e := func() *ui.Email {
							return &ui.Email{To: v.name + " <user@example.com>", Link: "https://app.example.com/x?a=1&b=<2>",
								Code: "123456", ExpiresIn: "24 hours", IP: "203.0.113.5", UserAgent: `Mozilla/5.0 "<x>"`, When: t0}
						}
						gs, gt, gh, err1 := folded.RenderEmail(name, e())
						ws, wt, wh, err2 := plain.RenderEmail(name, e())
						if err1 != nil || err2 != nil || gs != ws || gt != wt || gh != wh {
							t.Errorf("%s, email %q: shared and unshared differ (%v, %v):\n%s", v.name, name, err1, err2, diff(gs+gt+gh, ws+wt+wh))
						}
					}
					for _, pk := range packs {
						for name, zero := range pk.Sections {
							p := folded.Fill(req, page())
							got, err1 := folded.RenderSection(name, p, zero)
							want, err2 := plain.RenderSection(name, p, zero)
							if err1 != nil || err2 != nil || got != want {
								t.Errorf("%s, section %q: folded and unfolded differ (%v, %v):\n%s", v.name, name, err1, err2, diff(string(got), string(want)))
							}
						}
					}
				}
			})
		}
	}
}

// diff shows where got and want part.
func diff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(i-200, 0)
	return fmt.Sprintf("from byte %d:\n got: %.400q\nwant: %.400q", i, got[from:], want[from:])
}
