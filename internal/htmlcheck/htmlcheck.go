// Package htmlcheck checks rendered pages, settings sections and emails
// against the rules every page of the module follows: well-formed markup,
// markup that a strict Content-Security-Policy allows (no inline script or
// style, no event handler attributes, no javascript: URLs), accessibility
// (the document's language, one h1, a label for every control, references
// to ids that exist, the skip link), and forms that post with the CSRF
// field and a submit button. It knows no feature: the features' tests run
// it on their own pages.
//
//	doc := htmlcheck.Page(t, rec.Body.String(), htmlcheck.Options{CSRFToken: "token"})
//	// doc is the parsed page, for the test's own checks.
//
// [Check] returns the problems instead of reporting them. The helpers
// ([ByTag], [Attr], [Text], [Controls], ...) query a parsed document.
package htmlcheck

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// DefaultCSRFField is the CSRF field checked when Options.CSRFField is
// empty: the name the ui package uses.
const DefaultCSRFField = "csrf_token"

// Options says what a page must hold beyond the common rules.
type Options struct {
	// CSRFField is the name of the hidden CSRF field every form must have;
	// empty means DefaultCSRFField.
	CSRFField string
	// CSRFToken is the value every form's CSRF field must hold (empty:
	// the field must be empty too, as on a page rendered without the CSRF
	// middleware).
	CSRFToken string
	// Lang is the language the document must declare on <html>; empty
	// means "en".
	Lang string
	// Fragment checks a part of a page (a settings section) rather than a
	// document: the rules about the document as a whole (lang, title, one
	// main, one h1, the skip link) are left out, and the fragment must
	// have no h1 of its own.
	Fragment bool
}

// Problem is one rule that a page breaks.
type Problem struct {
	// Rule names the rule, such as "label" or "one-h1".
	Rule string
	// Detail says where and how.
	Detail string
}

// String returns the problem as "rule: detail".
func (p Problem) String() string { return p.Rule + ": " + p.Detail }

// Parse parses a rendered document, or a fragment of one, as a browser
// does.
func Parse(body string) (*html.Node, error) {
	return html.Parse(strings.NewReader(body))
}

// Page parses body, reports each problem of [Check] with t.Errorf, and
// returns the parsed document for the test's own checks. A body that does
// not parse stops the test.
func Page(t testing.TB, body string, opts Options) *html.Node {
	t.Helper()
	doc, err := Parse(body)
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	for _, p := range check(body, doc, opts) {
		t.Errorf("HTML check: %s", p)
	}
	return doc
}

// Check returns the problems of body (a document, or a fragment with
// opts.Fragment): see the package documentation for the rules.
func Check(body string, opts Options) []Problem {
	doc, err := Parse(body)
	if err != nil {
		return []Problem{{"parse", err.Error()}}
	}
	return check(body, doc, opts)
}

// CheckNode returns the problems of an already parsed document. It cannot
// see how the markup was written, so the well-formedness rules of [Check]
// are left out.
func CheckNode(doc *html.Node, opts Options) []Problem {
	var c checker
	c.document(doc, opts)
	return c.problems
}

func check(body string, doc *html.Node, opts Options) []Problem {
	var c checker
	c.structure(body)
	c.document(doc, opts)
	return c.problems
}

// Email returns the problems of the HTML part of an email: well-formed
// markup with the document's language and a title, no script, no event
// handler attributes, no javascript: URLs, no value refused by
// html/template, images with alt text, links with an address and a text.
// Inline styles are allowed: mail clients ignore stylesheets.
func Email(body string) []Problem {
	doc, err := Parse(body)
	if err != nil {
		return []Problem{{"parse", err.Error()}}
	}
	var c checker
	c.structure(body)
	c.common(doc, true)
	if hs := ByTag(doc, "html"); len(hs) != 1 || AttrOr(hs[0], "lang", "") == "" {
		c.add("lang", `no <html lang="...">`)
	}
	if ts := ByTag(doc, "title"); len(ts) != 1 || Text(ts[0]) == "" {
		c.add("title", "no title, or an empty one")
	}
	for _, s := range ByTag(doc, "script") {
		c.add("script", fmt.Sprintf("<script> in an email: %q", Text(s)))
	}
	return c.problems
}

// checker collects problems.
type checker struct{ problems []Problem }

func (c *checker) add(rule, detail string) {
	c.problems = append(c.problems, Problem{rule, detail})
}

