package ui

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/net/html"

	"github.com/sigra-go/sigra"
)

func TestRenderEmail(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{Brand: Brand{ProductName: "Acme", SupportURL: "https://help.example.com/",
		LogoURL: "https://cdn.example.com/acme.png", AccentColor: "#0f766e"}})
	when := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		data    *Email
		subject string
		want    []string // in both parts
	}{
		{"welcome", &Email{To: "user@example.com", Link: "https://app.example.com/auth/confirm?token=T1", Code: "493817",
			ExpiresIn: "48 hours", IP: "192.0.2.10", UserAgent: "Firefox/140.0", When: when, Data: &welcomeMail{Name: "Ada", Plan: "team"}},
			"Welcome to Acme, Ada",
			[]string{"Ada", "team plan", "493817", "https://app.example.com/auth/confirm?token=T1", "48 hours",
				"192.0.2.10", "Firefox/140.0", "Mar 14, 2026, 15:09 UTC", "user@example.com"}},
		{"notice", &Email{To: "user@example.com", IP: "192.0.2.10", When: when}, "Security notice for user@example.com",
			[]string{"192.0.2.10", "Mar 14, 2026, 15:09 UTC"}},
		{"notice", &Email{To: "user@example.com"}, "Security notice for user@example.com", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := *tc.data
			subject, txt, htmlBody, err := u.RenderEmail(tc.name, tc.data)
			if err != nil {
				t.Fatalf("RenderEmail: %v", err)
			}
			if !reflect.DeepEqual(*tc.data, before) {
				t.Errorf("RenderEmail changed its data: got %+v, want %+v", *tc.data, before)
			}
			if subject != tc.subject {
				t.Errorf("got subject %q, want %q", subject, tc.subject)
			}
			if strings.HasPrefix(txt, "Subject:") || strings.HasPrefix(txt, "\n") || !strings.HasSuffix(txt, "\n") || strings.HasSuffix(txt, "\n\n") {
				t.Errorf("got text part %q, want it without the subject line and ending in one line break", txt)
			}
			for _, r := range txt {
				if r != '\n' && unicode.IsControl(r) {
					t.Errorf("text part contains the control character %U", r)
				}
			}
			if !strings.Contains(txt, "This email was sent to "+tc.data.To) {
				t.Errorf("text part does not say whom it was sent to:\n%s", txt)
			}
			doc := parseHTML(t, htmlBody)
			if got := text(byTag(doc, "title")[0]); got != subject {
				t.Errorf("got HTML title %q, want the subject %q", got, subject)
			}
			if len(byTag(doc, "script")) != 0 {
				t.Errorf("HTML part has a script")
			}
			for _, e := range elements(doc) {
				for _, a := range e.Attr {
					if strings.HasPrefix(a.Key, "on") || strings.Contains(a.Val, "ZgotmplZ") {
						t.Errorf("<%s %s=%q>", e.Data, a.Key, a.Val)
					}
				}
			}
			htmlText := text(doc)
			for _, w := range tc.want {
				if !strings.Contains(txt, w) {
					t.Errorf("text part lacks %q:\n%s", w, txt)
				}
				if !strings.Contains(htmlText, w) {
					t.Errorf("HTML part lacks %q: %s", w, htmlText)
				}
			}
			// The action link is a button and is repeated as plain text.
			if tc.data.Link != "" {
				n := 0
				for _, h := range hrefs(doc) {
					if h == tc.data.Link {
						n++
					}
				}
				if n != 2 {
					t.Errorf("HTML part links %q %d times, want 2 (button and plain link)", tc.data.Link, n)
				}
				if !strings.Contains(htmlBody, "#0f766e") {
					t.Errorf("the button does not use the accent colour")
				}
			}
			if !slices.Contains(hrefs(doc), "https://help.example.com/") {
				t.Errorf("HTML part lacks the support link")
			}
			if !slices.ContainsFunc(byTag(doc, "img"), func(n *html.Node) bool {
				return attrOr(n, "src", "") == "https://cdn.example.com/acme.png" && attrOr(n, "alt", "") == "Acme"
			}) {
				t.Errorf("HTML part lacks the logo")
			}
			if tc.data.When.IsZero() && (strings.Contains(txt, "When:") || strings.Contains(htmlText, "When:")) {
				t.Errorf("the details show a time that was not given")
			}
		})
	}
}

