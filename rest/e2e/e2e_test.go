// Package e2e_test proves the rest facade with ConnectyCube's own JavaScript SDK: it builds
// cmd/authcube, starts `authcube serve` twice on free loopback ports (the second with a short
// idle TTL, for the session-renewal check), and runs e2e.mjs under Node with connectycube
// 6.1.2 from package-lock.json. Node and npm are required: without them the test fails.
package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// idleTTL is the short-TTL server's --idle-ttl: the script waits just past it.
const idleTTL = time.Second

// resetURL is the main server's --reset-url; the script finds the link in the outbox mail.
const resetURL = "http://127.0.0.1:1/reset-password?token={token}"

func TestConnectyCubeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for the ConnectyCube SDK end-to-end test and was not found on PATH (install Node.js 20 or later): %v", err)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("npm is required for the ConnectyCube SDK end-to-end test and was not found on PATH (install Node.js 20 or later with npm): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// Install the pinned SDK (in the background) while the servers build and start.
	npmDone := make(chan error, 1)
	var npmOut bytes.Buffer
	if installed(t) {
		npmDone <- nil
	} else {
		go func() {
			cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error")
			cmd.Stdout, cmd.Stderr = &npmOut, &npmOut
			npmDone <- cmd.Run()
		}()
	}

	bin := filepath.Join(t.TempDir(), "authcube")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/authcube/authcube/cmd/authcube")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/authcube: %v\n%s", err, out)
	}

	authKey := randomKey(t)
	mainDir := t.TempDir()
	primary := startServe(t, bin, "--dir", mainDir, "--addr", "127.0.0.1:0", "--app-id", "1", "--auth-key", authKey,
		"--reset-url", resetURL)
	short := startServe(t, bin, "--dir", t.TempDir(), "--addr", "127.0.0.1:0", "--app-id", "1", "--auth-key", authKey,
		"--idle-ttl", idleTTL.String())

	if err := <-npmDone; err != nil {
		t.Fatalf("npm ci in rest/e2e: %v\n%s", err, npmOut.String())
	}

	script := exec.CommandContext(ctx, node, "e2e.mjs")
	script.Env = append(os.Environ(),
		"AUTHCUBE_URL="+primary.url,
		"AUTHCUBE_APP_ID=1",
		"AUTHCUBE_AUTH_KEY="+authKey,
		"AUTHCUBE_OUTBOX="+filepath.Join(mainDir, "outbox"),
		"AUTHCUBE_RESET_URL="+resetURL,
		"AUTHCUBE_SHORT_TTL_URL="+short.url,
		fmt.Sprintf("AUTHCUBE_SHORT_TTL_MS=%d", idleTTL.Milliseconds()),
	)
	var out bytes.Buffer
	script.Stdout, script.Stderr = &out, &out
	start := time.Now()
	err = script.Run()
	t.Logf("node e2e.mjs (%s):\n%s", time.Since(start).Round(time.Millisecond), out.String())
	if err != nil {
		t.Errorf("node e2e.mjs: %v\nmain server log (tail):\n%s\nshort-TTL server log (tail):\n%s",
			err, tail(primary.log.String(), 40), tail(short.log.String(), 20))
	}

	// Both servers shut down cleanly on SIGINT.
	primary.stop(t)
	short.stop(t)
}

// installed reports whether node_modules holds the connectycube version package.json pins;
// otherwise npm ci (re)installs it from package-lock.json.
func installed(t *testing.T) bool {
	t.Helper()
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatalf("package.json: %v", err)
	}
	var mod struct {
		Version string `json:"version"`
	}
	b, err = os.ReadFile(filepath.Join("node_modules", "connectycube", "package.json"))
	if err != nil || json.Unmarshal(b, &mod) != nil {
		return false
	}
	return mod.Version != "" && mod.Version == pkg.Dependencies["connectycube"]
}

// serve is a running `authcube serve`.
type serve struct {
	cmd  *exec.Cmd
	url  string
	log  *syncBuffer // stdout and stderr
	done chan error
	once sync.Once
	err  error
}

// startServe starts authcube serve with args and returns once it answers HTTP. The listening
// address comes from its banner ("serving the ConnectyCube API at http://…"), so --addr may
// use port 0.
func startServe(t *testing.T, bin string, args ...string) *serve {
	t.Helper()
	s := &serve{log: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	s.cmd.Stderr = s.log
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting authcube serve: %v", err)
	}
	t.Cleanup(func() { s.stop(t) })

	urlc := make(chan string, 1)
	go func() {
		const banner = "serving the ConnectyCube API at "
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(s.log, line)
			if i := strings.Index(line, banner); i >= 0 && !sent {
				u, _, _ := strings.Cut(line[i+len(banner):], " ")
				urlc <- u
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		if !sent {
			close(urlc)
		}
		s.done <- s.cmd.Wait()
	}()

	select {
	case u, ok := <-urlc:
		if !ok || !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("authcube serve printed no loopback address (got %q):\n%s", u, s.log.String())
		}
		s.url = u
	case <-time.After(30 * time.Second):
		t.Fatalf("authcube serve did not start within 30 s:\n%s", s.log.String())
	}

	// It listens before it prints; still, wait until it answers (bounded).
	client := &http.Client{Timeout: time.Second}
	for i := 0; ; i++ {
		res, err := client.Get(s.url + "/session.json")
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("GET %s/session.json without a token: %s, want 401", s.url, res.Status)
			}
			return s
		}
		if i == 200 {
			t.Fatalf("authcube serve at %s does not answer: %v\n%s", s.url, err, s.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends SIGINT and waits for a clean exit (killing it after 15 s); it runs once.
func (s *serve) stop(t *testing.T) {
	t.Helper()
	s.once.Do(func() {
		if err := s.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("SIGINT to authcube serve: %v", err)
		}
		select {
		case s.err = <-s.done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			s.err = fmt.Errorf("did not stop within 15 s of SIGINT: %v", <-s.done)
		}
		if s.err != nil {
			t.Errorf("authcube serve at %s: %v\n%s", s.url, s.err, tail(s.log.String(), 20))
		}
	})
}

// randomKey is a fresh auth key.
func randomKey(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "e2e-" + hex.EncodeToString(b)
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// syncBuffer is a bytes.Buffer safe for concurrent writers and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
