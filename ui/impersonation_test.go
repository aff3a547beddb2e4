package ui

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sigra-go/sigra"
)

// impersonating returns a GET of target by an admin acting as testUser,
// with the impersonation ending at ends.
func impersonating(target string, ends time.Time) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	return r.WithContext(sigra.WithAuth(r.Context(), &sigra.Auth{
		User: testUser, State: sigra.StateAuthenticated, AAL: sigra.AAL1,
		Methods: []sigra.Method{sigra.MethodImpersonation}, Impersonator: "admin-id", ImpersonationEnds: ends,
	}))
}

// TestImpersonationBanner: while an admin acts as a user, every page shows
// a labelled region naming the user, the time left and, when a pack
// declares ui.RouteStopImpersonation, a stop button posting there with the
// CSRF field; the page passes the accessibility checks. Without an
// impersonation there is no banner.
func TestImpersonationBanner(t *testing.T) {
	t.Parallel()
	stop := Pack{Name: "admin_stub", Files: fstest.MapFS{}, Routes: map[string]string{RouteStopImpersonation: "/admin/impersonation/stop"}}
	ends := time.Now().Add(25*time.Minute + 30*time.Second)
	for _, tc := range []struct {
		name     string
		packs    []Pack
		wantStop bool
	}{
		{"with the stop route", []Pack{stop}, true},
		{"without it", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newDemoUI(t, Config{Packs: tc.packs})
			p := u.Fill(impersonating("/settings", ends), &Page{})
			if p.Impersonation == nil || p.Impersonation.User != testUser || p.Impersonation.ImpersonatorID != "admin-id" ||
				p.Impersonation.Left != "25 minutes" || !p.Impersonation.Ends.Equal(ends) {
				t.Fatalf("Fill: got %+v, want the impersonation of %s with 25 minutes left", p.Impersonation, testUser.Email)
			}
			if got, want := p.Impersonation.StopPath != "", tc.wantStop; got != want {
				t.Errorf("StopPath %q: want one %v", p.Impersonation.StopPath, want)
			}

			rec := httptest.NewRecorder()
			u.Render(rec, impersonating("/billing", ends), http.StatusOK, "billing", &Page{CSRFToken: "tok"})
			body := rec.Body.String()
			doc := parseHTML(t, body)
			checkDocument(t, doc, DefaultCSRFField, "tok")
			region := byID(doc)["impersonation-title"]
			if region == nil {
				t.Fatalf("no impersonation banner\n%s", body)
			}
			sec := ancestor(region, "section")
			if sec == nil || attrOr(sec, "aria-labelledby", "") != "impersonation-title" {
				t.Fatalf("the banner is not a section labelled by its title")
			}
			txt := text(sec)
			for _, want := range []string{"You are acting as " + testUser.Email, "25 minutes"} {
				if !strings.Contains(txt, want) {
					t.Errorf("banner %q: no %q", txt, want)
				}
			}
			forms := byTag(sec, "form")
			if tc.wantStop {
				if len(forms) != 1 || attrOr(forms[0], "action", "") != "/auth/admin/impersonation/stop" || attrOr(forms[0], "method", "") != "post" {
					t.Fatalf("banner: got %d forms, want one posting to the stop route", len(forms))
				}
				if !strings.Contains(text(forms[0]), "Stop impersonating") {
					t.Errorf("the stop button has no label")
				}
			} else if len(forms) != 0 {
				t.Errorf("banner: a stop form without a stop route")
			}
			if strings.Contains(body, "Confirm your email address") {
				t.Errorf("the confirmation banner shows during an impersonation")
			}

			rec = httptest.NewRecorder()
			u.Render(rec, withUser(httptest.NewRequest(http.MethodGet, "/billing", nil), testUser, sigra.StateAuthenticated), http.StatusOK, "billing", nil)
			if strings.Contains(rec.Body.String(), "impersonation") {
				t.Errorf("a banner without an impersonation")
			}
		})
	}
}

// TestImpersonationBannerThemes: the banner's colours are the theme's
// warning colours, which the light, dark and system-dark themes all set.
func TestImpersonationBannerThemes(t *testing.T) {
	t.Parallel()
	b, err := embedded.ReadFile("templates/assets/sigra.css")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, ".banner-impersonation") {
		t.Fatal("no style for the impersonation banner")
	}
	for _, v := range []string{"--warning-bg", "--warning-text", "--warning-border"} {
		if got := len(regexp.MustCompile(regexp.QuoteMeta(v)+`:`).FindAllStringIndex(s, -1)); got < 3 {
			t.Errorf("%s is set in %d themes, want light, dark and system dark", v, got)
		}
	}
}

// TestRenderError: the error page with a status and a message.
func TestRenderError(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	rec := httptest.NewRecorder()
	u.RenderError(rec, httptest.NewRequest(http.MethodGet, "/x", nil), http.StatusForbidden, "Not while impersonating.")
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Not while impersonating.") {
		t.Errorf("got %d\n%s", rec.Code, rec.Body)
	}
}
