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
	reach(inSet(set), &parse.TemplateNode{Name: root}, reached)
	for _, t := range set.Templates() {
		if !reached[t.Name()] && t.Tree != nil {
			t.Tree.Root = &parse.ListNode{NodeType: parse.NodeList}
		}
	}
}

// reach adds to reached the names of the templates that n calls, and of
// those they call in turn, whose trees trees returns (nil for none).
func reach(trees func(name string) []*parse.Tree, n parse.Node, reached map[string]bool) {
	calls(n, func(name string) {
		if reached[name] {
			return
		}
		reached[name] = true
		for _, tr := range trees(name) {
			if tr != nil {
				reach(trees, tr.Root, reached)
			}
		}
	})
}

// inSet returns the trees of set's templates, for reach.
func inSet(set *htmltemplate.Template) func(name string) []*parse.Tree {
	return func(name string) []*parse.Tree { return []*parse.Tree{treeOf(set.Lookup(name))} }
}

// calls calls fn with the name of each template that n calls directly.
func calls(n parse.Node, fn func(name string)) {
	visit(n, func(n parse.Node) {
		if t, ok := n.(*parse.TemplateNode); ok {
			fn(t.Name)
		}
	})
}

// idents adds to named the name of every function that n calls.
func idents(n parse.Node, named map[string]bool) {
	visit(n, func(n parse.Node) {
		if id, ok := n.(*parse.IdentifierNode); ok {
			named[id.Ident] = true
		}
	})
}

// visit calls fn with n and with every node under it: the nodes of lists
// and branches, pipelines, their commands and the commands' arguments. A
// nil list or pipeline is skipped.
func visit(n parse.Node, fn func(parse.Node)) {
	switch n := n.(type) {
	case nil:
	case *parse.ListNode:
		if n == nil {
			return
		}
		fn(n)
		for _, c := range n.Nodes {
			visit(c, fn)
		}
	case *parse.PipeNode:
		if n == nil {
			return
		}
		fn(n)
		for _, c := range n.Cmds {
			visit(c, fn)
		}
	case *parse.ActionNode:
		fn(n)
		visit(n.Pipe, fn)
	case *parse.CommandNode:
		fn(n)
		for _, a := range n.Args {
			visit(a, fn)
		}
	case *parse.ChainNode:
		fn(n)
		visit(n.Node, fn)
	case *parse.TemplateNode:
		fn(n)
		visit(n.Pipe, fn)
	default:
		fn(n)
		if b := branchOf(n); b != nil {
			visit(b.Pipe, fn)
			visit(b.List, fn)
			visit(b.ElseList, fn)
		}
	}
}

// branchOf returns the branches of an if, range or with node, and nil for
// any other node.
func branchOf(n parse.Node) *parse.BranchNode {
	switch n := n.(type) {
	case *parse.IfNode:
		return &n.BranchNode
	case *parse.RangeNode:
		return &n.BranchNode
	case *parse.WithNode:
		return &n.BranchNode
	}
	return nil
}
