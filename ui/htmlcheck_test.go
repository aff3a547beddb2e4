package ui

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// parseHTML parses a rendered document with the same parser rules as a
// browser.
func parseHTML(t testing.TB, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

// elements returns every element node below n, in document order.
func elements(n *html.Node) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

// byTag returns the elements below n with the given tag.
func byTag(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for _, e := range elements(n) {
		if e.Data == tag {
			out = append(out, e)
		}
	}
	return out
}

// attr returns the value of n's attribute key and whether it is present.
func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func attrOr(n *html.Node, key, def string) string {
	if v, ok := attr(n, key); ok {
		return v
	}
	return def
}

// text returns the text content of n, with runs of white space collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// byID indexes the elements of doc by id.
func byID(doc *html.Node) map[string]*html.Node {
	m := make(map[string]*html.Node)
	for _, e := range elements(doc) {
		if id, ok := attr(e, "id"); ok {
			m[id] = e
		}
	}
	return m
}

// ancestor returns the nearest ancestor of n with tag, or nil.
func ancestor(n *html.Node, tag string) *html.Node {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == tag {
			return p
		}
	}
	return nil
}

// labelled reports whether a form control has an accessible name from a
// <label for>, an enclosing <label>, aria-label or aria-labelledby.
func labelled(doc, n *html.Node, ids map[string]*html.Node) bool {
	if v, ok := attr(n, "aria-label"); ok && strings.TrimSpace(v) != "" {
		return true
	}
	if v, ok := attr(n, "aria-labelledby"); ok {
		for _, id := range strings.Fields(v) {
			if e := ids[id]; e != nil && text(e) != "" {
				return true
			}
		}
	}
	if l := ancestor(n, "label"); l != nil && text(l) != "" {
		return true
	}
	id, ok := attr(n, "id")
	if !ok || id == "" {
		return false
	}
	for _, l := range byTag(doc, "label") {
		if f, _ := attr(l, "for"); f == id && text(l) != "" {
			return true
		}
	}
	return false
}

