package audit

// Sign-up and sign-in.
const (
	// ActionRegister: an account was created.
	ActionRegister = "auth.register"
	// ActionConfirm: a user confirmed their email address, by link or code.
	ActionConfirm = "auth.confirm"
	// ActionLoginSuccess: a user completed sign-in (after the second factor
	// when one is required).
	ActionLoginSuccess = "auth.login.success"
	// ActionLoginFailure: a sign-in attempt failed before the second factor:
	// unknown address, wrong password, locked, disabled or unconfirmed
	// account. Record it with [Logger.RecordFailure].
	ActionLoginFailure = "auth.login.failure"
	// ActionLogout: a user signed out.
	ActionLogout = "auth.logout"
	// ActionLockout: too many password failures locked the account for a
	// while.
	ActionLockout = "security.lockout"
	// ActionLockoutMFA: too many second-factor failures locked the second
	// factor for a while.
	ActionLockoutMFA = "security.lockout.mfa"
	// ActionNewDeviceAlert: a sign-in from a device (network, browser and
	// operating system) not seen lately for the user was reported to them
	// by email, with a link to say it was not them.
	ActionNewDeviceAlert = "security.new_device.alert"
	// ActionNewDeviceNotMe: the user followed the link of a new-device
	// alert and said the sign-in was not them: that session (or, if it had
	// ended or changed, every session of the user) was revoked and a
	// password reset was started.
	ActionNewDeviceNotMe = "security.new_device.not_me"
	// ActionPasswordBreached: a user signed in with a password found in a
	// breach and was asked to choose a new one before going on.
	ActionPasswordBreached = "security.password_breached"
	// ActionBreachCheckFailed: the breach check of a sign-in could not be
	// done (the service was unreachable or answered badly). The metadata's
	// "mode" says what followed: "open" (signed in unchecked) or "closed"
	// (sign-in refused).
	ActionBreachCheckFailed = "security.breach_check_failed"
)

// Account recovery by email.
const (
	// ActionPasswordResetRequest: a password reset link was sent.
	ActionPasswordResetRequest = "auth.password_reset.request"
	// ActionPasswordResetComplete: a user set a new password through a reset
	// link; every session and outstanding token was revoked.
	ActionPasswordResetComplete = "auth.password_reset.complete"
	// ActionMagicLinkRequest: a sign-in link was sent.
	ActionMagicLinkRequest = "auth.magic_link.request"
	// ActionMagicLinkLogin: a sign-in link was used.
	ActionMagicLinkLogin = "auth.magic_link.login"
)

// Account settings.
const (
	// ActionEmailChangeRequest: a user asked to change their address; a
	// confirmation link was sent to the new one.
	ActionEmailChangeRequest = "account.email_change.request"
	// ActionEmailChangeComplete: the new address was confirmed and replaced
	// the old one.
	ActionEmailChangeComplete = "account.email_change.complete"
	// ActionEmailChangeCancel: a pending address change was cancelled.
	ActionEmailChangeCancel = "account.email_change.cancel"
	// ActionPasswordChange: a signed-in user changed their password; their
	// other sessions were revoked. The metadata's "reason" is "breached"
	// when the change was required because the old password was found in
	// a breach.
	ActionPasswordChange = "account.password_change"
	// ActionSudo: a signed-in user re-entered a credential to reach a
	// sensitive page.
	ActionSudo = "auth.sudo"
	// ActionDeleteSchedule: an account deletion was scheduled.
	ActionDeleteSchedule = "account.delete.schedule"
	// ActionDeleteCancel: a scheduled account deletion was cancelled.
	ActionDeleteCancel = "account.delete.cancel"
	// ActionDeleteComplete: an account was deleted or anonymized.
	ActionDeleteComplete = "account.delete.complete"
)

