package passkey_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sigra-go/sigra/account"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/mfa"
	"github.com/sigra-go/sigra/passkey"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/ui"
)

// pw is every test user's password.
const pw = "correct horse battery staple"

// options select a variant of the test application.
type options struct {
	backend string
	// passkey changes the passkey configuration before it is built.
	passkey func(c *passkey.Config)
}

// app is a running test application with account, mfa and passkey
// mounted together, as a host wires them.
type app struct {
	*apptest.App
	Passkeys *passkey.Passkeys
	MFA      *mfa.MFA
}

func newApp(t testing.TB, o options) *app {
	t.Helper()
	x := &app{}
	opt := apptest.Options{Backend: o.backend, Packs: []ui.Pack{account.Pages(), mfa.Pages(), passkey.Pages()}}
	x.App = apptest.New(t, opt, func(a *apptest.App) {
		holder := &lateHolder{}
		m, err := mfa.New(mfa.Config{Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, Keys: a.Keys, RateLimiter: a.Limiter,
			Passkeys: holder})
		if err != nil {
			t.Fatalf("mfa.New: %v", err)
		}
		pc := passkey.Config{Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Mail: a.Outbox, Keys: a.Keys,
			RateLimiter: a.Limiter, SecondFactor: m}
		if o.passkey != nil {
			o.passkey(&pc)
		}
		p, err := passkey.New(pc)
		if err != nil {
			t.Fatalf("passkey.New: %v", err)
		}
		acc, err := account.New(account.Config{
			Store: a.Store, Sessions: a.Sessions, Guard: a.Guard, UI: a.UI, Passwords: a.Hasher, Mail: a.Outbox,
			RateLimiter: a.Limiter, SecondFactor: m, Passkeys: p, Sections: []ui.Section{m.Section(), p.Section()},
		})
		if err != nil {
			t.Fatalf("account.New: %v", err)
		}
		holder.p = p
		m.Mount(a.Mux)
		p.Mount(a.Mux)
		acc.Mount(a.Mux)
		x.MFA, x.Passkeys = m, p
	})
	return x
}

// lateHolder gives the two-factor flows the passkeys built after them
// (which take the two-factor flows as their SecondFactor).
type lateHolder struct{ p *passkey.Passkeys }

func (h *lateHolder) Has(ctx context.Context, userID string) (bool, error) {
	return h.p.Has(ctx, userID)
}

// each runs f on every backend, in parallel.
func each(t *testing.T, f func(t *testing.T, a *app)) {
	t.Helper()
	eachWith(t, options{}, f)
}

func eachWith(t *testing.T, o options, f func(t *testing.T, a *app)) {
	t.Helper()
	for _, b := range apptest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			o := o
			o.backend = b
			f(t, newApp(t, o))
		})
	}
}

// ---- a software authenticator ----

// authenticator is a WebAuthn authenticator in software, for driving the
// ceremonies in process: P-256 keys from crypto/ecdsa, the attestation
// object and COSE key in CBOR encoded here, "none" attestation.
type authenticator struct {
	origin string
	rpID   string
	// uv, be and bs are the UV, BE and BS flags it reports.
	uv, be, bs bool
	// fixedCount, when set, makes it report count instead of counting
	// (a clone, or a synced passkey reporting 0).
	fixedCount *uint32
	aaguid     []byte
	creds      []*softCred
}

// softCred is one credential the authenticator holds.
type softCred struct {
	id     []byte
	key    *ecdsa.PrivateKey
	handle []byte
	count  uint32
}

func newAuthenticator(a *app) *authenticator {
	return &authenticator{origin: a.URL, rpID: "localhost", uv: true, be: true, aaguid: make([]byte, 16)}
}

var b64 = base64.RawURLEncoding

// publicKeyOptions is the part of the options the authenticator reads.
type publicKeyOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Allow []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
		Exclude []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
		UserVerification string `json:"userVerification"`
	} `json:"publicKey"`
}

func readOptions(t testing.TB, res *apptest.Response) publicKeyOptions {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("options: got %d\n%s", res.StatusCode, res.Body)
	}
	var o publicKeyOptions
	if err := json.Unmarshal([]byte(res.Body), &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("options: %v\n%s", err, res.Body)
	}
	return o
}

func (au *authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": au.origin, "crossOrigin": false})
	return b
}

func (au *authenticator) flags(attested bool) byte {
	f := byte(0x01) // UP
	if au.uv {
		f |= 0x04
	}
	if au.be {
		f |= 0x08
	}
	if au.bs {
		f |= 0x10
	}
	if attested {
		f |= 0x40
	}
	return f
}

func (au *authenticator) authData(attested bool, count uint32, tail []byte) []byte {
	rp := sha256.Sum256([]byte(au.rpID))
	out := append(rp[:], au.flags(attested))
	out = binary.BigEndian.AppendUint32(out, count)
	return append(out, tail...)
}