// checkDocument asserts the rules every page must follow: CSP-safe markup
// (no inline script, no style attribute or element, no event handler
// attributes, no javascript: URLs), one h1, lang, labels for every control,
// unique ids, and the CSRF field in every POST form.
func checkDocument(t *testing.T, doc *html.Node, csrfField, csrfToken string) {
	t.Helper()
	ids := make(map[string]*html.Node)
	for _, e := range elements(doc) {
		if id, ok := attr(e, "id"); ok {
			if ids[id] != nil {
				t.Errorf("duplicate id %q", id)
			}
			ids[id] = e
		}
		for _, a := range e.Attr {
			k := strings.ToLower(a.Key)
			if k == "style" {
				t.Errorf("<%s> has a style attribute %q", e.Data, a.Val)
			}
			if strings.HasPrefix(k, "on") {
				t.Errorf("<%s> has an event handler attribute %s=%q", e.Data, a.Key, a.Val)
			}
			if (k == "href" || k == "src" || k == "action") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
				t.Errorf("<%s %s=%q>: javascript URL", e.Data, a.Key, a.Val)
			}
			if strings.Contains(a.Val, "ZgotmplZ") {
				t.Errorf("<%s %s=%q>: a value was refused by html/template", e.Data, a.Key, a.Val)
			}
		}
		switch e.Data {
		case "script":
			src, ok := attr(e, "src")
			if !ok || src == "" {
				t.Errorf("inline <script>: %q", text(e))
			}
		case "style":
			t.Errorf("<style> element: %q", text(e))
		case "img":
			if _, ok := attr(e, "alt"); !ok {
				t.Errorf("<img src=%q> has no alt", attrOr(e, "src", ""))
			}
		}
	}
	htmls := byTag(doc, "html")
	if len(htmls) != 1 || attrOr(htmls[0], "lang", "") != "en" {
		t.Errorf(`<html lang="en"> missing`)
	}
	if h1 := byTag(doc, "h1"); len(h1) != 1 {
		t.Errorf("got %d <h1>, want 1", len(h1))
	} else if text(h1[0]) == "" {
		t.Errorf("<h1> is empty")
	}
	if title := byTag(doc, "title"); len(title) != 1 || strings.HasPrefix(text(title[0]), "·") {
		t.Errorf("document title missing or empty")
	}
	if len(byTag(doc, "main")) != 1 {
		t.Errorf("want exactly one <main>")
	}
	if skip := byTag(doc, "a"); len(skip) == 0 || attrOr(skip[0], "href", "") != "#main" {
		t.Errorf("the first link is not the skip link to #main")
	}
	for _, e := range elements(doc) {
		switch e.Data {
		case "input":
			typ := strings.ToLower(attrOr(e, "type", "text"))
			if typ == "hidden" || typ == "submit" || typ == "button" {
				continue
			}
		case "select", "textarea":
		default:
			continue
		}
		if !labelled(doc, e, ids) {
			t.Errorf("<%s name=%q id=%q> has no label", e.Data, attrOr(e, "name", ""), attrOr(e, "id", ""))
		}
		if v, ok := attr(e, "aria-describedby"); ok {
			for _, id := range strings.Fields(v) {
				if ids[id] == nil {
					t.Errorf("<%s name=%q> aria-describedby names missing id %q", e.Data, attrOr(e, "name", ""), id)
				}
			}
		}
		if attrOr(e, "autocomplete", "") == "one-time-code" && attrOr(e, "inputmode", "") != "numeric" {
			t.Errorf("<input name=%q autocomplete=one-time-code> lacks inputmode=numeric", attrOr(e, "name", ""))
		}
		if attrOr(e, "type", "") == "password" {
			if v, ok := attr(e, "value"); ok {
				t.Errorf("password input %q has a value %q", attrOr(e, "name", ""), v)
			}
		}
	}
	for _, f := range byTag(doc, "form") {
		if !strings.EqualFold(attrOr(f, "method", "get"), "post") {
			t.Errorf("form with method %q; every form posts", attrOr(f, "method", ""))
			continue
		}
		if a, ok := attr(f, "action"); ok && a == "" {
			t.Errorf("form with an empty action")
		}
		found := false
		for _, in := range byTag(f, "input") {
			if attrOr(in, "type", "") == "hidden" && attrOr(in, "name", "") == csrfField {
				found = true
				if v := attrOr(in, "value", ""); v != csrfToken {
					t.Errorf("form %q: CSRF value %q, want %q", attrOr(f, "action", ""), v, csrfToken)
				}
			}
		}
		if !found {
			t.Errorf("form %q has no hidden %q field", attrOr(f, "action", ""), csrfField)
		}
		buttons := 0
		for _, b := range byTag(f, "button") {
			if attrOr(b, "type", "submit") == "submit" {
				buttons++
			}
		}
		if buttons == 0 {
			t.Errorf("form %q has no submit button", attrOr(f, "action", ""))
		}
	}
}

// inputsByName returns the visible form controls of doc by name.
func inputsByName(doc *html.Node) map[string][]*html.Node {
	m := make(map[string][]*html.Node)
	for _, e := range elements(doc) {
		if e.Data != "input" && e.Data != "select" && e.Data != "textarea" {
			continue
		}
		if attrOr(e, "type", "") == "hidden" {
			continue
		}
		name := attrOr(e, "name", "")
		m[name] = append(m[name], e)
	}
	return m
}

// hiddenValues returns the values of hidden inputs named name in doc.
func hiddenValues(doc *html.Node, name string) []string {
	var out []string
	for _, in := range byTag(doc, "input") {
		if attrOr(in, "type", "") == "hidden" && attrOr(in, "name", "") == name {
			out = append(out, attrOr(in, "value", ""))
		}
	}
	return out
}

// roles returns the text of the elements with the given role.
func roles(doc *html.Node, role string) []string {
	var out []string
	for _, e := range elements(doc) {
		if attrOr(e, "role", "") == role {
			out = append(out, text(e))
		}
	}
	return out
}

func containsText(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.Contains(v, s) })
}