// voidElements have no end tag.
var voidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

// structure checks that every element the markup opens is closed, in
// order: a browser silently repairs misnested or unclosed elements (and
// drops a form nested in a form), so the page it shows is not the one the
// template meant.
func (c *checker) structure(body string) {
	z := html.NewTokenizer(strings.NewReader(body))
	var open []string
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); err != io.EOF {
				c.add("structure", fmt.Sprintf("tokenizer: %v", err))
			}
			for i := len(open) - 1; i >= 0; i-- {
				c.add("structure", fmt.Sprintf("<%s> is never closed", open[i]))
			}
			return
		case html.StartTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if voidElements[tag] {
				continue
			}
			if tag == "form" && slices.Contains(open, "form") {
				c.add("structure", "a <form> inside a <form> (browsers drop the inner one)")
			}
			open = append(open, tag)
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if voidElements[tag] {
				c.add("structure", fmt.Sprintf("end tag </%s> of a void element", tag))
				continue
			}
			i := len(open) - 1
			for i >= 0 && open[i] != tag {
				i--
			}
			if i < 0 {
				c.add("structure", fmt.Sprintf("</%s> closes no open element", tag))
				continue
			}
			for j := len(open) - 1; j > i; j-- {
				c.add("structure", fmt.Sprintf("<%s> is not closed before </%s>", open[j], tag))
			}
			open = open[:i]
		}
	}
}

// common checks the rules that hold for pages and emails alike.
func (c *checker) common(doc *html.Node, email bool) {
	ids := map[string]bool{}
	for _, e := range Elements(doc) {
		if id, ok := Attr(e, "id"); ok {
			if ids[id] {
				c.add("duplicate-id", fmt.Sprintf("id %q is used twice", id))
			}
			ids[id] = true
		}
		for _, a := range e.Attr {
			k := strings.ToLower(a.Key)
			switch {
			case k == "style" && !email:
				c.add("style-attribute", fmt.Sprintf("<%s style=%q> (the Content-Security-Policy refuses inline styles)", e.Data, a.Val))
			case strings.HasPrefix(k, "on"):
				c.add("event-handler", fmt.Sprintf("<%s %s=%q>", e.Data, a.Key, a.Val))
			case (k == "href" || k == "src" || k == "action" || k == "formaction") &&
				strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:"):
				c.add("javascript-url", fmt.Sprintf("<%s %s=%q>", e.Data, a.Key, a.Val))
			}
			if strings.Contains(a.Val, "ZgotmplZ") {
				c.add("refused-value", fmt.Sprintf("<%s %s=%q>: html/template refused the value", e.Data, a.Key, a.Val))
			}
		}
		switch e.Data {
		case "img":
			if _, ok := Attr(e, "alt"); !ok {
				c.add("img-alt", fmt.Sprintf("<img src=%q> has no alt", AttrOr(e, "src", "")))
			}
		case "a":
			if h, ok := Attr(e, "href"); !ok || strings.TrimSpace(h) == "" {
				c.add("link-href", fmt.Sprintf("link %q has no address", Text(e)))
			}
			if !named(e) {
				c.add("link-name", fmt.Sprintf("<a href=%q> has no text", AttrOr(e, "href", "")))
			}
		}
	}
	if strings.Contains(Text(doc), "<no value>") {
		c.add("no-value", `"<no value>" in the text: a template read a missing value`)
	}
}

