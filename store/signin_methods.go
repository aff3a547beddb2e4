package store

import "errors"

// ErrLastSignInMethod is returned, wrapped, by a removal that would leave a
// user with no way to sign in: no password, no passkey and no linked
// identity (an OAuth or OpenID Connect account). Adapters check it in the
// removal's own transaction, with the user's row locked, so two concurrent
// removals of a user's last two methods cannot both succeed. Nothing
// changes.
var ErrLastSignInMethod = errors.New("sigra/store: the user's last way to sign in")
