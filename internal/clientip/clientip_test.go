package clientip

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// S36: forwarded headers name the client only when the peer is a trusted proxy, and then only
// the address right of the last trusted proxy counts.
func TestAddr(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	trusting, err := New(proxies, "")
	require.NoError(t, err)
	trustingFwd, err := New(proxies, "forwarded")
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
		{"forwarded", "127.0.0.1:1", "Forwarded", `for=198.51.100.2, for="203.0.113.1:4711";proto=https, for=10.1.2.3`, "203.0.113.1", trustingFwd},
		{"ipv6 forwarded", "127.0.0.1:1", "Forwarded", `for="[2001:db8::1]:443"`, "2001:db8::1", trustingFwd},
		{"forwarded ignored when reading X-Forwarded-For", "127.0.0.1:1", "Forwarded", `for=203.0.113.1`, "127.0.0.1", trusting},
		{"X-Forwarded-For ignored when reading Forwarded", "127.0.0.1:1", "X-Forwarded-For", "203.0.113.1", "127.0.0.1", trustingFwd},
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
	_, err = New([]netip.Prefix{{}}, "")
	require.Error(t, err)
	_, err = New(nil, "X-Real-IP")
	require.Error(t, err)
}

// S36: a proxy that appends to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for) passes the
// client's own Forwarded header through untouched; the client it names must not count, nor may
// a Forwarded header without for= hide the proxy's X-Forwarded-For. And the other way round.
func TestAddrReadsOneHeader(t *testing.T) {
	t.Parallel()
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}
	xff, err := New(proxy, "X-Forwarded-For")
	require.NoError(t, err)
	fwd, err := New(proxy, "Forwarded")
	require.NoError(t, err)
	r := &http.Request{RemoteAddr: "10.0.0.1:5555", Header: http.Header{}}
	r.Header.Set("X-Forwarded-For", "198.51.100.7") // written by the proxy: the real client
	r.Header.Set("Forwarded", "for=203.0.113.99")   // written by the attacker
	assert.Equal(t, "198.51.100.7", xff.Addr(r))
	r.Header.Set("Forwarded", "by=x")
	assert.Equal(t, "198.51.100.7", xff.Addr(r))

	r.Header.Set("Forwarded", "for=198.51.100.7")   // written by the proxy
	r.Header.Set("X-Forwarded-For", "203.0.113.99") // written by the attacker
	assert.Equal(t, "198.51.100.7", fwd.Addr(r))
}

// ParseAddr is shared by the forwarded headers and Credentials.ClientAddr.
func TestParseAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"203.0.113.7": "203.0.113.7", "203.0.113.7:4711": "203.0.113.7", "[2001:db8::1]:443": "2001:db8::1",
		"2001:db8::1": "2001:db8::1", "[2001:db8::1]": "2001:db8::1", "::ffff:203.0.113.9": "203.0.113.9", "fe80::1%eth0": "fe80::1",
	} {
		a, ok := ParseAddr(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, a.String(), in)
	}
	for _, in := range []string{"", "unknown", "_hidden", "203.0.113.7:x", strings.Repeat("1", MaxAddrLen+1)} {
		_, ok := ParseAddr(in)
		assert.False(t, ok, in)
	}
}