// document checks a page or a fragment of one.
func (c *checker) document(doc *html.Node, opts Options) {
	field := opts.CSRFField
	if field == "" {
		field = DefaultCSRFField
	}
	c.common(doc, false)
	ids := ByID(doc)
	for _, e := range Elements(doc) {
		switch e.Data {
		case "script":
			if src, ok := Attr(e, "src"); !ok || src == "" {
				c.add("inline-script", fmt.Sprintf("inline <script>: %q", Text(e)))
			}
		case "style":
			c.add("style-element", fmt.Sprintf("<style>: %q", Text(e)))
		case "button":
			if !named(e) {
				c.add("button-name", "a <button> has no text")
			}
		case "label":
			if f, ok := Attr(e, "for"); ok && ids[f] == nil {
				c.add("label-for", fmt.Sprintf("<label for=%q> names no element", f))
			}
		}
		for _, key := range []string{"aria-describedby", "aria-labelledby"} {
			v, ok := Attr(e, key)
			if !ok {
				continue
			}
			for _, id := range strings.Fields(v) {
				if ids[id] == nil {
					c.add("aria-reference", fmt.Sprintf("<%s name=%q> %s names missing id %q", e.Data, AttrOr(e, "name", ""), key, id))
				}
			}
		}
	}
	if opts.Fragment {
		if n := len(ByTag(doc, "h1")); n != 0 {
			c.add("fragment-h1", fmt.Sprintf("got %d <h1> in a part of a page, want none (the page has its own)", n))
		}
	} else {
		c.page(doc, cmp.Or(opts.Lang, "en"))
	}
	for _, e := range Controls(doc) {
		name := AttrOr(e, "name", "")
		if !Labelled(doc, e, ids) {
			c.add("label", fmt.Sprintf("<%s name=%q id=%q> has no label", e.Data, name, AttrOr(e, "id", "")))
		}
		if AttrOr(e, "autocomplete", "") == "one-time-code" && AttrOr(e, "inputmode", "") != "numeric" {
			c.add("one-time-code", fmt.Sprintf("<input name=%q autocomplete=one-time-code> lacks inputmode=numeric", name))
		}
		if AttrOr(e, "type", "") == "password" {
			if v, ok := Attr(e, "value"); ok {
				c.add("password-value", fmt.Sprintf("password input %q has the value %q", name, v))
			}
		}
	}
	for _, f := range ByTag(doc, "form") {
		action := AttrOr(f, "action", "")
		if !strings.EqualFold(AttrOr(f, "method", "get"), "post") {
			c.add("form-method", fmt.Sprintf("form %q has method %q: every form posts", action, AttrOr(f, "method", "")))
			continue
		}
		if a, ok := Attr(f, "action"); ok && a == "" {
			c.add("form-action", "a form with an empty action")
		}
		values := HiddenValues(f, field)
		switch {
		case len(values) == 0:
			c.add("csrf", fmt.Sprintf("form %q has no hidden %q field", action, field))
		case len(values) > 1:
			c.add("csrf", fmt.Sprintf("form %q has %d hidden %q fields, want 1", action, len(values), field))
		case values[0] != opts.CSRFToken:
			c.add("csrf", fmt.Sprintf("form %q: CSRF value %q, want %q", action, values[0], opts.CSRFToken))
		}
		submit := false
		for _, b := range ByTag(f, "button") {
			if AttrOr(b, "type", "submit") == "submit" {
				submit = true
			}
		}
		for _, in := range ByTag(f, "input") {
			if AttrOr(in, "type", "") == "submit" {
				submit = true
			}
		}
		if !submit {
			c.add("form-submit", fmt.Sprintf("form %q has no submit button", action))
		}
	}
}

// page checks the rules about a document as a whole.
func (c *checker) page(doc *html.Node, lang string) {
	if hs := ByTag(doc, "html"); len(hs) != 1 || AttrOr(hs[0], "lang", "") != lang {
		c.add("lang", fmt.Sprintf("no <html lang=%q>", lang))
	}
	if h1 := ByTag(doc, "h1"); len(h1) != 1 {
		c.add("one-h1", fmt.Sprintf("got %d <h1>, want 1", len(h1)))
	} else if Text(h1[0]) == "" {
		c.add("one-h1", "the <h1> is empty")
	}
	if ts := ByTag(doc, "title"); len(ts) != 1 || Text(ts[0]) == "" || strings.HasPrefix(Text(ts[0]), "·") {
		c.add("title", "no document title, or one without the page's own")
	}
	if n := len(ByTag(doc, "main")); n != 1 {
		c.add("one-main", fmt.Sprintf("got %d <main>, want 1", n))
	}
	if links := ByTag(doc, "a"); len(links) == 0 || AttrOr(links[0], "href", "") != "#main" {
		c.add("skip-link", "the first link is not the skip link to #main")
	}
}

// named reports whether e (a link or a button) has an accessible name: text,
// aria-label, aria-labelledby, or an image with alt text.
func named(e *html.Node) bool {
	if Text(e) != "" || strings.TrimSpace(AttrOr(e, "aria-label", "")) != "" || AttrOr(e, "aria-labelledby", "") != "" {
		return true
	}
	for _, img := range ByTag(e, "img") {
		if strings.TrimSpace(AttrOr(img, "alt", "")) != "" {
			return true
		}
	}
	return false
}

