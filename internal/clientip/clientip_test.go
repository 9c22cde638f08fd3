package clientip

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// S36: forwarded headers name the client only when the peer is a trusted proxy, and then only
// the address right of the last trusted proxy counts.
func TestAddr(t *testing.T) {
	t.Parallel()
	trusting, err := New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")})
	require.NoError(t, err)
	var none Resolver
	for _, tc := range []struct {
		name, remote, header, value, want string
		res                               *Resolver
	}{
		{"peer without proxies", "203.0.113.5:4711", "X-Forwarded-For", "198.51.100.1", "203.0.113.5", &none},
		{"loopback peer not trusted", "127.0.0.1:1", "X-Forwarded-For", "198.51.100.1", "127.0.0.1", &none},
		{"trusted peer, one hop", "127.0.0.1:1", "X-Forwarded-For", "203.0.113.1", "203.0.113.1", trusting},
		{"made-up hops on the left", "127.0.0.1:1", "X-Forwarded-For", "198.51.100.1, 203.0.113.1, 10.1.2.3", "203.0.113.1", trusting},
		{"forwarded", "127.0.0.1:1", "Forwarded", `for=198.51.100.2, for="203.0.113.1:4711";proto=https, for=10.1.2.3`, "203.0.113.1", trusting},
		{"ipv6 forwarded", "127.0.0.1:1", "Forwarded", `for="[2001:db8::1]:443"`, "2001:db8::1", trusting},
		{"unknown hop stops at its proxy", "127.0.0.1:1", "X-Forwarded-For", "203.0.113.1, unknown, 10.1.2.3", "10.1.2.3", trusting},
		{"mapped address", "[::ffff:203.0.113.9]:80", "", "", "203.0.113.9", &none},
		{"not an address", "pipe", "", "", "", trusting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			if tc.header != "" {
				r.Header.Set(tc.header, tc.value)
			}
			assert.Equal(t, tc.want, tc.res.Addr(r))
		})
	}
	_, err = New([]netip.Prefix{{}})
	require.Error(t, err)
}
