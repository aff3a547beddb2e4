package ui

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/sigra-go/sigra/internal/htmlcheck"
)

// The page checks live in internal/htmlcheck, shared with the features'
// tests; these are the names this package's tests use for them.

// parseHTML parses a rendered document with the same parser rules as a
// browser.
func parseHTML(t testing.TB, s string) *html.Node {
	t.Helper()
	doc, err := htmlcheck.Parse(s)
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

var (
	elements     = htmlcheck.Elements
	byTag        = htmlcheck.ByTag
	attr         = htmlcheck.Attr
	attrOr       = htmlcheck.AttrOr
	text         = htmlcheck.Text
	byID         = htmlcheck.ByID
	ancestor     = htmlcheck.Ancestor
	inputsByName = htmlcheck.ControlsByName
	hiddenValues = htmlcheck.HiddenValues
	roles        = htmlcheck.Roles
)

// checkDocument reports every rule of htmlcheck that the page doc breaks:
// CSP-safe markup, one h1, lang, labels for every control, unique ids, and
// the CSRF field (named csrfField, holding csrfToken) in every form.
func checkDocument(t *testing.T, doc *html.Node, csrfField, csrfToken string) {
	t.Helper()
	for _, p := range htmlcheck.CheckNode(doc, htmlcheck.Options{CSRFField: csrfField, CSRFToken: csrfToken}) {
		t.Errorf("HTML check: %s", p)
	}
}

func containsText(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.Contains(v, s) })
}
