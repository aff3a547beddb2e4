package htmlcheck

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// Want is what a page, or a part of one, must show beyond the common rules
// of [Check]: its own texts, links and forms, the emailed token it posts
// back, its dates and the autocomplete values of its controls. The zero
// value wants nothing. A Want is a plain value: safe for concurrent use as
// long as nobody modifies it.
type Want struct {
	// Text are strings that the text of the page must contain.
	Text []string
	// Links are addresses that some link (<a href>) must have; NoLinks
	// are addresses that no link may have.
	Links, NoLinks []string
	// Forms are actions that some form must post to; NoForms are actions
	// that no form may post to.
	Forms, NoForms []string
	// Token, when set, is an emailed token the page posts back: exactly
	// one hidden field named "token" holds it, and every field of that
	// name is inside a form.
	Token string
	// Times asks for the dates to be marked up: at least one <time>, and
	// every <time> with an RFC 3339 datetime attribute.
	Times bool
	// Autocomplete maps a control name to the autocomplete value each
	// control of that name must have (see [Autocomplete]).
	Autocomplete map[string]string
}

// Check returns the ways doc falls short of w.
func (w Want) Check(doc *html.Node) []Problem {
	var c checker
	if len(w.Text) > 0 {
		all := Text(doc)
		for _, s := range w.Text {
			if !strings.Contains(all, s) {
				c.add("text", fmt.Sprintf("the text has no %q", s))
			}
		}
	}
	hrefs := Hrefs(doc)
	for _, h := range w.Links {
		if !slices.Contains(hrefs, h) {
			c.add("link", fmt.Sprintf("got links to %q, want one to %q", hrefs, h))
		}
	}
	for _, h := range w.NoLinks {
		if slices.Contains(hrefs, h) {
			c.add("link", fmt.Sprintf("got a link to %q, want none", h))
		}
	}
	for _, a := range w.Forms {
		if len(Forms(doc, a)) == 0 {
			c.add("form", fmt.Sprintf("got no form posting to %q, want one", a))
		}
	}
	for _, a := range w.NoForms {
		if n := len(Forms(doc, a)); n != 0 {
			c.add("form", fmt.Sprintf("got %d forms posting to %q, want none", n, a))
		}
	}
	if w.Token != "" {
		if got := HiddenValues(doc, "token"); !slices.Equal(got, []string{w.Token}) {
			c.add("token", fmt.Sprintf("token fields: got %q, want [%q]", got, w.Token))
		}
		for _, in := range ByTag(doc, "input") {
			if AttrOr(in, "name", "") == "token" && Ancestor(in, "form") == nil {
				c.add("token", "a token field is outside any form")
			}
		}
	}
	if w.Times {
		times := ByTag(doc, "time")
		if len(times) == 0 {
			c.add("time", "got no <time> element, want the dates marked up")
		}
		for _, tm := range times {
			dt := AttrOr(tm, "datetime", "")
			if _, err := time.Parse(time.RFC3339, dt); err != nil {
				c.add("time", fmt.Sprintf("<time datetime=%q>: %v", dt, err))
			}
		}
	}
	c.problems = append(c.problems, Autocomplete(doc, w.Autocomplete)...)
	return c.problems
}

// Expect reports each way doc falls short of w with t.Errorf.
func Expect(t testing.TB, doc *html.Node, w Want) {
	t.Helper()
	for _, p := range w.Check(doc) {
		t.Errorf("%s", p)
	}
}
