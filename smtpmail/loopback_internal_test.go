package smtpmail

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Plain-text AUTH is allowed only to a loopback peer, judged by the connected address. (Tested
// here on the address alone: this workplace's tests talk only to loopback.)
func TestLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true,
		"10.0.0.5": false, "192.168.1.2": false, "8.8.8.8": false, "::ffff:10.0.0.1": false,
	} {
		assert.Equal(t, want, loopbackAddr(&net.TCPAddr{IP: net.ParseIP(addr), Port: 25}), addr)
	}
	assert.False(t, loopbackAddr(&net.UnixAddr{Name: "/tmp/x"}), "not TCP")
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "smtp.example.org": false, "10.1.1.1": false} {
		assert.Equal(t, want, loopbackName(host), host)
	}
}
