package mfa_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/internal/seal"
	"github.com/sigra-go/sigra/store"
)

var (
	qrRE         = regexp.MustCompile(`<img class="qr" src="data:image/png;base64,([^"]+)"`)
	secretRE     = regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`)
	enrollmentRE = regexp.MustCompile(`name="enrollment" value="([^"]+)"`)
	codeListRE   = regexp.MustCompile(`<li><code>([^<]+)</code></li>`)
	recoveryRE   = regexp.MustCompile(`^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}$`)
)

// setupPage reads the secret and the enrollment value off the HTML set-up
// page, checking that it shows a QR code that decodes as a PNG.
func setupPage(t *testing.T, res *apptest.Response) (secret, enrollment string) {
	t.Helper()
	qr := qrRE.FindStringSubmatch(res.Body)
	if qr == nil {
		t.Fatalf("no QR code image on the set-up page:\n%s", res.Body)
	}
	b, err := base64.StdEncoding.DecodeString(html.UnescapeString(qr[1]))
	if err != nil {
		t.Fatalf("QR data URI: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("QR image is not a PNG: %v", err)
	}
	if s := img.Bounds().Size(); s.X < 100 || s.X != s.Y {
		t.Fatalf("QR image is %v, want a square of at least 100 pixels", s)
	}
	s := secretRE.FindStringSubmatch(res.Body)
	e := enrollmentRE.FindStringSubmatch(res.Body)
	if s == nil || e == nil {
		t.Fatalf("no key or enrollment field on the set-up page:\n%s", res.Body)
	}
	return strings.ReplaceAll(s[1], " ", ""), html.UnescapeString(e[1])
}

// TestEnrollHTML enrolls through the pages with a code from oathtool.
func TestEnrollHTML(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		u := a.CreateUser(t, "user@example.com", pw)
		c := a.Client(t)
		c.SignIn(u.Email, pw)

		res := c.Get("/auth/mfa/setup")
		want(t, "set-up page", res, http.StatusOK)
		secret, enrollment := setupPage(t, res)
		if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret); err != nil || len(secret) != 32 {
			t.Fatalf("key %q: want 32 base32 characters (160 bits)", secret)
		}
		if !strings.Contains(res.Body, `href="otpauth://totp/`) {
			t.Error("no otpauth link on the set-up page")
		}
		if _, err := a.Store.TOTPByUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after GET: TOTP row: got %v, want not found (GET stores nothing)", err)
		}

		// A wrong code keeps the same secret on the page.
		good := oathtool(t, secret, a.Clock.Now())
		bad := []byte(good)
		bad[0] = '0' + (bad[0]-'0'+1)%10
		res = c.Post("/auth/mfa/setup", url.Values{"code": {string(bad)}, "enrollment": {enrollment}})
		want(t, "wrong code", res, http.StatusUnprocessableEntity)
		s2, e2 := setupPage(t, res)
		if s2 != secret || e2 != enrollment {
			t.Fatalf("after a wrong code the page changed the secret: got %s, want %s", s2, secret)
		}
		if _, err := a.Store.TOTPByUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after a wrong code: TOTP row: got %v, want not found", err)
		}
		if got := a.User(t, u.Email).FailedMFA; got != 0 {
			t.Fatalf("a wrong set-up code counted towards the lockout: FailedMFA %d", got)
		}

		// The right code, from oathtool at the app's clock.
		res = c.Post("/auth/mfa/setup", url.Values{"code": {good}, "enrollment": {enrollment}})
		want(t, "right code", res, http.StatusOK)
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("recovery codes page: Cache-Control %q, want no-store", cc)
		}
		var codes []string
		for _, m := range codeListRE.FindAllStringSubmatch(res.Body, -1) {
			codes = append(codes, m[1])
		}
		checkCodes(t, codes)
		if !strings.Contains(res.Body, `download="recovery-codes.txt"`) {
			t.Error("no download link for the recovery codes")
		}

		row := totpRow(t, a, u.ID)
		if row.ConfirmedAt.IsZero() {
			t.Fatal("secret not confirmed")
		}
		if step := a.Clock.Now().Unix() / 30; row.LastStep != step {
			t.Fatalf("last step: got %d, want %d (the confirming code's step counts as used)", row.LastStep, step)
		}
		checkSealed(t, a, u.ID, row.Sealed, secret)
		if n := recoveryLeft(t, a, u.ID); n != 10 {
			t.Fatalf("recovery codes stored: got %d, want 10", n)
		}
		wantState(t, a, c, "authenticated", 2, "password", "totp")
		if n := countMails(t, a, u.Email, "Two-factor authentication is on"); n != 1 {
			t.Fatalf("enable notices: got %d, want 1 (mail: %v)", n, subjects(t, a, u.Email))
		}
		wantAudits(t, a, u.ID, "mfa.totp.enable", 1)

		// The confirming code cannot then pass the challenge.
		c2 := a.Client(t)
		signInPending(t, a, c2, u.Email)
		res = c2.Post("/auth/mfa/challenge", url.Values{"code": {good}})
		want(t, "challenge with the enrollment code", res, http.StatusUnauthorized)
		wantState(t, a, c2, "pending", 0)
		nextStep(a)
		res = c2.Post("/auth/mfa/challenge", url.Values{"code": {oathtool(t, secret, a.Clock.Now())}})
		wantRedirect(t, "challenge with the next code", res, "/")
		wantState(t, a, c2, "authenticated", 2, "password", "totp")
	})
}

