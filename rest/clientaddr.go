package rest

import (
	"net/http"
	"net/netip"
	"strings"
)

// maxForwardedHops bounds how many addresses of X-Forwarded-For or Forwarded are read.
const maxForwardedHops = 32

// clientAddr returns the address of the client of r, for Credentials.ClientAddr (S36): the
// peer of the connection, unless the peer is a trusted proxy (Config.TrustedProxies). Then
// the forwarded chain (Forwarded's for= when present, else X-Forwarded-For) is read from the
// right, skipping trusted proxies, and the first address not trusted is the client: the
// addresses left of it were written by the client itself and prove nothing. A hop a proxy did
// not know ("unknown", an obfuscated name) stops the walk at the proxy that wrote it. "" means
// unknown (RemoteAddr is not an address).
func (h *handler) clientAddr(r *http.Request) string {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok {
		return ""
	}
	if !h.trusted(peer) {
		return peer.String()
	}
	hops := forwardedFor(r.Header)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		client = a
		if !h.trusted(a) {
			break
		}
	}
	return client.String()
}

// trusted reports whether a is one of Config.TrustedProxies.
func (h *handler) trusted(a netip.Addr) bool {
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor returns the forwarded chain, client first: the for= parameters of every
// Forwarded header (RFC 7239) when there is one, else the X-Forwarded-For lists. At most the
// last maxForwardedHops are returned.
func forwardedFor(hdr http.Header) []string {
	var hops []string
	if fwd := hdr.Values("Forwarded"); len(fwd) > 0 {
		for _, line := range fwd {
			for elem := range strings.SplitSeq(line, ",") {
				var hop string
				for pair := range strings.SplitSeq(elem, ";") {
					k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(k, "for") {
						hop = strings.Trim(v, `"`)
					}
				}
				hops = append(hops, hop) // "" when the element has no for=: not an address
			}
		}
	} else {
		for _, line := range hdr.Values("X-Forwarded-For") {
			for hop := range strings.SplitSeq(line, ",") {
				hops = append(hops, strings.TrimSpace(hop))
			}
		}
	}
	if len(hops) > maxForwardedHops {
		hops = hops[len(hops)-maxForwardedHops:]
	}
	return hops
}

// parseHop reads an address, with or without a port ("203.0.113.7", "203.0.113.7:4711",
// "[2001:db8::1]:443", "2001:db8::1"), as IPv4 when it is IPv4-mapped and without a zone.
func parseHop(s string) (netip.Addr, bool) {
	if len(s) > 128 {
		return netip.Addr{}, false
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
