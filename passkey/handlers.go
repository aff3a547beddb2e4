package passkey

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/web"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// Page titles.
const (
	titleManage = "Passkeys"
	titleSignIn = "Sign in with a passkey"
)

// Messages of the refusals the pages and scripts show.
const (
	msgExpired      = "This passkey request expired or was already used. Try again."
	msgBadPasskey   = "That passkey was not recognised. Try again, or sign in another way."
	msgNotVerified  = "Your passkey could not be verified. Try again."
	msgNoPasskeys   = "There is no passkey on this account."
	msgLastMethod   = "This passkey is your only way to sign in. Set a password or add another passkey before you remove it."
	msgCloned       = "This passkey looks copied to another device and cannot be used. Sign in another way."
	msgDisabled     = "This account is disabled. Contact support."
	msgBadName      = "Use at most 64 characters."
	msgNoName       = "Enter a name."
	msgSameFactor   = "You signed in with a passkey: use a code from your authenticator app instead."
	msgNoSignInWait = "No sign-in is waiting for a second factor. Sign in again."
)

// errCloned is a sign-in refused by the clone policy.
var errCloned = errors.New("sigra/passkey: cloned authenticator")

// limit checks the rate limit key against lim and answers a refusal (or a
// limiter failure). ok is false when it answered.
func (p *Passkeys) limit(w http.ResponseWriter, r *http.Request, key string, lim middleware.Limit) bool {
	if err := p.k.Limiter.Check(r.Context(), key, lim); err != nil {
		p.k.Error(w, r, err)
		return false
	}
	return true
}

// limitIP checks a per-address limit of kind ("options", "finish").
func (p *Passkeys) limitIP(w http.ResponseWriter, r *http.Request, kind string, lim middleware.Limit) bool {
	ip, _ := audit.RequestInfo(r.Context())
	return p.limit(w, r, "passkey-"+kind+"-ip:"+ip, lim)
}

// limitUser checks the per-account limit of the finishes.
func (p *Passkeys) limitUser(w http.ResponseWriter, r *http.Request, userID string) bool {
	return p.limit(w, r, "passkey-user:"+userID, p.cfg.Limits.FinishPerUser)
}

// read reads the body of a ceremony route and the per-address limit of
// kind; ok is false when it answered.
func (p *Passkeys) read(w http.ResponseWriter, r *http.Request, kind string, lim middleware.Limit) (kernel.Input, bool) {
	in, err := kernel.ReadInput(r)
	if err != nil {
		p.k.BadInput(w, r)
		return nil, false
	}
	if !p.limitIP(w, r, kind, lim) {
		return nil, false
	}
	return in, true
}

// expired answers a finish without a live ceremony of its kind.
func (p *Passkeys) expired(w http.ResponseWriter, r *http.Request) {
	p.k.Fail(w, r, http.StatusBadRequest, "ceremony_expired", msgExpired)
}

// storeFailure reports whether err, from a ceremony's validation, comes
// from the store (unreachable, too slow) rather than from the passkey.
func storeFailure(err error) bool {
	return errors.Is(err, store.ErrUnavailable) || errors.Is(err, sigra.ErrBusy) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded)
}

// ---- management ----

func (p *Passkeys) manageData(r *http.Request) (*ManageData, error) {
	ctx := r.Context()
	u, err := p.st.UserByID(ctx, p.k.Sess.User(ctx).ID)
	if err != nil {
		return nil, err
	}
	keys, err := p.st.PasskeysByUser(ctx, u.ID, p.cfg.RPID)
	if err != nil {
		return nil, err
	}
	d := &ManageData{Max: p.cfg.MaxPasskeys, HasPassword: u.PasswordHash != "", Passkeys: []Passkey{}}
	for _, k := range keys {
		d.Passkeys = append(d.Passkeys, view(k))
	}
	return d, nil
}

func (p *Passkeys) managePage(w http.ResponseWriter, r *http.Request) {
	d, err := p.manageData(r)
	if err != nil {
		p.k.Error(w, r, err)
		return
	}
	p.k.Render(w, r, http.StatusOK, "passkeys", p.k.Page(r, titleManage, d),
		map[string]any{"ok": true, "passkeys": d.Passkeys, "max": d.Max})
}

