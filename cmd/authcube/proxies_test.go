package main

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTrustedProxies(t *testing.T) {
	got, err := parseProxies(" 10.0.0.0/8, 192.168.1.7 ,::ffff:127.0.0.1,2001:db8::1/64,")
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"),
		netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("2001:db8::/64"),
	}, got)
	none, err := parseProxies("")
	require.NoError(t, err)
	assert.Empty(t, none)
	for _, bad := range []string{"proxy.example", "10.0.0.0/33", "10.0.0.1:80"} {
		_, err := parseProxies(bad)
		assert.ErrorContains(t, err, "--trusted-proxies", bad)
	}

	// The flag reaches the server: a bad value stops it before it opens anything.
	fs, o := serveFlags(nil)
	require.NoError(t, fs.Parse([]string{"--auth-key", "k", "--dir", t.TempDir(), "--trusted-proxies", "nonsense"}))
	_, err = startServer(t.Context(), *o, nil, nil)
	assert.ErrorContains(t, err, "--trusted-proxies")

	fs, o = serveFlags(nil)
	require.NoError(t, fs.Parse([]string{"--auth-key", "k", "--dir", t.TempDir(), "--forwarded-header", "X-Real-IP"}))
	_, err = startServer(t.Context(), *o, nil, nil)
	assert.ErrorContains(t, err, "--forwarded-header")
}
