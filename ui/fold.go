package ui

import (
	"bytes"
	htmltemplate "html/template"
	"io"
	"strings"
	"text/template/parse"
)

// Folding the templates' constants.
//
// Most actions of the layout print what is fixed when the UI is built: the
// assets' URLs, the routes, the home page, the brand's name, the icons.
// html/template calls a function for each of them and its escapers after
// it (three for a URL in an attribute), by reflection, on every request:
// that was most of the time spent rendering a page. Once a page's
// templates are escaped (by the trial rendering of New), fold replaces
// each such action with the text it prints, computed once by running the
// escaped action itself, with its escapers, in the context html/template
// chose for it. The HTML written is the same byte for byte; only the work
// is done once.
//
// What is folded, in the templates a page's root reaches in the HTML text
// context (html/template escapes those in place; a template called from
// another context runs as a derived copy, left as it is):
//
//   - an action whose pipeline, escapers aside, calls only the functions
//     of foldFuncs with constant arguments ({{asset "sigra.css"}},
//     {{route "settings"}}, {{brand.ProductName}}), and that html/template
//     escaped (its last command is one of html/template's escapers);
//   - an if, or a with whose value is empty, on such a pipeline
//     ({{if hasRoute "settings"}}): it becomes the branch taken, unless
//     that branch declares variables, whose scope the branch bounds;
//   - a {{template}} call, replaced by the body of the template it calls
//     when that changes nothing: a body all text once folded (the icons),
//     called with dot or nothing; or a body called with dot that declares
//     no variable at its top and uses $ only where dot is $ at the call
//     (the "notices", a page's "content"): one call less per request.
//
// An action whose evaluation fails is left as it is, so it fails as
// before, on the request. fold relies on how html/template escapes (the
// escapers' names, the trees it executes): TestFoldFoldsConstants fails
// if a release of Go changes that, and TestFoldKeepsEveryPage compares
// every page of the features' packs with and without folding.

// foldName is the scratch template in which fold runs the actions it
// folds. It is defined in every page's set and never called.
const foldName = "sigra/ui: fold"

// foldFuncs are the template functions whose results are fixed when the
// UI is built (see coreFuncs): the brand, assets, routes and the home
// page of an immutable UI and site, and the rendered icons.
var foldFuncs = map[string]bool{"brand": true, "asset": true, "route": true, "hasRoute": true, "home": true, "icon": true}

// escaperPrefix starts the names of the escapers html/template adds to
// the actions it escapes.
const escaperPrefix = "_html_template_"

// folder folds the templates of one escaped set.
type folder struct {
	set     *htmltemplate.Template
	scratch *htmltemplate.Template
	// folded holds the body of each template folded so far, nil while
	// it is being folded.
	folded map[string]*parse.ListNode
	buf    bytes.Buffer
}

// fold folds the templates of set that root reaches. root must have run
// once (so that it and what it reaches are escaped) and the set must hold
// the scratch template foldName. Call it before the set is used
// concurrently: it changes the templates' trees.
func fold(set *htmltemplate.Template, root string) {
	scratch := set.Lookup(foldName)
	if scratch == nil || scratch.Execute(io.Discard, nil) != nil {
		return
	}
	f := &folder{set: set, scratch: scratch, folded: map[string]*parse.ListNode{foldName: nil}}
	// fold runs nodes by setting the scratch template's tree, which
	// html/template shares with the template it executes: if it ever
	// stopped doing so, fold would fold nothing.
	if s, ok := f.run(textNode(0, "ok")); !ok || s != "ok" {
		return
	}
	f.template(root)
	scratch.Tree.Root = &parse.ListNode{NodeType: parse.NodeList}
}

// template folds the template called name, once, and returns its body; nil
// when the set has no such template (a derived copy) or it is being
// folded (a recursive call).
func (f *folder) template(name string) *parse.ListNode {
	if body, ok := f.folded[name]; ok {
		return body
	}
	f.folded[name] = nil
	t := f.set.Lookup(name)
	if t == nil || t.Tree == nil || t.Tree.Root == nil {
		return nil
	}
	t.Tree.Root = f.list(t.Tree.Root, true)
	f.folded[name] = t.Tree.Root
	return t.Tree.Root
}

