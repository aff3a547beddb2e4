// Package webhook sends signed, retried, SSRF-safe webhooks: HTTP POSTs
// that tell other systems what happened (a user registered, a password
// changed), queued in the same transaction as the change.
//
// # Endpoints and events
//
// An application subscribes endpoints (URLs) to event types with
// [Webhooks.Subscribe], which returns the endpoint's signing secret
// ("whsec_..."), to be given to the receiver once; it is stored sealed
// with the configured keys. Event types are plain strings: the actions of
// the audit package's catalogue and of the features ("auth.register",
// "auth.login.success", "account.password_change", "mfa.totp.enable",
// "org.invitation.accept", ...) are the natural ones, and those are what
// the features send by themselves (below). [Webhooks.RotateSecret] replaces a
// secret with an overlap: for [Config.SecretOverlap] deliveries carry a
// signature with each secret, so the receiver can switch at any time.
//
// # Queueing and delivery
//
// [Webhooks.Enqueue] queues one delivery of an event for every enabled
// endpoint subscribed to its type. With a context carrying a transaction
// of the store (store.Transactor.InTx), the deliveries commit or roll back
// with the change, as the mail outbox's messages do: no event is announced
// for a change that did not happen, and none is lost for one that did.
//
// A worker, [Webhooks.Run] (or [Webhooks.DeliverDue] from a host's own
// scheduler), claims due deliveries with a lease, so that several workers
// in one process or in several instances never attempt one delivery at
// once, and POSTs each with the Standard Webhooks headers: webhook-id (the
// delivery's id, the receiver's idempotency key, the same on every retry
// and replay), webhook-timestamp (Unix seconds of the attempt) and
// webhook-signature ("v1," and the base64 HMAC-SHA256 of
// "id.timestamp.body", one per live secret, space-separated). A 2xx
// answer delivers it; 410 Gone disables the endpoint; anything else is
// retried with exponential backoff and jitter, and after
// [Config.MaxAttempts] failures the delivery moves to the dead letter,
// from which [Webhooks.Replay] queues it again with the same webhook-id.
// Delivery is at least once: a worker that dies after the receiver
// answered but before the outcome is stored leaves the delivery to be
// attempted again, with the same id.
//
// # Events from the audit log
//
// The features record every security event in the audit log, inside the
// transaction of the change. Given to the audit logger as its
// Config.OnRecord, [Webhooks.OnAudit] queues each success event for the
// endpoints subscribed to its action, in that same transaction: "a user
// registered", "signed in", "changed their password", "enabled two-factor
// authentication", "joined an organization" reach the subscribers with
// no code in the application, and a change that rolls back sends
// nothing. The kit does this wiring when its Config.Webhooks is set: it
// builds one audit logger for every feature. Failure events (a wrong
// password, a refused code) are not sent. The data of such an event is an
// [AuditData], a stable JSON shape: action, at, actor_id, subject_id,
// impersonator_id, org_id, outcome ("success") and metadata, every field
// present; the client's IP address and user agent are left out, and the
// audit log refuses secret-looking metadata keys.
//
// # Replay
//
// [Webhooks.Replay] queues a dead (or delivered) delivery again with its
// webhook-id. Operators replay from the admin console's webhooks page
// (admin.Config.Webhooks) or with "sigra webhooks replay ID"; both record
// [ActionReplay] in the audit log.
//
// # Safety of outbound requests
//
// The URL an application registers may come from its users, so the
// requests are kept from reaching what they should not: only http and
// https URLs are accepted; the dialer checks the address it is about to
// connect to, after name resolution, and refuses private, loopback,
// link-local (cloud metadata), unspecified, multicast, carrier-grade NAT
// and other special-purpose addresses unless [Config.AllowNetworks] allows
// them; no proxy from the environment is used; redirects are not followed
// (a 3xx fails the attempt); connecting, the whole attempt and the
// response body read are bounded ([Config.ConnectTimeout],
// [Config.Timeout], [Config.MaxResponseBytes]).
//
// # Receiving
//
// A receiver, in Go, checks each request with [Verify] before trusting
// it: the signature over the raw body with its secret (or secrets, during
// a rotation), and the timestamp within a tolerance, five minutes by
// default. It then uses webhook-id to process each event once.
package webhook
