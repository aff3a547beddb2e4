package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Selectors of the forms the flows submit, by their action.
const (
	loginButton    = `main form[action="/auth/login"] button[type=submit]`
	logoutButton   = `header form[action="/auth/logout"] button[type=submit]`
	sudoButton     = `form[action="/auth/sudo"] button[type=submit]`
	setupButton    = `form[action="/auth/mfa/setup"] button[type=submit]`
	totpButton     = `form[action="/auth/mfa/challenge"] button[type=submit]`
	recoveryButton = `form[action="/auth/mfa/recovery"] button[type=submit]`
)

// start gives t its own demo and browser.
func start(t *testing.T, demoArgs ...string) (*demo, *browser) {
	t.Helper()
	needSuite(t)
	t.Parallel()
	d := startDemo(t, demoArgs...)
	return d, newBrowser(t, d)
}

// signIn signs in with a password from the sign-in page and expects to
// land on a page with the given status.
func signIn(p *tab, email, password string, status int, page string) {
	p.t.Helper()
	p.open("/auth/login", http.StatusOK, "login")
	p.fill("#email", email)
	p.fill("#password", password)
	p.click(loginButton, status, page)
}

// signOut signs out with the header's button.
func signOut(p *tab) {
	p.t.Helper()
	p.click(logoutButton, http.StatusOK, "signed-out")
	p.wantPath("/auth/login")
	p.wantText(".notice-success", "You are signed out.")
}

// wantSignedIn checks the home page: signed in as email, with the
// methods and assurance level given.
func wantSignedIn(p *tab, email, methods string, aal int) {
	p.t.Helper()
	p.wantPath("/")
	want := "Signed in as " + email + " with " + methods + " (assurance level " + strconv.Itoa(aal) + ")."
	p.wantText("#signed-in-heading + p", want)
	p.wantText("header .account-email", email)
}

// enrollTOTP turns on two-factor authentication for the signed-in user
// (whose sudo is fresh) from the settings page, with a code from
// oathtool. It returns the secret, the time step whose code enrolled it,
// and the recovery codes shown.
func enrollTOTP(p *tab) (secret string, step int64, codes []string) {
	p.t.Helper()
	p.open("/auth/mfa", http.StatusOK, "mfa-off")
	p.wantText("#app-heading", "Off")
	p.click(`a[href="/auth/mfa/setup"]`, http.StatusOK, "mfa-setup")
	p.wantText("h1", "Set up two-factor authentication")
	secret = strings.ReplaceAll(p.text("code.secret"), " ", "")
	step = totpStep(time.Now())
	p.fill("#code", totpCode(p.t, secret, step))
	p.click(setupButton, http.StatusOK, "recovery-codes")
	p.wantText("h1", "Save your recovery codes")
	codes = eval[[]string](p, `[...document.querySelectorAll('ol.codes code')].map(c => c.textContent.trim())`)
	if len(codes) != 10 {
		p.t.Fatalf("recovery codes page shows %d codes (%q), want 10", len(codes), codes)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if c == "" || seen[c] {
			p.t.Fatalf("recovery codes %q: empty or repeated code %q", codes, c)
		}
		seen[c] = true
	}
	p.click(`main a.btn-block`, http.StatusOK, "mfa-on")
	p.wantPath("/auth/mfa")
	p.wantText("#app-heading", "On")
	p.wantText("#codes-heading + p", "10 unused codes")
	return secret, step, codes
}

// TestGoldenPath goes from registration to a two-factor sign-in.
func TestGoldenPath(t *testing.T) {
	d, b := start(t)
	p := b.tab()
	const email = "new-user@example.com"
	const password = "plum-otter-lantern-42"

	// Register from the home page.
	p.open("/", http.StatusOK, "home")
	p.click(`main a[href="/auth/register"]`, http.StatusOK, "register")
	p.fill("#email", email)
	p.fill("#password", password)
	p.click(`form[action="/auth/register"] button[type=submit]`, http.StatusOK, "register-done")
	p.wantText("h1", "Check your email")
	p.wantText(".sent-to", email)

	// Confirm from the email: the link shows a confirm page; its button
	// confirms.
	link := d.link(d.mail(email, "Confirm your email address"), "/auth/confirm")
	p.open(link, http.StatusOK, "confirm")
	p.wantText("h1", "Confirm your email address")
	p.click(`form[action="/auth/confirm"] button[type=submit]`, http.StatusOK, "confirmed")
	p.wantPath("/auth/login")
	p.wantText(".notice-success", "Your email address is confirmed.")

	// Sign in.
	p.fill("#email", email)
	p.fill("#password", password)
	p.click(loginButton, http.StatusOK, "home-signed-in")
	wantSignedIn(p, email, "password", 1)

	// The device list shows this browser, marked as this device.
	p.open("/auth/sessions", http.StatusOK, "sessions")
	if n := p.count("main li.row"); n != 1 {
		t.Fatalf("sessions page lists %d devices, want 1", n)
	}
	p.wantText("main li.row .badge-accent", "This device")

	// Re-authenticate (sudo) and go back to the page that asked for it.
	p.open("/auth/sudo?"+url.Values{"return_to": {"/private/billing"}}.Encode(), http.StatusOK, "sudo")
	p.wantText("h1", "Confirm it's you")
	p.fill("#password", password)
	p.click(sudoButton, http.StatusOK, "billing")
	p.wantPath("/private/billing")
	p.wantText("h1", "Billing")

	// Turn on TOTP and keep the recovery codes.
	secret, step, _ := enrollTOTP(p)
	d.mail(email, "Two-factor authentication is on")

	// Sign out, and in again: now a TOTP code is asked for.
	signOut(p)
	p.fill("#email", email)
	p.fill("#password", password)
	p.click(loginButton, http.StatusOK, "mfa-challenge")
	p.wantPath("/auth/mfa/challenge")
	p.wantText("h1", "Two-factor authentication")

	// The code used at enrollment is refused (each time step once).
	p.fill("#code", totpCode(t, secret, step))
	p.click(totpButton, http.StatusUnauthorized, "mfa-challenge-replay")
	p.wantText(".notice-error", "That code is not valid")

	// A code of a later step is accepted: the next step's code (one step
	// of drift is allowed), so no waiting for the clock.
	p.fill("#code", totpCode(t, secret, max(step+1, totpStep(time.Now()))))
	p.click(totpButton, http.StatusOK, "home-aal2")
	wantSignedIn(p, email, "password, totp", 2)

	// A page behind RequireAAL2 opens.
	p.open("/private/vault", http.StatusOK, "vault")
	p.wantText("h1", "Vault")
}