// Sessions.
const (
	// ActionSessionRevoke: one session was revoked from a device list.
	ActionSessionRevoke = "session.revoke"
	// ActionSessionRevokeOthers: every session of a user but the current
	// one was revoked.
	ActionSessionRevokeOthers = "session.revoke_others"
	// ActionSessionRevokeAll: every session of a user was revoked.
	ActionSessionRevokeAll = "session.revoke_all"
)

// Operator actions on an account (the command-line tool, and later the
// admin console).
const (
	// ActionUserDisable: an account was disabled; its sessions were
	// revoked with it.
	ActionUserDisable = "account.disable"
	// ActionUserEnable: a disabled account was enabled again.
	ActionUserEnable = "account.enable"
	// ActionUnlock: an account's password and second-factor locks and
	// attempt counters were cleared.
	ActionUnlock = "security.unlock"
)

// Second factors.
const (
	// ActionTOTPEnable: a user confirmed a new TOTP authenticator.
	ActionTOTPEnable = "mfa.totp.enable"
	// ActionTOTPDisable: a user's TOTP authenticator was removed.
	ActionTOTPDisable = "mfa.totp.disable"
	// ActionMFAChallengeSuccess: a second factor verified during sign-in.
	ActionMFAChallengeSuccess = "mfa.challenge.success"
	// ActionMFAChallengeFailure: a second factor did not verify during
	// sign-in. Record it with [Logger.RecordFailure].
	ActionMFAChallengeFailure = "mfa.challenge.failure"
	// ActionRecoveryCodeUse: a recovery code was used in place of a second
	// factor.
	ActionRecoveryCodeUse = "mfa.recovery_code.use"
	// ActionRecoveryCodesRegenerate: a new set of recovery codes replaced
	// the old one.
	ActionRecoveryCodesRegenerate = "mfa.recovery_codes.regenerate"
	// ActionTrustedBrowserAdd: a user chose to skip the second factor on a
	// browser for a while.
	ActionTrustedBrowserAdd = "mfa.trusted_browser.add"
	// ActionTrustedBrowserRevoke: one or all trusted browsers of a user were
	// revoked.
	ActionTrustedBrowserRevoke = "mfa.trusted_browser.revoke"
)

// catalogue lists the actions above in documentation order. It is never
// modified; [Actions] hands out copies.
var catalogue = [...]string{
	ActionRegister,
	ActionConfirm,
	ActionLoginSuccess,
	ActionLoginFailure,
	ActionLogout,
	ActionLockout,
	ActionLockoutMFA,
	ActionNewDeviceAlert,
	ActionNewDeviceNotMe,
	ActionPasswordBreached,
	ActionBreachCheckFailed,

	ActionPasswordResetRequest,
	ActionPasswordResetComplete,
	ActionMagicLinkRequest,
	ActionMagicLinkLogin,

	ActionEmailChangeRequest,
	ActionEmailChangeComplete,
	ActionEmailChangeCancel,
	ActionPasswordChange,
	ActionSudo,
	ActionDeleteSchedule,
	ActionDeleteCancel,
	ActionDeleteComplete,

	ActionSessionRevoke,
	ActionSessionRevokeOthers,
	ActionSessionRevokeAll,

	ActionUserDisable,
	ActionUserEnable,
	ActionUnlock,

	ActionTOTPEnable,
	ActionTOTPDisable,
	ActionMFAChallengeSuccess,
	ActionMFAChallengeFailure,
	ActionRecoveryCodeUse,
	ActionRecoveryCodesRegenerate,
	ActionTrustedBrowserAdd,
	ActionTrustedBrowserRevoke,
}

// Actions returns the actions of the catalogue, in the order of the table in
// the package documentation. The slice is a fresh copy on every call.
func Actions() []string {
	out := make([]string, len(catalogue))
	copy(out, catalogue[:])
	return out
}

// inCatalogue reports whether action is one of [Actions].
func inCatalogue(action string) bool {
	for _, a := range catalogue {
		if a == action {
			return true
		}
	}
	return false
}