// manageError answers a refused management form: the page again with the
// error, or JSON.
func (p *Passkeys) manageError(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields map[string]string) {
	p.k.FormError(w, r, status, "passkeys", func() (*ui.Page, error) {
		d, err := p.manageData(r)
		if err != nil {
			return nil, err
		}
		return p.k.Page(r, titleManage, d), nil
	}, code, msg, fields)
}

// badManageForm answers a management form whose body ReadInput refused.
func (p *Passkeys) badManageForm(w http.ResponseWriter, r *http.Request, err error) {
	e := kernel.Refusal(err)
	p.manageError(w, r, http.StatusBadRequest, e.Code, e.Message, e.Fields)
}

// registerOptions begins a registration for the signed-in user (behind
// sudo): the creation options, excluding the user's passkeys, with the
// name to give the new passkey kept in the ceremony.
func (p *Passkeys) registerOptions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, ok := p.read(w, r, "options", p.cfg.Limits.OptionsPerIP)
	if !ok {
		return
	}
	su := p.k.Sess.User(ctx)
	name, ok := cleanName(in["name"])
	if !ok {
		p.k.FormError(w, r, http.StatusUnprocessableEntity, "passkeys", nil, "invalid_name", msgBadName, map[string]string{"name": msgBadName})
		return
	}
	wu, err := p.webUser(ctx, su.ID, su.Email)
	if err != nil {
		p.k.Error(w, r, err)
		return
	}
	if len(wu.keys) >= p.cfg.MaxPasskeys {
		p.k.Fail(w, r, http.StatusConflict, "passkey_limit", limitMessage(p.cfg.MaxPasskeys))
		return
	}
	creation, data, err := p.wa.BeginRegistration(wu, webauthn.WithExclusions(descriptors(wu.keys)))
	if err != nil {
		p.k.Error(w, r, err)
		return
	}
	if err := p.begin(ctx, &ceremony{Kind: kindRegister, UserID: su.ID, Name: name, Data: *data}); err != nil {
		p.k.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, creation)
}

func limitMessage(n int) string {
	return "You have " + plural(n, "passkey", "passkeys") + ", the most allowed. Remove one to add another."
}

// register finishes a registration: the attestation is verified against
// the ceremony, the passkey stored (unique per relying party, within the
// limit) with its audit row and notice, in one transaction.
func (p *Passkeys) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, ok := p.read(w, r, "finish", p.cfg.Limits.FinishPerIP)
	if !ok {
		return
	}
	su := p.k.Sess.User(ctx)
	if !p.limitUser(w, r, su.ID) {
		return
	}
	c, err := p.take(ctx, kindRegister)
	if err != nil || c.UserID != su.ID {
		p.k.RecordFailure(ctx, ActionAddFailure, su.ID, su.ID, map[string]string{"reason": "expired"})
		p.expired(w, r)
		return
	}
	refuse := func(status int, reason, code, msg string) {
		p.k.RecordFailure(ctx, ActionAddFailure, su.ID, su.ID, map[string]string{"reason": reason})
		p.k.Fail(w, r, status, code, msg)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(in["credential"]))
	if err != nil {
		p.k.RecordFailure(ctx, ActionAddFailure, su.ID, su.ID, map[string]string{"reason": "malformed"})
		p.k.FormError(w, r, http.StatusBadRequest, "passkeys", nil, "invalid_credential", msgNotVerified,
			map[string]string{"credential": "Not a WebAuthn registration response."})
		return
	}
	wu, err := p.webUser(ctx, su.ID, su.Email)
	if err != nil {
		p.k.Error(w, r, err)
		return
	}
	cred, err := p.wa.CreateCredential(wu, c.Data, parsed)
	if err != nil {
		refuse(http.StatusBadRequest, "not_verified", "passkey_not_verified", msgNotVerified)
		return
	}
	_, ua := audit.RequestInfo(ctx)
	name := c.Name
	if name == "" {
		name = defaultName(cred.Authenticator.AAGUID, ua)
	}
	transports := make([]string, len(cred.Transport))
	for i, t := range cred.Transport {
		transports[i] = string(t)
	}
	key := &store.Passkey{
		UserID: su.ID, RPID: p.cfg.RPID, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		AttestationType: cred.AttestationType, AttestationFormat: cred.AttestationFormat,
		AAGUID: cred.Authenticator.AAGUID, Transports: transports, Attachment: string(cred.Authenticator.Attachment),
		SignCount: cred.Authenticator.SignCount, UserVerified: cred.Flags.UserVerified,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		Name: name, CreatedAt: p.k.Now(),
	}
	err = p.k.InTx(ctx, func(ctx context.Context) error {
		if err := p.st.CreatePasskey(ctx, key, p.cfg.MaxPasskeys); err != nil {
			return err
		}
		if err := p.k.Record(ctx, ActionAdd, su.ID, su.ID, map[string]string{"authenticator_id": key.ID}); err != nil {
			return err
		}
		d := p.k.RequestEmail(r)
		d.Data = &PasskeyMail{Name: name}
		return p.k.Queue(ctx, "passkey_added", su.Email, d)
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		refuse(http.StatusConflict, "already_registered", "passkey_exists", "This passkey is already registered.")
		return
	case errors.Is(err, store.ErrPasskeyLimit):
		refuse(http.StatusConflict, "limit", "passkey_limit", limitMessage(p.cfg.MaxPasskeys))
		return
	case err != nil:
		p.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(p.k.Path(pathManage), "passkey_added"), map[string]any{"passkey": view(key)})
}