// Elements returns every element node below n (n included), in document
// order.
func Elements(n *html.Node) []*html.Node {
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

// ByTag returns the elements below n (n included) with the given tag.
func ByTag(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for _, e := range Elements(n) {
		if e.Data == tag {
			out = append(out, e)
		}
	}
	return out
}

// Attr returns the value of n's attribute key and whether n has it.
func Attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// AttrOr returns the value of n's attribute key, or def when n has none.
func AttrOr(n *html.Node, key, def string) string {
	if v, ok := Attr(n, key); ok {
		return v
	}
	return def
}

// Text returns the text content of n, with runs of white space collapsed
// to one space and none at either end.
func Text(n *html.Node) string {
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

// ByID indexes the elements below n by id (the first of each id).
func ByID(n *html.Node) map[string]*html.Node {
	m := make(map[string]*html.Node)
	for _, e := range Elements(n) {
		if id, ok := Attr(e, "id"); ok && m[id] == nil {
			m[id] = e
		}
	}
	return m
}

// Ancestor returns the nearest ancestor of n with the given tag, or nil.
func Ancestor(n *html.Node, tag string) *html.Node {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == tag {
			return p
		}
	}
	return nil
}

// Labelled reports whether the form control n has an accessible name: a
// <label for> of its id, an enclosing <label>, aria-label, or
// aria-labelledby naming elements with text. ids is [ByID] of doc.
func Labelled(doc, n *html.Node, ids map[string]*html.Node) bool {
	if v, ok := Attr(n, "aria-label"); ok && strings.TrimSpace(v) != "" {
		return true
	}
	if v, ok := Attr(n, "aria-labelledby"); ok {
		for _, id := range strings.Fields(v) {
			if e := ids[id]; e != nil && Text(e) != "" {
				return true
			}
		}
	}
	if l := Ancestor(n, "label"); l != nil && Text(l) != "" {
		return true
	}
	id, ok := Attr(n, "id")
	if !ok || id == "" {
		return false
	}
	for _, l := range ByTag(doc, "label") {
		if f, _ := Attr(l, "for"); f == id && Text(l) != "" {
			return true
		}
	}
	return false
}

// Controls returns the form controls below n that a user fills in: inputs
// other than hidden fields and buttons, selects and text areas.
func Controls(n *html.Node) []*html.Node {
	var out []*html.Node
	for _, e := range Elements(n) {
		switch e.Data {
		case "input":
			switch strings.ToLower(AttrOr(e, "type", "text")) {
			case "hidden", "submit", "button", "reset", "image":
				continue
			}
		case "select", "textarea":
		default:
			continue
		}
		out = append(out, e)
	}
	return out
}

// ControlsByName returns the form controls below n that are not hidden
// inputs (submit buttons included), by name.
func ControlsByName(n *html.Node) map[string][]*html.Node {
	m := make(map[string][]*html.Node)
	for _, e := range Elements(n) {
		if e.Data != "input" && e.Data != "select" && e.Data != "textarea" {
			continue
		}
		if AttrOr(e, "type", "") == "hidden" {
			continue
		}
		name := AttrOr(e, "name", "")
		m[name] = append(m[name], e)
	}
	return m
}

// HiddenValues returns the values of the hidden inputs named name below n.
func HiddenValues(n *html.Node, name string) []string {
	var out []string
	for _, in := range ByTag(n, "input") {
		if AttrOr(in, "type", "") == "hidden" && AttrOr(in, "name", "") == name {
			out = append(out, AttrOr(in, "value", ""))
		}
	}
	return out
}

// Roles returns the text of the elements below n with the given role.
func Roles(n *html.Node, role string) []string {
	var out []string
	for _, e := range Elements(n) {
		if AttrOr(e, "role", "") == role {
			out = append(out, Text(e))
		}
	}
	return out
}

// Hrefs returns the href of every link below n, in document order (empty
// for a link without one).
func Hrefs(n *html.Node) []string {
	var out []string
	for _, a := range ByTag(n, "a") {
		out = append(out, AttrOr(a, "href", ""))
	}
	return out
}

// Forms returns the forms below n that post to action.
func Forms(n *html.Node, action string) []*html.Node {
	var out []*html.Node
	for _, f := range ByTag(n, "form") {
		if AttrOr(f, "action", "") == action {
			out = append(out, f)
		}
	}
	return out
}
