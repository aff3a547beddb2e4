package ui

import (
	"strings"
	"testing"
)

// TestPruneEmptiesUnreachedTemplates: in the UI New builds, a page's set
// holds only the templates of the layout that its root reaches (see
// fileSet), and once folded keeps the trees of those it still calls and
// empties the others: the icons (folded into the layout, no longer
// called). The same set built without folding (and so without pruning) is
// a clone of the whole layout, and keeps every template. That the pages render
// the same either way is TestFoldKeepsEveryPage's.
func TestPruneEmptiesUnreachedTemplates(t *testing.T) {
	t.Parallel()
	s := newSite(t, "", nil)
	pruned := newTestUIOn(t, s, Config{Packs: []Pack{testPack()}})
	plain, err := build(s, Config{Packs: []Pack{testPack()}}, false)
	if err != nil {
		t.Fatal(err)
	}
	nodes := func(u *UI, page string) (kept, emptied int, icons []string) {
		for _, tm := range pageSet(t, u, page).Templates() {
			if tm.Tree == nil || tm.Tree.Root == nil || len(tm.Tree.Root.Nodes) == 0 {
				emptied++
				continue
			}
			kept++
			if strings.HasPrefix(tm.Name(), "icon-") {
				icons = append(icons, tm.Name())
			}
		}
		return kept, emptied, icons
	}
	keptPlain, emptiedPlain, iconsPlain := nodes(plain, "welcome")
	kept, emptied, icons := nodes(pruned, "welcome")
	if len(iconsPlain) == 0 {
		t.Fatal("the set built without folding has no icon templates: the test checks nothing")
	}
	if len(icons) != 0 {
		t.Errorf("pruned set: icon templates kept %v, want none (folded into the layout)", icons)
	}
	if emptied == 0 || kept >= keptPlain {
		t.Errorf("pruned set: %d templates kept, %d emptied; without folding %d kept; want fewer kept", kept, emptied, keptPlain)
	}
	if kept+emptied >= keptPlain+emptiedPlain {
		t.Errorf("pruned set: %d templates, want fewer than the %d of the whole layout", kept+emptied, keptPlain+emptiedPlain)
	}
	if base := pageSet(t, pruned, "welcome").Lookup("base"); base == nil || len(base.Tree.Root.Nodes) == 0 {
		t.Error("pruned set: the root \"base\" was emptied")
	}
	t.Logf("welcome: %d templates kept and %d emptied; %d kept of %d without folding", kept, emptied, keptPlain, keptPlain+emptiedPlain)
}