// rename renames one of the signed-in user's passkeys.
func (p *Passkeys) rename(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	if err != nil {
		p.badManageForm(w, r, err)
		return
	}
	su := p.k.Sess.User(ctx)
	name, ok := cleanName(in["name"])
	switch {
	case name == "":
		p.manageError(w, r, http.StatusUnprocessableEntity, "invalid_name", msgNoName, map[string]string{"name": msgNoName})
		return
	case !ok:
		p.manageError(w, r, http.StatusUnprocessableEntity, "invalid_name", msgBadName, map[string]string{"name": msgBadName})
		return
	}
	err = p.k.InTx(ctx, func(ctx context.Context) error {
		if err := p.st.RenamePasskey(ctx, su.ID, in["id"], name); err != nil {
			return err
		}
		return p.k.Record(ctx, ActionRename, su.ID, su.ID, map[string]string{"authenticator_id": in["id"]})
	})
	if errors.Is(err, store.ErrNotFound) {
		p.manageError(w, r, http.StatusNotFound, "not_found", "There is no such passkey.", nil)
		return
	}
	if err != nil {
		p.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(p.k.Path(pathManage), "passkey_renamed"), nil)
}

// remove removes one of the signed-in user's passkeys (behind sudo),
// never the last way to sign in, and emails the user.
func (p *Passkeys) remove(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := kernel.ReadInput(r)
	if err != nil {
		p.badManageForm(w, r, err)
		return
	}
	su := p.k.Sess.User(ctx)
	keys, err := p.st.PasskeysByUser(ctx, su.ID, p.cfg.RPID)
	if err != nil {
		p.k.Error(w, r, err)
		return
	}
	var key *store.Passkey
	for _, k := range keys {
		if k.ID == in["id"] {
			key = k
		}
	}
	if key == nil {
		p.manageError(w, r, http.StatusNotFound, "not_found", "There is no such passkey.", nil)
		return
	}
	err = p.k.InTx(ctx, func(ctx context.Context) error {
		if err := p.st.DeletePasskey(ctx, su.ID, key.ID, true); err != nil {
			return err
		}
		if err := p.k.Record(ctx, ActionRemove, su.ID, su.ID, map[string]string{"authenticator_id": key.ID, "reason": "user"}); err != nil {
			return err
		}
		d := p.k.RequestEmail(r)
		d.Data = &PasskeyMail{Name: key.Name}
		return p.k.Queue(ctx, "passkey_removed", su.Email, d)
	})
	switch {
	case errors.Is(err, store.ErrLastSignInMethod):
		p.manageError(w, r, http.StatusConflict, "last_sign_in_method", msgLastMethod, nil)
		return
	case errors.Is(err, store.ErrNotFound):
		p.manageError(w, r, http.StatusNotFound, "not_found", "There is no such passkey.", nil)
		return
	case err != nil:
		p.k.Error(w, r, err)
		return
	}
	kernel.Redirect(w, r, kernel.WithNotice(p.k.Path(pathManage), "passkey_removed"), nil)
}

// ---- sign-in ----

