package sqlite

// signInMethodsSQL counts the ways the user ?1 has to sign in: a password
// hash, each linked identity (OAuth, OpenID Connect) and each passkey. It
// is the one place that decides what counts as a way to sign in: the
// removal of any of them (DeleteIdentity, DeletePasskey) refuses, with
// store.ErrLastSignInMethod, to leave none, and a new way to sign in adds
// its table here. Run it in the removal's transaction on the writer, which
// keeps the count from changing before the removal.
const signInMethodsSQL = `SELECT
	(SELECT count(*) FROM sigra_users WHERE id = ?1 AND password_hash <> '')
	+ (SELECT count(*) FROM sigra_identities WHERE user_id = ?1)
	+ (SELECT count(*) FROM sigra_passkeys WHERE user_id = ?1)`
