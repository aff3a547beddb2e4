package store

import "context"

// txKey is the context key of the transactions a context carries.
type txKey struct{}

// txSet maps each store (by the owner value it passes) to its open
// transaction. A context holds at most one txSet; deriving a context with
// another transaction copies it, so contexts never share a mutable map.
type txSet map[any]any

// ContextWithTx returns a copy of ctx carrying tx as the open transaction of
// the store identified by owner (any comparable value unique to the store,
// typically its own pointer). Implementations of [Transactor] call it in
// InTx; the other transactions ctx carries stay visible.
func ContextWithTx(ctx context.Context, owner, tx any) context.Context {
	prev, _ := ctx.Value(txKey{}).(txSet)
	next := make(txSet, len(prev)+1)
	for k, v := range prev {
		next[k] = v
	}
	next[owner] = tx
	return context.WithValue(ctx, txKey{}, next)
}

// TxFromContext returns the open transaction that ctx carries for the store
// identified by owner, and whether there is one.
func TxFromContext(ctx context.Context, owner any) (any, bool) {
	set, _ := ctx.Value(txKey{}).(txSet)
	tx, ok := set[owner]
	return tx, ok
}

// WithoutTx returns a copy of ctx that carries no transaction: store methods
// called with it run on their own. Use it for writes that must not depend
// on a transaction the context may carry, such as the record of a failed
// attempt, made after InTx has returned.
//
// Do not write with it while a transaction of the same store is still
// open (inside the function given to InTx): on SQLite the open transaction
// holds the only writer connection, so the outside write fails once the
// adapter's busy timeout has passed (sqlite.ErrWriterBusy); on PostgreSQL
// the transaction may hold a lock on the row, so the outside write waits for
// a transaction that waits for it.
func WithoutTx(ctx context.Context) context.Context {
	if _, ok := ctx.Value(txKey{}).(txSet); !ok {
		return ctx
	}
	return context.WithValue(ctx, txKey{}, txSet(nil))
}
