package e2e

import (
	"net/http"
	"testing"
)

// TestAdminConsole: the seeded administrator finds the demo account in
// the admin console by the beginning of its address, signs it out
// everywhere and disables it; the demo account's browser is signed out on
// its next navigation, and its owner gets an email. The demo account gets
// 404 from the console.
func TestAdminConsole(t *testing.T) {
	d, b := start(t)
	const adminEmail = "admin@example.com" // seeded with the demo account's password
	user := b.tab()
	user.name = "demo account"
	root := b.newDevice("administrator")

	signIn(user, d.Email, d.Password, http.StatusOK, "home-user")
	user.open("/auth/admin/users", http.StatusNotFound, "admin-not-found")

	signIn(root, adminEmail, d.Password, http.StatusOK, "home-admin")
	root.open("/auth/admin/users", http.StatusOK, "admin-users")
	root.fill("#users-q", "demo@")
	root.click(`form[role=search] button[type=submit]`, http.StatusOK, "admin-users-search")
	root.wantText("main ul.rows", d.Email)
	if n := root.count("main ul.rows li.row"); n != 1 {
		t.Fatalf("the search lists %d users, want 1", n)
	}
	root.click(`main ul.rows a`, http.StatusOK, "admin-user")
	root.wantText("h1", d.Email)

	root.click(`form[action$="/sessions/revoke-all"] button[type=submit]`, http.StatusOK, "admin-sessions-revoked")
	root.wantText(".notice-success", "Every session of the user was signed out.")
	user.open("/private", http.StatusOK, "login-after-revoke")
	user.wantPath("/auth/login")

	signIn(user, d.Email, d.Password, http.StatusOK, "home-user-again")
	root.click(`form[action$="/disable"] button[type=submit]`, http.StatusOK, "admin-disabled")
	root.wantText(".notice-success", "The account is disabled")
	root.wantText("main", "Disabled")
	d.mail(d.Email, "account was disabled")
	user.open("/private", http.StatusOK, "login-after-disable")
	user.wantPath("/auth/login")
}

// TestAdminImpersonation: the seeded administrator finds the demo account
// in the console and acts as it with a written reason; every page shows
// the banner, the password change on the settings page is refused, the
// account's owner is emailed; the banner's button brings the
// administrator back to the user's page in the console, in their own
// session, without signing in again.
func TestAdminImpersonation(t *testing.T) {
	d, b := start(t)
	const adminEmail = "admin@example.com" // seeded with the demo account's password
	root := b.tab()
	root.name = "administrator"

	signIn(root, adminEmail, d.Password, http.StatusOK, "home-admin")
	root.open("/auth/admin/users", http.StatusOK, "admin-users")
	root.fill("#users-q", "demo@")
	root.click(`form[role=search] button[type=submit]`, http.StatusOK, "admin-users-search")
	root.click(`main ul.rows a`, http.StatusOK, "admin-user")
	root.wantText("h1", d.Email)
	userPath := root.path()

	root.fill("#impersonate-reason", "Support ticket 4242: the settings page looks wrong")
	root.click(`form[action$="/impersonate"] button[type=submit]`, http.StatusOK, "impersonating-home")
	root.wantText(".banner-impersonation", "You are acting as "+d.Email)
	d.mail(d.Email, "acting as you")

	root.open("/auth/settings", http.StatusOK, "impersonating-settings")
	root.wantText(".banner-impersonation", "You are acting as "+d.Email)
	root.fill("#current_password", d.Password)
	root.fill("#password", "a-new-passphrase-of-mine-77")
	root.click(`form[action="/auth/password"] button[type=submit]`, http.StatusForbidden, "impersonating-password-refused")
	root.wantText("main", "acting as")

	root.click(`.banner-impersonation form button[type=submit]`, http.StatusOK, "impersonation-stopped")
	root.wantPath(userPath)
	root.wantText(".notice-success", "back in your own session")
	root.wantText("h1", d.Email)
	if n := root.count(".banner-impersonation"); n != 0 {
		t.Fatalf("the banner shows after stopping")
	}
	// Still the administrator, in sudo: the console's actions work.
	root.click(`form[action$="/lock"] button[type=submit]`, http.StatusOK, "admin-after-impersonation")
	root.wantText(".notice-success", "The user's password sign-in is locked.")
}
