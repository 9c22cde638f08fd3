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