// checkSealed checks that the stored secret is sealed with the app's MFA
// keys, bound to the user, and that neither the base32 secret nor its raw
// bytes appear in the row.
func checkSealed(t *testing.T, a *app, userID string, sealed []byte, secret string) {
	t.Helper()
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(secret)) || bytes.Contains(sealed, raw) || bytes.Contains(bytes.ToLower(sealed), []byte(strings.ToLower(secret))) {
		t.Fatal("the stored row holds the secret in the clear")
	}
	if got := openSecret(t, a.Keys, userID, sealed); got != secret {
		t.Fatalf("sealed secret: got %q, want %q", got, secret)
	}
	kr, err := seal.ParseKeyring(a.Keys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Open(sealed, []byte("sigra.totp:someone-else")); err == nil {
		t.Fatal("the sealed secret opens for another user")
	}
}

func checkCodes(t *testing.T, codes []string) {
	t.Helper()
	if len(codes) != 10 {
		t.Fatalf("got %d recovery codes, want 10: %v", len(codes), codes)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !recoveryRE.MatchString(c) {
			t.Errorf("recovery code %q: want XXXX-XXXX", c)
		}
		if seen[c] {
			t.Errorf("recovery code %q repeated", c)
		}
		seen[c] = true
	}
}

// TestEnrollJSON enrolls through the JSON API with a code from pquerna/otp.
func TestEnrollJSON(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		u := a.CreateUser(t, "user@example.com", pw)
		c := a.Client(t)
		c.SignIn(u.Email, pw)

		e := startEnrollment(t, a, c)
		if e.Digits != 6 || e.Period != 30 {
			t.Fatalf("digits %d period %d, want 6 and 30", e.Digits, e.Period)
		}
		if !strings.HasPrefix(e.QR, "data:image/png;base64,") {
			t.Fatalf("qr_png %.40q: want a PNG data URI", e.QR)
		}
		k, err := otp.NewKeyFromURL(e.URI)
		if err != nil {
			t.Fatal(err)
		}
		if k.Type() != "totp" || k.Secret() != e.Secret || k.Issuer() != "Sigra Test" || k.AccountName() != u.Email ||
			k.Period() != 30 || k.Digits() != otp.DigitsSix || k.Algorithm() != otp.AlgorithmSHA1 {
			t.Fatalf("uri %s does not describe the secret", e.URI)
		}
		// Each GET makes a new secret; none is stored.
		if e2 := startEnrollment(t, a, c); e2.Secret == e.Secret {
			t.Fatal("two set-up pages showed the same secret")
		}
		if _, err := a.Store.TOTPByUser(context.Background(), u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after GET: TOTP row: got %v, want not found", err)
		}

		res := post(t, c, "/auth/mfa/setup", map[string]any{"code": "000000", "enrollment": e.Enrollment})
		if code(t, a, e.Secret) == "000000" {
			t.Skip("the code happens to be 000000")
		}
		want(t, "wrong code", res, http.StatusUnprocessableEntity)
		if got := errCode(t, res); got != "invalid_code" {
			t.Fatalf("wrong code: error %q, want invalid_code", got)
		}
		res = post(t, c, "/auth/mfa/setup", map[string]any{"code": code(t, a, e.Secret), "enrollment": e.Enrollment})
		want(t, "right code", res, http.StatusOK)
		var codes []string
		for _, v := range body(t, res)["recovery_codes"].([]any) {
			codes = append(codes, v.(string))
		}
		checkCodes(t, codes)
		checkSealed(t, a, u.ID, totpRow(t, a, u.ID).Sealed, e.Secret)
		wantState(t, a, c, "authenticated", 2, "password", "totp")

		// Enrolled: set-up answers 409 and stores nothing new.
		res = c.JSON("GET", "/auth/mfa/setup", "")
		want(t, "GET setup when enrolled", res, http.StatusConflict)
		res = post(t, c, "/auth/mfa/setup", map[string]any{"code": code(t, a, e.Secret), "enrollment": e.Enrollment})
		want(t, "POST setup when enrolled", res, http.StatusConflict)
		if got := errCode(t, res); got != "already_enabled" {
			t.Fatalf("error %q, want already_enabled", got)
		}
		checkSealed(t, a, u.ID, totpRow(t, a, u.ID).Sealed, e.Secret)
	})
}

