package e2e

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// totpPeriod is the TOTP time step the demo uses (RFC 6238's default).
const totpPeriod = 30

// totpStep returns the TOTP time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// totpCode returns the 6-digit code of secret (base32) for time step
// step, from oathtool: an implementation independent of the one under
// test.
func totpCode(t *testing.T, secret string, step int64) string {
	t.Helper()
	out, err := exec.Command(suite.oathtool, "--totp", "-b", "--now", "@"+strconv.FormatInt(step*totpPeriod, 10), secret).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool: %v: %s", err, out)
	}
	code := strings.TrimSpace(string(out))
	if len(code) != 6 {
		t.Fatalf("oathtool printed %q, want a 6-digit code", code)
	}
	return code
}
