package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// postgresURL returns AUTHCUBE_TEST_POSTGRES or skips the test.
func postgresURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("AUTHCUBE_TEST_POSTGRES")
	if url == "" {
		t.Skip("AUTHCUBE_TEST_POSTGRES is not set: set it to a PostgreSQL URL (postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL tests")
	}
	return url
}

var apiURLRe = regexp.MustCompile(`api_url: "(http://[^"]+)"`)

// startBinary starts the built authcube with args and returns its API URL once it serves.
// The process gets SIGTERM at the test's end and must exit 0.
func startBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr lockedBuffer // written by exec's goroutine, read here
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			assert.NoError(t, err, "authcube serve exited badly: %s", stderr.String())
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("authcube serve did not stop on SIGTERM")
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := apiURLRe.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	select {
	case url, ok := <-found:
		require.True(t, ok, "authcube serve ended before serving: %s", stderr.String())
		return url
	case <-time.After(60 * time.Second):
		t.Fatalf("authcube serve did not start: %s", stderr.String())
	}
	return ""
}

// call sends a JSON request and decodes the JSON answer into out (when not nil); it returns
// the status.
func call(t *testing.T, method, url, token, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("CB-Token", token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if out != nil && res.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(b, out), "%s %s: %s", method, url, b)
	}
	return res.StatusCode
}

type sessionAnswer struct {
	Session struct {
		Token  string `json:"token"`
		UserID int64  `json:"user_id"`
	} `json:"session"`
}

// Two authcube serve processes on two ports over one PostgreSQL database behave as one
// service: a user signed up through A signs in through B, and a session destroyed through A is
// refused by B (which had it in memory) soon after.
func TestTwoServersOneDatabase(t *testing.T) {
	url := postgresURL(t)
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "authcube")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	schema := fmt.Sprintf("authcube_cli_%d_%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		assert.NoError(t, err)
	})
	serve := func() string {
		// The URL comes from the environment, as the README shows.
		t.Setenv(postgresEnv, url)
		return startBinary(t, bin, "serve", "--postgres-schema", schema, "--dir", t.TempDir(),
			"--addr", "127.0.0.1:0", "--auth-key", "local-auth-key")
	}
	a, b := serve(), serve()
	require.NotEqual(t, a, b)

	var app sessionAnswer
	require.Equal(t, http.StatusCreated, call(t, "POST", a+"/session.json", "", `{"application_id":"1","auth_key":"local-auth-key"}`, &app))
	require.Equal(t, http.StatusCreated, call(t, "POST", a+"/users.json", app.Session.Token,
		`{"user":{"login":"marvin18","password":"correct horse battery"}}`, nil))

	var us sessionAnswer
	require.Equal(t, http.StatusCreated, call(t, "POST", b+"/session.json", "",
		`{"application_id":"1","auth_key":"local-auth-key","user":{"login":"marvin18","password":"correct horse battery"}}`, &us))
	require.NotZero(t, us.Session.UserID)
	require.Equal(t, http.StatusOK, call(t, "GET", b+"/session.json", us.Session.Token, "", nil))
	require.Equal(t, http.StatusOK, call(t, "GET", a+"/session.json", us.Session.Token, "", nil))

	require.Equal(t, http.StatusOK, call(t, "DELETE", a+"/session.json", us.Session.Token, "", nil))
	require.Eventually(t, func() bool {
		return call(t, "GET", b+"/session.json", us.Session.Token, "", nil) == http.StatusUnauthorized
	}, 5*time.Second, time.Millisecond, "a session destroyed through A is still accepted by B")

	// A backup while both serve: pg_dump's custom format, into a new file.
	if _, err := exec.LookPath("pg_dump"); err != nil {
		t.Log("pg_dump is not on PATH: the backup is not tried")
		return
	}
	to := filepath.Join(t.TempDir(), "authcube.dump")
	var bout, berr strings.Builder
	code := run(t.Context(), []string{"backup", "--postgres-schema", schema, "--to", to}, &bout, &berr)
	require.Equal(t, exitOK, code, berr.String())
	st, err := os.Stat(to)
	require.NoError(t, err)
	require.NotZero(t, st.Size())
	code = run(t.Context(), []string{"backup", "--postgres-schema", schema, "--to", to}, &bout, &berr)
	require.Equal(t, exitError, code, "a backup overwrote a file")
	require.Contains(t, berr.String(), "exists already")
}