// create makes a new credential for the options of a registration and
// returns the registration response JSON. reuse, when set, makes it
// register that credential again (a credential ID registered twice).
func (au *authenticator) create(t testing.TB, o publicKeyOptions, reuse *softCred) (string, *softCred) {
	t.Helper()
	c := reuse
	if c == nil {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id := make([]byte, 16)
		_, _ = rand.Read(id)
		c = &softCred{id: id, key: key}
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		t.Fatalf("user.id: %v", err)
	}
	c.handle = handle
	pub, err := c.key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	raw := pub.Bytes() // 0x04 | X | Y
	cose := cborMap(
		cborInt(1), cborInt(2), // kty: EC2
		cborInt(3), cborInt(-7), // alg: ES256
		cborInt(-1), cborInt(1), // crv: P-256
		cborInt(-2), cborBytes(raw[1:33]),
		cborInt(-3), cborBytes(raw[33:65]),
	)
	att := append(append([]byte{}, au.aaguid...), byte(len(c.id)>>8), byte(len(c.id)))
	att = append(append(att, c.id...), cose...)
	data := au.authData(true, 0, att)
	obj := cborMap(cborText("fmt"), cborText("none"), cborText("attStmt"), cborMap(), cborText("authData"), cborBytes(data))
	resp := map[string]any{
		"id": b64.EncodeToString(c.id), "rawId": b64.EncodeToString(c.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(au.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(obj),
			"transports":        []string{"internal", "hybrid"},
		},
	}
	if reuse == nil {
		au.creds = append(au.creds, c)
	}
	b, _ := json.Marshal(resp)
	return string(b), c
}

// get signs the options of a sign-in with credential c (the first the
// authenticator holds when nil) and returns the assertion JSON.
func (au *authenticator) get(t testing.TB, o publicKeyOptions, c *softCred) string {
	t.Helper()
	if c == nil {
		if len(au.creds) == 0 {
			t.Fatal("the authenticator holds no credential")
		}
		c = au.creds[0]
	}
	c.count++
	count := c.count
	if au.fixedCount != nil {
		count = *au.fixedCount
	}
	data := au.authData(false, count, nil)
	cd := au.clientData("webauthn.get", o.PublicKey.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, data...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	resp := map[string]any{
		"id": b64.EncodeToString(c.id), "rawId": b64.EncodeToString(c.id), "type": "public-key",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(data),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(c.handle),
		},
	}
	b, _ := json.Marshal(resp)
	return string(b)
}

// ---- CBOR, as much as the authenticator needs ----

func cborHead(major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return []byte{m | byte(n)}
	case n < 1<<8:
		return []byte{m | 24, byte(n)}
	case n < 1<<16:
		return []byte{m | 25, byte(n >> 8), byte(n)}
	default:
		return binary.BigEndian.AppendUint32([]byte{m | 26}, uint32(n))
	}
}

func cborInt(i int64) []byte {
	if i >= 0 {
		return cborHead(0, uint64(i))
	}
	return cborHead(1, uint64(-1-i))
}

func cborBytes(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }
func cborText(s string) []byte  { return append(cborHead(3, uint64(len(s))), s...) }

// cborMap encodes a map of the key and value items given in turn.
func cborMap(items ...[]byte) []byte {
	out := cborHead(5, uint64(len(items)/2))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

// ---- requests ----

// post sends a JSON body built from fields.
func post(t testing.TB, c *apptest.Client, path string, fields map[string]any) *apptest.Response {
	t.Helper()
	if fields == nil {
		fields = map[string]any{}
	}
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return c.JSON("POST", path, string(b))
}

// postCredential posts a credential JSON (and other fields) to a finish
// route.
func postCredential(t testing.TB, c *apptest.Client, path, credential string, fields map[string]any) *apptest.Response {
	t.Helper()
	if fields == nil {
		fields = map[string]any{}
	}
	fields["credential"] = json.RawMessage(credential)
	return post(t, c, path, fields)
}

// body decodes a JSON response body.
func body(t testing.TB, res *apptest.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(res.Body), &m); err != nil {
		t.Fatalf("response %d is not JSON: %v\n%s", res.StatusCode, err, res.Body)
	}
	return m
}

