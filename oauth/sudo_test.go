package oauth_test

import (
	"net/http"
	"strings"
	"testing"
)

// The sudo page of a user whose only way in is a linked provider offers
// re-authentication with it and no "sign out and sign in again".
func TestSudoPageOfProviderOnlyUser(t *testing.T) {
	t.Parallel()
	each(t, options{}, func(t *testing.T, a *app) {
		a.IDP.user("sub-only", "only@example.com", true)
		c := a.Client(t)
		want(t, "sign-up", handshake(t, a, c), http.StatusSeeOther)
		page := c.Get(a.Path("/sudo"))
		want(t, "sudo page", page, http.StatusOK)
		if !strings.Contains(page.Body, "Confirm with a linked account") || strings.Contains(page.Body, "Sign out and sign in again") {
			t.Errorf("sudo page of a provider-only user: want the linked account and no sign-out offer\n%s", page.Body)
		}
		if b := jsonBody(t, c.JSON("GET", a.Path("/sudo"), "")); b["has_linked_account"] != true || b["has_password"] != false {
			t.Errorf("sudo page as JSON: got %v, want has_linked_account true", b)
		}
	})
}
