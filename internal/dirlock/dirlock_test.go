package dirlock_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/internal/dirlock"
)

func TestAcquireIsExclusiveWithinTheProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LOCK")
	l, err := dirlock.Acquire(path)
	require.NoError(t, err)
	_, err = dirlock.Acquire(path)
	require.ErrorIs(t, err, dirlock.ErrLocked)

	// The same file by another name is the same lock.
	link := filepath.Join(t.TempDir(), "LINK")
	require.NoError(t, os.Symlink(path, link))
	_, err = dirlock.Acquire(link)
	require.ErrorIs(t, err, dirlock.ErrLocked)

	require.NoError(t, l.Release())
	require.NoError(t, l.Release(), "Release is idempotent")
	l2, err := dirlock.Acquire(path)
	require.NoError(t, err, "a released lock can be taken again")
	require.NoError(t, l2.Release())
}
