package e2e

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// Selectors of the passkey controls.
const (
	passkeyAdd       = `form[data-passkey="register"] button[type=submit]`
	passkeySignIn    = `[data-passkey="signin"] [data-passkey-start]`
	passkeyVerify    = `[data-passkey="verify"] [data-passkey-start]`
	passkeyRemoveAll = `form[action="/auth/passkeys/delete"] button[type=submit]`
)

// addAuthenticator gives the tab a virtual authenticator through the
// DevTools WebAuthn domain: CTAP2 over the internal transport (a platform
// authenticator), with resident keys (discoverable passkeys) and user
// verification that succeeds, and presence confirmed at once.
func addAuthenticator(p *tab) webauthn.AuthenticatorID {
	p.t.Helper()
	var id webauthn.AuthenticatorID
	err := chromedp.Do(p.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol:                    webauthn.AuthenticatorProtocolCtap2,
				Ctap2version:                webauthn.Ctap2versionCtap21,
				Transport:                   webauthn.AuthenticatorTransportInternal,
				HasResidentKey:              true,
				HasUserVerification:         true,
				IsUserVerified:              true,
				AutomaticPresenceSimulation: true,
			},
		})
		if err != nil {
			return err
		}
		id = res.AuthenticatorID
		return nil
	}))
	if err != nil {
		p.t.Fatalf("%s: adding a virtual authenticator: %v", p.name, err)
	}
	return id
}

// presence turns the authenticator's automatic confirmation of user
// presence on or off: off, a request waits (the sign-in page's autofill
// request stays pending, as in a browser where the user has not picked a
// passkey yet).
func presence(p *tab, id webauthn.AuthenticatorID, on bool) {
	p.t.Helper()
	err := chromedp.Do(p.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on})
		return err
	}))
	if err != nil {
		p.t.Fatalf("%s: setting presence to %v: %v", p.name, on, err)
	}
}

// waitPath waits until the tab is at path (without the query), after a
// navigation the page started itself. The page may be navigating while the
// location is read, which fails the read ("Inspected target navigated or
// closed"): such a read is taken as not there yet, until the deadline.
func waitPath(p *tab, path string) {
	p.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		var got string
		loc, err := chromedp.Run(p.ctx, chromedp.Location())
		if err == nil {
			u, perr := url.Parse(loc)
			if perr != nil {
				p.t.Fatalf("%s: location %q: %v", p.name, loc, perr)
			}
			got = u.Path
			if got == path {
				break
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: still at %s (last read error: %v), want %s", p.name, got, err, path)
		}
		time.Sleep(100 * time.Millisecond)
	}
	eval[bool](p, "new Promise(r => { if (document.readyState === 'complete') r(true); else addEventListener('load', () => r(true)); })")
}

// credentials returns how many credentials the virtual authenticator holds,
// and how many of them are resident (discoverable).
func credentials(p *tab, id webauthn.AuthenticatorID) (all, resident int) {
	p.t.Helper()
	err := chromedp.Do(p.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		if err != nil {
			return err
		}
		for _, c := range res.Credentials {
			all++
			if c.IsResidentCredential {
				resident++
			}
		}
		return nil
	}))
	if err != nil {
		p.t.Fatalf("%s: reading the authenticator's credentials: %v", p.name, err)
	}
	return all, resident
}

// TestPasskeys registers a passkey from the settings with Chromium's
// virtual authenticator, steps up to two factors with it on the page
// that RequireAAL2 sends a one-factor session to, signs out, signs in without a password (a
// discoverable passkey), uses the passkey as the second factor after a
// password and for re-authentication, and removes it. Every page passes
// axe-core.
func TestPasskeys(t *testing.T) {
	d, b := start(t)
	p := b.tab()
	auth := addAuthenticator(p)

	// Register from the passkeys page, reached from the settings (the
	// sign-in just happened, so re-authentication is fresh).
	signIn(p, d.Email, d.Password, http.StatusOK, "home-signed-in")
	p.open("/auth/settings", http.StatusOK, "settings")
	p.click(`main a[href="/auth/passkeys"]`, http.StatusOK, "passkeys-none")
	p.wantText("main .rows", "You have no passkeys yet")
	p.fill("#passkey-name", "Test laptop")
	p.click(passkeyAdd, http.StatusOK, "passkey-added")
	p.wantPath("/auth/passkeys")
	p.wantText(".notice-success", "Your passkey was added")
	p.wantText("main .rows", "Test laptop")
	if all, resident := credentials(p, auth); all != 1 || resident != 1 {
		t.Fatalf("authenticator: got %d credentials (%d resident), want 1 discoverable", all, resident)
	}
	d.mail(d.Email, "A passkey was added")

	// The session has one factor (a password, no TOTP): a page that needs
	// two sends the user to the step-up page, which offers the passkey;
	// it raises the session to two factors and goes back to the page.
	p.open("/private/vault", http.StatusOK, "step-up")
	p.wantPath("/auth/mfa/setup")
	p.click(passkeyVerify, http.StatusOK, "vault")
	p.wantPath("/private/vault")
	p.open("/", http.StatusOK, "home-stepped-up")
	wantSignedIn(p, d.Email, "password, passkey", 2)

	// Sign out. The sign-in page asks the browser for a passkey at once,
	// for its autofill (conditional UI), and the request waits until the
	// user picks one: with presence off, it waits (the page is checked).
	// With presence on, the virtual authenticator answers it as a user
	// picking the passkey would: the page signs in by itself. The
	// authenticator verified the user, so two factors.
	presence(p, auth, false)
	signOut(p)
	presence(p, auth, true)
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	if err := chromedp.Do(ctx, chromedp.Navigate(d.URL+"/auth/login")); err != nil {
		t.Fatalf("opening the sign-in page: %v", err)
	}
	cancel()
	waitPath(p, "/")
	p.landed("home-autofill")
	wantSignedIn(p, d.Email, "passkey", 2)

	// The button: a discoverable passkey, without typing an address.
	presence(p, auth, false)
	signOut(p)
	presence(p, auth, true)
	p.open("/auth/passkeys/signin", http.StatusOK, "passkey-signin")
	p.click(passkeySignIn, http.StatusOK, "home-passkey")
	wantSignedIn(p, d.Email, "passkey", 2)

	// A password, then the passkey as the second factor.
	enrollTOTP(p)
	presence(p, auth, false)
	signOut(p)
	p.fill("#email", d.Email)
	p.fill("#password", d.Password)
	p.click(loginButton, http.StatusOK, "second-factor")
	p.wantPath("/auth/mfa/challenge")
	presence(p, auth, true)
	p.click(passkeyVerify, http.StatusOK, "home-second-factor")
	wantSignedIn(p, d.Email, "password, passkey", 2)

	// Re-authenticate with the passkey, and go back where it was asked.
	p.open("/auth/sudo?"+url.Values{"return_to": {"/private/billing"}}.Encode(), http.StatusOK, "sudo")
	p.click(passkeyVerify, http.StatusOK, "billing")
	p.wantPath("/private/billing")

	// Remove the passkey (the account keeps its password).
	p.open("/auth/passkeys", http.StatusOK, "passkeys-one")
	p.click(passkeyRemoveAll, http.StatusOK, "passkey-removed")
	p.wantText(".notice-success", "The passkey was removed")
	if n := p.count("main li.row:not(.row-empty)"); n != 0 {
		t.Fatalf("passkeys page lists %d passkeys after the removal, want 0", n)
	}
	d.mail(d.Email, "A passkey was removed")
}
