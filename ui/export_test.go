package ui

import (
	htmltemplate "html/template"
	"testing"

	"github.com/sigra-go/sigra/site"
)

// NewUnfolded is New without the folding of the templates' constants,
// the trimming of each set and the sharing of nodes (see build), for the
// tests that compare both.
func NewUnfolded(s *site.Site, cfg Config) (*UI, error) { return build(s, cfg, false) }

// pageSet returns u's set of page name, built if it was not yet, for the
// tests that look inside it.
func pageSet(tb testing.TB, u *UI, name string) *htmltemplate.Template {
	tb.Helper()
	t, err := u.page(name)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// allSets returns every set of u, pages, sections and the emails' HTML
// parts, built if they were not yet.
func allSets(tb testing.TB, u *UI) []*htmltemplate.Template {
	tb.Helper()
	var sets []*htmltemplate.Template
	for _, name := range u.Pages() {
		sets = append(sets, pageSet(tb, u, name))
	}
	for _, name := range u.Sections() {
		t, err := u.section(name)
		if err != nil {
			tb.Fatal(err)
		}
		sets = append(sets, t)
	}
	for _, name := range u.Emails() {
		set, err := built(u, u.emails[name])
		if err != nil {
			tb.Fatal(err)
		}
		sets = append(sets, set.html)
	}
	return sets
}
