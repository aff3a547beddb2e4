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
	calls(n, func(name string) {
		if reached[name] {
			return
		}
		reached[name] = true
		if t := set.Lookup(name); t != nil && t.Tree != nil {
			reach(set, t.Tree.Root, reached)
		}
	})
}

// calls calls fn with the name of each template that n calls directly.
func calls(n parse.Node, fn func(name string)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			calls(c, fn)
		}
	case *parse.TemplateNode:
		fn(n.Name)
	case *parse.IfNode:
		calls(n.List, fn)
		calls(n.ElseList, fn)
	case *parse.RangeNode:
		calls(n.List, fn)
		calls(n.ElseList, fn)
	case *parse.WithNode:
		calls(n.List, fn)
		calls(n.ElseList, fn)
	}
}

// idents adds to named the name of every function that n calls.
func idents(n parse.Node, named map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			idents(c, named)
		}
	case *parse.ActionNode:
		idents(n.Pipe, named)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			idents(c, named)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			idents(a, named)
		}
	case *parse.ChainNode:
		idents(n.Node, named)
	case *parse.IdentifierNode:
		named[n.Ident] = true
	case *parse.TemplateNode:
		idents(n.Pipe, named)
	case *parse.IfNode:
		idents(n.Pipe, named)
		idents(n.List, named)
		idents(n.ElseList, named)
	case *parse.RangeNode:
		idents(n.Pipe, named)
		idents(n.List, named)
		idents(n.ElseList, named)
	case *parse.WithNode:
		idents(n.Pipe, named)
		idents(n.List, named)
		idents(n.ElseList, named)
	}
}
