package rest_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/rest"
)

// S36 over REST: sign-ins are throttled per client address, taken from the connection; the
// X-Forwarded-For and Forwarded headers count only when the peer is a trusted proxy, and then
// only their addresses right of the last trusted proxy (the rest the client wrote itself).
func TestClientAddressBehindProxies(t *testing.T) {
	t.Parallel()
	clientFree := authtest.WithConfig(func(c *authcube.Config) { c.ClientThrottle.Free = 2 })
	signIn := func(s *tserver, login string, hdr ...string) int {
		t.Helper()
		body := appBody(map[string]any{"user": map[string]any{"login": login, "password": "wrong password"}})
		return s.do("POST", "/session.json", "", body, hdr...).status
	}

	t.Run("untrusted peer: forwarded headers are ignored", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, rest.Config{}, clientFree)
		require.Equal(t, http.StatusUnauthorized, signIn(s, "user1", "X-Forwarded-For", "203.0.113.1"))
		require.Equal(t, http.StatusUnauthorized, signIn(s, "user2", "X-Forwarded-For", "203.0.113.2"))
		require.Equal(t, http.StatusTooManyRequests, signIn(s, "user3", "Forwarded", "for=203.0.113.3"),
			"every request came from the loopback peer")
	})

	t.Run("trusted peer: the forwarded client counts", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, rest.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}}, clientFree)
		for i := range 5 {
			require.Equal(t, http.StatusUnauthorized, signIn(s, fmt.Sprintf("user%d", i), "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1)),
				"five clients, one failure each")
		}
		// 203.0.113.1 behind two proxies, with addresses the client made up on the left: only
		// the address right of the trusted ones counts.
		require.Equal(t, http.StatusUnauthorized, signIn(s, "user10", "X-Forwarded-For", "198.51.100.1, 203.0.113.1, 10.1.2.3"))
		require.Equal(t, http.StatusTooManyRequests, signIn(s, "user11", "X-Forwarded-For", "203.0.113.1"))
		require.Equal(t, http.StatusUnauthorized, signIn(s, "user12", "X-Forwarded-For", "203.0.113.9"), "another client is not slowed")
	})

	t.Run("only the configured header counts", func(t *testing.T) {
		t.Parallel()
		// The proxy appends to X-Forwarded-For and passes the client's own Forwarded through:
		// a made-up Forwarded must not give the client a fresh address.
		s := newServer(t, rest.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, clientFree)
		for i := range 2 {
			require.Equal(t, http.StatusUnauthorized, signIn(s, fmt.Sprintf("user%d", i), "X-Forwarded-For", "203.0.113.1", "Forwarded", fmt.Sprintf("for=198.51.100.%d", i+1)))
		}
		require.Equal(t, http.StatusTooManyRequests, signIn(s, "user2", "X-Forwarded-For", "203.0.113.1", "Forwarded", "for=198.51.100.3"))

		// ForwardedHeader "Forwarded": the other way round.
		s = newServer(t, rest.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, ForwardedHeader: "Forwarded"}, clientFree)
		require.Equal(t, http.StatusUnauthorized, signIn(s, "user10", "Forwarded", `for=198.51.100.2, for="203.0.113.1:4711";proto=https`, "X-Forwarded-For", "198.51.100.5"))
		require.Equal(t, http.StatusUnauthorized, signIn(s, "user11", "Forwarded", "for=203.0.113.1", "X-Forwarded-For", "198.51.100.6"))
		require.Equal(t, http.StatusTooManyRequests, signIn(s, "user12", "Forwarded", "for=203.0.113.1", "X-Forwarded-For", "198.51.100.7"))
	})
}
