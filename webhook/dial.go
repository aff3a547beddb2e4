package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrRefusedAddress is wrapped by the error of an attempt whose URL
// resolved to an address deliveries may not reach (see [Config.AllowNetworks]).
var ErrRefusedAddress = errors.New("sigra/webhook: refused address")

// refusedPrefixes are the networks a delivery may not reach besides those
// netip.Addr's predicates name (private, loopback, link-local,
// unspecified, multicast).
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this" network
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: may reach any IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2002::/16"),      // 6to4: may embed any IPv4 address
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("2001::/32"),      // Teredo: may embed any IPv4 address
	netip.MustParsePrefix("::/128"),         // unspecified
	netip.MustParsePrefix("::ffff:0:0/96"),  // IPv4-mapped, when not unmapped
	netip.MustParsePrefix("169.254.0.0/16"), // link-local (cloud metadata)
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("255.255.255.255/32"),
}

// refused reports whether a delivery may not reach ip: a private,
// loopback, link-local, unspecified, multicast, carrier-grade NAT or other
// special-purpose address, unless allow holds it.
func refused(ip netip.Addr, allow []netip.Prefix) bool {
	ip = ip.Unmap()
	for _, p := range allow {
		if p.Contains(ip) {
			return false
		}
	}
	if !ip.IsValid() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range refusedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// dialControl returns the net.Dialer Control function that refuses a
// connection to a refused address. It runs after name resolution, with
// the address about to be dialled, for every address tried: a name that
// resolves to a private address, or that resolves differently the second
// time (DNS rebinding), is refused on the address it would reach.
func dialControl(allow []netip.Prefix) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %q is not an IP address and port", ErrRefusedAddress, address)
		}
		if refused(ap.Addr(), allow) {
			return fmt.Errorf("%w: %s is not a public address", ErrRefusedAddress, ap.Addr())
		}
		return nil
	}
}
