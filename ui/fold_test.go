package ui

import (
	"strings"
	"testing"
)

// TestFoldFoldsConstants: in the UI New builds, the layout of a page
// (header, footer, the sign-out form of a signed-in page) and the page's
// own template no longer call the functions whose results are fixed, nor
// the icons' templates: their text is in the template. The same templates
// built without folding still call them, so the test sees the difference.
func TestFoldFoldsConstants(t *testing.T) {
	t.Parallel()
	s := newSite(t, "", nil)
	folded := newTestUIOn(t, s, Config{Packs: []Pack{testPack()}})
	plain, err := build(s, Config{Packs: []Pack{testPack()}}, false)
	if err != nil {
		t.Fatal(err)
	}
	calls := []string{"{{asset ", "{{route ", "{{if hasRoute ", "{{home", "{{brand.", "{{with brand.", `{{template "icon-`}
	tree := func(u *UI, page, name string) string {
		tm := pageSet(t, u, page).Lookup(name)
		if tm == nil || tm.Tree == nil {
			t.Fatalf("page %q has no template %q", page, name)
		}
		return tm.Tree.Root.String()
	}
	for _, name := range []string{"base", "pages/welcome.html"} {
		got, before := tree(folded, "welcome", name), tree(plain, "welcome", name)
		for _, c := range calls {
			if strings.Contains(got, c) {
				t.Errorf("%s: the folded template still calls %q:\n%s", name, c, got)
			}
		}
		if name == "base" {
			for _, c := range calls {
				if !strings.Contains(before, c) {
					t.Errorf("%s: the template built without folding does not call %q: the test checks nothing", name, c)
				}
			}
			for _, text := range []string{`href="` + folded.AssetURL("sigra.css") + `"`, `action="/auth/logout"`, `<svg class="icon"`} {
				if !strings.Contains(got, text) {
					t.Errorf("%s: the folded template lacks %q:\n%s", name, text, got)
				}
			}
		}
	}
	// What reads the page's data still runs on each request.
	if got := tree(folded, "welcome", "base"); !strings.Contains(got, "{{if .User}}") || !strings.Contains(got, ".User.Email") {
		t.Errorf("base: the folded template lost the signed-in header:\n%s", got)
	}
}