func (p *Passkeys) signInPage(w http.ResponseWriter, r *http.Request) {
	p.k.Render(w, r, http.StatusOK, "passkey_signin", p.k.Page(r, titleSignIn, nil),
		map[string]any{"ok": true, "options": p.k.Path(pathSignInOptions), "finish": p.k.Path(pathSignIn)})
}

// signInOptions begins a passwordless sign-in. Without an address it is a
// discoverable one (the authenticator offers the site's passkeys, also
// through the browser's autofill); with one it lists that account's
// passkeys, or, for an address with none (unknown, or an account without
// passkeys), stand-in credentials derived from the address: the answer
// looks the same either way.
func (p *Passkeys) signInOptions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, ok := p.read(w, r, "options", p.cfg.Limits.OptionsPerIP)
	if !ok {
		return
	}
	uv := webauthn.WithUserVerification(protocol.VerificationPreferred)
	c := &ceremony{Kind: kindSignIn}
	var assertion *protocol.CredentialAssertion
	var data *webauthn.SessionData
	var err error
	if raw := in["email"]; raw == "" {
		assertion, data, err = p.wa.BeginDiscoverableLogin(uv)
	} else {
		email, ok := kernel.LookupEmail(raw)
		if !ok {
			p.k.FormError(w, r, http.StatusBadRequest, "passkey_signin", nil, "invalid_email", kernel.InvalidEmailMessage,
				map[string]string{"email": kernel.InvalidEmailMessage})
			return
		}
		// The same reads whatever the address: the account, its
		// passkeys and its handle (an unknown address looks them up
		// for no one).
		id := ""
		u, lookupErr := p.st.UserByEmail(ctx, email)
		switch {
		case lookupErr == nil:
			id = u.ID
		case !errors.Is(lookupErr, store.ErrNotFound):
			p.k.Error(w, r, lookupErr)
			return
		}
		keys, keysErr := p.st.PasskeysByUser(ctx, id, p.cfg.RPID)
		handle, handleErr := p.st.PasskeyUserHandle(ctx, id, nil)
		for _, err := range []error{keysErr, handleErr} {
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				p.k.Error(w, r, err)
				return
			}
		}
		if len(keys) > 0 && handleErr == nil {
			c.UserID = id
			assertion, data, err = p.wa.BeginLogin(&user{handle: handle, name: u.Email, keys: keys}, uv)
		} else {
			c.Decoy = true
			assertion, data, err = p.wa.BeginDiscoverableLogin(uv, webauthn.WithAllowedCredentials(p.decoys(email)))
		}
	}
	if err != nil {
		p.k.Error(w, r, err)
		return
	}
	c.Data = *data
	if err := p.begin(ctx, c); err != nil {
		p.k.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, assertion)
}

