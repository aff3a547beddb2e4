// Package kit composes Sigra's common set in one call: [New] builds, from
// one [Config], the shared site, browser sessions, the UI, the guard, the
// rate limiter, password hashing, mail (a durable outbox delivering
// through SMTP, or into a development mailbox), the account flows and
// two-factor authentication, and mounts them on one http.ServeMux.
//
//	db, err := sqlite.Open(ctx, "app.db")
//	...
//	auth, err := kit.New(kit.Config{
//		Store: db,
//		Site:  site.Config{BaseURL: "http://localhost:8080"},
//		Keys:  keys, // kit.KeysFile("app.keys") in development
//	})
//	...
//	go auth.Run(ctx) // delivers email, purges expired rows
//	auth.Handle("GET /dashboard", auth.RequireUser(dashboard))
//	http.ListenAndServe("localhost:8080", auth.Handler())
//
// Every part it builds is a field of [Kit] (Sessions, UI, Guard, Outbox,
// Accounts, MFA, Hasher, ...) and stays usable on its own; kit adds no
// behaviour of its own beyond the wiring and the CSRF failure page. An
// application that wants to choose each piece composes the packages by
// hand the same way (examples/manual does).
//
// # What is mounted
//
// Under the site's prefix ("/auth" unless Config.Site.Prefix says
// otherwise): the account routes (registration, confirmation, sign-in and
// sign-out, password reset, magic link, re-authentication, settings,
// email and password change, sessions, deletion; see package account),
// the two-factor routes (see package mfa) unless DisableMFA is set, the
// provider sign-in routes (see package oauth) when Config.OAuth names
// providers, the passkey routes (see package passkey) when Config.Passkeys
// is set, and the UI's assets at <prefix>/assets/. Without an SMTP server, the
// development mailbox is served at [DevMailboxPath]. The application adds
// its own routes to [Kit.Mux] (or with [Kit.Handle]), guarded by
// [Kit.RequireUser], [Kit.RequireSudo], [Kit.RequireAAL2] and
// [Kit.RequireConfirmed], and its own pages and settings sections with
// Config.Packs and Config.Sections.
//
// # The middleware chain
//
// [Kit.Handler] wraps the mux, outermost first, in:
//
//  1. middleware.SecureHeaders: Content-Security-Policy, frame and
//     referrer policies, and HSTS when the base URL is https;
//  2. middleware.LimitBody: request bodies bounded
//     (middleware.DefaultBodyLimit);
//  3. middleware.CSRF: cross-origin protection always, and form tokens on
//     HTML forms; a refused request gets the UI's error page (or JSON);
//  4. session.Manager.LoadAndSave: the session and its user read in one
//     store round trip, the auth state put in the request's context
//     (sigra.UserFrom, sigra.AuthFrom), a disabled, deleted or revoked
//     user signed out.
//
// # Defaults
//
// Every zero field of Config takes the defaults of the package it
// configures: sessions idle for 30 minutes and at most 24 hours (30 days
// with "remember me"), re-authentication valid for 10 minutes, Argon2id
// at m=19 MiB, t=2, p=1 in a bounded pool, account lockout after 5
// failures for 15 minutes, the account flows' rate limits counted in the
// store, confirmation links valid 48 hours, reset links 1 hour, magic
// links 15 minutes, account deletion after a 14-day grace, expired rows
// purged hourly by [Kit.Run]. Registration is open and sign-in is allowed
// before the address is confirmed (Config.Account changes both).
//
// # Audit and webhooks
//
// The kit builds one audit logger, [Kit.Audit], and gives it to every
// feature it builds (unless the feature's own Config.Audit is set). With
// Config.Webhooks set, that logger queues each success event the features
// record as a webhook for the endpoints subscribed to its action, in the
// transaction of the change (see webhook.Webhooks.OnAudit for the
// payload); failure events are not sent. Subscribe endpoints with
// [Kit.Webhooks]; [Kit.Run] delivers; with Config.Admin the console gets
// its webhooks page (the dead letter and replay).
//
// # In production
//
//   - Base URL: the https:// origin users see (Config.Site.BaseURL).
//     Emailed links are built from it, never from the Host header, and
//     cookies are Secure, with the __Host- prefix unless
//     Config.Site.CookieDomain shares them with subdomains.
//   - SMTP: required for an https base URL (the development mailbox is
//     refused there). mail.ParseSMTPURL reads the settings from one URL,
//     such as an environment variable holding
//     smtps://user:password@smtp.example.com?from=noreply@example.com.
//     Every email is queued in the store, in the transaction of the change
//     it reports, and [Kit.Run] delivers it with retries: run it in every
//     instance.
//   - Keys: the keyring that seals queued email bodies and TOTP secrets
//     ("id:base64key", token.NewSealKey makes one). Keep it out of the
//     database, in a secret store or the environment, and keep it: what a
//     lost key sealed cannot be opened. To rotate, put a new key first
//     and keep the old ones after it. [KeysFile] is for development and
//     single machines.
//   - AuditChainKey: the secret key of the audit log's hash chain (32
//     random bytes in base64). [Kit.Run] seals new audit rows into the
//     chain; "sigra audit verify" checks it with the same key and "sigra
//     audit anchor" prints the anchor to keep elsewhere. Keep the key out
//     of the database, the same on every instance.
//   - Trusted proxies: behind a reverse proxy or load balancer, list it in
//     Config.Site.TrustedProxies, so the client's address (for rate
//     limits, audit and the device list) is read from X-Forwarded-For and
//     only from it.
//   - PostgreSQL: for more than one instance of the application, open the
//     store with store/postgres. Sessions, rate limits, tokens, the mail
//     queue and the audit log are then shared by every instance, and
//     nothing that another instance needs is kept in memory.
//   - Memory: each password hash allocates its memory cost (19 MiB by
//     default), at most as many at once as the hashing pool has slots,
//     so a server busy with sign-ins collects garbage every two or three
//     hashes, and on Linux faults much of that memory in again after the
//     runtime handed it back to the kernel. Start the server with
//     GODEBUG=madvdontneed=0 in its environment to spare those faults
//     (about a sixth of the server's CPU per sign-in on one 2-core
//     virtual machine; nothing measurable on another, where the runtime
//     handed back less); where sign-ins are most of the load, GOGC and
//     GOMEMLIMIT also trade memory for the collections. See "Parameters
//     and the pool" in package password.
//
// A Kit is safe for concurrent use once built.
package kit