// TestEnrollmentRefused: forged, tampered, another user's and expired
// set-up forms are refused, and nothing is stored.
func TestEnrollmentRefused(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		u := a.CreateUser(t, "user@example.com", pw)
		other := a.CreateUser(t, "other@example.com", pw)
		c, co := a.Client(t), a.Client(t)
		c.SignIn(u.Email, pw)
		co.SignIn(other.Email, pw)

		e1 := startEnrollment(t, a, c)
		eo := startEnrollment(t, a, co)
		raw, _ := base64.RawURLEncoding.DecodeString(e1.Enrollment)
		raw[len(raw)/2] ^= 0x20
		tampered := base64.RawURLEncoding.EncodeToString(raw)

		for _, tc := range []struct {
			name, enrollment, secret string
		}{
			{"another user's", eo.Enrollment, eo.Secret},
			{"tampered", tampered, e1.Secret},
			{"forged", base64.RawURLEncoding.EncodeToString([]byte("t1" + strings.Repeat("x", 60))), e1.Secret},
			{"missing", "", e1.Secret},
		} {
			res := post(t, c, "/auth/mfa/setup", map[string]any{"code": code(t, a, tc.secret), "enrollment": tc.enrollment})
			want(t, tc.name, res, http.StatusGone)
			if got := errCode(t, res); got != "enrollment_expired" {
				t.Fatalf("%s: error %q, want enrollment_expired", tc.name, got)
			}
		}

		// Expiry: e1 is 31 minutes old when posted, e2 29 minutes.
		a.Clock.Advance(2 * time.Minute)
		e2 := startEnrollment(t, a, c)
		a.Clock.Advance(29 * time.Minute)
		c = a.Client(t) // a fresh sign-in: the first session's sudo window is long over
		c.SignIn(u.Email, pw)
		res := post(t, c, "/auth/mfa/setup", map[string]any{"code": code(t, a, e1.Secret), "enrollment": e1.Enrollment})
		want(t, "31-minute-old form", res, http.StatusGone)
		for _, id := range []string{u.ID, other.ID} {
			if _, err := a.Store.TOTPByUser(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("after refused forms: TOTP row of %s: got %v, want not found", id, err)
			}
		}
		res = post(t, c, "/auth/mfa/setup", map[string]any{"code": code(t, a, e2.Secret), "enrollment": e2.Enrollment})
		want(t, "29-minute-old form", res, http.StatusOK)
		checkSealed(t, a, u.ID, totpRow(t, a, u.ID).Sealed, e2.Secret)
	})
}

// TestEnrollRequiresSudo: the set-up page and its POST need a recent
// re-authentication; a pending sign-in is sent to its challenge.
func TestEnrollRequiresSudo(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		u := a.CreateUser(t, "user@example.com", pw)
		c := a.Client(t)
		res := c.Get("/auth/mfa/setup")
		wantRedirect(t, "anonymous", res, "/auth/login")

		c.SignIn(u.Email, pw)
		e := startEnrollment(t, a, c)
		a.Clock.Advance(11 * time.Minute)
		c.Get("/") // keep the session from idling out
		res = c.JSON("GET", "/auth/mfa/setup", "")
		want(t, "JSON after the sudo window", res, http.StatusForbidden)
		if got := errCode(t, res); got != "sudo_required" {
			t.Fatalf("error %q, want sudo_required", got)
		}
		res = c.Get("/auth/mfa/setup")
		wantRedirect(t, "HTML after the sudo window", res, "/auth/sudo?return_to=%2Fauth%2Fmfa%2Fsetup")
		res = post(t, c, "/auth/mfa/setup", map[string]any{"code": code(t, a, e.Secret), "enrollment": e.Enrollment})
		want(t, "POST after the sudo window", res, http.StatusForbidden)
		if _, err := a.Store.TOTPByUser(context.Background(), u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("TOTP row: got %v, want not found", err)
		}

		res = c.Post("/auth/sudo", url.Values{"password": {pw}, "return_to": {"/auth/mfa/setup"}})
		wantRedirect(t, "sudo", res, "/auth/mfa/setup")
		res = post(t, c, "/auth/mfa/setup", map[string]any{"code": code(t, a, e.Secret), "enrollment": e.Enrollment})
		want(t, "POST after sudo", res, http.StatusOK)
	})
}
