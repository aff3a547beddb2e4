package ui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"text/template/parse"
)

// TestShareKeepsOneCopy: in the UI New builds, the page, section and
// email sets hold one copy of each node they have in common: no two
// distinct nodes of the sets' templates have the same place and text. And
// they do have nodes in common (the test would check nothing otherwise):
// the email layout runs in every email, the layout's partials in every
// page. Built without folding (and so without sharing), the same sets
// hold a copy each. That every page, section and email renders the same
// either way is TestFoldKeepsEveryPage's.
func TestShareKeepsOneCopy(t *testing.T) {
	t.Parallel()
	s := newSite(t, "", nil)
	shared := newTestUIOn(t, s, Config{Packs: []Pack{testPack()}})
	plain, err := build(s, Config{Packs: []Pack{testPack()}}, false)
	if err != nil {
		t.Fatal(err)
	}
	// count walks the list-level nodes of every set of u, and returns how
	// many places in the sets hold one, how many distinct nodes there are,
	// and how many distinct nodes have a key another distinct node has.
	count := func(u *UI) (places, distinct, twins int) {
		seen := map[parse.Node]bool{}
		byKey := map[string]parse.Node{}
		var walk func(n parse.Node)
		walk = func(n parse.Node) {
			places++
			if seen[n] {
				return
			}
			seen[n] = true
			key := fmt.Sprintf("%d %d %s", n.Type(), n.Position(), n)
			if other, ok := byKey[key]; ok && other != n {
				twins++
			}
			byKey[key] = n
			if l, ok := n.(*parse.ListNode); ok {
				for _, c := range l.Nodes {
					walk(c)
				}
			} else if b := branchOf(n); b != nil {
				for _, l := range []*parse.ListNode{b.List, b.ElseList} {
					if l != nil {
						walk(l)
					}
				}
			}
		}
		for _, set := range allSets(t, u) {
			for _, tm := range set.Templates() {
				if tm.Tree != nil && tm.Tree.Root != nil {
					walk(tm.Tree.Root)
				}
			}
		}
		return places, len(seen), twins
	}
	places, distinct, twins := count(shared)
	if twins != 0 {
		t.Errorf("shared sets: %d nodes have a twin of the same place and text, want none", twins)
	}
	if distinct >= places {
		t.Errorf("shared sets: %d distinct nodes in %d places: nothing is shared", distinct, places)
	}
	_, _, plainTwins := count(plain)
	if plainTwins == 0 {
		t.Error("sets built without sharing: no node has a twin, so sharing has nothing to share and the test checks nothing")
	}
	t.Logf("shared: %d distinct nodes in %d places; without sharing, %d nodes have a twin", distinct, places, plainTwins)
}

// TestSharedPagesRenderConcurrently renders every page and email from
// several goroutines at once, each the same as alone: the shared nodes are
// only read (run it with -race).
func TestSharedPagesRenderConcurrently(t *testing.T) {
	t.Parallel()
	u := newDemoUI(t, Config{})
	req := httptest.NewRequest(http.MethodGet, "/page", nil)
	render := func(page string) string {
		w := httptest.NewRecorder()
		u.Render(w, req, http.StatusOK, page, &Page{CSRFToken: "tok", User: testUser})
		return w.Body.String()
	}
	email := func(name string) string {
		s, text, html, err := u.RenderEmail(name, &Email{To: "user@example.com", Link: "https://app.example.com/x"})
		if err != nil {
			t.Errorf("email %q: %v", name, err)
		}
		return s + text + html
	}
	want := map[string]string{}
	for _, p := range u.Pages() {
		want["page "+p] = render(p)
	}
	for _, e := range u.Emails() {
		want["email "+e] = email(e)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, p := range u.Pages() {
				if got := render(p); got != want["page "+p] {
					t.Errorf("page %q rendered concurrently differs", p)
				}
			}
			for _, e := range u.Emails() {
				if got := email(e); got != want["email "+e] {
					t.Errorf("email %q rendered concurrently differs", e)
				}
			}
		})
	}
	wg.Wait()
}
