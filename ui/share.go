package ui

import (
	"crypto/sha256"
	"fmt"
	htmltemplate "html/template"
	"text/template/parse"
)

// sharer gives the template sets of a UI one copy of each node they have
// in common. Every page, section and email set is a clone of its layout,
// and html/template copies each tree it clones, so without it every page
// holds its own copy of each partial, icon and slot it runs (folded into
// its body or not), and every email its copy of the email layout: the
// larger part of a UI's heap, which the garbage collector marks on every
// cycle.
//
// Two nodes are the same when they were parsed from the same place of the
// same file and have the same text (parse.Node's String writes out every
// node: the escapers html/template added, the text fold merged, the calls
// by name). A template called by name is looked up in the set that runs
// the call, as is every function, so a shared node behaves in each set as
// its own copy did, and an error in it names the place it was parsed
// from, which is the same for both. Nodes are shared whole or, where they
// differ, list by list: a page's body, folded with its layout, is its
// own, but the actions and blocks of the layout in it are shared.
//
// Share a set once it has run (html/template has escaped it), been folded
// and pruned, and before it is used concurrently: the shared nodes never
// change after that. The sets are built as they are first used (see
// lazySet), so a sharer lasts as long as its UI, and it keys each node by
// the SHA-256 digest of that place and text rather than by the text, which
// repeats the text of every node below.
type sharer map[[sha256.Size]byte]parse.Node

// share replaces the nodes of every template of set with the copies that
// a set shared earlier holds, where there is one.
func (s sharer) share(set *htmltemplate.Template) {
	for _, t := range set.Templates() {
		if t.Tree != nil && t.Tree.Root != nil {
			t.Tree.Root = s.node(t.Tree.Root).(*parse.ListNode)
		}
	}
}

// node returns the copy of n shared so far, or records n as that copy
// once its lists share theirs.
func (s sharer) node(n parse.Node) parse.Node {
	key := sha256.Sum256(fmt.Appendf(nil, "%d %d %s", n.Type(), n.Position(), n))
	if c, ok := s[key]; ok {
		return c
	}
	if l, ok := n.(*parse.ListNode); ok {
		for i, c := range l.Nodes {
			l.Nodes[i] = s.node(c)
		}
	} else if b := branchOf(n); b != nil {
		b.List, b.ElseList = s.list(b.List), s.list(b.ElseList)
	}
	s[key] = n
	return n
}

// list is node for a branch's list, which may be nil.
func (s sharer) list(l *parse.ListNode) *parse.ListNode {
	if l == nil {
		return nil
	}
	return s.node(l).(*parse.ListNode)
}