// signIn finishes a passwordless sign-in. A passkey that verified the user
// (UV) signs in at AAL2 (methods: passkey); one that did not is one
// factor: the user goes on to the second step when the two-factor flows
// require one, and is signed in at AAL1 otherwise.
func (p *Passkeys) signIn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, ok := p.read(w, r, "finish", p.cfg.Limits.FinishPerIP)
	if !ok {
		return
	}
	c, err := p.take(ctx, kindSignIn)
	if err != nil {
		p.k.RecordFailure(ctx, audit.ActionLoginFailure, "", "", map[string]string{"method": "passkey", "reason": "expired"})
		p.expired(w, r)
		return
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(in["credential"]))
	if err != nil {
		p.k.RecordFailure(ctx, audit.ActionLoginFailure, "", "", map[string]string{"method": "passkey", "reason": "malformed"})
		p.k.FormError(w, r, http.StatusBadRequest, "passkey_signin", nil, "invalid_credential", msgBadPasskey,
			map[string]string{"credential": "Not a WebAuthn assertion."})
		return
	}
	fail := func(subject, reason string) {
		p.k.RecordFailure(ctx, audit.ActionLoginFailure, "", subject, map[string]string{"method": "passkey", "reason": reason})
		p.k.Fail(w, r, http.StatusUnauthorized, "invalid_credentials", msgBadPasskey)
	}
	if c.Decoy {
		fail("", "unknown_passkey")
		return
	}
	var su *store.User
	var wu *user
	var cred *webauthn.Credential
	if c.UserID != "" {
		if su, err = p.st.UserByID(ctx, c.UserID); err == nil {
			if wu, err = p.webUser(ctx, su.ID, su.Email); err == nil {
				cred, err = p.wa.ValidateLogin(wu, c.Data, parsed)
			}
		}
	} else {
		find := func(_, handle []byte) (webauthn.User, error) {
			id, err := p.st.UserIDByPasskeyHandle(ctx, handle)
			if err != nil {
				return nil, err
			}
			if su, err = p.st.UserByID(ctx, id); err != nil {
				return nil, err
			}
			wu, err = p.webUser(ctx, su.ID, su.Email)
			return wu, err
		}
		_, cred, err = p.wa.ValidatePasskeyLogin(find, c.Data, parsed)
	}
	if err != nil {
		if storeFailure(err) {
			p.k.Error(w, r, err)
			return
		}
		subject := ""
		if su != nil {
			subject = su.ID
		}
		fail(subject, "bad_passkey")
		return
	}
	if !p.limitUser(w, r, su.ID) {
		return
	}
	if !su.DisabledAt.IsZero() {
		p.k.RecordFailure(ctx, audit.ActionLoginFailure, "", su.ID, map[string]string{"method": "passkey", "reason": "disabled"})
		p.k.Fail(w, r, http.StatusForbidden, "account_disabled", msgDisabled)
		return
	}
	if err := p.used(ctx, r, su, wu.key(cred.ID), cred, parsed); err != nil {
		p.refused(w, r, err)
		return
	}
	pub := &sigra.User{ID: su.ID, Email: su.Email, EmailConfirmedAt: su.EmailConfirmedAt, CreatedAt: su.CreatedAt}
	remember, next := in.Bool("remember"), p.k.ReturnTo(r, in)
	methods, aal := []sigra.Method{sigra.MethodPasskey}, sigra.AAL2
	if !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		aal = sigra.AAL1
		if sf := p.cfg.SecondFactor; sf != nil {
			need, err := sf.Required(ctx, su.ID)
			if err != nil {
				p.k.Error(w, r, err)
				return
			}
			if need && !sf.Trusted(r, su.ID) {
				if err := p.k.Sess.BeginSecondFactor(ctx, pub, sigra.MethodPasskey, remember); err != nil {
					p.k.Error(w, r, err)
					return
				}
				target := p.k.Route(ui.RouteSecondFactor)
				if next != p.k.Site.Home() {
					target += "?" + url.Values{"return_to": {next}}.Encode()
				}
				kernel.Redirect(w, r, target, map[string]any{"mfa_required": true})
				return
			}
			if need {
				methods, aal = append(methods, sigra.MethodTrustedBrowser), sigra.AAL2
			}
		}
	}
	if err := p.k.Sess.SignIn(ctx, pub, methods, aal, remember); err != nil {
		p.k.Error(w, r, err)
		return
	}
	p.k.RecordOutside(ctx, audit.ActionLoginSuccess, su.ID, su.ID, map[string]string{"method": "passkey", "aal": aalString(aal)})
	if f := p.cfg.AfterSignIn; f != nil {
		f(ctx, pub)
	}
	kernel.Redirect(w, r, next, map[string]any{"aal": int(aal)})
}

func aalString(a sigra.AAL) string {
	if a >= sigra.AAL2 {
		return "2"
	}
	return "1"
}

