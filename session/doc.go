// Package session manages browser sessions and the auth state machine.
//
// It is built on github.com/alexedwards/scs/v2 with its own scs store over
// [store.Sessions]: the cookie holds a 256-bit token and the row is keyed
// by the token's SHA-256 digest, so a copy of the database holds no usable
// session.
//
// A [Manager] is made for one [site.Site], the configuration every Sigra
// package shares, and a store:
//
//	s, err := site.New(site.Config{BaseURL: "https://app.example.com"})
//	...
//	sessions, err := session.New(s, db, session.Config{})
//	...
//	http.ListenAndServe(":8080", sessions.LoadAndSave(mux))
//
// Below [Manager.LoadAndSave], handlers read the signed-in user with
// [sigra.UserFrom] and the whole state with [sigra.AuthFrom].
//
// # State machine
//
//	anonymous ──SignIn──────────────────────────────▶ authenticated (AAL1 or AAL2)
//	    │                                                   ▲   │
//	    └──BeginSecondFactor──▶ pending ──CompleteSecondFactor┘   ├──Sudo / RaiseAAL──▶ authenticated
//	                            (5 min)                          └──SignOut──▶ anonymous
//
// Every transition renews the token: the old row is revoked and the next
// response carries a new cookie (session fixation). A pending session has a
// user but nobody is signed in: [sigra.UserFrom] returns nil for it, and
// [Manager.User] returns its user.
//
// The transitions take a [*sigra.User], the public user (ID, address,
// confirmation and creation times), and [Manager.User] hands the same back:
// the session never holds a password hash or a lockout counter. A flow that
// needs the stored record reads it from its store.
//
// # Revocation
//
// Revocation is a tombstone (the row's revoked time), never a delete. scs
// saves a session at the end of any request that changed it; if a plain
// upsert did that, a session revoked while a request was in flight would
// come back. The store's SaveSession never clears the tombstone and never
// re-creates a revoked row, and lookups ignore revoked rows, so a revoked
// session is refused on its next request, by every instance of the app.
//
// # Timeouts
//
// Sessions end after IdleTimeout without a request (default 30 minutes) or
// Lifetime after sign-in (default 24 hours); "remember me" sessions last
// RememberLifetime (default 30 days) with a persistent cookie. The idle
// clock is the row's last-seen time, written at most once per
// TouchInterval (default one minute), so the idle timeout is accurate to
// that interval and a busy session costs one write a minute, not one per
// request. Every time comes from the site's clock (site.Config.Now), so
// tests move time without sleeping.
//
// # Barred users
//
// [Manager.LoadAndSave] reads the session's user with the session, in the
// same round trip. A user who was disabled or who no longer exists is
// signed out on that request, signed in or pending alike (the row is
// revoked and the cookie deleted), and the request continues anonymous; so
// is a signed-in user whose deletion is scheduled. A pending sign-in of a
// user whose deletion is scheduled goes on: completing it is how the owner
// cancels the deletion (see [Manager.OnSignIn]). No other middleware is needed for it, and it costs a
// healthy user nothing.
//
// # Cookies
//
// Cookie attributes come from the [site.Site]: HttpOnly, SameSite=Lax,
// Path=/, Secure and named with the __Host- prefix ("__Host-sigra_session"),
// unless the site's base URL is an http:// URL of localhost or a loopback
// address (development: "sigra_session", not Secure), where browsers would
// drop a Secure cookie, or the site has a cookie domain (then the cookie
// carries that Domain and no prefix, which a cookie with a Domain cannot
// have).
//
// # Client address
//
// The session row records the client's address and user agent, for device
// lists. The address is the site's [site.Site.ClientIP]: the peer, or
// behind a trusted proxy the forwarded address.
//
// # Impersonation
//
// [Manager.StartImpersonation] turns a signed-in admin's session into a
// session of another user, with the admin's ID as its impersonator
// ([sigra.Auth].Impersonator), the admin session's AAL at most, the single
// method sigra.MethodImpersonation and no sudo time. The token is renewed
// (a privilege change). The impersonation is time-boxed: it ends after
// Config.ImpersonationIdle without a request (default 15 minutes) or
// Config.ImpersonationLifetime after it started (default 30 minutes), and
// never outlasts the admin's own session.
//
// The admin's own session is kept, not revoked: its token moves from the
// session cookie to a second cookie ([Manager.ImpersonatorCookieName]:
// HttpOnly, Secure, SameSite and domain as the session cookie's). The
// server holds only its digest, as for every session; while the
// impersonation lasts the admin's row is touched with it, so that it does
// not go idle. Every request of the impersonation reads the admin's
// session too (one more store read while an impersonation lasts): the
// impersonation lasts only while that session would, so the first request
// after it was signed out or revoked (a sign-out everywhere, a disabled
// account), went idle, or after its user was disabled or deleted, or
// without the admin cookie, signs the browser out ([EndAdminGone]).
// Functions registered with [Manager.RequireImpersonator] (the admin
// feature's role check) are asked too: a no returns to the admin's
// session ([EndAdminRevoked]).
// [Manager.StopImpersonation], or the first request after the
// time box closed (or after the impersonated user was disabled), returns
// to the admin's session: it must still be live and, when stopping, belong
// to the impersonator; its token is renewed (the old one and the
// impersonation's are revoked) and its values come back. When it cannot be
// restored, the browser is signed out: an ended impersonation never goes
// on as the user's own session. A state-changing request that arrives
// after the time box closed (a form of the impersonation) is answered 409
// "impersonation_ended" without reaching the handler, so it cannot act on
// the admin's own account. Signing out while impersonating ends both
// sessions.
//
// Several requests that end the same impersonation at once restore the
// admin's session once: a claim in the store (revoking a row by ID)
// decides, and the others change nothing. [Manager.OnImpersonationEnd]
// tells of every end, with its reason, for the audit log.
//
// Sudo and RaiseAAL refuse an impersonated session ([ErrImpersonating]):
// an admin cannot re-authenticate as the user. Who may impersonate whom,
// the reason, the audit rows and the notice to the user are the caller's
// (the admin feature's); middleware.Guard refuses the sensitive routes.
//
// # Values
//
// Application values live in the scs data blob (see [Manager.Values]).
// The [Codec] encodes strings, bools, ints, floats, byte slices, times and
// string slices compactly; other types fall back to encoding/gob.
//
// A request reads them only when something asks: [Manager.LoadAndSave]
// looks the session up itself, and scs gets the request's data, decoded
// from the row already read, on its first call for that request. A
// session without values (most sessions: no "remember me", no mark of
// [Manager.RequirePasswordChange], no application value) then costs no
// decoding and no scs bookkeeping; a session with values has them decoded
// before its handler runs, so that a corrupt blob is answered by
// Config.ErrorHandler as before. Calls of Values' methods are unchanged.
//
// # Devices
//
// [Manager.Devices] lists a user's live sessions with browser and OS
// parsed from the user agent, IP, creation and last-seen times, and marks
// the current one; [Manager.RevokeDevice], [Manager.RevokeOtherDevices]
// and [Manager.RevokeAll] end them, through the user_id index of the
// session table (never scs's Iterate, which decodes every session).
package session
