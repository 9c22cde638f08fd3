package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"io"
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
// only, and running it again completes it without duplicates. The first run reads the file
// from a pipe that the test fills only in part, so it is surely in the middle when killed.
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

	cmd := exec.Command(binary(t), "users", "import", "--dir", dir, "--format", "jsonl", "--batch", "500", "-")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitAfterN(string(data), "\n", 1201)
	_, err = io.WriteString(stdin, strings.Join(lines[:1200], "")) // two batches and a part
	require.NoError(t, err)
	sc := bufio.NewScanner(stderr)
	for sc.Scan() { // the audit record of the first batch: it is in
		if strings.Contains(sc.Text(), `msg="authcube: users imported"`) {
			break
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	stdin.Close()

	// The import into an empty directory was a bulk one: killed in the middle, it left its
	// deferred indexes recorded, and the next opening rebuilds them.
	dbPath := filepath.Join(dir, "authcube.db")
	var stored, deferred int
	raw := func(q string, dest *int) {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+dbPath)
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, db.QueryRow(q).Scan(dest))
	}
	raw(`SELECT count(*) FROM users`, &stored)
	raw(`SELECT count(*) FROM deferred_schema`, &deferred)
	t.Logf("killed after %d users, %d indexes and triggers deferred", stored, deferred)
	assert.Contains(t, []int{500, 1000}, stored, "whole batches only")
	assert.NotZero(t, deferred, "killed in the middle of a bulk import")

	e := openDir(t, dir)
	st, err := e.Admin().Stats(t.Context())
	require.NoError(t, err)
	require.NoError(t, e.Close())
	assert.Equal(t, int64(stored), st.Users, "the count is right again")
	assert.Zero(t, st.Users%500, "whole batches only")
	raw(`SELECT count(*) FROM deferred_schema`, &deferred)
	assert.Zero(t, deferred, "rebuilt at the opening")
	var inFTS int
	raw(`SELECT count(*) FROM users_fts WHERE users_fts MATCH 'User'`, &inFTS)
	assert.Equal(t, stored, inFTS, "full-name search finds every user")

	out, errs, code := cli(t, "", "users", "import", "--dir", dir, "--format", "jsonl", path)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, fmt.Sprintf("imported %d, already there %d", n-st.Users, st.Users))

	e = openDir(t, dir)
	defer e.Close()
	st2, err := e.Admin().Stats(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int64(n), st2.Users)
	raw(`SELECT count(*) FROM users_fts WHERE users_fts MATCH 'User'`, &inFTS)
	assert.Equal(t, n, inFTS)
	users, err := e.Admin().Users(t.Context(), 0, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"t0"}, users[0].Tags, "tags came with their users")
}

// TestImportBulkFlag: --bulk on defers the upkeep even into a directory with users and
// rebuilds it at the end; off and auto (into users already there) keep it up to date as they
// go; any other value is a usage error. Whatever the mode, full-name search and the count find
// every user afterwards and nothing is left deferred.
func TestImportBulkFlag(t *testing.T) {
	dir := t.TempDir()
	lines := func(from, to int) string {
		var b strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, `{"login":"user_%d","full_name":"Person %d","tags":["t%d"]}`+"\n", i, i, i%2)
		}
		return b.String()
	}
	_, errs, code := cli(t, lines(0, 10), "users", "import", "--dir", dir, "--format", "jsonl", "--bulk", "nope", "-")
	assert.Equal(t, exitUsage, code, errs)
	for i, mode := range []string{"off", "auto", "on"} {
		out, errs, code := cli(t, lines(i*100, i*100+100), "users", "import", "--dir", dir, "--format", "jsonl", "--bulk", mode, "--batch", "30", "-")
		require.Equal(t, exitOK, code, errs)
		assert.Contains(t, out, "imported 100,", mode)
		var stored, deferred, inFTS int
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "authcube.db"))
		require.NoError(t, err)
		require.NoError(t, db.QueryRow(`SELECT n FROM counters WHERE name = 'users'`).Scan(&stored))
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM deferred_schema`).Scan(&deferred))
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM users_fts WHERE users_fts MATCH 'Person'`).Scan(&inFTS))
		require.NoError(t, db.Close())
		assert.Equal(t, 100*(i+1), stored, mode)
		assert.Equal(t, stored, inFTS, mode)
		assert.Zero(t, deferred, mode)
	}
}
