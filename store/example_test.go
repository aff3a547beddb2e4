package store_test

import (
	"fmt"

	"github.com/sigra-go/sigra/store"
)

// Uniqueness of addresses is checked on a normalised form, so addresses
// that differ only in case (in any script) are the same account.
func ExampleNormalizeEmail() {
	fmt.Println(store.NormalizeEmail("  User@Example.COM "))
	fmt.Println(store.NormalizeEmail("ÉLISE@example.com") == store.NormalizeEmail("élise@example.com"))
	// Output:
	// user@example.com
	// true
}
