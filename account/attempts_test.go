package account_test

import (
	"testing"

	"github.com/sigra-go/sigra/internal/kernel"
)

// attempts returns how many places of the password attempts of address
// are taken in the current window (see kernel.Kernel.Admit): the password
// verifications since the last success.
func attempts(t *testing.T, a *app, address string) int {
	t.Helper()
	return limitCount(t, a, kernel.PasswordKey(address))
}

// limitCount returns the count of the rate-limit counter key in the
// store.
func limitCount(t *testing.T, a *app, key string) int {
	t.Helper()
	var n int
	a.QueryRow(t, "SELECT coalesce(sum(count), 0) FROM sigra_rate_limits WHERE key = ?", []any{key}, &n)
	return n
}
