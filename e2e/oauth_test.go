package e2e

import (
	"net/http"
	"testing"
)

// TestProviderSignIn signs in with the demo's local OpenID provider: from
// the sign-in page to the provider buttons, to the provider's consent
// page, which names the application and the account, and on "Allow" back,
// signed in to a new account with the provider as the method; the
// settings page then lists the linked account, which cannot be unlinked
// while it is the account's only way to sign in.
func TestProviderSignIn(t *testing.T) {
	_, b := start(t)
	p := b.tab()

	p.open("/auth/login", http.StatusOK, "login-providers")
	p.click(`main a[href="/auth/oauth"]`, http.StatusOK, "oauth-buttons")
	p.wantText("main button[data-provider=local]", "Continue with Local ID")
	toConsent(p)
	p.click(`button[name=decision][value=allow]`, http.StatusOK, "home-oauth")
	wantSignedIn(p, "jane.doe@example.com", "oauth", 1)

	p.open("/auth/settings", http.StatusOK, "settings-linked")
	p.wantText("#linked-heading", "Linked accounts")
	p.wantText("section[aria-labelledby=linked-heading] .badge-success", "Linked")

	// The only way to sign in cannot be unlinked.
	p.click(`form[action="/auth/oauth/unlink"] button[type=submit]`, http.StatusConflict, "unlink-last")
	p.wantText("main", "only way to sign in")
}

// TestProviderSignInDenied: "Deny" on the local provider's consent page
// brings the user back to the oauth package's page for a denied consent,
// still signed out; the administrator finds the failure in the audit log.
func TestProviderSignInDenied(t *testing.T) {
	d, b := start(t)
	p := b.tab()

	p.open("/auth/oauth", http.StatusOK, "oauth-buttons")
	toConsent(p)
	p.click(`button[name=decision][value=deny]`, http.StatusForbidden, "oauth-denied")
	p.wantPath("/auth/oauth/local/callback")
	p.wantText("main h1", "Signing in with Local ID did not complete")
	p.wantText("main [data-error-code=consent_denied]", "You did not allow the sign-in at the provider.")
	p.open("/private", http.StatusOK, "login-after-deny")
	p.wantPath("/auth/login")

	root := b.newDevice("administrator")
	signIn(root, "admin@example.com", d.Password, http.StatusOK, "home-admin") // seeded with the demo account's password
	root.open("/auth/admin/audit?action=oauth.callback.failure", http.StatusOK, "admin-audit-denied")
	if n := root.count("main ul.rows li.row:not(.row-empty)"); n != 1 {
		t.Fatalf("the audit log lists %d failed provider sign-ins, want 1", n)
	}
	root.click(`main ul.rows a`, http.StatusOK, "admin-audit-event")
	root.wantText("main dl", "consent_denied")
}

// toConsent clicks "Continue with Local ID" on the provider buttons page
// and checks the provider's consent page it lands on: the application,
// the test accounts (the first chosen), Allow and Deny.
func toConsent(p *tab) {
	p.t.Helper()
	p.click(`main button[data-provider=local]`, http.StatusOK, "local-id-consent")
	p.wantPath("/oidc/authorize")
	p.wantText("h1", "Sign in to Sigra Demo")
	p.wantText("fieldset", "jane.doe@example.com")
	p.wantText("fieldset", "john.roe@example.com")
	if !eval[bool](p, `document.querySelector('input[name=account][value="jane.doe@example.com"]').checked`) {
		p.t.Fatalf("%s: the consent page does not choose jane.doe@example.com", p.name)
	}
	p.wantText("button[name=decision][value=allow]", "Allow")
	p.wantText("button[name=decision][value=deny]", "Deny")
}