// errCode returns the error code of a JSON error body.
func errCode(t testing.TB, res *apptest.Response) string {
	t.Helper()
	e, _ := body(t, res)["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// want checks a response's status.
func want(t testing.TB, what string, res *apptest.Response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s: got %d, want %d\n%s", what, res.StatusCode, status, res.Body)
	}
}

// wantError checks a JSON refusal's status and code.
func wantError(t testing.TB, what string, res *apptest.Response, status int, code string) {
	t.Helper()
	want(t, what, res, status)
	if got := errCode(t, res); got != code {
		t.Fatalf("%s: got error code %q, want %q\n%s", what, got, code, res.Body)
	}
}

// info is the request's auth state as the session-info route reports it.
type info struct {
	State   string   `json:"state"`
	AAL     int      `json:"aal"`
	Methods []string `json:"methods"`
	User    struct {
		Email string `json:"email"`
	} `json:"user"`
}

func whoami(t testing.TB, a *app, c *apptest.Client) info {
	t.Helper()
	p, _ := a.UI.Route("session_info")
	res := c.JSON("GET", p, "")
	var i info
	if err := json.Unmarshal([]byte(res.Body), &i); err != nil {
		t.Fatalf("session info: %v\n%s", err, res.Body)
	}
	return i
}

func wantState(t testing.TB, a *app, c *apptest.Client, state string, aal int, methods ...string) {
	t.Helper()
	i := whoami(t, a, c)
	if i.State != state || i.AAL != aal || (methods != nil && strings.Join(i.Methods, ",") != strings.Join(methods, ",")) {
		t.Fatalf("session: got %s AAL%d %v, want %s AAL%d %v", i.State, i.AAL, i.Methods, state, aal, methods)
	}
}

// ---- set-ups ----

// register adds a passkey from au to the user signed in on c and returns
// the registration's answer.
func register(t testing.TB, a *app, c *apptest.Client, au *authenticator, name string) (*softCred, *apptest.Response) {
	t.Helper()
	o := readOptions(t, post(t, c, a.Path("/passkeys/register/options"), map[string]any{"name": name}))
	cred, sc := au.create(t, o, nil)
	res := postCredential(t, c, a.Path("/passkeys/register"), cred, nil)
	want(t, "register", res, http.StatusOK)
	return sc, res
}

// newPasskeyUser creates a user with a password, signs in on a new
// browser, and registers a passkey of a new authenticator.
func newPasskeyUser(t testing.TB, a *app, email string) (*apptest.Client, *store.User, *authenticator) {
	t.Helper()
	u := a.CreateUser(t, email, pw)
	c := a.Client(t)
	c.SignIn(email, pw)
	au := newAuthenticator(a)
	register(t, a, c, au, "")
	return c, u, au
}

// signInDiscoverable signs in on a new browser with the authenticator's
// first credential, without an address, and returns the browser and the
// finish's answer.
func signInDiscoverable(t testing.TB, a *app, au *authenticator, fields map[string]any) (*apptest.Client, *apptest.Response) {
	t.Helper()
	c := a.Client(t)
	o := readOptions(t, post(t, c, a.Path("/passkeys/signin/options"), map[string]any{}))
	return c, postCredential(t, c, a.Path("/passkeys/signin"), au.get(t, o, nil), fields)
}

// passkeys lists the user's stored passkeys.
func passkeys(t testing.TB, a *app, userID string) []*store.Passkey {
	t.Helper()
	list, err := a.Store.PasskeysByUser(t.Context(), userID, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// events returns the audit rows of action about userID (as actor or
// subject) with outcome, whose metadata holds every key and value of meta.
func events(t testing.TB, a *app, action, outcome, userID string, meta map[string]string) []*store.AuditEvent {
	t.Helper()
	all, _, err := a.Store.QueryAudit(t.Context(), store.AuditQuery{UserID: userID, Action: action})
	if err != nil {
		t.Fatal(err)
	}
	var out []*store.AuditEvent
next:
	for _, e := range all {
		if e.Outcome != outcome {
			continue
		}
		for k, v := range meta {
			if e.Metadata[k] != v {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

// auditCount counts the audit rows of action with outcome about userID
// whose metadata holds meta.
func auditCount(t testing.TB, a *app, action, outcome, userID string, meta map[string]string) int {
	t.Helper()
	return len(events(t, a, action, outcome, userID, meta))
}

// enrollTOTP turns TOTP on for the user signed in on c and returns the
// secret.
func enrollTOTP(t testing.TB, a *app, c *apptest.Client) string {
	t.Helper()
	res := c.JSON("GET", a.Path("/mfa/setup"), "")
	want(t, "GET setup", res, http.StatusOK)
	var e struct {
		Secret     string `json:"secret"`
		Enrollment string `json:"enrollment"`
	}
	if err := json.Unmarshal([]byte(res.Body), &e); err != nil {
		t.Fatal(err)
	}
	want(t, "POST setup", post(t, c, a.Path("/mfa/setup"), map[string]any{"code": totpCode(t, a, e.Secret), "enrollment": e.Enrollment}), http.StatusOK)
	a.Clock.Advance(30 * time.Second)
	return e.Secret
}

func totpCode(t testing.TB, a *app, secret string) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, a.Clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