// used applies a verified assertion to the stored passkey: the clone
// policy when the counter did not move past the stored one (errCloned
// when the policy refuses), then the new counter, backup state and time
// written back, with a record of a backup-state change.
func (p *Passkeys) used(ctx context.Context, r *http.Request, su *store.User, key *store.Passkey, cred *webauthn.Credential, parsed *protocol.ParsedCredentialAssertionData) error {
	if key == nil {
		return errors.New("sigra/passkey: verified credential not among the user's")
	}
	flags := parsed.Response.AuthenticatorData.Flags
	if cred.Authenticator.CloneWarning {
		meta := map[string]string{"authenticator_id": key.ID, "policy": p.cfg.ClonePolicy.String()}
		p.k.RecordFailure(ctx, ActionClone, "", su.ID, meta)
		p.k.Log.WarnContext(ctx, "sigra/passkey: signature counter did not advance: cloned authenticator?",
			"user_id", su.ID, "passkey_id", key.ID, "stored", key.SignCount, "got", parsed.Response.AuthenticatorData.Counter,
			"policy", p.cfg.ClonePolicy.String())
		switch p.cfg.ClonePolicy {
		case CloneReauthenticate:
			return errCloned
		case CloneRevoke:
			err := p.k.InTx(ctx, func(ctx context.Context) error {
				if err := p.st.DeletePasskey(ctx, su.ID, key.ID, false); err != nil {
					return err
				}
				if err := p.k.Record(ctx, ActionRemove, "", su.ID, map[string]string{"authenticator_id": key.ID, "reason": "clone"}); err != nil {
					return err
				}
				d := p.k.RequestEmail(r)
				d.Data = &PasskeyMail{Name: key.Name, Revoked: true}
				return p.k.Queue(ctx, "passkey_removed", su.Email, d)
			})
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return errCloned
		}
	}
	return p.k.InTx(ctx, func(ctx context.Context) error {
		use := store.PasskeyUse{SignCount: parsed.Response.AuthenticatorData.Counter, BackupState: flags.HasBackupState(), At: p.k.Now()}
		if err := p.st.UsePasskey(ctx, su.ID, key.ID, use); err != nil {
			return err
		}
		if use.BackupState == key.BackupState {
			return nil
		}
		return p.k.Record(ctx, ActionBackupState, "", su.ID,
			map[string]string{"authenticator_id": key.ID, "backed_up": boolString(use.BackupState)})
	})
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// refused answers an error of used.
func (p *Passkeys) refused(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errCloned) {
		p.k.Fail(w, r, http.StatusUnauthorized, "passkey_cloned", msgCloned)
		return
	}
	p.k.Error(w, r, err)
}

// ---- second factor ----

// challengeUser returns the user a second-factor ceremony is for: the
// pending user, or a signed-in user at AAL1 stepping up; nil if neither.
func (p *Passkeys) challengeUser(r *http.Request) *sigra.User {
	a := sigra.AuthFrom(r.Context())
	if a.State == sigra.StatePending || (a.SignedIn() && a.AAL < sigra.AAL2) {
		return p.k.Sess.User(r.Context())
	}
	return nil
}

// challengeOptions begins a passkey second factor for the pending sign-in
// or a step-up. A session that a passkey began needs another kind of
// factor.
func (p *Passkeys) challengeOptions(w http.ResponseWriter, r *http.Request) {
	p.verifyOptions(w, r, kindChallenge)
}

// sudoOptions begins a re-authentication by passkey.
func (p *Passkeys) sudoOptions(w http.ResponseWriter, r *http.Request) {
	p.verifyOptions(w, r, kindSudo)
}

// verifyOptions begins a ceremony of kind (challenge or sudo) for the
// session's user, with the user's passkeys allowed.
func (p *Passkeys) verifyOptions(w http.ResponseWriter, r *http.Request, kind string) {
	ctx := r.Context()
	if _, ok := p.read(w, r, "options", p.cfg.Limits.OptionsPerIP); !ok {
		return
	}
	su := p.k.Sess.User(ctx)
	if kind == kindChallenge {
		su = p.challengeUser(r)
		if su == nil {
			p.k.Fail(w, r, http.StatusUnauthorized, "unauthenticated", msgNoSignInWait)
			return
		}
		if sigra.AuthFrom(ctx).Used(sigra.MethodPasskey) {
			p.k.Fail(w, r, http.StatusConflict, "same_factor", msgSameFactor)
			return
		}
	}
	wu, err := p.webUser(ctx, su.ID, su.Email)
	if err != nil {
		p.k.Error(w, r, err)
		return
	}
	if len(wu.keys) == 0 {
		p.k.Fail(w, r, http.StatusConflict, "no_passkeys", msgNoPasskeys)
		return
	}
	assertion, data, err := p.wa.BeginLogin(wu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		p.k.Error(w, r, err)
		return
	}
	if err := p.begin(ctx, &ceremony{Kind: kind, UserID: su.ID, Data: *data}); err != nil {
		p.k.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, assertion)
}

