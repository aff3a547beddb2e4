package ui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/net/html"
)

// emailCases are representative data for every email, with texts each
// rendering must contain (in the text part and the HTML part).
func emailCases() map[string]struct {
	data *Email
	want []string
} {
	when := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	ctx := func(e *Email) *Email {
		e.To = "user@example.com"
		e.IP = "192.0.2.10"
		e.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
		e.When = when
		return e
	}
	type c = struct {
		data *Email
		want []string
	}
	return map[string]c{
		"confirm": {ctx(&Email{Link: "https://app.example.com/auth/confirm?token=T1", Code: "493817", ExpiresIn: "48 hours"}),
			[]string{"https://app.example.com/auth/confirm?token=T1", "493817", "48 hours"}},
		"register_exists": {ctx(&Email{Link: "https://app.example.com/auth/login"}),
			[]string{"https://app.example.com/auth/login", "192.0.2.10"}},
		"reset": {ctx(&Email{Link: "https://app.example.com/auth/reset?token=T2", ExpiresIn: "1 hour"}),
			[]string{"https://app.example.com/auth/reset?token=T2", "1 hour", "Firefox/140.0"}},
		"password_reset_done": {ctx(&Email{Link: "https://app.example.com/auth/forgot"}),
			[]string{"https://app.example.com/auth/forgot", "Mar 14, 2026, 15:09 UTC"}},
		"magic_link": {ctx(&Email{Link: "https://app.example.com/auth/magic/verify?token=T3", ExpiresIn: "15 minutes"}),
			[]string{"https://app.example.com/auth/magic/verify?token=T3", "15 minutes"}},
		"email_change_confirm": {ctx(&Email{To: "new@example.com", NewEmail: "new@example.com",
			Link: "https://app.example.com/auth/email/confirm?token=T4", ExpiresIn: "24 hours"}),
			[]string{"new@example.com", "https://app.example.com/auth/email/confirm?token=T4", "24 hours"}},
		"email_change_notice": {ctx(&Email{NewEmail: "new@example.com", Link: "https://app.example.com/auth/settings"}),
			[]string{"new@example.com", "user@example.com", "https://app.example.com/auth/settings"}},
		"password_changed": {ctx(&Email{Link: "https://app.example.com/auth/forgot"}),
			[]string{"https://app.example.com/auth/forgot", "192.0.2.10"}},
		"deletion_scheduled": {ctx(&Email{DueAt: when.Add(30 * 24 * time.Hour), Link: "https://app.example.com/auth/login"}),
			[]string{"Apr 13, 2026", "https://app.example.com/auth/login", "Sign in before then"}},
		"account_deleted": {ctx(&Email{}), []string{"deleted"}},
		"lockout": {ctx(&Email{ExpiresIn: "15 minutes", Link: "https://app.example.com/auth/forgot"}),
			[]string{"15 minutes", "https://app.example.com/auth/forgot"}},
		"mfa_enabled": {ctx(&Email{}), []string{"turned on", "192.0.2.10"}},
		"mfa_disabled": {ctx(&Email{Link: "https://app.example.com/auth/forgot"}),
			[]string{"turned off", "https://app.example.com/auth/forgot"}},
		"recovery_codes_regenerated": {ctx(&Email{}), []string{"no longer work"}},
		"recovery_code_used":         {ctx(&Email{Remaining: 2}), []string{"2 recovery codes", "running low"}},
		"mfa_lockout": {ctx(&Email{ExpiresIn: "15 minutes", Link: "https://app.example.com/auth/forgot"}),
			[]string{"15 minutes", "https://app.example.com/auth/forgot"}},
	}
}

