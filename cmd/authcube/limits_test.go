package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startTestServer starts authcube serve with o (dir, addr and auth key filled in) and stops it
// at the end of the test.
func startTestServer(t *testing.T, o serveOptions) *server {
	t.Helper()
	o.dir, o.addr, o.appID, o.authKey, o.idleTTL = t.TempDir(), "127.0.0.1:0", 1, "local-auth-key", time.Hour
	var stdout, stderr bytes.Buffer
	s, err := startServer(t.Context(), o, &stdout, &stderr)
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() { errc <- s.serve() }()
	t.Cleanup(func() {
		assert.NoError(t, s.shutdown())
		assert.NoError(t, <-errc)
	})
	return s
}

// dial connects to s with an overall deadline, so a server that never cuts the client off
// fails the test instead of hanging it.
func dial(t *testing.T, s *server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// trickle writes one piece of more at a time, each followed by a short read, until the
// server closes the connection; it fails the test when the server has not done so by the
// overall bound.
func trickle(t *testing.T, c net.Conn, more string) {
	t.Helper()
	bound := time.Now().Add(20 * time.Second)
	buf := make([]byte, 4096)
	for time.Now().Before(bound) {
		if _, err := c.Write([]byte(more)); err != nil {
			return // reset by the server
		}
		// The short read paces the trickle: about 50 pieces a second.
		require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		_, err := c.Read(buf)
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			return // EOF or reset: cut off
		}
		// A response (408, 400...) may come first; the connection must still close.
	}
	t.Fatal("the server kept a trickling client connected")
}

func TestServeCutsOffSlowClients(t *testing.T) {
	// S34: a client trickling its headers, or its body below the minimum rate, is
	// disconnected. Small limits keep the test short; nothing asserts how long it took.
	s := startTestServer(t, serveOptions{
		readHeaderTimeout: 100 * time.Millisecond, readTimeout: 200 * time.Millisecond,
		writeTimeout: time.Second, minRate: 1 << 10,
	})

	t.Run("headers", func(t *testing.T) {
		c := dial(t, s)
		_, err := io.WriteString(c, "POST /session.json HTTP/1.1\r\nHost: 127.0.0.1\r\n")
		require.NoError(t, err)
		trickle(t, c, "X-Pad: a\r\n")
	})
	t.Run("body", func(t *testing.T) {
		// One byte per piece is about 50 B/s, far below the 1 KiB/s minimum.
		c := dial(t, s)
		_, err := io.WriteString(c, "POST /session.json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
		require.NoError(t, err)
		trickle(t, c, " ")
	})
}

func TestMinimumRateDeadline(t *testing.T) {
	// The deadline moves one second per minRate bytes, so a transfer at the minimum rate or
	// faster never reaches it, however large.
	l := limits{minRate: 10 << 10}
	start := time.Unix(1000, 0)
	assert.Equal(t, start.Add(30*time.Second), l.deadline(start, 30*time.Second, 0))
	assert.Equal(t, start.Add(31*time.Second), l.deadline(start, 30*time.Second, 10<<10))
	// 100 MiB at 10 KiB/s: 10240 s on top of the base.
	assert.Equal(t, start.Add(30*time.Second+10240*time.Second), l.deadline(start, 30*time.Second, 100<<20))
}

func TestServeCapsConnections(t *testing.T) {
	// S34: with --max-conns 1, a second connection is not served while the first is in a
	// request, and is served as soon as the first closes.
	s := startTestServer(t, serveOptions{maxConns: 1})
	get := "GET /session.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

	first := dial(t, s)
	_, err := io.WriteString(first, get)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(first), nil)
	require.NoError(t, err, "the first connection is served")
	res.Body.Close()

	// A next request whose body never comes: the server's "100 Continue" tells that its
	// handler is reading the body, the connection in a request.
	r := bufio.NewReader(first)
	_, err = io.WriteString(first, "POST /session.json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"+
		"Content-Length: 100\r\nExpect: 100-continue\r\n\r\n")
	require.NoError(t, err)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1 100 Continue\r\n", line)

	second := dial(t, s) // the kernel completes the handshake; the server does not serve it
	_, err = io.WriteString(second, get)
	require.NoError(t, err)
	require.NoError(t, second.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	_, err = second.Read(make([]byte, 1))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "the second connection waits while the first is in a request")

	first.Close()
	require.NoError(t, second.SetReadDeadline(time.Now().Add(20*time.Second)))
	res, err = http.ReadResponse(bufio.NewReader(second), nil)
	require.NoError(t, err, "the second connection is served once the first closes")
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
}

