package fsync_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/internal/fsync"
)

func TestDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600))
	assert.NoError(t, fsync.Dir(dir))
	if runtime.GOOS == "windows" {
		return
	}
	assert.True(t, errors.Is(fsync.Dir(filepath.Join(dir, "missing")), fs.ErrNotExist))
}

func TestDirIn(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o700))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	assert.NoError(t, fsync.DirIn(root, "."))
	assert.NoError(t, fsync.DirIn(root, "sub"))
	if runtime.GOOS == "windows" {
		return
	}
	assert.Error(t, fsync.DirIn(root, "../"+filepath.Base(dir)), "a name outside the root is refused")
	assert.True(t, errors.Is(fsync.DirIn(root, "missing"), fs.ErrNotExist))
}

// WriteFile replaces the file as a whole, with the mode asked for, and leaves no temporary
// file behind, also when it fails.
func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, fsync.WriteFile(dir, "key", []byte("first"), 0o600))
	require.NoError(t, fsync.WriteFile(dir, "key", []byte("second"), 0o600))
	b, err := os.ReadFile(filepath.Join(dir, "key"))
	require.NoError(t, err)
	assert.Equal(t, "second", string(b))
	if runtime.GOOS != "windows" {
		info, err := os.Stat(filepath.Join(dir, "key"))
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm())
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "taken"), 0o700))
	require.Error(t, fsync.WriteFile(dir, "taken", []byte("x"), 0o600), "a directory is not replaced")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary file is left")
	require.Error(t, fsync.WriteFile(filepath.Join(dir, "missing"), "key", nil, 0o600))
}
