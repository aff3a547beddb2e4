package ui

import (
	"fmt"
	htmltemplate "html/template"
	"sync/atomic"
)

// lazySet is the template set of a page, a settings section or an email,
// built when it is first used rather than kept from New. New builds and
// runs every set once, so that a broken template fails New, and then lets
// it go: a set is a tree of templates full of pointers, and every cycle of
// the garbage collector marks what the process keeps, about once every
// three sign-ins in a server that hashes passwords. An application that
// answers its sign-ins in JSON keeps none; one that serves pages keeps
// those it serves. The set built later is the same: the same files,
// functions and constants, parsed, escaped, folded and pruned the same
// way, by the same code.
type lazySet[T any] struct {
	set atomic.Pointer[T] // the set once built
	// build builds the set. It runs under UI.building, which also guards
	// the sharer that build shares the set's nodes with.
	build func() (*T, error)
}

// built returns l's set, building it on the first call. Builds run one at
// a time (under u.building); a set is used only once built whole, and is
// never changed after that. A build that fails (New built the same set
// without error, so only a failure to allocate would) is tried again by
// the next call.
func built[T any](u *UI, l *lazySet[T]) (*T, error) {
	if t := l.set.Load(); t != nil {
		return t, nil
	}
	u.building.Lock()
	defer u.building.Unlock()
	if t := l.set.Load(); t != nil {
		return t, nil
	}
	t, err := l.build()
	if err != nil {
		return nil, err
	}
	l.set.Store(t)
	return t, nil
}

// page returns the set of page name.
func (u *UI) page(name string) (*htmltemplate.Template, error) {
	l := u.pages[name]
	if l == nil {
		return nil, fmt.Errorf("%w: no page %q", ErrTemplate, name)
	}
	t, err := built(u, l)
	if err != nil {
		return nil, fmt.Errorf("%w: page %q: %w", ErrTemplate, name, err)
	}
	return t, nil
}

// section returns the set of settings section name.
func (u *UI) section(name string) (*htmltemplate.Template, error) {
	l := u.sections[name]
	if l == nil {
		return nil, fmt.Errorf("sigra/ui: no settings section %q", name)
	}
	t, err := built(u, l)
	if err != nil {
		return nil, fmt.Errorf("%w: settings section %q: %w", ErrTemplate, name, err)
	}
	return t, nil
}