func TestEmails(t *testing.T) {
	t.Parallel()
	u := newTestUI(t, Config{Brand: Brand{ProductName: "Acme", SupportURL: "https://help.example.com/",
		LogoURL: "https://cdn.example.com/acme.png", AccentColor: "#0f766e"}})
	cases := emailCases()
	for _, name := range u.Emails() {
		if _, ok := cases[name]; !ok {
			t.Errorf("email %q has no test case", name)
		}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			before := *c.data
			subject, txt, htmlBody, err := u.RenderEmail(name, c.data)
			if err != nil {
				t.Fatalf("RenderEmail: %v", err)
			}
			if *c.data != before {
				t.Errorf("RenderEmail modified its data")
			}
			if subject == "" || strings.ContainsAny(subject, "\r\n") || strings.HasPrefix(subject, "Subject") {
				t.Errorf("subject %q", subject)
			}
			if strings.HasPrefix(txt, "Subject:") || strings.HasPrefix(txt, "\n") {
				t.Errorf("text part starts with %q", txt[:min(20, len(txt))])
			}
			for _, r := range txt {
				if r != '\n' && unicode.IsControl(r) {
					t.Errorf("text part contains control character %U", r)
				}
			}
			if !strings.Contains(txt, "user@example.com") && !strings.Contains(txt, "new@example.com") {
				t.Errorf("text part does not say whom it was sent to")
			}
			doc := parseHTML(t, htmlBody)
			if got := text(byTag(doc, "title")[0]); got != subject {
				t.Errorf("HTML title %q, want the subject %q", got, subject)
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
			for _, w := range c.want {
				if !strings.Contains(txt, w) {
					t.Errorf("text part lacks %q:\n%s", w, txt)
				}
				if !strings.Contains(htmlText, w) && !slices.Contains(hrefs(doc), w) {
					t.Errorf("HTML part lacks %q", w)
				}
			}
			// The action link is a button and is repeated as plain text.
			if c.data.Link != "" {
				n := 0
				for _, h := range hrefs(doc) {
					if h == c.data.Link {
						n++
					}
				}
				if n != 2 {
					t.Errorf("HTML part links %q %d times, want 2 (button and plain link)", c.data.Link, n)
				}
				if !strings.Contains(htmlText, c.data.Link) {
					t.Errorf("HTML part does not show the link as text")
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
			if c.data.Link != "" && !strings.Contains(htmlBody, "#0f766e") {
				t.Errorf("HTML part does not use the accent colour")
			}
		})
	}
}

func TestRenderEmailUnknown(t *testing.T) {
	u := newTestUI(t, Config{})
	if _, _, _, err := u.RenderEmail("nope", &Email{}); !errors.Is(err, ErrUnknownEmail) {
		t.Errorf("got %v, want ErrUnknownEmail", err)
	}
	if _, _, _, err := u.RenderEmail("reset", nil); err != nil {
		t.Errorf("nil data: %v", err)
	}
}

// TestEmailUntrustedValues feeds request-controlled values (a user agent
// with line breaks and markup, a javascript: link) into emails.
func TestEmailUntrustedValues(t *testing.T) {
	u := newTestUI(t, Config{})
	data := &Email{
		To:        "user@example.com",
		NewEmail:  "x@example.com\r\nBcc: victim@example.com",
		UserAgent: "Evil/1.0\r\nClick https://evil.example.com <script>alert(1)</script>",
		IP:        "192.0.2.1\n\nYour account is compromised",
		Link:      "javascript:alert(1)",
		When:      time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, name := range []string{"email_change_notice", "password_changed", "email_change_confirm"} {
		subject, txt, htmlBody, err := u.RenderEmail(name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.ContainsAny(subject, "\r\n") {
			t.Errorf("%s: subject %q has a line break", name, subject)
		}
		for _, line := range strings.Split(txt, "\n") {
			if strings.HasPrefix(line, "Bcc:") || strings.HasPrefix(line, "Click ") || strings.HasPrefix(line, "Your account is compromised") {
				t.Errorf("%s: an untrusted value started its own line: %q", name, line)
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

func TestEmailWithoutLogo(t *testing.T) {
	// A local logo path cannot be shown in an email: the product name is.
	u := newTestUI(t, Config{Brand: Brand{ProductName: "Acme", LogoURL: "/static/logo.svg"}})
	_, _, htmlBody, err := u.RenderEmail("reset", &Email{To: "user@example.com", Link: "https://app.example.com/r"})
	if err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, htmlBody)
	if imgs := byTag(doc, "img"); len(imgs) != 0 {
		t.Errorf("got %d images, want none for a relative logo", len(imgs))
	}
	if !strings.Contains(text(doc), "Acme") {
		t.Errorf("product name missing")
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
}