// list folds the nodes of l in place and returns it. top tells whether
// dot is, in l, the data the template was called with ($).
func (f *folder) list(l *parse.ListNode, top bool) *parse.ListNode {
	if l == nil {
		return nil
	}
	out := make([]parse.Node, 0, len(l.Nodes))
	for _, n := range l.Nodes {
		out = append(out, f.node(n, top)...)
	}
	l.Nodes = mergeText(out)
	return l
}

// node returns what replaces n: a text node for a folded action, the
// nodes of the branch taken or of the template called, or n with its
// branches folded.
func (f *folder) node(n parse.Node, top bool) []parse.Node {
	switch n := n.(type) {
	case *parse.ActionNode:
		if escaped(n.Pipe) && constant(n.Pipe) {
			if s, ok := f.run(n.Copy()); ok {
				return []parse.Node{textNode(n.Pos, s)}
			}
		}
	case *parse.IfNode:
		if truth, ok := f.truth(n); ok {
			if taken, ok := f.taken(n.List, n.ElseList, truth, top); ok {
				return taken
			}
		}
		n.List, n.ElseList = f.list(n.List, top), f.list(n.ElseList, top)
	case *parse.WithNode:
		// A with whose value is set runs its body with that value as
		// dot: only the else branch can replace it.
		if truth, ok := f.truth(n); ok && !truth {
			if taken, ok := f.taken(n.List, n.ElseList, truth, top); ok {
				return taken
			}
		}
		n.List, n.ElseList = f.list(n.List, false), f.list(n.ElseList, top)
	case *parse.RangeNode:
		n.List, n.ElseList = f.list(n.List, false), f.list(n.ElseList, top)
	case *parse.TemplateNode:
		// The called template runs with the data given as dot and as $,
		// and with no variables but $. Its body can stand in for the call
		// when that changes neither: all text, called with dot or
		// nothing; or called with dot, declaring no variable of its own
		// at its top, and either not using $ or called where dot is $.
		if n.Pipe != nil && !isDot(n.Pipe) {
			break
		}
		body := f.template(n.Name)
		if body == nil {
			break
		}
		if allText(body) || n.Pipe != nil && !declares(body) && (top || !usesRoot(body)) {
			return body.Nodes
		}
	}
	return []parse.Node{n}
}

// truth evaluates the pipeline of the if or with n, when it is constant:
// whether the branch would run, and whether that is known.
func (f *folder) truth(n parse.Node) (truth, ok bool) {
	var probe parse.Node
	var b *parse.BranchNode
	switch n := n.(type) {
	case *parse.IfNode:
		if !constant(n.Pipe) {
			return false, false
		}
		c := n.Copy().(*parse.IfNode)
		probe, b = c, &c.BranchNode
	case *parse.WithNode:
		if !constant(n.Pipe) {
			return false, false
		}
		c := n.Copy().(*parse.WithNode)
		probe, b = c, &c.BranchNode
	default:
		return false, false
	}
	b.List = &parse.ListNode{NodeType: parse.NodeList, Nodes: []parse.Node{textNode(b.Pos, "1")}}
	b.ElseList = nil
	s, ok := f.run(probe)
	return s == "1", ok
}

// taken returns the folded nodes of the branch taken (list when truth,
// elseList otherwise; nothing for a missing else), or false when that
// branch declares variables: the branch bounds their scope. Dot is the
// same in the branch taken as around the if (or the with whose else
// branch is taken).
func (f *folder) taken(list, elseList *parse.ListNode, truth, top bool) ([]parse.Node, bool) {
	l := elseList
	if truth {
		l = list
	}
	if l == nil {
		return nil, true
	}
	if declares(l) {
		return nil, false
	}
	return f.list(l, top).Nodes, true
}

// run executes n alone in the scratch template and returns what it wrote.
func (f *folder) run(n parse.Node) (string, bool) {
	f.scratch.Tree.Root = &parse.ListNode{NodeType: parse.NodeList, Nodes: []parse.Node{n}}
	f.buf.Reset()
	if err := f.scratch.Execute(&f.buf, nil); err != nil {
		return "", false
	}
	return f.buf.String(), true
}

