package ui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sigra-go/sigra/site"
)

// FuzzRenderPage renders a pack's sign-in page with form input and
// messages a request controls, and checks that none of it becomes markup:
// the document has the same elements as with harmless values, no script,
// style or event handler appears, and the sticky email comes back intact.
func FuzzRenderPage(f *testing.F) {
	for _, s := range []string{
		`"><script>alert(1)</script>`,
		`' onfocus='alert(1)' x='`,
		"</textarea><style>body{}</style>",
		"javascript:alert(1)",
		"<!--", "]]>", "{{.}}", "\x00", "\r\n", "é\u2028",
		strings.Repeat("<b>", 50),
	} {
		f.Add(s, s, s, s)
	}
	u := newDemoUI(f, Config{})
	render := func(t *testing.T, value, errMsg, flash, ret string) (string, int) {
		p := &Page{
			CSRFToken:   "tok",
			Data:        &loginData{AllowRegister: true},
			Values:      map[string]string{"email": value},
			Error:       errMsg,
			Flash:       flash,
			Banner:      flash,
			FieldErrors: map[string]string{"email": errMsg, "password": flash},
			ReturnTo:    ret,
		}
		rec := httptest.NewRecorder()
		u.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "login", p)
		if rec.Code != http.StatusOK {
			t.Fatalf("got status %d, want 200", rec.Code)
		}
		return rec.Body.String(), len(elements(parseHTML(t, rec.Body.String())))
	}
	f.Fuzz(func(t *testing.T, value, errMsg, flash, ret string) {
		// Non-empty values take the same branches as the baseline.
		value, errMsg, flash, ret = "a"+value, "a"+errMsg, "a"+flash, "/"+ret
		_, want := render(t, "a", "a", "a", "/")
		body, got := render(t, value, errMsg, flash, ret)
		if got != want {
			t.Fatalf("got %d elements, want %d: input became markup:\n%s", got, want, body)
		}
		doc := parseHTML(t, body)
		checkDocument(t, doc, DefaultCSRFField, "tok")
		if s := byTag(doc, "script"); len(s) != 1 {
			t.Fatalf("got %d scripts, want 1", len(s))
		}
		if utf8.ValidString(value) && !strings.ContainsFunc(value, unicode.IsControl) {
			in := inputsByName(doc)["email"]
			if len(in) != 1 || attrOr(in[0], "value", "") != value {
				t.Errorf("sticky email did not round-trip: %q", value)
			}
		}
	})
}

// FuzzFill feeds a request's query to Fill: return_to comes back only as
// a local path, and the flash is only ever one of the packs' notices.
func FuzzFill(f *testing.F) {
	for _, s := range []string{"return_to=/x&notice=saved", "return_to=//evil.example", "return_to=/%2F/evil",
		"notice=%3Cb%3E", "return_to=https://evil.example/", "return_to=/\\evil", "return_to=%2F%09%2Fevil"} {
		f.Add(s)
	}
	u := newDemoUI(f, Config{})
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.RawQuery = query
		p := u.Fill(r, nil)
		if p.ReturnTo != "" {
			if got, ok := site.LocalPath(p.ReturnTo); !ok || got != p.ReturnTo {
				t.Errorf("got return_to %q, which is not a local path", p.ReturnTo)
			}
			if q, _ := url.ParseQuery(query); q.Get("return_to") != p.ReturnTo {
				t.Errorf("got return_to %q, want the query's %q", p.ReturnTo, q.Get("return_to"))
			}
		}
		if p.Flash != "" && p.Flash != "Your profile was saved." {
			t.Errorf("got flash %q, want only the pack's notice", p.Flash)
		}
	})
}

// FuzzRenderEmail feeds request-controlled values (user agent, addresses,
// links, codes) into an email and checks the subject stays one clean line,
// the text part gains no lines and the HTML part gains no elements.
func FuzzRenderEmail(f *testing.F) {
	for _, s := range []string{
		"x\r\nBcc: victim@example.com", "<script>alert(1)</script>", "javascript:alert(1)",
		"\u2028\u2029\x85", "\x00\x1b[31m", "%0d%0a", "é", strings.Repeat("a", 500),
	} {
		f.Add(s, s, s, s)
	}
	u := newDemoUI(f, Config{})
	f.Fuzz(func(t *testing.T, to, ua, link, code string) {
		for _, name := range []string{"welcome", "notice"} {
			base := &Email{To: "a", UserAgent: "a", IP: "a", Link: "https://a.example.com/", Code: "a", ExpiresIn: "a",
				Data: &welcomeMail{Name: "a", Plan: "a"}}
			data := &Email{To: "a" + to, UserAgent: "a" + ua, IP: "a" + ua,
				Link: "https://a.example.com/" + link, Code: "a" + code, ExpiresIn: "a" + code, Data: base.Data}
			_, wantText, wantHTML, err := u.RenderEmail(name, base)
			if err != nil {
				t.Fatal(err)
			}
			subject, txt, htmlBody, err := u.RenderEmail(name, data)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsFunc(subject, unicode.IsControl) || strings.ContainsAny(subject, "\u2028\u2029") {
				t.Errorf("%s: subject %q has a control character", name, subject)
			}
			if got, want := strings.Count(txt, "\n"), strings.Count(wantText, "\n"); got != want {
				t.Errorf("%s: got %d lines in the text part, want %d:\n%s", name, got, want, txt)
			}
			for _, r := range txt {
				if r != '\n' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029') {
					t.Errorf("%s: text part contains %U", name, r)
				}
			}
			if got, want := len(elements(parseHTML(t, htmlBody))), len(elements(parseHTML(t, wantHTML))); got != want {
				t.Errorf("%s: got %d elements in the HTML part, want %d", name, got, want)
			}
		}
	})
}

var hexColorRE = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// FuzzParseHexColor checks that the accent colour parser accepts exactly
// "#rgb" and "#rrggbb" and normalises them losslessly.
func FuzzParseHexColor(f *testing.F) {
	for _, s := range []string{"#fff", "#4f46e5", "red;}body{", "#12345", "#ABCDEF", "#0aF", "", "#", "#ggg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseHexColor(s)
		if ok := hexColorRE.MatchString(s); ok != (err == nil) {
			t.Fatalf("parseHexColor(%q): got err=%v, want accepted=%v", s, err, ok)
		}
		if err != nil {
			return
		}
		want := strings.ToLower(s)
		if len(s) == 4 {
			want = "#" + strings.Repeat(want[1:2], 2) + strings.Repeat(want[2:3], 2) + strings.Repeat(want[3:4], 2)
		}
		if c.hex() != want {
			t.Errorf("parseHexColor(%q).hex() = %s, want %s", s, c.hex(), want)
		}
		if css := brandCSS(c.hex()); strings.Count(css, "{") != strings.Count(css, "}") {
			t.Errorf("unbalanced brand CSS for %q", s)
		}
	})
}
