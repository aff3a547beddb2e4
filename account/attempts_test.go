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
	var n int
	a.QueryRow(t, "SELECT coalesce(sum(count), 0) FROM sigra_rate_limits WHERE key = ?", []any{kernel.PasswordKey(address)}, &n)
	return n
}
