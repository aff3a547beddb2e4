package mfa

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/mail"
	"github.com/sigra-go/sigra/middleware"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/site"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// rfcSecret is the SHA-1 seed of RFC 6238's test vectors,
// "12345678901234567890", in base32.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// codeAt generates a code with pquerna/otp's totp package, independently of
// matchStep's use of hotp.
func codeAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMatchStepRFC6238Vectors(t *testing.T) {
	t.Parallel()
	// RFC 6238 appendix B, SHA-1, reduced to the last six digits.
	for _, tc := range []struct {
		unix int64
		code string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
		{20000000000, "353130"},
	} {
		now := time.Unix(tc.unix, 0)
		step, ok := matchStep(rfcSecret, tc.code, now)
		if !ok || step != tc.unix/Period {
			t.Errorf("matchStep(%s at %d) = %d, %v; want %d, true", tc.code, tc.unix, step, ok, tc.unix/Period)
		}
	}
}

func TestMatchStepOffsets(t *testing.T) {
	t.Parallel()
	// A fixed time in the middle of a step, and the first and last second
	// of a step: drift is counted in whole steps, not in seconds.
	for _, now := range []time.Time{
		time.Date(2026, 3, 1, 12, 0, 15, 0, time.UTC),
		time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 1, 12, 0, 29, 999e6, time.UTC),
	} {
		cur := now.Unix() / Period
		for d := int64(-3); d <= 3; d++ {
			at := time.Unix((cur+d)*Period, 0)
			code := codeAt(t, rfcSecret, at)
			wantOK := d >= -Skew && d <= Skew
			t.Run(now.Format("15:04:05.000")+"/"+strings.Repeat("+", int(max(d, 0)))+strings.Repeat("-", int(max(-d, 0))), func(t *testing.T) {
				step, ok := matchStep(rfcSecret, code, now)
				if ok != wantOK {
					t.Fatalf("code of step now%+d: got ok=%v, want %v", d, ok, wantOK)
				}
				if ok && step != cur+d {
					t.Fatalf("code of step now%+d: got step %d, want %d", d, step, cur+d)
				}
			})
		}
	}
}

func TestMatchStepRefuses(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 15, 0, time.UTC)
	good := codeAt(t, rfcSecret, now)
	wrong := []byte(good)
	wrong[5] = '0' + (wrong[5]-'0'+1)%10
	for _, tc := range []struct{ name, secret, code string }{
		{"wrong last digit", rfcSecret, string(wrong)},
		{"empty", rfcSecret, ""},
		{"five digits", rfcSecret, good[:5]},
		{"seven digits", rfcSecret, good + "0"},
		{"with a space", rfcSecret, good[:3] + " " + good[3:]},
		{"letters", rfcSecret, "abcdef"},
		{"another secret", "JBSWY3DPEHPK3PXP", good},
		{"secret not base32", "not base32!", good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if step, ok := matchStep(tc.secret, tc.code, now); ok {
				t.Fatalf("matchStep(%q, %q) = %d, true; want false", tc.secret, tc.code, step)
			}
		})
	}
}

// TestMatchStepOathtool checks matchStep against an independent
// implementation, Debian's oathtool.
func TestMatchStepOathtool(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("oathtool"); err != nil {
		if os.Getenv("SIGRA_E2E_REQUIRED") != "" {
			t.Fatal("oathtool not found: install Debian package oathtool")
		}
		t.Skip("oathtool not found: install Debian package oathtool")
	}
	secret := newSecret(t)
	for _, at := range []time.Time{
		time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2031, 7, 9, 23, 59, 59, 0, time.UTC),
		time.Date(2001, 9, 9, 1, 46, 40, 0, time.UTC),
	} {
		out, err := exec.Command("oathtool", "--totp", "-b", secret, "--now", at.Format("2006-01-02 15:04:05 UTC")).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		code := strings.TrimSpace(string(out))
		if step, ok := matchStep(secret, code, at); !ok || step != at.Unix()/Period {
			t.Errorf("oathtool's code %s at %s: got %d, %v; want %d, true", code, at, step, ok, at.Unix()/Period)
		}
	}
}

