package e2e

import (
	"net/http"
	"testing"
)

// TestProviderSignIn signs in with the demo's local OpenID provider: from
// the sign-in page to the provider buttons, through the provider and back,
// signed in to a new account with the provider as the method; the
// settings page then lists the linked account, which cannot be unlinked
// while it is the account's only way to sign in.
func TestProviderSignIn(t *testing.T) {
	_, b := start(t)
	p := b.tab()

	p.open("/auth/login", http.StatusOK, "login-providers")
	p.click(`main a[href="/auth/oauth"]`, http.StatusOK, "oauth-buttons")
	p.wantText("main button[data-provider=local]", "Continue with Local ID")
	p.click(`main button[data-provider=local]`, http.StatusOK, "home-oauth")
	wantSignedIn(p, "jane.doe@example.com", "oauth", 1)

	p.open("/auth/settings", http.StatusOK, "settings-linked")
	p.wantText("#linked-heading", "Linked accounts")
	p.wantText("section[aria-labelledby=linked-heading] .badge-success", "Linked")

	// The only way to sign in cannot be unlinked.
	p.click(`form[action="/auth/oauth/unlink"] button[type=submit]`, http.StatusConflict, "unlink-last")
	p.wantText("main", "only way to sign in")
}
