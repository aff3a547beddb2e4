package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/sigra-go/sigra/store"
)

// owner stands for a store: owners are told apart by identity.
type owner struct{ name string }

// otherKey is the key of a context value unrelated to transactions.
type otherKey struct{}

// txOf returns the transaction ctx carries for o, or "" when none.
func txOf(ctx context.Context, o *owner) string {
	tx, ok := store.TxFromContext(ctx, o)
	if !ok {
		return ""
	}
	return tx.(string)
}

func TestTxFromContext(t *testing.T) {
	t.Parallel()
	a, b, c := &owner{"a"}, &owner{"b"}, &owner{"a"} // c has a's name but is another owner
	root := context.Background()
	if tx, ok := store.TxFromContext(root, a); ok || tx != nil {
		t.Errorf("TxFromContext(Background): got (%v, %v), want (nil, false)", tx, ok)
	}

	withA := store.ContextWithTx(root, a, "tx-a")
	withAB := store.ContextWithTx(withA, b, "tx-b")
	// A derived context of any kind keeps what its parent carries.
	derived, cancel := context.WithCancel(context.WithValue(withAB, otherKey{}, "other value"))
	defer cancel()
	replaced := store.ContextWithTx(withAB, a, "tx-a2")

	tests := []struct {
		name    string
		ctx     context.Context
		a, b, c string
	}{
		{"root", root, "", "", ""},
		{"with a", withA, "tx-a", "", ""},
		{"with a and b", withAB, "tx-a", "tx-b", ""},
		{"derived", derived, "tx-a", "tx-b", ""},
		{"a replaced", replaced, "tx-a2", "tx-b", ""},
		{"without tx", store.WithoutTx(withAB), "", "", ""},
		{"without tx, derived", store.WithoutTx(derived), "", "", ""},
		{"new tx after without", store.ContextWithTx(store.WithoutTx(withAB), c, "tx-c"), "", "", "tx-c"},
		{"without tx on a bare context", store.WithoutTx(root), "", "", ""},
	}
	for _, tt := range tests {
		got := []string{txOf(tt.ctx, a), txOf(tt.ctx, b), txOf(tt.ctx, c)}
		if want := []string{tt.a, tt.b, tt.c}; !slices.Equal(got, want) {
			t.Errorf("%s: transactions of (a, b, c): got %q, want %q", tt.name, got, want)
		}
	}
	// Deriving never changed a parent.
	if got := txOf(withA, b); got != "" {
		t.Errorf("parent after a child added b: got b's %q, want none", got)
	}
	if gotA, gotB := txOf(withAB, a), txOf(withAB, b); gotA != "tx-a" || gotB != "tx-b" {
		t.Errorf("parent after a child replaced a and another hid both: got (%q, %q), want (tx-a, tx-b)", gotA, gotB)
	}
}

// TestContextWithTxConcurrent derives many contexts from one parent at
// once: each sees its own transaction and the parent's, none another's,
// and the race detector finds no shared map.
func TestContextWithTxConcurrent(t *testing.T) {
	t.Parallel()
	shared := &owner{"shared"}
	parent := store.ContextWithTx(context.Background(), shared, "parent")
	const n = 32
	owners := make([]*owner, n)
	for i := range owners {
		owners[i] = &owner{fmt.Sprint(i)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			ctx := store.ContextWithTx(parent, owners[i], i)
			ctx = store.ContextWithTx(ctx, shared, fmt.Sprint("child ", i))
			for j, o := range owners {
				tx, ok := store.TxFromContext(ctx, o)
				if ok != (j == i) || (ok && tx != i) {
					errs <- fmt.Errorf("child %d: transaction of owner %d: got (%v, %v)", i, j, tx, ok)
				}
			}
			if got := txOf(ctx, shared); got != fmt.Sprint("child ", i) {
				errs <- fmt.Errorf("child %d: shared owner: got %q", i, got)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := txOf(parent, shared); got != "parent" {
		t.Errorf("parent after its children replaced the shared owner's transaction: got %q, want parent", got)
	}
	for i, o := range owners {
		if _, ok := store.TxFromContext(parent, o); ok {
			t.Errorf("parent: got a transaction for child %d's owner, want none", i)
		}
	}
}

// memDB is a host application's own database: a map behind a mutex. It
// implements store.Transactor with copy-on-write transactions: InTx works
// on a copy of the map and swaps it in at commit, unless another
// transaction committed first.
type memDB struct {
	mu      sync.Mutex
	data    map[string]string
	version int
}

// memTx is an open transaction of a memDB.
type memTx struct {
	data    map[string]string
	version int // of the memDB when the transaction began
}

var errConflict = errors.New("memdb: conflict: another transaction committed first")

// InTx implements store.Transactor.
func (db *memDB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := store.TxFromContext(ctx, db); ok {
		return fn(ctx) // join the transaction ctx carries
	}
	db.mu.Lock()
	tx := &memTx{data: maps.Clone(db.data), version: db.version}
	db.mu.Unlock()
	// On an error or a panic the copy is dropped: that is the rollback.
	if err := fn(store.ContextWithTx(ctx, db, tx)); err != nil {
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.version != tx.version {
		return errConflict
	}
	db.data, db.version = tx.data, db.version+1
	return nil
}

// Set writes key in the transaction ctx carries, or on its own.
func (db *memDB) Set(ctx context.Context, key, value string) {
	if tx, ok := store.TxFromContext(ctx, db); ok {
		tx.(*memTx).data[key] = value
		return
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	db.data[key] = value
	db.version++
}

// Get reads key in the transaction ctx carries, or the committed value.
func (db *memDB) Get(ctx context.Context, key string) string {
	if tx, ok := store.TxFromContext(ctx, db); ok {
		return tx.(*memTx).data[key]
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.data[key]
}

var _ store.Transactor = (*memDB)(nil)

// A host that keeps Sigra's data in its own database implements
// store.Transactor by carrying its transaction handle in the context with
// ContextWithTx, and having every method look for it with TxFromContext,
// keyed by the database itself.
func ExampleContextWithTx() {
	db := &memDB{data: map[string]string{}}
	ctx := context.Background()

	// Committed together.
	_ = db.InTx(ctx, func(ctx context.Context) error {
		db.Set(ctx, "user", "ada")
		// A nested call joins the transaction.
		return db.InTx(ctx, func(ctx context.Context) error {
			db.Set(ctx, "profile", "Ada")
			return nil
		})
	})
	fmt.Println(db.Get(ctx, "user"), db.Get(ctx, "profile"))

	// Rolled back together, but for the write through WithoutTx.
	err := db.InTx(ctx, func(ctx context.Context) error {
		db.Set(ctx, "user", "mallory")
		db.Set(store.WithoutTx(ctx), "failed_attempts", "1")
		fmt.Println("inside:", db.Get(ctx, "user"), "outside:", db.Get(store.WithoutTx(ctx), "user"))
		return errors.New("wrong password")
	})
	fmt.Println(err)
	fmt.Println(db.Get(ctx, "user"), db.Get(ctx, "failed_attempts"))
	// Output:
	// ada Ada
	// inside: mallory outside: ada
	// wrong password
	// ada 1
}
