package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
)

func TestServeRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	o := serveOptions{dir: dir, addr: "127.0.0.1:0", appID: 1, authKey: "local-auth-key", idleTTL: time.Hour}
	s, err := startServer(t.Context(), o, &stdout, &stderr)
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() { errc <- s.serve() }()

	assert.Contains(t, stdout.String(), `ConnectyCube.init({ appId: 1, authKey: "local-auth-key" }, { endpoints: { api_url: "`+s.url+`" }, debug: { mode: 0 } });`)
	assert.True(t, strings.HasPrefix(s.url, "http://127.0.0.1:"), s.url)

	body := strings.NewReader(`{"application_id":"1","auth_key":"local-auth-key"}`)
	res, err := http.Post(s.url+"/session.json", "application/json;charset=utf-8", body)
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusCreated, res.StatusCode)
	var got struct {
		Session struct {
			Token  string `json:"token"`
			UserID int64  `json:"user_id"`
		} `json:"session"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&got))
	assert.NotEmpty(t, got.Session.Token)

	// While the server holds the directory, a backup refuses with a clear message.
	var bout, berr bytes.Buffer
	code := run(t.Context(), []string{"backup", "--dir", dir, "--to", filepath.Join(t.TempDir(), "copy")}, &bout, &berr)
	assert.Equal(t, exitError, code)
	assert.Contains(t, berr.String(), "in use")

	require.NoError(t, s.shutdown())
	require.NoError(t, <-errc)

	// Now a backup works, and the copy opens.
	to := filepath.Join(t.TempDir(), "copy")
	bout.Reset()
	berr.Reset()
	code = run(t.Context(), []string{"backup", "--dir", dir, "--to", to}, &bout, &berr)
	require.Equal(t, exitOK, code, berr.String())
	e, err := authcube.Open(context.Background(), authcube.Config{Dir: to})
	require.NoError(t, err)
	require.NoError(t, e.Close())
}

func TestServeRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8080", "[::]:0"} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{"serve", "--dir", t.TempDir(), "--addr", addr, "--auth-key", "k"}, &stdout, &stderr)
		assert.Equal(t, exitError, code, addr)
		assert.Contains(t, stderr.String(), "not a loopback address", addr)
		assert.Contains(t, stderr.String(), "--public", addr)
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		assert.NoError(t, checkAddr(serveOptions{addr: addr}, &bytes.Buffer{}), addr)
	}
	var stderr bytes.Buffer
	assert.NoError(t, checkAddr(serveOptions{addr: "0.0.0.0:0", public: true}, &stderr))
	assert.Contains(t, stderr.String(), "WARNING")
}

// lockedBuffer is a buffer safe for a writer and a reader on different goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeStopsWithItsContext(t *testing.T) {
	// runServe returns when its context ends (SIGINT and SIGTERM cancel it), closing the engine.
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runServe(ctx, []string{"--dir", dir, "--addr", "127.0.0.1:0", "--auth-key", "k"}, &stdout, &stderr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "ConnectyCube.init") }, 10*time.Second, 5*time.Millisecond)
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	e, err := authcube.Open(context.Background(), authcube.Config{Dir: dir})
	require.NoError(t, err, "the directory is released")
	require.NoError(t, e.Close())
}

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, exitOK, run(t.Context(), []string{"help"}, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "authcube serve")
	stdout.Reset()
	assert.Equal(t, exitOK, run(t.Context(), []string{"help", "serve"}, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "-auth-key")
	assert.Equal(t, exitUsage, run(t.Context(), nil, &stdout, &stderr))
	assert.Equal(t, exitUsage, run(t.Context(), []string{"frobnicate"}, &stdout, &stderr))
	assert.Equal(t, exitUsage, run(t.Context(), []string{"serve", "--nope"}, &stdout, &stderr))
	stderr.Reset()
	assert.Equal(t, exitError, run(t.Context(), []string{"serve", "--dir", t.TempDir()}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "--auth-key is required")
	assert.Equal(t, exitUsage, run(t.Context(), []string{"backup"}, &stdout, &stderr))
}

// serve --s3-endpoint keeps file bytes in the bucket, with the keys of AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, which never appear in its errors.
func TestServeS3Flags(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIASERVETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "serve-secret-never-shown")
	var auth sync.Map
	// A server that knows bucket "files" (HEAD answers 200) and refuses anything else.
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"), true)
		if r.Method == http.MethodHead && strings.Trim(r.URL.Path, "/") == "files" {
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `<Error><Code>AccessDenied</Code><Message>denied</Message></Error>`)
	}))
	defer fake.Close()
	host := fake.Listener.Addr().String()

	fs, o := serveFlags(io.Discard)
	require.NoError(t, fs.Parse([]string{"--dir", t.TempDir(), "--addr", "127.0.0.1:0", "--auth-key", "k",
		"--s3-endpoint", host, "--s3-bucket", "files", "--s3-region", "us-east-1", "--s3-prefix", "app1", "--s3-insecure",
		"--s3-presign-downloads", "5m"}))
	var stdout, stderr bytes.Buffer
	s, err := startServer(t.Context(), *o, &stdout, &stderr)
	require.NoError(t, err)
	require.NoError(t, s.shutdown())
	signed := false
	auth.Range(func(k, _ any) bool {
		signed = signed || strings.Contains(k.(string), "Credential=AKIASERVETEST/")
		return true
	})
	assert.True(t, signed, "requests are signed with the keys from the environment")

	for _, args := range [][]string{
		{"--s3-endpoint", host, "--s3-bucket", "other", "--s3-insecure", "--s3-region", "us-east-1"},
		{"--s3-endpoint", host},
		{"--s3-presign-downloads", "5m"},
		{"--s3-endpoint", host, "--s3-bucket", "files", "--s3-insecure", "--s3-region", "us-east-1", "--s3-presign-downloads", "2h"},
	} {
		fs, o := serveFlags(io.Discard)
		require.NoError(t, fs.Parse(append([]string{"--dir", t.TempDir(), "--addr", "127.0.0.1:0", "--auth-key", "k"}, args...)))
		_, err := startServer(t.Context(), *o, &stdout, &stderr)
		require.Error(t, err, "%v", args)
		assert.NotContains(t, err.Error(), "serve-secret-never-shown")
		assert.NotContains(t, err.Error(), "AKIASERVETEST")
	}
	assert.NotContains(t, stderr.String(), "serve-secret-never-shown")
}