// escaped reports whether html/template escaped the action's pipeline: it
// ends with one of its escapers.
func escaped(p *parse.PipeNode) bool {
	if p == nil || len(p.Cmds) == 0 {
		return false
	}
	last := p.Cmds[len(p.Cmds)-1]
	id, ok := last.Args[0].(*parse.IdentifierNode)
	return ok && strings.HasPrefix(id.Ident, escaperPrefix)
}

// constant reports whether p depends on nothing but the UI: no variables,
// no dot, and only the functions of foldFuncs and html/template's
// escapers, given constant arguments.
func constant(p *parse.PipeNode) bool {
	if p == nil || len(p.Decl) != 0 || len(p.Cmds) == 0 {
		return false
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			if !constantArg(a) {
				return false
			}
		}
	}
	return true
}

func constantArg(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.IdentifierNode:
		return foldFuncs[n.Ident] || strings.HasPrefix(n.Ident, escaperPrefix)
	case *parse.StringNode, *parse.NumberNode, *parse.BoolNode:
		return true
	case *parse.ChainNode:
		return constantArg(n.Node)
	case *parse.PipeNode:
		return constant(n)
	}
	return false
}

// isDot reports whether p is just ".".
func isDot(p *parse.PipeNode) bool {
	if len(p.Decl) != 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	_, ok := p.Cmds[0].Args[0].(*parse.DotNode)
	return ok
}

// declares reports whether l declares a variable at its top level.
func declares(l *parse.ListNode) bool {
	for _, n := range l.Nodes {
		if a, ok := n.(*parse.ActionNode); ok && len(a.Pipe.Decl) != 0 {
			return true
		}
	}
	return false
}

// usesRoot reports whether the nodes of l, at any depth, refer to $.
func usesRoot(l *parse.ListNode) bool {
	found := false
	var pipe func(p *parse.PipeNode)
	var arg func(n parse.Node)
	arg = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.VariableNode:
			if n.Ident[0] == "$" {
				found = true
			}
		case *parse.ChainNode:
			arg(n.Node)
		case *parse.PipeNode:
			pipe(n)
		}
	}
	pipe = func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, c := range p.Cmds {
			for _, a := range c.Args {
				arg(a)
			}
		}
	}
	var list func(l *parse.ListNode)
	list = func(l *parse.ListNode) {
		if l == nil {
			return
		}
		for _, n := range l.Nodes {
			switch n := n.(type) {
			case *parse.ActionNode:
				pipe(n.Pipe)
			case *parse.IfNode:
				pipe(n.Pipe)
				list(n.List)
				list(n.ElseList)
			case *parse.WithNode:
				pipe(n.Pipe)
				list(n.List)
				list(n.ElseList)
			case *parse.RangeNode:
				pipe(n.Pipe)
				list(n.List)
				list(n.ElseList)
			case *parse.TemplateNode:
				pipe(n.Pipe)
			}
		}
	}
	list(l)
	return found
}

// allText reports whether l holds only text.
func allText(l *parse.ListNode) bool {
	for _, n := range l.Nodes {
		if _, ok := n.(*parse.TextNode); !ok {
			return false
		}
	}
	return true
}

// mergeText joins runs of text nodes into one.
func mergeText(nodes []parse.Node) []parse.Node {
	out := nodes[:0]
	for _, n := range nodes {
		t, ok := n.(*parse.TextNode)
		if !ok {
			out = append(out, n)
			continue
		}
		if len(t.Text) == 0 {
			continue
		}
		if len(out) > 0 {
			if prev, ok := out[len(out)-1].(*parse.TextNode); ok {
				out[len(out)-1] = textNode(prev.Pos, string(prev.Text)+string(t.Text))
				continue
			}
		}
		out = append(out, n)
	}
	return out
}

func textNode(pos parse.Pos, s string) *parse.TextNode {
	return &parse.TextNode{NodeType: parse.NodeText, Pos: pos, Text: []byte(s)}
}
