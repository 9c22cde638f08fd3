package rest_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/rest"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	req, _ := http.NewRequest("OPTIONS", s.srv.URL+"/users/v2.json", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	req.Header.Set("Access-Control-Request-Headers", "cb-token, cb-sdk, content-type")
	req.Header.Set("Access-Control-Request-Private-Network", "true")
	r := s.send(req)
	assert.Equal(t, http.StatusNoContent, r.status)
	assert.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		assert.Contains(t, r.header.Get("Access-Control-Allow-Methods"), m)
	}
	for _, h := range []string{"CB-Token", "CB-AuthKey", "CB-SDK", "Content-Type"} {
		assert.Contains(t, r.header.Get("Access-Control-Allow-Headers"), h)
	}
	// S34: "*" never grants Private Network Access, so a page on a public site cannot drive a
	// developer's local server.
	assert.Empty(t, r.header.Get("Access-Control-Allow-Private-Network"))
	assert.Empty(t, r.header.Get("Access-Control-Allow-Credentials"))

	// Simple requests carry the origin header too, errors included.
	r = s.do("GET", "/users/1.json", "", nil, "Origin", "https://app.example")
	assert.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))

	t.Run("allowed origins", func(t *testing.T) {
		s := newServer(t, rest.Config{AllowedOrigins: []string{"https://good.example"}})
		r := s.do("POST", "/session.json", "", appBody(nil), "Origin", "https://good.example")
		assert.Equal(t, "https://good.example", r.header.Get("Access-Control-Allow-Origin"))
		assert.Contains(t, r.header.Values("Vary"), "Origin")
		req, _ := http.NewRequest("OPTIONS", s.srv.URL+"/session.json", nil)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Private-Network", "true")
		r = s.send(req)
		assert.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
		assert.Empty(t, r.header.Get("Access-Control-Allow-Headers"))
		assert.Empty(t, r.header.Get("Access-Control-Allow-Private-Network"))

		// A configured origin is granted Private Network Access when it asks for it.
		req, _ = http.NewRequest("OPTIONS", s.srv.URL+"/session.json", nil)
		req.Header.Set("Origin", "https://good.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Private-Network", "true")
		r = s.send(req)
		assert.Equal(t, "https://good.example", r.header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "true", r.header.Get("Access-Control-Allow-Private-Network"))
	})
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{MaxBodyBytes: 256})
	big := appBody(map[string]any{"padding": strings.Repeat("x", 300)})
	r := s.do("POST", "/session.json", "", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	r.errs(t, "base")
	tok := s.appToken()
	r = s.do("POST", "/users.json", tok, map[string]any{"user": map[string]any{"login": "x", "custom_data": strings.Repeat("y", 300)}})
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)
}

func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	tok := s.appToken()
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/nope.json", http.StatusNotFound},
		{"GET", "/users/abc.json", http.StatusNotFound},
		{"GET", "/users/1/x/y/z.json", http.StatusNotFound},
		{"PATCH", "/session.json", http.StatusMethodNotAllowed},
		{"PUT", "/users/v2.json", http.StatusMethodNotAllowed},
		{"GET", "/blobs/upload/0123456789abcdef0123456789abcdef", http.StatusMethodNotAllowed},
		{"GET", "/blobs/not-a-uid", http.StatusNotFound},
		{"GET", "/blobs/not-a-uid.json", http.StatusNotFound},
		{"POST", "/blobs/upload/nope", http.StatusNotFound},
	} {
		r := s.do(c.method, c.path, tok, nil)
		assert.Equal(t, c.status, r.status, "%s %s", c.method, c.path)
		assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"), "%s %s", c.method, c.path)
		r.errs(t, "base")
		assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNoSecretsInLogsOrErrors(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newServer(t, rest.Config{Logger: logger}, authtest.WithConfig(func(c *authcube.Config) { c.Logger = logger }))
	tok, _ := s.signedIn("ann")
	const pw = "a-very-secret-password"
	bodies := []resp{
		s.do("POST", "/session.json", "", appBody(map[string]any{"user": map[string]any{"login": "ann", "password": pw}})),
		s.do("POST", "/users.json", tok, map[string]any{"user": map[string]any{"login": "x!", "password": pw}}),
		s.do("PUT", "/users.json", tok, map[string]any{"user": map[string]any{"password": pw, "old_password": pw}}),
		s.do("GET", "/blobs/0123456789abcdef0123456789abcdef?token="+tok, "", nil),
	}
	for _, r := range bodies {
		assert.NotContains(t, string(r.body), pw)
		assert.NotContains(t, string(r.body), tok)
	}
	require.NoError(t, s.env.Engine.Close())
	assert.NotContains(t, logs.String(), pw)
	assert.NotContains(t, logs.String(), tok)
}
