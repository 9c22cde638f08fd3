package smtpmail_test

import (
	"bufio"
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testCert is a self-signed ECDSA P-256 certificate for "localhost" and 127.0.0.1, made once
// per test binary, with a pool that trusts it.
var testCert = sync.OnceValues(func() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtpmail test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
})

// clientTLS trusts the test certificate.
func clientTLS() *tls.Config {
	_, pool := testCert()
	return &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// serverOpts shape a [testServer].
type serverOpts struct {
	startTLS    bool   // advertise and accept STARTTLS
	implicitTLS bool   // TLS from the first byte
	block       bool   // never answer: hold each connection until the test ends
	host        string // listen address; "" means 127.0.0.1
	no8BitMIME  bool   // do not advertise 8BITMIME
	onAccept    func()
}

// received is one message the server accepted.
type received struct {
	helo, from string
	to         []string
	data       string
	tls        bool
}

// testServer is a small SMTP server on loopback: EHLO, STARTTLS, AUTH PLAIN (user "mailer",
// password "s3cret-pw"), MAIL, RCPT, DATA with dot-unstuffing, NOOP, RSET, QUIT.
type testServer struct {
	addr    string
	opts    serverOpts
	release chan struct{}
	wg      sync.WaitGroup

	mu       sync.Mutex
	conns    int
	auths    int // AUTH commands seen
	commands []string
	messages []received
}

const (
	testUser     = "mailer"
	testPassword = "s3cret-pw"
)

func newServer(t *testing.T, opts serverOpts) *testServer {
	t.Helper()
	host := cmp.Or(opts.host, "127.0.0.1")
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	require.NoError(t, err)
	if opts.implicitTLS {
		cert, _ := testCert()
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	s := &testServer{addr: ln.Addr().String(), opts: opts, release: make(chan struct{})}
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			s.wg.Go(func() { s.serve(conn) })
		}
	})
	t.Cleanup(func() {
		close(s.release)
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// snapshot returns what the server has seen so far.
func (s *testServer) snapshot() (conns, auths int, commands []string, messages []received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, s.auths, append([]string(nil), s.commands...), append([]received(nil), s.messages...)
}

func (s *testServer) serve(conn net.Conn) {
	defer conn.Close()
	if s.opts.onAccept != nil {
		s.opts.onAccept()
	}
	if s.opts.block {
		<-s.release
		return
	}
	conn.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a wait
	_, isTLS := conn.(*tls.Conn)
	r := bufio.NewReader(conn)
	reply := func(lines ...string) {
		for _, l := range lines {
			if _, err := conn.Write([]byte(l + "\r\n")); err != nil {
				return
			}
		}
	}
	var msg received
	reply("220 localhost ESMTP test")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		s.mu.Lock()
		s.commands = append(s.commands, verb)
		s.mu.Unlock()
		switch verb {
		case "EHLO":
			msg = received{helo: arg, tls: isTLS}
			lines := []string{"250-localhost"}
			if s.opts.startTLS && !isTLS {
				lines = append(lines, "250-STARTTLS")
			}
			if s.opts.no8BitMIME {
				reply(append(lines, "250 AUTH PLAIN")...)
			} else {
				reply(append(lines, "250-AUTH PLAIN", "250 8BITMIME")...)
			}
		case "STARTTLS":
			if !s.opts.startTLS || isTLS {
				reply("502 not here")
				continue
			}
			reply("220 go ahead")
			cert, _ := testCert()
			tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}})
			if tc.Handshake() != nil {
				return
			}
			conn, r, isTLS, msg = tc, bufio.NewReader(tc), true, received{}
		case "AUTH":
			s.mu.Lock()
			s.auths++
			s.mu.Unlock()
			mech, resp, _ := strings.Cut(arg, " ")
			blob, _ := base64.StdEncoding.DecodeString(resp)
			if strings.EqualFold(mech, "PLAIN") && string(blob) == "\x00"+testUser+"\x00"+testPassword {
				reply("235 ok")
				continue
			}
			// A careless server echoes what it got: the client must not pass it on.
			reply("535 bad credentials " + resp + " " + string(blob[min(len(blob), 1):]))
		case "MAIL":
			msg.from = addrArg(arg, "FROM:")
			reply("250 ok")
		case "RCPT":
			msg.to = append(msg.to, addrArg(arg, "TO:"))
			reply("250 ok")
		case "DATA":
			reply("354 go on")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			msg.data = data.String()
			s.mu.Lock()
			s.messages = append(s.messages, msg)
			s.mu.Unlock()
			reply("250 queued")
		case "NOOP", "RSET":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("500 unknown command")
		}
	}
}

// addrArg takes the address out of "FROM:<a@b> BODY=8BITMIME".
func addrArg(arg, prefix string) string {
	arg, _ = strings.CutPrefix(strings.ToUpper(arg[:min(len(arg), len(prefix))])+arg[min(len(arg), len(prefix)):], prefix)
	arg, _, _ = strings.Cut(arg, " ")
	return strings.TrimSuffix(strings.TrimPrefix(arg, "<"), ">")
}
