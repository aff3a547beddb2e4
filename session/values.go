package session

import (
	"context"
	"fmt"
	"reflect"

	"github.com/alexedwards/scs/v2"
)

// The session's values (the scs data blob) are read when something asks for
// them, not on every request. Most requests never do: a session without
// values, the usual case, stores a blob that says so, and the middleware
// decides from the row it loaded whether the request may change them. So
// LoadAndSave looks the session up itself and puts no scs data in the
// context; the request's holder answers scs's context key and hands scs its
// data on the first question, loaded from the row already read (no second
// store call). A session whose blob holds values has them loaded at once,
// so a corrupt blob still fails the request where it did.
//
// scs keeps its context key unexported. probeValuesKey learns it from
// scs.SessionManager.Load, which asks its context for the key before
// anything else, then checks that scs accepts data handed back under that
// key. Should a version of scs ever behave otherwise, the key is nil and
// the Manager loads the values on every request, through scs.Load, as
// before.

// keyProbe is a context that records the first key it is asked for.
type keyProbe struct {
	context.Context
	key   any
	asked bool
}

func (p *keyProbe) Value(key any) any {
	if !p.asked {
		p.key, p.asked = key, true
	}
	return p.Context.Value(key)
}

// fixedValue is a context that answers one key with one value.
type fixedValue struct {
	context.Context
	key, val any
}

func (c *fixedValue) Value(key any) any {
	if key == c.key {
		return c.val
	}
	return c.Context.Value(key)
}

// probeValuesKey returns the context key of sm, or nil when it cannot be
// learned and checked (see above). sm's store is not called.
func probeValuesKey(sm *scs.SessionManager) (key any) {
	defer func() {
		if recover() != nil {
			key = nil
		}
	}()
	p := &keyProbe{Context: context.Background()}
	ctx, err := sm.Load(p, "")
	if err != nil || p.key == nil || !reflect.TypeOf(p.key).Comparable() {
		return nil
	}
	data := ctx.Value(p.key)
	if data == nil {
		return nil
	}
	// The data handed back under the key, from a context scs did not make,
	// must be the session's: a value put through one reads back through
	// another.
	c := &fixedValue{Context: context.Background(), key: p.key, val: data}
	sm.Put(c, "probe", "ok")
	if sm.Status(c) != scs.Modified || sm.GetString(&fixedValue{Context: context.Background(), key: p.key, val: data}, "probe") != "ok" {
		return nil
	}
	return p.key
}

// loading is the context scs.Load runs in when the holder loads the
// values: the holder, except that it does not answer the values key (Load
// would take the answer for data already loaded).
type loading struct{ *holder }

func (l loading) Value(key any) any {
	if key == l.holder.sw.m.valuesKey {
		return l.holder.Context.Value(key)
	}
	return l.holder.Value(key)
}

// values returns the scs data of the request's session, loading it from the
// row found for the cookie on the first call. Concurrent first calls may
// each load it; all get the data stored first.
func (h *holder) values() (any, error) {
	if sd := h.sd.Load(); sd != nil {
		return sd, nil
	}
	m := h.sw.m
	ctx, err := m.scs.Load(loading{h}, h.tok)
	if err != nil {
		return nil, err
	}
	sd := ctx.Value(m.valuesKey)
	if sd == nil {
		return nil, fmt.Errorf("sigra/session: scs loaded no session data")
	}
	h.sd.CompareAndSwap(nil, sd)
	return h.sd.Load(), nil
}

// valuesUnread reports whether nothing has read the request's session
// values since LoadAndSave: then they are none (a session with values has
// them read at once), and nothing has changed them.
func (h *holder) valuesUnread() bool {
	return h.sw.m != nil && h.sw.m.valuesKey != nil && h.sd.Load() == nil
}