func newSecret(t testing.TB) string {
	t.Helper()
	m := &MFA{cfg: Config{Issuer: "Example"}}
	k, err := m.newKey("user@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return k.Secret()
}

// testMFA returns an MFA with only what enrollment sealing needs, on a
// clock stopped at now.
func testMFA(t testing.TB, now time.Time) *MFA {
	t.Helper()
	k, err := seal.GenerateKey("t1")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := seal.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return withNow(t, &MFA{cfg: Config{Issuer: "Example", EnrollmentTTL: 30 * time.Minute}, keys: kr}, now)
}

// withNow returns a copy of m whose site clock is stopped at now.
func withNow(t testing.TB, m *MFA, now time.Time) *MFA {
	t.Helper()
	s, err := site.New(site.Config{BaseURL: "https://app.example.com", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	c := *m
	c.k = &kernel.Kernel{Site: s}
	return &c
}

func TestOpenEnrollment(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	m := testMFA(t, t0)
	d, err := m.newEnrollment(&sigra.User{ID: "u1", Email: "user@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	sealedPayload := func(payload, user string) string {
		b, err := m.keys.Seal([]byte(payload), enrollmentAD(user))
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(d.Enrollment)
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 1
	other := testMFA(t, t0) // another keyring

	for _, tc := range []struct {
		name   string
		m      *MFA
		user   string
		value  string
		offset time.Duration
		want   string
	}{
		{"fresh", m, "u1", d.Enrollment, 0, d.Secret},
		{"at the TTL", m, "u1", d.Enrollment, 30 * time.Minute, d.Secret},
		{"past the TTL", m, "u1", d.Enrollment, 30*time.Minute + time.Second, ""},
		{"another user's", m, "u2", d.Enrollment, 0, ""},
		{"another keyring", other, "u1", d.Enrollment, 0, ""},
		{"tampered", m, "u1", base64.RawURLEncoding.EncodeToString(flipped), 0, ""},
		{"truncated", m, "u1", d.Enrollment[:len(d.Enrollment)-4], 0, ""},
		{"not base64", m, "u1", "%%%", 0, ""},
		{"empty", m, "u1", "", 0, ""},
		{"no time", m, "u1", sealedPayload(d.Secret, "u1"), 0, ""},
		{"bad time", m, "u1", sealedPayload(d.Secret+"|yesterday", "u1"), 0, ""},
		{"made in the future", m, "u1", sealedPayload(d.Secret+"|"+t0.Add(2*time.Minute).Format(time.RFC3339), "u1"), 0, ""},
		{"clock skew under a minute", m, "u1", sealedPayload(d.Secret+"|"+t0.Add(30*time.Second).Format(time.RFC3339), "u1"), 0, d.Secret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mm := withNow(t, tc.m, t0.Add(tc.offset))
			if got := mm.openEnrollment(tc.user, tc.value); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzOpenEnrollment: a set-up form's enrollment value is untrusted input.
// Whatever is posted, it opens only if it decodes to the bytes the server
// sealed, and then it yields that secret.
func FuzzOpenEnrollment(f *testing.F) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	m := testMFA(f, t0)
	d, err := m.newEnrollment(&sigra.User{ID: "u1", Email: "user@example.com"})
	if err != nil {
		f.Fatal(err)
	}
	want, _ := base64.RawURLEncoding.DecodeString(d.Enrollment)
	f.Add(d.Enrollment)
	f.Add(d.Enrollment + "A")
	f.Add(d.Enrollment[1:])
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		got := m.openEnrollment("u1", s)
		if got == "" {
			return
		}
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || string(b) != string(want) {
			t.Fatalf("openEnrollment(%q) = %q for bytes the server did not seal", s, got)
		}
		if got != d.Secret {
			t.Fatalf("got secret %q, want %q", got, d.Secret)
		}
	})
}

func TestIsTOTPCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"123456", true},
		{"123 456", true},
		{" 123-456 ", true},
		{"12345", false},
		{"1234567", false},
		{"12345a", false},
		{"7KQM-3XWP", false},
		{"7kqm3xwp", false},
		{"2345-6789", false}, // an all-digit recovery code has eight characters
		{"", false},
	} {
		if got := isTOTPCode(tc.in); got != tc.want {
			t.Errorf("isTOTPCode(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzChallengeInput drives what the challenge does with a typed code:
// classify it (TOTP or recovery code), normalise it, and match it against
// the steps around now. Whatever the input, nothing panics, no input is
// both kinds, and a match is only ever the exact code of a step within
// the drift window.
func FuzzChallengeInput(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 15, 0, time.UTC)
	for _, s := range []string{"", "123456", "123 456", "12-34-56", codeAt(f, rfcSecret, now), "7KQM-3XWP", "7kqm 3xwp", "０１２３４５", "1234567", "\x00\x01", strings.Repeat("9", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		code, err := token.NormalizeCode(in, Digits)
		if (err == nil) != isTOTPCode(in) {
			t.Fatalf("isTOTPCode(%q) disagrees with NormalizeCode (%v)", in, err)
		}
		if _, rerr := token.NormalizeRecoveryCode(in); err == nil && rerr == nil {
			t.Fatalf("%q reads as both a TOTP code and a recovery code", in)
		}
		if err != nil {
			return
		}
		step, ok := matchStep(rfcSecret, code, now)
		if !ok {
			return
		}
		cur := now.Unix() / Period
		if step < cur-Skew || step > cur+Skew {
			t.Fatalf("%q matched step %d, outside %d±%d", in, step, cur, Skew)
		}
		if want := codeAt(t, rfcSecret, time.Unix(step*Period, 0)); code != want {
			t.Fatalf("%q matched step %d whose code is %s", in, step, want)
		}
	})
}

func TestErrorsWrapSigraErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err, target error
	}{
		{errBadCode, sigra.ErrInvalidCredentials},
		{errMalformed, sigra.ErrInvalidCredentials},
		{errLocked, sigra.ErrLockedOut},
	} {
		if !errors.Is(tc.err, tc.target) {
			t.Errorf("errors.Is(%v, %v) = false", tc.err, tc.target)
		}
	}
}

func TestNewRecoveryCodes(t *testing.T) {
	t.Parallel()
	codes, digests, err := newRecoveryCodes("u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != RecoveryCodeCount || len(digests) != RecoveryCodeCount {
		t.Fatalf("got %d codes and %d digests, want %d", len(codes), len(digests), RecoveryCodeCount)
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 9 || c[4] != '-' || strings.ToUpper(c) != c {
			t.Errorf("code %q: want the form XXXX-XXXX", c)
		}
		if seen[c] {
			t.Errorf("code %q repeated", c)
		}
		seen[c] = true
		// The digest is bound to the user and taken over the canonical form.
		if !token.EqualDigest(digests[i], token.RecoveryCodeDigest("u1", c)) {
			t.Errorf("digest %d does not match code %q", i, c)
		}
		if token.EqualDigest(digests[i], token.RecoveryCodeDigest("u2", c)) {
			t.Errorf("digest %d is not bound to the user", i)
		}
	}
}

// Secrets made for enrollment are 160 bits, as RFC 4226 recommends.
func TestNewKey(t *testing.T) {
	t.Parallel()
	m := &MFA{cfg: Config{Issuer: "Example"}}
	k, err := m.newKey("user@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Secret()) != 32 {
		t.Fatalf("secret %q: got %d base32 characters, want 32 (20 bytes)", k.Secret(), len(k.Secret()))
	}
	if k.Issuer() != "Example" || k.AccountName() != "user@example.com" || k.Period() != Period || k.Digits() != otp.DigitsSix || k.Algorithm() != otp.AlgorithmSHA1 {
		t.Fatalf("key URL %s: wrong parameters", k.URL())
	}
	k2, err := m.keyFor("user@example.com", k.Secret())
	if err != nil || k2.Secret() != k.Secret() {
		t.Fatalf("keyFor: got %v, %v; want the same secret", k2, err)
	}
	if _, err := m.keyFor("user@example.com", "1!"); err == nil {
		t.Fatal("keyFor accepted a secret that is not base32")
	}
}

// TestTrustCookie: the trusted-browser cookie has the site's name and
// attributes (the __Host- prefix on HTTPS, the cookie domain when one is
// set), a request carrying it is trusted, and clearing it sends the same
// name and domain.
func TestTrustCookie(t *testing.T) {
	t.Parallel()
	st, _ := apptest.OpenStore(t, "sqlite")
	for _, tc := range []struct {
		name, base, domain string
		wantName           string
		wantSecure         bool
	}{
		{"https", "https://app.example.com", "", "__Host-sigra_trust", true},
		{"https with a cookie domain", "https://app.example.com", "example.com", "sigra_trust", true},
		{"local http", "http://localhost:8080", "", "sigra_trust", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := site.New(site.Config{BaseURL: tc.base, CookieDomain: tc.domain})
			if err != nil {
				t.Fatal(err)
			}
			sessions, err := session.New(s, st, session.Config{})
			if err != nil {
				t.Fatal(err)
			}
			// The routes mfa sends users to, which the account pack
			// usually declares.
			signIn := ui.Pack{Name: "signin", Routes: map[string]string{ui.RouteSignIn: "/login", ui.RouteSudo: "/sudo"}}
			views, err := ui.New(s, ui.Config{Packs: []ui.Pack{Pages(), signIn}})
			if err != nil {
				t.Fatal(err)
			}
			guard, err := middleware.New(sessions, middleware.Config{Routes: views})
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(Config{Store: st, Sessions: sessions, Guard: guard, UI: views, Mail: mail.NewMailbox(mail.MailboxConfig{}), Keys: apptest.NewKey("t1")})
			if err != nil {
				t.Fatal(err)
			}
			u := &store.User{Email: tc.name + "@example.com", CreatedAt: s.Now()}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}

			rec := httptest.NewRecorder()
			if err := m.trust(ctx, rec, u.ID); err != nil {
				t.Fatal(err)
			}
			set := rec.Result().Cookies()
			if len(set) != 1 {
				t.Fatalf("got %d cookies, want 1", len(set))
			}
			c := set[0]
			if c.Name != tc.wantName || c.Domain != tc.domain || c.Secure != tc.wantSecure || !c.HttpOnly ||
				c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 30*24*3600 {
				t.Fatalf("trust cookie: got %+v; want %s, Domain %q, Secure %v, HttpOnly, SameSite=Lax, Path /, 30 days", c, tc.wantName, tc.domain, tc.wantSecure)
			}
			r := httptest.NewRequest("GET", tc.base+"/", nil)
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			if !m.Trusted(r, u.ID) {
				t.Fatal("a request with the cookie is not trusted")
			}
			if m.Trusted(r, "someone-else") {
				t.Fatal("the cookie trusts the browser for another user")
			}

			rec = httptest.NewRecorder()
			m.clearTrustCookie(rec)
			cleared := rec.Result().Cookies()
			if len(cleared) != 1 || cleared[0].Name != tc.wantName || cleared[0].Domain != tc.domain || cleared[0].MaxAge >= 0 {
				t.Fatalf("clearing: got %+v; want %s on domain %q, expired", cleared, tc.wantName, tc.domain)
			}
		})
	}
}
