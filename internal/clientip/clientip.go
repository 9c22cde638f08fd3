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

// The headers a Resolver can read the forwarded chain from.
const (
	XForwardedFor = "X-Forwarded-For" // the default: "client, proxy1, proxy2"
	Forwarded     = "Forwarded"       // RFC 7239: "for=client, for=proxy1"
)

// Resolver reads client addresses behind a fixed set of trusted proxies. The zero value
// trusts no proxy. It is safe for concurrent use.
type Resolver struct {
	proxies   []netip.Prefix
	forwarded bool // read Forwarded, not X-Forwarded-For
}

// New returns a Resolver trusting the proxies (a single address is a /32 or /128 prefix); nil
// means none. header names the one header the proxies append to (or overwrite): XForwardedFor
// ("" means it) or Forwarded, matched without regard to case; the other header is ignored, since a
// proxy passes it through as the client wrote it. It fails on an invalid prefix or header.
func New(proxies []netip.Prefix, header string) (*Resolver, error) {
	masked := make([]netip.Prefix, len(proxies))
	for i, p := range proxies {
		if !p.IsValid() {
			return nil, errors.New("TrustedProxies holds an invalid prefix")
		}
		masked[i] = p.Masked()
	}
	res := &Resolver{proxies: masked}
	switch {
	case header == "" || strings.EqualFold(header, XForwardedFor):
	case strings.EqualFold(header, Forwarded):
		res.forwarded = true
	default:
		return nil, errors.New(`ForwardedHeader must be "X-Forwarded-For" or "Forwarded"`)
	}
	return res, nil
}

// Addr returns the address of the client of r: the peer of the connection, unless the peer
// is a trusted proxy. Then the forwarded chain of the chosen header is read from the right,
// skipping trusted proxies, and the first address not trusted is the client: the addresses
// left of it were written by the client itself and prove nothing. A hop a proxy did not know
// ("unknown", an obfuscated name) stops the walk at the proxy that wrote it. "" means unknown
// (RemoteAddr is not an address).
func (res *Resolver) Addr(r *http.Request) string {
	peer, ok := ParseAddr(r.RemoteAddr)
	if !ok {
		return ""
	}
	if !res.trusted(peer) {
		return peer.String()
	}
	hops := forwardedFor(r.Header, res.forwarded)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := ParseAddr(hops[i])
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
// Forwarded header (RFC 7239) when forwarded is set, else the X-Forwarded-For lists. At most
// the last maxForwardedHops are returned.
func forwardedFor(hdr http.Header, forwarded bool) []string {
	var hops []string
	if forwarded {
		for _, line := range hdr.Values(Forwarded) {
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
		for _, line := range hdr.Values(XForwardedFor) {
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

// MaxAddrLen bounds the text ParseAddr reads: the longest IPv6 address with a zone and a
// port fits well within it.
const MaxAddrLen = 128

// ParseAddr reads an address, with or without a port, as http.Request.RemoteAddr and the
// forwarded headers have it ("203.0.113.7", "203.0.113.7:4711", "[2001:db8::1]:443",
// "2001:db8::1"), as IPv4 when it is IPv4-mapped and without a zone. ok is false for anything
// else, and for text longer than MaxAddrLen.
func ParseAddr(s string) (netip.Addr, bool) {
	if len(s) > MaxAddrLen {
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
