// Package mail sends the emails of Sigra's flows (confirmation links,
// reset links, codes, notices): a small [Sender] interface, an SMTP
// sender, a development mailbox, and a durable outbox that retries.
//
// # Sender
//
// A [Message] is one email to one recipient: subject, plain-text body and
// an optional HTML alternative. Anything that can send one implements
// [Sender]; [SenderFunc] adapts a function. Feature packages take a Sender
// and do not care which one it is.
//
// # SMTP
//
// [NewSMTP] returns a Sender that hands each message to an SMTP server over
// its own connection, as multipart/alternative with Date and Message-ID
// headers. The connection is protected by STARTTLS (the default, required:
// a server that does not offer it is an error) or implicit TLS;
// [InsecureNoTLS] is refused for anything but a loopback host.
// Credentials go with AUTH PLAIN inside TLS. Errors say what failed:
// [ErrAuth] when the credentials are refused, [ErrRejected] when the
// server permanently refuses the recipient or the message, and the
// network error (connection refused, timeout) otherwise.
//
// # Development mailbox
//
// [Mailbox] is a Sender that keeps the last messages in memory (200 by
// default) and serves them: an HTML list and pages ([Mailbox.Mount]), the
// HTML part in a sandboxed frame, and JSON at messages.json for scripts.
// In-process tests read them with [Mailbox.Wait] and [Mailbox.Latest].
// It is for development and tests only: it shows every link and code to
// whoever can reach it, and it holds nothing across restarts.
//
// # Outbox and worker
//
// [Outbox] is a Sender that queues messages in the store ([store.Outbox])
// and returns; its worker, [Outbox.Run], delivers them through another
// Sender (typically [SMTP]). Send passes its context to the store, so a
// flow running inside [store.Transactor.InTx] of the same store queues its
// email in the same transaction as the change it announces: both commit or
// neither does.
//
// Bodies are sealed (AES-256-GCM, keys from OutboxConfig.Keys) before they
// reach the store, bound to the row and the recipient, so a queued reset
// link is never stored readable, and a sealed body moved to another row
// or address does not open. Once sent, the body is erased; the row keeps
// the recipient and the delivery record.
//
// The worker claims due messages with a lease, sends each, and marks it
// sent or failed. A failure is retried after an exponential backoff with
// jitter (5 s, 10 s, 20 s, ... capped at one hour); after 20 failed
// attempts, or at once when the server rejects the message permanently
// ([ErrRejected]) or the body cannot be opened ([ErrUndeliverable]), the
// outbox gives up ([store.Outbox.GiveUp]): the body is erased, the row
// keeps its LastError and the time it was given up on, and it is never
// claimed again nor counted as pending. Run wakes as soon as this
// process queues a message, and polls (every 2 s by default) for messages
// queued by other instances and for retries that fall due.
//
// # Retention
//
// The rows of sent messages and of messages given up on are kept for
// OutboxConfig.Retention (7 days by default), for an operator to see what
// was sent to whom and what failed, then deleted: Run purges when it
// starts and once an hour ([Outbox.Purge]). A negative Retention keeps
// them forever. Queued messages are never deleted.
//
// # Delivery guarantees
//
// Delivery is at least once. A message is stored before Send returns and
// stays until it is sent or given up on: a worker that stops leaves
// unsent messages queued, and the next worker, in this process or
// another, delivers them. A message whose send was in progress when its
// worker died is sent again after its lease ends (2 minutes by default),
// so its recipient may receive it twice; a message is never silently
// dropped. Several workers may run on one store; the lease gives each
// message to one worker at a time.
//
// # Jobs
//
// A request that names an address (a password reset, a sign-in link)
// must do the same work whatever the address's state, or its timing tells
// whether an account exists. It hands the address-dependent work to a
// [Job] instead: [Outbox.Defer] stores the job like a message (sealed, in
// the caller's transaction if any), and the worker runs it with the
// function registered for its kind ([Outbox.HandleJob]), usually to look
// the account up and queue an email. A job that fails is retried with the
// same backoff as a failed delivery and given up after MaxAttempts; a job
// whose kind has no function is given up. Jobs run at least once, like
// deliveries, so a job function must be safe to run again.
package mail