// verify finishes a ceremony of kind for the session's user and returns
// the stored user; ok is false when it answered. failure is the audit
// action of a refusal, method "passkey".
func (p *Passkeys) verify(w http.ResponseWriter, r *http.Request, kind string, su *sigra.User, failure string) (*store.User, kernel.Input, bool) {
	ctx := r.Context()
	in, ok := p.read(w, r, "finish", p.cfg.Limits.FinishPerIP)
	if !ok {
		return nil, nil, false
	}
	if !p.limitUser(w, r, su.ID) {
		return nil, nil, false
	}
	fail := func(reason string) {
		p.k.RecordFailure(ctx, failure, su.ID, su.ID, map[string]string{"method": "passkey", "reason": reason})
	}
	c, err := p.take(ctx, kind)
	if err != nil || c.UserID != su.ID {
		fail("expired")
		p.expired(w, r)
		return nil, nil, false
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(in["credential"]))
	if err != nil {
		fail("malformed")
		p.k.Fail(w, r, http.StatusBadRequest, "invalid_credential", msgBadPasskey)
		return nil, nil, false
	}
	u, err := p.st.UserByID(ctx, su.ID)
	if err != nil {
		p.k.Error(w, r, err)
		return nil, nil, false
	}
	wu, err := p.webUser(ctx, u.ID, u.Email)
	if err != nil {
		p.k.Error(w, r, err)
		return nil, nil, false
	}
	cred, err := p.wa.ValidateLogin(wu, c.Data, parsed)
	if err != nil {
		fail("bad_passkey")
		p.k.Fail(w, r, http.StatusUnauthorized, "invalid_credentials", msgBadPasskey)
		return nil, nil, false
	}
	if err := p.used(ctx, r, u, wu.key(cred.ID), cred, parsed); err != nil {
		p.refused(w, r, err)
		return nil, nil, false
	}
	return u, in, true
}

// challenge finishes a passkey second factor: the pending sign-in
// completes at AAL2, or the signed-in session rises to AAL2.
func (p *Passkeys) challenge(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	su := p.challengeUser(r)
	if su == nil {
		p.k.Fail(w, r, http.StatusUnauthorized, "unauthenticated", msgNoSignInWait)
		return
	}
	a := sigra.AuthFrom(ctx)
	pending := a.State == sigra.StatePending
	if a.Used(sigra.MethodPasskey) {
		// A passkey is one factor: it cannot be the second of a session
		// that a passkey began.
		p.k.Fail(w, r, http.StatusConflict, "same_factor", msgSameFactor)
		return
	}
	first := ""
	if len(a.Methods) > 0 {
		first = string(a.Methods[0])
	}
	u, in, ok := p.verify(w, r, kindChallenge, su, audit.ActionMFAChallengeFailure)
	if !ok {
		return
	}
	var err error
	if pending {
		err = p.k.Sess.CompleteSecondFactor(ctx, sigra.MethodPasskey)
	} else {
		err = p.k.Sess.RaiseAAL(ctx, sigra.MethodPasskey)
	}
	if errors.Is(err, session.ErrNotPending) {
		kernel.Redirect(w, r, p.k.Route(ui.RouteSignIn), nil)
		return
	}
	if err != nil {
		p.k.Error(w, r, err)
		return
	}
	p.k.RecordOutside(ctx, audit.ActionMFAChallengeSuccess, u.ID, u.ID, map[string]string{"method": "passkey"})
	if pending {
		p.k.RecordOutside(ctx, audit.ActionLoginSuccess, u.ID, u.ID, map[string]string{"method": first, "aal": "2"})
	}
	kernel.Redirect(w, r, p.k.ReturnTo(r, in), map[string]any{"aal": 2})
}

// sudo finishes a re-authentication by passkey: the sudo time is set (the
// token renewed) and the user goes back to return_to, or to the settings
// page.
func (p *Passkeys) sudo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	su := p.k.Sess.User(ctx)
	u, in, ok := p.verify(w, r, kindSudo, su, audit.ActionSudo)
	if !ok {
		return
	}
	if err := p.k.Sess.Sudo(ctx, sigra.MethodPasskey); err != nil {
		p.k.Error(w, r, err)
		return
	}
	p.k.RecordOutside(ctx, audit.ActionSudo, u.ID, u.ID, map[string]string{"method": "passkey"})
	next := p.k.Route(ui.RouteSettings)
	if rt := p.k.ReturnTo(r, in); rt != p.k.Site.Home() {
		next = rt
	}
	kernel.Redirect(w, r, next, nil)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}
