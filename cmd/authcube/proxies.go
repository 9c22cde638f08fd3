package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// parseProxies reads --trusted-proxies: comma-separated addresses ("10.0.0.7", a /32 or /128)
// and CIDR prefixes ("10.0.0.0/8"); "" is none.
func parseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is not an address or CIDR prefix", item)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is not an address or CIDR prefix", item)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
