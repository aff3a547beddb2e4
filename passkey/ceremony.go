package passkey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
)

// The kinds of ceremony a session may have under way.
const (
	kindRegister  = "register"
	kindSignIn    = "signin"
	kindChallenge = "challenge"
	kindSudo      = "sudo"
)

// ceremonyKey is the session value that holds the ceremony under way.
const ceremonyKey = "sigra.passkey.ceremony"

// ceremony is the server side of one WebAuthn ceremony, kept in the
// browser's session between its options and its finish: the whole
// go-webauthn SessionData (challenge, user, allowed credentials, expiry),
// what the ceremony is for, and when it ends by the site's clock. A
// session holds one ceremony at a time; a new one replaces it, and the
// finish takes it out before checking anything, so it works once.
type ceremony struct {
	Kind string `json:"kind"`
	// UserID is the user the ceremony is for: the signed-in or pending
	// user, or the known owner of an email-first address; "" for a
	// discoverable sign-in and for an address without passkeys.
	UserID string `json:"user_id,omitempty"`
	// Decoy marks an email-first sign-in for an address without passkeys:
	// its options offered stand-in credentials, and it always fails.
	Decoy bool `json:"decoy,omitempty"`
	// Name is the name a registration gives the new passkey ("" for the
	// default).
	Name    string               `json:"name,omitempty"`
	Expires time.Time            `json:"expires"`
	Data    webauthn.SessionData `json:"data"`
}

// errCeremony is a finish without a live ceremony of its kind: none was
// begun, it was used, it expired, or another replaced it.
var errCeremony = errors.New("sigra/passkey: no ceremony under way")

// begin stores c as the session's ceremony, expiring after Timeout.
func (p *Passkeys) begin(ctx context.Context, c *ceremony) error {
	c.Expires = p.k.Now().Add(p.cfg.Timeout)
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	p.k.Sess.Values().Put(ctx, ceremonyKey, string(b))
	return nil
}

// take removes the session's ceremony and returns it if it is of kind and
// live; otherwise errCeremony. It is removed either way: a ceremony is
// tried once.
func (p *Passkeys) take(ctx context.Context, kind string) (*ceremony, error) {
	raw := p.k.Sess.Values().PopString(ctx, ceremonyKey)
	if raw == "" {
		return nil, errCeremony
	}
	var c ceremony
	if err := json.Unmarshal([]byte(raw), &c); err != nil || c.Kind != kind || !p.k.Now().Before(c.Expires) {
		return nil, errCeremony
	}
	return &c, nil
}

// user is a store user with their passkeys, as go-webauthn sees them.
type user struct {
	handle []byte
	name   string
	keys   []*store.Passkey
}

func (u *user) WebAuthnID() []byte          { return u.handle }
func (u *user) WebAuthnName() string        { return u.name }
func (u *user) WebAuthnDisplayName() string { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(u.keys))
	for i, k := range u.keys {
		out[i] = credential(k)
	}
	return out
}

// key returns the user's passkey with the credential ID, or nil.
func (u *user) key(id []byte) *store.Passkey {
	for _, k := range u.keys {
		if hmac.Equal(k.CredentialID, id) {
			return k
		}
	}
	return nil
}

// credential is the go-webauthn view of a stored passkey.
func credential(k *store.Passkey) webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, len(k.Transports))
	for i, t := range k.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID: k.CredentialID, PublicKey: k.PublicKey, AttestationType: k.AttestationType,
		AttestationFormat: k.AttestationFormat, Transport: transports,
		Flags: webauthn.CredentialFlags{
			UserPresent: true, UserVerified: k.UserVerified, BackupEligible: k.BackupEligible, BackupState: k.BackupState,
		},
		Authenticator: webauthn.Authenticator{
			AAGUID: k.AAGUID, SignCount: k.SignCount, Attachment: protocol.AuthenticatorAttachment(k.Attachment),
		},
	}
}

