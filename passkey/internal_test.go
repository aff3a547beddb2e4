package passkey

import (
	"encoding/hex"
	"strings"
	"testing"
)

// A new passkey is named after its authenticator when the AAGUID is
// known, else after the browser and system that added it.
func TestDefaultName(t *testing.T) {
	t.Parallel()
	icloud, _ := hex.DecodeString("fbfc3007154e4ecc8c0b6e020557d7bd")
	chrome := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
	for _, tc := range []struct {
		aaguid []byte
		ua     string
		want   string
	}{
		{icloud, chrome, "iCloud Keychain"},
		{make([]byte, 16), chrome, "Chrome on Linux"},
		{nil, "", "Passkey"},
		{make([]byte, 16), "curl/8.0", "Passkey"},
	} {
		got := defaultName(tc.aaguid, tc.ua)
		if tc.ua == "curl/8.0" {
			if got == "" || strings.ContainsAny(got, "\n\r") {
				t.Errorf("defaultName(%x, %q) = %q, want a one-line name", tc.aaguid, tc.ua, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("defaultName(%x, %q) = %q, want %q", tc.aaguid, tc.ua, got, tc.want)
		}
	}
}

func TestCleanName(t *testing.T) {
	t.Parallel()
	if got, ok := cleanName("  Work laptop "); got != "Work laptop" || !ok {
		t.Errorf("cleanName: got %q, %v", got, ok)
	}
	if _, ok := cleanName(strings.Repeat("é", maxName)); !ok {
		t.Error("cleanName: 64 characters refused")
	}
	if _, ok := cleanName(strings.Repeat("é", maxName+1)); ok {
		t.Error("cleanName: 65 characters accepted")
	}
}

// The stand-in credentials of an address depend on the address (by its
// key: case and width aside) and on the key, never on the request.
func TestDecoys(t *testing.T) {
	t.Parallel()
	k1, err := decoyKey("k1:" + strings.Repeat("A", 43) + "=")
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := decoyKey("k2:" + strings.Repeat("B", 43) + "=")
	p1, p2 := &Passkeys{decoy: k1}, &Passkeys{decoy: k2}
	ids := func(p *Passkeys, email string) string {
		var b strings.Builder
		for _, d := range p.decoys(email) {
			b.WriteString(hex.EncodeToString(d.CredentialID) + ",")
		}
		return b.String()
	}
	a := ids(p1, "user@example.com")
	if a == "" || a != ids(p1, "USER@example.com") {
		t.Errorf("decoys differ for one address: %q", a)
	}
	if a == ids(p1, "other@example.com") || a == ids(p2, "user@example.com") {
		t.Error("decoys do not depend on the address and the key")
	}
	if _, err := decoyKey("not a keyring"); err == nil {
		t.Error("decoyKey accepted a bad keyring")
	}
}
