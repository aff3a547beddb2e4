package sigratest

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"github.com/sigra-go/sigra/mail"
)

// LastMail delivers the application's due queued email (Host.Outbox) into
// its development mailbox (Host.Mailbox) and returns the newest message to
// addr (compared as the store compares addresses). It fails t when the
// Host has no mailbox or no message went to addr.
func (a *App) LastMail(t testing.TB, addr string) mail.Captured {
	t.Helper()
	if a.Mailbox == nil {
		t.Fatal("sigratest: LastMail: the Host has no Mailbox (an application that sends through SMTP has none)")
	}
	a.flush(t)
	m, ok := a.Mailbox.Latest(addr)
	if !ok {
		t.Fatalf("sigratest: no email to %q (the mailbox holds %d messages to other addresses)", addr, len(a.Mailbox.Messages("")))
	}
	return m
}

var linkRE = regexp.MustCompile(`https?://[^\s"'<>]+`)

// FirstLink returns the first link in m's text part. It fails t when
// there is none.
func FirstLink(t testing.TB, m mail.Captured) string {
	t.Helper()
	l := linkRE.FindString(m.Text)
	if l == "" {
		t.Fatalf("sigratest: no link in the email %q to %s:\n%s", m.Subject, m.To, m.Text)
	}
	return l
}

// FollowLink follows an emailed link with the browser as a user does:
// it fetches the link (a confirm page: emailed links never act on a GET),
// then submits that page's form, the one carrying the link's token, and
// returns the answer to that POST. It fails t when the link is not on the
// application's base URL, when the page is not found or refused, or when
// it has no form to submit.
func (a *App) FollowLink(t testing.TB, c *Client, link string) *Response {
	t.Helper()
	c = c.For(t)
	if !strings.HasPrefix(link, a.URL+"/") {
		t.Fatalf("sigratest: FollowLink: %q is not a link to the application (%s)", link, a.URL)
	}
	page := c.Get(link)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("sigratest: FollowLink %s: got %s", link, refusal(page))
	}
	action, form, ok := linkForm(page.Body)
	if !ok {
		t.Fatalf("sigratest: FollowLink %s: the page has no form to submit:\n%.1000s", link, page.Body)
	}
	base, err := url.Parse(link)
	if err != nil {
		t.Fatalf("sigratest: FollowLink %q: %v", link, err)
	}
	target, err := base.Parse(action)
	if err != nil {
		t.Fatalf("sigratest: FollowLink %s: the form's action %q: %v", link, action, err)
	}
	return c.PostForm(target.String(), form)
}

// linkForm finds the POST form of a confirm page: the first with a token
// field, or else the only POST form of the page's main content. It
// returns the form's action ("" for the page itself) and its fields with
// their values.
func linkForm(body string) (action string, fields url.Values, ok bool) {
	doc, err := xhtml.Parse(strings.NewReader(body))
	if err != nil {
		return "", nil, false
	}
	var forms []*xhtml.Node
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode && n.Data == "form" && strings.EqualFold(attr(n, "method"), "post") {
			forms = append(forms, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	var chosen *xhtml.Node
	for _, f := range forms {
		if _, ok := inputs(f)["token"]; ok {
			chosen = f
			break
		}
	}
	if chosen == nil {
		var inMain []*xhtml.Node
		for _, f := range forms {
			for p := f.Parent; p != nil; p = p.Parent {
				if p.Type == xhtml.ElementNode && p.Data == "main" {
					inMain = append(inMain, f)
					break
				}
			}
		}
		if len(inMain) != 1 {
			return "", nil, false
		}
		chosen = inMain[0]
	}
	return attr(chosen, "action"), inputs(chosen), true
}

// inputs returns the named input fields of a form with their values.
func inputs(form *xhtml.Node) url.Values {
	v := url.Values{}
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode && n.Data == "input" {
			if name := attr(n, "name"); name != "" {
				switch strings.ToLower(attr(n, "type")) {
				case "checkbox", "radio":
					if _, checked := attrOK(n, "checked"); !checked {
						break
					}
					v.Add(name, attr(n, "value"))
				default:
					v.Add(name, attr(n, "value"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
	return v
}

func attr(n *xhtml.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

func attrOK(n *xhtml.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}