// descriptors lists the user's credentials for allowCredentials and
// excludeCredentials.
func descriptors(keys []*store.Passkey) []protocol.CredentialDescriptor {
	out := make([]protocol.CredentialDescriptor, len(keys))
	for i, k := range keys {
		c := credential(k)
		out[i] = c.Descriptor()
	}
	return out
}

// webUser loads the user's handle (creating it on first use) and
// passkeys.
func (p *Passkeys) webUser(ctx context.Context, userID, email string) (*user, error) {
	fresh, err := newHandle()
	if err != nil {
		return nil, err
	}
	handle, err := p.st.PasskeyUserHandle(ctx, userID, fresh)
	if err != nil {
		return nil, err
	}
	keys, err := p.st.PasskeysByUser(ctx, userID, p.cfg.RPID)
	if err != nil {
		return nil, err
	}
	return &user{handle: handle, name: email, keys: keys}, nil
}

// newHandle returns a new random WebAuthn user handle: 32 bytes, never
// derived from the user.
func newHandle() ([]byte, error) {
	c, err := protocol.CreateChallenge()
	if err != nil {
		return nil, err
	}
	return []byte(c), nil
}

// decoys returns the stand-in credentials an email-first sign-in offers
// for an address without passkeys: one or two IDs derived from the
// address with the decoy key, so the same address always gets the same
// answer and nobody without the key can tell them from real ones.
func (p *Passkeys) decoys(email string) []protocol.CredentialDescriptor {
	m := hmac.New(sha256.New, p.decoy)
	m.Write([]byte(store.NormalizeEmail(email)))
	sum := m.Sum(nil)
	n := 1 + int(sum[0]&1)
	out := make([]protocol.CredentialDescriptor, 0, n)
	for i := range n {
		m := hmac.New(sha256.New, p.decoy)
		fmt.Fprintf(m, "%d\x00%s", i, store.NormalizeEmail(email))
		id := m.Sum(nil)
		transports := []protocol.AuthenticatorTransport{protocol.USB, protocol.NFC}
		if sum[1]&1 == 1 {
			transports = []protocol.AuthenticatorTransport{protocol.Internal, protocol.Hybrid}
		}
		out = append(out, protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: id, Transport: transports})
	}
	return out
}

// knownAuthenticators names common authenticators by AAGUID, for the
// default name of a new passkey.
var knownAuthenticators = map[string]string{
	"ea9b8d664d011d213ce4b6b48cb575d4": "Google Password Manager",
	"adce000235bcc60a648b0b25f1f05503": "Chrome on Mac",
	"08987058cadc4b81b6e130de50dcbe96": "Windows Hello",
	"9ddd1817af5a4672a2b93e3dd95000a9": "Windows Hello",
	"6028b017b1d44c02b4b3afcdafc96bb2": "Windows Hello",
	"fbfc3007154e4ecc8c0b6e020557d7bd": "iCloud Keychain",
	"bada5566a7aa401fbd9645619a55120d": "1Password",
	"d548826e79b4db40a3d811116f7e8349": "Bitwarden",
}

// maxName bounds a passkey's name, in characters.
const maxName = 64

// defaultName names a new passkey: its authenticator's name when the
// AAGUID is known, else the browser and system that registered it.
func defaultName(aaguid []byte, userAgent string) string {
	if n, ok := knownAuthenticators[hex.EncodeToString(aaguid)]; ok {
		return n
	}
	if userAgent != "" {
		browser, os := session.ParseUserAgent(userAgent)
		switch {
		case browser != "" && os != "":
			return browser + " on " + os
		case browser != "":
			return browser
		}
	}
	return "Passkey"
}

// cleanName checks a name given for a passkey: at most maxName
// characters (already one line of text, trimmed, by the form's schema).
// ok is false when it is too long.
func cleanName(s string) (string, bool) {
	s = strings.TrimSpace(s)
	return s, utf8.RuneCountInString(s) <= maxName
}
