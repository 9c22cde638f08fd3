package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInterruptedImportReruns: an import killed (SIGKILL) in the middle leaves whole users
// only, and running it again completes it without duplicates.
func TestInterruptedImportReruns(t *testing.T) {
	const n = 20_000
	path := filepath.Join(t.TempDir(), "users.jsonl")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, `{"login":"user_%d","email":"user%d@example.com","tags":["t%d"],"full_name":"User %d"}`+"\n", i, i, i%7, i)
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	dir := t.TempDir()

	cmd := exec.Command(binary(t), "users", "import", "--dir", dir, "--format", "jsonl", "--batch", "500", path)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stderr)
	for sc.Scan() { // the first progress line: some batches are in
		if strings.HasPrefix(sc.Text(), "importing:") {
			break
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	e := openDir(t, dir)
	st, err := e.Admin().Stats(t.Context())
	require.NoError(t, err)
	require.NoError(t, e.Close())
	t.Logf("killed after %d users", st.Users)
	assert.Zero(t, st.Users%500, "whole batches only")

	out, errs, code := cli(t, "", "users", "import", "--dir", dir, "--format", "jsonl", path)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, fmt.Sprintf("imported %d, already there %d", n-st.Users, st.Users))

	e = openDir(t, dir)
	defer e.Close()
	st2, err := e.Admin().Stats(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int64(n), st2.Users)
	users, err := e.Admin().Users(t.Context(), 0, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"t0"}, users[0].Tags, "tags came with their users")
}