func TestServeIdleConnectionsGiveWay(t *testing.T) {
	// S34: a connection kept alive between requests does not hold its slot against a new
	// client: with --max-conns 1 and an idle timeout of an hour, a second client is served at
	// once, and the idle connection is closed to make room.
	s := startTestServer(t, serveOptions{maxConns: 1, idleTimeout: time.Hour})
	get := "GET /session.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
	served := func(c net.Conn) {
		t.Helper()
		_, err := io.WriteString(c, get)
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	}

	first := dial(t, s)
	served(first) // first is now idle, kept alive
	second := dial(t, s)
	served(second) // not after the idle timeout

	require.NoError(t, first.SetReadDeadline(time.Now().Add(20*time.Second)))
	_, err := first.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the idle connection was closed for the second")

	third := dial(t, s) // the second is idle in turn and gives way
	served(third)
}

func TestServeURLsComeFromTheBaseURL(t *testing.T) {
	// S34: upload URLs are built from --base-url, or the listen address, never from Host.
	for _, base := range []string{"", "https://auth.example.com"} {
		s := startTestServer(t, serveOptions{baseURL: base})
		want := s.url // the listen address
		if base != "" {
			want = base
		}
		post := func(path, tok, body string) map[string]any {
			req, err := http.NewRequest("POST", s.url+path, strings.NewReader(body))
			require.NoError(t, err)
			req.Host = "attacker.example"
			req.Header.Set("Content-Type", "application/json;charset=utf-8")
			req.Header.Set("CB-Token", tok)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			require.Equal(t, http.StatusCreated, res.StatusCode)
			var m map[string]any
			require.NoError(t, json.NewDecoder(res.Body).Decode(&m))
			return m
		}
		app := post("/session.json", "", `{"application_id":1,"auth_key":"local-auth-key"}`)["session"].(map[string]any)["token"].(string)
		post("/users.json", app, `{"user":{"login":"ann-base","password":"correct horse 9"}}`)
		tok := post("/session.json", "", `{"application_id":1,"auth_key":"local-auth-key","user":{"login":"ann-base","password":"correct horse 9"}}`)["session"].(map[string]any)["token"].(string)
		blob := post("/blobs.json", tok, `{"blob":{"name":"a.png","content_type":"image/png"}}`)["blob"].(map[string]any)
		params := blob["blob_object_access"].(map[string]any)["params"].(string)
		assert.True(t, strings.HasPrefix(params, want+"/blobs/upload/"), "%s does not start with %s", params, want)
	}
	_, err := startServer(t.Context(), serveOptions{dir: t.TempDir(), addr: "127.0.0.1:0", authKey: "k", baseURL: "ftp://x"}, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "--base-url")
}

func TestServeFlagDefaults(t *testing.T) {
	fs, o := serveFlags(io.Discard)
	require.NoError(t, fs.Parse([]string{"--allow-origin", "https://a.example"}))
	assert.Equal(t, "https://a.example", o.origins, "--allow-origin is --allowed-origins' former name")
	assert.Equal(t, serveOptions{}.withDefaults().maxConns, o.maxConns)
	assert.Equal(t, 10*time.Second, o.readHeaderTimeout)
	assert.Equal(t, 30*time.Second, o.readTimeout)
	assert.Equal(t, 30*time.Second, o.writeTimeout)
	assert.Equal(t, 2*time.Minute, o.idleTimeout)
	assert.Equal(t, int64(10<<10), o.minRate)
	assert.Equal(t, 512, o.maxConns)
	assert.Empty(t, o.baseURL)
}

func TestLongResponsesKeepTheirContext(t *testing.T) {
	// A handler that runs past the body read timeout (a large download) keeps its request
	// context: the server's background read of an idle connection must not time out under it.
	l := limits{read: 20 * time.Millisecond, write: 10 * time.Second, minRate: 1 << 10, now: time.Now}
	srv := httptest.NewServer(l.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
			io.WriteString(w, "canceled")
		case <-time.After(300 * time.Millisecond): // well past the 20ms read allowance
			io.WriteString(w, "ok")
		}
	})))
	defer srv.Close()
	for _, body := range []io.Reader{nil, strings.NewReader("x")} {
		res, err := http.Post(srv.URL, "text/plain", body)
		require.NoError(t, err)
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, "ok", string(b))
	}
}