// TestPasswordResetStaleTab opens one reset link in two tabs: the first
// sets the password; the second then finds the link expired.
func TestPasswordResetStaleTab(t *testing.T) {
	d, b := start(t)
	p := b.tab()
	const newPassword = "quiet-harbour-lamp-7"

	p.open("/auth/login", http.StatusOK, "login")
	p.click(`a[href="/auth/password/forgot"]`, http.StatusOK, "forgot")
	p.fill("#email", d.Email)
	p.click(`form[action="/auth/password/forgot"] button[type=submit]`, http.StatusOK, "forgot-sent")
	p.wantText("h1", "Check your email")

	link := d.link(d.mail(d.Email, "Reset your"), "/auth/password/reset")
	tab1 := p
	tab2 := b.newTab("tab 2")
	tab1.open(link, http.StatusOK, "reset")
	tab2.open(link, http.StatusOK, "reset-second-tab")
	tab1.wantText("h1", "Choose a new password")
	tab2.wantText("h1", "Choose a new password")

	tab1.fill("#password", newPassword)
	tab1.click(`form[action="/auth/password/reset"] button[type=submit]`, http.StatusOK, "reset-done")
	tab1.wantPath("/auth/login")
	tab1.wantText(".notice-success", "Your password was changed.")

	tab2.fill("#password", "another-new-password-8")
	tab2.click(`form[action="/auth/password/reset"] button[type=submit]`, http.StatusGone, "reset-stale-tab")
	tab2.wantText("h1", "This link has expired")

	// The reset never signed anyone in; the old password no longer works,
	// the new one does.
	signIn(tab1, d.Email, d.Password, http.StatusUnauthorized, "login-old-password")
	tab1.wantText(".notice-error", "The email or password is incorrect")
	tab1.fill("#email", d.Email)
	tab1.fill("#password", newPassword)
	tab1.click(loginButton, http.StatusOK, "home-new-password")
	wantSignedIn(tab1, d.Email, "password", 1)
}

// TestMagicLink signs in with an emailed link through its confirm page;
// the link works once.
func TestMagicLink(t *testing.T) {
	d, b := start(t)
	p := b.tab()

	p.open("/auth/login", http.StatusOK, "login")
	p.click(`a[href="/auth/magic"]`, http.StatusOK, "magic")
	p.fill("#email", d.Email)
	p.click(`form[action="/auth/magic"] button[type=submit]`, http.StatusOK, "magic-sent")
	p.wantText("h1", "Check your email")

	link := d.link(d.mail(d.Email, "sign-in link"), "/auth/magic/verify")
	// Opening the link (as a mail scanner would) signs nobody in.
	p.open(link, http.StatusOK, "magic-confirm")
	p.wantText("h1", "Continue signing in")
	if n := p.count("header .account-email"); n != 0 {
		t.Fatalf("the magic link's confirm page shows a signed-in user")
	}
	p.click(`form[action="/auth/magic/verify"] button[type=submit]`, http.StatusOK, "home-magic")
	wantSignedIn(p, d.Email, "magic link", 1)

	// The link is spent.
	p.open(link, http.StatusGone, "magic-link-used")
	p.wantText("h1", "This link has expired")
}

