// Package audit records security events: who did what to whom, from where,
// and whether it worked. It holds the action catalogue, a [Logger] that
// validates events and writes them through [store.AuditLog], paged queries,
// export as CSV or JSON Lines, and a tamper-evident hash chain over the
// rows ([Chain]).
//
// # Recording
//
// A [Logger] writes through the store given in Config.Store, with the
// caller's context. A flow that changes state records inside the same
// transaction (the context carries it, see [store.Transactor]), so the
// change and its audit row commit together or not at all:
//
//	err := db.InTx(ctx, func(ctx context.Context) error {
//		if err := db.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
//			return err
//		}
//		return logger.Record(ctx, audit.Event{
//			Action: audit.ActionPasswordChange, ActorID: u.ID, SubjectID: u.ID,
//			Outcome: audit.OutcomeSuccess,
//		})
//	})
//
// A failed attempt (a wrong password, a wrong code) changes nothing that
// could carry its row, and must not be lost when the request's transaction
// rolls back: record it with [Logger.RecordFailure], which writes outside
// any transaction of its context. RecordFailure forces the outcome to
// failure, outlives the client hanging up, and logs through log/slog what
// it could not store. Call it after the transaction rather than inside it:
// on a store whose writes wait for the open transaction (the SQLite
// adapter writes through one connection) it cannot write until the
// transaction ends, so inside one it waits Config.WriteTimeout and then
// only logs the event.
//
// An invalid event is refused before anything is written: the action must
// be well formed (see [Event.Action]) and, with Config.Strict, in the
// catalogue; the outcome must be [OutcomeSuccess] or [OutcomeFailure]; the
// metadata must respect the rules below.
//
// # Request metadata
//
// [WithRequest] puts the client address, the user agent and the
// impersonating administrator, if any, in a context; Record fills them into
// every event that leaves them empty. When an administrator impersonates a
// user, both identities are in every row: the user as actor, the
// administrator as impersonator.
//
// # Metadata
//
// Metadata holds details that help an investigation and are not secret:
// "method", "reason", "count". A metadata key is refused with
// [ErrSecretMetadata] when, ignoring case and the separators '_', '-' and
// '.', it contains any of these words:
//
//	password passwd secret token code otp totp key hash cookie session
//	authorization credential recovery
//
// so "resetToken", "Pass_Word" and "api-key" are refused, and so are
// innocent names that happen to contain a word ("country_code",
// "session_id"): pick a neutral one ("country", "device_id"). Keys are
// limited to ASCII letters, digits, '_', '-' and '.', so look-alike letters
// cannot slip a secret word past the check. Values cannot be told apart
// from secrets in general and are not inspected: a caller must never put a
// password, token, code, cookie or hash in one. Limits: [MaxMetadataKeys]
// entries, keys of [MaxKeyLen] bytes, values of [MaxValueLen] bytes; an
// event over a limit is refused, never trimmed.
//
// # Catalogue
//
// The actions of sign-in, the account flows, sessions, operators and second
// factors, as constants (ActionRegister and so on) and as the list
// [Actions]. Feature packages (passkeys, providers, organizations, tokens,
// the admin console, webhooks) declare their own actions beside these,
// each package with a function listing them for a strict Logger's
// Config.Actions. Actor is who did it, subject whom it concerns: "user"
// is the user the event is about, "admin" an administrator acting on them,
// "-" nobody (anonymous, or the system). The metadata column lists the keys
// the recording flows use.
//
//	action                         when                               actor       subject  metadata
//
//	auth.register                  an account was created             user        user     method
//	auth.confirm                   an address was confirmed           user        user     method
//	auth.login.success             sign-in completed                  user        user     method, aal
//	auth.login.failure             a sign-in attempt was refused      -           user/-   method, reason
//	auth.logout                    the user signed out                user        user     -
//	security.lockout               password failures locked sign-in   -           user     failures, until
//	security.lockout.mfa           factor failures locked the factor  -           user     failures, until
//	security.new_device.alert      a new-device sign-in was reported  -           user     device_id
//	security.new_device.not_me     the user disowned that sign-in     user/-      user/-   device_id, revoked, reason
//	security.password_breached     a breached password signed in      user        user     -
//	security.breach_check_failed   a sign-in's breach check failed    user        user     mode
//
//	auth.password_reset.request    a reset link was sent              -           user     -
//	auth.password_reset.complete   a reset link set a new password    user        user     revoked
//	auth.magic_link.request        a sign-in link was sent            -           user     -
//	auth.magic_link.login          a sign-in link was used            user        user     -
//
//	account.email_change.request   a change of address was asked      user        user     new_email
//	account.email_change.complete  the new address was confirmed      user        user     old_email, new_email
//	account.email_change.cancel    a pending change was cancelled     user        user     -
//	account.password_change        the password was changed           user        user     revoked, reason
//	auth.sudo                      a credential was re-entered        user        user     method
//	account.delete.schedule        a deletion was scheduled           user/admin  user     due
//	account.delete.cancel          a pending deletion was cancelled   user/admin  user     -
//	account.delete.complete        the account was deleted            -/admin     user     mode
//
//	session.revoke                 one session was revoked            user/admin  user     device_id
//	session.revoke_others          the other sessions were revoked    user        user     revoked
//	session.revoke_all             every session was revoked          user/admin  user     revoked, reason
//
//	account.disable                the account was disabled           admin/-     user     via
//	account.enable                 the account was enabled again      admin/-     user     via
//	security.unlock                the account's locks were cleared   admin/-     user     via
//
//	mfa.totp.enable                a TOTP authenticator was added     user        user     -
//	mfa.totp.disable               a TOTP authenticator was removed   user/admin  user     -
//	mfa.challenge.success          a second factor verified           user        user     method
//	mfa.challenge.failure          a second factor was refused        -           user     method, reason
//	mfa.recovery_code.use          a recovery code was used           user        user     remaining
//	mfa.recovery_codes.regenerate  recovery codes were replaced       user        user     count
//	mfa.trusted_browser.add        a browser was trusted              user        user     browser_id
//	mfa.trusted_browser.revoke     trusted browsers were revoked      user/admin  user     browser_id, count
//
// Values of the keys above: method is a [sigra.Method] ("password",
// "totp", "passkey" and so on) or, for auth.confirm, "link" or "code"; reason is a short snake_case word
// ("bad_password", "unknown_user", "locked", "disabled", "unconfirmed",
// "bad_code"); aal is "1" or "2"; until and due are RFC 3339 times;
// failures, revoked, remaining and count are decimal numbers; device_id is
// the public ID of a session (never its token); browser_id the ID of a
// trusted-browser grant; mode is "delete" or "anonymize".
//
// An application records its own actions with the same Logger: any
// well-formed action is accepted unless Config.Strict is set, in which case
// it lists them in Config.Actions.
//
// # Querying and export
//
// [Logger.Query] checks a [store.AuditQuery] (page size, time range) and
// returns one page, newest first, with the cursor of the next. [WriteCSV]
// and [CSVWriter] export pages as CSV, with every cell that a spreadsheet
// could run as a formula defused; [WriteJSONLines] writes one JSON object
// per line for log pipelines.
//
// # Tamper evidence
//
// A [Chain] links the audit rows into a hash chain. Rows are written as
// always, in the transaction of the change they describe, without a seal;
// [Chain.Run] (one per instance; the kit's Run runs it) then seals them in
// batches, oldest first: each row gets the next sequence number, the
// previous row's hash and its own hash,
//
//	hash = HMAC-SHA256(key, prev_hash || seq || Canonical(row))
//
// (plain SHA-256 without a key; see [Canonical] for the encoding). A batch
// is written in one transaction, conditioned on the head it was computed
// from, so sealers on several instances never fork the chain or leave a
// gap: the one that loses a race starts again from the new head. The
// chain's order is the order of sealing, not of the rows' times: a row
// committed late (a long transaction) is sealed in a later batch.
//
// [Chain.Verify] walks a range in sequence order and reports the first
// broken link: a row changed after sealing (its hash no longer matches),
// rows deleted (a missing sequence number), rows reordered or deleted and
// renumbered (a previous hash that is not the row before's), a head that
// is not the last row. Rows removed from the end with the head moved back
// leave a chain that is whole but shorter: an [Anchor] (the head's
// sequence number and hash, from [Chain.Anchor]) that an operator exported
// earlier and kept outside the database shows it, since the anchor's row
// is then gone or has another hash. Export one periodically ("sigra audit
// anchor") to somewhere the database's writers cannot reach.
//
// What the chain proves: that the sealed rows from the first to the head
// (or to an anchor) are the ones that were sealed, unchanged, in that
// order, as long as the key stayed secret. What it does not prove:
//
//   - that every event was recorded: a row never written (a flow that does
//     not audit, a failure to write that was only logged) leaves no trace;
//   - anything about a row before it is sealed: for up to the sealing
//     interval (DefaultSealInterval) after its commit, and for as long as
//     no sealer runs, a row can be changed or deleted without a trace;
//     Verify counts rows unsealed for longer than Config.MaxUnsealedAge;
//   - that a row is genuine: someone who can write the database can insert
//     a row, which the sealer will seal like any other (back-dated rows
//     show as unsealed for long, then sealed out of time order);
//   - anything against someone who holds both the key and the database, or
//     the database alone when no key is set: they can recompute the whole
//     chain. Only anchors kept elsewhere then show a rewrite, up to the
//     last anchor;
//   - truncation after the last anchor: rows sealed since the last anchor
//     can be removed from the end without a trace.
//
// The key must be the same on every instance and in the operator's tool;
// a chain sealed with a key verifies only with that key.
package audit
