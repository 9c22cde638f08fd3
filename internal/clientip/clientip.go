// Package clientip finds the address of an HTTP request's client for throttling
// (Credentials.ClientAddr, S36): the peer of the connection, or a forwarded address when the
// peer is a trusted reverse proxy. It is shared by rest and httpauth.
package clientip

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
)

// maxForwardedHops bounds how many addresses of X-Forwarded-For or Forwarded are read.
const maxForwardedHops = 32

// Resolver reads client addresses behind a fixed set of trusted proxies. The zero value
// trusts no proxy. It is safe for concurrent use.
type Resolver struct {
	proxies []netip.Prefix
}

// New returns a Resolver trusting the proxies (a single address is a /32 or /128 prefix); nil
// means none. It fails on an invalid prefix.
func New(proxies []netip.Prefix) (*Resolver, error) {
	masked := make([]netip.Prefix, len(proxies))
	for i, p := range proxies {
		if !p.IsValid() {
			return nil, errors.New("TrustedProxies holds an invalid prefix")
		}
		masked[i] = p.Masked()
	}
	return &Resolver{proxies: masked}, nil
}

// Addr returns the address of the client of r: the peer of the connection, unless the peer
// is a trusted proxy. Then the forwarded chain (Forwarded's for= when present, else
// X-Forwarded-For) is read from the right, skipping trusted proxies, and the first address not
// trusted is the client: the addresses left of it were written by the client itself and prove
// nothing. A hop a proxy did not know ("unknown", an obfuscated name) stops the walk at the
// proxy that wrote it. "" means unknown (RemoteAddr is not an address).
func (res *Resolver) Addr(r *http.Request) string {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok {
		return ""
	}
	if !res.trusted(peer) {
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
		if !res.trusted(a) {
			break
		}
	}
	return client.String()
}

// trusted reports whether a is one of the trusted proxies.
func (res *Resolver) trusted(a netip.Addr) bool {
	for _, p := range res.proxies {
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
