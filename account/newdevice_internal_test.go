package account

import (
	"net/netip"
	"regexp"
	"testing"
)

func TestPlace(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ ip, want string }{
		{"203.0.113.7", "203.0.113.0/24"},
		{"203.0.113.250", "203.0.113.0/24"},
		{"203.0.114.7", "203.0.114.0/24"},
		{"::ffff:203.0.113.7", "203.0.113.0/24"}, // IPv4-mapped: the IPv4 network
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1::/48"},
		{"2001:db8:1:ffff::1", "2001:db8:1::/48"},
		{"2001:db8:2::1", "2001:db8:2::/48"},
		{"fe80::1%eth0", "fe80::/48"},
		{"", ""},
		{"unknown", "unknown"},
	} {
		if got := place(c.ip); got != c.want {
			t.Errorf("place(%q): got %q, want %q", c.ip, got, c.want)
		}
	}
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestDeviceFingerprint(t *testing.T) {
	t.Parallel()
	base := deviceFingerprint("u1", "203.0.113.0/24", "Firefox", "Linux")
	if !hex64.MatchString(base) {
		t.Fatalf("fingerprint: got %q, want 64 hex digits", base)
	}
	if again := deviceFingerprint("u1", "203.0.113.0/24", "Firefox", "Linux"); again != base {
		t.Errorf("fingerprint of the same device: got %q and %q, want equal", base, again)
	}
	for name, other := range map[string]string{
		"another user":    deviceFingerprint("u2", "203.0.113.0/24", "Firefox", "Linux"),
		"another network": deviceFingerprint("u1", "203.0.114.0/24", "Firefox", "Linux"),
		"another browser": deviceFingerprint("u1", "203.0.113.0/24", "Chrome", "Linux"),
		"another system":  deviceFingerprint("u1", "203.0.113.0/24", "Firefox", "Windows"),
		"shifted parts":   deviceFingerprint("u1", "203.0.113.0/24", "FirefoxL", "inux"),
	} {
		if other == base {
			t.Errorf("%s: got the same fingerprint, want another", name)
		}
	}
}

// FuzzPlace: place never fails, gives a prefix that holds a valid address
// (/24 or /48), and is the address itself otherwise.
func FuzzPlace(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "::ffff:10.0.0.1", "2001:db8::1", "fe80::1%eth0", "", "1.2.3", "::", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := place(s)
		a, err := netip.ParseAddr(s)
		if err != nil {
			if got != s {
				t.Fatalf("place(%q) of a non-address: got %q, want it unchanged", s, got)
			}
			return
		}
		p, err := netip.ParsePrefix(got)
		if err != nil {
			t.Fatalf("place(%q): got %q, not a prefix: %v", s, got, err)
		}
		a = a.WithZone("").Unmap()
		if want := map[bool]int{true: 24, false: 48}[a.Is4()]; p.Bits() != want || !p.Contains(a) || p.Masked() != p {
			t.Fatalf("place(%q): got %q, want the /%d that holds %s", s, got, want, a)
		}
	})
}
