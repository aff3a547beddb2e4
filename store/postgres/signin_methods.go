package postgres

// signInMethodsSQL counts the ways the user $1 has to sign in: a password
// hash, each linked identity (OAuth, OpenID Connect) and each passkey. It
// is the one place that decides what counts as a way to sign in: the
// removal of any of them (DeleteIdentity, DeletePasskey) refuses, with
// store.ErrLastSignInMethod, to leave none, and a new way to sign in adds
// its table here. Run it after lockUserSQL, in the removal's transaction:
// under READ COMMITTED it then sees what the removals before it committed.
const signInMethodsSQL = `SELECT
	(SELECT count(*) FROM sigra_users WHERE id = $1 AND password_hash <> '')
	+ (SELECT count(*) FROM sigra_identities WHERE user_id = $1)
	+ (SELECT count(*) FROM sigra_passkeys WHERE user_id = $1)`

// lockUserSQL locks the user's row until the transaction ends: changes to
// a user's ways to sign in take turns on it.
const lockUserSQL = `SELECT 1 FROM sigra_users WHERE id = $1 FOR UPDATE`
