// Package e2e is Sigra's browser suite: it drives a real headless
// Chromium through the demo application (examples/demo) and checks the
// flows a user goes through, the pages they see, and their accessibility.
// The package has no API; it holds only tests.
//
// # What it covers
//
// Each test starts its own demo process (a fresh SQLite database and
// keys file, a free localhost port) and its own browser (a fresh profile),
// and reads the emails the demo sends from its development mailbox:
//
//   - the golden path: registration, confirmation from the emailed link
//     (confirm page, then its button), sign-in, the device list showing
//     this device, re-authentication (sudo), TOTP enrollment with codes
//     from an independent implementation (oathtool), recovery codes,
//     sign-out, and sign-in with a TOTP code (a replayed code is refused)
//     up to assurance level 2;
//   - a password reset whose link is open in two tabs: the second tab's
//     submission finds the link expired;
//   - magic-link sign-in through its confirm page, and the link's single
//     use;
//   - sign-in with a recovery code, and its single use;
//   - revoking another browser's session from the device list, after
//     which that browser is signed out on its next navigation;
//   - a form submitted without its CSRF token is refused with 403 and
//     changes nothing;
//   - a page behind RequireSudo sends the user to re-authenticate and
//     back, once the (shortened) sudo window has passed;
//   - sign-in with the demo's local OpenID provider, from the sign-in
//     page's link to the provider buttons, through the provider's consent
//     page ("Allow") and back, and the refusal to unlink the account's
//     only way to sign in; "Deny" on the consent page, which brings the
//     user back signed out to the page of a denied consent, and its row
//     in the admin console's audit log.
//   - passkeys with Chromium's virtual authenticator (the DevTools
//     WebAuthn domain: CTAP2, internal transport, resident keys, user
//     verification): registration from the settings, sign-in by the
//     sign-in page's autofill (conditional UI) and by the button of a
//     discoverable passkey, the passkey as the second factor after a
//     password, re-authentication by passkey, and removal.
//   - the admin console: the seeded administrator finds the demo account
//     by the beginning of its address, signs it out everywhere and
//     disables it (the demo account's browser is signed out on its next
//     navigation, and an email tells its owner); the demo account gets
//     404 from the console.
//
// Every page the suite lands on, by navigation or by submitting a form,
// is checked with axe-core against WCAG 2.0 and 2.1 A and AA rules, in
// light and in dark mode (prefers-color-scheme emulated); a violation of
// serious or critical impact fails the test, with its rule, impact,
// targets and help URL. The demo is built with the race detector when the
// suite runs under -race, and a data race it reports fails the test.
//
// # Running it
//
//	./e2e/testdata/fetch-axe.sh   # once: axe-core into e2e/testdata/.cache (needs npm)
//	go test ./e2e/
//
// The suite needs Debian's chromium (or chromium on PATH) and oathtool.
// When one of them, or axe-core, is missing, the tests skip with a
// message naming it, unless SIGRA_E2E_REQUIRED=1 is set (as in CI): then
// they fail. No browser is downloaded at test time.
//
// # Screenshots
//
// Every page visited is saved, full page, in light and dark mode, as
// <test>-<nn>-<page>-<light|dark>.png in the folder named by
// SIGRA_E2E_SCREENSHOTS, or else in out/e2e-screenshots at the root of
// the repository (ignored by git). A test removes its own earlier
// screenshots when it starts.
package e2e
