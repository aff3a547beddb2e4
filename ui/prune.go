package ui

import (
	htmltemplate "html/template"
	"text/template/parse"
)

// prune empties the trees of the templates of set that root does not
// reach. Every page's set is a copy of the whole layout (html/template
// copies each tree it clones: every partial, icon and slot), yet a page
// runs only root and what root calls, and a template is only ever called
// by a name written in the template ({{template "name"}}), so the rest is
// never run. Emptied, those copies leave the heap, which the garbage
// collector would otherwise mark on every cycle, for every page. root
// must have run once (html/template has escaped it and what it reaches,
// and added the derived copies it calls), and the set must not be in use
// concurrently. New prunes each page's set after folding it (see fold),
// so the tests that compare every page with and without folding compare
// it with and without pruning too.
func prune(set *htmltemplate.Template, root string) {
	reached := map[string]bool{}
	reach(set, &parse.TemplateNode{Name: root}, reached)
	for _, t := range set.Templates() {
		if !reached[t.Name()] && t.Tree != nil {
			t.Tree.Root = &parse.ListNode{NodeType: parse.NodeList}
		}
	}
}

// reach adds to reached the names of the templates of set that n calls,
// and of those they call in turn.
func reach(set *htmltemplate.Template, n parse.Node, reached map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			reach(set, c, reached)
		}
	case *parse.TemplateNode:
		if reached[n.Name] {
			return
		}
		reached[n.Name] = true
		if t := set.Lookup(n.Name); t != nil && t.Tree != nil {
			reach(set, t.Tree.Root, reached)
		}
	case *parse.IfNode:
		reach(set, n.List, reached)
		reach(set, n.ElseList, reached)
	case *parse.RangeNode:
		reach(set, n.List, reached)
		reach(set, n.ElseList, reached)
	case *parse.WithNode:
		reach(set, n.List, reached)
		reach(set, n.ElseList, reached)
	}
}