// TestRecoveryCode signs in with a recovery code instead of TOTP; a used
// code is refused the second time.
func TestRecoveryCode(t *testing.T) {
	d, b := start(t)
	p := b.tab()

	// Sign-in makes sudo fresh, so the set-up page opens directly.
	signIn(p, d.Email, d.Password, http.StatusOK, "home")
	_, _, codes := enrollTOTP(p)

	useRecovery := func(code string, status int, page string) {
		t.Helper()
		signOut(p)
		signIn(p, d.Email, d.Password, http.StatusOK, "mfa-challenge")
		p.click(`a[href="/auth/mfa/recovery"]`, http.StatusOK, "mfa-recovery")
		p.wantText("h1", "Two-factor authentication")
		p.fill("#recovery_code", code)
		p.click(recoveryButton, status, page)
	}

	useRecovery(codes[0], http.StatusOK, "home-recovery-code")
	wantSignedIn(p, d.Email, "password, recovery code", 2)
	d.mail(d.Email, "recovery code")

	useRecovery(codes[0], http.StatusUnauthorized, "mfa-recovery-used-code")
	p.wantText(".notice-error", "That recovery code is not valid or was already used.")
	p.fill("#recovery_code", codes[1])
	p.click(recoveryButton, http.StatusOK, "home-second-code")
	wantSignedIn(p, d.Email, "password, recovery code", 2)

	p.open("/auth/mfa", http.StatusOK, "mfa-codes-left")
	p.wantText("#codes-heading + p", "8 unused codes")
}

// TestRevokeOtherSession signs in on two devices; one signs the other
// out from the device list, and the other is signed out on its next
// navigation.
func TestRevokeOtherSession(t *testing.T) {
	d, b := start(t)
	a := b.tab()
	a.name = "device A"
	other := b.newDevice("device B")

	signIn(a, d.Email, d.Password, http.StatusOK, "home-a")
	signIn(other, d.Email, d.Password, http.StatusOK, "home-b")
	wantSignedIn(other, d.Email, "password", 1)

	a.open("/auth/sessions", http.StatusOK, "sessions-two")
	if n := a.count("main li.row"); n != 2 {
		t.Fatalf("sessions page lists %d devices, want 2", n)
	}
	if n := a.count("main li.row .badge-accent"); n != 1 {
		t.Fatalf("sessions page marks %d devices as this device, want 1", n)
	}
	// Only the other device has a sign-out button.
	if n := a.count(`main form[action="/auth/sessions/revoke"]`); n != 1 {
		t.Fatalf("sessions page has %d sign-out buttons, want 1", n)
	}
	a.click(`main form[action="/auth/sessions/revoke"] button[type=submit]`, http.StatusOK, "sessions-revoked")
	a.wantText(".notice-success", "The session was signed out.")
	if n := a.count("main li.row"); n != 1 {
		t.Fatalf("after revoking, the sessions page lists %d devices, want 1", n)
	}

	// The other device is signed out on its next request.
	other.open("/private", http.StatusOK, "login-after-revoke")
	other.wantPath("/auth/login")
	if n := other.count("header .account-email"); n != 0 {
		t.Fatalf("the revoked device still shows a signed-in user")
	}
	// This device is not.
	a.open("/private", http.StatusOK, "private")
	a.wantText("h1", "Your private page")
}

// TestCSRFTokenRequired submits a form whose CSRF token was removed: the
// request is refused with 403 and changes nothing.
func TestCSRFTokenRequired(t *testing.T) {
	d, b := start(t)
	p := b.tab()
	signIn(p, d.Email, d.Password, http.StatusOK, "home")

	removed := eval[int](p, `(() => {
  const inputs = document.querySelectorAll('header form[action="/auth/logout"] input[name="csrf_token"]');
  inputs.forEach(i => i.remove());
  return inputs.length;
})()`)
	if removed != 1 {
		t.Fatalf("removed %d CSRF inputs from the sign-out form, want 1", removed)
	}
	p.click(logoutButton, http.StatusForbidden, "csrf-refused")
	p.wantText("body", "This form has expired or was sent from another site.")

	// Still signed in; with its token the same form works.
	p.open("/", http.StatusOK, "home-still-signed-in")
	wantSignedIn(p, d.Email, "password", 1)
	signOut(p)
}

// TestRequireSudo waits out a short sudo window: the page behind
// RequireSudo then asks for the password and comes back.
func TestRequireSudo(t *testing.T) {
	const window = 2 * time.Second
	d, b := start(t, "-sudo-window", window.String())
	p := b.tab()

	signIn(p, d.Email, d.Password, http.StatusOK, "home")
	// Sign-in set the sudo time before this moment: once the window has
	// passed from here, it has surely passed.
	signedIn := time.Now()
	time.Sleep(time.Until(signedIn.Add(window)))

	p.open("/private/billing", http.StatusOK, "sudo-required")
	p.wantPath("/auth/sudo")
	if got := p.path(); !strings.Contains(got, "return_to="+url.QueryEscape("/private/billing")) {
		t.Fatalf("sudo page at %s, want return_to=/private/billing", got)
	}
	p.wantText("h1", "Confirm it's you")

	p.fill("#password", "not-the-password")
	p.click(sudoButton, http.StatusUnauthorized, "sudo-wrong-password")
	p.wantText(".notice-error", "That password is not correct.")

	p.fill("#password", d.Password)
	p.click(sudoButton, http.StatusOK, "billing")
	p.wantPath("/private/billing")
	p.wantText("h1", "Billing")
	p.wantText(".lead", "within the last 2 seconds")
}