// TestEmailData: Email.Data reaches both parts, and a nil Data renders
// like the zero value the pack declares.
func TestEmailData(t *testing.T) {
	u := newDemoUI(t, Config{})
	_, txt, htmlBody, err := u.RenderEmail("welcome", &Email{To: "user@example.com", Data: &welcomeMail{Name: "Grace", Plan: "solo"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt, "Hi Grace,") || !strings.Contains(htmlBody, "Welcome, Grace") || !strings.Contains(htmlBody, "solo plan") {
		t.Errorf("Data did not reach the parts:\n%s\n%s", txt, htmlBody)
	}
	for _, data := range []*Email{nil, {}, {Data: &welcomeMail{}}} {
		subject, _, _, err := u.RenderEmail("welcome", data)
		if err != nil || subject != "Welcome to Sigra," {
			t.Errorf("RenderEmail(welcome, %+v) = %q, %v; want the subject with an empty name", data, subject, err)
		}
	}
	if _, _, _, err := u.RenderEmail("welcome", &Email{Data: struct{ Other int }{}}); !errors.Is(err, ErrTemplate) {
		t.Errorf("Data of another type: got %v, want ErrTemplate", err)
	}
}

func TestRenderEmailUnknown(t *testing.T) {
	u := newDemoUI(t, Config{})
	if _, _, _, err := u.RenderEmail("nope", &Email{}); !errors.Is(err, ErrUnknownEmail) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("got %v, want ErrUnknownEmail naming the email", err)
	}
	if _, _, _, err := newTestUI(t, Config{}).RenderEmail("welcome", nil); !errors.Is(err, ErrUnknownEmail) {
		t.Errorf("without the pack: got %v, want ErrUnknownEmail", err)
	}
}

// TestEmailSubject checks how the first line of the text template becomes
// the subject, and the text part what follows.
func TestEmailSubject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, txt     string
		subject, text string
		wantErr       bool
	}{
		{"plain", "Subject: Hello\n\nBody\n", "Hello", "Body\n", false},
		{"crlf", "Subject: Hello\r\n\r\nBody\r\n", "Hello", "Body\n", false},
		{"no space", "Subject:Hello\nBody", "Hello", "Body\n", false},
		{"spaces", "Subject:   Hello \t  there  \n\n\nBody\n\n\n", "Hello there", "Body\n", false},
		{"recipient", "Subject: For {{.To}}\n\nBody\n", "For user@example.com Bcc: victim@example.com", "Body\n", false},
		{"long", "Subject: " + strings.Repeat("x", 300) + "\n\nBody\n", strings.Repeat("x", 250) + "…", "Body\n", false},
		{"subject only", "Subject: Hello", "Hello", "\n", false},
		{"no subject", "Hello\n\nBody\n", "", "", true},
		{"subject later", "\nSubject: Hello\n", "", "", true},
		{"empty subject", "Subject:   \n\nBody\n", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pack := Pack{Name: "mail", Files: files(map[string]string{
				"emails/m.txt":  tc.txt,
				"emails/m.html": `{{define "content"}}<p>x</p>{{end}}`,
			}), Emails: map[string]any{"m": nil}}
			u, err := New(newSite(t, "", nil), Config{Packs: []Pack{pack}})
			if tc.wantErr {
				if !errors.Is(err, ErrTemplate) || !errors.Is(err, sigra.ErrConfig) {
					t.Errorf("got %v, want ErrTemplate and sigra.ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			subject, txt, _, err := u.RenderEmail("m", &Email{To: "user@example.com\r\nBcc: victim@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if subject != tc.subject || txt != tc.text {
				t.Errorf("got %q / %q, want %q / %q", subject, txt, tc.subject, tc.text)
			}
		})
	}
}

// TestEmailUntrustedValues feeds request-controlled values (a user agent
// with line breaks and markup, a javascript: link) into an email.
func TestEmailUntrustedValues(t *testing.T) {
	u := newDemoUI(t, Config{})
	data := &Email{
		To:        "user@example.com\r\nBcc: victim@example.com",
		UserAgent: "Evil/1.0\r\nClick https://evil.example.com <script>alert(1)</script>",
		IP:        "192.0.2.1\n\nYour account is compromised",
		Code:      "12\n34",
		ExpiresIn: "1 hour\nor never",
		Link:      "javascript:alert(1)",
		When:      time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Data:      &welcomeMail{Name: "Ada"},
	}
	for _, name := range []string{"welcome", "notice"} {
		subject, txt, htmlBody, err := u.RenderEmail(name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.ContainsAny(subject, "\r\n") {
			t.Errorf("%s: subject %q has a line break", name, subject)
		}
		for _, line := range strings.Split(txt, "\n") {
			for _, bad := range []string{"Bcc:", "Click ", "Your account is compromised", "34", "or never"} {
				if strings.HasPrefix(line, bad) {
					t.Errorf("%s: an untrusted value started its own line: %q", name, line)
				}
			}
		}
		if strings.Contains(txt, "\r") {
			t.Errorf("%s: text part has a carriage return", name)
		}
		doc := parseHTML(t, htmlBody)
		if len(byTag(doc, "script")) != 0 {
			t.Errorf("%s: markup from the user agent became an element", name)
		}
		for _, h := range hrefs(doc) {
			if strings.HasPrefix(strings.ToLower(h), "javascript:") {
				t.Errorf("%s: javascript link %q", name, h)
			}
		}
	}
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 10, "plain"},
		{"a\r\nb", 10, "a b"},
		{" a \t\t b ", 10, "a b"},
		{"a\u2028b\x00c", 10, "a b c"},
		{"a\u2029b\u0085c", 10, "a b c"},
		{"abcdef", 3, "abc…"},
		{"abc", 3, "abc"},
		{"\xff\xfe", 10, ""},
		{"", 10, ""},
	} {
		if got := oneLine(tc.in, tc.max); got != tc.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestEmailWithoutLogo(t *testing.T) {
	// A local logo path cannot be shown in an email: the product name is.
	u := newDemoUI(t, Config{Brand: Brand{ProductName: "Acme", LogoURL: "/static/logo.svg"}})
	_, _, htmlBody, err := u.RenderEmail("notice", &Email{To: "user@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, htmlBody)
	if imgs := byTag(doc, "img"); len(imgs) != 0 {
		t.Errorf("got %d images, want none for a relative logo", len(imgs))
	}
	if !strings.Contains(text(doc), "Acme") {
		t.Errorf("got %q, want the product name", text(doc))
	}
}

func TestEmailLinkColourReadable(t *testing.T) {
	for _, accent := range []string{"#facc15", "#4f46e5", "#ffffff", "#777777"} {
		u := newTestUI(t, Config{Brand: Brand{AccentColor: accent}})
		css, err := u.emailStyle("link")
		if err != nil {
			t.Fatal(err)
		}
		hex := strings.TrimSuffix(strings.TrimPrefix(string(css), "color:"), ";text-decoration:underline;word-break:break-all;")
		c, err := parseHexColor(hex)
		if err != nil {
			t.Fatalf("accent %s: link style %q: %v", accent, css, err)
		}
		if r := contrast(c, white); r < 4.5 {
			t.Errorf("accent %s: link colour %s has contrast %.2f on white, want ≥ 4.5", accent, hex, r)
		}
	}
	if _, err := newTestUI(t, Config{}).emailStyle("nope"); err == nil {
		t.Errorf("emailStyle(nope): got no error, want one")
	}
}
