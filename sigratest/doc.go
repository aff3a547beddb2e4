// Package sigratest helps a host application's own tests: a store with
// migrations run, users in any state, browsers signed in through the
// application's real routes, the development mailbox, and a clock the test
// controls. It drives the application as a browser does, over HTTP, so what
// a test sees is what a user would see.
//
// # Setting up
//
// [SQLite] opens a store on a temporary file; [Postgres] one on a fresh
// schema of a PostgreSQL server (skipping the test when no DSN is given).
// [NewClock] makes a clock whose Now goes to site.Config.Now. [Start] runs
// the application on a test server: it passes the base URL the
// application must use to a build function, which composes the
// application (with kit.New, or package by package) and returns a [Host]
// naming its parts; [Kit] makes that Host from a *kit.Kit. Compose with
// [PasswordConfig] (kit) or [Hasher] (by hand) so that hashing is cheap in
// tests, and with a key from [NewKeys].
//
// # Users and browsers
//
// [App.CreateUser] creates a user through the real stores and hashing, in
// any state given by [UserOptions]: unconfirmed, with TOTP enrolled and its
// secret (sealed with the application's keys, as the mfa package does),
// with recovery codes, locked or disabled. [App.Client] is a browser;
// [App.SignIn] and [App.SignedIn] sign one in at a [Level] (AAL1, AAL2 or
// pending the second factor) by posting the real sign-in form with its
// CSRF token and, for AAL2, the TOTP challenge with the right code;
// [App.Sudo] re-enters the password. [Client.NewRequest] builds an
// *http.Request carrying the browser's session.
//
// # Mail
//
// [App.LastMail] delivers the queued email and returns the newest message
// to an address; [FirstLink] finds its first link, and [App.FollowLink]
// follows an emailed link as a user does: the GET of its confirm page,
// then the POST of that page's form.
//
// # Failures
//
// Every helper takes the *testing.T (or testing.TB) of the test that calls
// it and fails that test with a message starting "sigratest:" when it is
// misused (a user that already exists, a sign-in the application refuses,
// no email to an address). Helpers are safe to use from parallel tests,
// each on its own App.
package sigratest
